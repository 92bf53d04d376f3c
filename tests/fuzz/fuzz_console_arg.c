/*
 * libFuzzer target for the console= parser (kernel/cmdline.c): any string.
 * An accepted value must describe a UART the driver can program: a port
 * with all 8 registers below 64K, or an aligned MMIO base whose registers
 * do not wrap, a known width and stride, and a baud the divisor can hold.
 * A refused one must say why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/kernel.h>
#include <lamina/uart.h>

struct bootinfo bootinfo; /* cmdline.c's cmdline_get() reads it */

static void check(const struct uart_desc *d)
{
	u64 stride = 1ull << d->reg_shift;

	if (d->baud < UART_MIN_BAUD || d->baud > UART_MAX_BAUD ||
	    UART_MAX_BAUD / d->baud > 0xffff)
		abort();
	if (d->space == UART_SPACE_IO) {
		if (!d->base || d->base > 0xfff8 || d->reg_shift ||
		    d->reg_width != 8)
			abort();
		return;
	}
	if (d->space != UART_SPACE_MMIO || !d->base ||
	    (d->reg_width != 8 && d->reg_width != 32) ||
	    stride != d->reg_width / 8u || d->base & (stride - 1) ||
	    d->base + 8 * stride < d->base)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct uart_desc d;
	const char *why = NULL;

	memcpy(s, data, size);
	s[size] = '\0';
	if (!console_arg_parse(s, &d, &why))
		check(&d);
	else if (!why || !why[0])
		abort();
	free(s);
	return 0;
}
