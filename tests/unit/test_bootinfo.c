/* Unit tests for the multiboot2 boot information parser (kernel/bootinfo.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/bootinfo.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

/* ------------------------------------------------------------ builder */

struct mbb {
	u8 buf[16384] __aligned(8);
	u32 len; /* bytes so far; also written as total_size */
};

struct mm_entry {
	u64 base;
	u64 len;
	u32 type;
};

struct efi_desc {
	u32 type;
	u64 start;
	u64 pages;
};

static struct mbb mb;
static struct bootinfo bi;

static void put32(u8 *p, u32 v)
{
	memcpy(p, &v, 4);
}

static void put64(u8 *p, u64 v)
{
	memcpy(p, &v, 8);
}

static void mb_init(struct mbb *b)
{
	memset(b, 0, sizeof(*b));
	b->len = 8;
	put32(b->buf, b->len);
}

/* Append a tag with @len payload bytes, pad to 8; returns its offset. */
static u32 mb_tag(struct mbb *b, u32 type, const void *data, u32 len)
{
	u32 off = b->len;

	assert_true(off + ALIGN_UP(8 + len, 8) <= sizeof(b->buf));
	put32(b->buf + off, type);
	put32(b->buf + off + 4, 8 + len);
	if (len)
		memcpy(b->buf + off + 8, data, len);
	b->len = off + ALIGN_UP(8 + len, 8);
	put32(b->buf, b->len);
	return off;
}

static void mb_set_size(struct mbb *b, u32 off, u32 size)
{
	put32(b->buf + off + 4, size);
}

static u32 mb_end(struct mbb *b)
{
	return mb_tag(b, MB2_TAG_END, NULL, 0);
}

static u32 mb_str(struct mbb *b, u32 type, const char *s)
{
	return mb_tag(b, type, s, (u32)strlen(s) + 1);
}

static u32 mb_module(struct mbb *b, u32 start, u32 end, const char *name)
{
	u8 p[256];
	u32 n = (u32)strlen(name) + 1;

	assert_true(n + 8 <= sizeof(p));
	put32(p, start);
	put32(p + 4, end);
	memcpy(p + 8, name, n);
	return mb_tag(b, MB2_TAG_MODULE, p, 8 + n);
}

static u8 scratch[12288];

static u32 mb_mmap(struct mbb *b, const struct mm_entry *e, u32 n, u32 esize)
{
	u32 i;

	assert_true(8 + n * esize <= sizeof(scratch));
	memset(scratch, 0, sizeof(scratch));
	put32(scratch, esize);
	for (i = 0; i < n; i++) {
		u8 *p = scratch + 8 + i * esize;

		put64(p, e[i].base);
		put64(p + 8, e[i].len);
		if (esize >= 24)
			put32(p + 16, e[i].type);
	}
	return mb_tag(b, MB2_TAG_MMAP, scratch, 8 + n * esize);
}

static u32 mb_efi_mmap(struct mbb *b, const struct efi_desc *d, u32 n,
		       u32 dsize)
{
	u32 i;

	assert_true(8 + n * dsize <= sizeof(scratch));
	memset(scratch, 0, sizeof(scratch));
	put32(scratch, dsize);
	put32(scratch + 4, 1);
	for (i = 0; i < n; i++) {
		u8 *p = scratch + 8 + i * dsize;

		put32(p, d[i].type);
		put64(p + 8, d[i].start);
		put64(p + 16, d[i].start); /* virtual start, unused */
		if (dsize >= 32)
			put64(p + 24, d[i].pages);
	}
	return mb_tag(b, MB2_TAG_EFI_MMAP, scratch, 8 + n * dsize);
}

/* An RSDP-shaped payload; the parser copies it, acpi_tables checks it. */
static u32 mb_rsdp(struct mbb *b, u32 type, u32 rsdp_length, u32 payload)
{
	u8 p[64] = "RSD PTR ";

	assert_true(payload <= sizeof(p));
	p[15] = type == MB2_TAG_ACPI_NEW ? 2 : 0;
	if (payload >= 24)
		put32(p + 20, rsdp_length);
	return mb_tag(b, type, p, payload);
}

static int mb_parse(struct mbb *b)
{
	return mb2_parse(b->buf, b->len, &bi);
}

#define assert_contains(hay, needle) do {				\
	if (!strstr((hay), (needle)))					\
		fail_msg("\"%s\" does not contain \"%s\"", (hay), (needle)); \
} while (0)

static void assert_range(unsigned int i, u64 base, u64 len, u32 type)
{
	assert_true(i < bi.nr_mmap);
	assert_int_equal(bi.mmap[i].base, base);
	assert_int_equal(bi.mmap[i].len, len);
	assert_int_equal(bi.mmap[i].type, type);
}

static int setup(void **state)
{
	(void)state;
	mb_init(&mb);
	memset(&bi, 0xa5, sizeof(bi)); /* catch fields left unset */
	return 0;
}

/* ------------------------------------------------------------ good input */

static const struct mm_entry bios_map[] = {
	{ 0x0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0xf0000, 0x10000, 2 },
	{ 0x100000, 0x7ee0000, 1 },
	{ 0x7fe0000, 0x10000, 3 },
	{ 0x7ff0000, 0x10000, 4 },
	{ 0x8000000, 0x1000, 5 },
	{ 0xfffc0000, 0x40000, 2 },
	{ 0x100000000ull, 0x10000000, 1 },
	{ 0x200000000ull, 0x1000, 12 }, /* persistent memory: reserved */
};

static void check_bios_map(void)
{
	assert_int_equal(bi.nr_mmap, ARRAY_SIZE(bios_map));
	assert_range(0, 0x0, 0x9fc00, MEM_USABLE);
	assert_range(1, 0x9fc00, 0x400, MEM_RESERVED);
	assert_range(2, 0xf0000, 0x10000, MEM_RESERVED);
	assert_range(3, 0x100000, 0x7ee0000, MEM_USABLE);
	assert_range(4, 0x7fe0000, 0x10000, MEM_ACPI_RECLAIM);
	assert_range(5, 0x7ff0000, 0x10000, MEM_ACPI_NVS);
	assert_range(6, 0x8000000, 0x1000, MEM_BAD);
	assert_range(7, 0xfffc0000, 0x40000, MEM_RESERVED);
	assert_range(8, 0x100000000ull, 0x10000000, MEM_USABLE);
	assert_range(9, 0x200000000ull, 0x1000, MEM_RESERVED);
}

static void test_bios_style(void **state)
{
	u8 meminfo[8] = { 0 }, unknown[13] = { 1, 2, 3 }, base[4] = { 0 };
	u32 acpi;

	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "console=com1 lamina.debug");
	mb_str(&mb, MB2_TAG_LOADER, "GRUB 2.06");
	mb_tag(&mb, MB2_TAG_BASIC_MEMINFO, meminfo, sizeof(meminfo));
	mb_mmap(&mb, bios_map, ARRAY_SIZE(bios_map), 24);
	mb_module(&mb, 0x200000, 0x300000, "guest.bin");
	mb_module(&mb, 0x300000, 0x380000, "initrd console=ttyS0");
	acpi = mb_rsdp(&mb, MB2_TAG_ACPI_OLD, 0, 20);
	mb_tag(&mb, 99, unknown, sizeof(unknown));
	mb_tag(&mb, MB2_TAG_LOAD_BASE, base, sizeof(base));
	mb_end(&mb);

	assert_int_equal(mb_parse(&mb), 0);
	assert_string_equal(bi.error, "");
	assert_string_equal(bi.warning, "");
	assert_int_equal(bi.mbi_addr, (u64)(uintptr_t)mb.buf);
	assert_int_equal(bi.mbi_size, mb.len);
	assert_true(bi.has_cmdline);
	assert_string_equal(bi.cmdline, "console=com1 lamina.debug");
	assert_string_equal(bi.loader, "GRUB 2.06");

	assert_false(bi.mmap_from_efi);
	check_bios_map();
	assert_int_equal(bi.nr_modules, 2);
	assert_int_equal(bi.modules[0].start, 0x200000);
	assert_int_equal(bi.modules[0].end, 0x300000);
	assert_string_equal(bi.modules[0].name, "guest.bin");
	assert_int_equal(bi.modules[1].start, 0x300000);
	assert_int_equal(bi.modules[1].end, 0x380000);
	assert_string_equal(bi.modules[1].name, "initrd console=ttyS0");

	assert_int_equal(bi.rsdp_len, 20);
	assert_false(bi.rsdp_new);
	assert_memory_equal(bi.rsdp, mb.buf + acpi + 8, 20);
	assert_false(bi.efi);
	assert_int_equal(bi.efi_systab, 0);
}

static const struct efi_desc uefi_map[] = {
	{ 9, 0xa00000, 0x10 },		/* ACPI reclaim, out of order */
	{ 3, 0x0, 1 },			/* boot services code */
	{ 7, 0x1000, 0x9f },		/* conventional: joins the above */
	{ 0, 0xa0000, 0x60 },		/* reserved */
	{ 7, 0x100000, 0x700 },
	{ 1, 0x800000, 0x100 },		/* loader code: joins */
	{ 2, 0x900000, 0x100 },		/* loader data: joins */
	{ 10, 0xa10000, 0x10 },		/* NVS */
	{ 8, 0xa20000, 1 },		/* unusable */
	{ 5, 0xa21000, 1 },		/* runtime code: reserved */
	{ 4, 0xa22000, 0 },		/* empty: dropped */
	{ 11, 0xfec00000, 1 },		/* MMIO: reserved */
};

static void check_uefi_map(void)
{
	assert_true(bi.mmap_from_efi);
	assert_int_equal(bi.nr_mmap, 8);
	assert_range(0, 0x0, 0xa0000, MEM_USABLE);
	assert_range(1, 0xa0000, 0x60000, MEM_RESERVED);
	assert_range(2, 0x100000, 0x900000, MEM_USABLE);
	assert_range(3, 0xa00000, 0x10000, MEM_ACPI_RECLAIM);
	assert_range(4, 0xa10000, 0x10000, MEM_ACPI_NVS);
	assert_range(5, 0xa20000, 0x1000, MEM_BAD);
	assert_range(6, 0xa21000, 0x1000, MEM_RESERVED);
	assert_range(7, 0xfec00000, 0x1000, MEM_RESERVED);
}

static void test_uefi_style(void **state)
{
	u8 systab64[8], systab32[4];
	u32 acpi;

	(void)state;
	put64(systab64, 0x7f9e018ull);
	put32(systab32, 0x1234);
	mb_str(&mb, MB2_TAG_CMDLINE, "");
	mb_str(&mb, MB2_TAG_LOADER, "GRUB 2.12");
	mb_tag(&mb, MB2_TAG_EFI64, systab64, 8);
	mb_tag(&mb, MB2_TAG_EFI32, systab32, 4); /* must not win over 12 */
	acpi = mb_rsdp(&mb, MB2_TAG_ACPI_NEW, 36, 36);
	mb_rsdp(&mb, MB2_TAG_ACPI_OLD, 0, 20);	/* must not win over 15 */
	mb_efi_mmap(&mb, uefi_map, ARRAY_SIZE(uefi_map), 48);
	mb_end(&mb);

	assert_int_equal(mb_parse(&mb), 0);
	assert_string_equal(bi.error, "");
	assert_true(bi.has_cmdline);
	assert_string_equal(bi.cmdline, "");
	assert_true(bi.efi);
	assert_int_equal(bi.efi_systab, 0x7f9e018ull);
	assert_int_equal(bi.rsdp_len, 36);
	assert_true(bi.rsdp_new);
	assert_memory_equal(bi.rsdp, mb.buf + acpi + 8, 36);
	assert_int_equal(bi.nr_modules, 0);
	check_uefi_map();
}

static void test_efi32_only(void **state)
{
	u8 systab32[4];

	(void)state;
	put32(systab32, 0x5678);
	mb_tag(&mb, MB2_TAG_EFI32, systab32, 4);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_true(bi.efi);
	assert_int_equal(bi.efi_systab, 0x5678);
	assert_false(bi.has_cmdline);
	assert_int_equal(bi.nr_mmap, 0);
	assert_int_equal(bi.rsdp_len, 0);
}

/* A descriptor size of 40 (no padding) is as good as the usual 48. */
static void test_efi_mmap_packed_descriptors(void **state)
{
	(void)state;
	mb_efi_mmap(&mb, uefi_map, ARRAY_SIZE(uefi_map), 40);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_true(bi.efi);
	check_uefi_map();
}

static void test_mb2_map_beats_efi_map(void **state)
{
	(void)state;
	mb_efi_mmap(&mb, uefi_map, ARRAY_SIZE(uefi_map), 48);
	mb_mmap(&mb, bios_map, 2, 24);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_true(bi.efi);
	assert_false(bi.mmap_from_efi);
	assert_int_equal(bi.nr_mmap, 2);
	assert_range(0, 0x0, 0x9fc00, MEM_USABLE);
	assert_range(1, 0x9fc00, 0x400, MEM_RESERVED);
}

/* Loaders may hand us the information at any address. */
static void test_unaligned_buffer(void **state)
{
	static u8 odd[sizeof(mb.buf) + 1];

	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "x");
	mb_mmap(&mb, bios_map, ARRAY_SIZE(bios_map), 32);
	mb_module(&mb, 0x1000, 0x2000, "m");
	mb_end(&mb);
	memcpy(odd + 1, mb.buf, mb.len);
	assert_int_equal(mb2_parse(odd + 1, mb.len, &bi), 0);
	check_bios_map();
	assert_int_equal(bi.nr_modules, 1);
	assert_string_equal(bi.cmdline, "x");
}

static void test_tags_after_end_ignored(void **state)
{
	(void)state;
	mb_end(&mb);
	mb_str(&mb, MB2_TAG_CMDLINE, "late");
	assert_int_equal(mb_parse(&mb), 0);
	assert_false(bi.has_cmdline);
}

static void test_empty_module_and_full_cmdline(void **state)
{
	char line[BOOTINFO_CMDLINE_MAX];

	(void)state;
	memset(line, 'c', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	mb_str(&mb, MB2_TAG_CMDLINE, line);
	mb_module(&mb, 0x5000, 0x5000, "");
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(strlen(bi.cmdline), BOOTINFO_CMDLINE_MAX - 1);
	assert_int_equal(bi.nr_modules, 1);
	assert_string_equal(bi.modules[0].name, "");
}

/* ------------------------------------------------------------ merging */

static void test_merge_unsorted_and_overlapping(void **state)
{
	static const struct mm_entry e[] = {
		{ 0x300000, 0x100000, 1 },
		{ 0x100000, 0x100000, 1 },
		{ 0x200000, 0x100000, 2 },	/* between: nothing joins */
		{ 0x500000, 0x100000, 1 },
		{ 0x400000, 0x100000, 1 },	/* bridges 0x300000 and 0x500000 */
		{ 0x450000, 0x10000, 1 },	/* inside: swallowed */
		{ 0x600000, 0x1000, 3 },	/* adjacent, other type */
		{ 0x601000, 0x1000, 3 },
		{ 0x0, 0x0, 1 },		/* empty: dropped */
		{ 0x50000, 0xb0000, 1 },	/* touches 0x100000 from below */
	};

	(void)state;
	mb_mmap(&mb, e, ARRAY_SIZE(e), 24);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(bi.nr_mmap, 4);
	assert_range(0, 0x50000, 0x1b0000, MEM_USABLE);
	assert_range(1, 0x200000, 0x100000, MEM_RESERVED);
	assert_range(2, 0x300000, 0x300000, MEM_USABLE);
	assert_range(3, 0x600000, 0x2000, MEM_ACPI_RECLAIM);
}

/* Types 2 and 7 both become "reserved", so they merge too. */
static void test_merge_after_translation(void **state)
{
	static const struct mm_entry e[] = {
		{ 0x1000, 0x1000, 2 },
		{ 0x2000, 0x1000, 7 },
	};

	(void)state;
	mb_mmap(&mb, e, ARRAY_SIZE(e), 24);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(bi.nr_mmap, 1);
	assert_range(0, 0x1000, 0x2000, MEM_RESERVED);
}

static struct mm_entry many[400];

static u32 fill_many(u32 n, u64 stride)
{
	u32 i;

	for (i = 0; i < n; i++) {
		many[i].base = (u64)i * stride;
		many[i].len = 0x1000;
		many[i].type = 1;
	}
	return n;
}

/* More raw entries than slots is fine as long as merging brings them in. */
static void test_many_entries_merge_into_one(void **state)
{
	(void)state;
	mb_mmap(&mb, many, fill_many(400, 0x1000), 24);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(bi.nr_mmap, 1);
	assert_range(0, 0, 400 * 0x1000, MEM_USABLE);
}

static void test_exactly_max_entries(void **state)
{
	(void)state;
	mb_mmap(&mb, many, fill_many(BOOTINFO_MAX_MMAP, 0x2000), 24);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(bi.nr_mmap, BOOTINFO_MAX_MMAP);
	assert_range(BOOTINFO_MAX_MMAP - 1, (BOOTINFO_MAX_MMAP - 1) * 0x2000ull,
		     0x1000, MEM_USABLE);
}

/* With the array full, a range that merges still fits. */
static void test_full_map_still_merges(void **state)
{
	(void)state;
	fill_many(BOOTINFO_MAX_MMAP + 1, 0x2000);
	many[BOOTINFO_MAX_MMAP].base = 0x1000; /* fills the first hole */
	mb_mmap(&mb, many, BOOTINFO_MAX_MMAP + 1, 24);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(bi.nr_mmap, BOOTINFO_MAX_MMAP - 1);
	assert_range(0, 0, 0x3000, MEM_USABLE);
}

/* ------------------------------------------------------------ truncation */

static void test_long_loader_name_truncated(void **state)
{
	char name[100];
	u32 off;

	(void)state;
	memset(name, 'L', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	mb_str(&mb, MB2_TAG_CMDLINE, "a");
	off = mb_str(&mb, MB2_TAG_LOADER, name);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(strlen(bi.loader), BOOTINFO_NAME_MAX - 1);
	assert_memory_equal(bi.loader, name, BOOTINFO_NAME_MAX - 1);
	assert_int_equal(off, 0x18);
	assert_contains(bi.warning, "tag 2 at +0x18");
	assert_contains(bi.warning, "truncated");
}

static void test_long_module_name_truncated(void **state)
{
	char name[200];

	(void)state;
	memset(name, 'm', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	mb_module(&mb, 0x1000, 0x2000, "short");
	mb_module(&mb, 0x2000, 0x3000, name);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(bi.nr_modules, 2);
	assert_string_equal(bi.modules[0].name, "short");
	assert_int_equal(strlen(bi.modules[1].name), BOOTINFO_NAME_MAX - 1);
	assert_contains(bi.warning, "tag 3 at +0x20");
	assert_contains(bi.warning, "199 bytes truncated to 63");
}

static void test_long_rsdp_kept_in_part(void **state)
{
	(void)state;
	mb_rsdp(&mb, MB2_TAG_ACPI_NEW, 40, 40);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_int_equal(bi.rsdp_len, BOOTINFO_RSDP_MAX);
	assert_contains(bi.warning, "tag 15 at +0x8: RSDP length 40");
}

/* ------------------------------------------------------------ rejections */

/*
 * One malformed tag, given as raw payload bytes (little-endian), placed
 * after an unknown tag so that its offset is +0x18, not the first one.
 */
struct bad_tag {
	const char *name;
	u32 type;
	u8 payload[48];
	u32 len;
	const char *msg;	/* expected after "tag T at +0x18: " */
};

#define LE32(v) (v) & 0xff, ((v) >> 8) & 0xff, ((v) >> 16) & 0xff, (v) >> 24

static const struct bad_tag bad_tags[] = {
	{ "end tag size", 0, { 0 }, 8, "end tag size 16 != 8" },
	{ "cmdline unterminated", 1, "abc", 3, "not NUL-terminated" },
	{ "cmdline empty tag", 1, { 0 }, 0, "not NUL-terminated" },
	{ "loader unterminated", 2, "GRUB", 4, "not NUL-terminated" },
	{ "module unterminated", 3, { LE32(0x1000), LE32(0x2000), 'a', 'b' },
	  10, "not NUL-terminated" },
	{ "module without string", 3, { LE32(0x1000), LE32(0x2000) }, 8,
	  "not NUL-terminated" },
	{ "module short", 3, { 0 }, 4, "size 12 < 16" },
	{ "module end < start", 3, { LE32(0x2000), LE32(0x1000), 'm', 0 }, 10,
	  "module end 0x1000 < start 0x2000" },
	{ "mmap short", 6, { LE32(24) }, 4, "size 12 < 16" },
	{ "mmap entry size 12", 6, { LE32(12), LE32(0) }, 8 + 24,
	  "entry size 12 < 24" },
	{ "mmap entry size 28", 6, { LE32(28), LE32(0) }, 8 + 28,
	  "entry size 28 not a multiple of 8" },
	{ "mmap partial entry", 6, { LE32(24), LE32(0) }, 8 + 32,
	  "32 bytes of entries not a multiple of 24" },
	{ "efi short", 17, { LE32(48) }, 4, "size 12 < 16" },
	{ "efi descriptor size 32", 17, { LE32(32), LE32(1) }, 8 + 32,
	  "entry size 32 < 40" },
	{ "efi partial descriptor", 17, { LE32(48), LE32(1) }, 8 + 40,
	  "40 bytes of entries not a multiple of 48" },
	{ "efi32 short", 11, { 0 }, 2, "size 10 < 12" },
	{ "efi64 short", 12, { 0 }, 4, "size 12 < 16" },
	{ "acpi old short", 14, "RSD PTR ", 16, "size 24 < 28" },
	{ "acpi new short", 15, "RSD PTR ", 24, "size 32 < 44" },
	{ "acpi new length past tag", 15, { [20] = LE32(40) }, 36,
	  "RSDP length 40 > 36 bytes in the tag" },
	{ "acpi new length < 36", 15, { [20] = LE32(20) }, 36,
	  "RSDP length 20 < 36" },
};

static void test_bad_tag_table(void **state)
{
	u8 unknown[8] = { 0 };
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad_tags); i++) {
		const struct bad_tag *c = &bad_tags[i];
		char prefix[32];

		print_message("  %s\n", c->name);
		mb_init(&mb);
		mb_tag(&mb, 99, unknown, sizeof(unknown));
		assert_int_equal(mb_tag(&mb, c->type, c->payload, c->len), 0x18);
		mb_end(&mb);
		assert_int_equal(mb_parse(&mb), -HV_EINVAL);
		snprintf(prefix, sizeof(prefix), "tag %u at +0x18: ", c->type);
		assert_contains(bi.error, prefix);
		assert_contains(bi.error, c->msg);
	}
}

/* Cases that need more than one tag: mb holds the list, @off the bad tag. */
static void expect_bad(u32 type, u32 off, const char *msg)
{
	char prefix[32];

	assert_int_equal(mb_parse(&mb), -HV_EINVAL);
	snprintf(prefix, sizeof(prefix), "tag %u at +0x%x: ", type, off);
	assert_contains(bi.error, prefix);
	assert_contains(bi.error, msg);
}

static void test_bad_tag_size(void **state)
{
	u32 off;

	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "ok");
	off = mb_tag(&mb, 99, NULL, 0);
	mb_set_size(&mb, off, 4);
	mb_end(&mb);
	expect_bad(99, off, "size 4 < 8");
}

static void test_bad_tag_past_total(void **state)
{
	u8 pad[8] = { 0 };
	u32 off = mb_tag(&mb, 99, pad, sizeof(pad));

	(void)state;
	mb_end(&mb);
	mb_set_size(&mb, off, 0x100);
	expect_bad(99, off, "size 256 runs past total size 32");
}

static void test_too_many_modules(void **state)
{
	u32 i, off = 0;

	(void)state;
	for (i = 0; i <= BOOTINFO_MAX_MODULES; i++)
		off = mb_module(&mb, i * 0x1000, i * 0x1000 + 0x800, "mod");
	mb_end(&mb);
	expect_bad(3, off, "more than 16 modules");
}

static void test_cmdline_too_long(void **state)
{
	char line[BOOTINFO_CMDLINE_MAX + 1];
	u32 off;

	(void)state;
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	off = mb_str(&mb, MB2_TAG_CMDLINE, line);
	mb_end(&mb);
	expect_bad(1, off, "command line of 512 bytes, limit 511");
}

/* A second copy of a one-of-a-kind tag means the list is not what we think. */
static void test_duplicate_tag(void **state)
{
	u32 off;

	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "one");
	mb_mmap(&mb, bios_map, 1, 24);
	off = mb_mmap(&mb, bios_map, 1, 24);
	mb_end(&mb);
	expect_bad(6, off, "duplicate tag");
}

static void test_mmap_wraps(void **state)
{
	static const struct mm_entry e[] = {
		{ 0x0, 0x1000, 1 },
		{ 0xfffffffffffff000ull, 0x2000, 2 },
	};
	u32 off;

	(void)state;
	off = mb_mmap(&mb, e, ARRAY_SIZE(e), 24);
	mb_end(&mb);
	expect_bad(6, off, "entry 1 wraps");
}

static void test_mmap_too_many(void **state)
{
	u32 off;

	(void)state;
	off = mb_mmap(&mb, many, fill_many(BOOTINFO_MAX_MMAP + 1, 0x2000), 24);
	mb_end(&mb);
	expect_bad(6, off, "more than 256 ranges after merging");
}

static void test_efi_pages_overflow(void **state)
{
	static const struct efi_desc d[] = {
		{ 7, 0x0, 1 },
		{ 7, 0x100000, 1ull << 60 },
	};
	u32 off;

	(void)state;
	off = mb_efi_mmap(&mb, d, ARRAY_SIZE(d), 48);
	mb_end(&mb);
	expect_bad(17, off, "entry 1: page count overflows");
}

/* The EFI map is decoded after the walk; its errors still name tag 17. */
static void test_efi_too_many(void **state)
{
	static struct efi_desc d[BOOTINFO_MAX_MMAP + 1];
	u32 i, off;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(d); i++) {
		d[i].type = i % 2 ? 7 : 0;
		d[i].start = (u64)i * 0x2000;
		d[i].pages = 1;
	}
	mb_str(&mb, MB2_TAG_CMDLINE, "");
	off = mb_efi_mmap(&mb, d, ARRAY_SIZE(d), 40);
	mb_end(&mb);
	expect_bad(17, off, "more than 256 ranges after merging");
}

/* Problems with the list as a whole rather than with one tag. */
static void test_bad_framing(void **state)
{
	(void)state;
	mb_end(&mb);
	assert_int_equal(mb2_parse(mb.buf, 4, &bi), -HV_EINVAL);
	assert_contains(bi.error, "mbi: 4 bytes available, need 8");
	assert_int_equal(mb2_parse(NULL, 64, &bi), -HV_EINVAL);

	put32(mb.buf, 8);
	assert_int_equal(mb2_parse(mb.buf, 16, &bi), -HV_EINVAL);
	assert_contains(bi.error, "mbi: total size 8 < 16");

	put32(mb.buf, 16);
	assert_int_equal(mb2_parse(mb.buf, 15, &bi), -HV_EINVAL);
	assert_contains(bi.error, "mbi: total size 16 > 15 bytes available");
	assert_int_equal(mb2_parse(mb.buf, 16, &bi), 0);
}

static void test_no_end_tag(void **state)
{
	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "no end");
	assert_int_equal(mb_parse(&mb), -HV_EINVAL);
	assert_contains(bi.error, "no end tag within total size 24");
}

/* total_size that stops inside a tag header. */
static void test_header_past_total(void **state)
{
	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "x");
	put32(mb.buf, mb.len + 4);
	assert_int_equal(mb2_parse(mb.buf, sizeof(mb.buf), &bi), -HV_EINVAL);
	assert_contains(bi.error, "tag header at +0x18 runs past total size 28");
}

/* Every shorter prefix of a good list must be refused, and safely. */
static void test_every_truncation(void **state)
{
	u32 total, cut;
	u8 *copy;

	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "console=com1");
	mb_mmap(&mb, bios_map, ARRAY_SIZE(bios_map), 24);
	mb_module(&mb, 0x200000, 0x300000, "guest.bin");
	mb_rsdp(&mb, MB2_TAG_ACPI_NEW, 36, 36);
	mb_end(&mb);
	total = mb.len;
	for (cut = 0; cut < total; cut++) {
		copy = malloc(cut ? cut : 1);
		assert_non_null(copy);
		memcpy(copy, mb.buf, cut);
		if (cut >= 4)
			put32(copy, cut);
		assert_int_equal(mb2_parse(copy, cut, &bi), -HV_EINVAL);
		assert_true(bi.error[0] != '\0');
		free(copy);
	}
}

/* ------------------------------------------------------------ framebuffer */

struct fb_tag {
	u64 addr;
	u32 pitch, width, height;
	u8 bpp, type;
	u8 rgb[6]; /* red, green, blue: position, size */
};

static const struct fb_tag good_fb = {
	0xfd000000, 4096, 1024, 768, 32, MB2_FB_RGB, { 16, 8, 8, 8, 0, 8 },
};

/* Tag 8 as GRUB writes it: 24 common bytes, then the colour info. */
static u32 mb_fb(struct mbb *b, const struct fb_tag *f, u32 len)
{
	u8 p[32] = { 0 };

	assert_true(len <= sizeof(p));
	put64(p, f->addr);
	put32(p + 8, f->pitch);
	put32(p + 12, f->width);
	put32(p + 16, f->height);
	p[20] = f->bpp;
	p[21] = f->type;
	memcpy(p + 24, f->rgb, sizeof(f->rgb));
	return mb_tag(b, MB2_TAG_FRAMEBUFFER, p, len);
}

static void test_framebuffer(void **state)
{
	(void)state;
	mb_str(&mb, MB2_TAG_CMDLINE, "x");
	mb_fb(&mb, &good_fb, 30);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_true(bi.has_fb);
	assert_int_equal(bi.fb.addr, 0xfd000000);
	assert_int_equal(bi.fb.pitch, 4096);
	assert_int_equal(bi.fb.width, 1024);
	assert_int_equal(bi.fb.height, 768);
	assert_int_equal(bi.fb.bpp, 32);
	assert_int_equal(bi.fb.type, MB2_FB_RGB);
	assert_int_equal(bi.fb.red_pos, 16);
	assert_int_equal(bi.fb.green_size, 8);
	assert_int_equal(bi.fb.blue_pos, 0);
	assert_int_equal(bi.fb.blue_size, 8);
	assert_int_equal(boot_fb_bytespp(&bi.fb), 4);
	assert_string_equal(bi.warning, "");
}

/* Text and palette modes are no fault: no screen, no warning. */
static void test_framebuffer_not_rgb(void **state)
{
	struct fb_tag ega = { 0xb8000, 160, 80, 25, 16, MB2_FB_EGA_TEXT, { 0 } };

	(void)state;
	mb_fb(&mb, &ega, 24);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_false(bi.has_fb);
	assert_string_equal(bi.warning, "");
}

struct bad_fb_case {
	const char *name;
	struct fb_tag fb;
	u32 len;
	const char *warning;
};

static const struct bad_fb_case bad_fbs[] = {
	{ "short common part", { 0xfd000000, 4096, 1024, 768, 32, 1, { 0 } }, 16,
	  "framebuffer tag of 24 bytes ignored" },
	{ "RGB without colour info", { 0xfd000000, 4096, 1024, 768, 32, 1,
	  { 0 } }, 24, "RGB framebuffer tag of 32 bytes ignored" },
	{ "8 bpp RGB", { 0xfd000000, 1024, 1024, 768, 8, 1, { 5, 3, 2, 3, 0, 2 } },
	  30, "bits per pixel not 15, 16, 24 or 32" },
	{ "zero width", { 0xfd000000, 4096, 0, 768, 32, 1, { 16, 8, 8, 8, 0, 8 } },
	  30, "width or height not 1 to 16384" },
	{ "zero height", { 0xfd000000, 4096, 1024, 0, 32, 1, { 16, 8, 8, 8, 0, 8 } },
	  30, "width or height not 1 to 16384" },
	{ "huge", { 0xfd000000, 0xffffffff, 0x100000, 768, 32, 1,
	  { 16, 8, 8, 8, 0, 8 } }, 30, "width or height not 1 to 16384" },
	{ "short pitch", { 0xfd000000, 3000, 1024, 768, 24, 1,
	  { 16, 8, 8, 8, 0, 8 } }, 30, "pitch shorter than a line" },
	{ "field past the pixel", { 0xfd000000, 2048, 1024, 768, 16, 1,
	  { 11, 5, 5, 6, 12, 5 } }, 30, "colour field outside the pixel" },
	{ "9-bit field", { 0xfd000000, 4096, 1024, 768, 32, 1,
	  { 16, 9, 8, 8, 0, 8 } }, 30, "colour field size not 1 to 8 bits" },
	{ "address 0", { 0, 4096, 1024, 768, 32, 1, { 16, 8, 8, 8, 0, 8 } }, 30,
	  "address 0 or wrapping past 2^64" },
	{ "wraps", { 0xffffffffffff0000ull, 4096, 1024, 768, 32, 1,
	  { 16, 8, 8, 8, 0, 8 } }, 30, "address 0 or wrapping past 2^64" },
};

/* An unusable framebuffer is dropped with a warning; the boot goes on. */
static void test_framebuffer_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_fbs); i++) {
		const struct bad_fb_case *c = &bad_fbs[i];

		print_message("  %s\n", c->name);
		mb_init(&mb);
		mb_str(&mb, MB2_TAG_CMDLINE, "x");
		assert_int_equal(mb_fb(&mb, &c->fb, c->len), 0x18);
		mb_end(&mb);
		assert_int_equal(mb_parse(&mb), 0);
		assert_false(bi.has_fb);
		assert_contains(bi.warning, "tag 8 at +0x18: ");
		assert_contains(bi.warning, c->warning);
		assert_string_equal(bi.cmdline, "x");
	}
}

/* The first usable one counts; a second is ignored, with a warning. */
static void test_framebuffer_twice(void **state)
{
	struct fb_tag other = good_fb;

	(void)state;
	other.addr = 0x80000000;
	mb_fb(&mb, &good_fb, 30);
	mb_fb(&mb, &other, 30);
	mb_end(&mb);
	assert_int_equal(mb_parse(&mb), 0);
	assert_true(bi.has_fb);
	assert_int_equal(bi.fb.addr, 0xfd000000);
	assert_contains(bi.warning, "second framebuffer tag ignored");
}

static void test_mem_type_names(void **state)
{
	(void)state;
	assert_string_equal(mem_type_name(MEM_USABLE), "usable");
	assert_string_equal(mem_type_name(MEM_RESERVED), "reserved");
	assert_string_equal(mem_type_name(MEM_ACPI_RECLAIM), "ACPI reclaimable");
	assert_string_equal(mem_type_name(MEM_ACPI_NVS), "ACPI NVS");
	assert_string_equal(mem_type_name(MEM_BAD), "bad");
	assert_string_equal(mem_type_name(0), "unknown");
	assert_string_equal(mem_type_name(99), "unknown");
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_bios_style),
		T(test_uefi_style),
		T(test_efi32_only),
		T(test_efi_mmap_packed_descriptors),
		T(test_mb2_map_beats_efi_map),
		T(test_unaligned_buffer),
		T(test_tags_after_end_ignored),
		T(test_empty_module_and_full_cmdline),
		T(test_merge_unsorted_and_overlapping),
		T(test_merge_after_translation),
		T(test_many_entries_merge_into_one),
		T(test_exactly_max_entries),
		T(test_full_map_still_merges),
		T(test_long_loader_name_truncated),
		T(test_long_module_name_truncated),
		T(test_long_rsdp_kept_in_part),
		T(test_bad_tag_table),
		T(test_bad_tag_size),
		T(test_bad_tag_past_total),
		T(test_too_many_modules),
		T(test_cmdline_too_long),
		T(test_duplicate_tag),
		T(test_mmap_wraps),
		T(test_mmap_too_many),
		T(test_efi_pages_overflow),
		T(test_efi_too_many),
		T(test_bad_framing),
		T(test_no_end_tag),
		T(test_header_past_total),
		T(test_every_truncation),
		T(test_mem_type_names),
		T(test_framebuffer),
		T(test_framebuffer_not_rgb),
		T(test_framebuffer_bad),
		T(test_framebuffer_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
