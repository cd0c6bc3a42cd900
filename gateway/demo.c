#include "demo.h"

#include <errno.h>
#include <fcntl.h>
#include <libssh/libssh.h>
#include <limits.h>
#include <stdarg.h>
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
    "  - allow: [console:write, power]\n"
    "    to: [user:" DEMO_USER "]\n"
    "    vms: [demo1]\n"
    "  - allow: [console:read]\n"
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

/* Writes text to a new file (never over an existing one). */
static int
write_new(const char *path, const char *text, mode_t mode, char *err,
	  size_t errlen)
{
	size_t len = strlen(text), off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	if (fd < 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;
			close(fd);
			unlink(path);
			return fail(err, errlen, "%s: %s", path, strerror(e));
		}
		off += (size_t)n;
	}
	if (close(fd) != 0)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

/* "TYPE BASE64" of a key, malloc'd, or NULL. */
static char *
key_line(ssh_key key)
{
	char *b64 = NULL, *line;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return NULL;
	line = xasprintf("%s %s", ssh_key_type_to_char(ssh_key_type(key)),
			 b64);
	ssh_string_free_char(b64);
	return line;
}

/* The public key line of a key file's .pub partner, malloc'd, or NULL. */
static char *
pub_line(const char *pub_path)
{
	ssh_key key = NULL;
	char *line;

	if (ssh_pki_import_pubkey_file(pub_path, &key) != SSH_OK)
		return NULL;
	line = key_line(key);
	ssh_key_free(key);
	return line;
}

static int
make_user_key(const char *dir, char *err, size_t errlen)
{
	char *path = xasprintf("%s/" DEMO_KEY, dir);
	char *pub = xasprintf("%s/" DEMO_KEY ".pub", dir);
	char *line = NULL, *text = NULL;
	ssh_key key = NULL;
	int r = -1;

	if (access(pub, F_OK) == 0) {
		r = 0;
		goto out;
	}
	unlink(path); /* a private key without its .pub: start over */
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK) {
		fail(err, errlen, "cannot generate the demo user's key");
		goto out;
	}
	/* OpenSSH's format, mode 0600: ssh -i takes it as it is. */
	if (ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) !=
		    SSH_OK ||
	    chmod(path, 0600) != 0) {
		fail(err, errlen, "%s: cannot write the private key", path);
		goto out;
	}
	if ((line = key_line(key)) == NULL) {
		fail(err, errlen, "cannot encode the demo user's key");
		goto out;
	}
	text = xasprintf("%s " DEMO_USER "@vmgate-demo\n", line);
	r = write_new(pub, text, 0644, err, errlen);
	if (r == 0)
		LOG("created the demo user's key %s", path);
out:
	ssh_key_free(key);
	free(text);
	free(line);
	free(path);
	free(pub);
	return r;
}

int
demo_prepare(const char *dir, char **config_path, char *err, size_t errlen)
{
	char *cfg = NULL, *pol = NULL, *pub = NULL, *line = NULL, *text = NULL;
	int r = -1;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	if (make_user_key(dir, err, errlen) != 0)
		return -1;
	cfg = xasprintf("%s/vmgate.yaml", dir);
	pol = xasprintf("%s/policy.yaml", dir);
	pub = xasprintf("%s/" DEMO_KEY ".pub", dir);
	if (access(cfg, F_OK) != 0 &&
	    write_new(cfg, demo_config, 0644, err, errlen) != 0)
		goto out;
	if (access(pol, F_OK) != 0) {
		if ((line = pub_line(pub)) == NULL) {
			fail(err, errlen, "%s: not a public key", pub);
			goto out;
		}
		text = xasprintf(demo_policy, line);
		if (write_new(pol, text, 0600, err, errlen) != 0)
			goto out;
	}
	*config_path = cfg;
	cfg = NULL;
	r = 0;
out:
	free(cfg);
	free(pol);
	free(pub);
	free(line);
	free(text);
	return r;
}

int
demo_announce(const char *dir, const char *state_dir, const char *host,
	      unsigned port, FILE *out, char *err, size_t errlen)
{
	static const char *const host_keys[] = { "ssh_host_ed25519_key.pub",
						 "ssh_host_rsa_key.pub" };
	char *abs = realpath(dir, NULL), *kh = NULL, *tmp = NULL;
	char hostpat[300];
	FILE *f = NULL;
	int r = -1;

	if (abs == NULL)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
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
	tmp = xasprintf("%s/.known_hosts.tmp", abs);
	if ((f = fopen(tmp, "w")) == NULL) {
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(host_keys) / sizeof(host_keys[0]); i++) {
		char *p = xasprintf("%s/%s", state_dir, host_keys[i]);
		char *line = pub_line(p);
		if (line == NULL) {
			fail(err, errlen, "%s: not a public key", p);
			free(p);
			goto out;
		}
		fprintf(f, "%s %s\n", hostpat, line);
		free(line);
		free(p);
	}
	if (fclose(f) != 0) {
		f = NULL;
		fail(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, kh) != 0) {
		fail(err, errlen, "%s: %s", kh, strerror(errno));
		goto out;
	}

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
		"\n"
		"Config %s/vmgate.yaml, policy %s/policy.yaml (SIGHUP to "
		"vmgated reloads it),\n"
		"audit log and recordings in %s. Ctrl-C here stops the "
		"gateway and its VMs.\n\n",
		host, port, opts, opts, opts, opts, opts, abs, abs, state_dir);
	fflush(out);
	free(opts);
	r = 0;
out:
	if (f != NULL) {
		fclose(f);
		unlink(tmp);
	}
	free(abs);
	free(kh);
	free(tmp);
	return r;
}
