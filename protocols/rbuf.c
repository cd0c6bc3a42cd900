/* rbuf: see rbuf.h. */
#include "rbuf.h"

#include <string.h>

void
rbuf_init(struct rbuf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = p != NULL ? len : 0;
	b->off = 0;
}

size_t
rbuf_left(const struct rbuf *b)
{
	return b->len - b->off;
}

/* True if [off, off + n) lies inside the buffer (no overflow). */
static int
fits(const struct rbuf *b, uint64_t off, size_t n)
{
	return off <= b->len && n <= b->len - off;
}

/* Reads the n-byte unsigned integer at off. */
static int
uint_at(const struct rbuf *b, uint64_t off, size_t n, int big, uint64_t *v)
{
	uint64_t x = 0;

	if (!fits(b, off, n))
		return RBUF_E_SHORT;
	for (size_t i = 0; i < n; i++) {
		uint64_t byte = b->p[off + i];
		x |= byte << (8 * (big ? n - 1 - i : i));
	}
	*v = x;
	return 0;
}

static int
uint_get(struct rbuf *b, size_t n, int big, uint64_t *v)
{
	if (uint_at(b, b->off, n, big, v) != 0)
		return RBUF_E_SHORT;
	b->off += n;
	return 0;
}

int
rbuf_seek(struct rbuf *b, uint64_t off)
{
	if (off > b->len)
		return RBUF_E_SHORT;
	b->off = (size_t)off;
	return 0;
}

int
rbuf_skip(struct rbuf *b, size_t n)
{
	if (!fits(b, b->off, n))
		return RBUF_E_SHORT;
	b->off += n;
	return 0;
}

/* One getter per width and byte order; T is the result type. */
#define RBUF_GETTERS(name, T, n, big)                                          \
	int rbuf_get_##name(struct rbuf *b, T *v)                              \
	{                                                                      \
		uint64_t x;                                                    \
		if (uint_get(b, n, big, &x) != 0)                              \
			return RBUF_E_SHORT;                                   \
		*v = (T)x;                                                     \
		return 0;                                                      \
	}                                                                      \
	int rbuf_at_##name(const struct rbuf *b, uint64_t off, T *v)           \
	{                                                                      \
		uint64_t x;                                                    \
		if (uint_at(b, off, n, big, &x) != 0)                          \
			return RBUF_E_SHORT;                                   \
		*v = (T)x;                                                     \
		return 0;                                                      \
	}

RBUF_GETTERS(u8, uint8_t, 1, 0)
RBUF_GETTERS(le16, uint16_t, 2, 0)
RBUF_GETTERS(le32, uint32_t, 4, 0)
RBUF_GETTERS(le64, uint64_t, 8, 0)
RBUF_GETTERS(be16, uint16_t, 2, 1)
RBUF_GETTERS(be32, uint32_t, 4, 1)
RBUF_GETTERS(be64, uint64_t, 8, 1)

int
rbuf_get_bytes(struct rbuf *b, size_t n, const uint8_t **p)
{
	if (!fits(b, b->off, n))
		return RBUF_E_SHORT;
	*p = b->p + b->off;
	b->off += n;
	return 0;
}

int
rbuf_get_string_be32(struct rbuf *b, size_t max, const uint8_t **p, size_t *n)
{
	uint32_t len;

	if (rbuf_at_be32(b, b->off, &len) != 0 || len > max ||
	    !fits(b, b->off + 4, len))
		return RBUF_E_SHORT;
	*p = b->p + b->off + 4;
	*n = len;
	b->off += 4 + (size_t)len;
	return 0;
}

int
rbuf_at_copy(const struct rbuf *b, uint64_t off, void *dst, size_t n)
{
	if (!fits(b, off, n))
		return RBUF_E_SHORT;
	if (n > 0)
		memcpy(dst, b->p + off, n);
	return 0;
}
