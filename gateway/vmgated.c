/*
 * vmgated: the gateway (DESIGN.md §2, §4).
 *
 *	vmgated --config vmgate.yaml [--foreground] [--vmm PATH]
 *	vmgated --demo DIR [--vmm PATH]
 *
 * One libevent loop: the SSH front (sshd.c), one supervised vmgate-vmm per
 * VM (supervisor.c) with its console hub (hub.c), the audit log and the
 * recordings in the state directory. SIGHUP reloads the policy, SIGINT and
 * SIGTERM stop the gateway (and, through PR_SET_PDEATHSIG, its monitors).
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "demo.h"
#include "diag.h"
#include "gwctx.h"
#include "log.h"
#include "policy.h"
#include "sshd.h"
#include "supervisor.h"
#include "ticket.h"
#include "vncd.h"
#include "worker.h"
#include "xmalloc.h"

#define WORKER_THREADS 2

static void
usage(FILE *f)
{
	fprintf(f, "usage: vmgated --config FILE [--foreground] [--vmm PATH]\n"
		   "       vmgated --demo DIR [--vmm PATH]\n"
		   "\n"
		   "  --config FILE  vmgate.yaml (listen address, state "
		   "directory, policy, VMs)\n"
		   "  --demo DIR     the built-in default: two demo VMs and a "
		   "demo user,\n"
		   "                 files created in DIR where missing; "
		   "prints the ssh commands\n"
		   "  --foreground   stay in the foreground (the default; "
		   "vmgated never forks away)\n"
		   "  --vmm PATH     the vmgate-vmm binary (default: "
		   "DIR/../vmm-core/vmgate-vmm,\n"
		   "                 DIR being vmgated's own folder)\n"
		   "\n"
		   "Logs go to stderr, one line per event. SIGHUP reloads the "
		   "policy.\n");
}

static char *
default_vmm(void)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return xstrdup("vmgate-vmm");
	self[n] = '\0';
	return xasprintf("%s/../vmm-core/vmgate-vmm", dirname(self));
}

/* mkdir -p with mode for the last component; the parents get 0755. */
static int
make_dir(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int r = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			r = -1;
		*s = '/';
	}
	if (mkdir(p, mode) != 0 && errno != EEXIST)
		r = -1;
	else
		r = chmod(p, mode);
	free(p);
	return r;
}

/* Each console session holds a socket and a recording file: a thousand
 * sessions need more than the usual soft limit of 1024 descriptors. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
		LOG("open files limit raised from %llu to %llu",
		    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

static int
reload(struct gwctx *gw, char *err, size_t errlen)
{
	struct diag d;
	struct policy *pol = NULL;

	diag_init(&d);
	if (policy_load(gw->cfg->policy, 0, &pol, &d) != 0) {
		char *first = d.n > 0 ? diag_format(&d.v[0]) : NULL;
		snprintf(err, errlen, "%s", first ? first : "cannot load");
		LOG("reload of %s failed, keeping the current policy: %zu "
		    "error(s); first: %s",
		    gw->cfg->policy, diag_errors(&d), first ? first : "?");
		for (size_t i = 0; i < d.n; i++) {
			char *line = diag_format(&d.v[i]);
			LOG("  %s", line);
			free(line);
		}
		audit_reload(gw->audit, false, gw->cfg->policy,
			     first ? first : "cannot load", 0, 0);
		free(first);
		diag_clear(&d);
		return -1;
	}
	/* warnings (a hash of another kind than most, say) are worth the
	 * admin's eye on a reload as at start */
	for (size_t i = 0; i < d.n; i++) {
		char *line = diag_format(&d.v[i]);
		LOG("%s", line);
		free(line);
	}
	diag_clear(&d);
	policy_unref(gw->policy);
	gw->policy = pol;
	LOG("policy %s reloaded: %zu users, %zu groups, %zu rules",
	    gw->cfg->policy, policy_nusers(pol), policy_ngroups(pol),
	    policy_nrules(pol));
	audit_reload(gw->audit, true, gw->cfg->policy, NULL,
		     policy_nusers(gw->policy), policy_nrules(gw->policy));
	sshd_recheck(gw->sshd);
	if (gw->vncd)
		vncd_recheck(gw->vncd);
	return 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct gwctx *gw = arg;

	(void)what;
	switch (sig) {
	case SIGHUP:
		LOG("SIGHUP: reloading the policy");
		reload(gw, (char[1]){0}, 1); /* reload() logs the errors */
		if (gw->vncd) {
			char err[300];
			if (vncd_reload_certs(gw->vncd, err, sizeof(err)) != 0)
				LOG("SIGHUP: keeping the TLS certificate in "
				    "use: %s",
				    err);
			else
				LOG("SIGHUP: TLS certificate re-read");
		}
		break;
	case SIGCHLD:
		supervisor_sigchld(gw->sup);
		break;
	default:
		LOG("signal %d: stopping", (int)sig);
		event_base_loopbreak(gw->base);
		break;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"demo", required_argument, NULL, 'd'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"vmm", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct gwctx gw = {.reload = reload};
	char *config_path = NULL, *demo_dir = NULL, *demo_cfg = NULL;
	char *vmm = NULL, err[512];
	struct event *sigs[4] = {0};
	static const int signums[4] = {SIGHUP, SIGCHLD, SIGINT, SIGTERM};
	struct diag d;
	int c, status = 1;

	while ((c = getopt_long(argc, argv, "c:d:fm:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			demo_dir = optarg;
			break;
		case 'f':
			break;
		case 'm':
			vmm = xstrdup(optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if ((config_path == NULL) == (demo_dir == NULL) || optind != argc) {
		usage(stderr);
		return 2;
	}
	umask(077); /* keys, logs and recordings are for us alone */
	if (demo_dir != NULL) {
		if (demo_prepare(demo_dir, &demo_cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "vmgated: demo: %s\n", err);
			return 1;
		}
		config_path = demo_cfg;
	}
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (vmm == NULL)
		vmm = default_vmm();

	/* Absolute, so relative paths in it survive anything. */
	char *abs = realpath(config_path, NULL);
	diag_init(&d);
	if (abs == NULL || config_load(abs, 0, &gw.cfg, &d) != 0) {
		if (abs == NULL)
			fprintf(stderr, "vmgated: %s: %s\n", config_path,
				strerror(errno));
		diag_print(&d, stderr);
		diag_clear(&d);
		free(abs);
		free(vmm);
		free(demo_cfg);
		return 1;
	}
	diag_print(&d, stderr); /* warnings */
	diag_clear(&d);
	free(abs);
	if (policy_load(gw.cfg->policy, 0, &gw.policy, &d) != 0) {
		diag_print(&d, stderr);
		diag_clear(&d);
		goto out;
	}
	{
		const char **names = xcalloc(gw.cfg->nvms + 1, sizeof(*names));
		for (size_t i = 0; i < gw.cfg->nvms; i++)
			names[i] = gw.cfg->vms[i].name;
		policy_check_vms(gw.policy, names, gw.cfg->nvms, &d);
		diag_print(&d, stderr);
		diag_clear(&d);
		free(names);
	}
	if (make_dir(gw.cfg->state_dir, 0700) != 0) {
		fprintf(stderr, "vmgated: state directory %s: %s\n",
			gw.cfg->state_dir, strerror(errno));
		goto out;
	}
	gw.rec_dir = xasprintf("%s/recordings", gw.cfg->state_dir);
	if (make_dir(gw.rec_dir, 0700) != 0) {
		fprintf(stderr, "vmgated: %s: %s\n", gw.rec_dir,
			strerror(errno));
		goto out;
	}
	if (access(vmm, X_OK) != 0)
		LOG("warning: monitor %s: %s", vmm, strerror(errno));

	gw.base = event_base_new();
	if (gw.base == NULL) {
		fprintf(stderr, "vmgated: event_base_new failed\n");
		goto out;
	}
	gw.worker = worker_new(gw.base, WORKER_THREADS);
	char *audit_path = xasprintf("%s/audit.log", gw.cfg->state_dir);
	gw.audit = audit_open(audit_path, gw.worker);
	if (gw.audit == NULL) {
		fprintf(stderr, "vmgated: %s: %s\n", audit_path,
			strerror(errno));
		free(audit_path);
		goto out;
	}
	free(audit_path);
	for (int i = 0; i < 4; i++) {
		sigs[i] = evsignal_new(gw.base, signums[i], on_signal, &gw);
		event_add(sigs[i], NULL);
	}
	gw.sup = supervisor_new(gw.base, gw.cfg, vmm, gw.audit);
	gw.sshd = sshd_new(&gw, gw.cfg->state_dir, err, sizeof(err));
	if (gw.sshd == NULL) {
		fprintf(stderr, "vmgated: ssh: %s\n", err);
		goto out;
	}
	if (gw.cfg->vnc.tickets) {
		/* Classic VNC authentication is not inside TLS: loopback only
		 * (viewers reach it through their own tunnel). */
		const char *h = gw.cfg->vnc_host;
		if (h == NULL ||
		    (strcmp(h, "127.0.0.1") != 0 && strcmp(h, "::1") != 0 &&
		     strcmp(h, "localhost") != 0)) {
			fprintf(stderr,
				"vmgated: %s: vnc: tickets: classic VNC "
				"authentication is offered only on a loopback "
				"listen: vnc: address (127.0.0.1, ::1), not "
				"%s\n",
				gw.cfg->file, h ? h : "none");
			goto out;
		}
		gw.tickets =
		    tickets_new(gw.cfg->vnc.ticket_lifetime, err, sizeof(err));
		if (gw.tickets == NULL) {
			fprintf(stderr, "vmgated: vnc: %s\n", err);
			goto out;
		}
	}
	if (gw.cfg->vnc_host != NULL &&
	    (gw.vncd = vncd_new(&gw, err, sizeof(err))) == NULL) {
		fprintf(stderr, "vmgated: vnc: %s\n", err);
		goto out;
	}
	audit_daemon_start(gw.audit, (long)getpid(), sshd_port(gw.sshd),
			   gw.cfg->nvms);
	LOG("vmgated ready: %zu VM(s), policy %s (%zu users, %zu rules), "
	    "state in %s, monitor %s",
	    gw.cfg->nvms, gw.cfg->policy, policy_nusers(gw.policy),
	    policy_nrules(gw.policy), gw.cfg->state_dir, vmm);
	if (demo_dir != NULL &&
	    demo_announce(demo_dir, gw.cfg->state_dir, gw.cfg->ssh_host,
			  sshd_port(gw.sshd), stdout, err, sizeof(err)) != 0) {
		fprintf(stderr, "vmgated: demo: %s\n", err);
		goto out;
	}
	supervisor_autostart(gw.sup);
	event_base_dispatch(gw.base);
	status = 0;
	audit_daemon_stop(gw.audit);
out:
	vncd_free(gw.vncd);
	tickets_free(gw.tickets);
	sshd_free(gw.sshd);
	supervisor_free(gw.sup);
	for (int i = 0; i < 4; i++)
		if (sigs[i])
			event_free(sigs[i]);
	worker_free(gw.worker);
	audit_close(gw.audit);
	if (gw.base)
		event_base_free(gw.base);
	policy_unref(gw.policy);
	config_free(gw.cfg);
	free(gw.rec_dir);
	free(vmm);
	free(demo_cfg);
	return status;
}
