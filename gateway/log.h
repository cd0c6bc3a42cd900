/*
 * vmgated's log: one line per event on stderr,
 *
 *	2024-05-01T12:00:00.123Z vmgated[pid]: function: message
 *
 * Anything that came from a peer (user names, commands, libssh's error text,
 * which quotes the client's banner and algorithm lists, guest text) must go
 * through log_esc() first so that it cannot forge lines or drive a terminal.
 */
#ifndef VMGATE_LOG_H
#define VMGATE_LOG_H

#include <stddef.h>

void log_msg(const char *func, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Writes s[0..len) into buf with every byte outside printable ASCII, and
 * backslash, shown as \xNN; shortened with "..." if it does not fit, never
 * inside an escape. Returns buf. The same as logesc() (protocols/logesc.h),
 * which vmgate-vmm uses too.
 *
 * log_msg() also passes the whole message through logesc_mem() with
 * LOGESC_KEEP_BACKSLASH, so a string that missed log_esc() still cannot
 * end the line or reach a terminal raw; peer text still goes through
 * log_esc() so that its backslashes are unambiguous. */
const char *log_esc(char *buf, size_t size, const char *s, size_t len);

#define LOG(...) log_msg(__func__, __VA_ARGS__)

#endif
