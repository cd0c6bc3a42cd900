/*
 * str.h - the few string helpers the shell needs.
 */
#ifndef GUEST_STR_H
#define GUEST_STR_H

#include <stdbool.h>
#include <stddef.h>

size_t str_len(const char *s);
bool str_eq(const char *a, const char *b);

#endif
