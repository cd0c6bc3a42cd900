/*
 * sandbox: what vmgate-vmm may still do once its guest runs (DESIGN.md §2,
 * issue 8 #14).
 *
 * The monitor faces a possibly hostile guest; a guest that escapes into it
 * must not get the gateway's secrets, although (for now) the monitor runs
 * with the gateway's uid. So, after the VM is set up (/dev/kvm open, the
 * kernel and initrd mapped, guest RAM and eventfds made) and before any
 * vCPU runs, sandbox_enter():
 *  - sets PR_SET_NO_NEW_PRIVS: nothing it could exec gains privileges (and
 *    an unprivileged process may then load a seccomp filter);
 *  - sets PR_SET_DUMPABLE to 0: other processes of the same uid (another
 *    VM's monitor) can no longer ptrace it or read its /proc/PID/mem, fd,
 *    environ; it leaves no core file;
 *  - loads a seccomp filter (libseccomp) that allows only the system calls
 *    the monitor makes from then on: KVM ioctls (by request number),
 *    terminal ioctls for the stdio console, thread creation and join for a
 *    guest reset, poll, read/write, sendmsg/recvmsg on the control channel,
 *    signals, memory management without PROT_EXEC, clocks, futexes, exit.
 *    Any other call kills the whole process (SECCOMP_RET_KILL_PROCESS, seen
 *    by the parent as SIGSYS; the gateway reports "killed by the sandbox").
 *    open, openat, execve, socket, connect, ptrace, fork are not on the
 *    list: after sandbox_enter() the monitor opens nothing by path, so the
 *    files its uid could read (host keys, policy, audit, recordings) stay
 *    out of its reach; what it holds is the descriptors the gateway passed
 *    (stdio, the control channel; see supervisor.c) and its own KVM ones.
 * What remains (same uid): it can still signal processes of its uid, and
 * read what those descriptors reach. A uid per VM and namespaces (as
 * Firecracker's jailer) come later.
 *
 * The filter is built for x86-64 (the only KVM target here); a process of
 * another ABI making a call is killed too.
 */
#ifndef VMGATE_SANDBOX_H
#define VMGATE_SANDBOX_H

#include <stddef.h>

/*
 * Enters the sandbox for every thread of the process (call it before
 * starting threads; it synchronises those that exist). Returns 0, or -1
 * with a message in ERR (the monitor then refuses to run the guest).
 */
int sandbox_enter(char *err, size_t errlen);

/*
 * Test hook, for the tests of the sandbox only (README: "Sandbox"): if
 * VMGATE_TEST_SANDBOX_OPEN is "NAME:MS:PATH" and NAME is this VM's name,
 * a thread of the monitor tries to open PATH MS milliseconds after it was
 * called, as a guest escape would; under the sandbox that kills the
 * monitor. Without the sandbox (--no-sandbox) it reads one byte, says so
 * on stderr and the monitor goes on. Call after sandbox_enter().
 */
void sandbox_test_hook(const char *vm_name);

#endif
