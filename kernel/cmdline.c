/* The boot command line: words "key" or "key=value", separated by spaces. */
#include <lamina/kernel.h>
#include <lamina/errno.h>
#include <lamina/lib.h>
#include <lamina/uart.h>

/*
 * The last word "key" or "key=value" for @key in @line: a pointer to its
 * value (just past the '=', or just past the key for a bare "key", so
 * v[-1] == '=' tells the two apart) with its length in @vlen, or NULL.
 * Lamina's own command line and a Linux guest's both go through it.
 */
const char *cmdline_find(const char *line, const char *key, size_t *vlen)
{
	const char *p = line, *found = NULL;
	size_t klen = strlen(key);

	while (*p) {
		const char *w = p;
		size_t wlen = 0;

		while (w[wlen] && w[wlen] != ' ')
			wlen++;
		if (wlen >= klen && !strncmp(w, key, klen) &&
		    (wlen == klen || w[klen] == '=')) {
			found = wlen == klen ? w + klen : w + klen + 1;
			*vlen = wlen == klen ? 0 : wlen - klen - 1;
		}
		p = w + wlen;
		while (*p == ' ')
			p++;
	}
	return found;
}

/*
 * Value of the last "key=value" for @key ("" for a bare "key"), or NULL.
 * Returned in a static buffer: copy it before the next call.
 */
const char *cmdline_get(const char *key)
{
	static char val[BOOTINFO_CMDLINE_MAX];
	size_t vlen = 0;
	const char *found = cmdline_find(bootinfo.cmdline, key, &vlen);

	if (!found)
		return NULL;
	memcpy(val, found, vlen);
	val[vlen] = '\0';
	return val;
}

bool cmdline_u64(const char *key, u64 *out)
{
	const char *v = cmdline_get(key);

	return v && parse_u64(v, out) == 0;
}

/* console=: at most "uart,mmio,ADDR,BAUD,WIDTH". */
#define CONSOLE_FIELDS 5
#define CONSOLE_FIELD_MAX 24 /* "0x" and 16 digits, with room to spare */

/*
 * Split @s at commas into @f. Fails on too many fields or a field too long
 * to be a number, so that garbage is refused rather than cut short.
 */
static int console_split(const char *s, char f[][CONSOLE_FIELD_MAX],
			 unsigned int *n)
{
	unsigned int i = 0;
	size_t len = 0;

	for (;; s++) {
		if (*s == ',' || !*s) {
			f[i][len] = '\0';
			i++;
			len = 0;
			if (!*s)
				break;
			if (i == CONSOLE_FIELDS)
				return -HV_EINVAL;
			continue;
		}
		if (len + 1 >= CONSOLE_FIELD_MAX)
			return -HV_EINVAL;
		f[i][len++] = *s;
	}
	*n = i;
	return 0;
}

/* An empty field is the default; else a rate a 1.8432 MHz clock can give. */
static int console_baud(const char *f, u32 *baud, const char **why)
{
	u64 v;

	if (!*f) {
		*baud = UART_DEFAULT_BAUD;
		return 0;
	}
	if (parse_u64(f, &v) || v < UART_MIN_BAUD || v > UART_MAX_BAUD) {
		*why = "baud rate is not a number from 50 to 115200";
		return -HV_EINVAL;
	}
	*baud = (u32)v;
	return 0;
}

static int console_io(char f[][CONSOLE_FIELD_MAX], unsigned int n,
		      struct uart_desc *d, const char **why)
{
	u64 port;

	if (n > 4) {
		*why = "too many fields for an I/O UART (uart,io,PORT[,BAUD])";
		return -HV_EINVAL;
	}
	/* Port 0 is "no UART" to the driver; 8 registers must fit below 64K. */
	if (parse_u64(f[2], &port) || !port || port > 0xfff8) {
		*why = "I/O port is not a number from 1 to 0xfff8";
		return -HV_EINVAL;
	}
	d->space = UART_SPACE_IO;
	d->base = port;
	d->reg_shift = 0;
	d->reg_width = 8;
	return console_baud(n > 3 ? f[3] : "", &d->baud, why);
}

static int console_mmio(char f[][CONSOLE_FIELD_MAX], unsigned int n,
			struct uart_desc *d, const char **why)
{
	u64 addr, width = 8;
	int err;

	if (n > 5) {
		*why = "too many fields (uart,mmio,ADDR[,BAUD][,WIDTH])";
		return -HV_EINVAL;
	}
	if (n > 4 && (parse_u64(f[4], &width) || (width != 8 && width != 32))) {
		*why = "register width is not 8 or 32";
		return -HV_EINVAL;
	}
	/* Register n at base + n * stride, 8 registers, naturally aligned. */
	if (parse_u64(f[2], &addr) || !addr || addr & (width / 8 - 1) ||
	    addr > ~0ull - 8 * (width / 8)) {
		*why = "MMIO address is not a nonzero aligned number";
		return -HV_EINVAL;
	}
	err = console_baud(n > 3 ? f[3] : "", &d->baud, why);
	if (err)
		return err;
	d->space = UART_SPACE_MMIO;
	d->base = addr;
	d->reg_width = (u8)width;
	d->reg_shift = width == 32 ? 2 : 0;
	return 0;
}

int console_arg_parse(const char *s, struct uart_desc *d, const char **why)
{
	char f[CONSOLE_FIELDS][CONSOLE_FIELD_MAX];
	unsigned int n;
	u64 com;

	*why = "";
	if (console_split(s, f, &n)) {
		*why = "too many or too long comma-separated fields";
		return -HV_EINVAL;
	}
	if ((!strcmp(f[0], "com1") || !strcmp(f[0], "com2")) && n <= 2) {
		com = f[0][3] == '1' ? COM1_PORT : COM2_PORT;
		*d = (struct uart_desc){ .space = UART_SPACE_IO, .base = com,
					 .reg_width = 8 };
		return console_baud(n > 1 ? f[1] : "", &d->baud, why);
	}
	if (strcmp(f[0], "uart") || n < 3) {
		*why = "expected com1, com2, uart,io,PORT or uart,mmio,ADDR";
		return -HV_EINVAL;
	}
	if (!strcmp(f[1], "io"))
		return console_io(f, n, d, why);
	if (!strcmp(f[1], "mmio"))
		return console_mmio(f, n, d, why);
	*why = "UART access is neither io nor mmio";
	return -HV_EINVAL;
}
