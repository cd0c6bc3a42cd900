"""The README's run command starts `vmgated --demo DIR`: the ssh commands it
prints must work exactly as printed, with the real OpenSSH client."""
import os
import re
import shlex
import signal
import socket
import subprocess
import tempfile
import time
import shutil
import sys

import pytest

from gwharness import BUILD, PROMPT, SLOW, VMGATED, VMM, PtyClient, free_port, have_kvm

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from test_display import screen_text  # noqa: E402  the glyph matcher

PROBE = os.path.join(BUILD, "tests", "vnc", "vncprobe")

pytestmark = pytest.mark.skipif(not have_kvm(), reason="needs /dev/kvm (run under tools/kvmbox)")

DEMO_PORT = 2222


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


class Demo:
    def __init__(self, folder):
        self.dir = folder
        self.out_path = os.path.join(folder + ".out")
        self.log_path = os.path.join(folder + ".log")
        with open(self.out_path, "wb") as out, open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([VMGATED, "--demo", folder, "--vmm", VMM],
                                         stdout=out, stderr=log)
        end = time.time() + 60 * SLOW
        while b"Ctrl-C here stops" not in self.output():
            if self.proc.poll() is not None or time.time() > end:
                raise AssertionError("no ssh commands printed; stdout:\n%s\nlog:\n%s"
                                     % (self.output().decode(), self.log()))
            time.sleep(0.1)

    def output(self):
        with open(self.out_path, "rb") as f:
            return f.read()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def commands(self):
        """The printed ssh commands, as argument lists, comments dropped."""
        cmds = []
        for line in self.output().decode().splitlines():
            line = line.strip()
            if line.startswith("ssh "):
                cmds.append(shlex.split(line.split("#")[0]))
        return cmds

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            return self.proc.wait(30)
        return self.proc.returncode


@pytest.fixture
def folder():
    parent = tempfile.mkdtemp(prefix="vmgate-demo-")
    folder = os.path.join(parent, "demo")
    if not port_free(DEMO_PORT):
        # Not this machine's default port: the demo keeps a config it finds.
        os.makedirs(folder, mode=0o700)
        with open(os.path.join(folder, "vmgate.yaml"), "w") as f:
            f.write(f'listen:\n  ssh: "127.0.0.1:{free_port()}"\nstate_dir: state\n'
                    "policy: policy.yaml\nvms:\n  demo1: {kernel: demo}\n  demo2: {kernel: demo}\n")
    yield folder
    shutil.rmtree(parent, ignore_errors=True)


def run(cmd):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=120 * SLOW)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def run_to_file(cmd, folder):
    """A printed `ssh ... > FILE`: run in FOLDER, stdout to FILE there."""
    assert cmd[-2] == ">", cmd
    path = os.path.join(folder, cmd[-1])
    with open(path, "wb") as out:
        p = subprocess.run(cmd[:-2], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                           timeout=120 * SLOW)
    return p.returncode, path, p.stderr.decode(errors="replace")


def sees_then_leaves(attach, what):
    """The printed console command (under a pty) shows WHAT; Ctrl-] . leaves."""
    c = PtyClient(attach)
    try:
        c.expect(what)
        c.send(b"\x1d.")
        assert c.wait() == 0
    finally:
        c.close()


def check_tunnel(cmd, folder):
    """The printed `ssh -N -L 5901:demo1:5900 ...`, then a VNC viewer
    (libvncclient's) on its local port types into demo1's shell. 5901 is
    swapped for a free port only if something here holds it already."""
    assert cmd[1:4] == ["-N", "-L", "5901:demo1:5900"], cmd
    port = 5901 if port_free(5901) else free_port()
    cmd = cmd[:3] + ["%d:demo1:5900" % port] + cmd[4:] + ["-o", "ExitOnForwardFailure=yes"]
    ssh = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.time() + 60 * SLOW
        while port_free(port):
            assert ssh.poll() is None, ssh.stderr.read()
            assert time.time() < end, "the tunnel's port never opened"
            time.sleep(0.1)
        shot = os.path.join(folder, "tunnel.ppm")
        r = subprocess.run([PROBE, "127.0.0.1:%d" % port, "--out", shot, "--type", "echo seen on vnc\n",
                            "--watch", "500"], capture_output=True, text=True, timeout=120 * SLOW)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "size 1024 768" in r.stdout, r.stdout
        assert any("demo$" in line for line in screen_text(shot))
    finally:
        ssh.terminate()
        ssh.wait(30)


def test_printed_commands_work_as_printed(folder):
    demo = Demo(folder)
    try:
        cmds = demo.commands()
        assert len(cmds) == 7, demo.output()
        listing, attach1, attach2, status, reset, shot, tunnel = cmds
        assert listing[-1].startswith("demo@"), listing
        assert attach1[1] == "-t" and attach1[-1] == "demo1", attach1
        assert attach2[1] == "-t" and attach2[-1] == "demo2", attach2

        # Both VMs come up; the listing shows them with their rights.
        end = time.time() + 120 * SLOW
        while True:
            st, out, err = run(listing)
            assert st == 0, (out, err, demo.log())
            if len(re.findall(r"^demo[12]\s+running", out, re.M)) == 2:
                break
            assert time.time() < end, out
            time.sleep(1)
        assert re.search(r"^demo1\s+running\s+console:read,console:write,display:view,display:control,power$",
                         out, re.M), out
        assert re.search(r"^demo2\s+running\s+console:read,display:view$", out, re.M), out
        assert "Host key verification failed" not in err and "Warning" not in err, err

        # demo1: a console to type into, as a person would (under a pty).
        c = PtyClient(attach1)
        try:
            c.expect(b"[vmgate: attached to demo1")
            c.send(b"\r")
            c.expect(PROMPT, 120)
            c.send(b"echo typed through the demo\r")
            c.expect(b"typed through the demo\r\n")
            c.send(b"\x1d.")
            c.expect(b"[vmgate: detached from demo1]")
            assert c.wait() == 0
        finally:
            c.close()

        # demo2: watch only.
        sees_then_leaves(attach2, b"read-only: you may watch demo2")

        st, out, err = run(status)
        assert st == 0 and out.startswith("demo1: running"), (out, err)

        # demo2's screen as a PNG; demo1's display through the tunnel, typed
        # into: its shell prints it on the serial console too.
        st, png, err = run_to_file(shot, folder)
        assert st == 0, err
        assert any("demo$" in line for line in screen_text(png)), png
        check_tunnel(tunnel, folder)
        sees_then_leaves(attach1, b"seen on vnc\r\n")

        st, out, err = run(reset)
        assert st == 0, (out, err)

        # The demo's files: the user's key is private, the policy names it.
        assert os.stat(os.path.join(folder, "demo_key")).st_mode & 0o077 == 0
        with open(os.path.join(folder, "demo_key.pub")) as f:
            pub = f.read().split()[1]
        with open(os.path.join(folder, "policy.yaml")) as f:
            assert pub in f.read()
        with open(os.path.join(folder, "known_hosts")) as f:
            known = f.read()
    finally:
        assert demo.stop() == 0, demo.log()

    # A second start keeps every file: same keys, same host keys, same
    # commands, and they still work.
    demo = Demo(folder)
    try:
        assert demo.commands() == cmds
        with open(os.path.join(folder, "known_hosts")) as f:
            assert f.read() == known
        st, out, err = run(listing)
        assert st == 0 and "demo1" in out, (out, err)
    finally:
        assert demo.stop() == 0, demo.log()


def test_demo_folder_problems_are_reported(folder):
    os.makedirs(folder, mode=0o700, exist_ok=True)
    with open(os.path.join(folder, "policy.yaml"), "w") as f:
        f.write("users:\n  demo: {keys: [\"not a key\"]}\n")
    p = subprocess.run([VMGATED, "--demo", folder, "--vmm", VMM], capture_output=True, timeout=60)
    assert p.returncode == 1
    assert re.search(r"policy\.yaml:2:\d+: error: .*key", p.stderr.decode()), p.stderr
