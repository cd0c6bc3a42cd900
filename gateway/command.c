#include "command.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "policy.h"
#include "session.h"

const struct command_entry command_table[] = {
    {
	.name = "list",
	.kind = COMMAND_LIST,
	.args = COMMAND_ARGS_NONE,
	.usage = "list",
	.summary = "VMs you may reach, with state",
	.run = session_cmd_list,
    },
    {
	.name = "attach",
	.kind = COMMAND_ATTACH,
	.args = COMMAND_ARGS_VM,
	.right = POLICY_CONSOLE_READ,
	.denied = "console of",
	.usage = "VM | attach VM",
	.summary = "the VM's serial console",
	.run = session_console_attach,
    },
    {
	.name = "status",
	.kind = COMMAND_STATUS,
	.args = COMMAND_ARGS_VM,
	.usage = "status VM",
	.summary = "state and who is attached",
	.run = session_cmd_status,
    },
    {
	.name = "power",
	.kind = COMMAND_POWER,
	.args = COMMAND_ARGS_VM_POWER,
	.right = POLICY_POWER,
	.denied = "power",
	.usage = "power VM start|stop|reset",
	.summary = "power control",
	.run = session_cmd_power,
    },
    {
	.name = "who",
	.kind = COMMAND_WHO,
	.args = COMMAND_ARGS_VM,
	.usage = "who VM",
	.summary = "who is attached",
	.run = session_cmd_who,
    },
    {
	.name = "screenshot",
	.kind = COMMAND_SCREENSHOT,
	.args = COMMAND_ARGS_VM,
	.right = POLICY_DISPLAY_VIEW,
	.denied = "screenshot of",
	.usage = "screenshot VM",
	.summary = "a PNG of the VM's screen, on stdout",
	.run = session_cmd_screenshot,
    },
    {
	.name = "vnc-ticket",
	.kind = COMMAND_VNC_TICKET,
	.args = COMMAND_ARGS_VM,
	.right = POLICY_DISPLAY_VIEW,
	.denied = "display of",
	.usage = "vnc-ticket VM",
	.summary = "a one-time VNC password (classic viewers)",
	.run = session_cmd_vnc_ticket,
    },
    {
	.name = "reload",
	.kind = COMMAND_RELOAD,
	.args = COMMAND_ARGS_NONE,
	.right = POLICY_ADMIN,
	.denied = "reload (needs admin on every VM)",
	.usage = "reload",
	.summary = "re-read the policy (admins)",
	.run = session_cmd_reload,
    },
    {
	.name = "help",
	.kind = COMMAND_HELP,
	.args = COMMAND_ARGS_NONE,
	.usage = "help",
	.run = session_cmd_help,
    },
    {.name = NULL},
};

static const char *const power_names[] = {
    [COMMAND_POWER_START] = "start",
    [COMMAND_POWER_STOP] = "stop",
    [COMMAND_POWER_RESET] = "reset",
};

static int
fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

/* The error for the wrong number of words after e's name. */
static int
fail_usage(const struct command_entry *e, char *err, size_t errlen)
{
	switch (e->args) {
	case COMMAND_ARGS_NONE:
		return fail(err, errlen, "too many arguments");
	case COMMAND_ARGS_VM:
		return fail(err, errlen, "expected one VM name");
	case COMMAND_ARGS_VM_POWER:
		break;
	}
	snprintf(err, errlen, "usage: %s", e->usage);
	return -1;
}

static int
take_vm(struct command *c, const char *w, size_t n, char *err, size_t errlen)
{
	if (n >= sizeof(c->vm) || config_name_problem(w, n) != NULL)
		return fail(err, errlen, "not a VM name");
	memcpy(c->vm, w, n);
	c->vm[n] = '\0';
	return 0;
}

static void
set_entry(struct command *c, const struct command_entry *e)
{
	c->entry = e;
	c->kind = e->kind;
}

const struct command_entry *
command_entry(enum command_kind kind)
{
	for (const struct command_entry *e = command_table; e->name; e++)
		if (e->kind == kind)
			return e;
	return NULL;
}

static const struct command_entry *
find(const char *w, size_t n)
{
	for (const struct command_entry *e = command_table; e->name; e++)
		if (strlen(e->name) == n && memcmp(e->name, w, n) == 0)
			return e;
	return NULL;
}

int
command_parse(const char *s, size_t len, struct command *c, char *err,
	      size_t errlen)
{
	const char *w[COMMAND_MAX_WORDS];
	size_t wl[COMMAND_MAX_WORDS], nw = 0, i = 0, want;
	const struct command_entry *e;

	memset(c, 0, sizeof(*c));
	if (len > COMMAND_MAX_LEN)
		return fail(err, errlen, "command too long");
	while (i < len) {
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			i++;
			continue;
		}
		if (nw == COMMAND_MAX_WORDS)
			return fail(err, errlen, "too many words");
		w[nw] = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
		       s[i] != '\n') {
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
				return fail(err, errlen,
					    "control character in command");
			i++;
		}
		wl[nw] = (size_t)(s + i - w[nw]);
		nw++;
	}
	if (nw == 0) {
		set_entry(c, command_entry(COMMAND_LIST));
		return 0;
	}
	e = find(w[0], wl[0]);
	if (e == NULL) {
		if (nw != 1)
			return fail(err, errlen, "unknown command (try: help)");
		/* A bare VM name: its console. */
		set_entry(c, command_entry(COMMAND_ATTACH));
		return take_vm(c, w[0], wl[0], err, errlen);
	}
	want = e->args == COMMAND_ARGS_NONE ? 1
	       : e->args == COMMAND_ARGS_VM ? 2
					    : 3;
	if (nw != want)
		return fail_usage(e, err, errlen);
	set_entry(c, e);
	if (e->args == COMMAND_ARGS_VM_POWER) {
		size_t p;
		for (p = 0; p < sizeof(power_names) / sizeof(power_names[0]);
		     p++)
			if (strlen(power_names[p]) == wl[2] &&
			    memcmp(power_names[p], w[2], wl[2]) == 0)
				break;
		if (p == sizeof(power_names) / sizeof(power_names[0])) {
			snprintf(err, errlen, "usage: %s", e->usage);
			return -1;
		}
		c->power = (enum command_power)p;
	}
	if (e->args != COMMAND_ARGS_NONE)
		return take_vm(c, w[1], wl[1], err, errlen);
	return 0;
}

const char *
command_power_name(enum command_power p)
{
	return (size_t)p < sizeof(power_names) / sizeof(power_names[0])
		   ? power_names[p]
		   : "?";
}

const char *
command_action(const struct command *c)
{
	if (c->entry->args == COMMAND_ARGS_VM_POWER)
		return command_power_name(c->power);
	return c->entry->name;
}

void
command_denied(const struct command_entry *e, const char *vm, char *buf,
	       size_t size)
{
	if (e->args != COMMAND_ARGS_NONE)
		snprintf(buf, size, "not allowed: %s %s", e->denied, vm);
	else
		snprintf(buf, size, "not allowed: %s", e->denied);
}

const char *
command_usage(void)
{
	/* Made once from the table (the loop is single-threaded); the table
	 * is small and fixed, so the buffer is sized for it with room. */
	static char text[1024];
	size_t o;

	if (text[0] != '\0')
		return text;
	o = (size_t)snprintf(text, sizeof(text), "commands:\r\n");
	for (const struct command_entry *e = command_table; e->name; e++) {
		if (e->summary == NULL || o >= sizeof(text))
			continue;
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "  %-28s%s\r\n", e->usage, e->summary);
	}
	return text;
}
