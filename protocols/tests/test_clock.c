/*
 * Unit tests for protocols/clock.h: the millisecond clock moves forward by
 * what a sleep takes, and the stamp has the documented shape and is now.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"

static void
test_ms_moves(void **st)
{
	struct timespec nap = {0, 30 * 1000 * 1000};
	uint64_t a, b;

	(void)st;
	a = clock_ms();
	assert_true(a > 0);
	nanosleep(&nap, NULL);
	b = clock_ms();
	assert_true(b >= a + 29); /* a truncated ms at each end */
	assert_true(b < a + 5000);
}

static time_t
realtime_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

static void
test_stamp(void **st)
{
	char buf[CLOCK_STAMP_LEN];
	struct tm tm;
	int y, mo, d, h, mi, s, ms, n = 0;
	/* Bounds from the clock clock_stamp() reads: time() reads the kernel's
	 * coarse clock, a tick behind CLOCK_REALTIME at times, so a stamp made
	 * just after a second began could be "later" than time() after it. */
	time_t before = realtime_s(), t;

	(void)st;
	memset(buf, 'x', sizeof(buf));
	assert_ptr_equal(clock_stamp(buf), buf);
	assert_int_equal(strlen(buf), 24);
	assert_int_equal(sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &y, &mo,
				&d, &h, &mi, &s, &ms, &n),
			 7);
	assert_int_equal(n, 24);
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	assert_true(t >= before && t <= realtime_s());
	assert_true(ms >= 0 && ms <= 999);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ms_moves),
	    cmocka_unit_test(test_stamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
