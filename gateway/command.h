/*
 * The commands a client can run: the SSH exec string, or nothing (a shell
 * request), parsed from untrusted bytes, and the table that describes each
 * command once (tmux cmd_table[]): its name, what it takes, the right it
 * needs, its usage line and its handler. `help`, the usage errors and the
 * refusals are made from the table.
 *
 *	(none) | list		the VMs the user may see, with their state
 *	VM | attach VM		the VM's console
 *	status VM		state and who is attached
 *	power VM start|stop|reset
 *	who VM			who is attached
 *	screenshot VM		a PNG of the VM's screen on stdout
 *	vnc-ticket VM		a one-time password for classic VNC viewers
 *	reload			re-read the policy file (admin on every VM)
 *	help
 *
 * Words are separated by spaces or tabs; at most COMMAND_MAX_LEN bytes and
 * COMMAND_MAX_WORDS words. VM names must pass config_name_problem(); the
 * parser does not look them up.
 */
#ifndef VMGATE_COMMAND_H
#define VMGATE_COMMAND_H

#include <stddef.h>

#define COMMAND_MAX_LEN 256
#define COMMAND_MAX_WORDS 4

enum command_kind {
	COMMAND_LIST,
	COMMAND_ATTACH,
	COMMAND_STATUS,
	COMMAND_POWER,
	COMMAND_WHO,
	COMMAND_SCREENSHOT,
	COMMAND_VNC_TICKET,
	COMMAND_HELP,
	COMMAND_RELOAD,
};

enum command_power {
	COMMAND_POWER_START,
	COMMAND_POWER_STOP,
	COMMAND_POWER_RESET,
};

/* What a command takes after its name. */
enum command_args {
	COMMAND_ARGS_NONE,     /* nothing: it needs no VM */
	COMMAND_ARGS_VM,       /* a VM's name */
	COMMAND_ARGS_VM_POWER, /* a VM's name, then start|stop|reset */
};

struct command;
struct policy_reason;
struct session;
struct vmproc;

/*
 * Runs a parsed command for a session. v is the VM (visible to the user)
 * for a command that takes one, NULL otherwise; rights are the user's on
 * it, with why, and the entry's right has been checked (and audited).
 */
typedef void command_run_fn(struct session *s, struct vmproc *v,
			    const struct command *c, unsigned rights,
			    const struct policy_reason *why);

struct command_entry {
	const char *name; /* its first word */
	enum command_kind kind;
	enum command_args args;
	/*
	 * The POLICY_* right the user needs: on the VM for a command that
	 * takes one (audited as a decision), on every VM the gateway runs for
	 * one that does not. 0: seeing the VM is enough (or nothing at all).
	 */
	unsigned right;
	/* The refusal without the right: "not allowed: <denied>[ VM]". */
	const char *denied;
	const char *usage;   /* the usage line, as `help` shows it */
	const char *summary; /* what `help` says of it; NULL: not listed */
	command_run_fn *run;
};

/* In the order `help` lists them; NULL name ends it. */
extern const struct command_entry command_table[];

struct command {
	enum command_kind kind;
	const struct command_entry *entry; /* its row of command_table */
	char vm[65];			   /* "" if none */
	enum command_power power;
};

/*
 * Parses s[0..len) (not NUL-terminated; NUL bytes are an error). Returns 0,
 * or -1 with a one-line reason (no newline, safe to show: it never quotes
 * the input) in err.
 */
int command_parse(const char *s, size_t len, struct command *c, char *err,
		  size_t errlen);

/* The entry of a kind (every kind has one). */
const struct command_entry *command_entry(enum command_kind kind);

/* The word of a power action: "start", "stop", "reset". */
const char *command_power_name(enum command_power p);

/* What a decision on c is audited as: the power word, else its name. */
const char *command_action(const struct command *c);

/* The refusal line without the entry's right ("not allowed: power web1"),
 * without the "vmgate: " prefix. vm is ignored by commands without one. */
void command_denied(const struct command_entry *e, const char *vm, char *buf,
		    size_t size);

/* `help`: one line per listed command, lines ending in \r\n. */
const char *command_usage(void);

#endif
