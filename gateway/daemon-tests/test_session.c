/* The session kinds table (session_impl.h) against the rights and the
 * command table it must agree with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "command.h"
#include "policy.h"
#include "session_impl.h"

static const struct session_kind *const kinds[] = {
    &session_cmd_kind,
    &session_console_kind,
};

/* What every kind must have: a name of its own, input and output. */
static void
test_every_kind(void **state)
{
	size_t n = sizeof(kinds) / sizeof(kinds[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const struct session_kind *k = kinds[i];
		assert_non_null(k->name);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(k->name, kinds[j]->name);
		/* a session reads its client and writes to it */
		assert_non_null(k->input);
		assert_non_null(k->output_ready);
		/* rights: input needs viewing; each is one right */
		if (k->right_input != 0)
			assert_int_not_equal(k->right_view, 0);
		assert_true(policy_right_index(k->right_view) >= 0 ||
			    k->right_view == 0);
		assert_true(policy_right_index(k->right_input) >= 0 ||
			    k->right_input == 0);
		/* one that goes read-only on a policy change says so */
		assert_true((k->right_input != 0) == (k->readonly != NULL));
		/* one on a VM has state to set up and tear down */
		if (k->right_view != 0) {
			assert_non_null(k->open);
			assert_non_null(k->close);
		}
	}
}

static void
test_command_kind(void **state)
{
	(void)state;
	assert_string_equal(session_cmd_kind.name, "command");
	/* a command's rights are its table entry's, checked once */
	assert_int_equal(session_cmd_kind.right_view, 0);
	assert_int_equal(session_cmd_kind.right_input, 0);
	assert_null(session_cmd_kind.readonly);
	/* it reads nothing: whatever the client sends is consumed */
	assert_int_equal(
	    session_cmd_kind.input(NULL, (const uint8_t *)"abc", 3), 3);
}

static void
test_console_kind(void **state)
{
	const struct command_entry *attach = command_entry(COMMAND_ATTACH);

	(void)state;
	assert_string_equal(session_console_kind.name, "console");
	assert_int_equal(session_console_kind.right_view, POLICY_CONSOLE_READ);
	assert_int_equal(session_console_kind.right_input,
			 POLICY_CONSOLE_WRITE);
	/* attach opens a console: it checks what the console needs to stay
	 * open, so a session cannot open that a recheck would end */
	assert_non_null(attach);
	assert_int_equal(attach->right, session_console_kind.right_view);
	assert_ptr_equal(attach->run, session_console_attach);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_kind),
	    cmocka_unit_test(test_command_kind),
	    cmocka_unit_test(test_console_kind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
