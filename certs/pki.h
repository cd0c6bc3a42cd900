/*
 * The gateway's X.509 certificates, made in memory with the OpenSSL 3 API
 * (no `openssl` command): a CA, server certificates for the TLS listeners
 * (VeNCrypt now, HTTPS later) and client certificates. Files are certdir.h's.
 *
 * Key type: ECDSA P-256 with SHA-256 signatures, for all three.
 *  - Not Ed25519: no browser takes Ed25519 certificates in TLS (Chrome has
 *    "no plans" to, Firefox supports it only in WebCrypto), and the HTTPS
 *    listener will use the same certificates. Viewers alone would allow it
 *    on current systems (gvncviewer on Debian 12 uses GnuTLS 3.7.9, which
 *    has Ed25519 since 3.6), but not those on older GnuTLS or OpenSSL 1.0.
 *  - Not RSA 3072: every viewer and browser takes P-256 (TLS 1.2 ECDHE-ECDSA,
 *    TLS 1.3), and a P-256 signature costs the gateway's single event loop
 *    tens of microseconds per handshake where RSA 3072 costs over a
 *    millisecond (as with finite-field DH for SSH, README).
 *  - DESIGN.md's "no NIST curves" is the SSH side's rule (ssh-audit); TLS
 *    scanners (testssl.sh, sslscan) rate P-256 as good.
 *
 * Every certificate has a random 128-bit serial (top bit clear, so a
 * positive 127-bit number as RFC 5280 wants), not-before one hour in the
 * past (clients whose clocks are a little behind), a subject and authority
 * key identifier, and:
 *  - CA:     basicConstraints critical CA:TRUE, pathlen:0; keyUsage critical
 *            keyCertSign, cRLSign; subject O=vmgate, CN=given.
 *  - server: basicConstraints critical CA:FALSE; keyUsage critical
 *            digitalSignature; extendedKeyUsage serverAuth; subjectAltName
 *            with each DNS name and IP address given; subject O=vmgate,
 *            CN=the first DNS name (if it fits in 64 characters) or "vmgate".
 *  - client: the same with extendedKeyUsage clientAuth, no subjectAltName,
 *            subject O=vmgate, CN=the user's name.
 */
#ifndef VMGATE_PKI_H
#define VMGATE_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define PKI_CA_DAYS 3650    /* ten years */
#define PKI_SERVER_DAYS 825 /* the most Apple's clients accept */
#define PKI_CLIENT_DAYS 825
#define PKI_MAX_SANS 64	       /* names and addresses in one certificate */
#define PKI_MAX_CN 64	       /* RFC 5280's ub-common-name */
#define PKI_FINGERPRINT_LEN 96 /* "AB:CD:…" of SHA-256, with its NUL */

enum pki_kind {
	PKI_CA,
	PKI_SERVER,
	PKI_CLIENT,
};

/* A new P-256 key, or NULL (OpenSSL's error queue is cleared). */
EVP_PKEY *pki_key_new(void);

/*
 * Whether san is a name a server certificate can carry: an IPv4 or IPv6
 * address, or a DNS name (labels of letters, digits and '-', not starting or
 * ending with '-', 1..63 characters each, 253 in all; the first label may be
 * "*"). Returns NULL if so, else why not.
 */
const char *pki_san_problem(const char *san);

/* Whether san is an IP address (else a DNS name, if pki_san_problem says). */
bool pki_san_is_ip(const char *san);

/*
 * Makes a certificate of 'kind' for 'key', valid for 'days' from now:
 * PKI_CA self-signed (ca and ca_key NULL), the others signed by ca/ca_key.
 * 'cn' is the CA's or the client's common name (1..PKI_MAX_CN bytes;
 * ignored for PKI_SERVER); 'sans' (nsans of them, 1..PKI_MAX_SANS, each
 * passing pki_san_problem) only for PKI_SERVER. Returns the certificate, or
 * NULL with the reason in err.
 */
X509 *pki_cert_new(enum pki_kind kind, const char *cn, const char *const *sans,
		   size_t nsans, unsigned days, EVP_PKEY *key, X509 *ca,
		   EVP_PKEY *ca_key, char *err, size_t errlen);

/*
 * Checks cert against the CA as a TLS peer would: chain, signature, dates,
 * and the purpose of 'kind' (PKI_SERVER: serverAuth, PKI_CLIENT:
 * clientAuth; PKI_CA: the CA itself). Returns 0, or -1 with OpenSSL's
 * reason in err.
 */
int pki_verify(X509 *ca, X509 *cert, enum pki_kind kind, char *err,
	       size_t errlen);

/* SHA-256 of the DER certificate as "AB:CD:…" (openssl x509 -fingerprint). */
void pki_fingerprint(X509 *cert, char buf[PKI_FINGERPRINT_LEN]);

/*
 * Text for people, malloc'd (NULL only when out of memory); anything from
 * the file is escaped (RFC 2253 for names, \xNN for other bytes).
 *  pki_name:  the subject or issuer, "CN=…,O=vmgate" (RFC 2253 order);
 *  pki_sans:  "DNS:a, IP:192.0.2.1, IP:::1", "" if none;
 *  pki_not_after: "2028-03-03 04:05:06 UTC".
 */
char *pki_name(const X509_NAME *name);
char *pki_sans(X509 *cert);
char *pki_not_after(X509 *cert);

/*
 * Whole days from now to the end of the certificate's validity, negative
 * once it has expired (a part of a day left counts as 0).
 */
long pki_days_left(X509 *cert);

#endif
