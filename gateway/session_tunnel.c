/*
 * The VNC tunnel session kind: `ssh -L 5901:web1:5900 alice@gateway` opens
 * a direct-tcpip channel to "web1", port 5900, and the bytes of that channel
 * go both ways through a socketpair whose other end the VM's monitor serves
 * as a VNC viewer (supervisor_display_client), view-only or controlling as
 * the policy says. The monitor never sees the network or the user.
 *
 * Flow control both ways, nothing unbounded: the guest's side is taken off
 * the monitor at once, and a viewer for which more than two whole screens
 * and some waits (tout, below) is cut off; the rest goes into the channel
 * as its window opens; the client's side is written
 * as far as the socketpair takes it, the rest left with libssh (its window
 * then closes) or held here, never more than libssh held
 * (CHANNEL_HOLD_MAX), as for the console.
 */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "gwctx.h"
#include "log.h"
#include "policy.h"
#include "session_impl.h"
#include "supervisor.h"
#include "xmalloc.h"

#define TUNNEL_PATH "ssh-tunnel"

const char *
session_tunnel_check(struct gwctx *gw, const char *user, const char *addr,
		     const char *host, int port, struct vmproc **vm,
		     bool *control, char *buf, size_t size)
{
	struct vmproc *v = supervisor_find(gw->sup, host);
	struct policy_reason why = {0};
	unsigned r;

	*vm = NULL;
	if (v == NULL || !policy_vm_visible(gw->policy, user, host)) {
		snprintf(buf, size,
			 "direct-tcpip to %.64s:%d: only a VM's display "
			 "(VM:%d) may be forwarded, and there is no such VM",
			 host, port, SESSION_TUNNEL_PORT);
		return buf;
	}
	if (port != SESSION_TUNNEL_PORT) {
		snprintf(buf, size,
			 "direct-tcpip to %s:%d: only a VM's display (%s:%d) "
			 "may be forwarded",
			 host, port, host, SESSION_TUNNEL_PORT);
		return buf;
	}
	r = policy_rights(gw->policy, user, host, &why);
	if (audit_decision(gw->audit, user, host, POLICY_DISPLAY_VIEW, r, &why,
			   "vnc-tunnel", addr, 0) != 0) {
		snprintf(buf, size, "%s", AUDIT_REFUSED);
		return buf;
	}
	if (!(r & POLICY_DISPLAY_VIEW)) {
		snprintf(buf, size, "%s may not view %s's display", user, host);
		return buf;
	}
	const char *problem = supervisor_display_problem(v);
	if (problem != NULL) {
		snprintf(buf, size, "%s %s", host, problem);
		return buf;
	}
	*vm = v;
	*control = (r & POLICY_DISPLAY_CONTROL) != 0;
	return NULL;
}

/* Guest to client --------------------------------------------------------- */

/*
 * The monitor's VNC server (libvncserver) writes an update whole, and
 * when the stream stays full it waits 5 s (libvncserver 0.9.14 waits in
 * 5 s steps; VNC_WRITE_WAIT_MS only says one step is too many) and then
 * cuts the viewer off; its loop, which also carries the serial console,
 * waits meanwhile. The kernel lets a socket hold little (wmem_max: 208 KiB
 * on a stock Debian kernel), and a whole screen in Raw is 3 MiB at
 * 1024x768. So what the monitor writes is always taken at once into tout,
 * whatever the channel's window, and goes into the channel as the window
 * and libssh allow: the monitor never waits on this stream.
 *
 * libvncserver 0.9.14 sends an update only when asked (it has no
 * continuous updates), and viewers ask for the next one once they have the
 * last (TigerVNC, libvncclient, noVNC: one update in flight; libvncclient
 * two at its start). So a viewer has at most two whole screens and some
 * (supervisor_display_backlog) here, however slow its link: that is tout's
 * bound. One that has asked for more
 * without reading is cut off ("too slow") when tout passes it, at once,
 * rather than left to stall the monitor for 5 s and then be cut off there.
 * tout's chunks are freed as they are sent: a viewer that keeps up holds
 * nothing here.
 */
#define TUNNEL_READ_MAX (64u << 10)

/*
 * Once the monitor's side has ended, what waits in tout still goes to the
 * viewer (the display's last update, the end of a stream it may be
 * reading late), but not for ever: a viewer that takes nothing of it for
 * SUPERVISOR_DISPLAY_LINGER_MS is let go ("too slow"), as on VeNCrypt.
 */
static void
on_tunnel_linger(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	LOG("session %lu: %s@%s took nothing of %s's display's last %zu "
	    "bytes for %d ms: cut off",
	    s->id, s->peer.user, s->peer.addr, supervisor_name(s->vm),
	    evbuffer_get_length(s->tout), SUPERVISOR_DISPLAY_LINGER_MS);
	session_kill(s, 1, "too slow", NULL);
}

static void
tunnel_linger(struct session *s)
{
	struct timeval tv = {SUPERVISOR_DISPLAY_LINGER_MS / 1000,
			     SUPERVISOR_DISPLAY_LINGER_MS % 1000 * 1000};

	event_add(s->tlinger, &tv); /* again: from now */
}

static void
tunnel_end_soon(struct session *s, const char *why)
{
	s->tend = why;
	event_del(s->trev);
	tunnel_linger(s);
}

/* Sends what it can of p[0..n) into the channel: as far as its window
 * goes and while libssh has sent what it had (it keeps one write at most),
 * piece after piece while the socket takes them. Returns how much, or -1:
 * the session ends. */
static ssize_t
tunnel_send(struct session *s, const uint8_t *p, size_t n)
{
	size_t sent = 0;

	while (sent < n) {
		uint32_t win = ssh_channel_window_size(s->ch);
		size_t k = n - sent;

		/* out now if the socket takes it, not after a loop round */
		if (win == 0 || !session_can_write(s))
			break;
		if (k > win)
			k = win;
		if (k > WRITE_CHUNK)
			k = WRITE_CHUNK;
		if (ssh_channel_write(s->ch, p + sent, (uint32_t)k) != (int)k) {
			session_kill(s, 1, "channel error", NULL);
			return -1;
		}
		sent += k;
		s->bytes_out += (uint64_t)k;
	}
	return (ssize_t)sent;
}

/* tout into the channel as far as it goes (else on the next output_ready),
 * a chunk at a time: no copy to make pieces contiguous. */
static void
tunnel_flush(struct session *s)
{
	size_t was, left;

	if (s->tfd < 0 || s->finished || s->closing)
		return;
	was = left = evbuffer_get_length(s->tout);
	while (left > 0) {
		size_t n = evbuffer_get_contiguous_space(s->tout);
		if (n == 0) /* an empty first chunk: should not be, but */
			n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
		const uint8_t *p = evbuffer_pullup(s->tout, (ev_ssize_t)n);
		if (p == NULL) {
			session_kill(s, 1, "out of memory", NULL);
			return;
		}
		ssize_t w = tunnel_send(s, p, n);
		if (w < 0)
			return; /* the session ends */
		evbuffer_drain(s->tout, (size_t)w);
		left = evbuffer_get_length(s->tout);
		if ((size_t)w < n)
			break;
	}
	if (s->tend != NULL && left == 0) {
		session_kill(s, 0, s->tend, NULL);
		return;
	}
	if (s->tend != NULL && left < was)
		tunnel_linger(s);
	session_kick(s);
}

/*
 * One read a wake-up (level-triggered: more wakes us again), then as much
 * as the channel takes: a lone piece goes out at once, no waiting to gather
 * more (that would be latency). What waits before it goes first; else the
 * read goes straight from buf into the channel, and only what the channel
 * does not take goes into tout, through evbuffer_add, which fills the tail
 * of tout's last chunk before it takes a new one: reserving space in tout
 * for each read left the unused part of each reservation behind (vmgated
 * grew 8-12 MiB for a 3 MiB screen), and evbuffer_read takes at most 4 KiB
 * a call (libevent 2.1's EVBUFFER_MAX_READ): 768 reads for a Raw screen,
 * and vmgated's CPU per MiB of Raw went from 71 to 164 ms in kvmbox.
 */
static void
tunnel_out(struct session *s)
{
	uint8_t buf[TUNNEL_READ_MAX];
	ssize_t k, w = 0;

	if (s->tfd < 0 || s->finished || s->closing || s->tend != NULL)
		return;
	do
		k = read(s->tfd, buf, sizeof(buf));
	while (k < 0 && errno == EINTR);
	if (k < 0 && errno == EAGAIN)
		return;
	if (k <= 0) {
		tunnel_end_soon(s, k == 0 ? "display closed" : "display error");
		tunnel_flush(s);
		return;
	}
	if (evbuffer_get_length(s->tout) == 0 &&
	    (w = tunnel_send(s, buf, (size_t)k)) < 0)
		return;
	if (w < k && evbuffer_add(s->tout, buf + w, (size_t)(k - w)) != 0) {
		session_kill(s, 1, "out of memory", NULL);
		return;
	}
	if (evbuffer_get_length(s->tout) > s->tout_max) {
		LOG("session %lu: %s@%s asked for more of %s's display than "
		    "two screens without reading (%zu bytes wait, %zu "
		    "allowed): cut off",
		    s->id, s->peer.user, s->peer.addr, supervisor_name(s->vm),
		    evbuffer_get_length(s->tout), s->tout_max);
		session_kill(s, 1, "too slow", NULL);
		return;
	}
	tunnel_flush(s);
}

static void
on_tunnel_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tunnel_out(arg);
}

static void
tunnel_ready(struct session *s)
{
	tunnel_flush(s);
}

/* Client to guest --------------------------------------------------------- */

/* Writes what it can of p[0..n); returns how much, -1 on a dead stream. */
static ssize_t
tunnel_write(struct session *s, const uint8_t *p, size_t n)
{
	ssize_t w;

	do
		w = write(s->tfd, p, n);
	while (w < 0 && errno == EINTR);
	if (w < 0 && errno == EAGAIN)
		return 0;
	if (w < 0) {
		session_kill(s, 0, "display closed", NULL);
		return -1;
	}
	s->bytes_in += (uint64_t)w;
	return w;
}

static void
tunnel_shut_if_done(struct session *s)
{
	if (s->teof && s->held == NULL && s->ssh_pending == 0 && s->tfd >= 0)
		shutdown(s->tfd, SHUT_WR);
}

static size_t
tunnel_input(struct session *s, const uint8_t *p, size_t n)
{
	if (s->tfd < 0 || s->held != NULL)
		return 0; /* in order: what is held goes first */
	ssize_t w = tunnel_write(s, p, n);
	if (w < 0)
		return n; /* ending: discard */
	if ((size_t)w < n)
		event_add(s->twev, NULL);
	return (size_t)w;
}

/*
 * The socketpair drained: what is held, then all libssh holds for us at
 * once (a partial read would reopen libssh's window in full; see
 * session_console.c hc_input_ready), as far as the stream takes it.
 */
static void
on_tunnel_writable(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	while (!s->closing && !s->finished && s->tfd >= 0) {
		if (s->held == NULL && !session_hold_pending(s))
			break;
		ssize_t w = tunnel_write(s, s->held + s->heldoff,
					 s->heldlen - s->heldoff);
		if (w <= 0)
			return; /* EAGAIN: twev stays; or ending */
		s->heldoff += (size_t)w;
		if (s->heldoff < s->heldlen)
			return;
		free(s->held);
		s->held = NULL;
		s->heldlen = s->heldoff = 0;
	}
	event_del(s->twev);
	tunnel_shut_if_done(s);
	session_kick(s);
}

static void
tunnel_eof(struct session *s)
{
	s->teof = true;
	tunnel_shut_if_done(s);
}

/* Life ------------------------------------------------------------------- */

static void
tunnel_open(struct session *s)
{
	const char *name = supervisor_name(s->vm), *why;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       sv) != 0) {
		LOG("session %lu: socketpair: %s", s->id, strerror(errno));
		session_kill(s, 1, "socketpair failed", NULL);
		return;
	}
	if (audit_display_start(s->gw->audit, s->id, s->peer.user, name,
				!s->readonly, TUNNEL_PATH, s->peer.addr) != 0) {
		close(sv[0]);
		close(sv[1]);
		session_kill(s, 1, "audit failing", NULL);
		return;
	}
	s->attached = true;
	s->tfd = sv[0];
	s->tout = evbuffer_new();
	s->tout_max = supervisor_display_backlog(s->vm);
	s->trev = event_new(s->gw->base, s->tfd, EV_READ | EV_PERSIST,
			    on_tunnel_readable, s);
	s->twev = event_new(s->gw->base, s->tfd, EV_WRITE | EV_PERSIST,
			    on_tunnel_writable, s);
	s->tlinger = evtimer_new(s->gw->base, on_tunnel_linger, s);
	if (s->tout == NULL || s->trev == NULL || s->twev == NULL ||
	    s->tlinger == NULL) {
		close(sv[1]);
		session_kill(s, 1, "out of memory", NULL);
		return;
	}
	if (supervisor_display_client(s->vm, sv[1], !s->readonly, &why) != 0) {
		LOG("session %lu: %s's display: %s %s", s->id, s->peer.user,
		    name, why);
		session_kill(s, 1, "no display", NULL);
		return;
	}
	event_add(s->trev, NULL);
	s->viewer.user = s->peer.user;
	s->viewer.path = TUNNEL_PATH;
	s->viewer.control = !s->readonly;
	s->viewer.since = time(NULL);
	supervisor_viewer_add(s->vm, &s->viewer);
	LOG("session %lu: %s@%s views %s's display through an SSH tunnel (%s)",
	    s->id, s->peer.user, s->peer.addr, name,
	    s->readonly ? "view-only" : "control");
}

/* A policy change took display:control away: the monitor was told this
 * viewer may type, and cannot be told otherwise, so it ends (the viewer
 * may connect again, view-only). */
static void
tunnel_readonly(struct session *s)
{
	session_kill(s, 1, "control revoked", NULL);
}

static void
tunnel_close(struct session *s)
{
	if (!s->attached)
		return;
	s->attached = false;
	supervisor_viewer_remove(&s->viewer);
	struct event **evs[] = {&s->trev, &s->twev, &s->tlinger};
	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
		if (*evs[i] != NULL)
			event_free(*evs[i]);
		*evs[i] = NULL;
	}
	close(s->tfd);
	s->tfd = -1;
	if (s->tout != NULL)
		evbuffer_free(s->tout);
	s->tout = NULL;
	free(s->held);
	s->held = NULL;
	s->heldlen = s->heldoff = 0;
	const char *why = s->end_reason ? s->end_reason : "closed";
	audit_display_end(s->gw->audit, s->id, s->peer.user,
			  supervisor_name(s->vm), TUNNEL_PATH, s->bytes_in,
			  s->bytes_out, why, s->peer.addr);
	LOG("session %lu: %s left %s's display (%s; in %llu, out %llu bytes)",
	    s->id, s->peer.user, supervisor_name(s->vm), why,
	    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
}

const struct session_kind session_tunnel_kind = {
    .name = "vnc-tunnel",
    .stream = true,
    .right_view = POLICY_DISPLAY_VIEW,
    .right_input = POLICY_DISPLAY_CONTROL,
    .open = tunnel_open,
    .input = tunnel_input,
    .output_ready = tunnel_ready,
    .readonly = tunnel_readonly,
    .eof = tunnel_eof,
    .close = tunnel_close,
};

void
session_tunnel_start(struct session *s, struct vmproc *v, bool control)
{
	s->started = true;
	s->vm = v;
	s->readonly = !control;
	session_open(s, &session_tunnel_kind);
}

/* Refusal, the RFB way ---------------------------------------------------- */

#define RFB_VERSION_LEN 12

static void
refusal_open(struct session *s)
{
	static const char version[] = "RFB 003.008\n";

	if (ssh_channel_write(s->ch, version, RFB_VERSION_LEN) !=
	    RFB_VERSION_LEN)
		session_kill(s, 1, "channel error", NULL);
	session_kick(s);
}

/* The viewer's version (12 bytes) decides the form of the failure. */
static size_t
refusal_input(struct session *s, const uint8_t *p, size_t n)
{
	size_t take = RFB_VERSION_LEN - s->inlen;
	uint8_t msg[4 + 4 + 256];
	size_t len = 0, rlen = strlen(s->refusal);

	if (s->inlen >= RFB_VERSION_LEN)
		return n; /* told already: what follows is dropped */
	if (take > n)
		take = n;
	memcpy(s->inbuf + s->inlen, p, take);
	s->inlen += take;
	if (s->inlen < RFB_VERSION_LEN)
		return n;
	/* "RFB 003.00x\n": 3.3 (and anything older or unknown) reads a
	 * 32-bit security type, 0 for a failure; 3.7 and 3.8 read a count of
	 * types, 0 for a failure. Then the reason, 32-bit length first. */
	bool v37 = memcmp(s->inbuf, "RFB 003.", 8) == 0 &&
		   (memcmp(s->inbuf + 8, "007\n", 4) == 0 ||
		    memcmp(s->inbuf + 8, "008\n", 4) == 0);
	if (rlen > sizeof(msg) - 8)
		rlen = sizeof(msg) - 8;
	if (!v37) {
		memset(msg, 0, 4);
		len = 4;
	} else {
		msg[len++] = 0;
	}
	msg[len++] = (uint8_t)(rlen >> 24);
	msg[len++] = (uint8_t)(rlen >> 16);
	msg[len++] = (uint8_t)(rlen >> 8);
	msg[len++] = (uint8_t)rlen;
	memcpy(msg + len, s->refusal, rlen);
	len += rlen;
	if (ssh_channel_write(s->ch, msg, (uint32_t)len) != (int)len)
		session_kill(s, 1, "channel error", NULL);
	else
		session_kill(s, 0, "display refused", NULL);
	return n;
}

static void
refusal_eof(struct session *s)
{
	if (s->inlen < RFB_VERSION_LEN)
		session_kill(s, 0, "closed before its RFB version", NULL);
}

static const struct session_kind session_refusal_kind = {
    .name = "vnc-refusal",
    .stream = true,
    .open = refusal_open,
    .input = refusal_input,
    .eof = refusal_eof,
};

void
session_tunnel_refuse(struct session *s, const char *why)
{
	s->started = true;
	s->refusal = xstrdup(why);
	LOG("session %lu: %s@%s: VNC tunnel refused, told the viewer: %s",
	    s->id, s->peer.user, s->peer.addr, why);
	session_open(s, &session_refusal_kind);
}
