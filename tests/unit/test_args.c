/* Unit tests for the VM commands' argument parsers (kernel/monitor/args.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <lamina/errno.h>
#include <lamina/monitor.h>
#include <lamina/vcpu.h>

struct hex_case {
	const char *in;
	int err;
	size_t n;
	const char *bytes;
};

static const struct hex_case hex_cases[] = {
	{ "00", 0, 1, "\x00" },
	{ "deadBEEF", 0, 4, "\xde\xad\xbe\xef" },
	{ "0x90c3", 0, 2, "\x90\xc3" },
	{ "0X0a", 0, 1, "\x0a" },
	{ "", -HV_EINVAL, 0, NULL },
	{ "0x", -HV_EINVAL, 0, NULL },
	{ "abc", -HV_EINVAL, 0, NULL },      /* odd */
	{ "zz", -HV_EINVAL, 0, NULL },
	{ "0g", -HV_EINVAL, 0, NULL },
	{ "12 34", -HV_EINVAL, 0, NULL },
	{ "0102030405", -HV_E2BIG, 0, NULL }, /* max 4 below */
	{ "01020304", 0, 4, "\x01\x02\x03\x04" },
};

static void test_hex_bytes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hex_cases) / sizeof(hex_cases[0]); i++) {
		const struct hex_case *c = &hex_cases[i];
		u8 buf[4];
		size_t n = 99;
		int err = mon_parse_hex_bytes(c->in, buf, sizeof(buf), &n);

		if (err != c->err)
			fail_msg("'%s': %d, want %d", c->in, err, c->err);
		if (!err && (n != c->n || memcmp(buf, c->bytes, n)))
			fail_msg("'%s': wrong bytes (%zu)", c->in, n);
		if (err && n != 99)
			fail_msg("'%s': n written on error", c->in);
	}
}

static void test_reg_fields(void **state)
{
	struct vcpu_regs r;
	struct vcpu_sregs s;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&s, 0, sizeof(s));
	*mon_reg_field("rax", &r, &s) = 1;
	*mon_reg_field("r15", &r, &s) = 2;
	*mon_reg_field("rip", &r, &s) = 3;
	*mon_reg_field("rflags", &r, &s) = 4;
	*mon_reg_field("cr3", &r, &s) = 5;
	*mon_reg_field("efer", &r, &s) = 6;
	*mon_reg_field("rsp", &r, &s) = 7;
	assert_int_equal(r.g.rax, 1);
	assert_int_equal(r.g.r15, 2);
	assert_int_equal(r.rip, 3);
	assert_int_equal(r.rflags, 4);
	assert_int_equal(s.cr3, 5);
	assert_int_equal(s.efer, 6);
	assert_int_equal(r.rsp, 7);
	assert_null(mon_reg_field("eax", &r, &s));
	assert_null(mon_reg_field("", &r, &s));
	assert_null(mon_reg_field("RAX", &r, &s));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_bytes),
		cmocka_unit_test(test_reg_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
