#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "logesc.h"

void
log_msg(const char *func, const char *fmt, ...)
{
	char line[1024], msg[1024], stamp[CLOCK_STAMP_LEN];
	va_list ap;
	int n, m;

	n = snprintf(line, sizeof(line),
		     "%s vmgated[%d]: %s: ", clock_stamp(stamp), (int)getpid(),
		     func);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
	m = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	if ((size_t)m >= sizeof(msg))
		m = (int)sizeof(msg) - 1;
	/* The net under log_esc(): no control byte of the message reaches
	 * the log, whatever a caller forgot (log.h). */
	n += (int)logesc_mem(line + n, sizeof(line) - 1 - (size_t)n, msg,
			     (size_t)m, LOGESC_KEEP_BACKSLASH);
	/* One write per line, so lines from a forked child never interleave. */
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

const char *
log_esc(char *buf, size_t size, const char *s, size_t len)
{
	return logesc(buf, size, s, len);
}
