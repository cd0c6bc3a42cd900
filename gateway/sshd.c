#include "sshd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "gwctx.h"
#include "hub.h"
#include "log.h"
#include "penalty.h"
#include "policy.h"
#include "session.h"
#include "sshd_impl.h"
#include "startups.h"
#include "worker.h"
#include "xmalloc.h"

/*
 * libssh 0.10 marks the ssh_message accessors deprecated in favour of the
 * server callbacks, but only the message API lets a reply wait (password
 * hashing on the worker pool, delayed failure replies), so we use it.
 */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* Modern algorithms only: no NIST curves, no SHA-1 (DESIGN.md §4). libssh
 * 0.10 has no sntrup761x25519; it adds kex-strict-s-v00@openssh.com by
 * itself. Key exchange is curve25519 only: it runs on the one event loop,
 * where a curve25519 handshake costs ~2 ms of CPU but a finite-field one
 * 46 ms (group16) or 326 ms (group18), so a few unauthenticated clients
 * looping those stalled every session (issue 8 #3). Every client since
 * OpenSSH 6.5 (2014) and PuTTY 0.68 has curve25519. */
#define KEX_ALGOS "curve25519-sha256,curve25519-sha256@libssh.org"
#define CIPHERS                                                                \
	"chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"                \
	"aes128-gcm@openssh.com,aes256-ctr,aes128-ctr"
#define MACS "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com"
#define HOSTKEY_ALGOS "ssh-ed25519,rsa-sha2-512,rsa-sha2-256"
#define USERKEY_ALGOS                                                          \
	"ssh-ed25519,sk-ssh-ed25519@openssh.com,rsa-sha2-512,rsa-sha2-256,"    \
	"ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"         \
	"sk-ecdsa-sha2-nistp256@openssh.com"

/* Connections ------------------------------------------------------------- */

/*
 * libssh writes a packet only while it believes the socket writable
 * (session_may_write); a packet written meanwhile waits in its buffer.
 * When it then closes the socket itself (a key exchange that cannot agree)
 * or we disconnect, that buffer is dropped. A client whose banner and
 * KEXINIT arrived together before the loop's next POLLOUT (OpenSSH sends
 * both at once; a loaded host lets them meet) got no KEXINIT, and OpenSSH
 * said "Connection closed" instead of "no matching key exchange method
 * found" (a raw client that sends both at connect got nothing: 99 of 100).
 * So before a packet that precedes a close: our KEXINIT (libssh reports
 * each key exchange step through connect_status_function just before it
 * writes) and the disconnect (conn_free).
 */
static void
on_kex_step(void *arg, float done)
{
	(void)done;
	session_may_write(((struct conn *)arg)->ss);
}

void
sshd_conn_ref(struct conn *c)
{
	c->refs++;
}

static void
conn_free(struct conn *c)
{
	while (c->sessions) {
		struct sess_node *n = c->sessions;
		c->sessions = n->next;
		session_free(n->s);
		free(n);
	}
	if (c->held)
		ssh_message_free(c->held);
	ssh_key_free(c->cred_key);
	event_free(c->revoke_timer);
	event_free(c->rev);
	event_free(c->wev);
	event_free(c->grace);
	event_free(c->reply_timer);
	event_free(c->reap_ev);
	event_free(c->uncork_ev);
	ssh_event_remove_session(c->sev, c->ss);
	ssh_event_free(c->sev);
	session_may_write(c->ss); /* the disconnect goes out */
	ssh_disconnect(c->ss);
	ssh_free(c->ss); /* closes its own fd */
	close(c->fd);
	free(c);
}

void
sshd_conn_unref(struct conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

/*
 * Watch for writability only while libssh holds unsent bytes. While an auth
 * reply is held, watch nothing: we take no message until the reply is sent,
 * so a client that sends more or closes would keep the socket readable (and
 * libssh's write flag, which only a poll of its own clears, writable) and
 * the loop would spin. The events are level-triggered: what arrived during
 * the hold, an EOF included, is reported once the reply is sent.
 */
static void
conn_update(struct conn *c)
{
	if (c->dead)
		return;
	if (c->held != NULL) {
		event_del(c->rev);
		event_del(c->wev);
		return;
	}
	event_add(c->rev, NULL);
	if (ssh_get_poll_flags(c->ss) & SSH_WRITE_PENDING)
		event_add(c->wev, NULL);
	else
		event_del(c->wev);
}

void
sshd_conn_close(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	LOG("connection %s%s%s closed: %s", c->st == CONN_OPEN ? c->user : "",
	    c->st == CONN_OPEN ? "@" : "", c->addr, why);
	if (c->startup) {
		c->startup = false;
		startups_leave(c->d->startups, &c->src);
	}
	event_del(c->rev);
	event_del(c->wev);
	event_del(c->grace);
	event_del(c->reply_timer);
	event_del(c->revoke_timer);
	TAILQ_REMOVE(&c->d->conns, c, entry);
	c->d->nconns--;
	sshd_conn_unref(c); /* the list's reference */
}

/* Logged-in connections of a user, and the sessions they hold. */
size_t
sshd_user_conns(struct sshd *d, const char *user, size_t *sessions)
{
	size_t n = 0;
	struct conn *o;

	*sessions = 0;
	TAILQ_FOREACH(o, &d->conns, entry)
	{
		if (o->st != CONN_OPEN || strcmp(o->user, user) != 0)
			continue;
		n++;
		*sessions += o->nsessions;
	}
	return n;
}

static void
sess_done(void *arg)
{
	struct conn *c = arg;

	if (!c->dead)
		event_active(c->reap_ev, EV_TIMEOUT, 0);
}

static void
sess_kick(void *arg)
{
	conn_update(arg);
}

/*
 * One keystroke's echo goes to every viewer of a console: with many of
 * them on one connection, one packet each, and each send() on loopback
 * also runs the client's receive path in our time. libssh sends every
 * packet at once and offers no way to gather them, so the socket does it:
 * from a pass's second packet on, TCP_CORK holds them, and an event that
 * runs once the current callback returns (the whole fan-out) uncorks, so
 * they leave as one segment in the same loop pass. A connection written
 * once per pass (one viewer) costs no system call more.
 */
static void
sess_batch(void *arg)
{
	struct conn *c = arg;
	int one = 1;

	if (c->dead)
		return;
	if (c->pass_writes++ == 0)
		event_active(c->uncork_ev, EV_TIMEOUT, 0);
	else if (c->pass_writes == 2)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &one,
				 sizeof(one));
}

static void
on_uncork(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int zero = 0;

	(void)fd;
	(void)what;
	if (c->pass_writes >= 2)
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_CORK, &zero,
				 sizeof(zero));
	c->pass_writes = 0;
}

/* From inside libssh (a data callback): close on the next loop pass. */
static void
sess_abort(void *arg, const char *why)
{
	struct conn *c = arg;

	if (c->dead || c->abort_why[0] != '\0')
		return;
	snprintf(c->abort_why, sizeof(c->abort_why), "%s", why);
	event_active(c->reap_ev, EV_TIMEOUT, 0);
}

/* NULL if c may open one more session, else why not. */
static const char *
session_limit(struct conn *c, char *buf, size_t size)
{
	const struct config_limits *lim = &c->d->gw->cfg->limits;
	size_t sessions;

	if (c->nsessions >= lim->sessions_per_conn) {
		snprintf(buf, size,
			 "%zu sessions open on this connection "
			 "(max_sessions_per_connection)",
			 c->nsessions);
		return buf;
	}
	sshd_user_conns(c->d, c->user, &sessions);
	if (sessions >= lim->sessions_per_user) {
		snprintf(buf, size,
			 "%s has %zu sessions open (max_sessions_per_user)",
			 c->user, sessions);
		return buf;
	}
	return NULL;
}

/* One line for the first refusal of a connection, then at 10, 100, ...: a
 * client cannot flood the log with them. */
static void
refuse_channel(struct conn *c, ssh_message msg, const char *why)
{
	unsigned long n = why ? ++c->opens_refused : 0;
	unsigned long p = 1;

	while (p < n && p <= ULONG_MAX / 10)
		p *= 10;
	if (why && p == n)
		LOG("%s@%s: channel refused: %s (%lu refused on this "
		    "connection)",
		    c->user, c->addr, why, n);
	ssh_message_reply_default(msg);
	ssh_message_free(msg);
}

static void
on_channel_open(struct conn *c, ssh_message msg)
{
	struct sshd *d = c->d;
	char buf[300];
	const char *why = NULL;
	int type = ssh_message_subtype(msg);
	struct vmproc *vm = NULL;
	bool control = false;

	if (c->st != CONN_OPEN || c->revoked ||
	    (type != SSH_CHANNEL_SESSION && type != SSH_CHANNEL_DIRECT_TCPIP) ||
	    (why = session_limit(c, buf, sizeof(buf))) != NULL) {
		refuse_channel(c, msg, why);
		return;
	}
	/* libssh 0.10 refuses with "administratively prohibited" and no
	 * text: the reason is in the log and the audit, and a VM's display
	 * (port 5900) is refused in RFB, which the viewer prints. */
	int port = 0;
	if (type == SSH_CHANNEL_DIRECT_TCPIP) {
		const char *host =
		    ssh_message_channel_request_open_destination(msg);
		char esc[80];
		log_esc(esc, sizeof(esc), host ? host : "",
			host ? strlen(host) : 0);
		port = ssh_message_channel_request_open_destination_port(msg);
		why = session_tunnel_check(d->gw, c->user, c->addr, esc, port,
					   &vm, &control, buf, sizeof(buf));
		if (why != NULL && port != SESSION_TUNNEL_PORT) {
			refuse_channel(c, msg, why);
			return;
		}
	}
	ssh_channel ch = ssh_message_channel_request_open_reply_accept(msg);
	ssh_message_free(msg);
	if (ch == NULL)
		return;
	struct session_peer peer = {
	    .user = c->user,
	    .addr = c->addr,
	    .done = sess_done,
	    .kick = sess_kick,
	    .batch = sess_batch,
	    .abort = sess_abort,
	    .arg = c,
	};
	struct sess_node *n = xcalloc(1, sizeof(*n));
	n->s = session_new(d->gw, &peer, c->ss, ch, ++d->next_session);
	n->next = c->sessions;
	c->sessions = n;
	c->nsessions++;
	if (vm != NULL)
		session_tunnel_start(n->s, vm, control);
	else if (why != NULL)
		session_tunnel_refuse(n->s, why);
}

static void
on_channel_request(struct conn *c, ssh_message msg)
{
	ssh_channel ch = ssh_message_channel_request_channel(msg);

	for (struct sess_node *n = c->sessions; n; n = n->next) {
		if (session_channel(n->s) == ch) {
			session_request(n->s, msg);
			return;
		}
	}
	ssh_message_reply_default(msg);
	ssh_message_free(msg);
}

static void
dispatch(struct conn *c, ssh_message msg)
{
	switch (ssh_message_type(msg)) {
	case SSH_REQUEST_AUTH:
		sshd_auth_request(c, msg);
		return;
	case SSH_REQUEST_CHANNEL_OPEN:
		on_channel_open(c, msg);
		return;
	case SSH_REQUEST_CHANNEL:
		if (c->st == CONN_OPEN && !c->revoked) {
			on_channel_request(c, msg);
			return;
		}
		break;
	default: /* service requests (accepted), global requests (refused) */
		break;
	}
	ssh_message_reply_default(msg);
	ssh_message_free(msg);
}

static void
reap(struct conn *c)
{
	struct sess_node **pp = &c->sessions;

	while (*pp) {
		struct sess_node *n = *pp;
		if (session_finished(n->s)) {
			*pp = n->next;
			session_free(n->s);
			free(n);
			c->nsessions--;
		} else {
			pp = &n->next;
		}
	}
}

void
sshd_conn_process(struct conn *c)
{
	ssh_message msg;
	int rc;

	if (c->dead)
		return;
	if (c->abort_why[0] != '\0') {
		ssh_session_set_disconnect_message(c->ss, c->abort_why);
		sshd_conn_close(c, c->abort_why);
		return;
	}
	if (c->st == CONN_KEX) {
		rc = ssh_handle_key_exchange(c->ss);
		if (rc == SSH_ERROR) {
			/* libssh's text quotes the client's banner and
			 * algorithm lists: peer bytes. */
			char why[300];
			const char *e = ssh_get_error(c->ss);
			memcpy(why, "key exchange failed: ", 21);
			log_esc(why + 21, sizeof(why) - 21, e, strlen(e));
			sshd_conn_close(c, why);
			return;
		}
		if (rc == SSH_OK) {
			const struct config_ssh *cs = &c->d->gw->cfg->ssh;
			uint64_t left = (uint64_t)cs->login_grace * 1000,
				 took = clock_ms() - c->born_ms;
			struct timeval tv;
			/* login_grace_time counts from the connect */
			left = took < left ? left - took : 0;
			tv.tv_sec = (time_t)(left / 1000);
			tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
			evtimer_add(c->grace, &tv);
			c->st = CONN_AUTH;
			ssh_set_auth_methods(c->ss,
					     SSH_AUTH_METHOD_PUBLICKEY |
						 SSH_AUTH_METHOD_PASSWORD);
		}
	}
	while (c->st != CONN_KEX && !c->dead && c->held == NULL &&
	       (msg = ssh_message_get(c->ss)) != NULL)
		dispatch(c, msg);
	if (c->dead)
		return;
	for (struct sess_node *n = c->sessions; n; n = n->next)
		session_pump(n->s);
	reap(c);
	int status = ssh_get_status(c->ss);
	if ((status & (SSH_CLOSED | SSH_CLOSED_ERROR)) ||
	    !ssh_is_connected(c->ss)) {
		char why[300];
		const char *e = ssh_get_error(c->ss);
		sshd_conn_close(c, (status & SSH_CLOSED_ERROR)
				       ? log_esc(why, sizeof(why), e, strlen(e))
				       : "client left");
		return;
	}
	conn_update(c);
}

/*
 * Acknowledges at once what was read and not answered. A client with
 * Nagle's algorithm on (paramiko, and OpenSSH's ssh without a tty) holds
 * its next request until its last one is acknowledged; Linux delays the
 * ACK of a packet the gateway does not answer (a channel close, a window
 * adjust) by 40 ms hoping to carry it on a reply, so the next channel open
 * waited 40 ms. TCP_QUICKACK sends a pending ACK now and lasts only until
 * the kernel next sees request/reply traffic, hence after every read. One
 * system call per read; no extra packet when the reply already carried it.
 */
static void
ack_now(struct conn *c)
{
	int one = 1;

	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	sshd_conn_ref(c);
	if (!c->dead) {
		ssh_event_dopoll(c->sev, 0);
		sshd_conn_process(c);
	}
	/* On a write event too: libssh reads whatever has come meanwhile. */
	ack_now(c);
	sshd_conn_unref(c);
}

static void
on_reap(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	sshd_conn_ref(c);
	reap(c);
	sshd_conn_process(c);
	sshd_conn_unref(c);
}

static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct config_ssh *cs = &c->d->gw->cfg->ssh;
	char why[100];

	(void)fd;
	(void)what;
	if (c->st == CONN_KEX)
		snprintf(why, sizeof(why),
			 "no key exchange within %u s (ssh: kex_timeout)",
			 cs->kex_timeout);
	else
		snprintf(why, sizeof(why),
			 "not logged in within %u s (ssh: login_grace_time)",
			 cs->login_grace);
	sshd_conn_close(c, why);
}

static void
conn_new(struct sshd *d, int fd, const struct sockaddr_storage *sa,
	 socklen_t salen)
{
	struct conn *c = xcalloc(1, sizeof(*c));
	char host[INET6_ADDRSTRLEN] = "?", serv[NI_MAXSERV] = "?";
	struct timeval grace = {d->gw->cfg->ssh.kex_timeout, 0};

	getnameinfo((const struct sockaddr *)sa, salen, host, sizeof(host),
		    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->ip, sizeof(c->ip), "%s", host);
	snprintf(c->addr, sizeof(c->addr), "%s:%s", host, serv);
	/* Before any libssh state: a refused socket costs nothing more. An
	 * address of no known family counts under one shared source. */
	(void)startups_src_of((const struct sockaddr *)sa, salen, &c->src);
	if (!startups_admit(d->startups, &c->src, c->addr)) {
		close(fd);
		free(c);
		return;
	}
	/* Every SSH step is a small request answered by a small reply, and a
	 * reply often goes out as several packets (channel data, exit
	 * status, EOF, close): with Nagle's algorithm the second waits for
	 * the client's ACK of the first, which a delayed-ACK client holds for
	 * 40 ms. OpenSSH sets TCP_NODELAY for interactive sessions; the
	 * gateway's are all interactive. */
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		LOG("%s: TCP_NODELAY: %s", c->addr, strerror(errno));
	c->startup = true;
	c->born_ms = clock_ms();
	c->d = d;
	c->refs = 1;
	/* libssh closes its fd as soon as it sees an error; the loop watches
	 * a duplicate of its own, so its events never refer to a closed (or
	 * reused) descriptor. */
	c->fd = fd;
	int sfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	c->ss = sfd >= 0 ? ssh_new() : NULL;
	if (c->ss == NULL ||
	    ssh_bind_accept_fd(d->bind, c->ss, sfd) != SSH_OK) {
		char why[300];
		const char *e = c->ss ? ssh_get_error(c->ss) : strerror(errno);
		LOG("%s: accept failed: %s", c->addr,
		    log_esc(why, sizeof(why), e, strlen(e)));
		if (c->ss)
			ssh_free(c->ss);
		else if (sfd >= 0)
			close(sfd);
		close(fd);
		startups_leave(d->startups, &c->src);
		free(c);
		return;
	}
	ssh_set_blocking(c->ss, 0);
	ssh_callbacks_init(&c->kexcb);
	c->kexcb.userdata = c;
	c->kexcb.connect_status_function = on_kex_step;
	ssh_set_callbacks(c->ss, &c->kexcb);
	c->sev = ssh_event_new();
	ssh_event_add_session(c->sev, c->ss);
	c->rev = event_new(d->gw->base, fd, EV_READ | EV_PERSIST, on_io, c);
	c->wev = event_new(d->gw->base, fd, EV_WRITE | EV_PERSIST, on_io, c);
	c->grace = evtimer_new(d->gw->base, on_grace, c);
	c->reply_timer = evtimer_new(d->gw->base, sshd_auth_reply_timer, c);
	c->reap_ev = event_new(d->gw->base, -1, 0, on_reap, c);
	c->uncork_ev = event_new(d->gw->base, -1, 0, on_uncork, c);
	c->revoke_timer = evtimer_new(d->gw->base, sshd_auth_revoke_timer, c);
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	d->nconns++;
	event_add(c->rev, NULL);
	evtimer_add(c->grace, &grace);
	c->st = CONN_KEX;
	sshd_conn_ref(c);
	sshd_conn_process(c); /* sends our banner */
	sshd_conn_unref(c);
}

/* A connection refused at MAX_CONNS: logged at most once a minute, with
 * how many were refused since the last line. */
static void
conns_full(struct sshd *d)
{
	time_t now = time(NULL);

	d->full_refused++;
	if (d->full_logged != 0 && now - d->full_logged < 60)
		return;
	LOG("refused %lu connection%s: the gateway holds %d, its limit",
	    d->full_refused, d->full_refused == 1 ? "" : "s", MAX_CONNS);
	d->full_logged = now;
	d->full_refused = 0;
}

static void
on_retry(evutil_socket_t fd, short what, void *arg)
{
	struct sshd *d = arg;

	(void)fd;
	(void)what;
	event_add(d->lev, NULL);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct sshd *d = arg;

	(void)what;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		int fd = accept4(lfd, (struct sockaddr *)&sa, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Back off instead of spinning (STYLE.md). */
				struct timeval tv = {1, 0};
				LOG("accept: %s; pausing for 1 s",
				    strerror(errno));
				event_del(d->lev);
				evtimer_add(d->retry, &tv);
			}
			return;
		}
		if (d->nconns >= MAX_CONNS) {
			close(fd);
			conns_full(d);
			continue;
		}
		conn_new(d, fd, &sa, len);
	}
}

static int
listen_on(const char *host, unsigned port, char *err, size_t errlen)
{
	struct addrinfo hints = {0}, *res = NULL;
	char serv[16];
	int fd = -1, one = 1, r;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", port);
	r = getaddrinfo(host, serv, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(r));
		return -1;
	}
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 512) == 0)
			break;
		snprintf(err, errlen, "listen on %s:%u: %s", host, port,
			 strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

struct sshd *
sshd_new(struct gwctx *gw, const char *state_dir, char *err, size_t errlen)
{
	struct sshd *d = xcalloc(1, sizeof(*d));
	ssh_key ed = NULL, rsa = NULL;
	bool no = false;

	d->gw = gw;
	d->lfd = -1;
	d->pen = penalty_new();
	TAILQ_INIT(&d->conns);
	d->startups = startups_new(gw->base, &gw->cfg->ssh);
	if (sshd_hostkey_load(state_dir, "ssh_host_ed25519_key",
			      SSH_KEYTYPE_ED25519, 0, &ed, err, errlen) != 0 ||
	    sshd_hostkey_load(state_dir, "ssh_host_rsa_key", SSH_KEYTYPE_RSA,
			      3072, &rsa, err, errlen) != 0)
		goto fail;
	d->bind = ssh_bind_new();
	if (ssh_bind_options_set(d->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG,
				 &no) != SSH_OK ||
	    ssh_bind_options_set(d->bind, SSH_BIND_OPTIONS_IMPORT_KEY, ed) !=
		SSH_OK ||
	    ssh_bind_options_set(d->bind, SSH_BIND_OPTIONS_IMPORT_KEY, rsa) !=
		SSH_OK) {
		snprintf(err, errlen, "host keys: %s", ssh_get_error(d->bind));
		goto fail;
	}
	ed = rsa = NULL; /* transferred to the bind */
	static const struct {
		enum ssh_bind_options_e opt;
		const char *val;
	} algos[] = {
	    /* "SSH-2.0-vmgate": no library version for scanners to guess
	     * at (ssh-audit reads libssh_0.10.6 as a pre-0.7.3 libssh). */
	    {SSH_BIND_OPTIONS_BANNER, "vmgate"},
	    {SSH_BIND_OPTIONS_KEY_EXCHANGE, KEX_ALGOS},
	    {SSH_BIND_OPTIONS_CIPHERS_C_S, CIPHERS},
	    {SSH_BIND_OPTIONS_CIPHERS_S_C, CIPHERS},
	    {SSH_BIND_OPTIONS_HMAC_C_S, MACS},
	    {SSH_BIND_OPTIONS_HMAC_S_C, MACS},
	    {SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, HOSTKEY_ALGOS},
	    {SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES, USERKEY_ALGOS},
	};
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
		if (ssh_bind_options_set(d->bind, algos[i].opt, algos[i].val) !=
		    SSH_OK) {
			snprintf(err, errlen, "algorithms %s: %s", algos[i].val,
				 ssh_get_error(d->bind));
			goto fail;
		}
	}
	d->lfd = listen_on(gw->cfg->ssh_host, gw->cfg->ssh_port, err, errlen);
	if (d->lfd < 0)
		goto fail;
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	getsockname(d->lfd, (struct sockaddr *)&sa, &len);
	d->port = ntohs(sa.ss_family == AF_INET6
			    ? ((struct sockaddr_in6 *)&sa)->sin6_port
			    : ((struct sockaddr_in *)&sa)->sin_port);
	d->lev =
	    event_new(gw->base, d->lfd, EV_READ | EV_PERSIST, on_accept, d);
	d->retry = evtimer_new(gw->base, on_retry, d);
	event_add(d->lev, NULL);
	LOG("ssh listening on %s port %u", gw->cfg->ssh_host, d->port);
	LOG("before login: max_startups %u:%u:%u, per_source_max_startups %u "
	    "(per IPv4 address, per IPv6 /64), kex_timeout %u s, "
	    "login_grace_time %u s",
	    gw->cfg->ssh.startups_begin, gw->cfg->ssh.startups_rate,
	    gw->cfg->ssh.startups_full, gw->cfg->ssh.per_source,
	    gw->cfg->ssh.kex_timeout, gw->cfg->ssh.login_grace);
	return d;
fail:
	ssh_key_free(ed);
	ssh_key_free(rsa);
	sshd_free(d);
	return NULL;
}

void
sshd_free(struct sshd *d)
{
	struct conn *c;

	if (d == NULL)
		return;
	while ((c = TAILQ_FIRST(&d->conns)) != NULL)
		sshd_conn_close(c, "gateway shutting down");
	penalty_free(d->pen);
	startups_free(d->startups);
	if (d->lev)
		event_free(d->lev);
	if (d->retry)
		event_free(d->retry);
	if (d->lfd >= 0)
		close(d->lfd);
	if (d->bind)
		ssh_bind_free(d->bind);
	free(d);
}

void
sshd_recheck(struct sshd *d)
{
	struct conn *c, *next;

	for (c = TAILQ_FIRST(&d->conns); c; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->revoked)
			continue;
		const char *why = c->st == CONN_OPEN
				      ? sshd_auth_cred_gone(c, d->gw->policy)
				      : NULL;
		if (why != NULL) {
			sshd_auth_revoke(c, why);
		} else {
			for (struct sess_node *n = c->sessions; n; n = n->next)
				session_recheck(n->s);
		}
		conn_update(c);
	}
}

unsigned
sshd_port(const struct sshd *d)
{
	return d->port;
}
