/*
 * Unit tests for the control channel (protocols/ctl.h): every message round
 * trips, every malformed form is rejected with its own error, the permission
 * table is what ctl.h documents, and the transport behaves on a real
 * SOCK_SEQPACKET socketpair (fd passing, stray fds, EOF, oversize packets).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"

static uint8_t buf[CTL_MAX_MSG + 16];
static uint8_t rx[CTL_MAX_MSG + 16];

/* Builds a raw packet: header fields as given, then payload. */
static size_t
raw(uint8_t *p, uint16_t type, uint16_t flags, uint32_t seq,
    const void *payload, size_t n)
{
	p[0] = type & 0xff;
	p[1] = type >> 8;
	p[2] = flags & 0xff;
	p[3] = flags >> 8;
	for (int i = 0; i < 4; i++)
		p[4 + i] = (uint8_t)(seq >> (8 * i));
	if (n > 0)
		memcpy(p + CTL_HDR_LEN, payload, n);
	return CTL_HDR_LEN + n;
}

static int
decode_raw(uint16_t type, const void *payload, size_t n, struct ctl_msg *m)
{
	size_t len = raw(buf, type, 0, 7, payload, n);

	return ctl_decode(buf, len, m);
}

static bool
str_eq(struct ctl_str s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

/* Round trips */

static void
test_hello_roundtrip(void **state)
{
	static const uint8_t want[] = {
	    0x01, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, /* header */
	    0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, /* v1 vmm 0 */
	    0x04, 0x00, 'w',  'e',  'b',  '1'};
	struct ctl_msg m;
	size_t len;

	(void)state;
	assert_int_equal(
	    ctl_encode_hello(buf, sizeof(buf), &len, 42, CTL_ROLE_VMM, "web1"),
	    0);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_HELLO);
	assert_int_equal(m.seq, 42);
	assert_int_equal(m.u.hello.version, CTL_VERSION);
	assert_int_equal(m.u.hello.role, CTL_ROLE_VMM);
	assert_true(str_eq(m.u.hello.name, "web1"));
	/* Pointers refer into the packet, nothing is copied. */
	assert_ptr_equal(m.u.hello.name.ptr, (const char *)buf + 18);

	/* The other role, a non-ASCII name. */
	assert_int_equal(ctl_encode_hello(buf, sizeof(buf), &len, 0,
					  CTL_ROLE_GATEWAY, "caf\xc3\xa9"),
			 0);
	assert_int_equal(buf[10], CTL_ROLE_GATEWAY);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.u.hello.role, CTL_ROLE_GATEWAY);
	assert_true(str_eq(m.u.hello.name, "caf\xc3\xa9"));
}

static void
test_error_roundtrip(void **state)
{
	struct ctl_msg m;
	size_t len;

	(void)state;
	assert_int_equal(ctl_encode_error(buf, sizeof(buf), &len, 9,
					  CTL_ERR_INVALID_STATE,
					  "not paused\n\xc3\xa9"),
			 0);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_ERROR);
	assert_int_equal(m.seq, 9);
	assert_int_equal(m.u.error.code, CTL_ERR_INVALID_STATE);
	assert_true(str_eq(m.u.error.text, "not paused\n\xc3\xa9"));

	/* Empty text is fine. */
	assert_int_equal(
	    ctl_encode_error(buf, sizeof(buf), &len, 0, CTL_ERR_PROTOCOL, NULL),
	    0);
	assert_int_equal(len, CTL_HDR_LEN + 6);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.u.error.text.len, 0);
}

static void
test_console_roundtrip(void **state)
{
	static uint8_t data[CTL_MAX_DATA];
	struct ctl_msg m;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);

	assert_int_equal(
	    ctl_encode_console_out(buf, sizeof(buf), &len, 0, data, 1), 0);
	assert_int_equal(len, CTL_HDR_LEN + 1);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_CONSOLE_OUT);
	assert_int_equal(m.u.console_out.len, 1);
	assert_int_equal(m.u.console_out.ptr[0], data[0]);

	/* The largest packet: exactly CTL_MAX_MSG. */
	assert_int_equal(ctl_encode_console_in(buf, sizeof(buf), &len, 3, data,
					       CTL_MAX_DATA),
			 0);
	assert_int_equal(len, CTL_MAX_MSG);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_CONSOLE_IN);
	assert_int_equal(m.u.console_in.len, CTL_MAX_DATA);
	assert_memory_equal(m.u.console_in.ptr, data, CTL_MAX_DATA);
}

static void
test_small_roundtrips(void **state)
{
	static const uint8_t power_want[] = {0x20, 0x00, 0x00, 0x00,
					     0x04, 0x03, 0x02, 0x01,
					     0x03, 0x00, 0x00, 0x00};
	struct ctl_msg m;
	size_t len;

	(void)state;
	assert_int_equal(ctl_encode_console_credit(buf, sizeof(buf), &len, 0,
						   CTL_CREDIT_MAX),
			 0);
	assert_int_equal(len, CTL_HDR_LEN + 4);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_CONSOLE_CREDIT);
	assert_int_equal(m.u.credit.bytes, CTL_CREDIT_MAX);

	assert_int_equal(ctl_encode_console_lost(buf, sizeof(buf), &len, 0,
						 UINT64_C(0x1122334455667788)),
			 0);
	assert_int_equal(len, CTL_HDR_LEN + 8);
	assert_int_equal(buf[CTL_HDR_LEN], 0x88); /* little-endian */
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_CONSOLE_LOST);
	assert_true(m.u.lost.bytes == UINT64_C(0x1122334455667788));

	assert_int_equal(ctl_encode_break(buf, sizeof(buf), &len, 5), 0);
	assert_int_equal(len, CTL_HDR_LEN);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_BREAK);
	assert_int_equal(m.seq, 5);

	assert_int_equal(ctl_encode_power(buf, sizeof(buf), &len, 0x01020304,
					  CTL_POWER_RESET),
			 0);
	assert_int_equal(len, sizeof(power_want));
	assert_memory_equal(buf, power_want, sizeof(power_want));
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_POWER);
	assert_int_equal(m.seq, 0x01020304);
	assert_int_equal(m.u.power.action, CTL_POWER_RESET);
}

static void
test_state_roundtrip(void **state)
{
	char detail[CTL_TEXT_MAX + 1];
	struct ctl_msg m;
	size_t len;

	(void)state;
	assert_int_equal(ctl_encode_state(buf, sizeof(buf), &len, 11,
					  VMSTATE_CRASHED,
					  VMSTATE_REASON_TRIPLE_FAULT,
					  UINT64_C(0xffffffff81000010), 1,
					  "KVM_EXIT_SHUTDOWN"),
			 0);
	assert_int_equal(len, CTL_HDR_LEN + 22 + 17);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_STATE);
	assert_int_equal(m.seq, 11);
	assert_int_equal(m.u.state.state, VMSTATE_CRASHED);
	assert_int_equal(m.u.state.reason, VMSTATE_REASON_TRIPLE_FAULT);
	assert_true(m.u.state.rip == UINT64_C(0xffffffff81000010));
	assert_int_equal(m.u.state.cpu, 1);
	assert_true(str_eq(m.u.state.detail, "KVM_EXIT_SHUTDOWN"));

	/* No vCPU concerned, longest detail. */
	memset(detail, 'x', CTL_TEXT_MAX);
	detail[CTL_TEXT_MAX] = '\0';
	assert_int_equal(ctl_encode_state(buf, sizeof(buf), &len, 0,
					  VMSTATE_STOPPED,
					  VMSTATE_REASON_HOST_REQUEST, 0,
					  CTL_CPU_NONE, detail),
			 0);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.u.state.cpu, CTL_CPU_NONE);
	assert_int_equal(m.u.state.detail.len, CTL_TEXT_MAX);
}

/* Malformed packets */

/* The display messages: layouts byte by byte, and their range checks. */
static void
test_display_messages(void **state)
{
	static const uint8_t client_want[] = {0x30, 0, 0,    0, 9, 0,
					      0,    0, 0x02, 0, 0, 0};
	static const uint8_t info_want[] = {0x31, 0, 0, 0, 0,	 0,    0, 0,
					    0x00, 4, 0, 0, 0x00, 0x03, 0, 0};
	struct ctl_msg m;
	size_t len;
	uint8_t p[8] = {0};

	(void)state;
	assert_int_equal(ctl_encode_display_client(buf, sizeof(buf), &len, 9,
						   CTL_DISPLAY_CONTROL),
			 0);
	assert_int_equal(len, sizeof(client_want));
	assert_memory_equal(buf, client_want, len);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.u.display_client.rights, CTL_DISPLAY_CONTROL);
	for (uint32_t r = 0; r < 5; r++) {
		p[0] = (uint8_t)r;
		int want = r == 1 || r == 2 ? 0 : CTL_E_ENUM;
		assert_int_equal(decode_raw(CTL_T_DISPLAY_CLIENT, p, 4, &m),
				 want);
	}
	assert_int_equal(ctl_encode_display_client(buf, sizeof(buf), &len, 0,
						   (enum ctl_display_rights)3),
			 CTL_E_ENUM);

	assert_int_equal(
	    ctl_encode_display_info(buf, sizeof(buf), &len, 0, 1024, 768), 0);
	assert_int_equal(len, sizeof(info_want));
	assert_memory_equal(buf, info_want, len);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.u.display_info.width, 1024);
	assert_int_equal(m.u.display_info.height, 768);
	assert_int_equal(
	    ctl_encode_display_info(buf, sizeof(buf), &len, 0, 0, 768),
	    CTL_E_LENGTH);
	assert_int_equal(ctl_encode_display_info(buf, sizeof(buf), &len, 0,
						 1024, CTL_DISPLAY_MAX + 1),
			 CTL_E_LENGTH);
	memset(p, 0, sizeof(p));
	p[0] = 1;
	assert_int_equal(decode_raw(CTL_T_DISPLAY_INFO, p, 8, &m),
			 CTL_E_LENGTH);

	assert_int_equal(ctl_encode_screenshot(buf, sizeof(buf), &len, 4), 0);
	assert_int_equal(len, CTL_HDR_LEN);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.type, CTL_T_SCREENSHOT);
	assert_int_equal(decode_raw(CTL_T_SCREENSHOT, p, 1, &m),
			 CTL_E_TRAILING);

	assert_int_equal(
	    ctl_encode_screenshot_done(buf, sizeof(buf), &len, 4, 123456), 0);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_true(m.u.screenshot_done.bytes == 123456);
	memset(p, 0, sizeof(p));
	assert_int_equal(decode_raw(CTL_T_SCREENSHOT_DONE, p, 8, &m),
			 CTL_E_LENGTH);
	assert_int_equal(decode_raw(CTL_T_SCREENSHOT_DONE, p, 7, &m),
			 CTL_E_SHORT);

	assert_true(ctl_carries_fd(CTL_T_DISPLAY_CLIENT));
	assert_true(ctl_carries_fd(CTL_T_SCREENSHOT));
	assert_false(ctl_carries_fd(CTL_T_SCREENSHOT_DONE));
	assert_false(ctl_carries_fd(CTL_T_CONSOLE_IN));
	assert_false(ctl_carries_fd(CTL_T_DISPLAY_INFO));
}

static void
test_short_header(void **state)
{
	struct ctl_msg m;
	size_t len;

	(void)state;
	assert_int_equal(ctl_encode_break(buf, sizeof(buf), &len, 0), 0);
	for (size_t n = 0; n < CTL_HDR_LEN; n++)
		assert_int_equal(ctl_decode(buf, n, &m), CTL_E_SHORT);
	assert_int_equal(ctl_decode(NULL, 0, &m), CTL_E_SHORT);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
}

static void
test_unknown_type_and_flags(void **state)
{
	static const uint16_t bad[] = {0x00, 0x03, 0x0f, 0x15, 0x22, 0xff,
				       0xffff, 0x34,
				       /* reserved, not implemented */
				       CTL_T_INPUT_KEY, CTL_T_INPUT_POINTER,
				       CTL_T_STATS_REQUEST, CTL_T_STATS};
	uint8_t one = 'a';
	struct ctl_msg m;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(decode_raw(bad[i], NULL, 0, &m), CTL_E_TYPE);
		assert_int_equal(decode_raw(bad[i], &one, 1, &m), CTL_E_TYPE);
	}
	/* Any flag bit. */
	for (int bit = 0; bit < 16; bit++) {
		len = raw(buf, CTL_T_BREAK, (uint16_t)(1u << bit), 0, NULL, 0);
		assert_int_equal(ctl_decode(buf, len, &m), CTL_E_FLAGS);
	}
}

static void
test_wrong_length(void **state)
{
	static const uint8_t zero8[8];
	uint8_t p[16];
	struct ctl_msg m;

	(void)state;
	/* Fields cut short. */
	assert_int_equal(decode_raw(CTL_T_POWER, "\x01\x00\x00", 3, &m),
			 CTL_E_SHORT);
	assert_int_equal(decode_raw(CTL_T_CONSOLE_CREDIT, "\x01", 1, &m),
			 CTL_E_SHORT);
	assert_int_equal(
	    decode_raw(CTL_T_CONSOLE_LOST, "\x01\0\0\0\0\0\0", 7, &m),
	    CTL_E_SHORT);
	assert_int_equal(decode_raw(CTL_T_ERROR, "\x01\0\0\0\x01", 5, &m),
			 CTL_E_SHORT);
	/* String length pointing past the end. */
	assert_int_equal(
	    decode_raw(CTL_T_ERROR, "\x01\0\0\0\x05\0abcd", 10, &m),
	    CTL_E_SHORT);
	/* Empty console data and zero / excessive counts. */
	assert_int_equal(decode_raw(CTL_T_CONSOLE_OUT, NULL, 0, &m),
			 CTL_E_LENGTH);
	assert_int_equal(decode_raw(CTL_T_CONSOLE_IN, NULL, 0, &m),
			 CTL_E_LENGTH);
	assert_int_equal(decode_raw(CTL_T_CONSOLE_CREDIT, zero8, 4, &m),
			 CTL_E_LENGTH);
	memcpy(p, "\x01\x00\x10\x00", 4); /* CTL_CREDIT_MAX + 1 */
	assert_int_equal(decode_raw(CTL_T_CONSOLE_CREDIT, p, 4, &m),
			 CTL_E_LENGTH);
	assert_int_equal(decode_raw(CTL_T_CONSOLE_LOST, zero8, 8, &m),
			 CTL_E_LENGTH);
}

/* Every strict prefix of a fixed-layout message must be rejected. */
static void
test_every_prefix_rejected(void **state)
{
	static uint8_t pkt[512];
	struct ctl_msg m;
	size_t len;

	(void)state;
	for (int which = 0; which < 5; which++) {
		switch (which) {
		case 0:
			ctl_encode_hello(pkt, sizeof(pkt), &len, 1,
					 CTL_ROLE_GATEWAY, "vm");
			break;
		case 1:
			ctl_encode_error(pkt, sizeof(pkt), &len, 1,
					 CTL_ERR_NAME, "x");
			break;
		case 2:
			ctl_encode_console_credit(pkt, sizeof(pkt), &len, 1,
						  100);
			break;
		case 3:
			ctl_encode_power(pkt, sizeof(pkt), &len, 1,
					 CTL_POWER_PAUSE);
			break;
		default:
			ctl_encode_state(pkt, sizeof(pkt), &len, 1,
					 VMSTATE_RUNNING, VMSTATE_REASON_NONE,
					 0, CTL_CPU_NONE, "d");
			break;
		}
		assert_int_equal(ctl_decode(pkt, len, &m), 0);
		for (size_t n = 0; n < len; n++)
			assert_int_equal(ctl_decode(pkt, n, &m), CTL_E_SHORT);
	}
}

static void
test_trailing_bytes(void **state)
{
	struct ctl_msg m;
	size_t len;

	(void)state;
	assert_int_equal(ctl_encode_break(buf, sizeof(buf), &len, 0), 0);
	buf[len] = 0;
	assert_int_equal(ctl_decode(buf, len + 1, &m), CTL_E_TRAILING);

	assert_int_equal(
	    ctl_encode_power(buf, sizeof(buf), &len, 0, CTL_POWER_RESUME), 0);
	assert_int_equal(ctl_decode(buf, len + 1, &m), CTL_E_TRAILING);

	assert_int_equal(ctl_encode_hello(buf, sizeof(buf), &len, 0,
					  CTL_ROLE_GATEWAY, "web1"),
			 0);
	buf[len] = 'x';
	assert_int_equal(ctl_decode(buf, len + 1, &m), CTL_E_TRAILING);

	assert_int_equal(
	    ctl_encode_console_credit(buf, sizeof(buf), &len, 0, 1), 0);
	assert_int_equal(ctl_decode(buf, len + 4, &m), CTL_E_TRAILING);

	assert_int_equal(ctl_encode_console_lost(buf, sizeof(buf), &len, 0, 1),
			 0);
	assert_int_equal(ctl_decode(buf, len + 1, &m), CTL_E_TRAILING);

	assert_int_equal(
	    ctl_encode_error(buf, sizeof(buf), &len, 0, CTL_ERR_INTERNAL, "e"),
	    0);
	assert_int_equal(ctl_decode(buf, len + 1, &m), CTL_E_TRAILING);

	assert_int_equal(
	    ctl_encode_state(buf, sizeof(buf), &len, 0, VMSTATE_PAUSED,
			     VMSTATE_REASON_HOST_REQUEST, 0x1000, 0, ""),
	    0);
	assert_int_equal(ctl_decode(buf, len + 2, &m), CTL_E_TRAILING);
}

static void
test_bad_enums(void **state)
{
	uint8_t p[64];
	struct ctl_msg m;

	(void)state;
	/* POWER action 0 and 5. */
	assert_int_equal(decode_raw(CTL_T_POWER, "\0\0\0\0", 4, &m),
			 CTL_E_ENUM);
	assert_int_equal(decode_raw(CTL_T_POWER, "\x05\0\0\0", 4, &m),
			 CTL_E_ENUM);
	assert_int_equal(decode_raw(CTL_T_POWER, "\x01\0\0\x01", 4, &m),
			 CTL_E_ENUM); /* high byte counts */
	/* ERROR code 0 and 8. */
	assert_int_equal(decode_raw(CTL_T_ERROR, "\0\0\0\0\0\0", 6, &m),
			 CTL_E_ENUM);
	assert_int_equal(decode_raw(CTL_T_ERROR, "\x08\0\0\0\0\0", 6, &m),
			 CTL_E_ENUM);
	/* HELLO role 0 and 3. */
	assert_int_equal(
	    decode_raw(CTL_T_HELLO, "\x01\0\0\0\0\0\0\0\x01\0a", 11, &m),
	    CTL_E_ENUM);
	assert_int_equal(
	    decode_raw(CTL_T_HELLO, "\x01\0\x03\0\0\0\0\0\x01\0a", 11, &m),
	    CTL_E_ENUM);
	assert_int_equal(
	    decode_raw(CTL_T_HELLO, "\x01\0\x02\0\0\0\0\0\x01\0a", 11, &m), 0);
	/* STATE state 0 / 7, reason 11 (one past the last). */
	memset(p, 0, sizeof(p));
	p[0] = 0; /* state */
	p[4] = 0; /* reason */
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22, &m), CTL_E_ENUM);
	p[0] = 7;
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22, &m), CTL_E_ENUM);
	p[0] = VMSTATE_RUNNING;
	p[4] = VMSTATE_REASON_GUEST_PANIC + 1;
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22, &m), CTL_E_ENUM);
	p[4] = VMSTATE_REASON_BOOT_ERROR;
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22, &m), 0);
	p[4] = VMSTATE_REASON_GUEST_PANIC;
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22, &m), 0);

	/* The encoder refuses the same values. */
	size_t len;
	assert_int_equal(
	    ctl_encode_power(buf, sizeof(buf), &len, 0, (enum ctl_power)0),
	    CTL_E_ENUM);
	assert_int_equal(ctl_encode_error(buf, sizeof(buf), &len, 0,
					  (enum ctl_errcode)8, NULL),
			 CTL_E_ENUM);
	assert_int_equal(
	    ctl_encode_hello(buf, sizeof(buf), &len, 0, (enum ctl_role)3, "x"),
	    CTL_E_ENUM);
	assert_int_equal(ctl_encode_state(buf, sizeof(buf), &len, 0,
					  (enum vmstate)7, VMSTATE_REASON_NONE,
					  0, 0, NULL),
			 CTL_E_ENUM);
	assert_int_equal(
	    ctl_encode_state(
		buf, sizeof(buf), &len, 0, VMSTATE_RUNNING,
		(enum vmstate_reason)(VMSTATE_REASON_GUEST_PANIC + 1), 0, 0,
		NULL),
	    CTL_E_ENUM);
}

static void
test_reserved_and_version(void **state)
{
	uint8_t p[64];
	struct ctl_msg m;
	size_t len;

	(void)state;
	/* HELLO reserved u32 not zero. */
	assert_int_equal(
	    decode_raw(CTL_T_HELLO, "\x01\0\x01\0\0\0\0\x80\x01\0a", 11, &m),
	    CTL_E_RESERVED);
	/* STATE: rip must be 0 when no vCPU is concerned. */
	memset(p, 0, sizeof(p));
	p[0] = VMSTATE_HALTED;
	p[8] = 1;		 /* rip */
	memset(p + 16, 0xff, 4); /* cpu = CTL_CPU_NONE */
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22, &m), CTL_E_RESERVED);
	assert_int_equal(ctl_encode_state(buf, sizeof(buf), &len, 0,
					  VMSTATE_HALTED, VMSTATE_REASON_NONE,
					  1, CTL_CPU_NONE, NULL),
			 CTL_E_RESERVED);

	/* Version mismatch: reported as such, with the peer's version, even
	 * when the rest would not parse as version 1. */
	assert_int_equal(decode_raw(CTL_T_HELLO, "\x02\0garbage", 9, &m),
			 CTL_E_VERSION);
	assert_int_equal(m.u.hello.version, 2);
	assert_int_equal(decode_raw(CTL_T_HELLO, "\0\0", 2, &m), CTL_E_VERSION);
	assert_int_equal(decode_raw(CTL_T_HELLO, "\x01", 1, &m), CTL_E_SHORT);
}

static void
test_strings(void **state)
{
	static const char *const bad_utf8[] = {
	    "\xc0\x80",		/* overlong NUL */
	    "\xc1\xbf",		/* overlong */
	    "\xe0\x80\xaf",	/* overlong '/' */
	    "\xed\xa0\x80",	/* surrogate U+D800 */
	    "\xf4\x90\x80\x80", /* U+110000 */
	    "\xf5\x80\x80\x80", /* beyond */
	    "\xe2\x82",		/* truncated */
	    "\x80",		/* lone continuation */
	    "a\xffz",		/* invalid byte */
	    "\xe2\x28\xa1",	/* bad continuation */
	};
	char name[CTL_NAME_MAX + 2];
	uint8_t p[CTL_TEXT_MAX + 64];
	struct ctl_msg m;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		size_t n = strlen(bad_utf8[i]);

		assert_false(ctl_utf8_valid(bad_utf8[i], n, false));
		/* As ERROR text on the wire. */
		memcpy(p, "\x07\0\0\0", 4);
		p[4] = (uint8_t)n;
		p[5] = 0;
		memcpy(p + 6, bad_utf8[i], n);
		assert_int_equal(decode_raw(CTL_T_ERROR, p, 6 + n, &m),
				 CTL_E_UTF8);
		/* And the encoder will not send it either. */
		assert_int_equal(ctl_encode_error(buf, sizeof(buf), &len, 0,
						  CTL_ERR_INTERNAL,
						  bad_utf8[i]),
				 CTL_E_UTF8);
	}
	/* Valid multi-byte forms at the edges. */
	assert_true(ctl_utf8_valid("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
				   "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
				   18, false));
	/* Embedded NUL in a string. */
	assert_int_equal(decode_raw(CTL_T_ERROR, "\x07\0\0\0\x03\0a\0b", 9, &m),
			 CTL_E_UTF8);
	/* Control characters: allowed in text, not in a VM name. */
	assert_int_equal(
	    decode_raw(CTL_T_ERROR, "\x07\0\0\0\x02\0\x1b[", 8, &m), 0);
	assert_int_equal(
	    decode_raw(CTL_T_HELLO, "\x01\0\x01\0\0\0\0\0\x02\0\x1b[", 12, &m),
	    CTL_E_UTF8);
	assert_int_equal(decode_raw(CTL_T_HELLO,
				    "\x01\0\x01\0\0\0\0\0\x02\0\xc2\x9b", 12,
				    &m),
			 CTL_E_UTF8); /* C1 CSI */
	assert_int_equal(
	    decode_raw(CTL_T_HELLO, "\x01\0\x01\0\0\0\0\0\x01\0\x7f", 11, &m),
	    CTL_E_UTF8);
	assert_int_equal(decode_raw(CTL_T_HELLO,
				    "\x01\0\x01\0\0\0\0\0\x02\0\xc2\xa0", 12,
				    &m),
			 0); /* U+00A0 is not a control */
	assert_int_equal(
	    ctl_encode_hello(buf, sizeof(buf), &len, 0, CTL_ROLE_VMM, "a\tb"),
	    CTL_E_UTF8);

	/* Name: 1..64 bytes. */
	assert_int_equal(
	    decode_raw(CTL_T_HELLO, "\x01\0\x01\0\0\0\0\0\0\0", 10, &m),
	    CTL_E_STRLEN);
	assert_int_equal(
	    ctl_encode_hello(buf, sizeof(buf), &len, 0, CTL_ROLE_VMM, ""),
	    CTL_E_STRLEN);
	memset(name, 'n', sizeof(name));
	name[CTL_NAME_MAX] = '\0';
	assert_int_equal(
	    ctl_encode_hello(buf, sizeof(buf), &len, 0, CTL_ROLE_VMM, name), 0);
	assert_int_equal(ctl_decode(buf, len, &m), 0);
	assert_int_equal(m.u.hello.name.len, CTL_NAME_MAX);
	name[CTL_NAME_MAX] = 'n';
	name[CTL_NAME_MAX + 1] = '\0';
	assert_int_equal(
	    ctl_encode_hello(buf, sizeof(buf), &len, 0, CTL_ROLE_VMM, name),
	    CTL_E_STRLEN);
	memcpy(p, "\x01\0\x01\0\0\0\0\0", 8);
	p[8] = CTL_NAME_MAX + 1;
	p[9] = 0;
	memset(p + 10, 'n', CTL_NAME_MAX + 1);
	assert_int_equal(decode_raw(CTL_T_HELLO, p, 10 + CTL_NAME_MAX + 1, &m),
			 CTL_E_STRLEN);

	/* Detail: at most 256 bytes. */
	memset(p, 0, sizeof(p));
	p[0] = VMSTATE_RUNNING;
	p[20] = (CTL_TEXT_MAX + 1) & 0xff;
	p[21] = (CTL_TEXT_MAX + 1) >> 8;
	memset(p + 22, 'd', CTL_TEXT_MAX + 1);
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22 + CTL_TEXT_MAX + 1, &m),
			 CTL_E_STRLEN);
	p[20] = CTL_TEXT_MAX & 0xff;
	p[21] = CTL_TEXT_MAX >> 8;
	assert_int_equal(decode_raw(CTL_T_STATE, p, 22 + CTL_TEXT_MAX, &m), 0);
}

static void
test_oversize(void **state)
{
	static uint8_t data[CTL_MAX_DATA + 1];
	struct ctl_msg m;
	size_t len;

	(void)state;
	memset(data, 'o', sizeof(data));
	assert_int_equal(ctl_encode_console_out(buf, sizeof(buf), &len, 0, data,
						CTL_MAX_DATA + 1),
			 CTL_E_LENGTH);
	assert_int_equal(
	    ctl_encode_console_out(buf, sizeof(buf), &len, 0, data, 0),
	    CTL_E_LENGTH);
	len = raw(buf, CTL_T_CONSOLE_OUT, 0, 0, data, CTL_MAX_DATA + 1);
	assert_int_equal(len, CTL_MAX_MSG + 1);
	assert_int_equal(ctl_decode(buf, len, &m), CTL_E_TOOBIG);
	assert_int_equal(ctl_decode(buf, len - 1, &m), 0);
}

static void
test_encode_nospace(void **state)
{
	uint8_t small[64];
	size_t len, need;

	(void)state;
	assert_int_equal(ctl_encode_state(small, sizeof(small), &need, 0,
					  VMSTATE_RUNNING, VMSTATE_REASON_NONE,
					  0, 0, "0123456789"),
			 0);
	for (size_t cap = 0; cap < need; cap++)
		assert_int_equal(
		    ctl_encode_state(small, cap, &len, 0, VMSTATE_RUNNING,
				     VMSTATE_REASON_NONE, 0, 0, "0123456789"),
		    CTL_E_NOSPACE);
	assert_int_equal(
	    ctl_encode_hello(small, sizeof(small), &len, 0, CTL_ROLE_VMM, NULL),
	    CTL_E_INVAL);
}

/* Getters and putters consume / write nothing on failure. */
static void
test_getters_consume_nothing(void **state)
{
	static const uint8_t in[] = {0x03, 0x00, 'a', 0xff, 'c', 0x01, 0x02};
	struct rbuf b;
	struct ctl_wbuf w;
	struct ctl_str s;
	uint8_t out[4];

	(void)state;
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(ctl_get_str(&b, 16, false, &s), CTL_E_UTF8);
	assert_int_equal(b.off, 0);
	assert_int_equal(ctl_get_str(&b, 2, false, &s), CTL_E_STRLEN);
	assert_int_equal(b.off, 0);
	assert_int_equal(rbuf_skip(&b, 6), 0);
	assert_int_equal(ctl_get_str(&b, 16, false, &s), CTL_E_SHORT);
	assert_int_equal(b.off, 6);

	ctl_wbuf_init(&w, out, sizeof(out));
	assert_int_equal(ctl_put_u16(&w, 0xbeef), 0);
	assert_int_equal(ctl_put_u32(&w, 1), CTL_E_NOSPACE);
	assert_int_equal(ctl_put_str(&w, "ab", 2, 8, false), CTL_E_NOSPACE);
	assert_int_equal(w.len, 2);
	assert_int_equal(out[0], 0xef);
	assert_int_equal(out[1], 0xbe);
}

static void
test_permissions(void **state)
{
	static const struct {
		uint16_t type;
		bool gw, vmm;
	} table[] = {
	    {CTL_T_HELLO, true, true},
	    {CTL_T_ERROR, true, true},
	    {CTL_T_CONSOLE_OUT, false, true},
	    {CTL_T_CONSOLE_IN, true, false},
	    {CTL_T_CONSOLE_CREDIT, true, true},
	    {CTL_T_CONSOLE_LOST, false, true},
	    {CTL_T_BREAK, true, false},
	    {CTL_T_POWER, true, false},
	    {CTL_T_STATE, false, true},
	    {CTL_T_DISPLAY_CLIENT, true, false},
	    {CTL_T_DISPLAY_INFO, false, true},
	    {CTL_T_SCREENSHOT, true, false},
	    {CTL_T_SCREENSHOT_DONE, false, true},
	    {CTL_T_INPUT_KEY, false, false},
	    {CTL_T_INPUT_POINTER, false, false},
	    {CTL_T_STATS_REQUEST, false, false},
	    {CTL_T_STATS, false, false},
	    {0, false, false},
	    {0x03, false, false},
	    {0xffff, false, false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		assert_int_equal(ctl_allowed(CTL_ROLE_GATEWAY, table[i].type),
				 table[i].gw);
		assert_int_equal(ctl_allowed(CTL_ROLE_VMM, table[i].type),
				 table[i].vmm);
		assert_false(ctl_allowed((enum ctl_role)0, table[i].type));
		assert_false(ctl_allowed((enum ctl_role)3, table[i].type));
	}
}

static void
test_credit(void **state)
{
	struct ctl_credit c = {0};

	(void)state;
	assert_int_equal(ctl_credit_use(&c, 1), CTL_E_CREDIT);
	assert_int_equal(ctl_credit_grant(&c, 0), CTL_E_CREDIT);
	assert_int_equal(ctl_credit_grant(&c, 4096), 0);
	assert_int_equal(ctl_credit_use(&c, 4000), 0);
	assert_int_equal(c.avail, 96);
	assert_int_equal(ctl_credit_use(&c, 97), CTL_E_CREDIT);
	assert_int_equal(c.avail, 96);
	assert_int_equal(ctl_credit_grant(&c, CTL_CREDIT_MAX - 96), 0);
	assert_int_equal(ctl_credit_grant(&c, 1), CTL_E_CREDIT);
	assert_int_equal(c.avail, CTL_CREDIT_MAX);
	assert_int_equal(ctl_credit_use(&c, CTL_CREDIT_MAX), 0);
	assert_int_equal(c.avail, 0);
}

static void
test_names(void **state)
{
	(void)state;
	for (int e = 0; e >= CTL_E_CREDIT; e--)
		assert_string_not_equal(ctl_strerror(e), "?");
	assert_string_equal(ctl_strerror(CTL_E_CREDIT - 1), "?");
	assert_string_equal(ctl_strerror(1), "?");
	assert_string_equal(ctl_type_name(CTL_T_CONSOLE_CREDIT),
			    "CONSOLE_CREDIT");
	assert_string_equal(ctl_type_name(CTL_T_STATS), "STATS");
	assert_string_equal(ctl_type_name(0x03), "?");
	assert_string_equal(ctl_power_name(CTL_POWER_POWEROFF), "poweroff");
	assert_string_equal(ctl_errcode_name(CTL_ERR_NAME), "wrong VM name");
	assert_string_equal(ctl_errcode_name(UINT32_MAX), "?");
}

/* Transport over a real socketpair */

static void
seqpacket_pair(int sv[2])
{
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

/* Sends len bytes and the given fds with a raw sendmsg. */
static void
raw_send(int fd, const uint8_t *p, size_t len, const int *fds, int nfds)
{
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	memset(cbuf, 0, sizeof(cbuf));
	if (nfds > 0) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* True once no write end of the pipe is open anywhere: read sees EOF. */
static bool
pipe_writers_gone(int rd)
{
	char c;

	return read(rd, &c, 1) == 0;
}

static void
test_socket_roundtrip_with_fd(void **state)
{
	int sv[2], pp[2], got = -2;
	struct ctl_msg m;
	size_t len, n;
	char c;

	(void)state;
	seqpacket_pair(sv);
	assert_int_equal(pipe2(pp, O_CLOEXEC | O_NONBLOCK), 0);

	/* Plain message, no fd. */
	assert_int_equal(ctl_encode_hello(buf, sizeof(buf), &len, 0,
					  CTL_ROLE_GATEWAY, "web1"),
			 0);
	assert_int_equal(ctl_send(sv[0], buf, len, -1), 0);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, &got), 0);
	assert_int_equal(got, -1);
	assert_int_equal(n, len);
	assert_int_equal(ctl_decode(rx, n, &m), 0);
	assert_true(str_eq(m.u.hello.name, "web1"));

	/* With the pipe's write end attached. */
	assert_int_equal(ctl_encode_console_in(buf, sizeof(buf), &len, 1,
					       (const uint8_t *)"ls\r", 3),
			 0);
	assert_int_equal(ctl_send(sv[0], buf, len, pp[1]), 0);
	close(pp[1]); /* ours; the message holds its own reference */
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, &got), 0);
	assert_int_equal(n, len);
	assert_true(got >= 0);
	assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(got, "z", 1), 1);
	assert_int_equal(read(pp[0], &c, 1), 1);
	assert_int_equal(c, 'z');
	assert_int_equal(ctl_decode(rx, n, &m), 0);
	assert_int_equal(m.type, CTL_T_CONSOLE_IN);
	assert_memory_equal(m.u.console_in.ptr, "ls\r", 3);
	close(got);
	assert_true(pipe_writers_gone(pp[0]));

	close(pp[0]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_socket_unexpected_fd(void **state)
{
	int sv[2], pp[2], two[2], got = -2;
	size_t len, n;

	(void)state;
	seqpacket_pair(sv);

	/* One fd where none is expected: error, and the fd is closed. */
	assert_int_equal(pipe2(pp, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(ctl_encode_break(buf, sizeof(buf), &len, 0), 0);
	assert_int_equal(ctl_send(sv[0], buf, len, pp[1]), 0);
	close(pp[1]);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL),
			 CTL_E_UNEXPECTED_FD);
	assert_true(pipe_writers_gone(pp[0]));
	close(pp[0]);

	/* Two fds where at most one is: error, both closed. */
	assert_int_equal(pipe2(pp, O_CLOEXEC | O_NONBLOCK), 0);
	two[0] = pp[1];
	two[1] = dup(pp[1]);
	assert_true(two[1] >= 0);
	raw_send(sv[0], buf, len, two, 2);
	close(two[0]);
	close(two[1]);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, &got),
			 CTL_E_UNEXPECTED_FD);
	assert_int_equal(got, -1);
	assert_true(pipe_writers_gone(pp[0]));
	close(pp[0]);

	/* The channel still works for the next packet. */
	assert_int_equal(ctl_send(sv[0], buf, len, -1), 0);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL), 0);
	assert_int_equal(n, len);

	close(sv[0]);
	close(sv[1]);
}

static void
test_socket_eof(void **state)
{
	int sv[2];
	size_t len, n;

	(void)state;
	seqpacket_pair(sv);
	assert_int_equal(ctl_encode_break(buf, sizeof(buf), &len, 0), 0);
	/* A packet queued before the close is still delivered, then EOF. */
	assert_int_equal(ctl_send(sv[0], buf, len, -1), 0);
	close(sv[0]);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL), 0);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL), CTL_E_EOF);
	/* Sending to a gone peer: EOF, and no SIGPIPE kills the test. */
	assert_int_equal(ctl_send(sv[1], buf, len, -1), CTL_E_EOF);
	close(sv[1]);
}

/* ctl_send_data(): the same packet as the encoder's, data not copied. */
static void
test_socket_send_data(void **state)
{
	static uint8_t data[CTL_MAX_DATA + 1];
	static const size_t sizes[] = {1, 2, 1000, CTL_MAX_DATA};
	uint8_t hdr[CTL_HDR_LEN];
	struct ctl_msg m;
	size_t len, n;
	int sv[2];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + 1);
	seqpacket_pair(sv);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(ctl_send_data(sv[0], CTL_T_CONSOLE_OUT,
					       (uint32_t)i, data, sizes[i]),
				 0);
		assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL), 0);
		assert_int_equal(ctl_encode_console_out(buf, sizeof(buf), &len,
							(uint32_t)i, data,
							sizes[i]),
				 0);
		assert_int_equal(n, len);
		assert_memory_equal(rx, buf, len);
		assert_int_equal(ctl_decode(rx, n, &m), 0);
		assert_int_equal(m.type, CTL_T_CONSOLE_OUT);
		assert_int_equal(m.u.console_out.len, sizes[i]);
	}
	assert_int_equal(ctl_send_data(sv[0], CTL_T_CONSOLE_IN, 7, data, 3), 0);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL), 0);
	assert_int_equal(ctl_decode(rx, n, &m), 0);
	assert_int_equal(m.type, CTL_T_CONSOLE_IN);
	assert_int_equal(m.seq, 7);
	assert_memory_equal(m.u.console_in.ptr, data, 3);

	/* Refused without sending anything. */
	assert_int_equal(ctl_send_data(sv[0], CTL_T_CONSOLE_OUT, 0, data, 0),
			 CTL_E_LENGTH);
	assert_int_equal(
	    ctl_send_data(sv[0], CTL_T_CONSOLE_OUT, 0, data, CTL_MAX_DATA + 1),
	    CTL_E_LENGTH);
	assert_int_equal(ctl_send_data(sv[0], CTL_T_STATE, 0, data, 4),
			 CTL_E_TYPE);
	assert_int_equal(ctl_send_data(sv[0], CTL_T_CONSOLE_OUT, 0, NULL, 4),
			 CTL_E_INVAL);
	assert_int_equal(ctl_encode_data_head(hdr, CTL_T_BREAK, 0, 1),
			 CTL_E_TYPE);
	assert_int_equal(recv(sv[1], rx, sizeof(rx), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	close(sv[0]);
	close(sv[1]);
}

static void
test_socket_oversize(void **state)
{
	static uint8_t big[CTL_MAX_MSG + 1];
	int sv[2], pp[2];
	size_t len, n;

	(void)state;
	seqpacket_pair(sv);
	memset(big, 'B', sizeof(big));
	raw(big, CTL_T_CONSOLE_OUT, 0, 0, NULL, 0);

	/* CTL_MAX_MSG exactly passes. */
	assert_int_equal(ctl_send(sv[0], big, CTL_MAX_MSG, -1), 0);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL), 0);
	assert_int_equal(n, CTL_MAX_MSG);

	/* One byte more is refused by ctl_send ... */
	assert_int_equal(ctl_send(sv[0], big, CTL_MAX_MSG + 1, -1),
			 CTL_E_INVAL);
	assert_int_equal(ctl_send(sv[0], big, CTL_HDR_LEN - 1, -1),
			 CTL_E_INVAL);
	/* ... and when a peer sends it anyway (with an fd), ctl_recv reports
	 * it even with a larger buffer, instead of truncating, and closes the
	 * fd. */
	assert_int_equal(pipe2(pp, O_CLOEXEC | O_NONBLOCK), 0);
	raw_send(sv[0], big, CTL_MAX_MSG + 1, &pp[1], 1);
	close(pp[1]);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL),
			 CTL_E_TRUNC);
	assert_true(pipe_writers_gone(pp[0]));
	close(pp[0]);

	/* A packet larger than the caller's buffer. */
	assert_int_equal(
	    ctl_encode_power(buf, sizeof(buf), &len, 0, CTL_POWER_PAUSE), 0);
	assert_int_equal(ctl_send(sv[0], buf, len, -1), 0);
	assert_int_equal(ctl_recv(sv[1], rx, len - 1, &n, NULL), CTL_E_TRUNC);

	/* The oversize packets were consumed whole: the next one is intact. */
	assert_int_equal(ctl_send(sv[0], buf, len, -1), 0);
	assert_int_equal(ctl_recv(sv[1], rx, len, &n, NULL), 0);
	assert_int_equal(n, len);
	assert_memory_equal(rx, buf, len);

	close(sv[0]);
	close(sv[1]);
}

static void
test_socket_nonblocking(void **state)
{
	int sv[2];
	size_t n;

	(void)state;
	assert_int_equal(
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		       0, sv),
	    0);
	assert_int_equal(ctl_recv(sv[1], rx, sizeof(rx), &n, NULL),
			 CTL_E_AGAIN);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_roundtrip),
	    cmocka_unit_test(test_error_roundtrip),
	    cmocka_unit_test(test_console_roundtrip),
	    cmocka_unit_test(test_small_roundtrips),
	    cmocka_unit_test(test_state_roundtrip),
	    cmocka_unit_test(test_short_header),
	    cmocka_unit_test(test_unknown_type_and_flags),
	    cmocka_unit_test(test_wrong_length),
	    cmocka_unit_test(test_every_prefix_rejected),
	    cmocka_unit_test(test_trailing_bytes),
	    cmocka_unit_test(test_bad_enums),
	    cmocka_unit_test(test_reserved_and_version),
	    cmocka_unit_test(test_display_messages),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_oversize),
	    cmocka_unit_test(test_encode_nospace),
	    cmocka_unit_test(test_getters_consume_nothing),
	    cmocka_unit_test(test_permissions),
	    cmocka_unit_test(test_credit),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_socket_roundtrip_with_fd),
	    cmocka_unit_test(test_socket_unexpected_fd),
	    cmocka_unit_test(test_socket_eof),
	    cmocka_unit_test(test_socket_oversize),
	    cmocka_unit_test(test_socket_send_data),
	    cmocka_unit_test(test_socket_nonblocking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
