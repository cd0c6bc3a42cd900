#include "command.h"

#include <stdio.h>
#include <string.h>

#include "config.h"

static int
fail(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
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

int
command_parse(const char *s, size_t len, struct command *c, char *err,
	      size_t errlen)
{
	const char *w[COMMAND_MAX_WORDS];
	size_t wl[COMMAND_MAX_WORDS], nw = 0, i = 0;

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
#define IS(k, lit) (wl[k] == sizeof(lit) - 1 && memcmp(w[k], lit, wl[k]) == 0)
	if (nw == 0 || (nw == 1 && IS(0, "list"))) {
		c->kind = COMMAND_LIST;
		return 0;
	}
	if (IS(0, "help") && nw == 1) {
		c->kind = COMMAND_HELP;
		return 0;
	}
	if (IS(0, "reload") && nw == 1) {
		c->kind = COMMAND_RELOAD;
		return 0;
	}
	if (IS(0, "list") || IS(0, "help") || IS(0, "reload"))
		return fail(err, errlen, "too many arguments");
	if (IS(0, "status") || IS(0, "who") || IS(0, "attach")) {
		if (nw != 2)
			return fail(err, errlen, "expected one VM name");
		c->kind = IS(0, "status") ? COMMAND_STATUS
			  : IS(0, "who")  ? COMMAND_WHO
					  : COMMAND_ATTACH;
		return take_vm(c, w[1], wl[1], err, errlen);
	}
	if (IS(0, "power")) {
		if (nw != 3)
			return fail(err, errlen,
				    "usage: power VM start|stop|reset");
		c->kind = COMMAND_POWER;
		if (IS(2, "start"))
			c->power = COMMAND_POWER_START;
		else if (IS(2, "stop"))
			c->power = COMMAND_POWER_STOP;
		else if (IS(2, "reset"))
			c->power = COMMAND_POWER_RESET;
		else
			return fail(err, errlen,
				    "usage: power VM start|stop|reset");
		return take_vm(c, w[1], wl[1], err, errlen);
	}
	if (nw == 1) {
		c->kind = COMMAND_ATTACH;
		return take_vm(c, w[0], wl[0], err, errlen);
	}
#undef IS
	return fail(err, errlen, "unknown command (try: help)");
}

const char *
command_usage(void)
{
	return "commands:\r\n"
	       "  list                        VMs you may reach, with state\r\n"
	       "  VM | attach VM              the VM's serial console\r\n"
	       "  status VM                   state and who is attached\r\n"
	       "  power VM start|stop|reset   power control\r\n"
	       "  who VM                      who is attached\r\n"
	       "  reload                      re-read the policy (admins)\r\n";
}
