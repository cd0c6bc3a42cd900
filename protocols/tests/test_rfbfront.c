/*
 * Unit tests for protocols/rfbfront.h: whole handshakes as a viewer drives
 * them, fed one byte at a time, in small chunks and in one piece, with the
 * exact bytes the server must answer at each step (RFC 6143 §7.1-7.2,
 * VeNCrypt 0.2), the refusals with the reasons a 3.8 viewer shows, and
 * clients that send what they must not.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rfbfront.h"

/* A caller of rfbfront: what the client sent and the server has not
 * consumed yet, and everything the server sent. */
struct drv {
	struct rfbfront *f;
	size_t chunk; /* the client's bytes arrive this many at a time */
	uint8_t in[4096];
	size_t in_len;
	uint8_t out[4096];
	size_t out_len, seen; /* seen: checked by expect() so far */
};

static const size_t chunks[] = {1, 2, 5, 4096};
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

static void
collect(struct drv *d)
{
	const uint8_t *p;
	size_t n;

	rfbfront_output(d->f, &p, &n);
	assert_true(n <= sizeof(d->out) - d->out_len);
	memcpy(d->out + d->out_len, p, n);
	d->out_len += n;
}

/* The caller's loop after bytes arrived or TLS came up. */
static void
pump(struct drv *d)
{
	size_t used = rfbfront_input(d->f, d->in, d->in_len);

	assert_true(used <= d->in_len);
	memmove(d->in, d->in + used, d->in_len - used);
	d->in_len -= used;
	collect(d);
}

static void
drv_init(struct drv *d, const struct rfbfront_config *cfg, size_t chunk)
{
	memset(d, 0, sizeof(*d));
	d->chunk = chunk;
	d->f = rfbfront_new(cfg);
	assert_non_null(d->f);
	collect(d);
}

static void
drv_free(struct drv *d)
{
	rfbfront_free(d->f);
	d->f = NULL;
}

/* The client sends p[0..n) as one message (or more); the server must not
 * answer before the last byte is in. */
static void
client(struct drv *d, const void *p, size_t n)
{
	size_t c;

	for (size_t i = 0; i < n; i += c) {
		c = n - i < d->chunk ? n - i : d->chunk;
		assert_true(c <= sizeof(d->in) - d->in_len);
		memcpy(d->in + d->in_len, (const uint8_t *)p + i, c);
		d->in_len += c;
		pump(d);
		if (i + c < n)
			assert_int_equal(d->out_len, d->seen);
	}
}

/* The server's next output is exactly p[0..n). */
static void
expect(struct drv *d, const void *p, size_t n)
{
	assert_int_equal(d->out_len - d->seen, n);
	assert_memory_equal(d->out + d->seen, p, n);
	d->seen += n;
}

/* SecurityResult failed, with the reason a 3.8 client gets. */
static void
expect_failed(struct drv *d, const char *reason)
{
	uint8_t b[300];
	size_t n = strlen(reason);

	memcpy(b, "\0\0\0\1", 4);
	b[4] = (uint8_t)(n >> 24);
	b[5] = (uint8_t)(n >> 16);
	b[6] = (uint8_t)(n >> 8);
	b[7] = (uint8_t)n;
	memcpy(b + 8, reason, n);
	expect(d, b, 8 + n);
	assert_int_equal(rfbfront_event(d->f), RFBFRONT_EV_FAILED);
	assert_string_equal(rfbfront_reason(d->f), reason);
}

/* Plain credentials as a VeNCrypt client sends them. */
static size_t
plain(uint8_t *b, const char *user, size_t ulen, const char *pass, size_t plen)
{
	b[0] = (uint8_t)(ulen >> 24);
	b[1] = (uint8_t)(ulen >> 16);
	b[2] = (uint8_t)(ulen >> 8);
	b[3] = (uint8_t)ulen;
	b[4] = (uint8_t)(plen >> 24);
	b[5] = (uint8_t)(plen >> 16);
	b[6] = (uint8_t)(plen >> 8);
	b[7] = (uint8_t)plen;
	memcpy(b + 8, user, ulen);
	memcpy(b + 8 + ulen, pass, plen);
	return 8 + ulen + plen;
}

static const struct rfbfront_config cfg_both = {
    .vencrypt = RFBFRONT_OFFER_X509PLAIN | RFBFRONT_OFFER_TLSPLAIN,
};

/* Up to the server's sub-type list, X509Plain and TLSPlain offered. */
static void
to_subtypes(struct drv *d)
{
	static const uint8_t list[] = {0, 2, 0, 0, 1, 6, 0, 0, 1, 3};

	expect(d, "RFB 003.008\n", 12);
	client(d, "RFB 003.008\n", 12);
	expect(d, "\1\x13", 2);
	client(d, "\x13", 1);
	expect(d, "\0\2", 2);
	client(d, "\0\2", 2);
	expect(d, list, sizeof(list));
	assert_int_equal(rfbfront_event(d->f), RFBFRONT_EV_NONE);
}

static void
test_x509plain(void **st)
{
	struct drv d;
	uint8_t b[64];
	const char *u, *p;
	size_t ul, pl, n;

	(void)st;
	for (size_t k = 0; k < NCHUNKS; k++) {
		drv_init(&d, &cfg_both, chunks[k]);
		assert_int_equal(rfbfront_version(d.f), 0);
		to_subtypes(&d);
		assert_int_equal(rfbfront_version(d.f), 8);
		assert_int_equal(rfbfront_sectype(d.f), 19);
		client(&d, "\0\0\1\6", 4);
		expect(&d, "\1", 1);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_NEED_TLS);
		assert_int_equal(rfbfront_subtype(d.f), 262);
		/* The TLS ClientHello is the caller's, not ours. */
		assert_int_equal(rfbfront_input(d.f, "\x16\3\1", 3), 0);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_NEED_TLS);
		assert_int_equal(rfbfront_tls_ready(d.f), 0);
		assert_int_equal(rfbfront_tls_ready(d.f), RFBFRONT_E_STATE);
		assert_int_equal(rfbfront_accept(d.f), RFBFRONT_E_STATE);

		n = plain(b, "alice", 5, "s3cret", 6);
		client(&d, b, n);
		expect(&d, "", 0);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_CREDENTIALS);
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 0);
		assert_string_equal(u, "alice");
		assert_int_equal(ul, 5);
		assert_string_equal(p, "s3cret");
		assert_int_equal(pl, 6);
		assert_null(rfbfront_ticket_response(d.f));

		assert_int_equal(rfbfront_accept(d.f), 0);
		collect(&d);
		expect(&d, "\0\0\0\0", 4);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_DONE);
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 RFBFRONT_E_STATE);
		/* ClientInit: the caller relays it to the monitor. */
		client(&d, "\1", 1);
		assert_int_equal(d.in_len, 1);
		assert_int_equal(rfbfront_accept(d.f), RFBFRONT_E_STATE);
		assert_int_equal(rfbfront_reject(d.f, NULL), RFBFRONT_E_STATE);
		assert_string_equal(rfbfront_reason(d.f), "");
		drv_free(&d);
	}
}

static void
test_tlsplain_rejected(void **st)
{
	static const struct rfbfront_config cfg = {
	    .vencrypt = RFBFRONT_OFFER_TLSPLAIN,
	};
	static const uint8_t list[] = {0, 1, 0, 0, 1, 3};
	struct drv d;
	uint8_t b[64];
	const char *u, *p;
	size_t ul, pl, n;

	(void)st;
	for (size_t k = 0; k < NCHUNKS; k++) {
		drv_init(&d, &cfg, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.008\n", 12);
		expect(&d, "\1\x13", 2);
		client(&d, "\x13", 1);
		expect(&d, "\0\2", 2);
		client(&d, "\0\2", 2);
		expect(&d, list, sizeof(list));
		client(&d, "\0\0\1\3", 4);
		expect(&d, "\1", 1);
		assert_int_equal(rfbfront_subtype(d.f), 259);
		assert_int_equal(rfbfront_tls_ready(d.f), 0);
		/* An empty password is the caller's to judge. */
		n = plain(b, "bob:web1", 8, "", 0);
		client(&d, b, n);
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 0);
		assert_string_equal(u, "bob:web1");
		assert_int_equal(pl, 0);
		assert_string_equal(p, "");
		assert_int_equal(rfbfront_reject(d.f, "wrong password"), 0);
		collect(&d);
		expect_failed(&d, "wrong password");
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 RFBFRONT_E_STATE);
		drv_free(&d);
	}
}

/* The whole client side in one read, as a pipelining client sends it:
 * the front stops where TLS starts and leaves the rest unconsumed. */
static void
test_one_chunk(void **st)
{
	static const uint8_t server[] = {
	    'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n', 1, 19,
	    0,	 2,   0,   2,	0,   0,	  1,   6,   0,	 0,   1,   3,	 1};
	uint8_t b[128];
	const char *u, *p;
	size_t ul, pl, n = 0, creds;
	struct drv d;

	(void)st;
	memcpy(b, "RFB 003.008\n\x13\0\2\0\0\1\6", 19);
	n = 19;
	creds = plain(b + n, "alice", 5, "pw", 2);
	n += creds;
	drv_init(&d, &cfg_both, 4096);
	memcpy(d.in, b, n);
	d.in_len = n;
	pump(&d);
	expect(&d, server, sizeof(server));
	assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_NEED_TLS);
	/* What follows the sub-type would go to TLS, never to RFB. */
	assert_int_equal(d.in_len, creds);
	pump(&d);
	assert_int_equal(d.in_len, creds);
	assert_int_equal(rfbfront_tls_ready(d.f), 0);
	pump(&d);
	assert_int_equal(d.in_len, 0);
	assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl), 0);
	assert_string_equal(u, "alice");
	assert_string_equal(p, "pw");
	assert_int_equal(rfbfront_accept(d.f), 0);
	collect(&d);
	expect(&d, "\0\0\0\0", 4);
	drv_free(&d);
}

/* 3.3 and other versions get 3.3's refusal; junk gets nothing. */
static void
test_versions(void **st)
{
	static const char why33[] = "RFB version 3.3 is not supported: this "
				    "server needs 3.7 or 3.8";
	static const char why4[] = "RFB version 4.1 is not supported: this "
				   "server needs 3.7 or 3.8";
	uint8_t b[128];
	struct drv d;

	(void)st;
	for (size_t k = 0; k < NCHUNKS; k++) {
		drv_init(&d, &cfg_both, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.003\n", 12);
		memcpy(b, "\0\0\0\0\0\0\0", 7);
		b[7] = sizeof(why33) - 1;
		memcpy(b + 8, why33, sizeof(why33) - 1);
		expect(&d, b, 8 + sizeof(why33) - 1);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_FAILED);
		assert_string_equal(rfbfront_reason(d.f), why33);
		assert_int_equal(rfbfront_version(d.f), 0);
		/* Nothing more is read. */
		assert_int_equal(rfbfront_input(d.f, "\x13", 1), 0);
		drv_free(&d);

		drv_init(&d, &cfg_both, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 004.001\n", 12);
		b[7] = sizeof(why4) - 1;
		memcpy(b + 8, why4, sizeof(why4) - 1);
		expect(&d, b, 8 + sizeof(why4) - 1);
		drv_free(&d);

		/* Not RFB at all (a web browser): nothing is sent. */
		drv_init(&d, &cfg_both, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "GET / HTTP/1.1\r\n", 16);
		expect(&d, "", 0);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_FAILED);
		assert_string_equal(
		    rfbfront_reason(d.f),
		    "not an RFB client (malformed ProtocolVersion)");
		drv_free(&d);

		drv_init(&d, &cfg_both, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.0a8\n", 12);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_FAILED);
		expect(&d, "", 0);
		drv_free(&d);
	}
}

/* 3.7: the same handshake; a failed SecurityResult carries no reason. */
static void
test_version_37(void **st)
{
	static const struct rfbfront_config cfg = {.tickets = true};
	struct drv d;
	uint8_t r[16];

	(void)st;
	memset(r, 0x5a, sizeof(r));
	for (size_t k = 0; k < NCHUNKS; k++) {
		drv_init(&d, &cfg, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.007\n", 12);
		assert_int_equal(rfbfront_version(d.f), 7);
		expect(&d, "\1\2", 2);
		client(&d, "\2", 1);
		expect(&d, cfg.challenge, 16);
		client(&d, r, sizeof(r));
		assert_int_equal(rfbfront_event(d.f),
				 RFBFRONT_EV_TICKET_RESPONSE);
		assert_int_equal(rfbfront_reject(d.f, "ticket used"), 0);
		collect(&d);
		expect(&d, "\0\0\0\1", 4);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_FAILED);
		assert_string_equal(rfbfront_reason(d.f), "ticket used");
		drv_free(&d);

		/* Unknown type on 3.7: no reason either. */
		drv_init(&d, &cfg_both, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.007\n", 12);
		expect(&d, "\1\x13", 2);
		client(&d, "\1", 1);
		expect(&d, "\0\0\0\1", 4);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_FAILED);
		drv_free(&d);
	}
}

static void
test_unknown_sectype(void **st)
{
	/* None (1) would skip authentication; VNC auth (2) is not offered
	 * without tickets; 0 is invalid; 255 is nothing. */
	static const uint8_t types[] = {1, 2, 0, 255, 18};
	struct drv d;
	char why[64];

	(void)st;
	for (size_t k = 0; k < NCHUNKS; k++) {
		for (size_t i = 0; i < sizeof(types); i++) {
			drv_init(&d, &cfg_both, chunks[k]);
			expect(&d, "RFB 003.008\n", 12);
			client(&d, "RFB 003.008\n", 12);
			expect(&d, "\1\x13", 2);
			client(&d, &types[i], 1);
			snprintf(why, sizeof(why),
				 "security type %u was not offered", types[i]);
			expect_failed(&d, why);
			assert_int_equal(rfbfront_sectype(d.f), 0);
			drv_free(&d);
		}
	}
}

static void
test_vencrypt_version(void **st)
{
	static const uint8_t bad[][2] = {{0, 1}, {0, 3}, {1, 2}, {255, 255}};
	struct drv d;
	char why[80];

	(void)st;
	for (size_t k = 0; k < NCHUNKS; k++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			drv_init(&d, &cfg_both, chunks[k]);
			expect(&d, "RFB 003.008\n", 12);
			client(&d, "RFB 003.008\n", 12);
			expect(&d, "\1\x13", 2);
			client(&d, "\x13", 1);
			expect(&d, "\0\2", 2);
			client(&d, bad[i], 2);
			expect(&d, "\xff", 1);
			assert_int_equal(rfbfront_event(d.f),
					 RFBFRONT_EV_FAILED);
			snprintf(why, sizeof(why),
				 "VeNCrypt version %u.%u is not supported "
				 "(0.2 only)",
				 bad[i][0], bad[i][1]);
			assert_string_equal(rfbfront_reason(d.f), why);
			drv_free(&d);
		}
	}
}

/* Sub-types not offered are refused, above all the ones without TLS
 * (Plain 256) or with VNC auth inside TLS (258, 261). */
static void
test_unknown_subtype(void **st)
{
	static const struct rfbfront_config cfg_x509 = {
	    .vencrypt = RFBFRONT_OFFER_X509PLAIN,
	};
	static const uint32_t bad[] = {256, 257, 258, 259,	 260,
				       261, 0,	 19,  0x01000106};
	static const uint8_t list[] = {0, 1, 0, 0, 1, 6};
	struct drv d;
	uint8_t b[4];
	char why[64];

	(void)st;
	for (size_t k = 0; k < NCHUNKS; k++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			drv_init(&d, &cfg_x509, chunks[k]);
			expect(&d, "RFB 003.008\n", 12);
			client(&d, "RFB 003.008\n", 12);
			expect(&d, "\1\x13", 2);
			client(&d, "\x13", 1);
			expect(&d, "\0\2", 2);
			client(&d, "\0\2", 2);
			expect(&d, list, sizeof(list));
			b[0] = (uint8_t)(bad[i] >> 24);
			b[1] = (uint8_t)(bad[i] >> 16);
			b[2] = (uint8_t)(bad[i] >> 8);
			b[3] = (uint8_t)bad[i];
			client(&d, b, 4);
			expect(&d, "\0", 1);
			assert_int_equal(rfbfront_event(d.f),
					 RFBFRONT_EV_FAILED);
			snprintf(why, sizeof(why),
				 "VeNCrypt sub-type %u was not offered",
				 bad[i]);
			assert_string_equal(rfbfront_reason(d.f), why);
			assert_int_equal(rfbfront_subtype(d.f), 0);
			assert_int_equal(rfbfront_tls_ready(d.f),
					 RFBFRONT_E_STATE);
			drv_free(&d);
		}
	}
}

/* Up to NEED_TLS handled, X509Plain. */
static void
to_plain(struct drv *d)
{
	to_subtypes(d);
	client(d, "\0\0\1\6", 4);
	expect(d, "\1", 1);
	assert_int_equal(rfbfront_tls_ready(d->f), 0);
}

static void
test_oversize_credentials(void **st)
{
	static char big[RFBFRONT_PASS_MAX + 2];
	/* Only the two lengths are sent: refused without the strings. */
	static const struct {
		uint8_t lens[8];
		const char *why;
	} bad[] = {
	    {{0, 0, 1, 0, 0, 0, 0, 1},
	     "username of 256 bytes refused (1 to 255 allowed)"},
	    {{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1},
	     "username of 4294967295 bytes refused (1 to 255 allowed)"},
	    {{0, 0, 0, 0, 0, 0, 0, 1},
	     "username of 0 bytes refused (1 to 255 allowed)"},
	    {{0, 0, 0, 5, 0, 0, 4, 1},
	     "password of 1025 bytes refused (at most 1024 allowed)"},
	    {{0, 0, 0, 5, 0x80, 0, 0, 0},
	     "password of 2147483648 bytes refused (at most 1024 allowed)"},
	};
	static uint8_t b[RFBFRONT_INPUT_MAX + 16];
	const char *u, *p;
	size_t ul, pl, n;
	struct drv d;

	(void)st;
	memset(big, 'x', sizeof(big) - 1);
	for (size_t k = 0; k < NCHUNKS; k++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			drv_init(&d, &cfg_both, chunks[k]);
			to_plain(&d);
			client(&d, bad[i].lens, 8);
			expect_failed(&d, bad[i].why);
			drv_free(&d);
		}

		/* At the caps exactly: accepted. */
		drv_init(&d, &cfg_both, chunks[k]);
		to_plain(&d);
		n = plain(b, big, RFBFRONT_USER_MAX, big, RFBFRONT_PASS_MAX);
		assert_int_equal(n, RFBFRONT_INPUT_MAX);
		client(&d, b, n);
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 0);
		assert_int_equal(ul, RFBFRONT_USER_MAX);
		assert_int_equal(strlen(u), RFBFRONT_USER_MAX);
		assert_int_equal(pl, RFBFRONT_PASS_MAX);
		assert_int_equal(strlen(p), RFBFRONT_PASS_MAX);
		drv_free(&d);

		/* A NUL in the password would cut it short for crypt(3). */
		drv_init(&d, &cfg_both, chunks[k]);
		to_plain(&d);
		n = plain(b, "alice", 5, "pw\0rest", 7);
		client(&d, b, n);
		expect_failed(&d, "password contains a NUL byte");
		drv_free(&d);

		/* Usernames reach logs and the policy: text only. */
		drv_init(&d, &cfg_both, chunks[k]);
		to_plain(&d);
		n = plain(b, "al\nice", 6, "pw", 2);
		client(&d, b, n);
		expect_failed(&d, "username is not UTF-8 text without "
				  "control characters");
		drv_free(&d);

		drv_init(&d, &cfg_both, chunks[k]);
		to_plain(&d);
		n = plain(b, "al\xc3", 3, "pw", 2);
		client(&d, b, n);
		expect_failed(&d, "username is not UTF-8 text without "
				  "control characters");
		drv_free(&d);

		/* UTF-8 letters are fine. */
		drv_init(&d, &cfg_both, chunks[k]);
		to_plain(&d);
		n = plain(b, "j\xc3\xb6rg", 5, "pw", 2);
		client(&d, b, n);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_CREDENTIALS);
		drv_free(&d);
	}
}

static void
test_ticket(void **st)
{
	struct rfbfront_config cfg = {
	    .vencrypt = RFBFRONT_OFFER_X509PLAIN,
	    .tickets = true,
	};
	uint8_t resp[16];
	const uint8_t *r;
	const char *u, *p;
	size_t ul, pl;
	struct drv d;

	(void)st;
	for (int i = 0; i < 16; i++) {
		cfg.challenge[i] = (uint8_t)(0xa0 + i);
		resp[i] = (uint8_t)(0x30 + i);
	}
	for (size_t k = 0; k < NCHUNKS; k++) {
		drv_init(&d, &cfg, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.008\n", 12);
		expect(&d, "\2\x13\2", 3);
		client(&d, "\2", 1);
		expect(&d, cfg.challenge, 16);
		assert_int_equal(rfbfront_sectype(d.f), 2);
		assert_null(rfbfront_ticket_response(d.f));
		client(&d, resp, 16);
		assert_int_equal(rfbfront_event(d.f),
				 RFBFRONT_EV_TICKET_RESPONSE);
		r = rfbfront_ticket_response(d.f);
		assert_non_null(r);
		assert_memory_equal(r, resp, 16);
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 RFBFRONT_E_STATE);
		assert_int_equal(rfbfront_tls_ready(d.f), RFBFRONT_E_STATE);
		assert_int_equal(rfbfront_subtype(d.f), 0);
		assert_int_equal(rfbfront_accept(d.f), 0);
		collect(&d);
		expect(&d, "\0\0\0\0", 4);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_DONE);
		assert_null(rfbfront_ticket_response(d.f));
		drv_free(&d);

		/* Rejected: the default reason. */
		drv_init(&d, &cfg, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.008\n", 12);
		expect(&d, "\2\x13\2", 3);
		client(&d, "\2", 1);
		expect(&d, cfg.challenge, 16);
		client(&d, resp, 16);
		assert_int_equal(rfbfront_reject(d.f, NULL), 0);
		collect(&d);
		expect_failed(&d, "authentication failed");
		drv_free(&d);
	}
}

/* Bytes the client must not send yet. */
static void
test_out_of_turn(void **st)
{
	static const struct rfbfront_config cfg_t = {.tickets = true};
	static const char why[] = "client sent data before its security result";
	uint8_t b[64], r[16] = {0};
	const char *u, *p;
	size_t ul, pl, n;
	struct drv d;

	(void)st;
	for (size_t k = 0; k < NCHUNKS; k++) {
		/* While its credentials are checked. */
		drv_init(&d, &cfg_both, chunks[k]);
		to_plain(&d);
		n = plain(b, "alice", 5, "pw", 2);
		client(&d, b, n);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_CREDENTIALS);
		client(&d, "\1", 1);
		expect_failed(&d, why);
		/* Wiped, and the caller's answer comes too late. */
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 RFBFRONT_E_STATE);
		assert_int_equal(rfbfront_accept(d.f), RFBFRONT_E_STATE);
		collect(&d);
		expect(&d, "", 0);
		assert_int_equal(rfbfront_input(d.f, "\1", 1), 0);
		drv_free(&d);

		/* Credentials and ClientInit in one go. */
		drv_init(&d, &cfg_both, chunks[k]);
		to_plain(&d);
		n = plain(b, "alice", 5, "pw", 2);
		b[n++] = 1;
		client(&d, b, n);
		expect_failed(&d, why);
		drv_free(&d);

		/* While a ticket is checked. */
		drv_init(&d, &cfg_t, chunks[k]);
		expect(&d, "RFB 003.008\n", 12);
		client(&d, "RFB 003.008\n", 12);
		expect(&d, "\1\2", 2);
		client(&d, "\2", 1);
		expect(&d, cfg_t.challenge, 16);
		client(&d, r, 16);
		client(&d, "x", 1);
		expect_failed(&d, why);
		assert_null(rfbfront_ticket_response(d.f));
		drv_free(&d);

		/* Clear text where TLS must start is never read as RFB: the
		 * handshake stays at NEED_TLS, credentials or not. */
		drv_init(&d, &cfg_both, chunks[k]);
		to_subtypes(&d);
		client(&d, "\0\0\1\6", 4);
		expect(&d, "\1", 1);
		n = plain(b, "alice", 5, "pw", 2);
		client(&d, b, n);
		assert_int_equal(d.in_len, n);
		assert_int_equal(rfbfront_event(d.f), RFBFRONT_EV_NEED_TLS);
		assert_int_equal(rfbfront_credentials(d.f, &u, &ul, &p, &pl),
				 RFBFRONT_E_STATE);
		drv_free(&d);
	}
}

/* A caller's reason longer than RFBFRONT_REASON_MAX is cut, on the wire
 * and in rfbfront_reason(). */
static void
test_reason_cut(void **st)
{
	static const struct rfbfront_config cfg = {.tickets = true};
	char longer[RFBFRONT_REASON_MAX + 50];
	uint8_t r[16] = {0};
	struct drv d;

	(void)st;
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	drv_init(&d, &cfg, 4096);
	expect(&d, "RFB 003.008\n", 12);
	client(&d, "RFB 003.008\n\2", 13);
	expect(&d,
	       "\1\2" /* then the challenge, all zero */
	       "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
	       18);
	client(&d, r, 16);
	assert_int_equal(rfbfront_reject(d.f, longer), 0);
	collect(&d);
	longer[RFBFRONT_REASON_MAX] = '\0';
	expect_failed(&d, longer);
	drv_free(&d);
}

static void
test_config(void **st)
{
	struct rfbfront_config cfg = {0};
	struct rfbfront *f;
	const uint8_t *p;
	size_t n;

	(void)st;
	errno = 0;
	assert_null(rfbfront_new(&cfg));
	assert_int_equal(errno, EINVAL);
	cfg.vencrypt = 0x4;
	assert_null(rfbfront_new(&cfg));
	assert_null(rfbfront_new(NULL));
	rfbfront_free(NULL);

	cfg.vencrypt = RFBFRONT_OFFER_X509PLAIN;
	f = rfbfront_new(&cfg);
	assert_non_null(f);
	assert_int_equal(rfbfront_event(f), RFBFRONT_EV_NONE);
	rfbfront_output(f, &p, &n);
	assert_int_equal(n, 12);
	rfbfront_output(f, &p, &n);
	assert_int_equal(n, 0);
	/* Nothing consumed of a partial version, however often. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(rfbfront_input(f, "RFB 003.008", 11), 0);
	assert_int_equal(rfbfront_input(f, "RFB 003.008\n\x13", 13), 13);
	rfbfront_free(f);

	assert_string_equal(rfbfront_event_name(RFBFRONT_EV_NEED_TLS),
			    "need-tls");
	assert_string_equal(rfbfront_event_name((enum rfbfront_event)99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_x509plain),
	    cmocka_unit_test(test_tlsplain_rejected),
	    cmocka_unit_test(test_one_chunk),
	    cmocka_unit_test(test_versions),
	    cmocka_unit_test(test_version_37),
	    cmocka_unit_test(test_unknown_sectype),
	    cmocka_unit_test(test_vencrypt_version),
	    cmocka_unit_test(test_unknown_subtype),
	    cmocka_unit_test(test_oversize_credentials),
	    cmocka_unit_test(test_ticket),
	    cmocka_unit_test(test_out_of_turn),
	    cmocka_unit_test(test_reason_cut),
	    cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
