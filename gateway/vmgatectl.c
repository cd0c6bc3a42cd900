/*
 * vmgatectl: the admin's tool next to vmgated.
 *
 *	vmgatectl check [--config FILE] [--policy FILE]
 *	vmgatectl passwd
 *	vmgatectl certs init [--san NAME|IP]... [--new-ca] [--force] [--dir DIR]
 *	vmgatectl certs issue NAME [--force] [--dir DIR]
 *	vmgatectl certs show [--dir DIR]
 *
 * certs: the TLS certificates (certs/certdir.h), in DIR or else the
 * config's state_dir/certs (--config FILE, default ./vmgate.yaml).
 *
 * Exit status: 0 success, 1 failure (invalid files, mismatched passwords),
 * 2 usage error.
 */
#include <crypt.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

#include "certdir.h"
#include "config.h"
#include "diag.h"
#include "pki.h"
#include "policy.h"
#include "xmalloc.h"

#define VMGATECTL_DEFAULT_CONFIG "vmgate.yaml"
#define VMGATECTL_MAX_PASSWORD 1024

struct vmgatectl_cmd {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(int argc, char **argv);
};

static int vmgatectl_check(int argc, char **argv);
static int vmgatectl_passwd(int argc, char **argv);
static int vmgatectl_certs(int argc, char **argv);

static const struct vmgatectl_cmd vmgatectl_cmds[] = {
    {"check", "[--config FILE] [--policy FILE]",
     "validate vmgate.yaml and its policy, or with --policy and no\n"
     "\t./vmgate.yaml that policy alone; print every problem",
     vmgatectl_check},
    {"passwd", "",
     "hash a password (terminal or one line of stdin) for policy.yaml",
     vmgatectl_passwd},
    /* one entry per line of the usage; the first "certs" one is run */
    {"certs", "init [--san NAME|IP]... [--new-ca] [--force] [--dir DIR]",
     "make the TLS server certificate for each --san (default: the\n"
     "\tconfig's listen host, this host's name and loopback), and the\n"
     "\tCA that signs it if there is none (or --new-ca)",
     vmgatectl_certs},
    {"certs", "issue NAME [--force] [--dir DIR]",
     "issue a client certificate for user NAME", vmgatectl_certs},
    {"certs", "show [--dir DIR]",
     "show the certificates in use and when they expire; certs\n"
     "\tcommands work in DIR, default the state_dir of --config FILE\n"
     "\t(./vmgate.yaml) + /certs; --force replaces files",
     vmgatectl_certs},
};
#define VMGATECTL_NCMDS (sizeof(vmgatectl_cmds) / sizeof(vmgatectl_cmds[0]))

static void
vmgatectl_usage(FILE *f)
{
	fprintf(f, "usage:\n");
	for (size_t i = 0; i < VMGATECTL_NCMDS; i++)
		fprintf(f, "  vmgatectl %s%s%s\n\t%s\n", vmgatectl_cmds[i].name,
			vmgatectl_cmds[i].args[0] ? " " : "",
			vmgatectl_cmds[i].args, vmgatectl_cmds[i].help);
}

static int
vmgatectl_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vmgatectl: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	vmgatectl_usage(stderr);
	return 2;
}

/* ---- check ---- */

static void
vmgatectl_check_files(const struct config *cfg, struct diag *d)
{
	for (size_t i = 0; i < cfg->nvms; i++) {
		const struct config_vm *vm = &cfg->vms[i];
		if (!vm->demo_kernel && access(vm->kernel, R_OK) != 0)
			diag_warning(d, cfg->file, vm->line, vm->col,
				     "VM %s: cannot read kernel %s: %s",
				     vm->name, vm->kernel, strerror(errno));
		if (vm->initrd != NULL && access(vm->initrd, R_OK) != 0)
			diag_warning(d, cfg->file, vm->line, vm->col,
				     "VM %s: cannot read initrd %s: %s",
				     vm->name, vm->initrd, strerror(errno));
	}
}

static int
vmgatectl_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"policy", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	const char *config_path = NULL;
	const char *policy_path = NULL;
	struct config *cfg = NULL;
	struct policy *pol = NULL;
	const char **names = NULL;
	struct diag d;
	int c, cfg_r = -1, pol_r = -1, r = 2;

	diag_init(&d);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'p':
			policy_path = optarg;
			break;
		case ':':
			r = vmgatectl_usage_error("check: %s needs a file",
						  argv[optind - 1]);
			goto out;
		default:
			r = vmgatectl_usage_error("check: unknown option %s",
						  argv[optind - 1]);
			goto out;
		}
	}
	if (optind < argc) {
		r = vmgatectl_usage_error("check: unexpected argument %s",
					  argv[optind]);
		goto out;
	}
	/*
	 * --policy alone checks that file by itself when there is no
	 * ./vmgate.yaml to cross-check it against (an admin editing a policy
	 * somewhere else); otherwise the config is always read.
	 */
	if (config_path == NULL &&
	    (policy_path == NULL ||
	     access(VMGATECTL_DEFAULT_CONFIG, F_OK) == 0))
		config_path = VMGATECTL_DEFAULT_CONFIG;
	if (config_path != NULL)
		cfg_r = config_load(config_path, CONFIG_PARTIAL, &cfg, &d);
	if (policy_path == NULL && cfg != NULL)
		policy_path = cfg->policy;
	if (policy_path != NULL)
		pol_r = policy_load(policy_path, POLICY_PARTIAL, &pol, &d);
	/* a broken config would give a wrong VM list: cross-check only
	 * against a good one */
	if (cfg_r == 0) {
		vmgatectl_check_files(cfg, &d);
		names = xcalloc(cfg->nvms, sizeof(*names));
		for (size_t i = 0; i < cfg->nvms; i++)
			names[i] = cfg->vms[i].name;
		if (pol != NULL)
			policy_check_vms(pol, names, cfg->nvms, &d);
	}
	diag_sort(&d);
	diag_print(&d, stderr);
	if (config_path == NULL && pol_r == 0) {
		printf("OK: %zu users, %zu groups, %zu rules (policy only: "
		       "no %s here, VM names not checked)\n",
		       policy_nusers(pol), policy_ngroups(pol),
		       policy_nrules(pol), VMGATECTL_DEFAULT_CONFIG);
		r = 0;
	} else if (cfg_r == 0 && pol_r == 0) {
		printf("OK: %zu users, %zu groups, %zu rules, %zu vms\n",
		       policy_nusers(pol), policy_ngroups(pol),
		       policy_nrules(pol), cfg->nvms);
		r = 0;
	} else {
		fprintf(stderr, "FAILED: %zu error%s, %zu warning%s\n",
			diag_errors(&d), diag_errors(&d) == 1 ? "" : "s",
			diag_warnings(&d), diag_warnings(&d) == 1 ? "" : "s");
		r = 1;
	}
out:
	free(names);
	policy_unref(pol);
	config_free(cfg);
	diag_clear(&d);
	return r;
}

/* ---- passwd ---- */

static struct termios vmgatectl_saved_tty;
static volatile sig_atomic_t vmgatectl_tty_changed;

/* Gives the terminal its echo back if we are killed while it is off. */
static void
vmgatectl_on_signal(int sig)
{
	if (vmgatectl_tty_changed)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &vmgatectl_saved_tty);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Reads one line from fd, unbuffered so nothing past it is consumed and no
 * copy is left in a stdio buffer. Returns its length without "\n" or "\r\n",
 * -1 on EOF before anything, -2 if longer than size - 1, -3 on error.
 */
static ssize_t
vmgatectl_read_line(int fd, char *buf, size_t size)
{
	size_t len = 0;
	bool any = false, toolong = false;
	char ch;

	for (;;) {
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -3;
		if (n == 0)
			break;
		any = true;
		if (ch == '\n')
			break;
		if (len + 1 < size)
			buf[len++] = ch;
		else
			toolong = true;
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (!any)
		return -1;
	return toolong ? -2 : (ssize_t)len;
}

static ssize_t
vmgatectl_read_tty(const char *prompt, char *buf, size_t size)
{
	struct termios quiet;
	ssize_t n;

	if (tcgetattr(STDIN_FILENO, &vmgatectl_saved_tty) != 0)
		return -3;
	quiet = vmgatectl_saved_tty;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	vmgatectl_tty_changed = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
		vmgatectl_tty_changed = 0;
		return -3;
	}
	/* only now: whatever is typed after the prompt must not echo */
	fputs(prompt, stderr);
	fflush(stderr);
	n = vmgatectl_read_line(STDIN_FILENO, buf, size);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &vmgatectl_saved_tty);
	vmgatectl_tty_changed = 0;
	return n;
}

static int
vmgatectl_passwd(int argc, char **argv)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
	char pw[VMGATECTL_MAX_PASSWORD + 1], again[VMGATECTL_MAX_PASSWORD + 1];
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	const char *hash;
	bool tty = isatty(STDIN_FILENO);
	ssize_t n;
	int r = 2;

	memset(pw, 0, sizeof(pw));
	memset(again, 0, sizeof(again));
	if (argc > 1) {
		r = vmgatectl_usage_error("passwd: unexpected argument %s",
					  argv[1]);
		goto out;
	}
	r = 1;
	if (tty) {
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], vmgatectl_on_signal);
		n = vmgatectl_read_tty("Password: ", pw, sizeof(pw));
		if (n >= 0 &&
		    vmgatectl_read_tty("Retype password: ", again,
				       sizeof(again)) >= 0 &&
		    strcmp(pw, again) != 0) {
			fprintf(stderr,
				"vmgatectl passwd: the passwords do not "
				"match\n");
			goto out;
		}
	} else {
		n = vmgatectl_read_line(STDIN_FILENO, pw, sizeof(pw));
	}
	if (n == -1 || n == 0) {
		fprintf(stderr, "vmgatectl passwd: empty password\n");
		goto out;
	}
	if (n == -2) {
		fprintf(stderr,
			"vmgatectl passwd: password longer than %d bytes\n",
			VMGATECTL_MAX_PASSWORD);
		goto out;
	}
	if (n < 0) {
		fprintf(stderr, "vmgatectl passwd: cannot read: %s\n",
			strerror(errno));
		goto out;
	}
	cd = xcalloc(1, sizeof(*cd));
	if (crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt)) == NULL ||
	    (hash = crypt_rn(pw, salt, cd, sizeof(*cd))) == NULL ||
	    hash[0] == '*') {
		fprintf(stderr, "vmgatectl passwd: cannot hash: %s\n",
			strerror(errno));
		goto out;
	}
	printf("%s\n", hash);
	r = fflush(stdout) == 0 ? 0 : 1;
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	if (cd != NULL)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return r;
}

/* ---- certs ---- */

#define VMGATECTL_CERTS_SUBDIR "certs"

/* Without --san: the config's listen hosts unless wildcards, this host's
 * name, and the loopback names (certdir_default_sans). */
static size_t
vmgatectl_default_sans(const struct config *cfg, char *host, size_t hostlen,
		       const char **sans)
{
	const char *hosts[2] = {cfg ? cfg->ssh_host : NULL,
				cfg ? cfg->vnc_host : NULL};

	return certdir_default_sans(hosts, 2, host, hostlen, sans);
}

static int
vmgatectl_certs(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dir", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"san", required_argument, NULL, 's'},
	    {"force", no_argument, NULL, 'f'},
	    {"new-ca", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	const char *sub, *dir = NULL, *config_path = NULL, *name = NULL;
	const char *sans[PKI_MAX_SANS];
	size_t nsans = 0;
	bool any_san = false;
	unsigned flags = 0;
	struct config *cfg = NULL;
	char *dir_alloc = NULL, host[256], err[2048];
	struct diag d;
	const char *why;
	int c, r = 2;

	diag_init(&d);
	if (argc < 2) {
		r = vmgatectl_usage_error("certs: %s", "missing init, issue or "
						       "show");
		goto out;
	}
	sub = argv[1];
	if (strcmp(sub, "init") != 0 && strcmp(sub, "issue") != 0 &&
	    strcmp(sub, "show") != 0) {
		r = vmgatectl_usage_error("certs: unknown command %s", sub);
		goto out;
	}
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 's':
			if (strcmp(sub, "init") != 0)
				goto unknown;
			any_san = true;
			if ((why = pki_san_problem(optarg)) != NULL) {
				fprintf(
				    stderr,
				    "vmgatectl certs init: --san '%s': %s\n",
				    optarg, why);
				goto out;
			}
			if (!certdir_add_san(sans, &nsans, optarg)) {
				fprintf(stderr,
					"vmgatectl certs init: more than %d "
					"--san\n",
					PKI_MAX_SANS);
				goto out;
			}
			break;
		case 'f':
			if (strcmp(sub, "show") == 0)
				goto unknown;
			flags |= CERTDIR_FORCE;
			break;
		case 'n':
			if (strcmp(sub, "init") != 0)
				goto unknown;
			flags |= CERTDIR_NEW_CA;
			break;
		case ':':
			r = vmgatectl_usage_error("certs: %s needs a value",
						  argv[optind]);
			goto out;
		default:
		unknown:
			r = vmgatectl_usage_error("certs: unknown option %s",
						  argv[optind]);
			goto out;
		}
	}
	/*
	 * argv + 1 was parsed (options and NAME in any order, getopt moved
	 * NAME to the end): its optind is one short of ours
	 */
	if (strcmp(sub, "issue") == 0) {
		if (optind + 1 >= argc) {
			r = vmgatectl_usage_error("certs issue: %s",
						  "missing NAME");
			goto out;
		}
		name = argv[++optind];
	}
	if (optind + 1 < argc) {
		r = vmgatectl_usage_error("certs: unexpected argument %s",
					  argv[optind + 1]);
		goto out;
	}
	r = 1;
	if (name != NULL &&
	    (why = config_name_problem(name, strlen(name))) != NULL) {
		fprintf(stderr,
			"vmgatectl certs issue: '%s' is not a user "
			"name: %s\n",
			name, why);
		goto out;
	}
	/*
	 * The config gives the folder unless --dir does, and the names unless
	 * --san does; ./vmgate.yaml is only read when it is needed or there.
	 */
	if (config_path == NULL &&
	    (dir == NULL || (!any_san && strcmp(sub, "init") == 0 &&
			     access(VMGATECTL_DEFAULT_CONFIG, F_OK) == 0)))
		config_path = VMGATECTL_DEFAULT_CONFIG;
	if (config_path != NULL && config_load(config_path, 0, &cfg, &d) != 0) {
		diag_sort(&d);
		diag_print(&d, stderr);
		fprintf(stderr,
			"vmgatectl certs: %s is needed for the state folder "
			"(or give --dir DIR)\n",
			config_path);
		goto out;
	}
	if (dir == NULL)
		dir = dir_alloc =
		    xasprintf("%s/%s", cfg->state_dir, VMGATECTL_CERTS_SUBDIR);
	if (strcmp(sub, "init") == 0) {
		if (!any_san)
			nsans = vmgatectl_default_sans(cfg, host, sizeof(host),
						       sans);
		if (certdir_init(dir, sans, nsans, flags, stdout, err,
				 sizeof(err)) != 0) {
			fprintf(stderr, "vmgatectl certs init: %s\n", err);
			goto out;
		}
	} else if (strcmp(sub, "issue") == 0) {
		if (certdir_issue(dir, name, flags, stdout, err, sizeof(err)) !=
		    0) {
			fprintf(stderr, "vmgatectl certs issue: %s\n", err);
			goto out;
		}
	} else {
		fflush(stdout);
		if (certdir_show(dir, stdout, stderr, err, sizeof(err)) != 0)
			goto out;
	}
	r = fflush(stdout) == 0 ? 0 : 1;
out:
	free(dir_alloc);
	config_free(cfg);
	diag_clear(&d);
	return r;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return vmgatectl_usage_error("%s", "missing command");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		vmgatectl_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < VMGATECTL_NCMDS; i++)
		if (strcmp(argv[1], vmgatectl_cmds[i].name) == 0)
			return vmgatectl_cmds[i].fn(argc - 1, argv + 1);
	return vmgatectl_usage_error("unknown command %s", argv[1]);
}
