/*
 * Allocation that cannot fail: out of memory is a broken invariant for the
 * gateway (STYLE.md), so these print one line and abort instead of returning
 * NULL. Everything they return is released with free().
 */
#ifndef VMGATE_XMALLOC_H
#define VMGATE_XMALLOC_H

#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
