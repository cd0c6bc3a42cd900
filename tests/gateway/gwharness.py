"""Drive a real vmgated (and its real vmgate-vmm monitors) with real clients.

Each Gateway gets its own temporary folder (config, policy, state, user
keys) and its own port, so tests can run side by side. Everything runs where
/dev/kvm works (tests/CMakeLists.txt wraps pytest in tools/kvmbox); nested
KVM under TCG is slow, so timeouts are generous and tests assert on content.
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BUILD = os.environ.get("VMGATE_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
VMGATED = os.path.join(BUILD, "gateway", "vmgated")
VMM = os.path.join(BUILD, "vmm-core", "vmgate-vmm")
SLOW = float(os.environ.get("VMGATE_TIMEOUT_SCALE", "1"))
PROMPT = b"demo$ "


class Stalled(AssertionError):
    """expect() saw no new output for its stall time."""


def stop_process(proc, grace=30):
    """SIGTERM, then SIGKILL if proc is still there after grace seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def have_kvm():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR)
        os.close(fd)
        return True
    except OSError:
        return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path, kind="ed25519"):
    args = ["ssh-keygen", "-q", "-N", "", "-f", path, "-t", kind]
    if kind == "rsa":
        args += ["-b", "3072"]
    subprocess.run(args, check=True)
    with open(path + ".pub") as f:
        return f.read().strip()


DEFAULT_POLICY = """\
users:
{users}
groups:
  ops: [alice]
rules:
  - allow: [console:write, power]
    to: [group:ops]
    vms: ["web*"]
  - allow: [console:read]
    to: [user:bob]
    vms: [web1]
  - allow: [console:write]
    to: [user:carol]
    vms: ["*"]
  - deny: [power]
    to: [user:alice]
    vms: [web2]
"""


def rss_kib(pid):
    """VmRSS of /proc/PID/status, KiB."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1))


def paramiko_client(gw, user):
    """A paramiko connection to gw logged in as user with its key."""
    import paramiko
    cl = paramiko.SSHClient()
    cl.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    cl.connect("127.0.0.1", port=gw.port, username=user,
               key_filename=gw.keys[user], look_for_keys=False, allow_agent=False,
               timeout=120 * SLOW, banner_timeout=120 * SLOW, auth_timeout=120 * SLOW)
    return cl


# The gateways of the running test, with the end of the log of each one
# already cleaned up, for the report of a test that fails (conftest.py).
LIVE = []
ENDED_LOGS = []


class Gateway:
    """A vmgated with VMs web1, web2 (and more if asked) and users alice,
    bob, carol, dave (dave has a key but no rights)."""

    def __init__(self, vms=("web1", "web2"), users=("alice", "bob", "carol", "dave"),
                 policy=None, vm_extra="", config_extra="", start=True, vnc=False):
        self.dir = tempfile.mkdtemp(prefix="vmgated-")
        self.port = free_port()
        self.vnc_port = free_port() if vnc else None
        self.keys = {}
        self.pub = {}
        for u in users:
            k = os.path.join(self.dir, "id_" + u)
            self.pub[u] = keygen(k)
            self.keys[u] = k
        self.stranger_key = os.path.join(self.dir, "id_stranger")
        keygen(self.stranger_key)
        self.known_hosts = os.path.join(self.dir, "known_hosts")
        self.policy_path = os.path.join(self.dir, "policy.yaml")
        self.write_policy(policy)
        # Each VM has the default display (1024x768), as users get it.
        vm_yaml = "".join(
            f"  {v}:\n    kernel: demo\n    memory: 32M\n    autostart: true\n"
            f"    on_crash: restart\n{vm_extra}" for v in vms)
        self.config = os.path.join(self.dir, "vmgate.yaml")
        with open(self.config, "w") as f:
            vnc_listen = f'  vnc: "127.0.0.1:{self.vnc_port}"\n' if vnc else ""
            f.write(f'listen:\n  ssh: "127.0.0.1:{self.port}"\n{vnc_listen}'
                    f"state_dir: state\npolicy: policy.yaml\nvms:\n{vm_yaml}"
                    f"{config_extra}")
        self.state = os.path.join(self.dir, "state")
        self.log_path = os.path.join(self.dir, "vmgated.log")
        self.proc = None
        if start:
            self.start()

    def users_yaml(self, users=None):
        users = users if users is not None else list(self.pub)
        return "\n".join(f'  {u}:\n    keys: ["{self.pub[u]}"]' for u in users)

    def write_policy(self, text=None, users=None):
        text = text if text is not None else DEFAULT_POLICY
        with open(self.policy_path + ".tmp", "w") as f:
            f.write(text.replace("{users}", self.users_yaml(users)))
        os.replace(self.policy_path + ".tmp", self.policy_path)

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([VMGATED, "--config", self.config, "--vmm", VMM],
                                     stdout=self.logf, stderr=self.logf)
        LIVE.append(self)
        self.wait_log(r"vmgated ready", 60)

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_log(self, pattern, timeout=60, count=1):
        end = time.time() + timeout * SLOW
        while time.time() < end:
            if len(re.findall(pattern, self.log())) >= count:
                return
            if self.proc and self.proc.poll() is not None:
                raise AssertionError(f"vmgated exited {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in the log after {timeout}s:\n{self.log()}")

    def ssh_args(self, user, key=None, tty=False, extra=()):
        args = ["ssh", "-p", str(self.port), "-i", key or self.keys[user],
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                "-o", "IdentityAgent=none", "-o", "StrictHostKeyChecking=no",
                "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=60"]
        args += ["-tt"] if tty else ["-T"]
        args += list(extra)
        args.append(f"{user}@127.0.0.1")
        return args

    def ssh(self, user, *cmd, key=None, timeout=60, extra=()):
        """Runs a command; returns (status, stdout, stderr) as text."""
        p = subprocess.run(self.ssh_args(user, key, extra=extra) + list(cmd),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout * SLOW)
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def attach(self, user, vm, key=None):
        return PtyClient(self.ssh_args(user, key, tty=True) + [vm])

    def audit(self):
        with open(os.path.join(self.state, "audit.log")) as f:
            return [json.loads(line) for line in f]

    def vmm_pid(self, vm):
        st, out, _ = self.ssh("alice", "status", vm)
        m = re.search(r"monitor pid (\d+)", out)
        assert m, out
        return int(m.group(1))

    def wait_prompt(self, vm, user="alice", timeout=120):
        """Waits until the VM's console shows the demo prompt."""
        c = self.attach(user, vm)
        try:
            c.expect(PROMPT, timeout)
        finally:
            c.close()

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def stop(self):
        if self.proc and self.proc.poll() is not None:
            # vmgated ended before we stopped it: whatever it said last
            # (an ASan report, say) belongs in the test output.
            print("vmgated exited by itself with status %s; its log ends:\n%s"
                  % (self.proc.returncode, self.log()[-6000:]))
        if self.proc and self.proc.poll() is None:
            stop_process(self.proc)
        if self.proc:
            self.logf.close()

    def cleanup(self):
        self.stop()
        if self in LIVE:
            LIVE.remove(self)
            ENDED_LOGS.append(self.log()[-4000:])
        shutil.rmtree(self.dir, ignore_errors=True)


class PtyClient:
    """The OpenSSH client under a pseudo-terminal, as a person would run it."""

    def __init__(self, args):
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave,
                                     start_new_session=True)
        os.close(slave)
        self.buf = bytearray()
        self.pos = 0
        self.lock = threading.Condition()
        self.eof = False
        self.t = threading.Thread(target=self._pump, daemon=True)
        self.t.start()

    def _pump(self):
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            with self.lock:
                if not data:
                    self.eof = True
                    self.lock.notify_all()
                    return
                self.buf += data
                self.lock.notify_all()

    def expect(self, pattern, timeout=60, stall=None):
        """Waits for bytes (or a compiled regex) after the last match. With
        stall (seconds), gives up early, raising Stalled, once nothing new
        has arrived for that long."""
        end = time.time() + timeout * SLOW
        with self.lock:
            seen, seen_at = len(self.buf), time.time()
            while True:
                hay = bytes(self.buf[self.pos:])
                if isinstance(pattern, bytes):
                    i = hay.find(pattern)
                    if i >= 0:
                        self.pos += i + len(pattern)
                        return hay[:i + len(pattern)]
                else:
                    m = pattern.search(hay)
                    if m:
                        self.pos += m.end()
                        return m
                now = time.time()
                if len(self.buf) != seen:
                    seen, seen_at = len(self.buf), now
                stalled = stall is not None and now - seen_at >= stall * SLOW
                left = end - now
                if left <= 0 or self.eof or stalled:
                    raise (Stalled if stalled else AssertionError)(
                        f"waited for {pattern!r}"
                        + (f" (nothing new for {stall * SLOW:g} s)" if stalled else "")
                        + f"; got: {bytes(self.buf[-3000:])!r}"
                        + (" (EOF)" if self.eof else ""))
                self.lock.wait(min(left, 1))

    def send(self, data):
        os.write(self.master, data)

    def wait(self, timeout=60):
        return self.proc.wait(timeout * SLOW)

    def output(self):
        with self.lock:
            return bytes(self.buf)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        # The reader must be gone before its fd number is: the next
        # PtyClient's pty gets the same number, and a reader still looping
        # took its output (an attach then saw nothing for 60 s, under load).
        # With ssh dead no one holds the slave, so the reader sees EIO.
        self.t.join(30)
        assert not self.t.is_alive(), "the pty reader did not end"
        try:
            os.close(self.master)
        except OSError:
            pass
