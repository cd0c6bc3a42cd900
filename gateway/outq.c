#include "outq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void
outq_init(struct outq *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	q->cap = cap ? cap : 1;
}

/* Smallest ring, and the size above which a drained ring is freed: only
 * the smallest is kept, for the echo traffic that follows. A viewer's
 * scrollback replay (64 KiB by default) is a burst like any other. */
#define OUTQ_MIN_SIZE 4096
#define OUTQ_KEEP_SIZE OUTQ_MIN_SIZE

/* Makes room for need (<= cap) bytes in the ring, keeping what waits. */
static void
reserve(struct outq *q, size_t need)
{
	size_t size = q->size ? q->size : OUTQ_MIN_SIZE;

	if (need <= q->size)
		return;
	while (size < need)
		size *= 2;
	if (size > q->cap)
		size = q->cap;
	uint8_t *buf = xmalloc(size);
	size_t first = q->size - q->head < q->len ? q->size - q->head : q->len;
	if (q->len > 0) {
		memcpy(buf, q->buf + q->head, first);
		memcpy(buf + first, q->buf, q->len - first);
	}
	free(q->buf);
	q->buf = buf;
	q->size = size;
	q->head = 0;
}

void
outq_free(struct outq *q)
{
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

static void
drop_front(struct outq *q, size_t n)
{
	q->head = (q->head + n) % q->size;
	q->len -= n;
	q->pending_drop += n;
	q->dropped_total += n;
	q->streak_dropped += n;
}

size_t
outq_push(struct outq *q, const void *data, size_t n, uint64_t now_ms)
{
	const uint8_t *p = data;
	size_t dropped = 0;

	if (n > q->cap) {
		/* What cannot fit never enters: count it as dropped. */
		size_t skip = n - q->cap;
		q->pending_drop += skip;
		q->dropped_total += skip;
		q->streak_dropped += skip;
		dropped += skip;
		p += skip;
		n = q->cap;
	}
	if (n == 0)
		return dropped;
	reserve(q, q->len + n < q->cap ? q->len + n : q->cap);
	if (q->len + n > q->cap) {
		size_t k = q->len + n - q->cap;
		drop_front(q, k);
		dropped += k;
	}
	if (dropped > 0 && !q->streak) {
		q->streak = true;
		q->streak_start_ms = now_ms;
		q->streak_dropped = dropped;
	}
	size_t tail = (q->head + q->len) % q->size;
	size_t first = q->size - tail < n ? q->size - tail : n;
	memcpy(q->buf + tail, p, first);
	memcpy(q->buf, p + first, n - first);
	q->len += n;
	return dropped;
}

size_t
outq_peek(struct outq *q, const uint8_t **p)
{
	if (q->mark_off == q->mark_len && q->pending_drop > 0) {
		int k = snprintf(q->mark, sizeof(q->mark),
				 "\r\n[vmgate: %llu bytes dropped: your "
				 "connection is too slow]\r\n",
				 (unsigned long long)q->pending_drop);
		q->mark_off = 0;
		q->mark_len = (size_t)k < sizeof(q->mark) ? (size_t)k
							  : sizeof(q->mark) - 1;
		q->pending_drop = 0;
	}
	if (q->mark_off < q->mark_len) {
		*p = (const uint8_t *)q->mark + q->mark_off;
		return q->mark_len - q->mark_off;
	}
	if (q->len == 0)
		return 0;
	*p = q->buf + q->head;
	return q->size - q->head < q->len ? q->size - q->head : q->len;
}

void
outq_consume(struct outq *q, size_t n)
{
	if (q->mark_off < q->mark_len) {
		q->mark_off += n;
		return;
	}
	q->head = (q->head + n) % q->size;
	q->len -= n;
	if (q->len == 0) {
		q->head = 0;
		if (q->size > OUTQ_KEEP_SIZE) { /* a burst is over */
			free(q->buf);
			q->buf = NULL;
			q->size = 0;
		}
	}
	if (q->streak && q->len <= q->cap / 2 && q->pending_drop == 0)
		q->streak = false;
}

size_t
outq_pending(const struct outq *q)
{
	return q->len + (q->mark_len - q->mark_off) + (q->pending_drop ? 1 : 0);
}

bool
outq_overlimit(const struct outq *q, uint64_t now_ms, uint64_t limit_ms,
	       uint64_t limit_bytes)
{
	return q->streak && (now_ms - q->streak_start_ms >= limit_ms ||
			     q->streak_dropped >= limit_bytes);
}
