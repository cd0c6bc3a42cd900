/* The command session kind: list, status, who, power, reload, help. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "clock.h"
#include "command.h"
#include "config.h"
#include "gwctx.h"
#include "hub.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "session_impl.h"
#include "supervisor.h"
#include "ticket.h"
#include "xmalloc.h"

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
		if (win == 0 || !session_can_write(s))
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
	session_kick(s);
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

const struct session_kind session_cmd_kind = {
    .name = "command",
    .input = cmd_data,
    .output_ready = cmd_pump,
};

void
session_cmd_refuse(struct session *s, const char *fmt, ...)
{
	va_list ap;
	char line[400];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->kind = &session_cmd_kind;
	s->out_then_exit = true;
	session_kill(s, 1, "refused", "vmgate: %s", line);
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

void
session_cmd_list(struct session *s, struct vmproc *vm, const struct command *c,
		 unsigned rights_on_vm, const struct policy_reason *why)
{
	struct supervisor *sup = s->gw->sup;
	size_t n = supervisor_count(sup), shown = 0;
	char rights[128];

	(void)vm;
	(void)c;
	(void)rights_on_vm;
	(void)why;
	for (size_t i = 0; i < n; i++) {
		struct vmproc *v = supervisor_vm(sup, i);
		const char *name = supervisor_name(v);
		unsigned r =
		    policy_rights(s->gw->policy, s->peer.user, name, NULL);
		if (r == 0)
			continue;
		if (shown++ == 0)
			out_printf(s, "%-20s %-11s %s%s", "VM", "STATE",
				   "ACCESS", session_nl(s));
		rights_str(r, rights, sizeof(rights));
		out_printf(s, "%-20s %-11s %s%s", name, supervisor_state(v),
			   rights, session_nl(s));
	}
	if (shown == 0)
		out_printf(s, "no VMs for you%s", session_nl(s));
}

void
session_cmd_help(struct session *s, struct vmproc *v, const struct command *c,
		 unsigned rights, const struct policy_reason *why)
{
	(void)v;
	(void)c;
	(void)rights;
	(void)why;
	out_printf(s, "%s", command_usage());
}

/* A right without a VM: that right on every VM the gateway runs. */
static bool
right_everywhere(struct session *s, unsigned right)
{
	struct supervisor *sup = s->gw->sup;
	size_t n = supervisor_count(sup);

	for (size_t i = 0; i < n; i++) {
		const char *name = supervisor_name(supervisor_vm(sup, i));
		if (!(policy_rights(s->gw->policy, s->peer.user, name, NULL) &
		      right))
			return false;
	}
	return n > 0;
}

void
session_cmd_reload(struct session *s, struct vmproc *v, const struct command *c,
		   unsigned rights, const struct policy_reason *why)
{
	char err[400];

	(void)v;
	(void)c;
	(void)rights;
	(void)why;
	if (audit_failing(s->gw->audit)) {
		session_cmd_refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	LOG("session %lu: %s asks for a policy reload", s->id, s->peer.user);
	if (s->gw->reload(s->gw, err, sizeof(err)) != 0) {
		session_cmd_refuse(s, "reload failed, the old policy stays: %s",
				   err);
		return;
	}
	out_printf(s, "policy reloaded%s", session_nl(s));
}

void
session_cmd_who(struct session *s, struct vmproc *v, const struct command *cmd,
		unsigned rights, const struct policy_reason *why)
{
	struct hub *h = supervisor_hub(v);
	char when[32];

	(void)cmd;
	(void)rights;
	(void)why;
	if (hub_nclients(h) == 0 && supervisor_viewers(v) == NULL) {
		out_printf(s, "nobody is attached to %s%s", supervisor_name(v),
			   session_nl(s));
		return;
	}
	for (struct hub_client *c = hub_first(h); c; c = hub_next(c)) {
		struct tm tm;
		gmtime_r(&c->since, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		out_printf(s, "%-20s %-11s since %s%s", c->user,
			   c->readonly ? "read-only" : "interactive", when,
			   session_nl(s));
	}
	for (const struct supervisor_viewer *w = supervisor_viewers(v); w;
	     w = w->next) {
		struct tm tm;
		gmtime_r(&w->since, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%SZ", &tm);
		out_printf(s, "%-20s %-11s since %s (VNC, %s)%s", w->user,
			   w->control ? "display" : "view-only", when, w->path,
			   session_nl(s));
	}
}

void
session_cmd_status(struct session *s, struct vmproc *v, const struct command *c,
		   unsigned rights, const struct policy_reason *why)
{
	const char *d = supervisor_detail(v);

	(void)c;
	(void)rights;
	(void)why;
	out_printf(s, "%s: %s%s%s%s", supervisor_name(v), supervisor_state(v),
		   *d ? " (" : "", d, *d ? ")" : "");
	if (supervisor_pid(v) > 0)
		out_printf(s, ", monitor pid %d", supervisor_pid(v));
	out_printf(s, ", %zu attached, %zu VNC viewer%s%s",
		   hub_nclients(supervisor_hub(v)), supervisor_nviewers(v),
		   supervisor_nviewers(v) == 1 ? "" : "s", session_nl(s));
}

/* supervisor_screenshot()'s answer: the PNG goes out on stdout. */
static void
shot_done(void *arg, int fd, size_t bytes, const char *msg)
{
	struct session *s = arg;
	char buf[65536];
	size_t off = 0;

	s->power_pending = false;
	if (fd < 0) {
		session_cmd_refuse(s, "screenshot of %s failed: %s",
				   supervisor_name(s->vm), msg);
		return;
	}
	while (off < bytes) {
		size_t want =
		    bytes - off < sizeof(buf) ? bytes - off : sizeof(buf);
		ssize_t k = pread(fd, buf, want, (off_t)off);
		if (k <= 0) {
			close(fd);
			json_reset(&s->out);
			s->out_off = 0;
			session_cmd_refuse(s, "screenshot of %s: short read",
					   supervisor_name(s->vm));
			return;
		}
		json_raw(&s->out, buf, (size_t)k);
		off += (size_t)k;
	}
	close(fd);
	LOG("session %lu: %s took a screenshot of %s (%zu bytes)", s->id,
	    s->peer.user, supervisor_name(s->vm), bytes);
	s->exit_status = 0;
	cmd_pump(s);
}

void
session_cmd_screenshot(struct session *s, struct vmproc *v,
		       const struct command *c, unsigned rights,
		       const struct policy_reason *why)
{
	const char *no;

	(void)c;
	(void)rights;
	(void)why;
	if (s->pty) {
		session_cmd_refuse(s,
				   "not writing a PNG to a terminal; run "
				   "without -t: ssh ... screenshot %s > %s.png",
				   supervisor_name(v), supervisor_name(v));
		return;
	}
	s->vm = v;
	if (supervisor_screenshot(v, shot_done, s, &no) != 0) {
		session_cmd_refuse(s, "%s %s", supervisor_name(v), no);
		return;
	}
	s->power_pending = true;
}

void
session_cmd_vnc_ticket(struct session *s, struct vmproc *v,
		       const struct command *c, unsigned rights,
		       const struct policy_reason *why)
{
	char pw[TICKET_LEN + 1], err[200];

	(void)c;
	(void)why;
	if (s->gw->tickets == NULL) {
		session_cmd_refuse(s, "VNC tickets are not enabled on this "
				      "gateway (vmgate.yaml: vnc: tickets: "
				      "true)");
		return;
	}
	if (tickets_issue(s->gw->tickets, s->peer.user, supervisor_name(v),
			  clock_ms(), pw, err, sizeof(err)) != 0) {
		session_cmd_refuse(s, "%s", err);
		return;
	}
	LOG("session %lu: %s got a VNC ticket for %s (%s)", s->id, s->peer.user,
	    supervisor_name(v),
	    (rights & POLICY_DISPLAY_CONTROL) ? "control" : "view-only");
	out_printf(s, "%s%s", pw, session_nl(s));
	explicit_bzero(pw, sizeof(pw));
	s->exit_status = 0;
}

void
session_cmd_power_done(void *arg, bool ok, const char *msg)
{
	struct session *s = arg;

	s->power_pending = false;
	audit_power_result(s->gw->audit, s->peer.user, supervisor_name(s->vm),
			   ok, msg);
	if (ok) {
		out_printf(s, "%s%s", msg, session_nl(s));
		s->exit_status = 0;
		cmd_pump(s);
	} else {
		session_cmd_refuse(s, "%s", msg);
	}
}

void
session_cmd_power(struct session *s, struct vmproc *v, const struct command *c,
		  unsigned rights, const struct policy_reason *why)
{
	static const enum supervisor_power map[] = {
	    [COMMAND_POWER_START] = SUPERVISOR_START,
	    [COMMAND_POWER_STOP] = SUPERVISOR_STOP,
	    [COMMAND_POWER_RESET] = SUPERVISOR_RESET,
	};
	const char *action = command_power_name(c->power);
	const char *msg = NULL;

	(void)rights;
	(void)why;
	s->vm = v;
	if (audit_power(s->gw->audit, s->peer.user, supervisor_name(v),
			action) != 0) {
		session_cmd_refuse(s, "%s", AUDIT_REFUSED);
		return;
	}
	LOG("session %lu: %s: power %s %s", s->id, s->peer.user,
	    supervisor_name(v), action);
	switch (supervisor_power(v, map[c->power], session_cmd_power_done, s,
				 &msg)) {
	case SUPERVISOR_POWER_PENDING:
		s->power_pending = true;
		break;
	case SUPERVISOR_POWER_DONE:
		out_printf(s, "%s is %s%s", supervisor_name(v),
			   supervisor_state(v), session_nl(s));
		break;
	case SUPERVISOR_POWER_REFUSED:
		session_cmd_refuse(s, "%s %s", supervisor_name(v), msg);
		break;
	}
}

/* Starting -------------------------------------------------------------- */

/*
 * The right a command's table entry names, checked (and, on a VM, audited
 * as a decision) before its handler runs: 0, or -1 once refused.
 */
static int
check_right(struct session *s, struct vmproc *v, const struct command *c,
	    unsigned rights, const struct policy_reason *why)
{
	const struct command_entry *e = c->entry;
	char denied[200];

	if (e->right == 0)
		return 0;
	if (v != NULL) {
		if (session_audit_decision(s, supervisor_name(v), e->right,
					   rights, why,
					   command_action(c)) != 0) {
			session_cmd_refuse(s, "%s", AUDIT_REFUSED);
			return -1;
		}
		if (rights & e->right)
			return 0;
	} else if (right_everywhere(s, e->right)) {
		return 0;
	}
	command_denied(e, v != NULL ? supervisor_name(v) : "", denied,
		       sizeof(denied));
	session_cmd_refuse(s, "%s", denied);
	return -1;
}

void
session_cmd_start(struct session *s, const char *cmdline, size_t len)
{
	struct command c;
	struct vmproc *v = NULL;
	struct policy_reason why = {0};
	unsigned rights = 0;
	char err[128], esc[300];

	s->started = true;
	s->kind = &session_cmd_kind;
	s->out_then_exit = true;
	log_esc(esc, sizeof(esc), cmdline ? cmdline : "", cmdline ? len : 0);
	LOG("session %lu: %s@%s runs '%s'%s", s->id, s->peer.user, s->peer.addr,
	    esc, s->pty ? " with a pty" : "");
	if (command_parse(cmdline ? cmdline : "", cmdline ? len : 0, &c, err,
			  sizeof(err)) != 0) {
		session_cmd_refuse(s, "%s", err);
		return;
	}
	if (c.entry->args != COMMAND_ARGS_NONE) {
		v = visible_vm(s, c.vm);
		rights = policy_rights(s->gw->policy, s->peer.user, c.vm, &why);
		if (v == NULL) {
			session_audit_decision(s, c.vm, POLICY_CONSOLE_READ,
					       rights, &why, "lookup");
			session_cmd_refuse(s, "no such VM: %s", c.vm);
			return;
		}
	}
	if (check_right(s, v, &c, rights, &why) != 0)
		return;
	c.entry->run(s, v, &c, rights, &why);
	/* A handler that made it another kind (attach) runs it itself. */
	if (s->kind == &session_cmd_kind && !s->closing)
		cmd_pump(s);
}
