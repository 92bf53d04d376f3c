/*
 * libFuzzer target for lamina-ctl's reply reader (tools/lamina-ctl/
 * reply.c): any line, as it may arrive on a noisy serial line. Besides
 * the sanitizers it checks that every decoded string ends in a NUL at
 * its length and that only what the schema allows is accepted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static void check_str(const struct reply_str *s, size_t max)
{
	if (s->s && (s->len > max || s->s[s->len]))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply r;
	enum reply_kind kind = reply_parse(&r, (const char *)data, size);

	if (kind != REPLY_OTHER && (size < 2 || data[0] > '{'))
		__builtin_trap();
	if (kind == REPLY_LOG && !r.log.s)
		__builtin_trap();
	check_str(&r.cmd, size);
	check_str(&r.error, size);
	check_str(&r.log, size);
	for (size_t i = 0; i < r.nr_output; i++)
		check_str(&r.output[i], size);
	reply_free(&r);
	return 0;
}
