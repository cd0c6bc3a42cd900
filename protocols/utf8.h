/*
 * utf8: the one UTF-8 validator (the control channel's strings, the JSON
 * writer of the audit log and recordings, and whatever reads text from a
 * peer next).  Well-formed means Table 3-7 of the Unicode standard: no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF.
 */
#ifndef VMGATE_UTF8_H
#define VMGATE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed sequence at p[0..n), with its code point
 * in *cp (cp may be NULL); 0 if the bytes there are malformed, cut short, or
 * n is 0. */
size_t utf8_seq(const uint8_t *p, size_t n, uint32_t *cp);

/* True if p[0..n) is well-formed UTF-8 throughout (NUL included). */
bool utf8_valid(const void *p, size_t n);

#endif
