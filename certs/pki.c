/* Certificates and keys in memory (pki.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "pki.h"

#define PKI_SERIAL_BYTES 16
#define PKI_BACKDATE_SECS 3600

static void
pki_errf(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_peek_last_error();
	char buf[256];

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(err, errlen, "%s: %s", what, buf);
	} else {
		snprintf(err, errlen, "%s", what);
	}
	ERR_clear_error();
}

EVP_PKEY *
pki_key_new(void)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	ERR_clear_error();
	return key;
}

bool
pki_san_is_ip(const char *san)
{
	unsigned char a[16];

	return inet_pton(AF_INET, san, a) == 1 ||
	       inet_pton(AF_INET6, san, a) == 1;
}

const char *
pki_san_problem(const char *san)
{
	size_t len = strlen(san), label = 0;

	if (pki_san_is_ip(san))
		return NULL;
	if (len == 0)
		return "empty";
	if (len > 253)
		return "longer than 253 characters";
	if (strncmp(san, "*.", 2) == 0) {
		if (strchr(san + 2, '.') == NULL)
			return "a wildcard needs at least two labels after *.";
		san += 2;
	}
	for (const char *p = san;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0)
				return "an empty label";
			if (p[-1] == '-')
				return "a label ends with '-'";
			if (*p == '\0')
				break;
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return "not a DNS name (letters, digits, '-' and '.') "
			       "or an IP address";
		if (label == 0 && *p == '-')
			return "a label starts with '-'";
		if (++label > 63)
			return "a label is longer than 63 characters";
	}
	return NULL;
}

/* A random positive serial of PKI_SERIAL_BYTES * 8 - 1 bits, never 0. */
static int
pki_set_serial(X509 *x)
{
	unsigned char buf[PKI_SERIAL_BYTES];
	BIGNUM *bn = NULL;
	int r = -1;

	do {
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			goto out;
		buf[0] &= 0x7f;
		BN_free(bn);
		if ((bn = BN_bin2bn(buf, sizeof(buf), NULL)) == NULL)
			goto out;
	} while (BN_is_zero(bn));
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	r = 0;
out:
	BN_free(bn);
	return r;
}

static int
pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int r = -1;

	if (ext != NULL && X509_add_ext(x, ext, -1) == 1)
		r = 0;
	X509_EXTENSION_free(ext);
	return r;
}

/* subjectAltName from the checked sans, built field by field (no text). */
static int
pki_add_sans(X509 *x, const char *const *sans, size_t nsans)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen = NULL;
	int r = -1;

	if (gens == NULL)
		goto out;
	for (size_t i = 0; i < nsans; i++) {
		unsigned char a[16];
		ASN1_STRING *s = NULL;

		if ((gen = GENERAL_NAME_new()) == NULL)
			goto out;
		if (inet_pton(AF_INET, sans[i], a) == 1 ||
		    inet_pton(AF_INET6, sans[i], a) == 1) {
			int n = strchr(sans[i], ':') != NULL ? 16 : 4;
			if ((s = ASN1_OCTET_STRING_new()) == NULL ||
			    ASN1_OCTET_STRING_set(s, a, n) != 1) {
				ASN1_OCTET_STRING_free(s);
				goto out;
			}
			GENERAL_NAME_set0_value(gen, GEN_IPADD, s);
		} else {
			if ((s = ASN1_IA5STRING_new()) == NULL ||
			    ASN1_STRING_set(s, sans[i], -1) != 1) {
				ASN1_IA5STRING_free(s);
				goto out;
			}
			GENERAL_NAME_set0_value(gen, GEN_DNS, s);
		}
		if (sk_GENERAL_NAME_push(gens, gen) == 0)
			goto out;
		gen = NULL; /* transferred */
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0) != 1)
		goto out;
	r = 0;
out:
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return r;
}

static const char *
pki_server_cn(const char *const *sans, size_t nsans)
{
	for (size_t i = 0; i < nsans; i++)
		if (!pki_san_is_ip(sans[i]) && strlen(sans[i]) <= PKI_MAX_CN)
			return sans[i];
	return "vmgate";
}

X509 *
pki_cert_new(enum pki_kind kind, const char *cn, const char *const *sans,
	     size_t nsans, unsigned days, EVP_PKEY *key, X509 *ca,
	     EVP_PKEY *ca_key, char *err, size_t errlen)
{
	X509 *x = NULL, *ret = NULL;
	X509_NAME *name = NULL;
	X509V3_CTX ctx;
	const char *what = "cannot make the certificate";

	if (kind == PKI_SERVER) {
		if (nsans == 0 || nsans > PKI_MAX_SANS) {
			snprintf(err, errlen,
				 "a server certificate needs 1 to %d names "
				 "or addresses, not %zu",
				 PKI_MAX_SANS, nsans);
			goto out;
		}
		for (size_t i = 0; i < nsans; i++) {
			const char *why = pki_san_problem(sans[i]);
			if (why != NULL) {
				snprintf(err, errlen, "%.300s: %s", sans[i],
					 why);
				goto out;
			}
		}
		cn = pki_server_cn(sans, nsans);
	} else if (cn == NULL || cn[0] == '\0' || strlen(cn) > PKI_MAX_CN) {
		snprintf(err, errlen, "the common name must be 1 to %d bytes",
			 PKI_MAX_CN);
		goto out;
	}
	if (kind == PKI_CA) {
		ca = NULL;
		ca_key = key;
	} else if (ca == NULL || ca_key == NULL) {
		snprintf(err, errlen, "no CA to sign with");
		goto out;
	}
	if ((x = X509_new()) == NULL || X509_set_version(x, 2) != 1 ||
	    pki_set_serial(x) != 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_SECS) ==
		NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, 0, NULL) ==
		NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto fail;
	if ((name = X509_NAME_new()) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
				       (const unsigned char *)"vmgate", -1, -1,
				       0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, ca != NULL ? X509_get_subject_name(ca)
					       : name) != 1)
		goto fail;
	X509V3_set_ctx(&ctx, ca != NULL ? ca : x, x, NULL, NULL, 0);
	if (pki_add_ext(x, &ctx, NID_subject_key_identifier, "hash") != 0 ||
	    pki_add_ext(x, &ctx, NID_authority_key_identifier,
			"keyid:always") != 0)
		goto fail;
	switch (kind) {
	case PKI_CA:
		if (pki_add_ext(x, &ctx, NID_basic_constraints,
				"critical,CA:TRUE,pathlen:0") != 0 ||
		    pki_add_ext(x, &ctx, NID_key_usage,
				"critical,keyCertSign,cRLSign") != 0)
			goto fail;
		break;
	case PKI_SERVER:
	case PKI_CLIENT:
		if (pki_add_ext(x, &ctx, NID_basic_constraints,
				"critical,CA:FALSE") != 0 ||
		    pki_add_ext(x, &ctx, NID_key_usage,
				"critical,digitalSignature") != 0 ||
		    pki_add_ext(x, &ctx, NID_ext_key_usage,
				kind == PKI_SERVER ? "serverAuth"
						   : "clientAuth") != 0)
			goto fail;
		if (kind == PKI_SERVER && pki_add_sans(x, sans, nsans) != 0)
			goto fail;
		break;
	}
	what = "cannot sign the certificate";
	if (X509_sign(x, ca_key, EVP_sha256()) <= 0)
		goto fail;
	ret = x;
	x = NULL; /* transferred */
	goto out;
fail:
	pki_errf(err, errlen, what);
out:
	X509_NAME_free(name);
	X509_free(x);
	return ret;
}

int
pki_verify(X509 *ca, X509 *cert, enum pki_kind kind, char *err, size_t errlen)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int r = -1;

	if (store == NULL || ctx == NULL ||
	    X509_STORE_add_cert(store, ca) != 1 ||
	    X509_STORE_CTX_init(ctx, store, cert, NULL) != 1) {
		pki_errf(err, errlen, "cannot verify");
		goto out;
	}
	if (kind == PKI_SERVER)
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
	else if (kind == PKI_CLIENT)
		X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
	if (X509_verify_cert(ctx) != 1) {
		snprintf(err, errlen, "%s",
			 X509_verify_cert_error_string(
			     X509_STORE_CTX_get_error(ctx)));
		ERR_clear_error();
		goto out;
	}
	r = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return r;
}

void
pki_fingerprint(X509 *cert, char buf[PKI_FINGERPRINT_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t off = 0;

	buf[0] = '\0';
	if (X509_digest(cert, EVP_sha256(), md, &n) != 1 || n != 32) {
		ERR_clear_error();
		return;
	}
	for (unsigned i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, PKI_FINGERPRINT_LEN - off,
					"%s%02X", i ? ":" : "", md[i]);
}

/* The memory BIO's text as a malloc'd string. */
static char *
pki_bio_string(BIO *b)
{
	char *data = NULL, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	if (n > 0)
		memcpy(s, data, (size_t)n);
	s[n] = '\0';
	return s;
}

char *
pki_name(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;

	if (b == NULL)
		return NULL;
	/* RFC 2253 escapes control characters and bytes past ASCII */
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0)
		s = pki_bio_string(b);
	BIO_free(b);
	ERR_clear_error();
	return s;
}

/* Appends the IA5String's bytes, anything but printable ASCII as \xNN. */
static void
pki_put_escaped(BIO *b, const ASN1_STRING *s)
{
	const unsigned char *p = ASN1_STRING_get0_data(s);
	int n = ASN1_STRING_length(s);

	for (int i = 0; i < n; i++) {
		if (p[i] >= 0x21 && p[i] < 0x7f && p[i] != '\\')
			BIO_write(b, &p[i], 1);
		else
			BIO_printf(b, "\\x%02x", p[i]);
	}
}

char *
pki_sans(X509 *cert)
{
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL;
	int n = gens != NULL ? sk_GENERAL_NAME_num(gens) : 0;

	if (b == NULL)
		goto out;
	for (int i = 0; i < n; i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		char ip[INET6_ADDRSTRLEN];

		if (i > 0)
			BIO_puts(b, ", ");
		if (g->type == GEN_DNS) {
			BIO_puts(b, "DNS:");
			pki_put_escaped(b, g->d.dNSName);
		} else if (g->type == GEN_IPADD &&
			   (g->d.iPAddress->length == 4 ||
			    g->d.iPAddress->length == 16) &&
			   inet_ntop(
			       g->d.iPAddress->length == 4 ? AF_INET : AF_INET6,
			       g->d.iPAddress->data, ip, sizeof(ip)) != NULL) {
			BIO_printf(b, "IP:%s", ip);
		} else {
			BIO_printf(b, "(other name of type %d)", g->type);
		}
	}
	s = pki_bio_string(b);
out:
	BIO_free(b);
	GENERAL_NAMES_free(gens);
	ERR_clear_error();
	return s;
}

char *
pki_not_after(X509 *cert)
{
	struct tm tm;
	char *s = malloc(32);

	if (s == NULL)
		return NULL;
	if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1 ||
	    strftime(s, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(s, 32, "(unreadable)");
	ERR_clear_error();
	return s;
}

long
pki_days_left(X509 *cert)
{
	int days = 0, secs = 0;

	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) != 1) {
		ERR_clear_error();
		return -1;
	}
	/* rounded down: part of a day past the end is a day gone */
	return secs < 0 ? (long)days - 1 : days;
}
