/*
 * Unit tests for the bzImage parser, e820 map and zero page
 * (kernel/guest/linux_boot.c).
 *
 * A good synthetic bzImage is built here byte by byte; each case of the
 * table breaks one thing and expects a rejection whose message holds a
 * given text. Every parse runs on a heap copy of exactly the image's
 * length, so AddressSanitizer catches any read past it. If a real kernel
 * sits at build/linux/bzImage (tools/linux-guest/fetch-kernel.sh, or
 * $LAMINA_BZIMAGE), it is parsed too; otherwise that test is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/linux_boot.h>

#define IMG_MAX 0x4000
#define SETUP_SIZE 0x400 /* setup_sects 1 */
#define KERNEL_SIZE 0x1000
#define PAYLOAD_OFF 0x100
#define PAYLOAD_LEN 0x800

static struct {
	u8 b[IMG_MAX];
	u64 len;
} im;
static struct linux_setup out;
static char why[200];

static void put32(u64 off, u32 v) { memcpy(im.b + off, &v, sizeof(v)); }
static void put64(u64 off, u64 v) { memcpy(im.b + off, &v, sizeof(v)); }

static u32 get32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A 2.15 header as a current x86-64 kernel has it, 0x1000 bytes of kernel. */
static void good(void)
{
	memset(&im, 0, sizeof(im));
	im.len = SETUP_SIZE + KERNEL_SIZE;
	im.b[0x1f1] = 1;
	memcpy(im.b + 0x1fe, "\x55\xaa", 2);
	im.b[0x200] = 0xeb;
	im.b[0x201] = 0x6a;           /* header ends at 0x26c */
	memcpy(im.b + 0x202, "HdrS", 4);
	im.b[0x206] = 0x0f;
	im.b[0x207] = 0x02;
	im.b[0x211] = 0x01;           /* LOADED_HIGH */
	put32(0x22c, 0x7fffffff);
	put32(0x230, 0x200000);
	im.b[0x234] = 1;
	im.b[0x235] = 21;
	im.b[0x236] = 0x7f;
	put32(0x238, 2047);
	put32(0x248, PAYLOAD_OFF);
	put32(0x24c, PAYLOAD_LEN);
	put64(0x258, 0x1000000);
	put32(0x260, 0x200000);
	memset(im.b + SETUP_SIZE, 0x90, KERNEL_SIZE);
}

static int parse_len(u64 len)
{
	u8 *copy = malloc(len ? len : 1);
	int err;

	assert_non_null(copy);
	memcpy(copy, im.b, len);
	memset(why, 'x', sizeof(why));
	err = linux_parse_bzimage(copy, len, &out, why, sizeof(why));
	free(copy);
	assert_non_null(memchr(why, '\0', sizeof(why)));
	if (err) {
		assert_int_equal(err, -HV_EINVAL);
		assert_memory_equal(why, "linux: ", 7);
	} else {
		assert_string_equal(why, "");
	}
	return err;
}

static int parse(void)
{
	return parse_len(im.len);
}

/* ------------------------------------------------------------ good images */

static void test_good(void **state)
{
	static const struct linux_setup want = {
		.version = 0x020f, .setup_sects = 1, .loadflags = 0x01,
		.xloadflags = 0x7f, .kernel_alignment = 0x200000,
		.relocatable = true, .pref_address = 0x1000000,
		.init_size = 0x200000, .cmdline_size = 2047,
		.initrd_addr_max = 0x7fffffff, .payload_offset = SETUP_SIZE,
		.payload_size = KERNEL_SIZE, .hdr_end = 0x26c,
	};

	(void)state;
	good();
	assert_int_equal(parse(), 0);
	assert_memory_equal(&out, &want, sizeof(want));
}

/* Every limit met exactly; setup_sects 0 (4) in a 2.12 kernel. */
static void test_edges(void **state)
{
	(void)state;
	good();
	im.b[0x1f1] = 0;
	im.b[0x234] = 0;
	im.b[0x206] = 0x0c;
	assert_int_equal(parse(), 0);
	assert_int_equal(out.payload_offset, 5 * 512);
	assert_int_equal(out.payload_size, im.len - 5 * 512);
	assert_false(out.relocatable);
	good();
	im.b[0x201] = 0x66;             /* header ends at 0x268 */
	put32(0x230, 0x1000);
	put32(0x260, KERNEL_SIZE);      /* init_size == the kernel's size */
	put32(0x248, 0);
	put32(0x24c, KERNEL_SIZE);      /* payload up to the last byte */
	put64(0x258, LINUX_HIGH_START);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.hdr_end, 0x268);
	good();
	im.b[0x201] = 0x8e;             /* header ends at 0x290 */
	put32(0x230, 1u << 30);
	put32(0x260, 1u << 30);
	put64(0x258, (1ull << 52) - (1u << 30));
	assert_int_equal(parse(), 0);
	assert_int_equal(out.hdr_end, 0x290);
	good();
	im.len = SETUP_SIZE + LINUX_ENTRY64_OFFSET + 1;
	put32(0x24c, 0x100);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.payload_size, LINUX_ENTRY64_OFFSET + 1);
}

/*
 * Every prefix of the good image fails, never reading past its end, until
 * it holds the whole compressed payload.
 */
static void test_truncated(void **state)
{
	const u64 need = SETUP_SIZE + PAYLOAD_OFF + PAYLOAD_LEN;

	(void)state;
	good();
	for (u64 len = 0; len < im.len; len++) {
		if (parse_len(len) != 0) {
			assert_true(len < need);
			continue;
		}
		assert_true(len >= need);
		assert_int_equal(out.payload_size, len - SETUP_SIZE);
	}
}

/*
 * No message buffer, or one too short for the prefix: still -HV_EINVAL.
 * A kernel over 1 GiB, without a 1 GiB buffer: only the length is read.
 */
static void test_odd_calls(void **state)
{
	char small[4] = "abc";

	(void)state;
	good();
	im.b[0x1fe] = 0;
	assert_int_equal(linux_parse_bzimage(im.b, im.len, &out, NULL, 0),
			 -HV_EINVAL);
	assert_int_equal(linux_parse_bzimage(im.b, im.len, &out, small,
					     sizeof(small)), -HV_EINVAL);
	assert_true(memchr(small, '\0', sizeof(small)) != NULL);
	assert_int_equal(linux_parse_bzimage(NULL, 100, &out, why, sizeof(why)),
			 -HV_EINVAL);
	assert_non_null(strstr(why, "the image has 0x0 bytes, too few"));
	good();
	assert_int_equal(linux_parse_bzimage(im.b, SETUP_SIZE + (1u << 30) + 1,
					     &out, why, sizeof(why)), -HV_EINVAL);
	assert_non_null(strstr(why, "the kernel has 0x40000001 bytes, more than 1 GiB"));
}

/* ------------------------------------------------------------ bad images */

/* The good image with the @width bytes at @off set to @value, cut to @len. */
struct bad_case {
	const char *name;
	u32 off, width;
	u64 value, len;
	const char *expect;
};

#define CUT(n) 0, 0, 0, (n)
#define SET(off, width, value) (off), (width), (value), 0

static const struct bad_case bad_cases[] = {
	{ "short_file", CUT(0x267), "linux: the image has 0x267 bytes, too few for a setup header (0x268)" },
	{ "no_aa55", SET(0x1fe, 2, 0x55aa), "no boot sector signature 0xaa55 at 0x1fe (0x55aa)" },
	{ "no_hdrs", SET(0x205, 1, 'T'), "no \"HdrS\" at 0x202" },
	{ "old_version", SET(0x206, 2, 0x020b), "boot protocol 2.11 is older than 2.12" },
	{ "no_jump", SET(0x200, 1, 0xe9), "no short jump at 0x200 (0xe9)" },
	{ "hdr_short", SET(0x201, 1, 0x65), "the setup header ends at 0x267, not between 0x268 and 0x290" },
	{ "hdr_long", SET(0x201, 1, 0x8f), "the setup header ends at 0x291" },
	{ "setup_past_end", SET(0x1f1, 1, 0x20), "setup_sects 32 puts the kernel at 0x4200, not inside the image (0x1400 bytes)" },
	{ "setup_to_end", CUT(SETUP_SIZE), "setup_sects 1 puts the kernel at 0x400" },
	{ "no_entry", CUT(SETUP_SIZE + LINUX_ENTRY64_OFFSET), "the kernel's 0x200 bytes do not reach its 64-bit entry at +0x200" },
	{ "payload_past_end", SET(0x24c, 4, KERNEL_SIZE - PAYLOAD_OFF + 1), "the compressed payload [0x100, +0xf01) runs past the kernel's 0x1000 bytes" },
	{ "payload_wrap", SET(0x248, 8, 0x10ffffffffull), "the compressed payload [0xffffffff, +0x10)" },
	{ "payload_len_wrap", SET(0x248, 8, 0xfffffff800000010ull), "the compressed payload [0x10, +0xfffffff8)" },
	{ "not_high", SET(0x211, 1, 0x80), "loadflags 0x80 lack LOADED_HIGH" },
	{ "no_kernel64", SET(0x236, 2, 0x7e), "xloadflags 0x7e lack XLF_KERNEL_64" },
	{ "align_zero", SET(0x230, 4, 0), "kernel_alignment 0x0 is not a power of two" },
	{ "align_small", SET(0x230, 4, 0x800), "kernel_alignment 0x800 is not" },
	{ "align_odd", SET(0x230, 4, 0x200001), "kernel_alignment 0x200001 is not" },
	{ "align_huge", SET(0x230, 4, 0x80000000), "kernel_alignment 0x80000000 is not" },
	{ "init_small", SET(0x260, 4, KERNEL_SIZE - 1), "init_size 0xfff is not between the kernel's own 0x1000 bytes and 1 GiB" },
	{ "init_huge", SET(0x260, 4, 0xffffffff), "init_size 0xffffffff is not between" },
	{ "pref_low", SET(0x258, 8, 0xfffff), "pref_address 0xfffff is below 1 MiB" },
	{ "pref_wrap", SET(0x258, 8, 0xfffffffffff00000ull), "pref_address 0xfffffffffff00000 + init_size 0x200000 does not end below 2^52" },
	{ "pref_end", SET(0x258, 8, (1ull << 52) - 0x1000), "pref_address 0xffffffffff000 + init_size 0x200000" },
};

static void test_bad_images(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];

		good();
		memcpy(im.b + bc->off, &bc->value, bc->width);
		if (bc->len)
			im.len = bc->len;
		if (parse() != -HV_EINVAL)
			fail_msg("%s: parsed", bc->name);
		if (!strstr(why, bc->expect))
			fail_msg("%s: \"%s\" lacks \"%s\"", bc->name, why, bc->expect);
	}
}

/* ------------------------------------------------------------ e820 */

struct e820_case {
	const char *name;
	struct linux_ram ram[4];
	unsigned int nr, max;
	int ret;
	struct e820_entry want[8];
};

#define RAM(a, s) { (a), (s), E820_RAM }
#define ACPI_RES { LINUX_ACPI_GPA, LINUX_ACPI_SIZE, E820_RESERVED }
#define MiB(n) ((u64)(n) << 20)
#define GiB(n) ((u64)(n) << 30)

static const struct e820_case e820_cases[] = {
	{ "one range from 0", { { 0, MiB(256), false } }, 1, E820_MAX, 3,
	  { RAM(0, 0xa0000), ACPI_RES, RAM(MiB(1), MiB(255)) } },
	{ "no RAM: the tables still", { { 0 } }, 0, E820_MAX, 1, { ACPI_RES } },
	{ "low only", { { 0x1000, 0x8000, false } }, 1, E820_MAX, 2,
	  { RAM(0x1000, 0x8000), ACPI_RES } },
	{ "inside the hole only", { { 0xa0000, 0x60000, false } }, 1, E820_MAX, 1, { ACPI_RES } },
	{ "from the hole up", { { 0xc0000, 0x50000, false } }, 1, E820_MAX, 2,
	  { ACPI_RES, RAM(MiB(1), 0x10000) } },
	{ "adjacent merge, empty skipped",
	  { { 0, MiB(2), false }, { MiB(2), MiB(2), false }, { MiB(8), 0, false }, { MiB(4), GiB(1), false } },
	  4, E820_MAX, 3, { RAM(0, 0xa0000), ACPI_RES, RAM(MiB(1), GiB(1) + MiB(3)) } },
	{ "gap and high RAM", { { 0, MiB(1), false }, { MiB(2), MiB(1), false }, { GiB(4), GiB(1), false } },
	  3, E820_MAX, 4,
	  { RAM(0, 0xa0000), ACPI_RES, RAM(MiB(2), MiB(1)), RAM(GiB(4), GiB(1)) } },
	{ "ends at 2^64 - 1", { { GiB(4), ~0ull - GiB(4), false } }, 1, E820_MAX, 2,
	  { ACPI_RES, RAM(GiB(4), ~0ull - GiB(4)) } },
	{ "exactly max", { { 0, MiB(16), false } }, 1, 3, 3,
	  { RAM(0, 0xa0000), ACPI_RES, RAM(MiB(1), MiB(15)) } },
	{ "one over max", { { 0, MiB(16), false } }, 1, 2, -HV_EINVAL, { { 0 } } },
	{ "max 0", { { 0 } }, 0, 0, -HV_EINVAL, { { 0 } } },
	{ "unsorted", { { MiB(4), MiB(1), false }, { MiB(2), MiB(1), false } }, 2, E820_MAX, -HV_EINVAL, { { 0 } } },
	{ "overlap", { { MiB(2), MiB(2), false }, { MiB(3), MiB(1), false } }, 2, E820_MAX, -HV_EINVAL, { { 0 } } },
	{ "wraps", { { GiB(4), ~0ull, false } }, 1, E820_MAX, -HV_EINVAL, { { 0 } } },
	{ "a ROM is reserved, not RAM",
	  { { 0, MiB(16), false }, { MiB(16), MiB(1), true }, { MiB(17), MiB(15), false } },
	  3, E820_MAX, 5,
	  { RAM(0, 0xa0000), ACPI_RES, RAM(MiB(1), MiB(15)),
	    { MiB(16), MiB(1), E820_RESERVED }, RAM(MiB(17), MiB(15)) } },
	{ "a ROM in low memory", { { 0, 0x10000, true }, { 0x10000, MiB(4), false } },
	  2, E820_MAX, 4,
	  { { 0, 0x10000, E820_RESERVED }, RAM(0x10000, 0x90000), ACPI_RES,
	    RAM(MiB(1), MiB(3) + 0x10000) } },
};

static void test_e820(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(e820_cases); i++) {
		const struct e820_case *ec = &e820_cases[i];
		struct e820_entry e[E820_MAX];
		int n;

		memset(e, 0xa5, sizeof(e));
		n = linux_e820(ec->ram, ec->nr, e, ec->max);
		if (n != ec->ret)
			fail_msg("%s: returned %d, not %d", ec->name, n, ec->ret);
		for (int j = 0; j < n; j++)
			if (memcmp(&e[j], &ec->want[j], sizeof(e[j])))
				fail_msg("%s: entry %d is [0x%llx, +0x%llx) type %u",
					 ec->name, j, (unsigned long long)e[j].addr,
					 (unsigned long long)e[j].size, e[j].type);
		/* Nothing written past max. */
		for (unsigned int j = ec->max; j < E820_MAX; j++)
			assert_int_equal(e[j].type, 0xa5a5a5a5);
	}
}

/* 64 separate ranges need 65 entries; E820_MAX holds them. */
static void test_e820_many(void **state)
{
	struct linux_ram ram[64];
	struct e820_entry e[E820_MAX];

	(void)state;
	for (unsigned int i = 0; i < 64; i++)
		ram[i] = (struct linux_ram){ GiB(1) + i * MiB(2), MiB(1), false };
	assert_int_equal(linux_e820(ram, 64, e, E820_MAX), 65);
	assert_int_equal(e[0].addr, LINUX_ACPI_GPA);
	assert_int_equal(e[64].addr, GiB(1) + 63 * MiB(2));
	assert_int_equal(linux_e820(ram, 64, e, 64), -HV_EINVAL);
}

/* ------------------------------------------------------------ zero page */

static void wr32(u8 *p, u32 v) { memcpy(p, &v, sizeof(v)); }
static void wr64(u8 *p, u64 v) { memcpy(p, &v, sizeof(v)); }

/* The zero page boot.rst asks for, written here field by field. */
static void expect_page(u8 *zp, const u8 *img, const struct linux_params *p)
{
	u64 initrd_size = p->initrd_gpa ? p->initrd_size : 0;
	unsigned int nr = MIN(p->nr_e820, E820_MAX);

	memset(zp, 0, 4096);
	memcpy(zp + 0x1f1, img + 0x1f1, 0x202 + img[0x201] - 0x1f1);
	wr64(zp + 0x250, 0);
	zp[0x210] = 0xff;
	zp[0x211] |= 0x01;
	wr32(zp + 0x228, (u32)p->cmdline_gpa);
	wr32(zp + 0x0c8, (u32)(p->cmdline_gpa >> 32));
	wr32(zp + 0x218, (u32)p->initrd_gpa);
	wr32(zp + 0x0c0, (u32)(p->initrd_gpa >> 32));
	wr32(zp + 0x21c, (u32)initrd_size);
	wr32(zp + 0x0c4, (u32)(initrd_size >> 32));
	wr64(zp + 0x070, p->rsdp_gpa);
	zp[0x1e8] = (u8)nr;
	if (nr)
		memcpy(zp + 0x2d0, p->e820, nr * 20);
}

static const u8 *check_page(const u8 *img, const struct linux_params *p)
{
	static u8 zp[4096], want[4096];

	memset(zp, 0x5a, sizeof(zp));
	linux_zero_page(zp, img, &out, p);
	expect_page(want, img, p);
	assert_memory_equal(zp, want, sizeof(zp));
	return zp;
}

static void test_zero_page(void **state)
{
	static struct e820_entry map[E820_MAX + 5] = {
		RAM(0, 0xa0000), ACPI_RES, RAM(MiB(1), MiB(255)),
	};
	struct linux_params p = {
		.cmdline_gpa = LINUX_CMDLINE_GPA, .initrd_gpa = 0x7f00000,
		.initrd_size = 0x12345, .rsdp_gpa = LINUX_ACPI_GPA,
		.e820 = map, .nr_e820 = 3,
	};
	const u8 *zp;

	(void)state;
	good();
	put64(0x250, 0xdeadbeef);       /* setup_data: not passed on */
	im.b[0x210] = 0x12;
	im.b[0x211] = 0x81;
	memset(im.b + 0x26c, 0x77, 0x30); /* past the header: not copied */
	assert_int_equal(parse(), 0);
	check_page(im.b, &p);
	/* Above 4 GiB the ext_ fields hold the high halves. */
	p = (struct linux_params){
		.cmdline_gpa = 0x123456789ull, .initrd_gpa = 0xabcdef000ull,
		.initrd_size = 0x100000010ull, .rsdp_gpa = 0xfedcba987654ull,
		.e820 = map, .nr_e820 = ARRAY_SIZE(map),
	};
	for (unsigned int i = 3; i < ARRAY_SIZE(map); i++)
		map[i] = (struct e820_entry)RAM(GiB(i), MiB(1));
	check_page(im.b, &p);
	/* No initrd: no size either. Spot checks against a shared mistake. */
	p.initrd_gpa = 0;
	zp = check_page(im.b, &p);
	assert_int_equal(zp[0x1e8], E820_MAX);
	assert_int_equal(get32(zp + 0xc8), 1);
	assert_int_equal(get32(zp + 0x21c), 0);
	assert_int_equal(get32(zp + 0x2d0 + 20 + 16), E820_RESERVED);
	assert_int_equal(zp[0x2d0 + E820_MAX * 20], 0);
}

/* ------------------------------------------------------------ a real kernel */

static u8 *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	u8 *buf = f ? malloc(64u << 20) : NULL;

	if (buf)
		*len = fread(buf, 1, 64u << 20, f);
	if (f)
		fclose(f);
	return buf;
}

/* The payload starts with a magic of a compressor the kernel can use. */
static bool known_compression(const u8 *p)
{
	static const char *const magic[] = {
		"\x1f\x8b", "BZh", "\x5d", "\xfd" "7zXZ", "\x89LZO",
		"\x02\x21\x4c\x18", "\x28\xb5\x2f\xfd",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(magic); i++)
		if (!memcmp(p, magic[i], strlen(magic[i])))
			return true;
	return false;
}

static void test_real_bzimage(void **state)
{
	const char *path = getenv("LAMINA_BZIMAGE");
	struct linux_params p = { .cmdline_gpa = LINUX_CMDLINE_GPA,
				  .rsdp_gpa = LINUX_ACPI_GPA };
	size_t len = 0;
	u8 *img;

	(void)state;
	path = path ? path : "build/linux/bzImage";
	img = read_file(path, &len);
	if (!img) {
		print_message("SKIP: %s not found (tools/linux-guest/fetch-kernel.sh)\n", path);
		skip();
	}
	if (linux_parse_bzimage(img, len, &out, why, sizeof(why)))
		fail_msg("%s: %s", path, why);
	print_message("%s: protocol %u.%02u, kernel 0x%x bytes at 0x%x, init_size 0x%x, pref_address 0x%llx, alignment 0x%x\n",
		      path, out.version >> 8, out.version & 0xff,
		      out.payload_size, out.payload_offset, out.init_size,
		      (unsigned long long)out.pref_address, out.kernel_alignment);
	assert_true(out.relocatable);
	assert_true(out.xloadflags & LINUX_XLF_CAN_BE_LOADED_ABOVE_4G);
	assert_true(out.cmdline_size >= 255 && out.cmdline_size < LINUX_CMDLINE_MAX);
	assert_true(out.init_size > out.payload_size);
	assert_true(out.pref_address % out.kernel_alignment == 0);
	assert_true(get32(img + 0x24c) > 0x100000);
	assert_true(known_compression(img + out.payload_offset + get32(img + 0x248)));
	check_page(img, &p);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_odd_calls),
		cmocka_unit_test(test_bad_images),
		cmocka_unit_test(test_e820),
		cmocka_unit_test(test_e820_many),
		cmocka_unit_test(test_zero_page),
		cmocka_unit_test(test_real_bzimage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
