/*
 * Unit tests for protocols/rbuf.h: each getter reads what the wire format
 * says in both byte orders, and on a short buffer fails, consumes nothing
 * and leaves its output alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rbuf.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};

static void
test_byte_orders(void **st)
{
	struct rbuf b;
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	(void)st;
	rbuf_init(&b, bytes, sizeof(bytes));
	assert_int_equal(rbuf_get_le16(&b, &v16), 0);
	assert_int_equal(v16, 0x0201);
	assert_int_equal(rbuf_get_be16(&b, &v16), 0);
	assert_int_equal(v16, 0x0304);
	assert_int_equal(rbuf_get_le32(&b, &v32), 0);
	assert_int_equal(v32, 0x08070605);
	assert_int_equal(rbuf_left(&b), 0);

	rbuf_init(&b, bytes, sizeof(bytes));
	assert_int_equal(rbuf_get_be32(&b, &v32), 0);
	assert_int_equal(v32, 0x01020304);
	assert_int_equal(rbuf_get_u8(&b, &v8), 0);
	assert_int_equal(v8, 5);

	rbuf_init(&b, bytes, sizeof(bytes));
	assert_int_equal(rbuf_get_le64(&b, &v64), 0);
	assert_true(v64 == UINT64_C(0x0807060504030201));
	rbuf_init(&b, bytes, sizeof(bytes));
	assert_int_equal(rbuf_get_be64(&b, &v64), 0);
	assert_true(v64 == UINT64_C(0x0102030405060708));

	/* Positional reads leave the cursor where it is. */
	assert_int_equal(rbuf_at_be16(&b, 6, &v16), 0);
	assert_int_equal(v16, 0x0708);
	assert_int_equal(rbuf_at_le16(&b, 6, &v16), 0);
	assert_int_equal(v16, 0x0807);
	assert_int_equal(rbuf_at_le32(&b, 4, &v32), 0);
	assert_int_equal(v32, 0x08070605);
	assert_int_equal(rbuf_at_be32(&b, 4, &v32), 0);
	assert_int_equal(v32, 0x05060708);
	assert_int_equal(rbuf_at_le64(&b, 0, &v64), 0);
	assert_true(v64 == UINT64_C(0x0807060504030201));
	assert_int_equal(rbuf_at_be64(&b, 0, &v64), 0);
	assert_true(v64 == UINT64_C(0x0102030405060708));
	assert_int_equal(rbuf_at_u8(&b, 7, &v8), 0);
	assert_int_equal(v8, 8);
	assert_int_equal(b.off, 8);
}

/* Every getter, one byte short: an error, nothing consumed or written. */
static void
test_short_consumes_nothing(void **st)
{
	struct rbuf b;
	uint8_t v8 = 0xaa, copy[9];
	uint16_t v16 = 0xaaaa;
	uint32_t v32 = 0xaaaaaaaa;
	uint64_t v64 = 0xaaaaaaaa;
	const uint8_t *p = NULL;
	size_t n = 99;

	(void)st;
	rbuf_init(&b, bytes, sizeof(bytes));
	assert_int_equal(rbuf_skip(&b, 7), 0);
	assert_int_equal(rbuf_get_le16(&b, &v16), RBUF_E_SHORT);
	assert_int_equal(rbuf_get_be16(&b, &v16), RBUF_E_SHORT);
	assert_int_equal(v16, 0xaaaa);
	assert_int_equal(b.off, 7);
	assert_int_equal(rbuf_seek(&b, 5), 0);
	assert_int_equal(rbuf_get_le32(&b, &v32), RBUF_E_SHORT);
	assert_int_equal(rbuf_get_be32(&b, &v32), RBUF_E_SHORT);
	assert_int_equal(v32, 0xaaaaaaaa);
	assert_int_equal(rbuf_seek(&b, 1), 0);
	assert_int_equal(rbuf_get_le64(&b, &v64), RBUF_E_SHORT);
	assert_int_equal(rbuf_get_be64(&b, &v64), RBUF_E_SHORT);
	assert_true(v64 == 0xaaaaaaaa);
	assert_int_equal(rbuf_get_bytes(&b, 8, &p), RBUF_E_SHORT);
	assert_null(p);
	assert_int_equal(b.off, 1);
	assert_int_equal(rbuf_skip(&b, 8), RBUF_E_SHORT);
	assert_int_equal(rbuf_seek(&b, 9), RBUF_E_SHORT);
	assert_int_equal(b.off, 1);
	assert_int_equal(rbuf_seek(&b, 8), 0);
	assert_int_equal(rbuf_get_u8(&b, &v8), RBUF_E_SHORT);
	assert_int_equal(v8, 0xaa);
	assert_int_equal(rbuf_get_string_be32(&b, 100, &p, &n), RBUF_E_SHORT);
	assert_int_equal(n, 99);

	/* Offsets past the end, including ones that would wrap around. */
	assert_int_equal(rbuf_at_u8(&b, 8, &v8), RBUF_E_SHORT);
	assert_int_equal(rbuf_at_le16(&b, 7, &v16), RBUF_E_SHORT);
	assert_int_equal(rbuf_at_le32(&b, UINT64_MAX - 1, &v32), RBUF_E_SHORT);
	assert_int_equal(rbuf_at_be64(&b, UINT64_MAX, &v64), RBUF_E_SHORT);
	assert_int_equal(rbuf_at_copy(&b, 0, copy, 9), RBUF_E_SHORT);
	assert_int_equal(rbuf_at_copy(&b, UINT64_MAX, copy, 1), RBUF_E_SHORT);
	assert_int_equal(rbuf_at_copy(&b, 2, copy, 6), 0);
	assert_memory_equal(copy, bytes + 2, 6);
	assert_int_equal(v8, 0xaa);
	assert_int_equal(v16, 0xaaaa);
	assert_int_equal(v32, 0xaaaaaaaa);

	/* An empty or NULL view holds nothing. */
	rbuf_init(&b, NULL, 5);
	assert_int_equal(rbuf_left(&b), 0);
	assert_int_equal(rbuf_get_u8(&b, &v8), RBUF_E_SHORT);
}

/* SSH strings: u32 big-endian length, then the bytes. */
static void
test_string_be32(void **st)
{
	/* "abc", "", then a length of 5 with only 4 bytes after it */
	static const uint8_t in[] = {0, 0, 0, 3, 'a', 'b', 'c', 0,   0,	 0,
				     0, 0, 0, 0, 5,   'w', 'x', 'y', 'z'};
	/* a length of 2^32 - 1 with 1 byte after it */
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'z'};
	struct rbuf b;
	const uint8_t *p;
	size_t n;

	(void)st;
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(rbuf_get_string_be32(&b, 3, &p, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "abc", 3);
	assert_int_equal(rbuf_get_string_be32(&b, 0, &p, &n), 0);
	assert_int_equal(n, 0);
	/* Length 5 with 4 bytes left: short, nothing consumed. */
	assert_int_equal(rbuf_get_string_be32(&b, 100, &p, &n), RBUF_E_SHORT);
	assert_int_equal(b.off, 11);
	/* Over the caller's cap. */
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(rbuf_get_string_be32(&b, 2, &p, &n), RBUF_E_SHORT);
	assert_int_equal(b.off, 0);
	/* A length near 2^32 must not wrap the bounds check. */
	rbuf_init(&b, huge, sizeof(huge));
	assert_int_equal(rbuf_get_string_be32(&b, SIZE_MAX, &p, &n),
			 RBUF_E_SHORT);
	assert_int_equal(b.off, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_byte_orders),
	    cmocka_unit_test(test_short_consumes_nothing),
	    cmocka_unit_test(test_string_be32),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
