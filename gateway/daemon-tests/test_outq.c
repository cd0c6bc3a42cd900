/* The per-session output queue: order, drops of the oldest bytes, the
 * visible marker at the gap, and the overflow limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "outq.h"

/* Drains the queue into buf; returns the length. */
static size_t
drain(struct outq *q, char *buf, size_t cap)
{
	const uint8_t *p;
	size_t n, o = 0;

	while ((n = outq_peek(q, &p)) > 0) {
		assert_true(o + n <= cap);
		memcpy(buf + o, p, n);
		o += n;
		outq_consume(q, n);
	}
	buf[o] = '\0';
	return o;
}

static void
test_fifo_and_wrap(void **state)
{
	struct outq q;
	char out[64];

	(void)state;
	outq_init(&q, 8);
	assert_int_equal(outq_push(&q, "abcde", 5, 0), 0);
	const uint8_t *p;
	assert_int_equal(outq_peek(&q, &p), 5);
	outq_consume(&q, 3); /* "de" left, head at 3 */
	assert_int_equal(outq_push(&q, "fghij", 5, 0), 0); /* wraps */
	assert_int_equal(drain(&q, out, sizeof(out)), 7);
	assert_string_equal(out, "defghij");
	assert_int_equal(outq_pending(&q), 0);
	outq_free(&q);
}

/* The ring grows as bytes wait (keeping their order across a wrap) and is
 * given back after a burst: an idle viewer holds no queue memory. */
static void
test_memory_follows_use(void **state)
{
	static char in[200000], out[200100];
	struct outq q;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)('a' + i % 23);
	outq_init(&q, 256 * 1024);
	assert_int_equal(q.size, 0);
	assert_int_equal(outq_push(&q, in, 3000, 0), 0);
	assert_int_equal(q.size, 4096);
	const uint8_t *p;
	assert_true(outq_peek(&q, &p) >= 2000);
	outq_consume(&q, 2000);
	assert_int_equal(outq_push(&q, in + 3000, 3000, 0), 0); /* wraps */
	assert_int_equal(outq_push(&q, in + 6000, 1000, 0), 0); /* grows */
	assert_int_equal(q.size, 8192);
	assert_int_equal(drain(&q, out, sizeof(out)), 5000);
	assert_memory_equal(out, in + 2000, 5000);
	assert_int_equal(outq_push(&q, in, sizeof(in), 0), 0);
	assert_int_equal(q.size, 256 * 1024);
	assert_int_equal(drain(&q, out, sizeof(out)), sizeof(in));
	assert_memory_equal(out, in, sizeof(in));
	assert_int_equal(q.size, 0); /* the burst is over */
	assert_null(q.buf);
	outq_free(&q);
}

/* A viewer's queue starts with the VM's scrollback, 64 KiB by default: once
 * sent, that ring is given back too, and echo traffic afterwards needs only
 * the smallest one. Kept, it cost every attached viewer 64 KiB (64 MiB for
 * 1,000 viewers of one console; tests/bench/bench_hub.c). */
static void
test_replay_ring_given_back(void **state)
{
	static char in[64 * 1024], out[64 * 1024 + 1];
	struct outq q;
	const uint8_t *p;

	(void)state;
	memset(in, 'r', sizeof(in));
	outq_init(&q, 256 * 1024);
	assert_int_equal(outq_push(&q, in, sizeof(in), 0), 0);
	assert_int_equal(q.size, 64 * 1024);
	assert_int_equal(drain(&q, out, sizeof(out)), sizeof(in));
	assert_int_equal(q.size, 0);
	assert_null(q.buf);
	for (int i = 0; i < 100; i++) { /* echoes: one small ring, kept */
		assert_int_equal(outq_push(&q, "k", 1, 0), 0);
		assert_int_equal(outq_peek(&q, &p), 1);
		outq_consume(&q, 1);
		assert_int_equal(q.size, 4096);
	}
	outq_free(&q);
}

static void
test_drop_oldest_with_marker(void **state)
{
	struct outq q;
	char out[256];

	(void)state;
	outq_init(&q, 10);
	outq_push(&q, "0123456789", 10, 0);
	assert_int_equal(outq_push(&q, "abc", 3, 0), 3); /* drops 012 */
	outq_push(&q, "de", 2, 0);			 /* drops 34 */
	drain(&q, out, sizeof(out));
	assert_string_equal(out, "\r\n[vmgate: 5 bytes dropped: your "
				 "connection is too slow]\r\n56789abcde");
	outq_free(&q);
}

static void
test_marker_counts_each_gap(void **state)
{
	struct outq q;
	char out[512];
	const uint8_t *p;

	(void)state;
	outq_init(&q, 4);
	outq_push(&q, "abcdef", 6, 0); /* bigger than the queue: ab lost */
	size_t n = outq_peek(&q, &p);  /* the marker, partly sent */
	assert_true(n > 10);
	outq_consume(&q, 5);
	outq_push(&q, "gh", 2, 0); /* drops cd while the marker is out */
	drain(&q, out, sizeof(out));
	assert_string_equal(
	    out, "gate: 2 bytes dropped: your connection is too slow]"
		 "\r\n\r\n[vmgate: 2 bytes dropped: your connection "
		 "is too slow]\r\nefgh");
	outq_free(&q);
}

static void
test_overlimit(void **state)
{
	struct outq q;
	char out[256];

	(void)state;
	outq_init(&q, 4);
	outq_push(&q, "abcd", 4, 1000);
	assert_false(outq_overlimit(&q, 1000, 10000, 100));
	outq_push(&q, "e", 1, 1000); /* the streak starts */
	assert_false(outq_overlimit(&q, 10999, 10000, 100));
	assert_true(outq_overlimit(&q, 11000, 10000, 100));
	/* Draining ends the streak. */
	drain(&q, out, sizeof(out));
	assert_false(outq_overlimit(&q, 20000, 10000, 100));
	/* Too many bytes dropped ends it as well. */
	for (int i = 0; i < 30; i++)
		outq_push(&q, "wxyz", 4, 20000);
	assert_true(outq_overlimit(&q, 20000, 10000, 100));
	outq_free(&q);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fifo_and_wrap),
	    cmocka_unit_test(test_memory_follows_use),
	    cmocka_unit_test(test_replay_ring_given_back),
	    cmocka_unit_test(test_drop_oldest_with_marker),
	    cmocka_unit_test(test_marker_counts_each_gap),
	    cmocka_unit_test(test_overlimit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
