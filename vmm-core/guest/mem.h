/*
 * mem.h - the four functions a freestanding compiler may emit calls to.
 *
 * Their names are fixed by the C standard (gcc and clang call them for
 * struct copies and large initializers even with -ffreestanding), so this
 * module is the one exception to the file-name-is-prefix rule.
 */
#ifndef GUEST_MEM_H
#define GUEST_MEM_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
