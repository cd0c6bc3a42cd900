/* The console session kind: a VM's serial console through its hub. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "escape.h"
#include "gwctx.h"
#include "hub.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "record.h"
#include "session_impl.h"
#include "supervisor.h"
#include "xmalloc.h"

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
	while (s->inlen == 0 && s->held == NULL && !s->closing &&
	       !s->finished && session_hold_pending(s))
		take_held(s);
	s->in_input = false;
	session_kick(s);
}

static const struct hub_client_ops console_ops = {
    .output = hc_output,
    .input_ready = hc_input_ready,
};

/* supervisor_power()'s answer to an escape's reset. */
static void
console_power_done(void *arg, bool ok, const char *msg)
{
	struct session *s = arg;

	(void)msg;
	s->power_pending = false;
	if (!ok)
		hub_client_say(s->hc, "\r\n[vmgate: reset failed]\r\n");
}

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
	for (const struct supervisor_viewer *w = supervisor_viewers(s->vm);
	     w && o < sizeof(line); w = w->next)
		o += (size_t)snprintf(line + o, sizeof(line) - o, " %s(vnc-%s)",
				      w->user, w->control ? "rw" : "ro");
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
		if (session_audit_decision(s, name, POLICY_POWER, r, &why,
					   "reset") != 0) {
			say(s, "%s", AUDIT_REFUSED);
			break;
		}
		if (!(r & POLICY_POWER)) {
			say(s, "not allowed: power %s", name);
			break;
		}
		if (s->power_pending)
			break;
		if (audit_power(s->gw->audit, s->peer.user, name, "reset") !=
		    0) {
			say(s, "%s", AUDIT_REFUSED);
			break;
		}
		switch (supervisor_power(s->vm, SUPERVISOR_RESET,
					 console_power_done, s, &msg)) {
		case SUPERVISOR_POWER_PENDING:
			s->power_pending = true;
			say(s, "resetting %s", name);
			break;
		case SUPERVISOR_POWER_DONE:
			say(s, "%s is %s", name, supervisor_state(s->vm));
			break;
		case SUPERVISOR_POWER_REFUSED:
			say(s, "%s %s", name, msg);
			break;
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
		if (win == 0 || !session_can_write(s))
			break;
		if (n > win)
			n = win;
		if (n > WRITE_CHUNK)
			n = WRITE_CHUNK;
		s->peer.batch(s->peer.arg);
		int w = ssh_channel_write(s->ch, p, (uint32_t)n);
		if (w <= 0)
			break;
		record_output(s->rec, p, (size_t)w);
		outq_consume(&s->hc->q, (size_t)w);
		s->bytes_out += (uint64_t)w;
	}
	session_kick(s);
	if (outq_overlimit(&s->hc->q, clock_ms(), OVERFLOW_LIMIT_MS,
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
	audit_session_end(s->gw->audit, s->id, s->peer.user,
			  supervisor_name(s->vm), s->bytes_in, s->bytes_out,
			  s->end_reason ? s->end_reason : "closed",
			  s->peer.addr);
	LOG("session %lu: %s detached from %s (%s; in %llu, out %llu bytes)",
	    s->id, s->peer.user, supervisor_name(s->vm),
	    s->end_reason ? s->end_reason : "closed",
	    (unsigned long long)s->bytes_in, (unsigned long long)s->bytes_out);
}

/* A policy change took console:write away. */
static void
console_readonly(struct session *s)
{
	hub_set_readonly(s->hc, true);
	s->inlen = s->inoff = 0;
	say(s, "your rights changed: read-only: you may watch %s",
	    supervisor_name(s->vm));
}

static void console_open(struct session *s);

const struct session_kind session_console_kind = {
    .name = "console",
    .right_view = POLICY_CONSOLE_READ,
    .right_input = POLICY_CONSOLE_WRITE,
    .open = console_open,
    .input = console_data,
    .output_ready = console_pump,
    .readonly = console_readonly,
    .close = console_end,
};

static void
audit_rotated(void *arg, const char *path, uint64_t size)
{
	struct session *s = arg;

	audit_recording_rotated(s->gw->audit, s->id, path, size);
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

void
session_console_attach(struct session *s, struct vmproc *v,
		       const struct command *c, unsigned r,
		       const struct policy_reason *why)
{
	const struct session_kind *k = &session_console_kind;
	const char *name = supervisor_name(v);
	enum vmstate st = supervisor_vmstate(v);

	/* The table's right (right_view) is checked: this is the other. */
	(void)c;
	if (session_audit_decision(s, name, k->right_input, r, why, "attach") !=
	    0) {
		session_cmd_refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	if (st == VMSTATE_STOPPED || st == VMSTATE_CRASHED) {
		session_cmd_refuse(s, "%s is %s", name, vmstate_name(st));
		return;
	}
	s->vm = v;
	s->readonly = !(r & k->right_input);
	session_open(s, k);
}

static void
console_open(struct session *s)
{
	struct vmproc *v = s->vm;
	const char *name = supervisor_name(v);

	start_recording(s, name);
	if (audit_session_start(s->gw->audit, s->id, s->peer.user, name,
				s->readonly ? "read-only" : "interactive",
				s->peer.addr, s->pty, s->rec_path) != 0) {
		record_close(s->rec);
		s->rec = NULL;
		session_cmd_refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	LOG("session %lu: %s attached to %s (%s)", s->id, s->peer.user, name,
	    s->readonly ? "read-only" : "interactive");
	/* The banner goes to stderr, ahead of the scrollback on stdout. */
	char banner[300];
	if (s->readonly)
		snprintf(banner, sizeof(banner),
			 "read-only: you may watch %s%s", name, session_nl(s));
	else
		snprintf(banner, sizeof(banner),
			 "[vmgate: attached to %s; Ctrl-] ? for help]%s", name,
			 session_nl(s));
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
