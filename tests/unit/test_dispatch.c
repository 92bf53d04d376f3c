/*
 * Unit tests for the monitor dispatcher (kernel/monitor/dispatch.c) and the
 * string helpers its commands use (lib/util.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/monitor.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

static char output[8192];
static size_t output_len;

static void sink_out(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	assert_true(n <= sizeof(output) - 1 - output_len);
	memcpy(output + output_len, s, n);
	output_len += n;
	output[output_len] = '\0';
}

/* What the last command handler saw. */
static struct {
	int calls;
	int argc;
	char argv[MON_MAX_ARGS][MON_LINE_MAX];
} seen;

static int fake_cmd(struct mon_ctx *ctx, int argc, char **argv)
{
	int i;

	(void)ctx;
	seen.calls++;
	seen.argc = argc;
	for (i = 0; i < argc; i++)
		strlcpy_hv(seen.argv[i], argv[i], sizeof(seen.argv[i]));
	return argc == 3 ? -HV_EBUSY : 7;
}

static const struct mon_cmd cmds[] = {
	{ "help", "[COMMAND]", "list commands or describe one", NULL, 0, 1,
	  mon_cmd_help },
	{ "echo", "WORD...", "print the words", NULL, 1, MON_MAX_ARGS - 1,
	  fake_cmd },
	{ "vm", "start|stop VM", "start or stop a VM",
	  "VM is a name or an index.\nStopping is immediate.", 2, 2,
	  fake_cmd },
	{ "quit", "", "leave", NULL, 0, 0, fake_cmd },
};

static struct mon_ctx ctx = {
	.out = sink_out,
	.cmds = cmds,
	.nr_cmds = ARRAY_SIZE(cmds),
};

static int reset(void **state)
{
	(void)state;
	output_len = 0;
	output[0] = '\0';
	memset(&seen, 0, sizeof(seen));
	return 0;
}

/* Dispatch a copy of @line (dispatch writes into it). */
static int run(const char *line)
{
	char buf[512];

	strlcpy_hv(buf, line, sizeof(buf));
	return mon_dispatch(&ctx, buf);
}

struct tok_case {
	const char *in;
	int max;
	int argc;
	const char *words[5];
};

static const struct tok_case tok_cases[] = {
	{ "", 4, 0, { NULL } },
	{ "   ", 4, 0, { NULL } },
	{ "\t \t", 4, 0, { NULL } },
	{ "a", 4, 1, { "a" } },
	{ "  help  ", 4, 1, { "help" } },
	{ "vm start linux", 4, 3, { "vm", "start", "linux" } },
	{ "vm\tstart\t\tlinux", 4, 3, { "vm", "start", "linux" } },
	{ " \ta  \t b\t\tc  ", 4, 3, { "a", "b", "c" } },
	{ "a b c d", 4, 4, { "a", "b", "c", "d" } },
	{ "a b c d ", 4, 4, { "a", "b", "c", "d" } },
	{ "a b c d e", 4, -HV_E2BIG, { NULL } },
	{ "", 0, 0, { NULL } },
	{ "a", 0, -HV_E2BIG, { NULL } },
	{ "x\x01y z", 4, 2, { "x\x01y", "z" } }, /* only space and tab split */
};

static void test_tokenize_table(void **state)
{
	size_t i;
	int j;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(tok_cases); i++) {
		const struct tok_case *c = &tok_cases[i];
		char buf[64], *argv[5] = { NULL };
		int argc;

		strlcpy_hv(buf, c->in, sizeof(buf));
		argc = mon_tokenize(buf, argv, c->max);
		if (argc != c->argc)
			fail_msg("case %zu \"%s\": argc %d, want %d", i, c->in,
				 argc, c->argc);
		for (j = 0; j < argc; j++)
			assert_string_equal(argv[j], c->words[j]);
		/* Nothing written past the words it returned. */
		if (argc >= 0 && argc < 5)
			assert_null(argv[argc]);
	}
}

static void test_empty_line_does_nothing(void **state)
{
	(void)state;
	assert_int_equal(run(""), 0);
	assert_int_equal(run(" \t  "), 0);
	assert_string_equal(output, "");
	assert_int_equal(seen.calls, 0);
}

static void test_unknown_command(void **state)
{
	(void)state;
	assert_int_equal(run("  frobnicate now"), -HV_ENOENT);
	assert_string_equal(output, "error: unknown command 'frobnicate' "
				    "(type 'help' for a list)\r\n");
	/* Names match exactly: no prefixes, no case folding. */
	assert_null(mon_find(&ctx, "hel"));
	assert_null(mon_find(&ctx, "helpx"));
	assert_null(mon_find(&ctx, "HELP"));
	assert_null(mon_find(&ctx, NULL));
	assert_ptr_equal(mon_find(&ctx, "vm"), &cmds[2]);
	assert_int_equal(seen.calls, 0);
}

static void test_too_many_words(void **state)
{
	(void)state;
	/* 16 words: the name and 15 arguments, the most there can be. */
	assert_int_equal(run("echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15"), 7);
	assert_int_equal(seen.argc, MON_MAX_ARGS);
	assert_string_equal(seen.argv[MON_MAX_ARGS - 1], "15");
	assert_int_equal(run("echo 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"),
			 -HV_E2BIG);
	assert_string_equal(output, "error: too many arguments (max 15)\r\n");
	assert_int_equal(seen.calls, 1);
}

struct argc_case {
	const char *line;
	const char *err;
};

static void test_wrong_argument_count(void **state)
{
	static const struct argc_case cases[] = {
		{ "vm", "error: usage: vm start|stop VM\r\n" },
		{ "vm start", "error: usage: vm start|stop VM\r\n" },
		{ "vm start a b", "error: usage: vm start|stop VM\r\n" },
		{ "quit now", "error: usage: quit\r\n" },
		{ "echo", "error: usage: echo WORD...\r\n" },
		{ "help a b", "error: usage: help [COMMAND]\r\n" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		reset(state);
		assert_int_equal(run(cases[i].line), -HV_EINVAL);
		assert_string_equal(output, cases[i].err);
		assert_int_equal(seen.calls, 0);
	}
}

static void test_dispatch_calls_fn(void **state)
{
	(void)state;
	assert_int_equal(run("\tvm  start\tlinux-1 "), -HV_EBUSY);
	assert_int_equal(seen.calls, 1);
	assert_int_equal(seen.argc, 3);
	assert_string_equal(seen.argv[0], "vm");
	assert_string_equal(seen.argv[1], "start");
	assert_string_equal(seen.argv[2], "linux-1");
	assert_int_equal(run("quit"), 7);
	assert_int_equal(seen.argc, 1);
	assert_string_equal(output, "");
}

static void test_help_list(void **state)
{
	(void)state;
	assert_int_equal(run("help"), 0);
	assert_string_equal(output,
		"Commands (type 'help NAME' for details):\r\n"
		"  help [COMMAND]    list commands or describe one\r\n"
		"  echo WORD...      print the words\r\n"
		"  vm start|stop VM  start or stop a VM\r\n"
		"  quit              leave\r\n");
}

static void test_help_column_is_capped(void **state)
{
	static const struct mon_cmd wide[] = {
		{ "dump", "ADDRESS LENGTH [WIDTH] [VM]", "show memory", NULL,
		  2, 4, fake_cmd },
		{ "go", "", "run", NULL, 0, 0, fake_cmd },
	};
	struct mon_ctx c = { .out = sink_out, .cmds = wide, .nr_cmds = 2 };
	char *argv[] = { "help" };

	(void)state;
	assert_int_equal(mon_cmd_help(&c, 1, argv), 0);
	assert_string_equal(output,
		"Commands (type 'help NAME' for details):\r\n"
		"  dump ADDRESS LENGTH [WIDTH] [VM]  show memory\r\n"
		"  go                        run\r\n");
}

static void test_help_command(void **state)
{
	(void)state;
	assert_int_equal(run("help vm"), 0);
	assert_string_equal(output, "vm start|stop VM\r\n"
				    "start or stop a VM\r\n"
				    "VM is a name or an index.\r\n"
				    "Stopping is immediate.\r\n");
	reset(state);
	assert_int_equal(run("help quit"), 0);
	assert_string_equal(output, "quit\r\nleave\r\n");
	reset(state);
	assert_int_equal(run("help nope"), -HV_ENOENT);
	assert_string_equal(output, "error: no command 'nope'\r\n");
}

static void test_printf_truncates(void **state)
{
	char big[1000];
	struct mon_ctx quiet = { 0 };

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mon_printf(&ctx, "%s%s", "x", big);
	assert_int_equal(output_len, 255);
	assert_int_equal(output[0], 'x');
	assert_int_equal(output[254], 'y');
	reset(state);
	mon_printf(&ctx, "%d %s\r\n", -5, "ok");
	assert_string_equal(output, "-5 ok\r\n");
	mon_printf(&quiet, "nowhere\r\n"); /* no output function: no crash */
}

struct u64_case {
	const char *in;
	int ret;
	u64 val;
};

static void test_parse_u64(void **state)
{
	static const struct u64_case cases[] = {
		{ "0", 0, 0 },
		{ "42", 0, 42 },
		{ "007", 0, 7 },
		{ "18446744073709551615", 0, ~0ull },
		{ "18446744073709551616", -HV_ERANGE, 0 },
		{ "99999999999999999999999", -HV_ERANGE, 0 },
		{ "0x0", 0, 0 },
		{ "0X1f", 0, 31 },
		{ "0xdeadBEEF", 0, 0xdeadbeef },
		{ "0xFFFFffffFFFFffff", 0, ~0ull },
		{ "0x000000000000000000001", 0, 1 },
		{ "0x10000000000000000", -HV_ERANGE, 0 },
		{ "", -HV_EINVAL, 0 },
		{ "0x", -HV_EINVAL, 0 },
		{ "x10", -HV_EINVAL, 0 },
		{ "-1", -HV_EINVAL, 0 },
		{ "+1", -HV_EINVAL, 0 },
		{ " 1", -HV_EINVAL, 0 },
		{ "1 ", -HV_EINVAL, 0 },
		{ "12a", -HV_EINVAL, 0 },
		{ "0x1g", -HV_EINVAL, 0 },
		{ "0x-1", -HV_EINVAL, 0 },
		{ "99999999999999999999999x", -HV_EINVAL, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 val = 12345;
		int ret = parse_u64(cases[i].in, &val);

		if (ret != cases[i].ret)
			fail_msg("\"%s\": returned %d, want %d", cases[i].in,
				 ret, cases[i].ret);
		/* On failure the output is left alone. */
		assert_int_equal(val, ret ? 12345 : cases[i].val);
	}
	assert_int_equal(parse_u64(NULL, NULL), -HV_EINVAL);
}

static void test_strlcpy(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'z', sizeof(buf));
	assert_int_equal(strlcpy_hv(buf, "abc", 0), 3);
	assert_int_equal(buf[0], 'z');
	assert_int_equal(strlcpy_hv(buf, "abc", 1), 3);
	assert_string_equal(buf, "");
	assert_int_equal(strlcpy_hv(buf, "abcdefgh", sizeof(buf)), 8);
	assert_string_equal(buf, "abcdefg");
	assert_int_equal(strlcpy_hv(buf, "abcdefg", sizeof(buf)), 7);
	assert_string_equal(buf, "abcdefg");
	assert_int_equal(strlcpy_hv(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

#define T(fn) cmocka_unit_test_setup(fn, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_tokenize_table),
		T(test_empty_line_does_nothing),
		T(test_unknown_command),
		T(test_too_many_words),
		T(test_wrong_argument_count),
		T(test_dispatch_calls_fn),
		T(test_help_list),
		T(test_help_column_is_capped),
		T(test_help_command),
		T(test_printf_truncates),
		T(test_parse_u64),
		T(test_strlcpy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
