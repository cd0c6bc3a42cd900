/* Power requests to a VM's monitor and their answers (supervisor_power). */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"
#include "ctl.h"
#include "supervisor.h"
#include "supervisor_impl.h"
#include "xmalloc.h"

/* Pending power requests ----------------------------------------------- */

static void
pending_finish(struct pending *p, bool ok, const char *msg)
{
	struct supervisor *s = p->v->sup;

	for (struct pending **pp = &s->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	event_free(p->timer);
	if (p->shot != NULL) {
		/* Only SCREENSHOT_DONE makes a screenshot; anything else that
		 * answers it (an ERROR, the monitor's end) is a failure. */
		if (p->done)
			p->shot(p->arg, p->fd, (size_t)p->bytes, NULL);
		else
			p->shot(p->arg, -1, 0, msg);
		if (!p->done)
			close(p->fd);
	} else {
		p->cb(p->arg, ok, msg);
	}
	free(p);
}

static void
pending_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	char msg[128];

	(void)fd;
	(void)what;
	snprintf(msg, sizeof(msg), "%s: no answer from the monitor",
		 p->v->cfg->name);
	pending_finish(p, false, msg);
}

struct pending *
supervisor_pending_add(struct vmproc *v, uint32_t seq, const char *what,
		       supervisor_power_cb cb, void *arg)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	struct timeval tv = {POWER_TIMEOUT, 0};

	p->seq = seq;
	p->cb = cb;
	p->arg = arg;
	p->v = v;
	p->what = what;
	p->timer = evtimer_new(v->sup->base, pending_timeout, p);
	evtimer_add(p->timer, &tv);
	p->fd = -1;
	p->next = v->sup->pending;
	v->sup->pending = p;
	return p;
}

struct pending *
supervisor_pending_find(struct vmproc *v, uint32_t seq)
{
	for (struct pending *p = v->sup->pending; p; p = p->next)
		if (p->v == v && p->seq == seq)
			return p;
	return NULL;
}

/* Answers every request of v with a seq of 0 (all of them) or seq. */
void
supervisor_power_answer(struct vmproc *v, uint32_t seq, bool ok,
			const char *msg)
{
	struct pending *p, *next;

	for (p = v->sup->pending; p; p = next) {
		next = p->next;
		if (p->v == v && (seq == 0 || p->seq == seq))
			pending_finish(p, ok, msg);
	}
}

void
supervisor_cancel(struct supervisor *s, void *arg)
{
	struct pending **pp = &s->pending;

	while (*pp) {
		struct pending *p = *pp;
		if (p->arg == arg) {
			*pp = p->next;
			event_free(p->timer);
			if (p->fd >= 0)
				close(p->fd);
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

static void
immediate_done(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	pending_finish(p, true, p->what);
}

enum supervisor_power_result
supervisor_power(struct vmproc *v, enum supervisor_power what,
		 supervisor_power_cb cb, void *arg, const char **msg)
{
	struct supervisor *s = v->sup;
	size_t len;
	enum ctl_power action;
	const char *name;

	switch (what) {
	case SUPERVISOR_START:
		if (v->run == RUN_UP && v->vm_state == VMSTATE_PAUSED) {
			action = CTL_POWER_RESUME;
			name = "resume";
			break;
		}
		if (v->run == RUN_UP || v->run == RUN_STARTING ||
		    v->run == RUN_CLOSING) {
			*msg = "is already running";
			return SUPERVISOR_POWER_REFUSED;
		}
		v->want_run = true;
		v->backoff = 0;
		evtimer_del(v->restart_ev);
		supervisor_spawn(v);
		if (v->run != RUN_STARTING) {
			*msg = "could not be started";
			return SUPERVISOR_POWER_REFUSED;
		}
		/* Answer on a later loop pass, as promised. */
		supervisor_pending_add(v, 0, "starting", cb, arg);
		struct pending *p = s->pending;
		event_free(p->timer);
		p->timer = evtimer_new(s->base, immediate_done, p);
		struct timeval zero = {0, 0};
		evtimer_add(p->timer, &zero);
		return SUPERVISOR_POWER_PENDING;
	case SUPERVISOR_STOP:
		if (v->run == RUN_RESTARTING || v->run == RUN_CRASHED) {
			v->want_run = false;
			evtimer_del(v->restart_ev);
			v->run = RUN_STOPPED;
			return SUPERVISOR_POWER_DONE; /* nothing to wait for */
		}
		if (v->run != RUN_UP) {
			*msg = "is stopped";
			return SUPERVISOR_POWER_REFUSED;
		}
		v->want_run = false;
		action = CTL_POWER_POWEROFF;
		name = "stop";
		break;
	case SUPERVISOR_RESET:
		if (v->run != RUN_UP) {
			*msg = "is stopped";
			return SUPERVISOR_POWER_REFUSED;
		}
		action = CTL_POWER_RESET;
		name = "reset";
		break;
	default:
		*msg = "unknown action";
		return SUPERVISOR_POWER_REFUSED;
	}
	if (++v->seq == 0)
		v->seq = 1;
	if (ctl_encode_power(s->pkt, sizeof(s->pkt), &len, v->seq, action) !=
	    0) {
		*msg = "internal error";
		return SUPERVISOR_POWER_REFUSED;
	}
	supervisor_pending_add(v, v->seq, name, cb, arg);
	supervisor_chan_send(v, s->pkt, len);
	return SUPERVISOR_POWER_PENDING;
}

int
supervisor_break(struct vmproc *v)
{
	size_t len;

	if (v->run != RUN_UP)
		return -1;
	if (++v->seq == 0)
		v->seq = 1;
	if (ctl_encode_break(v->sup->pkt, sizeof(v->sup->pkt), &len, v->seq) !=
	    0)
		return -1;
	supervisor_chan_send(v, v->sup->pkt, len);
	return 0;
}
