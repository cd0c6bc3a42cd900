/* The control channel to a VM's monitor: sending, receiving, closing. */
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "hub.h"
#include "log.h"
#include "supervisor.h"
#include "supervisor_impl.h"
#include "xmalloc.h"

/* Sending ---------------------------------------------------------------- */

static void
outbox_flush(struct vmproc *v)
{
	while (v->outbox != NULL) {
		struct outpkt *o = v->outbox;
		int r = ctl_send(v->fd, o->data, o->len, o->fd);
		if (r == CTL_E_AGAIN) {
			event_add(v->wev, NULL);
			return;
		}
		v->outbox = o->next;
		if (v->outbox == NULL)
			v->outbox_tail = &v->outbox;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
		if (r != 0) {
			supervisor_chan_down(v, ctl_strerror(r), true);
			return;
		}
	}
	event_del(v->wev);
	if (v->run == RUN_UP && v->in_credit.avail > 0)
		hub_credit(v->hub);
}

void
supervisor_chan_send_fd(struct vmproc *v, const uint8_t *pkt, size_t len,
			int fd)
{
	if (v->fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (v->outbox == NULL) {
		int r = ctl_send(v->fd, pkt, len, fd);
		if (r == 0 || r != CTL_E_AGAIN) {
			if (fd >= 0)
				close(fd);
			if (r != 0)
				supervisor_chan_down(v, ctl_strerror(r), true);
			return;
		}
	}
	struct outpkt *o = xmalloc(sizeof(*o) + len);
	o->next = NULL;
	o->fd = fd;
	o->len = len;
	memcpy(o->data, pkt, len);
	*v->outbox_tail = o;
	v->outbox_tail = &o->next;
	event_add(v->wev, NULL);
}

/* Sends a packet in order after anything already queued. */
void
supervisor_chan_send(struct vmproc *v, const uint8_t *pkt, size_t len)
{
	supervisor_chan_send_fd(v, pkt, len, -1);
}

static void
grant_output(struct vmproc *v)
{
	size_t len;

	if (v->out_granted > OUT_REGRANT)
		return;
	uint32_t more = OUT_CREDIT - v->out_granted;
	if (ctl_encode_console_credit(v->sup->pkt, sizeof(v->sup->pkt), &len, 0,
				      more) != 0)
		return;
	v->out_granted += more;
	supervisor_chan_send(v, v->sup->pkt, len);
}

/* The hub's writer path into the guest. */
size_t
supervisor_chan_input(void *arg, const uint8_t *p, size_t n)
{
	struct vmproc *v = arg;
	uint8_t pkt[CTL_HDR_LEN + 4096];
	size_t len;

	if (v->run != RUN_UP || v->outbox != NULL)
		return 0;
	if (n > v->in_credit.avail)
		n = v->in_credit.avail;
	if (n > sizeof(pkt) - CTL_HDR_LEN)
		n = sizeof(pkt) - CTL_HDR_LEN;
	if (n == 0)
		return 0;
	if (ctl_encode_console_in(pkt, sizeof(pkt), &len, 0, p, n) != 0)
		return 0;
	int r = ctl_send(v->fd, pkt, len, -1);
	if (r == CTL_E_AGAIN) {
		event_add(v->wev, NULL); /* hub_credit() once writable */
		return 0;
	}
	if (r != 0) {
		supervisor_chan_down(v, ctl_strerror(r), true);
		return 0;
	}
	ctl_credit_use(&v->in_credit, n);
	return n;
}

/* Receiving -------------------------------------------------------------- */

typedef int (*handler_fn)(struct vmproc *v, const struct ctl_msg *m);

static int
on_hello(struct vmproc *v, const struct ctl_msg *m)
{
	if (v->run != RUN_STARTING)
		return -1; /* second HELLO */
	if (m->u.hello.role != CTL_ROLE_VMM ||
	    m->u.hello.name.len != strlen(v->cfg->name) ||
	    memcmp(m->u.hello.name.ptr, v->cfg->name, m->u.hello.name.len) != 0)
		return -1;
	v->run = RUN_UP;
	v->vm_state = VMSTATE_RUNNING;
	v->detail[0] = '\0';
	LOG("vm %s: monitor %d up", v->cfg->name, (int)v->pid);
	grant_output(v);
	return 0;
}

static int
on_error(struct vmproc *v, const struct ctl_msg *m)
{
	char text[CTL_TEXT_MAX * 4 + 8], msg[CTL_TEXT_MAX * 4 + 64];

	log_esc(text, sizeof(text), m->u.error.text.ptr, m->u.error.text.len);
	LOG("vm %s: monitor error %s: %s", v->cfg->name,
	    ctl_errcode_name(m->u.error.code), text);
	switch (m->u.error.code) {
	case CTL_ERR_INVALID_STATE:
	case CTL_ERR_UNSUPPORTED:
	case CTL_ERR_INTERNAL:
		snprintf(msg, sizeof(msg), "%s: refused by the monitor (%s)",
			 v->cfg->name, text);
		supervisor_power_answer(v, m->seq ? m->seq : UINT32_MAX, false,
					msg);
		return 0;
	default:
		return -1; /* fatal codes: the VMM closes now */
	}
}

static int
on_console_out(struct vmproc *v, const struct ctl_msg *m)
{
	size_t n = m->u.console_out.len;

	if (n > v->out_granted)
		return -1; /* beyond the credit we gave */
	v->out_granted -= (uint32_t)n;
	v->bytes_out += n;
	hub_output(v->hub, m->u.console_out.ptr, n);
	grant_output(v);
	return 0;
}

static int
on_credit(struct vmproc *v, const struct ctl_msg *m)
{
	if (ctl_credit_grant(&v->in_credit, m->u.credit.bytes) != 0)
		return -1;
	if (v->outbox == NULL)
		hub_credit(v->hub);
	return 0;
}

static int
on_lost(struct vmproc *v, const struct ctl_msg *m)
{
	hub_lost(v->hub, m->u.lost.bytes);
	return 0;
}

/* The monitor has a display of this size. */
static int
on_display_info(struct vmproc *v, const struct ctl_msg *m)
{
	v->display_w = m->u.display_info.width;
	v->display_h = m->u.display_info.height;
	return 0;
}

static int
on_screenshot_done(struct vmproc *v, const struct ctl_msg *m)
{
	return supervisor_screenshot_done(v, m->seq,
					  m->u.screenshot_done.bytes);
}

static int
on_state(struct vmproc *v, const struct ctl_msg *m)
{
	char det[CTL_TEXT_MAX * 4 + 8], msg[sizeof(v->detail) + 64];
	enum vmstate st = m->u.state.state;

	log_esc(det, sizeof(det), m->u.state.detail.ptr, m->u.state.detail.len);
	if (m->u.state.cpu != CTL_CPU_NONE)
		snprintf(
		    v->detail, sizeof(v->detail), "%s%s%s, cpu %u rip 0x%llx",
		    vmstate_reason_name(m->u.state.reason), *det ? ": " : "",
		    det, m->u.state.cpu, (unsigned long long)m->u.state.rip);
	else if (m->u.state.reason != VMSTATE_REASON_NONE)
		snprintf(v->detail, sizeof(v->detail), "%s%s%s",
			 vmstate_reason_name(m->u.state.reason),
			 *det ? ": " : "", det);
	else
		snprintf(v->detail, sizeof(v->detail), "%s", det);
	bool changed = v->vm_state != st;
	v->vm_state = st;
	LOG("vm %s: %s%s%s", v->cfg->name, vmstate_name(st),
	    *v->detail ? " - " : "", v->detail);
	if (changed || st != VMSTATE_RUNNING) {
		supervisor_audit_vm(v, vmstate_name(st), v->detail);
		if (st != VMSTATE_RUNNING || changed)
			hub_notice(v->hub, "%s is %s%s%s", v->cfg->name,
				   vmstate_name(st), *v->detail ? ": " : "",
				   v->detail);
	}
	if (st == VMSTATE_STOPPED &&
	    m->u.state.reason != VMSTATE_REASON_HOST_REQUEST)
		v->want_run = false; /* the guest powered itself off */
	/* A stop is answered once the monitor is reaped (vm_exited): until
	 * then the VM lists as "stopping", and "web1 is stopped" followed by
	 * a `list` saying otherwise (seen with the monitors niced, under
	 * load) is a lie to whoever scripts it. */
	if (m->seq != 0 && st != VMSTATE_STOPPED) {
		snprintf(msg, sizeof(msg), "%s is %s", v->cfg->name,
			 vmstate_name(st));
		supervisor_power_answer(v, m->seq, st != VMSTATE_CRASHED, msg);
	}
	return 0;
}

/* The table of what a VMM may send us (STYLE.md: access control as data). */
static const struct {
	uint16_t type;
	handler_fn fn;
} handlers[] = {
    {CTL_T_HELLO, on_hello},
    {CTL_T_ERROR, on_error},
    {CTL_T_CONSOLE_OUT, on_console_out},
    {CTL_T_CONSOLE_CREDIT, on_credit},
    {CTL_T_CONSOLE_LOST, on_lost},
    {CTL_T_STATE, on_state},
    {CTL_T_DISPLAY_INFO, on_display_info},
    {CTL_T_SCREENSHOT_DONE, on_screenshot_done},
};

static handler_fn
handler_for(uint16_t type)
{
	if (!ctl_allowed(CTL_ROLE_VMM, type))
		return NULL;
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == type)
			return handlers[i].fn;
	return NULL;
}

static void
vm_fail(struct vmproc *v, enum ctl_errcode code, const char *why)
{
	size_t len;

	if (code != 0 && ctl_encode_error(v->sup->pkt, sizeof(v->sup->pkt),
					  &len, 0, code, why) == 0)
		ctl_send(v->fd, v->sup->pkt, len, -1);
	supervisor_chan_down(v, why, true);
}

void
supervisor_chan_readable(evutil_socket_t fd, short what, void *arg)
{
	struct vmproc *v = arg;
	struct supervisor *s = v->sup;
	struct ctl_msg m;
	size_t len;

	(void)what;
	/* Bounded per wakeup so one chatty VMM cannot starve the loop. */
	for (int i = 0; i < 64 && v->fd == fd; i++) {
		int r = ctl_recv(fd, s->pkt, sizeof(s->pkt), &len, NULL);
		if (r == CTL_E_AGAIN)
			return;
		if (r == CTL_E_EOF) {
			supervisor_chan_down(v, "monitor closed the channel",
					     false);
			return;
		}
		if (r == 0)
			r = ctl_decode(s->pkt, len, &m);
		if (r != 0) {
			char why[128];
			snprintf(why, sizeof(why), "protocol error: %s",
				 ctl_strerror(r));
			vm_fail(v,
				r == CTL_E_VERSION ? CTL_ERR_VERSION
						   : CTL_ERR_PROTOCOL,
				why);
			return;
		}
		handler_fn fn = handler_for(m.type);
		if (fn == NULL) {
			vm_fail(v, CTL_ERR_NOT_PERMITTED,
				"message type not permitted");
			return;
		}
		if ((v->run == RUN_STARTING) != (m.type == CTL_T_HELLO)) {
			vm_fail(v, CTL_ERR_PROTOCOL,
				v->run == RUN_STARTING ? "expected HELLO"
						       : "second HELLO");
			return;
		}
		if (fn(v, &m) != 0) {
			char why[128];
			snprintf(why, sizeof(why), "protocol error in %s",
				 ctl_type_name(m.type));
			vm_fail(v, CTL_ERR_PROTOCOL, why);
			return;
		}
	}
}

void
supervisor_chan_writable(evutil_socket_t fd, short what, void *arg)
{
	struct vmproc *v = arg;

	(void)fd;
	(void)what;
	outbox_flush(v);
}

/* Lifecycle -------------------------------------------------------------- */

void
supervisor_chan_close(struct vmproc *v)
{
	if (v->fd < 0)
		return;
	event_free(v->rev);
	event_free(v->wev);
	v->rev = v->wev = NULL;
	close(v->fd);
	v->fd = -1;
	while (v->outbox) {
		struct outpkt *o = v->outbox;
		v->outbox = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	v->outbox_tail = &v->outbox;
	v->in_credit.avail = 0;
	v->out_granted = 0;
}

/* The channel is gone; the exit status is reaped on SIGCHLD. */
void
supervisor_chan_down(struct vmproc *v, const char *why, bool kill_it)
{
	if (v->fd < 0)
		return;
	LOG("vm %s: control channel down: %s%s", v->cfg->name, why,
	    kill_it ? "; killing the monitor" : "");
	supervisor_chan_close(v);
	if (kill_it && v->pid > 0)
		kill(v->pid, SIGKILL);
	if (v->pid > 0)
		v->run = RUN_CLOSING;
	snprintf(v->detail, sizeof(v->detail), "%s", why);
}
