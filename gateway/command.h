/*
 * The command a client asks for: the SSH exec string, or nothing (a shell
 * request), parsed from untrusted bytes.
 *
 *	(none) | list		the VMs the user may see, with their state
 *	VM | attach VM		the VM's console
 *	status VM		state and who is attached
 *	power VM start|stop|reset
 *	who VM			who is attached
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
	COMMAND_HELP,
	COMMAND_RELOAD,
};

enum command_power {
	COMMAND_POWER_START,
	COMMAND_POWER_STOP,
	COMMAND_POWER_RESET,
};

struct command {
	enum command_kind kind;
	char vm[65]; /* "" if none */
	enum command_power power;
};

/*
 * Parses s[0..len) (not NUL-terminated; NUL bytes are an error). Returns 0,
 * or -1 with a one-line reason (no newline, safe to show: it never quotes
 * the input) in err.
 */
int command_parse(const char *s, size_t len, struct command *c, char *err,
		  size_t errlen);

/* Usage text, lines ending in \r\n. */
const char *command_usage(void);

#endif
