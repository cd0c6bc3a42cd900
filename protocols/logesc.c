#include "logesc.h"

#include <string.h>

static size_t
esc_width(unsigned char c, unsigned flags)
{
	if (c == '\\')
		return (flags & LOGESC_KEEP_BACKSLASH) ? 1 : 4;
	return (c >= 0x20 && c < 0x7f) ? 1 : 4;
}

static size_t
put(char *out, unsigned char c, size_t width)
{
	static const char hex[] = "0123456789abcdef";

	if (width == 1) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

size_t
logesc_mem(char *buf, size_t size, const void *s, size_t len, unsigned flags)
{
	const unsigned char *p = s;
	size_t total = 0, o = 0, i;

	if (size == 0)
		return 0;
	for (i = 0; i < len; i++)
		total += esc_width(p[i], flags);
	if (total < size) { /* all of it and the NUL */
		for (i = 0; i < len; i++)
			o += put(buf + o, p[i], esc_width(p[i], flags));
		buf[o] = '\0';
		return o;
	}
	/* Cut: whole escapes while they leave room for "..." and the NUL. */
	for (i = 0; i < len; i++) {
		size_t w = esc_width(p[i], flags);
		if (o + w + 4 > size)
			break;
		o += put(buf + o, p[i], w);
	}
	for (i = 0; i < 3 && o + 1 < size; i++)
		buf[o++] = '.';
	buf[o] = '\0';
	return o;
}

const char *
logesc(char *buf, size_t size, const void *s, size_t len)
{
	logesc_mem(buf, size, s, len, 0);
	return buf;
}

const char *
logesc_str(char *buf, size_t size, const char *s)
{
	return logesc(buf, size, s ? s : "", s ? strlen(s) : 0);
}
