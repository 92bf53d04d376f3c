/*
 * lamina-ctl: run one monitor command over a serial line, a pseudo-terminal
 * or a Unix socket, in the monitor's JSON mode (docs/monitor.md, "Scripts:
 * JSON mode and lamina-ctl").
 */
#ifndef LAMINA_CTL_H
#define LAMINA_CTL_H

#include <stdbool.h>
#include <stddef.h>

/* ---- reply.c: the reply lines of JSON mode */

enum reply_kind {
	REPLY_OTHER,   /* not a reply: noise, a prompt, old output, bad JSON */
	REPLY_COMMAND, /* {"ok":...,"cmd":...,...} */
	REPLY_LOG,     /* {"log":"..."} */
};

struct reply_str {
	char *s;    /* decoded, NUL-terminated; NULL when absent */
	size_t len; /* may hold NULs (\u0000) */
};

struct reply {
	enum reply_kind kind;
	bool ok;
	bool truncated;
	struct reply_str cmd, error, log;
	struct reply_str *output;
	size_t nr_output;
	char *store; /* the decoded strings */
};

/*
 * Parse one line (without its line end). A member of a known name with
 * the wrong type, or invalid JSON, makes it REPLY_OTHER; unknown members
 * are skipped. \u00XX decodes to the byte XX (the monitor escapes bytes
 * so), higher code points to UTF-8. Call reply_free() after every call.
 */
enum reply_kind reply_parse(struct reply *r, const char *line, size_t n);
void reply_free(struct reply *r);

/* ---- conn.c: the line to the monitor */

struct conn {
	int fd;
	char *buf;     /* received bytes not yet returned as lines */
	size_t len;
	size_t taken;  /* bytes of the line returned last, CR LF included */
	bool skipping; /* dropping the rest of an overlong line */
};

#define CONN_LINE_MAX (64 * 1024) /* longer lines are dropped */

/* 0, or -1 with a message on stderr. */
int conn_open_serial(struct conn *c, const char *dev, unsigned int baud);
int conn_open_unix(struct conn *c, const char *path);
void conn_close(struct conn *c);

/* Send @n bytes, pausing @delay_ms after each when not 0: 0, or -1. */
int conn_send(struct conn *c, const char *s, size_t n, unsigned int delay_ms,
	      double deadline);

/*
 * The next line, without its CR LF, NUL-terminated in c->buf until the
 * next call: 1 and *@line, *@len; 0 when @deadline (CLOCK_MONOTONIC
 * seconds) passed; -1 on an error or the end of the stream.
 */
int conn_read_line(struct conn *c, double deadline, char **line, size_t *len);

double now_s(void);

#endif
