"""The monitors vmgated runs are sandboxed (issue 8 #14, vmm-core/sandbox.h).

A guest that escapes into its monitor holds the gateway's uid, so the
monitor must get nothing it does not need: no descriptor of the gateway's
(or of whoever started it) beyond stdio and its control channel, and no
way to open the gateway's files (host keys, policy, audit, recordings)
once its guest runs. A forbidden call kills that monitor only, and the
gateway says so in its log, its audit log, `status` and to attached users.
"""
import fcntl
import os
import re
import subprocess
import time

from gwharness import PROMPT, VMGATED, VMM, Gateway

SANDBOX_KILL = "monitor killed by the sandbox (SIGSYS: a forbidden system call)"


class LeakyGateway(Gateway):
    """A vmgated started the way a careless parent would: with an open,
    inheritable descriptor on a secret of its own (here the policy file),
    and the monitor test hook in its environment."""

    def __init__(self, hook, **kw):
        self.hook = hook
        super().__init__(**kw)

    def start(self):
        self.logf = open(self.log_path, "ab")
        fd = os.open(self.policy_path, os.O_RDONLY)
        self.secret_fd = fcntl.fcntl(fd, fcntl.F_DUPFD, 50)  # inheritable, clear of 3
        os.close(fd)
        env = dict(os.environ, VMGATE_TEST_SANDBOX_OPEN=self.hook)
        self.proc = subprocess.Popen([VMGATED, "--config", self.config, "--vmm", VMM],
                                     stdout=self.logf, stderr=self.logf, env=env,
                                     pass_fds=(self.secret_fd,))
        self.wait_log(r"ssh listening on", 60)

    def stop(self):
        super().stop()
        os.close(self.secret_fd)


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_monitor_is_sandboxed_and_a_forbidden_call_kills_only_it():
    g = LeakyGateway(hook=None, start=False)
    g.hook = "web1:3000:" + os.path.join(g.state, "ssh_host_ed25519_key")
    try:
        g.start()
        g.wait_prompt("web2")
        # web2's monitor: no_new_privs, a seccomp filter, and only its own
        # descriptors: /dev/null on 0 and 1, the gateway's log on 2, the
        # control channel on 3, then what it opened for its VM.
        pid = g.vmm_pid("web2")
        st = proc_status(pid)
        assert st["NoNewPrivs"].strip() == "1" and st["Seccomp"].strip() == "2", st
        fd_dir = "/proc/%d/fd" % pid
        fds = {int(f): os.readlink(os.path.join(fd_dir, f)) for f in os.listdir(fd_dir)}
        assert fds[0] == fds[1] == "/dev/null", fds
        assert fds[2] == g.log_path, fds
        assert re.match(r"socket:\[\d+\]$", fds[3]), fds
        own = re.compile(r"^(/dev/kvm|anon_inode:kvm-vm|anon_inode:kvm-vcpu:0|/memfd:vmgate-ram \(deleted\)|"
                         r"/memfd:vmgate-framebuffer \(deleted\)|"
                         r"anon_inode:\[eventfd\]|anon_inode:\[signalfd\])$")
        rest = {fd: t for fd, t in fds.items() if fd > 3}
        assert all(own.match(t) for t in rest.values()), fds
        assert g.policy_path not in fds.values(), fds

        # web1's monitor opens the gateway's host key from a thread of its
        # own (the test hook, as an escaped guest would): the kernel kills
        # it, the gateway reports it and restarts it; web2 goes on.
        other = g.attach("alice", "web2")
        other.expect(PROMPT)
        g.wait_log(re.escape("vm web1: " + SANDBOX_KILL + "; restarting in"), 120)
        log = g.log()
        assert "test hook: opening " in log
        assert "NOT sandboxed" not in log, log
        assert "web2: monitor killed" not in log, log
        assert any(a.get("vm") == "web1" and a.get("detail") == SANDBOX_KILL for a in g.audit()), g.audit()
        # `status` tells why while the restart waits (1 s, 2 s, 4 s...).
        for _ in range(60):
            st, out, _ = g.ssh("alice", "status", "web1")
            if SANDBOX_KILL in out:
                break
            time.sleep(0.5)
        assert st == 0 and "web1: restarting" in out and SANDBOX_KILL in out, out
        other.send(b"echo web2-unaffected\r")
        other.expect(b"web2-unaffected\r\n")
        st, out, _ = g.ssh("alice", "list")
        assert st == 0 and re.search(r"^web2\s+running", out, re.M), out
        other.close()
        assert g.proc.poll() is None
    finally:
        g.cleanup()
