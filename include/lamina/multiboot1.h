/*
 * Booting guests the Multiboot (version 1, specification 0.6.96) way: what
 * a kernel image asks for and what Lamina hands it.
 *
 * kernel/guest/multiboot.c holds the pure part: finding and checking the
 * header of an image and its loadable segments (mb1_parse), and laying out
 * the information structure (mb1_build_info). It has no VM dependency, so
 * the config validator (at build time in lamina-cfg, and at boot), the
 * unit tests and the fuzzer run the same code. kernel/guest/multiboot_load.c
 * puts a kernel into a VM (mb1_vm_load).
 *
 * The guest then starts as the specification says: 32-bit protected mode,
 * paging off, flat 4 GiB code and data segments, EAX = MB1_BOOT_MAGIC,
 * EBX = the guest-physical address of the information (MB1_INFO_GPA).
 */
#ifndef LAMINA_MULTIBOOT1_H
#define LAMINA_MULTIBOOT1_H

#include <lamina/compiler.h>

#define MB1_HEADER_MAGIC 0x1badb002u  /* in the image */
#define MB1_BOOT_MAGIC 0x2badb002u    /* in EAX at entry */
#define MB1_SEARCH 8192               /* the header lies in the first 8 KiB */
#define MB1_LOADER_NAME "Lamina"      /* boot_loader_name */

/* Header flags. Bits 0-15 are required: an unknown one refuses the image. */
#define MB1_HF_PAGE_ALIGN (1u << 0)   /* modules on 4 KiB boundaries */
#define MB1_HF_MEMINFO (1u << 1)      /* mem_* and the memory map */
#define MB1_HF_VIDEO (1u << 2)        /* a video mode: not supported */
#define MB1_HF_AOUT_KLUDGE (1u << 16) /* load by the header's address fields */
#define MB1_HF_SUPPORTED (MB1_HF_PAGE_ALIGN | MB1_HF_MEMINFO)
#define MB1_HF_REQUIRED 0xffffu

/* Information flags: which fields of the information are valid. */
#define MB1_INFO_MEM (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS (1u << 3)
#define MB1_INFO_MMAP (1u << 6)
#define MB1_INFO_LOADER_NAME (1u << 9)

/* Memory map entry types. */
#define MB1_MEM_RAM 1
#define MB1_MEM_RESERVED 2

/*
 * Where the information goes in guest-physical memory: 32 KiB at
 * [0x8000, 0x10000), the structure itself first, then its module list,
 * memory map and strings. A writable RAM region of the VM must cover this
 * range, and no segment of the kernel may overlap it; the config validator
 * checks both.
 */
#define MB1_INFO_GPA 0x8000u
#define MB1_INFO_SIZE 0x8000u

/*
 * The information structure up to the framebuffer fields (0.6.96), then
 * padding to 8 bytes: the module list starts at MB1_INFO_HDR_SIZE.
 */
#define MB1_INFO_STRUCT_SIZE 116
#define MB1_INFO_HDR_SIZE 120
#define MB1_MOD_SIZE 16    /* mod_start, mod_end, string, reserved */
#define MB1_MMAP_SIZE 24   /* size (20), base_addr, length, type */

#define MB1_MAX_SEGMENTS 16

enum mb1_format {
	MB1_ELF32 = 1,
	MB1_ELF64 = 2,
	MB1_AOUT_KLUDGE = 3, /* header flag 16: the header's address fields */
};

/* One range to load: @filesz bytes from @file_off, then zeros to @memsz. */
struct mb1_segment {
	u64 file_off;
	u64 filesz;
	u64 memsz;
	u64 gpa;
};

struct mb1_image {
	u32 header_off;       /* of the header in the image */
	u32 flags;            /* the header's */
	enum mb1_format format;
	u32 entry;            /* guest-physical */
	u64 load_end;         /* end of the highest segment (memsz included) */
	unsigned int nr_segments;
	struct mb1_segment seg[MB1_MAX_SEGMENTS]; /* sorted by gpa, disjoint */
};

/*
 * Check the @len-byte kernel image at @img and describe how to load it.
 * Every offset and size is checked against @len; segments are non-empty,
 * disjoint and below 4 GiB, and the entry point lies in one of them.
 * Returns 0, or -HV_EINVAL with the reason in @why ("multiboot: ...").
 */
int mb1_parse(const u8 *img, u64 len, struct mb1_image *out, char *why,
	      size_t whylen);

/*
 * Where a module of @size bytes goes: at the first 4 KiB boundary after
 * the kernel's highest segment, or just after the information area when it
 * would overlap it (a kernel loaded below MB1_INFO_GPA).
 */
#define MB1_MODULE_ALIGN 0x1000u
u64 mb1_module_gpa(const struct mb1_image *mi, u64 size);

/* A range of the guest's memory map. */
struct mb1_mem {
	u64 base;
	u64 len;
	u32 type;             /* MB1_MEM_* */
};

/* A module already in guest memory at [gpa_start, gpa_end). */
struct mb1_module {
	u32 gpa_start;
	u32 gpa_end;
	const char *string;   /* its name and arguments for the kernel */
};

/* What the information describes. */
struct mb1_env {
	u32 info_gpa;         /* where the caller copies the built buffer */
	const char *cmdline;  /* NULL: none */
	const char *loader_name; /* NULL: none */
	const struct mb1_mem *mmap;
	unsigned int nr_mmap;
	const struct mb1_module *mods;
	unsigned int nr_mods;
};

/* Bytes mb1_build_info() needs, with @strings bytes of strings (NULs too). */
static inline u64 mb1_info_size(unsigned int nr_mmap, unsigned int nr_mods,
				u64 strings)
{
	return MB1_INFO_HDR_SIZE + (u64)nr_mods * MB1_MOD_SIZE +
	       (u64)nr_mmap * MB1_MMAP_SIZE + strings;
}

/*
 * Write the information for @env into @buf: the structure at offset 0, then
 * the module list, memory map and strings. Every address in it is
 * guest-physical (@env->info_gpa + offset). mem_lower and mem_upper (KiB)
 * count the RAM from 0 up to 640 KiB and the RAM from 1 MiB on up to the
 * first hole. Flags: MEM always; MMAP, MODS, CMDLINE and LOADER_NAME when
 * @env has them (as GRUB, no MODS flag without a module). Sets *@used to
 * the bytes written. Returns 0, or -HV_EINVAL (with @why) when @buf is too
 * small or an address would pass 4 GiB.
 */
int mb1_build_info(const struct mb1_env *env, u8 *buf, size_t buflen,
		   size_t *used, char *why, size_t whylen);

struct vm;

/*
 * Load the VM's boot image (cfg->boot_image, a Multiboot kernel) into its
 * memory, its initrd (if any) as the one module, page-aligned after the
 * kernel, and the information at MB1_INFO_GPA. Returns 0 with the entry
 * point and the information's address for EBX, or a negative HV_E* code
 * with the reason in @why.
 */
int mb1_vm_load(struct vm *vm, u32 *entry, u32 *info_gpa, char *why,
		size_t len);

#endif
