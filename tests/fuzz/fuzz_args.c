/*
 * libFuzzer target for the VM commands' argument parsers: any string as
 * hex bytes and as a register name. Checks the byte count against the
 * digits and that a parse never writes past its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lamina/monitor.h>
#include <lamina/vcpu.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t max = size ? data[0] % 80 : 0, n = 0;
	u8 *buf = malloc(max ? max : 1);
	struct vcpu_regs r;
	struct vcpu_sregs sr;
	u64 *f;

	memcpy(s, data, size);
	s[size] = '\0';
	if (!mon_parse_hex_bytes(s, buf, max, &n)) {
		size_t digits = strlen(s);

		if (digits >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
			digits -= 2;
		if (n > max || n * 2 != digits)
			abort();
	}
	f = mon_reg_field(s, &r, &sr);
	if (f && !((u8 *)f >= (u8 *)&r && (u8 *)f + 8 <= (u8 *)(&r + 1)) &&
	    !((u8 *)f >= (u8 *)&sr && (u8 *)f + 8 <= (u8 *)(&sr + 1)))
		abort();
	free(buf);
	free(s);
	return 0;
}
