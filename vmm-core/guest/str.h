/*
 * str.h - the few string helpers the shell needs.
 */
#ifndef GUEST_STR_H
#define GUEST_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

size_t str_len(const char *s);
bool str_eq(const char *a, const char *b);
/*
 * Whole-string unsigned number: decimal, or hex after 0x/0X. False (and
 * *out untouched) on an empty string, a stray character or a value above
 * max.
 */
bool str_to_u64(const char *s, uint64_t max, uint64_t *out);

#endif
