/*
 * The serial monitor: a line editor fed one byte at a time, and a command
 * table dispatcher. Both are pure (kernel/monitor/line.c, dispatch.c): the
 * hypervisor feeds them UART bytes, the unit tests and fuzzer feed buffers.
 */
#ifndef LAMINA_MONITOR_H
#define LAMINA_MONITOR_H

#include <lamina/compiler.h>
#include <stdarg.h>

#define MON_LINE_MAX 128 /* including the terminating NUL */
#define MON_HISTORY 16
#define MON_MAX_ARGS 16
#define MON_PROMPT "lamina> "

typedef void (*mon_out_fn)(void *ctx, const char *s, size_t n);

enum le_result {
	LE_CONTINUE,   /* keep feeding */
	LE_LINE,       /* le->line holds a complete line (may be empty) */
	LE_LINE_ERROR, /* the line was rejected; le->error says why */
};

struct line_editor {
	char buf[MON_LINE_MAX];  /* line being edited */
	unsigned int len;
	bool overflow;           /* more characters than fit were typed */
	unsigned int garbage;    /* non-printable bytes typed into this line */
	unsigned int esc;        /* escape-sequence parser state */
	bool last_cr;            /* swallow the LF of a CR LF pair */

	char history[MON_HISTORY][MON_LINE_MAX];
	unsigned int hist_count; /* entries stored, at most MON_HISTORY */
	unsigned int hist_next;  /* slot the next entry goes to */
	int hist_pos;            /* -1: editing a new line; else entries back */

	char line[MON_LINE_MAX];  /* result of LE_LINE */
	char error[64];           /* result of LE_LINE_ERROR */

	mon_out_fn echo;          /* echo and redraw go here */
	void *echo_ctx;
	bool quiet;               /* no echo or redraw (JSON mode) */
};

void le_init(struct line_editor *le, mon_out_fn echo, void *echo_ctx);

/*
 * Feed one received byte. Printable ASCII is inserted and echoed; backspace
 * (0x08 or 0x7f) erases one character, Ctrl-U the whole line, Ctrl-C abandons
 * it; Up/Down (ESC [ A / ESC [ B, or ESC O A/B) step through history; CR, LF
 * or CR LF ends the line. A line that overflowed or held other bytes is
 * rejected with LE_LINE_ERROR when it ends.
 */
enum le_result le_feed(struct line_editor *le, u8 byte);

struct mon_ctx;
typedef int (*mon_cmd_fn)(struct mon_ctx *ctx, int argc, char **argv);

/*
 * JSON mode ("json on", docs/monitor.md): a command's output is captured
 * in @raw, then sent as one line of JSON built in @reply. Output beyond
 * MON_JSON_MAX is dropped and the reply says "truncated":true.
 */
#define MON_JSON_MAX (16 * 1024)

struct mon_json {
	bool on;
	size_t raw_len;
	bool raw_cut;               /* the command printed more than @raw holds */
	char raw[MON_JSON_MAX];
	char reply[MON_JSON_MAX];
};

struct mon_ctx {
	mon_out_fn out;
	void *out_ctx;
	const struct mon_cmd *cmds;
	size_t nr_cmds;
	struct mon_json *json;        /* NULL: no JSON mode */
	/* Commands that take the serial line over: refused in JSON mode. */
	const mon_cmd_fn *takes_line;
	size_t nr_takes_line;
};

struct mon_cmd {
	const char *name;
	const char *usage;   /* arguments, e.g. "[VM]" ("" for none) */
	const char *summary; /* one line for the help list */
	const char *help;    /* longer text for "help NAME" (may be NULL) */
	int min_args;        /* not counting the command name */
	int max_args;
	mon_cmd_fn fn;
};

void mon_printf(struct mon_ctx *ctx, const char *fmt, ...) __printf(2, 3);

/*
 * Split @line in place on spaces and tabs. Returns argc, or -HV_E2BIG when
 * there are more than @max words.
 */
int mon_tokenize(char *line, char **argv, int max);

const struct mon_cmd *mon_find(const struct mon_ctx *ctx, const char *name);

/*
 * Run one line: tokenize, find the command, check the argument count, call
 * it. An empty line does nothing. Errors print one line starting "error: "
 * (unknown command, wrong arguments with the usage) and return negative.
 * In JSON mode (and for the `json` command itself) the output is captured
 * and sent as one JSON line through one call of ctx->out.
 */
int mon_dispatch(struct mon_ctx *ctx, char *line);

/* A line the editor rejected: an "error:" line, or its JSON reply. */
void mon_reject_line(struct mon_ctx *ctx, const char *why);

static inline bool mon_json_on(const struct mon_ctx *ctx)
{
	return ctx->json && ctx->json->on;
}

/*
 * JSON text (kernel/monitor/json.c). Every byte outside printable ASCII,
 * and '"' and '\\', is escaped, so the result is plain ASCII.
 *
 * json_escape: as many whole escaped bytes of @s[0..@n) as fit in @size
 * bytes of @dst (no NUL); returns the length written, *@used the bytes of
 * @s consumed.
 */
size_t json_escape(char *dst, size_t size, const char *s, size_t n,
		   size_t *used);

/* What a command did, for json_reply(). */
struct json_reply {
	const char *cmd;  /* the command word as typed ("" for none) */
	int ret;          /* what the command returned */
	const char *out;  /* what it printed: CR LF (or LF) separated lines */
	size_t out_len;
	bool out_cut;     /* it printed more than @out holds */
};

#define JSON_REPLY_MIN 1024 /* smallest @size json_reply() accepts */

/*
 * The reply line, ending in CR LF, NUL-terminated in @dst; returns its
 * length (0 when @size < JSON_REPLY_MIN). It is ok unless the command
 * returned negative or printed a line starting "error: ":
 *   {"ok":true,"cmd":"NAME","output":["line",...]}
 *   {"ok":false,"cmd":"NAME","error":"text after error: ","output":[...]}
 * with ,"truncated":true before the '}' when output was lost.
 */
size_t json_reply(char *dst, size_t size, const struct json_reply *r);

/* {"log":"LINE"} CR LF for a log line (a trailing LF in @s is dropped). */
size_t json_log_line(char *dst, size_t size, const char *s, size_t n);

/*
 * Hex digits (two per byte, an optional 0x) into @buf: 0, -HV_EINVAL for
 * an odd count or a non-digit, -HV_E2BIG for more than @max bytes.
 */
int mon_parse_hex_bytes(const char *s, u8 *buf, size_t max, size_t *n);

struct vcpu_regs;
struct vcpu_sregs;
/* The register called @name ("rax", "rip", "cr3", ...) or NULL. */
u64 *mon_reg_field(const char *name, struct vcpu_regs *r, struct vcpu_sregs *s);

/* "help" and "help CMD" over ctx->cmds. */
int mon_cmd_help(struct mon_ctx *ctx, int argc, char **argv);

/* "json", "json on", "json off": show or switch the reply mode. */
int mon_cmd_json(struct mon_ctx *ctx, int argc, char **argv);

#endif
