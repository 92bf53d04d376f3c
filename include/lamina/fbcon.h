/*
 * The framebuffer console: what reaches the serial console is also drawn,
 * as text, on the framebuffer the loader set up (multiboot2 tag 8), so that
 * someone without a serial cable sees why a boot stopped (docs/screen.md).
 *
 * Text goes into a shadow buffer of character cells and each changed cell is
 * drawn from the font; the framebuffer is only ever written, never read
 * (uncached video memory is slow to read on real hardware). A full screen
 * scrolls by a quarter at a time. Callers serialise: kernel/printk.c calls
 * fbcon_write() under the log's lock.
 */
#ifndef LAMINA_FBCON_H
#define LAMINA_FBCON_H

#include <lamina/bootinfo.h>

#define FBCON_CELL_W 8
#define FBCON_CELL_H 16
#define FBCON_FIRST 0x20 /* the font holds ' '..'~' */
#define FBCON_LAST 0x7e
#define FBCON_BOX (FBCON_LAST - FBCON_FIRST + 1) /* drawn for any other byte */
#define FBCON_GLYPHS (FBCON_BOX + 1)

/* The text area's limit: a 3840x2160 screen. A larger one uses its top left. */
#define FBCON_MAX_COLS 480
#define FBCON_MAX_ROWS 135

/* Output before fbcon_init() is kept (this much) and drawn once it runs. */
#define FBCON_EARLY_MAX 2048

/*
 * One bit per pixel, bit 7 leftmost, generated at build time from GRUB's
 * ascii.pf2 by tools/mkfont.py (build/gen/font8x16.c).
 */
extern const u8 fbcon_font[FBCON_GLYPHS][FBCON_CELL_H];

enum fbcon_colour {
	FBCON_NORMAL,	/* white: info lines, the banner, the monitor */
	FBCON_WARN,	/* yellow: pr_warn */
	FBCON_ERROR,	/* red: pr_err, a panic */
	FBCON_NR_COLOURS,
};

/*
 * Kernel: draw on the loader's framebuffer from now on, unless there is
 * none, it is unusable or unmapped, or the command line says fb=off; says
 * which on the log. Call once, right after the boot information is parsed.
 */
void fbcon_init(void);

/*
 * Draw on @fb, whose pixels are at @pixels: clears the screen and draws
 * what was written before. Returns 0, or -HV_EINVAL (with *@why set) for a
 * framebuffer boot_fb_check() refuses or one not aligned to its pixels.
 */
int fbcon_attach(const struct boot_fb *fb, void *pixels, const char **why);

/* Stop drawing and forget what was kept: the screen is not used. */
void fbcon_off(void);

/* @n bytes of console output in @colour. CR, LF, BS, TAB and ESC [ K act. */
void fbcon_write(const char *s, size_t n, enum fbcon_colour colour);

/* Text area in characters (0 x 0 while not drawing). */
void fbcon_size(u32 *cols, u32 *rows);

#endif
