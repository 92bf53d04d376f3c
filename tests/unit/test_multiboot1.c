/*
 * Unit tests for the Multiboot (version 1) kernel parser and information
 * builder (kernel/guest/multiboot.c).
 *
 * Images are built here byte by byte: an ELF32 or ELF64 executable or an
 * a.out-kludge image with a multiboot header. A good image of each kind
 * parses; each case of the table mutates the good ELF32 (or a.out) image
 * and expects a rejection whose message holds a given text. Every parse
 * runs on a heap copy of exactly the image's length, so AddressSanitizer
 * catches any read past it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/multiboot1.h>

#define IMG_MAX 0x6000
#define HDR_OFF 0x200          /* where the good images keep their header */
#define ENTRY 0x100010u

struct img {
	u8 b[IMG_MAX];
	u64 len;
};

static struct img im;
static struct mb1_image out;
static char why[160];

/* ------------------------------------------------------------ builders */

static void put16(u64 off, u16 v)
{
	memcpy(im.b + off, &v, sizeof(v));
}

static void put32(u64 off, u32 v)
{
	memcpy(im.b + off, &v, sizeof(v));
}

static void put64(u64 off, u64 v)
{
	memcpy(im.b + off, &v, sizeof(v));
}

static u32 get32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static u64 get64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void mb_header(u64 off, u32 flags)
{
	put32(off, MB1_HEADER_MAGIC);
	put32(off + 4, flags);
	put32(off + 8, -(MB1_HEADER_MAGIC + flags));
}

/* The ELF header: @phnum program headers right after it. */
static void ehdr(bool is64, u64 entry, u16 phnum)
{
	memcpy(im.b, "\177ELF", 4);
	im.b[4] = is64 ? 2 : 1;
	im.b[5] = 1;
	im.b[6] = 1;
	put16(16, 2);
	put16(18, is64 ? 62 : 3);
	put32(20, 1);
	if (is64) {
		put64(24, entry);
		put64(32, 64);
		put16(52, 64);
		put16(54, 56);
		put16(56, phnum);
	} else {
		put32(24, (u32)entry);
		put32(28, 52);
		put16(40, 52);
		put16(42, 32);
		put16(44, phnum);
	}
}

struct ph {
	u32 type;
	u64 off, vaddr, paddr, filesz, memsz;
};

static void phdr(bool is64, unsigned int i, struct ph p)
{
	if (is64) {
		u64 at = 64 + i * 56ull;

		put32(at, p.type);
		put64(at + 8, p.off);
		put64(at + 16, p.vaddr);
		put64(at + 24, p.paddr);
		put64(at + 32, p.filesz);
		put64(at + 40, p.memsz);
	} else {
		u64 at = 52 + i * 32ull;

		put32(at, p.type);
		put32(at + 4, (u32)p.off);
		put32(at + 8, (u32)p.vaddr);
		put32(at + 12, (u32)p.paddr);
		put32(at + 16, (u32)p.filesz);
		put32(at + 20, (u32)p.memsz);
	}
}

/*
 * Text at 1 MiB (0x1000 bytes of file, 0x2000 in memory), data at 2 MiB,
 * a PT_NOTE in between that is not loaded; the header at HDR_OFF.
 */
static void good_elf(bool is64)
{
	memset(&im, 0, sizeof(im));
	im.len = 0x3000;
	ehdr(is64, ENTRY, 3);
	phdr(is64, 0, (struct ph){ 1, 0x1000, 0x100000, 0x100000, 0x1000, 0x2000 });
	phdr(is64, 1, (struct ph){ 4, 0x2800, 0, 0, 0x10, 0x10 });
	phdr(is64, 2, (struct ph){ 1, 0x2000, 0x200000, 0x200000, 0x800, 0x800 });
	mb_header(HDR_OFF, MB1_HF_PAGE_ALIGN | MB1_HF_MEMINFO);
}

/* header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr. */
static void aout_fields(u32 header_addr, u32 load_addr, u32 load_end,
			u32 bss_end, u32 entry)
{
	put32(HDR_OFF + 12, header_addr);
	put32(HDR_OFF + 16, load_addr);
	put32(HDR_OFF + 20, load_end);
	put32(HDR_OFF + 24, bss_end);
	put32(HDR_OFF + 28, entry);
}

/* A flat image loaded whole at 1 MiB, 0x1000 bytes of bss after it. */
static void good_aout(void)
{
	memset(&im, 0, sizeof(im));
	im.len = 0x2000;
	mb_header(HDR_OFF, MB1_HF_MEMINFO | MB1_HF_AOUT_KLUDGE);
	aout_fields(0x100000 + HDR_OFF, 0x100000, 0, 0x103000, 0x100400);
}

static int parse_len(u64 len)
{
	u8 *copy = malloc(len ? len : 1);
	int err;

	assert_non_null(copy);
	memcpy(copy, im.b, len);
	memset(why, 'x', sizeof(why));
	err = mb1_parse(copy, len, &out, why, sizeof(why));
	free(copy);
	assert_non_null(memchr(why, '\0', sizeof(why)));
	if (err) {
		assert_int_equal(err, -HV_EINVAL);
		assert_memory_equal(why, "multiboot: ", 11);
	} else {
		assert_string_equal(why, "");
	}
	return err;
}

static int parse(void)
{
	return parse_len(im.len);
}

static void expect_seg(unsigned int i, u64 off, u64 filesz, u64 memsz,
		       u64 gpa)
{
	assert_true(i < out.nr_segments);
	assert_int_equal(out.seg[i].file_off, off);
	assert_int_equal(out.seg[i].filesz, filesz);
	assert_int_equal(out.seg[i].memsz, memsz);
	assert_int_equal(out.seg[i].gpa, gpa);
}

/* ------------------------------------------------------------ good images */

static void test_elf32(void **state)
{
	(void)state;
	good_elf(false);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.format, MB1_ELF32);
	assert_int_equal(out.header_off, HDR_OFF);
	assert_int_equal(out.flags, MB1_HF_PAGE_ALIGN | MB1_HF_MEMINFO);
	assert_int_equal(out.entry, ENTRY);
	assert_int_equal(out.nr_segments, 2);
	expect_seg(0, 0x1000, 0x1000, 0x2000, 0x100000);
	expect_seg(1, 0x2000, 0x800, 0x800, 0x200000);
	assert_int_equal(out.load_end, 0x200800);
}

static void test_elf64(void **state)
{
	(void)state;
	good_elf(true);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.format, MB1_ELF64);
	assert_int_equal(out.entry, ENTRY);
	assert_int_equal(out.nr_segments, 2);
	expect_seg(0, 0x1000, 0x1000, 0x2000, 0x100000);
	expect_seg(1, 0x2000, 0x800, 0x800, 0x200000);
}

/* A higher-half kernel: the entry is translated through its segment. */
static void test_elf64_higher_half(void **state)
{
	const u64 high = 0xffffffff80000000ull;

	(void)state;
	good_elf(true);
	put64(24, high + 0x200010);
	phdr(true, 0, (struct ph){ 1, 0x1000, high + 0x100000, 0x100000, 0x1000, 0x2000 });
	phdr(true, 2, (struct ph){ 1, 0x2000, high + 0x200000, 0x200000, 0x800, 0x800 });
	assert_int_equal(parse(), 0);
	assert_int_equal(out.entry, 0x200010);
}

/* Segments come out sorted by address; empty ones are dropped. */
static void test_elf_sorted_and_empty(void **state)
{
	(void)state;
	good_elf(false);
	phdr(false, 0, (struct ph){ 1, 0x2000, 0x200000, 0x200000, 0x800, 0x800 });
	phdr(false, 1, (struct ph){ 1, 0x2800, 0x300000, 0x300000, 0, 0 });
	phdr(false, 2, (struct ph){ 1, 0x1000, 0x100000, 0x100000, 0x1000, 0x2000 });
	assert_int_equal(parse(), 0);
	assert_int_equal(out.nr_segments, 2);
	expect_seg(0, 0x1000, 0x1000, 0x2000, 0x100000);
	expect_seg(1, 0x2000, 0x800, 0x800, 0x200000);
	assert_int_equal(out.entry, ENTRY);
}

/* Touching segments are fine; so is a segment ending exactly at 4 GiB. */
static void test_elf_edges(void **state)
{
	(void)state;
	good_elf(false);
	phdr(false, 2, (struct ph){ 1, 0x2000, 0x102000, 0x102000, 0x800, 0x800 });
	assert_int_equal(parse(), 0);
	good_elf(false);
	phdr(false, 2, (struct ph){ 1, 0x2000, 0xfffff000, 0xfffff000, 0x800, 0x1000 });
	assert_int_equal(parse(), 0);
	assert_int_equal(out.load_end, 1ull << 32);
	/* A segment's file bytes may end exactly at the end of the image. */
	good_elf(false);
	im.len = 0x2800;
	assert_int_equal(parse(), 0);
}

static void test_aout(void **state)
{
	(void)state;
	good_aout();
	assert_int_equal(parse(), 0);
	assert_int_equal(out.format, MB1_AOUT_KLUDGE);
	assert_int_equal(out.entry, 0x100400);
	assert_int_equal(out.nr_segments, 1);
	expect_seg(0, 0, 0x2000, 0x3000, 0x100000);
	assert_int_equal(out.load_end, 0x103000);
}

/* The header 0x100 bytes into the loaded part, which starts at 0x100. */
static void test_aout_offset_and_load_end(void **state)
{
	(void)state;
	good_aout();
	aout_fields(0x400100, 0x400000, 0x401000, 0, 0x400000);
	assert_int_equal(parse(), 0);
	expect_seg(0, HDR_OFF - 0x100, 0x1000, 0x1000, 0x400000);
}

/* The a.out kludge wins over ELF, as in GRUB. */
static void test_aout_in_elf(void **state)
{
	(void)state;
	good_elf(false);
	mb_header(HDR_OFF, MB1_HF_AOUT_KLUDGE);
	aout_fields(0x500000 + HDR_OFF, 0x500000, 0x501000, 0, 0x500000);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.format, MB1_AOUT_KLUDGE);
	expect_seg(0, 0, 0x1000, 0x1000, 0x500000);
}

/* The last place a header may start; a bad checksum before a good one. */
static void test_header_search(void **state)
{
	(void)state;
	good_elf(false);
	memset(im.b + HDR_OFF, 0, 12);
	mb_header(MB1_SEARCH - 12, 0);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.header_off, MB1_SEARCH - 12);
	put32(HDR_OFF, MB1_HEADER_MAGIC);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.header_off, MB1_SEARCH - 12);
}

/* Optional flags (16-31) that Lamina does not know are ignored. */
static void test_optional_flags(void **state)
{
	(void)state;
	good_elf(false);
	mb_header(HDR_OFF, MB1_HF_MEMINFO | (1u << 20) | (1u << 31));
	assert_int_equal(parse(), 0);
}

/* ------------------------------------------------------------ bad images */

struct bad_case {
	const char *name;
	void (*setup)(void);
	const char *expect;
};

static void no_header(void) { memset(im.b + HDR_OFF, 0, 12); }
static void header_too_late(void) { no_header(); mb_header(MB1_SEARCH - 8, 0); }
static void header_unaligned(void) { no_header(); mb_header(HDR_OFF + 2, 0); }
static void bad_checksum(void) { put32(HDR_OFF + 8, 0); }
static void video(void) { mb_header(HDR_OFF, MB1_HF_VIDEO); }
static void flag5(void) { mb_header(HDR_OFF, 1u << 5 | MB1_HF_MEMINFO); }
static void not_elf(void) { im.b[1] = 'X'; }
static void class3(void) { im.b[4] = 3; }
static void big_endian(void) { im.b[5] = 2; }
static void type_dyn(void) { put16(16, 3); }
static void machine(void) { put16(18, 62); }
static void phentsize(void) { put16(42, 16); }
static void phnum0(void) { put16(44, 0); }
static void phdrs_past_end(void) { put32(28, 0x2ff0); }
static void seg_past_end(void) { put32(52 + 64 + 16, 0x1001); put32(52 + 64 + 20, 0x1001); }
static void seg_off_past_end(void) { put32(52 + 64 + 4, 0x3001); put32(52 + 64 + 16, 0); }
static void filesz_gt_memsz(void) { put32(52 + 20, 0x800); }
static void seg_4g(void) { phdr(false, 2, (struct ph){ 1, 0x2000, 0xfffff000, 0xfffff000, 0x800, 0x1001 }); }
static void overlap(void) { phdr(false, 2, (struct ph){ 1, 0x2000, 0x101fff, 0x101fff, 0x800, 0x800 }); }
static void same_addr(void) { phdr(false, 2, (struct ph){ 1, 0x2000, 0x100000, 0x100000, 0x800, 0x800 }); }
static void entry_outside(void) { put32(24, 0x102000); }
static void entry_in_note(void) { put32(24, 0x8); }
static void no_load(void) { put32(52, 6); put32(52 + 64, 6); }

static void too_many(void)
{
	put16(44, MB1_MAX_SEGMENTS + 1);
	put32(28, 0x400);
	for (unsigned int i = 0; i <= MB1_MAX_SEGMENTS; i++) {
		u64 at = 0x400 + i * 32ull;

		put32(at, 1);
		put32(at + 8, 0x100000 + i * 0x1000);
		put32(at + 12, 0x100000 + i * 0x1000);
		put32(at + 20, 0x1000);
	}
}

static void aout_load_above(void) { good_aout(); aout_fields(0x100000, 0x100100, 0, 0, 0x100100); }
static void aout_before_file(void) { good_aout(); aout_fields(0x100000 + HDR_OFF + 4, 0x100000, 0, 0, 0x100000); }
static void aout_end_below(void) { good_aout(); aout_fields(0x100000 + HDR_OFF, 0x100000, 0xfffff, 0, 0x100000); }
static void aout_end_past(void) { good_aout(); aout_fields(0x100000 + HDR_OFF, 0x100000, 0x102001, 0, 0x100000); }
static void aout_bss_below(void) { good_aout(); aout_fields(0x100000 + HDR_OFF, 0x100000, 0, 0x101fff, 0x100000); }
static void aout_entry(void) { good_aout(); aout_fields(0x100000 + HDR_OFF, 0x100000, 0, 0, 0x102000); }
static void aout_nothing(void) { good_aout(); aout_fields(0x100000 + HDR_OFF, 0x100000, 0x100000, 0, 0x100000); }
static void aout_4g(void) { good_aout(); aout_fields(0xfffff000 + HDR_OFF, 0xfffff000, 0, 0, 0xfffff000); }
static void aout_late(void)
{
	good_aout();
	no_header();
	mb_header(MB1_SEARCH - 16, MB1_HF_AOUT_KLUDGE);
	im.len = 0x4000;
}
static void aout_short(void) { good_aout(); im.len = HDR_OFF + 20; }

static const struct bad_case bad_cases[] = {
	{ "no_header", no_header, "multiboot: no header in the first 8192 bytes" },
	{ "header_too_late", header_too_late, "no header in the first 8192 bytes" },
	{ "header_unaligned", header_unaligned, "no header" },
	{ "bad_checksum", bad_checksum, "the header at 0x200 has a bad checksum" },
	{ "video", video, "asks for a video mode (header flag 2)" },
	{ "flag5", flag5, "requires header flags 0x20, which Lamina does not support" },
	{ "not_elf", not_elf, "not an ELF file, and header flag 16" },
	{ "class3", class3, "ELF class 3 is neither 32- nor 64-bit" },
	{ "big_endian", big_endian, "not little-endian" },
	{ "type_dyn", type_dyn, "ELF type 3 is not an executable" },
	{ "machine", machine, "ELF machine 62 is not i386" },
	{ "phentsize", phentsize, "program header size 16 is less than 32" },
	{ "phnum0", phnum0, "has no program headers" },
	{ "phdrs_past_end", phdrs_past_end, "program headers [0x2ff0, +0x60) are past the end" },
	{ "seg_past_end", seg_past_end, "program header 2: bytes [0x2000, +0x1001) are past the end" },
	{ "seg_off_past_end", seg_off_past_end, "program header 2: bytes [0x3001, +0x0)" },
	{ "filesz_gt_memsz", filesz_gt_memsz, "program header 0: file size 0x1000 is more than its memory size 0x800" },
	{ "seg_4g", seg_4g, "program header 2: [0xfffff000, +0x1001) does not end below 4 GiB" },
	{ "overlap", overlap, "segments [0x100000, 0x102000) and [0x101fff, 0x1027ff) overlap" },
	{ "same_addr", same_addr, "overlap" },
	{ "entry_outside", entry_outside, "entry point 0x102000 is not inside a loaded segment" },
	{ "entry_in_note", entry_in_note, "entry point 0x8 is not inside" },
	{ "no_load", no_load, "the ELF file has no loadable segment" },
	{ "too_many", too_many, "more than 16 loadable segments" },
	{ "aout_load_above", aout_load_above, "load_addr 0x100100 is above header_addr 0x100000" },
	{ "aout_before_file", aout_before_file, "is more than the header's offset 0x200" },
	{ "aout_end_below", aout_end_below, "load_end_addr 0xfffff is below load_addr 0x100000" },
	{ "aout_end_past", aout_end_past, "load_end_addr 0x102001: bytes [0x0, 0x2001) of the image" },
	{ "aout_bss_below", aout_bss_below, "bss_end_addr 0x101fff is below the end of the loaded part, 0x102000" },
	{ "aout_entry", aout_entry, "entry_addr 0x102000 is not inside the loaded range [0x100000, 0x102000)" },
	{ "aout_nothing", aout_nothing, "the address fields load nothing" },
	{ "aout_4g", aout_4g, "load_addr 0xfffff000 + 0x2000 bytes does not end below 4 GiB" },
	{ "aout_late", aout_late, "the address fields of the header at 0x1ff0" },
	{ "aout_short", aout_short, "the address fields of the header at 0x200" },
};

static void test_bad_images(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *k = &bad_cases[i];

		good_elf(false);
		k->setup();
		print_message("case %s\n", k->name);
		assert_int_equal(parse(), -HV_EINVAL);
		if (!strstr(why, k->expect)) {
			print_message("  got: %s\n  want: %s\n", why, k->expect);
			fail();
		}
	}
}

/* Every shorter length of the good images fails cleanly, never reads past. */
static void test_truncations(void **state)
{
	(void)state;
	for (int kind = 0; kind < 3; kind++) {
		u64 full;

		if (kind == 2)
			good_aout();
		else
			good_elf(kind == 1);
		full = im.len;
		for (u64 n = 0; n < full; n++) {
			int err = parse_len(n);

			/* a.out without load_end_addr: loads what there is. */
			if (kind == 2 && n >= HDR_OFF + 32)
				assert_int_equal(err, 0);
			else if (kind < 2 && n >= 0x2800)
				assert_int_equal(err, 0);
			else
				assert_int_equal(err, -HV_EINVAL);
		}
	}
}

static void test_null_and_small_why(void **state)
{
	char small[12];

	(void)state;
	assert_int_equal(mb1_parse(NULL, 100, &out, why, sizeof(why)), -HV_EINVAL);
	assert_string_equal(why, "multiboot: no header in the first 8192 bytes");
	good_elf(false);
	no_header();
	assert_int_equal(mb1_parse(im.b, im.len, &out, small, sizeof(small)),
			 -HV_EINVAL);
	assert_string_equal(small, "multiboot: ");
	assert_int_equal(mb1_parse(im.b, im.len, &out, NULL, 0), -HV_EINVAL);
	assert_int_equal(mb1_parse(im.b, im.len, &out, small, 3), -HV_EINVAL);
	assert_string_equal(small, "mu");
}

/* ELF64: the 64-bit fields are bounds-checked too. */
static void test_elf64_bad(void **state)
{
	(void)state;
	good_elf(true);
	mb_header(48, 0);       /* over e_flags..: only the length matters */
	im.len = 60;
	assert_int_equal(parse(), -HV_EINVAL);
	assert_non_null(strstr(why, "shorter than an ELF64 header"));
	good_elf(true);
	put64(32, ~0ull - 0x10);
	assert_int_equal(parse(), -HV_EINVAL);
	assert_non_null(strstr(why, "program headers [0xffffffffffffffef"));
	good_elf(true);
	phdr(true, 0, (struct ph){ 1, ~0ull, 0x100000, 0x100000, 2, 0x2000 });
	assert_int_equal(parse(), -HV_EINVAL);
	assert_non_null(strstr(why, "program header 0: bytes"));
	good_elf(true);
	phdr(true, 0, (struct ph){ 1, 0x1000, 0x100000, ~0ull - 0xfff, 0x1000, 0x2000 });
	assert_int_equal(parse(), -HV_EINVAL);
	assert_non_null(strstr(why, "does not end below 4 GiB"));
	good_elf(true);
	put16(18, 3);
	assert_int_equal(parse(), -HV_EINVAL);
	assert_non_null(strstr(why, "ELF machine 3 is not x86-64"));
	good_elf(true);
	put64(24, 0x100000000ull + ENTRY);
	assert_int_equal(parse(), -HV_EINVAL);
	assert_non_null(strstr(why, "entry point 0x100100010 is not inside"));
}

/* ------------------------------------------------------------ module place */

static void test_module_gpa(void **state)
{
	struct mb1_image k = { .load_end = 0x1015e0 };

	(void)state;
	assert_int_equal(mb1_module_gpa(&k, 100), 0x102000);
	k.load_end = 0x102000;
	assert_int_equal(mb1_module_gpa(&k, 100), 0x102000);
	k.load_end = 0x1001;   /* a kernel low in memory: the module skips */
	assert_int_equal(mb1_module_gpa(&k, 0x6000), 0x2000);
	assert_int_equal(mb1_module_gpa(&k, 0x6001), 0x10000);
	k.load_end = 0x7000;
	assert_int_equal(mb1_module_gpa(&k, 0x1000), 0x7000);
	assert_int_equal(mb1_module_gpa(&k, 0x1001), 0x10000);
	k.load_end = 0x10000;
	assert_int_equal(mb1_module_gpa(&k, 0x1001), 0x10000);
}

/* ------------------------------------------------------------ information */

static u8 info[MB1_INFO_SIZE];

static const struct mb1_mem map3[] = {
	{ 0, 0xa0000, MB1_MEM_RAM },
	{ 0x100000, 0xf00000, MB1_MEM_RAM },
	{ 0x100000000ull, 0x10000, MB1_MEM_RESERVED },
};

static const struct mb1_module mods1[] = {
	{ 0x102000, 0x102064, "initrd.img" },
};

static u32 at32(size_t off)
{
	return get32(info + off);
}

/* Every field, byte for byte: the structure, then mods, mmap, strings. */
static void test_info_layout(void **state)
{
	const struct mb1_env env = {
		.info_gpa = MB1_INFO_GPA, .cmdline = "abc def",
		.loader_name = MB1_LOADER_NAME, .mmap = map3, .nr_mmap = 3,
		.mods = mods1, .nr_mods = 1,
	};
	const u32 g = MB1_INFO_GPA;
	const u32 mods = 120, mmap = mods + 16, strs = mmap + 72;
	size_t used = 0;

	(void)state;
	memset(info, 0xee, sizeof(info));
	assert_int_equal(mb1_build_info(&env, info, sizeof(info), &used, why,
					sizeof(why)), 0);
	assert_int_equal(used, strs + 11 + 8 + 7);
	assert_int_equal(used, mb1_info_size(3, 1, 11 + 8 + 7));
	assert_int_equal(at32(0), 0x24d);          /* mem cmdline mods mmap name */
	assert_int_equal(at32(4), 640);
	assert_int_equal(at32(8), 15 * 1024);
	assert_int_equal(at32(12), 0);             /* boot_device: not given */
	assert_int_equal(at32(16), g + strs + 11);
	assert_int_equal(at32(20), 1);
	assert_int_equal(at32(24), g + mods);
	for (size_t off = 28; off < 44; off += 4)  /* syms */
		assert_int_equal(at32(off), 0);
	assert_int_equal(at32(44), 72);
	assert_int_equal(at32(48), g + mmap);
	for (size_t off = 52; off < 64; off += 4)  /* drives, config table */
		assert_int_equal(at32(off), 0);
	assert_int_equal(at32(64), g + strs + 19);
	for (size_t off = 68; off < mods; off++)   /* apm, vbe, fb, padding */
		assert_int_equal(info[off], 0);
	/* The module record. */
	assert_int_equal(at32(mods), 0x102000);
	assert_int_equal(at32(mods + 4), 0x102064);
	assert_int_equal(at32(mods + 8), g + strs);
	assert_int_equal(at32(mods + 12), 0);
	/* The memory map: size 20 in front of each entry. */
	for (unsigned int i = 0; i < 3; i++) {
		const u8 *e = info + mmap + i * 24;

		assert_int_equal(get32(e), 20);
		assert_int_equal(get64(e + 4), map3[i].base);
		assert_int_equal(get64(e + 12), map3[i].len);
		assert_int_equal(get32(e + 20), map3[i].type);
	}
	assert_memory_equal(info + strs, "initrd.img\0abc def\0Lamina\0", 26);
	assert_int_equal(info[used], 0xee);        /* nothing written past */
}

/* Without a command line, modules or a name: only those flags are clear. */
static void test_info_minimal(void **state)
{
	const struct mb1_env env = { .info_gpa = 0x10000, .mmap = map3,
				     .nr_mmap = 1 };
	size_t used;

	(void)state;
	assert_int_equal(mb1_build_info(&env, info, sizeof(info), &used, why,
					sizeof(why)), 0);
	assert_int_equal(used, 120 + 24);
	assert_int_equal(at32(0), MB1_INFO_MEM | MB1_INFO_MMAP);
	assert_int_equal(at32(4), 640);
	assert_int_equal(at32(8), 0);
	assert_int_equal(at32(16), 0);
	assert_int_equal(at32(20), 0);
	assert_int_equal(at32(24), 0);
	assert_int_equal(at32(48), 0x10000 + 120);
	assert_int_equal(at32(64), 0);
}

struct mem_case {
	struct mb1_mem map[4];
	unsigned int n;
	u32 lower, upper;
};

/* mem_lower and mem_upper from split, unsorted, holed and reserved maps. */
static void test_info_mem(void **state)
{
	static const struct mem_case cases[] = {
		{ { { 0, 1 << 20, 1 }, { 1 << 20, 3 << 20, 1 } }, 2, 640, 3072 },
		{ { { 2 << 20, 1 << 20, 1 }, { 0x1000, 0x9f000, 1 },
		    { 1 << 20, 1 << 20, 1 } }, 3, 0, 2048 },
		{ { { 0, 0x8000, 1 }, { 0x9000, 0x1000, 1 },
		    { 1 << 20, 1 << 20, 1 }, { 3 << 20, 1 << 20, 1 } }, 4, 32, 1024 },
		{ { { 0, 0xa0000, 2 }, { 1 << 20, 1 << 20, 2 } }, 2, 0, 0 },
		{ { { 0, 0x80000, 1 }, { 0x40000, 0x80000, 1 } }, 2, 640, 0 },
		{ { { 0x100000, ~0ull, 1 } }, 1, 0, 0xffffffffu },
	};

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct mb1_env env = { .info_gpa = MB1_INFO_GPA,
					     .mmap = cases[i].map,
					     .nr_mmap = cases[i].n };
		size_t used;

		print_message("case %u\n", i);
		assert_int_equal(mb1_build_info(&env, info, sizeof(info), &used,
						why, sizeof(why)), 0);
		assert_int_equal(at32(4), cases[i].lower);
		assert_int_equal(at32(8), cases[i].upper);
	}
}

static void test_info_errors(void **state)
{
	struct mb1_env env = { .info_gpa = MB1_INFO_GPA, .cmdline = "x",
			       .mmap = map3, .nr_mmap = 3 };
	const size_t need = 120 + 72 + 2;
	size_t used = 99;

	(void)state;
	assert_int_equal(mb1_build_info(&env, info, need, &used, why,
					sizeof(why)), 0);
	assert_int_equal(used, need);
	assert_int_equal(mb1_build_info(&env, info, need - 1, &used, why,
					sizeof(why)), -HV_EINVAL);
	assert_int_equal(used, 0);
	assert_string_equal(why, "multiboot: the information needs 194 bytes, more than the 193 there are");
	env.info_gpa = 0xffffff80u;
	assert_int_equal(mb1_build_info(&env, info, sizeof(info), &used, why,
					sizeof(why)), -HV_EINVAL);
	assert_string_equal(why, "multiboot: the information at 0xffffff80 (194 bytes) does not end below 4 GiB");
	env.info_gpa = (u32)((1ull << 32) - need);
	assert_int_equal(mb1_build_info(&env, info, sizeof(info), &used, why,
					sizeof(why)), 0);
	assert_int_equal(at32(16), 0xffffffffu - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf32),
		cmocka_unit_test(test_elf64),
		cmocka_unit_test(test_elf64_higher_half),
		cmocka_unit_test(test_elf_sorted_and_empty),
		cmocka_unit_test(test_elf_edges),
		cmocka_unit_test(test_aout),
		cmocka_unit_test(test_aout_offset_and_load_end),
		cmocka_unit_test(test_aout_in_elf),
		cmocka_unit_test(test_header_search),
		cmocka_unit_test(test_optional_flags),
		cmocka_unit_test(test_bad_images),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_null_and_small_why),
		cmocka_unit_test(test_elf64_bad),
		cmocka_unit_test(test_module_gpa),
		cmocka_unit_test(test_info_layout),
		cmocka_unit_test(test_info_minimal),
		cmocka_unit_test(test_info_mem),
		cmocka_unit_test(test_info_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
