/*
 * libFuzzer target for the monitor's JSON writer (kernel/monitor/json.c):
 * input bytes are a command's output; the reply built from them, cut to
 * a size the input picks, must be plain ASCII, one line, and decode with
 * lamina-ctl's reader (tools/lamina-ctl/reply.c) into the same lines.
 */
#include <lamina/monitor.h>
#include <lamina/lib.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static char line[MON_JSON_MAX];

/* Next line of @out from *@pos: its length, CR LF dropped. */
static size_t next_line(const char *out, size_t n, size_t *pos,
			const char **s)
{
	size_t i = *pos, len;

	*s = out + i;
	while (i < n && out[i] != '\n')
		i++;
	len = i - *pos;
	if (i < n && len && out[i - 1] == '\r')
		len--;
	*pos = i < n ? i + 1 : n;
	return len;
}

static void check_ascii_line(const char *s, size_t len, size_t size)
{
	if (len < 2 || len >= size || s[len] || s[len - 2] != '\r' ||
	    s[len - 1] != '\n')
		__builtin_trap();
	for (size_t i = 0; i + 2 < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			__builtin_trap();
}

/* Every output line, in order, whole or (the last, when cut) a prefix. */
static void check_lines(const struct reply *r, const char *out, size_t n)
{
	size_t pos = 0, k = 0;
	bool skipped_error = false;
	const char *s;

	while (pos < n) {
		size_t len = next_line(out, n, &pos, &s);

		if (!skipped_error && !r->ok && len >= 7 &&
		    !memcmp(s, "error: ", 7) && r->error.s) {
			skipped_error = true;
			continue;
		}
		if (k == r->nr_output) {
			if (!r->truncated)
				__builtin_trap();
			return;
		}
		if (r->output[k].len > len ||
		    memcmp(r->output[k].s, s, r->output[k].len) ||
		    (r->output[k].len < len && !r->truncated))
			__builtin_trap();
		k++;
	}
	if (k != r->nr_output)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_reply jr = { .cmd = "fz" };
	size_t bufsize, len;
	struct reply r;

	if (size < 2)
		return 0;
	bufsize = JSON_REPLY_MIN + ((size_t)data[0] << 6);
	if (bufsize > sizeof(line))
		bufsize = sizeof(line);
	jr.ret = data[1] & 1 ? -5 : 0;
	jr.out_cut = data[1] & 2;
	jr.out = (const char *)data + 2;
	jr.out_len = size - 2;

	len = json_reply(line, bufsize, &jr);
	check_ascii_line(line, len, bufsize);
	if (reply_parse(&r, line, len - 2) != REPLY_COMMAND || !r.cmd.s ||
	    strcmp(r.cmd.s, "fz") || (jr.out_cut && !r.truncated))
		__builtin_trap();
	if (jr.ret < 0 && r.ok)
		__builtin_trap();
	check_lines(&r, jr.out, jr.out_len);
	reply_free(&r);

	len = json_log_line(line, 1024, jr.out, jr.out_len);
	check_ascii_line(line, len, 1024);
	if (reply_parse(&r, line, len - 2) != REPLY_LOG)
		__builtin_trap();
	reply_free(&r);
	return 0;
}
