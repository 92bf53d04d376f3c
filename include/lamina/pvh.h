/*
 * The PVH entry of an uncompressed Linux vmlinux (Xen's HVM direct boot
 * ABI, used by QEMU, Firecracker and Cloud Hypervisor too): the ELF's
 * loadable segments go to their physical addresses and the vCPU starts in
 * 32-bit protected mode, paging off, at the address the ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY (type 18, name "Xen") gives, with EBX pointing
 * at a struct hvm_start_info (version 1: with a memory map, which a guest
 * that is not on Xen needs). kernel/guest/pvh.c is pure, over buffers,
 * like linux_boot.c; kernel/guest/linux_load.c places its output.
 */
#ifndef LAMINA_PVH_H
#define LAMINA_PVH_H

#include <lamina/linux_boot.h>
#include <lamina/types.h>

#define PVH_MAX_SEGMENTS 8
#define PVH_START_MAGIC 0x336ec578u
#define PVH_NOTE_PHYS32_ENTRY 18

struct pvh_segment {
	u64 paddr;   /* p_paddr: where it goes in guest-physical memory */
	u64 offset;  /* p_offset in the file */
	u64 filesz;
	u64 memsz;   /* >= filesz; the rest is zeroed */
};

struct pvh_image {
	u32 entry;   /* the 32-bit PVH entry point (guest-physical) */
	unsigned int nr_segments;
	struct pvh_segment seg[PVH_MAX_SEGMENTS];
	u64 lowest;  /* lowest paddr of any segment */
	u64 highest; /* end (paddr + memsz) of the highest */
};

/* Does @img start like an ELF file (the magic only)? */
bool pvh_is_elf(const u8 *img, size_t len);

/*
 * Check @img is a 64-bit little-endian x86-64 ELF executable (version 1,
 * 56-byte program headers inside the file, e_phnum not 0 or PN_XNUM) whose
 * PT_LOAD segments (those with a memsz: at most PVH_MAX_SEGMENTS, memsz >=
 * filesz, inside the file, no two overlapping, all from 1 MiB up and
 * ending at or below 4 GiB) and a PT_NOTE with a Xen PHYS32_ENTRY note
 * (name "Xen" with its NUL, type 18; name and value each padded to 4
 * bytes; a 4- or 8-byte value below 4 GiB, inside the bytes a segment
 * loads from the file) make it bootable through PVH. Every note of every
 * PT_NOTE must lie inside its segment; the first entry note counts.
 * Fills @out (segments in program header order); returns 0 (@why ""), or
 * -HV_EINVAL with @why saying what is wrong ("pvh: ...").
 */
int pvh_parse(const u8 *img, size_t len, struct pvh_image *out, char *why,
	      size_t wlen);

/* Where things go, all guest-physical. */
struct pvh_params {
	u64 info_gpa;     /* where @buf of pvh_start_info() will be */
	u64 cmdline_gpa;  /* 0: none */
	u64 rsdp_gpa;
	u64 initrd_gpa;   /* 0 with no initrd (then no module) */
	u64 initrd_size;
	const struct e820_entry *e820;
	unsigned int nr_e820;
};

/*
 * Write struct hvm_start_info (version 1, 56 bytes: magic, version 1,
 * flags 0, nr_modules, modlist_paddr, cmdline_paddr, rsdp_paddr,
 * memmap_paddr, memmap_entries, reserved), then the module list (one
 * struct hvm_modlist_entry of 32 bytes: paddr, size, cmdline_paddr 0,
 * reserved, when there is an initrd), then the memory map (struct
 * hvm_memmap_table_entry of 24 bytes each: addr, size, type (the e820
 * types), reserved) into @buf (@size bytes). An absent part has address
 * 0 (Xen's rule): modlist_paddr without an initrd, memmap_paddr with no
 * e820 entries. Returns the bytes used, or -HV_EINVAL, writing nothing,
 * when @size is too small or info_gpa + the bytes used wraps.
 */
int pvh_start_info(u8 *buf, size_t size, const struct pvh_params *p);

#endif
