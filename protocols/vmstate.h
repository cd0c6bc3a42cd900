/*
 * vmstate: what vmgate-vmm and vmgated must agree on about a VM's life, in
 * one place: its states, the reasons for a change, and the monitor's exit
 * statuses.  The monitor reports states and reasons on the control channel
 * (ctl.h, STATE) and ends with an exit status; the gateway reads both and
 * shows the state by name (`list`, `status`, audit).  Neither process has a
 * table of its own.
 *
 * The values of enum vmstate up to VMSTATE_WIRE_LAST and of enum
 * vmstate_reason are on the wire: append, never renumber.  The exit statuses
 * are documented in the README and stable.
 */
#ifndef VMGATE_VMSTATE_H
#define VMGATE_VMSTATE_H

#include <stdbool.h>
#include <stdint.h>

enum vmstate {
	/* Sent by the monitor (ctl STATE) */
	VMSTATE_RUNNING = 1,
	VMSTATE_PAUSED = 2,    /* vCPUs stopped on request, resumable */
	VMSTATE_HALTED = 3,    /* guest stopped itself (e.g. hlt, irqs off) */
	VMSTATE_REBOOTING = 4, /* reset in progress, RUNNING follows */
	VMSTATE_CRASHED = 5,   /* fault; reason/rip/detail say which; also
				  the gateway's view of a monitor that died
				  and is left stopped (on_crash: stop) */
	VMSTATE_STOPPED = 6,   /* powered off; the monitor is about to exit */
	/* The gateway's view only, while no monitor speaks for the VM;
	 * never on the wire. */
	VMSTATE_STARTING = 7,	/* monitor spawned, no HELLO yet */
	VMSTATE_STOPPING = 8,	/* monitor asked to go, not reaped yet */
	VMSTATE_RESTARTING = 9, /* monitor died, next start on a timer */
};
#define VMSTATE_WIRE_LAST VMSTATE_STOPPED
#define VMSTATE_LAST VMSTATE_RESTARTING

enum vmstate_reason {
	VMSTATE_REASON_NONE = 0,
	VMSTATE_REASON_HOST_REQUEST = 1,   /* POWER from the gateway, signal */
	VMSTATE_REASON_GUEST_POWEROFF = 2, /* guest asked for poweroff */
	VMSTATE_REASON_GUEST_REBOOT = 3,   /* guest reset (i8042 0xFE, ...) */
	VMSTATE_REASON_TRIPLE_FAULT = 4,   /* KVM_EXIT_SHUTDOWN */
	VMSTATE_REASON_INTERNAL_ERROR = 5, /* KVM_EXIT_INTERNAL_ERROR */
	VMSTATE_REASON_HLT_FOREVER = 6,	   /* hlt with interrupts disabled */
	VMSTATE_REASON_UNHANDLED_IO = 7,   /* a KVM exit nobody handles */
	VMSTATE_REASON_ENTRY_FAILURE = 8,  /* KVM_EXIT_FAIL_ENTRY */
	VMSTATE_REASON_BOOT_ERROR = 9,	   /* kernel/initrd not loadable */
	VMSTATE_REASON_GUEST_PANIC = 10,   /* guest wrote PANICKED to pvpanic */
	/* Append new reasons here, never renumber: the value is on the
	 * wire.  A peer built before a reason existed rejects it
	 * (CTL_E_ENUM); gateway and monitor are built and shipped together. */
};
#define VMSTATE_REASON_LAST VMSTATE_REASON_GUEST_PANIC

/* vmgate-vmm's exit statuses (README, "Exit status"). */
enum vmstate_exit {
	VMSTATE_EXIT_POWEROFF = 0,
	VMSTATE_EXIT_ERROR = 1, /* the monitor itself failed */
	VMSTATE_EXIT_USAGE = 2,
	VMSTATE_EXIT_REBOOT = 10, /* guest reset with --on-reboot exit */
	VMSTATE_EXIT_TRIPLE_FAULT = 11,
	VMSTATE_EXIT_INTERNAL_ERROR = 12,
	VMSTATE_EXIT_CRASH_OTHER = 13,
	/* 14 is kept for "halted" (reverted in 4dfa1e4, may come back) */
	VMSTATE_EXIT_GUEST_PANIC = 15, /* the guest said so through pvpanic */
	VMSTATE_EXIT_STOPPED = 20,     /* the host stopped it: signal, escape */
};

/* "running", ... "restarting"; "unknown" for a value not in the enum. */
const char *vmstate_name(enum vmstate s);
/* The state NAME names (exact, lower case); 0 if none. */
enum vmstate vmstate_from_name(const char *name);
/* V is a state the monitor may send (RUNNING..STOPPED). */
bool vmstate_on_wire(uint32_t v);

/* The gateway's words for a reason, as users see them after a VM's state
 * ("crashed: guest panicked"); "unknown" for a value not in the enum. */
const char *vmstate_reason_name(enum vmstate_reason r);
/* The monitor's words for the same reason on its stderr line
 * ("vmgate-vmm: guest crashed: guest panic (...)"), kept as they were when
 * both tables were merged here, since users and scripts read both. */
const char *vmstate_reason_phrase(enum vmstate_reason r);
/* V is a reason in the enum. */
bool vmstate_reason_valid(uint32_t v);

/* The monitor's exit status after a terminal event (the VM's state is then
 * STOPPED, REBOOTING without restart, or CRASHED) for reason R. */
enum vmstate_exit vmstate_exit_for(enum vmstate_reason r);
/* What the gateway reads in exit status CODE: the reason the monitor ended
 * with (GUEST_POWEROFF: the guest is gone of its own will, no restart;
 * HOST_REQUEST for a stop by signal or escape key; CRASH_OTHER's reasons
 * read as UNHANDLED_IO), VMSTATE_REASON_NONE for the monitor's own errors
 * and for a code not in the enum. */
enum vmstate_reason vmstate_exit_reason(int code);
/* Words for CODE, for log lines: "guest powered off", ..., "unknown exit
 * status" for a code not in the enum. */
const char *vmstate_exit_meaning(int code);

#endif
