/* The Ctrl-] escape state machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "escape.h"

struct res {
	uint8_t out[64];
	size_t outn;
	enum escape_action acts[8];
	size_t nacts;
};

/* Feeds everything, collecting guest bytes and actions in order. */
static void
feed_all(struct escape *e, const char *in, size_t n, struct res *r)
{
	size_t off = 0;

	while (off < n) {
		size_t outn;
		enum escape_action act;
		size_t k = escape_feed(e, (const uint8_t *)in + off, n - off,
				       r->out + r->outn, &outn, &act);
		assert_true(k > 0);
		off += k;
		r->outn += outn;
		if (act != ESCAPE_NONE)
			r->acts[r->nacts++] = act;
	}
}

static void
test_plain_passes(void **state)
{
	struct escape e = {0};
	struct res r = {0};

	(void)state;
	feed_all(&e, "echo hi\r", 8, &r);
	assert_int_equal(r.outn, 8);
	assert_memory_equal(r.out, "echo hi\r", 8);
	assert_int_equal(r.nacts, 0);
}

static void
test_commands(void **state)
{
	struct escape e = {0};
	struct res r = {0};

	(void)state;
	feed_all(&e,
		 "a\x1d"
		 "bb\x1dr\x1dwc\x1d?\x1dx\x1d.",
		 15, &r);
	assert_int_equal(r.outn, 3);
	assert_memory_equal(r.out, "abc", 3);
	assert_int_equal(r.nacts, 6);
	assert_int_equal(r.acts[0], ESCAPE_BREAK);
	assert_int_equal(r.acts[1], ESCAPE_RESET);
	assert_int_equal(r.acts[2], ESCAPE_WHO);
	assert_int_equal(r.acts[3], ESCAPE_HELP);
	assert_int_equal(r.acts[4], ESCAPE_UNKNOWN);
	assert_int_equal(r.acts[5], ESCAPE_DETACH);
}

static void
test_stops_after_action(void **state)
{
	struct escape e = {0};
	uint8_t out[16];
	size_t outn;
	enum escape_action act;

	(void)state;
	size_t k =
	    escape_feed(&e, (const uint8_t *)"x\x1d.yz", 5, out, &outn, &act);
	assert_int_equal(k, 3); /* "yz" left for after the detach */
	assert_int_equal(outn, 1);
	assert_int_equal(act, ESCAPE_DETACH);
}

static void
test_double_escape_sends_one(void **state)
{
	struct escape e = {0};
	struct res r = {0};

	(void)state;
	feed_all(&e, "\x1d\x1d\x1d\x1d", 4, &r);
	assert_int_equal(r.outn, 2);
	assert_int_equal(r.out[0], 0x1d);
	assert_int_equal(r.out[1], 0x1d);
	assert_int_equal(r.nacts, 0);
}

static void
test_split_across_reads(void **state)
{
	struct escape e = {0};
	struct res r = {0};

	(void)state;
	feed_all(&e, "ab\x1d", 3, &r);
	assert_true(e.pending);
	assert_int_equal(r.outn, 2);
	feed_all(&e, ".", 1, &r);
	assert_int_equal(r.nacts, 1);
	assert_int_equal(r.acts[0], ESCAPE_DETACH);
	assert_false(e.pending);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_passes),
	    cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_stops_after_action),
	    cmocka_unit_test(test_double_escape_sends_one),
	    cmocka_unit_test(test_split_across_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
