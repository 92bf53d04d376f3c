/*
 * Monitor command dispatcher: splits a line into words, finds the command
 * in a table and checks its argument count before calling it, so command
 * handlers only ever see argument counts they declared.
 *
 * Output goes to a serial terminal, so every line ends in "\r\n". In JSON
 * mode it is captured instead and sent as one JSON line (json.c) once the
 * command returns, so no command needs to know about the mode.
 */
#include <lamina/monitor.h>
#include <lamina/errno.h>
#include <lamina/lib.h>

#define MON_PRINTF_MAX 320 /* a whole log line (LOG_LINE_MAX) and CR LF */
#define HELP_COLUMN 24 /* where summaries start in the "help" list */

static void out(struct mon_ctx *ctx, const char *s, size_t n)
{
	if (ctx->out && n)
		ctx->out(ctx->out_ctx, s, n);
}

void mon_printf(struct mon_ctx *ctx, const char *fmt, ...)
{
	char buf[MON_PRINTF_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/*
	 * Longer output is cut, never overflowed: vsnprintf stopped at the
	 * buffer's end and n is only the length it wanted.
	 */
	out(ctx, buf, MIN((size_t)n, sizeof(buf) - 1));
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

int mon_tokenize(char *line, char **argv, int max)
{
	int argc = 0;

	for (;;) {
		while (is_space(*line))
			line++;
		if (!*line)
			return argc;
		if (argc >= max)
			return -HV_E2BIG;
		argv[argc++] = line;
		while (*line && !is_space(*line))
			line++;
		if (*line)
			*line++ = '\0';
	}
}

const struct mon_cmd *mon_find(const struct mon_ctx *ctx, const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < ctx->nr_cmds; i++)
		if (!strcmp(ctx->cmds[i].name, name))
			return &ctx->cmds[i];
	return NULL;
}

/*
 * The usage string and what separates it from the name: a command without
 * arguments shows as "NAME", not "NAME " with a trailing space.
 */
static const char *usage_of(const struct mon_cmd *cmd)
{
	return cmd->usage ? cmd->usage : "";
}

static const char *usage_sep(const struct mon_cmd *cmd)
{
	return *usage_of(cmd) ? " " : "";
}

static bool takes_line(const struct mon_ctx *ctx, const struct mon_cmd *cmd)
{
	size_t i;

	for (i = 0; i < ctx->nr_takes_line; i++)
		if (ctx->takes_line[i] == cmd->fn)
			return true;
	return false;
}

/*
 * Tokenize and run @line. *@name is set to the command word as typed, or
 * NULL for an empty line; it points into @line.
 */
static int run_line(struct mon_ctx *ctx, char *line, const char **name)
{
	char *argv[MON_MAX_ARGS];
	const struct mon_cmd *cmd;
	int argc = mon_tokenize(line, argv, MON_MAX_ARGS);

	/* With too many words, argv[0] was still split off. */
	*name = argc ? argv[0] : NULL;
	if (argc < 0) {
		mon_printf(ctx, "error: too many arguments (max %d)\r\n",
			   MON_MAX_ARGS - 1);
		return argc;
	}
	if (!argc)
		return 0;

	cmd = mon_find(ctx, argv[0]);
	if (!cmd) {
		mon_printf(ctx,
			   "error: unknown command '%s' (type 'help' for a list)\r\n",
			   argv[0]);
		return -HV_ENOENT;
	}
	if (argc - 1 < cmd->min_args || argc - 1 > cmd->max_args) {
		mon_printf(ctx, "error: usage: %s%s%s\r\n", cmd->name,
			   usage_sep(cmd), usage_of(cmd));
		return -HV_EINVAL;
	}
	if (mon_json_on(ctx) && takes_line(ctx, cmd)) {
		mon_printf(ctx,
			   "error: '%s' takes over the serial line: not in JSON mode (send 'json off' first)\r\n",
			   cmd->name);
		return -HV_EPERM;
	}
	if (!cmd->fn)
		return -HV_ENOSYS;
	return cmd->fn(ctx, argc, argv);
}

/* Whether @line's first word is @word (before tokenizing). */
static bool first_word_is(const char *line, const char *word)
{
	size_t n = strlen(word);

	while (is_space(*line))
		line++;
	return !strncmp(line, word, n) && (!line[n] || is_space(line[n]));
}

static void capture(void *c, const char *s, size_t n)
{
	struct mon_json *j = c;
	size_t room = sizeof(j->raw) - j->raw_len;

	if (n > room) {
		j->raw_cut = true;
		n = room;
	}
	memcpy(j->raw + j->raw_len, s, n);
	j->raw_len += n;
}

/* The JSON reply for what is in json->raw, in one write. */
static void send_reply(struct mon_ctx *ctx, const char *name, int ret)
{
	struct mon_json *j = ctx->json;
	struct json_reply r = {
		.cmd = name,
		.ret = ret,
		.out = j->raw,
		.out_len = j->raw_len,
		.out_cut = j->raw_cut,
	};

	BUILD_BUG_ON(sizeof(j->reply) < JSON_REPLY_MIN);
	out(ctx, j->reply, json_reply(j->reply, sizeof(j->reply), &r));
}

static int dispatch_json(struct mon_ctx *ctx, char *line)
{
	struct mon_json *j = ctx->json;
	mon_out_fn saved_out = ctx->out;
	void *saved_ctx = ctx->out_ctx;
	bool was_on = j->on;
	const char *name;
	int ret;

	j->raw_len = 0;
	j->raw_cut = false;
	ctx->out = capture;
	ctx->out_ctx = j;
	ret = run_line(ctx, line, &name);
	ctx->out = saved_out;
	ctx->out_ctx = saved_ctx;

	if (!name)
		return ret;            /* an empty line: no reply */
	if (!was_on && !j->on)
		out(ctx, j->raw, j->raw_len); /* `json` in text mode: text */
	else
		send_reply(ctx, name, ret);
	return ret;
}

int mon_dispatch(struct mon_ctx *ctx, char *line)
{
	const char *name;

	/*
	 * `json on` and `json off` answer in JSON whichever mode they leave,
	 * so a client can always find the reply to the one it sent.
	 */
	if (ctx->json && (ctx->json->on || first_word_is(line, "json")))
		return dispatch_json(ctx, line);
	return run_line(ctx, line, &name);
}

void mon_reject_line(struct mon_ctx *ctx, const char *why)
{
	struct mon_json *j = ctx->json;
	int n;

	if (!mon_json_on(ctx)) {
		mon_printf(ctx, "error: %s\r\n", why);
		return;
	}
	n = snprintf(j->raw, sizeof(j->raw), "error: %s\r\n", why);
	j->raw_len = MIN((size_t)MAX(n, 0), sizeof(j->raw) - 1);
	j->raw_cut = false;
	send_reply(ctx, "", -HV_EINVAL);
}

/* Width of "NAME USAGE" as shown. */
static size_t synopsis_len(const struct mon_cmd *cmd)
{
	return strlen(cmd->name) + strlen(usage_sep(cmd)) +
	       strlen(usage_of(cmd));
}

static void print_spaces(struct mon_ctx *ctx, size_t n)
{
	static const char spaces[] = "                ";

	while (n) {
		size_t chunk = MIN(n, sizeof(spaces) - 1);

		out(ctx, spaces, chunk);
		n -= chunk;
	}
}

/* Print @text, which may hold several '\n'-separated lines, as CR LF lines. */
static void print_text(struct mon_ctx *ctx, const char *text)
{
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);

		out(ctx, text, n);
		out(ctx, "\r\n", 2);
		text += n + (nl ? 1 : 0);
	}
}

static void help_list(struct mon_ctx *ctx)
{
	size_t i, width = 0;

	for (i = 0; i < ctx->nr_cmds; i++)
		width = MAX(width, synopsis_len(&ctx->cmds[i]));
	/* A very long synopsis must not push every summary off the screen. */
	width = MIN(width, (size_t)HELP_COLUMN);

	mon_printf(ctx, "Commands (type 'help NAME' for details):\r\n");
	for (i = 0; i < ctx->nr_cmds; i++) {
		const struct mon_cmd *cmd = &ctx->cmds[i];
		size_t len = synopsis_len(cmd);

		mon_printf(ctx, "  %s%s%s", cmd->name, usage_sep(cmd),
			   usage_of(cmd));
		print_spaces(ctx, len < width ? width - len : 0);
		mon_printf(ctx, "  %s\r\n", cmd->summary ? cmd->summary : "");
	}
}

int mon_cmd_help(struct mon_ctx *ctx, int argc, char **argv)
{
	const struct mon_cmd *cmd;

	if (argc < 2) {
		help_list(ctx);
		return 0;
	}
	cmd = mon_find(ctx, argv[1]);
	if (!cmd) {
		mon_printf(ctx, "error: no command '%s'\r\n", argv[1]);
		return -HV_ENOENT;
	}
	mon_printf(ctx, "%s%s%s\r\n", cmd->name, usage_sep(cmd),
		   usage_of(cmd));
	if (cmd->summary)
		print_text(ctx, cmd->summary);
	if (cmd->help)
		print_text(ctx, cmd->help);
	return 0;
}

int mon_cmd_json(struct mon_ctx *ctx, int argc, char **argv)
{
	struct mon_json *j = ctx->json;

	if (!j) {
		mon_printf(ctx, "error: JSON mode is not available here\r\n");
		return -HV_ENOSYS;
	}
	if (argc > 1 && !strcmp(argv[1], "on")) {
		j->on = true;
	} else if (argc > 1 && !strcmp(argv[1], "off")) {
		j->on = false;
	} else if (argc > 1) {
		mon_printf(ctx, "error: usage: json [on|off]\r\n");
		return -HV_EINVAL;
	}
	mon_printf(ctx, "json: %s\r\n", j->on ? "on" : "off");
	return 0;
}
