/*
 * logesc: the one way a peer's or a guest's bytes reach a log line, in
 * vmgated and in vmgate-vmm (STYLE.md: escape strings from peers before they
 * reach a log or a terminal).
 *
 * Printable ASCII (0x20-0x7e) passes through; every other byte (control
 * characters such as \n, \r and ESC, DEL, and every byte >= 0x80, so UTF-8
 * valid or not) and the backslash itself become \xNN (lower-case hex). The
 * result is printable ASCII: it cannot end a line, forge one, or drive a
 * terminal, and it maps back to the input unambiguously.
 *
 * When the result does not fit, it is cut between two escapes (never inside
 * one) and ends with "..."; it is always NUL-terminated when size > 0.
 */
#ifndef VMGATE_LOGESC_H
#define VMGATE_LOGESC_H

#include <stddef.h>

enum {
	/* Leave backslashes as they are: for a whole line made of text that
	 * was escaped already (a second pass must not double its escapes)
	 * and of our own words. */
	LOGESC_KEEP_BACKSLASH = 1,
};

/* Writes the escaped form of s[0..len) (s may be NULL when len is 0) into
 * buf[0..size); returns the length written, without the NUL. */
size_t logesc_mem(char *buf, size_t size, const void *s, size_t len,
		  unsigned flags);

/* logesc_mem(buf, size, s, len, 0); returns buf, for use inside a printf
 * argument list. */
const char *logesc(char *buf, size_t size, const void *s, size_t len);

/* The same for a NUL-terminated string (NULL reads as ""). */
const char *logesc_str(char *buf, size_t size, const char *s);

#endif
