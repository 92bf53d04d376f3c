/*
 * ACPI table discovery: RSDP, RSDT/XSDT, MADT and FADT, with every checksum
 * and length checked. The parser (drivers/acpi_tables.c) is pure: it reads
 * physical memory only through acpi_mem.map, so unit tests and the fuzzer
 * feed it tables from a buffer.
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

struct acpi_ioapic {
	u32 id;
	u32 addr;
	u32 gsi_base;
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

	/* First problem found, for the log ("MADT: entry at +0x2c has length 0"). */
	char error[ACPI_ERR_MAX];
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
 * from the RSDP copy at @rsdp, then parse the MADT and FADT.
 * Returns 0 when the root table is usable; info->madt_ok and info->fadt_ok
 * tell whether each table was found and valid. Returns -HV_EINVAL (with
 * info->error) when the RSDP or the root table is broken, -HV_ENOENT when
 * there is no RSDP. On any failure the caller falls back to the boot CPU.
 */
int acpi_parse(const struct acpi_mem *mem, const void *rsdp, size_t rsdp_len,
	       struct acpi_info *info);

#endif
