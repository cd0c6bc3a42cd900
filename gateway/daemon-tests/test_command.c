/* The command parser for the SSH exec string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "command.h"

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
