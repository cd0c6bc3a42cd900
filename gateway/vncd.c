#include "vncd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "certdir.h"
#include "clock.h"
#include "config.h"
#include "gwctx.h"
#include "log.h"
#include "penalty.h"
#include "pki.h"
#include "policy.h"
#include "pwcheck.h"
#include "rfbfront.h"
#include "startups.h"
#include "supervisor.h"
#include "ticket.h"
#include "worker.h"
#include "xmalloc.h"

#define VNCD_SINGLE_IO (256u << 10) /* the most one read or write moves */
#define LINGER_MS 20		    /* checks for unsent bytes before a close */
#define LINGER_TRIES 50 /* ... this many with none sent: a refusal's */
/* ... the display's last bytes */
#define LINGER_TRIES_DISPLAY (SUPERVISOR_DISPLAY_LINGER_MS / LINGER_MS)

enum vstate {
	V_HANDSHAKE, /* rfbfront with the viewer */
	V_CHECKING,  /* its password on the worker pool, or a held refusal */
	V_MONITOR,   /* RFB handshake with the monitor's VNC server */
	V_RELAY,     /* bytes both ways */
	V_CLOSING,   /* sending what is left, then closed */
};

struct vconn {
	TAILQ_ENTRY(vconn) entry;
	struct vncd *d;
	int refs;
	bool dead;
	enum vstate st;
	unsigned long id;
	char ip[INET6_ADDRSTRLEN];
	char addr[INET6_ADDRSTRLEN + 8];
	struct startups_src src;
	bool startup;
	struct bufferevent *raw; /* the socket */
	struct bufferevent *cli; /* raw, or the TLS filter on it */
	struct bufferevent *mon; /* the socketpair to the monitor: writes */
	struct event *mon_rev;	 /* ... and reads (on_mon_readable) */
	struct evbuffer *mon_in; /* what it wrote, not relayed yet */
	struct rfbfront *f;
	struct event *grace, *later; /* login grace; held refusal, linger */
	unsigned linger;	     /* linger checks with nothing sent */
	unsigned linger_max;	     /* ... then it closes */
	const char *linger_late;     /* why, if it gives up with bytes left */
	size_t linger_left;	     /* what waited at the last one */
	char user[CONFIG_MAX_NAME + 1];
	char vmname[CONFIG_MAX_NAME + 1];
	struct vmproc *vm;
	bool control;
	char refusal[RFBFRONT_REASON_MAX];
	uint8_t challenge[RFBFRONT_CHALLENGE_LEN]; /* classic VNC auth */
	int mon_step;
	bool viewing; /* display_start audited, listed by `who` */
	struct supervisor_viewer viewer;
	uint64_t bytes_in, bytes_out;
	size_t out_high; /* the most the viewer's side holds (start_monitor) */
};

TAILQ_HEAD(vconns, vconn);

struct vncd {
	struct gwctx *gw;
	struct evconnlistener *lis;
	unsigned port;
	SSL_CTX *tls;
	char *certdir;
	struct penalty *pen;
	struct startups *startups;
	struct vconns conns;
	size_t nconns;
	unsigned long next_id;
	uint8_t *scratch; /* VNCD_SINGLE_IO: what one read of a monitor takes */
};

static void vconn_close(struct vconn *c, const char *why);
static void on_cli_read(struct bufferevent *bev, void *arg);
static void on_cli_event(struct bufferevent *bev, short what, void *arg);
static void feed(struct vconn *c);
static void relay(struct vconn *c);

static void
vconn_unref(struct vconn *c)
{
	if (--c->refs > 0)
		return;
	rfbfront_free(c->f);
	event_free(c->grace);
	event_free(c->later);
	free(c);
}

/* TLS ------------------------------------------------------------------ */

/* The server's certificate and key, and the CA after it as the chain. */
static SSL_CTX *
tls_ctx(const char *dir, char *err, size_t errlen)
{
	char path[3][PATH_MAX];
	X509 *cert = NULL, *ca = NULL;
	EVP_PKEY *key = NULL;
	SSL_CTX *ctx = NULL;

	snprintf(path[0], sizeof(path[0]), "%s/%s", dir, CERTDIR_SERVER);
	snprintf(path[1], sizeof(path[1]), "%s/%s", dir, CERTDIR_SERVER_KEY);
	snprintf(path[2], sizeof(path[2]), "%s/%s", dir, CERTDIR_CA);
	if (certdir_read_cert(path[0], &cert, err, errlen) != 0 ||
	    certdir_read_key(path[1], &key, err, errlen) != 0 ||
	    certdir_read_cert(path[2], &ca, err, errlen) != 0)
		goto out;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    /* TLS 1.2: forward secrecy and AEAD only (TLS 1.3's suites are
	     * all of that already). */
	    !SSL_CTX_set_cipher_list(ctx, "ECDHE-ECDSA-AES128-GCM-SHA256:"
					  "ECDHE-ECDSA-AES256-GCM-SHA384:"
					  "ECDHE-ECDSA-CHACHA20-POLY1305") ||
	    !SSL_CTX_use_certificate(ctx, cert) ||
	    !SSL_CTX_use_PrivateKey(ctx, key) ||
	    !SSL_CTX_check_private_key(ctx) ||
	    !SSL_CTX_add1_chain_cert(ctx, ca)) {
		snprintf(err, errlen, "%s: TLS setup failed: %s", path[0],
			 ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		ctx = NULL;
		goto out;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_CIPHER_SERVER_PREFERENCE |
				     SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
out:
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	return ctx;
}

/* Makes the CA and server certificate when there are none (like the SSH
 * host keys), named as `vmgatectl certs init` names them. */
static int
certs_ensure(struct vncd *d, char *err, size_t errlen)
{
	const struct config *cfg = d->gw->cfg;
	char path[PATH_MAX], host[256];
	const char *sans[PKI_MAX_SANS];
	const char *hosts[2] = {cfg->ssh_host, cfg->vnc_host};
	struct stat st;
	char *text = NULL;
	size_t textlen = 0;

	snprintf(path, sizeof(path), "%s/%s", d->certdir, CERTDIR_SERVER);
	if (lstat(path, &st) == 0)
		return 0;
	size_t n = certdir_default_sans(hosts, 2, host, sizeof(host), sans);
	FILE *out = open_memstream(&text, &textlen);
	if (out == NULL) {
		snprintf(err, errlen, "open_memstream: %s", strerror(errno));
		return -1;
	}
	int r = certdir_init(d->certdir, sans, n, 0, out, err, errlen);
	fclose(out);
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		LOG("certs: %s", line);
	free(text);
	return r;
}

/* Closing --------------------------------------------------------------- */

static void
free_bevs(struct vconn *c)
{
	if (c->cli != NULL && c->cli != c->raw)
		bufferevent_free(c->cli); /* frees raw too (CLOSE_ON_FREE) */
	else if (c->raw != NULL)
		bufferevent_free(c->raw);
	c->cli = c->raw = NULL;
	if (c->mon_rev != NULL)
		event_free(c->mon_rev);
	c->mon_rev = NULL;
	if (c->mon_in != NULL)
		evbuffer_free(c->mon_in);
	c->mon_in = NULL;
	if (c->mon != NULL)
		bufferevent_free(c->mon);
	c->mon = NULL;
}

/* What waits to go to the viewer: in clear and, with TLS, sealed. */
static size_t
waiting(const struct vconn *c)
{
	size_t n = evbuffer_get_length(bufferevent_get_output(c->cli));

	if (c->raw != c->cli)
		n += evbuffer_get_length(bufferevent_get_output(c->raw));
	return n;
}

static void
vconn_close(struct vconn *c, const char *why)
{
	if (c->dead)
		return;
	c->dead = true;
	LOG("vnc %lu: %s%s%s closed: %s", c->id, c->user, *c->user ? "@" : "",
	    c->addr, why);
	if (c->startup) {
		c->startup = false;
		startups_leave(c->d->startups, &c->src);
	}
	if (c->viewing) {
		c->viewing = false;
		supervisor_viewer_remove(&c->viewer);
		/* out: what left the gateway, not what it gave up on (what
		 * waits sealed counts with its TLS framing: errs low by that)
		 */
		size_t left = c->cli != NULL ? waiting(c) : 0;
		c->bytes_out -= left < c->bytes_out ? left : c->bytes_out;
		audit_display_end(c->d->gw->audit, c->id, c->user, c->vmname,
				  VNCD_PATH, c->bytes_in, c->bytes_out, why,
				  c->addr);
	}
	event_del(c->grace);
	event_del(c->later);
	free_bevs(c);
	TAILQ_REMOVE(&c->d->conns, c, entry);
	c->d->nconns--;
	vconn_unref(c);
}

/* Sends what is queued for the viewer, then closes: when all is out, or
 * when nothing went for linger_max checks (a refusal: a second; the
 * display's last bytes to a viewer that is behind: 10 s, and then it was
 * too slow: linger_late). */
static void
on_linger(evutil_socket_t fd, short what, void *arg)
{
	struct vconn *c = arg;
	struct timeval tv = {0, LINGER_MS * 1000};
	size_t left;

	(void)fd;
	(void)what;
	if (c->dead)
		return;
	left = waiting(c);
	if (left < c->linger_left) {
		c->linger_left = left;
		c->linger = 0;
	}
	if (left == 0 || ++c->linger > c->linger_max) {
		vconn_close(c, left == 0 || c->linger_late == NULL
				   ? c->refusal
				   : c->linger_late);
		return;
	}
	evtimer_add(c->later, &tv);
}

static void
close_after_flush(struct vconn *c, const char *why, unsigned tries,
		  const char *late)
{
	c->st = V_CLOSING;
	if (why != c->refusal)
		snprintf(c->refusal, sizeof(c->refusal), "%s", why);
	c->linger = 0;
	c->linger_max = tries;
	c->linger_late = late;
	c->linger_left = SIZE_MAX;
	bufferevent_disable(c->cli, EV_READ);
	if (c->mon_rev != NULL)
		event_del(c->mon_rev); /* nothing more goes to the viewer */
	event_del(c->later);
	event_assign(c->later, c->d->gw->base, -1, 0, on_linger, c);
	on_linger(-1, 0, c);
}

/* Output of the handshake ----------------------------------------------- */

static void
send_output(struct vconn *c)
{
	const uint8_t *p;
	size_t n;

	rfbfront_output(c->f, &p, &n);
	if (n > 0)
		bufferevent_write(c->cli, p, n);
}

/* The monitor's side ------------------------------------------------------ */

/*
 * The RFB handshake with the monitor's VNC server, as a viewer: its
 * version, ours (3.8), its security types (None must be among them: it
 * trusts the socketpair), ours (None), its SecurityResult. Then the
 * viewer's ClientInit and everything after it is relayed.
 */
static void
mon_handshake(struct vconn *c)
{
	struct evbuffer *in = c->mon_in;
	uint8_t b[256];

	for (;;) {
		size_t have = evbuffer_get_length(in);
		switch (c->mon_step) {
		case 0:
			if (have < 12)
				return;
			evbuffer_remove(in, b, 12);
			if (memcmp(b, "RFB 003.", 8) != 0) {
				vconn_close(c, "the monitor is not a VNC "
					       "server");
				return;
			}
			bufferevent_write(c->mon, "RFB 003.008\n", 12);
			c->mon_step = 1;
			break;
		case 1:
			if (have < 1)
				return;
			evbuffer_copyout(in, b, 1);
			if (b[0] == 0 || have < 1u + b[0])
				return; /* 0: a reason follows, then EOF */
			size_t n = b[0];
			evbuffer_remove(in, b, 1 + n);
			if (memchr(b + 1, 1, n) == NULL) {
				vconn_close(c, "the monitor's VNC server "
					       "does not offer None");
				return;
			}
			bufferevent_write(c->mon, "\x01", 1);
			c->mon_step = 2;
			break;
		case 2:
			if (have < 4)
				return;
			evbuffer_remove(in, b, 4);
			if (memcmp(b, "\0\0\0\0", 4) != 0) {
				vconn_close(c, "the monitor's VNC server "
					       "refused the handshake");
				return;
			}
			c->st = V_RELAY;
			event_del(c->grace);
			bufferevent_enable(c->cli, EV_READ);
			relay(c);
			return;
		}
	}
}

/* Relay ------------------------------------------------------------------ */

/* The viewer's bytes into the monitor's stream, as far as it may hold
 * (VNCD_RELAY_HIGH); the viewer is not read meanwhile. */
static size_t
move_in(struct vconn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->cli);
	struct evbuffer *out = bufferevent_get_output(c->mon);
	size_t n = evbuffer_get_length(in), queued = evbuffer_get_length(out);

	if (queued >= VNCD_RELAY_HIGH) {
		bufferevent_disable(c->cli, EV_READ);
		return 0;
	}
	if (n > VNCD_RELAY_HIGH - queued)
		n = VNCD_RELAY_HIGH - queued;
	evbuffer_remove_buffer(in, out, n);
	if (evbuffer_get_length(in) > 0)
		bufferevent_disable(c->cli, EV_READ);
	return n;
}

static void
relay(struct vconn *c)
{
	if (c->dead || c->st != V_RELAY)
		return;
	c->bytes_in += move_in(c);
	/* All the monitor wrote, at once: it must not wait on this viewer. */
	struct evbuffer *in = c->mon_in;
	size_t n = evbuffer_get_length(in);
	evbuffer_add_buffer(bufferevent_get_output(c->cli), in);
	c->bytes_out += n;
	size_t left = waiting(c);
	if (left > c->out_high) {
		LOG("vnc %lu: %s asked for more of %s's display than two "
		    "screens without reading (%zu bytes wait, %zu allowed)",
		    c->id, c->user, c->vmname, left, c->out_high);
		vconn_close(c, "too slow");
	}
}

/* The monitor's stream drained: the viewer may be read again (what was
 * left over goes first). Nothing waits on the viewer's side draining: the
 * monitor is always read. */
static void
drained(struct vconn *c)
{
	if (c->dead || c->st != V_RELAY)
		return;
	relay(c);
	if (!c->dead && evbuffer_get_length(bufferevent_get_output(c->mon)) <
			    VNCD_RELAY_HIGH)
		bufferevent_enable(c->cli, EV_READ);
}

static void
on_mon_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	drained(arg);
}

static void
on_mon_event(struct bufferevent *bev, short what, void *arg)
{
	struct vconn *c = arg;

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (c->st != V_RELAY) {
		vconn_close(c, "the display closed");
		return;
	}
	relay(c); /* what the monitor wrote last goes too */
	if (!c->dead)
		close_after_flush(c, "the display closed", LINGER_TRIES_DISPLAY,
				  "too slow");
}

/*
 * The monitor's stream is read here, not by its bufferevent: libevent 2.1
 * reads at most 4 KiB a call (EVBUFFER_MAX_READ) whatever
 * bufferevent_set_max_single_read says, and one read a loop pass, so a
 * whole 1024x768 screen in Raw took 768 reads and loop passes.
 */
static void
on_mon_readable(evutil_socket_t fd, short what, void *arg)
{
	struct vconn *c = arg;
	ssize_t k;

	(void)what;
	do
		k = read(fd, c->d->scratch, VNCD_SINGLE_IO);
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno == EAGAIN)
		return;
	if (k <= 0) {
		event_del(c->mon_rev);
		on_mon_event(c->mon,
			     BEV_EVENT_READING |
				 (k == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR),
			     c);
		return;
	}
	if (evbuffer_add(c->mon_in, c->d->scratch, (size_t)k) != 0) {
		vconn_close(c, "out of memory");
		return;
	}
	if (c->st == V_MONITOR)
		mon_handshake(c);
	else
		relay(c);
}

static void
start_monitor(struct vconn *c)
{
	const char *why;
	int sv[2];

	if (c->startup) {
		c->startup = false;
		startups_leave(c->d->startups, &c->src);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) != 0) {
		vconn_close(c, "socketpair failed");
		return;
	}
	if (supervisor_display_client(c->vm, sv[1], c->control, &why) != 0) {
		close(sv[0]);
		char msg[200];
		snprintf(msg, sizeof(msg), "%s %s", c->vmname, why);
		vconn_close(c, msg);
		return;
	}
	c->mon = bufferevent_socket_new(c->d->gw->base, sv[0],
					BEV_OPT_CLOSE_ON_FREE);
	c->mon_rev = event_new(c->d->gw->base, sv[0], EV_READ | EV_PERSIST,
			       on_mon_readable, c);
	c->mon_in = evbuffer_new();
	if (c->mon == NULL || c->mon_rev == NULL || c->mon_in == NULL) {
		if (c->mon == NULL)
			close(sv[0]);
		vconn_close(c, "out of memory");
		return;
	}
	bufferevent_setcb(c->mon, NULL, on_mon_write, on_mon_event, c);
	c->out_high = supervisor_display_backlog(c->vm);
	if (c->out_high < VNCD_RELAY_HIGH)
		c->out_high = VNCD_RELAY_HIGH;
	bufferevent_setwatermark(c->mon, EV_WRITE, VNCD_RELAY_HIGH / 4, 0);
	/* libevent writes 16 KiB a loop pass by default: 192 passes for a
	 * 3 MiB screen in Raw. */
	bufferevent_set_max_single_write(c->cli, VNCD_SINGLE_IO);
	if (c->raw != c->cli)
		bufferevent_set_max_single_write(c->raw, VNCD_SINGLE_IO);
	bufferevent_enable(c->mon, EV_WRITE);
	event_add(c->mon_rev, NULL);
	/* The viewer's ClientInit waits until the monitor's side is ready. */
	bufferevent_disable(c->cli, EV_READ);
	c->st = V_MONITOR;
	c->mon_step = 0;
	c->viewing = true;
	c->viewer.user = c->user;
	c->viewer.path = VNCD_PATH;
	c->viewer.control = c->control;
	c->viewer.since = time(NULL);
	supervisor_viewer_add(c->vm, &c->viewer);
	audit_display_start(c->d->gw->audit, c->id, c->user, c->vmname,
			    c->control, VNCD_PATH, c->addr);
	LOG("vnc %lu: %s@%s views %s's display over VeNCrypt (%s)", c->id,
	    c->user, c->addr, c->vmname, c->control ? "control" : "view-only");
}

/* Logging in -------------------------------------------------------------- */

static void
on_refusal_due(evutil_socket_t fd, short what, void *arg)
{
	struct vconn *c = arg;

	(void)fd;
	(void)what;
	if (c->dead)
		return;
	rfbfront_reject(c->f, c->refusal);
	send_output(c);
	close_after_flush(c, c->refusal, LINGER_TRIES, NULL);
}

/* Refuses the login after the penalty's wait (a failed password), or at
 * once (penalty false: the login was right, the rights are not). */
static void
refuse(struct vconn *c, const char *why, bool penalty)
{
	unsigned ms = 0;
	bool over;

	snprintf(c->refusal, sizeof(c->refusal), "%s", why);
	if (penalty)
		ms = penalty_fail(c->d->pen, c->ip, clock_ms(), &over);
	if (ms == 0) {
		on_refusal_due(-1, 0, c);
		return;
	}
	struct timeval tv = {ms / 1000, (suseconds_t)(ms % 1000) * 1000};
	event_assign(c->later, c->d->gw->base, -1, 0, on_refusal_due, c);
	evtimer_add(c->later, &tv);
}

/* c->user logged in (method: for the audit): now the VM and the rights on
 * it, then the monitor. */
static void
admit(struct vconn *c, const char *method)
{
	struct gwctx *gw = c->d->gw;
	struct policy_reason why = {0};
	char msg[RFBFRONT_REASON_MAX];

	audit_auth(gw->audit, c->user, method, "success", NULL, c->addr, NULL);
	struct vmproc *v = supervisor_find(gw->sup, c->vmname);
	unsigned r = policy_rights(gw->policy, c->user, c->vmname, &why);
	if (v == NULL || !policy_vm_visible(gw->policy, c->user, c->vmname)) {
		snprintf(msg, sizeof(msg), "no such VM: %s", c->vmname);
		refuse(c, msg, false);
		return;
	}
	if (audit_decision(gw->audit, c->user, c->vmname, POLICY_DISPLAY_VIEW,
			   r, &why, "vnc", c->addr, c->id) != 0) {
		refuse(c, "audit log cannot be written", false);
		return;
	}
	if (!(r & POLICY_DISPLAY_VIEW)) {
		snprintf(msg, sizeof(msg), "not allowed: display of %s",
			 c->vmname);
		refuse(c, msg, false);
		return;
	}
	const char *problem = supervisor_display_problem(v);
	if (problem != NULL) {
		snprintf(msg, sizeof(msg), "%s %s", c->vmname, problem);
		refuse(c, msg, false);
		return;
	}
	c->vm = v;
	c->control = (r & POLICY_DISPLAY_CONTROL) != 0;
	rfbfront_accept(c->f);
	send_output(c);
	start_monitor(c);
}

/* The password was checked. */
static void
pw_done(void *arg, bool ok)
{
	struct vconn *c = arg;

	/* Closed meanwhile (maybe at exit, with the listener gone): c->d
	 * may not be touched. */
	if (!c->dead) {
		if (ok) {
			admit(c, "vnc-password");
		} else {
			audit_auth(c->d->gw->audit, c->user, "vnc-password",
				   "failure", NULL, c->addr, NULL);
			refuse(c, "wrong user or password", true);
		}
	}
	vconn_unref(c);
}

/* TICKET_RESPONSE: the answer to our challenge under a ticket's password. */
static void
check_ticket(struct vconn *c)
{
	struct gwctx *gw = c->d->gw;

	c->st = V_CHECKING;
	if (gw->tickets == NULL ||
	    tickets_redeem(gw->tickets, c->challenge,
			   rfbfront_ticket_response(c->f), clock_ms(), c->user,
			   c->vmname) != 0) {
		audit_auth(gw->audit, "", "vnc-ticket", "failure",
			   "no live ticket answers", c->addr, NULL);
		refuse(c, "wrong, used or expired ticket", true);
		return;
	}
	admit(c, "vnc-ticket");
}

/* CREDENTIALS: USER:VM and a password. */
static void
check_credentials(struct vconn *c)
{
	const char *user, *pass;
	size_t ulen, plen;

	c->st = V_CHECKING;
	rfbfront_credentials(c->f, &user, &ulen, &pass, &plen);
	const char *colon = memchr(user, ':', ulen);
	size_t nlen = colon ? (size_t)(colon - user) : 0;
	size_t vlen = colon ? ulen - nlen - 1 : 0;
	/* A name that cannot be a user (or no ":VM") is checked like an
	 * unknown user: as slow, and as quiet about which part was wrong. */
	if (colon != NULL && nlen <= CONFIG_MAX_NAME &&
	    vlen <= CONFIG_MAX_NAME &&
	    config_name_problem(user, nlen) == NULL &&
	    config_name_problem(colon + 1, vlen) == NULL) {
		memcpy(c->user, user, nlen);
		memcpy(c->vmname, colon + 1, vlen);
	}
	c->refs++;
	pwcheck_submit(c->d->gw, c->user, pass, plen, pw_done, c);
}

/* The viewer's side ------------------------------------------------------- */

static void
start_tls(struct vconn *c)
{
	SSL *ssl = SSL_new(c->d->tls);

	if (ssl == NULL) {
		vconn_close(c, "SSL_new failed");
		return;
	}
	c->cli = bufferevent_openssl_filter_new(c->d->gw->base, c->raw, ssl,
						BUFFEREVENT_SSL_ACCEPTING,
						BEV_OPT_CLOSE_ON_FREE);
	if (c->cli == NULL) {
		SSL_free(ssl);
		c->cli = c->raw;
		vconn_close(c, "TLS setup failed");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->cli, 1);
	rfbfront_tls_ready(c->f);
	bufferevent_setcb(c->cli, on_cli_read, NULL, on_cli_event, c);
	bufferevent_enable(c->cli, EV_READ | EV_WRITE);
	/* The start of the ClientHello may be in raw's input already. */
	bufferevent_trigger(c->raw, EV_READ, BEV_TRIG_IGNORE_WATERMARKS);
}

/* Runs the handshake on what the viewer sent, as far as it goes. */
static void
feed(struct vconn *c)
{
	while (!c->dead && c->st == V_HANDSHAKE) {
		enum rfbfront_event ev = rfbfront_event(c->f);
		send_output(c);
		switch (ev) {
		case RFBFRONT_EV_NONE: {
			struct evbuffer *in = bufferevent_get_input(c->cli);
			size_t n = evbuffer_get_length(in);
			if (n == 0)
				return;
			if (n > RFBFRONT_INPUT_MAX)
				n = RFBFRONT_INPUT_MAX;
			size_t used =
			    rfbfront_input(c->f, evbuffer_pullup(in, n), n);
			evbuffer_drain(in, used);
			if (used == 0 &&
			    rfbfront_event(c->f) == RFBFRONT_EV_NONE)
				return; /* a message cut short: wait */
			break;
		}
		case RFBFRONT_EV_NEED_TLS:
			start_tls(c);
			return; /* goes on when TLS data comes */
		case RFBFRONT_EV_CREDENTIALS:
			check_credentials(c);
			return;
		case RFBFRONT_EV_TICKET_RESPONSE:
			check_ticket(c);
			return;
		case RFBFRONT_EV_FAILED:
			close_after_flush(c, rfbfront_reason(c->f),
					  LINGER_TRIES, NULL);
			return;
		case RFBFRONT_EV_DONE:
			return; /* pw_done goes on */
		}
	}
}

static void
on_cli_read(struct bufferevent *bev, void *arg)
{
	struct vconn *c = arg;

	(void)bev;
	if (c->st == V_HANDSHAKE)
		feed(c);
	else if (c->st == V_RELAY)
		relay(c);
}

static void
on_cli_event(struct bufferevent *bev, short what, void *arg)
{
	struct vconn *c = arg;
	char why[200];

	(void)bev;
	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	unsigned long e =
	    c->cli != c->raw ? bufferevent_get_openssl_error(c->cli) : 0;
	if (e != 0)
		snprintf(why, sizeof(why), "TLS: %s",
			 ERR_reason_error_string(e));
	else
		snprintf(why, sizeof(why), "%s",
			 (what & BEV_EVENT_EOF) ? "the viewer left"
						: "connection error");
	vconn_close(c, why);
}

static void
on_grace(evutil_socket_t fd, short what, void *arg)
{
	struct vconn *c = arg;
	char why[100];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why),
		 "not logged in within %u s "
		 "(ssh: login_grace_time)",
		 c->d->gw->cfg->ssh.login_grace);
	vconn_close(c, why);
}

static void
on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
	  int salen, void *arg)
{
	struct vncd *d = arg;
	char host[INET6_ADDRSTRLEN] = "?", serv[NI_MAXSERV] = "?";
	struct rfbfront_config fc = {.vencrypt = RFBFRONT_OFFER_X509PLAIN,
				     .tickets = d->gw->tickets != NULL};

	(void)lis;
	getnameinfo(sa, (socklen_t)salen, host, sizeof(host), serv,
		    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
	if (d->nconns >= VNCD_MAX_CONNS) {
		LOG("vnc: %s:%s refused: %d connections open", host, serv,
		    VNCD_MAX_CONNS);
		close(fd);
		return;
	}
	struct vconn *c = xcalloc(1, sizeof(*c));
	snprintf(c->ip, sizeof(c->ip), "%s", host);
	snprintf(c->addr, sizeof(c->addr), "%s:%s", host, serv);
	(void)startups_src_of(sa, (socklen_t)salen, &c->src);
	if (!startups_admit(d->startups, &c->src, c->addr)) {
		close(fd);
		free(c);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	evutil_make_socket_closeonexec(fd);
	/* A reply in several writes (an update the monitor wrote in pieces,
	 * a handshake step) would otherwise wait, from its second write, for
	 * the viewer's ACK of the first, which a delayed-ACK viewer holds up
	 * to 40 ms: as for SSH (sshd.c). */
	int one = 1;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		LOG("vnc: %s: TCP_NODELAY: %s", c->addr, strerror(errno));
	c->startup = true;
	c->d = d;
	c->refs = 1;
	c->id = ++d->next_id;
	if (RAND_bytes(fc.challenge, sizeof(fc.challenge)) != 1) {
		LOG("vnc: %s refused: no random bytes", c->addr);
		close(fd);
		startups_leave(d->startups, &c->src);
		free(c);
		return;
	}
	memcpy(c->challenge, fc.challenge, sizeof(c->challenge));
	c->f = rfbfront_new(&fc);
	c->raw = bufferevent_socket_new(d->gw->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->cli = c->raw;
	c->grace = evtimer_new(d->gw->base, on_grace, c);
	c->later = evtimer_new(d->gw->base, on_linger, c);
	TAILQ_INSERT_TAIL(&d->conns, c, entry);
	d->nconns++;
	if (c->f == NULL || c->raw == NULL) {
		if (c->raw == NULL)
			close(fd);
		vconn_close(c, "out of memory");
		return;
	}
	struct timeval tv = {d->gw->cfg->ssh.login_grace, 0};
	evtimer_add(c->grace, &tv);
	bufferevent_setcb(c->raw, on_cli_read, NULL, on_cli_event, c);
	bufferevent_enable(c->raw, EV_READ | EV_WRITE);
	send_output(c); /* "RFB 003.008\n" */
}

/* The listener --------------------------------------------------------- */

struct vncd *
vncd_new(struct gwctx *gw, char *err, size_t errlen)
{
	const struct config *cfg = gw->cfg;
	struct vncd *d = xcalloc(1, sizeof(*d));
	struct addrinfo hints = {0}, *res = NULL;
	char serv[16];

	d->gw = gw;
	d->scratch = xmalloc(VNCD_SINGLE_IO);
	TAILQ_INIT(&d->conns);
	d->certdir = xasprintf("%s/certs", cfg->state_dir);
	if (certs_ensure(d, err, errlen) != 0 ||
	    (d->tls = tls_ctx(d->certdir, err, errlen)) == NULL)
		goto fail;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(serv, sizeof(serv), "%u", cfg->vnc_port);
	int r = getaddrinfo(cfg->vnc_host, serv, &hints, &res);
	if (r != 0) {
		snprintf(err, errlen, "%s: %s", cfg->vnc_host, gai_strerror(r));
		goto fail;
	}
	d->lis = evconnlistener_new_bind(
	    gw->base, on_accept, d,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    512, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (d->lis == NULL) {
		snprintf(err, errlen, "listen on %s:%u: %s", cfg->vnc_host,
			 cfg->vnc_port, strerror(errno));
		goto fail;
	}
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	getsockname(evconnlistener_get_fd(d->lis), (struct sockaddr *)&ss, &sl);
	d->port = ntohs(ss.ss_family == AF_INET6
			    ? ((struct sockaddr_in6 *)&ss)->sin6_port
			    : ((struct sockaddr_in *)&ss)->sin_port);
	d->pen = penalty_new();
	d->startups = startups_new(gw->base, &cfg->ssh);
	LOG("vnc listening on %s port %u (VeNCrypt X509Plain, TLS 1.2 and "
	    "1.3; certificates in %s)",
	    cfg->vnc_host, d->port, d->certdir);
	return d;
fail:
	vncd_free(d);
	return NULL;
}

void
vncd_free(struct vncd *d)
{
	if (d == NULL)
		return;
	while (!TAILQ_EMPTY(&d->conns))
		vconn_close(TAILQ_FIRST(&d->conns), "the gateway stops");
	if (d->lis)
		evconnlistener_free(d->lis);
	SSL_CTX_free(d->tls);
	penalty_free(d->pen);
	startups_free(d->startups);
	free(d->certdir);
	free(d->scratch);
	free(d);
}

unsigned
vncd_port(const struct vncd *d)
{
	return d->port;
}

void
vncd_recheck(struct vncd *d)
{
	struct vconn *c, *next;

	for (c = TAILQ_FIRST(&d->conns); c; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (!c->viewing)
			continue;
		struct policy_reason why = {0};
		unsigned r =
		    policy_rights(d->gw->policy, c->user, c->vmname, &why);
		if (!(r & POLICY_DISPLAY_VIEW) ||
		    (c->control && !(r & POLICY_DISPLAY_CONTROL))) {
			audit_decision(d->gw->audit, c->user, c->vmname,
				       (r & POLICY_DISPLAY_VIEW)
					   ? POLICY_DISPLAY_CONTROL
					   : POLICY_DISPLAY_VIEW,
				       r, &why, "recheck", c->addr, c->id);
			vconn_close(c, "revoked");
		}
	}
}

int
vncd_reload_certs(struct vncd *d, char *err, size_t errlen)
{
	SSL_CTX *ctx = tls_ctx(d->certdir, err, errlen);

	if (ctx == NULL)
		return -1;
	SSL_CTX_free(d->tls); /* live connections keep their reference */
	d->tls = ctx;
	return 0;
}
