/*
 * Unit tests for lamina.efi's pure parts (loader/efi/): the boot.txt parser,
 * the kernel image checker and the multiboot2 information builder, whose
 * output is read back by Lamina's own parser (kernel/bootinfo.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <lamina/bootinfo.h>
#include <lamina/errno.h>

#include "kimage.h"
#include "manifest.h"
#include "mb2info.h"

static struct efi_manifest man;

static int parse(const char *text)
{
	return efim_parse(text, strlen(text), &man);
}

/* ------------------------------------------------------------ boot.txt */

static void test_manifest_minimal(void **state)
{
	(void)state;
	assert_int_equal(parse("kernel \\lamina\\lamina.elf\n"), 0);
	assert_string_equal(man.kernel, "\\lamina\\lamina.elf");
	assert_string_equal(man.cmdline, "");
	assert_int_equal(man.nr_modules, 0);
}

static void test_manifest_full(void **state)
{
	const char *text =
		"\xef\xbb\xbf# Lamina on this stick\r\n"
		"\r\n"
		"  kernel\t/lamina/lamina.elf  \r\n"
		"cmdline loglevel=7  console=ttyS0 \r\n"
		"module \\lamina\\config.bin config\r\n"
		"   # an indented comment\n"
		"module /lamina/initramfs.cpio.gz initramfs.cpio.gz";

	(void)state;
	assert_int_equal(parse(text), 0);
	assert_string_equal(man.kernel, "\\lamina\\lamina.elf");
	/* Inner blanks kept as GRUB keeps them; the line's end trimmed. */
	assert_string_equal(man.cmdline, "loglevel=7  console=ttyS0");
	assert_int_equal(man.nr_modules, 2);
	assert_string_equal(man.modules[0].path, "\\lamina\\config.bin");
	assert_string_equal(man.modules[0].name, "config");
	assert_string_equal(man.modules[1].path, "\\lamina\\initramfs.cpio.gz");
	assert_string_equal(man.modules[1].name, "initramfs.cpio.gz");
}

static void test_manifest_empty_cmdline(void **state)
{
	(void)state;
	assert_int_equal(parse("cmdline\nkernel \\k\n"), 0);
	assert_string_equal(man.cmdline, "");
}

static void test_manifest_sixteen_modules(void **state)
{
	char text[2048];
	size_t n = 0;
	int i;

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "kernel \\k\n");
	for (i = 0; i < 16; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
				      "module \\m%d m%d\n", i, i);
	assert_int_equal(parse(text), 0);
	assert_int_equal(man.nr_modules, 16);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "module \\x x\n");
	assert_int_equal(parse(text), -HV_EINVAL);
	assert_int_equal(man.err_line, 18);
	assert_string_equal(man.error, "line 18: more than 16 modules");
}

struct bad_case {
	const char *text;
	unsigned int line;
	const char *error; /* a part of the message */
};

static const struct bad_case bad_cases[] = {
	{ "", 0, "no 'kernel PATH' line" },
	{ "# only a comment\ncmdline x\n", 0, "no 'kernel PATH' line" },
	{ "kernel\n", 1, "line 1: a path is missing" },
	{ "kernel lamina.elf\n", 1, "path 'lamina.elf' must start with '\\'" },
	{ "kernel \\a \\b\n", 1, "'kernel' takes one path" },
	{ "kernel \\a\n\nkernel \\b\n", 3, "line 3: a second 'kernel' line" },
	{ "kernel \\a\ncmdline a\ncmdline b\n", 3, "a second 'cmdline' line" },
	{ "kernel \\a\nmodule \\m\n", 2, "'module' needs a name" },
	{ "kernel \\a\nmodule\n", 2, "a path is missing" },
	{ "kernel \\a\nmodule \\m a b\n", 2, "'module' takes a path and one name" },
	{ "kernel \\a\nmodule \\m a\nmodule \\n a\n", 3, "module name 'a' used twice" },
	{ "kernel \\a\nmodul \\m a\n", 2, "unknown directive 'modul'" },
	{ "kernel \\a\nKERNEL \\b\n", 2, "unknown directive 'KERNEL'" },
	{ "kernel \\a\x01\n", 1, "not printable ASCII" },
	{ "kernel \\a\n\xc3\xa9\n", 2, "not printable ASCII" },
	{ "kernel \\a\n# \x7f\n", 2, "not printable ASCII" },
	/* Found by the fuzzer: a CR inside a line ended up in the path. */
	{ "kernel /lamin\rlinux\r\n", 1, "not printable ASCII" },
};

static void test_manifest_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];

		assert_int_equal(parse(c->text), -HV_EINVAL);
		if (man.err_line != c->line || !strstr(man.error, c->error))
			fail_msg("case %zu: got line %u '%s', want line %u '%s'",
				 i, man.err_line, man.error, c->line, c->error);
	}
}

static void test_manifest_nul_byte(void **state)
{
	static const char text[] = "kernel \\a\nmodule \\m\0x x\n";

	(void)state;
	assert_int_equal(efim_parse(text, sizeof(text) - 1, &man), -HV_EINVAL);
	assert_string_equal(man.error, "line 2: a byte that is not printable ASCII");
}

/* Limits: the longest allowed value passes, one byte more fails. */
static void test_manifest_limits(void **state)
{
	char text[EFIM_MAX_SIZE + 64];
	char fill[600];

	(void)state;
	memset(fill, 'a', sizeof(fill));
	snprintf(text, sizeof(text), "kernel \\%.*s\n", EFIM_PATH_MAX - 2, fill);
	assert_int_equal(parse(text), 0);
	snprintf(text, sizeof(text), "kernel \\%.*s\n", EFIM_PATH_MAX - 1, fill);
	assert_int_equal(parse(text), -HV_EINVAL);
	assert_string_equal(man.error, "line 1: path longer than 127 bytes");

	snprintf(text, sizeof(text), "kernel \\k\nmodule \\m %.*s\n",
		 EFIM_NAME_MAX - 1, fill);
	assert_int_equal(parse(text), 0);
	snprintf(text, sizeof(text), "kernel \\k\nmodule \\m %.*s\n",
		 EFIM_NAME_MAX, fill);
	assert_int_equal(parse(text), -HV_EINVAL);
	assert_string_equal(man.error, "line 2: module name longer than 63 bytes");

	snprintf(text, sizeof(text), "kernel \\k\ncmdline %.*s\n",
		 EFIM_CMDLINE_MAX - 1, fill);
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(man.cmdline), EFIM_CMDLINE_MAX - 1);
	snprintf(text, sizeof(text), "kernel \\k\ncmdline %.*s\n",
		 EFIM_CMDLINE_MAX, fill);
	assert_int_equal(parse(text), -HV_EINVAL);
	assert_string_equal(man.error, "line 2: command line longer than 511 bytes");

	memset(text, '#', sizeof(text));
	assert_int_equal(efim_parse(text, EFIM_MAX_SIZE + 1, &man), -HV_EINVAL);
	assert_string_equal(man.error, "file larger than 64 KiB");
}

/* A long bad word is quoted shortened, and the message stays terminated. */
static void test_manifest_long_quote(void **state)
{
	char text[300];

	(void)state;
	memset(text, 'z', sizeof(text));
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(parse(text), -HV_EINVAL);
	assert_string_equal(man.error, "line 1: unknown directive "
			    "'zzzzzzzzzzzzzzzzzzzzzzzz..' (kernel, cmdline, module or #)");
}

/* ------------------------------------------------------------ kernel image */

static uint8_t elf[8192];
static struct kimage kimg;

static void w16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, v); w16(p + 2, v >> 16); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }

#define MB2_OFF 0x1000 /* the multiboot2 header, as Lamina's first section */

/* An ELF like Lamina's: one PT_LOAD of the whole file at 1 MiB. */
static void elf_init(uint32_t entry)
{
	uint8_t *ph = elf + 64;

	memset(elf, 0, sizeof(elf));
	memcpy(elf, "\x7f" "ELF", 4);
	elf[4] = 2;
	elf[5] = 1;
	w16(elf + 16, 2);
	w16(elf + 18, 62);
	w64(elf + 24, entry);
	w64(elf + 32, 64);
	w16(elf + 54, 56);
	w16(elf + 56, 1);
	w32(ph, 1);
	w64(ph + 8, 0);
	w64(ph + 24, 0x100000);
	w64(ph + 32, sizeof(elf));
	w64(ph + 40, sizeof(elf) + 0x4000);
}

/* A multiboot2 header with the given tags (each 8-aligned), checksummed. */
static void mb2_header(const uint8_t *tags, uint32_t tags_len)
{
	uint8_t *h = elf + MB2_OFF;
	uint32_t len = 16 + tags_len + 8;

	w32(h, MB2_HEADER_MAGIC);
	w32(h + 4, 0);
	w32(h + 8, len);
	w32(h + 12, (uint32_t)-(MB2_HEADER_MAGIC + len));
	memcpy(h + 16, tags, tags_len);
	memset(h + 16 + tags_len, 0, 8);
	w32(h + 16 + tags_len + 4, 8);
}

static const uint8_t lamina_tags[] = { 6, 0, 0, 0, 8, 0, 0, 0 };

static void test_kimage_lamina_like(void **state)
{
	(void)state;
	elf_init(0x101000);
	mb2_header(lamina_tags, sizeof(lamina_tags));
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), 0);
	assert_int_equal(kimg.nr_segs, 1);
	assert_int_equal(kimg.segs[0].paddr, 0x100000);
	assert_int_equal(kimg.segs[0].filesz, sizeof(elf));
	assert_int_equal(kimg.entry, 0x101000);
	assert_false(kimg.entry_from_header);
	assert_true(kimg.modules_page_aligned);
}

static void test_kimage_entry_tag(void **state)
{
	uint8_t tags[16] = { 3, 0, 0, 0, 12, 0, 0, 0 };

	(void)state;
	w32(tags + 8, 0x102000);
	elf_init(0x101000);
	mb2_header(tags, sizeof(tags));
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), 0);
	assert_int_equal(kimg.entry, 0x102000);
	assert_true(kimg.entry_from_header);
}

static void test_kimage_optional_tags(void **state)
{
	/* An EFI boot services tag marked optional is ignored ... */
	uint8_t tags[8] = { 7, 0, 1, 0, 8, 0, 0, 0 };

	(void)state;
	elf_init(0x101000);
	mb2_header(tags, sizeof(tags));
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), 0);
	/* ... and refused when required: we always exit boot services. */
	tags[2] = 0;
	mb2_header(tags, sizeof(tags));
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error,
			    "unsupported required multiboot2 header tag 0x7");
}

static void test_kimage_bad(void **state)
{
	(void)state;
	elf_init(0x101000);
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error, "no multiboot2 header in the first 32 KiB");

	mb2_header(lamina_tags, sizeof(lamina_tags));
	elf[MB2_OFF + 12] ^= 1;
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error, "multiboot2 header checksum is wrong");

	mb2_header(lamina_tags, sizeof(lamina_tags));
	w64(elf + 24, 0x90000);
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error,
			    "entry point outside every PT_LOAD segment: 0x90000");

	elf_init(0x101000);
	mb2_header(lamina_tags, sizeof(lamina_tags));
	w64(elf + 64 + 32, sizeof(elf) + 1);
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error,
			    "PT_LOAD runs past the end of the file at offset 0x0");

	elf_init(0x101000);
	mb2_header(lamina_tags, sizeof(lamina_tags));
	w64(elf + 64 + 24, 0xfffff000);
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error, "PT_LOAD not below 4 GiB at 0xfffff000");

	elf_init(0x101000);
	w16(elf + 18, 3); /* i386 */
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error, "not an x86-64 executable");

	assert_int_equal(kimg_parse("#!/bin/sh\n", 10, &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error, "not an ELF file");
}

static void test_kimage_overlap(void **state)
{
	uint8_t *ph2 = elf + 64 + 56;

	(void)state;
	elf_init(0x101000);
	mb2_header(lamina_tags, sizeof(lamina_tags));
	w16(elf + 56, 2);
	w32(ph2, 1);
	w64(ph2 + 24, 0x102000);
	w64(ph2 + 40, 0x1000);
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), -HV_EINVAL);
	assert_string_equal(kimg.error, "PT_LOAD segments overlap at 0x102000");
	w64(ph2 + 24, 0x200000);
	assert_int_equal(kimg_parse(elf, sizeof(elf), &kimg), 0);
	assert_int_equal(kimg.nr_segs, 2);
}

/* ------------------------------------------------------------ boot information */

struct efi_desc { /* the UEFI memory descriptor, padded as OVMF pads it */
	uint32_t type;
	uint32_t pad;
	uint64_t phys;
	uint64_t virt;
	uint64_t pages;
	uint64_t attr;
	uint64_t extra;
};

static const struct efi_desc efi_map[] = {
	{ .type = 3, .phys = 0x0, .pages = 0xa0 },         /* BS code */
	{ .type = 6, .phys = 0xa0000, .pages = 0x60 },     /* runtime data */
	{ .type = 7, .phys = 0x100000, .pages = 0x100 },   /* conventional */
	{ .type = 2, .phys = 0x200000, .pages = 0x100 },   /* loader data: joins */
	{ .type = 9, .phys = 0x300000, .pages = 0x10 },    /* ACPI reclaim */
	{ .type = 10, .phys = 0x310000, .pages = 0x10 },   /* ACPI NVS */
	{ .type = 11, .phys = 0xfec00000, .pages = 1 },    /* MMIO */
	{ .type = 7, .phys = 0x400000, .pages = 0 },       /* empty: dropped */
};

static uint8_t rsdp2[36] = "RSD PTR ";
static uint64_t mbi[4096];
static struct bootinfo bi;

static struct mb2b_input info_input(const struct mb2b_module *mods,
				    unsigned int n, const struct mb2b_fb *fb)
{
	struct mb2b_input in = {
		.cmdline = "loglevel=7", .loader = "lamina.efi test",
		.nr_modules = n, .modules = mods,
		.rsdp_v1 = rsdp2, .rsdp_v2 = rsdp2, .rsdp_v2_len = 36,
		.efi_systab = 0x7f9e018, .fb = fb,
		.efi_map = efi_map, .efi_map_size = sizeof(efi_map),
		.efi_desc_size = sizeof(struct efi_desc), .efi_desc_version = 1,
	};

	rsdp2[15] = 2;
	w32(rsdp2 + 20, 36);
	return in;
}

static void test_info_read_by_lamina(void **state)
{
	static const struct mb2b_module mods[] = {
		{ 0x1000000, 0x1000159, "config" },
		{ 0x1002000, 0x10025c4, "hello32.bin" },
	};
	struct mb2b_fb fb = { 0x80000000, 4 * 1280, 1280, 800, 32,
			      16, 8, 8, 8, 0, 8 };
	struct mb2b_input in = info_input(mods, 2, &fb);
	size_t len;

	(void)state;
	len = mb2b_build(mbi, sizeof(mbi), &in);
	assert_true(len > 0 && len <= mb2b_size(&in));
	assert_int_equal(len % 8, 0);
	assert_int_equal(mb2_parse(mbi, len, &bi), 0);
	assert_string_equal(bi.error, "");
	assert_string_equal(bi.warning, "");
	assert_string_equal(bi.cmdline, "loglevel=7");
	assert_string_equal(bi.loader, "lamina.efi test");
	assert_int_equal(bi.nr_modules, 2);
	assert_string_equal(bi.modules[0].name, "config");
	assert_int_equal(bi.modules[0].start, 0x1000000);
	assert_int_equal(bi.modules[0].end, 0x1000159);
	assert_string_equal(bi.modules[1].name, "hello32.bin");
	assert_true(bi.efi);
	assert_int_equal(bi.efi_systab, 0x7f9e018);
	assert_true(bi.rsdp_new);
	assert_int_equal(bi.rsdp_len, 36);
	assert_memory_equal(bi.rsdp, rsdp2, 36);
	/* From the multiboot2 map (tag 6), with the EFI types translated. */
	assert_false(bi.mmap_from_efi);
	assert_int_equal(bi.nr_mmap, 6);
	assert_int_equal(bi.mmap[0].base, 0);
	assert_int_equal(bi.mmap[0].len, 0xa0000);
	assert_int_equal(bi.mmap[0].type, MEM_USABLE);
	assert_int_equal(bi.mmap[1].type, MEM_RESERVED);
	assert_int_equal(bi.mmap[2].base, 0x100000);
	assert_int_equal(bi.mmap[2].len, 0x200000);
	assert_int_equal(bi.mmap[2].type, MEM_USABLE);
	assert_int_equal(bi.mmap[3].type, MEM_ACPI_RECLAIM);
	assert_int_equal(bi.mmap[4].type, MEM_ACPI_NVS);
	assert_int_equal(bi.mmap[5].base, 0xfec00000);
	assert_int_equal(bi.mmap[5].type, MEM_RESERVED);
}

static void test_info_minimal(void **state)
{
	struct mb2b_input in = info_input(NULL, 0, NULL);
	size_t len;

	(void)state;
	in.cmdline = NULL;
	in.rsdp_v2 = NULL;
	in.rsdp_v2_len = 0;
	len = mb2b_build(mbi, sizeof(mbi), &in);
	assert_true(len > 0 && len <= mb2b_size(&in));
	assert_int_equal(mb2_parse(mbi, len, &bi), 0);
	assert_string_equal(bi.cmdline, "");
	assert_int_equal(bi.nr_modules, 0);
	assert_false(bi.rsdp_new);
	assert_int_equal(bi.rsdp_len, 20);
}

static void test_info_too_small(void **state)
{
	struct mb2b_input in = info_input(NULL, 0, NULL);
	size_t need = mb2b_build(mbi, sizeof(mbi), &in), cap;

	(void)state;
	assert_true(need > 0);
	for (cap = 0; cap < need; cap += 8)
		assert_int_equal(mb2b_build(mbi, cap, &in), 0);
	assert_int_equal(mb2b_build(mbi, need, &in), need);
	in.efi_desc_size = 24;
	assert_int_equal(mb2b_build(mbi, sizeof(mbi), &in), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest_minimal),
		cmocka_unit_test(test_manifest_full),
		cmocka_unit_test(test_manifest_empty_cmdline),
		cmocka_unit_test(test_manifest_sixteen_modules),
		cmocka_unit_test(test_manifest_bad),
		cmocka_unit_test(test_manifest_nul_byte),
		cmocka_unit_test(test_manifest_limits),
		cmocka_unit_test(test_manifest_long_quote),
		cmocka_unit_test(test_kimage_lamina_like),
		cmocka_unit_test(test_kimage_entry_tag),
		cmocka_unit_test(test_kimage_optional_tags),
		cmocka_unit_test(test_kimage_bad),
		cmocka_unit_test(test_kimage_overlap),
		cmocka_unit_test(test_info_read_by_lamina),
		cmocka_unit_test(test_info_minimal),
		cmocka_unit_test(test_info_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
