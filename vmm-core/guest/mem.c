/*
 * mem.c - memcpy and friends for the freestanding guest (see mem.h).
 *
 * Copies and fills use rep movsb/stosb rather than C loops: gcc recognizes
 * such loops (-ftree-loop-distribute-patterns) and turns them back into
 * calls to memcpy/memset, i.e. into infinite recursion, even with
 * -ffreestanding.
 */
#include "mem.h"

#include <stdint.h>

void *
memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n)
			 :
			 : "memory");
	return dst;
}

void *
memmove(void *dst, const void *src, size_t n)
{
	if ((uintptr_t)dst - (uintptr_t)src >= n)
		return memcpy(dst, src, n); /* no harmful overlap */

	/* Destination overlaps the end of the source: copy backwards. */
	void *d = (uint8_t *)dst + n - 1;
	const void *s = (const uint8_t *)src + n - 1;

	__asm__ volatile("std; rep movsb; cld"
			 : "+D"(d), "+S"(s), "+c"(n)
			 :
			 : "memory");
	return dst;
}

void *
memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n > 0; n--, x++, y++) {
		if (*x != *y)
			return *x < *y ? -1 : 1;
	}
	return 0;
}
