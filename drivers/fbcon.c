/*
 * The framebuffer console (include/lamina/fbcon.h, docs/screen.md).
 *
 * The shadow buffer holds what each character cell shows; a cell is drawn
 * only when it changes, so scrolling by a quarter screen redraws only the
 * cells whose character differs from the one the line above it held.
 */
#define pr_fmt(fmt) "fbcon: " fmt

#include <lamina/errno.h>
#include <lamina/fbcon.h>
#include <lamina/kernel.h>
#include <lamina/lib.h>
#include <lamina/printk.h>

#define TAB 8
#define ESC 0x1b

struct cell {
	u8 ch;
	u8 colour; /* enum fbcon_colour; 0 for a blank */
};

enum fbcon_state { FB_EARLY, FB_ON, FB_OFF };
enum esc_state { ESC_NONE, ESC_SEEN, ESC_CSI };

struct fbcon {
	enum fbcon_state state;
	u8 *base;
	u32 pitch, bytespp, width, height;
	u32 cols, rows, col, row;
	u32 pixel[FBCON_NR_COLOURS];
	enum esc_state esc;
};

static const u8 rgb[FBCON_NR_COLOURS][3] = {
	[FBCON_NORMAL] = { 0xff, 0xff, 0xff },
	[FBCON_WARN] = { 0xff, 0xff, 0x40 },
	[FBCON_ERROR] = { 0xff, 0x50, 0x50 },
};

static struct fbcon con; /* FB_EARLY until fbcon_init() decides */
static struct cell shadow[FBCON_MAX_ROWS * FBCON_MAX_COLS];
static struct cell early[FBCON_EARLY_MAX];
static u32 nr_early;

/* ------------------------------------------------------------ pixels */

static u32 channel(u8 v, u8 pos, u8 size)
{
	return (u32)(v >> (8 - size)) << pos;
}

static u32 pixel_value(const struct boot_fb *fb, const u8 c[3])
{
	return channel(c[0], fb->red_pos, fb->red_size) |
	       channel(c[1], fb->green_pos, fb->green_size) |
	       channel(c[2], fb->blue_pos, fb->blue_size);
}

static void put_pixel(u8 *p, u32 bytespp, u32 v)
{
	switch (bytespp) {
	case 4:
		*(volatile u32 *)p = v;
		break;
	case 3:
		p[0] = (u8)v;
		p[1] = (u8)(v >> 8);
		p[2] = (u8)(v >> 16);
		break;
	default:
		*(volatile u16 *)p = (u16)v;
		break;
	}
}

/* One row of a glyph: 8 pixels, set bits in @fg, the others black. */
static void draw_bits(u8 *p, u8 bits, u32 fg)
{
	for (u32 x = 0; x < FBCON_CELL_W; x++, p += con.bytespp)
		put_pixel(p, con.bytespp, (bits & (0x80 >> x)) ? fg : 0);
}

static const u8 *glyph(u8 ch)
{
	if (ch < FBCON_FIRST || ch > FBCON_LAST)
		return fbcon_font[FBCON_BOX];
	return fbcon_font[ch - FBCON_FIRST];
}

static void draw_cell(u32 row, u32 col)
{
	const struct cell *c = &shadow[row * con.cols + col];
	const u8 *g = glyph(c->ch);
	u32 fg = con.pixel[c->colour];
	u8 *p = con.base + (u64)row * FBCON_CELL_H * con.pitch +
		(u64)col * FBCON_CELL_W * con.bytespp;

	for (u32 y = 0; y < FBCON_CELL_H; y++, p += con.pitch)
		draw_bits(p, g[y], fg);
}

/* Every pixel black, margins included: whatever the loader drew goes. */
static void clear_screen(void)
{
	for (u32 y = 0; y < con.height; y++) {
		u8 *p = con.base + (u64)y * con.pitch;

		for (u32 x = 0; x < con.width; x++, p += con.bytespp)
			put_pixel(p, con.bytespp, 0);
	}
}

/* ------------------------------------------------------------ cells */

static struct cell make_cell(u8 ch, enum fbcon_colour colour)
{
	return (struct cell){ .ch = ch, .colour = ch == ' ' ? 0 : colour };
}

static bool same_cell(struct cell a, struct cell b)
{
	return a.ch == b.ch && a.colour == b.colour;
}

static void set_cell(u32 row, u32 col, struct cell c)
{
	struct cell *s = &shadow[row * con.cols + col];

	if (same_cell(*s, c))
		return;
	*s = c;
	draw_cell(row, col);
}

/*
 * Move everything up by a quarter of the screen, top row first: row r takes
 * row r + jump's cell before that row is itself overwritten.
 */
static void scroll(void)
{
	u32 jump = MAX(con.rows / 4, 1u), keep = con.rows - jump;
	struct cell blank = make_cell(' ', FBCON_NORMAL);

	for (u32 r = 0; r < con.rows; r++)
		for (u32 c = 0; c < con.cols; c++)
			set_cell(r, c, r < keep ? shadow[(r + jump) * con.cols + c] :
						  blank);
	con.row = keep;
}

static void newline(void)
{
	con.col = 0;
	if (++con.row == con.rows)
		scroll();
}

static void clear_to_eol(void)
{
	for (u32 c = con.col; c < con.cols; c++)
		set_cell(con.row, c, make_cell(' ', FBCON_NORMAL));
}

static void put_char(u8 ch, enum fbcon_colour colour)
{
	if (con.col == con.cols) /* wrap only when a character follows */
		newline();
	set_cell(con.row, con.col++, make_cell(ch, colour));
}

/*
 * ESC [ params final: only "erase to end of line" (K) means anything here.
 * A control character ends a broken sequence and acts as usual.
 */
static bool escape(u8 ch)
{
	if (con.esc != ESC_NONE && ch < FBCON_FIRST && ch != ESC)
		con.esc = ESC_NONE;
	if (con.esc == ESC_NONE && ch != ESC)
		return false;
	if (con.esc == ESC_NONE)
		con.esc = ESC_SEEN;
	else if (con.esc == ESC_SEEN)
		con.esc = ch == '[' ? ESC_CSI : ESC_NONE;
	else if (ch >= 0x40 && ch <= 0x7e) {
		con.esc = ESC_NONE;
		if (ch == 'K')
			clear_to_eol();
	}
	return true;
}

static void put_byte(u8 ch, enum fbcon_colour colour)
{
	if (escape(ch))
		return;
	switch (ch) {
	case '\r':
		con.col = 0;
		break;
	case '\n':
		newline();
		break;
	case '\b':
		con.col -= con.col > 0;
		break;
	case '\t':
		do
			put_char(' ', colour);
		while (con.col % TAB && con.col < con.cols);
		break;
	default:
		if (ch >= FBCON_FIRST && ch != 0x7f)
			put_char(ch, colour);
		break;
	}
}

/* ------------------------------------------------------------ interface */

static void keep_early(const char *s, size_t n, enum fbcon_colour colour)
{
	for (size_t i = 0; i < n && nr_early < FBCON_EARLY_MAX; i++)
		early[nr_early++] = (struct cell){ .ch = (u8)s[i],
						   .colour = colour };
}

void fbcon_write(const char *s, size_t n, enum fbcon_colour colour)
{
	if (colour >= FBCON_NR_COLOURS)
		colour = FBCON_NORMAL;
	if (con.state == FB_EARLY) {
		keep_early(s, n, colour);
		return;
	}
	if (con.state != FB_ON)
		return;
	for (size_t i = 0; i < n; i++)
		put_byte((u8)s[i], colour);
}

static int fb_geometry(const struct boot_fb *fb, void *pixels,
		       const char **why)
{
	u32 bpp = boot_fb_bytespp(fb);

	*why = boot_fb_check(fb);
	if (!*why && !pixels)
		*why = "no pixel memory";
	if (!*why && bpp != 3 &&
	    ((uintptr_t)pixels % bpp || fb->pitch % bpp))
		*why = "address or pitch not aligned to the pixel size";
	if (!*why && (fb->width < FBCON_CELL_W || fb->height < FBCON_CELL_H))
		*why = "smaller than one character";
	if (*why)
		return -HV_EINVAL;
	con.base = pixels;
	con.pitch = fb->pitch;
	con.bytespp = bpp;
	con.width = fb->width;
	con.height = fb->height;
	con.cols = MIN(fb->width / FBCON_CELL_W, (u32)FBCON_MAX_COLS);
	con.rows = MIN(fb->height / FBCON_CELL_H, (u32)FBCON_MAX_ROWS);
	return 0;
}

int fbcon_attach(const struct boot_fb *fb, void *pixels, const char **why)
{
	bool replay = con.state == FB_EARLY;
	int err;

	con.state = FB_OFF;
	err = fb_geometry(fb, pixels, why);
	if (err) {
		nr_early = 0;
		return err;
	}
	for (int i = 0; i < FBCON_NR_COLOURS; i++)
		con.pixel[i] = pixel_value(fb, rgb[i]);
	con.col = con.row = 0;
	con.esc = ESC_NONE;
	for (u32 i = 0; i < con.rows * con.cols; i++)
		shadow[i] = make_cell(' ', FBCON_NORMAL);
	clear_screen();
	con.state = FB_ON;
	for (u32 i = 0; replay && i < nr_early; i++)
		put_byte(early[i].ch, early[i].colour);
	nr_early = 0;
	return 0;
}

void fbcon_off(void)
{
	con.state = FB_OFF;
	nr_early = 0;
}

void fbcon_size(u32 *cols, u32 *rows)
{
	bool on = con.state == FB_ON;

	*cols = on ? con.cols : 0;
	*rows = on ? con.rows : 0;
}

/* ------------------------------------------------------------ kernel */

/* Would drawing overwrite RAM the page allocator hands out? */
static bool fb_in_usable_ram(u64 base, u64 len)
{
	for (unsigned int i = 0; i < bootinfo.nr_mmap; i++) {
		const struct mem_range *r = &bootinfo.mmap[i];

		if (r->type == MEM_USABLE && r->base < base + len &&
		    base < r->base + r->len)
			return true;
	}
	return false;
}

/* Why the loader's framebuffer cannot be drawn on, or NULL. */
static const char *fb_unreachable(const struct boot_fb *fb, u64 bytes)
{
	/* 0-4 GiB is mapped from the first instruction (boot/entry.asm) on. */
	if (!phys_mapped(fb->addr, bytes))
		return "is above 4 GiB, which Lamina does not map";
	if (fb_in_usable_ram(fb->addr, bytes))
		return "overlaps usable RAM in the memory map";
	return NULL;
}

/* fb=off on the command line. */
static bool fb_switched_off(void)
{
	const char *v = cmdline_get("fb");

	if (v && strcmp(v, "off"))
		pr_warn("fb=%s not understood (only fb=off is); screen used\n",
			v);
	return v && !strcmp(v, "off");
}

void fbcon_init(void)
{
	const struct boot_fb *fb = &bootinfo.fb;
	u64 bytes = (u64)fb->pitch * fb->height;
	const char *why = NULL;

	if (fb_switched_off() || !bootinfo.has_fb) {
		fbcon_off();
		pr_info("screen not used (%s)\n", bootinfo.has_fb ? "fb=off" :
			"the loader gave no usable RGB framebuffer");
		return;
	}
	why = fb_unreachable(fb, bytes);
	if (why) {
		fbcon_off();
		pr_warn("framebuffer at 0x%llx (%llu KiB) %s; screen not used\n",
			(unsigned long long)fb->addr,
			(unsigned long long)(bytes >> 10), why);
		return;
	}
	if (fbcon_attach(fb, (void *)(uintptr_t)fb->addr, &why)) {
		pr_warn("framebuffer not used: %s\n", why);
		return;
	}
	pr_info("%ux%u, %u bpp at 0x%llx, pitch %u: %ux%u characters\n",
		fb->width, fb->height, fb->bpp, (unsigned long long)fb->addr,
		fb->pitch, con.cols, con.rows);
}
