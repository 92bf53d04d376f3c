/*
 * The reply lines of the monitor's JSON mode: a JSON parser for exactly
 * what the schema needs (an object of strings, booleans and an array of
 * strings), strict about the syntax and lenient about members it does not
 * know, which it skips whatever their type. Any input is safe: every read
 * is bounded by the line's end, nesting by MAX_DEPTH, and the decoded
 * strings never outgrow their encoded form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define MAX_DEPTH 32

struct parser {
	const char *p, *end;
	char *out; /* where the next decoded string goes in r->store */
	struct reply *r;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' ||
				   *ps->p == '\r' || *ps->p == '\n'))
		ps->p++;
}

static bool eat(struct parser *ps, char c)
{
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == c) {
		ps->p++;
		return true;
	}
	return false;
}

static bool eat_word(struct parser *ps, const char *w)
{
	size_t n = strlen(w);

	skip_ws(ps);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n))
		return false;
	ps->p += n;
	return true;
}

static int hex4(const char *s)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/* \uXXXX (and a low surrogate after a high one): the code point, or -1. */
static long unicode_escape(struct parser *ps)
{
	long cp, lo;

	if (ps->end - ps->p < 4 || (cp = hex4(ps->p)) < 0)
		return -1;
	ps->p += 4;
	if (cp < 0xd800 || cp > 0xdfff)
		return cp;
	if (cp > 0xdbff || ps->end - ps->p < 6 || ps->p[0] != '\\' ||
	    ps->p[1] != 'u' || (lo = hex4(ps->p + 2)) < 0xdc00 || lo > 0xdfff)
		return -1;
	ps->p += 6;
	return 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
}

/*
 * Code points up to 0xff are the bytes the monitor escaped; above, UTF-8.
 * At most 4 bytes, never more than the 6 or 12 characters they came from.
 */
static void put_code(struct parser *ps, long cp)
{
	unsigned char *o = (unsigned char *)ps->out;

	if (cp <= 0xff) {
		*o++ = (unsigned char)cp;
	} else if (cp <= 0x7ff) {
		*o++ = (unsigned char)(0xc0 | cp >> 6);
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp <= 0xffff) {
		*o++ = (unsigned char)(0xe0 | cp >> 12);
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (unsigned char)(0xf0 | cp >> 18);
		*o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	ps->out = (char *)o;
}

static bool simple_escape(char c, char *v)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *f = memchr(from, c, sizeof(from) - 1);

	if (!f)
		return false;
	*v = to[f - from];
	return true;
}

/* A string into r->store; @dst may be NULL to check and drop it. */
static bool parse_string(struct parser *ps, struct reply_str *dst)
{
	char *start = ps->out;

	if (!eat(ps, '"'))
		return false;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p++;
		long cp;
		char v;

		if (c == '"') {
			*ps->out++ = '\0';
			if (dst) {
				dst->s = start;
				dst->len = (size_t)(ps->out - start - 1);
			}
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			*ps->out++ = (char)c;
			continue;
		}
		if (ps->p >= ps->end)
			return false;
		c = (unsigned char)*ps->p++;
		if (c == 'u') {
			if ((cp = unicode_escape(ps)) < 0)
				return false;
			put_code(ps, cp);
		} else if (simple_escape((char)c, &v)) {
			*ps->out++ = v;
		} else {
			return false;
		}
	}
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Loosely: the characters a number may hold, ending in a digit. */
static bool skip_number(struct parser *ps)
{
	const char *start;

	skip_ws(ps);
	start = ps->p;
	while (ps->p < ps->end && (is_digit(*ps->p) || *ps->p == '-' ||
				   *ps->p == '+' || *ps->p == '.' ||
				   *ps->p == 'e' || *ps->p == 'E'))
		ps->p++;
	return ps->p > start && is_digit(ps->p[-1]);
}

static bool skip_value(struct parser *ps, int depth);

/* [...] or {...}, after the opening bracket. */
static bool skip_container(struct parser *ps, char close, int depth)
{
	bool object = close == '}';

	if (eat(ps, close))
		return true;
	do {
		char *mark = ps->out;

		if (object && (!parse_string(ps, NULL) || !eat(ps, ':')))
			return false;
		ps->out = mark;
		if (!skip_value(ps, depth + 1))
			return false;
	} while (eat(ps, ','));
	return eat(ps, close);
}

static bool skip_value(struct parser *ps, int depth)
{
	char *mark = ps->out;
	bool ok;

	if (depth > MAX_DEPTH)
		return false;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return false;
	switch (*ps->p) {
	case '"':
		ok = parse_string(ps, NULL);
		ps->out = mark;
		return ok;
	case '{':
	case '[':
		return skip_container(ps, *ps->p++ == '{' ? '}' : ']', depth);
	case 't':
		return eat_word(ps, "true");
	case 'f':
		return eat_word(ps, "false");
	case 'n':
		return eat_word(ps, "null");
	default:
		return skip_number(ps);
	}
}

static bool parse_bool(struct parser *ps, bool *v)
{
	if (eat_word(ps, "true"))
		*v = true;
	else if (eat_word(ps, "false"))
		*v = false;
	else
		return false;
	return true;
}

static bool parse_output(struct parser *ps)
{
	struct reply *r = ps->r;
	size_t cap = 0;

	free(r->output);
	r->output = NULL;
	r->nr_output = 0;
	if (!eat(ps, '['))
		return false;
	if (eat(ps, ']'))
		return true;
	do {
		if (r->nr_output == cap) {
			struct reply_str *n;

			cap = cap ? cap * 2 : 16;
			n = realloc(r->output, cap * sizeof(*n));
			if (!n)
				return false;
			r->output = n;
		}
		if (!parse_string(ps, &r->output[r->nr_output]))
			return false;
		r->nr_output++;
	} while (eat(ps, ','));
	return eat(ps, ']');
}

static bool key_is(const struct reply_str *key, const char *name)
{
	return key->len == strlen(name) && !memcmp(key->s, name, key->len);
}

/*
 * One "key":value. The key's bytes are not kept: the value may overwrite
 * them, so every comparison comes before the value is parsed.
 */
static bool parse_member(struct parser *ps, bool *has_ok)
{
	struct reply *r = ps->r;
	struct reply_str key;
	char *mark = ps->out;

	if (!parse_string(ps, &key) || !eat(ps, ':'))
		return false;
	ps->out = mark;
	if (key_is(&key, "ok")) {
		*has_ok = true;
		return parse_bool(ps, &r->ok);
	}
	if (key_is(&key, "truncated"))
		return parse_bool(ps, &r->truncated);
	if (key_is(&key, "cmd"))
		return parse_string(ps, &r->cmd);
	if (key_is(&key, "error"))
		return parse_string(ps, &r->error);
	if (key_is(&key, "log"))
		return parse_string(ps, &r->log);
	if (key_is(&key, "output"))
		return parse_output(ps);
	return skip_value(ps, 1);
}

static bool parse_object(struct parser *ps, bool *has_ok)
{
	if (!eat(ps, '{'))
		return false;
	if (!eat(ps, '}')) {
		do {
			if (!parse_member(ps, has_ok))
				return false;
		} while (eat(ps, ','));
		if (!eat(ps, '}'))
			return false;
	}
	skip_ws(ps);
	return ps->p == ps->end;
}

enum reply_kind reply_parse(struct reply *r, const char *line, size_t n)
{
	struct parser ps = { .p = line, .end = line + n, .r = r };
	bool has_ok = false;

	memset(r, 0, sizeof(*r));
	/* Decoded strings are no longer than encoded ones, plus their NULs. */
	if (n > SIZE_MAX / 2 - 1 || !(r->store = malloc(2 * n + 2)))
		return REPLY_OTHER;
	ps.out = r->store;
	if (!parse_object(&ps, &has_ok)) {
		reply_free(r); /* nothing half-parsed is left to look at */
		return REPLY_OTHER;
	}
	if (has_ok)
		r->kind = REPLY_COMMAND;
	else if (r->log.s)
		r->kind = REPLY_LOG;
	return r->kind;
}

void reply_free(struct reply *r)
{
	free(r->output);
	free(r->store);
	memset(r, 0, sizeof(*r));
}
