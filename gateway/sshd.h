/*
 * The SSH front (DESIGN.md §4): libssh in non-blocking server mode, driven
 * by the libevent loop; no thread per connection.
 *
 * Each connection has its socket's read (and, while libssh has unsent
 * output, write) event on the loop; on readiness the connection runs one
 * non-blocking poll of its own ssh_event (libssh reads, decrypts and
 * dispatches what arrived), then takes the queued ssh_messages (the message
 * API, so a reply can be deferred): key exchange, authentication, channel
 * opens and channel requests.
 *
 * Authentication: publickey (policy_user_key_matches) and password
 * (policy_user_password_ok, run on the worker pool; the reply is sent when
 * it returns). Both methods are offered to every user, and an unknown user
 * gets exactly the failure a known one with a wrong key or password gets.
 * Failures are slowed down (penalty.h): from the 4th failure of one
 * address (an IPv6 /64) within the penalty window, each failure reply
 * waits 250 ms doubling up to 8 s, and past a global budget of failures
 * from all addresses together every failure reply waits.
 *
 * Before login (startups.h, config.h struct config_ssh): a connection is
 * refused at accept when its source (IPv4 address, IPv6 /64) has
 * per_source_max_startups connections not logged in yet, or by MaxStartups'
 * random early drop on their total; it is closed kex_timeout seconds after
 * the connect if its key exchange is not done, login_grace_time seconds
 * after if it has not logged in.
 *
 * Host keys (ed25519 and rsa 3072) are created in the state directory on
 * first start, 0600, and reused. Algorithms: see sshd.c (key exchange
 * curve25519 only, no NIST curves, no SHA-1; strict KEX stays on).
 */
#ifndef VMGATE_SSHD_H
#define VMGATE_SSHD_H

#include <stddef.h>

struct gwctx;
struct sshd;

/*
 * Loads or creates the host keys in state_dir, listens on the configured
 * address. Returns NULL with a message in err (errlen bytes) on failure.
 */
struct sshd *sshd_new(struct gwctx *gw, const char *state_dir, char *err,
		      size_t errlen);
/* Closes every connection; accepts NULL. */
void sshd_free(struct sshd *d);

/* The policy changed: re-check every live session. */
void sshd_recheck(struct sshd *d);

/* The port actually listened on (useful with port 0). */
unsigned sshd_port(const struct sshd *d);

#endif
