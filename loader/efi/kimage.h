/*
 * Lamina's ELF as a multiboot2 loader sees it: the PT_LOAD segments to place
 * at their physical addresses and the entry point (the multiboot2 header's
 * entry address tag if there is one, else the ELF entry). Pure C like
 * manifest.c: checked in unit tests and under libFuzzer.
 */
#ifndef LAMINA_EFI_KIMAGE_H
#define LAMINA_EFI_KIMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KIMG_MAX_SEGS 16
#define KIMG_ERR_MAX 128
#define MB2_HEADER_MAGIC 0xe85250d6u
#define MB2_HEADER_SEARCH 32768 /* the header lies in the file's first 32 KiB */

struct kimg_seg {
	uint64_t paddr;
	uint64_t memsz;
	uint64_t offset; /* in the file */
	uint64_t filesz; /* the rest, up to memsz, is zeroed */
};

struct kimage {
	unsigned int nr_segs;
	struct kimg_seg segs[KIMG_MAX_SEGS];
	uint32_t entry;
	bool entry_from_header; /* multiboot2 entry address tag */
	bool modules_page_aligned; /* module alignment tag */
	char error[KIMG_ERR_MAX];
};

/*
 * Check @len bytes of @file: an ELF64 x86-64 executable with a valid
 * multiboot2 header for i386, every PT_LOAD inside the file and below
 * 4 GiB, no two overlapping, the entry inside one of them. Returns 0, or
 * -HV_EINVAL with k->error saying what is wrong.
 */
int kimg_parse(const void *file, size_t len, struct kimage *k);

#endif
