/*
 * libFuzzer target for the RFB front: the input is a configuration byte,
 * a decision byte and the client's bytes, delivered in chunks whose sizes
 * come from a generator seeded by the input.  The harness plays the
 * gateway: it starts "TLS" when asked, accepts or rejects credentials and
 * tickets, keeps unconsumed bytes as a caller must.  It aborts when the
 * front breaks its contract:
 *  - CREDENTIALS without NEED_TLS handled first when VeNCrypt was chosen
 *    (a Plain password in the clear), or ever for classic VNC auth;
 *  - TICKET_RESPONSE when tickets were not offered, or after VeNCrypt;
 *  - DONE without the harness having accepted;
 *  - a sub-type other than the offered ones, credentials over the caps,
 *    not NUL-terminated, a NUL in the password;
 *  - more input consumed than given, or more than RFBFRONT_INPUT_MAX
 *    bytes held without progress, or output over RFBFRONT_OUTPUT_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rfbfront.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pending[2 * RFBFRONT_INPUT_MAX + 256];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfbfront_config cfg = {0};
	struct rfbfront *f;
	size_t pos = 2, plen = 0, out_total = 0, used, n;
	const uint8_t *p;
	uint32_t rng;
	uint8_t decide;
	int tls_done = 0, accepted = 0;
	enum rfbfront_event ev;

	if (size < 2)
		return 0;
	cfg.vencrypt = data[0] & 3;
	cfg.tickets = (data[0] & 4) != 0;
	memset(cfg.challenge, 0x42, sizeof(cfg.challenge));
	decide = data[1];
	rng = (uint32_t)data[0] * 2654435761u ^ data[1];
	if ((f = rfbfront_new(&cfg)) == NULL)
		return 0; /* a configuration that offers nothing */
	/* Bits 3 and 4: the harness sends a valid ProtocolVersion first, so
	 * that random inputs reach the later states quickly. */
	if (data[0] & 0x18) {
		memcpy(pending, data[0] & 8 ? "RFB 003.008\n" : "RFB 003.007\n",
		       12);
		plen = 12;
	}

	for (;;) {
		rfbfront_output(f, &p, &n);
		out_total += n;
		if (out_total > RFBFRONT_OUTPUT_MAX)
			abort();
		ev = rfbfront_event(f);
		if (ev == RFBFRONT_EV_DONE || ev == RFBFRONT_EV_FAILED) {
			if (ev == RFBFRONT_EV_DONE && !accepted)
				abort();
			if (ev == RFBFRONT_EV_FAILED &&
			    rfbfront_reason(f)[0] == '\0')
				abort();
			break;
		}
		if (ev == RFBFRONT_EV_NEED_TLS) {
			uint32_t s = rfbfront_subtype(f);
			if (rfbfront_sectype(f) != RFBFRONT_SEC_VENCRYPT ||
			    !((s == RFBFRONT_VENCRYPT_X509PLAIN &&
			       (cfg.vencrypt & RFBFRONT_OFFER_X509PLAIN)) ||
			      (s == RFBFRONT_VENCRYPT_TLSPLAIN &&
			       (cfg.vencrypt & RFBFRONT_OFFER_TLSPLAIN))))
				abort();
			if (rfbfront_tls_ready(f) != 0)
				abort();
			tls_done = 1;
			/* What was pending is now read through TLS. */
		} else if (ev == RFBFRONT_EV_CREDENTIALS) {
			const char *u, *pw;
			size_t ul, pl;
			if (rfbfront_sectype(f) != RFBFRONT_SEC_VENCRYPT ||
			    !tls_done)
				abort(); /* Plain credentials in the clear */
			if (rfbfront_credentials(f, &u, &ul, &pw, &pl) != 0)
				abort();
			if (ul == 0 || ul > RFBFRONT_USER_MAX ||
			    pl > RFBFRONT_PASS_MAX || strlen(u) != ul ||
			    strlen(pw) != pl)
				abort();
			if (decide & 1) {
				accepted = 1;
				(void)rfbfront_accept(f);
			} else {
				(void)rfbfront_reject(f, "no");
			}
			decide >>= 1;
			continue;
		} else if (ev == RFBFRONT_EV_TICKET_RESPONSE) {
			if (!cfg.tickets || tls_done ||
			    rfbfront_sectype(f) != RFBFRONT_SEC_VNCAUTH ||
			    rfbfront_ticket_response(f) == NULL)
				abort();
			if (decide & 1) {
				accepted = 1;
				(void)rfbfront_accept(f);
			} else {
				(void)rfbfront_reject(f, NULL);
			}
			decide >>= 1;
			continue;
		}
		/* The client's next bytes: 1..64 of them, sometimes none
		 * (a call with only what is pending). */
		rng = rng * 1103515245u + 12345u;
		n = (rng >> 16) % 65;
		if (n > size - pos)
			n = size - pos;
		if (n == 0 && pos == size) {
			/* Client gone: one last call with what is left. */
			used = rfbfront_input(f, pending, plen);
			if (used > plen)
				abort();
			if (used == 0 && rfbfront_event(f) == ev)
				break;
			memmove(pending, pending + used, plen - used);
			plen -= used;
			continue;
		}
		if (n > sizeof(pending) - plen)
			abort(); /* held too much without progress */
		memcpy(pending + plen, data + pos, n);
		plen += n;
		pos += n;
		used = rfbfront_input(f, pending, plen);
		if (used > plen)
			abort();
		memmove(pending, pending + used, plen - used);
		plen -= used;
		if (plen > RFBFRONT_INPUT_MAX && rfbfront_event(f) == ev &&
		    ev == RFBFRONT_EV_NONE)
			abort(); /* a whole message and no progress */
	}
	rfbfront_free(f);
	return 0;
}
