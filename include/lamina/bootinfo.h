/*
 * What Lamina needs from the multiboot2 boot information, copied out of the
 * loader's tag list by a bounds-checked parser (kernel/bootinfo.c). The
 * parser is pure: it runs in the hypervisor, in unit tests and under a fuzzer.
 */
#ifndef LAMINA_BOOTINFO_H
#define LAMINA_BOOTINFO_H

#include <lamina/types.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289u

/* Tag types of the multiboot2 specification that Lamina reads. */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_MMAP 6
#define MB2_TAG_FRAMEBUFFER 8
#define MB2_TAG_EFI32 11
#define MB2_TAG_EFI64 12
#define MB2_TAG_ACPI_OLD 14
#define MB2_TAG_ACPI_NEW 15
#define MB2_TAG_EFI_MMAP 17
#define MB2_TAG_EFI_BS 18
#define MB2_TAG_LOAD_BASE 21

#define BOOTINFO_MAX_MMAP 256
#define BOOTINFO_MAX_MODULES 16
#define BOOTINFO_CMDLINE_MAX 512
#define BOOTINFO_NAME_MAX 64
#define BOOTINFO_RSDP_MAX 36 /* ACPI 2.0+ RSDP; ACPI 1.0 uses the first 20 */
#define BOOTINFO_ERR_MAX 128

/* Memory range types after translation from multiboot2 or EFI types. */
enum mem_type {
	MEM_USABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIM = 3,
	MEM_ACPI_NVS = 4,
	MEM_BAD = 5,
};

struct mem_range {
	u64 base;
	u64 len;
	u32 type; /* enum mem_type */
};

struct boot_module {
	u64 start; /* physical, inclusive */
	u64 end;   /* physical, exclusive */
	char name[BOOTINFO_NAME_MAX]; /* the module's string, truncated */
};

/* Framebuffer types of tag 8; Lamina draws only on direct RGB. */
#define MB2_FB_INDEXED 0
#define MB2_FB_RGB 1
#define MB2_FB_EGA_TEXT 2

/* The loader's framebuffer (tag 8), as boot_fb_check() accepted it. */
struct boot_fb {
	u64 addr;	/* physical */
	u32 pitch;	/* bytes per line */
	u32 width, height; /* pixels */
	u8 bpp;		/* 15, 16, 24 or 32 */
	u8 type;	/* MB2_FB_RGB */
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct bootinfo {
	u64 mbi_addr; /* where the tag list itself lies, to reserve it */
	u32 mbi_size;

	bool has_cmdline;
	char cmdline[BOOTINFO_CMDLINE_MAX];
	char loader[BOOTINFO_NAME_MAX];

	/* From the multiboot2 memory map if present, else the EFI map. */
	unsigned int nr_mmap;
	struct mem_range mmap[BOOTINFO_MAX_MMAP];
	bool mmap_from_efi;

	unsigned int nr_modules;
	struct boot_module modules[BOOTINFO_MAX_MODULES];

	/* The RSDP copy from tag 15 (preferred) or tag 14; rsdp_len 0 if none. */
	u8 rsdp[BOOTINFO_RSDP_MAX];
	u32 rsdp_len;
	bool rsdp_new; /* came from the ACPI 2.0+ tag */

	bool efi;     /* booted by UEFI firmware (EFI system table or map tag) */
	u64 efi_systab;

	/* From tag 8 when boot_fb_check() accepts it; has_fb false if not. */
	bool has_fb;
	struct boot_fb fb;

	/* Set when a tag was understood but something in it was dropped. */
	char warning[BOOTINFO_ERR_MAX];
	/* Set, with the offending tag and offset, when parsing fails. */
	char error[BOOTINFO_ERR_MAX];
};

/*
 * Parse the multiboot2 information at @mbi, of which at most @avail bytes may
 * be read. Fills @bi. Returns 0, or -HV_EINVAL with bi->error set when the
 * tag list is malformed (bad total size, a tag running past the end, a tag
 * too short for its type, misalignment, no end tag, unterminated strings).
 * Nothing in a malformed list is trusted: on error only bi->error is valid.
 */
int mb2_parse(const void *mbi, size_t avail, struct bootinfo *bi);

/*
 * Can a console draw on @fb? NULL when it can, else why not: a direct RGB
 * framebuffer of 15, 16, 24 or 32 bits per pixel, 1 to 16384 pixels each
 * way, whole lines inside the pitch, colour fields inside the pixel, and
 * addr + pitch * height neither 0 nor past 2^64.
 */
const char *boot_fb_check(const struct boot_fb *fb);

/* Bytes per pixel of a checked framebuffer (15 bpp takes 2). */
static inline u32 boot_fb_bytespp(const struct boot_fb *fb)
{
	return (fb->bpp + 7u) / 8u;
}

/* Name of a memory type for logs ("usable", "reserved", ...). */
const char *mem_type_name(u32 type);

#endif
