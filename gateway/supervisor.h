/*
 * The VM supervisor (DESIGN.md §2): one vmgate-vmm process per VM, reached
 * over its SOCK_SEQPACKET control channel (protocols/ctl.h), restarted or
 * left stopped when it dies, as the VM's on_crash says.
 *
 * Whatever a VMM does (dies, hangs up, sends garbage, overruns its credit)
 * costs that VM only: a protocol error kills that monitor with SIGKILL and
 * is handled like any other death. The gateway never exits because of it.
 *
 * Guest output goes to the VM's hub (hub.h); the hub's input goes out as
 * CONSOLE_IN within the credit the VMM granted. Power requests are answered
 * through a callback once the VMM has answered (or died).
 */
#ifndef VMGATE_SUPERVISOR_H
#define VMGATE_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "vmstate.h"

struct event_base;
struct config;
struct config_vm;
struct audit;
struct hub;
struct supervisor;
struct vmproc;

enum supervisor_power {
	SUPERVISOR_START,
	SUPERVISOR_STOP,
	SUPERVISOR_RESET,
};

/* ok: the request was carried out; msg: one line for the user. */
typedef void (*supervisor_power_cb)(void *arg, bool ok, const char *msg);

/* cfg must outlive the supervisor; vmm_path is copied. */
struct supervisor *supervisor_new(struct event_base *base,
				  const struct config *cfg,
				  const char *vmm_path, struct audit *audit);
/* Starts every VM configured with autostart. */
void supervisor_autostart(struct supervisor *s);
/* Kills every monitor (SIGKILL) and frees; accepts NULL. */
void supervisor_free(struct supervisor *s);

/* Reaps exited monitors; call on SIGCHLD. */
void supervisor_sigchld(struct supervisor *s);

size_t supervisor_count(const struct supervisor *s);
struct vmproc *supervisor_vm(struct supervisor *s, size_t i);
struct vmproc *supervisor_find(struct supervisor *s, const char *name);

const char *supervisor_name(const struct vmproc *v);
struct hub *supervisor_hub(struct vmproc *v);
/* What the VM is, as the monitor last said (RUNNING..STOPPED) or, while no
 * monitor speaks for it, STOPPED, STARTING, STOPPING, RESTARTING or CRASHED
 * (protocols/vmstate.h). */
enum vmstate supervisor_vmstate(const struct vmproc *v);
/* vmstate_name() of that: "running", ..., "restarting", for users. */
const char *supervisor_state(const struct vmproc *v);
/* Why it is in that state, "" if nothing to say; while it waits to
 * restart, with the seconds left (valid until the next call). */
const char *supervisor_detail(struct vmproc *v);
/* A monitor is up and talking (input may reach the guest). */
bool supervisor_is_up(const struct vmproc *v);
/* pid of the monitor, or -1 (for tests and `status`). */
int supervisor_pid(const struct vmproc *v);

/* What supervisor_power() did with a request. */
enum supervisor_power_result {
	/* Asked: cb will be called later, never from inside the call. */
	SUPERVISOR_POWER_PENDING,
	/* Carried out at once, with nothing to wait for (a stop while the VM
	 * waits to restart or has crashed): cb is not called; the VM is now
	 * supervisor_vmstate(). */
	SUPERVISOR_POWER_DONE,
	/* Not done: *msg says why, to follow the VM's name ("is stopped"). */
	SUPERVISOR_POWER_REFUSED,
};

/*
 * Asks for a power change; *msg is set only when it is refused. Cancel
 * pending callbacks for arg with supervisor_cancel().
 */
enum supervisor_power_result supervisor_power(struct vmproc *v,
					      enum supervisor_power what,
					      supervisor_power_cb cb, void *arg,
					      const char **msg);
void supervisor_cancel(struct supervisor *s, void *arg);

/* Serial break; -1 if no monitor is up. */
int supervisor_break(struct vmproc *v);

/* supervisor_display.c */
/* A VNC viewer of a VM's display, as `who` lists it; the session owns it. */
struct supervisor_viewer {
	struct supervisor_viewer *next, **prevp;
	const char *user, *path; /* path: "ssh-tunnel" */
	bool control;
	time_t since;
};
/* w (user, path, control, since set) is a viewer of v until removed. */
void supervisor_viewer_add(struct vmproc *v, struct supervisor_viewer *w);
/* Accepts one that was never added (prevp NULL). */
void supervisor_viewer_remove(struct supervisor_viewer *w);
/* The viewers of v, the newest first. */
const struct supervisor_viewer *supervisor_viewers(const struct vmproc *v);
size_t supervisor_nviewers(const struct vmproc *v);
/* A monitor is up and said it has a display (DISPLAY_INFO). */
bool supervisor_has_display(const struct vmproc *v);
/*
 * The most a relay (the SSH tunnel, VeNCrypt) holds of v's monitor's output
 * for one viewer before it cuts the viewer off: two whole screens in Raw, 4
 * bytes a pixel at the size the config gives the monitor (not what the
 * monitor says; one is the largest update one request gets), and 64 KiB
 * for headers, bells and the like. The monitor writes an update whole and
 * waits up to 5 s on a full stream (vmm-core/vnc.h), its console too, and
 * the kernel lets that stream hold little (wmem_max), so a relay always
 * reads the monitor at once. Viewers ask for the next update once they
 * have the last, except that libvncclient (Remmina, vncprobe) asks for the
 * whole screen again as soon as an update tells it the screen's size
 * (ExtDesktopSize: its first update, a resize) while that update is still
 * coming: so two, and no viewer that behaves has more waiting, however
 * slow its link. One screen was too few: bench_vnc's viewers were cut off
 * at their first update.
 */
size_t supervisor_display_backlog(const struct vmproc *v);
/* When a monitor ends a viewer's stream, the relay still sends what it
 * holds for the viewer, but lets go of one that takes none of it for this
 * long ("too slow"). */
#define SUPERVISOR_DISPLAY_LINGER_MS 10000

/*
 * Monitors run this many nice levels below the gateway (nice(2) in the
 * child before exec). A guest that computes or prints flat out keeps a
 * vCPU thread runnable for good; at the gateway's own priority, 99 such
 * VMs on two cores left vmgated 1/100 of the CPU it needed to relay
 * anyone's keys, and an echo on the 100th VM took 100-170 s (issue 9's
 * 100-VM benchmark, a PVM host). Ten levels give each monitor about a
 * tenth of the gateway's weight when both want the CPU (Linux's CFS:
 * 110 against 1024), and change nothing when the host has room; the
 * system's own services keep their share as with any low-priority load.
 */
#define SUPERVISOR_VMM_NICE 10
/* NULL if so, else why not, to follow the VM's name: "has no display"
 * (configured without one) or "is not running" (also while starting). */
const char *supervisor_display_problem(const struct vmproc *v);
/*
 * Hands fd (a connected stream on which the monitor's VNC server speaks RFB
 * from the first byte) to v's monitor as a viewer that may type and point
 * (control) or only watch. Takes fd in every case. -1 when it cannot: *why
 * then says so, to follow the VM's name ("is not running"). A refusal by
 * the monitor itself comes later: it closes its end.
 */
int supervisor_display_client(struct vmproc *v, int fd, bool control,
			      const char **why);
/*
 * A screenshot's answer: fd (the callback's to close) holds a PNG of
 * 'bytes' bytes from offset 0; or fd is -1 and msg says why not.
 */
typedef void (*supervisor_shot_cb)(void *arg, int fd, size_t bytes,
				   const char *msg);
/*
 * Asks v's monitor for a PNG of the screen; cb is called later, never from
 * inside the call (cancel with supervisor_cancel(arg)). -1 when it cannot
 * ask: *why says so, to follow the VM's name. The monitor writes into a
 * memfd that cannot grow past what a PNG of its screen can need.
 */
int supervisor_screenshot(struct vmproc *v, supervisor_shot_cb cb, void *arg,
			  const char **why);

#endif
