/*
 * wire.h: little-endian stores into guest memory images (boot structures,
 * MP and ACPI tables), whatever the alignment of the destination, and the
 * checksum byte those firmware tables carry.
 */
#ifndef VMGATE_WIRE_H
#define VMGATE_WIRE_H

#include <stddef.h>
#include <stdint.h>

static inline void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static inline void
put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The byte that makes the N bytes at P sum to zero (mod 256), as the MP
 * and ACPI tables require; P's own checksum byte must be 0 when called. */
static inline uint8_t
checksum8(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum = (uint8_t)(sum + *p++);
	return (uint8_t)(0 - sum);
}

#endif
