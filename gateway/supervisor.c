#include "supervisor.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "ctl.h"
#include "hub.h"
#include "log.h"
#include "supervisor_impl.h"
#include "vmstate.h"
#include "xmalloc.h"

void
supervisor_audit_vm(struct vmproc *v, const char *state, const char *detail)
{
	if (v->sup->audit == NULL)
		return;
	audit_vm(v->sup->audit, v->cfg->name, state, detail);
}

/* Writes the audit's repeat counts whose window has ended. */
static void
on_audit_tick(evutil_socket_t fd, short what, void *arg)
{
	struct supervisor *s = arg;

	(void)fd;
	(void)what;
	if (s->audit != NULL)
		audit_flush_due(s->audit);
}

/* A crowded console's viewers, a slice per loop pass (hub.h). A timer,
 * not an active event: the loop polls its sockets before timers run, so
 * keys typed meanwhile are read between two slices. */
static void
pace_in(void *arg, int ms)
{
	struct vmproc *v = arg;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	if (!evtimer_pending(v->pace_ev, NULL))
		evtimer_add(v->pace_ev, &tv);
}

static void
on_pace(evutil_socket_t fd, short what, void *arg)
{
	struct vmproc *v = arg;
	int ms;

	(void)fd;
	(void)what;
	if ((ms = hub_pace(v->hub)) >= 0)
		pace_in(v, ms);
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct vmproc *v = arg;

	(void)fd;
	(void)what;
	if (v->run == RUN_RESTARTING && v->want_run)
		supervisor_spawn(v);
}

static void
vm_exited(struct vmproc *v, int status)
{
	char why[160], msg[256];

	supervisor_chan_close(v);
	v->pid = -1;
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
		/* The monitor's seccomp filter (vmm-core/sandbox.h) killed it:
		 * it made a call it never makes, e.g. after a guest escape. */
		snprintf(why, sizeof(why),
			 "monitor killed by the sandbox (SIGSYS: a forbidden "
			 "system call)");
	} else if (WIFSIGNALED(status)) {
		snprintf(why, sizeof(why), "monitor killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else {
		int code = WEXITSTATUS(status);
		snprintf(why, sizeof(why), "monitor exited with status %d (%s)",
			 code, vmstate_exit_meaning(code));
		if (vmstate_exit_reason(code) == VMSTATE_REASON_GUEST_POWEROFF)
			v->want_run = false; /* the guest powered off */
	}
	/* Whoever waits for a stop hears it now that it is one; a reset or
	 * a start interrupted by the exit hears why. */
	if (v->want_run)
		snprintf(msg, sizeof(msg), "%s: %s", v->cfg->name, why);
	else
		snprintf(msg, sizeof(msg), "%s is stopped", v->cfg->name);
	supervisor_power_answer(v, 0, !v->want_run, msg);
	if (time(NULL) - v->started >= STABLE_SECS)
		v->backoff = 0;
	if (!v->want_run) {
		v->run = RUN_STOPPED;
		snprintf(v->detail, sizeof(v->detail), "%s", why);
		snprintf(msg, sizeof(msg), "%s stopped: %s", v->cfg->name, why);
	} else if (v->cfg->on_crash == CONFIG_ON_CRASH_RESTART) {
		v->backoff = v->backoff ? v->backoff * 2 : BACKOFF_MIN;
		if (v->backoff > BACKOFF_MAX)
			v->backoff = BACKOFF_MAX;
		struct timeval tv = {v->backoff, 0};
		v->run = RUN_RESTARTING;
		v->restart_at = time(NULL) + v->backoff;
		snprintf(v->detail, sizeof(v->detail), "%s", why);
		evtimer_add(v->restart_ev, &tv);
		snprintf(msg, sizeof(msg), "%s: %s; restarting in %u s",
			 v->cfg->name, why, v->backoff);
	} else {
		v->run = RUN_CRASHED;
		snprintf(v->detail, sizeof(v->detail), "%s", why);
		snprintf(msg, sizeof(msg),
			 "%s: %s; left stopped (on_crash: stop)", v->cfg->name,
			 why);
	}
	LOG("vm %s", msg);
	supervisor_audit_vm(v, supervisor_state(v), why);
	hub_notice(v->hub, "%s", msg);
}

void
supervisor_sigchld(struct supervisor *s)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (size_t i = 0; i < s->nvms; i++) {
			if (s->vms[i].pid == pid) {
				vm_exited(&s->vms[i], status);
				break;
			}
		}
	}
}

void
supervisor_spawn(struct vmproc *v)
{
	struct supervisor *s = v->sup;
	char fdarg[16], mem[32], cpus[16], display[24];
	const char *argv[24];
	int sv[2], n = 0;
	size_t len;
	pid_t parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		LOG("vm %s: socketpair: %s", v->cfg->name, strerror(errno));
		goto fail;
	}
	/* Everything the child needs is prepared before fork. */
	snprintf(fdarg, sizeof(fdarg), "%d", 3);
	if (v->cfg->memory % (1ULL << 20) == 0)
		snprintf(mem, sizeof(mem), "%lluM",
			 (unsigned long long)(v->cfg->memory >> 20));
	else
		snprintf(mem, sizeof(mem), "%lluK",
			 (unsigned long long)(v->cfg->memory >> 10));
	snprintf(cpus, sizeof(cpus), "%u", v->cfg->cpus);
	argv[n++] = s->vmm_path;
	argv[n++] = "--ctl-fd";
	argv[n++] = fdarg;
	argv[n++] = "--name";
	argv[n++] = v->cfg->name;
	argv[n++] = "--mem";
	argv[n++] = mem;
	argv[n++] = "--cpus";
	argv[n++] = cpus;
	argv[n++] = "--on-reboot";
	argv[n++] = "restart";
	argv[n++] = "--display";
	if (v->cfg->display_w == 0)
		snprintf(display, sizeof(display), "none");
	else
		snprintf(display, sizeof(display), "%ux%u", v->cfg->display_w,
			 v->cfg->display_h);
	argv[n++] = display;
	if (!v->cfg->demo_kernel && v->cfg->kernel) {
		argv[n++] = "--kernel";
		argv[n++] = v->cfg->kernel;
	}
	if (v->cfg->initrd) {
		argv[n++] = "--initrd";
		argv[n++] = v->cfg->initrd;
	}
	if (v->cfg->cmdline) {
		argv[n++] = "--cmdline";
		argv[n++] = v->cfg->cmdline;
	}
	argv[n] = NULL;

	/* The monitor gets its stdio and the channel, nothing else (issue 8
	 * #14): whatever the gateway holds without FD_CLOEXEC, or inherited
	 * from whoever started it, is closed in the child. Measured before
	 * fork: getrlimit is not async-signal-safe. */
	struct rlimit nofile;
	unsigned int maxfd = 65536;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 &&
	    nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < 1U << 20)
		maxfd = (unsigned int)nofile.rlim_cur;

	pid_t pid = fork();
	if (pid < 0) {
		LOG("vm %s: fork: %s", v->cfg->name, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls until exec. */
		sigset_t none;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		/* The VMs yield to the gateway that serves them. The result
		 * does not matter: at worst the monitor runs at our own. */
		(void)!nice(SUPERVISOR_VMM_NICE);
		/* The channel out of the way of 0, 1 and 3 first, whatever
		 * sv[1] is; /dev/null without O_CLOEXEC, in case it lands on
		 * 0 or 1 (dup2 onto itself keeps the flag); above 3, the
		 * close_range below takes it. */
		int ctl = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
		int nul = open("/dev/null", O_RDWR);
		if (ctl < 0 || nul < 0 || dup2(nul, 0) != 0 ||
		    dup2(nul, 1) != 1)
			_exit(127);
		if (dup2(ctl, 3) != 3) /* dup2 clears FD_CLOEXEC */
			_exit(127);
		if (close_range(4, ~0U, 0) != 0)
			for (unsigned int fd = 4; fd < maxfd; fd++)
				close((int)fd);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	v->pid = pid;
	v->fd = sv[0];
	v->run = RUN_STARTING;
	v->started = time(NULL);
	v->in_credit.avail = 0;
	v->out_granted = 0;
	v->detail[0] = '\0';
	v->rev = event_new(s->base, v->fd, EV_READ | EV_PERSIST,
			   supervisor_chan_readable, v);
	v->wev =
	    event_new(s->base, v->fd, EV_WRITE, supervisor_chan_writable, v);
	event_add(v->rev, NULL);
	LOG("vm %s: started monitor %d (%s)", v->cfg->name, (int)pid,
	    s->vmm_path);
	supervisor_audit_vm(v, vmstate_name(VMSTATE_STARTING),
			    "monitor started");
	if (ctl_encode_hello(s->pkt, sizeof(s->pkt), &len, 0, CTL_ROLE_GATEWAY,
			     v->cfg->name) == 0)
		supervisor_chan_send(v, s->pkt, len);
	return;
fail:
	v->run = RUN_CRASHED;
	snprintf(v->detail, sizeof(v->detail), "could not start the monitor");
}

struct supervisor *
supervisor_new(struct event_base *base, const struct config *cfg,
	       const char *vmm_path, struct audit *audit)
{
	struct supervisor *s = xcalloc(1, sizeof(*s));

	s->base = base;
	s->cfg = cfg;
	s->vmm_path = xstrdup(vmm_path);
	s->audit = audit;
	s->nvms = cfg->nvms;
	s->vms = xcalloc(s->nvms ? s->nvms : 1, sizeof(*s->vms));
	for (size_t i = 0; i < s->nvms; i++) {
		struct vmproc *v = &s->vms[i];
		v->sup = s;
		v->cfg = &cfg->vms[i];
		v->fd = -1;
		v->pid = -1;
		v->run = RUN_STOPPED;
		v->outbox_tail = &v->outbox;
		v->hub =
		    hub_new(v->cfg->name, v->cfg->scrollback,
			    v->cfg->viewer_queue, supervisor_chan_input, v);
		v->restart_ev = evtimer_new(base, on_restart, v);
		v->pace_ev = evtimer_new(base, on_pace, v);
		hub_set_pacer(v->hub, pace_in, v);
	}
	struct timeval tick = {AUDIT_TICK, 0};
	s->audit_tick = event_new(base, -1, EV_PERSIST, on_audit_tick, s);
	event_add(s->audit_tick, &tick);
	return s;
}

void
supervisor_autostart(struct supervisor *s)
{
	for (size_t i = 0; i < s->nvms; i++) {
		if (s->vms[i].cfg->autostart) {
			s->vms[i].want_run = true;
			supervisor_spawn(&s->vms[i]);
		}
	}
}

void
supervisor_free(struct supervisor *s)
{
	if (s == NULL)
		return;
	while (s->pending) {
		struct pending *p = s->pending;
		s->pending = p->next;
		event_free(p->timer);
		free(p);
	}
	for (size_t i = 0; i < s->nvms; i++) {
		struct vmproc *v = &s->vms[i];
		supervisor_chan_close(v);
		if (v->pid > 0) {
			kill(v->pid, SIGKILL);
			waitpid(v->pid, NULL, 0);
		}
		event_free(v->restart_ev);
		event_free(v->pace_ev);
		hub_free(v->hub);
	}
	if (s->audit_tick != NULL)
		event_free(s->audit_tick);
	free(s->vms);
	free(s->vmm_path);
	free(s);
}

size_t
supervisor_count(const struct supervisor *s)
{
	return s->nvms;
}

struct vmproc *
supervisor_vm(struct supervisor *s, size_t i)
{
	return i < s->nvms ? &s->vms[i] : NULL;
}

struct vmproc *
supervisor_find(struct supervisor *s, const char *name)
{
	for (size_t i = 0; i < s->nvms; i++)
		if (strcmp(s->vms[i].cfg->name, name) == 0)
			return &s->vms[i];
	return NULL;
}

const char *
supervisor_name(const struct vmproc *v)
{
	return v->cfg->name;
}

struct hub *
supervisor_hub(struct vmproc *v)
{
	return v->hub;
}

enum vmstate
supervisor_vmstate(const struct vmproc *v)
{
	switch (v->run) {
	case RUN_STOPPED:
		return VMSTATE_STOPPED;
	case RUN_STARTING:
		return VMSTATE_STARTING;
	case RUN_UP:
		return v->vm_state;
	case RUN_CLOSING:
		return VMSTATE_STOPPING;
	case RUN_RESTARTING:
		return VMSTATE_RESTARTING;
	case RUN_CRASHED:
		return VMSTATE_CRASHED;
	}
	return 0;
}

const char *
supervisor_state(const struct vmproc *v)
{
	return vmstate_name(supervisor_vmstate(v));
}

const char *
supervisor_detail(struct vmproc *v)
{
	if (v->run != RUN_RESTARTING)
		return v->detail;
	/* The time left, as of now; a stop meanwhile leaves only why. */
	time_t left = v->restart_at - time(NULL);
	snprintf(v->shown, sizeof(v->shown), "%s; next start in %lld s",
		 v->detail, (long long)(left > 0 ? left : 0));
	return v->shown;
}

bool
supervisor_is_up(const struct vmproc *v)
{
	return v->run == RUN_UP || v->run == RUN_STARTING;
}

int
supervisor_pid(const struct vmproc *v)
{
	return v->pid;
}
