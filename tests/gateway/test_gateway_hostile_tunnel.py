"""VNC tunnels are direct-tcpip channels to VM:5900 only, under the policy
(issue 11). Everything else a client may ask for is refused, audited and
logged: another port, another host, a VM the user may not see, a user
without display rights, a VM that is not running. Runs on the host: no KVM
needed (the VMs fail to start: tools/no-kvm hides /dev/kvm, on every host;
the refusals come before the display)."""
import os
import socket
import subprocess
import tempfile
import time

import pytest

from gwharness import VMGATED, Gateway, free_port

POLICY = """\
users:
{users}
rules:
  - allow: [console:write, display:control]
    to: [user:alice]
    vms: ["web*"]
  - allow: [console:write]
    to: [user:carol]
    vms: ["*"]
"""


@pytest.fixture(scope="module")
def gw():
    g = Gateway(vms=("web1", "db1"), policy=POLICY)
    yield g
    g.cleanup()


def stdio_forward(gw, user, target, send=b""):
    """ssh -W TARGET: one direct-tcpip channel, its stream on stdin/stdout;
    SEND is written to it, then EOF."""
    args = [("LogLevel=INFO" if a == "LogLevel=ERROR" else a)
            for a in gw.ssh_args(user, extra=("-W", target))]
    p = subprocess.run(args, input=send, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def rfb_refusal(out, version):
    """The reason in a server's failed RFB security handshake: after its
    version, 3.8 and 3.7 send no security types (one byte, 0), 3.3 a
    32-bit type 0; then the reason, 32-bit length first, and nothing else."""
    assert out.startswith(b"RFB 003.008\n"), out
    head = 1 if version in (b"RFB 003.008\n", b"RFB 003.007\n") else 4
    assert out[12:12 + head] == bytes(head), out
    n = int.from_bytes(out[12 + head:16 + head], "big")
    assert len(out) == 16 + head + n, out
    return out[16 + head:].decode()


@pytest.mark.parametrize("user,target,why", [
    ("alice", "web1:22", "direct-tcpip to web1:22: only a VM's display (web1:5900) may be forwarded"),
    ("alice", "127.0.0.1:5900", "direct-tcpip to 127.0.0.1:5900: only a VM's display (VM:5900) may "
     "be forwarded, and there is no such VM"),
    ("alice", "db1:5900", "and there is no such VM"),   # not hers to see
    ("alice", "nosuch:5900", "and there is no such VM"),
    ("carol", "web1:5900", "carol may not view web1's display"),
    ("alice", "web1:5900", "web1 is not running"),      # never up (no-kvm)
])
def test_refused_with_the_reason_logged(gw, user, target, why):
    if not target.endswith(":5900"):
        # Not a display: the channel is refused (libssh 0.10 sends no text).
        before = gw.log().count("channel refused")
        st, out, err = stdio_forward(gw, user, target)
        assert st == 255 and out == b"", (st, out, err)
        assert "open failed: administratively prohibited" in err, err
        gw.wait_log("channel refused", count=before + 1)
        assert why in gw.log().split("channel refused")[-1], gw.log()[-2000:]
        return
    # A VM's display: the viewer is told why, in RFB, whatever its version.
    for version in (b"RFB 003.008\n", b"RFB 003.003\n"):
        before = gw.log().count("VNC tunnel refused")
        st, out, err = stdio_forward(gw, user, target, send=version)
        assert why in rfb_refusal(out, version), (out, err)
        gw.wait_log("VNC tunnel refused", count=before + 1)
        assert why in gw.log().split("VNC tunnel refused")[-1], gw.log()[-2000:]
    # A viewer that says nothing and hangs up is let go.
    st, out, err = stdio_forward(gw, user, target)
    assert out == b"RFB 003.008\n", (out, err)


def test_policy_decisions_are_audited(gw):
    stdio_forward(gw, "carol", "web1:5900")
    stdio_forward(gw, "alice", "web1:5900")
    d = [e for e in gw.audit() if e["event"] == "decision" and e["action"] == "vnc-tunnel"]
    carol = [e for e in d if e["user"] == "carol"]
    alice = [e for e in d if e["user"] == "alice"]
    assert carol and not carol[-1]["allowed"] and carol[-1]["right"] == "display:view", carol
    assert alice and alice[-1]["allowed"] and alice[-1]["vm"] == "web1", alice
    # Nothing was handed to a VM.
    assert not [e for e in gw.audit() if e["event"] == "display_start"]


PROBE = os.path.join(os.path.dirname(os.path.dirname(VMGATED)), "tests", "vnc", "vncprobe")


def test_real_viewers_print_why_through_ssh_L(gw):
    """`ssh -L` as a user runs it; vncsnapshot (RFB 3.3) and libvncclient's
    vncprobe (3.8) print the gateway's reason."""
    port = free_port()
    ssh = subprocess.Popen(gw.ssh_args("carol", extra=("-N", "-o", "ExitOnForwardFailure=yes",
                                                      "-L", f"127.0.0.1:{port}:web1:5900")),
                           stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert ssh.poll() is None, ssh.stderr.read()
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    break
            assert time.monotonic() < deadline, "the forward never listened"
            time.sleep(0.1)
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run(["vncsnapshot", f"127.0.0.1:{port - 5900}", os.path.join(d, "x.jpg")],
                               capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "carol may not view web1's display" in r.stdout + r.stderr, r
        r = subprocess.run([PROBE, f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "carol may not view web1's display" in r.stdout + r.stderr, r
    finally:
        ssh.terminate()
        ssh.wait(30)
