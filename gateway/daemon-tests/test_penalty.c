/*
 * penalty.c: per-source delays (IPv4 address, IPv6 /64), forgetting, the
 * global budget across sources, and the fixed-size table under a flood of
 * addresses (issue 8 #6).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "penalty.h"

#define T0 1000000ULL /* any monotonic start */

static void
test_one_source(void **state)
{
	static const unsigned want[] = {0,    0,    0,	  250,	500, 1000,
					2000, 4000, 8000, 8000, 8000};
	struct penalty *p = penalty_new();

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(penalty_fail(p, "192.0.2.7", T0 + i, NULL),
				 want[i]);
	/* another address is another source */
	assert_int_equal(penalty_fail(p, "192.0.2.8", T0 + 20, NULL), 0);
	penalty_free(p);
	penalty_free(NULL);
}

static void
test_ipv6_prefix(void **state)
{
	struct penalty *p = penalty_new();

	(void)state;
	/* one /64, whatever the interface identifier */
	assert_int_equal(penalty_fail(p, "2001:db8:1:2::1", T0, NULL), 0);
	assert_int_equal(penalty_fail(p, "2001:db8:1:2:aaaa::5", T0, NULL), 0);
	assert_int_equal(
	    penalty_fail(p, "2001:db8:1:2:ffff:ffff:ffff:ffff", T0, NULL), 0);
	assert_int_equal(penalty_fail(p, "2001:db8:1:2::9", T0, NULL), 250);
	/* the next /64 is another source */
	assert_int_equal(penalty_fail(p, "2001:db8:1:3::1", T0, NULL), 0);
	/* an IPv4-mapped address is its IPv4 address */
	for (int i = 0; i < 3; i++)
		assert_int_equal(penalty_fail(p, "198.51.100.1", T0, NULL), 0);
	assert_int_equal(penalty_fail(p, "::ffff:198.51.100.1", T0, NULL), 250);
	/* a zone is not part of the source */
	for (int i = 0; i < 3; i++)
		assert_int_equal(penalty_fail(p, "fe80::1%eth0", T0, NULL), 0);
	assert_int_equal(penalty_fail(p, "fe80::2%eth1", T0, NULL), 250);
	/* text that is no address at all: one shared source, no crash */
	for (int i = 0; i < 3; i++)
		assert_int_equal(penalty_fail(p, i ? "?" : "", T0, NULL), 0);
	assert_int_equal(penalty_fail(p,
				      "not an address at all, and far "
				      "longer than any address can be",
				      T0, NULL),
			 250);
	penalty_free(p);
}

static void
test_forget(void **state)
{
	struct penalty *p = penalty_new();
	uint64_t t = T0;

	(void)state;
	for (int i = 0; i < 4; i++)
		penalty_fail(p, "192.0.2.1", t, NULL);
	/* quiet for less than the window: still counted */
	t += (PENALTY_FORGET_SECS - 1) * 1000ULL;
	assert_int_equal(penalty_fail(p, "192.0.2.1", t, NULL), 500);
	/* quiet for longer: starts over */
	t += (PENALTY_FORGET_SECS + 1) * 1000ULL;
	assert_int_equal(penalty_fail(p, "192.0.2.1", t, NULL), 0);
	penalty_free(p);
}

/* Failures spread over many addresses (one each) still hit the global
 * budget; the wait ends soon after the flood does. */
static void
test_global_budget(void **state)
{
	struct penalty *p = penalty_new();
	struct penalty_stats st;
	char ip[64];
	unsigned ms = 0;
	bool over = true;
	int i;

	(void)state;
	/* a minute before: drained by T0 */
	penalty_fail(p, "10.9.9.9", T0 - 60000, &over);
	assert_false(over);
	for (i = 0; i < PENALTY_GLOBAL_PER_MIN; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
		assert_int_equal(penalty_fail(p, ip, T0, &over), 0);
		assert_false(over);
	}
	/* a fresh address, past the budget: 250 ms doubling to the max */
	assert_int_equal(penalty_fail(p, "203.0.113.1", T0, &over), 250);
	assert_true(over);
	assert_int_equal(penalty_fail(p, "203.0.113.2", T0, NULL), 500);
	assert_int_equal(penalty_fail(p, "2001:db8:9::1", T0, NULL), 1000);
	for (i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "172.16.%d.%d", i / 250, i % 250 + 1);
		ms = penalty_fail(p, ip, T0 + (uint64_t)i, NULL);
	}
	assert_int_equal(ms, PENALTY_MAX_MS);
	/* the bucket refills at PENALTY_GLOBAL_PER_MIN a minute: still
	 * full a second later, free again once the overdraft drained */
	assert_int_equal(penalty_fail(p, "198.51.100.77", T0 + 1000, NULL),
			 PENALTY_MAX_MS);
	penalty_stats(p, T0 + 1000, &st);
	assert_true(st.global_level > PENALTY_GLOBAL_PER_MIN);
	uint64_t later =
	    T0 + 1000 + (60000ULL * 10 / PENALTY_GLOBAL_PER_MIN) + 1000;
	assert_int_equal(penalty_fail(p, "198.51.100.78", later, &over), 0);
	assert_false(over);
	penalty_free(p);
}

/* A million addresses: the table stays its size, and the budget holds. */
static void
test_bounded(void **state)
{
	struct penalty *p = penalty_new();
	struct penalty_stats st;
	char ip[64];

	(void)state;
	for (unsigned i = 0; i < 1000000; i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16,
			 i & 0xffff);
		penalty_fail(p, ip, T0 + i / 1000, NULL);
	}
	penalty_stats(p, T0 + 1000, &st);
	assert_true(st.sources <= PENALTY_SLOTS);
	assert_true(st.sources > PENALTY_SLOTS / 2);
	assert_true(st.evictions >= 1000000 - PENALTY_SLOTS);
	assert_int_equal(penalty_fail(p, "192.0.2.200", T0 + 1000, NULL),
			 PENALTY_MAX_MS);
	penalty_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_source),
	    cmocka_unit_test(test_ipv6_prefix),
	    cmocka_unit_test(test_forget),
	    cmocka_unit_test(test_global_budget),
	    cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
