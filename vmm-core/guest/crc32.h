/*
 * crc32.h - CRC-32 (IEEE 802.3, reflected polynomial 0xedb88320), the same
 * function as zlib's crc32(): crc32_update(0, buf, n) == zlib.crc32(buf).
 */
#ifndef GUEST_CRC32_H
#define GUEST_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Chains like zlib: pass the previous result (0 to start). */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t n);

#endif
