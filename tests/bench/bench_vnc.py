#!/usr/bin/python3
"""VNC benchmark (issue 11): a VM's display through the gateway's SSH tunnel
(`ssh -L PORT:VM:5900`, tests/gateway/test_gateway_vnc.py) against a direct
connection to the monitor, side by side in one run; then many viewers: the
gateway's CPU and memory per viewer.

The client is tests/vnc/vncprobe (libvncclient) with --stamp, as in
bench_display.py (whose Monitor, Probe and helpers this reuses): it prints
every update it applies with a CLOCK_MONOTONIC time, its bytes on the wire
and whether it changed a pixel of the text area (below the 16-line status
bar, whose clock ticks once a second).  The tunnels are real OpenSSH
clients (`ssh -N -L 127.0.0.1:PORT:VM:5900`), one process and one
connection per viewer; the gateway is vmgated with its own monitors.

The gateway's monitors are started through a small wrapper (the gateway's
--vmm) that adds `--vnc 127.0.0.1:PORT` (and, for some VMs, `--vnc-damage
full`) to the arguments the gateway gives: the same vmgate-vmm binary, the
same demo guest, serving the tunnel's viewer (handed over the control
channel) and a direct TCP viewer at once.

Part 1, latency and throughput:
  * the standalone monitor (`vmgate-vmm --vnc`, bench_display.py's method):
    two direct viewers; a character typed on the monitor's stdin (x and
    Backspace in turn, 50-150 ms apart); latency from the serial echo (read
    from the monitor's stdout) and from the key to the first viewer's
    update that changed the text area, p50/p99 (nearest rank); and the
    second viewer's update minus the first's: the floor of the paired
    method (two viewers of one monitor, nothing in between);
  * the gateway's VM "lat" (damage log): a direct viewer and a viewer
    through the tunnel at once, the character typed into the VM's console
    through a gateway console session (ssh -tt); per change the tunnel
    viewer's update time minus the direct viewer's: what the gateway adds
    (the SSH channel, the socketpair, the OpenSSH client), p50/p99;
  * the gateway's VM "tput" (`--vnc-damage full`: every 16 ms frame is the
    whole screen, the screen filled with text first): one viewer at a time,
    direct and through the tunnel in turn, --rounds windows of --window s
    each, with the client's default encodings (Tight) and with Raw:
    whole-screen updates per second and bytes per second, and vmgated's CPU
    while its tunnel carried the stream; and a third path, the peer: the
    same OpenSSH client forwarding to the same monitor's --vnc port through
    OpenSSH's sshd on loopback (`ssh -N -L PORT:127.0.0.1:VNCPORT`), with
    the cipher and MAC the client agreed with vmgated: what any SSH tunnel
    costs on this machine, so the tunnel's loss splits into SSH's (the
    cipher; under kvmbox emulated) and the gateway's own.  And the gateway's
    other two paths to the same VM, on its `listen: vnc:` port: VeNCrypt
    (vncprobe logs in with X509Plain, TLS then the policy user's password)
    and a one-time ticket (classic VNC authentication, a fresh ticket from
    `ssh ... vnc-ticket tput` for each window).
Part 2, many viewers (every VM `--vnc-damage full`, its screen half filled
with text: the screens change all the time, each viewer gets whole screens
as fast as it takes them):
  * 1 viewer on each of --vms VMs, then --viewers viewers on one VM, each
    through its own `ssh -N -L` process and connection, then as many on one
    VM through ONE ssh connection with that many -L forwards: vmgated's CPU
    (utime+stime, /proc/PID/stat) over a --window s window while the
    screens stream, per viewer, per update and per MiB relayed, its read()
    calls per update (/proc/PID/io), and its memory (Private_Dirty of
    /proc/PID/smaps_rollup) before the tunnels (settled) and with them
    (after the window): per viewer.  --viewers defaults to the issue's 50
    (or the monitor's cap, VNC_MAX_CLIENTS in vmm-core/vnc.h, if that is
    lower); at the cap, one more viewer is then tried and must be refused.
    A viewer closed before its first frame is counted, not
    measured, and the monitors' VNC errors (in vmgated's log) are shown.
Transparent huge pages are turned off for the benchmark's processes
(PR_SET_THP_DISABLE, inherited): kvmbox's kernel has them "always", where
one 2 MiB page in vmgated's heap would swamp a per-viewer figure.

It is a benchmark: it prints figures beside the issue's targets and never
fails on a timing; it exits 1 if a part could not be measured.
"""
import argparse
import os
import random
import re
import resource
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import bench_display as bd  # noqa: E402
import bench_gateway as bg  # noqa: E402
import gwharness  # noqa: E402

USER = "bench"
PASSWORD = "bench-pw"  # VeNCrypt's login; crypt(3) in the policy
PROMPT = b"demo$ "
W, H = bd.W, bd.H
TARGET_ADDED_P50_MS = 1.0
TARGET_THROUGHPUT_LOSS = 10.0  # %
# The throughput part's paths: the monitor's own --vnc port, the gateway's
# three, and the peer.
PATHS = (("direct", "direct (the monitor's --vnc port)"),
         ("tunnel", "vmgated: ssh tunnel"),
         ("openssh", "peer: OpenSSH sshd tunnel"),
         ("vencrypt", "vmgated: VeNCrypt (TLS, password)"),
         ("ticket", "vmgated: one-time ticket (no TLS)"))

POLICY = """\
users:
{users}
rules:
  - allow: [console:write, power, display:control]
    to: [user:%s]
    vms: ["*"]
""" % USER


class Failed(Exception):
    pass


def step(what):
    print("bench_vnc: %s" % what, file=sys.stderr, flush=True)


def vnc_max_clients():
    """VNC_MAX_CLIENTS from vmm-core/vnc.h (the monitor's cap on viewers)."""
    with open(os.path.join(HERE, "..", "..", "vmm-core", "vnc.h")) as f:
        return int(re.search(r"^#define VNC_MAX_CLIENTS (\d+)", f.read(), re.M).group(1))


def cpu_ms(pids):
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total * 1000.0 / tick


def syscalls(pid):
    """(read, write) system calls of PID so far (/proc/PID/io)."""
    with open("/proc/%d/io" % pid) as f:
        io = dict(line.split(": ") for line in f.read().splitlines())
    return int(io["syscr"]), int(io["syscw"])


def box_busy():
    """(busy, total) jiffies of every CPU, /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return sum(v) - v[3] - v[4], sum(v)


def dirty_kib(pid):
    """Private_Dirty and Rss of smaps_rollup, KiB."""
    m = {}
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2 and p[0] in ("Private_Dirty:", "Rss:", "AnonHugePages:"):
                m[p[0][:-1]] = int(p[1])
    return m


def settled_dirty(pid, timeout=30):
    """Private_Dirty once two readings 2 s apart agree (or after timeout)."""
    last = dirty_kib(pid)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        time.sleep(2)
        cur = dirty_kib(pid)
        if cur["Private_Dirty"] == last["Private_Dirty"]:
            return cur
        last = cur
    return last


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        if int(st.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d))
    return out


# -- the gateway --------------------------------------------------------------

class Gw:
    """vmgated (gwharness) with VMs NAMES; the monitors through a wrapper
    that adds EXTRA[name] (a list of arguments) to what the gateway passes."""

    def __init__(self, a, names, extra):
        self.g = gwharness.Gateway(users=(USER,), policy=POLICY, start=False, vnc=True)
        self.dir = self.g.dir
        ctl = os.path.join(os.path.dirname(gwharness.VMGATED), "vmgatectl")
        h = subprocess.run([ctl, "passwd"], input=PASSWORD + "\n", capture_output=True, text=True,
                           timeout=120)
        if h.returncode != 0:
            raise Failed("vmgatectl passwd: %s" % h.stderr)
        self.g.write_policy(POLICY.replace("{users}", '  %s:\n    keys: ["%s"]\n    password: "%s"'
                                           % (USER, self.g.pub[USER], h.stdout.strip())))
        self.ca = os.path.join(self.g.state, "certs", "ca.pem")
        wrapper = os.path.join(self.dir, "vmm-wrapper")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n# The gateway's --vmm: vmgate-vmm with bench_vnc.py's extra arguments.\n"
                    "name=\nprev=\nfor x in \"$@\"; do [ \"$prev\" = --name ] && name=$x; prev=$x; done\n"
                    "case $name in\n")
            for n, args in extra.items():
                f.write("%s) exec %s \"$@\" %s ;;\n" % (n, shlex.quote(a.vmm),
                                                         " ".join(map(shlex.quote, args))))
            f.write("esac\nexec %s \"$@\"\n" % shlex.quote(a.vmm))
        os.chmod(wrapper, 0o755)
        vm_yaml = "".join("  %s: { kernel: demo, memory: %s, cpus: 1, autostart: true }\n"
                          % (n, a.vm_memory) for n in names)
        with open(self.g.config, "w") as f:
            f.write('listen:\n  ssh: "127.0.0.1:%d"\n  vnc: "127.0.0.1:%d"\nstate_dir: state\n'
                    "policy: policy.yaml\nvnc:\n  tickets: true\n"
                    "limits:\n  max_connections_per_user: 4096\n  max_sessions_per_connection: 64\n"
                    "  max_sessions_per_user: 65536\nvms:\n%s" % (self.g.port, self.g.vnc_port, vm_yaml))
        gwharness.VMM = wrapper
        try:
            self.g.start()
        except BaseException:
            self.g.cleanup()
            raise
        self.pid = self.g.proc.pid
        self.names = names

    def wait_up(self, timeout):
        """Every VM running and at its prompt (through a console session)."""
        end = time.monotonic() + timeout
        while True:
            st, out, err = self.g.ssh(USER, "list", timeout=timeout)
            up = [n for n in self.names if re.search(r"^%s\s+running\b" % n, out, re.M)]
            if len(up) == len(self.names):
                break
            if time.monotonic() > end:
                raise Failed("only %d of %d VMs run: %s %s" % (len(up), len(self.names), out, err))
            time.sleep(1)
        for n in self.names:
            c = self.attach(n)
            c.close()

    def attach(self, vm):
        """A console session at the prompt."""
        c = self.g.attach(USER, vm)
        try:
            c.expect(b"attached to " + vm.encode(), 120)
            c.send(b"\r")
            c.expect(PROMPT, 300)
        except AssertionError as e:
            c.close()
            raise Failed("console of %s: %s" % (vm, str(e)[-300:]))
        return c

    def cipher(self):
        """What OpenSSH's client and vmgated agree on (ssh -v)."""
        p = subprocess.run(self.g.ssh_args(USER, extra=("-v",)) + ["list"], stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=300)
        m = re.search(r"kex: server->client cipher: (\S+) MAC: (\S+)", p.stderr.decode(errors="replace"))
        return "%s, MAC %s" % m.groups() if m else "unknown"

    def login(self, path, vm):
        """vncprobe's options for the gateway's `listen: vnc:` port: VeNCrypt
        as USER:VM, or a one-time ticket for VM (a fresh one)."""
        if path == "vencrypt":
            return ["--user", "%s:%s" % (USER, vm), "--password", PASSWORD, "--ca", self.ca]
        st, out, err = self.g.ssh(USER, "vnc-ticket", vm)
        if st != 0 or not out.strip():
            raise Failed("vnc-ticket %s: %s %s" % (vm, out, err))
        return ["--password", out.strip().split()[-1]]

    def vmm_pid(self, vm):
        st, out, err = self.g.ssh(USER, "status", vm)
        m = re.search(r"monitor pid (\d+)", out)
        if not m:
            raise Failed("status %s: %s %s" % (vm, out, err))
        return int(m.group(1))

    def monitors(self):
        return children(self.pid)

    def cleanup(self):
        self.g.cleanup()

    def log_tail(self, lines=12):
        with open(self.g.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])


class Tunnel:
    """ssh -N -L 127.0.0.1:PORT:VM:5900 as a user runs it, one -L for each VM
    in VMS (a name: one); listening once the ports cannot be bound
    (connecting would open a tunnel of its own)."""

    def __init__(self, gw, vms, timeout):
        vms = [vms] if isinstance(vms, str) else vms
        ports = [gwharness.free_port() for _ in vms]
        fwd = []
        for port, vm in zip(ports, vms):
            fwd += ["-L", "127.0.0.1:%d:%s:5900" % (port, vm)]
        self.start(gw.g.ssh_args(USER, extra=["-N", "-o", "ExitOnForwardFailure=yes"] + fwd),
                   ports, timeout)

    def start(self, args, ports, timeout):
        self.ports = ports
        self.port = ports[0]
        self.errf = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.errf)
        end = time.monotonic() + timeout
        for port in self.ports:
            while True:
                if self.proc.poll() is not None:
                    raise Failed("ssh -L exited: %s" % self.stderr())
                with socket.socket() as s:
                    try:
                        s.bind(("127.0.0.1", port))
                    except OSError:
                        break
                if time.monotonic() > end:
                    self.close()
                    raise Failed("the forward never listened")
                time.sleep(0.1)

    def stderr(self):
        self.errf.seek(0)
        return self.errf.read().decode(errors="replace")[-300:]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.errf.close()


class PeerTunnel(Tunnel):
    """The peer path: the same OpenSSH client, `ssh -N -L PORT:127.0.0.1:TARGET`
    through OpenSSH's sshd (bench_gateway.Sshd) to the monitor's --vnc port,
    with CIPHER and MAC (what the client agreed with vmgated)."""

    def __init__(self, sshd, target, key, cipher, mac, timeout):
        port = gwharness.free_port()
        args = ["ssh", "-F", "/dev/null", "-N", "-p", str(sshd.port), "-i", key,
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "ExitOnForwardFailure=yes"]
        if cipher:
            args += ["-c", cipher]
        if mac and mac != "<implicit>":
            args += ["-m", mac]
        args += ["-L", "127.0.0.1:%d:127.0.0.1:%d" % (port, target), "%s@127.0.0.1" % sshd.user]
        self.start(args, [port], timeout)


# -- measurements -------------------------------------------------------------

def changed_at(probe, start):
    i = probe.lines.wait_for(lambda it: (bd.parse_update(it) or {}).get("changed") == 1, start, 30)
    return bd.parse_update(probe.lines.items[i])["t"]


def typed(send, probes, n, rng, mon=None):
    """N characters (x, Backspace) sent with SEND; per sample the key time,
    each probe's first update that changed the text area, and the serial
    echo time when MON (a bench_display.Monitor) is given."""
    out = []
    for k in range(n):
        time.sleep(rng.uniform(0.05, 0.15))
        key = b"x" if k % 2 == 0 else b"\x7f"
        marks = []
        for p in probes:
            with p.lines.cond:
                marks.append(len(p.lines.items))
        if mon:
            with mon.out.cond:
                nout = len(mon.out.items)
        t0 = time.monotonic_ns()
        send(key)
        try:
            ts = [changed_at(p, m) for p, m in zip(probes, marks)]
            echo = mon.out.items[mon.out.wait_for(lambda it: it[0] >= t0, nout, 30)][0] if mon else None
        except bd.PeerFailed as e:
            raise Failed("sample %d: the typed character never showed (%s)" % (k, e))
        out.append({"key": t0, "ts": ts, "echo": echo})
    return out


def ms(ns):
    return ns / 1e6


def stream(a, port, encodings, secs, gw_pids, mon_pid, ssh_pid, login=()):
    """One viewer of a full-damage monitor for SECS: whole-screen updates/s,
    bytes/s, and CPU ms in the window: the server of the path (GW_PIDS:
    vmgated, or the peer's sshd processes), the monitor, the tunnel's ssh
    client (None: direct), the viewer; and the box's busy share."""
    p = bd.Probe(a.probe, port, encodings, 0, login)
    who = {"gw": list(gw_pids), "mon": [mon_pid], "ssh": [ssh_pid] if ssh_pid else [],
           "probe": [p.proc.pid]}
    try:
        time.sleep(1.0)
        t0 = time.monotonic_ns()
        c0 = {k: cpu_ms(v) for k, v in who.items()}
        b0, s0 = box_busy(), syscalls(who["gw"][0])
        time.sleep(secs)
        c1 = {k: cpu_ms(v) for k, v in who.items()}
        b1, s1 = box_busy(), syscalls(who["gw"][0])
        t1 = time.monotonic_ns()
        ups = p.updates(t0, t1)
        if not ups:
            raise Failed("no update in %g s, after the first (vncprobe %s; %s)"
                         % (secs, "alive" if p.proc.poll() is None else "exited %s" % p.proc.returncode,
                            p.stderr()[-200:]))
    finally:
        p.stop()
    dt = (t1 - t0) / 1e9
    return {"whole": sum(1 for u in ups if u["area"] >= W * H) / dt, "n": len(ups),
            "bytes": sum(u["bytes"] for u in ups) / dt, "secs": dt,
            "cpu": {k: c1[k] - c0[k] for k in who}, "sys": (s1[0] - s0[0], s1[1] - s0[1]),
            "busy": 100.0 * (b1[0] - b0[0]) / max(b1[1] - b0[1], 1)}


def fill(c, lines):
    """LINES echo commands of random words on a console session C."""
    words = random.Random(1)
    for _ in range(lines):
        line = " ".join("".join(words.choice("abcdefghijklmnopqrstuvwxyz")
                                for _ in range(words.randint(2, 9))) for _ in range(12))
        c.send(b"echo %s\r" % line.encode())
        c.expect(b"\r\n" + PROMPT, 300)


def part_latency(a, rng):
    r = {}
    # The standalone monitor, bench_display's way, two direct viewers.
    step("standalone vmgate-vmm --vnc: booting")
    port = bd.free_port()
    mon = bd.Monitor(a.vmm, "log", port, os.geteuid() == 0)
    probes = []
    try:
        mon.expect(PROMPT, 0, a.timeout)
        time.sleep(2)
        probes = [bd.Probe(a.probe, port, None, 0) for _ in range(2)]
        step("standalone: %d typed characters, two direct viewers" % a.samples)
        r["alone"] = typed(mon.send, probes, a.samples, rng, mon)
    finally:
        for p in probes:
            p.stop()
        mon.stop()

    plat, ptput = bd.free_port(), bd.free_port()
    step("vmgated with VMs lat (damage log) and tput (damage full), each also on --vnc")
    gw = Gw(a, ["lat", "tput"], {"lat": ["--vnc", "127.0.0.1:%d" % plat],
                                  "tput": ["--vnc", "127.0.0.1:%d" % ptput, "--vnc-damage", "full"]})
    probes, tunnels, consoles, sshd = [], [], [], None
    try:
        gw.wait_up(a.timeout)
        r["cipher"] = gw.cipher()
        c = gw.attach("lat")
        consoles.append(c)
        t = Tunnel(gw, "lat", a.timeout)
        tunnels.append(t)
        # Half the samples with the direct viewer connected first, half
        # with the tunnel's first: the monitor serves its viewers in an
        # order (the floor above shows what that is worth), which the two
        # halves cancel.  ts[0] is always the direct viewer's.
        r["paired"] = {}
        for first in ("direct", "tunnel"):
            if first == "direct":
                probes = [bd.Probe(a.probe, plat, None, 0), bd.Probe(a.probe, t.port, None, 0)]
            else:
                probes = [bd.Probe(a.probe, t.port, None, 0), bd.Probe(a.probe, plat, None, 0)]
                probes.reverse()
            time.sleep(2)
            step("lat: %d typed characters (console session), direct and tunnel viewers, %s first"
                 % (a.samples // 2, first))
            r["paired"][first] = typed(c.send, probes, max(a.samples // 2, 1), rng)
            for p in probes:
                p.stop()
            probes = []
        t.close()
        tunnels.remove(t)
        c.close()
        consoles.remove(c)

        step("tput: filling the screen (%d echo commands)" % a.fill)
        c = gw.attach("tput")
        consoles.append(c)
        fill(c, a.fill)
        c.close()
        consoles.remove(c)
        t = Tunnel(gw, "tput", a.timeout)
        tunnels.append(t)
        mon = gw.vmm_pid("tput")
        m = re.match(r"(\S+), MAC (\S+)$", r["cipher"])
        step("tput: OpenSSH's sshd as the peer, its tunnel to tput's --vnc port (%s)" % r["cipher"])
        sshd = bg.Sshd(gw.g.pub[USER], gw.g.keys[USER])
        pt = PeerTunnel(sshd, ptput, gw.g.keys[USER], m and m.group(1), m and m.group(2), a.timeout)
        tunnels.append(pt)
        time.sleep(2)
        r["tput"] = {}
        paths = [p for p, _ in PATHS]
        for rnd in range(a.rounds):
            for enc in (None, "raw"):
                order = paths[rnd % len(paths):] + paths[:rnd % len(paths)]
                for path in order:
                    step("tput: round %d, %s, %s, %g s" % (rnd + 1, enc or "default encodings", path,
                                                          a.window))
                    port = {"direct": ptput, "tunnel": t.port, "openssh": pt.port}.get(path,
                                                                                        gw.g.vnc_port)
                    server = sshd.pids() if path == "openssh" else [gw.pid]
                    ssh = {"tunnel": t.proc.pid, "openssh": pt.proc.pid}.get(path)
                    login = gw.login(path, "tput") if path in ("vencrypt", "ticket") else ()
                    try:
                        s = stream(a, port, enc, a.window, server, mon, ssh, login)
                    except (Failed, bd.PeerFailed) as e:
                        raise Failed("%s; vmgated's log ends:\n%s" % (e, gw.log_tail(40))) from e
                    r["tput"].setdefault((enc, path), []).append(s)
    finally:
        for p in probes:
            p.stop()
        for t in tunnels:
            t.close()
        for c in consoles:
            c.close()
        if sshd:
            sshd.stop()
        gw.cleanup()
    return r


def viewers_window(a, gw, vms, label, one_more=None, shared=False):
    """A tunnel and a viewer for each VM in VMS (repeats allowed), then a
    window of A.window s: vmgated's CPU and memory; then, with ONE_MORE,
    whether one more viewer of that VM gets a first frame."""
    r = {"asked": len(vms)}
    tunnels, probes = [], []
    try:
        r["before"] = settled_dirty(gw.pid)
        step("%s: %d tunnels" % (label, len(vms)))
        if shared:
            tunnels.append(Tunnel(gw, vms, a.timeout))
        else:
            for v in vms:
                tunnels.append(Tunnel(gw, v, a.timeout))
        refused = []
        step("%s: %d viewers" % (label, len(vms)))
        for port in [p for t in tunnels for p in t.ports]:
            try:
                probes.append(bd.Probe(a.probe, port, None, 0))
            except bd.PeerFailed as e:
                refused.append(str(e))
        r["viewers"], r["refused"] = len(probes), refused
        if not probes:
            raise Failed("%s: no viewer got a first frame: %s" % (label, refused[:1]))
        time.sleep(3)
        r["with"] = dirty_kib(gw.pid)
        mons = gw.monitors()
        step("%s: %g s window" % (label, a.scale_window))
        t0 = time.monotonic_ns()
        c0, m0, s0 = cpu_ms([gw.pid]), cpu_ms(mons), syscalls(gw.pid)
        time.sleep(a.scale_window)
        c1, m1, s1 = cpu_ms([gw.pid]), cpu_ms(mons), syscalls(gw.pid)
        t1 = time.monotonic_ns()
        dt = (t1 - t0) / 1e9
        ups = [u for p in probes for u in p.updates(t0, t1)]
        r.update(secs=dt, cpu_ms=c1 - c0, mon_ms=m1 - m0, ups=len(ups) / dt,
                 sys=(s1[0] - s0[0], s1[1] - s0[1]),
                 bytes=sum(u["bytes"] for u in ups) / dt,
                 alive=sum(1 for p in probes if p.proc.poll() is None))
        r["after"] = dirty_kib(gw.pid)
        if one_more:
            t = Tunnel(gw, one_more, a.timeout)
            tunnels.append(t)
            try:
                probes.append(bd.Probe(a.probe, t.port, None, 0))
                r["one_more"] = "got a first frame"
            except bd.PeerFailed as e:
                r["one_more"] = "refused (%s)" % str(e)[:120]
    finally:
        for p in probes:
            p.stop()
        for t in tunnels:
            t.close()
    return r


def scale_column(a, names, label, **kw):
    """A fresh vmgated with VMs NAMES (damage full, screens half filled),
    then viewers_window on it.  Fresh for each column: memory freed when
    one column's viewers go stays with vmgated's heap and would hide the
    next column's."""
    step("vmgated with %d VMs (damage full)" % len(names))
    gw = Gw(a, names, {n: ["--vnc-damage", "full"] for n in names})
    try:
        gw.wait_up(a.timeout)
        step("filling %d screens (%d echo commands each)" % (len(names), a.scale_fill))
        for n in names:
            c = gw.attach(n)
            try:
                fill(c, a.scale_fill)
            finally:
                c.close()
        audit0 = len(gw.g.audit())
        r = viewers_window(a, gw, kw.pop("vms", names), label, **kw)
        time.sleep(2)
        r["ends"] = {}
        for e in gw.g.audit()[audit0:]:
            if e["event"] == "display_end":
                r["ends"][e.get("reason", "?")] = r["ends"].get(e.get("reason", "?"), 0) + 1
        r["vnc_log"] = [ln for ln in gw.g.log().splitlines() if "vmgate-vmm: vnc:" in ln]
    finally:
        gw.cleanup()
    return r


def part_scale(a):
    r = {}
    names = ["vm%d" % i for i in range(1, a.vms + 1)]
    r["per_vm"] = scale_column(a, names, "1 viewer on each of %d VMs" % a.vms)
    r["one_vm"] = scale_column(a, ["vm1"], "%d viewers on vm1" % a.viewers, vms=["vm1"] * a.viewers,
                               one_more="vm1" if a.viewers >= vnc_max_clients() else None)
    r["shared"] = scale_column(a, ["vm1"], "%d viewers on vm1, one ssh connection" % a.viewers,
                               vms=["vm1"] * a.viewers, shared=True)
    return r


# -- the report ---------------------------------------------------------------

def report(a, lat, scale, errors):
    print()
    print("VNC benchmark (issue 11), %dx%d demo guest, vncprobe (libvncclient), OpenSSH `ssh -N -L`" % (W, H))
    print("on %s" % bd.kvm_kind())
    if lat:
        al, pa = lat["alone"], lat["paired"]
        echo = [ms(s["ts"][0] - s["echo"]) for s in al]
        key = [ms(s["ts"][0] - s["key"]) for s in al]
        floor = [ms(s["ts"][1] - s["ts"][0]) for s in al]
        added_d = [ms(s["ts"][1] - s["ts"][0]) for s in pa["direct"]]
        added_t = [ms(s["ts"][1] - s["ts"][0]) for s in pa["tunnel"]]
        added = added_d + added_t
        both = pa["direct"] + pa["tunnel"]
        keyd = [ms(s["ts"][0] - s["key"]) for s in both]
        keyt = [ms(s["ts"][1] - s["key"]) for s in both]
        print()
        print("latency, framebuffer write -> viewer's update (first update that changed the text area),")
        print("p50 / p99 ms (nearest rank); %d characters typed 50-150 ms apart per monitor" % a.samples)
        print("%-62s %18s %18s" % ("", "direct", "ssh tunnel"))

        def row(label, d, t):
            cell = lambda xs: "%.2f / %.2f" % (bd.pct(xs, 50), bd.pct(xs, 99)) if xs else "-"
            print("%-62s %18s %18s" % (label, cell(d), cell(t)))
        row("standalone monitor: serial echo -> viewer", echo, None)
        row("standalone monitor: key on stdin -> viewer", key, None)
        row("gateway's VM: key (ssh console session) -> viewer", keyd, keyt)
        row("same change, second-connected viewer - first-connected", floor, None)
        row("same change, tunnel viewer - direct viewer, direct first", None, added_d)
        row("  the same, tunnel viewer connected first", None, added_t)
        row("  all samples", None, added)
        est = (bd.pct(added_d, 50) + bd.pct(added_t, 50)) / 2
        print("  the gateway adds (mean of the two orders' p50, which cancels the serving order): %.2f ms"
              % est)
        print("  the floor row: two direct viewers of the standalone monitor (what the order in which the")
        print("  monitor serves its viewers is worth); tunnel later than direct in %d of %d samples;"
              % (sum(1 for x in added if x > 0), len(added)))
        print("  the key rows on the gateway's VM include the console session's SSH path (same for both)")
        tp = lat["tput"]
        print("  the tunnels' cipher: %s" % lat["cipher"])
        print()
        print("throughput, one viewer of the `--vnc-damage full` VM (every frame the whole screen,")
        print("text-filled), %d windows of %g s per cell, the paths in turn; mean of windows"
              % (a.rounds, a.window))
        print("%-44s %12s %10s %10s %12s %10s %10s" % ("path", "Tight ups/s", "KiB/s", "vs direct",
                                                       "Raw ups/s", "KiB/s", "vs direct"))
        mean = lambda xs, k: sum(x[k] for x in xs) / len(xs) if xs else 0.0
        for path, label in PATHS:
            cells = []
            for enc in (None, "raw"):
                d, xs = tp.get((enc, "direct"), []), tp.get((enc, path), [])
                if not xs:
                    cells += ["-", "-", "-"]
                    continue
                dv, v = mean(d, "bytes"), mean(xs, "bytes")
                cells += ["%.1f" % mean(xs, "whole"), "%.0f" % (v / 1024),
                          "%.1f%%" % (100.0 * (v - dv) / dv) if dv and path != "direct" else ""]
            print("%-44s %12s %10s %10s %12s %10s %10s" % tuple([label] + cells))
        print("  the peer: the same OpenSSH client through OpenSSH's sshd to the same monitor's --vnc port;")
        print("  vencrypt: TLS (%s) then a password, on the gateway's `listen: vnc:`; ticket: classic VNC"
              % "libvncclient's GnuTLS against the gateway's OpenSSL")
        print("  authentication with a one-time ticket on the same listener, no TLS (loopback)")
        for enc, name in ((None, "Tight"), ("raw", "Raw")):
            for path, label in PATHS:
                xs = tp.get((enc, path), [])
                if not xs:
                    continue
                secs = sum(x["secs"] for x in xs)
                mib = sum(x["bytes"] * x["secs"] for x in xs) / 1048576.0
                n = sum(x["n"] for x in xs)
                pc = lambda k: sum(x["cpu"][k] for x in xs) / secs / 10.0
                print("  %s, %s: CPU %% of a core: %s %.1f (%.0f us per update, %.1f ms per MiB), "
                      "monitor %.1f, ssh client %.1f, vncprobe %.1f; box busy %.0f%%; whole screens/s per "
                      "window: %s"
                      % (name, path, "sshd" if path == "openssh" else "vmgated", pc("gw"),
                         1000 * sum(x["cpu"]["gw"] for x in xs) / max(n, 1),
                         sum(x["cpu"]["gw"] for x in xs) / mib if mib else 0, pc("mon"), pc("ssh"),
                         pc("probe"), sum(x["busy"] for x in xs) / len(xs),
                         ", ".join("%.1f" % x["whole"] for x in xs)))
                if path in ("tunnel", "vencrypt", "ticket"):
                    print("  %s, %s: vmgated's read() calls per update: %.1f (/proc/PID/io syscr: the "
                          "monitor's stream and, off the tunnel, the viewer's socket; libssh's recv is "
                          "not counted)" % (name, path, sum(x["sys"][0] for x in xs) / max(n, 1)))
    if scale:
        print()
        print("many viewers, each through `ssh -N -L`; every VM `--vnc-damage full` (the screens change every")
        print("frame: each viewer gets whole screens as fast as it takes them); vmgated's CPU over a %g s"
              % a.scale_window)
        print("window, its Private_Dirty (smaps_rollup) before the tunnels and with them")
        cols = (("per_vm", "1 on each of %d VMs" % a.vms), ("one_vm", "%d on one VM" % a.viewers),
                ("shared", "%d on one VM, 1 conn." % a.viewers))
        print("%-44s" % "" + "".join("%24s" % c for _, c in cols))
        print("%-44s" % "ssh connections (one per client process)" + "".join(
            "%24s" % ("1" if k == "shared" else "one per viewer") for k, _ in cols))

        def row(label, f):
            cells = []
            for k, _ in cols:
                try:
                    cells.append(f(scale[k]))
                except (KeyError, ZeroDivisionError, TypeError):
                    cells.append("-")
            print("%-44s" % label + "".join("%24s" % c for c in cells))
        row("viewers with a first frame (closed before)", lambda r: "%d (%d)" % (r["viewers"], len(r["refused"])))
        row("viewers still connected after the window", lambda r: "%d" % r["alive"])
        row("updates/s, all viewers", lambda r: "%.1f" % r["ups"])
        row("KiB/s relayed, all viewers", lambda r: "%.0f" % (r["bytes"] / 1024))
        row("vmgated CPU, % of a core", lambda r: "%.2f" % (r["cpu_ms"] / r["secs"] / 10))
        row("vmgated CPU per viewer, % of a core", lambda r: "%.3f" % (r["cpu_ms"] / r["secs"] / 10 / r["viewers"]))
        row("vmgated CPU us per update relayed", lambda r: "%.0f" % (1000 * r["cpu_ms"] / (r["ups"] * r["secs"])))
        row("vmgated CPU ms per MiB relayed",
            lambda r: "%.1f" % (r["cpu_ms"] / (r["bytes"] * r["secs"] / 1048576.0)))
        row("vmgated read() calls per update (syscr)", lambda r: "%.1f" % (r["sys"][0] / (r["ups"] * r["secs"])))
        row("monitors' CPU, % of a core", lambda r: "%.1f" % (r["mon_ms"] / r["secs"] / 10))
        row("vmgated Private_Dirty KiB before", lambda r: "%d" % r["before"]["Private_Dirty"])
        row("  with the viewers / after the window", lambda r: "%d / %d" % (r["with"]["Private_Dirty"],
                                                                           r["after"]["Private_Dirty"]))
        row("  KiB per viewer (after the window)",
            lambda r: "%.1f" % ((r["after"]["Private_Dirty"] - r["before"]["Private_Dirty"]) / r["viewers"]))
        row("  AnonHugePages KiB after", lambda r: "%d" % r["after"].get("AnonHugePages", 0))
        for k, _ in cols:
            if scale[k]["refused"]:
                print("  %s: %d closed before their first frame; the first: %s"
                      % (k, len(scale[k]["refused"]), " ".join(scale[k]["refused"][0].split())[:160]))
        print("  the monitor serves at most %d viewers (VNC_MAX_CLIENTS, vmm-core/vnc.h); one more viewer of"
              " vm1 after the window: %s" % (vnc_max_clients(), scale["one_vm"].get("one_more", "not tried")))
        for k, label in cols:
            r = scale[k]
            logs = sorted(set(re.sub(r"^.*?vmgate-vmm: vnc: ", "", ln) for ln in r.get("vnc_log", [])))
            print("  %s: display_end reasons (audit, to the end): %s; the monitors' VNC errors in vmgated's "
                  "log: %d%s" % (label, ", ".join("%s %d" % kv for kv in sorted(r.get("ends", {}).items()))
                                 or "none", len(r.get("vnc_log", [])), (": " + "; ".join(logs[:3])) if logs
                                 else ""))
    for e in errors:
        print("FAILED: %s" % e)
    print()
    print("targets (issue 11)%s:" % (" -- kvmbox timings are NOT representative" if bd.in_kvmbox() else ""))
    if lat:
        print("  added latency p50 %.2f ms (both orders; all samples %.2f) (want < %g ms): %s; p99 %.2f ms"
              % (est, bd.pct(added, 50), TARGET_ADDED_P50_MS,
                 "met" if est < TARGET_ADDED_P50_MS else "NOT met", bd.pct(added, 99)))
        for enc, name in ((None, "default encodings"), ("raw", "Raw")):
            d = tp.get((enc, "direct"), [])
            dv = sum(x["bytes"] for x in d) / len(d) if d else 0
            for path, label in PATHS[1:]:
                xs = tp.get((enc, path), [])
                if not xs or not dv:
                    continue
                loss = 100.0 * (dv - sum(x["bytes"] for x in xs) / len(xs)) / dv
                if path == "openssh":
                    print("    %s, %s: loses %.1f%%" % (label, name, loss))
                    continue
                print("  throughput lost, %s, %s, bytes/s: %.1f%% (want < %g%%): %s"
                      % (label, name, loss, TARGET_THROUGHPUT_LOSS,
                         "met" if loss < TARGET_THROUGHPUT_LOSS else "NOT met"))
    else:
        print("  not measured")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--samples", type=int, default=100, help="typed characters per latency figure")
    ap.add_argument("--window", type=float, default=5.0, help="measuring window, s")
    ap.add_argument("--rounds", type=int, default=3, help="throughput windows per path and encoding")
    ap.add_argument("--fill", type=int, default=24, help="echo commands that fill tput's screen")
    ap.add_argument("--scale-fill", type=int, default=12, help="echo commands on each VM of part 2")
    ap.add_argument("--vms", type=int, default=10, help="VMs with one viewer each")
    ap.add_argument("--viewers", type=int, help="viewers on one VM (default: 50, or the monitor's cap if lower)")
    ap.add_argument("--vm-memory", default="16M")
    ap.add_argument("--part", choices=("all", "latency", "scale"), default="all")
    ap.add_argument("--scale-window", type=float, default=10.0, help="part 2's window, s")
    ap.add_argument("--timeout", type=float, help="boot/step timeout (default 60, 600 in kvmbox)")
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    a.vmm = os.path.join(build, "vmm-core/vmgate-vmm")
    a.probe = os.path.join(build, "tests/vnc/vncprobe")
    gwharness.VMGATED = os.path.join(build, "gateway", "vmgated")
    a.timeout = a.timeout or (600.0 if bd.in_kvmbox() else 60.0)
    a.viewers = a.viewers or min(50, vnc_max_clients())
    if min(a.samples, a.rounds, a.vms, a.viewers) < 1 or min(a.window, a.scale_window) <= 0:
        ap.error("counts must be at least 1")
    print("VNC benchmark on %s" % bd.kvm_kind(), flush=True)
    for path in (a.vmm, a.probe, gwharness.VMGATED):
        if not os.path.isfile(path):
            print("not built: %s" % path)
            return 1
    if not gwharness.have_kvm():
        print("bench_vnc: needs /dev/kvm (tests/bench/run.sh runs it in tools/kvmbox)")
        return 1
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on kill
    # No transparent huge pages for us and what we start (the flag is
    # inherited through fork and exec): kvmbox's kernel has them "always",
    # where one 2 MiB page in vmgated's heap would swamp a per-viewer
    # figure; Debian's default is "madvise", which vmgated does not use.
    import ctypes
    thp_off = ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0) == 0  # PR_SET_THP_DISABLE
    print("transparent huge pages (%s): %s for the benchmark's processes"
          % (bd.thp_mode(), "off" if thp_off else "NOT turned off"), flush=True)
    rng = random.Random(11)
    lat = scale = None
    errors = []
    if a.part in ("all", "latency"):
        try:
            lat = part_latency(a, rng)
        except (Failed, bd.PeerFailed, OSError, AssertionError) as e:
            errors.append("latency/throughput: %s" % e)
    if a.part in ("all", "scale"):
        try:
            scale = part_scale(a)
        except (Failed, bd.PeerFailed, OSError, AssertionError) as e:
            errors.append("many viewers: %s" % e)
    report(a, lat, scale, errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
