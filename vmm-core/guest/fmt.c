/*
 * fmt.c - a small printf for both rings (see fmt.h for what it supports).
 */
#include "fmt.h"

#include <stdbool.h>
#include <stdint.h>

struct fmt_out {
	char *buf;
	size_t size;
	size_t len;
};

static void
fmt_put(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
}

static void
fmt_number(struct fmt_out *o, uint64_t v, unsigned base, bool negative,
	   unsigned width, char pad)
{
	char digits[24];
	unsigned n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	if (negative && pad == '0')
		fmt_put(o, '-');
	for (unsigned i = n + (negative ? 1 : 0); i < width; i++)
		fmt_put(o, pad);
	if (negative && pad != '0')
		fmt_put(o, '-');
	while (n > 0)
		fmt_put(o, digits[--n]);
}

size_t
fmt_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = {buf, size, 0};

	for (; *fmt != '\0'; fmt++) {
		char pad = ' ';
		unsigned width = 0, longs = 0;

		if (*fmt != '%') {
			fmt_put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			longs++;
			fmt++;
		}

		switch (*fmt) {
		case 'c':
			fmt_put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n = 0;

			if (s == NULL)
				s = "(null)";
			while (s[n] != '\0')
				n++;
			for (; n < width; width--)
				fmt_put(&o, ' ');
			while (*s != '\0')
				fmt_put(&o, *s++);
			break;
		}
		case 'd':
		case 'i': {
			int64_t v = longs ? va_arg(ap, long) : va_arg(ap, int);
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;

			fmt_number(&o, mag, 10, v < 0, width, pad);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = longs ? va_arg(ap, unsigned long)
					   : va_arg(ap, unsigned int);

			fmt_number(&o, v, *fmt == 'x' ? 16 : 10, false, width,
				   pad);
			break;
		}
		case '%':
			fmt_put(&o, '%');
			break;
		case '\0':
			fmt--; /* keep the loop from running past the end */
			break;
		default: /* unsupported: show it rather than guess */
			fmt_put(&o, '%');
			fmt_put(&o, *fmt);
			break;
		}
	}
	if (o.size > 0)
		o.buf[o.len] = '\0';
	return o.len;
}

size_t
fmt_format(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = fmt_vformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
