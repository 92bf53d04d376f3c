#ifndef LAMINA_CRC32_H
#define LAMINA_CRC32_H

#include <lamina/types.h>

/* IEEE 802.3 CRC-32 (zlib's crc32), continued from @crc (0 to start). */
u32 crc32(u32 crc, const void *data, size_t len);

#endif
