/*
 * libFuzzer target for the monitor: input bytes go through the line editor
 * as if typed on the serial port, and every accepted line is dispatched
 * over a small command table. Besides the sanitizers it checks the
 * editor's bounds and that dispatcher output ends in CR LF; once the input
 * has typed `json on`, that each line gets at most one write, a JSON
 * object, and that the editor echoes nothing.
 */
#include <lamina/monitor.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

struct sink {
	size_t total;
	unsigned int writes;
	char first;   /* the first byte of the last write */
	char last[2]; /* the last two bytes written */
};

static void sink_out(void *ctx, const char *s, size_t n)
{
	struct sink *sink = ctx;

	sink->writes++;
	sink->first = n ? s[0] : 0;
	if (n >= 2) {
		sink->last[0] = s[n - 2];
		sink->last[1] = s[n - 1];
	} else if (n == 1) {
		sink->last[0] = sink->last[1];
		sink->last[1] = s[0];
	}
	sink->total += n;
}

static int cmd_echo(struct mon_ctx *ctx, int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		mon_printf(ctx, "%s%s", argv[i], i + 1 < argc ? " " : "");
	mon_printf(ctx, "\r\n");
	return 0;
}

static int cmd_add(struct mon_ctx *ctx, int argc, char **argv)
{
	u64 a, b;
	int err;

	(void)argc;
	err = parse_u64(argv[1], &a);
	if (!err)
		err = parse_u64(argv[2], &b);
	if (err) {
		mon_printf(ctx, "error: bad number (%d)\r\n", err);
		return err;
	}
	mon_printf(ctx, "%llu (0x%llx)\r\n", (unsigned long long)(a + b),
		   (unsigned long long)(a + b));
	return 0;
}

static int cmd_quiet(struct mon_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return 0;
}

static const struct mon_cmd cmds[] = {
	{ "help", "[COMMAND]", "list commands or describe one", NULL, 0, 1,
	  mon_cmd_help },
	{ "echo", "[WORD...]", "print the words", "Prints its arguments.\n"
	  "Separated by one space.", 0, MON_MAX_ARGS - 1, cmd_echo },
	{ "add", "A B", "add two numbers", NULL, 2, 2, cmd_add },
	{ "nop", "", "do nothing", NULL, 0, 0, cmd_quiet },
	{ "json", "[on|off]", "reply mode", NULL, 0, 1, mon_cmd_json },
	{ "grab", "", "take the line", NULL, 0, 0, cmd_echo },
};

static const mon_cmd_fn line_takers[] = { cmd_echo };

static void check_editor(const struct line_editor *le)
{
	if (le->len >= MON_LINE_MAX || le->hist_count > MON_HISTORY ||
	    le->hist_next >= MON_HISTORY ||
	    le->hist_pos >= (int)le->hist_count || le->hist_pos < -1)
		__builtin_trap();
}

static void run_line(struct mon_ctx *ctx, struct sink *out, char *line)
{
	size_t before = out->total;
	unsigned int writes = out->writes;
	bool json = mon_json_on(ctx);

	if (strnlen(line, MON_LINE_MAX) >= MON_LINE_MAX)
		__builtin_trap();
	mon_dispatch(ctx, line);
	/* Whatever it printed was whole lines for a serial terminal. */
	if (out->total != before &&
	    (out->last[0] != '\r' || out->last[1] != '\n'))
		__builtin_trap();
	/* In JSON mode, one JSON line or nothing. */
	if (json && (out->writes > writes + 1 ||
		     (out->writes > writes && out->first != '{')))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct line_editor le;
	static struct mon_json json;
	struct sink echo = { 0 }, out = { 0 };
	struct mon_ctx ctx = {
		.out = sink_out,
		.out_ctx = &out,
		.cmds = cmds,
		.nr_cmds = ARRAY_SIZE(cmds),
		.json = &json,
		.takes_line = line_takers,
		.nr_takes_line = ARRAY_SIZE(line_takers),
	};
	size_t i;

	json.on = false;
	le_init(&le, sink_out, &echo);
	for (i = 0; i < size; i++) {
		size_t echoed = echo.total;
		enum le_result r = le_feed(&le, data[i]);

		check_editor(&le);
		if (le.quiet && echo.total != echoed)
			__builtin_trap();
		if (r == LE_LINE)
			run_line(&ctx, &out, le.line);
		else if (r == LE_LINE_ERROR &&
			 strnlen(le.error, sizeof(le.error)) >= sizeof(le.error))
			__builtin_trap();
		else if (r == LE_LINE_ERROR)
			mon_reject_line(&ctx, le.error);
		le.quiet = json.on; /* as monitor.c does */
	}
	return 0;
}
