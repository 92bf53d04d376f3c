/*
 * Unit tests for the monitor dispatcher (kernel/monitor/dispatch.c), its
 * JSON mode (with kernel/monitor/json.c), and the string helpers its
 * commands use (lib/util.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/monitor.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

static char output[2 * MON_JSON_MAX];
static size_t output_len;
static int writes; /* calls of the output function */

static void sink_out(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	assert_true(n <= sizeof(output) - 1 - output_len);
	memcpy(output + output_len, s, n);
	output_len += n;
	output[output_len] = '\0';
	writes++;
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
	writes = 0;
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
	assert_int_equal(output_len, 319); /* MON_PRINTF_MAX - 1 */
	assert_int_equal(output[0], 'x');
	assert_int_equal(output[318], 'y');
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

/* ---------------------------------------------------------------- JSON mode */

/* Prints its arguments, one per line; "ERR" prints an error line. */
static int say_cmd(struct mon_ctx *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		mon_printf(c, "%s%s\r\n", strcmp(argv[i], "ERR") ? "" :
			   "error: ", argv[i]);
	return argc > 1 && !strcmp(argv[1], "FAIL") ? -HV_EIO : 0;
}

/* Prints @n bytes of 'z' in lines of 99 and CR LF. */
static int flood_cmd(struct mon_ctx *c, int argc, char **argv)
{
	u64 n = 0;

	(void)argc;
	parse_u64(argv[1], &n);
	for (u64 i = 0; i < n; i += 101)
		mon_printf(c, "%.99s\r\n", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
			   "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
	return 0;
}

static const struct mon_cmd jcmds[] = {
	{ "json", "[on|off]", "reply mode", NULL, 0, 1, mon_cmd_json },
	{ "say", "[WORD...]", "print words", NULL, 0, 5, say_cmd },
	{ "grab", "", "take the line", NULL, 0, 0, fake_cmd },
	{ "flood", "N", "print N bytes", NULL, 1, 1, flood_cmd },
};
static const mon_cmd_fn line_takers[] = { fake_cmd };
static struct mon_json jstate;
static struct mon_ctx jctx = {
	.out = sink_out,
	.cmds = jcmds,
	.nr_cmds = ARRAY_SIZE(jcmds),
	.json = &jstate,
	.takes_line = line_takers,
	.nr_takes_line = 1,
};

static int jrun(const char *line)
{
	char buf[512];

	reset(NULL);
	strlcpy_hv(buf, line, sizeof(buf));
	return mon_dispatch(&jctx, buf);
}

static void json_on(void)
{
	jstate.on = false;
	assert_int_equal(jrun("json on"), 0);
	assert_true(jstate.on);
}

struct json_case {
	const char *line;
	int ret;
	const char *reply; /* the one write, NULL for none */
};

static void test_json_replies(void **state)
{
	static const struct json_case cases[] = {
		{ "say a b", 0, "{\"ok\":true,\"cmd\":\"say\",\"output\":[\"a\",\"b\"]}\r\n" },
		{ "say", 0, "{\"ok\":true,\"cmd\":\"say\",\"output\":[]}\r\n" },
		{ "  say \"q\\", 0,
		  "{\"ok\":true,\"cmd\":\"say\",\"output\":[\"\\\"q\\\\\"]}\r\n" },
		{ "say x ERR", 0, "{\"ok\":false,\"cmd\":\"say\",\"error\":\"ERR\","
		  "\"output\":[\"x\"]}\r\n" },
		{ "say FAIL", -HV_EIO, "{\"ok\":false,\"cmd\":\"say\",\"error\":"
		  "\"failed (error -5)\",\"output\":[\"FAIL\"]}\r\n" },
		{ "frob 1", -HV_ENOENT, "{\"ok\":false,\"cmd\":\"frob\",\"error\":"
		  "\"unknown command 'frob' (type 'help' for a list)\",\"output\":[]}\r\n" },
		{ "flood", -HV_EINVAL, "{\"ok\":false,\"cmd\":\"flood\",\"error\":"
		  "\"usage: flood N\",\"output\":[]}\r\n" },
		{ "say 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16", -HV_E2BIG,
		  "{\"ok\":false,\"cmd\":\"say\",\"error\":"
		  "\"too many arguments (max 15)\",\"output\":[]}\r\n" },
		{ "grab", -HV_EPERM, "{\"ok\":false,\"cmd\":\"grab\",\"error\":"
		  "\"'grab' takes over the serial line: not in JSON mode "
		  "(send 'json off' first)\",\"output\":[]}\r\n" },
		{ "json", 0, "{\"ok\":true,\"cmd\":\"json\",\"output\":[\"json: on\"]}\r\n" },
		{ "json on", 0, "{\"ok\":true,\"cmd\":\"json\",\"output\":[\"json: on\"]}\r\n" },
		{ "json of", -HV_EINVAL, "{\"ok\":false,\"cmd\":\"json\",\"error\":"
		  "\"usage: json [on|off]\",\"output\":[]}\r\n" },
		{ "", 0, NULL },
		{ " \t ", 0, NULL },
	};

	(void)state;
	json_on();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret = jrun(cases[i].line);

		if (ret != cases[i].ret)
			fail_msg("'%s': returned %d, want %d", cases[i].line, ret,
				 cases[i].ret);
		assert_int_equal(writes, cases[i].reply ? 1 : 0);
		assert_string_equal(output, cases[i].reply ? cases[i].reply : "");
		assert_int_equal(seen.calls, 0);
		assert_true(jstate.on);
	}
}

static void test_json_switching(void **state)
{
	(void)state;
	jstate.on = false;
	/* In text mode, `json` and its errors answer in text... */
	assert_int_equal(jrun("json"), 0);
	assert_string_equal(output, "json: off\r\n");
	assert_int_equal(jrun("json maybe"), -HV_EINVAL);
	assert_string_equal(output, "error: usage: json [on|off]\r\n");
	assert_int_equal(jrun("jsonx"), -HV_ENOENT);
	assert_string_equal(output, "error: unknown command 'jsonx' (type 'help' "
				    "for a list)\r\n");
	/* ...but switching answers in JSON both ways. */
	assert_int_equal(jrun(" json  on "), 0);
	assert_string_equal(output, "{\"ok\":true,\"cmd\":\"json\",\"output\":"
				    "[\"json: on\"]}\r\n");
	assert_int_equal(writes, 1);
	assert_int_equal(jrun("json off"), 0);
	assert_string_equal(output, "{\"ok\":true,\"cmd\":\"json\",\"output\":"
				    "[\"json: off\"]}\r\n");
	assert_false(jstate.on);
	/* Back in text mode: plain lines, and the line-taker runs. */
	assert_int_equal(jrun("say a"), 0);
	assert_string_equal(output, "a\r\n");
	assert_int_equal(jrun("grab"), 7);
	assert_int_equal(seen.calls, 1);
	/* The output function is the caller's again. */
	assert_ptr_equal(jctx.out, sink_out);
}

static void test_json_without_state(void **state)
{
	struct mon_ctx c = { .out = sink_out, .cmds = jcmds,
			     .nr_cmds = ARRAY_SIZE(jcmds) };
	char line[] = "json on";

	(void)state;
	assert_int_equal(mon_dispatch(&c, line), -HV_ENOSYS);
	assert_string_equal(output, "error: JSON mode is not available here\r\n");
}

static void test_json_reject_line(void **state)
{
	(void)state;
	jstate.on = false;
	mon_reject_line(&jctx, "line too long (max 127 characters)");
	assert_string_equal(output, "error: line too long (max 127 characters)\r\n");
	json_on();
	reset(state);
	mon_reject_line(&jctx, "line had 2 non-printable bytes");
	assert_string_equal(output, "{\"ok\":false,\"cmd\":\"\",\"error\":"
				    "\"line had 2 non-printable bytes\",\"output\":[]}\r\n");
	assert_int_equal(writes, 1);
}

/* A reply longer than the buffer: cut, flagged, still one write. */
static void test_json_long_reply(void **state)
{
	char cmd[32];

	(void)state;
	json_on();
	snprintf(cmd, sizeof(cmd), "flood %d", 3 * MON_JSON_MAX);
	assert_int_equal(jrun(cmd), 0);
	assert_int_equal(writes, 1);
	assert_true(output_len < MON_JSON_MAX);
	assert_non_null(strstr(output, "],\"truncated\":true}\r\n"));
	assert_true(jstate.raw_cut);
	/* Just fitting the capture, not the reply (quotes and commas). */
	snprintf(cmd, sizeof(cmd), "flood %d", MON_JSON_MAX - 200);
	assert_int_equal(jrun(cmd), 0);
	assert_false(jstate.raw_cut);
	assert_non_null(strstr(output, "],\"truncated\":true}\r\n"));
	assert_int_equal(jrun("flood 2000"), 0);
	assert_null(strstr(output, "truncated"));
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
		T(test_json_replies),
		T(test_json_switching),
		T(test_json_without_state),
		T(test_json_reject_line),
		T(test_json_long_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
