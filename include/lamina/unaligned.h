/*
 * Reads of little-endian fields at any alignment, for parsers of firmware
 * and loader data (a cast would be undefined behaviour where the field is
 * not aligned; memcpy compiles to a plain load on x86).
 */
#ifndef LAMINA_UNALIGNED_H
#define LAMINA_UNALIGNED_H

#include <lamina/lib.h>

static inline u16 rd16(const u8 *p)
{
	u16 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline u32 rd32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline u64 rd64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));
	return v;
}

#endif
