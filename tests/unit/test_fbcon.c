/*
 * Unit tests for the framebuffer console (drivers/fbcon.c): it draws into a
 * buffer here, and each test reads the text back by matching every 8x16
 * cell against the font, and checks single pixels where the format matters.
 * fbcon keeps one state: test_early_text_replayed must run first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/fbcon.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>

/* ------------------------------------------------------------ fakes */

struct bootinfo bootinfo;
static const char *fake_fb_arg; /* what cmdline_get("fb") returns */
static bool fake_mapped = true;
static char logs[1024]; /* everything fbcon logged since the last clear */

const char *cmdline_get(const char *key)
{
	return strcmp(key, "fb") ? NULL : fake_fb_arg;
}

bool phys_mapped(u64 phys, u64 len)
{
	(void)phys;
	(void)len;
	return fake_mapped;
}

void printk(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	vsnprintf(logs + strlen(logs), sizeof(logs) - strlen(logs), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ a screen */

#define PAD 16		/* bytes past each line that fbcon must never touch */
#define CANARY 0xa5

static u8 pixels[640 * 480 * 4 + 480 * PAD] __aligned(64);

struct screen {
	struct boot_fb fb;
	u32 bytespp;
};

/* A w x h framebuffer of @bpp in @pixels, canaries everywhere. */
static struct screen make_screen(u32 w, u32 h, u8 bpp)
{
	struct screen s = { .fb = { .width = w, .height = h, .bpp = bpp,
				    .type = MB2_FB_RGB } };

	s.bytespp = (bpp + 7u) / 8u;
	s.fb.pitch = w * s.bytespp + PAD;
	s.fb.addr = (u64)(uintptr_t)pixels;
	if (bpp >= 24) { /* 8:8:8, red on top */
		s.fb.red_pos = 16, s.fb.red_size = 8;
		s.fb.green_pos = 8, s.fb.green_size = 8;
		s.fb.blue_pos = 0, s.fb.blue_size = 8;
	} else { /* 5:6:5 */
		s.fb.red_pos = 11, s.fb.red_size = 5;
		s.fb.green_pos = 5, s.fb.green_size = 6;
		s.fb.blue_pos = 0, s.fb.blue_size = 5;
	}
	assert_true(s.fb.pitch * h <= sizeof(pixels));
	memset(pixels, CANARY, sizeof(pixels));
	return s;
}

static void attach(const struct screen *s)
{
	const char *why = NULL;

	assert_int_equal(fbcon_attach(&s->fb, pixels, &why), 0);
}

static u32 pixel_at(const struct screen *s, u32 x, u32 y)
{
	const u8 *p = pixels + (u64)y * s->fb.pitch + (u64)x * s->bytespp;
	u32 v = 0;

	memcpy(&v, p, s->bytespp);
	return v;
}

/* The character cell (row, col) shows, by its lit pixels; '?' if none. */
static char cell_char(const struct screen *s, u32 row, u32 col)
{
	u8 rows[FBCON_CELL_H] = { 0 };

	for (u32 y = 0; y < FBCON_CELL_H; y++)
		for (u32 x = 0; x < FBCON_CELL_W; x++)
			if (pixel_at(s, col * 8 + x, row * 16 + y))
				rows[y] |= 0x80 >> x;
	for (int g = 0; g < FBCON_GLYPHS; g++)
		if (!memcmp(rows, fbcon_font[g], sizeof(rows)))
			return g == FBCON_BOX ? '#' : (char)(FBCON_FIRST + g);
	return '?';
}

/* Row @row as text, trailing blanks dropped. */
static const char *row_text(const struct screen *s, u32 row)
{
	static char line[FBCON_MAX_COLS + 1];
	u32 cols = s->fb.width / 8, n = 0;

	for (u32 c = 0; c < cols; c++)
		line[c] = cell_char(s, row, c);
	line[cols] = '\0';
	for (n = cols; n && line[n - 1] == ' '; n--)
		line[n - 1] = '\0';
	return line;
}

static void put(const char *text)
{
	fbcon_write(text, strlen(text), FBCON_NORMAL);
}

static void assert_rows(const struct screen *s, const char *const *want,
			u32 n)
{
	for (u32 r = 0; r < n; r++)
		assert_string_equal(row_text(s, r), want[r]);
}

/* Padding bytes past each line are never written. */
static void assert_padding_untouched(const struct screen *s)
{
	for (u32 y = 0; y < s->fb.height; y++)
		for (u32 i = s->fb.width * s->bytespp; i < s->fb.pitch; i++)
			assert_int_equal(pixels[y * s->fb.pitch + i], CANARY);
}

/* ------------------------------------------------------------ tests */

/* Every pixel of a drawn cell: font bit set = colour, clear = black. */
static void assert_glyph(const struct screen *s, u32 row, u32 col, char ch,
			 u32 fg)
{
	const u8 *g = fbcon_font[ch - FBCON_FIRST];

	for (u32 y = 0; y < FBCON_CELL_H; y++)
		for (u32 x = 0; x < FBCON_CELL_W; x++)
			assert_int_equal(pixel_at(s, col * 8 + x, row * 16 + y),
					 (g[y] & (0x80 >> x)) ? fg : 0);
}

static void test_early_text_replayed(void **state)
{
	struct screen s = make_screen(64, 48, 32); /* 8 x 3: jumps of 1 */
	const char *want[] = { "Lamina", "warn", "" };

	(void)state;
	put("\r\nLamina\r\n"); /* before any framebuffer is known */
	fbcon_write("warn\n", 5, FBCON_WARN);
	attach(&s);
	/* "", "Lamina", "warn", then the last LF scrolled by one row */
	assert_rows(&s, want, 3);
	assert_glyph(&s, 1, 0, 'w', 0xffff40); /* yellow */
}

static void test_glyphs_32bpp(void **state)
{
	struct screen s = make_screen(640, 480, 32);

	(void)state;
	attach(&s);
	/* The whole screen is black once attached, margins included. */
	for (u32 y = 0; y < 480; y++)
		for (u32 x = 0; x < 640; x++)
			assert_int_equal(pixel_at(&s, x, y), 0);
	put("Hi!");
	fbcon_write(" E", 2, FBCON_ERROR);
	assert_glyph(&s, 0, 0, 'H', 0xffffff);
	assert_glyph(&s, 0, 1, 'i', 0xffffff);
	assert_glyph(&s, 0, 2, '!', 0xffffff);
	assert_glyph(&s, 0, 4, 'E', 0xff5050);
	assert_string_equal(row_text(&s, 0), "Hi! E");
	assert_padding_untouched(&s);
}

static void test_glyphs_bgr_24bpp(void **state)
{
	struct screen s = make_screen(80, 32, 24);

	(void)state;
	s.fb.red_pos = 0; /* blue on top */
	s.fb.blue_pos = 16;
	attach(&s);
	fbcon_write("Q", 1, FBCON_ERROR);
	assert_glyph(&s, 0, 0, 'Q', 0x5050ff);
	assert_string_equal(row_text(&s, 0), "Q");
	assert_padding_untouched(&s);
}

static void test_glyphs_16bpp(void **state)
{
	struct screen s = make_screen(160, 64, 16);

	(void)state;
	attach(&s);
	put("ok");
	fbcon_write("x", 1, FBCON_ERROR);
	assert_glyph(&s, 0, 0, 'o', 0xffff);
	assert_glyph(&s, 0, 1, 'k', 0xffff);
	/* 0xff >> 3 = 31 red, 0x50 >> 2 = 20 green, 0x50 >> 3 = 10 blue */
	assert_glyph(&s, 0, 2, 'x', (31u << 11) | (20u << 5) | 10u);
	assert_padding_untouched(&s);
}

static void test_glyphs_15bpp(void **state)
{
	struct screen s = make_screen(32, 16, 15);

	(void)state;
	s.fb.red_pos = 10, s.fb.green_pos = 5, s.fb.green_size = 5;
	attach(&s);
	put("w");
	assert_glyph(&s, 0, 0, 'w', 0x7fff);
}

static void test_wrap_and_newline(void **state)
{
	struct screen s = make_screen(64, 96, 32); /* 8 x 6 */
	const char *want[] = { "ABCDEFGH", "IJ", "12345678", "next", "" };

	(void)state;
	attach(&s);
	put("ABCDEFGHIJ\r\n");
	put("12345678\r\n"); /* exactly a row: no empty row after it */
	put("next");
	assert_rows(&s, want, 5);
	assert_padding_untouched(&s);
}

static void test_scroll_by_a_quarter(void **state)
{
	struct screen s = make_screen(64, 128, 32); /* 8 x 8: jumps of 2 */
	const char *after[] = { "2", "3", "4", "5", "6", "7", "8", "" };
	char line[3] = "0\n";

	(void)state;
	attach(&s);
	for (int i = 0; i < 8; i++, line[0]++)
		put(line);
	/* Row 8 did not fit: rows 0 and 1 went, two blank rows came. */
	for (int r = 0; r < 6; r++)
		assert_int_equal(row_text(&s, r)[0], '2' + r);
	assert_string_equal(row_text(&s, 6), "");
	put("8");
	assert_rows(&s, after, 8);
}

/* A scroll redraws only cells whose content changes: the pixels of the
 * others are neither read nor rewritten, so a mark put there stays. */
static void test_scroll_draws_only_changes(void **state)
{
	struct screen s = make_screen(64, 64, 32); /* 8 x 4: jumps of 1 */
	u32 *same_x = (u32 *)(pixels + 16 * s.fb.pitch);	/* row 1, col 0 */
	u32 *blank = (u32 *)(pixels + 5 * 8 * 4);		/* row 0, col 5 */

	(void)state;
	attach(&s);
	put("x\nx\nx\nx");
	*same_x = 0x123456;
	*blank = 0x654321;
	put("\n"); /* rows 1-3 move up: "x", "x", "x", "" */
	assert_int_equal(*same_x, 0x123456);
	assert_int_equal(*blank, 0x654321);
	assert_string_equal(row_text(&s, 3), "");
	assert_string_equal(row_text(&s, 2), "x");
}

static void test_long_line(void **state)
{
	struct screen s = make_screen(64, 64, 32); /* 8 x 4: jumps of 1 */
	const char *want[] = { "uvwxyzab", "cdefghij", "klmnopqr", "stuv" };
	char text[101];

	(void)state;
	attach(&s);
	for (int i = 0; i < 100; i++)
		text[i] = (char)('a' + i % 26);
	text[100] = '\0';
	put(text); /* 12 rows and 4 characters: the last 4 rows show */
	assert_rows(&s, want, 4);
	put("\n");
	assert_string_equal(row_text(&s, 2), "stuv");
	assert_string_equal(row_text(&s, 3), "");
}

static void test_controls(void **state)
{
	struct screen s = make_screen(128, 64, 32); /* 16 x 4 */
	const char *want[] = { "aXc", "q", "        x", "#~" };

	(void)state;
	attach(&s);
	put("abc\b\bX\r\n");		/* backspace */
	put("prompt> typed\r\x1b[Kq\n"); /* erase to end of line */
	put("\tx\x1b[1\n");		/* tab: to column 8; a cut sequence */
	put("\x80~\x07");		/* no glyph: a box; BEL: nothing */
	assert_rows(&s, want, 4);
}

struct bad_fb {
	const char *what;
	void (*spoil)(struct screen *s);
};

static void zero_width(struct screen *s) { s->fb.width = 0; }
static void zero_height(struct screen *s) { s->fb.height = 0; }
static void bpp_8(struct screen *s) { s->fb.bpp = 8; }
static void indexed(struct screen *s) { s->fb.type = MB2_FB_INDEXED; }
static void ega_text(struct screen *s) { s->fb.type = MB2_FB_EGA_TEXT; }
static void short_pitch(struct screen *s) { s->fb.pitch = s->fb.width * 4 - 1; }
static void odd_pitch(struct screen *s) { s->fb.pitch = s->fb.width * 4 + 2; }
static void huge(struct screen *s) { s->fb.width = 100000; }
static void tiny(struct screen *s) { s->fb.width = 7; s->fb.pitch = 28; }
static void no_addr(struct screen *s) { s->fb.addr = 0; }
static void wraps(struct screen *s) { s->fb.addr = ~0ull - 4096; }
static void field_out(struct screen *s) { s->fb.red_pos = 30; }
static void field_empty(struct screen *s) { s->fb.green_size = 0; }

static void test_bogus_refused(void **state)
{
	static const struct bad_fb bad[] = {
		{ "zero width", zero_width }, { "zero height", zero_height },
		{ "8 bpp", bpp_8 }, { "indexed", indexed },
		{ "EGA text", ega_text }, { "short pitch", short_pitch },
		{ "misaligned pitch", odd_pitch }, { "too wide", huge },
		{ "under a cell", tiny }, { "address 0", no_addr },
		{ "wraps", wraps }, { "field outside", field_out },
		{ "empty field", field_empty },
	};
	u32 cols, rows;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct screen s = make_screen(64, 32, 32);
		const char *why = NULL;

		bad[i].spoil(&s);
		print_message("%s\n", bad[i].what);
		assert_int_equal(fbcon_attach(&s.fb, pixels, &why), -HV_EINVAL);
		assert_non_null(why);
		fbcon_size(&cols, &rows);
		assert_int_equal(cols, 0);
		put("nothing drawn");
		assert_int_equal(pixels[0], CANARY);
	}
}

static void test_null_and_misaligned_pixels(void **state)
{
	struct screen s = make_screen(64, 32, 32);
	const char *why = NULL;

	(void)state;
	assert_int_equal(fbcon_attach(&s.fb, NULL, &why), -HV_EINVAL);
	assert_int_equal(fbcon_attach(&s.fb, pixels + 2, &why), -HV_EINVAL);
	assert_string_equal(why, "address or pitch not aligned to the pixel size");
}

static void test_big_screen_capped(void **state)
{
	struct screen s = make_screen(640, 480, 32);
	u32 cols, rows;

	(void)state;
	s.fb.width = 8 * (FBCON_MAX_COLS + 10); /* the pitch check alone */
	s.fb.pitch = s.fb.width * 4;
	s.fb.height = 2 * FBCON_CELL_H;
	attach(&s);
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, FBCON_MAX_COLS);
	assert_int_equal(rows, 2);
}

static void test_init_from_bootinfo(void **state)
{
	struct screen s = make_screen(64, 32, 32);
	u32 cols, rows;

	(void)state;
	bootinfo.fb = s.fb;
	bootinfo.has_fb = true;
	fake_fb_arg = "off";
	logs[0] = '\0';
	fbcon_init();
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, 0);
	assert_string_equal(logs, "fbcon: screen not used (fb=off)\n");

	fake_fb_arg = NULL;
	fake_mapped = false;
	fbcon_init();
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, 0);
	assert_non_null(strstr(logs, "above 4 GiB"));

	fake_mapped = true;
	bootinfo.nr_mmap = 1; /* usable RAM across the framebuffer's end */
	bootinfo.mmap[0] = (struct mem_range){ .base = s.fb.addr + 4096,
					       .len = 1 << 20,
					       .type = MEM_USABLE };
	fbcon_init();
	assert_non_null(strstr(logs, "overlaps usable RAM"));
	bootinfo.mmap[0].type = MEM_RESERVED;

	bootinfo.has_fb = false;
	fbcon_init();
	assert_non_null(strstr(logs, "no usable RGB framebuffer"));

	bootinfo.has_fb = true;
	fake_fb_arg = "of"; /* a typo: said, and the screen used */
	logs[0] = '\0';
	fbcon_init();
	assert_non_null(strstr(logs, "fb=of not understood"));
	assert_non_null(strstr(logs, "64x32, 32 bpp at 0x"));
	fbcon_size(&cols, &rows);
	assert_int_equal(cols, 8);
	assert_int_equal(rows, 2);
	put("up");
	assert_string_equal(row_text(&s, 0), "up");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_early_text_replayed), /* first: fresh state */
		cmocka_unit_test(test_glyphs_32bpp),
		cmocka_unit_test(test_glyphs_bgr_24bpp),
		cmocka_unit_test(test_glyphs_16bpp),
		cmocka_unit_test(test_glyphs_15bpp),
		cmocka_unit_test(test_wrap_and_newline),
		cmocka_unit_test(test_scroll_by_a_quarter),
		cmocka_unit_test(test_scroll_draws_only_changes),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_controls),
		cmocka_unit_test(test_bogus_refused),
		cmocka_unit_test(test_null_and_misaligned_pixels),
		cmocka_unit_test(test_big_screen_capped),
		cmocka_unit_test(test_init_from_bootinfo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
