#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <libssh/callbacks.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "command.h"
#include "config.h"
#include "escape.h"
#include "gwctx.h"
#include "hub.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "record.h"
#include "supervisor.h"
#include "xmalloc.h"

/*
 * libssh 0.10 marks the ssh_message accessors deprecated in favour of the
 * server callbacks, but only the message API lets a reply wait (password
 * hashing on the worker pool, delayed failure replies), so we use it.
 */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* How long and how much a viewer may overflow before it is cut off. */
#define OVERFLOW_LIMIT_MS 10000
#define OVERFLOW_LIMIT_BYTES (4u << 20)
#define WRITE_CHUNK 32768

/*
 * The most client data libssh may hold unread for one channel. libssh keeps
 * what a client sends past the channel window instead of refusing it
 * (0.10), and its window is its own: 32000 bytes at open, reopened to
 * 1,280,000 whenever the window plus what it holds falls under 640,000.
 * A client that respects that window can make it hold 1,920,000 bytes at
 * most (2 MiB in libssh 0.11, which refuses the excess itself), so more
 * than this was sent past the window: we end the connection, as OpenSSH's
 * "peer ignored channel window" does.
 */
#define CHANNEL_HOLD_MAX (2u << 20)

struct session;

/* A session kind (STYLE.md: tables of function pointers, not switches). */
struct session_kind {
	const char *name;
	/* Input from the client; returns bytes consumed. */
	size_t (*data)(struct session *s, const uint8_t *p, size_t n);
	/* Output may flow. */
	void (*pump)(struct session *s);
	/* The policy changed. */
	void (*recheck)(struct session *s);
	/* Tear down kind-specific state (idempotent). */
	void (*end)(struct session *s);
};

struct session {
	struct gwctx *gw;
	struct session_peer peer;
	ssh_session ss;
	ssh_channel ch;
	struct ssh_channel_callbacks_struct cb;
	unsigned long id;
	const struct session_kind *kind;
	bool started;
	bool finished;	  /* channel closed by us; waiting to be freed */
	bool closing;	  /* close_ev scheduled */
	bool peer_closed; /* the client closed its side */
	bool violated;	  /* sent past the window: the connection ends */
	bool in_input;	  /* filtering client bytes (see hc_input_ready) */
	int exit_status;
	char *end_msg; /* stderr line to send when closing */
	const char *end_reason;
	struct event *close_ev;
	/* terminal */
	bool pty;
	char term[64];
	unsigned width, height;
	/* command output, sent in order, then exit */
	struct json out;
	size_t out_off;
	bool out_then_exit;
	bool power_pending;
	/* console */
	struct vmproc *vm;
	struct hub_client *hc;
	bool readonly;
	bool attached;
	struct escape esc;
	uint8_t inbuf[1024];
	size_t inlen, inoff;
	/* Client bytes read out of libssh, not filtered yet: after inbuf,
	 * before what libssh still holds. */
	uint8_t *held;
	size_t heldlen, heldoff;
	size_t ssh_pending; /* client bytes libssh still holds for us */
	struct record *rec;
	char *rec_path;
	uint64_t bytes_in, bytes_out;
};

static const char *
nl(const struct session *s)
{
	return s->pty ? "\r\n" : "\n";
}

static void
kick(struct session *s)
{
	s->peer.kick(s->peer.arg);
}

/* Closing ------------------------------------------------------------- */

static void
finish_channel(struct session *s)
{
	if (s->finished)
		return;
	s->finished = true;
	if (s->kind && s->kind->end)
		s->kind->end(s);
	if (s->end_msg) {
		ssh_channel_write_stderr(s->ch, s->end_msg,
					 (uint32_t)strlen(s->end_msg));
	}
	if (ssh_channel_is_open(s->ch)) {
		ssh_channel_request_send_exit_status(s->ch, s->exit_status);
		ssh_channel_send_eof(s->ch);
		ssh_channel_close(s->ch);
	}
	kick(s);
	s->peer.done(s->peer.arg);
}

static void
on_close_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish_channel(arg);
}

/* Ends the session on a later loop pass, with an optional stderr line. */
static void session_kill(struct session *s, int status, const char *reason,
			 const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
session_kill(struct session *s, int status, const char *reason, const char *fmt,
	     ...)
{
	va_list ap;
	char line[512];

	if (s->closing || s->finished)
		return;
	s->closing = true;
	s->exit_status = status;
	s->end_reason = reason;
	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(line, sizeof(line), fmt, ap);
		va_end(ap);
		s->end_msg = xasprintf(
		    "%s%s%s", s->pty && s->attached ? "\r\n" : "", line, nl(s));
	}
	event_active(s->close_ev, EV_TIMEOUT, 0);
}

/* Commands ------------------------------------------------------------ */

static void out_printf(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(struct session *s, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	json_raw(&s->out, buf, (size_t)n);
}

static void
cmd_pump(struct session *s)
{
	while (s->out_off < s->out.len && !s->finished) {
		uint32_t win = ssh_channel_window_size(s->ch);
		size_t n = s->out.len - s->out_off;
		if (win == 0 || (ssh_get_poll_flags(s->ss) & SSH_WRITE_PENDING))
			break;
		if (n > win)
			n = win;
		if (n > WRITE_CHUNK)
			n = WRITE_CHUNK;
		int w = ssh_channel_write(s->ch, s->out.buf + s->out_off,
					  (uint32_t)n);
		if (w <= 0)
			break;
		s->out_off += (size_t)w;
	}
	kick(s);
	if (s->out_off >= s->out.len && s->out_then_exit && !s->power_pending)
		session_kill(s, s->exit_status, "done", NULL);
}

static size_t
cmd_data(struct session *s, const uint8_t *p, size_t n)
{
	(void)s;
	(void)p;
	return n; /* commands read nothing */
}

static const struct session_kind kind_command = {
    .name = "command",
    .data = cmd_data,
    .pump = cmd_pump,
};

/* Writes a refusal: one line on stderr, exit status 1. */
static void refuse(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
refuse(struct session *s, const char *fmt, ...)
{
	va_list ap;
	char line[400];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->kind = &kind_command;
	s->out_then_exit = true;
	session_kill(s, 1, "refused", "vmgate: %s", line);
}

/* 0, or -1 if the line could not be written: then refuse (fail closed). */
static int
audit_decision(struct session *s, const char *vm, unsigned right,
	       unsigned rights, const struct policy_reason *why,
	       const char *action)
{
	char reason[256];

	policy_reason_str(why, right, reason, sizeof(reason));
	struct json *j = audit_begin(s->gw->audit, "decision");
	json_kstr(j, "user", s->peer.user);
	json_kstr(j, "vm", vm);
	json_kstr(j, "right", policy_right_name(right));
	json_kbool(j, "allowed", (rights & right) != 0);
	json_kstr(j, "reason", reason);
	json_kstr(j, "action", action);
	json_kstr(j, "addr", s->peer.addr);
	json_kint(j, "session", (long long)s->id);
	return audit_end(s->gw->audit);
}

/* The VM if the user may see it; NULL (and "no such VM") otherwise. */
static struct vmproc *
visible_vm(struct session *s, const char *name)
{
	struct vmproc *v = supervisor_find(s->gw->sup, name);

	if (v == NULL || !policy_vm_visible(s->gw->policy, s->peer.user, name))
		return NULL;
	return v;
}

static void
rights_str(unsigned rights, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < POLICY_NRIGHTS; i++) {
		unsigned r = 1u << i;
		if (!(rights & r))
			continue;
		o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? "," : "",
				      policy_right_name(r));
		if (o >= size)
			break;
	}
}

static void
do_list(struct session *s)
{
	struct supervisor *sup = s->gw->sup;
	size_t n = supervisor_count(sup), shown = 0;
	char rights[128];

	for (size_t i = 0; i < n; i++) {
		struct vmproc *v = supervisor_vm(sup, i);
		const char *name = supervisor_name(v);
		unsigned r =
		    policy_rights(s->gw->policy, s->peer.user, name, NULL);
		if (r == 0)
			continue;
		if (shown++ == 0)
			out_printf(s, "%-20s %-11s %s%s", "VM", "STATE",
				   "ACCESS", nl(s));
		rights_str(r, rights, sizeof(rights));
		out_printf(s, "%-20s %-11s %s%s", name, supervisor_state(v),
			   rights, nl(s));
	}
	if (shown == 0)
		out_printf(s, "no VMs for you%s", nl(s));
}

/* "Admin" without a VM: the admin right on every VM the gateway runs. */
static bool
admin_everywhere(struct session *s)
{
	struct supervisor *sup = s->gw->sup;
	size_t n = supervisor_count(sup);

	for (size_t i = 0; i < n; i++) {
		const char *name = supervisor_name(supervisor_vm(sup, i));
		if (!(policy_rights(s->gw->policy, s->peer.user, name, NULL) &
		      POLICY_ADMIN))
			return false;
	}
	return n > 0;
}

static void
do_reload(struct session *s)
{
	char err[400];

	if (!admin_everywhere(s)) {
		refuse(s, "not allowed: reload (needs admin on every VM)");
		return;
	}
	if (audit_failing(s->gw->audit)) {
		refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	LOG("session %lu: %s asks for a policy reload", s->id, s->peer.user);
	if (s->gw->reload(s->gw, err, sizeof(err)) != 0) {
		refuse(s, "reload failed, the old policy stays: %s", err);
		return;
	}
	out_printf(s, "policy reloaded%s", nl(s));
}

static void
do_who(struct session *s, struct vmproc *v)
{
	struct hub *h = supervisor_hub(v);
	char when[32];

	if (hub_nclients(h) == 0) {
		out_printf(s, "nobody is attached to %s%s", supervisor_name(v),
			   nl(s));
		return;
	}
	for (struct hub_client *c = hub_first(h); c; c = hub_next(c)) {
		struct tm tm;
		gmtime_r(&c->since, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		out_printf(s, "%-20s %-11s since %s%s", c->user,
			   c->readonly ? "read-only" : "interactive", when,
			   nl(s));
	}
}

static void
do_status(struct session *s, struct vmproc *v)
{
	const char *d = supervisor_detail(v);

	out_printf(s, "%s: %s%s%s%s", supervisor_name(v), supervisor_state(v),
		   *d ? " (" : "", d, *d ? ")" : "");
	if (supervisor_pid(v) > 0)
		out_printf(s, ", monitor pid %d", supervisor_pid(v));
	out_printf(s, ", %zu attached%s", hub_nclients(supervisor_hub(v)),
		   nl(s));
}

static void
power_done(void *arg, bool ok, const char *msg)
{
	struct session *s = arg;

	s->power_pending = false;
	if (s->attached) {
		if (!ok)
			hub_client_say(s->hc, "\r\n[vmgate: reset failed]\r\n");
		return;
	}
	struct json *j = audit_begin(s->gw->audit, "power");
	json_kstr(j, "user", s->peer.user);
	json_kstr(j, "vm", supervisor_name(s->vm));
	json_kbool(j, "ok", ok);
	json_kstr(j, "result", msg);
	audit_end(s->gw->audit);
	if (ok) {
		out_printf(s, "%s%s", msg, nl(s));
		s->exit_status = 0;
		cmd_pump(s);
	} else {
		refuse(s, "%s", msg);
	}
}

static void
do_power(struct session *s, struct vmproc *v, enum command_power p)
{
	static const char *const names[] = {"start", "stop", "reset"};
	static const enum supervisor_power map[] = {
	    SUPERVISOR_START, SUPERVISOR_STOP, SUPERVISOR_RESET};
	struct policy_reason why;
	const char *msg = NULL;
	unsigned r = policy_rights(s->gw->policy, s->peer.user,
				   supervisor_name(v), &why);

	if (audit_decision(s, supervisor_name(v), POLICY_POWER, r, &why,
			   names[p]) != 0) {
		refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	if (!(r & POLICY_POWER)) {
		refuse(s, "not allowed: power %s", supervisor_name(v));
		return;
	}
	s->vm = v;
	struct json *j = audit_begin(s->gw->audit, "power");
	json_kstr(j, "user", s->peer.user);
	json_kstr(j, "vm", supervisor_name(v));
	json_kstr(j, "action", names[p]);
	json_kstr(j, "result", "requested");
	if (audit_end(s->gw->audit) != 0) {
		refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	LOG("session %lu: %s: power %s %s", s->id, s->peer.user,
	    supervisor_name(v), names[p]);
	if (supervisor_power(v, map[p], power_done, s, &msg) == 0) {
		s->power_pending = true;
		return;
	}
	if (p == COMMAND_POWER_STOP && strcmp(msg, "stopped") == 0) {
		out_printf(s, "%s is stopped%s", supervisor_name(v), nl(s));
		return;
	}
	refuse(s, "%s %s", supervisor_name(v), msg);
}

/* Console ------------------------------------------------------------- */

static void console_pump(struct session *s);

static void
hc_output(void *arg)
{
	console_pump(arg);
}

static size_t console_take(struct session *s, const uint8_t *p, size_t n);

static void
flush_input(struct session *s)
{
	if (s->hc == NULL)
		return; /* not (or no longer) on a console: nothing to feed */
	while (s->inoff < s->inlen) {
		size_t k =
		    hub_write(s->hc, s->inbuf + s->inoff, s->inlen - s->inoff);
		if (k == 0)
			return;
		s->inoff += k;
		s->bytes_in += k;
	}
	s->inoff = s->inlen = 0;
}

/* Filters what is held, as far as the hub takes it; the rest stays. */
static void
take_held(struct session *s)
{
	while (s->held != NULL && s->inlen == 0 && !s->closing &&
	       !s->finished) {
		size_t used = console_take(s, s->held + s->heldoff,
					   s->heldlen - s->heldoff);
		if (used == 0)
			break;
		s->heldoff += used;
		if (s->heldoff == s->heldlen) {
			free(s->held);
			s->held = NULL;
			s->heldlen = s->heldoff = 0;
		}
	}
	if (s->held != NULL && (s->closing || s->finished)) {
		free(s->held);
		s->held = NULL;
		s->heldlen = s->heldoff = 0;
	}
}

static void
hc_input_ready(void *arg)
{
	struct session *s = arg;

	/* An escape answer written from here can make libssh read the socket
	 * and call on_data; that data waits in libssh (in_input) so that
	 * nothing overtakes what is held. */
	if (s->in_input)
		return;
	s->in_input = true;
	flush_input(s);
	take_held(s);
	/*
	 * Then what libssh kept for us while there was no room, all of it at
	 * once. Bytes read from libssh cannot go back: what the hub does not
	 * take now (an escape command ended a chunk and the room ran out)
	 * stays held, in order. And a read that leaves bytes in libssh 0.10
	 * reopens its window in full whatever it still holds, so reading a
	 * little at a time would let a client that respects the window make
	 * the gateway hold without end; emptying it keeps libssh's window plus
	 * what it holds under CHANNEL_HOLD_MAX, and what is held here no
	 * larger than that.
	 */
	while (s->inlen == 0 && s->held == NULL && s->ssh_pending > 0 &&
	       !s->closing && !s->finished) {
		size_t want = s->ssh_pending;
		s->held = xmalloc(want);
		int k = ssh_channel_read_nonblocking(s->ch, s->held,
						     (uint32_t)want, 0);
		if (k <= 0) {
			free(s->held);
			s->held = NULL;
			s->ssh_pending = 0;
			break;
		}
		s->ssh_pending -= (size_t)k < want ? (size_t)k : want;
		s->heldlen = (size_t)k;
		s->heldoff = 0;
		take_held(s);
	}
	s->in_input = false;
	kick(s);
}

static const struct hub_client_ops console_ops = {
    .output = hc_output,
    .input_ready = hc_input_ready,
};

static void say(struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct session *s, const char *fmt, ...)
{
	va_list ap;
	char text[600], line[700];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "\r\n[vmgate: %s]\r\n", text);
	hub_client_say(s->hc, line);
}

static void
escape_who(struct session *s)
{
	struct hub *h = supervisor_hub(s->vm);
	char line[900];
	size_t o = 0;

	o += (size_t)snprintf(
	    line, sizeof(line),
	    "\r\n[vmgate: attached to %s:", supervisor_name(s->vm));
	for (struct hub_client *c = hub_first(h); c && o < sizeof(line);
	     c = hub_next(c))
		o += (size_t)snprintf(line + o, sizeof(line) - o, " %s(%s)",
				      c->user, c->readonly ? "ro" : "rw");
	if (o < sizeof(line))
		snprintf(line + o, sizeof(line) - o, "]\r\n");
	hub_client_say(s->hc, line);
}

static void
do_escape(struct session *s, enum escape_action act)
{
	struct policy_reason why;
	const char *name = supervisor_name(s->vm);
	const char *msg;
	unsigned r;

	switch (act) {
	case ESCAPE_NONE:
		break;
	case ESCAPE_DETACH:
		session_kill(s, 0, "detached", "[vmgate: detached from %s]",
			     name);
		break;
	case ESCAPE_BREAK:
		if (s->readonly) {
			say(s, "read-only: no break");
			break;
		}
		if (supervisor_break(s->vm) == 0)
			say(s, "break sent to %s", name);
		else
			say(s, "%s is %s", name, supervisor_state(s->vm));
		break;
	case ESCAPE_RESET:
		r = policy_rights(s->gw->policy, s->peer.user, name, &why);
		if (audit_decision(s, name, POLICY_POWER, r, &why, "reset") !=
		    0) {
			say(s, "%s", AUDIT_REFUSED);
			break;
		}
		if (!(r & POLICY_POWER)) {
			say(s, "not allowed: power %s", name);
			break;
		}
		if (s->power_pending)
			break;
		struct json *j = audit_begin(s->gw->audit, "power");
		json_kstr(j, "user", s->peer.user);
		json_kstr(j, "vm", name);
		json_kstr(j, "action", "reset");
		json_kstr(j, "result", "requested");
		if (audit_end(s->gw->audit) != 0) {
			say(s, "%s", AUDIT_REFUSED);
			break;
		}
		if (supervisor_power(s->vm, SUPERVISOR_RESET, power_done, s,
				     &msg) == 0) {
			s->power_pending = true;
			say(s, "resetting %s", name);
		} else {
			say(s, "%s %s", name, msg);
		}
		break;
	case ESCAPE_WHO:
		escape_who(s);
		break;
	case ESCAPE_HELP:
	case ESCAPE_UNKNOWN:
		hub_client_say(s->hc, "\r\n");
		hub_client_say(s->hc, escape_help());
		break;
	}
}

/* Filters and forwards client bytes; returns how many it took. */
static size_t
console_take(struct session *s, const uint8_t *p, size_t n)
{
	size_t used = 0;

	while (used < n && s->inlen == 0 && !s->closing && !s->finished) {
		size_t chunk = n - used, outn;
		enum escape_action act;
		if (chunk > sizeof(s->inbuf))
			chunk = sizeof(s->inbuf);
		used += escape_feed(&s->esc, p + used, chunk, s->inbuf, &outn,
				    &act);
		/* Read-only: guest-bound bytes go nowhere. */
		s->inlen = s->readonly ? 0 : outn;
		s->inoff = 0;
		flush_input(s);
		do_escape(s, act);
	}
	if (s->closing || s->finished)
		return n;
	return used;
}

static size_t
console_data(struct session *s, const uint8_t *p, size_t n)
{
	if (s->in_input)
		return 0; /* called back from inside hc_input_ready */
	if (s->inlen > 0)
		flush_input(s);
	take_held(s);
	if (s->inlen > 0 || s->held != NULL)
		return 0; /* older bytes wait: p stays with libssh */
	return console_take(s, p, n);
}

static void
console_pump(struct session *s)
{
	const uint8_t *p;
	size_t n;

	if (s->finished || s->hc == NULL)
		return;
	while ((n = outq_peek(&s->hc->q, &p)) > 0) {
		uint32_t win = ssh_channel_window_size(s->ch);
		if (win == 0 || (ssh_get_poll_flags(s->ss) & SSH_WRITE_PENDING))
			break;
		if (n > win)
			n = win;
		if (n > WRITE_CHUNK)
			n = WRITE_CHUNK;
		int w = ssh_channel_write(s->ch, p, (uint32_t)n);
		if (w <= 0)
			break;
		record_output(s->rec, p, (size_t)w);
		outq_consume(&s->hc->q, (size_t)w);
		s->bytes_out += (uint64_t)w;
	}
	kick(s);
	if (outq_overlimit(&s->hc->q, hub_now_ms(), OVERFLOW_LIMIT_MS,
			   OVERFLOW_LIMIT_BYTES))
		session_kill(s, 1, "too slow",
			     "[vmgate: disconnected: your connection is too "
			     "slow for %s's output]",
			     supervisor_name(s->vm));
}

static void
console_end(struct session *s)
{
	if (!s->attached)
		return;
	s->attached = false;
	supervisor_cancel(s->gw->sup, s);
	hub_detach(s->hc);
	s->hc = NULL;
	record_close(s->rec);
	s->rec = NULL;
	struct json *j = audit_begin(s->gw->audit, "session_end");
	json_kint(j, "session", (long long)s->id);
	json_kstr(j, "user", s->peer.user);
	json_kstr(j, "vm", supervisor_name(s->vm));
	json_kint(j, "bytes_in", (long long)s->bytes_in);
	json_kint(j, "bytes_out", (long long)s->bytes_out);
	json_kstr(j, "reason", s->end_reason ? s->end_reason : "closed");
	json_kstr(j, "addr", s->peer.addr);
	audit_end(s->gw->audit);
	LOG("session %lu: %s detached from %s (%s; in %llu, out %llu bytes)",
	    s->id, s->peer.user, supervisor_name(s->vm),
	    s->end_reason ? s->end_reason : "closed",
	    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
}

static void
console_recheck(struct session *s)
{
	struct policy_reason why;
	const char *name = supervisor_name(s->vm);
	unsigned r;

	if (!s->attached || s->closing)
		return;
	r = policy_rights(s->gw->policy, s->peer.user, name, &why);
	if (!(r & POLICY_CONSOLE_READ)) {
		audit_decision(s, name, POLICY_CONSOLE_READ, r, &why,
			       "recheck");
		session_kill(s, 1, "revoked",
			     "[vmgate: your access to %s was revoked]", name);
		return;
	}
	if (!s->readonly && !(r & POLICY_CONSOLE_WRITE)) {
		audit_decision(s, name, POLICY_CONSOLE_WRITE, r, &why,
			       "recheck");
		s->readonly = true;
		hub_set_readonly(s->hc, true);
		s->inlen = s->inoff = 0;
		say(s, "your rights changed: read-only: you may watch %s",
		    name);
	}
}

static const struct session_kind kind_console = {
    .name = "console",
    .data = console_data,
    .pump = console_pump,
    .recheck = console_recheck,
    .end = console_end,
};

static void
audit_rotated(void *arg, const char *path, uint64_t size)
{
	struct session *s = arg;
	struct json *j = audit_begin(s->gw->audit, "recording_rotated");

	json_kint(j, "session", (long long)s->id);
	json_kstr(j, "file", path);
	json_kint(j, "bytes", (long long)size);
	audit_end(s->gw->audit);
}

/* Within the VM's recordings: limits (record.h), rotating its oldest. */
static void
start_recording(struct session *s, const char *name)
{
	const struct config_vm *cv = config_find_vm(s->gw->cfg, name);
	const struct config_recordings *cr =
	    cv != NULL ? &cv->recordings : &s->gw->cfg->recordings;
	struct record_limits lim = {
	    .quota = cr->quota,
	    .max_file = cr->max_file,
	    .replay = cr->replay,
	    .max_files = cr->max_files,
	};

	s->rec = record_open(s->gw->rec_dir, name, s->peer.user, s->id,
			     s->width, s->height, s->term, &lim, audit_rotated,
			     s, &s->rec_path);
	if (s->rec == NULL)
		LOG("session %lu: cannot create a recording in %s: %s", s->id,
		    s->gw->rec_dir,
		    errno == EDQUOT ? "the VM's live recordings fill its quota"
				    : strerror(errno));
}

static void
do_attach(struct session *s, struct vmproc *v)
{
	struct policy_reason why;
	const char *name = supervisor_name(v);
	const char *st = supervisor_state(v);
	unsigned r = policy_rights(s->gw->policy, s->peer.user, name, &why);

	if (audit_decision(s, name, POLICY_CONSOLE_READ, r, &why, "attach") !=
	    0) {
		refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	if (!(r & POLICY_CONSOLE_READ)) {
		refuse(s, "not allowed: console of %s", name);
		return;
	}
	if (audit_decision(s, name, POLICY_CONSOLE_WRITE, r, &why, "attach") !=
	    0) {
		refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	if (strcmp(st, "stopped") == 0 || strcmp(st, "crashed") == 0) {
		refuse(s, "%s is %s", name, st);
		return;
	}
	s->kind = &kind_console;
	s->vm = v;
	s->readonly = !(r & POLICY_CONSOLE_WRITE);
	start_recording(s, name);
	struct json *j = audit_begin(s->gw->audit, "session_start");
	json_kint(j, "session", (long long)s->id);
	json_kstr(j, "user", s->peer.user);
	json_kstr(j, "vm", name);
	json_kstr(j, "mode", s->readonly ? "read-only" : "interactive");
	json_kstr(j, "addr", s->peer.addr);
	json_kbool(j, "pty", s->pty);
	json_kstr(j, "recording", s->rec_path);
	if (audit_end(s->gw->audit) != 0) {
		record_close(s->rec);
		s->rec = NULL;
		refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	LOG("session %lu: %s attached to %s (%s)", s->id, s->peer.user, name,
	    s->readonly ? "read-only" : "interactive");
	/* The banner goes to stderr, ahead of the scrollback on stdout. */
	char banner[300];
	if (s->readonly)
		snprintf(banner, sizeof(banner),
			 "read-only: you may watch %s%s", name, nl(s));
	else
		snprintf(banner, sizeof(banner),
			 "[vmgate: attached to %s; Ctrl-] ? for help]%s", name,
			 nl(s));
	/* Attached before the banner is written: libssh may read and hand us
	 * the client's first keystrokes from inside that write, and they go
	 * to the hub. The scrollback waits in our queue until the pump. */
	s->hc = hub_attach(supervisor_hub(v), s->peer.user, s->readonly,
			   &console_ops, s);
	s->attached = true;
	/* What is queued now is the scrollback: the recording keeps only
	 * the end of it. */
	if (s->hc != NULL)
		record_replay(s->rec, outq_pending(&s->hc->q));
	/* With a pty it is part of the terminal's stream, in order; without
	 * one, stdout carries nothing but the console. */
	if (s->pty)
		ssh_channel_write(s->ch, banner, (uint32_t)strlen(banner));
	else
		ssh_channel_write_stderr(s->ch, banner,
					 (uint32_t)strlen(banner));
	if (s->hc == NULL || s->closing || s->finished)
		return; /* detached or gone while the banner was written */
	console_pump(s);
	hc_input_ready(s); /* what the client typed before we attached */
}

/* Starting -------------------------------------------------------------- */

static void
start(struct session *s, const char *cmdline, size_t len)
{
	struct command c;
	struct vmproc *v = NULL;
	char err[128], esc[300];

	s->started = true;
	s->kind = &kind_command;
	s->out_then_exit = true;
	log_esc(esc, sizeof(esc), cmdline ? cmdline : "", cmdline ? len : 0);
	LOG("session %lu: %s@%s runs '%s'%s", s->id, s->peer.user, s->peer.addr,
	    esc, s->pty ? " with a pty" : "");
	if (command_parse(cmdline ? cmdline : "", cmdline ? len : 0, &c, err,
			  sizeof(err)) != 0) {
		refuse(s, "%s", err);
		return;
	}
	if (c.kind != COMMAND_LIST && c.kind != COMMAND_HELP &&
	    c.kind != COMMAND_RELOAD) {
		v = visible_vm(s, c.vm);
		if (v == NULL) {
			struct policy_reason why;
			unsigned r = policy_rights(s->gw->policy, s->peer.user,
						   c.vm, &why);
			audit_decision(s, c.vm, POLICY_CONSOLE_READ, r, &why,
				       "lookup");
			refuse(s, "no such VM: %s", c.vm);
			return;
		}
	}
	switch (c.kind) {
	case COMMAND_LIST:
		do_list(s);
		break;
	case COMMAND_HELP:
		out_printf(s, "%s", command_usage());
		break;
	case COMMAND_RELOAD:
		do_reload(s);
		break;
	case COMMAND_STATUS:
		do_status(s, v);
		break;
	case COMMAND_WHO:
		do_who(s, v);
		break;
	case COMMAND_POWER:
		do_power(s, v, c.power);
		break;
	case COMMAND_ATTACH:
		do_attach(s, v);
		return;
	}
	if (!s->closing)
		cmd_pump(s);
}

/* libssh callbacks ---------------------------------------------------- */

static int
on_data(ssh_session ss, ssh_channel ch, void *data, uint32_t len, int is_stderr,
	void *userdata)
{
	struct session *s = userdata;
	size_t used;

	(void)ss;
	(void)ch;
	/* Extended data from a client: nothing reads it. */
	if (is_stderr)
		return (int)len;
	if (len > CHANNEL_HOLD_MAX && !s->violated) {
		char why[200];
		s->violated = true;
		snprintf(why, sizeof(why),
			 "session %lu: the client sent past the channel window "
			 "(%u bytes unread, no window is over %u)",
			 s->id, len, CHANNEL_HOLD_MAX);
		s->peer.abort(s->peer.arg, why);
	}
	if (s->violated || s->finished || s->closing) {
		s->ssh_pending = 0;
		return (int)len; /* nobody to give it to: discard */
	}
	if (!s->started) {
		/* Data can come in the same read as the exec request, which
		 * waits in libssh's message queue: leave it with libssh until
		 * we know what the session is. */
		s->ssh_pending = len;
		return 0;
	}
	used = s->kind->data(s, data, len);
	s->ssh_pending = len - used;
	return (int)used;
}

static void
on_close(ssh_session ss, ssh_channel ch, void *userdata)
{
	struct session *s = userdata;

	(void)ss;
	(void)ch;
	s->peer_closed = true;
	session_kill(s, 0, "client closed", NULL);
	if (s->finished)
		s->peer.done(s->peer.arg); /* it waited for this to be freed */
}

static int
on_wontblock(ssh_session ss, ssh_channel ch, uint32_t bytes, void *userdata)
{
	(void)ss;
	(void)ch;
	(void)bytes;
	session_pump(userdata);
	return 0;
}

struct session *
session_new(struct gwctx *gw, const struct session_peer *peer, ssh_session ss,
	    ssh_channel ch, unsigned long id)
{
	struct session *s = xcalloc(1, sizeof(*s));

	s->gw = gw;
	s->peer = *peer;
	s->ss = ss;
	s->ch = ch;
	s->id = id;
	s->kind = &kind_command;
	s->width = 80;
	s->height = 24;
	json_init(&s->out);
	s->close_ev = event_new(gw->base, -1, 0, on_close_ev, s);
	s->cb.size = sizeof(s->cb);
	ssh_callbacks_init(&s->cb);
	s->cb.userdata = s;
	s->cb.channel_data_function = on_data;
	s->cb.channel_close_function = on_close;
	s->cb.channel_write_wontblock_function = on_wontblock;
	ssh_set_channel_callbacks(ch, &s->cb);
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->kind && s->kind->end)
		s->kind->end(s);
	supervisor_cancel(s->gw->sup, s);
	event_free(s->close_ev);
	if (s->ch) {
		ssh_remove_channel_callbacks(s->ch, &s->cb);
		ssh_channel_free(s->ch);
	}
	json_free(&s->out);
	free(s->held);
	free(s->end_msg);
	free(s->rec_path);
	free(s);
}

ssh_channel
session_channel(const struct session *s)
{
	return s->ch;
}

void
session_request(struct session *s, ssh_message msg)
{
	int sub = ssh_message_subtype(msg);

	switch (sub) {
	case SSH_CHANNEL_REQUEST_PTY:
		if (s->started)
			goto deny;
		s->pty = true;
		snprintf(s->term, sizeof(s->term), "%s",
			 ssh_message_channel_request_pty_term(msg)
			     ? ssh_message_channel_request_pty_term(msg)
			     : "");
		for (char *p = s->term; *p; p++)
			if (*p < 0x21 || *p > 0x7e)
				*p = '?';
		if (ssh_message_channel_request_pty_width(msg) > 0)
			s->width =
			    (unsigned)ssh_message_channel_request_pty_width(
				msg);
		if (ssh_message_channel_request_pty_height(msg) > 0)
			s->height =
			    (unsigned)ssh_message_channel_request_pty_height(
				msg);
		ssh_message_channel_request_reply_success(msg);
		break;
	case SSH_CHANNEL_REQUEST_WINDOW_CHANGE:
		if (ssh_message_channel_request_pty_width(msg) > 0)
			s->width =
			    (unsigned)ssh_message_channel_request_pty_width(
				msg);
		if (ssh_message_channel_request_pty_height(msg) > 0)
			s->height =
			    (unsigned)ssh_message_channel_request_pty_height(
				msg);
		ssh_message_channel_request_reply_success(msg);
		break;
	case SSH_CHANNEL_REQUEST_SHELL:
	case SSH_CHANNEL_REQUEST_EXEC: {
		if (s->started)
			goto deny;
		const char *c = sub == SSH_CHANNEL_REQUEST_EXEC
				    ? ssh_message_channel_request_command(msg)
				    : NULL;
		char *cmd = c ? xstrdup(c) : NULL;
		ssh_message_channel_request_reply_success(msg);
		ssh_message_free(msg);
		start(s, cmd, cmd ? strlen(cmd) : 0);
		free(cmd);
		return;
	}
	default:
		goto deny;
	}
	ssh_message_free(msg);
	return;
deny:
	ssh_message_reply_default(msg);
	ssh_message_free(msg);
}

void
session_pump(struct session *s)
{
	if (s->started && !s->finished && s->kind->pump)
		s->kind->pump(s);
}

bool
session_finished(const struct session *s)
{
	/* Until the client closes its side too, its channel stays open in
	 * libssh, which would take its data with nobody to discard it. */
	return s->finished && s->peer_closed;
}

void
session_recheck(struct session *s)
{
	if (s->started && !s->finished && s->kind->recheck)
		s->kind->recheck(s);
}

void
session_end(struct session *s, const char *reason, const char *msg)
{
	session_kill(s, 1, reason, "%s", msg);
}
