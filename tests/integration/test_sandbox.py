"""The monitor's sandbox (issue 8 #14, vmm-core/sandbox.h) on real KVM.

A guest that escapes into vmgate-vmm must not get at the gateway's files,
although the monitor has the gateway's uid: once the guest runs, the
monitor has no_new_privs, is not dumpable, and runs under a seccomp filter
that kills the whole process on any call it does not make, open first.
The test hook VMGATE_TEST_SANDBOX_OPEN=NAME:MS:PATH makes a monitor thread
open PATH after MS ms, as an escaped guest would.
"""
import os
import re
import signal
import time

import pytest

from vmmproc import PROMPT, Vmm

needs_kvm = pytest.mark.skipif(not os.path.exists("/dev/kvm"), reason="no /dev/kvm: run under tools/kvmbox")


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def fd_targets(pid):
    """{fd: readlink target} of a live process (root reads them although the
    monitor is not dumpable; anyone else is refused)."""
    d = "/proc/%d/fd" % pid
    return {int(fd): os.readlink(os.path.join(d, fd)) for fd in os.listdir(d)}


def secret_file(tmp_path):
    p = tmp_path / "ssh_host_ed25519_key"
    p.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n")
    p.chmod(0o600)
    return str(p)


@needs_kvm
def test_monitor_runs_sandboxed_with_only_its_own_fds():
    # What the monitor holds of its own (what the gateway passes it:
    # tests/gateway/test_gateway_sandbox.py).
    with Vmm("--cpus", "2") as vm:
        vm.expect(re.escape(PROMPT))
        st = proc_status(vm.proc.pid)
        assert st["NoNewPrivs"].strip() == "1", st
        assert st["Seccomp"].strip() == "2", st  # filter mode
        if os.geteuid() != 0:
            # Not dumpable: another process of the same uid may not look.
            with pytest.raises(PermissionError):
                fd_targets(vm.proc.pid)
            return
        fds = fd_targets(vm.proc.pid)
        allowed = re.compile(r"^(pipe:\[\d+\]|/dev/kvm|anon_inode:kvm-vm|anon_inode:kvm-vcpu:[01]|"
                             r"/memfd:vmgate-ram \(deleted\)|/memfd:vmgate-framebuffer \(deleted\)|"
                             r"anon_inode:\[eventfd\]|anon_inode:\[signalfd\])$")
        assert all(allowed.match(t) for t in fds.values()), fds
        assert sorted(t for t in fds.values() if "kvm-vcpu" in t) == ["anon_inode:kvm-vcpu:0", "anon_inode:kvm-vcpu:1"]
        assert vm.command("echo sandboxed") == b"sandboxed\r\n"


@needs_kvm
def test_forbidden_open_kills_only_that_monitor(tmp_path):
    secret = secret_file(tmp_path)
    # The hook fires this long after the filter is on; the guest must be
    # at its prompt by then. Under kvmbox three demo guests booting at once,
    # each drawing its framebuffer console from ring 3 (every first write
    # to a page an exit to the nested KVM), took more than 1.5 s.
    hook = {"VMGATE_TEST_SANDBOX_OPEN": "victim:10000:" + secret}
    with Vmm("--name", "victim", env=hook) as a, Vmm("--name", "other", env=hook) as b, \
            Vmm("--name", "victim", "--no-sandbox", env=hook) as c:
        a.expect(re.escape(PROMPT))
        b.expect(re.escape(PROMPT))
        # The hook's open, from a thread of the monitor, after the guest
        # ran: the kernel kills the whole process with SIGSYS.
        assert a.wait(60) == -signal.SIGSYS, a.stderr_text()
        assert "test hook: opening " + secret in a.stderr_text()
        assert "NOT sandboxed" not in a.stderr_text()
        # The other monitor (not named in the hook) goes on.
        assert b.command("echo still here") == b"still here\r\n"
        assert b.proc.poll() is None
        # Without the sandbox the same hook reads the key: the hook works,
        # and it is the filter that stopped it above.
        c.expect(re.escape(PROMPT))
        deadline = time.monotonic() + 60
        while "test hook: read" not in c.stderr_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "test hook: read 1 byte(s): NOT sandboxed" in c.stderr_text(), c.stderr_text()
        assert c.proc.poll() is None
        st = proc_status(c.proc.pid)
        assert st["Seccomp"].strip() == "0" and st["NoNewPrivs"].strip() == "0", st


@needs_kvm
def test_reset_and_crash_still_work_under_the_filter():
    # A reset makes a new KVM VM and new vCPU threads, under the filter.
    with Vmm("--cpus", "2") as vm:
        vm.expect(re.escape(PROMPT))
        vm.send("reboot\r")
        vm.expect(rb"vmgate demo guest", timeout=120)
        vm.expect(re.escape(PROMPT), timeout=120)
        assert vm.command("echo after reset") == b"after reset\r\n"
        vm.send("crash\r")
        assert vm.wait(120) == 11, vm.stderr_text()
