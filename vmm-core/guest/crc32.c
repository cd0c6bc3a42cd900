/*
 * crc32.c - table-driven CRC-32, one byte per step.
 *
 * The table is built on first use instead of being spelled out: 256
 * iterations in ring 3 cost nothing, and it keeps the source short.
 */
#include "crc32.h"

#include <stdbool.h>

static uint32_t crc32_table[256];
static bool crc32_ready;

static void
crc32_build(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc32_table[i] = c;
	}
	crc32_ready = true;
}

uint32_t
crc32_update(uint32_t crc, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	if (!crc32_ready)
		crc32_build();
	crc = ~crc;
	while (n-- > 0)
		crc = crc32_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}
