#include "penalty.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "xmalloc.h"

#define PENALTY_SETS (PENALTY_SLOTS / PENALTY_WAYS)
#define PENALTY_KEY_LEN 9 /* family tag, then 4 or 8 address bytes */
_Static_assert(PENALTY_IPV6_PREFIX % 8 == 0 &&
		   PENALTY_IPV6_PREFIX / 8 <= PENALTY_KEY_LEN - 1,
	       "an IPv6 source must fit the key");
/* How far past its budget a bucket may go: PENALTY_BASE_MS << 5 is
 * PENALTY_MAX_MS already, so more would only make it slower to forget. */
#define PENALTY_OVERDRAFT 8

struct penalty_source {
	uint8_t key[PENALTY_KEY_LEN];
	bool used;
	unsigned fails;
	uint64_t last_ms;
};

struct penalty {
	uint64_t secret; /* keys the set hash: sets cannot be aimed at */
	struct penalty_source slot[PENALTY_SLOTS];
	double level; /* global bucket: failures not yet drained */
	uint64_t level_ms;
	unsigned long evictions;
};

struct penalty *
penalty_new(void)
{
	struct penalty *p = xcalloc(1, sizeof(*p));

	if (getrandom(&p->secret, sizeof(p->secret), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(p->secret)) {
		/* early boot without entropy: weaker, still unguessable from
		 * outside for a while */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		p->secret = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^
			    (uint64_t)ts.tv_sec ^ (uint64_t)getpid() << 32;
	}
	return p;
}

void
penalty_free(struct penalty *p)
{
	free(p);
}

/* The source an address belongs to; unparsable text is one source. */
static void
penalty_key(const char *ip, uint8_t key[PENALTY_KEY_LEN])
{
	char buf[INET6_ADDRSTRLEN];
	struct in6_addr a6;
	struct in_addr a4;
	size_t n = strcspn(ip, "%");

	memset(key, 0, PENALTY_KEY_LEN);
	if (n >= sizeof(buf))
		return;
	memcpy(buf, ip, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		key[0] = 4;
		memcpy(key + 1, &a4, 4);
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			key[0] = 4;
			memcpy(key + 1, a6.s6_addr + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a6.s6_addr, PENALTY_IPV6_PREFIX / 8);
		}
	}
}

static uint64_t
penalty_mix(uint64_t x)
{
	/* splitmix64's finaliser */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static size_t
penalty_set(const struct penalty *p, const uint8_t key[PENALTY_KEY_LEN])
{
	uint64_t a = 0, b = 0;

	memcpy(&a, key, 8);
	b = key[8];
	return (size_t)(penalty_mix(penalty_mix(a ^ p->secret) ^ b) %
			PENALTY_SETS);
}

static bool
penalty_forgotten(const struct penalty_source *s, uint64_t now_ms)
{
	return !s->used ||
	       now_ms - s->last_ms > (uint64_t)PENALTY_FORGET_SECS * 1000;
}

/* The wait for the n-th failure when 'free' of them cost nothing. */
static unsigned
penalty_delay(double n, double free)
{
	unsigned shift;
	unsigned long ms;

	if (n <= free)
		return 0;
	shift = (unsigned)(n - free + 0.999999) - 1; /* ceil, from 0 */
	if (shift >= 16)
		return PENALTY_MAX_MS;
	ms = (unsigned long)PENALTY_BASE_MS << shift;
	return ms > PENALTY_MAX_MS ? PENALTY_MAX_MS : (unsigned)ms;
}

/* The source's slot, taking one (free, forgotten, else least recent). */
static struct penalty_source *
penalty_source(struct penalty *p, const uint8_t key[PENALTY_KEY_LEN],
	       uint64_t now_ms)
{
	struct penalty_source *set =
	    &p->slot[penalty_set(p, key) * PENALTY_WAYS];
	struct penalty_source *take = NULL;

	for (size_t i = 0; i < PENALTY_WAYS; i++) {
		struct penalty_source *s = &set[i];
		if (s->used && memcmp(s->key, key, PENALTY_KEY_LEN) == 0) {
			if (penalty_forgotten(s, now_ms))
				s->fails = 0;
			return s;
		}
	}
	for (size_t i = 0; i < PENALTY_WAYS && take == NULL; i++)
		if (penalty_forgotten(&set[i], now_ms))
			take = &set[i];
	if (take == NULL) {
		take = &set[0];
		for (size_t i = 1; i < PENALTY_WAYS; i++)
			if (set[i].last_ms < take->last_ms)
				take = &set[i];
		p->evictions++;
	}
	memcpy(take->key, key, PENALTY_KEY_LEN);
	take->used = true;
	take->fails = 0;
	take->last_ms = now_ms;
	return take;
}

static void
penalty_drain(struct penalty *p, uint64_t now_ms)
{
	if (now_ms > p->level_ms) {
		p->level -= (double)(now_ms - p->level_ms) *
			    PENALTY_GLOBAL_PER_MIN / 60000.0;
		if (p->level < 0)
			p->level = 0;
	}
	p->level_ms = now_ms;
}

unsigned
penalty_fail(struct penalty *p, const char *ip, uint64_t now_ms,
	     bool *over_budget)
{
	uint8_t key[PENALTY_KEY_LEN];
	struct penalty_source *s;
	unsigned mine, all;

	penalty_key(ip, key);
	s = penalty_source(p, key, now_ms);
	if (s->fails < PENALTY_FREE + 32)
		s->fails++;
	s->last_ms = now_ms;
	mine = penalty_delay(s->fails, PENALTY_FREE);

	penalty_drain(p, now_ms);
	p->level += 1;
	if (p->level > PENALTY_GLOBAL_PER_MIN + PENALTY_OVERDRAFT)
		p->level = PENALTY_GLOBAL_PER_MIN + PENALTY_OVERDRAFT;
	all = penalty_delay(p->level, PENALTY_GLOBAL_PER_MIN);
	if (over_budget != NULL)
		*over_budget = all > 0;
	return mine > all ? mine : all;
}

void
penalty_stats(const struct penalty *p, uint64_t now_ms,
	      struct penalty_stats *st)
{
	double level = p->level;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < PENALTY_SLOTS; i++)
		st->sources += !penalty_forgotten(&p->slot[i], now_ms);
	st->evictions = p->evictions;
	if (now_ms > p->level_ms)
		level -= (double)(now_ms - p->level_ms) *
			 PENALTY_GLOBAL_PER_MIN / 60000.0;
	st->global_level = level < 0 ? 0 : level;
}
