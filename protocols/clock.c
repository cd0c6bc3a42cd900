/* clock: see clock.h. */
#include "clock.h"

#include <stdio.h>
#include <time.h>

uint64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

char *
clock_stamp(char buf[CLOCK_STAMP_LEN])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, CLOCK_STAMP_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, CLOCK_STAMP_LEN - n, ".%03ldZ",
		 (long)(ts.tv_nsec / 1000000));
	return buf;
}
