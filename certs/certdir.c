/* The certificate folder: files in and out (certdir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certdir.h"
#include "pki.h"

#define CERTDIR_MAX_WRITES 4

static int __attribute__((format(printf, 3, 4)))
certdir_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* malloc'd "a/b", or NULL */
static char *
certdir_join(const char *a, const char *b)
{
	char *s = NULL;

	if (asprintf(&s, "%s/%s", a, b) < 0)
		return NULL;
	return s;
}

/* mkdir -p with 0700 for what it creates. */
static int
certdir_mkdirs(const char *dir, char *err, size_t errlen)
{
	char *p = strdup(dir);
	int r = -1;

	if (p == NULL)
		return certdir_fail(err, errlen, "%s: out of memory", dir);
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			certdir_fail(err, errlen, "%s: %s", p, strerror(errno));
			goto out;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	r = 0;
out:
	free(p);
	return r;
}

/* Whether name is in dfd, as anything (a link is not followed). */
static bool
certdir_exists(int dfd, const char *name)
{
	struct stat st;

	return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * Reads the file at path into a malloc'd buffer (*bufp, *lenp), checked as
 * certdir.h says; a key's buffer must be wiped by the caller.
 */
static int
certdir_slurp(const char *path, bool key, char **bufp, size_t *lenp, char *err,
	      size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd, r = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ELOOP)
			return certdir_fail(
			    err, errlen, "%s: a symbolic link (not followed)",
			    path);
		return certdir_fail(err, errlen, "%s: %s", path,
				    strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		certdir_fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		certdir_fail(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	if (key && (st.st_mode & 077) != 0) {
		certdir_fail(err, errlen,
			     "%s: mode %04o: a private key must not be open to "
			     "group or others (chmod 600 %s)",
			     path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > CERTDIR_MAX_FILE) {
		certdir_fail(err, errlen, "%s: larger than %d bytes", path,
			     CERTDIR_MAX_FILE);
		goto out;
	}
	if ((buf = malloc(CERTDIR_MAX_FILE + 1)) == NULL) {
		certdir_fail(err, errlen, "%s: out of memory", path);
		goto out;
	}
	/* the size may change under us: read to EOF, up to the cap */
	while (len <= CERTDIR_MAX_FILE) {
		ssize_t n = read(fd, buf + len, CERTDIR_MAX_FILE + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			certdir_fail(err, errlen, "%s: %s", path,
				     strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CERTDIR_MAX_FILE) {
		certdir_fail(err, errlen, "%s: larger than %d bytes", path,
			     CERTDIR_MAX_FILE);
		goto out;
	}
	*bufp = buf;
	*lenp = len;
	buf = NULL; /* transferred */
	r = 0;
out:
	if (buf != NULL) {
		explicit_bzero(buf, CERTDIR_MAX_FILE + 1);
		free(buf);
	}
	close(fd);
	return r;
}

int
certdir_read_cert(const char *path, X509 **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	X509 *x = NULL;
	int r = -1;

	if (certdir_slurp(path, false, &buf, &len, err, errlen) != 0)
		return -1;
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		certdir_fail(err, errlen, "%s: out of memory", path);
		goto out;
	}
	if ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL) {
		certdir_fail(err, errlen, "%s: not a PEM certificate", path);
		goto out;
	}
	*out = x;
	r = 0;
out:
	ERR_clear_error();
	BIO_free(b);
	free(buf);
	return r;
}

/* No passphrase: an encrypted key is refused, never asked for. */
static int
certdir_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int
certdir_read_key(const char *path, EVP_PKEY **out, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	BIO *b = NULL;
	EVP_PKEY *k = NULL;
	int r = -1;

	if (certdir_slurp(path, true, &buf, &len, err, errlen) != 0)
		return -1;
	if ((b = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		certdir_fail(err, errlen, "%s: out of memory", path);
		goto out;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, certdir_no_passphrase, NULL);
	if (k == NULL) {
		certdir_fail(err, errlen,
			     "%s: not a PEM private key (or an encrypted one)",
			     path);
		goto out;
	}
	*out = k;
	r = 0;
out:
	ERR_clear_error();
	BIO_free(b);
	if (buf != NULL)
		explicit_bzero(buf, len);
	free(buf);
	return r;
}

/* ---- writing ---- */

/* One file of a step: written to its temporary, renamed at the end. */
struct certdir_write {
	int dfd;     /* not owned */
	char *path;  /* DIR/NAME, for messages */
	char *name;  /* NAME in dfd */
	char *tmp;   /* .NAME.tmp in dfd, NULL once renamed or removed */
	mode_t mode; /* 0600 keys, 0644 certificates */
};

struct certdir_step {
	struct certdir_write w[CERTDIR_MAX_WRITES];
	size_t n;
};

/* PEM of a key (in secure memory, wiped when freed) or a certificate. */
static BIO *
certdir_pem(EVP_PKEY *key, X509 *cert)
{
	BIO *b = BIO_new(key != NULL ? BIO_s_secmem() : BIO_s_mem());
	int ok;

	if (b == NULL)
		return NULL;
	if (key != NULL)
		ok =
		    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
	else
		ok = PEM_write_bio_X509(b, cert);
	if (ok != 1) {
		BIO_free(b);
		b = NULL;
	}
	ERR_clear_error();
	return b;
}

/*
 * Adds name (in dfd, which is dir) to the step and writes its temporary
 * with the PEM of key or cert.
 */
static int
certdir_stage(struct certdir_step *st, int dfd, const char *dir,
	      const char *name, EVP_PKEY *key, X509 *cert, char *err,
	      size_t errlen)
{
	struct certdir_write *w = &st->w[st->n];
	BIO *b = NULL;
	char *data = NULL;
	long len;
	size_t off = 0;
	int fd = -1, r = -1;

	memset(w, 0, sizeof(*w));
	w->dfd = dfd;
	w->mode = key != NULL ? 0600 : 0644;
	st->n++;
	if ((w->path = certdir_join(dir, name)) == NULL ||
	    (w->name = strdup(name)) == NULL ||
	    asprintf(&w->tmp, ".%s.tmp", name) < 0) {
		w->tmp = NULL;
		return certdir_fail(err, errlen, "%s: out of memory", dir);
	}
	if ((b = certdir_pem(key, cert)) == NULL) {
		certdir_fail(err, errlen, "%s: cannot encode", w->path);
		goto out;
	}
	len = BIO_get_mem_data(b, &data);
	if (unlinkat(dfd, w->tmp, 0) != 0 && errno != ENOENT) {
		certdir_fail(err, errlen, "%s/%s: %s", dir, w->tmp,
			     strerror(errno));
		goto out;
	}
	fd = openat(dfd, w->tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    w->mode);
	if (fd < 0) {
		certdir_fail(err, errlen, "%s/%s: %s", dir, w->tmp,
			     strerror(errno));
		goto out;
	}
	/* the umask must not widen nor narrow what a reader needs */
	if (fchmod(fd, w->mode) != 0)
		goto io;
	while (off < (size_t)len) {
		ssize_t n = write(fd, data + off, (size_t)len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			goto io;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0)
		goto io;
	r = close(fd);
	fd = -1;
	if (r != 0)
		goto io;
	goto out;
io:
	certdir_fail(err, errlen, "%s/%s: %s", dir, w->tmp, strerror(errno));
	r = -1;
out:
	if (fd >= 0)
		close(fd);
	BIO_free(b);
	return r;
}

/* Renames every temporary over its name, in the order staged. */
static int
certdir_commit(struct certdir_step *st, FILE *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < st->n; i++) {
		struct certdir_write *w = &st->w[i];
		if (renameat(w->dfd, w->tmp, w->dfd, w->name) != 0)
			return certdir_fail(err, errlen, "%s: %s", w->path,
					    strerror(errno));
		free(w->tmp);
		w->tmp = NULL;
		if (out != NULL)
			fprintf(out, "wrote %s (%04o)\n", w->path,
				(unsigned)w->mode);
	}
	return 0;
}

/* Removes what is left of the step's temporaries. */
static void
certdir_step_free(struct certdir_step *st)
{
	for (size_t i = 0; i < st->n; i++) {
		struct certdir_write *w = &st->w[i];
		if (w->tmp != NULL)
			unlinkat(w->dfd, w->tmp, 0);
		free(w->tmp);
		free(w->name);
		free(w->path);
	}
	st->n = 0;
}

/* Refuses when name is in dfd and flags has no CERTDIR_FORCE. */
static int
certdir_may_write(int dfd, const char *dir, const char *name, unsigned flags,
		  char *err, size_t errlen)
{
	if ((flags & CERTDIR_FORCE) || !certdir_exists(dfd, name))
		return 0;
	return certdir_fail(err, errlen, "%s/%s exists (--force replaces it)",
			    dir, name);
}

static int
certdir_open(const char *dir, bool create, int *dfdp, char *err, size_t errlen)
{
	if (create && certdir_mkdirs(dir, err, errlen) != 0)
		return -1;
	*dfdp = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*dfdp < 0)
		return certdir_fail(err, errlen, "%s: %s", dir,
				    strerror(errno));
	return 0;
}

/* Reads the CA and its key from dir and checks that they belong. */
static int
certdir_load_ca(const char *dir, X509 **cap, EVP_PKEY **keyp, char *err,
		size_t errlen)
{
	char *cpath = certdir_join(dir, CERTDIR_CA);
	char *kpath = certdir_join(dir, CERTDIR_CA_KEY);
	X509 *ca = NULL;
	EVP_PKEY *key = NULL;
	int r = -1;

	if (cpath == NULL || kpath == NULL) {
		certdir_fail(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	if (certdir_read_cert(cpath, &ca, err, errlen) != 0 ||
	    certdir_read_key(kpath, &key, err, errlen) != 0)
		goto out;
	if (X509_check_ca(ca) == 0) {
		certdir_fail(err, errlen, "%s: not a CA certificate", cpath);
		goto out;
	}
	if (X509_check_private_key(ca, key) != 1) {
		certdir_fail(err, errlen, "%s: not the key of %s", kpath,
			     cpath);
		goto out;
	}
	*cap = ca;
	*keyp = key;
	ca = NULL;  /* transferred */
	key = NULL; /* transferred */
	r = 0;
out:
	ERR_clear_error();
	X509_free(ca);
	EVP_PKEY_free(key);
	free(cpath);
	free(kpath);
	return r;
}

/* "vmgate CA on HOST", cut to fit a common name. */
static void
certdir_ca_cn(char cn[PKI_MAX_CN + 1])
{
	static const char prefix[] = "vmgate CA on ";
	char host[256];
	size_t len;

	memset(host, 0, sizeof(host));
	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
		snprintf(cn, PKI_MAX_CN + 1, "vmgate CA");
		return;
	}
	memcpy(cn, prefix, sizeof(prefix) - 1);
	len = strnlen(host, PKI_MAX_CN - (sizeof(prefix) - 1));
	memcpy(cn + sizeof(prefix) - 1, host, len);
	cn[sizeof(prefix) - 1 + len] = '\0';
}

int
certdir_init(const char *dir, const char *const *sans, size_t nsans,
	     unsigned flags, FILE *out, char *err, size_t errlen)
{
	struct certdir_step st = {.n = 0};
	X509 *ca = NULL, *srv = NULL;
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	char cn[PKI_MAX_CN + 1];
	bool have_ca, have_key, new_ca, replaced_ca = false;
	int dfd = -1, r = -1;

	if (certdir_open(dir, true, &dfd, err, errlen) != 0)
		goto out;
	have_ca = certdir_exists(dfd, CERTDIR_CA);
	have_key = certdir_exists(dfd, CERTDIR_CA_KEY);
	new_ca = (flags & CERTDIR_NEW_CA) || (!have_ca && !have_key);
	if (!new_ca && have_ca != have_key) {
		certdir_fail(err, errlen,
			     "%s/%s is there without %s/%s (--new-ca --force "
			     "makes a new CA)",
			     dir, have_ca ? CERTDIR_CA : CERTDIR_CA_KEY, dir,
			     have_ca ? CERTDIR_CA_KEY : CERTDIR_CA);
		goto out;
	}
	if (new_ca &&
	    (certdir_may_write(dfd, dir, CERTDIR_CA, flags, err, errlen) != 0 ||
	     certdir_may_write(dfd, dir, CERTDIR_CA_KEY, flags, err, errlen) !=
		 0))
		goto out;
	if (certdir_may_write(dfd, dir, CERTDIR_SERVER, flags, err, errlen) !=
		0 ||
	    certdir_may_write(dfd, dir, CERTDIR_SERVER_KEY, flags, err,
			      errlen) != 0)
		goto out;
	if (new_ca) {
		replaced_ca = have_ca || have_key;
		certdir_ca_cn(cn);
		if ((ca_key = pki_key_new()) == NULL) {
			certdir_fail(err, errlen, "cannot make a key");
			goto out;
		}
		ca = pki_cert_new(PKI_CA, cn, NULL, 0, PKI_CA_DAYS, ca_key,
				  NULL, NULL, err, errlen);
		if (ca == NULL)
			goto out;
	} else if (certdir_load_ca(dir, &ca, &ca_key, err, errlen) != 0) {
		goto out;
	}
	if ((srv_key = pki_key_new()) == NULL) {
		certdir_fail(err, errlen, "cannot make a key");
		goto out;
	}
	srv = pki_cert_new(PKI_SERVER, NULL, sans, nsans, PKI_SERVER_DAYS,
			   srv_key, ca, ca_key, err, errlen);
	if (srv == NULL)
		goto out;
	if (new_ca && (certdir_stage(&st, dfd, dir, CERTDIR_CA_KEY, ca_key,
				     NULL, err, errlen) != 0 ||
		       certdir_stage(&st, dfd, dir, CERTDIR_CA, NULL, ca, err,
				     errlen) != 0))
		goto out;
	if (certdir_stage(&st, dfd, dir, CERTDIR_SERVER_KEY, srv_key, NULL, err,
			  errlen) != 0 ||
	    certdir_stage(&st, dfd, dir, CERTDIR_SERVER, NULL, srv, err,
			  errlen) != 0)
		goto out;
	if (!new_ca && out != NULL)
		fprintf(out, "using the CA in %s/%s\n", dir, CERTDIR_CA);
	if (certdir_commit(&st, out, err, errlen) != 0)
		goto out;
	if (out != NULL) {
		char *names = pki_sans(srv), *until = pki_not_after(srv);
		fprintf(out, "server certificate for %s, valid until %s\n",
			names != NULL ? names : "?",
			until != NULL ? until : "?");
		free(names);
		free(until);
		if (replaced_ca)
			fprintf(
			    out,
			    "the CA is new: client certificates of the "
			    "old one no longer verify (issue them again)\n");
	}
	r = 0;
out:
	certdir_step_free(&st);
	X509_free(ca);
	X509_free(srv);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	if (dfd >= 0)
		close(dfd);
	return r;
}

static const char *
certdir_name_problem(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > PKI_MAX_CN)
		return "must be 1 to 64 characters";
	if (name[0] == '.')
		return "must not start with '.'";
	for (const char *p = name; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '@' || *p == '-'))
			return "may hold only letters, digits, '.', '_', '@' "
			       "and '-'";
	return NULL;
}

int
certdir_issue(const char *dir, const char *name, unsigned flags, FILE *out,
	      char *err, size_t errlen)
{
	struct certdir_step st = {.n = 0};
	X509 *ca = NULL, *cert = NULL;
	EVP_PKEY *ca_key = NULL, *key = NULL;
	char *cdir = NULL, *cert_name = NULL, *key_name = NULL;
	const char *why = certdir_name_problem(name);
	int dfd = -1, r = -1;

	if (why != NULL) {
		certdir_fail(err, errlen, "client name '%.80s' %s", name, why);
		goto out;
	}
	if (certdir_load_ca(dir, &ca, &ca_key, err, errlen) != 0)
		goto out;
	if ((cdir = certdir_join(dir, CERTDIR_CLIENTS)) == NULL ||
	    asprintf(&cert_name, "%s.pem", name) < 0 ||
	    asprintf(&key_name, "%s-key.pem", name) < 0) {
		certdir_fail(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	if (certdir_open(cdir, true, &dfd, err, errlen) != 0 ||
	    certdir_may_write(dfd, cdir, cert_name, flags, err, errlen) != 0 ||
	    certdir_may_write(dfd, cdir, key_name, flags, err, errlen) != 0)
		goto out;
	if ((key = pki_key_new()) == NULL) {
		certdir_fail(err, errlen, "cannot make a key");
		goto out;
	}
	cert = pki_cert_new(PKI_CLIENT, name, NULL, 0, PKI_CLIENT_DAYS, key, ca,
			    ca_key, err, errlen);
	if (cert == NULL ||
	    certdir_stage(&st, dfd, cdir, key_name, key, NULL, err, errlen) !=
		0 ||
	    certdir_stage(&st, dfd, cdir, cert_name, NULL, cert, err, errlen) !=
		0 ||
	    certdir_commit(&st, out, err, errlen) != 0)
		goto out;
	if (out != NULL) {
		char *until = pki_not_after(cert);
		fprintf(out, "client certificate for %s, valid until %s\n",
			name, until != NULL ? until : "?");
		free(until);
	}
	r = 0;
out:
	certdir_step_free(&st);
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	free(cdir);
	free(cert_name);
	free(key_name);
	if (dfd >= 0)
		close(dfd);
	return r;
}

/* ---- show ---- */

struct certdir_report {
	FILE *errf;
	char *err;
	size_t errlen;
	unsigned problems;
};

static void __attribute__((format(printf, 2, 3)))
certdir_problem(struct certdir_report *rep, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(rep->errf, "%s\n", line);
	if (rep->problems++ == 0)
		snprintf(rep->err, rep->errlen, "%s", line);
}

/* The dates of cert; an expired one is a problem. */
static void
certdir_show_dates(FILE *out, struct certdir_report *rep, const char *path,
		   X509 *cert)
{
	char *until = pki_not_after(cert);
	long days = pki_days_left(cert);

	fprintf(out, "  not after: %s (%ld day%s left)\n",
		until != NULL ? until : "?", days < 0 ? 0 : days,
		days == 1 ? "" : "s");
	if (days < 0)
		certdir_problem(rep, "%s: expired on %s", path,
				until != NULL ? until : "?");
	else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
		certdir_problem(rep, "%s: not valid yet", path);
	free(until);
}

static void
certdir_show_cert(FILE *out, struct certdir_report *rep, const char *path,
		  X509 *cert)
{
	char *subject = pki_name(X509_get_subject_name(cert));
	char *issuer = pki_name(X509_get_issuer_name(cert));
	char *names = pki_sans(cert);
	char fp[PKI_FINGERPRINT_LEN];

	pki_fingerprint(cert, fp);
	fprintf(out, "%s\n", path);
	fprintf(out, "  subject:   %s\n", subject != NULL ? subject : "?");
	if (names != NULL && names[0] != '\0')
		fprintf(out, "  names:     %s\n", names);
	fprintf(out, "  issuer:    %s\n", issuer != NULL ? issuer : "?");
	certdir_show_dates(out, rep, path, cert);
	fprintf(out, "  sha256:    %s\n", fp);
	free(subject);
	free(issuer);
	free(names);
}

/* Whether the key at kpath belongs to cert; says so either way. */
static void
certdir_show_key(FILE *out, struct certdir_report *rep, const char *kpath,
		 X509 *cert)
{
	EVP_PKEY *key = NULL;
	char why[1024];

	if (certdir_read_key(kpath, &key, why, sizeof(why)) != 0) {
		certdir_problem(rep, "%s", why);
	} else if (X509_check_private_key(cert, key) != 1) {
		certdir_problem(rep, "%s: not the key of this certificate",
				kpath);
	} else {
		fprintf(out, "  key:       %s matches\n", kpath);
	}
	ERR_clear_error();
	EVP_PKEY_free(key);
}

static int
certdir_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per clients/NAME.pem, sorted by name. */
static void
certdir_show_clients(FILE *out, struct certdir_report *rep, const char *dir,
		     X509 *ca)
{
	char *cdir = certdir_join(dir, CERTDIR_CLIENTS);
	char **names = NULL;
	size_t n = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *e;

	if (cdir == NULL)
		return;
	if ((d = opendir(cdir)) == NULL) {
		if (errno == ENOENT)
			fprintf(out, "%s: no client certificates\n", cdir);
		else
			certdir_problem(rep, "%s: %s", cdir, strerror(errno));
		goto out;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= 4 ||
		    strcmp(e->d_name + len - 4, ".pem") != 0 ||
		    (len > 8 && strcmp(e->d_name + len - 8, "-key.pem") == 0))
			continue;
		if (n == CERTDIR_MAX_CLIENTS) {
			certdir_problem(rep,
					"%s: more than %d certificates, "
					"the rest not shown",
					cdir, CERTDIR_MAX_CLIENTS);
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = reallocarray(names, ncap, sizeof(*names));
			if (nn == NULL)
				break;
			names = nn;
			cap = ncap;
		}
		if ((names[n] = strdup(e->d_name)) == NULL)
			break;
		n++;
	}
	qsort(names, n, sizeof(*names), certdir_cmp_names);
	fprintf(out, "%s: %zu client certificate%s\n", cdir, n,
		n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		char *path = certdir_join(cdir, names[i]);
		char why[1024], fp[PKI_FINGERPRINT_LEN];
		X509 *x = NULL;

		if (path == NULL)
			continue;
		if (certdir_read_cert(path, &x, why, sizeof(why)) != 0) {
			certdir_problem(rep, "%s", why);
		} else {
			char *subject = pki_name(X509_get_subject_name(x));
			char *until = pki_not_after(x);
			long days = pki_days_left(x);

			pki_fingerprint(x, fp);
			fprintf(out,
				"  %s: %s, not after %s (%ld day%s left), "
				"sha256 %s\n",
				names[i], subject != NULL ? subject : "?",
				until != NULL ? until : "?",
				days < 0 ? 0 : days, days == 1 ? "" : "s", fp);
			if (days < 0)
				certdir_problem(rep, "%s: expired on %s", path,
						until != NULL ? until : "?");
			else if (ca != NULL &&
				 pki_verify(ca, x, PKI_CLIENT, why,
					    sizeof(why)) != 0)
				certdir_problem(rep, "%s: does not verify: %s",
						path, why);
			free(subject);
			free(until);
		}
		X509_free(x);
		free(path);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (d != NULL)
		closedir(d);
	free(cdir);
}

int
certdir_show(const char *dir, FILE *out, FILE *errf, char *err, size_t errlen)
{
	struct certdir_report rep = {errf, err, errlen, 0};
	char *ca_path = certdir_join(dir, CERTDIR_CA);
	char *ca_kpath = certdir_join(dir, CERTDIR_CA_KEY);
	char *srv_path = certdir_join(dir, CERTDIR_SERVER);
	char *srv_kpath = certdir_join(dir, CERTDIR_SERVER_KEY);
	X509 *ca = NULL, *srv = NULL;
	char why[1024];

	if (ca_path == NULL || ca_kpath == NULL || srv_path == NULL ||
	    srv_kpath == NULL) {
		certdir_problem(&rep, "%s: out of memory", dir);
		goto out;
	}
	if (certdir_read_cert(ca_path, &ca, why, sizeof(why)) != 0) {
		certdir_problem(&rep, "%s", why);
	} else {
		certdir_show_cert(out, &rep, ca_path, ca);
		certdir_show_key(out, &rep, ca_kpath, ca);
		if (X509_check_ca(ca) == 0)
			certdir_problem(&rep, "%s: not a CA certificate",
					ca_path);
	}
	if (certdir_read_cert(srv_path, &srv, why, sizeof(why)) != 0) {
		certdir_problem(&rep, "%s", why);
	} else {
		certdir_show_cert(out, &rep, srv_path, srv);
		certdir_show_key(out, &rep, srv_kpath, srv);
		if (ca != NULL &&
		    pki_verify(ca, srv, PKI_SERVER, why, sizeof(why)) == 0)
			fprintf(out,
				"  chain:     verified by %s (serverAuth)\n",
				ca_path);
		else if (ca != NULL)
			certdir_problem(&rep, "%s: does not verify: %s",
					srv_path, why);
	}
	certdir_show_clients(out, &rep, dir, ca);
out:
	X509_free(ca);
	X509_free(srv);
	free(ca_path);
	free(ca_kpath);
	free(srv_path);
	free(srv_kpath);
	return rep.problems == 0 ? 0 : -1;
}

bool
certdir_add_san(const char **sans, size_t *n, const char *san)
{
	if (*n == PKI_MAX_SANS || pki_san_problem(san) != NULL)
		return false;
	for (size_t i = 0; i < *n; i++)
		if (strcasecmp(sans[i], san) == 0)
			return true;
	sans[(*n)++] = san;
	return true;
}

size_t
certdir_default_sans(const char *const *hosts, size_t nhosts, char *hostbuf,
		     size_t hostlen, const char **sans)
{
	size_t n = 0;

	for (size_t i = 0; i < nhosts; i++)
		if (hosts[i] != NULL && strcmp(hosts[i], "0.0.0.0") != 0 &&
		    strcmp(hosts[i], "::") != 0)
			certdir_add_san(sans, &n, hosts[i]);
	if (hostlen > 0 && gethostname(hostbuf, hostlen) == 0) {
		hostbuf[hostlen - 1] = '\0';
		certdir_add_san(sans, &n, hostbuf);
	}
	certdir_add_san(sans, &n, "localhost");
	certdir_add_san(sans, &n, "127.0.0.1");
	certdir_add_san(sans, &n, "::1");
	return n;
}
