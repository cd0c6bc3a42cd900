#include "startups.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

#define STARTUPS_BUCKETS 256

struct startups_node {
	struct startups_node *next;
	struct startups_src src;
	unsigned n;
};

/* Refusals since the last log line, by source. */
struct startups_tally {
	struct startups_src src;
	unsigned long n;
};

struct startups {
	unsigned begin, rate, full, per_source;
	unsigned total;
	struct startups_node *buckets[STARTUPS_BUCKETS];
	struct event *log_ev;
	bool window; /* a refusal was logged, log_ev runs */
	unsigned long by_source, by_full;
	struct startups_tally tally[STARTUPS_LOG_SOURCES];
	unsigned long others;
};

const char *
startups_src_str(const struct startups_src *src, char *buf, size_t size)
{
	unsigned char a6[16] = {0};
	char tmp[INET6_ADDRSTRLEN];

	if (src->family == 4 &&
	    inet_ntop(AF_INET, src->addr, tmp, sizeof(tmp)) != NULL) {
		snprintf(buf, size, "%s", tmp);
	} else if (src->family == 6) {
		memcpy(a6, src->addr, 8);
		if (inet_ntop(AF_INET6, a6, tmp, sizeof(tmp)) == NULL)
			snprintf(tmp, sizeof(tmp), "?");
		snprintf(buf, size, "%s/64", tmp);
	} else {
		snprintf(buf, size, "(other)");
	}
	return buf;
}

bool
startups_src_of(const struct sockaddr *sa, socklen_t len,
		struct startups_src *src)
{
	memset(src, 0, sizeof(*src));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		src->family = 4;
		memcpy(src->addr, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 =
		    (const struct sockaddr_in6 *)sa;
		/* A v4 client of a dual-stack socket is its v4 address:
		 * ::ffff:a.b.c.d would otherwise share one /64 with every
		 * other v4 client. */
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			src->family = 4;
			memcpy(src->addr, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			src->family = 6;
			memcpy(src->addr, in6->sin6_addr.s6_addr, 8);
		}
		return true;
	}
	return false;
}

bool
startups_drop(unsigned begin, unsigned rate, unsigned full, unsigned n,
	      unsigned rnd)
{
	unsigned p;

	if (n < begin)
		return false;
	if (n >= full || rate >= 100)
		return true;
	/* rate % at begin, rising linearly to 100 % at full (begin < full
	 * here, since n < full) */
	p = rate + (100 - rate) * (n - begin) / (full - begin);
	return rnd < p;
}

static unsigned
startups_hash(const struct startups_src *src)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	h = (h ^ src->family) * 16777619u;
	for (size_t i = 0; i < sizeof(src->addr); i++)
		h = (h ^ src->addr[i]) * 16777619u;
	return h % STARTUPS_BUCKETS;
}

static bool
startups_same(const struct startups_src *a, const struct startups_src *b)
{
	return a->family == b->family &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static struct startups_node **
startups_find(const struct startups *st, const struct startups_src *src)
{
	struct startups_node *const *pp = &st->buckets[startups_hash(src)];

	while (*pp != NULL && !startups_same(&(*pp)->src, src))
		pp = &(*pp)->next;
	return (struct startups_node **)pp;
}

unsigned
startups_total(const struct startups *st)
{
	return st->total;
}

unsigned
startups_count(const struct startups *st, const struct startups_src *src)
{
	struct startups_node *n = *startups_find(st, src);

	return n ? n->n : 0;
}

static void
startups_tally_reset(struct startups *st)
{
	st->by_source = st->by_full = st->others = 0;
	memset(st->tally, 0, sizeof(st->tally));
}

static void
startups_on_log(evutil_socket_t fd, short what, void *arg)
{
	struct startups *st = arg;
	struct timeval tv = {STARTUPS_LOG_SECS, 0};
	char line[400], s[STARTUPS_SRC_STRLEN];
	size_t off;

	(void)fd;
	(void)what;
	if (st->by_source + st->by_full == 0) {
		st->window = false; /* quiet: the next refusal gets a line */
		return;
	}
	off = (size_t)snprintf(line, sizeof(line), "from");
	for (size_t i = 0; i < STARTUPS_LOG_SOURCES && st->tally[i].n; i++)
		off += (size_t)snprintf(
		    line + off, off < sizeof(line) ? sizeof(line) - off : 0,
		    "%s %s (%lu)", i ? "," : "",
		    startups_src_str(&st->tally[i].src, s, sizeof(s)),
		    st->tally[i].n);
	if (st->others && off < sizeof(line))
		snprintf(line + off, sizeof(line) - off,
			 " and %lu from other sources", st->others);
	LOG("refused %lu more connection%s in %d s (%lu over "
	    "per_source_max_startups, %lu by max_startups) %s",
	    st->by_source + st->by_full,
	    st->by_source + st->by_full == 1 ? "" : "s", STARTUPS_LOG_SECS,
	    st->by_source, st->by_full, line);
	startups_tally_reset(st);
	evtimer_add(st->log_ev, &tv);
}

/* Logs a refusal, or counts it for the next summary line. */
static void
startups_refused(struct startups *st, const struct startups_src *src,
		 const char *peer, bool by_source, unsigned n)
{
	struct timeval tv = {STARTUPS_LOG_SECS, 0};
	char s[STARTUPS_SRC_STRLEN];

	if (!st->window) {
		if (by_source)
			LOG("refused %s: %u unauthenticated connections "
			    "from %s already (ssh: per_source_max_startups: "
			    "%u); more refusals are summed up every %d s",
			    peer, n, startups_src_str(src, s, sizeof(s)),
			    st->per_source, STARTUPS_LOG_SECS);
		else
			LOG("refused %s: %u unauthenticated connections "
			    "(ssh: max_startups: %u:%u:%u); more refusals are "
			    "summed up every %d s",
			    peer, n, st->begin, st->rate, st->full,
			    STARTUPS_LOG_SECS);
		st->window = true;
		startups_tally_reset(st);
		evtimer_add(st->log_ev, &tv);
		return;
	}
	if (by_source)
		st->by_source++;
	else
		st->by_full++;
	for (size_t i = 0; i < STARTUPS_LOG_SOURCES; i++) {
		if (st->tally[i].n == 0)
			st->tally[i].src = *src;
		if (startups_same(&st->tally[i].src, src)) {
			st->tally[i].n++;
			return;
		}
	}
	st->others++;
}

struct startups *
startups_new(struct event_base *base, const struct config_ssh *cfg)
{
	struct startups *st = xcalloc(1, sizeof(*st));

	st->begin = cfg->startups_begin;
	st->rate = cfg->startups_rate;
	st->full = cfg->startups_full;
	st->per_source = cfg->per_source;
	st->log_ev = evtimer_new(base, startups_on_log, st);
	if (st->log_ev == NULL)
		abort(); /* out of memory (xmalloc.h) */
	return st;
}

void
startups_free(struct startups *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < STARTUPS_BUCKETS; i++) {
		while (st->buckets[i] != NULL) {
			struct startups_node *n = st->buckets[i];
			st->buckets[i] = n->next;
			free(n);
		}
	}
	event_free(st->log_ev);
	free(st);
}

bool
startups_admit(struct startups *st, const struct startups_src *src,
	       const char *peer)
{
	struct startups_node **pp = startups_find(st, src), *n = *pp;
	unsigned have = n ? n->n : 0;

	if (have >= st->per_source) {
		startups_refused(st, src, peer, true, have);
		return false;
	}
	if (startups_drop(st->begin, st->rate, st->full, st->total,
			  arc4random_uniform(100))) {
		startups_refused(st, src, peer, false, st->total);
		return false;
	}
	if (n == NULL) {
		n = xcalloc(1, sizeof(*n));
		n->src = *src;
		*pp = n;
	}
	n->n++;
	st->total++;
	return true;
}

void
startups_leave(struct startups *st, const struct startups_src *src)
{
	struct startups_node **pp = startups_find(st, src), *n = *pp;

	if (n == NULL || st->total == 0)
		abort(); /* a leave without its admit: a broken invariant */
	st->total--;
	if (--n->n == 0) {
		*pp = n->next;
		free(n);
	}
}
