/*
 * monitor: the I/O thread of vmgate-vmm.  It moves console bytes between the
 * VM and its user (the terminal on stdio, or the gateway over the control
 * channel), acts on the VM's terminal events (reset, power-off, crash) and
 * turns them into the process's exit status.
 *
 * Exit statuses (VMSTATE_EXIT_*) tell how the guest ended; they are stable
 * and documented in the README.
 */
#ifndef VMGATE_MONITOR_H
#define VMGATE_MONITOR_H

#include "vm.h"
#include "vmstate.h"

#include <stddef.h>

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
