/*
 * Multiboot2 boot information parser.
 *
 * The tag list comes from whatever loader started us and is treated as
 * untrusted input: every size is checked against the bytes we may read before
 * anything behind it is touched, and fields are copied out with memcpy since
 * nothing guarantees the loader aligned them for our types. The parser keeps
 * no state of its own, so unit tests and the fuzzer drive exactly the code
 * the hypervisor runs.
 */
#include <lamina/bootinfo.h>
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/unaligned.h>

#define MB2_INFO_HDR 8	/* u32 total_size, u32 reserved */
#define MB2_TAG_HDR 8	/* u32 type, u32 size */
#define MB2_TAG_ALIGN 8
#define MB2_MIN_TOTAL (MB2_INFO_HDR + MB2_TAG_HDR) /* header + end tag */

#define MB2_MMAP_HDR 8		/* u32 entry_size, u32 entry_version */
#define MB2_MMAP_ENTRY_MIN 24	/* u64 base, u64 length, u32 type, u32 rsvd */
#define MB2_MODULE_HDR 8	/* u32 mod_start, u32 mod_end */

#define EFI_MMAP_HDR 8		/* u32 descriptor_size, u32 descriptor_version */
#define EFI_DESC_MIN 40		/* sizeof(EFI_MEMORY_DESCRIPTOR) */
#define EFI_DESC_TYPE 0
#define EFI_DESC_PHYS_START 8
#define EFI_DESC_NR_PAGES 24
#define EFI_PAGE_SHIFT 12

/* Tag 8: u64 addr, u32 pitch, width, height, u8 bpp, type, u16 reserved */
#define FB_COMMON 24		/* payload bytes before the colour info */
#define FB_RGB_INFO 6		/* u8 position and size of red, green, blue */
#define FB_MAX_PIXELS 16384	/* either way: larger is a broken tag */

#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define RSDP_LENGTH_OFF 20	/* u32 length of an ACPI 2.0+ RSDP */

/* One tag, located: everything a tag handler may look at. */
struct mb2_tag {
	u32 type;
	u32 size;	/* header included */
	u32 off;	/* from the start of the information, for messages */
	const u8 *data;	/* payload, just past the header */
	u32 len;	/* payload bytes */
};

struct mb2_ctx {
	const u8 *base;
	u32 total;
	struct bootinfo *bi;
	u32 seen;	/* one bit per tag type below 32 already met */
	bool have_efi_mmap;
	struct mb2_tag efi_mmap; /* decoded at the end, only without tag 6 */
};

static bool tag_seen(const struct mb2_ctx *c, u32 type)
{
	return type < 32 && (c->seen & (1u << type));
}

static __printf(2, 3) int info_err(struct bootinfo *bi, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(bi->error, sizeof(bi->error), fmt, ap);
	va_end(ap);
	return -HV_EINVAL;
}

/* Every message about a tag starts the same way, so logs can be grepped. */
static __printf(3, 4) int tag_err(struct mb2_ctx *c, const struct mb2_tag *t,
				  const char *fmt, ...)
{
	char *e = c->bi->error;
	int n;
	va_list ap;

	n = snprintf(e, BOOTINFO_ERR_MAX, "tag %u at +0x%x: ", t->type, t->off);
	if (n < 0 || n >= BOOTINFO_ERR_MAX)
		return -HV_EINVAL;
	va_start(ap, fmt);
	vsnprintf(e + n, BOOTINFO_ERR_MAX - n, fmt, ap);
	va_end(ap);
	return -HV_EINVAL;
}

/* Only the first warning is kept: it is the one that explains the rest. */
static __printf(3, 4) void tag_warn(struct mb2_ctx *c, const struct mb2_tag *t,
				    const char *fmt, ...)
{
	char *w = c->bi->warning;
	int n;
	va_list ap;

	if (w[0])
		return;
	n = snprintf(w, BOOTINFO_ERR_MAX, "tag %u at +0x%x: ", t->type, t->off);
	if (n < 0 || n >= BOOTINFO_ERR_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(w + n, BOOTINFO_ERR_MAX - n, fmt, ap);
	va_end(ap);
}

/* Find the length of the NUL-terminated string in @max bytes at @s. */
static int tag_string(struct mb2_ctx *c, const struct mb2_tag *t,
		      const u8 *s, u32 max, u32 *len)
{
	size_t n = strnlen((const char *)s, max);

	if (n == max)
		return tag_err(c, t, "string not NUL-terminated within the tag");
	*len = (u32)n;
	return 0;
}

/* Names are informational, so a long one is cut rather than refused. */
static void copy_name(struct mb2_ctx *c, const struct mb2_tag *t, char *dst,
		      const u8 *src, u32 len)
{
	if (len >= BOOTINFO_NAME_MAX) {
		tag_warn(c, t, "name of %u bytes truncated to %u", len,
			 BOOTINFO_NAME_MAX - 1);
		len = BOOTINFO_NAME_MAX - 1;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int mb2_cmdline(struct mb2_ctx *c, const struct mb2_tag *t)
{
	u32 len = 0; /* set on success; 0 keeps gcc's flow analysis quiet */
	int err;

	err = tag_string(c, t, t->data, t->len, &len);
	if (err)
		return err;
	/* A cut command line could silently drop an option: refuse it. */
	if (len >= BOOTINFO_CMDLINE_MAX)
		return tag_err(c, t, "command line of %u bytes, limit %u", len,
			       BOOTINFO_CMDLINE_MAX - 1);
	memcpy(c->bi->cmdline, t->data, len + 1);
	c->bi->has_cmdline = true;
	return 0;
}

static int mb2_loader(struct mb2_ctx *c, const struct mb2_tag *t)
{
	u32 len = 0;
	int err;

	err = tag_string(c, t, t->data, t->len, &len);
	if (err)
		return err;
	copy_name(c, t, c->bi->loader, t->data, len);
	return 0;
}

static int mb2_module(struct mb2_ctx *c, const struct mb2_tag *t)
{
	struct bootinfo *bi = c->bi;
	struct boot_module *m;
	u32 start = rd32(t->data), end = rd32(t->data + 4), len = 0;
	int err;

	if (end < start)
		return tag_err(c, t, "module end 0x%x < start 0x%x", end, start);
	err = tag_string(c, t, t->data + MB2_MODULE_HDR,
			 t->len - MB2_MODULE_HDR, &len);
	if (err)
		return err;
	if (bi->nr_modules == BOOTINFO_MAX_MODULES)
		return tag_err(c, t, "more than %u modules", BOOTINFO_MAX_MODULES);
	m = &bi->modules[bi->nr_modules++];
	m->start = start;
	m->end = end;
	copy_name(c, t, m->name, t->data + MB2_MODULE_HDR, len);
	return 0;
}

/* ------------------------------------------------------------ memory map */

/* Does [base, end) touch or overlap @r, and is it of the same type? */
static bool range_joins(const struct mem_range *r, u64 base, u64 end, u32 type)
{
	return r->type == type && base <= r->base + r->len && r->base <= end;
}

static void range_grow(struct mem_range *r, u64 base, u64 end)
{
	u64 r_end = r->base + r->len;

	if (base < r->base)
		r->base = base;
	r->len = MAX(end, r_end) - r->base;
}

/* Growing one range may have made it meet its neighbours: join them too. */
static void mmap_coalesce(struct bootinfo *bi)
{
	unsigned int i = 0;

	while (i + 1 < bi->nr_mmap) {
		struct mem_range *a = &bi->mmap[i], *b = a + 1;

		if (!range_joins(a, b->base, b->base + b->len, b->type)) {
			i++;
			continue;
		}
		range_grow(a, b->base, b->base + b->len);
		bi->nr_mmap--;
		memmove(b, b + 1, (bi->nr_mmap - i - 1) * sizeof(*b));
	}
}

/*
 * Keep the map sorted by base and merged as it is built: firmware maps are
 * often longer than BOOTINFO_MAX_MMAP before merging and EFI ones need not
 * be sorted. Returns -HV_E2BIG when a range fits nowhere.
 */
static int mmap_insert(struct bootinfo *bi, u64 base, u64 len, u32 type)
{
	unsigned int i = 0, n = bi->nr_mmap;
	u64 end = base + len;
	struct mem_range *r = bi->mmap;

	while (i < n && r[i].base <= base)
		i++;
	if (i > 0 && range_joins(&r[i - 1], base, end, type)) {
		range_grow(&r[i - 1], base, end);
	} else if (i < n && range_joins(&r[i], base, end, type)) {
		range_grow(&r[i], base, end);
	} else {
		if (n == BOOTINFO_MAX_MMAP)
			return -HV_E2BIG;
		memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
		r[i].base = base;
		r[i].len = len;
		r[i].type = type;
		bi->nr_mmap++;
		return 0;
	}
	mmap_coalesce(bi);
	return 0;
}

static int mmap_add(struct mb2_ctx *c, const struct mb2_tag *t, u32 idx,
		    u64 base, u64 len, u32 type)
{
	if (!len)
		return 0;
	if (base + len < base)
		return tag_err(c, t, "entry %u wraps past the top of memory", idx);
	if (mmap_insert(c->bi, base, len, type))
		return tag_err(c, t, "more than %u ranges after merging",
			       BOOTINFO_MAX_MMAP);
	return 0;
}

static u32 mb2_mem_type(u32 type)
{
	switch (type) {
	case 1:
		return MEM_USABLE;
	case 3:
		return MEM_ACPI_RECLAIM;
	case 4:
		return MEM_ACPI_NVS;
	case 5:
		return MEM_BAD;
	default:
		return MEM_RESERVED;
	}
}

/*
 * Both memory map tags: a u32 record size, then whole records. Returns the
 * record count (below 2^31: records are at least 24 bytes) or an error.
 */
static int check_records(struct mb2_ctx *c, const struct mb2_tag *t, u32 min)
{
	u32 esize = rd32(t->data), bytes = t->len - MB2_MMAP_HDR;

	if (esize < min)
		return tag_err(c, t, "entry size %u < %u", esize, min);
	if (esize % 8)
		return tag_err(c, t, "entry size %u not a multiple of 8", esize);
	if (bytes % esize)
		return tag_err(c, t, "%u bytes of entries not a multiple of %u",
			       bytes, esize);
	return (int)(bytes / esize);
}

static int mb2_mmap(struct mb2_ctx *c, const struct mb2_tag *t)
{
	u32 esize = rd32(t->data);
	const u8 *e = t->data + MB2_MMAP_HDR;
	int i, n, err;

	n = check_records(c, t, MB2_MMAP_ENTRY_MIN);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++, e += esize) {
		err = mmap_add(c, t, i, rd64(e), rd64(e + 8),
			       mb2_mem_type(rd32(e + 16)));
		if (err)
			return err;
	}
	return 0;
}

static u32 efi_mem_type(u32 type)
{
	switch (type) {
	case 1: /* loader code */
	case 2: /* loader data */
	case 3: /* boot services code */
	case 4: /* boot services data */
	case 7: /* conventional */
		return MEM_USABLE;
	case 8: /* unusable */
		return MEM_BAD;
	case 9: /* ACPI reclaim */
		return MEM_ACPI_RECLAIM;
	case 10: /* ACPI NVS */
		return MEM_ACPI_NVS;
	default:
		return MEM_RESERVED;
	}
}

/* Checked when met, decoded only if no multiboot2 map turns up. */
static int mb2_efi_mmap(struct mb2_ctx *c, const struct mb2_tag *t)
{
	int n = check_records(c, t, EFI_DESC_MIN);

	if (n < 0)
		return n;
	c->bi->efi = true;
	c->have_efi_mmap = true;
	c->efi_mmap = *t;
	return 0;
}

static int efi_mmap_decode(struct mb2_ctx *c, const struct mb2_tag *t)
{
	u32 i, dsize = rd32(t->data), n = (t->len - EFI_MMAP_HDR) / dsize;
	const u8 *d = t->data + EFI_MMAP_HDR;
	u64 pages;
	int err;

	for (i = 0; i < n; i++, d += dsize) {
		pages = rd64(d + EFI_DESC_NR_PAGES);
		if (pages > (UINT64_MAX >> EFI_PAGE_SHIFT))
			return tag_err(c, t, "entry %u: page count overflows",
				       i);
		err = mmap_add(c, t, i, rd64(d + EFI_DESC_PHYS_START),
			       pages << EFI_PAGE_SHIFT,
			       efi_mem_type(rd32(d + EFI_DESC_TYPE)));
		if (err)
			return err;
	}
	c->bi->mmap_from_efi = true;
	return 0;
}

/* ------------------------------------------------------------ EFI, ACPI */

static int mb2_efi32(struct mb2_ctx *c, const struct mb2_tag *t)
{
	c->bi->efi = true;
	if (!tag_seen(c, MB2_TAG_EFI64))
		c->bi->efi_systab = rd32(t->data);
	return 0;
}

static int mb2_efi64(struct mb2_ctx *c, const struct mb2_tag *t)
{
	c->bi->efi = true;
	c->bi->efi_systab = rd64(t->data);
	return 0;
}

static int mb2_acpi_old(struct mb2_ctx *c, const struct mb2_tag *t)
{
	struct bootinfo *bi = c->bi;

	if (tag_seen(c, MB2_TAG_ACPI_NEW))
		return 0;
	memcpy(bi->rsdp, t->data, RSDP_V1_LEN);
	bi->rsdp_len = RSDP_V1_LEN;
	bi->rsdp_new = false;
	return 0;
}

static int mb2_acpi_new(struct mb2_ctx *c, const struct mb2_tag *t)
{
	struct bootinfo *bi = c->bi;
	u32 len = rd32(t->data + RSDP_LENGTH_OFF);

	if (len < RSDP_V2_LEN)
		return tag_err(c, t, "RSDP length %u < %u", len, RSDP_V2_LEN);
	if (len > t->len)
		return tag_err(c, t, "RSDP length %u > %u bytes in the tag",
			       len, t->len);
	if (len > BOOTINFO_RSDP_MAX) {
		tag_warn(c, t, "RSDP length %u, kept %u", len,
			 BOOTINFO_RSDP_MAX);
		len = BOOTINFO_RSDP_MAX;
	}
	memcpy(bi->rsdp, t->data, len);
	bi->rsdp_len = len;
	bi->rsdp_new = true;
	return 0;
}

/* ------------------------------------------------------------ framebuffer */

static const char *fb_field_check(u8 pos, u8 size, u8 bpp)
{
	if (!size || size > 8)
		return "colour field size not 1 to 8 bits";
	if (pos + size > bpp)
		return "colour field outside the pixel";
	return NULL;
}

const char *boot_fb_check(const struct boot_fb *fb)
{
	const char *why;
	u64 bytes;

	if (fb->type != MB2_FB_RGB)
		return fb->type == MB2_FB_EGA_TEXT ? "EGA text mode, not pixels" :
		       "indexed colour, not direct RGB";
	if (fb->bpp != 15 && fb->bpp != 16 && fb->bpp != 24 && fb->bpp != 32)
		return "bits per pixel not 15, 16, 24 or 32";
	if (!fb->width || !fb->height || fb->width > FB_MAX_PIXELS ||
	    fb->height > FB_MAX_PIXELS)
		return "width or height not 1 to 16384";
	if (fb->pitch < (u64)fb->width * boot_fb_bytespp(fb))
		return "pitch shorter than a line";
	why = fb_field_check(fb->red_pos, fb->red_size, fb->bpp);
	if (!why)
		why = fb_field_check(fb->green_pos, fb->green_size, fb->bpp);
	if (!why)
		why = fb_field_check(fb->blue_pos, fb->blue_size, fb->bpp);
	if (why)
		return why;
	bytes = (u64)fb->pitch * fb->height;
	if (!fb->addr || fb->addr + bytes < fb->addr)
		return "address 0 or wrapping past 2^64";
	return NULL;
}

/* Position and size of red, green and blue, a byte each. */
static void fb_rgb_fields(struct boot_fb *fb, const u8 *d)
{
	fb->red_pos = d[0];
	fb->red_size = d[1];
	fb->green_pos = d[2];
	fb->green_size = d[3];
	fb->blue_pos = d[4];
	fb->blue_size = d[5];
}

/* Never fatal: a screen is a convenience, the serial line is the console. */
static int mb2_framebuffer(struct mb2_ctx *c, const struct mb2_tag *t)
{
	struct boot_fb fb = { 0 };
	const u8 *d = t->data;
	const char *why;

	if (c->bi->has_fb) {
		tag_warn(c, t, "second framebuffer tag ignored");
		return 0;
	}
	if (t->len < FB_COMMON) {
		tag_warn(c, t, "framebuffer tag of %u bytes ignored", t->size);
		return 0;
	}
	fb.addr = rd64(d);
	fb.pitch = rd32(d + 8);
	fb.width = rd32(d + 12);
	fb.height = rd32(d + 16);
	fb.bpp = d[20];
	fb.type = d[21];
	if (fb.type != MB2_FB_RGB)
		return 0; /* text or palette modes: a choice, not a fault */
	if (t->len < FB_COMMON + FB_RGB_INFO) {
		tag_warn(c, t, "RGB framebuffer tag of %u bytes ignored", t->size);
		return 0;
	}
	fb_rgb_fields(&fb, d + FB_COMMON);
	why = boot_fb_check(&fb);
	if (why) {
		tag_warn(c, t, "framebuffer %ux%ux%u not used: %s",
			 fb.width, fb.height, fb.bpp, why);
		return 0;
	}
	c->bi->fb = fb;
	c->bi->has_fb = true;
	return 0;
}

/* ------------------------------------------------------------ tag walk */

struct mb2_tag_desc {
	u32 min_size;	/* whole tag, header included */
	bool unique;	/* a second one is malformed, not "the newer one" */
	int (*parse)(struct mb2_ctx *c, const struct mb2_tag *t);
};

static const struct mb2_tag_desc mb2_tags[] = {
	[MB2_TAG_CMDLINE] = { MB2_TAG_HDR, true, mb2_cmdline },
	[MB2_TAG_LOADER] = { MB2_TAG_HDR, true, mb2_loader },
	[MB2_TAG_MODULE] = { MB2_TAG_HDR + MB2_MODULE_HDR, false, mb2_module },
	[MB2_TAG_MMAP] = { MB2_TAG_HDR + MB2_MMAP_HDR, true, mb2_mmap },
	[MB2_TAG_FRAMEBUFFER] = { MB2_TAG_HDR, false, mb2_framebuffer },
	[MB2_TAG_EFI32] = { MB2_TAG_HDR + 4, true, mb2_efi32 },
	[MB2_TAG_EFI64] = { MB2_TAG_HDR + 8, true, mb2_efi64 },
	[MB2_TAG_ACPI_OLD] = { MB2_TAG_HDR + RSDP_V1_LEN, true, mb2_acpi_old },
	[MB2_TAG_ACPI_NEW] = { MB2_TAG_HDR + RSDP_V2_LEN, true, mb2_acpi_new },
	[MB2_TAG_EFI_MMAP] = { MB2_TAG_HDR + EFI_MMAP_HDR, true, mb2_efi_mmap },
};

static int mb2_tag(struct mb2_ctx *c, const struct mb2_tag *t)
{
	const struct mb2_tag_desc *d;

	if (t->type >= ARRAY_SIZE(mb2_tags) || !mb2_tags[t->type].parse)
		return 0; /* unknown or unused: the size check was enough */
	d = &mb2_tags[t->type];
	if (t->size < d->min_size)
		return tag_err(c, t, "size %u < %u", t->size, d->min_size);
	if (d->unique && tag_seen(c, t->type))
		return tag_err(c, t, "duplicate tag");
	c->seen |= 1u << t->type;
	return d->parse(c, t);
}

static int mb2_walk(struct mb2_ctx *c)
{
	u64 off = MB2_INFO_HDR;
	struct mb2_tag t;
	int err;

	while (off + MB2_TAG_HDR <= c->total) {
		t.off = (u32)off;
		t.type = rd32(c->base + off);
		t.size = rd32(c->base + off + 4);
		if (t.size < MB2_TAG_HDR)
			return tag_err(c, &t, "size %u < %u", t.size, MB2_TAG_HDR);
		if (t.size > c->total - off)
			return tag_err(c, &t, "size %u runs past total size %u",
				       t.size, c->total);
		if (t.type == MB2_TAG_END)
			return t.size == MB2_TAG_HDR ? 0 :
				tag_err(c, &t, "end tag size %u != 8", t.size);
		t.data = c->base + off + MB2_TAG_HDR;
		t.len = t.size - MB2_TAG_HDR;
		err = mb2_tag(c, &t);
		if (err)
			return err;
		off += ALIGN_UP((u64)t.size, MB2_TAG_ALIGN);
	}
	if (off < c->total)
		return info_err(c->bi, "tag header at +0x%x runs past total size %u",
				(u32)off, c->total);
	return info_err(c->bi, "no end tag within total size %u", c->total);
}

int mb2_parse(const void *mbi, size_t avail, struct bootinfo *bi)
{
	struct mb2_ctx c = { .base = mbi, .bi = bi };
	int err;

	memset(bi, 0, sizeof(*bi));
	if (!mbi || avail < MB2_INFO_HDR)
		return info_err(bi, "mbi: %lu bytes available, need %u",
				(unsigned long)avail, MB2_INFO_HDR);
	c.total = rd32(c.base);
	if (c.total < MB2_MIN_TOTAL)
		return info_err(bi, "mbi: total size %u < %u", c.total,
				MB2_MIN_TOTAL);
	if (c.total > avail)
		return info_err(bi, "mbi: total size %u > %lu bytes available",
				c.total, (unsigned long)avail);
	bi->mbi_addr = (u64)(uintptr_t)mbi;
	bi->mbi_size = c.total;
	err = mb2_walk(&c);
	if (!err && c.have_efi_mmap && !tag_seen(&c, MB2_TAG_MMAP))
		err = efi_mmap_decode(&c, &c.efi_mmap);
	return err;
}

const char *mem_type_name(u32 type)
{
	switch (type) {
	case MEM_USABLE:
		return "usable";
	case MEM_RESERVED:
		return "reserved";
	case MEM_ACPI_RECLAIM:
		return "ACPI reclaimable";
	case MEM_ACPI_NVS:
		return "ACPI NVS";
	case MEM_BAD:
		return "bad";
	default:
		return "unknown";
	}
}
