/*
 * The kernel image checker (see kimage.h). Everything is read byte by byte
 * through rd16/rd32/rd64 with explicit bounds: the file comes from a FAT
 * partition anyone can write to.
 */
#include <lamina/errno.h>

#include "kimage.h"

#define EI_NIDENT 16
#define ELF_HDR_LEN 64
#define ELF_PHDR_LEN 56
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define FOUR_GIB 0x100000000ull

#define MB2_ARCH_I386 0
#define MB2_HTAG_END 0
#define MB2_HTAG_INFO_REQ 1
#define MB2_HTAG_ADDRESS 2
#define MB2_HTAG_ENTRY 3
#define MB2_HTAG_CONSOLE 4
#define MB2_HTAG_FRAMEBUFFER 5
#define MB2_HTAG_MODULE_ALIGN 6
#define MB2_HTAG_EFI_BS 7
#define MB2_HTAG_ENTRY_EFI32 8
#define MB2_HTAG_ENTRY_EFI64 9
#define MB2_HTAG_RELOCATABLE 10
#define MB2_HTAG_OPTIONAL 1 /* flags bit 0 */

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* "what" plus an optional hex value: enough for every message here. */
static int fail(struct kimage *k, const char *what, uint64_t v, bool show)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	int sh;

	while (*what && n + 1 < KIMG_ERR_MAX)
		k->error[n++] = *what++;
	if (show && n + 20 < KIMG_ERR_MAX) {
		k->error[n++] = '0';
		k->error[n++] = 'x';
		for (sh = 60; sh > 0 && !(v >> sh); sh -= 4)
			;
		for (; sh >= 0; sh -= 4)
			k->error[n++] = hex[(v >> sh) & 0xf];
	}
	k->error[n] = '\0';
	return -HV_EINVAL;
}

static int check_ehdr(const uint8_t *f, size_t len, struct kimage *k)
{
	if (len < ELF_HDR_LEN || f[0] != 0x7f || f[1] != 'E' || f[2] != 'L' ||
	    f[3] != 'F')
		return fail(k, "not an ELF file", 0, false);
	if (f[4] != ELFCLASS64 || f[5] != ELFDATA2LSB)
		return fail(k, "not a little-endian ELF64 file", 0, false);
	if (rd16(f + 16) != ET_EXEC || rd16(f + 18) != EM_X86_64)
		return fail(k, "not an x86-64 executable", 0, false);
	if (rd16(f + 54) != ELF_PHDR_LEN)
		return fail(k, "program header entry size is not 56: ",
			    rd16(f + 54), true);
	return 0;
}

static bool overlaps(const struct kimg_seg *a, const struct kimg_seg *b)
{
	return a->paddr < b->paddr + b->memsz && b->paddr < a->paddr + a->memsz;
}

static int add_seg(struct kimage *k, const uint8_t *ph, size_t len)
{
	struct kimg_seg s = {
		.offset = rd64(ph + 8), .paddr = rd64(ph + 24),
		.filesz = rd64(ph + 32), .memsz = rd64(ph + 40),
	};
	unsigned int i;

	if (!s.memsz)
		return 0;
	if (k->nr_segs == KIMG_MAX_SEGS)
		return fail(k, "more than 16 PT_LOAD segments", 0, false);
	if (s.filesz > s.memsz)
		return fail(k, "PT_LOAD file size above its memory size at ",
			    s.paddr, true);
	if (s.offset > len || s.filesz > len - s.offset)
		return fail(k, "PT_LOAD runs past the end of the file at offset ",
			    s.offset, true);
	if (s.paddr >= FOUR_GIB || s.memsz > FOUR_GIB - s.paddr)
		return fail(k, "PT_LOAD not below 4 GiB at ", s.paddr, true);
	for (i = 0; i < k->nr_segs; i++)
		if (overlaps(&s, &k->segs[i]))
			return fail(k, "PT_LOAD segments overlap at ", s.paddr,
				    true);
	k->segs[k->nr_segs++] = s;
	return 0;
}

static int read_segments(const uint8_t *f, size_t len, struct kimage *k)
{
	uint64_t phoff = rd64(f + 32);
	uint32_t phnum = rd16(f + 56), i;
	int err;

	if (phoff > len || (uint64_t)phnum * ELF_PHDR_LEN > len - phoff)
		return fail(k, "program headers run past the end of the file",
			    0, false);
	for (i = 0; i < phnum; i++) {
		const uint8_t *ph = f + phoff + (uint64_t)i * ELF_PHDR_LEN;

		if (rd32(ph) != PT_LOAD)
			continue;
		err = add_seg(k, ph, len);
		if (err)
			return err;
	}
	if (!k->nr_segs)
		return fail(k, "no PT_LOAD segment", 0, false);
	return 0;
}

/* A header tag we do not act on is fine if optional, or if it asks
 * nothing of us (console, framebuffer: GOP's mode is passed as it is). */
static int mb2_tag(struct kimage *k, const uint8_t *t, uint32_t size)
{
	uint32_t type = rd16(t), flags = rd16(t + 2);

	switch (type) {
	case MB2_HTAG_ENTRY:
		if (size < 12)
			return fail(k, "multiboot2 entry tag too short", 0, false);
		k->entry = rd32(t + 8);
		k->entry_from_header = true;
		return 0;
	case MB2_HTAG_MODULE_ALIGN:
		k->modules_page_aligned = true; /* we align them anyway */
		return 0;
	case MB2_HTAG_INFO_REQ:     /* what we give is all we have */
	case MB2_HTAG_CONSOLE:
	case MB2_HTAG_FRAMEBUFFER:
	case MB2_HTAG_RELOCATABLE:  /* loaded where linked: allowed */
		return 0;
	case MB2_HTAG_ADDRESS:      /* a.out kludge: only ELF here */
	case MB2_HTAG_EFI_BS:       /* we always exit boot services */
	case MB2_HTAG_ENTRY_EFI32:
	case MB2_HTAG_ENTRY_EFI64:
	default:
		if (flags & MB2_HTAG_OPTIONAL)
			return 0;
		return fail(k, "unsupported required multiboot2 header tag ",
			    type, true);
	}
}

static int read_mb2_header(const uint8_t *f, size_t len, struct kimage *k)
{
	size_t lim = len < MB2_HEADER_SEARCH ? len : MB2_HEADER_SEARCH;
	size_t off, hlen, t;
	uint32_t size;
	int err;

	for (off = 0; off + 16 <= lim; off += 8)
		if (rd32(f + off) == MB2_HEADER_MAGIC)
			break;
	if (off + 16 > lim)
		return fail(k, "no multiboot2 header in the first 32 KiB", 0, false);
	hlen = rd32(f + off + 8);
	if (rd32(f + off + 4) != MB2_ARCH_I386)
		return fail(k, "multiboot2 header is not for i386", 0, false);
	if (hlen < 24 || hlen > len - off)
		return fail(k, "multiboot2 header length out of range: ", hlen, true);
	if ((uint32_t)(MB2_HEADER_MAGIC + MB2_ARCH_I386 + (uint32_t)hlen +
		       rd32(f + off + 12)) != 0)
		return fail(k, "multiboot2 header checksum is wrong", 0, false);
	for (t = 16; t + 8 <= hlen; t += (size + 7) & ~7u) {
		size = rd32(f + off + t + 4);
		if (size < 8 || size > hlen - t)
			return fail(k, "multiboot2 header tag size out of range at +",
				    t, true);
		if (rd16(f + off + t) == MB2_HTAG_END)
			return 0;
		err = mb2_tag(k, f + off + t, size);
		if (err)
			return err;
	}
	return fail(k, "multiboot2 header has no end tag", 0, false);
}

static void clear(struct kimage *k)
{
	uint8_t *p = (uint8_t *)k;
	size_t i;

	for (i = 0; i < sizeof(*k); i++)
		p[i] = 0;
}

int kimg_parse(const void *file, size_t len, struct kimage *k)
{
	const uint8_t *f = file;
	uint64_t entry;
	unsigned int i;
	int err;

	clear(k);
	err = check_ehdr(f, len, k);
	if (!err)
		err = read_segments(f, len, k);
	if (!err)
		err = read_mb2_header(f, len, k);
	if (err)
		return err;
	entry = k->entry_from_header ? k->entry : rd64(f + 24);
	for (i = 0; i < k->nr_segs; i++)
		if (entry >= k->segs[i].paddr &&
		    entry < k->segs[i].paddr + k->segs[i].memsz)
			break;
	if (i == k->nr_segs)
		return fail(k, "entry point outside every PT_LOAD segment: ",
			    entry, true);
	k->entry = (uint32_t)entry;
	return 0;
}
