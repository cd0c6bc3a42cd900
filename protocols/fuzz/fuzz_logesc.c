/*
 * libFuzzer target for protocols/logesc.h. Input: flags byte, buffer size
 * byte (0 = large), then the text. For any of them the output stays inside
 * the buffer, is NUL-terminated printable ASCII, decodes back to the input
 * when it fits, and otherwise to a prefix of it made of whole escapes,
 * followed by "...".
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logesc.h"

static char out[4 * 4096 + 8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	abort(); /* only lower-case hex digits are written */
}

/* Decodes out[0..n) against s; returns how many input bytes it matched, or
 * aborts on a byte that differs or an escape cut short. */
static size_t
decode_prefix(const char *o, size_t n, const uint8_t *s, size_t len,
	      unsigned flags)
{
	size_t i = 0, k = 0;

	while (i < n) {
		unsigned c;
		if (k >= len)
			abort();
		if (o[i] == '\\' && !(flags & LOGESC_KEEP_BACKSLASH)) {
			if (i + 4 > n || o[i + 1] != 'x')
				abort();
			c = (unsigned)(hexval(o[i + 2]) << 4 |
				       hexval(o[i + 3]));
			i += 4;
		} else if (o[i] == '\\' && s[k] != '\\') {
			if (i + 4 > n || o[i + 1] != 'x')
				abort();
			c = (unsigned)(hexval(o[i + 2]) << 4 |
				       hexval(o[i + 3]));
			i += 4;
		} else {
			c = (unsigned char)o[i++];
		}
		if (c != s[k++])
			abort();
	}
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2 || size - 2 > 4096)
		return 0;
	unsigned flags = (data[0] & 1) ? LOGESC_KEEP_BACKSLASH : 0;
	size_t cap = data[1] == 0 ? sizeof(out) : data[1];
	const uint8_t *s = data + 2;
	size_t len = size - 2, total = 0;

	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		int plain = c >= 0x20 && c < 0x7f &&
			    (c != '\\' || (flags & LOGESC_KEEP_BACKSLASH));
		total += plain ? 1 : 4;
	}
	memset(out, 'Z', sizeof(out));
	size_t n = logesc_mem(out, cap, s, len, flags);
	if (n >= cap || out[n] != '\0' ||
	    (cap < sizeof(out) && out[cap] != 'Z'))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 ||
		    (unsigned char)out[i] >= 0x7f)
			abort();
	if (total < cap) { /* fits: the whole input, exactly */
		if (n != total || decode_prefix(out, n, s, len, flags) != len)
			abort();
		return 0;
	}
	if (cap < 4) { /* only dots fit */
		for (size_t i = 0; i < n; i++)
			if (out[i] != '.')
				abort();
		return 0;
	}
	if (n < 3 || memcmp(out + n - 3, "...", 3) != 0)
		abort(); /* shortened without saying so */
	(void)decode_prefix(out, n - 3, s, len, flags);
	return 0;
}
