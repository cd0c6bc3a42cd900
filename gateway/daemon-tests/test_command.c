/* The command parser for the SSH exec string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "command.h"
#include "policy.h"

static int
parse(const char *s, struct command *c, char *err)
{
	return command_parse(s, strlen(s), c, err, 128);
}

static void
test_good(void **state)
{
	struct command c;
	char err[128];

	(void)state;
	assert_int_equal(parse("", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_LIST);
	assert_int_equal(parse("  list ", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_LIST);
	assert_int_equal(parse("web1", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_ATTACH);
	assert_string_equal(c.vm, "web1");
	assert_int_equal(parse("attach list", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_ATTACH);
	assert_string_equal(c.vm, "list");
	assert_int_equal(parse("status\tdb-1.x", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_STATUS);
	assert_string_equal(c.vm, "db-1.x");
	assert_int_equal(parse("power web1 reset", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_POWER);
	assert_int_equal(c.power, COMMAND_POWER_RESET);
	assert_int_equal(parse("power web1 start", &c, err), 0);
	assert_int_equal(c.power, COMMAND_POWER_START);
	assert_int_equal(parse("who web2", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_WHO);
	assert_int_equal(parse("help", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_HELP);
	assert_int_equal(parse(" reload", &c, err), 0);
	assert_int_equal(c.kind, COMMAND_RELOAD);
	assert_string_equal(c.vm, "");
}

static void
test_bad(void **state)
{
	struct command c;
	char err[128];
	char big[400];

	(void)state;
	assert_int_equal(parse("power web1 explode", &c, err), -1);
	assert_string_equal(err, "usage: power VM start|stop|reset");
	assert_int_equal(parse("power web1", &c, err), -1);
	assert_int_equal(parse("status", &c, err), -1);
	assert_int_equal(parse("list extra", &c, err), -1);
	assert_int_equal(parse("reload web1", &c, err), -1);
	assert_string_equal(err, "too many arguments");
	assert_int_equal(parse("frobnicate web1", &c, err), -1);
	assert_string_equal(err, "unknown command (try: help)");
	assert_int_equal(parse("../etc", &c, err), -1);
	assert_string_equal(err, "not a VM name");
	assert_int_equal(parse("web\x1b[2J", &c, err), -1);
	assert_int_equal(parse("a b c d e", &c, err), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, &c, err), -1);
	assert_int_equal(command_parse("web1\0x", 6, &c, err, sizeof(err)), -1);
}

/* What `help` printed before the table made it, with screenshot since. */
static void
test_help_from_table(void **state)
{
	(void)state;
	assert_string_equal(
	    command_usage(),
	    "commands:\r\n"
	    "  list                        VMs you may reach, with state\r\n"
	    "  VM | attach VM              the VM's serial console\r\n"
	    "  status VM                   state and who is attached\r\n"
	    "  power VM start|stop|reset   power control\r\n"
	    "  who VM                      who is attached\r\n"
	    "  screenshot VM               a PNG of the VM's screen, on "
	    "stdout\r\n"
	    "  vnc-ticket VM               a one-time VNC password (classic "
	    "viewers)\r\n"
	    "  reload                      re-read the policy (admins)\r\n");
}

/* Every command: its row, its usage errors, its refusal line. */
static const struct {
	const char *name;
	enum command_kind kind;
	unsigned right;
	const char *good; /* a command line that parses to it */
	const char *few;  /* too few words, or NULL */
	const char *many; /* too many words */
	const char *usage_err;
	const char *denied; /* command_denied(e, "web1"), or NULL */
} rows[] = {
    {"list", COMMAND_LIST, 0, "list", NULL, "list web1", "too many arguments",
     NULL},
    {"attach", COMMAND_ATTACH, POLICY_CONSOLE_READ, "attach web1", "attach",
     "attach web1 web2", "expected one VM name",
     "not allowed: console of web1"},
    {"status", COMMAND_STATUS, 0, "status web1", "status", "status web1 x",
     "expected one VM name", NULL},
    {"power", COMMAND_POWER, POLICY_POWER, "power web1 stop", "power web1",
     "power web1 stop now", "usage: power VM start|stop|reset",
     "not allowed: power web1"},
    {"who", COMMAND_WHO, 0, "who web1", "who", "who web1 web2",
     "expected one VM name", NULL},
    {"screenshot", COMMAND_SCREENSHOT, POLICY_DISPLAY_VIEW, "screenshot web1",
     "screenshot", "screenshot web1 web2", "expected one VM name",
     "not allowed: screenshot of web1"},
    {"vnc-ticket", COMMAND_VNC_TICKET, POLICY_DISPLAY_VIEW, "vnc-ticket web1",
     "vnc-ticket", "vnc-ticket web1 x", "expected one VM name",
     "not allowed: display of web1"},
    {"reload", COMMAND_RELOAD, POLICY_ADMIN, "reload", NULL, "reload now",
     "too many arguments", "not allowed: reload (needs admin on every VM)"},
    {"help", COMMAND_HELP, 0, "help", NULL, "help power", "too many arguments",
     NULL},
};

static void
test_table(void **state)
{
	size_t n = 0, nrows = sizeof(rows) / sizeof(rows[0]);
	struct command c;
	char err[128], line[200];

	(void)state;
	for (const struct command_entry *e = command_table; e->name; e++) {
		n++;
		assert_non_null(e->run);
		assert_non_null(e->usage);
		assert_ptr_equal(command_entry(e->kind), e);
		/* a right needs its refusal text, and only a right */
		assert_true((e->right != 0) == (e->denied != NULL));
		/* listed in help with its usage line */
		if (e->summary != NULL)
			assert_non_null(strstr(command_usage(), e->usage));
	}
	assert_int_equal(n, nrows);
	for (size_t i = 0; i < nrows; i++) {
		const struct command_entry *e = command_entry(rows[i].kind);
		assert_non_null(e);
		assert_string_equal(e->name, rows[i].name);
		assert_int_equal(e->right, rows[i].right);
		assert_int_equal(parse(rows[i].good, &c, err), 0);
		assert_ptr_equal(c.entry, e);
		assert_int_equal(c.kind, rows[i].kind);
		assert_string_equal(c.vm,
				    e->args == COMMAND_ARGS_NONE ? "" : "web1");
		if (rows[i].few != NULL) {
			assert_int_equal(parse(rows[i].few, &c, err), -1);
			assert_string_equal(err, rows[i].usage_err);
		}
		assert_int_equal(parse(rows[i].many, &c, err), -1);
		assert_string_equal(err, rows[i].usage_err);
		if (rows[i].denied != NULL) {
			command_denied(e, "web1", line, sizeof(line));
			assert_string_equal(line, rows[i].denied);
		}
	}
	/* the audited action: the power word, else the command's name */
	assert_int_equal(parse("power web1 reset", &c, err), 0);
	assert_string_equal(command_action(&c), "reset");
	assert_int_equal(parse("web1", &c, err), 0);
	assert_string_equal(command_action(&c), "attach");
	assert_string_equal(c.entry->name, "attach");
	assert_int_equal(parse("power web1 halt", &c, err), -1);
	assert_string_equal(err, "usage: power VM start|stop|reset");
	assert_int_equal(parse("", &c, err), 0);
	assert_ptr_equal(c.entry, command_entry(COMMAND_LIST));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_help_from_table),
	    cmocka_unit_test(test_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
