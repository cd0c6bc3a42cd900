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
#include "xmalloc.h"

/* Output credit we keep granted to each VMM, and when to top it up. */
#define OUT_CREDIT (256u * 1024)
#define OUT_REGRANT (OUT_CREDIT / 2)
#define BACKOFF_MIN 1
#define BACKOFF_MAX 30
#define STABLE_SECS 60 /* a monitor that lived this long resets the backoff */
#define POWER_TIMEOUT 60
#define AUDIT_TICK 5 /* s between writes of due audit repeat counts */

enum run {
	RUN_STOPPED,	/* no monitor, none wanted */
	RUN_STARTING,	/* spawned, no HELLO yet */
	RUN_UP,		/* HELLO done; vm_state says more */
	RUN_CLOSING,	/* channel gone, waiting for the exit status */
	RUN_RESTARTING, /* waiting for the backoff timer */
	RUN_CRASHED,	/* died, on_crash: stop */
};

struct pending {
	struct pending *next;
	uint32_t seq;
	supervisor_power_cb cb;
	void *arg;
	struct event *timer;
	struct vmproc *v;
	const char *what; /* "reset", "stop", "resume" */
};

struct outpkt {
	struct outpkt *next;
	size_t len;
	uint8_t data[];
};

struct vmproc {
	struct supervisor *sup;
	const struct config_vm *cfg;
	struct hub *hub;
	enum run run;
	uint32_t vm_state; /* enum ctl_vm_state while RUN_UP */
	char detail[CTL_TEXT_MAX * 4 + 64];
	bool want_run; /* restart it if it dies */
	pid_t pid;
	int fd;
	struct event *rev, *wev, *restart_ev;
	struct outpkt *outbox, **outbox_tail;
	struct ctl_credit in_credit; /* input the VMM lets us send */
	uint32_t out_granted;	     /* output credit outstanding */
	uint32_t seq;
	unsigned backoff;
	time_t started;
	uint64_t bytes_out;
	uint32_t display_w, display_h; /* DISPLAY_INFO; 0: no display */
};

struct supervisor {
	struct event_base *base;
	const struct config *cfg;
	char *vmm_path;
	struct audit *audit;
	struct vmproc *vms;
	size_t nvms;
	struct pending *pending;
	struct event *audit_tick;
	uint8_t pkt[CTL_MAX_MSG];
};

static void vm_spawn(struct vmproc *v);
static void vm_channel_down(struct vmproc *v, const char *why, bool kill_it);

static void
audit_vm(struct vmproc *v, const char *state, const char *detail)
{
	if (v->sup->audit == NULL)
		return;
	struct json *j = audit_begin(v->sup->audit, "vm");
	json_kstr(j, "vm", v->cfg->name);
	json_kstr(j, "state", state);
	json_kstr(j, "detail", detail);
	/* A guest can loop through states at will: repeats are counted. */
	audit_end_repeat(v->sup->audit, v->cfg->name, state);
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

/* Pending power requests ----------------------------------------------- */

static void
pending_finish(struct pending *p, bool ok, const char *msg)
{
	struct supervisor *s = p->v->sup;

	for (struct pending **pp = &s->pending; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	event_free(p->timer);
	p->cb(p->arg, ok, msg);
	free(p);
}

static void
pending_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	char msg[128];

	(void)fd;
	(void)what;
	snprintf(msg, sizeof(msg), "%s: no answer from the monitor",
		 p->v->cfg->name);
	pending_finish(p, false, msg);
}

static void
pending_add(struct vmproc *v, uint32_t seq, const char *what,
	    supervisor_power_cb cb, void *arg)
{
	struct pending *p = xcalloc(1, sizeof(*p));
	struct timeval tv = {POWER_TIMEOUT, 0};

	p->seq = seq;
	p->cb = cb;
	p->arg = arg;
	p->v = v;
	p->what = what;
	p->timer = evtimer_new(v->sup->base, pending_timeout, p);
	evtimer_add(p->timer, &tv);
	p->next = v->sup->pending;
	v->sup->pending = p;
}

/* Answers every request of v with a seq of 0 (all of them) or seq. */
static void
pending_answer(struct vmproc *v, uint32_t seq, bool ok, const char *msg)
{
	struct pending *p, *next;

	for (p = v->sup->pending; p; p = next) {
		next = p->next;
		if (p->v == v && (seq == 0 || p->seq == seq))
			pending_finish(p, ok, msg);
	}
}

void
supervisor_cancel(struct supervisor *s, void *arg)
{
	struct pending **pp = &s->pending;

	while (*pp) {
		struct pending *p = *pp;
		if (p->arg == arg) {
			*pp = p->next;
			event_free(p->timer);
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

/* Sending ---------------------------------------------------------------- */

static void
outbox_flush(struct vmproc *v)
{
	while (v->outbox != NULL) {
		struct outpkt *o = v->outbox;
		int r = ctl_send(v->fd, o->data, o->len, -1);
		if (r == CTL_E_AGAIN) {
			event_add(v->wev, NULL);
			return;
		}
		v->outbox = o->next;
		if (v->outbox == NULL)
			v->outbox_tail = &v->outbox;
		free(o);
		if (r != 0) {
			vm_channel_down(v, ctl_strerror(r), true);
			return;
		}
	}
	event_del(v->wev);
	if (v->run == RUN_UP && v->in_credit.avail > 0)
		hub_credit(v->hub);
}

/* Sends a packet in order after anything already queued. */
static void
vm_send(struct vmproc *v, const uint8_t *pkt, size_t len)
{
	if (v->fd < 0)
		return;
	if (v->outbox == NULL) {
		int r = ctl_send(v->fd, pkt, len, -1);
		if (r == 0)
			return;
		if (r != CTL_E_AGAIN) {
			vm_channel_down(v, ctl_strerror(r), true);
			return;
		}
	}
	struct outpkt *o = xmalloc(sizeof(*o) + len);
	o->next = NULL;
	o->len = len;
	memcpy(o->data, pkt, len);
	*v->outbox_tail = o;
	v->outbox_tail = &o->next;
	event_add(v->wev, NULL);
}

static void
grant_output(struct vmproc *v)
{
	size_t len;

	if (v->out_granted > OUT_REGRANT)
		return;
	uint32_t more = OUT_CREDIT - v->out_granted;
	if (ctl_encode_console_credit(v->sup->pkt, sizeof(v->sup->pkt), &len, 0,
				      more) != 0)
		return;
	v->out_granted += more;
	vm_send(v, v->sup->pkt, len);
}

/* The hub's writer path into the guest. */
static size_t
vm_input(void *arg, const uint8_t *p, size_t n)
{
	struct vmproc *v = arg;
	uint8_t pkt[CTL_HDR_LEN + 4096];
	size_t len;

	if (v->run != RUN_UP || v->outbox != NULL)
		return 0;
	if (n > v->in_credit.avail)
		n = v->in_credit.avail;
	if (n > sizeof(pkt) - CTL_HDR_LEN)
		n = sizeof(pkt) - CTL_HDR_LEN;
	if (n == 0)
		return 0;
	if (ctl_encode_console_in(pkt, sizeof(pkt), &len, 0, p, n) != 0)
		return 0;
	int r = ctl_send(v->fd, pkt, len, -1);
	if (r == CTL_E_AGAIN) {
		event_add(v->wev, NULL); /* hub_credit() once writable */
		return 0;
	}
	if (r != 0) {
		vm_channel_down(v, ctl_strerror(r), true);
		return 0;
	}
	ctl_credit_use(&v->in_credit, n);
	return n;
}

/* Receiving -------------------------------------------------------------- */

typedef int (*handler_fn)(struct vmproc *v, const struct ctl_msg *m);

static int
on_hello(struct vmproc *v, const struct ctl_msg *m)
{
	if (v->run != RUN_STARTING)
		return -1; /* second HELLO */
	if (m->u.hello.role != CTL_ROLE_VMM ||
	    m->u.hello.name.len != strlen(v->cfg->name) ||
	    memcmp(m->u.hello.name.ptr, v->cfg->name, m->u.hello.name.len) != 0)
		return -1;
	v->run = RUN_UP;
	v->vm_state = CTL_VM_RUNNING;
	v->detail[0] = '\0';
	LOG("vm %s: monitor %d up", v->cfg->name, (int)v->pid);
	grant_output(v);
	return 0;
}

static int
on_error(struct vmproc *v, const struct ctl_msg *m)
{
	char text[CTL_TEXT_MAX * 4 + 8], msg[CTL_TEXT_MAX * 4 + 64];

	log_esc(text, sizeof(text), m->u.error.text.ptr, m->u.error.text.len);
	LOG("vm %s: monitor error %s: %s", v->cfg->name,
	    ctl_errcode_name(m->u.error.code), text);
	switch (m->u.error.code) {
	case CTL_ERR_INVALID_STATE:
	case CTL_ERR_UNSUPPORTED:
	case CTL_ERR_INTERNAL:
		snprintf(msg, sizeof(msg), "%s: refused by the monitor (%s)",
			 v->cfg->name, text);
		pending_answer(v, m->seq ? m->seq : UINT32_MAX, false, msg);
		return 0;
	default:
		return -1; /* fatal codes: the VMM closes now */
	}
}

static int
on_console_out(struct vmproc *v, const struct ctl_msg *m)
{
	size_t n = m->u.console_out.len;

	if (n > v->out_granted)
		return -1; /* beyond the credit we gave */
	v->out_granted -= (uint32_t)n;
	v->bytes_out += n;
	hub_output(v->hub, m->u.console_out.ptr, n);
	grant_output(v);
	return 0;
}

static int
on_credit(struct vmproc *v, const struct ctl_msg *m)
{
	if (ctl_credit_grant(&v->in_credit, m->u.credit.bytes) != 0)
		return -1;
	if (v->outbox == NULL)
		hub_credit(v->hub);
	return 0;
}

static int
on_lost(struct vmproc *v, const struct ctl_msg *m)
{
	hub_lost(v->hub, m->u.lost.bytes);
	return 0;
}

/* The monitor has a display of this size (VNC sessions come later). */
static int
on_display_info(struct vmproc *v, const struct ctl_msg *m)
{
	v->display_w = m->u.display_info.width;
	v->display_h = m->u.display_info.height;
	return 0;
}

static int
on_state(struct vmproc *v, const struct ctl_msg *m)
{
	char det[CTL_TEXT_MAX * 4 + 8], msg[sizeof(v->detail) + 64];
	uint32_t st = m->u.state.state;

	log_esc(det, sizeof(det), m->u.state.detail.ptr, m->u.state.detail.len);
	if (m->u.state.cpu != CTL_CPU_NONE)
		snprintf(
		    v->detail, sizeof(v->detail), "%s%s%s, cpu %u rip 0x%llx",
		    ctl_reason_name(m->u.state.reason), *det ? ": " : "", det,
		    m->u.state.cpu, (unsigned long long)m->u.state.rip);
	else if (m->u.state.reason != CTL_REASON_NONE)
		snprintf(v->detail, sizeof(v->detail), "%s%s%s",
			 ctl_reason_name(m->u.state.reason), *det ? ": " : "",
			 det);
	else
		snprintf(v->detail, sizeof(v->detail), "%s", det);
	bool changed = v->vm_state != st;
	v->vm_state = st;
	LOG("vm %s: %s%s%s", v->cfg->name, ctl_state_name(st),
	    *v->detail ? " - " : "", v->detail);
	if (changed || st != CTL_VM_RUNNING) {
		audit_vm(v, ctl_state_name(st), v->detail);
		if (st != CTL_VM_RUNNING || changed)
			hub_notice(v->hub, "%s is %s%s%s", v->cfg->name,
				   ctl_state_name(st), *v->detail ? ": " : "",
				   v->detail);
	}
	if (st == CTL_VM_STOPPED &&
	    m->u.state.reason != CTL_REASON_HOST_REQUEST)
		v->want_run = false; /* the guest powered itself off */
	if (m->seq != 0) {
		snprintf(msg, sizeof(msg), "%s is %s", v->cfg->name,
			 ctl_state_name(st));
		pending_answer(v, m->seq, st != CTL_VM_CRASHED, msg);
	}
	return 0;
}

/* The table of what a VMM may send us (STYLE.md: access control as data). */
static const struct {
	uint16_t type;
	handler_fn fn;
} handlers[] = {
    {CTL_T_HELLO, on_hello},
    {CTL_T_ERROR, on_error},
    {CTL_T_CONSOLE_OUT, on_console_out},
    {CTL_T_CONSOLE_CREDIT, on_credit},
    {CTL_T_CONSOLE_LOST, on_lost},
    {CTL_T_STATE, on_state},
    {CTL_T_DISPLAY_INFO, on_display_info},
};

static handler_fn
handler_for(uint16_t type)
{
	if (!ctl_allowed(CTL_ROLE_VMM, type))
		return NULL;
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (handlers[i].type == type)
			return handlers[i].fn;
	return NULL;
}

static void
vm_fail(struct vmproc *v, enum ctl_errcode code, const char *why)
{
	size_t len;

	if (code != 0 && ctl_encode_error(v->sup->pkt, sizeof(v->sup->pkt),
					  &len, 0, code, why) == 0)
		ctl_send(v->fd, v->sup->pkt, len, -1);
	vm_channel_down(v, why, true);
}

static void
on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct vmproc *v = arg;
	struct supervisor *s = v->sup;
	struct ctl_msg m;
	size_t len;

	(void)what;
	/* Bounded per wakeup so one chatty VMM cannot starve the loop. */
	for (int i = 0; i < 64 && v->fd == fd; i++) {
		int r = ctl_recv(fd, s->pkt, sizeof(s->pkt), &len, NULL);
		if (r == CTL_E_AGAIN)
			return;
		if (r == CTL_E_EOF) {
			vm_channel_down(v, "monitor closed the channel", false);
			return;
		}
		if (r == 0)
			r = ctl_decode(s->pkt, len, &m);
		if (r != 0) {
			char why[128];
			snprintf(why, sizeof(why), "protocol error: %s",
				 ctl_strerror(r));
			vm_fail(v,
				r == CTL_E_VERSION ? CTL_ERR_VERSION
						   : CTL_ERR_PROTOCOL,
				why);
			return;
		}
		handler_fn fn = handler_for(m.type);
		if (fn == NULL) {
			vm_fail(v, CTL_ERR_NOT_PERMITTED,
				"message type not permitted");
			return;
		}
		if ((v->run == RUN_STARTING) != (m.type == CTL_T_HELLO)) {
			vm_fail(v, CTL_ERR_PROTOCOL,
				v->run == RUN_STARTING ? "expected HELLO"
						       : "second HELLO");
			return;
		}
		if (fn(v, &m) != 0) {
			char why[128];
			snprintf(why, sizeof(why), "protocol error in %s",
				 ctl_type_name(m.type));
			vm_fail(v, CTL_ERR_PROTOCOL, why);
			return;
		}
	}
}

static void
on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct vmproc *v = arg;

	(void)fd;
	(void)what;
	outbox_flush(v);
}

/* Lifecycle -------------------------------------------------------------- */

static void
close_channel(struct vmproc *v)
{
	if (v->fd < 0)
		return;
	event_free(v->rev);
	event_free(v->wev);
	v->rev = v->wev = NULL;
	close(v->fd);
	v->fd = -1;
	while (v->outbox) {
		struct outpkt *o = v->outbox;
		v->outbox = o->next;
		free(o);
	}
	v->outbox_tail = &v->outbox;
	v->in_credit.avail = 0;
	v->out_granted = 0;
}

/* The channel is gone; the exit status is reaped on SIGCHLD. */
static void
vm_channel_down(struct vmproc *v, const char *why, bool kill_it)
{
	if (v->fd < 0)
		return;
	LOG("vm %s: control channel down: %s%s", v->cfg->name, why,
	    kill_it ? "; killing the monitor" : "");
	close_channel(v);
	if (kill_it && v->pid > 0)
		kill(v->pid, SIGKILL);
	if (v->pid > 0)
		v->run = RUN_CLOSING;
	snprintf(v->detail, sizeof(v->detail), "%s", why);
}

static void
on_restart(evutil_socket_t fd, short what, void *arg)
{
	struct vmproc *v = arg;

	(void)fd;
	(void)what;
	if (v->run == RUN_RESTARTING && v->want_run)
		vm_spawn(v);
}

static const char *
exit_meaning(int code)
{
	switch (code) {
	case 0:
		return "guest powered off";
	case 1:
		return "monitor error";
	case 2:
		return "monitor usage error";
	case 10:
		return "guest rebooted";
	case 11:
		return "triple fault";
	case 12:
		return "KVM internal error";
	case 13:
		return "guest crashed";
	case 15:
		return "guest panicked";
	case 20:
		return "stopped";
	default:
		return "unknown exit status";
	}
}

static void
vm_exited(struct vmproc *v, int status)
{
	char why[160], msg[256];

	close_channel(v);
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
			 code, exit_meaning(code));
		if (code == 0)
			v->want_run = false; /* the guest powered off */
	}
	snprintf(msg, sizeof(msg), "%s: %s", v->cfg->name, why);
	pending_answer(v, 0, !v->want_run, msg);
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
		snprintf(v->detail, sizeof(v->detail), "%s; next start in %u s",
			 why, v->backoff);
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
	audit_vm(v, supervisor_state(v), why);
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

static void
vm_spawn(struct vmproc *v)
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
	v->rev =
	    event_new(s->base, v->fd, EV_READ | EV_PERSIST, on_readable, v);
	v->wev = event_new(s->base, v->fd, EV_WRITE, on_writable, v);
	event_add(v->rev, NULL);
	LOG("vm %s: started monitor %d (%s)", v->cfg->name, (int)pid,
	    s->vmm_path);
	audit_vm(v, "starting", "monitor started");
	if (ctl_encode_hello(s->pkt, sizeof(s->pkt), &len, 0, CTL_ROLE_GATEWAY,
			     v->cfg->name) == 0)
		vm_send(v, s->pkt, len);
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
		v->hub = hub_new(v->cfg->name, v->cfg->scrollback, vm_input, v);
		v->restart_ev = evtimer_new(base, on_restart, v);
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
			vm_spawn(&s->vms[i]);
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
		close_channel(v);
		if (v->pid > 0) {
			kill(v->pid, SIGKILL);
			waitpid(v->pid, NULL, 0);
		}
		event_free(v->restart_ev);
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

const char *
supervisor_state(const struct vmproc *v)
{
	switch (v->run) {
	case RUN_STOPPED:
		return "stopped";
	case RUN_STARTING:
		return "starting";
	case RUN_UP:
		return ctl_state_name(v->vm_state);
	case RUN_CLOSING:
		return "stopping";
	case RUN_RESTARTING:
		return "restarting";
	case RUN_CRASHED:
		return "crashed";
	}
	return "?";
}

const char *
supervisor_detail(const struct vmproc *v)
{
	return v->detail;
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

static void
immediate_done(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;

	(void)fd;
	(void)what;
	pending_finish(p, true, p->what);
}

int
supervisor_power(struct vmproc *v, enum supervisor_power what,
		 supervisor_power_cb cb, void *arg, const char **msg)
{
	struct supervisor *s = v->sup;
	size_t len;
	enum ctl_power action;
	const char *name;

	switch (what) {
	case SUPERVISOR_START:
		if (v->run == RUN_UP && v->vm_state == CTL_VM_PAUSED) {
			action = CTL_POWER_RESUME;
			name = "resume";
			break;
		}
		if (v->run == RUN_UP || v->run == RUN_STARTING ||
		    v->run == RUN_CLOSING) {
			*msg = "is already running";
			return -1;
		}
		v->want_run = true;
		v->backoff = 0;
		evtimer_del(v->restart_ev);
		vm_spawn(v);
		if (v->run != RUN_STARTING) {
			*msg = "could not be started";
			return -1;
		}
		/* Answer on a later loop pass, as promised. */
		pending_add(v, 0, "starting", cb, arg);
		struct pending *p = s->pending;
		event_free(p->timer);
		p->timer = evtimer_new(s->base, immediate_done, p);
		struct timeval zero = {0, 0};
		evtimer_add(p->timer, &zero);
		return 0;
	case SUPERVISOR_STOP:
		if (v->run == RUN_RESTARTING || v->run == RUN_CRASHED) {
			v->want_run = false;
			evtimer_del(v->restart_ev);
			v->run = RUN_STOPPED;
			*msg = "stopped";
			return -1; /* nothing to wait for; not an error text */
		}
		if (v->run != RUN_UP) {
			*msg = "is stopped";
			return -1;
		}
		v->want_run = false;
		action = CTL_POWER_POWEROFF;
		name = "stop";
		break;
	case SUPERVISOR_RESET:
		if (v->run != RUN_UP) {
			*msg = "is stopped";
			return -1;
		}
		action = CTL_POWER_RESET;
		name = "reset";
		break;
	default:
		*msg = "unknown action";
		return -1;
	}
	if (++v->seq == 0)
		v->seq = 1;
	if (ctl_encode_power(s->pkt, sizeof(s->pkt), &len, v->seq, action) !=
	    0) {
		*msg = "internal error";
		return -1;
	}
	pending_add(v, v->seq, name, cb, arg);
	vm_send(v, s->pkt, len);
	return 0;
}

int
supervisor_break(struct vmproc *v)
{
	size_t len;

	if (v->run != RUN_UP)
		return -1;
	if (++v->seq == 0)
		v->seq = 1;
	if (ctl_encode_break(v->sup->pkt, sizeof(v->sup->pkt), &len, v->seq) !=
	    0)
		return -1;
	vm_send(v, v->sup->pkt, len);
	return 0;
}
