/*
 * Unit tests for the JSON of the monitor's machine mode: the writer in the
 * hypervisor (kernel/monitor/json.c) and lamina-ctl's reader
 * (tools/lamina-ctl/reply.c), each checked by exact strings and the two
 * checked against each other on random output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <lamina/monitor.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#include "ctl.h"

static char line[MON_JSON_MAX];

/* The reply for @out (a C string) from command @cmd returning @ret. */
static const char *reply_for(const char *cmd, int ret, const char *out)
{
	struct json_reply r = { .cmd = cmd, .ret = ret, .out = out,
				.out_len = strlen(out) };
	size_t n = json_reply(line, sizeof(line), &r);

	assert_int_equal(n, strlen(line));
	return line;
}

struct esc_case {
	const char *in;
	size_t len;
	const char *out;
};

static void test_escape_table(void **state)
{
	static const struct esc_case cases[] = {
		{ "plain text 0-9 ~", 16, "plain text 0-9 ~" },
		{ "\"q\"", 3, "\\\"q\\\"" },
		{ "a\\b", 3, "a\\\\b" },
		{ "/", 1, "/" },
		{ "\0", 1, "\\u0000" },
		{ "\t\r\n", 3, "\\u0009\\u000d\\u000a" },
		{ "\x1b[0m", 4, "\\u001b[0m" },
		{ "\x1f\x20", 2, "\\u001f " },
		{ "\x7e\x7f", 2, "~\\u007f" },
		{ "\x80\xe9\xff", 3, "\\u0080\\u00e9\\u00ff" },
		{ "", 0, "" },
	};
	char buf[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t used = 99;
		size_t n = json_escape(buf, sizeof(buf), cases[i].in,
				       cases[i].len, &used);

		buf[n] = '\0';
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(used, cases[i].len);
	}
}

/* A small buffer takes whole escapes only. */
static void test_escape_cuts_whole(void **state)
{
	char buf[16];
	size_t used, n;

	(void)state;
	memset(buf, '#', sizeof(buf));
	n = json_escape(buf, 7, "ab\x01" "cd", 5, &used);
	assert_int_equal(n, 2);
	assert_int_equal(used, 2);
	assert_memory_equal(buf, "ab##", 4);
	n = json_escape(buf, 9, "ab\"\x01", 4, &used);
	assert_int_equal(n, 4);
	assert_int_equal(used, 3);
	n = json_escape(buf, 10, "ab\"\x01", 4, &used);
	assert_int_equal(n, 10);
	assert_int_equal(used, 4);
	assert_memory_equal(buf, "ab\\\"\\u0001", 10);
	assert_int_equal(json_escape(buf, 0, "x", 1, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(json_escape(buf, 1, "\"", 1, NULL), 0);
}

struct reply_case {
	const char *cmd;
	int ret;
	const char *out;
	const char *json;
};

static void test_reply_table(void **state)
{
	static const struct reply_case cases[] = {
		{ "version", 0, "Lamina 0.1.0\r\nprotocol 1\r\n",
		  "{\"ok\":true,\"cmd\":\"version\",\"output\":"
		  "[\"Lamina 0.1.0\",\"protocol 1\"]}\r\n" },
		{ "nop", 0, "", "{\"ok\":true,\"cmd\":\"nop\",\"output\":[]}\r\n" },
		/* LF alone ends a line too; a last line may lack its end. */
		{ "x", 3, "a\nb\r\n\r\nc",
		  "{\"ok\":true,\"cmd\":\"x\",\"output\":[\"a\",\"b\",\"\",\"c\"]}\r\n" },
		/* A CR that does not end a line is a character. */
		{ "x", 0, "a\rb\r\r\n",
		  "{\"ok\":true,\"cmd\":\"x\",\"output\":[\"a\\u000db\\u000d\"]}\r\n" },
		{ "frob", -HV_ENOENT, "error: unknown command 'frob'\r\n",
		  "{\"ok\":false,\"cmd\":\"frob\",\"error\":"
		  "\"unknown command 'frob'\",\"output\":[]}\r\n" },
		/* The first error line is the error; the rest is output. */
		{ "start", -HV_EBUSY, "starting\r\nerror: no CPU\r\nerror: 2\r\n",
		  "{\"ok\":false,\"cmd\":\"start\",\"error\":\"no CPU\","
		  "\"output\":[\"starting\",\"error: 2\"]}\r\n" },
		/* An error line fails a command that returned 0. */
		{ "slots", 0, "error: no VM \"q\"\r\n",
		  "{\"ok\":false,\"cmd\":\"slots\",\"error\":\"no VM \\\"q\\\"\","
		  "\"output\":[]}\r\n" },
		/* Failing in silence: the code is the message. */
		{ "quiet", -HV_EINVAL, "done\r\n",
		  "{\"ok\":false,\"cmd\":\"quiet\",\"error\":\"failed (error -22)\","
		  "\"output\":[\"done\"]}\r\n" },
		/* Only "error: " at a line's start counts. */
		{ "x", 0, " error: no\r\nerror:no\r\n",
		  "{\"ok\":true,\"cmd\":\"x\",\"output\":[\" error: no\",\"error:no\"]}\r\n" },
		{ "", -HV_EINVAL, "error: line too long\r\n",
		  "{\"ok\":false,\"cmd\":\"\",\"error\":\"line too long\",\"output\":[]}\r\n" },
		{ "a\"b", 0, "", "{\"ok\":true,\"cmd\":\"a\\\"b\",\"output\":[]}\r\n" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(reply_for(cases[i].cmd, cases[i].ret,
					      cases[i].out), cases[i].json);
}

static void test_reply_cut_flag(void **state)
{
	struct json_reply r = { .cmd = "log", .out = "a\r\n", .out_len = 3,
				.out_cut = true };

	(void)state;
	json_reply(line, sizeof(line), &r);
	assert_string_equal(line, "{\"ok\":true,\"cmd\":\"log\",\"output\":"
				  "[\"a\"],\"truncated\":true}\r\n");
	r.cmd = NULL;
	r.out_cut = false;
	json_reply(line, sizeof(line), &r);
	assert_string_equal(line, "{\"ok\":true,\"cmd\":\"\",\"output\":[\"a\"]}\r\n");
}

static void test_reply_too_small(void **state)
{
	struct json_reply r = { .cmd = "x" };

	(void)state;
	line[0] = '#';
	assert_int_equal(json_reply(line, JSON_REPLY_MIN - 1, &r), 0);
	assert_int_equal(line[0], '#');
	assert_true(json_reply(line, JSON_REPLY_MIN, &r) > 0);
}

static void test_log_line(void **state)
{
	char buf[64];

	(void)state;
	assert_int_equal(json_log_line(buf, sizeof(buf), "[ 1.0] hv: on\n", 14),
			 strlen("{\"log\":\"[ 1.0] hv: on\"}\r\n"));
	assert_string_equal(buf, "{\"log\":\"[ 1.0] hv: on\"}\r\n");
	json_log_line(buf, sizeof(buf), "\"\\\x01\r\n", 5);
	assert_string_equal(buf, "{\"log\":\"\\\"\\\\\\u0001\"}\r\n");
	/* Cut, but still one whole line of JSON. */
	json_log_line(buf, 20, "0123456789abcdef", 16);
	assert_string_equal(buf, "{\"log\":\"0123456\"}\r\n");
	assert_int_equal(json_log_line(buf, 15, "x", 1), 0);
}

/* ---------------------------------------------------------------- reader */

static enum reply_kind parse(struct reply *r, const char *s)
{
	return reply_parse(r, s, strlen(s));
}

static void test_parse_command(void **state)
{
	struct reply r;

	(void)state;
	assert_int_equal(parse(&r, "{\"ok\":true,\"cmd\":\"vms\",\"output\":"
				   "[\" ID  NAME\",\"\",\"a\\u0009\\\"b\\\\\"]}"),
			 REPLY_COMMAND);
	assert_true(r.ok);
	assert_false(r.truncated);
	assert_string_equal(r.cmd.s, "vms");
	assert_null(r.error.s);
	assert_int_equal(r.nr_output, 3);
	assert_string_equal(r.output[0].s, " ID  NAME");
	assert_int_equal(r.output[1].len, 0);
	assert_string_equal(r.output[2].s, "a\t\"b\\");
	reply_free(&r);

	assert_int_equal(parse(&r, " { \"truncated\" : true , \"ok\" : false ,"
				   "\"error\":\"no\",\"cmd\":\"x\", \"output\" : [ ] }\r"),
			 REPLY_COMMAND);
	assert_false(r.ok);
	assert_true(r.truncated);
	assert_string_equal(r.error.s, "no");
	assert_int_equal(r.nr_output, 0);
	reply_free(&r);
}

static void test_parse_log_and_unknown_members(void **state)
{
	struct reply r;

	(void)state;
	assert_int_equal(parse(&r, "{\"log\":\"[ 0.1] vm: hi\"}"), REPLY_LOG);
	assert_string_equal(r.log.s, "[ 0.1] vm: hi");
	reply_free(&r);
	/* Members a later protocol may add are skipped, whatever they hold. */
	assert_int_equal(parse(&r, "{\"n\":-1.5e+3,\"o\":{\"a\":[1,{},[]],\"b\":null},"
				   "\"ok\":true,\"s\":\"x\",\"f\":false,\"cmd\":\"v\"}"),
			 REPLY_COMMAND);
	assert_string_equal(r.cmd.s, "v");
	reply_free(&r);
}

static void test_parse_unicode(void **state)
{
	struct reply r;

	(void)state;
	/* Bytes as the monitor escapes them; above 0xff, UTF-8. */
	assert_int_equal(parse(&r, "{\"ok\":true,\"output\":[\"\\u00e9\\u0000z\","
				   "\"\\u20ac\\ud83d\\ude00\\u00FF\",\"\\/\\b\\f\\n\\r\\t\"]}"),
			 REPLY_COMMAND);
	assert_int_equal(r.output[0].len, 3);
	assert_memory_equal(r.output[0].s, "\xe9\0z", 3);
	assert_string_equal(r.output[1].s, "\xe2\x82\xac\xf0\x9f\x98\x80\xff");
	assert_string_equal(r.output[2].s, "/\b\f\n\r\t");
	reply_free(&r);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "lamina> ", "[1]", "{}", "{\"cmd\":\"x\"}", "{\"log\":1}",
		"{\"ok\":\"yes\"}", "{\"ok\":1}", "{\"ok\":true,\"cmd\":5}",
		"{\"ok\":true,\"output\":[1]}", "{\"ok\":true,\"output\":\"a\"}",
		"{\"ok\":true", "{\"ok\":true,}", "{\"ok\":true}x",
		"{\"ok\":true} {}", "{ok:true}", "{\"ok\":tru}",
		"{\"ok\":true,\"cmd\":\"a\tb\"}", "{\"ok\":true,\"cmd\":\"\\x\"}",
		"{\"ok\":true,\"cmd\":\"\\u12\"}", "{\"ok\":true,\"cmd\":\"\\ud800\"}",
		"{\"ok\":true,\"cmd\":\"\\udc00\\ud800\"}",
		"{\"ok\":true,\"cmd\":\"abc", "{\"ok\":true,\"cmd\":\"abc\\",
		"{\"ok\":true,\"n\":-}", "{\"ok\":true,\"n\":1.}",
		"{\"ok\":true,\"output\":[\"a\",]}", "{\"ok\":true,\"o\":{\"a\"}}",
		"{\"ok\":true,\"o\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		"{\"log\":\"x\"",
	};
	struct reply r;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (parse(&r, bad[i]) != REPLY_OTHER)
			fail_msg("accepted: %s", bad[i]);
		reply_free(&r);
	}
	/* A NUL inside the line is a control character. */
	assert_int_equal(reply_parse(&r, "{\"log\":\"a\0\"}", 11), REPLY_OTHER);
	reply_free(&r);
}

/* ---------------------------------------------------------------- both */

struct ref_line {
	const char *s;
	size_t len;
};

/* The lines of @out as the writer should see them (test's own split). */
static size_t split(const char *out, size_t n, struct ref_line *lines)
{
	size_t nr = 0, start = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && out[i] != '\n')
			continue;
		if (i == n && start == n)
			break;
		lines[nr].s = out + start;
		lines[nr].len = i - start;
		if (i < n && lines[nr].len && out[i - 1] == '\r')
			lines[nr].len--;
		nr++;
		start = i + 1;
	}
	return nr;
}

static u32 rnd_state = 12345;

static u32 rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* Random output of @n bytes, mostly text with CR LF, some error lines. */
static void random_output(char *out, size_t n)
{
	static const char alphabet[] = "ab \"\\\r\n\x01\xe9\x7f";

	for (size_t i = 0; i < n; i++) {
		out[i] = rnd() % 4 ? (char)('a' + rnd() % 26) :
			 alphabet[rnd() % (sizeof(alphabet) - 1)];
		if (i + 9 < n && !(rnd() % 64)) {
			memcpy(out + i, "\r\nerror: ", 9);
			i += 8;
		}
	}
}

/* What the reader decodes is what the writer was given, in order. */
static void check_round_trip(const char *out, size_t n, size_t size, int ret)
{
	static struct ref_line lines[MON_JSON_MAX + 1];
	struct json_reply jr = { .cmd = "rt", .ret = ret, .out = out,
				 .out_len = n };
	size_t nr = split(out, n, lines), err = nr, k = 0, len;
	struct reply r;

	len = json_reply(line, size, &jr);
	assert_true(len >= 2 && len < size);
	assert_memory_equal(line + len - 2, "\r\n", 2);
	for (size_t i = 0; i < len; i++)
		assert_true(line[i] >= 0x20 || i >= len - 2);
	assert_int_equal(reply_parse(&r, line, len - 2), REPLY_COMMAND);
	for (size_t i = 0; i < nr && err == nr; i++)
		if (lines[i].len >= 7 && !memcmp(lines[i].s, "error: ", 7))
			err = i;
	assert_int_equal(r.ok, err == nr && ret >= 0);
	if (err < nr && !r.truncated) {
		assert_int_equal(r.error.len, lines[err].len - 7);
		assert_memory_equal(r.error.s, lines[err].s + 7, r.error.len);
	}
	for (size_t i = 0; i < nr; i++) {
		if (i == err)
			continue;
		if (k == r.nr_output) {
			assert_true(r.truncated);
			break;
		}
		/* A cut line is a prefix and the last one, with truncated. */
		assert_true(r.output[k].len <= lines[i].len);
		assert_memory_equal(r.output[k].s, lines[i].s, r.output[k].len);
		if (r.output[k].len < lines[i].len) {
			assert_true(r.truncated);
			assert_int_equal(k + 1, r.nr_output);
		}
		k++;
	}
	assert_int_equal(k, r.nr_output);
	reply_free(&r);
}

static void test_round_trip_random(void **state)
{
	static char out[MON_JSON_MAX];

	(void)state;
	for (int i = 0; i < 400; i++) {
		size_t n = rnd() % (i < 200 ? 300 : sizeof(out));
		size_t size = JSON_REPLY_MIN + rnd() % (MON_JSON_MAX -
							JSON_REPLY_MIN + 1);

		random_output(out, n);
		check_round_trip(out, n, size, rnd() % 8 ? 0 : -HV_EIO);
	}
}

/* One line longer than the whole reply; one error longer too. */
static void test_round_trip_huge_lines(void **state)
{
	static char out[MON_JSON_MAX];

	(void)state;
	memset(out, '"', sizeof(out));
	check_round_trip(out, sizeof(out), JSON_REPLY_MIN, 0);
	check_round_trip(out, sizeof(out), MON_JSON_MAX, 0);
	memcpy(out, "error: ", 7);
	check_round_trip(out, sizeof(out), JSON_REPLY_MIN, -HV_EIO);
	memcpy(out + 100, "\r\n", 2);
	check_round_trip(out, sizeof(out), JSON_REPLY_MIN, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_cuts_whole),
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_cut_flag),
		cmocka_unit_test(test_reply_too_small),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_parse_command),
		cmocka_unit_test(test_parse_log_and_unknown_members),
		cmocka_unit_test(test_parse_unicode),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_round_trip_huge_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
