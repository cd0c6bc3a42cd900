/*
 * certs/: a CA, a server and a client certificate made in a temporary
 * folder, checked with OpenSSL's own verifier and by reading the files
 * back; refusals to overwrite; bad files named with their reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certdir.h"
#include "pki.h"

struct fixture {
	char dir[64];
	char err[1024];
	FILE *devnull;
};

static const char *const test_sans[] = {"gw.example.org", "192.0.2.7", "::1",
					"*.vm.example.org"};
#define NSANS (sizeof(test_sans) / sizeof(test_sans[0]))

static char *
path_of(struct fixture *f, const char *name)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", f->dir, name);
	return buf[i];
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/vmgate-certs-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->devnull = fopen("/dev/null", "w");
	assert_non_null(f->devnull);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	fclose(f->devnull);
	free(f);
	return 0;
}

static void
init_ok(struct fixture *f, unsigned flags)
{
	int r = certdir_init(f->dir, test_sans, NSANS, flags, f->devnull,
			     f->err, sizeof(f->err));
	if (r != 0)
		fail_msg("certdir_init: %s", f->err);
}

static X509 *
cert_of(struct fixture *f, const char *name)
{
	X509 *x = NULL;

	if (certdir_read_cert(path_of(f, name), &x, f->err, sizeof(f->err)) !=
	    0)
		fail_msg("%s", f->err);
	return x;
}

static void
assert_mode(struct fixture *f, const char *name, mode_t mode)
{
	struct stat st;

	assert_int_equal(lstat(path_of(f, name), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The serial as a positive number of at most 127 bits and at least 64. */
static void
assert_serial(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);

	assert_non_null(bn);
	assert_false(BN_is_negative(bn));
	assert_true(BN_num_bits(bn) <= 127);
	assert_true(BN_num_bits(bn) >= 64); /* 2^-63 to fail by chance */
	BN_free(bn);
}

static void
test_init_chain(void **state)
{
	struct fixture *f = *state;
	X509 *ca, *srv;
	EVP_PKEY *key = NULL;
	char *names;

	init_ok(f, 0);
	ca = cert_of(f, "ca.pem");
	srv = cert_of(f, "server.pem");
	assert_mode(f, "ca-key.pem", 0600);
	assert_mode(f, "server-key.pem", 0600);
	assert_mode(f, "ca.pem", 0644);
	assert_mode(f, "server.pem", 0644);
	/* no temporaries left */
	assert_int_equal(access(path_of(f, ".server.pem.tmp"), F_OK), -1);
	assert_int_equal(access(path_of(f, ".ca-key.pem.tmp"), F_OK), -1);

	/* the chain, as a TLS client checks a server */
	assert_int_equal(
	    pki_verify(ca, srv, PKI_SERVER, f->err, sizeof(f->err)), 0);
	assert_int_equal(pki_verify(ca, ca, PKI_CA, f->err, sizeof(f->err)), 0);
	/* not a client certificate */
	assert_int_equal(
	    pki_verify(ca, srv, PKI_CLIENT, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, "unsuitable certificate purpose");
	assert_int_equal(X509_check_ca(ca), 1);
	assert_int_equal(X509_check_ca(srv), 0);
	assert_int_equal(X509_check_purpose(srv, X509_PURPOSE_SSL_SERVER, 0),
			 1);
	assert_int_equal(X509_check_purpose(srv, X509_PURPOSE_SSL_CLIENT, 0),
			 0);

	/* every name and address, and nothing else */
	assert_int_equal(X509_check_host(srv, "gw.example.org", 0, 0, NULL), 1);
	assert_int_equal(
	    X509_check_host(srv, "web1.vm.example.org", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(srv, "other.example.org", 0, 0, NULL),
			 0);
	assert_int_equal(X509_check_ip_asc(srv, "192.0.2.7", 0), 1);
	assert_int_equal(X509_check_ip_asc(srv, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(srv, "192.0.2.8", 0), 0);
	names = pki_sans(srv);
	assert_string_equal(names, "DNS:gw.example.org, IP:192.0.2.7, IP:::1, "
				   "DNS:*.vm.example.org");
	free(names);
	names = pki_name(X509_get_subject_name(srv));
	assert_string_equal(names, "CN=gw.example.org,O=vmgate");
	free(names);

	/* validity: from before now to 825 days on */
	assert_true(X509_cmp_current_time(X509_get0_notBefore(srv)) < 0);
	/* 825 days to the second, or a second less */
	assert_in_range(pki_days_left(srv), PKI_SERVER_DAYS - 1,
			PKI_SERVER_DAYS);
	assert_true(pki_days_left(ca) >= PKI_CA_DAYS - 1);
	assert_serial(ca);
	assert_serial(srv);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(ca),
					      X509_get0_serialNumber(srv)),
			     0);

	/* the key on disk is the certificate's, P-256 */
	assert_int_equal(certdir_read_key(path_of(f, "server-key.pem"), &key,
					  f->err, sizeof(f->err)),
			 0);
	assert_int_equal(X509_check_private_key(srv, key), 1);
	assert_true(EVP_PKEY_is_a(key, "EC"));
	assert_int_equal(EVP_PKEY_get_bits(key), 256);
	EVP_PKEY_free(key);

	/* and show finds nothing wrong */
	assert_int_equal(certdir_show(f->dir, f->devnull, f->devnull, f->err,
				      sizeof(f->err)),
			 0);
	X509_free(ca);
	X509_free(srv);
}

static void
test_issue_client(void **state)
{
	struct fixture *f = *state;
	X509 *ca, *cl;
	char *subject;

	init_ok(f, 0);
	assert_int_equal(certdir_issue(f->dir, "alice", 0, f->devnull, f->err,
				       sizeof(f->err)),
			 0);
	assert_mode(f, "clients/alice-key.pem", 0600);
	assert_mode(f, "clients/alice.pem", 0644);
	ca = cert_of(f, "ca.pem");
	cl = cert_of(f, "clients/alice.pem");
	assert_int_equal(pki_verify(ca, cl, PKI_CLIENT, f->err, sizeof(f->err)),
			 0);
	assert_int_equal(pki_verify(ca, cl, PKI_SERVER, f->err, sizeof(f->err)),
			 -1);
	subject = pki_name(X509_get_subject_name(cl));
	assert_string_equal(subject, "CN=alice,O=vmgate");
	free(subject);
	subject = pki_sans(cl);
	assert_string_equal(subject, "");
	free(subject);
	assert_serial(cl);

	/* names that are not file names */
	assert_int_equal(certdir_issue(f->dir, "../evil", 0, f->devnull, f->err,
				       sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, "client name '../evil' must not start "
				    "with '.'");
	assert_int_equal(
	    certdir_issue(f->dir, "a/b", 0, f->devnull, f->err, sizeof(f->err)),
	    -1);
	assert_non_null(strstr(f->err, "may hold only letters"));
	assert_int_equal(
	    certdir_issue(f->dir, "", 0, f->devnull, f->err, sizeof(f->err)),
	    -1);
	X509_free(ca);
	X509_free(cl);
}

static void
test_refuse_overwrite(void **state)
{
	struct fixture *f = *state;
	char want[512], fp1[PKI_FINGERPRINT_LEN], fp2[PKI_FINGERPRINT_LEN];
	char cafp1[PKI_FINGERPRINT_LEN], cafp2[PKI_FINGERPRINT_LEN];
	X509 *x;

	init_ok(f, 0);
	x = cert_of(f, "server.pem");
	pki_fingerprint(x, fp1);
	X509_free(x);
	x = cert_of(f, "ca.pem");
	pki_fingerprint(x, cafp1);
	X509_free(x);

	assert_int_equal(certdir_init(f->dir, test_sans, NSANS, 0, f->devnull,
				      f->err, sizeof(f->err)),
			 -1);
	snprintf(want, sizeof(want),
		 "%s/server.pem exists (--force replaces it)", f->dir);
	assert_string_equal(f->err, want);
	assert_int_equal(certdir_init(f->dir, test_sans, NSANS, CERTDIR_NEW_CA,
				      f->devnull, f->err, sizeof(f->err)),
			 -1);
	snprintf(want, sizeof(want), "%s/ca.pem exists (--force replaces it)",
		 f->dir);
	assert_string_equal(f->err, want);
	x = cert_of(f, "server.pem");
	pki_fingerprint(x, fp2);
	X509_free(x);
	assert_string_equal(fp1, fp2);

	/* --force: a new server certificate from the same CA */
	init_ok(f, CERTDIR_FORCE);
	x = cert_of(f, "server.pem");
	pki_fingerprint(x, fp2);
	X509_free(x);
	assert_string_not_equal(fp1, fp2);
	x = cert_of(f, "ca.pem");
	pki_fingerprint(x, cafp2);
	X509_free(x);
	assert_string_equal(cafp1, cafp2);

	/* --force --new-ca: a new CA too */
	init_ok(f, CERTDIR_FORCE | CERTDIR_NEW_CA);
	x = cert_of(f, "ca.pem");
	pki_fingerprint(x, cafp2);
	X509_free(x);
	assert_string_not_equal(cafp1, cafp2);
	assert_mode(f, "ca-key.pem", 0600);

	/* client certificates alike */
	assert_int_equal(
	    certdir_issue(f->dir, "bob", 0, f->devnull, f->err, sizeof(f->err)),
	    0);
	assert_int_equal(
	    certdir_issue(f->dir, "bob", 0, f->devnull, f->err, sizeof(f->err)),
	    -1);
	snprintf(want, sizeof(want),
		 "%s/clients/bob.pem exists (--force replaces it)", f->dir);
	assert_string_equal(f->err, want);
	assert_int_equal(certdir_issue(f->dir, "bob", CERTDIR_FORCE, f->devnull,
				       f->err, sizeof(f->err)),
			 0);
}

/* A link where a file will be written is replaced, never written through. */
static void
test_links_not_followed(void **state)
{
	struct fixture *f = *state;
	char victim[256], want[512];
	struct stat st;
	X509 *x = NULL;

	init_ok(f, 0);
	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	write_file(victim, "precious\n", 0644);
	assert_int_equal(unlink(path_of(f, "server-key.pem")), 0);
	assert_int_equal(symlink(victim, path_of(f, "server-key.pem")), 0);
	/* a planted temporary too */
	assert_int_equal(symlink(victim, path_of(f, ".server.pem.tmp")), 0);

	/* reading: the link is named */
	assert_int_equal(certdir_show(f->dir, f->devnull, f->devnull, f->err,
				      sizeof(f->err)),
			 -1);
	snprintf(want, sizeof(want),
		 "%s/server-key.pem: a symbolic link (not followed)", f->dir);
	assert_string_equal(f->err, want);

	init_ok(f, CERTDIR_FORCE);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_size, 9);
	assert_mode(f, "server-key.pem", 0600);
	assert_int_equal(access(path_of(f, ".server.pem.tmp"), F_OK), -1);
	x = cert_of(f, "server.pem");
	X509_free(x);
}

static void
test_bad_files(void **state)
{
	struct fixture *f = *state;
	char want[512];
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	FILE *fp;

	init_ok(f, 0);

	/* a corrupt certificate: named, with the reason; show fails */
	write_file(path_of(f, "server.pem"),
		   "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
		   "-----END CERTIFICATE-----\n",
		   0644);
	assert_int_equal(certdir_read_cert(path_of(f, "server.pem"), &x, f->err,
					   sizeof(f->err)),
			 -1);
	assert_null(x);
	snprintf(want, sizeof(want), "%s/server.pem: not a PEM certificate",
		 f->dir);
	assert_string_equal(f->err, want);
	assert_int_equal(certdir_show(f->dir, f->devnull, f->devnull, f->err,
				      sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, want);

	/* empty; a key where a certificate should be */
	write_file(path_of(f, "empty.pem"), "", 0644);
	assert_int_equal(certdir_read_cert(path_of(f, "empty.pem"), &x, f->err,
					   sizeof(f->err)),
			 -1);
	assert_non_null(strstr(f->err, "empty.pem: not a PEM certificate"));
	assert_int_equal(certdir_read_cert(path_of(f, "ca-key.pem"), &x, f->err,
					   sizeof(f->err)),
			 -1);
	assert_non_null(strstr(f->err, "ca-key.pem: not a PEM certificate"));

	/* a truncated key; a certificate where a key should be */
	write_file(path_of(f, "bad-key.pem"),
		   "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49\n", 0600);
	assert_int_equal(certdir_read_key(path_of(f, "bad-key.pem"), &k, f->err,
					  sizeof(f->err)),
			 -1);
	assert_null(k);
	assert_non_null(strstr(f->err, "bad-key.pem: not a PEM private key"));
	write_file(path_of(f, "cert-key.pem"), "", 0600);
	fp = fopen(path_of(f, "cert-key.pem"), "w");
	assert_non_null(fp);
	x = cert_of(f, "ca.pem");
	PEM_write_X509(fp, x);
	X509_free(x);
	x = NULL;
	fclose(fp);
	assert_int_equal(certdir_read_key(path_of(f, "cert-key.pem"), &k,
					  f->err, sizeof(f->err)),
			 -1);
	assert_non_null(strstr(f->err, "cert-key.pem: not a PEM private key"));

	/* a key open to others is refused, naming the fix */
	assert_int_equal(chmod(path_of(f, "ca-key.pem"), 0640), 0);
	assert_int_equal(certdir_read_key(path_of(f, "ca-key.pem"), &k, f->err,
					  sizeof(f->err)),
			 -1);
	snprintf(want, sizeof(want),
		 "%s/ca-key.pem: mode 0640: a private key must not be open to "
		 "group or others (chmod 600 %s/ca-key.pem)",
		 f->dir, f->dir);
	assert_string_equal(f->err, want);
	/* issue needs the CA's key, and says why it cannot have it */
	assert_int_equal(certdir_issue(f->dir, "carol", 0, f->devnull, f->err,
				       sizeof(f->err)),
			 -1);
	assert_string_equal(f->err, want);
	assert_int_equal(chmod(path_of(f, "ca-key.pem"), 0600), 0);

	/* too big; a folder; missing */
	fp = fopen(path_of(f, "big.pem"), "w");
	assert_non_null(fp);
	for (int i = 0; i < CERTDIR_MAX_FILE + 1; i++)
		fputc('A', fp);
	fclose(fp);
	assert_int_equal(certdir_read_cert(path_of(f, "big.pem"), &x, f->err,
					   sizeof(f->err)),
			 -1);
	assert_non_null(strstr(f->err, "big.pem: larger than 65536 bytes"));
	assert_int_equal(mkdir(path_of(f, "d.pem"), 0700), 0);
	assert_int_equal(
	    certdir_read_cert(path_of(f, "d.pem"), &x, f->err, sizeof(f->err)),
	    -1);
	assert_non_null(strstr(f->err, "d.pem: not a regular file"));
	assert_int_equal(certdir_read_cert(path_of(f, "nope.pem"), &x, f->err,
					   sizeof(f->err)),
			 -1);
	assert_non_null(strstr(f->err, "nope.pem: No such file or directory"));

	/* a CA key that is not the CA's */
	assert_int_equal(
	    rename(path_of(f, "server-key.pem"), path_of(f, "ca-key.pem")), 0);
	assert_int_equal(certdir_issue(f->dir, "carol", 0, f->devnull, f->err,
				       sizeof(f->err)),
			 -1);
	snprintf(want, sizeof(want), "%s/ca-key.pem: not the key of %s/ca.pem",
		 f->dir, f->dir);
	assert_string_equal(f->err, want);
	/* only the certificate of the CA: init refuses to guess */
	assert_int_equal(unlink(path_of(f, "ca-key.pem")), 0);
	assert_int_equal(certdir_init(f->dir, test_sans, NSANS, CERTDIR_FORCE,
				      f->devnull, f->err, sizeof(f->err)),
			 -1);
	assert_non_null(strstr(f->err, "ca.pem is there without"));
}

static void
test_sans_checked(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
	    "",		 "a..b",  "-a.b",  "a-.b",	"a b",	       "a_b.c",
	    "é.example", "*.com", "a.*.b", "1.2.3.4/8", "192.0.2.1:80"};
	const char *one[1];
	char big[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (pki_san_problem(bad[i]) == NULL)
			fail_msg("'%s' accepted", bad[i]);
		one[0] = bad[i];
		assert_int_equal(certdir_init(f->dir, one, 1, 0, f->devnull,
					      f->err, sizeof(f->err)),
				 -1);
		/* nothing written for a refused name */
		assert_int_equal(access(path_of(f, "ca.pem"), F_OK), -1);
	}
	assert_null(pki_san_problem("localhost"));
	assert_null(pki_san_problem("fe80::1"));
	assert_null(pki_san_problem("10.0.0.1"));
	assert_null(pki_san_problem("xn--bcher-kva.example"));
	memset(big, 'a', sizeof(big));
	big[64] = '\0';
	assert_non_null(pki_san_problem(big)); /* a 64-character label */
	assert_int_equal(certdir_init(f->dir, NULL, 0, 0, f->devnull, f->err,
				      sizeof(f->err)),
			 -1);
	assert_non_null(strstr(f->err, "needs 1 to 64 names"));
}

/* Text from a certificate reaches a terminal escaped. */
static void
test_escaped(void **state)
{
	EVP_PKEY *key = pki_key_new();
	X509_EXTENSION *ext;
	char err[256], *s;
	X509 *x;

	(void)state;
	assert_non_null(key);
	x = pki_cert_new(PKI_CA, "evil\x1b[31m\n", NULL, 0, 1, key, NULL, NULL,
			 err, sizeof(err));
	assert_non_null(x);
	s = pki_name(X509_get_subject_name(x));
	assert_string_equal(s, "CN=evil\\1B[31m\\0A,O=vmgate");
	free(s);
	ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name,
				  "DNS:a\x1b"
				  "b\\c");
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	s = pki_sans(x);
	assert_string_equal(s, "DNS:a\\x1bb\\x5cc");
	free(s);
	X509_free(x);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_issue_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refuse_overwrite, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_links_not_followed, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sans_checked, setup, teardown),
	    cmocka_unit_test(test_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
