/* JSON escaping of untrusted bytes (audit log, recordings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

static void
test_escapes(void **state)
{
	struct json j;

	(void)state;
	json_init(&j);
	json_str(&j, "a\"b\\c\r\n\x01\x7f", 9);
	assert_string_equal(j.buf, "\"a\\\"b\\\\c\\r\\n\\u0001\\u007f\"");
	json_reset(&j);
	/* valid UTF-8 passes, invalid bytes become U+FFFD */
	json_str(&j, "\xc3\xa9\xff\xed\xa0\x80", 6);
	assert_string_equal(j.buf, "\"\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf"
				   "\xbd\xef\xbf\xbd\"");
	json_reset(&j);
	json_rawz(&j, "{");
	json_kstr(&j, "a", "x");
	json_kint(&j, "n", -3);
	json_kbool(&j, "b", true);
	json_kstr(&j, "z", NULL);
	json_rawz(&j, "}");
	assert_string_equal(j.buf,
			    "{\"a\":\"x\",\"n\":-3,\"b\":true,\"z\":null}");
	json_free(&j);
}

static void
test_utf8_complete(void **state)
{
	(void)state;
	assert_int_equal(json_utf8_complete((const uint8_t *)"abc", 3), 3);
	assert_int_equal(json_utf8_complete((const uint8_t *)"ab\xc3", 3), 2);
	assert_int_equal(json_utf8_complete((const uint8_t *)"a\xe2\x82", 3),
			 1);
	assert_int_equal(json_utf8_complete((const uint8_t *)"\xe2\x82\xac", 3),
			 3);
	assert_int_equal(json_utf8_complete((const uint8_t *)"\xf0\x9f\x98", 3),
			 0);
	assert_int_equal(json_utf8_complete((const uint8_t *)"a\xff", 2), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escapes),
	    cmocka_unit_test(test_utf8_complete),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
