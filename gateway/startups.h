/*
 * Admission of connections that have not logged in yet ("startups", as
 * OpenSSH calls them; config.h struct config_ssh has the knobs).
 *
 * The SSH front asks startups_admit() for each accepted socket; on yes it
 * calls startups_leave() once, when that connection logs in or closes. A
 * connection is refused when its source (an IPv4 address, or the /64 of an
 * IPv6 one; an IPv4-mapped IPv6 address is its IPv4 address) already has
 * per_source unauthenticated connections, or by MaxStartups' random early
 * drop on the total. Memory: one entry per source with a live startup, so at
 * most startups_full entries.
 *
 * Refusals are logged with the peer's address, coalesced: the first refusal
 * after a quiet period is one line, the ones after it are counted and told
 * in one summary line per STARTUPS_LOG_SECS while they go on (naming the
 * first STARTUPS_LOG_SOURCES sources refused in that time with their counts,
 * the others as one count), so a flood of
 * sockets costs a line every few seconds, not one per socket.
 */
#ifndef VMGATE_STARTUPS_H
#define VMGATE_STARTUPS_H

#include <netinet/in.h> /* INET6_ADDRSTRLEN */
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define STARTUPS_LOG_SECS 5
#define STARTUPS_LOG_SOURCES 4

struct event_base;
struct config_ssh;
struct startups;

/* A connection's source: family 4 with the address, or 6 with its /64. */
struct startups_src {
	uint8_t family;
	uint8_t addr[8]; /* IPv4: 4 bytes, IPv6: the first 8 */
};

/* "127.0.0.1" or "2001:db8:0:1::/64"; size >= STARTUPS_SRC_STRLEN. */
#define STARTUPS_SRC_STRLEN (INET6_ADDRSTRLEN + 3) /* "/64" */
const char *startups_src_str(const struct startups_src *src, char *buf,
			     size_t size);

/* The source of a peer address; false for a family that has none (the
 * caller then counts it under one shared "other" source, family 0). */
bool startups_src_of(const struct sockaddr *sa, socklen_t len,
		     struct startups_src *src);

/*
 * MaxStartups' early drop: with n unauthenticated connections already,
 * whether to refuse one more. 'rnd' is uniform in 0..99. Below begin never,
 * at full or more always, in between with probability rate % at begin
 * rising linearly towards 100 % at full.
 */
bool startups_drop(unsigned begin, unsigned rate, unsigned full, unsigned n,
		   unsigned rnd);

/* The limits are copied; base runs the log timer. */
struct startups *startups_new(struct event_base *base,
			      const struct config_ssh *cfg);
/* Accepts NULL. */
void startups_free(struct startups *st);

/*
 * Whether a new connection from src (peer: "ADDR:PORT", for the log) may
 * start. Yes: it now counts against the limits until startups_leave(src).
 * No: the refusal is logged (coalesced) and the caller closes the socket.
 */
bool startups_admit(struct startups *st, const struct startups_src *src,
		    const char *peer);
/* A connection admitted from src logged in or closed. */
void startups_leave(struct startups *st, const struct startups_src *src);

/* Unauthenticated connections now, in all and from src. */
unsigned startups_total(const struct startups *st);
unsigned startups_count(const struct startups *st,
			const struct startups_src *src);

#endif
