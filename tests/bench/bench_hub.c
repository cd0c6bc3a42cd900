/*
 * The console fan-out's own cost (issue 9): the hub as it is (gateway/hub.c,
 * every byte copied into each viewer's bounded queue, gateway/outq.c) against
 * one shared ring per VM whose readers hold positions (tmux's
 * window_pane_offset), at 1 and 1,000 viewers. It measures the hub layer
 * only: what reaches SSH is not encrypted or sent here. The shared ring is a
 * sketch with the same semantics (a bounded backlog per viewer, the oldest
 * bytes lost with a marker, the scrollback replayed on attach), enough to
 * measure; gateway/hub.h says which design the gateway keeps and why.
 *
 * Scenes, per design and viewer count, heap in use from mallinfo2():
 *  - attach: a full 64 KiB scrollback (the default), N viewers attach, each
 *    sent its replay at once (a fast viewer);
 *  - keys: 20,000 one-byte echoes, every viewer drains at once; thread CPU
 *    per keystroke, and the heap afterwards;
 *  - slow: nobody drains and the guest prints 1 MiB: what is held for
 *    viewers that do not read (each keeps its newest bytes; bounded).
 * Prints a table; asserts nothing about timing (a benchmark, not a test).
 * Usage: bench_hub [keystrokes]
 */
#include <malloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hub.h"

#define SCROLLBACK (64 << 10) /* vmgate.yaml's default */
#define VIEWERS_MAX 1000

static uint64_t drained; /* bytes every design hands to its viewers */

static size_t
heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* The hub as it is -------------------------------------------------------- */

struct qview {
	struct hub_client *hc;
	bool drain;
};

static void
q_output(void *arg)
{
	struct qview *v = arg;
	const uint8_t *p;
	size_t n;

	if (!v->drain)
		return;
	/* What session.c's console_pump does with a window that is open. */
	while ((n = outq_peek(&v->hc->q, &p)) > 0) {
		drained += n;
		outq_consume(&v->hc->q, n);
	}
}

static void
q_ready(void *arg)
{
	(void)arg;
}

static const struct hub_client_ops q_ops = {q_output, q_ready};

static size_t
no_send(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	(void)p;
	return n;
}

/* The shared ring sketch ----------------------------------------------------
 */

/* One ring per VM holding the last cap bytes of output, positions counted
 * from the VM's start; a reader more than cap behind has lost the
 * difference, told once with a marker. */
struct sring {
	uint8_t *buf;
	size_t cap;
	uint64_t end; /* position after the newest byte */
	struct sreader *readers[VIEWERS_MAX];
	size_t n;
};

struct sreader {
	struct sring *r;
	uint64_t pos;
	char mark[OUTQ_MARK_MAX];
	size_t mark_off, mark_len;
	bool drain;
};

static size_t
sreader_peek(struct sreader *rd, const uint8_t **p)
{
	struct sring *r = rd->r;

	if (rd->mark_off == rd->mark_len && r->end - rd->pos > r->cap) {
		uint64_t lost = r->end - r->cap - rd->pos;
		int k = snprintf(rd->mark, sizeof(rd->mark),
				 "\r\n[vmgate: %llu bytes dropped: your "
				 "connection is too slow]\r\n",
				 (unsigned long long)lost);
		rd->mark_off = 0;
		rd->mark_len = (size_t)k;
		rd->pos += lost;
	}
	if (rd->mark_off < rd->mark_len) {
		*p = (const uint8_t *)rd->mark + rd->mark_off;
		return rd->mark_len - rd->mark_off;
	}
	if (rd->pos == r->end)
		return 0;
	size_t off = (size_t)(rd->pos % r->cap);
	size_t n = (size_t)(r->end - rd->pos);
	*p = r->buf + off;
	return r->cap - off < n ? r->cap - off : n;
}

static void
sreader_consume(struct sreader *rd, size_t n)
{
	if (rd->mark_off < rd->mark_len)
		rd->mark_off += n;
	else
		rd->pos += n;
}

static void
sreader_pump(struct sreader *rd)
{
	const uint8_t *p;
	size_t n;

	if (!rd->drain)
		return;
	while ((n = sreader_peek(rd, &p)) > 0) {
		drained += n;
		sreader_consume(rd, n);
	}
}

static void
sring_output(struct sring *r, const uint8_t *p, size_t n)
{
	if (n > r->cap) {
		p += n - r->cap;
		r->end += n - r->cap;
		n = r->cap;
	}
	size_t off = (size_t)(r->end % r->cap);
	size_t first = r->cap - off < n ? r->cap - off : n;
	memcpy(r->buf + off, p, first);
	memcpy(r->buf, p + first, n - first);
	r->end += n;
	for (size_t i = 0; i < r->n; i++)
		sreader_pump(r->readers[i]); /* the output() callback */
}

/* Scenes ------------------------------------------------------------------- */

struct figures {
	size_t heap_attached, heap_keys, heap_slow;
	double ns_per_key;
};

static const uint8_t text[] = "demo$ ls -l /proc/self/fd | wc -l\r\n";

static void
fill(uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = text[i % (sizeof(text) - 1)];
}

static struct figures
run_queues(size_t viewers, unsigned keys, const uint8_t *big, size_t nbig)
{
	static struct qview v[VIEWERS_MAX];
	struct figures f;
	size_t h0 = heap_in_use();
	struct hub *h = hub_new("bench", SCROLLBACK, 0, no_send, NULL);

	hub_output(h, big, SCROLLBACK);
	for (size_t i = 0; i < viewers; i++) {
		v[i].drain = true;
		v[i].hc = hub_attach(h, "viewer", true, &q_ops, &v[i]);
		q_output(&v[i]); /* the session sends the replay */
	}
	f.heap_attached = heap_in_use() - h0;
	double t0 = cpu_ns();
	for (unsigned k = 0; k < keys; k++)
		hub_output(h, &text[k % 26], 1);
	f.ns_per_key = (cpu_ns() - t0) / keys;
	f.heap_keys = heap_in_use() - h0;
	for (size_t i = 0; i < viewers; i++)
		v[i].drain = false;
	hub_output(h, big, nbig);
	f.heap_slow = heap_in_use() - h0;
	for (size_t i = 0; i < viewers; i++)
		hub_detach(v[i].hc);
	hub_free(h);
	return f;
}

static struct figures
run_shared(size_t viewers, unsigned keys, const uint8_t *big, size_t nbig)
{
	struct figures f;
	size_t h0 = heap_in_use();
	struct sring *r = calloc(1, sizeof(*r));

	/* The same bound per viewer as the queues: HUB_CLIENT_QUEUE, at
	 * least twice the scrollback. */
	r->cap = HUB_CLIENT_QUEUE > 2 * SCROLLBACK ? HUB_CLIENT_QUEUE
						   : 2 * SCROLLBACK;
	r->buf = malloc(r->cap);
	sring_output(r, big, SCROLLBACK);
	for (size_t i = 0; i < viewers; i++) {
		struct sreader *rd = calloc(1, sizeof(*rd));
		rd->r = r;
		rd->drain = true;
		rd->pos = r->end > SCROLLBACK ? r->end - SCROLLBACK : 0;
		r->readers[r->n++] = rd;
		sreader_pump(rd);
	}
	f.heap_attached = heap_in_use() - h0;
	double t0 = cpu_ns();
	for (unsigned k = 0; k < keys; k++)
		sring_output(r, &text[k % 26], 1);
	f.ns_per_key = (cpu_ns() - t0) / keys;
	f.heap_keys = heap_in_use() - h0;
	for (size_t i = 0; i < r->n; i++)
		r->readers[i]->drain = false;
	sring_output(r, big, nbig);
	f.heap_slow = heap_in_use() - h0;
	for (size_t i = 0; i < r->n; i++)
		free(r->readers[i]);
	free(r->buf);
	free(r);
	return f;
}

int
main(int argc, char **argv)
{
	unsigned keys = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
	size_t nbig = 1 << 20;
	uint8_t *big = malloc(nbig);
	static const size_t counts[] = {1, 1000};

	if (keys == 0)
		keys = 1;
	fill(big, nbig);
	printf("console fan-out, the hub layer alone (no SSH): scrollback "
	       "%d KiB replayed on attach,\n%u one-byte echoes drained at "
	       "once by every viewer, then 1 MiB printed that no viewer "
	       "reads\n",
	       SCROLLBACK >> 10, keys);
	printf("%-26s %7s %13s %12s %13s %13s %13s\n", "design", "viewers",
	       "heap attached", "ns/keystroke", "ns/key/viewer", "heap in echo",
	       "heap, 1M unread");
	for (int d = 0; d < 2; d++) {
		for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]);
		     i++) {
			struct figures f =
			    d == 0 ? run_queues(counts[i], keys, big, nbig)
				   : run_shared(counts[i], keys, big, nbig);
			printf("%-26s %7zu %9zu KiB %12.0f %13.1f %9zu KiB "
			       "%11zu KiB\n",
			       d == 0 ? "queue per viewer (hub.c)"
				      : "shared ring + positions",
			       counts[i], f.heap_attached >> 10, f.ns_per_key,
			       f.ns_per_key / (double)counts[i],
			       f.heap_keys >> 10, f.heap_slow >> 10);
		}
	}
	printf("(bytes handed to viewers: %llu; heap from glibc's "
	       "mallinfo2(), 0 under a sanitizer's allocator)\n",
	       (unsigned long long)drained);
	free(big);
	return 0;
}
