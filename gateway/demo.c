#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh/libssh.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

#define DEMO_KEY "demo_key"
#define DEMO_USER "demo"

static const char demo_config[] =
    "# vmgated --demo: two VMs running the built-in demo guest.\n"
    "# Kept as it is on the next start: edit it as you like.\n"
    "listen:\n"
    "  ssh: \"127.0.0.1:2222\"\n"
    "state_dir: state\n"
    "policy: policy.yaml\n"
    "vms:\n"
    "  demo1: { kernel: demo, memory: 64M, cpus: 1, autostart: true, "
    "on_crash: restart }\n"
    "  demo2: { kernel: demo, memory: 64M, cpus: 1, autostart: true, "
    "on_crash: restart }\n";

/* %s: the demo user's public key line. */
static const char demo_policy[] =
    "# vmgated --demo: the demo policy. Default deny; a deny beats any "
    "allow.\n"
    "# Edit it and send vmgated SIGHUP to apply it to live sessions.\n"
    "users:\n"
    "  " DEMO_USER ":\n"
    "    keys: [\"%s\"]\n"
    "rules:\n"
    "  - allow: [console:write, power, display:control]\n"
    "    to: [user:" DEMO_USER "]\n"
    "    vms: [demo1]\n"
    "  - allow: [console:read, display:view]\n"
    "    to: [user:" DEMO_USER "]\n"
    "    vms: [demo2]\n";

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Whoever may change DIR decides the demo's policy and could aim its writes
 * elsewhere, so (as OpenSSH's StrictModes) the folder, state/ in it and the
 * files the demo keeps must belong to us or root and be writable by nobody
 * else. Inside tools/kvmbox the gateway runs as root on a 9p share that
 * shows the host's owner, and chown does not apply there: run.sh names that
 * owner in VMGATE_DEMO_OWNER.
 */
static bool
trusted_owner(uid_t uid)
{
	const char *s = getenv("VMGATE_DEMO_OWNER");
	char *end;
	unsigned long v;

	if (uid == geteuid() || uid == 0)
		return true;
	if (s == NULL || *s == '\0')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && v == (unsigned long)uid;
}

/* The owner and mode rule above; path names st in the messages. */
static int
check_owner_mode(const struct stat *st, const char *path, char *err,
		 size_t errlen)
{
	if (!trusted_owner(st->st_uid))
		return fail(
		    err, errlen,
		    "%s: owned by uid %u, not by vmgated's user (uid %u) "
		    "or root; whoever owns it decides the demo's keys "
		    "and policy: `chown %u %s` or use another folder",
		    path, (unsigned)st->st_uid, (unsigned)geteuid(),
		    (unsigned)geteuid(), path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return fail(err, errlen,
			    "%s: writable by group or others (mode %04o), who "
			    "could change the demo's keys and policy: "
			    "`chmod go-w %s`",
			    path, (unsigned)(st->st_mode & 07777), path);
	return 0;
}

/*
 * Opens the folder name (relative to at) without following a link, and
 * checks it. *missing (if not NULL) makes a missing folder a success with -1
 * returned and *missing set. Returns the folder's fd, or -1 with err set.
 */
static int
open_dir(int at, const char *name, const char *path, bool *missing, char *err,
	 size_t errlen)
{
	struct stat st;
	int fd;

	if (missing != NULL)
		*missing = false;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && missing != NULL) {
			*missing = true;
			return -1;
		}
		/* O_DIRECTORY|O_NOFOLLOW on a link fails ENOTDIR (or ELOOP). */
		if (e == ELOOP ||
		    (e == ENOTDIR &&
		     fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		     S_ISLNK(st.st_mode)))
			return fail(err, errlen,
				    "%s: is a symbolic link; the demo uses "
				    "only a real folder there (give the folder "
				    "it points to)",
				    path);
		if (e == ENOTDIR)
			return fail(err, errlen, "%s: not a folder", path);
		return fail(err, errlen, "%s: %s", path, strerror(e));
	}
	if (fstat(fd, &st) != 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto bad;
	}
	if (check_owner_mode(&st, path, err, errlen) != 0)
		goto bad;
	return fd;
bad:
	close(fd);
	return -1;
}

/*
 * The demo folder itself, created 0700 if missing. A path's trailing
 * slashes would make open follow a link there, so they are dropped first.
 */
static int
open_demo_dir(const char *dir, bool create, char *err, size_t errlen)
{
	char *name = xstrdup(dir);
	size_t len = strlen(name);
	int fd;

	while (len > 1 && name[len - 1] == '/')
		name[--len] = '\0';
	if (create && mkdir(name, 0700) != 0 && errno != EEXIST) {
		fail(err, errlen, "%s: %s", dir, strerror(errno));
		free(name);
		return -1;
	}
	fd = open_dir(AT_FDCWD, name, dir, NULL, err, errlen);
	free(name);
	return fd;
}

/*
 * A file the demo keeps if it is there: it must be a regular file (not a
 * link) of ours that nobody else may write. Sets *exists; returns 0, or -1
 * with err set.
 */
static int
check_kept(int dfd, const char *name, const char *path, bool *exists, char *err,
	   size_t errlen)
{
	struct stat st;
	int fd, r = -1;

	*exists = false;
	/* O_NONBLOCK: a FIFO planted here must not hang the start. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP)
			return fail(err, errlen,
				    "%s: is a symbolic link; the demo keeps "
				    "only regular files of its own here: put "
				    "the file itself there",
				    path);
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	}
	*exists = true;
	if (fstat(fd, &st) != 0) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(err, errlen, "%s: not a regular file", path);
		goto out;
	}
	r = check_owner_mode(&st, path, err, errlen);
out:
	close(fd);
	return r;
}

/*
 * Writes text to a new file name in dfd: O_EXCL and O_NOFOLLOW, so never
 * over or through anything that is there. Removes it again on failure.
 */
static int
create_at(int dfd, const char *name, const char *path, const char *text,
	  mode_t mode, char *err, size_t errlen)
{
	size_t len = strlen(text), off = 0;
	int fd =
	    openat(dfd, name,
		   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);

	if (fd < 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			unlinkat(dfd, name, 0);
			return fail(err, errlen, "%s: %s", path, strerror(e));
		}
		off += (size_t)n;
	}
	if (close(fd) != 0) {
		int e = errno;
		unlinkat(dfd, name, 0);
		return fail(err, errlen, "%s: %s", path, strerror(e));
	}
	return 0;
}

/*
 * Writes text to name in dfd in place of whatever is there: a new
 * ".NAME.tmp" (a stale one, or a link planted under that name, is removed,
 * not written through), renamed over name, so a reader never sees half and
 * a link at name is replaced, not followed.
 */
static int
replace_at(int dfd, const char *dir, const char *name, const char *text,
	   mode_t mode, char *err, size_t errlen)
{
	char *tmp = xasprintf(".%s.tmp", name);
	char *tmp_path = xasprintf("%s/%s", dir, tmp);
	int r = -1;

	if (unlinkat(dfd, tmp, 0) != 0 && errno != ENOENT) {
		fail(err, errlen, "%s: %s", tmp_path, strerror(errno));
		goto out;
	}
	if (create_at(dfd, tmp, tmp_path, text, mode, err, errlen) != 0)
		goto out;
	if (renameat(dfd, tmp, dfd, name) != 0) {
		fail(err, errlen, "%s/%s: %s", dir, name, strerror(errno));
		unlinkat(dfd, tmp, 0);
		goto out;
	}
	r = 0;
out:
	free(tmp);
	free(tmp_path);
	return r;
}

/* "TYPE BASE64" of a key, malloc'd, or NULL. */
static char *
key_line(ssh_key key)
{
	char *b64 = NULL, *line;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return NULL;
	line = xasprintf("%s %s", ssh_key_type_to_char(ssh_key_type(key)), b64);
	ssh_string_free_char(b64);
	return line;
}

/*
 * The key line of a public key file "TYPE BASE64 [COMMENT]" (name in dfd,
 * not followed if it is a link), malloc'd, or NULL.
 */
static char *
pub_line_at(int dfd, const char *name)
{
	char buf[16384], *type, *b64, *save = NULL, *line = NULL;
	ssh_key key = NULL;
	size_t len = 0;
	int fd =
	    openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while (len < sizeof(buf) - 1) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	type = strtok_r(buf, " \t\r\n", &save);
	b64 = type ? strtok_r(NULL, " \t\r\n", &save) : NULL;
	if (b64 != NULL &&
	    ssh_pki_import_pubkey_base64(b64, ssh_key_type_from_name(type),
					 &key) == SSH_OK)
		line = key_line(key);
	ssh_key_free(key);
	return line;
}

/*
 * The demo user's key pair, made if DIR/demo_key.pub is missing; then
 * *line (malloc'd) is its public key line, else *line stays NULL.
 */
static int
make_user_key(int dfd, const char *dir, char **line, char *err, size_t errlen)
{
	char *path = xasprintf("%s/" DEMO_KEY, dir);
	char *pub = xasprintf("%s/" DEMO_KEY ".pub", dir);
	char *priv = NULL, *text = NULL;
	ssh_key key = NULL;
	bool exists;
	int r = -1;

	*line = NULL;
	if (check_kept(dfd, DEMO_KEY ".pub", pub, &exists, err, errlen) != 0)
		goto out;
	if (exists) {
		r = 0;
		goto out;
	}
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		fail(err, errlen, "cannot generate the demo user's key");
		goto out;
	}
	/* OpenSSH's format (libssh's for ed25519), mode 0600: ssh -i takes
	 * it as it is. A private key without its .pub is replaced. */
	if (ssh_pki_export_privkey_base64(key, NULL, NULL, NULL, &priv) !=
	    SSH_OK) {
		fail(err, errlen, "cannot encode the demo user's private key");
		goto out;
	}
	if (replace_at(dfd, dir, DEMO_KEY, priv, 0600, err, errlen) != 0)
		goto out;
	if ((*line = key_line(key)) == NULL) {
		fail(err, errlen, "cannot encode the demo user's key");
		goto out;
	}
	text = xasprintf("%s " DEMO_USER "@vmgate-demo\n", *line);
	if (create_at(dfd, DEMO_KEY ".pub", pub, text, 0644, err, errlen) != 0)
		goto out;
	LOG("created the demo user's key %s", path);
	r = 0;
out:
	if (r != 0) {
		free(*line);
		*line = NULL;
	}
	if (priv != NULL) {
		explicit_bzero(priv, strlen(priv));
		ssh_string_free_char(priv);
	}
	ssh_key_free(key);
	free(text);
	free(path);
	free(pub);
	return r;
}

int
demo_prepare(const char *dir, char **config_path, char *err, size_t errlen)
{
	char *cfg = xasprintf("%s/vmgate.yaml", dir);
	char *pol = xasprintf("%s/policy.yaml", dir);
	char *state = xasprintf("%s/state", dir);
	char *rec = xasprintf("%s/state/recordings", dir);
	char *line = NULL, *text = NULL;
	int dfd, sfd = -1, rfd = -1, r = -1;
	bool exists, missing;

	if ((dfd = open_demo_dir(dir, true, err, errlen)) < 0)
		goto out;
	/* state/ (vmgated makes it 0700 if missing) and recordings/ in it. */
	sfd = open_dir(dfd, "state", state, &missing, err, errlen);
	if (sfd < 0 && !missing)
		goto out;
	if (sfd >= 0) {
		rfd = open_dir(sfd, "recordings", rec, &missing, err, errlen);
		if (rfd < 0 && !missing)
			goto out;
	}
	if (make_user_key(dfd, dir, &line, err, errlen) != 0)
		goto out;
	if (check_kept(dfd, "vmgate.yaml", cfg, &exists, err, errlen) != 0)
		goto out;
	if (!exists && create_at(dfd, "vmgate.yaml", cfg, demo_config, 0644,
				 err, errlen) != 0)
		goto out;
	if (check_kept(dfd, "policy.yaml", pol, &exists, err, errlen) != 0)
		goto out;
	if (!exists) {
		if (line == NULL &&
		    (line = pub_line_at(dfd, DEMO_KEY ".pub")) == NULL) {
			fail(err, errlen,
			     "%s/" DEMO_KEY ".pub: not a public key", dir);
			goto out;
		}
		text = xasprintf(demo_policy, line);
		if (create_at(dfd, "policy.yaml", pol, text, 0600, err,
			      errlen) != 0)
			goto out;
	}
	*config_path = cfg;
	cfg = NULL; /* transferred */
	r = 0;
out:
	if (rfd >= 0)
		close(rfd);
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	free(cfg);
	free(pol);
	free(state);
	free(rec);
	free(line);
	free(text);
	return r;
}

int
demo_announce(const char *dir, const char *state_dir, const char *host,
	      unsigned port, FILE *out, char *err, size_t errlen)
{
	static const char *const host_keys[] = {"ssh_host_ed25519_key.pub",
						"ssh_host_rsa_key.pub"};
	char *abs = realpath(dir, NULL), *kh = NULL, *text = NULL;
	char hostpat[300];
	int dfd = -1, r = -1;

	if (abs == NULL)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	/* Checked again: the folder is written to once more. */
	if ((dfd = open_demo_dir(dir, false, err, errlen)) < 0)
		goto out;
	/* A wildcard listen address is reached through loopback here. */
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		host = "127.0.0.1";
	if (port == 22)
		snprintf(hostpat, sizeof(hostpat), "%s", host);
	else
		snprintf(hostpat, sizeof(hostpat), "[%s]:%u", host, port);

	/* known_hosts is rewritten on every start: the keys or the port may
	 * have changed. Written aside and renamed, so ssh never reads half. */
	kh = xasprintf("%s/known_hosts", abs);
	text = xstrdup("");
	for (size_t i = 0; i < sizeof(host_keys) / sizeof(host_keys[0]); i++) {
		char *p = xasprintf("%s/%s", state_dir, host_keys[i]);
		char *line = pub_line_at(AT_FDCWD, p), *more;
		if (line == NULL) {
			fail(err, errlen, "%s: not a public key", p);
			free(p);
			goto out;
		}
		more = xasprintf("%s%s %s\n", text, hostpat, line);
		free(text);
		text = more;
		free(line);
		free(p);
	}
	if (replace_at(dfd, abs, "known_hosts", text, 0644, err, errlen) != 0)
		goto out;

	/* -t for the consoles: ssh asks for no terminal when given a
	 * command, and a console without one echoes locally, line by line. */
	char *opts = xasprintf("-i %s/" DEMO_KEY " -o UserKnownHostsFile=%s"
			       " -p %u " DEMO_USER "@%s",
			       abs, kh, port, host);
	fprintf(out,
		"\n"
		"vmgate demo: two VMs (demo1, demo2) behind the SSH gateway "
		"on %s port %u.\n"
		"From another terminal on this machine:\n"
		"\n"
		"  ssh %s            # the VMs you may reach\n"
		"  ssh -t %s demo1   # demo1's console: type `help`; "
		"Ctrl-] then . leaves\n"
		"  ssh -t %s demo2   # demo2's console, read-only for "
		"this user\n"
		"  ssh %s status demo1\n"
		"  ssh %s power demo1 reset\n"
		"  ssh %s screenshot demo2 > demo2.png\n"
		"  ssh -N -L 5901:demo1:5900 %s   # then a VNC viewer on "
		"localhost:5901\n"
		"\n"
		"Config %s/vmgate.yaml, policy %s/policy.yaml (SIGHUP to "
		"vmgated reloads it),\n"
		"audit log and recordings in %s. Ctrl-C here stops the "
		"gateway and its VMs.\n\n",
		host, port, opts, opts, opts, opts, opts, opts, opts, abs, abs,
		state_dir);
	fflush(out);
	free(opts);
	r = 0;
out:
	if (dfd >= 0)
		close(dfd);
	free(abs);
	free(kh);
	free(text);
	return r;
}
