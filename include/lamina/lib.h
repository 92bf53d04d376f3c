/* String and formatting helpers. The hypervisor gets them from lib/; hosted
 * builds (unit tests, fuzz targets, host tools) take the C library's. */
#ifndef LAMINA_LIB_H
#define LAMINA_LIB_H

#include <lamina/compiler.h>
#include <stdarg.h>

#if __STDC_HOSTED__
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strstr(const char *s, const char *needle);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
#endif

/*
 * A parser's refusal: @prefix then @fmt into @why (@len bytes, may be 0),
 * truncated as it must be. Returns -HV_EINVAL, for `return fail(...)`.
 */
int why_vfail(char *why, size_t len, const char *prefix, const char *fmt,
	      va_list ap);

/* Copy at most size-1 bytes and always terminate (when size > 0). */
size_t strlcpy_hv(char *dst, const char *src, size_t size);

/* Bits set in @x (no popcount instruction assumed: a libgcc call otherwise). */
static inline unsigned int bits_set(u64 x)
{
	unsigned int n = 0;

	for (; x; x &= x - 1)
		n++;
	return n;
}

static inline const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

/* A hex digit's value (either case), or -1. */
int digit_value(char c);

/* Parse an unsigned number: decimal, or hex with 0x. Whole string must match. */
int parse_u64(const char *s, u64 *out);

#endif
