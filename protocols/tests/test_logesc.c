/*
 * Unit tests for protocols/logesc.h: what a peer or a guest can put in a log
 * line comes out as printable ASCII, and a cut never splits an escape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "logesc.h"

static void
expect(const char *in, size_t len, size_t size, unsigned flags,
       const char *want)
{
	char buf[512];

	memset(buf, 'Z', sizeof(buf));
	size_t n = logesc_mem(buf, size, in, len, flags);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	assert_true(n < size);
	/* nothing written past the buffer it was given */
	if (size < sizeof(buf))
		assert_int_equal(buf[size], 'Z');
}

static void
test_printable_passes(void **st)
{
	(void)st;
	expect("alice@1.2.3.4 ok ~", 18, 64, 0, "alice@1.2.3.4 ok ~");
	expect("", 0, 8, 0, "");
	expect(NULL, 0, 8, 0, "");
}

static void
test_controls_and_newlines(void **st)
{
	(void)st;
	expect("a\nb", 3, 64, 0, "a\\x0ab");
	expect("a\r\nb", 4, 64, 0, "a\\x0d\\x0ab");
	expect("\x1b[31mRED\x1b]0;t\x07", 14, 64, 0,
	       "\\x1b[31mRED\\x1b]0;t\\x07");
	expect("\x7f\t\x00z", 4, 64, 0, "\\x7f\\x09\\x00z");
}

static void
test_forged_line_is_one_line(void **st)
{
	static const char in[] =
	    "ssh-foo\n2026-01-01T00:00:00.000Z vmgated[1]: root@1.2.3.4 "
	    "authenticated";
	char buf[256];

	(void)st;
	logesc(buf, sizeof(buf), in, sizeof(in) - 1);
	assert_null(strchr(buf, '\n'));
	assert_non_null(strstr(buf, "ssh-foo\\x0a2026-01-01"));
}

static void
test_backslash(void **st)
{
	(void)st;
	/* a literal "\x0a" typed by a peer cannot pass for an escape */
	expect("\\x0a", 4, 64, 0, "\\x5cx0a");
	expect("\\x0a\n", 5, 64, LOGESC_KEEP_BACKSLASH, "\\x0a\\x0a");
}

static void
test_utf8_valid_and_invalid(void **st)
{
	(void)st;
	/* é, then a lone continuation byte, a truncated sequence, an
	 * overlong '/', and a C1 CSI (0x9b) that some terminals obey */
	expect("\xc3\xa9", 2, 64, 0, "\\xc3\\xa9");
	expect("\x80x\xe2\x82", 4, 64, 0, "\\x80x\\xe2\\x82");
	expect("\xc0\xaf\xc2\x9b", 4, 64, 0, "\\xc0\\xaf\\xc2\\x9b");
	expect("\xff\xfe", 2, 64, 0, "\\xff\\xfe");
}

static void
test_exact_fit_is_not_cut(void **st)
{
	(void)st;
	expect("abcdefg", 7, 8, 0, "abcdefg");
	expect("\n", 1, 5, 0, "\\x0a");
}

static void
test_cut_never_splits_an_escape(void **st)
{
	char in[64], buf[64];

	(void)st;
	expect("abcdefgh", 8, 8, 0, "abcd...");
	expect("\n\n\n", 3, 12, 0, "\\x0a\\x0a...");
	expect("\n\n\n", 3, 11, 0, "\\x0a...");
	expect("\n\n\n", 3, 7, 0, "...");
	expect("a\nb", 3, 4, 0, "...");
	expect("abc", 3, 3, 0, "..");
	expect("abc", 3, 1, 0, "");
	/* every size: the output is a run of whole escapes, maybe "..." */
	memset(in, '\x1b', sizeof(in));
	for (size_t size = 1; size <= sizeof(buf); size++) {
		size_t n = logesc_mem(buf, size, in, sizeof(in), 0);
		assert_true(n < size);
		assert_int_equal(buf[n], '\0');
		size_t body = n;
		if (n >= 3 && memcmp(buf + n - 3, "...", 3) == 0)
			body = n - 3;
		else if (size < 4)
			body = 0; /* only dots fit */
		assert_int_equal(body % 4, 0);
		for (size_t i = 0; i < body; i += 4)
			assert_memory_equal(buf + i, "\\x1b", 4);
	}
	assert_int_equal(logesc_mem(buf, 0, "abc", 3, 0), 0);
}

static void
test_str(void **st)
{
	char buf[32];

	(void)st;
	assert_string_equal(logesc_str(buf, sizeof(buf), "a\tb"), "a\\x09b");
	assert_string_equal(logesc_str(buf, sizeof(buf), NULL), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_printable_passes),
	    cmocka_unit_test(test_controls_and_newlines),
	    cmocka_unit_test(test_forged_line_is_one_line),
	    cmocka_unit_test(test_backslash),
	    cmocka_unit_test(test_utf8_valid_and_invalid),
	    cmocka_unit_test(test_exact_fit_is_not_cut),
	    cmocka_unit_test(test_cut_never_splits_an_escape),
	    cmocka_unit_test(test_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
