/* Unit tests for the monitor's reboot-loop backoff, on made-up clocks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rebootlimit.h"

/*
 * A guest that resets as soon as it starts, each boot taking boot_ms:
 * returns how many times it was started within total_ms, and the waits
 * in waits[] (at most nwaits).
 */
static unsigned
run_loop(struct rebootlimit *r, int64_t boot_ms, int64_t total_ms,
	 uint32_t *waits, unsigned nwaits)
{
	int64_t now = 0;
	unsigned starts = 1, i = 0;

	rebootlimit_init(r, now);
	for (;;) {
		now += boot_ms;
		uint32_t w = rebootlimit_reset(r, now);
		if (i < nwaits)
			waits[i++] = w;
		now += w;
		if (now >= total_ms)
			return starts;
		rebootlimit_started(r, now);
		starts++;
	}
}

static void
test_burst_then_backoff(void **state)
{
	struct rebootlimit r;
	uint32_t w[12];

	(void)state;
	run_loop(&r, 25, 1000000, w, 12);
	/* Five resets at once, then 1 s, 2 s, 4 s ... up to a minute. */
	for (int i = 0; i < REBOOTLIMIT_BURST; i++)
		assert_int_equal(w[i], 0);
	assert_int_equal(w[5], 1000);
	assert_int_equal(w[6], 2000);
	assert_int_equal(w[7], 4000);
	assert_int_equal(w[8], 8000);
	assert_int_equal(w[9], 16000);
	assert_int_equal(w[10], 32000);
	assert_int_equal(w[11], 60000);
	assert_int_equal(rebootlimit_loop_resets(&r) > 12, 1);
}

static void
test_rate_is_bounded(void **state)
{
	struct rebootlimit r;
	uint32_t w[1];

	(void)state;
	/* 40 reboots a second without a limit; 10 s hold 9 starts (5 at
	 * once, then after 1, 2 and 4 s); an hour about 70 (one a minute
	 * once the wait is at its cap), not 144,000. */
	assert_true(run_loop(&r, 25, 10000, w, 1) <= 10);
	assert_true(run_loop(&r, 25, 3600000, w, 1) <= 75);
}

static void
test_slow_resets_never_wait(void **state)
{
	struct rebootlimit r;
	uint32_t w[50];

	(void)state;
	/* One reset every 2.5 s: at most 4 in any 10 s, no loop. */
	run_loop(&r, 2500, 125000, w, 50);
	for (int i = 0; i < 50; i++)
		assert_int_equal(w[i], 0);
	assert_int_equal(rebootlimit_loop_resets(&r), 0);
}

static void
test_quiet_run_ends_the_loop(void **state)
{
	struct rebootlimit r;
	int64_t now = 0;
	uint32_t w = 0;

	(void)state;
	rebootlimit_init(&r, now);
	for (int i = 0; i < 8; i++) {
		now += 10 + w;
		w = rebootlimit_reset(&r, now);
		rebootlimit_started(&r, now + w);
	}
	assert_int_equal(w, 4000);
	now += w;
	/* Runs a minute without resetting: the next reset is a fresh one. */
	now += REBOOTLIMIT_QUIET_MS;
	assert_int_equal(rebootlimit_reset(&r, now), 0);
	assert_int_equal(rebootlimit_loop_resets(&r), 0);
	/* A short run is not quiet: the loop goes on doubling. */
	rebootlimit_init(&r, 0);
	now = 0;
	w = 0;
	for (int i = 0; i < 7; i++) {
		now += 10 + w;
		w = rebootlimit_reset(&r, now);
		rebootlimit_started(&r, now + w);
	}
	assert_int_equal(w, 2000);
	now += w + REBOOTLIMIT_QUIET_MS - 1;
	assert_int_equal(rebootlimit_reset(&r, now), 4000);
}

static void
test_host_start_counts_as_a_start(void **state)
{
	struct rebootlimit r;

	(void)state;
	rebootlimit_init(&r, 0);
	for (int i = 1; i <= REBOOTLIMIT_BURST; i++)
		assert_int_equal(rebootlimit_reset(&r, i), 0);
	assert_int_equal(rebootlimit_reset(&r, 6), 1000);
	/* The host resets it during the wait; it then runs a quiet minute. */
	rebootlimit_started(&r, 500);
	assert_int_equal(rebootlimit_reset(&r, 500 + REBOOTLIMIT_QUIET_MS), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_backoff),
	    cmocka_unit_test(test_rate_is_bounded),
	    cmocka_unit_test(test_slow_resets_never_wait),
	    cmocka_unit_test(test_quiet_run_ends_the_loop),
	    cmocka_unit_test(test_host_start_counts_as_a_start),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
