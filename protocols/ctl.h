/*
 * The gateway <-> VMM control channel (DESIGN.md §2, §5).
 *
 * Transport
 * ---------
 * One AF_UNIX SOCK_SEQPACKET socketpair per VM, created by the gateway
 * (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)); one end is
 * inherited by vmgate-vmm. One packet is one message. File descriptors travel
 * as SCM_RIGHTS ancillary data on the packet they belong to. The monitor also
 * runs without the channel (`--console stdio`); nothing here is needed then.
 *
 * Packet = header + payload, at most CTL_MAX_MSG (64 KiB) bytes in all.
 * Every integer is little-endian and is read and written byte by byte:
 *
 *	offset	size	field
 *	0	u16	type	CTL_T_* below
 *	2	u16	flags	must be 0 in version 1
 *	4	u32	seq	see "Sequence numbers"
 *	8	...	payload, layout fixed per type
 *
 * A string on the wire is a u16 byte length followed by that many bytes of
 * UTF-8 (no terminating NUL). It must be well-formed UTF-8 (no overlong forms,
 * no surrogates, nothing above U+10FFFF) and contain no NUL. VM names must in
 * addition contain no control character (C0, DEL, C1). Other strings may
 * contain control characters: escape them before they reach a log or a
 * terminal.
 *
 * Every payload has exactly the length its fields add up to: a packet with
 * bytes left over after the last field is malformed (CTL_E_TRAILING), as is
 * one that ends inside a field (CTL_E_SHORT).
 *
 * Messages (version 1)
 * --------------------
 *  type  name            from      payload
 *  0x01  HELLO           both      u16 version, u16 role, u32 reserved (0),
 *                                  str name (1..CTL_NAME_MAX bytes)
 *  0x02  ERROR           both      u32 code (enum ctl_errcode),
 *                                  str text (0..CTL_TEXT_MAX bytes)
 *  0x10  CONSOLE_OUT     vmm->gw   1..CTL_MAX_DATA raw bytes (rest of packet)
 *  0x11  CONSOLE_IN      gw->vmm   1..CTL_MAX_DATA raw bytes (rest of packet)
 *  0x12  CONSOLE_CREDIT  both      u32 bytes (1..CTL_CREDIT_MAX)
 *  0x13  CONSOLE_LOST    vmm->gw   u64 bytes (>= 1)
 *  0x14  BREAK           gw->vmm   empty
 *  0x20  POWER           gw->vmm   u32 action (enum ctl_power)
 *  0x21  STATE           vmm->gw   u32 state (enum vmstate, vmstate.h),
 *                                  u32 reason (enum vmstate_reason),
 *                                  u64 rip, u32 cpu,
 *                                  str detail (0..CTL_TEXT_MAX bytes)
 *  0x30  DISPLAY_CLIENT  gw->vmm   + 1 fd, u32 rights (enum ctl_display_rights)
 *  0x31  DISPLAY_INFO    vmm->gw   u32 width, u32 height
 *                                  (1..CTL_DISPLAY_MAX pixels each)
 *  0x32  SCREENSHOT      gw->vmm   + 1 fd, empty
 *  0x33  SCREENSHOT_DONE vmm->gw   u64 bytes (>= 1)
 * Reserved for later versions (ctl_decode() rejects them with CTL_E_TYPE and
 * ctl_allowed() refuses them; numbers must not be reused for anything else):
 *  0x40  INPUT_KEY       gw->vmm   key events
 *  0x41  INPUT_POINTER   gw->vmm   pointer events
 *  0x50  STATS_REQUEST   gw->vmm   ask for counters
 *  0x51  STATS           vmm->gw   counters
 * Type 0 is never valid.
 *
 * HELLO: the first message each way, sent once. The gateway's HELLO names the
 *   VM it expects, the VMM's names the VM it runs; the gateway compares them.
 *   The header (flags 0) and the leading u16 version are the only parts fixed
 *   across versions: ctl_decode() checks the version before anything after
 *   it and returns CTL_E_VERSION on a mismatch (out->u.hello.version then
 *   holds the peer's version). Version mismatch, a wrong role, a name
 *   mismatch, a second HELLO, or any other message before HELLO: send ERROR
 *   (VERSION / PROTOCOL / NAME) and close.
 * ERROR: codes PROTOCOL, VERSION, NOT_PERMITTED and NAME are fatal: their
 *   sender closes the channel right after sending; the receiver logs the
 *   (escaped) text and closes too. INVALID_STATE, UNSUPPORTED and INTERNAL
 *   answer one request (header seq = the request's seq) and the channel
 *   stays up.
 * CONSOLE_OUT / CONSOLE_IN: bytes the guest wrote to its UART / bytes to type
 *   into it, in order. Each byte counts against the flow-control credit the
 *   receiver granted (below); the header and other messages do not.
 * CONSOLE_CREDIT: "I can accept this many more CONSOLE_* payload bytes from
 *   you". Credit adds up; the outstanding total may never exceed
 *   CTL_CREDIT_MAX. Both sides start with zero credit to spend and grant
 *   their initial credit right after HELLO.
 * CONSOLE_LOST: the VMM overwrote this many console bytes (oldest first)
 *   since its previous CONSOLE_LOST. Sent in stream order, just before the
 *   next CONSOLE_OUT, so the gateway can put a visible marker at the gap.
 * BREAK: assert a serial break (LSR.BI) on the guest UART.
 * POWER: PAUSE stops the vCPUs, RESUME restarts them, RESET resets the VM
 *   (REBOOTING then RUNNING), POWEROFF is a hard stop (there is no guest
 *   visible power button in version 1). The VMM answers with STATE or with
 *   ERROR INVALID_STATE / UNSUPPORTED, carrying the request's seq.
 * DISPLAY_CLIENT: a VNC viewer the gateway has authenticated and
 *   authorized, as the fd of a connected stream (a socketpair end) on which
 *   the monitor's VNC server speaks RFB from the first byte (ProtocolVersion).
 *   VIEW: the viewer's keys, pointer and clipboard never reach the guest;
 *   CONTROL: they do.  No answer on success; ERROR UNSUPPORTED (no display)
 *   or INVALID_STATE (too many viewers) with the request's seq, the fd then
 *   closed.  A DISPLAY_CLIENT without its fd is malformed (the receiver
 *   treats it as a protocol error).
 * DISPLAY_INFO: the VM has a display of this size; sent once after HELLO by
 *   a monitor with a display (none: no display, and DISPLAY_CLIENT and
 *   SCREENSHOT get ERROR UNSUPPORTED).
 * SCREENSHOT: write a PNG of the screen into the fd (a regular file or a
 *   memfd, written from offset 0 and truncated to the PNG's length; a pipe
 *   or socket is refused, the monitor's loop must never wait on it).
 *   Answered by SCREENSHOT_DONE with the PNG's length, or ERROR, with the
 *   request's seq.
 * STATE: VM state changes, sent when they happen (and once after HELLO).
 *   cpu is the vCPU the reason concerns, with rip its instruction pointer;
 *   cpu == CTL_CPU_NONE when no vCPU is concerned, and rip must be 0 then
 *   (CTL_E_RESERVED otherwise).
 *
 * Sequence numbers: a request (POWER, BREAK) carries a seq of the sender's
 * choosing; a message answering a request carries that request's seq;
 * anything else carries 0. ctl_decode() does not interpret seq.
 *
 * Console flow control policy
 * ---------------------------
 * Guest output (vmm->gw): a vCPU writing the UART never waits for the
 * gateway. Its bytes go into a bounded ring in the VMM (64 KiB is a good
 * size); the VMM's control loop sends them in CONSOLE_OUT packets no larger
 * than the credit the gateway has granted. When the ring is full the oldest
 * bytes are overwritten and counted; the count goes out as CONSOLE_LOST
 * before the next CONSOLE_OUT. So a slow or stuck gateway costs the VMM one
 * ring, never a blocked vCPU, and costs the gateway at most the credit it
 * chose to grant: a VMM that sends more than its credit is a protocol
 * violation (ERROR PROTOCOL, close), which bounds what a compromised VMM can
 * make the gateway buffer.
 * Guest input (gw->vmm): the VMM grants credit equal to the free space of its
 * UART input queue and re-grants as the guest drains it; the gateway stops
 * reading from its clients while it has no credit (backpressure towards the
 * users, no input is ever dropped). A gateway that overruns its credit is a
 * protocol violation for the VMM.
 * struct ctl_credit below keeps either account.
 *
 * Receive path (either side)
 * --------------------------
 *	r = ctl_recv(fd, buf, sizeof(buf), &len, NULL);  - fd-less in v1
 *	r = ctl_decode(buf, len, &msg);
 *	if (!ctl_allowed(peer_role, msg.type)) -> ERROR NOT_PERMITTED, close
 *	dispatch through a table indexed by msg.type.
 * Any error from ctl_recv() or ctl_decode() ends the peer: send ERROR
 * PROTOCOL (or VERSION) if the channel still works, then close. Never exit
 * the process because of what the peer sent (STYLE.md).
 *
 * Errors: every function returning int returns 0 on success or a negative
 * CTL_E_* code; ctl_strerror() describes it. No function allocates memory.
 */
#ifndef VMGATE_PROTOCOLS_CTL_H
#define VMGATE_PROTOCOLS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rbuf.h"
#include "vmstate.h"

#define CTL_VERSION 1
#define CTL_HDR_LEN 8
#define CTL_MAX_MSG 65536 /* whole packet, header included */
#define CTL_MAX_PAYLOAD (CTL_MAX_MSG - CTL_HDR_LEN)
#define CTL_MAX_DATA CTL_MAX_PAYLOAD /* CONSOLE_OUT / CONSOLE_IN bytes */
#define CTL_NAME_MAX 64		     /* HELLO name, bytes */
#define CTL_TEXT_MAX 256	     /* STATE detail, ERROR text, bytes */
#define CTL_CREDIT_MAX (1u << 20)    /* outstanding console credit, bytes */
#define CTL_CPU_NONE UINT32_MAX

enum ctl_type {
	CTL_T_HELLO = 0x01,
	CTL_T_ERROR = 0x02,
	CTL_T_CONSOLE_OUT = 0x10,
	CTL_T_CONSOLE_IN = 0x11,
	CTL_T_CONSOLE_CREDIT = 0x12,
	CTL_T_CONSOLE_LOST = 0x13,
	CTL_T_BREAK = 0x14,
	CTL_T_POWER = 0x20,
	CTL_T_STATE = 0x21,
	CTL_T_DISPLAY_CLIENT = 0x30,
	CTL_T_DISPLAY_INFO = 0x31,
	CTL_T_SCREENSHOT = 0x32,
	CTL_T_SCREENSHOT_DONE = 0x33,
	/* reserved, not implemented in version 1 */
	CTL_T_INPUT_KEY = 0x40,
	CTL_T_INPUT_POINTER = 0x41,
	CTL_T_STATS_REQUEST = 0x50,
	CTL_T_STATS = 0x51,
};

enum ctl_display_rights {
	CTL_DISPLAY_VIEW = 1,	 /* watch only */
	CTL_DISPLAY_CONTROL = 2, /* watch, type and point */
};

#define CTL_DISPLAY_MAX 16384 /* DISPLAY_INFO width and height, pixels */

enum ctl_role {
	CTL_ROLE_GATEWAY = 1,
	CTL_ROLE_VMM = 2,
};

enum ctl_power {
	CTL_POWER_PAUSE = 1,
	CTL_POWER_RESUME = 2,
	CTL_POWER_RESET = 3,
	CTL_POWER_POWEROFF = 4, /* hard stop */
};

enum ctl_errcode {
	CTL_ERR_PROTOCOL = 1,	   /* fatal: malformed/unexpected message */
	CTL_ERR_VERSION = 2,	   /* fatal: HELLO version mismatch */
	CTL_ERR_NOT_PERMITTED = 3, /* fatal: type not allowed from sender */
	CTL_ERR_NAME = 4,	   /* fatal: HELLO names another VM */
	CTL_ERR_INVALID_STATE = 5, /* request impossible in current state */
	CTL_ERR_UNSUPPORTED = 6,   /* request this monitor cannot do */
	CTL_ERR_INTERNAL = 7,	   /* request failed on the sender's side */
};

/* Negative return codes of this module. */
enum {
	CTL_E_SHORT = -1,	   /* input ends inside a header or field */
	CTL_E_TRAILING = -2,	   /* bytes left after the last field */
	CTL_E_TYPE = -3,	   /* unknown or reserved message type */
	CTL_E_FLAGS = -4,	   /* header flags not 0 */
	CTL_E_LENGTH = -5,	   /* empty console data, bad count */
	CTL_E_ENUM = -6,	   /* enum field out of range */
	CTL_E_RESERVED = -7,	   /* reserved field not 0 */
	CTL_E_STRLEN = -8,	   /* string too long, or empty name */
	CTL_E_UTF8 = -9,	   /* string not valid UTF-8, NUL or control */
	CTL_E_VERSION = -10,	   /* HELLO version != CTL_VERSION */
	CTL_E_TOOBIG = -11,	   /* packet longer than CTL_MAX_MSG */
	CTL_E_NOSPACE = -12,	   /* caller's buffer too small */
	CTL_E_INVAL = -13,	   /* bad argument from the caller */
	CTL_E_SYS = -14,	   /* system call failed, errno says why */
	CTL_E_AGAIN = -15,	   /* non-blocking socket not ready */
	CTL_E_EOF = -16,	   /* peer closed the channel */
	CTL_E_TRUNC = -17,	   /* received packet larger than buffer */
	CTL_E_UNEXPECTED_FD = -18, /* fd(s) arrived where none allowed */
	CTL_E_CREDIT = -19,	   /* flow-control credit over/underrun */
};

/* A string inside a packet: not NUL-terminated, ptr valid while pkt is. */
struct ctl_str {
	const char *ptr;
	size_t len;
};

/* Raw bytes inside a packet. */
struct ctl_data {
	const uint8_t *ptr;
	size_t len;
};

/*
 * A decoded message. Pointers refer into the packet passed to ctl_decode()
 * and are valid as long as it is. Also the input of ctl_encode().
 */
/* A count of bytes, never 0 (CONSOLE_LOST, SCREENSHOT_DONE). */
struct ctl_count {
	uint64_t bytes;
};

struct ctl_msg {
	uint16_t type; /* enum ctl_type; selects the union member */
	uint16_t flags;
	uint32_t seq;
	union {
		struct {
			uint16_t version;
			enum ctl_role role;
			struct ctl_str name;
		} hello;
		struct {
			enum ctl_errcode code;
			struct ctl_str text;
		} error;
		struct ctl_data console_out;
		struct ctl_data console_in;
		struct {
			uint32_t bytes;
		} credit;
		struct ctl_count lost;
		struct {
			enum ctl_power action;
		} power;
		struct {
			enum vmstate state; /* VMSTATE_RUNNING..WIRE_LAST */
			enum vmstate_reason reason;
			uint64_t rip;
			uint32_t cpu;
			struct ctl_str detail;
		} state;
		struct {
			enum ctl_display_rights rights;
		} display_client;
		struct {
			uint32_t width, height;
		} display_info;
		struct ctl_count screenshot_done;
	} u;
};

/*
 * A control-channel string from a bounds-checked reader (protocols/rbuf.h):
 * u16 length + UTF-8 bytes, length <= max (see ctl_utf8_valid()).  Succeeds
 * and advances the cursor, or fails with CTL_E_SHORT / CTL_E_STRLEN /
 * CTL_E_UTF8 and consumes nothing.
 */
int ctl_get_str(struct rbuf *b, size_t max, bool no_controls,
		struct ctl_str *s);

/*
 * Writer into a caller buffer. Every putter either writes everything and
 * advances len, or fails with CTL_E_NOSPACE (or, for strings, CTL_E_STRLEN /
 * CTL_E_UTF8) and writes nothing.
 */
struct ctl_wbuf {
	uint8_t *p;
	size_t cap;
	size_t len;
};

void ctl_wbuf_init(struct ctl_wbuf *b, uint8_t *p, size_t cap);
int ctl_put_u8(struct ctl_wbuf *b, uint8_t v);
int ctl_put_u16(struct ctl_wbuf *b, uint16_t v);
int ctl_put_u32(struct ctl_wbuf *b, uint32_t v);
int ctl_put_u64(struct ctl_wbuf *b, uint64_t v);
int ctl_put_bytes(struct ctl_wbuf *b, const void *p, size_t n);
int ctl_put_str(struct ctl_wbuf *b, const char *s, size_t len, size_t max,
		bool no_controls);

/*
 * True if s[0..len) is well-formed UTF-8 without NUL (and, with
 * no_controls, without U+0001..U+001F, U+007F and U+0080..U+009F).
 */
bool ctl_utf8_valid(const char *s, size_t len, bool no_controls);

/*
 * Parses one packet. Checks the header (CTL_E_SHORT, CTL_E_FLAGS,
 * CTL_E_TYPE for unknown and reserved types), then the payload exactly as
 * documented above: CTL_E_SHORT, CTL_E_TRAILING, CTL_E_LENGTH, CTL_E_ENUM,
 * CTL_E_RESERVED, CTL_E_STRLEN, CTL_E_UTF8, CTL_E_VERSION, CTL_E_TOOBIG
 * (len > CTL_MAX_MSG). Never allocates; *out points into pkt. On error *out
 * is unspecified, except after CTL_E_VERSION (see HELLO).
 */
int ctl_decode(const uint8_t *pkt, size_t len, struct ctl_msg *out);

/*
 * Writes the packet for *m (type, flags, seq and the matching union member)
 * into buf and sets *len. Validates like ctl_decode() so that nothing is sent
 * that the peer would reject: CTL_E_TYPE, CTL_E_FLAGS, CTL_E_ENUM,
 * CTL_E_LENGTH, CTL_E_STRLEN, CTL_E_UTF8, CTL_E_NOSPACE (nothing useful is
 * in buf then). For HELLO, m->u.hello.version is ignored: CTL_VERSION is
 * sent. A buffer of CTL_MAX_MSG bytes is always large enough.
 */
int ctl_encode(const struct ctl_msg *m, uint8_t *buf, size_t cap, size_t *len);

/* Per-message shorthands for ctl_encode(); strings are NUL-terminated. */
int ctl_encode_hello(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		     enum ctl_role role, const char *name);
int ctl_encode_error(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		     enum ctl_errcode code, const char *text);
int ctl_encode_console_out(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			   const uint8_t *data, size_t n);
int ctl_encode_console_in(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			  const uint8_t *data, size_t n);
int ctl_encode_console_credit(uint8_t *buf, size_t cap, size_t *len,
			      uint32_t seq, uint32_t bytes);
int ctl_encode_console_lost(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			    uint64_t bytes);
int ctl_encode_break(uint8_t *buf, size_t cap, size_t *len, uint32_t seq);
int ctl_encode_power(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		     enum ctl_power action);
/* detail may be NULL (empty). */
int ctl_encode_state(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
		     enum vmstate state, enum vmstate_reason reason,
		     uint64_t rip, uint32_t cpu, const char *detail);

int ctl_encode_display_client(uint8_t *buf, size_t cap, size_t *len,
			      uint32_t seq, enum ctl_display_rights rights);
int ctl_encode_display_info(uint8_t *buf, size_t cap, size_t *len, uint32_t seq,
			    uint32_t width, uint32_t height);
int ctl_encode_screenshot(uint8_t *buf, size_t cap, size_t *len, uint32_t seq);
int ctl_encode_screenshot_done(uint8_t *buf, size_t cap, size_t *len,
			       uint32_t seq, uint64_t bytes);

/*
 * True for the types that carry one fd (DISPLAY_CLIENT, SCREENSHOT): the
 * receiver passes fd_out to ctl_recv() and, for these types only, requires
 * an fd; for any other type a received fd is a protocol error.
 */
bool ctl_carries_fd(uint16_t type);

/*
 * The permission table: true if a peer of role `sender` may send `type`.
 * False for unknown and reserved types and unknown roles. A false answer
 * ends the peer (ERROR NOT_PERMITTED, close).
 */
bool ctl_allowed(enum ctl_role sender, uint16_t type);

/*
 * Sends one packet (CTL_HDR_LEN <= len <= CTL_MAX_MSG, else CTL_E_INVAL)
 * and, if pass_fd >= 0, that fd with it (SCM_RIGHTS). The caller keeps
 * ownership of pass_fd. Retries on EINTR; never raises SIGPIPE.
 * Returns 0, CTL_E_AGAIN (non-blocking fd, nothing sent), CTL_E_EOF (peer
 * gone), or CTL_E_SYS (errno set).
 */
int ctl_send(int fd, const uint8_t *pkt, size_t len, int pass_fd);

/*
 * CONSOLE_OUT or CONSOLE_IN (type) of n bytes of data that stay where the
 * caller has them: ctl_send_data() builds the header on its stack and sends
 * it and the data as one packet (sendmsg with two iovecs), the very bytes
 * ctl_encode_console_out()/_in() would make, without copying the data.
 * ctl_encode_data_head() writes that header (CTL_HDR_LEN bytes) into hdr.
 * Both return CTL_E_TYPE for another type, CTL_E_LENGTH for n == 0 or
 * n > CTL_MAX_DATA, CTL_E_INVAL for a NULL data; ctl_send_data() then
 * returns as ctl_send().
 */
int ctl_encode_data_head(uint8_t *hdr, uint16_t type, uint32_t seq, size_t n);
int ctl_send_data(int fd, uint16_t type, uint32_t seq, const uint8_t *data,
		  size_t n);

/*
 * Receives one packet into buf (cap bytes; CTL_MAX_MSG is enough) and sets
 * *len. Received fds are close-on-exec. With fd_out == NULL no fd is
 * expected; with fd_out != NULL at most one is, stored in *fd_out (-1 if
 * none) and then owned by the caller. Retries on EINTR.
 * Returns 0, or: CTL_E_EOF (peer closed; a zero-length packet counts as
 * that, the protocol has none), CTL_E_TRUNC (packet larger than cap or
 * CTL_MAX_MSG; it is discarded, not truncated), CTL_E_UNEXPECTED_FD (fds
 * where none or more than one were allowed, or unknown ancillary data; all
 * received fds are closed), CTL_E_AGAIN, CTL_E_SYS (errno set). On error
 * *fd_out is -1 and no fd is left open.
 */
int ctl_recv(int fd, uint8_t *buf, size_t cap, size_t *len, int *fd_out);

/*
 * One direction's console flow-control account (see the policy above).
 * The side granting credit calls ctl_credit_grant() when it sends
 * CONSOLE_CREDIT and ctl_credit_use() when data arrives; the side spending
 * it calls ctl_credit_grant() when CONSOLE_CREDIT arrives and
 * ctl_credit_use() for what it sends. Both fail with CTL_E_CREDIT and
 * change nothing if the account would exceed CTL_CREDIT_MAX or go below 0
 * (or n is 0 for a grant): on received traffic, a protocol violation.
 */
struct ctl_credit {
	uint32_t avail;
};

int ctl_credit_grant(struct ctl_credit *c, uint32_t n);
int ctl_credit_use(struct ctl_credit *c, size_t n);

/* Names for logs; "?" for values out of range. */
const char *ctl_strerror(int code);
const char *ctl_type_name(uint16_t type);
const char *ctl_power_name(uint32_t action);
const char *ctl_errcode_name(uint32_t code);

#endif /* VMGATE_PROTOCOLS_CTL_H */
