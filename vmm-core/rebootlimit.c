#include "rebootlimit.h"

#include <string.h>

void
rebootlimit_init(struct rebootlimit *r, int64_t now_ms)
{
	memset(r, 0, sizeof(*r));
	r->started = now_ms;
}

uint32_t
rebootlimit_reset(struct rebootlimit *r, int64_t now_ms)
{
	const unsigned ring = REBOOTLIMIT_BURST + 1;

	/* It ran long enough since its last start: not a loop (any more). */
	if (now_ms - r->started >= REBOOTLIMIT_QUIET_MS) {
		r->n = r->next = 0;
		r->delay_ms = 0;
		r->loop = 0;
	}
	r->resets[r->next] = now_ms;
	r->next = (r->next + 1) % ring;
	if (r->n < ring)
		r->n++;
	if (r->delay_ms > 0) {
		/* In a loop: every reset waits twice as long as the last. */
		r->delay_ms = r->delay_ms >= REBOOTLIMIT_DELAY_MAX_MS / 2
				  ? REBOOTLIMIT_DELAY_MAX_MS
				  : r->delay_ms * 2;
		r->loop++;
		return r->delay_ms;
	}
	/* With the ring full, r->next is the oldest of BURST + 1 resets. */
	if (r->n == ring &&
	    now_ms - r->resets[r->next] < REBOOTLIMIT_WINDOW_MS) {
		r->delay_ms = REBOOTLIMIT_DELAY_MIN_MS;
		r->loop = ring;
		return r->delay_ms;
	}
	return 0;
}

void
rebootlimit_started(struct rebootlimit *r, int64_t now_ms)
{
	r->started = now_ms;
}

unsigned
rebootlimit_loop_resets(const struct rebootlimit *r)
{
	return r->loop;
}
