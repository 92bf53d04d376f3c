/*
 * ACPI table discovery: RSDP, RSDT/XSDT, MADT, FADT, SPCR, HPET and the
 * \_S5 object of the DSDT or an SSDT, with every checksum and length
 * checked. The parser (drivers/acpi_tables.c, acpi_spcr.c, acpi_aml.c) is
 * pure: it reads physical memory only through acpi_mem.map, so unit tests
 * and the fuzzer feed it tables from a buffer.
 */
#ifndef LAMINA_ACPI_H
#define LAMINA_ACPI_H

#include <lamina/compiler.h>

#define ACPI_MAX_CPUS 64
#define ACPI_MAX_IOAPICS 8
#define ACPI_MAX_TABLES 64 /* RSDT/XSDT entries examined */
#define ACPI_ERR_MAX 160

/* Generic Address Structure. */
struct acpi_gas {
	u8 space_id; /* 0 system memory, 1 system I/O */
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} __packed;

#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1

struct acpi_sdt_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} __packed;

struct acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	u8 checksum;       /* over the first 20 bytes */
	char oem_id[6];
	u8 revision;       /* 0: ACPI 1.0, 2: ACPI 2.0+ */
	u32 rsdt_address;
	/* ACPI 2.0+ */
	u32 length;
	u64 xsdt_address;
	u8 extended_checksum; /* over all 36 bytes */
	u8 reserved[3];
} __packed;

struct acpi_mem {
	/*
	 * Return a pointer through which @len bytes at physical @phys can be
	 * read, or NULL if that range is not readable memory.
	 */
	const void *(*map)(void *ctx, u64 phys, u64 len);
	void *ctx;
};

struct acpi_cpu {
	u32 apic_id;
	u32 uid;      /* ACPI processor UID */
	bool x2apic;  /* listed by a type-9 (x2APIC) entry */
};

/*
 * A MADT local-APIC NMI entry (type 4, or 0xA for x2APIC UIDs): which LINT
 * pin of which processor the platform's NMI is wired to.
 */
struct acpi_lapic_nmi {
	u32 uid;      /* ACPI processor UID; ACPI_NMI_ALL_CPUS for every one */
	u16 flags;    /* MPS INTI flags: bits 0-1 polarity, 2-3 trigger */
	u8 lint;      /* 0 or 1 */
};
#define ACPI_NMI_ALL_CPUS 0xffffffffu
#define ACPI_MAX_LAPIC_NMIS 8

struct acpi_ioapic {
	u32 id;
	u32 addr;
	u32 gsi_base;
};

/* SPCR interface types (DBG2 serial subtypes) that are a 16550. */
#define ACPI_SPCR_16550 0x00	 /* full 16550 */
#define ACPI_SPCR_16450 0x01	 /* 16550 subset (16450) */
#define ACPI_SPCR_16550_GAS 0x12 /* 16550, register layout in the GAS */

/* The firmware's serial console, as the SPCR describes it. */
struct acpi_spcr {
	u8 revision;
	u8 iface;	 /* interface type, ACPI_SPCR_* */
	struct acpi_gas base; /* system I/O or system memory */
	u8 reg_width;	 /* bits per access: 8, 16 or 32 (8 for I/O) */
	u8 reg_shift;	 /* UART register n: base + (n << reg_shift) */
	u8 baud_code;	 /* as in the table: 3, 4, 6, 7 or 0 */
	u32 baud;	 /* 0: keep what the firmware programmed */
	u8 flow_control; /* bit 0 DCD, 1 RTS/CTS, 2 XON/XOFF */
	u8 irq_type;	 /* bit 0: PC-AT IRQ, bit 1: I/O APIC GSI */
	u8 irq;
	u32 gsi;
	u32 uart_clock;	 /* Hz (revision 3+), 0 if not given */
	/* A PCI serial card (informational: base is already its BAR). */
	bool pci;
	u16 pci_vendor_id, pci_device_id;
	u8 pci_segment, pci_bus, pci_dev, pci_fn;
	u32 pci_flags;
};

struct acpi_info {
	u8 rsdp_revision;
	bool use_xsdt;
	u64 rsdt_phys; /* RSDT or XSDT, whichever was used */
	char oem_id[7];

	/* MADT */
	bool madt_ok;
	u64 madt_phys;
	u64 lapic_addr; /* after any type-5 override */
	u32 madt_flags; /* bit 0: PC-AT dual 8259 present */
	unsigned int nr_cpus;
	struct acpi_cpu cpus[ACPI_MAX_CPUS];
	unsigned int nr_cpus_disabled; /* listed, neither enabled nor online-capable */
	unsigned int nr_cpus_dropped;  /* enabled but beyond ACPI_MAX_CPUS */
	unsigned int nr_ioapics;
	struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
	unsigned int nr_lapic_nmis;
	struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];

	/* FADT */
	bool fadt_ok;
	u64 fadt_phys;
	u32 fadt_flags;
	u16 iapc_boot_arch;
	u16 pm_tmr_port;   /* 0 if none */
	bool pm_tmr_32bit; /* FADT flag TMR_VAL_EXT */
	bool has_reset_reg;
	struct acpi_gas reset_reg;
	u8 reset_value;
	/* FADT: what switching to ACPI mode and powering off need. */
	u8 fadt_revision;
	u64 dsdt_phys;	    /* X_DSDT if non-zero, else DSDT */
	u32 smi_cmd;	    /* port; 0: already in ACPI mode (or no SMM) */
	u8 acpi_enable;	    /* value to write to smi_cmd */
	u16 pm1a_cnt_port;  /* X_PM1a_CNT_BLK if a port, else PM1a_CNT_BLK */
	u16 pm1b_cnt_port;  /* 0 if none */
	bool hw_reduced;    /* HW_REDUCED_ACPI in a revision 5+ FADT */
	struct acpi_gas sleep_ctl; /* revision 5+; address 0 if none */
	struct acpi_gas sleep_sts;

	/* SPCR */
	bool spcr_ok;
	u64 spcr_phys;	    /* 0: no SPCR */
	struct acpi_spcr spcr;

	/* HPET: the first event timer block */
	bool hpet_ok;
	u64 hpet_phys;	    /* 0: no HPET table */
	u64 hpet_base;	    /* registers, in system memory */
	u32 hpet_block_id;  /* Event Timer Block ID, as in the table */
	u8 hpet_hw_rev;	    /* bits 7:0 of it */
	u8 hpet_timers;	    /* comparators: bits 12:8 of it, plus one */
	bool hpet_64bit;    /* COUNT_SIZE_CAP */
	bool hpet_legacy;   /* LegacyReplacement IRQ routing capable */
	u16 hpet_vendor_id; /* bits 31:16 of it */
	u8 hpet_number;
	u16 hpet_min_tick;  /* in periodic mode, in counter ticks */
	u8 hpet_page_prot;

	/*
	 * \_S5 (soft off). s5_ok: the package was found and the registers to
	 * write it to exist: sleep_ctl when hw_reduced, else pm1a_cnt_port
	 * (and pm1b_cnt_port if non-zero).
	 */
	bool s5_ok;
	u8 slp_typa, slp_typb;
	u64 s5_phys;	    /* the DSDT or SSDT that names it */
	unsigned int nr_ssdts_scanned;

	/* First problem found, for the log ("MADT: entry at +0x2c has length 0"). */
	char error[ACPI_ERR_MAX];
	/*
	 * Why spcr_ok or hpet_ok is false although that table is there ("" when
	 * it is not), and why s5_ok is false.
	 */
	char spcr_error[ACPI_ERR_MAX];
	char hpet_error[ACPI_ERR_MAX];
	char s5_error[ACPI_ERR_MAX];
};

/* Sum of @len bytes modulo 256; a valid table sums to 0. */
u8 acpi_checksum(const void *p, size_t len);

/*
 * Validate an RSDP held in @len bytes at @rsdp (signature, checksum and, for
 * revision 2+, length and extended checksum). Returns 0 or -HV_EINVAL.
 */
int acpi_check_rsdp(const void *rsdp, size_t len);

/*
 * Find an RSDP the BIOS way: the first KiB of the EBDA (segment at 0x40e),
 * then 0xe0000-0xfffff, on 16-byte boundaries. Returns its physical address
 * or 0 when none validates.
 */
u64 acpi_scan_rsdp(const struct acpi_mem *mem);

/*
 * Walk RSDT or XSDT (XSDT when revision >= 2 and its address is non-zero)
 * from the RSDP copy at @rsdp, then parse the MADT, FADT, SPCR and HPET
 * and look for \_S5 in the DSDT, then in the SSDTs.
 * Returns 0 when the root table is usable; info->madt_ok, fadt_ok,
 * spcr_ok, hpet_ok and s5_ok tell whether each was found and valid. Returns
 * -HV_EINVAL (with info->error) when the RSDP or the root table is broken,
 * -HV_ENOENT when there is no RSDP. On any failure the caller falls back to
 * the boot CPU.
 */
int acpi_parse(const struct acpi_mem *mem, const void *rsdp, size_t rsdp_len,
	       struct acpi_info *info);

/*
 * The LINT pins the MADT wires the platform's NMI to on the CPU with
 * @apic_id: bit n for LINTn, its INTI flags in @flags[n]. 0 when the CPU
 * is not listed or no entry names it.
 */
unsigned int acpi_lapic_nmi_pins(const struct acpi_info *info, u32 apic_id,
				 u16 flags[2]);

/* "16550", "ARM PL011", ... for an SPCR interface type; "unknown" else. */
const char *acpi_spcr_iface_name(u8 iface);

/*
 * Find Name(_S5_, Package() { SLP_TYPa, SLP_TYPb, ... }) in the AML at
 * @aml[@start, @len): a byte scan for the NameOp, not an interpreter, so
 * the first NameOp naming _S5_ (or \_S5_, ^_S5_) decides. Offsets in
 * @why count from @aml. Returns 0 with the two sleep types, -HV_ENOENT
 * when no _S5_ is named, -HV_EINVAL (reason in @why, @why_len bytes) when
 * the one named is not a package whose first two elements are integer
 * constants of at most 3 bits.
 */
int acpi_aml_find_s5(const u8 *aml, u32 len, u32 start, u8 *slp_typa,
		     u8 *slp_typb, char *why, size_t why_len);

/* ---- Shared by the parser's files (drivers/acpi_*.c), not for callers. */

/* A table mapped and checked whole. */
struct acpi_table {
	u64 phys;
	const u8 *p;
	u32 len;
};

/*
 * Note a problem: the first of the whole parse goes to info->error, the
 * first of one table to @why (ACPI_ERR_MAX bytes, or NULL). Returns
 * -HV_EINVAL.
 */
int acpi_fail(struct acpi_info *info, char *why, const char *fmt, ...)
	__printf(3, 4);

/*
 * Map the table at @phys whose signature must be @sig, check its length
 * and checksum (a DSDT's or SSDT's bad sum is only noted); problems go
 * where acpi_fail puts them. Returns 0 or -HV_EINVAL.
 */
int acpi_map_table(const struct acpi_mem *mem, u64 phys, const char *sig,
		   struct acpi_table *t, struct acpi_info *info, char *why);

/* drivers/acpi_spcr.c */
void acpi_parse_spcr(const struct acpi_mem *mem, struct acpi_info *info);
/* drivers/acpi_aml.c: \_S5 from the DSDT, else from the SSDTs at @ssdt. */
void acpi_find_s5(const struct acpi_mem *mem, const u64 *ssdt,
		  unsigned int nr_ssdt, struct acpi_info *info);

#endif
