/*
 * Unit tests for protocols/utf8.h: Table 3-7 of the Unicode standard at its
 * edges, and sequences cut short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

static void
seq_is(const char *s, size_t n, size_t want_len, uint32_t want_cp)
{
	uint32_t cp = 0xdeadbeef;

	assert_int_equal(utf8_seq((const uint8_t *)s, n, &cp), want_len);
	if (want_len > 0)
		assert_int_equal(cp, want_cp);
	else
		assert_int_equal(cp, 0xdeadbeef);
}

static void
test_edges(void **st)
{
	(void)st;
	seq_is("\0", 1, 1, 0);
	seq_is("\x7f", 1, 1, 0x7f);
	seq_is("\xc2\x80", 2, 2, 0x80);
	seq_is("\xdf\xbf", 2, 2, 0x7ff);
	seq_is("\xe0\xa0\x80", 3, 3, 0x800);
	seq_is("\xed\x9f\xbf", 3, 3, 0xd7ff);
	seq_is("\xee\x80\x80", 3, 3, 0xe000);
	seq_is("\xef\xbf\xbf", 3, 3, 0xffff);
	seq_is("\xf0\x90\x80\x80", 4, 4, 0x10000);
	seq_is("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);

	seq_is("", 0, 0, 0);
	seq_is("\x80", 1, 0, 0);	     /* lone continuation */
	seq_is("\xc0\xaf", 2, 0, 0);	     /* overlong '/' */
	seq_is("\xc1\xbf", 2, 0, 0);	     /* overlong */
	seq_is("\xe0\x9f\xbf", 3, 0, 0);     /* overlong */
	seq_is("\xed\xa0\x80", 3, 0, 0);     /* surrogate U+D800 */
	seq_is("\xed\xbf\xbf", 3, 0, 0);     /* surrogate U+DFFF */
	seq_is("\xf0\x8f\xbf\xbf", 4, 0, 0); /* overlong */
	seq_is("\xf4\x90\x80\x80", 4, 0, 0); /* U+110000 */
	seq_is("\xf5\x80\x80\x80", 4, 0, 0);
	seq_is("\xff", 1, 0, 0);
	seq_is("\xc2\x41", 2, 0, 0);	     /* bad continuation */
	seq_is("\xe2\x82\xac", 2, 0, 0);     /* cut short */
	seq_is("\xf0\x9f\x98\x80", 3, 0, 0); /* cut short */
	assert_int_equal(utf8_seq((const uint8_t *)"\xe2\x82\xac", 3, NULL), 3);
}

static void
test_valid(void **st)
{
	(void)st;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid(NULL, 0));
	assert_true(
	    utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_false(utf8_valid("caf\xc3", 4));
	assert_false(utf8_valid("a\x80z", 3));
	assert_false(utf8_valid("\xed\xa0\x80", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
