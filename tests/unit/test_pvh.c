/*
 * Unit tests for the PVH vmlinux parser and start info (kernel/guest/pvh.c).
 *
 * A good synthetic ELF64 kernel is built here byte by byte: a PT_NOTE, a
 * PT_GNU_STACK, then text and data PT_LOADs; the notes are a GNU build ID,
 * a "Linux" note with odd sizes, a Xen note of another type, and last the
 * Xen PHYS32_ENTRY note. Each case of the table breaks one thing and
 * expects a rejection whose message holds a given text. Every parse runs
 * on a heap copy of exactly the image's length, so AddressSanitizer catches
 * any read past it. If build/linux/vmlinux exists (tools/linux-guest:
 * Debian's 6.1.0-57-amd64, extracted from its bzImage), it is parsed too;
 * otherwise that test is skipped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/pvh.h>

#define IMG_MAX 0x4000
#define PH(i) (0x40 + (i) * 56)    /* program header i */
#define NR_PHDRS 4
#define TEXT_OFF 0x1000
#define TEXT_PADDR 0x1000000ull
#define TEXT_SIZE 0x1000
#define DATA_OFF 0x2000
#define DATA_PADDR 0x1200000ull
#define DATA_FILESZ 0x100
#define DATA_MEMSZ 0x3000
#define IMG_LEN (DATA_OFF + DATA_FILESZ) /* the data segment ends the file */
#define NOTES_OFF 0x1800              /* inside the text segment */
#define ENTRY 0x1000850u
#define PT_GNU_STACK 0x6474e551u

/* The notes good() writes, as offsets from NOTES_OFF. */
#define N_GNU 0x00    /* 12 + 4 + 20 */
#define N_LINUX 0x24  /* 12 + 8 (6) + 16 (15) */
#define N_XEN6 0x48   /* 12 + 4 + 8 (6) */
#define N_XEN 0x60    /* 12 + 4 + 4: the entry */
#define NOTES_LEN 0x74

static struct {
	u8 b[IMG_MAX];
	u64 len;
} im;
static struct pvh_image out;
static char why[200];
static u64 notes_start, note_at; /* the notes, where add_note() writes next */

static void put16(u64 off, u16 v) { memcpy(im.b + off, &v, sizeof(v)); }
static void put32(u64 off, u32 v) { memcpy(im.b + off, &v, sizeof(v)); }
static void put64(u64 off, u64 v) { memcpy(im.b + off, &v, sizeof(v)); }

static void set_phdr(unsigned int i, u32 type, u64 off, u64 paddr,
		     u64 filesz, u64 memsz)
{
	put32(PH(i), type);
	put32(PH(i) + 4, 5);                 /* flags: R E */
	put64(PH(i) + 8, off);
	put64(PH(i) + 16, paddr + 0xffffffff80000000ull); /* vaddr: unused */
	put64(PH(i) + 24, paddr);
	put64(PH(i) + 32, filesz);
	put64(PH(i) + 40, memsz);
	put64(PH(i) + 48, 0x1000);
}

/* The notes start at @off; program header 0 covers them. */
static void notes_begin(u64 off)
{
	notes_start = note_at = off;
	put64(PH(0) + 8, off);
	put64(PH(0) + 32, 0);
}

/* Append a note, @name padded with NULs to @namesz; where its value goes. */
static u64 add_note(u32 namesz, const char *name, u32 descsz, u32 type)
{
	u64 at = note_at, desc = at + 12 + ALIGN_UP(namesz, 4u);

	put32(at, namesz);
	put32(at + 4, descsz);
	put32(at + 8, type);
	memset(im.b + at + 12, 0, desc - at - 12);
	memcpy(im.b + at + 12, name, MIN(strlen(name), (size_t)namesz));
	memset(im.b + desc, 0xd5, ALIGN_UP(descsz, 4u));
	note_at = desc + ALIGN_UP(descsz, 4u);
	put64(PH(0) + 32, note_at - notes_start);
	return desc;
}

/* The four notes of the good image from @off; the entry's value has @bytes. */
static u64 good_notes(u64 off, u32 bytes)
{
	u64 desc;

	notes_begin(off);
	add_note(4, "GNU", 20, 3);
	add_note(6, "Linux", 15, 0x101);
	desc = add_note(4, "Xen", 6, 6);
	memcpy(im.b + desc, "linux", 6);
	desc = add_note(4, "Xen", bytes, PVH_NOTE_PHYS32_ENTRY);
	if (bytes == 8)
		put64(desc, ENTRY);
	else
		put32(desc, ENTRY);
	return desc;
}

static void good(void)
{
	memset(&im, 0, sizeof(im));
	im.len = IMG_LEN;
	memcpy(im.b, "\177ELF", 4);
	im.b[4] = 2;                   /* ELFCLASS64 */
	im.b[5] = 1;                   /* ELFDATA2LSB */
	im.b[6] = 1;                   /* EV_CURRENT */
	put16(16, 2);                  /* ET_EXEC */
	put16(18, 62);                 /* EM_X86_64 */
	put32(20, 1);
	put64(24, 0xffffffff81000000ull); /* e_entry: the 64-bit one, unused */
	put64(32, PH(0));
	put16(52, 64);
	put16(54, 56);
	put16(56, NR_PHDRS);
	memset(im.b + TEXT_OFF, 0x90, TEXT_SIZE);
	memset(im.b + DATA_OFF, 0xda, DATA_FILESZ);
	set_phdr(0, 4, 0, 0, 0, 0);    /* PT_NOTE: good_notes() places it */
	set_phdr(1, PT_GNU_STACK, 0, 0, 0, 0);
	set_phdr(2, 1, TEXT_OFF, TEXT_PADDR, TEXT_SIZE, TEXT_SIZE);
	set_phdr(3, 1, DATA_OFF, DATA_PADDR, DATA_FILESZ, DATA_MEMSZ);
	put64(PH(0) + 24, TEXT_PADDR + NOTES_OFF - TEXT_OFF);
	good_notes(NOTES_OFF, 4);
}

static int parse_len(u64 len)
{
	u8 *copy = malloc(len ? len : 1);
	int err;

	assert_non_null(copy);
	memcpy(copy, im.b, len);
	memset(why, 'x', sizeof(why));
	memset(&out, 0xa5, sizeof(out));
	err = pvh_parse(copy, len, &out, why, sizeof(why));
	free(copy);
	assert_non_null(memchr(why, '\0', sizeof(why)));
	if (err) {
		assert_int_equal(err, -HV_EINVAL);
		assert_memory_equal(why, "pvh: ", 5);
	} else {
		assert_string_equal(why, "");
	}
	return err;
}

static int parse(void)
{
	return parse_len(im.len);
}

static void expect_fail(const char *name, const char *expect)
{
	if (parse() != -HV_EINVAL)
		fail_msg("%s: parsed", name);
	if (!strstr(why, expect))
		fail_msg("%s: \"%s\" lacks \"%s\"", name, why, expect);
}

/* ------------------------------------------------------------ good images */

static void test_good(void **state)
{
	static const struct pvh_image want = {
		.entry = ENTRY, .nr_segments = 2,
		.seg = { { TEXT_PADDR, TEXT_OFF, TEXT_SIZE, TEXT_SIZE },
			 { DATA_PADDR, DATA_OFF, DATA_FILESZ, DATA_MEMSZ } },
		.lowest = TEXT_PADDR, .highest = DATA_PADDR + DATA_MEMSZ,
	};

	(void)state;
	good();
	assert_int_equal(parse(), 0);
	assert_memory_equal(&out, &want, sizeof(want));
	/* Program header order, not address order; empty PT_LOADs skipped. */
	set_phdr(1, 1, DATA_OFF, 0x1100000, 0, 0);
	set_phdr(2, 1, DATA_OFF, DATA_PADDR, DATA_FILESZ, DATA_MEMSZ);
	set_phdr(3, 1, TEXT_OFF, TEXT_PADDR, TEXT_SIZE, TEXT_SIZE);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.nr_segments, 2);
	assert_int_equal(out.seg[0].paddr, DATA_PADDR);
	assert_int_equal(out.seg[1].paddr, TEXT_PADDR);
	assert_int_equal(out.lowest, TEXT_PADDR);
	assert_int_equal(out.highest, DATA_PADDR + DATA_MEMSZ);
}

/* Linux writes the entry as a pointer: 8 bytes on x86-64. */
static void test_entry_8_bytes(void **state)
{
	u64 desc;

	(void)state;
	good();
	desc = good_notes(NOTES_OFF, 8);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.entry, ENTRY);
	put64(desc, 0xffffffffull);
	expect_fail("8 bytes, 4 GiB - 1", "not inside a segment's bytes");
	put64(desc, 0x100000000ull + ENTRY);
	expect_fail("8 bytes, high half", "pvh: the PHYS32_ENTRY point 0x101000850 is not below 4 GiB");
	put64(desc, ~0ull);
	expect_fail("8 bytes, ~0", "the PHYS32_ENTRY point 0xffffffffffffffff is not below 4 GiB");
}

/* The entry at each end of the text's bytes; limits met exactly. */
static void test_edges(void **state)
{
	static const u32 entries[] = { TEXT_PADDR, TEXT_PADDR + TEXT_SIZE - 1,
				       DATA_PADDR, DATA_PADDR + DATA_FILESZ - 1 };
	u64 desc;

	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(entries); i++) {
		good();
		desc = good_notes(NOTES_OFF, 4);
		put32(desc, entries[i]);
		assert_int_equal(parse(), 0);
		assert_int_equal(out.entry, entries[i]);
	}
	good();
	put64(PH(2) + 24, 0x100000);   /* from 1 MiB exactly */
	put32(NOTES_OFF + N_XEN + 16, 0x100000);
	put64(PH(3) + 24, 0x100000000ull - DATA_MEMSZ); /* to 4 GiB exactly */
	assert_int_equal(parse(), 0);
	assert_int_equal(out.lowest, 0x100000);
	assert_int_equal(out.highest, 0x100000000ull);
	/* The first entry note counts; later ones are not even read. */
	good();
	good_notes(NOTES_OFF, 4);
	put32(add_note(4, "Xen", 2, PVH_NOTE_PHYS32_ENTRY), 0x1000);
	assert_int_equal(parse(), 0);
	assert_int_equal(out.entry, ENTRY);
	/* A second PT_NOTE without the entry, before it. */
	good();
	set_phdr(1, 4, TEXT_OFF, TEXT_PADDR, 12 + 4 + 4, 12 + 4 + 4);
	memcpy(im.b + TEXT_OFF, "\4\0\0\0\4\0\0\0\1\0\0\0Xen\0\0\0\0\0", 20);
	assert_int_equal(parse(), 0);
	/* An empty PT_NOTE. */
	set_phdr(1, 4, IMG_LEN, 0, 0, 0);
	assert_int_equal(parse(), 0);
}

/*
 * Every prefix of the good image fails, never reading past its end: the
 * data segment's bytes run to the last one.
 */
static void test_truncated(void **state)
{
	(void)state;
	good();
	for (u64 len = 0; len < im.len; len++)
		if (parse_len(len) != -HV_EINVAL)
			fail_msg("a prefix of 0x%llx bytes parsed",
				 (unsigned long long)len);
	assert_int_equal(parse_len(im.len), 0);
}

/* Names and values of every length up to 8 bytes, padded to 4. */
static void test_note_alignment(void **state)
{
	static const u64 starts[] = { NOTES_OFF, NOTES_OFF + 1, NOTES_OFF + 2,
				      NOTES_OFF + 3, TEXT_OFF };
	char name[9];

	(void)state;
	for (unsigned int s = 0; s < ARRAY_SIZE(starts); s++) {
		good();
		notes_begin(starts[s]);
		add_note(0, "", 0, 1);
		for (u32 namesz = 1; namesz <= 8; namesz++) {
			memset(name, 'n', sizeof(name));
			name[namesz - 1] = '\0';
			for (u32 descsz = 0; descsz <= 8; descsz++)
				add_note(namesz, name, descsz, 18);
		}
		/* Near misses: type 18 without the NUL, or "Xen" padded. */
		add_note(3, "Xen", 4, PVH_NOTE_PHYS32_ENTRY);
		add_note(8, "Xen", 4, PVH_NOTE_PHYS32_ENTRY);
		add_note(4, "XEN", 4, PVH_NOTE_PHYS32_ENTRY);
		put32(add_note(4, "Xen", 4, PVH_NOTE_PHYS32_ENTRY), ENTRY);
		assert_true(note_at <= TEXT_OFF + TEXT_SIZE);
		if (parse())
			fail_msg("notes at 0x%llx: %s",
				 (unsigned long long)starts[s], why);
		assert_int_equal(out.entry, ENTRY);
		/* One byte less and the last value is cut. */
		put64(PH(0) + 32, note_at - notes_start - 1);
		expect_fail("cut", "runs past the segment's");
	}
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
#define NOTE(n, field) (NOTES_OFF + (n) + (field))

static const struct bad_case bad_cases[] = {
	{ "short", CUT(0x3f), "pvh: the file has 0x3f bytes, too few for an ELF64 header (0x40)" },
	{ "empty", CUT(0), "pvh: the file has 0x0 bytes" },
	{ "magic", SET(3, 1, 'f'), "pvh: the file is not an ELF file" },
	{ "class32", SET(4, 1, 1), "pvh: ELF class 1 is not 64-bit (2)" },
	{ "big_endian", SET(5, 1, 2), "pvh: ELF data encoding 2 is not little-endian (1)" },
	{ "ident_version", SET(6, 1, 0), "pvh: ELF version 0/1 is not 1" },
	{ "e_version", SET(20, 4, 2), "pvh: ELF version 1/2 is not 1" },
	{ "dyn", SET(16, 2, 3), "pvh: ELF type 3 is not an executable (2)" },
	{ "i386", SET(18, 2, 3), "pvh: ELF machine 3 is not x86-64 (62)" },
	{ "phentsize_32", SET(54, 2, 32), "pvh: program header size 32 is not 56" },
	{ "phentsize_64", SET(54, 2, 64), "pvh: program header size 64 is not 56" },
	{ "phnum_0", SET(56, 2, 0), "pvh: the ELF file has no program headers" },
	{ "phnum_xnum", SET(56, 2, 0xffff), "pvh: extended program header numbering" },
	{ "phdrs_past_end", SET(32, 8, IMG_LEN - 0xdf), "pvh: program headers [0x2021, +0xe0) are past the end of the file (0x2100 bytes)" },
	{ "phoff_wrap", SET(32, 8, ~0ull - 0x10), "pvh: program headers [0xffffffffffffffef, +0xe0) are past" },
	{ "phnum_past_end", SET(56, 2, 200), "pvh: program headers [0x40, +0x2bc0) are past" },
	{ "filesz_gt_memsz", SET(PH(3) + 32, 8, DATA_MEMSZ + 1), "pvh: program header 3: file size 0x3001 is more than its memory size 0x3000" },
	{ "load_past_end", SET(PH(3) + 32, 8, DATA_FILESZ + 1), "pvh: program header 3: bytes [0x2000, +0x101) are past the end of the file (0x2100 bytes)" },
	{ "load_offset_wrap", SET(PH(3) + 8, 8, ~0ull), "pvh: program header 3: bytes [0xffffffffffffffff, +0x100) are past" },
	{ "below_1m", SET(PH(2) + 24, 8, 0xff000), "pvh: program header 2: [0xff000, +0x1000) is not between 1 MiB and 4 GiB" },
	{ "paddr_0", SET(PH(2) + 24, 8, 0), "pvh: program header 2: [0x0, +0x1000) is not between" },
	{ "above_4g", SET(PH(3) + 24, 8, 0xffffe000), "pvh: program header 3: [0xffffe000, +0x3000) is not between" },
	{ "at_4g", SET(PH(3) + 24, 8, 0x100000000ull), "pvh: program header 3: [0x100000000, +0x3000) is not between" },
	{ "memsz_wrap", SET(PH(3) + 40, 8, ~0ull), "pvh: program header 3: [0x1200000, +0xffffffffffffffff) is not between" },
	{ "paddr_wrap", SET(PH(3) + 24, 8, 0xfffffffffffff000ull), "pvh: program header 3: [0xfffffffffffff000, +0x3000)" },
	{ "overlap", SET(PH(3) + 24, 8, 0x1000fff), "pvh: program header 3: [0x1000fff, 0x1003fff) overlaps segment [0x1000000, 0x1001000)" },
	{ "no_load", SET(56, 2, 2), "pvh: the ELF file has no loadable segment" },
	{ "no_note_phdr", SET(PH(0), 4, 6), "pvh: no Xen PHYS32_ENTRY note (type 18)" },
	{ "notes_past_end", SET(PH(0) + 8, 8, IMG_LEN - 0x10), "pvh: program header 0: notes [0x20f0, +0x74) are past the end of the file" },
	{ "notes_offset_wrap", SET(PH(0) + 8, 8, ~0ull), "pvh: program header 0: notes [0xffffffffffffffff, +0x74) are past" },
	{ "notes_size_wrap", SET(PH(0) + 32, 8, ~0ull), "pvh: program header 0: notes [0x1800, +0xffffffffffffffff) are past" },
	{ "xen_type_17", SET(NOTE(N_XEN, 8), 4, 17), "pvh: no Xen PHYS32_ENTRY note" },
	{ "namesz_3", SET(NOTE(N_XEN, 0), 4, 3), "pvh: no Xen PHYS32_ENTRY note" },
	{ "name_xem", SET(NOTE(N_XEN, 14), 1, 'm'), "pvh: no Xen PHYS32_ENTRY note" },
	{ "name_no_nul", SET(NOTE(N_XEN, 15), 1, 'x'), "pvh: no Xen PHYS32_ENTRY note" },
	{ "desc_0", SET(NOTE(N_XEN, 4), 4, 0), "pvh: the Xen PHYS32_ENTRY note's value has 0 bytes, not 4 or 8" },
	{ "desc_2", SET(NOTE(N_XEN, 4), 4, 2), "pvh: the Xen PHYS32_ENTRY note's value has 2 bytes, not 4 or 8" },
	{ "desc_8_past", SET(NOTE(N_XEN, 4), 4, 8), "pvh: program header 0: the note at +0x60 (namesz 4, descsz 8) runs past the segment's 0x74 bytes" },
	{ "namesz_huge", SET(NOTE(N_GNU, 0), 4, 0xffffffff), "pvh: program header 0: the note at +0x0 (namesz 4294967295, descsz 20) runs past" },
	{ "descsz_huge", SET(NOTE(N_LINUX, 4), 4, 0xfffffffd), "pvh: program header 0: the note at +0x24 (namesz 6, descsz 4294967293) runs past" },
	{ "both_huge", SET(NOTE(N_XEN6, 0), 8, ~0ull), "the note at +0x48 (namesz 4294967295, descsz 4294967295) runs past" },
	{ "notes_short", SET(PH(0) + 32, 8, NOTES_LEN - 1), "pvh: program header 0: the note at +0x60 (namesz 4, descsz 4) runs past the segment's 0x73 bytes" },
	{ "notes_no_header", SET(PH(0) + 32, 8, N_XEN + 11), "pvh: program header 0: 0xb bytes at +0x60 are too few for a note" },
	{ "notes_trailing", SET(PH(0) + 32, 8, NOTES_LEN + 4), "pvh: program header 0: 0x4 bytes at +0x74 are too few for a note" },
	{ "entry_between", SET(NOTE(N_XEN, 16), 4, 0x1100000), "pvh: the PHYS32_ENTRY point 0x1100000 is not inside a segment's bytes from the file" },
	{ "entry_in_bss", SET(NOTE(N_XEN, 16), 4, DATA_PADDR + DATA_FILESZ), "pvh: the PHYS32_ENTRY point 0x1200100 is not inside" },
	{ "entry_text_end", SET(NOTE(N_XEN, 16), 4, TEXT_PADDR + TEXT_SIZE), "pvh: the PHYS32_ENTRY point 0x1001000 is not inside" },
	{ "entry_below", SET(NOTE(N_XEN, 16), 4, TEXT_PADDR - 1), "pvh: the PHYS32_ENTRY point 0xffffff is not inside" },
	{ "entry_0", SET(NOTE(N_XEN, 16), 4, 0), "pvh: the PHYS32_ENTRY point 0x0 is not inside" },
};

static void test_bad_images(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];

		good();
		memcpy(im.b + bc->off, &bc->value, bc->width);
		if (bc->len || !bc->width)
			im.len = bc->len;
		expect_fail(bc->name, bc->expect);
	}
}

/* Segments against each other: [a, +asz) and [b, +bsz), in that order. */
struct seg_case {
	u64 a, asz, b, bsz;
	bool ok;
};

static const struct seg_case seg_cases[] = {
	{ 0x1000000, 0x1000, 0x1001000, 0x3000, true },  /* touching */
	{ 0x1001000, 0x3000, 0x1000000, 0x1000, true },  /* touching, reversed */
	{ 0x1000000, 0x1000, 0x1000000, 0x1000, false }, /* the same */
	{ 0x1000000, 0x1000, 0x1000fff, 0x3000, false }, /* one byte */
	{ 0x1000fff, 0x3000, 0x1000000, 0x1000, false }, /* one byte, reversed */
	{ 0x1000000, 0x100000, 0x1001000, 0x3000, false }, /* inside */
	{ 0x1001000, 0x3000, 0x1000000, 0x100000, false }, /* around */
	{ 0x1000000, 0x1000, 0xfffff000, 0x1000, true },
};

static void test_segments(void **state)
{
	(void)state;
	for (unsigned int i = 0; i < ARRAY_SIZE(seg_cases); i++) {
		const struct seg_case *sc = &seg_cases[i];
		const bool entry_in_a = sc->a <= ENTRY && ENTRY - sc->a < 0x1000;

		good();
		set_phdr(2, 1, TEXT_OFF, sc->a, 0x1000, sc->asz);
		set_phdr(3, 1, DATA_OFF, sc->b, DATA_FILESZ, sc->bsz);
		if (!entry_in_a)
			put32(NOTE(N_XEN, 16), (u32)sc->a);
		if (!sc->ok) {
			expect_fail("overlap", "pvh: program header 3: ");
			assert_non_null(strstr(why, "overlaps segment"));
			continue;
		}
		if (parse())
			fail_msg("case %u: %s", i, why);
		assert_int_equal(out.lowest, MIN(sc->a, sc->b));
		assert_int_equal(out.highest, MAX(sc->a + sc->asz, sc->b + sc->bsz));
	}
}

/* PVH_MAX_SEGMENTS PT_LOADs parse; one more does not. */
static void test_many_segments(void **state)
{
	(void)state;
	for (unsigned int n = PVH_MAX_SEGMENTS; n <= PVH_MAX_SEGMENTS + 1; n++) {
		good();
		put64(32, 0x200);           /* the table, moved to room for 10 */
		memmove(im.b + 0x200, im.b + PH(0), 2 * 56);
		memset(im.b + PH(0), 0, 0x200 - PH(0));
		put16(56, 2 + n);
		for (unsigned int i = 0; i < n; i++) {
			u64 at = 0x200 + (2 + i) * 56;

			put32(at, 1);
			put64(at + 8, TEXT_OFF);
			put64(at + 24, TEXT_PADDR + i * 0x100000);
			put64(at + 32, TEXT_SIZE);
			put64(at + 40, TEXT_SIZE);
		}
		if (n == PVH_MAX_SEGMENTS) {
			assert_int_equal(parse(), 0);
			assert_int_equal(out.nr_segments, n);
			assert_int_equal(out.highest, TEXT_PADDR + 7 * 0x100000 + TEXT_SIZE);
		} else {
			expect_fail("too many", "pvh: more than 8 loadable segments");
		}
	}
}

/* No message buffer, or one too short for the prefix: still -HV_EINVAL. */
static void test_odd_calls(void **state)
{
	char small[4] = "abc";

	(void)state;
	good();
	im.b[18] = 3;
	assert_int_equal(pvh_parse(im.b, im.len, &out, NULL, 0), -HV_EINVAL);
	assert_int_equal(pvh_parse(im.b, im.len, &out, small, sizeof(small)),
			 -HV_EINVAL);
	assert_non_null(memchr(small, '\0', sizeof(small)));
	assert_int_equal(pvh_parse(NULL, 100, &out, why, sizeof(why)), -HV_EINVAL);
	assert_non_null(strstr(why, "the file has 0x0 bytes"));
	good();
	assert_int_equal(pvh_parse(im.b, im.len, &out, NULL, 0), 0);
	assert_true(pvh_is_elf(im.b, 4));
	assert_false(pvh_is_elf(im.b, 3));
	assert_false(pvh_is_elf(NULL, 0));
	assert_false(pvh_is_elf((const u8 *)"\177ELf", 4));
	assert_false(pvh_is_elf((const u8 *)"MZ\0\0", 4));
}

/* ------------------------------------------------------------ a real kernel */

static u8 *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	long size;
	u8 *buf = NULL;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END) && (size = ftell(f)) > 0 &&
	    !fseek(f, 0, SEEK_SET)) {
		buf = malloc(size);
		if (buf && fread(buf, 1, size, f) != (size_t)size) {
			free(buf);
			buf = NULL;
		}
		*len = size;
	}
	fclose(f);
	return buf;
}

static void test_real_vmlinux(void **state)
{
	const char *path = "build/linux/vmlinux";
	size_t len = 0;
	u8 *img;

	(void)state;
	img = read_file(path, &len);
	if (!img) {
		print_message("SKIP: %s not found (tools/linux-guest/fetch-kernel.sh)\n", path);
		skip();
	}
	if (pvh_parse(img, len, &out, why, sizeof(why)))
		fail_msg("%s: %s", path, why);
	print_message("%s: PVH entry 0x%x, %u segments [0x%llx, 0x%llx)\n",
		      path, out.entry, out.nr_segments,
		      (unsigned long long)out.lowest,
		      (unsigned long long)out.highest);
	/* Debian's 6.1.0-57-amd64, the kernel tools/linux-guest fetches. */
	assert_int_equal(out.entry, 0x1000850);
	assert_int_equal(out.nr_segments, 4);
	assert_int_equal(out.seg[0].paddr, 0x1000000);
	assert_int_equal(out.lowest, 0x1000000);
	assert_true(out.highest > out.entry && out.highest < 0x10000000);
	for (unsigned int i = 0; i < out.nr_segments; i++) {
		const struct pvh_segment *s = &out.seg[i];

		assert_true(s->filesz <= s->memsz && s->memsz);
		assert_true(s->offset + s->filesz <= len);
		assert_true(s->paddr % 0x1000 == 0 && s->offset % 0x1000 == 0);
		if (i)
			assert_true(s->paddr >= out.seg[i - 1].paddr +
						   out.seg[i - 1].memsz);
	}
	/* pvh_start_xen (arch/x86/platform/pvh/head.S) starts with cld. */
	assert_int_equal(img[out.seg[0].offset + out.entry - out.seg[0].paddr], 0xfc);
	free(img);
}

/* ------------------------------------------------------------ start info */

/* Xen's public/arch-x86/hvm/start_info.h, version 1, as structures. */
struct xen_start_info {
	u32 magic, version, flags, nr_modules;
	u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	u32 memmap_entries, reserved;
};
struct xen_modlist_entry {
	u64 paddr, size, cmdline_paddr, reserved;
};
struct xen_memmap_entry {
	u64 addr, size;
	u32 type, reserved;
};

_Static_assert(sizeof(struct xen_start_info) == 56, "start info");
_Static_assert(offsetof(struct xen_start_info, memmap_paddr) == 40, "memmap");
_Static_assert(offsetof(struct xen_start_info, memmap_entries) == 48, "entries");
_Static_assert(sizeof(struct xen_modlist_entry) == 32, "modlist entry");
_Static_assert(sizeof(struct xen_memmap_entry) == 24, "memmap entry");

#define INFO_GPA 0x6000ull

static const struct e820_entry map[] = {
	{ 0, 0xa0000, E820_RAM },
	{ LINUX_ACPI_GPA, LINUX_ACPI_SIZE, E820_RESERVED },
	{ 0x100000, 0x7f00000, E820_RAM },
	{ 0x100000000ull, 0x123456789ull, E820_ACPI },
};

/* What pvh_start_info() must write, from the structures above. */
static size_t expect_info(u8 *buf, const struct pvh_params *p)
{
	struct xen_start_info si = {
		.magic = 0x336ec578, .version = 1,
		.cmdline_paddr = p->cmdline_gpa, .rsdp_paddr = p->rsdp_gpa,
	};
	struct xen_modlist_entry mod = { p->initrd_gpa, p->initrd_size, 0, 0 };
	size_t at = sizeof(si);

	if (p->initrd_gpa) {
		si.nr_modules = 1;
		si.modlist_paddr = p->info_gpa + at;
		memcpy(buf + at, &mod, sizeof(mod));
		at += sizeof(mod);
	}
	if (p->nr_e820) {
		si.memmap_paddr = p->info_gpa + at;
		si.memmap_entries = p->nr_e820;
	}
	for (unsigned int i = 0; i < p->nr_e820; i++) {
		struct xen_memmap_entry e = { p->e820[i].addr, p->e820[i].size,
					      p->e820[i].type, 0 };

		memcpy(buf + at, &e, sizeof(e));
		at += sizeof(e);
	}
	memcpy(buf, &si, sizeof(si));
	return at;
}

/* Exactly the expected bytes, and nothing written past them. */
static const u8 *check_info(const struct pvh_params *p, size_t want_len)
{
	static u8 buf[512], want[512];
	int n;

	memset(buf, 0x5a, sizeof(buf));
	memset(want, 0x5a, sizeof(want));
	assert_int_equal(expect_info(want, p), want_len);
	n = pvh_start_info(buf, sizeof(buf), p);
	assert_int_equal(n, want_len);
	assert_memory_equal(buf, want, sizeof(buf));
	/* The exact size is enough. */
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(pvh_start_info(buf, want_len, p), want_len);
	assert_memory_equal(buf, want, sizeof(buf));
	return buf;
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

static void test_start_info(void **state)
{
	struct pvh_params p = {
		.info_gpa = INFO_GPA, .cmdline_gpa = LINUX_CMDLINE_GPA,
		.rsdp_gpa = LINUX_ACPI_GPA, .initrd_gpa = 0x7000000,
		.initrd_size = 0x14625a, .e820 = map, .nr_e820 = ARRAY_SIZE(map),
	};
	const u8 *b;

	(void)state;
	b = check_info(&p, 56 + 32 + 4 * 24);
	/* Spot checks by offset, against a mistake shared with the mirror. */
	assert_int_equal(get32(b), 0x336ec578);
	assert_int_equal(get32(b + 4), 1);
	assert_int_equal(get32(b + 12), 1);
	assert_int_equal(get64(b + 16), INFO_GPA + 56);
	assert_int_equal(get64(b + 24), LINUX_CMDLINE_GPA);
	assert_int_equal(get64(b + 32), LINUX_ACPI_GPA);
	assert_int_equal(get64(b + 40), INFO_GPA + 88);
	assert_int_equal(get32(b + 48), 4);
	assert_int_equal(get64(b + 56), 0x7000000);
	assert_int_equal(get64(b + 64), 0x14625a);
	assert_int_equal(get64(b + 88 + 3 * 24 + 8), 0x123456789ull);
	assert_int_equal(get32(b + 88 + 3 * 24 + 16), E820_ACPI);
	/* No initrd: no module, whatever initrd_size says; the map moves up. */
	p.initrd_gpa = 0;
	b = check_info(&p, 56 + 4 * 24);
	assert_int_equal(get32(b + 12), 0);
	assert_int_equal(get64(b + 16), 0);
	assert_int_equal(get64(b + 40), INFO_GPA + 56);
	assert_int_equal(get64(b + 56), 0);
	assert_int_equal(get32(b + 56 + 16), E820_RAM);
	/* No map, no command line: address 0 means absent. */
	p.nr_e820 = 0;
	p.cmdline_gpa = 0;
	b = check_info(&p, 56);
	assert_int_equal(get64(b + 40), 0);
	assert_int_equal(get32(b + 48), 0);
	/* High addresses pass through whole. */
	p = (struct pvh_params){
		.info_gpa = 0xfffff000ull, .cmdline_gpa = 0x123456789ull,
		.rsdp_gpa = 0xfedcba987654ull, .initrd_gpa = 0xabcdef000ull,
		.initrd_size = 0x100000010ull, .e820 = map, .nr_e820 = 1,
	};
	b = check_info(&p, 56 + 32 + 24);
	assert_int_equal(get64(b + 40), 0xfffff000ull + 88);
}

/* Too small by any amount, or a wrapping address: -HV_EINVAL, nothing written. */
static void test_start_info_small(void **state)
{
	static const struct e820_entry one_entry[1] = { { 0, 0x1000, E820_RAM } };
	struct pvh_params p = {
		.info_gpa = INFO_GPA, .initrd_gpa = 0x7000000, .initrd_size = 1,
		.e820 = map, .nr_e820 = ARRAY_SIZE(map),
	};
	const size_t need = 56 + 32 + 4 * 24;
	u8 *buf = malloc(need);

	(void)state;
	assert_non_null(buf);
	for (size_t size = 0; size < need; size++) {
		memset(buf, 0x5a, need);
		assert_int_equal(pvh_start_info(buf, size, &p), -HV_EINVAL);
		for (size_t i = 0; i < need; i++)
			assert_int_equal(buf[i], 0x5a);
	}
	assert_int_equal(pvh_start_info(NULL, 0, &p), -HV_EINVAL);
	assert_int_equal(pvh_start_info(buf, need, &p), (int)need);
	p.info_gpa = ~0ull - need + 1;
	memset(buf, 0x5a, need);
	assert_int_equal(pvh_start_info(buf, need, &p), -HV_EINVAL);
	assert_int_equal(buf[0], 0x5a);
	p.info_gpa = ~0ull - need;     /* ends at 2^64 - 1 exactly */
	assert_int_equal(pvh_start_info(buf, need, &p), (int)need);
	free(buf);
	/* More entries than an int can count bytes of: not read, not written. */
	p = (struct pvh_params){ .e820 = one_entry, .nr_e820 = 0x10000000 };
	assert_int_equal(pvh_start_info(NULL, ~(size_t)0, &p), -HV_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_entry_8_bytes),
		cmocka_unit_test(test_edges),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_note_alignment),
		cmocka_unit_test(test_bad_images),
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_many_segments),
		cmocka_unit_test(test_odd_calls),
		cmocka_unit_test(test_real_vmlinux),
		cmocka_unit_test(test_start_info),
		cmocka_unit_test(test_start_info_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
