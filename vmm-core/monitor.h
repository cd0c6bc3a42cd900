/*
 * monitor: the I/O thread of vmgate-vmm.  It moves console bytes between the
 * VM and its user (the terminal on stdio, or the gateway over the control
 * channel), acts on the VM's terminal events (reset, power-off, crash) and
 * turns them into the process's exit status.
 *
 * Exit statuses (MONITOR_EXIT_*) tell how the guest ended; they are stable
 * and documented in the README.
 */
#ifndef VMGATE_MONITOR_H
#define VMGATE_MONITOR_H

#include "vm.h"

#include <stddef.h>

enum {
	MONITOR_EXIT_POWEROFF = 0,
	MONITOR_EXIT_ERROR = 1, /* the monitor itself failed */
	MONITOR_EXIT_USAGE = 2,
	MONITOR_EXIT_REBOOT = 10, /* guest reset with --on-reboot exit */
	MONITOR_EXIT_TRIPLE_FAULT = 11,
	MONITOR_EXIT_INTERNAL_ERROR = 12,
	MONITOR_EXIT_CRASH_OTHER = 13,
	/* 14 is kept for "halted" (reverted in 4dfa1e4, may come back) */
	MONITOR_EXIT_GUEST_PANIC = 15, /* the guest said so through pvpanic */
	MONITOR_EXIT_STOPPED = 20,     /* the host stopped it: signal, escape */
};

struct vnc;

struct monitor_options {
	int restart_on_reboot;
	int stdio;  /* console on stdin/stdout */
	int ctl_fd; /* control channel to the gateway, or -1 */
	const char *name;
	struct vnc *vnc;	/* the display's VNC server, or NULL */
	const char *screenshot; /* PNG written here on SIGUSR1, or NULL */
	int screenshot_fd;	/* ... opened before the sandbox, or -1 */
	int vnc_damage_full;	/* --vnc-damage full (vnc_damage_full()) */
};

/*
 * Sets up what serves VM's display (a VM without one: nothing): the VNC
 * server in OPT->vnc, listening on the NSPEC addresses of SPEC (vnc.h),
 * its keys and pointer wired to the VM's keyboard and mouse, and the
 * --screenshot file, opened now (the sandbox opens nothing later) and
 * rewritten in place on each SIGUSR1.  Returns 0, or -1 with the reason in
 * ERR.
 */
int monitor_display(struct vm *vm, struct monitor_options *opt,
		    const char *const *spec, int nspec, char *err,
		    size_t errlen);

/* Runs until the VM ends; returns the exit status. */
int monitor_run(struct vm *vm, const struct monitor_options *opt);

#endif
