/*
 * One-time VNC tickets (issue 11, path 3): for viewers that only know
 * classic VNC authentication, `ssh alice@gateway vnc-ticket web1` prints a
 * password that opens web1's display once, within the configured lifetime,
 * for alice, with the rights she has when it is used.
 *
 * Classic VNC authentication (RFC 6143 7.2.2): the server sends 16 random
 * bytes, the client answers them DES-encrypted (two ECB blocks) under a key
 * made of the password's first 8 bytes (NUL-padded), each byte's bits
 * reversed. DES is weak; what makes a ticket acceptable is that it is
 * random, used once and short-lived, and that the listener offers it only
 * on a loopback address (vncd.h). DES comes from OpenSSL's legacy provider,
 * loaded into a library context of the store's own so that nothing else in
 * the process can reach it.
 *
 * Bounded: at most TICKET_PER_USER live tickets a user (the oldest is
 * dropped for a new one) and TICKET_MAX in all (then issuing fails);
 * expired tickets are dropped whenever the store is used.
 */
#ifndef VMGATE_TICKET_H
#define VMGATE_TICKET_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define TICKET_LEN 8 /* classic VNC passwords are 8 bytes */
#define TICKET_PER_USER 8
#define TICKET_MAX 4096
#define TICKET_CHALLENGE_LEN 16

struct tickets;

/* NULL with err when DES is not available (no legacy provider). */
struct tickets *tickets_new(unsigned lifetime_s, char *err, size_t errlen);
void tickets_free(struct tickets *t); /* wipes; accepts NULL */

/*
 * A new ticket for user on vm: its password in pw (TICKET_LEN printable
 * characters, NUL-terminated). 0, or -1 with err when TICKET_MAX are live.
 */
int tickets_issue(struct tickets *t, const char *user, const char *vm,
		  uint64_t now_ms, char pw[TICKET_LEN + 1], char *err,
		  size_t errlen);

/*
 * The live ticket whose password answers challenge with response: removed
 * (one use), its user and vm copied out, 0. -1 if none does.
 */
int tickets_redeem(struct tickets *t, const uint8_t *challenge,
		   const uint8_t *response, uint64_t now_ms,
		   char user[CONFIG_MAX_NAME + 1],
		   char vm[CONFIG_MAX_NAME + 1]);

/* Live tickets (after dropping expired ones). */
size_t tickets_count(struct tickets *t, uint64_t now_ms);

/* The classic VNC response to challenge under password pw: 0, or -1. */
int tickets_vnc_response(struct tickets *t, const char *pw,
			 const uint8_t *challenge, uint8_t *response);

#endif
