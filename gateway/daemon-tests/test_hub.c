/* The console hub: fan-out, scrollback replay, per-client drops that do
 * not touch other clients, one writer path with backpressure, read-only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hub.h"

static uint8_t sent[4096];
static size_t nsent, room;

static size_t
fake_send(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	if (n > room)
		n = room;
	memcpy(sent + nsent, p, n);
	nsent += n;
	room -= n;
	return n;
}

struct client {
	int outputs, readies;
	struct hub_client *hc;
};

static void
c_output(void *arg)
{
	((struct client *)arg)->outputs++;
}

static void
c_ready(void *arg)
{
	struct client *c = arg;

	c->readies++;
}

static const struct hub_client_ops ops = {c_output, c_ready};

static size_t
take(struct hub_client *hc, char *buf, size_t cap)
{
	const uint8_t *p;
	size_t n, o = 0;

	while ((n = outq_peek(&hc->q, &p)) > 0) {
		if (o + n >= cap)
			n = cap - o - 1;
		memcpy(buf + o, p, n);
		o += n;
		outq_consume(&hc->q, n);
		if (o == cap - 1)
			break;
	}
	buf[o] = '\0';
	return o;
}

static void
test_scrollback_and_fanout(void **state)
{
	struct hub *h = hub_new("web1", 8, 0, fake_send, NULL);
	struct client a = {0}, b = {0};
	char buf[64];

	(void)state;
	hub_output(h, (const uint8_t *)"0123456789", 10); /* ring keeps 8 */
	a.hc = hub_attach(h, "alice", false, &ops, &a);
	take(a.hc, buf, sizeof(buf));
	assert_string_equal(buf, "23456789");
	hub_output(h, (const uint8_t *)"xy", 2);
	b.hc = hub_attach(h, "bob", true, &ops, &b);
	assert_int_equal(a.outputs, 1);
	take(a.hc, buf, sizeof(buf));
	assert_string_equal(buf, "xy");
	take(b.hc, buf, sizeof(buf));
	assert_string_equal(buf, "456789xy");
	assert_int_equal(hub_nclients(h), 2);
	hub_detach(a.hc);
	hub_detach(b.hc);
	hub_free(h);
}

static void
test_slow_client_does_not_hurt_others(void **state)
{
	struct hub *h = hub_new("web1", 4096, 0, fake_send, NULL);
	struct client slow = {0}, fast = {0};
	static uint8_t chunk[65536];
	static char buf[HUB_CLIENT_QUEUE + 1];

	(void)state;
	slow.hc = hub_attach(h, "slow", true, &ops, &slow);
	fast.hc = hub_attach(h, "fast", true, &ops, &fast);
	size_t got = 0;
	for (int i = 0; i < 64; i++) { /* 4 MiB */
		memset(chunk, 'a' + i % 26, sizeof(chunk));
		hub_output(h, chunk, sizeof(chunk));
		got += take(fast.hc, buf, sizeof(buf));
	}
	assert_int_equal(got, 64 * sizeof(chunk)); /* fast lost nothing */
	/* slow kept only its newest bytes, behind a marker */
	size_t n = take(slow.hc, buf, sizeof(buf));
	assert_true(n <= HUB_CLIENT_QUEUE);
	assert_non_null(
	    strstr(buf, "bytes dropped: your connection is too slow"));
	assert_int_equal(buf[n - 1], 'a' + 63 % 26);
	hub_detach(slow.hc);
	hub_detach(fast.hc);
	hub_free(h);
}

/* viewer_queue: the queue a client gets is the configured one, but never
 * less than twice the scrollback (whose replay starts it). */
static void
test_configured_queue(void **state)
{
	static uint8_t chunk[65536];
	struct client c = {0};
	struct hub *h = hub_new("web1", 4096, 16384, fake_send, NULL);

	(void)state;
	c.hc = hub_attach(h, "slow", true, &ops, &c);
	assert_int_equal(c.hc->q.cap, 16384);
	memset(chunk, 'q', sizeof(chunk));
	hub_output(h, chunk, sizeof(chunk));
	/* the ring holds the newest 16 KiB (a drop marker waits apart) */
	assert_int_equal(c.hc->q.len, 16384);
	assert_true(c.hc->q.size <= 16384);
	hub_detach(c.hc);
	hub_free(h);

	h = hub_new("web1", 65536, 16384, fake_send, NULL);
	c.hc = hub_attach(h, "slow", true, &ops, &c);
	assert_int_equal(c.hc->q.cap, 2 * 65536);
	hub_detach(c.hc);
	hub_free(h);

	h = hub_new("web1", 4096, 0, fake_send, NULL);
	c.hc = hub_attach(h, "slow", true, &ops, &c);
	assert_int_equal(c.hc->q.cap, HUB_CLIENT_QUEUE);
	hub_detach(c.hc);
	hub_free(h);
}

static void
test_writer_path_and_readonly(void **state)
{
	struct hub *h = hub_new("web1", 64, 0, fake_send, NULL);
	struct client rw = {0}, ro = {0}, rw2 = {0};

	(void)state;
	nsent = 0;
	room = 4;
	rw.hc = hub_attach(h, "alice", false, &ops, &rw);
	ro.hc = hub_attach(h, "bob", true, &ops, &ro);
	rw2.hc = hub_attach(h, "carol", false, &ops, &rw2);
	assert_int_equal(hub_write(ro.hc, (const uint8_t *)"evil", 4), 0);
	assert_int_equal(nsent, 0);
	assert_int_equal(hub_write(rw.hc, (const uint8_t *)"hello", 5), 4);
	assert_true(rw.hc->blocked);
	/* carol waits behind alice even if there were room */
	room = 100;
	assert_int_equal(hub_write(rw2.hc, (const uint8_t *)"x", 1), 0);
	assert_true(rw2.hc->blocked);
	hub_credit(h);
	assert_int_equal(rw.readies, 1);
	assert_int_equal(ro.readies, 0);
	/* alice's callback did not write, so she still blocks the queue */
	assert_int_equal(rw2.readies, 0);
	assert_int_equal(hub_write(rw.hc, (const uint8_t *)"o", 1), 1);
	assert_false(rw.hc->blocked);
	hub_credit(h);
	assert_int_equal(rw2.readies, 1);
	assert_int_equal(hub_write(rw2.hc, (const uint8_t *)"x", 1), 1);
	assert_memory_equal(sent, "hellox", 6);
	hub_detach(rw.hc);
	hub_detach(ro.hc);
	hub_detach(rw2.hc);
	hub_free(h);
}

/* A reload that takes a blocked writer's write right away must not leave it
 * holding up the writers behind it (issue 8, defect 9). */
static void
test_downgraded_writer_leaves_queue(void **state)
{
	struct hub *h = hub_new("web1", 64, 0, fake_send, NULL);
	struct client a = {0}, b = {0};

	(void)state;
	nsent = 0;
	room = 2;
	a.hc = hub_attach(h, "alice", false, &ops, &a);
	b.hc = hub_attach(h, "bob", false, &ops, &b);
	assert_int_equal(hub_write(a.hc, (const uint8_t *)"abcd", 4), 2);
	assert_true(a.hc->blocked);
	assert_int_equal(hub_write(b.hc, (const uint8_t *)"xy", 2), 0);
	assert_true(b.hc->blocked);
	hub_set_readonly(a.hc, true); /* the reload */
	assert_true(a.hc->readonly);
	assert_false(a.hc->blocked);
	/* alice can no longer write, and is not woken for it */
	assert_int_equal(hub_write(a.hc, (const uint8_t *)"cd", 2), 0);
	room = 100;
	hub_credit(h);
	assert_int_equal(a.readies, 0);
	assert_int_equal(b.readies, 1);
	assert_int_equal(hub_write(b.hc, (const uint8_t *)"xy", 2), 2);
	assert_false(b.hc->blocked);
	assert_int_equal(nsent, 4);
	assert_memory_equal(sent, "abxy", 4);
	/* back to read-write: she writes like anyone else */
	hub_set_readonly(a.hc, false);
	assert_int_equal(hub_write(a.hc, (const uint8_t *)"cd", 2), 2);
	assert_memory_equal(sent, "abxycd", 6);
	hub_detach(a.hc);
	hub_detach(b.hc);
	hub_free(h);
}

static int pace_calls, pace_ms;

static void
fake_pace(void *arg, int ms)
{
	(void)arg;
	pace_calls++;
	pace_ms = ms;
}

#define CROWD (HUB_PACE_VIEWERS + 36)

static void
check_outputs(const struct client *c, int from, int to, int want)
{
	for (int i = from; i < to; i++)
		assert_int_equal(c[i].outputs, want);
}

/* Up to HUB_PACE_VIEWERS clients everyone is told at once, pacer or not. */
static void
test_small_console_is_not_paced(void **state)
{
	struct hub *h = hub_new("web1", 64, 0, fake_send, NULL);
	struct client c[HUB_PACE_VIEWERS] = {0};

	(void)state;
	pace_calls = 0;
	hub_set_pacer(h, fake_pace, NULL);
	for (int i = 0; i < HUB_PACE_VIEWERS; i++)
		c[i].hc = hub_attach(h, "bob", true, &ops, &c[i]);
	hub_output(h, (const uint8_t *)"a", 1);
	check_outputs(c, 0, HUB_PACE_VIEWERS, 1);
	assert_int_equal(pace_calls, 0);
	assert_int_equal(hub_pace(h), -1);
	for (int i = 0; i < HUB_PACE_VIEWERS; i++)
		hub_detach(c[i].hc);
	hub_free(h);
}

/* A crowd: the typist at once, the others a slice per hub_pace() in
 * order, each at most once per sweep, the next sweep HUB_PACE_MS later. */
static void
test_crowded_console_is_paced(void **state)
{
	struct hub *h = hub_new("web1", 64, 0, fake_send, NULL);
	struct client c[CROWD] = {0};
	char buf[64];

	(void)state;
	pace_calls = 0;
	room = 100;
	nsent = 0;
	hub_set_pacer(h, fake_pace, NULL);
	c[0].hc = hub_attach(h, "alice", false, &ops, &c[0]);
	for (int i = 1; i < CROWD; i++)
		c[i].hc = hub_attach(h, "bob", i != 1, &ops, &c[i]);
	assert_int_equal(hub_write(c[0].hc, (const uint8_t *)"x", 1), 1);
	/* a reader's input goes nowhere: it is no typist */
	assert_int_equal(hub_write(c[2].hc, (const uint8_t *)"y", 1), 0);

	hub_output(h, (const uint8_t *)"a", 1);
	assert_int_equal(c[0].outputs, 1); /* the echo, at once */
	check_outputs(c, 1, CROWD, 0);
	assert_int_equal(pace_calls, 1);
	assert_int_equal(pace_ms, 0); /* no sweep yet: next pass */
	/* everyone's bytes are queued already */
	assert_int_equal(take(c[CROWD - 1].hc, buf, sizeof(buf)), 1);

	assert_int_equal(hub_pace(h), 0); /* a slice; more wait */
	check_outputs(c, 1, 1 + HUB_PACE_SLICE, 1);
	check_outputs(c, 1 + HUB_PACE_SLICE, CROWD, 0);

	/* Output in the middle of the sweep: the typist at once; who was
	 * told already waits for the next sweep, the rest get it in this
	 * one. */
	hub_output(h, (const uint8_t *)"b", 1);
	assert_int_equal(c[0].outputs, 2);
	assert_int_equal(pace_calls, 1);
	int ms = hub_pace(h);
	check_outputs(c, 1 + HUB_PACE_SLICE, CROWD, 1);
	check_outputs(c, 1, 1 + HUB_PACE_SLICE, 1);
	assert_true(ms > 0 && ms <= HUB_PACE_MS);
	assert_int_equal(hub_pace(h), -1);
	check_outputs(c, 1, 1 + HUB_PACE_SLICE, 2);
	check_outputs(c, 1 + HUB_PACE_SLICE, CROWD, 1);

	/* Quiet, then output again within HUB_PACE_MS of that sweep: the
	 * pacer is asked to wait. A client that leaves meanwhile is not
	 * told. */
	hub_output(h, (const uint8_t *)"c", 1);
	assert_int_equal(pace_calls, 2);
	assert_true(pace_ms > 0 && pace_ms <= HUB_PACE_MS);
	hub_detach(c[5].hc);
	while (hub_pace(h) >= 0)
		;
	assert_int_equal(c[5].outputs, 2);
	/* Told of a, b and c apart, or (b having come before their turn in
	 * the first sweep) of a and b at once: the same bytes. */
	check_outputs(c, 6, 1 + HUB_PACE_SLICE, 3);
	check_outputs(c, 1 + HUB_PACE_SLICE, CROWD, 2);
	assert_int_equal(take(c[1].hc, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	assert_int_equal(take(c[CROWD - 1].hc, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "bc");

	for (int i = 0; i < CROWD; i++)
		if (i != 5)
			hub_detach(c[i].hc);
	hub_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scrollback_and_fanout),
	    cmocka_unit_test(test_slow_client_does_not_hurt_others),
	    cmocka_unit_test(test_configured_queue),
	    cmocka_unit_test(test_writer_path_and_readonly),
	    cmocka_unit_test(test_downgraded_writer_leaves_queue),
	    cmocka_unit_test(test_small_console_is_not_paced),
	    cmocka_unit_test(test_crowded_console_is_paced),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
