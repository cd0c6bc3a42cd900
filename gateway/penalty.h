/*
 * How long the reply to a failed authentication waits, so that a password
 * guesser is slowed whichever addresses it comes from (issue 8 #6).
 *
 * A source is an IPv4 address (an IPv4-mapped IPv6 address counts as its
 * IPv4 address) or an IPv6 /64, the usual allocation of one site, so that
 * rotating addresses inside it gains nothing. A source's first
 * PENALTY_FREE failures cost nothing; each further one waits
 * PENALTY_BASE_MS, doubling with each failure, up to PENALTY_MAX_MS. A
 * source with no failure for PENALTY_FORGET_SECS starts over.
 *
 * All sources together have a budget of PENALTY_GLOBAL_PER_MIN failures a
 * minute (a bucket that many deep, refilled evenly). Past it, every failure
 * from any source waits as a source's does past its free ones (250 ms for
 * the first failure over the budget, doubling up to PENALTY_MAX_MS), so an
 * attacker spreading its guesses over many addresses is slowed as one; the
 * bucket's overdraft is capped, so the wait ends within seconds of the
 * flood ending. A failure waits the longer of its source's and the global
 * delay. Successful logins are never delayed.
 *
 * Memory is fixed: PENALTY_SLOTS sources, placed by a hash keyed with a
 * random secret into sets of PENALTY_WAYS; a new source takes a free or
 * forgotten slot of its set, else the slot of its least recently failed
 * source (counted in penalty_stats). A source pushed out that way only
 * loses its own record: the global budget still holds.
 *
 * Single-threaded (the event loop); times are monotonic milliseconds from
 * the caller, so tests can drive the clock.
 */
#ifndef VMGATE_PENALTY_H
#define VMGATE_PENALTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PENALTY_FREE 3 /* failures of a source before its replies wait */
#define PENALTY_BASE_MS 250
#define PENALTY_MAX_MS 8000
#define PENALTY_FORGET_SECS 300
#define PENALTY_GLOBAL_PER_MIN 60
/* bits of an IPv6 address that name a source */
#define PENALTY_IPV6_PREFIX 64
#define PENALTY_SLOTS 4096
#define PENALTY_WAYS 8

struct penalty;

struct penalty_stats {
	size_t sources;		 /* remembered, not yet forgotten */
	unsigned long evictions; /* sources pushed out by newer ones */
	double global_level;	 /* failures in the global bucket */
};

/* Never NULL (out of memory aborts, as xmalloc). */
struct penalty *penalty_new(void);
/* Accepts NULL. */
void penalty_free(struct penalty *p);

/*
 * Records one failed authentication from 'ip' (numeric, as getnameinfo
 * writes it with NI_NUMERICHOST; an IPv6 zone "%if" is ignored; anything
 * unparsable counts as one shared source) at now_ms; returns how long its
 * reply should wait, in ms (0 .. PENALTY_MAX_MS). *over_budget (may be
 * NULL) tells whether all sources together are past the global budget.
 */
unsigned penalty_fail(struct penalty *p, const char *ip, uint64_t now_ms,
		      bool *over_budget);

void penalty_stats(const struct penalty *p, uint64_t now_ms,
		   struct penalty_stats *st);

#endif
