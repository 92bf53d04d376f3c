/* The boot command line: words "key" or "key=value", separated by spaces. */
#include <lamina/kernel.h>
#include <lamina/lib.h>

/*
 * Value of the last "key=value" for @key ("" for a bare "key"), or NULL.
 * Returned in a static buffer: copy it before the next call.
 */
const char *cmdline_get(const char *key)
{
	static char val[BOOTINFO_CMDLINE_MAX];
	const char *p = bootinfo.cmdline, *found = NULL;
	size_t klen = strlen(key), vlen = 0;

	while (*p) {
		const char *w = p;
		size_t wlen = 0;

		while (w[wlen] && w[wlen] != ' ')
			wlen++;
		if (wlen >= klen && !strncmp(w, key, klen) &&
		    (wlen == klen || w[klen] == '=')) {
			found = wlen == klen ? w + klen : w + klen + 1;
			vlen = wlen == klen ? 0 : wlen - klen - 1;
		}
		p = w + wlen;
		while (*p == ' ')
			p++;
	}
	if (!found)
		return NULL;
	memcpy(val, found, vlen);
	val[vlen] = '\0';
	return val;
}

bool cmdline_u64(const char *key, u64 *out)
{
	const char *v = cmdline_get(key);

	return v && parse_u64(v, out) == 0;
}
