"""`power VM stop` on a VM whose monitor keeps dying (issue 9: the power
result is typed, not a display string the session compares).

A stop while the VM waits to restart is carried out at once, with no monitor
to ask: the user sees `web1 is stopped`, as after a stop the monitor
answered, and a second stop is refused with the same words on stderr. Runs on
any host: the "monitor" is a script (--vmm) that exits at once, so the VM
is always between restarts, with or without KVM.
"""
import os
import re
import stat
import subprocess
import time

from gwharness import VMGATED, Gateway, SLOW


def test_stop_while_restarting_is_done_at_once():
    g = Gateway(vms=("web1",), start=False)
    dying = os.path.join(g.dir, "dying-vmm")
    with open(dying, "w") as f:
        f.write("#!/bin/sh\nexit 1\n")
    os.chmod(dying, stat.S_IRWXU)
    g.logf = open(g.log_path, "ab")
    g.proc = subprocess.Popen([VMGATED, "--config", g.config, "--vmm", dying],
                              stdin=subprocess.DEVNULL, stdout=g.logf, stderr=g.logf)
    try:
        g.wait_log(r"ssh listening on", 60)
        end = time.time() + 60 * SLOW
        while True:
            st, out, err = g.ssh("alice", "status", "web1")
            if re.match(r"web1: restarting", out):
                break
            assert time.time() < end, (st, out, err, g.log())
            time.sleep(0.2)

        assert re.match(r"web1: restarting \(monitor exited with status 1 \(.*\); next start in \d+ s\)",
                        out), out
        st, out, err = g.ssh("alice", "power", "web1", "stop")
        assert (st, out, err) == (0, "web1 is stopped\n", ""), (st, out, err)
        st, out, err = g.ssh("alice", "status", "web1")
        assert out.startswith("web1: stopped"), (st, out, err)
        assert "next start" not in out, out  # stopped: no start is coming
        # stopped for good: no restart timer left behind
        time.sleep(5)
        st, out, err = g.ssh("alice", "status", "web1")
        assert out.startswith("web1: stopped"), (st, out, err)

        st, out, err = g.ssh("alice", "power", "web1", "stop")
        assert (st, out, err.strip()) == (1, "", "vmgate: web1 is stopped"), (st, out, err)
        st, out, err = g.ssh("alice", "power", "web1", "reset")
        assert (st, out, err.strip()) == (1, "", "vmgate: web1 is stopped"), (st, out, err)

        stops = [l for l in g.audit() if l["event"] == "power" and l.get("action") == "stop"]
        assert len(stops) == 2 and all(l["user"] == "alice" and l["vm"] == "web1"
                                       for l in stops), stops
    finally:
        g.cleanup()
