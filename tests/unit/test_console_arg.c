/*
 * Unit tests for the console= parser (kernel/cmdline.c) and for cmdline_get
 * finding it among other words.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/kernel.h>
#include <lamina/uart.h>

struct bootinfo bootinfo; /* cmdline_get() reads the command line here */

struct console_case {
	const char *in;
	int err;
	enum uart_space space;
	u64 base;
	u8 shift, width;
	u32 baud;
};

static const struct console_case cases[] = {
	{ "com1", 0, UART_SPACE_IO, 0x3f8, 0, 8, 115200 },
	{ "com2", 0, UART_SPACE_IO, 0x2f8, 0, 8, 115200 },
	{ "com2,9600", 0, UART_SPACE_IO, 0x2f8, 0, 8, 9600 },
	{ "uart,io,0x2f8", 0, UART_SPACE_IO, 0x2f8, 0, 8, 115200 },
	{ "uart,io,0x2f8,115200", 0, UART_SPACE_IO, 0x2f8, 0, 8, 115200 },
	{ "uart,io,760,57600", 0, UART_SPACE_IO, 760, 0, 8, 57600 },
	{ "uart,io,0xfff8", 0, UART_SPACE_IO, 0xfff8, 0, 8, 115200 },
	{ "uart,mmio,0xfe032000", 0, UART_SPACE_MMIO, 0xfe032000, 0, 8, 115200 },
	{ "uart,mmio,0xfe032000,115200", 0, UART_SPACE_MMIO, 0xfe032000, 0, 8,
	  115200 },
	{ "uart,mmio,0xfe032000,115200,32", 0, UART_SPACE_MMIO, 0xfe032000, 2,
	  32, 115200 },
	{ "uart,mmio,0xfe032000,,32", 0, UART_SPACE_MMIO, 0xfe032000, 2, 32,
	  115200 },
	{ "uart,mmio,0xfe032001,,8", 0, UART_SPACE_MMIO, 0xfe032001, 0, 8,
	  115200 },
	{ "", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "com3", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "COM1", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "com1,", 0, UART_SPACE_IO, 0x3f8, 0, 8, 115200 }, /* empty: default */
	{ "com1,9600,8", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0xfff9", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0x10000", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0x2f8,", 0, UART_SPACE_IO, 0x2f8, 0, 8, 115200 },
	{ "uart,io,0x2f8,0", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0x2f8,49", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0x2f8,230400", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0x2f8,fast", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0x2f8,115200,8", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,io,0x2f8g", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,pio,0x2f8", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0xfe032002,,32", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0xfe032000,,16", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0xfe032000,,", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0xfe032000,115200,32,1", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0xffffffffffffffe0,,32", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0xfffffffffffffff0", 0, UART_SPACE_MMIO,
	  0xfffffffffffffff0ull, 0, 8, 115200 },
	{ "uart,mmio,0x1ffffffffffffffff", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ "uart,mmio,0x00000000000000000000000fe032000", -HV_EINVAL, 0, 0, 0,
	  0, 0 }, /* a field too long is refused, not cut */
	{ "uart,mmio,0xfe032000 ", -HV_EINVAL, 0, 0, 0, 0, 0 },
	{ ",,,,,,,,", -HV_EINVAL, 0, 0, 0, 0, 0 },
};

static void test_console_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct console_case *c = &cases[i];
		struct uart_desc d;
		const char *why = NULL;
		int err;

		memset(&d, 0xa5, sizeof(d));
		err = console_arg_parse(c->in, &d, &why);
		print_message("'%s' -> %d %s\n", c->in, err, why);
		assert_int_equal(err, c->err);
		assert_non_null(why);
		if (err) {
			assert_true(why[0] != '\0'); /* the log says why */
			continue;
		}
		assert_int_equal(d.space, c->space);
		assert_int_equal(d.base, c->base);
		assert_int_equal(d.reg_shift, c->shift);
		assert_int_equal(d.reg_width, c->width);
		assert_int_equal(d.baud, c->baud);
	}
}

/* The parsed value comes from the boot command line, last word wins. */
static void test_console_from_cmdline(void **state)
{
	struct uart_desc d;
	const char *v, *why;

	(void)state;
	strcpy(bootinfo.cmdline,
	       "loglevel=6 console=com1 consoles=x console=uart,io,0x2f8 quiet");
	v = cmdline_get("console");
	assert_non_null(v);
	assert_string_equal(v, "uart,io,0x2f8");
	assert_int_equal(console_arg_parse(v, &d, &why), 0);
	assert_int_equal(d.base, 0x2f8);
	strcpy(bootinfo.cmdline, "loglevel=6");
	assert_null(cmdline_get("console"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_console_cases),
		cmocka_unit_test(test_console_from_cmdline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
