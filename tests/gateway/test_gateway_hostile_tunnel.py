"""VNC tunnels are direct-tcpip channels to VM:5900 only, under the policy
(issue 11). Everything else a client may ask for is refused, audited and
logged: another port, another host, a VM the user may not see, a user
without display rights, a VM that is not running. Runs on the host: no KVM
needed (the VMs fail to start; the refusals come before the display)."""
import subprocess

import pytest

from gwharness import Gateway

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


def stdio_forward(gw, user, target):
    """ssh -W TARGET: one direct-tcpip channel, its stream on stdin/stdout."""
    args = [("LogLevel=INFO" if a == "LogLevel=ERROR" else a)
            for a in gw.ssh_args(user, extra=("-W", target))]
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


@pytest.mark.parametrize("user,target,why", [
    ("alice", "web1:22", "direct-tcpip to web1:22: only a VM's display (web1:5900) may be forwarded"),
    ("alice", "127.0.0.1:5900", "direct-tcpip to 127.0.0.1:5900: only a VM's display (VM:5900) may "
     "be forwarded, and there is no such VM"),
    ("alice", "db1:5900", "and there is no such VM"),   # not hers to see
    ("alice", "nosuch:5900", "and there is no such VM"),
    ("carol", "web1:5900", "carol may not view web1's display"),
    ("alice", "web1:5900", "web1 is not running"),      # no KVM here: never up
])
def test_refused_with_the_reason_logged(gw, user, target, why):
    before = gw.log().count("channel refused")
    st, out, err = stdio_forward(gw, user, target)
    assert st == 255 and out == b"", (st, out, err)
    assert "open failed: administratively prohibited" in err, err
    gw.wait_log("channel refused", count=before + 1)
    assert why in gw.log().split("channel refused")[-1], gw.log()[-2000:]


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
