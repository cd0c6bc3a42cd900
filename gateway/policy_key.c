/* OpenSSH public key lines of the policy's users: parsed and checked. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "policy_impl.h"
#include "rbuf.h"
#include "xmalloc.h"

/* ---- keys ---- */

static const struct {
	const char *name;
	enum ssh_keytypes_e type;
} policy_key_types[] = {
    {"ssh-ed25519", SSH_KEYTYPE_ED25519},
    {"ssh-rsa", SSH_KEYTYPE_RSA},
    {"ecdsa-sha2-nistp256", SSH_KEYTYPE_ECDSA_P256},
    {"ecdsa-sha2-nistp384", SSH_KEYTYPE_ECDSA_P384},
    {"ecdsa-sha2-nistp521", SSH_KEYTYPE_ECDSA_P521},
    {"sk-ecdsa-sha2-nistp256@openssh.com", SSH_KEYTYPE_SK_ECDSA},
    {"sk-ssh-ed25519@openssh.com", SSH_KEYTYPE_SK_ED25519},
};

/* Bits of an SSH mpint's magnitude. */
static unsigned
policy_mpint_bits(const unsigned char *s, size_t n)
{
	unsigned bits;

	while (n > 0 && s[0] == 0) {
		s++;
		n--;
	}
	if (n == 0)
		return 0;
	bits = (unsigned)(n - 1) * 8;
	for (unsigned c = s[0]; c != 0; c >>= 1)
		bits++;
	return bits;
}

/*
 * Parses "TYPE BASE64 [COMMENT]" (NUL-terminated, no NUL inside) into a
 * libssh key. Returns NULL with *keyp
 * set, or a message (in buf when it needs numbers) with *erroff the byte the
 * problem starts at.
 */
const char *
policy_key_parse(const char *line, ssh_key *keyp, size_t *erroff, char *buf,
		 size_t bufsize)
{
	const char *problem = NULL;
	size_t tlen, b64off, b64len, dlen, pad = 0, i;
	unsigned char *blob = NULL;
	char *b64 = NULL, *again = NULL;
	enum ssh_keytypes_e type = SSH_KEYTYPE_UNKNOWN;
	struct rbuf b;
	const unsigned char *s;
	size_t n;
	ssh_key key = NULL;
	int dec;

	*keyp = NULL;
	*erroff = 0;
	tlen = strcspn(line, " \t");
	for (i = 0; i < sizeof(policy_key_types) / sizeof(policy_key_types[0]);
	     i++) {
		if (strlen(policy_key_types[i].name) == tlen &&
		    memcmp(line, policy_key_types[i].name, tlen) == 0)
			type = policy_key_types[i].type;
	}
	if (type == SSH_KEYTYPE_UNKNOWN) {
		if (tlen > 21 &&
		    memcmp(line + tlen - 21, "-cert-v01@openssh.com", 21) == 0)
			problem = "certificates are not accepted as user keys";
		else if (tlen == 7 && memcmp(line, "ssh-dss", 7) == 0)
			problem = "DSA keys are not accepted";
		else
			problem =
			    "not an OpenSSH public key (expected ssh-ed25519, "
			    "ssh-rsa, ecdsa-sha2-*, or sk-*)";
		goto out;
	}
	b64off = tlen + strspn(line + tlen, " \t");
	b64len = strcspn(line + b64off, " \t");
	if (b64len == 0) {
		*erroff = b64off;
		problem = "the key data is missing after the key type";
		goto out;
	}
	*erroff = b64off;
	while (pad < 2 && pad < b64len &&
	       line[b64off + b64len - 1 - pad] == '=')
		pad++;
	blob = xmalloc(b64len / 4 * 3 + 1);
	dec = b64len % 4 == 0
		  ? EVP_DecodeBlock(blob, (const unsigned char *)line + b64off,
				    (int)b64len)
		  : -1;
	if (dec < 0 || (size_t)dec < pad) {
		problem = "the key data is not valid base64";
		goto out;
	}
	dlen = (size_t)dec - pad;
	/* The blob is SSH wire format: strings (RFC 4251 section 5). */
	rbuf_init(&b, blob, dlen);
	if (rbuf_get_string_be32(&b, dlen, &s, &n) != 0 || n != tlen ||
	    memcmp(s, line, tlen) != 0) {
		problem = "the key data does not hold a key of the type named "
			  "before it";
		goto out;
	}
	if (type == SSH_KEYTYPE_RSA) {
		const unsigned char *e, *mod;
		size_t elen, modlen;
		unsigned bits;
		if (rbuf_get_string_be32(&b, dlen, &e, &elen) != 0 ||
		    rbuf_get_string_be32(&b, dlen, &mod, &modlen) != 0) {
			problem = "the RSA key data is truncated";
			goto out;
		}
		bits = policy_mpint_bits(mod, modlen);
		if (bits < POLICY_MIN_RSA_BITS || bits > POLICY_MAX_RSA_BITS) {
			snprintf(buf, bufsize,
				 "the RSA key has %u bits; %d to %d are "
				 "accepted",
				 bits, POLICY_MIN_RSA_BITS,
				 POLICY_MAX_RSA_BITS);
			problem = buf;
			goto out;
		}
	}
	b64 = xstrndup(line + b64off, b64len);
	if (ssh_pki_import_pubkey_base64(b64, type, &key) != SSH_OK ||
	    key == NULL || ssh_key_type(key) != type) {
		problem = "the key data is not a valid key";
		goto out;
	}
	/* what libssh read must be all there was, written the usual way */
	if (ssh_pki_export_pubkey_base64(key, &again) != SSH_OK ||
	    strcmp(again, b64) != 0) {
		problem = "the key data has trailing or malformed bytes";
		goto out;
	}
	*keyp = key;
	key = NULL; /* transferred */
out:
	ssh_key_free(key);
	ssh_string_free_char(again);
	free(b64);
	free(blob);
	return problem;
}
