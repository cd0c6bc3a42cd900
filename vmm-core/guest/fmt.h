/*
 * fmt.h - a small printf for both rings.
 *
 * Conversions: %c %s %d %i %u %x %%, with optional '0' flag, field width and
 * 'l'/'ll'/'z' length modifiers. Nothing else (no floats: the guest is built
 * with -mgeneral-regs-only).
 */
#ifndef GUEST_FMT_H
#define GUEST_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Writes at most size-1 characters and a NUL (when size > 0). Returns the
 * number of characters written, not counting the NUL (output is truncated,
 * never overflowed).
 */
size_t fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap);
size_t fmt_format(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
