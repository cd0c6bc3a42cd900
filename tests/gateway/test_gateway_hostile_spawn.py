"""What vmgated hands a monitor it starts (issue 8 #14).

A monitor faces a possibly hostile guest and runs with the gateway's uid, so
it must get no descriptor it does not need: /dev/null on 0 and 1, the
gateway's log on 2, its control channel on 3, nothing else. Not the
gateway's own files, nor whatever was left open by whoever started the
gateway. Runs on this host without KVM: the "monitor" here is a script
(--vmm) that records the descriptors it was given.
"""
import fcntl
import os
import re
import stat
import subprocess
import tempfile
import time

from gwharness import VMGATED, Gateway

# Stands in for vmgate-vmm: becomes a process that holds exactly the
# descriptors it was given (the shell's own script fd is close-on-exec).
PROBE = "#!/bin/sh\nexec sleep 600\n"


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(d))
    return kids


def asleep(pid):
    """The probe has reached its sleep: until then, sleep's own start-up
    (the dynamic loader, setlocale) holds files open for a moment on the
    lowest free descriptor, 4 here (a full run once saw that fd 4)."""
    try:
        with open("/proc/%d/syscall" % pid) as f:
            nr = f.read().split()[0]
    except (OSError, IndexError):
        return False
    return nr in ("35", "230")   # nanosleep, clock_nanosleep (x86-64)


def fd_targets(pid):
    d = "/proc/%d/fd" % pid
    return {int(fd): os.readlink(os.path.join(d, fd)) for fd in os.listdir(d)}


def test_monitor_gets_only_stdio_and_its_channel():
    g = Gateway(vms=("web1", "web2"), start=False)
    probe = os.path.join(g.dir, "probe-vmm")
    with open(probe, "w") as f:
        f.write(PROBE)
    os.chmod(probe, stat.S_IRWXU)
    # The gateway is started the way a careless parent would: with an open,
    # inheritable descriptor on a secret of its own (the policy file).
    # (fd 50: fds 3 and up are the gateway's own after it starts).
    fd = os.open(g.policy_path, os.O_RDONLY)
    secret_fd = fcntl.fcntl(fd, fcntl.F_DUPFD, 50)
    os.close(fd)
    logf = open(g.log_path, "ab")
    proc = subprocess.Popen([VMGATED, "--config", g.config, "--vmm", probe],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                            pass_fds=(secret_fd,))
    try:
        end = time.time() + 60
        kids = []
        while time.time() < end:
            kids = [k for k in children(proc.pid)
                    if os.readlink("/proc/%d/exe" % k).endswith("/sleep")
                    and asleep(k)]
            if len(kids) == 2:
                break
            time.sleep(0.1)
        assert len(kids) == 2, open(g.log_path).read()
        for k in kids:
            fds = fd_targets(k)
            assert fds.get(0) == "/dev/null" and fds.get(1) == "/dev/null", fds
            assert fds.get(2) == g.log_path, fds
            assert re.match(r"socket:\[\d+\]$", fds.get(3, "")), fds
            assert set(fds) == {0, 1, 2, 3}, fds
    finally:
        proc.terminate()
        proc.wait(30)
        logf.close()
        os.close(secret_fd)
        g.cleanup()
