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

struct mon_ctx {
	mon_out_fn out;
	void *out_ctx;
	const struct mon_cmd *cmds;
	size_t nr_cmds;
};

struct mon_cmd {
	const char *name;
	const char *usage;   /* arguments, e.g. "[VM]" ("" for none) */
	const char *summary; /* one line for the help list */
	const char *help;    /* longer text for "help NAME" (may be NULL) */
	int min_args;        /* not counting the command name */
	int max_args;
	int (*fn)(struct mon_ctx *ctx, int argc, char **argv);
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
 */
int mon_dispatch(struct mon_ctx *ctx, char *line);

/* "help" and "help CMD" over ctx->cmds. */
int mon_cmd_help(struct mon_ctx *ctx, int argc, char **argv);

#endif
