/*
 * rfbfront: the server side of the RFB security handshake that the gateway
 * speaks to a VNC viewer on a direct VNC listener (DESIGN.md §5, issue 11
 * paths 2 and 3).  Pure: no sockets, no TLS, no clock, no crypto.  Bytes
 * from the viewer go in, bytes for the viewer come out, and the handshake
 * stops at the points where the caller must act (start TLS, check a
 * password or a ticket).  After DONE the viewer is authenticated; the
 * caller completes the handshake with the monitor's VNC server (which
 * sends its own ServerInit) and relays bytes from ClientInit on.
 *
 * What goes over the wire (RFC 6143 §7.1, §7.2; VeNCrypt as in the
 * community RFB specification, "VeNCrypt Security Type", version 0.2).
 * All integers are big-endian.
 *
 *   server                               client
 *   "RFB 003.008\n"                  ->
 *                                    <-  "RFB 003.00N\n"    (N = 7 or 8)
 *   u8 n, u8 types[n]                ->                     (19, then 2)
 *                                    <-  u8 type
 * VeNCrypt (19):
 *   u8 0, u8 2  (version 0.2)        ->
 *                                    <-  u8 major, u8 minor (must be 0.2)
 *   u8 0 (ok; 0xff and close: other) ->
 *   u8 n, u32 subtypes[n]            ->                     (262, 259)
 *                                    <-  u32 subtype
 *   u8 1 (ok; 0 and close: other)    ->
 *   ---- TLS handshake: the server side of TLS starts here (NEED_TLS) ----
 *                                    <-  u32 ulen, u32 plen, user, pass
 *   u32 SecurityResult [+ reason]    ->                     (CREDENTIALS)
 * Classic VNC authentication (2), only with tickets enabled:
 *   u8 challenge[16]                 ->
 *                                    <-  u8 response[16]    (TICKET_RESPONSE)
 *   u32 SecurityResult [+ reason]    ->
 * SecurityResult is 0 (ok) or 1 (failed); with 3.8 a failure carries a
 * reason (u32 length + text), with 3.7 it does not.
 *
 * Versions: 3.8 and 3.7 are accepted.  Both let the client choose from a
 * list of security types, which VeNCrypt needs; 3.7 differs on our path
 * only in sending no reason after a failed SecurityResult.  3.3 (and any
 * other well-formed version, which RFC 6143 §7.1.1 says to treat as 3.3)
 * is refused: in 3.3 the server imposes one type without a list, no
 * VeNCrypt client negotiates that way, and every maintained viewer speaks
 * 3.8.  The refusal uses 3.3's own form (security type 0 + reason), so
 * such a viewer shows why.  A first line that is not "RFB ddd.ddd\n" is
 * not a VNC viewer: FAILED with nothing sent.
 *
 * Sub-types: X509Plain (262, TLS with the server's certificate) and
 * TLSPlain (259, anonymous TLS) only, both username + password.  Which one
 * was chosen is rfbfront_subtype(); the caller sets TLS up accordingly.
 * TLSPlain has no certificate: it needs anonymous (aNULL) TLS 1.2 cipher
 * suites, which TLS 1.3 does not have and scanners flag as weak; offer it
 * only where the configuration asks for it.
 *
 * Using it
 * --------
 *	f = rfbfront_new(&cfg);                 - queues "RFB 003.008\n"
 *	loop:
 *	  rfbfront_output(f, &p, &n): send those n bytes (in the clear before
 *	      NEED_TLS has been handled, inside TLS after);
 *	  switch (rfbfront_event(f)):
 *	  NONE: read more; append to the unconsumed bytes and call
 *	      used = rfbfront_input(f, buf, len); drop `used` bytes.
 *	  NEED_TLS: send the pending output in the clear first (it ends with
 *	      the sub-type's "accepted" byte), then run the TLS server
 *	      handshake on the connection.  Bytes the client sent after its
 *	      sub-type (input not consumed) are the start of TLS, never RFB:
 *	      hand them to TLS.  Then rfbfront_tls_ready(f) and go on with the
 *	      decrypted stream.
 *	  CREDENTIALS: rfbfront_credentials(); check them; rfbfront_accept()
 *	      or rfbfront_reject(reason).
 *	  TICKET_RESPONSE: rfbfront_ticket_response() is the client's 16-byte
 *	      DES response to the challenge of the config; check it against
 *	      the tickets; rfbfront_accept() or rfbfront_reject().
 *	  DONE: send the pending output (SecurityResult ok); the viewer is in.
 *	      Unconsumed input and what follows is the viewer's ClientInit
 *	      and later messages: the caller's to relay.
 *	  FAILED: send the pending output (it tells the viewer why, when the
 *	      protocol has a way to), log rfbfront_reason(), close.
 *
 * Input: rfbfront_input() takes the bytes the client has sent so far that
 * it has not consumed yet, processes every whole message among them and
 * returns how many bytes that was; a message cut short consumes nothing
 * (call again with more).  No message is longer than RFBFRONT_INPUT_MAX
 * bytes, so a caller buffer of that size always makes progress.  Lengths
 * over the caps are refused as soon as the length fields are in, without
 * waiting for the strings.  While an event other than NONE is pending,
 * input consumes nothing, except during CREDENTIALS / TICKET_RESPONSE:
 * the client must wait for the SecurityResult there, so any byte from it
 * is out of turn and ends the handshake (FAILED, SecurityResult failed).
 *
 * Output: all of it is bounded by the protocol (at most RFBFRONT_OUTPUT_MAX
 * bytes over the whole handshake), so it is kept in the object whether or
 * not the caller takes it.
 *
 * Memory: one allocation of fixed size per handshake; credentials and the
 * ticket response are copied in and wiped (explicit_bzero) on accept,
 * reject, failure and free.
 *
 * Reasons (rfbfront_reason(), and what a 3.8 client is told) are our own
 * text with numbers from the client at most, never client text: safe to
 * log.  Credentials are client text: escape them before logging.
 */
#ifndef VMGATE_PROTOCOLS_RFBFRONT_H
#define VMGATE_PROTOCOLS_RFBFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RFBFRONT_SEC_VNCAUTH 2
#define RFBFRONT_SEC_VENCRYPT 19
#define RFBFRONT_VENCRYPT_TLSPLAIN 259
#define RFBFRONT_VENCRYPT_X509PLAIN 262

#define RFBFRONT_USER_MAX 255  /* Plain username, bytes */
#define RFBFRONT_PASS_MAX 1024 /* Plain password, bytes */
#define RFBFRONT_CHALLENGE_LEN 16
#define RFBFRONT_REASON_MAX 200 /* failure reasons, bytes (longer: cut) */
/* The longest client message: Plain credentials at their caps. */
#define RFBFRONT_INPUT_MAX (8 + RFBFRONT_USER_MAX + RFBFRONT_PASS_MAX)
#define RFBFRONT_OUTPUT_MAX 512

/* What the handshake waits for; see "Using it" above. */
enum rfbfront_event {
	RFBFRONT_EV_NONE = 0,	     /* more input from the client */
	RFBFRONT_EV_NEED_TLS,	     /* flush output, start TLS, tls_ready() */
	RFBFRONT_EV_CREDENTIALS,     /* check credentials(), accept/reject */
	RFBFRONT_EV_TICKET_RESPONSE, /* check ticket_response(), accept/reject
				      */
	RFBFRONT_EV_DONE,	     /* authenticated: flush output, relay */
	RFBFRONT_EV_FAILED,	     /* flush output, log reason(), close */
};

/* Sub-types to offer in VeNCrypt (rfbfront_config.vencrypt). */
#define RFBFRONT_OFFER_X509PLAIN 0x1u
#define RFBFRONT_OFFER_TLSPLAIN 0x2u

struct rfbfront_config {
	/* RFBFRONT_OFFER_* bits; VeNCrypt is offered when any is set,
	 * X509Plain before TLSPlain. */
	unsigned vencrypt;
	/* Offer classic VNC authentication (type 2) for one-time tickets.
	 * The caller decides where that is allowed (issue 11: only with
	 * tickets enabled and only on TLS or loopback listeners). */
	bool tickets;
	/* The challenge sent with classic VNC authentication: fresh random
	 * bytes per connection (unused without tickets). */
	uint8_t challenge[RFBFRONT_CHALLENGE_LEN];
};

/* Negative return codes. */
enum {
	RFBFRONT_E_STATE = -1, /* called in a state where it makes no sense */
	RFBFRONT_E_INVAL = -2, /* bad argument */
};

struct rfbfront;

/*
 * A handshake with the server's ProtocolVersion queued as output.  NULL
 * with errno EINVAL if cfg offers nothing (no sub-type and no tickets) or
 * has unknown bits, ENOMEM if out of memory.
 */
struct rfbfront *rfbfront_new(const struct rfbfront_config *cfg);
/* Wipes what the client sent and frees; NULL is fine. */
void rfbfront_free(struct rfbfront *f);

/* Consumes whole client messages from data[0..len); see "Input". */
size_t rfbfront_input(struct rfbfront *f, const void *data, size_t len);

/*
 * Hands over the output queued since the last call: *p (valid until the
 * next call of any rfbfront function on f) and *n (0 when none).  The
 * caller must send all of it, in order.
 */
void rfbfront_output(struct rfbfront *f, const uint8_t **p, size_t *n);

enum rfbfront_event rfbfront_event(const struct rfbfront *f);

/* During NEED_TLS: TLS is up, Plain credentials come next.  0, or
 * RFBFRONT_E_STATE in any other state. */
int rfbfront_tls_ready(struct rfbfront *f);

/*
 * During CREDENTIALS: the username (1..RFBFRONT_USER_MAX bytes of UTF-8
 * without control characters) and password (0..RFBFRONT_PASS_MAX bytes,
 * no NUL), both also NUL-terminated, valid until accept/reject/free.
 * Clients sending anything else were refused before this point.
 * RFBFRONT_E_STATE in any other state.
 */
int rfbfront_credentials(const struct rfbfront *f, const char **user,
			 size_t *ulen, const char **pass, size_t *plen);

/* During TICKET_RESPONSE: the 16 bytes the client answered the challenge
 * with; NULL in any other state. */
const uint8_t *rfbfront_ticket_response(const struct rfbfront *f);

/*
 * During CREDENTIALS or TICKET_RESPONSE: queue SecurityResult ok (then
 * DONE) or failed with reason (NULL: "authentication failed"; cut to
 * RFBFRONT_REASON_MAX bytes; then FAILED).  Both wipe what the client
 * sent.  0, or RFBFRONT_E_STATE in any other state.
 */
int rfbfront_accept(struct rfbfront *f);
int rfbfront_reject(struct rfbfront *f, const char *reason);

/* The negotiated minor version (7 or 8), 0 before the client's version. */
int rfbfront_version(const struct rfbfront *f);
/* The security type (2 or 19) the client chose, 0 before that. */
int rfbfront_sectype(const struct rfbfront *f);
/* The VeNCrypt sub-type accepted (259 or 262), 0 before or without it. */
uint32_t rfbfront_subtype(const struct rfbfront *f);
/* Why the handshake FAILED ("" otherwise); NUL-terminated, safe to log. */
const char *rfbfront_reason(const struct rfbfront *f);
/* "none", "need-tls", ... for logs and tests. */
const char *rfbfront_event_name(enum rfbfront_event ev);

#endif /* VMGATE_PROTOCOLS_RFBFRONT_H */
