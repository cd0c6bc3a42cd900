/*
 * Unit tests for protocols/vmstate.h: each state and reason goes from the
 * monitor's side (ctl_encode_state(), its exit status) to the gateway's
 * (ctl_decode(), the name it shows, what it reads in the exit status) and
 * comes back the same; every documented exit status maps, and nothing else
 * does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctl.h"
#include "vmstate.h"

static uint8_t pkt[CTL_MAX_MSG];

/* The README's list (vmgate-vmm, "Exit status"). */
static const int documented[] = {0, 1, 2, 10, 11, 12, 13, 15, 20};

static void
test_names_round_trip(void **st)
{
	(void)st;
	for (int s = VMSTATE_RUNNING; s <= VMSTATE_LAST; s++) {
		const char *name = vmstate_name((enum vmstate)s);
		assert_string_not_equal(name, "unknown");
		assert_int_equal(vmstate_from_name(name), s);
		/* Distinct names: from_name would otherwise stop early. */
		for (int t = VMSTATE_RUNNING; t < s; t++)
			assert_string_not_equal(vmstate_name((enum vmstate)t),
						name);
	}
	assert_string_equal(vmstate_name(VMSTATE_CRASHED), "crashed");
	assert_string_equal(vmstate_name(VMSTATE_RESTARTING), "restarting");
	assert_string_equal(vmstate_name(0), "unknown");
	assert_string_equal(vmstate_name(VMSTATE_LAST + 1), "unknown");
	assert_int_equal(vmstate_from_name("Crashed"), 0);
	assert_int_equal(vmstate_from_name("unknown"), 0);
	assert_int_equal(vmstate_from_name(""), 0);
	assert_int_equal(vmstate_from_name(NULL), 0);

	for (int r = 0; r <= VMSTATE_REASON_LAST; r++) {
		assert_true(vmstate_reason_valid((uint32_t)r));
		assert_string_not_equal(vmstate_reason_name(r), "unknown");
		assert_string_not_equal(vmstate_reason_phrase(r), "unknown");
	}
	assert_false(vmstate_reason_valid(VMSTATE_REASON_LAST + 1));
	assert_string_equal(vmstate_reason_name(VMSTATE_REASON_LAST + 1),
			    "unknown");
	/* What users and scripts read today, on each side. */
	assert_string_equal(vmstate_reason_name(VMSTATE_REASON_GUEST_PANIC),
			    "guest panicked");
	assert_string_equal(vmstate_reason_phrase(VMSTATE_REASON_GUEST_PANIC),
			    "guest panic");
	assert_string_equal(
	    vmstate_reason_phrase(VMSTATE_REASON_GUEST_POWEROFF),
	    "guest power-off");
}

/* Every state the monitor may send, with every reason, over the wire; the
 * gateway-only states are refused by the encoder and by the decoder. */
static void
test_wire_round_trip(void **st)
{
	struct ctl_msg m;
	size_t len;

	(void)st;
	for (int s = 0; s <= VMSTATE_LAST + 1; s++) {
		for (int r = 0; r <= VMSTATE_REASON_LAST + 1; r++) {
			int rc = ctl_encode_state(
			    pkt, sizeof(pkt), &len, 3, (enum vmstate)s,
			    (enum vmstate_reason)r, 0, CTL_CPU_NONE, "d");
			bool ok = vmstate_on_wire((uint32_t)s) &&
				  vmstate_reason_valid((uint32_t)r);
			assert_int_equal(rc == 0, ok);
			assert_int_equal(ok, s >= VMSTATE_RUNNING &&
						 s <= VMSTATE_STOPPED &&
						 r <= VMSTATE_REASON_LAST);
			if (!ok) {
				/* Forge it: the decoder refuses it too. */
				assert_int_equal(
				    ctl_encode_state(pkt, sizeof(pkt), &len, 3,
						     VMSTATE_RUNNING,
						     VMSTATE_REASON_NONE, 0,
						     CTL_CPU_NONE, "d"),
				    0);
				pkt[CTL_HDR_LEN] = (uint8_t)s;
				pkt[CTL_HDR_LEN + 4] = (uint8_t)r;
				assert_int_equal(ctl_decode(pkt, len, &m),
						 CTL_E_ENUM);
				continue;
			}
			assert_int_equal(ctl_decode(pkt, len, &m), 0);
			assert_int_equal(m.u.state.state, s);
			assert_int_equal(m.u.state.reason, r);
			assert_int_equal(
			    vmstate_from_name(vmstate_name(m.u.state.state)),
			    s);
		}
	}
}

/* A terminal event in the monitor (reason R) -> its exit status -> what the
 * gateway reads in it: the same reason back, or, for the reasons that share
 * "other crash" (13), one whose status is 13 too; a poweroff and only a
 * poweroff reads as one. */
static void
test_exit_status_round_trip(void **st)
{
	(void)st;
	for (int r = 0; r <= VMSTATE_REASON_LAST; r++) {
		int code = (int)vmstate_exit_for((enum vmstate_reason)r);
		enum vmstate_reason back = vmstate_exit_reason(code);
		assert_string_not_equal(vmstate_exit_meaning(code),
					"unknown exit status");
		if (code == VMSTATE_EXIT_CRASH_OTHER)
			assert_int_equal(vmstate_exit_for(back), code);
		else
			assert_int_equal(back, r);
		assert_int_equal(back == VMSTATE_REASON_GUEST_POWEROFF,
				 r == VMSTATE_REASON_GUEST_POWEROFF);
	}
	assert_int_equal(vmstate_exit_for(VMSTATE_REASON_TRIPLE_FAULT), 11);
	assert_int_equal(vmstate_exit_for(VMSTATE_REASON_GUEST_PANIC), 15);
	assert_int_equal(vmstate_exit_for(VMSTATE_REASON_GUEST_POWEROFF), 0);
	assert_int_equal(vmstate_exit_for(VMSTATE_REASON_GUEST_REBOOT), 10);
	assert_int_equal(vmstate_exit_for(VMSTATE_REASON_ENTRY_FAILURE), 13);
	assert_int_equal(vmstate_exit_for(VMSTATE_REASON_LAST + 1), 13);
}

/* Every documented status has a meaning and reads back as itself; every
 * other byte value is "unknown exit status". */
static void
test_every_exit_status_maps(void **st)
{
	(void)st;
	for (int code = 0; code < 256; code++) {
		bool doc = false;
		for (size_t i = 0; i < sizeof(documented) / sizeof(int); i++)
			doc |= documented[i] == code;
		const char *m = vmstate_exit_meaning(code);
		assert_int_equal(strcmp(m, "unknown exit status") != 0, doc);
		if (!doc) {
			assert_int_equal(vmstate_exit_reason(code),
					 VMSTATE_REASON_NONE);
			continue;
		}
		enum vmstate_reason r = vmstate_exit_reason(code);
		if (code == VMSTATE_EXIT_ERROR || code == VMSTATE_EXIT_USAGE)
			assert_int_equal(r, VMSTATE_REASON_NONE);
		else
			assert_int_equal(vmstate_exit_for(r), code);
	}
	assert_string_equal(vmstate_exit_meaning(15), "guest panicked");
	assert_string_equal(vmstate_exit_meaning(0), "guest powered off");
	assert_string_equal(vmstate_exit_meaning(14), "unknown exit status");
	assert_string_equal(vmstate_exit_meaning(-1), "unknown exit status");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_round_trip),
	    cmocka_unit_test(test_wire_round_trip),
	    cmocka_unit_test(test_exit_status_round_trip),
	    cmocka_unit_test(test_every_exit_status_maps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
