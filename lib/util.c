/* Small string helpers shared by the hypervisor, host tools and tests. */
#include <lamina/lib.h>
#include <lamina/errno.h>

size_t strlcpy_hv(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = MIN(len, size - 1);

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	/* The full source length, so callers can detect truncation. */
	return len;
}

int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * No sign, no whitespace, no octal: monitor arguments and config values are
 * either addresses (0x...) or counts, and a leading zero meaning octal has
 * surprised too many users.
 */
int parse_u64(const char *s, u64 *out)
{
	unsigned int base = 10;
	bool overflow = false;
	u64 val = 0;

	if (!s || !out)
		return -HV_EINVAL;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -HV_EINVAL;

	/* Keep scanning after an overflow: garbage still means -HV_EINVAL. */
	for (; *s; s++) {
		int d = digit_value(*s);

		if (d < 0 || (unsigned int)d >= base)
			return -HV_EINVAL;
		if (val > (~0ull - (u64)d) / base)
			overflow = true;
		val = val * base + (u64)d;
	}
	if (overflow)
		return -HV_ERANGE;
	*out = val;
	return 0;
}

int why_vfail(char *why, size_t len, const char *prefix, const char *fmt,
	      va_list ap)
{
	int n;

	if (!why || !len)
		return -HV_EINVAL;
	n = snprintf(why, len, "%s", prefix);
	if (n >= 0 && (size_t)n < len)
		vsnprintf(why + n, len - (size_t)n, fmt, ap);
	return -HV_EINVAL;
}
