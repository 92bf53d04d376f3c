/*
 * Building the multiboot2 boot information that Lamina's kernel/bootinfo.c
 * reads, from what the firmware told us. Pure C: no firmware calls, so the
 * unit test feeds its output to Lamina's own parser.
 */
#ifndef LAMINA_EFI_MB2INFO_H
#define LAMINA_EFI_MB2INFO_H

#include <stddef.h>
#include <stdint.h>

struct mb2b_module {
	uint32_t start; /* physical */
	uint32_t end;   /* physical, exclusive */
	const char *name;
};

/* A GOP mode with a linear framebuffer (multiboot2 type 1, direct RGB). */
struct mb2b_fb {
	uint64_t addr;
	uint32_t pitch; /* bytes */
	uint32_t width, height;
	uint8_t bpp;
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct mb2b_input {
	const char *cmdline;
	const char *loader;
	unsigned int nr_modules;
	const struct mb2b_module *modules;
	const uint8_t *rsdp_v1;  /* 20 bytes, or NULL */
	const uint8_t *rsdp_v2;  /* rsdp_v2_len bytes, or NULL */
	uint32_t rsdp_v2_len;
	uint64_t efi_systab;
	const struct mb2b_fb *fb; /* or NULL */
	/* The map from GetMemoryMap, descriptors of efi_desc_size bytes. */
	const void *efi_map;
	size_t efi_map_size;
	size_t efi_desc_size;
	uint32_t efi_desc_version;
};

/* Bytes of boot information that @in needs at most. */
size_t mb2b_size(const struct mb2b_input *in);

/*
 * Write the boot information for @in into @buf (8-byte aligned, @cap bytes).
 * Returns the total size, or 0 when @cap is too small or @in is unusable
 * (a descriptor size below 40 bytes).
 */
size_t mb2b_build(void *buf, size_t cap, const struct mb2b_input *in);

#endif
