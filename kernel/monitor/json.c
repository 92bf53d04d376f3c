/*
 * JSON replies of the monitor's machine mode (`json on`): a command's
 * captured output becomes one line of JSON, and so does each log line
 * printed meanwhile. Pure: the unit tests and the fuzzer call it directly.
 *
 * Every byte outside printable ASCII is written as \u00XX (a byte above
 * 0x7f as the Latin-1 character), so a reply is plain ASCII and valid
 * JSON whatever a guest or a command printed. Every write is bounded by
 * the caller's buffer; output that does not fit is cut at a whole escape
 * and the reply says "truncated":true.
 */
#include <lamina/monitor.h>
#include <lamina/lib.h>

#define ERROR_PREFIX "error: "
/* What the closing part needs: ],"truncated":true} CR LF NUL. */
#define TAIL_ROOM 24
/* Kept free while the header is written: ,"output":[ */
#define OUTPUT_OPEN_ROOM 16
/* Kept free while the command's name is written: ,"error":"" */
#define ERROR_ROOM 16

static const char hex[] = "0123456789abcdef";

/* The escaped form of @c into @e (6 bytes at most); returns its length. */
static size_t escape_byte(u8 c, char *e)
{
	if (c == '"' || c == '\\') {
		e[0] = '\\';
		e[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < 0x7f) {
		e[0] = (char)c;
		return 1;
	}
	memcpy(e, "\\u00", 4);
	e[4] = hex[c >> 4];
	e[5] = hex[c & 0xf];
	return 6;
}

size_t json_escape(char *dst, size_t size, const char *s, size_t n,
		   size_t *used)
{
	size_t len = 0, i;

	for (i = 0; i < n; i++) {
		char e[6];
		size_t k = escape_byte((u8)s[i], e);

		if (k > size - len)
			break;
		memcpy(dst + len, e, k);
		len += k;
	}
	if (used)
		*used = i;
	return len;
}

/* A line being written; nothing goes past @limit. */
struct jw {
	char *buf;
	size_t len;
	size_t limit;
};

static bool put(struct jw *w, const char *s)
{
	size_t n = strlen(s);

	if (n > w->limit - w->len)
		return false;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	return true;
}

/*
 * @s as a JSON string, cut if it does not fit whole. Returns false when
 * it was cut; nothing is written if not even "" fits.
 */
static bool put_string(struct jw *w, const char *s, size_t n)
{
	size_t used;

	if (w->limit - w->len < 2)
		return false;
	w->buf[w->len++] = '"';
	w->len += json_escape(w->buf + w->len, w->limit - w->len - 1, s, n,
			      &used);
	w->buf[w->len++] = '"';
	return used == n;
}

/* Line @s[0..@n) without its CR LF, and where the next one starts. */
static size_t line_at(const char *s, size_t n, size_t *next)
{
	size_t len = 0;

	while (len < n && s[len] != '\n')
		len++;
	if (len == n) {
		*next = n;
		return len;
	}
	*next = len + 1;
	return len && s[len - 1] == '\r' ? len - 1 : len;
}

static bool is_error_line(const char *s, size_t len)
{
	size_t k = sizeof(ERROR_PREFIX) - 1;

	return len >= k && !memcmp(s, ERROR_PREFIX, k);
}

/* Offset of the first "error: " line in the output, or @n for none. */
static size_t find_error(const struct json_reply *r)
{
	size_t pos = 0, next;

	while (pos < r->out_len) {
		size_t len = line_at(r->out + pos, r->out_len - pos, &next);

		if (is_error_line(r->out + pos, len))
			return pos;
		pos += next;
	}
	return r->out_len;
}

/* Every output line but the one at @skip; false if some did not fit. */
static bool put_output(struct jw *w, const struct json_reply *r, size_t skip)
{
	size_t pos = 0, next;
	bool first = true;

	while (pos < r->out_len) {
		const char *s = r->out + pos;
		size_t len = line_at(s, r->out_len - pos, &next);

		if (pos != skip) {
			if (w->limit - w->len < 3)
				return false;
			if (!first)
				w->buf[w->len++] = ',';
			first = false;
			if (!put_string(w, s, len))
				return false;
		}
		pos += next;
	}
	return true;
}

/* {"ok":...,"cmd":...[,"error":...], up to where the output starts. */
static bool put_header(struct jw *w, const struct json_reply *r, size_t err)
{
	bool whole = true;
	char failed[48];
	const char *cmd = r->cmd ? r->cmd : "";

	put(w, err < r->out_len || r->ret < 0 ? "{\"ok\":false,\"cmd\":" :
	    "{\"ok\":true,\"cmd\":");
	w->limit -= ERROR_ROOM;
	whole &= put_string(w, cmd, strlen(cmd));
	w->limit += ERROR_ROOM;
	if (err < r->out_len) {
		const char *s = r->out + err + sizeof(ERROR_PREFIX) - 1;
		size_t next, len = line_at(r->out + err, r->out_len - err,
					   &next);

		put(w, ",\"error\":");
		whole &= put_string(w, s, len - (sizeof(ERROR_PREFIX) - 1));
	} else if (r->ret < 0) {
		/* Failed without saying why: the code is all there is. */
		snprintf(failed, sizeof(failed), "failed (error %d)", r->ret);
		put(w, ",\"error\":");
		whole &= put_string(w, failed, strlen(failed));
	}
	return whole;
}

size_t json_reply(char *dst, size_t size, const struct json_reply *r)
{
	struct jw w = { .buf = dst };
	size_t err = find_error(r);
	bool whole;

	if (size < JSON_REPLY_MIN)
		return 0;
	w.limit = size - TAIL_ROOM;
	/* The header is short but for a long error; ,"output":[ must fit. */
	w.limit -= OUTPUT_OPEN_ROOM;
	whole = put_header(&w, r, err);
	w.limit += OUTPUT_OPEN_ROOM;
	put(&w, ",\"output\":[");
	whole &= put_output(&w, r, err);
	/* The closing part always fits: TAIL_ROOM was never used. */
	w.limit = size - 1;
	put(&w, "]");
	if (!whole || r->out_cut)
		put(&w, ",\"truncated\":true");
	put(&w, "}\r\n");
	dst[w.len] = '\0';
	return w.len;
}

size_t json_log_line(char *dst, size_t size, const char *s, size_t n)
{
	struct jw w = { .buf = dst };

	if (size < 16)
		return 0;
	w.limit = size - 4; /* room for }, CR LF and the NUL */
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	put(&w, "{\"log\":");
	put_string(&w, s, n);
	w.limit = size - 1;
	put(&w, "}\r\n");
	dst[w.len] = '\0';
	return w.len;
}
