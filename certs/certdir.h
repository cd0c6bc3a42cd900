/*
 * The gateway's certificate folder (pki.h makes what is in it):
 *
 *	DIR/ca.pem			the CA certificate (0644)
 *	DIR/ca-key.pem			its key (0600)
 *	DIR/server.pem			the TLS listeners' certificate (0644)
 *	DIR/server-key.pem		its key (0600)
 *	DIR/clients/NAME.pem		client certificates (0644)
 *	DIR/clients/NAME-key.pem	their keys (0600)
 *
 * DIR and DIR/clients are created 0700 when missing (with missing parents).
 * Keys are PKCS#8 PEM, certificates PEM.
 *
 * Writing: every file is first written to ".NAME.tmp" in its folder, created
 * with O_EXCL|O_NOFOLLOW (a stale temporary, or a link planted under its
 * name, is removed, never written through) and fsync'd; once all of a step's
 * files are written they are renamed over their names, a key before its
 * certificate, so a reader never sees half a file and a link at a name is
 * replaced, not followed. A file that is there already is never replaced
 * without CERTDIR_FORCE.
 *
 * Reading: files are opened without following a link at their name, must
 * be regular files of at most CERTDIR_MAX_FILE bytes, and a key must not be
 * readable or writable by group or others (as OpenSSH's private keys).
 *
 * Every function returns 0, or -1 with one line in err naming the file and
 * the reason ("state/certs/server.pem: not a PEM certificate"). Nothing in a
 * file can crash them: files are untrusted input.
 */
#ifndef VMGATE_CERTDIR_H
#define VMGATE_CERTDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#define CERTDIR_CA "ca.pem"
#define CERTDIR_CA_KEY "ca-key.pem"
#define CERTDIR_SERVER "server.pem"
#define CERTDIR_SERVER_KEY "server-key.pem"
#define CERTDIR_CLIENTS "clients"
#define CERTDIR_MAX_FILE (64 * 1024)
#define CERTDIR_MAX_CLIENTS 10000 /* listed by certdir_show */

/* flags */
#define CERTDIR_FORCE 0x1  /* replace files that are there */
#define CERTDIR_NEW_CA 0x2 /* certdir_init: a new CA even if there is one */

/*
 * Adds san to sans[*n] unless it is there (case-insensitive); false if it
 * is not a valid name (pki_san_problem) or sans is full (PKI_MAX_SANS).
 */
bool certdir_add_san(const char **sans, size_t *n, const char *san);
/*
 * The names a server certificate gets by default: each of the nhosts
 * listen hosts (NULL entries skipped) unless a wildcard (0.0.0.0, ::),
 * this host's name (written into hostbuf), localhost, 127.0.0.1 and ::1,
 * which tunnels and local viewers use. sans has room for PKI_MAX_SANS;
 * returns how many were set.
 */
size_t certdir_default_sans(const char *const *hosts, size_t nhosts,
			    char *hostbuf, size_t hostlen, const char **sans);

/*
 * Makes the server certificate and key for the nsans names and addresses
 * (pki_san_problem), signed by the CA in dir; makes the CA first if there is
 * none (ca.pem and ca-key.pem both missing) or flags has CERTDIR_NEW_CA.
 * Refuses without CERTDIR_FORCE if a file it would write is there (and if
 * only one of ca.pem and ca-key.pem is). An existing CA is used only if its
 * key matches it and it is a CA. Prints one line per file written to out.
 */
int certdir_init(const char *dir, const char *const *sans, size_t nsans,
		 unsigned flags, FILE *out, char *err, size_t errlen);

/*
 * Issues clients/NAME.pem and clients/NAME-key.pem, CN=name, signed by the
 * CA in dir. name: 1..PKI_MAX_CN of [A-Za-z0-9._@-], not starting with '.'
 * (it is a file name). Refuses to replace without CERTDIR_FORCE. Prints
 * one line per file written to out.
 */
int certdir_issue(const char *dir, const char *name, unsigned flags, FILE *out,
		  char *err, size_t errlen);

/*
 * Prints what is in dir: for the CA and the server certificate their
 * subject, names and addresses, issuer, end of validity and days left,
 * SHA-256 fingerprint, whether the key matches and the chain verifies; one
 * line per client certificate. Problems (a missing or unreadable file, an
 * expired certificate, a key that does not match, a chain that does not
 * verify) are printed to errf as "PATH: reason". Returns 0 if there was
 * none, else -1 (err then holds the first).
 */
int certdir_show(const char *dir, FILE *out, FILE *errf, char *err,
		 size_t errlen);

/* Reads one certificate (the first in the file) or one private key. */
int certdir_read_cert(const char *path, X509 **out, char *err, size_t errlen);
int certdir_read_key(const char *path, EVP_PKEY **out, char *err,
		     size_t errlen);

#endif
