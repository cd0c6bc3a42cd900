/* Admission before login: MaxStartups' early drop, sources (IPv4 address,
 * IPv6 /64), per-source and total counts, and one log line for a flood of
 * refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "config.h"
#include "startups.h"

/* How many of the 100 values of rnd drop at n. */
static unsigned
drops(unsigned begin, unsigned rate, unsigned full, unsigned n)
{
	unsigned k = 0;

	for (unsigned rnd = 0; rnd < 100; rnd++)
		k += startups_drop(begin, rate, full, n, rnd);
	return k;
}

static void
test_drop(void **state)
{
	(void)state;
	/* OpenSSH's 10:30:100 */
	assert_int_equal(drops(10, 30, 100, 0), 0);
	assert_int_equal(drops(10, 30, 100, 9), 0);
	assert_int_equal(drops(10, 30, 100, 10), 30);
	assert_int_equal(drops(10, 30, 100, 55), 65); /* 30 + 70 * 45 / 90 */
	assert_int_equal(drops(10, 30, 100, 99), 99);
	assert_int_equal(drops(10, 30, 100, 100), 100);
	assert_int_equal(drops(10, 30, 100, 5000), 100);
	/* the probability never falls as n grows */
	for (unsigned n = 1, last = 0; n < 200; n++) {
		unsigned k = drops(32, 30, 128, n);
		assert_true(k >= last);
		last = k;
	}
	/* rate 100 or one number: a hard limit at begin */
	assert_int_equal(drops(3, 100, 6, 2), 0);
	assert_int_equal(drops(3, 100, 6, 3), 100);
	assert_int_equal(drops(5, 100, 5, 4), 0);
	assert_int_equal(drops(5, 100, 5, 5), 100);
	assert_int_equal(drops(1, 1, 1, 0), 0);
	assert_int_equal(drops(1, 1, 1, 1), 100);
}

static struct startups_src
v4(const char *a, unsigned port)
{
	struct sockaddr_in in = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	struct startups_src s;

	assert_int_equal(inet_pton(AF_INET, a, &in.sin_addr), 1);
	assert_true(startups_src_of((struct sockaddr *)&in, sizeof(in), &s));
	return s;
}

static struct startups_src
v6(const char *a, unsigned port)
{
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)port)};
	struct startups_src s;

	assert_int_equal(inet_pton(AF_INET6, a, &in6.sin6_addr), 1);
	assert_true(startups_src_of((struct sockaddr *)&in6, sizeof(in6), &s));
	return s;
}

static bool
same(struct startups_src a, struct startups_src b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

static void
test_sources(void **state)
{
	char buf[STARTUPS_SRC_STRLEN];
	struct startups_src s;

	(void)state;
	assert_true(same(v4("127.0.0.1", 1), v4("127.0.0.1", 2)));
	assert_false(same(v4("127.0.0.1", 1), v4("127.0.0.2", 1)));
	assert_string_equal(
	    startups_src_str(&(struct startups_src){0}, buf, sizeof(buf)),
	    "(other)");
	s = v4("192.0.2.7", 22);
	assert_string_equal(startups_src_str(&s, buf, sizeof(buf)),
			    "192.0.2.7");
	/* one /64 is one source */
	assert_true(same(v6("2001:db8:1:2::1", 1),
			 v6("2001:db8:1:2:ffff:ffff:ffff:ffff", 9)));
	assert_false(same(v6("2001:db8:1:2::1", 1), v6("2001:db8:1:3::1", 1)));
	s = v6("2001:db8:1:2:aaaa::1", 5);
	assert_string_equal(startups_src_str(&s, buf, sizeof(buf)),
			    "2001:db8:1:2::/64");
	/* a v4 client of a dual-stack socket is its v4 address, not one
	 * ::ffff:0:0/64 shared by every v4 client */
	assert_true(same(v6("::ffff:10.0.0.1", 1), v4("10.0.0.1", 2)));
	assert_false(same(v6("::ffff:10.0.0.1", 1), v6("::ffff:10.0.0.2", 1)));
	/* no source for other families or a short address */
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	assert_false(startups_src_of((struct sockaddr *)&un, sizeof(un), &s));
	struct sockaddr_in in = {.sin_family = AF_INET};
	assert_false(startups_src_of((struct sockaddr *)&in, 4, &s));
}

/* Runs fn with stderr (vmgated's log) going to a file; returns the lines. */
static char *
logged(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/test_startups.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	static char out[8192];
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	dup2(fd, STDERR_FILENO);
	fn(arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static unsigned
lines(const char *s)
{
	unsigned k = 0;

	for (; *s; s++)
		k += *s == '\n';
	return k;
}

struct flood {
	struct startups *st;
	struct startups_src src;
	unsigned refused;
};

static void
flood(void *arg)
{
	struct flood *f = arg;

	for (int i = 0; i < 5000; i++)
		f->refused +=
		    !startups_admit(f->st, &f->src, "192.0.2.1:40000");
}

static void
test_admit(void **state)
{
	struct event_base *base = event_base_new();
	const struct config_ssh cfg = {
	    .startups_begin = 5,
	    .startups_rate = 100,
	    .startups_full = 5,
	    .per_source = 2,
	    .kex_timeout = 10,
	    .login_grace = 60,
	};
	struct startups *st = startups_new(base, &cfg);
	struct startups_src a = v4("192.0.2.1", 1), b = v4("192.0.2.2", 1);
	struct startups_src n1 = v6("2001:db8::1", 1),
			    n2 = v6("2001:db8::2", 1);
	struct startups_src c = v4("192.0.2.3", 1);
	struct flood f = {.st = st, .src = a};
	char *log;

	(void)state;
	/* per source */
	assert_true(startups_admit(st, &a, "192.0.2.1:1"));
	assert_true(startups_admit(st, &a, "192.0.2.1:2"));
	log = logged(flood, &f);
	assert_int_equal(f.refused, 5000);
	/* 5000 refusals, one line: the rest wait for the summary */
	assert_int_equal(lines(log), 1);
	assert_non_null(strstr(log,
			       "refused 192.0.2.1:40000: 2 unauthenticated "
			       "connections from 192.0.2.1 already (ssh: "
			       "per_source_max_startups: 2)"));
	assert_int_equal(startups_count(st, &a), 2);
	/* the /64 counts as one */
	assert_true(startups_admit(st, &n1, "[2001:db8::1]:1"));
	assert_true(startups_admit(st, &n2, "[2001:db8::2]:1"));
	assert_false(startups_admit(st, &n1, "[2001:db8::1]:2"));
	assert_int_equal(startups_count(st, &n2), 2);
	assert_int_equal(startups_total(st), 4);
	/* the total: 5 is full */
	assert_true(startups_admit(st, &b, "192.0.2.2:1"));
	assert_false(startups_admit(st, &c, "192.0.2.3:1"));
	assert_int_equal(startups_count(st, &c), 0);
	/* a login or a close frees the slot */
	startups_leave(st, &a);
	assert_true(startups_admit(st, &c, "192.0.2.3:1"));
	startups_leave(st, &a);
	startups_leave(st, &n1);
	startups_leave(st, &n2);
	startups_leave(st, &b);
	startups_leave(st, &c);
	assert_int_equal(startups_total(st), 0);
	assert_int_equal(startups_count(st, &a), 0);
	assert_true(startups_admit(st, &a, "192.0.2.1:3"));
	startups_leave(st, &a);
	startups_free(st);
	startups_free(NULL);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_drop),
	    cmocka_unit_test(test_sources),
	    cmocka_unit_test(test_admit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
