/*
 * The configuration blob: what tools/lamina-cfg compiles a YAML file into
 * and what GRUB hands Lamina as the multiboot2 module named "config".
 *
 * Packed, little-endian, found by offset, never by pointer: a header, then
 * counted arrays of fixed-size records and a string table. Compiles
 * freestanding (Lamina) and hosted (the tool, the tests).
 *
 * Versioning: ABI_MAJOR changes with any change of layout or meaning;
 * ABI_MINOR only when fields are added at the end of a record, in space
 * that was reserved and zero before. A reader accepts its own major and
 * any minor; a rejection prints both versions.
 */
#ifndef LAMINA_ABI_CONFIG_H
#define LAMINA_ABI_CONFIG_H

#include <lamina/types.h>

#define CFG_MAGIC 0x4746434cu /* "LCFG" */
#define CFG_ABI_MAJOR 1
#define CFG_ABI_MINOR 0

#define CFG_NONE 0xffffffffu /* a string or index that is absent */
#define CFG_MODULE_NAME "config" /* the multiboot2 module holding the blob */
#define CFG_MAX_VMS 16
#define CFG_MAX_REGIONS 256  /* in the whole blob */
#define CFG_MAX_DEVICES 256
#define CFG_MAX_STRINGS (64 * 1024)
#define CFG_MAX_SIZE (1024 * 1024)
#define CFG_NAME_MAX 31      /* VM names: [A-Za-z0-9_-], 1 to 31 characters */
#define CFG_MAX_CPUS 64      /* pCPU indices 0-63 */

struct cfg_header {
	u32 magic;
	u16 abi_major;
	u16 abi_minor;
	u32 total_size;     /* the whole blob, header included */
	u32 crc32;          /* IEEE CRC-32 of the blob with this field zero */
	u32 flags;          /* none defined: must be 0 */
	u32 log_level;      /* 0 errors .. 3 debug */
	u32 monitor_cpu;    /* the pCPU that serves the monitor (0: boot CPU) */
	u32 nr_vms;
	u32 vms_offset;     /* from the start of the blob */
	u32 nr_regions;
	u32 regions_offset;
	u32 nr_devices;
	u32 devices_offset;
	u32 strings_size;   /* bytes; every string is NUL-terminated inside */
	u32 strings_offset;
	u32 reserved[9];    /* zero */
} __attribute__((packed));

enum cfg_boot_kind {
	CFG_BOOT_RAW32 = 1,     /* 32-bit protected mode, paging off, at entry */
	CFG_BOOT_RAW64 = 2,     /* 64-bit mode, identity-mapped, at entry (the
				 * tables: CFG_RAW64_TABLES below) */
	CFG_BOOT_REAL16 = 3,    /* real mode at entry (VMX: unrestricted guest) */
	CFG_BOOT_MULTIBOOT = 4, /* a multiboot (1) kernel image */
	CFG_BOOT_LINUX = 5,     /* a Linux bzImage (64-bit boot protocol) */
};

/*
 * raw64: Lamina writes page tables mapping the first 4 GiB 1:1 with 2 MiB
 * pages (PML4, PDPT, 4 PDs) here, and starts the guest with CR3 pointing at
 * them. A writable region must hold this range; the guest leaves it alone
 * until it loads its own CR3.
 */
#define CFG_RAW64_TABLES_GPA 0x1000u
#define CFG_RAW64_TABLES_SIZE 0x6000u

enum cfg_crash_policy {
	CFG_CRASH_STOP = 1,    /* state crashed, report kept for `dump` */
	CFG_CRASH_RESTART = 2, /* recreate from the config, within a budget */
	CFG_CRASH_DUMP = 3,    /* stop and print the report */
};

#define CFG_VM_AUTOSTART (1u << 0)

struct cfg_vm {
	u32 name;           /* string offset */
	u32 flags;          /* CFG_VM_* */
	u64 cpus;           /* bit N: pCPU N belongs to this VM */
	u32 first_region;   /* index into the region array */
	u32 nr_regions;
	u32 first_device;   /* index into the device array */
	u32 nr_devices;
	u32 boot_kind;      /* enum cfg_boot_kind */
	u32 boot_image;     /* string: module name, or CFG_NONE */
	u64 entry;          /* guest-physical entry point (raw kinds) */
	u32 cmdline;        /* string, or CFG_NONE */
	u32 initrd;         /* string: module name, or CFG_NONE */
	u32 crash_policy;   /* enum cfg_crash_policy */
	u32 restart_budget; /* restarts allowed (RESTART only) */
	u32 reserved[6];
} __attribute__((packed));

#define CFG_MEM_READONLY (1u << 0)
#define CFG_MEM_LOG_DIRTY (1u << 1)
#define CFG_MEM_FLAGS_ALL (CFG_MEM_READONLY | CFG_MEM_LOG_DIRTY)

struct cfg_region {
	u64 gpa;            /* guest-physical base, 4 KiB aligned */
	u64 size;           /* bytes, 4 KiB multiple, > 0 */
	u32 flags;          /* CFG_MEM_* */
	u32 image;          /* string: module loaded at gpa, or CFG_NONE */
	u32 reserved[2];
} __attribute__((packed));

enum cfg_device_kind {
	CFG_DEV_UART = 1,       /* virtual 16550: base = I/O port, irq */
	CFG_DEV_DEBUG_EXIT = 2, /* write here ends the VM: base = I/O port, size 1-4 */
	CFG_DEV_PIO = 3,        /* pass-through I/O ports [base, base+size) */
	CFG_DEV_MMIO = 4,       /* pass-through host MMIO [base, base+size) at gpa */
};

struct cfg_device {
	u32 kind;           /* enum cfg_device_kind */
	u32 irq;            /* UART: the guest IRQ line; else 0 */
	u64 base;           /* I/O port or host-physical MMIO address */
	u64 size;           /* ports or bytes */
	u64 gpa;            /* MMIO: where the guest sees it; else 0 */
	u32 reserved[2];
} __attribute__((packed));

/* Layout checks: a change here is an ABI change. */
_Static_assert(sizeof(struct cfg_header) == 96, "cfg_header size");
_Static_assert(sizeof(struct cfg_vm) == 88, "cfg_vm size");
_Static_assert(sizeof(struct cfg_region) == 32, "cfg_region size");
_Static_assert(sizeof(struct cfg_device) == 40, "cfg_device size");

#endif
