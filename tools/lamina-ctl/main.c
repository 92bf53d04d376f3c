/*
 * lamina-ctl [--timeout S] [--json] [--delay MS]
 *            (--serial DEV [--baud N] | --unix PATH) COMMAND...
 *
 * Runs one monitor command and prints its output. It switches the monitor
 * to JSON mode first ("json on", harmless when it is on already), sends
 * the command, and reads lines until the command's reply, skipping log
 * lines ({"log":...}) and anything that is not JSON (a prompt, the echo
 * of what it typed, old output). The monitor stays in JSON mode.
 *
 * Exit status: 0 the command succeeded, 1 it failed (its error on
 * stderr), 2 usage, I/O error or time-out.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/monitor.h>

#include "ctl.h"

#define EXIT_CMD_FAILED 1
#define EXIT_TROUBLE 2
#define CTRL_U "\x15" /* drops a half-typed line in the monitor's editor */

struct opts {
	double timeout;
	const char *serial;
	const char *unix_path;
	unsigned int baud;
	unsigned int delay_ms;
	bool json;
	char command[MON_LINE_MAX];
	char name[MON_LINE_MAX]; /* its first word: the reply's "cmd" */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: lamina-ctl [--timeout S] [--json] [--delay MS]\n"
		"                  (--serial DEV [--baud N] | --unix PATH) COMMAND...\n"
		"Runs one Lamina monitor command in JSON mode and prints its output.\n"
		"  --serial DEV  a serial device or pseudo-terminal (set raw, 8N1)\n"
		"  --baud N      its speed (default 115200)\n"
		"  --unix PATH   a Unix socket (QEMU -serial unix:PATH,server=on)\n"
		"  --timeout S   give up after S seconds (default 10)\n"
		"  --json        print the reply line as it came\n"
		"  --delay MS    pause after each byte sent (a receiver that overruns)\n"
		"Exit status: 0 ok, 1 the command failed, 2 usage, I/O error or time-out.\n");
}

static bool parse_uint(const char *s, unsigned int *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || n > 100000000UL || *s == '-')
		return false;
	*v = (unsigned int)n;
	return true;
}

/* COMMAND... joined by spaces: printable ASCII that fits the editor. */
static bool join_command(struct opts *o, int argc, char **argv)
{
	size_t len = 0;

	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);

		if (len + n + (i > 0) >= sizeof(o->command)) {
			fprintf(stderr, "lamina-ctl: command longer than %d characters\n",
				MON_LINE_MAX - 1);
			return false;
		}
		if (i > 0)
			o->command[len++] = ' ';
		memcpy(o->command + len, argv[i], n);
		len += n;
	}
	o->command[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (o->command[i] < 0x20 || o->command[i] > 0x7e) {
			fprintf(stderr, "lamina-ctl: the command must be printable ASCII\n");
			return false;
		}
	}
	if (sscanf(o->command, "%127s", o->name) != 1) {
		fprintf(stderr, "lamina-ctl: empty command\n");
		return false;
	}
	return true;
}

static bool parse_args(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "serial", required_argument, NULL, 's' },
		{ "baud", required_argument, NULL, 'b' },
		{ "unix", required_argument, NULL, 'u' },
		{ "delay", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;

	*o = (struct opts){ .timeout = 10, .baud = 115200 };
	/* "+": options end at the command, which may hold words like -1. */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->timeout = strtod(optarg, &end);
			if (end == optarg || *end || !(o->timeout > 0))
				return false;
			break;
		case 's':
			o->serial = optarg;
			break;
		case 'u':
			o->unix_path = optarg;
			break;
		case 'b':
			if (!parse_uint(optarg, &o->baud))
				return false;
			break;
		case 'd':
			if (!parse_uint(optarg, &o->delay_ms))
				return false;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return false;
		}
	}
	if (!o->serial == !o->unix_path || optind >= argc) {
		fprintf(stderr, "lamina-ctl: give one of --serial and --unix, then a command\n");
		return false;
	}
	return join_command(o, argc - optind, argv + optind);
}

/*
 * Read until the reply of command @name (or of a line the editor
 * rejected, "cmd":"", when @or_rejected). 1 with the reply in @r and its
 * line in *@line, or 0 with a message.
 */
static int await_reply(struct conn *c, double deadline, const char *name,
		       bool or_rejected, struct reply *r, char **line,
		       size_t *len)
{
	for (;;) {
		int got = conn_read_line(c, deadline, line, len);

		if (got <= 0) {
			if (!got)
				fprintf(stderr, "lamina-ctl: no reply to '%s' in time\n",
					name);
			return 0;
		}
		if (reply_parse(r, *line, *len) == REPLY_COMMAND && r->cmd.s &&
		    (!strcmp(r->cmd.s, name) || (or_rejected && !r->cmd.len)))
			return 1;
		reply_free(r);
	}
}

static void print_str(FILE *f, const struct reply_str *s)
{
	fwrite(s->s, 1, s->len, f);
	fputc('\n', f);
}

static int report(const struct opts *o, const struct reply *r,
		  const char *line, size_t len)
{
	if (o->json) {
		fwrite(line, 1, len, stdout);
		fputc('\n', stdout);
	} else {
		for (size_t i = 0; i < r->nr_output; i++)
			print_str(stdout, &r->output[i]);
	}
	if (!r->ok && !o->json) {
		fputs("error: ", stderr);
		if (r->error.s)
			print_str(stderr, &r->error);
		else
			fputs("(no message)\n", stderr);
	}
	if (r->truncated && !o->json)
		fprintf(stderr, "lamina-ctl: the reply was truncated\n");
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "lamina-ctl: stdout: %s\n", strerror(errno));
		return EXIT_TROUBLE;
	}
	return r->ok ? 0 : EXIT_CMD_FAILED;
}

static int run(const struct opts *o, struct conn *c)
{
	static const char json_on[] = CTRL_U "json on\r";
	double deadline = now_s() + o->timeout;
	char cmd[MON_LINE_MAX + 2];
	struct reply r;
	char *line;
	size_t len;
	int ret;

	if (conn_send(c, json_on, sizeof(json_on) - 1, o->delay_ms, deadline))
		return EXIT_TROUBLE;
	if (!await_reply(c, deadline, "json", false, &r, &line, &len))
		return EXIT_TROUBLE;
	if (!r.ok) {
		fprintf(stderr, "lamina-ctl: 'json on' failed: %s\n",
			r.error.s ? r.error.s : "(no message)");
		reply_free(&r);
		return EXIT_TROUBLE;
	}
	reply_free(&r);

	len = (size_t)snprintf(cmd, sizeof(cmd), "%s\r", o->command);
	if (conn_send(c, cmd, len, o->delay_ms, deadline))
		return EXIT_TROUBLE;
	if (!await_reply(c, deadline, o->name, true, &r, &line, &len))
		return EXIT_TROUBLE;
	ret = report(o, &r, line, len);
	reply_free(&r);
	return ret;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct conn c;
	int ret;

	if (!parse_args(&o, argc, argv)) {
		usage(stderr);
		return EXIT_TROUBLE;
	}
	if (o.serial ? conn_open_serial(&c, o.serial, o.baud) :
	    conn_open_unix(&c, o.unix_path))
		return EXIT_TROUBLE;
	ret = run(&o, &c);
	conn_close(&c);
	return ret;
}
