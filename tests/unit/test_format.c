/*
 * Unit tests for the hypervisor's own vsnprintf (lib/format.c). In this
 * program it is renamed hv_vsnprintf/hv_snprintf (see sources.mk), so the C
 * library's stays available as a reference for the integer conversions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <limits.h>
#include <cmocka.h>

#include <lamina/lib.h>

int hv_snprintf(char *buf, size_t size, const char *fmt, ...);
int hv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/*
 * The C library's snprintf under a name the -Dsnprintf=hv_snprintf flag
 * does not touch: the builtin still calls the library symbol.
 */
#define libc_snprintf __builtin_snprintf

#define CHECK(want, fmt, ...) check_fmt(__LINE__, want, fmt, __VA_ARGS__)

static void check_fmt(int line, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check_fmt(int line, const char *want, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	memset(buf, 0x5a, sizeof(buf));
	va_start(ap, fmt);
	n = hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (strcmp(buf, want) || n != (int)strlen(want))
		fail_msg("line %d: \"%s\" gave \"%s\" (%d), want \"%s\" (%zu)",
			 line, fmt, buf, n, want, strlen(want));
}

static void test_signed(void **state)
{
	(void)state;
	CHECK("0", "%d", 0);
	CHECK("42", "%d", 42);
	CHECK("-42", "%d", -42);
	CHECK("2147483647", "%d", INT_MAX);
	CHECK("-2147483648", "%d", INT_MIN);
	CHECK("-7", "%i", -7);
	CHECK("-1", "%ld", -1L);
	CHECK("-9223372036854775808", "%ld", LONG_MIN);
	CHECK("9223372036854775807", "%lld", LLONG_MAX);
	CHECK("-9223372036854775808", "%lld", LLONG_MIN);
	CHECK("a-5b", "a%db", -5);
}

static void test_unsigned(void **state)
{
	(void)state;
	CHECK("4294967295", "%u", UINT_MAX);
	CHECK("deadbeef", "%x", 0xdeadbeefu);
	CHECK("DEADBEEF", "%X", 0xdeadbeefu);
	CHECK("0", "%x", 0u);
	CHECK("ffffffffffffffff", "%lx", ULONG_MAX);
	CHECK("123456789abcdef0", "%llx", 0x123456789abcdef0ull);
	CHECK("18446744073709551615", "%lu", ULONG_MAX);
	CHECK("12345", "%zu", (size_t)12345);
	CHECK("18446744073709551615", "%zu", SIZE_MAX);
	CHECK("ffffffff", "%x", -1);
}

static void test_strings_chars_percent(void **state)
{
	/* volatile: gcc would reject a null %s argument it can see */
	const char *volatile null_str = NULL;

	(void)state;
	CHECK("abc", "%s", "abc");
	CHECK("", "%s", "");
	CHECK("(null)", "%s", null_str);
	CHECK("[a]", "[%c]", 'a');
	CHECK("100%", "%d%%", 100);
	CHECK("%", "%%%s", "");
	CHECK("x y", "%s %s", "x", "y");
	CHECK("no conversions", "%s", "no conversions");
}

static void test_pointer(void **state)
{
	(void)state;
	CHECK("0x1234", "%p", (void *)0x1234);
	CHECK("0xffff800000001000", "%p", (void *)0xffff800000001000ull);
}

static void test_width_and_padding(void **state)
{
	(void)state;
	CHECK("0000beef", "%08x", 0xbeefu);
	CHECK("deadbeef", "%04x", 0xdeadbeefu);
	CHECK("   42", "%5d", 42);
	CHECK("  -42", "%5d", -42);
	CHECK("-0042", "%05d", -42);
	CHECK("42   |", "%-5d|", 42);
	CHECK("-42  |", "%-5d|", -42);
	CHECK("abc     |", "%-8s|", "abc");
	CHECK("     abc|", "%8s|", "abc");
	CHECK("toolongstring|", "%-4s|", "toolongstring");
	CHECK("    x", "%5c", 'x');
	CHECK("00000000000000ff", "%016lx", 0xfful);
}

/* Integer conversions agree with the C library over flags and widths. */
/* Precision and '*' consume their arguments, so later ones stay in step. */
static void test_precision_and_star(void **state)
{
	(void)state;
	CHECK("[abc|7]", "[%.3s|%d]", "abcdef", 7);
	CHECK("[ab|7]", "[%.*s|%d]", 2, "abcdef", 7);
	CHECK("[   42|7]", "[%*d|%d]", 5, 42, 7);
	CHECK("[42   |7]", "[%*d|%d]", -5, 42, 7);
	CHECK("[007]", "[%.3d]", 7);
	CHECK("[   0ff]", "[%6.3x]", 255);
	CHECK("[x]", "[%c]", 'x');
}

static void test_integers_match_libc(void **state)
{
	static const char *const fmts[] = {
		"%d", "%5d", "%-5d|", "%05d", "%1d", "%20d", "%u", "%9u",
		"%x", "%08x", "%-8x|", "%X", "%o", "%011o",
	};
	static const int vals[] = {
		0, 1, -1, 9, 10, -10, 255, 4096, 99999, -99999, INT_MAX,
		INT_MIN,
	};
	char got[64], want[64];
	size_t i, j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(fmts); i++) {
		for (j = 0; j < ARRAY_SIZE(vals); j++) {
			int n = hv_snprintf(got, sizeof(got), fmts[i], vals[j]);
			int m = libc_snprintf(want, sizeof(want), fmts[i],
					      vals[j]);

			if (n != m || strcmp(got, want))
				fail_msg("\"%s\" of %d: \"%s\", libc \"%s\"",
					 fmts[i], vals[j], got, want);
		}
	}
}

static void test_truncation(void **state)
{
	char buf[16];
	int n;

	(void)state;
	/* size 0: nothing written, not even the NUL */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 0, "hello %d", 12345), 11);
	assert_int_equal(buf[0], 'z');
	assert_int_equal(hv_snprintf(NULL, 0, "%s", "abc"), 3);

	/* size 1: only the NUL */
	assert_int_equal(hv_snprintf(buf, 1, "hello"), 5);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'z');

	/* small buffers keep the start and always terminate */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 4, "hello"), 5);
	assert_string_equal(buf, "hel");
	assert_int_equal(buf[4], 'z');

	memset(buf, 'z', sizeof(buf));
	n = hv_snprintf(buf, 6, "%08x", 0x1234u);
	assert_int_equal(n, 8);
	assert_string_equal(buf, "00001");
	assert_int_equal(buf[6], 'z');

	memset(buf, 'z', sizeof(buf));
	n = hv_snprintf(buf, 5, "%-10s|", "ab");
	assert_int_equal(n, 11);
	assert_string_equal(buf, "ab  ");

	/* exactly fitting */
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(hv_snprintf(buf, 6, "%s", "hello"), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(hv_snprintf(buf, 5, "%s", "hello"), 5);
	assert_string_equal(buf, "hell");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signed),
		cmocka_unit_test(test_unsigned),
		cmocka_unit_test(test_strings_chars_percent),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_width_and_padding),
		cmocka_unit_test(test_precision_and_star),
		cmocka_unit_test(test_integers_match_libc),
		cmocka_unit_test(test_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
