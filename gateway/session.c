#include "session.h"

#include <errno.h>
#include <event2/event.h>
#include <libssh/callbacks.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "gwctx.h"
#include "policy.h"
#include "session_impl.h"
#include "supervisor.h"
#include "xmalloc.h"

/*
 * libssh 0.10 marks the ssh_message accessors deprecated in favour of the
 * server callbacks, but only the message API lets a reply wait (password
 * hashing on the worker pool, delayed failure replies), so we use it.
 */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

const char *
session_nl(const struct session *s)
{
	return s->pty ? "\r\n" : "\n";
}

bool
session_may_write(ssh_session ss)
{
	struct pollfd p = {.fd = ssh_get_fd(ss), .events = POLLOUT};

	if (p.fd < 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return false;
	ssh_set_fd_towrite(ss);
	return true;
}

bool
session_can_write(struct session *s)
{
	if (!(ssh_get_poll_flags(s->ss) & SSH_WRITE_PENDING))
		return true;
	return session_may_write(s->ss);
}

void
session_kick(struct session *s)
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
	if (s->kind && s->kind->close)
		s->kind->close(s);
	bool stream = s->kind && s->kind->stream;
	if (s->end_msg && !stream) {
		ssh_channel_write_stderr(s->ch, s->end_msg,
					 (uint32_t)strlen(s->end_msg));
	}
	if (ssh_channel_is_open(s->ch)) {
		if (!stream)
			ssh_channel_request_send_exit_status(s->ch,
							     s->exit_status);
		ssh_channel_send_eof(s->ch);
		ssh_channel_close(s->ch);
	}
	session_kick(s);
	s->peer.done(s->peer.arg);
}

static void
on_close_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish_channel(arg);
}

int
session_audit_decision(struct session *s, const char *vm, unsigned right,
		       unsigned rights, const struct policy_reason *why,
		       const char *action)
{
	return audit_decision(s->gw->audit, s->peer.user, vm, right, rights,
			      why, action, s->peer.addr, s->id);
}

void
session_open(struct session *s, const struct session_kind *k)
{
	s->kind = k;
	if (k->open)
		k->open(s);
}

void
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
		s->end_msg =
		    xasprintf("%s%s%s", s->pty && s->attached ? "\r\n" : "",
			      line, session_nl(s));
	}
	event_active(s->close_ev, EV_TIMEOUT, 0);
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
	used = s->kind->input(s, data, len);
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

static void
on_eof(ssh_session ss, ssh_channel ch, void *userdata)
{
	struct session *s = userdata;

	(void)ss;
	(void)ch;
	if (s->started && !s->finished && s->kind->eof)
		s->kind->eof(s);
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
	s->kind = &session_cmd_kind;
	s->width = 80;
	s->height = 24;
	s->tfd = -1;
	json_init(&s->out);
	s->close_ev = event_new(gw->base, -1, 0, on_close_ev, s);
	s->cb.size = sizeof(s->cb);
	ssh_callbacks_init(&s->cb);
	s->cb.userdata = s;
	s->cb.channel_data_function = on_data;
	s->cb.channel_close_function = on_close;
	s->cb.channel_eof_function = on_eof;
	s->cb.channel_write_wontblock_function = on_wontblock;
	ssh_set_channel_callbacks(ch, &s->cb);
	return s;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	if (s->kind && s->kind->close)
		s->kind->close(s);
	supervisor_cancel(s->gw->sup, s);
	event_free(s->close_ev);
	if (s->ch) {
		ssh_remove_channel_callbacks(s->ch, &s->cb);
		ssh_channel_free(s->ch);
	}
	json_free(&s->out);
	free(s->held);
	free(s->end_msg);
	free(s->refusal);
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
		if (s->started && !s->finished && s->kind->window_change)
			s->kind->window_change(s);
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
		session_cmd_start(s, cmd, cmd ? strlen(cmd) : 0);
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

bool
session_hold_pending(struct session *s)
{
	size_t want = s->ssh_pending;

	if (want == 0 || s->held != NULL)
		return false;
	s->held = xmalloc(want);
	int k = ssh_channel_read_nonblocking(s->ch, s->held, (uint32_t)want, 0);
	if (k <= 0) {
		free(s->held);
		s->held = NULL;
		s->ssh_pending = 0;
		return false;
	}
	s->ssh_pending -= (size_t)k < want ? (size_t)k : want;
	s->heldlen = (size_t)k;
	s->heldoff = 0;
	return true;
}

void
session_pump(struct session *s)
{
	if (s->started && !s->finished && s->kind->output_ready)
		s->kind->output_ready(s);
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
	const struct session_kind *k = s->kind;
	struct policy_reason why;
	const char *name;
	unsigned r;

	if (!s->started || s->finished || s->closing || k->right_view == 0 ||
	    !s->attached)
		return;
	name = supervisor_name(s->vm);
	r = policy_rights(s->gw->policy, s->peer.user, name, &why);
	if (!(r & k->right_view)) {
		session_audit_decision(s, name, k->right_view, r, &why,
				       "recheck");
		session_kill(s, 1, "revoked",
			     "[vmgate: your access to %s was revoked]", name);
		return;
	}
	if (k->right_input != 0 && !s->readonly && !(r & k->right_input)) {
		session_audit_decision(s, name, k->right_input, r, &why,
				       "recheck");
		s->readonly = true;
		if (k->readonly)
			k->readonly(s);
	}
}

void
session_end(struct session *s, const char *reason, const char *msg)
{
	session_kill(s, 1, reason, "%s", msg);
}
