/*
 * rfbfront: the server side of the RFB 3.7/3.8 security handshake with
 * VeNCrypt Plain sub-types and classic VNC authentication.  The contract is
 * in rfbfront.h; the states and what each one reads are the table below.
 */
#include "rfbfront.h"
#include "rbuf.h"
#include "utf8.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION_LEN 12 /* "RFB xxx.yyy\n" */
static const char server_version[VERSION_LEN + 1] = "RFB 003.008\n";

enum state {
	ST_VERSION,	 /* client's ProtocolVersion */
	ST_SECTYPE,	 /* client's security type */
	ST_VC_VERSION,	 /* client's VeNCrypt version */
	ST_VC_SUBTYPE,	 /* client's VeNCrypt sub-type */
	ST_TLS,		 /* caller starts TLS */
	ST_PLAIN,	 /* client's Plain credentials, inside TLS */
	ST_VNCAUTH,	 /* client's 16-byte response */
	ST_CHECK_PLAIN,	 /* caller checks the credentials */
	ST_CHECK_TICKET, /* caller checks the response */
	ST_DONE,
	ST_FAILED,
};

struct rfbfront {
	enum state st;
	struct rfbfront_config cfg;
	int minor;	  /* 7 or 8 once known */
	uint8_t sectype;  /* chosen security type */
	uint32_t subtype; /* chosen VeNCrypt sub-type */
	uint8_t out[RFBFRONT_OUTPUT_MAX];
	size_t out_len, out_taken; /* queued so far / handed to the caller */
	char user[RFBFRONT_USER_MAX + 1];
	char pass[RFBFRONT_PASS_MAX + 1];
	size_t ulen, plen;
	uint8_t response[RFBFRONT_CHALLENGE_LEN];
	char reason[RFBFRONT_REASON_MAX + 1];
};

/* A message handler: reads one client message at the cursor and acts on
 * it, or returns RBUF_E_SHORT with nothing consumed when the message is
 * not all there. */
typedef int (*msg_fn)(struct rfbfront *, struct rbuf *);

static int msg_version(struct rfbfront *, struct rbuf *);
static int msg_sectype(struct rfbfront *, struct rbuf *);
static int msg_vc_version(struct rfbfront *, struct rbuf *);
static int msg_vc_subtype(struct rfbfront *, struct rbuf *);
static int msg_plain(struct rfbfront *, struct rbuf *);
static int msg_vncauth(struct rfbfront *, struct rbuf *);
static int msg_out_of_turn(struct rfbfront *, struct rbuf *);

/* Each state: the event the caller sees and the client message it reads
 * (NULL: none, input consumes nothing). */
static const struct {
	enum rfbfront_event event;
	msg_fn msg;
} states[] = {
    [ST_VERSION] = {RFBFRONT_EV_NONE, msg_version},
    [ST_SECTYPE] = {RFBFRONT_EV_NONE, msg_sectype},
    [ST_VC_VERSION] = {RFBFRONT_EV_NONE, msg_vc_version},
    [ST_VC_SUBTYPE] = {RFBFRONT_EV_NONE, msg_vc_subtype},
    [ST_TLS] = {RFBFRONT_EV_NEED_TLS, NULL},
    [ST_PLAIN] = {RFBFRONT_EV_NONE, msg_plain},
    [ST_VNCAUTH] = {RFBFRONT_EV_NONE, msg_vncauth},
    [ST_CHECK_PLAIN] = {RFBFRONT_EV_CREDENTIALS, msg_out_of_turn},
    [ST_CHECK_TICKET] = {RFBFRONT_EV_TICKET_RESPONSE, msg_out_of_turn},
    [ST_DONE] = {RFBFRONT_EV_DONE, NULL},
    [ST_FAILED] = {RFBFRONT_EV_FAILED, NULL},
};

/* Output: bounded by the protocol (see RFBFRONT_OUTPUT_MAX), so running
 * out of room is a bug here, never something a client can cause. */
static void
put(struct rfbfront *f, const void *p, size_t n)
{
	if (n > sizeof(f->out) - f->out_len)
		abort();
	memcpy(f->out + f->out_len, p, n);
	f->out_len += n;
}

static void
put_u8(struct rfbfront *f, uint8_t v)
{
	put(f, &v, 1);
}

static void
put_be32(struct rfbfront *f, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
			(uint8_t)(v >> 8), (uint8_t)v};
	put(f, b, sizeof(b));
}

/* A u32 length and the text: the reason string of RFC 6143. */
static void
put_reason(struct rfbfront *f, const char *s)
{
	size_t n = strlen(s);

	put_be32(f, (uint32_t)n);
	put(f, s, n);
}

static void
wipe(struct rfbfront *f)
{
	explicit_bzero(f->user, sizeof(f->user));
	explicit_bzero(f->pass, sizeof(f->pass));
	explicit_bzero(f->response, sizeof(f->response));
	f->ulen = f->plen = 0;
}

/* Ends the handshake with reason, cut to RFBFRONT_REASON_MAX bytes. */
__attribute__((format(printf, 2, 3))) static void
fail(struct rfbfront *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(f->reason, sizeof(f->reason), fmt, ap);
	va_end(ap);
	wipe(f);
	f->st = ST_FAILED;
}

/* SecurityResult failed, with the reason on 3.8, and end. */
static void
fail_result(struct rfbfront *f, const char *reason)
{
	fail(f, "%s", reason);
	put_be32(f, 1);
	if (f->minor >= 8)
		put_reason(f, f->reason);
}

static bool
offers_vencrypt(const struct rfbfront *f)
{
	return f->cfg.vencrypt != 0;
}

/* The offered sub-types, in order of preference; returns how many. */
static size_t
subtypes(const struct rfbfront *f, uint32_t out[2])
{
	size_t n = 0;

	if (f->cfg.vencrypt & RFBFRONT_OFFER_X509PLAIN)
		out[n++] = RFBFRONT_VENCRYPT_X509PLAIN;
	if (f->cfg.vencrypt & RFBFRONT_OFFER_TLSPLAIN)
		out[n++] = RFBFRONT_VENCRYPT_TLSPLAIN;
	return n;
}

/* Three decimal digits. */
static bool
digits3(const uint8_t *p, unsigned *v)
{
	unsigned x = 0;

	for (int i = 0; i < 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		x = x * 10 + (unsigned)(p[i] - '0');
	}
	*v = x;
	return true;
}

static int
msg_version(struct rfbfront *f, struct rbuf *b)
{
	const uint8_t *p;
	unsigned major, minor;
	char why[RFBFRONT_REASON_MAX + 1];

	if (rbuf_get_bytes(b, VERSION_LEN, &p) != 0)
		return RBUF_E_SHORT;
	if (memcmp(p, "RFB ", 4) != 0 || !digits3(p + 4, &major) ||
	    p[7] != '.' || !digits3(p + 8, &minor) || p[11] != '\n') {
		/* Not a VNC viewer: nothing it would understand to say. */
		fail(f, "not an RFB client (malformed ProtocolVersion)");
		return 0;
	}
	if (major != 3 || (minor != 7 && minor != 8)) {
		/* Treated as 3.3 (RFC 6143 7.1.1), whose refusal is security
		 * type 0 and a reason. */
		snprintf(why, sizeof(why),
			 "RFB version %u.%u is not supported: this server "
			 "needs 3.7 or 3.8",
			 major, minor);
		fail(f, "%s", why);
		put_be32(f, 0);
		put_reason(f, f->reason);
		return 0;
	}
	f->minor = (int)minor;
	put_u8(f, (uint8_t)(offers_vencrypt(f) + f->cfg.tickets));
	if (offers_vencrypt(f))
		put_u8(f, RFBFRONT_SEC_VENCRYPT);
	if (f->cfg.tickets)
		put_u8(f, RFBFRONT_SEC_VNCAUTH);
	f->st = ST_SECTYPE;
	return 0;
}

static int
msg_sectype(struct rfbfront *f, struct rbuf *b)
{
	uint8_t t;
	char why[RFBFRONT_REASON_MAX + 1];

	if (rbuf_get_u8(b, &t) != 0)
		return RBUF_E_SHORT;
	if (t == RFBFRONT_SEC_VENCRYPT && offers_vencrypt(f)) {
		f->sectype = t;
		put_u8(f, 0); /* VeNCrypt 0.2 */
		put_u8(f, 2);
		f->st = ST_VC_VERSION;
	} else if (t == RFBFRONT_SEC_VNCAUTH && f->cfg.tickets) {
		f->sectype = t;
		put(f, f->cfg.challenge, sizeof(f->cfg.challenge));
		f->st = ST_VNCAUTH;
	} else {
		snprintf(why, sizeof(why), "security type %u was not offered",
			 t);
		fail_result(f, why);
	}
	return 0;
}

static int
msg_vc_version(struct rfbfront *f, struct rbuf *b)
{
	uint8_t major, minor;
	uint32_t st[2];
	size_t n;

	if (rbuf_at_u8(b, b->off, &major) != 0 ||
	    rbuf_at_u8(b, b->off + 1, &minor) != 0)
		return RBUF_E_SHORT;
	(void)rbuf_skip(b, 2);
	if (major != 0 || minor != 2) {
		/* Any non-zero status refuses; the client closes. */
		put_u8(f, 0xff);
		fail(f, "VeNCrypt version %u.%u is not supported (0.2 only)",
		     major, minor);
		return 0;
	}
	put_u8(f, 0);
	n = subtypes(f, st);
	put_u8(f, (uint8_t)n);
	for (size_t i = 0; i < n; i++)
		put_be32(f, st[i]);
	f->st = ST_VC_SUBTYPE;
	return 0;
}

static int
msg_vc_subtype(struct rfbfront *f, struct rbuf *b)
{
	uint32_t s, st[2];
	size_t n;

	if (rbuf_get_be32(b, &s) != 0)
		return RBUF_E_SHORT;
	n = subtypes(f, st);
	for (size_t i = 0; i < n; i++) {
		if (s == st[i]) {
			f->subtype = s;
			put_u8(f, 1); /* accepted: TLS starts after this */
			f->st = ST_TLS;
			return 0;
		}
	}
	put_u8(f, 0);
	fail(f, "VeNCrypt sub-type %u was not offered", s);
	return 0;
}

/* A username: UTF-8 without C0, DEL or C1 controls (it reaches logs, the
 * policy and `who`). */
static bool
username_ok(const uint8_t *p, size_t n)
{
	size_t i = 0, k;
	uint32_t cp;

	while (i < n) {
		k = utf8_seq(p + i, n - i, &cp);
		if (k == 0 || cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
			return false;
		i += k;
	}
	return true;
}

static int
msg_plain(struct rfbfront *f, struct rbuf *b)
{
	uint32_t ulen, plen;
	const uint8_t *p;
	char why[RFBFRONT_REASON_MAX + 1];

	if (rbuf_at_be32(b, b->off, &ulen) != 0 ||
	    rbuf_at_be32(b, b->off + 4, &plen) != 0)
		return RBUF_E_SHORT;
	/* Refuse oversize lengths now: never wait for what we refuse. */
	if (ulen == 0 || ulen > RFBFRONT_USER_MAX) {
		snprintf(why, sizeof(why),
			 "username of %u bytes refused (1 to %u allowed)", ulen,
			 RFBFRONT_USER_MAX);
		fail_result(f, why);
		return 0;
	}
	if (plen > RFBFRONT_PASS_MAX) {
		snprintf(why, sizeof(why),
			 "password of %u bytes refused (at most %u allowed)",
			 plen, RFBFRONT_PASS_MAX);
		fail_result(f, why);
		return 0;
	}
	if (rbuf_get_bytes(b, 8 + (size_t)ulen + plen, &p) != 0)
		return RBUF_E_SHORT;
	if (!username_ok(p + 8, ulen)) {
		fail_result(f, "username is not UTF-8 text without control "
			       "characters");
		return 0;
	}
	/* crypt(3) stops at a NUL: "pw\0anything" must not pass as "pw". */
	if (memchr(p + 8 + ulen, 0, plen) != NULL) {
		fail_result(f, "password contains a NUL byte");
		return 0;
	}
	memcpy(f->user, p + 8, ulen);
	f->user[ulen] = '\0';
	f->ulen = ulen;
	memcpy(f->pass, p + 8 + ulen, plen);
	f->pass[plen] = '\0';
	f->plen = plen;
	f->st = ST_CHECK_PLAIN;
	return 0;
}

static int
msg_vncauth(struct rfbfront *f, struct rbuf *b)
{
	if (rbuf_at_copy(b, b->off, f->response, sizeof(f->response)) != 0)
		return RBUF_E_SHORT;
	(void)rbuf_skip(b, sizeof(f->response));
	f->st = ST_CHECK_TICKET;
	return 0;
}

/* The client must wait for its SecurityResult: anything it sends while
 * the caller checks is out of turn. */
static int
msg_out_of_turn(struct rfbfront *f, struct rbuf *b)
{
	if (rbuf_left(b) == 0)
		return RBUF_E_SHORT;
	fail_result(f, "client sent data before its security result");
	return 0;
}

struct rfbfront *
rfbfront_new(const struct rfbfront_config *cfg)
{
	struct rfbfront *f;
	const unsigned known =
	    RFBFRONT_OFFER_X509PLAIN | RFBFRONT_OFFER_TLSPLAIN;

	if (cfg == NULL || (cfg->vencrypt & ~known) != 0 ||
	    (cfg->vencrypt == 0 && !cfg->tickets)) {
		errno = EINVAL;
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->cfg = *cfg;
	f->st = ST_VERSION;
	put(f, server_version, VERSION_LEN);
	return f;
}

void
rfbfront_free(struct rfbfront *f)
{
	if (f == NULL)
		return;
	wipe(f);
	explicit_bzero(f->cfg.challenge, sizeof(f->cfg.challenge));
	free(f);
}

size_t
rfbfront_input(struct rfbfront *f, const void *data, size_t len)
{
	struct rbuf b;
	size_t save;

	rbuf_init(&b, data, len);
	/* Each handler consumes a message, or moves to a state without a
	 * handler, or returns short: the loop ends. */
	while (states[f->st].msg != NULL) {
		save = b.off;
		if (states[f->st].msg(f, &b) != 0) {
			b.off = save;
			break;
		}
	}
	return b.off;
}

void
rfbfront_output(struct rfbfront *f, const uint8_t **p, size_t *n)
{
	*p = f->out + f->out_taken;
	*n = f->out_len - f->out_taken;
	f->out_taken = f->out_len;
}

enum rfbfront_event
rfbfront_event(const struct rfbfront *f)
{
	return states[f->st].event;
}

int
rfbfront_tls_ready(struct rfbfront *f)
{
	if (f->st != ST_TLS)
		return RFBFRONT_E_STATE;
	f->st = ST_PLAIN;
	return 0;
}

int
rfbfront_credentials(const struct rfbfront *f, const char **user, size_t *ulen,
		     const char **pass, size_t *plen)
{
	if (f->st != ST_CHECK_PLAIN)
		return RFBFRONT_E_STATE;
	*user = f->user;
	*ulen = f->ulen;
	*pass = f->pass;
	*plen = f->plen;
	return 0;
}

const uint8_t *
rfbfront_ticket_response(const struct rfbfront *f)
{
	return f->st == ST_CHECK_TICKET ? f->response : NULL;
}

int
rfbfront_accept(struct rfbfront *f)
{
	if (f->st != ST_CHECK_PLAIN && f->st != ST_CHECK_TICKET)
		return RFBFRONT_E_STATE;
	wipe(f);
	put_be32(f, 0);
	f->st = ST_DONE;
	return 0;
}

int
rfbfront_reject(struct rfbfront *f, const char *reason)
{
	if (f->st != ST_CHECK_PLAIN && f->st != ST_CHECK_TICKET)
		return RFBFRONT_E_STATE;
	fail_result(f, reason != NULL ? reason : "authentication failed");
	return 0;
}

int
rfbfront_version(const struct rfbfront *f)
{
	return f->minor;
}

int
rfbfront_sectype(const struct rfbfront *f)
{
	return f->sectype;
}

uint32_t
rfbfront_subtype(const struct rfbfront *f)
{
	return f->subtype;
}

const char *
rfbfront_reason(const struct rfbfront *f)
{
	return f->reason;
}

const char *
rfbfront_event_name(enum rfbfront_event ev)
{
	static const char *const names[] = {
	    [RFBFRONT_EV_NONE] = "none",
	    [RFBFRONT_EV_NEED_TLS] = "need-tls",
	    [RFBFRONT_EV_CREDENTIALS] = "credentials",
	    [RFBFRONT_EV_TICKET_RESPONSE] = "ticket-response",
	    [RFBFRONT_EV_DONE] = "done",
	    [RFBFRONT_EV_FAILED] = "failed",
	};

	if ((unsigned)ev >= sizeof(names) / sizeof(names[0]))
		return "?";
	return names[ev];
}
