/*
 * errmsg: the monitor's way of failing with a message a user can act on.
 *
 *	if (fd < 0)
 *		return errmsg(err, errlen, "%s: %s", path, strerror(errno));
 */
#ifndef VMGATE_ERRMSG_H
#define VMGATE_ERRMSG_H

#include <stddef.h>

/* Formats the message into err (errlen bytes, always terminated); returns -1.
 */
int errmsg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
