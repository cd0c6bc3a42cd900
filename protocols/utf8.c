/* utf8: see utf8.h. */
#include "utf8.h"

size_t
utf8_seq(const uint8_t *p, size_t n, uint32_t *cp)
{
	size_t len;
	uint32_t min, c;

	if (n == 0)
		return 0;
	c = p[0];
	if (c < 0x80) {
		len = 1, min = 0;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2, min = 0x80, c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3, min = 0x800, c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4, min = 0x10000, c &= 0x07;
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	if (cp != NULL)
		*cp = c;
	return len;
}

bool
utf8_valid(const void *s, size_t n)
{
	const uint8_t *p = s;

	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq(p + i, n - i, NULL)) == 0)
			return false;
	return true;
}
