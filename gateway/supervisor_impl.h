/*
 * What the supervisor files share (supervisor.c: the monitor processes'
 * life; supervisor_chan.c: the control channel; supervisor_power.c: power
 * requests and their answers). Not for other modules: they use
 * supervisor.h.
 */
#ifndef VMGATE_SUPERVISOR_IMPL_H
#define VMGATE_SUPERVISOR_IMPL_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ctl.h"
#include "supervisor.h"
#include "vmstate.h"

/* Output credit we keep granted to each VMM, and when to top it up. */
#define OUT_CREDIT (256u * 1024)
#define OUT_REGRANT (OUT_CREDIT / 2)
#define BACKOFF_MIN 1
#define BACKOFF_MAX 30
#define STABLE_SECS 60 /* a monitor that lived this long resets the backoff */
#define POWER_TIMEOUT 60
#define AUDIT_TICK 5 /* s between writes of due audit repeat counts */

enum run {
	RUN_STOPPED,	/* no monitor, none wanted */
	RUN_STARTING,	/* spawned, no HELLO yet */
	RUN_UP,		/* HELLO done; vm_state says more */
	RUN_CLOSING,	/* channel gone, waiting for the exit status */
	RUN_RESTARTING, /* waiting for the backoff timer */
	RUN_CRASHED,	/* died, on_crash: stop */
};

struct pending {
	struct pending *next;
	uint32_t seq;
	supervisor_power_cb cb;
	void *arg;
	struct event *timer;
	struct vmproc *v;
	const char *what; /* "reset", "stop", "resume" */
	/* A screenshot instead (cb NULL): the memfd the monitor writes, the
	 * most it may hold, and SCREENSHOT_DONE's length once it came. */
	supervisor_shot_cb shot;
	int fd;
	uint64_t max, bytes;
	bool done;
};

struct outpkt {
	struct outpkt *next;
	int fd; /* passed with the packet and then closed, or -1 */
	size_t len;
	uint8_t data[];
};

/* Why the VM is in its state: the monitor's text, escaped, and a prefix. */
#define VMPROC_DETAIL_MAX (CTL_TEXT_MAX * 4 + 64)

struct vmproc {
	struct supervisor *sup;
	const struct config_vm *cfg;
	struct hub *hub;
	enum run run;
	enum vmstate vm_state; /* from the monitor's STATE while RUN_UP */
	char detail[VMPROC_DETAIL_MAX];
	char shown[VMPROC_DETAIL_MAX + 48]; /* detail"; next start in N s" */
	time_t restart_at;		    /* RUN_RESTARTING: when */
	bool want_run;			    /* restart it if it dies */
	pid_t pid;
	int fd;
	struct event *rev, *wev, *restart_ev;
	struct event *pace_ev; /* hub_pace() when the hub asks (hub.h) */
	struct outpkt *outbox, **outbox_tail;
	struct ctl_credit in_credit; /* input the VMM lets us send */
	uint32_t out_granted;	     /* output credit outstanding */
	uint32_t seq;
	unsigned backoff;
	time_t started;
	uint64_t bytes_out;
	uint32_t display_w, display_h;	   /* DISPLAY_INFO; 0: no display */
	struct supervisor_viewer *viewers; /* VNC viewers, for `who` */
};

struct supervisor {
	struct event_base *base;
	const struct config *cfg;
	char *vmm_path;
	struct audit *audit;
	struct vmproc *vms;
	size_t nvms;
	struct pending *pending;
	struct event *audit_tick;
	uint8_t pkt[CTL_MAX_MSG];
};

/* supervisor.c */
/* A "vm" audit line (repeats counted). */
void supervisor_audit_vm(struct vmproc *v, const char *state,
			 const char *detail);
/* Starts v's monitor; on failure v is RUN_CRASHED. */
void supervisor_spawn(struct vmproc *v);

/* supervisor_chan.c */
/* Sends a packet in order after anything already queued. */
void supervisor_chan_send(struct vmproc *v, const uint8_t *pkt, size_t len);
/* The same with an fd, which it owns from then on (closed once sent, or
 * when the channel goes down). */
void supervisor_chan_send_fd(struct vmproc *v, const uint8_t *pkt, size_t len,
			     int fd);
/* The hub's writer path into the guest (arg is the vmproc). */
size_t supervisor_chan_input(void *arg, const uint8_t *p, size_t n);
/* libevent callbacks of the channel's socket (arg is the vmproc). */
void supervisor_chan_readable(evutil_socket_t fd, short what, void *arg);
void supervisor_chan_writable(evutil_socket_t fd, short what, void *arg);
/* Closes the socket and drops what was queued. */
void supervisor_chan_close(struct vmproc *v);
/* The channel is gone; the exit status is reaped on SIGCHLD. */
void supervisor_chan_down(struct vmproc *v, const char *why, bool kill_it);

/* supervisor_display.c */
/* SCREENSHOT_DONE for seq; 0 (a late or odd answer is not the channel's
 * error: the request fails). */
int supervisor_screenshot_done(struct vmproc *v, uint32_t seq, uint64_t bytes);

/* supervisor_power.c */
/* A request waiting for its answer (POWER_TIMEOUT at most); cb may be NULL
 * (the caller then sets p->shot). */
struct pending *supervisor_pending_add(struct vmproc *v, uint32_t seq,
				       const char *what, supervisor_power_cb cb,
				       void *arg);
/* The pending request of v with this seq, or NULL. */
struct pending *supervisor_pending_find(struct vmproc *v, uint32_t seq);
/* Answers every request of v with a seq of 0 (all of them) or seq. */
void supervisor_power_answer(struct vmproc *v, uint32_t seq, bool ok,
			     const char *msg);

#endif
