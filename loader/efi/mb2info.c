/*
 * The multiboot2 information builder (see mb2info.h). Tag layouts are those
 * of the multiboot2 specification, section 3.6, and of GRUB's multiboot2.h
 * where the two differ in wording (the framebuffer tag's reserved u16).
 */
#include "mb2info.h"

#define TAG_END 0
#define TAG_CMDLINE 1
#define TAG_LOADER 2
#define TAG_MODULE 3
#define TAG_MMAP 6
#define TAG_FRAMEBUFFER 8
#define TAG_EFI64 12
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15
#define TAG_EFI_MMAP 17

#define MMAP_ENTRY 24 /* u64 base, u64 length, u32 type, u32 reserved */
#define EFI_DESC_MIN 40
#define EFI_PAGE 4096u
#define RSDP_V1_LEN 20
#define FB_COMMON 32  /* header, address, pitch, width, height, bpp, type, rsvd */

/* multiboot2 memory types */
#define MB2_MEM_AVAILABLE 1
#define MB2_MEM_RESERVED 2
#define MB2_MEM_ACPI 3
#define MB2_MEM_NVS 4
#define MB2_MEM_BAD 5

struct out {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int overflow;
};

static size_t slen(const char *s)
{
	size_t n = 0;

	while (s && s[n])
		n++;
	return n;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void put(struct out *o, size_t off, const void *src, size_t n)
{
	const uint8_t *s = src;
	size_t i;

	if (off > o->cap || n > o->cap - off) {
		o->overflow = 1;
		return;
	}
	for (i = 0; i < n; i++)
		o->buf[off + i] = s[i];
}

static void put32(struct out *o, size_t off, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	put(o, off, b, 4);
}

static void put64(struct out *o, size_t off, uint64_t v)
{
	put32(o, off, (uint32_t)v);
	put32(o, off + 4, (uint32_t)(v >> 32));
}

/* Open a tag of @size bytes; returns the offset of its payload. */
static size_t tag(struct out *o, uint32_t type, size_t size)
{
	size_t at = o->len;
	static const uint8_t zero[8];

	put32(o, at, type);
	put32(o, at + 4, (uint32_t)size);
	o->len = align8(at + size);
	/* Padding is zeroed so the image is the same on every boot. */
	if (o->len > at + size)
		put(o, at + size, zero, o->len - (at + size));
	return at + 8;
}

static void tag_string(struct out *o, uint32_t type, const char *s)
{
	size_t n = slen(s) + 1;
	size_t p = tag(o, type, 8 + n);

	put(o, p, n > 1 ? s : "", n);
}

static uint32_t efi_to_mb2(uint32_t efi_type)
{
	switch (efi_type) {
	case 1: /* loader code: ours, free once Lamina runs */
	case 2: /* loader data: Lamina reserves its image, modules, info */
	case 3: /* boot services code */
	case 4: /* boot services data */
	case 7: /* conventional */
		return MB2_MEM_AVAILABLE;
	case 8:
		return MB2_MEM_BAD;
	case 9:
		return MB2_MEM_ACPI;
	case 10:
		return MB2_MEM_NVS;
	default: /* runtime services, MMIO, reserved, persistent */
		return MB2_MEM_RESERVED;
	}
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t rd32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Tag 6 from the EFI map; neighbours of one type are joined (the firmware
 * sorts its map) so that Lamina's 256-entry table has room to spare. */
static void tag_mmap(struct out *o, const struct mb2b_input *in)
{
	size_t n = in->efi_map_size / in->efi_desc_size, i, hdr = o->len;
	size_t p = tag(o, TAG_MMAP, 16), e = p + 8;
	uint64_t last_base = 0, last_end = 0;
	uint32_t last_type = 0;

	put32(o, p, MMAP_ENTRY);
	put32(o, p + 4, 0);
	for (i = 0; i < n && !o->overflow; i++) {
		const uint8_t *d = (const uint8_t *)in->efi_map +
				   i * in->efi_desc_size;
		uint32_t type = efi_to_mb2(rd32(d));
		uint64_t base = rd64(d + 8), len = rd64(d + 24) * EFI_PAGE;

		if (!len)
			continue;
		if (e > p + 8 && type == last_type && base == last_end) {
			last_end = base + len;
			put64(o, e - MMAP_ENTRY + 8, last_end - last_base);
			continue;
		}
		put64(o, e, base);
		put64(o, e + 8, len);
		put32(o, e + 16, type);
		put32(o, e + 20, 0);
		last_base = base;
		last_end = base + len;
		last_type = type;
		e += MMAP_ENTRY;
	}
	put32(o, hdr + 4, (uint32_t)(e - hdr));
	o->len = align8(e);
}

/* Tag 17: the firmware's map as it is, for a kernel that wants EFI types. */
static void tag_efi_mmap(struct out *o, const struct mb2b_input *in)
{
	size_t p = tag(o, TAG_EFI_MMAP, 16 + in->efi_map_size);

	put32(o, p, (uint32_t)in->efi_desc_size);
	put32(o, p + 4, in->efi_desc_version);
	put(o, p + 8, in->efi_map, in->efi_map_size);
}

static void tag_fb(struct out *o, const struct mb2b_fb *fb)
{
	size_t p = tag(o, TAG_FRAMEBUFFER, FB_COMMON + 6);
	uint8_t tail[10] = { fb->bpp, 1 /* direct RGB */, 0, 0,
			     fb->red_pos, fb->red_size, fb->green_pos,
			     fb->green_size, fb->blue_pos, fb->blue_size };

	put64(o, p, fb->addr);
	put32(o, p + 8, fb->pitch);
	put32(o, p + 12, fb->width);
	put32(o, p + 16, fb->height);
	put(o, p + 20, tail, sizeof(tail));
}

static void tag_module(struct out *o, const struct mb2b_module *m)
{
	size_t n = slen(m->name) + 1;
	size_t p = tag(o, TAG_MODULE, 16 + n);

	put32(o, p, m->start);
	put32(o, p + 4, m->end);
	put(o, p + 8, n > 1 ? m->name : "", n);
}

size_t mb2b_size(const struct mb2b_input *in)
{
	size_t n = 8 + 16; /* header, end tag */
	unsigned int i;

	n += align8(8 + slen(in->cmdline) + 1) + align8(8 + slen(in->loader) + 1);
	for (i = 0; i < in->nr_modules; i++)
		n += align8(16 + slen(in->modules[i].name) + 1);
	n += align8(8 + RSDP_V1_LEN) + align8(8 + in->rsdp_v2_len);
	n += 16 + align8(FB_COMMON + 6);
	if (in->efi_desc_size >= EFI_DESC_MIN)
		n += 16 + in->efi_map_size / in->efi_desc_size * MMAP_ENTRY +
		     align8(16 + in->efi_map_size);
	return n;
}

size_t mb2b_build(void *buf, size_t cap, const struct mb2b_input *in)
{
	struct out o = { buf, cap, 8, 0 };
	unsigned int i;
	size_t p;

	if (in->efi_desc_size < EFI_DESC_MIN)
		return 0;
	tag_string(&o, TAG_CMDLINE, in->cmdline);
	tag_string(&o, TAG_LOADER, in->loader);
	for (i = 0; i < in->nr_modules; i++)
		tag_module(&o, &in->modules[i]);
	tag_mmap(&o, in);
	if (in->rsdp_v1)
		put(&o, tag(&o, TAG_ACPI_OLD, 8 + RSDP_V1_LEN), in->rsdp_v1,
		    RSDP_V1_LEN);
	if (in->rsdp_v2)
		put(&o, tag(&o, TAG_ACPI_NEW, 8 + in->rsdp_v2_len),
		    in->rsdp_v2, in->rsdp_v2_len);
	p = tag(&o, TAG_EFI64, 16);
	put64(&o, p, in->efi_systab);
	if (in->fb)
		tag_fb(&o, in->fb);
	tag_efi_mmap(&o, in);
	tag(&o, TAG_END, 8);
	put32(&o, 0, (uint32_t)o.len);
	put32(&o, 4, 0);
	return o.overflow ? 0 : o.len;
}
