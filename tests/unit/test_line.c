/* Unit tests for the monitor line editor (kernel/monitor/line.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <lamina/monitor.h>
#include <lamina/lib.h>

struct sink {
	char buf[16384];
	size_t len;
};

struct fixture {
	struct line_editor le;
	struct sink echo;
};

static void sink_out(void *ctx, const char *s, size_t n)
{
	struct sink *sink = ctx;

	assert_true(n <= sizeof(sink->buf) - 1 - sink->len);
	memcpy(sink->buf + sink->len, s, n);
	sink->len += n;
	sink->buf[sink->len] = '\0';
}

static void sink_reset(struct sink *sink)
{
	sink->len = 0;
	sink->buf[0] = '\0';
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	le_init(&f->le, sink_out, &f->echo);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/*
 * Feed @n bytes; every byte but the last must return LE_CONTINUE. Returns
 * what the last byte returned.
 */
static enum le_result feed(struct line_editor *le, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i++)
		if (le_feed(le, (u8)s[i]) != LE_CONTINUE)
			fail_msg("byte %zu (%#x) of \"%s\" ended the line", i,
				 (u8)s[i], s);
	return n ? le_feed(le, (u8)s[n - 1]) : LE_CONTINUE;
}

static enum le_result feed_str(struct line_editor *le, const char *s)
{
	return feed(le, s, strlen(s));
}

/* Enter a line and check it was accepted as typed. */
static void enter(struct line_editor *le, const char *text)
{
	char buf[MON_LINE_MAX + 2];

	snprintf(buf, sizeof(buf), "%s\r", text);
	assert_int_equal(feed_str(le, buf), LE_LINE);
	assert_string_equal(le->line, text);
}

struct line_case {
	const char *name;
	const char *in; /* ends with the byte that ends the line */
	size_t in_len;  /* for inputs holding NUL bytes; 0: strlen(in) */
	enum le_result result;
	const char *text; /* le->line or le->error */
	const char *echo; /* NULL: not checked */
};

#define ERR_BYTES(n) "line had " #n " non-printable bytes"

static const struct line_case line_cases[] = {
	{ "plain CR", "help\r", 0, LE_LINE, "help", "help\r\n" },
	{ "plain LF", "help vm\n", 0, LE_LINE, "help vm", "help vm\r\n" },
	{ "empty", "\r", 0, LE_LINE, "", "\r\n" },
	{ "spaces kept", "  a  b \r", 0, LE_LINE, "  a  b ", NULL },
	{ "backspace 0x08", "abc\b\bx\r", 0, LE_LINE, "ax",
	  "abc\b \b\b \bx\r\n" },
	{ "backspace 0x7f", "abc\x7f\r", 0, LE_LINE, "ab", "abc\b \b\r\n" },
	{ "backspace on empty line", "\b\x7f\bok\r", 0, LE_LINE, "ok",
	  "ok\r\n" },
	{ "backspace past start", "ab\b\b\b\bc\r", 0, LE_LINE, "c",
	  "ab\b \b\b \bc\r\n" },
	{ "ctrl-u", "abc\x15xy\r", 0, LE_LINE, "xy",
	  "abc\b \b\b \b\b \bxy\r\n" },
	{ "ctrl-u on empty line", "\x15z\r", 0, LE_LINE, "z", "z\r\n" },
	{ "ctrl-c", "abc\x03", 0, LE_LINE, "", "abc^C\r\n" },
	{ "ctrl-c forgets garbage", "a\x01\x03", 0, LE_LINE, "", "a^C\r\n" },
	{ "ctrl-u forgets garbage", "a\x01\x15ok\r", 0, LE_LINE, "ok", NULL },
	{ "CSI right arrow", "a\x1b[Cb\r", 0, LE_LINE, "ab", "ab\r\n" },
	{ "CSI with parameters", "a\x1b[1;5Cb\r", 0, LE_LINE, "ab", NULL },
	{ "bracketed paste marks", "a\x1b[200~b\x1b[201~\r", 0, LE_LINE,
	  "ab", "ab\r\n" },
	{ "SS3 F1", "a\x1bOPb\r", 0, LE_LINE, "ab", NULL },
	{ "two-byte ESC c", "a\x1b" "cb\r", 0, LE_LINE, "ab", NULL },
	{ "ESC ESC [ D", "a\x1b\x1b[Db\r", 0, LE_LINE, "ab", NULL },
	{ "ESC then CR still ends", "a\x1b\r", 0, LE_LINE, "a", NULL },
	{ "CSI cut by CR", "a\x1b[12\r", 0, LE_LINE, "a", NULL },
	{ "param up, no history", "a\x1b[1;5A\r", 0, LE_LINE, "a", NULL },
	{ "tab", "a\tb\r", 0, LE_LINE_ERROR, ERR_BYTES(1), "ab\r\n" },
	{ "high bytes", "a\x80\xff" "b\x01\r", 0, LE_LINE_ERROR,
	  ERR_BYTES(3), "ab\r\n" },
	{ "NUL byte", "\0\r", 2, LE_LINE_ERROR, ERR_BYTES(1), NULL },
	{ "ESC then control byte", "\x1b\x02x\r", 0, LE_LINE_ERROR,
	  ERR_BYTES(1), "x\r\n" },
};

static void run_line_case(struct fixture *f, const struct line_case *c)
{
	size_t n = c->in_len ? c->in_len : strlen(c->in);
	enum le_result r;

	le_init(&f->le, sink_out, &f->echo);
	sink_reset(&f->echo);
	r = feed(&f->le, c->in, n);
	if (r != c->result)
		fail_msg("%s: result %d, want %d", c->name, r, c->result);
	if (strcmp(r == LE_LINE ? f->le.line : f->le.error, c->text))
		fail_msg("%s: got \"%s\", want \"%s\"", c->name,
			 r == LE_LINE ? f->le.line : f->le.error, c->text);
	if (c->echo && strcmp(f->echo.buf, c->echo))
		fail_msg("%s: echo \"%s\", want \"%s\"", c->name, f->echo.buf,
			 c->echo);
	/* Whatever came before, the next clean line is accepted. */
	enter(&f->le, "next");
}

static void test_line_table(void **state)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(line_cases); i++)
		run_line_case(*state, &line_cases[i]);
}

static void test_crlf_is_one_line_end(void **state)
{
	struct fixture *f = *state;
	struct line_editor *le = &f->le;

	assert_int_equal(feed_str(le, "a\r"), LE_LINE);
	assert_string_equal(le->line, "a");
	assert_int_equal(le_feed(le, '\n'), LE_CONTINUE);
	assert_int_equal(feed_str(le, "\r"), LE_LINE);
	assert_string_equal(le->line, "");
	assert_int_equal(le_feed(le, '\n'), LE_CONTINUE);
	/* Bare LFs each end a line. */
	assert_int_equal(feed_str(le, "b\n"), LE_LINE);
	assert_string_equal(le->line, "b");
	assert_int_equal(le_feed(le, '\n'), LE_LINE);
	assert_string_equal(le->line, "");
	/* Only the LF right after a CR is swallowed. */
	assert_int_equal(feed_str(le, "c\r"), LE_LINE);
	assert_int_equal(feed_str(le, "d\n"), LE_LINE);
	assert_string_equal(le->line, "d");
	assert_int_equal(le_feed(le, '\r'), LE_LINE);
	assert_int_equal(le_feed(le, '\r'), LE_LINE);
	assert_int_equal(le_feed(le, '\n'), LE_CONTINUE);
}

static void fill(struct line_editor *le, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(le_feed(le, 'x'), LE_CONTINUE);
}

static void test_too_long_line_then_good_line(void **state)
{
	struct fixture *f = *state;
	struct line_editor *le = &f->le;

	sink_reset(&f->echo);
	fill(le, 1000);
	assert_int_equal(le_feed(le, '\r'), LE_LINE_ERROR);
	assert_string_equal(le->error, "line too long (max 127 characters)");
	/* Only what fits was echoed. */
	assert_int_equal(f->echo.len, MON_LINE_MAX - 1 + 2);
	assert_string_equal(f->echo.buf + MON_LINE_MAX - 1, "\r\n");
	assert_int_equal(le->hist_count, 0);
	enter(le, "ok");

	/* Exactly MON_LINE_MAX - 1 characters fit. */
	fill(le, MON_LINE_MAX - 1);
	assert_int_equal(le_feed(le, '\r'), LE_LINE);
	assert_int_equal(strlen(le->line), MON_LINE_MAX - 1);

	/* Backspacing what was shown does not make an overlong line fit... */
	fill(le, MON_LINE_MAX + 2);
	assert_int_equal(feed_str(le, "\b\b\b\r"), LE_LINE_ERROR);
	/* ...but Ctrl-U starts over. */
	fill(le, MON_LINE_MAX + 2);
	assert_int_equal(le_feed(le, 0x15), LE_CONTINUE);
	enter(le, "fine");
}

static void test_garbage_then_good_line(void **state)
{
	struct line_editor *le = &((struct fixture *)*state)->le;
	int i;

	for (i = 0; i < 300; i++)
		le_feed(le, (u8)(0x80 + i % 0x80));
	assert_int_equal(le_feed(le, '\r'), LE_LINE_ERROR);
	assert_string_equal(le->error, "line had 300 non-printable bytes");
	assert_int_equal(le->hist_count, 0);
	enter(le, "status");
}

static void test_long_escape_parameters_stay_bounded(void **state)
{
	struct line_editor *le = &((struct fixture *)*state)->le;
	int i;

	assert_int_equal(feed_str(le, "\x1b["), LE_CONTINUE);
	for (i = 0; i < 100000; i++)
		assert_int_equal(le_feed(le, (u8)"0123456789;"[i % 11]),
				 LE_CONTINUE);
	assert_int_equal(le->len, 0);
	assert_int_equal(le_feed(le, 'm'), LE_CONTINUE);
	enter(le, "ok");
}

static const char up[] = "\x1b[A", down[] = "\x1b[B";

static void expect_shown(struct line_editor *le, const char *key,
			 const char *want)
{
	assert_int_equal(feed_str(le, key), LE_CONTINUE);
	assert_int_equal(le->len, strlen(want));
	assert_memory_equal(le->buf, want, le->len);
}

static void test_history_up_down(void **state)
{
	struct fixture *f = *state;
	struct line_editor *le = &f->le;

	enter(le, "one");
	enter(le, "two");
	enter(le, "three");
	sink_reset(&f->echo);

	expect_shown(le, up, "three");
	assert_string_equal(f->echo.buf, "three");
	expect_shown(le, up, "two");
	assert_string_equal(f->echo.buf,
			    "three\b \b\b \b\b \b\b \b\b \btwo");
	expect_shown(le, "\x1bOA", "one");
	expect_shown(le, up, "one"); /* oldest: stays */
	expect_shown(le, down, "two");
	expect_shown(le, "\x1bOB", "three");
	sink_reset(&f->echo);
	expect_shown(le, down, "");  /* back to an empty new line */
	assert_string_equal(f->echo.buf, "\b \b\b \b\b \b\b \b\b \b");
	sink_reset(&f->echo);
	expect_shown(le, down, "");
	assert_string_equal(f->echo.buf, "");

	/* A recalled line can be edited and entered. */
	expect_shown(le, up, "three");
	assert_int_equal(feed_str(le, "\x7f\x7f\x7f\x7fx"), LE_CONTINUE);
	assert_int_equal(le_feed(le, '\r'), LE_LINE);
	assert_string_equal(le->line, "tx");
	assert_int_equal(le->hist_count, 4);
	expect_shown(le, up, "tx");
}

static void test_history_replaces_typed_text(void **state)
{
	struct fixture *f = *state;
	struct line_editor *le = &f->le;

	enter(le, "vm list");
	sink_reset(&f->echo);
	assert_int_equal(feed_str(le, "ab\x01"), LE_CONTINUE);
	expect_shown(le, up, "vm list");
	assert_string_equal(f->echo.buf, "ab\b \b\b \bvm list");
	/* The garbage went with the text it was typed into. */
	assert_int_equal(le_feed(le, '\r'), LE_LINE);
	assert_string_equal(le->line, "vm list");
}

static void test_history_no_duplicates_no_empty(void **state)
{
	struct line_editor *le = &((struct fixture *)*state)->le;

	enter(le, "a");
	enter(le, "a");
	enter(le, "");
	feed_str(le, "bad\x01\r");
	assert_int_equal(le->hist_count, 1);
	enter(le, "b");
	enter(le, "a");
	assert_int_equal(le->hist_count, 3);
	expect_shown(le, up, "a");
	expect_shown(le, up, "b");
	expect_shown(le, up, "a");
	expect_shown(le, up, "a");
}

static void test_history_ring_limit(void **state)
{
	struct line_editor *le = &((struct fixture *)*state)->le;
	char name[16];
	int i;

	for (i = 0; i < MON_HISTORY + 5; i++) {
		snprintf(name, sizeof(name), "cmd%d", i);
		enter(le, name);
	}
	assert_int_equal(le->hist_count, MON_HISTORY);
	for (i = MON_HISTORY + 4; i >= 5; i--) {
		snprintf(name, sizeof(name), "cmd%d", i);
		expect_shown(le, up, name);
	}
	expect_shown(le, up, "cmd5");
	expect_shown(le, down, "cmd6");
}

static void test_no_echo_callback(void **state)
{
	struct line_editor *le = &((struct fixture *)*state)->le;

	le_init(le, NULL, NULL);
	enter(le, "quiet");
	expect_shown(le, up, "quiet");
	assert_int_equal(feed_str(le, "\x15\x03"), LE_LINE);
}

/* JSON mode: lines, errors and history as ever, but nothing shown. */
static void test_quiet_echoes_nothing(void **state)
{
	struct fixture *f = *state;
	struct line_editor *le = &f->le;
	char longline[MON_LINE_MAX + 2];

	le->quiet = true;
	enter(le, "json on");
	assert_int_equal(feed_str(le, "ab\b\x15x\x1b[A\x1b[B\x03"), LE_LINE);
	assert_int_equal(feed_str(le, "bad\x01\r"), LE_LINE_ERROR);
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 2] = '\r';
	longline[sizeof(longline) - 1] = '\0';
	assert_int_equal(feed_str(le, longline), LE_LINE_ERROR);
	assert_int_equal(feed_str(le, "\x1b[Aq\r"), LE_LINE);
	assert_string_equal(le->line, "json onq");
	assert_int_equal(f->echo.len, 0);
	le->quiet = false;
	feed_str(le, "v");
	assert_string_equal(f->echo.buf, "v");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_line_table),
		T(test_crlf_is_one_line_end),
		T(test_too_long_line_then_good_line),
		T(test_garbage_then_good_line),
		T(test_long_escape_parameters_stay_bounded),
		T(test_history_up_down),
		T(test_history_replaces_typed_text),
		T(test_history_no_duplicates_no_empty),
		T(test_history_ring_limit),
		T(test_no_echo_callback),
		T(test_quiet_echoes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
