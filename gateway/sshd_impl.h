/*
 * What the sshd files share (sshd.c: the listener and the connections;
 * sshd_auth.c: logging in, penalties and revocation; sshd_hostkey.c: the
 * host keys). Not for other modules: they use sshd.h.
 */
#ifndef VMGATE_SSHD_IMPL_H
#define VMGATE_SSHD_IMPL_H

#include <arpa/inet.h>
#include <event2/util.h>
#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "config.h"
#include "policy.h"
#include "sshd.h"
#include "startups.h"

#define MAX_AUTH_FAILS 20
#define NONE_FREE 2 /* "none" requests before they count as failures */
#define MAX_CONNS CONFIG_MAX_CONNS
/* A connection whose credential a reload took away: its channels get the
 * message, then it is cut this much later (the message has gone by then). */
#define REVOKE_FLUSH_MS 250

struct sess_node {
	struct sess_node *next;
	struct session *s;
};

enum conn_state {
	CONN_KEX,
	CONN_AUTH,
	CONN_OPEN,
};

struct conn {
	TAILQ_ENTRY(conn) entry;
	struct sshd *d;
	int refs;
	bool dead;
	ssh_session ss;
	ssh_event sev;
	int fd;
	struct event *rev, *wev, *grace, *reply_timer, *reap_ev;
	struct event *uncork_ev; /* end of a loop pass's writes: sess_batch */
	unsigned pass_writes;	 /* packets written in this pass */
	char ip[INET6_ADDRSTRLEN];
	char addr[INET6_ADDRSTRLEN + NI_MAXSERV + 2];
	enum conn_state st;
	struct startups_src src; /* its source for the startups limits */
	bool startup;		 /* counted there: not logged in yet */
	uint64_t born_ms;	 /* clock_ms() at accept */
	char user[CONFIG_MAX_NAME + 1];
	struct ssh_callbacks_struct kexcb; /* see on_kex_step */
	ssh_message held;      /* an auth request whose reply waits */
	bool held_is_password; /* ... for the worker */
	char pw_user[CONFIG_MAX_NAME + 1]; /* ... and whose password */
	unsigned auth_fails;
	unsigned nones; /* "none" requests seen */
	struct sess_node *sessions;
	size_t nsessions;
	unsigned long opens_refused; /* channel opens over the limits */
	char abort_why[200];	     /* a protocol violation: close */
	/* The credential the connection logged in with, so that a reload
	 * that takes it away ends the connection (cred_gone). */
	ssh_key cred_key;			   /* publickey: a copy */
	unsigned char cred_pw[POLICY_CRED_ID_LEN]; /* password: its digest */
	char cred_fp[80]; /* "SHA256:..." of cred_key, "" for a password */
	bool revoked;	  /* being cut: no new channel or request */
	struct event *revoke_timer;
};

TAILQ_HEAD(conns, conn);

struct sshd {
	struct gwctx *gw;
	ssh_bind bind;
	int lfd;
	unsigned port;
	struct event *lev, *retry;
	struct conns conns;
	size_t nconns;
	struct penalty *pen; /* failed-auth delays, see penalty.h */
	bool over_budget;    /* past penalty.h's global budget, last we saw */
	struct startups *startups;
	unsigned long full_refused; /* at MAX_CONNS, since full_logged */
	time_t full_logged;
	unsigned long next_session;
};

/* sshd.c */
void sshd_conn_ref(struct conn *c);
/* Drops a reference; the last one frees the connection. */
void sshd_conn_unref(struct conn *c);
/* Closes (once): logs why, leaves the list, drops the list's reference. */
void sshd_conn_close(struct conn *c, const char *why);
/* Runs libssh on what arrived and handles its messages. */
void sshd_conn_process(struct conn *c);
/* Logged-in connections of a user, and the sessions they hold. */
size_t sshd_user_conns(struct sshd *d, const char *user, size_t *sessions);

/* sshd_auth.c */
/* An SSH_REQUEST_AUTH message: replies to it (maybe later), frees it. */
void sshd_auth_request(struct conn *c, ssh_message msg);
/* libevent callbacks (arg is the conn): a held failure reply is due; a
 * revoked connection's flush time is over. */
void sshd_auth_reply_timer(evutil_socket_t fd, short what, void *arg);
void sshd_auth_revoke_timer(evutil_socket_t fd, short what, void *arg);
/*
 * Why the credential c logged in with no longer opens its account under
 * pol, or NULL if it still does.
 */
const char *sshd_auth_cred_gone(const struct conn *c, const struct policy *pol);
/* Ends c's sessions with a message and cuts c REVOKE_FLUSH_MS later. */
void sshd_auth_revoke(struct conn *c, const char *why);

/* sshd_hostkey.c */
/* Reads dir/file, or creates it (and file.pub); 0, or -1 with err. */
int sshd_hostkey_load(const char *dir, const char *file,
		      enum ssh_keytypes_e type, int bits, ssh_key *out,
		      char *err, size_t errlen);

#endif
