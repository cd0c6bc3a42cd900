/* vmstate: the one table of VM states, reasons and exit statuses. */
#include "vmstate.h"

#include <stddef.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const state_names[] = {
    [VMSTATE_RUNNING] = "running",	 [VMSTATE_PAUSED] = "paused",
    [VMSTATE_HALTED] = "halted",	 [VMSTATE_REBOOTING] = "rebooting",
    [VMSTATE_CRASHED] = "crashed",	 [VMSTATE_STOPPED] = "stopped",
    [VMSTATE_STARTING] = "starting",	 [VMSTATE_STOPPING] = "stopping",
    [VMSTATE_RESTARTING] = "restarting",
};

static const struct {
	const char *name;   /* the gateway's */
	const char *phrase; /* the monitor's stderr line */
	enum vmstate_exit exit;
} reasons[] = {
    [VMSTATE_REASON_NONE] = {"none", "none", VMSTATE_EXIT_CRASH_OTHER},
    [VMSTATE_REASON_HOST_REQUEST] = {"host request", "host request",
				     VMSTATE_EXIT_STOPPED},
    [VMSTATE_REASON_GUEST_POWEROFF] = {"guest poweroff", "guest power-off",
				       VMSTATE_EXIT_POWEROFF},
    [VMSTATE_REASON_GUEST_REBOOT] = {"guest reboot", "guest reboot",
				     VMSTATE_EXIT_REBOOT},
    [VMSTATE_REASON_TRIPLE_FAULT] = {"triple fault", "triple fault",
				     VMSTATE_EXIT_TRIPLE_FAULT},
    [VMSTATE_REASON_INTERNAL_ERROR] = {"KVM internal error",
				       "KVM internal error",
				       VMSTATE_EXIT_INTERNAL_ERROR},
    [VMSTATE_REASON_HLT_FOREVER] = {"halted with interrupts off",
				    "halted with interrupts off",
				    VMSTATE_EXIT_CRASH_OTHER},
    [VMSTATE_REASON_UNHANDLED_IO] = {"unhandled I/O", "unhandled exit",
				     VMSTATE_EXIT_CRASH_OTHER},
    [VMSTATE_REASON_ENTRY_FAILURE] = {"VM entry failure", "VM entry failure",
				      VMSTATE_EXIT_CRASH_OTHER},
    [VMSTATE_REASON_BOOT_ERROR] = {"boot error", "boot error",
				   VMSTATE_EXIT_CRASH_OTHER},
    [VMSTATE_REASON_GUEST_PANIC] = {"guest panicked", "guest panic",
				    VMSTATE_EXIT_GUEST_PANIC},
};

static const struct {
	int code;
	const char *meaning;
	enum vmstate_reason reason;
} exits[] = {
    {VMSTATE_EXIT_POWEROFF, "guest powered off", VMSTATE_REASON_GUEST_POWEROFF},
    {VMSTATE_EXIT_ERROR, "monitor error", VMSTATE_REASON_NONE},
    {VMSTATE_EXIT_USAGE, "monitor usage error", VMSTATE_REASON_NONE},
    {VMSTATE_EXIT_REBOOT, "guest rebooted", VMSTATE_REASON_GUEST_REBOOT},
    {VMSTATE_EXIT_TRIPLE_FAULT, "triple fault", VMSTATE_REASON_TRIPLE_FAULT},
    {VMSTATE_EXIT_INTERNAL_ERROR, "KVM internal error",
     VMSTATE_REASON_INTERNAL_ERROR},
    {VMSTATE_EXIT_CRASH_OTHER, "guest crashed", VMSTATE_REASON_UNHANDLED_IO},
    {VMSTATE_EXIT_GUEST_PANIC, "guest panicked", VMSTATE_REASON_GUEST_PANIC},
    {VMSTATE_EXIT_STOPPED, "stopped", VMSTATE_REASON_HOST_REQUEST},
};

const char *
vmstate_name(enum vmstate s)
{
	if ((unsigned)s >= NELEM(state_names) || state_names[s] == NULL)
		return "unknown";
	return state_names[s];
}

enum vmstate
vmstate_from_name(const char *name)
{
	for (size_t i = 0; i < NELEM(state_names); i++)
		if (state_names[i] != NULL && name != NULL &&
		    strcmp(state_names[i], name) == 0)
			return (enum vmstate)i;
	return 0;
}

bool
vmstate_on_wire(uint32_t v)
{
	return v >= VMSTATE_RUNNING && v <= VMSTATE_WIRE_LAST;
}

bool
vmstate_reason_valid(uint32_t v)
{
	return v < NELEM(reasons) && reasons[v].name != NULL;
}

const char *
vmstate_reason_name(enum vmstate_reason r)
{
	return vmstate_reason_valid(r) ? reasons[r].name : "unknown";
}

const char *
vmstate_reason_phrase(enum vmstate_reason r)
{
	return vmstate_reason_valid(r) ? reasons[r].phrase : "unknown";
}

enum vmstate_exit
vmstate_exit_for(enum vmstate_reason r)
{
	return vmstate_reason_valid(r) ? reasons[r].exit
				       : VMSTATE_EXIT_CRASH_OTHER;
}

enum vmstate_reason
vmstate_exit_reason(int code)
{
	for (size_t i = 0; i < NELEM(exits); i++)
		if (exits[i].code == code)
			return exits[i].reason;
	return VMSTATE_REASON_NONE;
}

const char *
vmstate_exit_meaning(int code)
{
	for (size_t i = 0; i < NELEM(exits); i++)
		if (exits[i].code == code)
			return exits[i].meaning;
	return "unknown exit status";
}
