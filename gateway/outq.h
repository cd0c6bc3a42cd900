/*
 * A session's bounded output queue (DESIGN.md §4, "a slow client never
 * stalls the guest or the other viewers").
 *
 * Bytes are pushed at the tail; when the queue would exceed its capacity the
 * oldest bytes are dropped. The reader then sees, at the place of the gap,
 *
 *	\r\n[vmgate: N bytes dropped: your connection is too slow]\r\n
 *
 * (the marker is made when the reader reaches the gap, so one marker
 * accounts for every byte dropped there). A marker-sized area is kept apart
 * from the data, so markers never displace output.
 *
 * The queue also tracks an overflow streak: from the first drop until the
 * queue next drains to at most half its capacity. outq_overlimit() says when
 * the streak has lasted too long or lost too much, so the owner can
 * disconnect a client that is not coming back.
 *
 * Times are milliseconds on any monotonic clock, passed in by the caller.
 * Memory follows use: the ring starts empty and doubles (up to cap) when
 * bytes wait, and any ring larger than the smallest (4 KiB) is given back
 * once it drains, the scrollback replayed on attach included, so a viewer
 * that only sees echo holds 4 KiB, not cap. No function fails (allocation
 * failure aborts, as everywhere in vmgated).
 */
#ifndef VMGATE_OUTQ_H
#define VMGATE_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTQ_MARK_MAX 96

struct outq {
	uint8_t *buf; /* ring of size bytes (size <= cap; NULL when 0) */
	size_t cap, size, head, len;
	uint64_t pending_drop;	  /* dropped at the front, no marker yet */
	char mark[OUTQ_MARK_MAX]; /* marker being read */
	size_t mark_off, mark_len;
	/* overflow streak */
	bool streak;
	uint64_t streak_start_ms;
	uint64_t streak_dropped;
	uint64_t dropped_total;
};

/* cap >= 1. */
void outq_init(struct outq *q, size_t cap);
/* Accepts a zeroed or freed queue. */
void outq_free(struct outq *q);

/* Appends n bytes, dropping the oldest ones if needed (if n > cap, only the
 * last cap bytes of data are kept). Returns how many bytes were dropped. */
size_t outq_push(struct outq *q, const void *data, size_t n, uint64_t now_ms);

/* The next contiguous run of bytes to send (a marker first, if one is due);
 * returns its length, 0 if nothing is queued. */
size_t outq_peek(struct outq *q, const uint8_t **p);
/* Marks n bytes of what outq_peek() returned as sent (n <= that length). */
void outq_consume(struct outq *q, size_t n);

/* Bytes waiting, markers included. */
size_t outq_pending(const struct outq *q);

/* True once an overflow streak lasted limit_ms or dropped limit_bytes. */
bool outq_overlimit(const struct outq *q, uint64_t now_ms, uint64_t limit_ms,
		    uint64_t limit_bytes);

#endif
