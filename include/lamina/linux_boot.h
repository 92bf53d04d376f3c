/*
 * Booting an unmodified Linux kernel (Documentation/arch/x86/boot.rst,
 * the 64-bit boot protocol): kernel/guest/linux_boot.c reads and checks
 * the bzImage's setup header and fills the zero page (struct boot_params)
 * with the e820 map, command line, initrd and ACPI RSDP;
 * kernel/guest/acpi_build.c writes the ACPI tables the guest finds its
 * CPUs, IOAPIC and power-off register in. Both are pure functions over
 * buffers: kernel/guest/linux_load.c puts their output into guest memory.
 */
#ifndef LAMINA_LINUX_BOOT_H
#define LAMINA_LINUX_BOOT_H

#include <lamina/types.h>

/*
 * Where Lamina puts things in a Linux VM's guest-physical memory. The
 * identity page tables of the 64-bit entry are the raw64 ones
 * (CFG_RAW64_TABLES_GPA, 0x1000-0x6fff); a region of RAM from 0 must
 * hold all of this.
 */
#define LINUX_ZERO_PAGE_GPA 0x7000ull
#define LINUX_GDT_GPA 0x8000ull      /* 0x10 flat code64, 0x18 flat data */
#define LINUX_CMDLINE_GPA 0x9000ull
#define LINUX_CMDLINE_MAX 4096u      /* with its NUL */
#define LINUX_ACPI_GPA 0xe0000ull    /* the RSDP first, then the tables */
#define LINUX_ACPI_SIZE 0x10000u
#define LINUX_LOW_RAM_END 0xa0000ull /* RAM above this and below 1 MiB is not RAM */
#define LINUX_HIGH_START 0x100000ull

/* Ports of the ACPI registers the FADT describes (hardware-reduced). */
#define LINUX_PM_SLEEP_CTL 0x600   /* SLP_TYPx << 2 | SLP_EN (bit 5) */
#define LINUX_PM_SLEEP_STS 0x601   /* WAK_STS (bit 7) */
#define LINUX_PM_RESET 0x604       /* write LINUX_PM_RESET_VALUE: reset */
#define LINUX_PM_RESET_VALUE 0x01
#define LINUX_S5_TYP 5             /* SLP_TYP the DSDT's _S5 names */

/* What Lamina needs from a bzImage's setup header. */
struct linux_setup {
	u16 version;           /* boot protocol, e.g. 0x020f */
	u8 setup_sects;        /* 0 means 4 */
	u8 loadflags;
	u16 xloadflags;
	u32 kernel_alignment;
	bool relocatable;
	u64 pref_address;
	u32 init_size;         /* memory the kernel needs from its load address */
	u32 cmdline_size;      /* longest command line, without the NUL */
	u32 initrd_addr_max;   /* highest address the initrd may end at, less 1 */
	/*
	 * The protected-mode kernel, which is loaded at the load address:
	 * it starts at (setup_sects + 1) * 512 in the file and runs to its
	 * end. Not the header fields of the same names (0x248, 0x24c), which
	 * place the compressed payload inside it; the parser only checks
	 * that those lie inside the kernel.
	 */
	u32 payload_offset;    /* where the 64-bit kernel starts in the file */
	u32 payload_size;      /* its bytes, to the end of the file */
	u32 hdr_end;           /* end of the setup header (0x202 + byte 0x201) */
};

#define LINUX_XLF_KERNEL_64 (1u << 0)  /* 64-bit entry at load address + 0x200 */
#define LINUX_XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)
#define LINUX_ENTRY64_OFFSET 0x200u

/*
 * Check @img (@len bytes) is a bzImage Lamina can boot: boot sector
 * signature 0xaa55, "HdrS", protocol 2.12 or later, a setup header that
 * ends between 0x268 and 0x290, a 64-bit entry (XLF_KERNEL_64), loaded
 * high, setup and payload inside the file (the kernel past its entry at
 * +0x200, at most 1 GiB), sane sizes and alignment (a power of two from
 * 4 KiB to 1 GiB; init_size from the kernel's size to 1 GiB; pref_address
 * at or above 1 MiB, + init_size below 2^52). Fills @out; returns 0 (@why
 * "") or -HV_EINVAL with @why saying what is wrong ("linux: ...").
 */
int linux_parse_bzimage(const u8 *img, size_t len, struct linux_setup *out,
			char *why, size_t wlen);

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_MAX 128 /* entries in the zero page */

struct e820_entry {
	u64 addr;
	u64 size;
	u32 type;
} __attribute__((packed));

/* A RAM range of the VM, as its memslots give it. */
struct linux_ram {
	u64 gpa;
	u64 size;
	bool readonly; /* a ROM slot: listed reserved, never used for loading */
};

/*
 * The e820 map of @nr memory ranges (sorted, not overlapping): each as
 * E820_RAM (E820_RESERVED when read-only: the guest must not take a ROM for
 * RAM it can write), less [LINUX_LOW_RAM_END, LINUX_HIGH_START) which is not RAM
 * on a PC, and [LINUX_ACPI_GPA, +LINUX_ACPI_SIZE) as E820_RESERVED where
 * the ACPI tables are (always listed). Adjacent RAM ranges merge; empty
 * ones are skipped. Returns the number of entries written to @out
 * (sorted, not overlapping), or -HV_EINVAL when more than @max are needed
 * or the ranges are not sorted, overlap or run past 2^64 - 1.
 */
int linux_e820(const struct linux_ram *ram, unsigned int nr,
	       struct e820_entry *out, unsigned int max);

/* What goes into the zero page besides the setup header. */
struct linux_params {
	u64 cmdline_gpa;
	u64 initrd_gpa;        /* 0 with no initrd */
	u64 initrd_size;
	u64 rsdp_gpa;          /* boot_params.acpi_rsdp_addr */
	const struct e820_entry *e820;
	unsigned int nr_e820;
};

/*
 * Fill @zp (4096 bytes, the zero page) for @img, which @s came from:
 * zeroed, the setup header copied from the image (0x1f1 to hdr_end),
 * setup_data cleared, then type_of_loader 0xff, loadflags with
 * LOADED_HIGH, cmd_line_ptr (and ext_), ramdisk_image and ramdisk_size
 * (and ext_; both 0 when initrd_gpa is 0), acpi_rsdp_addr, e820_entries
 * and the table (at most E820_MAX entries are copied).
 */
void linux_zero_page(u8 *zp, const u8 *img, const struct linux_setup *s,
		     const struct linux_params *p);

/* The ACPI tables of a VM. */
struct acpi_build_cfg {
	unsigned int nr_cpus;  /* processor UIDs and APIC IDs 0..nr_cpus-1 */
	u64 lapic_base;
	u64 ioapic_base;
	u32 ioapic_id;
	u16 sleep_ctl_port;    /* FADT SLEEP_CONTROL_REG (8-bit I/O) */
	u16 sleep_sts_port;    /* FADT SLEEP_STATUS_REG */
	u16 reset_port;        /* FADT RESET_REG (8-bit I/O) */
	u8 reset_value;
	u8 s5_typ;             /* the DSDT's _S5 package: SLP_TYPa = SLP_TYPb */
	u16 uart_port;         /* the DSDT's COM1 (PNP0501): I/O base */
	u8 uart_irq;           /* and its IRQ (ISA, 0-15) */
};

/*
 * Write RSDP (revision 2, at @buf's start), XSDT, FADT (revision 6,
 * HW_REDUCED_ACPI, RESET_REG_SUP, the sleep registers, X_DSDT), a DSDT
 * holding Name(_S5, Package() {typ, typ}) and the UART as \_SB.COM1
 * (PNP0501, its port and ISA IRQ), and a MADT (one enabled
 * local APIC per CPU, one IOAPIC at GSI 0) into @buf (@size bytes),
 * whose guest-physical address is @gpa; every checksum right, each table
 * 16-byte aligned in @buf. OEM ID "LAMINA". Returns the bytes used
 * (ACPI_BUILD_SIZE(nr_cpus)), or -HV_EINVAL, writing nothing, if @size is
 * too small, nr_cpus is 0 or over 255, an APIC base is not below 4 GiB
 * (the MADT holds 32 bits), ioapic_id is over 255 or @gpa + the bytes
 * used wraps.
 */
int acpi_build(u8 *buf, size_t size, u64 gpa, const struct acpi_build_cfg *c);

/* The bytes acpi_build() uses: RSDP, XSDT, FADT, DSDT, then the MADT. */
#define ACPI_BUILD_SIZE(nr_cpus) (0x200u + 44u + 8u * (nr_cpus) + 12u)

#endif
