/*
 * One-time VNC tickets: the classic VNC response against a known answer
 * (computed with `openssl enc -des-ecb -provider legacy` from the
 * bit-reversed key), one use, expiry, the per-user and total bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ticket.h"

#define T0 1000000ULL

static const uint8_t challenge[16] = "0123456789abcdef";

static void
test_known_answer(void **state)
{
	static const uint8_t want[16] = {0x2f, 0xf8, 0x41, 0x4e, 0xb7, 0xe9,
					 0x72, 0x29, 0xe7, 0x2e, 0xa9, 0xd2,
					 0x6a, 0xfa, 0xfe, 0xb0};
	char err[200];
	uint8_t got[16];
	struct tickets *t = tickets_new(60, err, sizeof(err));

	(void)state;
	assert_non_null(t);
	assert_int_equal(tickets_vnc_response(t, "abcdefgh", challenge, got),
			 0);
	assert_memory_equal(got, want, 16);
	/* Only 8 bytes count, as classic VNC has it. */
	assert_int_equal(tickets_vnc_response(t, "abcdefghXYZ", challenge, got),
			 0);
	assert_memory_equal(got, want, 16);
	tickets_free(t);
}

static void
test_once_and_expiry(void **state)
{
	char err[200], pw[TICKET_LEN + 1], user[CONFIG_MAX_NAME + 1],
	    vm[CONFIG_MAX_NAME + 1];
	uint8_t resp[16];
	struct tickets *t = tickets_new(60, err, sizeof(err));

	(void)state;
	assert_int_equal(
	    tickets_issue(t, "alice", "web1", T0, pw, err, sizeof(err)), 0);
	assert_int_equal(strlen(pw), TICKET_LEN);
	assert_int_equal(tickets_vnc_response(t, pw, challenge, resp), 0);
	/* a wrong answer finds nothing and uses nothing */
	resp[0] ^= 1;
	assert_int_equal(tickets_redeem(t, challenge, resp, T0 + 1, user, vm),
			 -1);
	resp[0] ^= 1;
	assert_int_equal(tickets_redeem(t, challenge, resp, T0 + 1, user, vm),
			 0);
	assert_string_equal(user, "alice");
	assert_string_equal(vm, "web1");
	/* used: gone */
	assert_int_equal(tickets_redeem(t, challenge, resp, T0 + 2, user, vm),
			 -1);
	/* expired at its lifetime */
	assert_int_equal(
	    tickets_issue(t, "bob", "web2", T0, pw, err, sizeof(err)), 0);
	assert_int_equal(tickets_vnc_response(t, pw, challenge, resp), 0);
	assert_int_equal(tickets_count(t, T0 + 59999), 1);
	assert_int_equal(
	    tickets_redeem(t, challenge, resp, T0 + 60000, user, vm), -1);
	assert_int_equal(tickets_count(t, T0 + 60000), 0);
	tickets_free(t);
}

static void
test_bounded(void **state)
{
	char err[200], pw[TICKET_LEN + 1], first[TICKET_LEN + 1];
	char user[CONFIG_MAX_NAME + 1], vm[CONFIG_MAX_NAME + 1], name[16];
	uint8_t resp[16];
	struct tickets *t = tickets_new(60, err, sizeof(err));

	(void)state;
	/* a user's oldest ticket makes room for the newest */
	for (int i = 0; i < TICKET_PER_USER + 1; i++) {
		assert_int_equal(
		    tickets_issue(t, "alice", "web1", T0, pw, err, sizeof(err)),
		    0);
		if (i == 0)
			memcpy(first, pw, sizeof(first));
	}
	assert_int_equal(tickets_count(t, T0), TICKET_PER_USER);
	assert_int_equal(tickets_vnc_response(t, first, challenge, resp), 0);
	assert_int_equal(tickets_redeem(t, challenge, resp, T0, user, vm), -1);
	/* and all users together stop at TICKET_MAX */
	for (int i = 0; tickets_count(t, T0) < TICKET_MAX; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		assert_int_equal(
		    tickets_issue(t, name, "web1", T0, pw, err, sizeof(err)),
		    0);
	}
	assert_int_equal(
	    tickets_issue(t, "zed", "web1", T0, pw, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tickets are live"));
	tickets_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_once_and_expiry),
	    cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
