#include "sandbox.h"
#include "errmsg.h"
#include "logesc.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANDBOX_LSAN 1
#endif
#endif
#if !defined(SANDBOX_LSAN) && defined(__SANITIZE_ADDRESS__)
#define SANDBOX_LSAN 1
#endif
#ifdef SANDBOX_LSAN
void __lsan_do_leak_check(void);
#endif

/*
 * Every call the monitor makes once the guest runs, found with strace -f on
 * the demo guest (console, control channel, resets, crashes) and a Linux
 * guest on 2 vCPUs; with a reason where it is not obvious. Calls whose
 * arguments matter get rules below instead.
 */
static const int plain_calls[] = {
    /* The display: vnc.c with libvncserver, screenshots (monitor.c). */
    SCMP_SYS(select),	    /* libvncserver waits on its viewers */
    SCMP_SYS(pselect6),	    /* ... with the C library's select() */
    SCMP_SYS(accept4),	    /* a viewer on a --vnc listener */
    SCMP_SYS(setsockopt),   /* a viewer's send buffer, TCP_NODELAY */
    SCMP_SYS(getpeername),  /* libvncserver names each viewer */
    SCMP_SYS(recvfrom),	    /* libvncserver's MSG_PEEK reads */
    SCMP_SYS(shutdown),	    /* libvncserver dropping a viewer */
    SCMP_SYS(ftruncate),    /* a screenshot replaces a file's contents */
    SCMP_SYS(lseek),	    /* ... from its start */
    SCMP_SYS(fstat),	    /* ... and checks what the gateway passed */
    SCMP_SYS(gettimeofday), /* libvncserver's clock, if not the vDSO's */
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(close), /* vCPU and VM fds on a reset */
    SCMP_SYS(poll),
    SCMP_SYS(ppoll),
    SCMP_SYS(sendmsg), /* control channel */
    SCMP_SYS(recvmsg),
    SCMP_SYS(munmap),
    SCMP_SYS(madvise), /* malloc, thread stacks */
    SCMP_SYS(mremap),  /* realloc of a large block */
    SCMP_SYS(brk),
    SCMP_SYS(futex),
    SCMP_SYS(set_robust_list), /* each new thread */
    SCMP_SYS(rseq),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sigaltstack), /* the sanitizers' per-thread stacks */
    SCMP_SYS(signalfd4),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(clock_gettime),	 /* when the vDSO cannot */
    SCMP_SYS(restart_syscall),	 /* poll resumed after SIGSTOP/SIGCONT */
    SCMP_SYS(sched_getaffinity), /* malloc sizing a thread's arena */
    SCMP_SYS(sched_yield),	 /* the sanitizers' spin locks */
};

/* ioctl requests: KVM (vm.c) and the stdio console's termios. */
static const unsigned long ioctl_requests[] = {
    KVM_RUN,
    KVM_CREATE_VM, /* a reset makes a fresh KVM VM */
    KVM_GET_VCPU_MMAP_SIZE,
    KVM_SET_TSS_ADDR,
    KVM_SET_IDENTITY_MAP_ADDR,
    KVM_CREATE_IRQCHIP,
    KVM_CREATE_PIT2,
    KVM_SET_USER_MEMORY_REGION,
    KVM_CREATE_VCPU,
    KVM_GET_SUPPORTED_CPUID,
    KVM_SET_CPUID2,
    KVM_GET_LAPIC,
    KVM_SET_LAPIC,
    KVM_GET_SREGS,
    KVM_SET_SREGS,
    KVM_GET_REGS,
    KVM_SET_REGS,
    KVM_SET_FPU,
    KVM_IRQ_LINE,
    KVM_CHECK_EXTENSION,
    KVM_GET_DIRTY_LOG, /* the display: what the guest drew since */
    TCGETS,
    TCSETS,
    TCSETSW,
    TCSETSF,
};

/* A rule on one argument; action ALLOW unless it says otherwise. */
struct rule {
	int nr;
	struct scmp_arg_cmp cmp;
	uint32_t action;
};

#define ARG_EQ(a, v)                                                           \
	{                                                                      \
		.arg = (a), .op = SCMP_CMP_EQ, .datum_a = (v), .datum_b = 0    \
	}
#define ARG_MASKED(a, mask, v)                                                 \
	{                                                                      \
		.arg = (a), .op = SCMP_CMP_MASKED_EQ, .datum_a = (mask),       \
		.datum_b = (v)                                                 \
	}

static const struct rule arg_rules[] = {
    /* stdout non-blocking for the stdio console */
    {SCMP_SYS(fcntl), ARG_EQ(1, F_GETFL), SCMP_ACT_ALLOW},
    {SCMP_SYS(fcntl), ARG_EQ(1, F_SETFL), SCMP_ACT_ALLOW},
    /* Memory, never executable: the code the monitor runs is mapped. */
    {SCMP_SYS(mmap), ARG_MASKED(2, PROT_EXEC, 0), SCMP_ACT_ALLOW},
    {SCMP_SYS(mprotect), ARG_MASKED(2, PROT_EXEC, 0), SCMP_ACT_ALLOW},
    /* Threads (vCPUs after a reset), never a new process (see clone3). */
    {SCMP_SYS(clone),
     ARG_MASKED(0, CLONE_THREAD | CLONE_VM, CLONE_THREAD | CLONE_VM),
     SCMP_ACT_ALLOW},
    /* fstat() in the C library; with AT_EMPTY_PATH it names no path. */
    {SCMP_SYS(newfstatat), ARG_MASKED(3, AT_EMPTY_PATH, AT_EMPTY_PATH),
     SCMP_ACT_ALLOW},
    /* A reset zeroes guest RAM by punching the whole memfd. */
    {SCMP_SYS(fallocate), ARG_EQ(1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
     SCMP_ACT_ALLOW},
};

static int
rules(scmp_filter_ctx ctx)
{
	int r;

	for (size_t i = 0; i < sizeof(plain_calls) / sizeof(plain_calls[0]);
	     i++)
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain_calls[i],
					  0)) != 0)
			return r;
	for (size_t i = 0;
	     i < sizeof(ioctl_requests) / sizeof(ioctl_requests[0]); i++) {
		struct scmp_arg_cmp c = ARG_EQ(1, ioctl_requests[i]);
		if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
					  1, c)) != 0)
			return r;
	}
	for (size_t i = 0; i < sizeof(arg_rules) / sizeof(arg_rules[0]); i++)
		if ((r = seccomp_rule_add(ctx, arg_rules[i].action,
					  arg_rules[i].nr, 1,
					  arg_rules[i].cmp)) != 0)
			return r;
	/* clone3 takes its flags through a pointer the filter cannot read:
	 * it fails with ENOSYS, and glibc falls back to clone. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
				  0)) != 0)
		return r;
	/* Kicks (pthread_kill) and raise() go to this process only. */
	struct scmp_arg_cmp self = ARG_EQ(0, (scmp_datum_t)getpid());
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, self);
}

int
sandbox_enter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = NULL;
	int r = -1, e;

#ifdef SANDBOX_LSAN
	/* The end-of-process leak check needs ptrace and /proc, which the
	 * filter forbids (and ptrace a dumpable process): check now, once,
	 * for what setup leaked; this also turns the exit check off. */
	__lsan_do_leak_check();
#endif
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return errmsg(err, errlen, "sandbox: PR_SET_NO_NEW_PRIVS: %s",
			      strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return errmsg(err, errlen, "sandbox: PR_SET_DUMPABLE: %s",
			      strerror(errno));
	/* Killing one thread would leave a monitor without its vCPU (or its
	 * I/O loop): only the whole process may die. Linux 4.14+. */
	if (seccomp_api_get() < 3)
		return errmsg(err, errlen,
			      "sandbox: this kernel cannot kill a process "
			      "from seccomp (Linux 4.14 or later needed; "
			      "--no-sandbox runs without)");
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return errmsg(err, errlen, "sandbox: seccomp_init failed");
	if ((e = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0 ||
	    (e = rules(ctx)) != 0) {
		errmsg(err, errlen, "sandbox: building the filter: %s",
		       strerror(-e));
		goto out;
	}
	if ((e = seccomp_load(ctx)) != 0) {
		errmsg(err, errlen, "sandbox: loading the filter: %s",
		       strerror(-e));
		goto out;
	}
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

/* The test hook ------------------------------------------------------- */

static char hook_path[4096];
static int hook_ms;

static void *
hook_thread(void *arg)
{
	char c;

	(void)arg;
	poll(NULL, 0, hook_ms);
	/* Under the sandbox the process dies here, in openat. */
	int fd = open(hook_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "vmgate-vmm: test hook: open failed: %s\n",
			strerror(errno));
		return NULL;
	}
	ssize_t n = read(fd, &c, 1);
	fprintf(stderr,
		"vmgate-vmm: test hook: read %zd byte(s): NOT "
		"sandboxed\n",
		n);
	close(fd);
	return NULL;
}

void
sandbox_test_hook(const char *vm_name)
{
	const char *spec = getenv("VMGATE_TEST_SANDBOX_OPEN");
	size_t nl = strlen(vm_name);
	pthread_t t;
	char *end;

	if (spec == NULL || strncmp(spec, vm_name, nl) != 0 || spec[nl] != ':')
		return;
	long ms = strtol(spec + nl + 1, &end, 10);
	if (*end != ':' || ms < 0 || ms > 600000 ||
	    strlen(end + 1) >= sizeof(hook_path))
		return;
	hook_ms = (int)ms;
	memcpy(hook_path, end + 1, strlen(end + 1) + 1);
	char esc[256];
	logesc_mem(esc, sizeof(esc), hook_path, strlen(hook_path),
		   LOGESC_KEEP_BACKSLASH);
	fprintf(stderr, "vmgate-vmm: test hook: opening %s in %ld ms\n", esc,
		ms);
	if (pthread_create(&t, NULL, hook_thread, NULL) == 0)
		pthread_detach(t);
}
