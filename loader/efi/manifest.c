/*
 * The boot.txt parser (see manifest.h). No C library: the same object code
 * must build for the firmware (gnu-efi) and the host (tests, fuzzer), so the
 * few string helpers it needs are here.
 */
#include <lamina/errno.h>

#include "manifest.h"

/* One line being parsed: [p, end) with the line number for messages. */
struct mline {
	const char *p;
	const char *end;
	unsigned int no;
};

/* ------------------------------------------------------------ messages */

struct msg {
	char *buf;
	size_t len;
};

static void msg_str(struct msg *o, const char *s)
{
	while (*s && o->len + 1 < EFIM_ERR_MAX)
		o->buf[o->len++] = *s++;
	o->buf[o->len] = '\0';
}

/* Quote at most 24 bytes of the user's text so the message stays short. */
static void msg_quote(struct msg *o, const char *s, size_t n)
{
	char q[32];
	size_t i, k = 0;

	q[k++] = '\'';
	for (i = 0; i < n && i < 24; i++)
		q[k++] = s[i];
	if (n > 24) {
		q[k++] = '.';
		q[k++] = '.';
	}
	q[k++] = '\'';
	q[k] = '\0';
	msg_str(o, q);
}

static void msg_uint(struct msg *o, unsigned int v)
{
	char d[12];
	int i = sizeof(d) - 1;

	d[i] = '\0';
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	msg_str(o, d + i);
}

/* Start m->error with "line N: " and return the writer for the rest. */
static struct msg err_at(struct efi_manifest *m, unsigned int line)
{
	struct msg o = { m->error, 0 };

	m->err_line = line;
	m->error[0] = '\0';
	if (line) {
		msg_str(&o, "line ");
		msg_uint(&o, line);
		msg_str(&o, ": ");
	}
	return o;
}

static int fail(struct efi_manifest *m, unsigned int line, const char *what)
{
	struct msg o = err_at(m, line);

	msg_str(&o, what);
	return -HV_EINVAL;
}

/* ------------------------------------------------------------ lexing */

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Skip blanks; return the next word as [*w, *w + return value). */
static size_t next_word(struct mline *l, const char **w)
{
	size_t n = 0;

	while (l->p < l->end && is_space(*l->p))
		l->p++;
	*w = l->p;
	while (l->p < l->end && !is_space(*l->p)) {
		l->p++;
		n++;
	}
	return n;
}

static void trim_tail(struct mline *l)
{
	while (l->end > l->p && (is_space(l->end[-1]) || l->end[-1] == '\r'))
		l->end--;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (kw[i] != w[i])
			return false;
	return kw[n] == '\0';
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* ------------------------------------------------------------ directives */

/* Copy a path, '/' turned into '\' (the firmware's separator). */
static int take_path(struct efi_manifest *m, const struct mline *l,
		     const char *w, size_t n, char *dst)
{
	struct msg o;
	size_t i;

	if (!n)
		return fail(m, l->no, "a path is missing");
	if (w[0] != '\\' && w[0] != '/') {
		o = err_at(m, l->no);
		msg_str(&o, "path ");
		msg_quote(&o, w, n);
		msg_str(&o, " must start with '\\' (the partition's root)");
		return -HV_EINVAL;
	}
	if (n >= EFIM_PATH_MAX)
		return fail(m, l->no, "path longer than 127 bytes");
	for (i = 0; i < n; i++)
		dst[i] = w[i] == '/' ? '\\' : w[i];
	dst[n] = '\0';
	return 0;
}

static int do_kernel(struct efi_manifest *m, struct mline *l, bool *seen)
{
	const char *w, *extra;
	size_t n = next_word(l, &w);
	int err;

	if (*seen)
		return fail(m, l->no, "a second 'kernel' line");
	err = take_path(m, l, w, n, m->kernel);
	if (err)
		return err;
	if (next_word(l, &extra))
		return fail(m, l->no, "'kernel' takes one path (arguments go on a 'cmdline' line)");
	*seen = true;
	return 0;
}

static int do_cmdline(struct efi_manifest *m, struct mline *l, bool *seen)
{
	size_t n;

	if (*seen)
		return fail(m, l->no, "a second 'cmdline' line");
	while (l->p < l->end && is_space(*l->p))
		l->p++;
	n = (size_t)(l->end - l->p);
	if (n >= EFIM_CMDLINE_MAX)
		return fail(m, l->no, "command line longer than 511 bytes");
	for (size_t i = 0; i < n; i++)
		m->cmdline[i] = l->p[i];
	m->cmdline[n] = '\0';
	*seen = true;
	return 0;
}

static int do_module(struct efi_manifest *m, struct mline *l)
{
	struct efim_module *mod;
	const char *pw, *nw, *extra;
	size_t pn = next_word(l, &pw), nn = next_word(l, &nw);
	struct msg o;
	unsigned int i;
	int err;

	if (m->nr_modules == EFIM_MAX_MODULES)
		return fail(m, l->no, "more than 16 modules");
	mod = &m->modules[m->nr_modules];
	err = take_path(m, l, pw, pn, mod->path);
	if (err)
		return err;
	if (!nn)
		return fail(m, l->no, "'module' needs a name after the path");
	if (next_word(l, &extra))
		return fail(m, l->no, "'module' takes a path and one name");
	if (nn >= EFIM_NAME_MAX)
		return fail(m, l->no, "module name longer than 63 bytes");
	for (i = 0; i < nn; i++)
		mod->name[i] = nw[i];
	mod->name[nn] = '\0';
	for (i = 0; i < m->nr_modules; i++) {
		if (str_eq(m->modules[i].name, mod->name)) {
			o = err_at(m, l->no);
			msg_str(&o, "module name ");
			msg_quote(&o, nw, nn);
			msg_str(&o, " used twice");
			return -HV_EINVAL;
		}
	}
	m->nr_modules++;
	return 0;
}

/*
 * Only printable ASCII and tabs, and a CR only as the last byte (CR LF line
 * ends): anything else is a damaged or wrong file, and a lone CR inside a
 * path would make it a name the firmware cannot open.
 */
static int check_bytes(struct efi_manifest *m, const struct mline *l)
{
	const char *p;

	for (p = l->p; p < l->end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\t' || (c >= 0x20 && c < 0x7f) ||
		    (c == '\r' && p + 1 == l->end))
			continue;
		return fail(m, l->no, "a byte that is not printable ASCII");
	}
	return 0;
}

static int parse_line(struct efi_manifest *m, struct mline *l,
		      bool *kernel_seen, bool *cmdline_seen)
{
	const char *w;
	size_t n;
	struct msg o;
	int err;

	err = check_bytes(m, l);
	if (err)
		return err;
	trim_tail(l);
	n = next_word(l, &w);
	if (!n || w[0] == '#')
		return 0;
	if (word_is(w, n, "kernel"))
		return do_kernel(m, l, kernel_seen);
	if (word_is(w, n, "cmdline"))
		return do_cmdline(m, l, cmdline_seen);
	if (word_is(w, n, "module"))
		return do_module(m, l);
	o = err_at(m, l->no);
	msg_str(&o, "unknown directive ");
	msg_quote(&o, w, n);
	msg_str(&o, " (kernel, cmdline, module or #)");
	return -HV_EINVAL;
}

static void clear(struct efi_manifest *m)
{
	char *p = (char *)m;
	size_t i;

	for (i = 0; i < sizeof(*m); i++)
		p[i] = 0;
}

int efim_parse(const char *text, size_t len, struct efi_manifest *m)
{
	bool kernel_seen = false, cmdline_seen = false;
	const char *p = text, *end = text + len;
	struct mline l = { 0 };
	int err;

	clear(m);
	if (len > EFIM_MAX_SIZE)
		return fail(m, 0, "file larger than 64 KiB");
	/* A UTF-8 byte order mark, as Windows editors write one. */
	if (len >= 3 && (unsigned char)p[0] == 0xef &&
	    (unsigned char)p[1] == 0xbb && (unsigned char)p[2] == 0xbf)
		p += 3;
	while (p < end) {
		l.p = p;
		while (p < end && *p != '\n')
			p++;
		l.end = p;
		l.no++;
		if (p < end)
			p++; /* the '\n' */
		err = parse_line(m, &l, &kernel_seen, &cmdline_seen);
		if (err)
			return err;
	}
	if (!kernel_seen)
		return fail(m, 0, "no 'kernel PATH' line");
	return 0;
}
