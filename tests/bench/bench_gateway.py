#!/usr/bin/python3
"""Gateway benchmarks (issue 3): vmgated vs OpenSSH's sshd, side by side in one run.

Two parts, each printing a table of figures with its peer measured in the same
run.  It is a benchmark, not a test: it asserts nothing about timing (it only
stops when a server does not do what is asked at all, since figures would
then be meaningless).

  --part connect   `ssh -T user@127.0.0.1 list` with the real OpenSSH client
                   against vmgated (its VMs not started: no KVM needed), vs the
                   same client running `true` on OpenSSH's sshd; N runs each,
                   interleaved; median and p90.  Run it on the host itself:
                   timings inside tools/kvmbox are emulated.
  --part setup     session setup on this host, no KVM: one paramiko
                   connection doing --runs requests one after another (open a
                   channel, exec, read to the close: vmgated `list`, sshd
                   `true`), each step timed, then --sessions sessions opened
                   PER_CONN per connection, as the console part's holder
                   does, with the wall time and the server's CPU per session
                   (vmgated's own; sshd's with its session processes).
                   paramiko leaves Nagle's algorithm on, as many clients do.
  --part console   needs /dev/kvm (run it inside tools/kvmbox here): vmgated
                   with one demo-guest VM.  Keystroke-to-echo latency (p50,
                   p99) on one attached console session; then up to
                   --sessions sessions attached to that console (paramiko, 16
                   channels per connection), the gateway's memory per session
                   (VmRSS and Private from smaps_rollup, before and after),
                   and the latency again with all of them attached and
                   reading.  Peer: sshd with as many sessions running `cat`,
                   the measured one `cat` under a pty in raw mode.  Then the
                   fair echo peer: the same demo guest under QEMU microvm,
                   its serial port on a UNIX socket, reached through sshd
                   with `socat - UNIX-CONNECT:…` under a pty; one session.
                   --client asyncssh holds the sessions with asyncssh and
                   chacha20-poly1305, the cipher OpenSSH's client picks
                   (paramiko has only AES-CTR with an HMAC; libssh 0.10
                   keys an HMAC anew for every packet, about half of its
                   per-packet cost); the measured session stays paramiko.

  --part vms       needs /dev/kvm: vmgated with --vms demo VMs (--vm-memory,
                   --vm-display: none by default, the display is the
                   monitor's), --sessions-per-vm paramiko console sessions on
                   each; vmgated's Private memory (smaps_rollup) with one VM
                   configured, all configured, all running, all sessions
                   held: KiB per VM and per session; echo latency (p50, p99)
                   on one VM chosen at random, with the others idle and
                   while each of the others prints `bulk 1024M`.  No peer: the
                   issue asks for the gateway's own figures.

Percentiles are nearest-rank: p90 of 30 runs is the 27th smallest.
Debian's python3 by absolute path: it has paramiko, pyenv's does not.
"""
import argparse
import math
import multiprocessing
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gateway"))
import gwharness  # noqa: E402  (after the path it lives on)

SSHD = "/usr/sbin/sshd"
PROMPT = gwharness.PROMPT
USER = "bench"          # the gateway's policy user
VM = "vm1"
PER_CONN = 16           # channels per connection (the figures; sshd's MaxSessions)
TIMEOUT = 300           # seconds for any one step; nested KVM is slow

# One user who may type into and power every VM.
POLICY = """\
users:
{users}
rules:
  - allow: [console:write, power]
    to: [user:%s]
    vms: ["*"]
""" % USER

# The peer: OpenSSH's sshd on its own files only.  Compiled-in defaults
# otherwise (UsePAM no, UseDNS no); StrictModes no because the key file
# lives under /tmp (world-writable parent); MaxSessions as vmgated's limit.
# sshd runs every command through the user's shell, and Debian's bash then
# sources ~/.bashrc when it is the top-level shell (SHLVL < 2); root's runs
# `pyenv init` on our machines, about a second: a cost of that account, not
# of sshd, so the session starts with SHLVL=1 and bash skips it.
SSHD_CONFIG = """\
ListenAddress 127.0.0.1
HostKey {dir}/ssh_host_ed25519_key
AuthorizedKeysFile {dir}/authorized_keys
PidFile none
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxSessions {per_conn}
PrintMotd no
PrintLastLog no
SetEnv SHLVL=1
"""


def log(msg):
    """Progress goes to stderr; the figures to stdout."""
    print(msg, file=sys.stderr, flush=True)


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def mem_kib(pid):
    """One process's memory in KiB: rss (VmRSS), priv (Private_Clean +
    Private_Dirty), thp (AnonHugePages, both from smaps_rollup) and heap
    (the size of its [heap] mapping: address space, resident or not)."""
    m = {"rss": 0, "priv": 0, "thp": 0, "heap": 0}
    with open("/proc/%d/status" % pid) as f:
        m["rss"] = int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                m["priv"] += int(line.split()[1])
            elif line.startswith("AnonHugePages:"):
                m["thp"] += int(line.split()[1])
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            if line.rstrip().endswith("[heap]"):
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                m["heap"] += (hi - lo) >> 10
    return m


def thp_mode():
    """The kernel's transparent huge page mode (the bracketed one)."""
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return re.search(r"\[(\w+)\]", f.read()).group(1)
    except (OSError, AttributeError):
        return "unknown"


def descendants(root):
    """{pid: comm} of root and every process below it."""
    kids, comm = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue  # gone meanwhile
        # comm is in parentheses and may hold spaces; ppid follows the state
        rp = st.rindex(")")
        pid, ppid = int(d), int(st[rp + 2:].split()[1])
        comm[pid] = st[st.index("(") + 1:rp]
        kids.setdefault(ppid, []).append(pid)
    out, todo = {}, [root]
    while todo:
        p = todo.pop()
        if p in comm:
            out[p] = comm[p]
        todo += kids.get(p, [])
    return out


def fd_count(pids):
    """Open file descriptors over the processes."""
    n = 0
    for pid in pids:
        try:
            n += len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            pass  # exited meanwhile
    return n


def cpu_ms(pids):
    """User + system CPU time of the processes, in ms."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total * 1000 / tick


def cpu_with_children_ms(pid):
    """A process's CPU time with that of its reaped children, in ms."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read()
    fields = st[st.rindex(")") + 2:].split()
    return sum(int(x) for x in fields[11:15]) * 1000 / os.sysconf("SC_CLK_TCK")


def tree_mem_kib(root, name):
    """mem_kib summed over root's tree: the processes named `name`, and
    separately all the others; "n" counts the processes."""
    mine, other = {"n": 0}, {"n": 0}
    for pid, comm in descendants(root).items():
        try:
            m = mem_kib(pid)
        except (OSError, AttributeError):
            continue  # exited while we looked
        acc = mine if comm == name else other
        for k, v in m.items():
            acc[k] = acc.get(k, 0) + v
        acc["n"] += 1
    return mine, other


def wait_port(port, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("exited with status %d before listening" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d after %ds" % (port, timeout))


# -- the two servers ---------------------------------------------------------

class Vmgated:
    """vmgated from gwharness, with our own VMs and policy."""

    name = "vmgated"

    def __init__(self, vms, autostart, memory="32M", display=None):
        self.gw = gwharness.Gateway(users=(USER,), policy=POLICY, start=False)
        self.dir, self.port = self.gw.dir, self.gw.port
        self.user, self.key = USER, self.gw.keys[USER]
        self.pub = self.gw.pub[USER]
        # Gateway writes autostarting VMs; rewrite the VM list as we need it.
        extra = ", display: %s" % display if display else ""
        vm_yaml = "".join("  %s: { kernel: demo, memory: %s, cpus: 1, autostart: %s%s }\n"
                          % (v, memory, "true" if autostart else "false", extra) for v in vms)
        with open(self.gw.config, "w") as f:
            # The limits a gateway serving 1,000 sessions to one user
            # needs (the defaults are 10 per connection, 64 per user).
            f.write('listen:\n  ssh: "127.0.0.1:%d"\nstate_dir: state\npolicy: policy.yaml\n'
                    "limits:\n  max_connections_per_user: 4096\n"
                    "  max_sessions_per_connection: %d\n  max_sessions_per_user: 65536\n"
                    "vms:\n%s" % (self.port, PER_CONN, vm_yaml))
        try:
            self.gw.start()
        except BaseException:
            self.gw.cleanup()
            raise
        self.pid = self.gw.proc.pid
        self.stopped = False

    def pids(self):
        return [self.pid]

    def log(self):
        return self.gw.log()

    def memory(self):
        """mem_kib of the gateway alone (not its monitors), and None: it has
        no per-session processes."""
        return mem_kib(self.pid), None

    def stop(self):
        if not self.stopped:
            self.gw.stop()
            self.stopped = True

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Sshd:
    """OpenSSH's sshd as root on a temporary config, host key and
    authorized_keys: the client's public key `pub`, whose private half is
    the file `key`."""

    name = "openssh sshd"

    def __init__(self, pub, key):
        if os.getuid() != 0:
            raise RuntimeError("the sshd peer must run as root")
        self.dir = tempfile.mkdtemp(prefix="bench-sshd-")
        self.port = gwharness.free_port()
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.key = key
        gwharness.keygen(os.path.join(self.dir, "ssh_host_ed25519_key"))
        with open(os.path.join(self.dir, "authorized_keys"), "w") as f:
            f.write(pub + "\n")
        config = os.path.join(self.dir, "sshd_config")
        with open(config, "w") as f:
            f.write(SSHD_CONFIG.format(dir=self.dir, per_conn=PER_CONN))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privsep chroot
        self.logf = open(os.path.join(self.dir, "sshd.log"), "wb")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", config, "-p", str(self.port)],
                                     stdout=self.logf, stderr=self.logf)
        self.pid = self.proc.pid
        try:
            wait_port(self.port, self.proc)
        except RuntimeError as e:
            why = self.log()
            self.stop()
            raise RuntimeError("sshd: %s: %s" % (e, why))

    def log(self):
        with open(os.path.join(self.dir, "sshd.log"), errors="replace") as f:
            return f.read()[-20000:]

    def pids(self):
        return [p for p, comm in descendants(self.pid).items() if comm == "sshd"]

    def memory(self):
        """The listener plus every per-connection sshd process; the session
        processes (shell, cat) apart."""
        return tree_mem_kib(self.pid, "sshd")

    def stop(self):
        gwharness.stop_process(self.proc)
        self.logf.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# -- part 1: connection round trip --------------------------------------------

def ssh_args(port, key, known_hosts, user, cmd):
    """The same OpenSSH client invocation for both servers."""
    return ["ssh", "-F", "/dev/null", "-T", "-p", str(port), "-i", key,
            "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
            "-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + known_hosts,
            "-o", "LogLevel=ERROR", "%s@127.0.0.1" % user, cmd]


def timed_ssh(args):
    t0 = time.perf_counter()
    p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    ms = (time.perf_counter() - t0) * 1000
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(args[-2:]), p.returncode,
                                                p.stderr.decode(errors="replace").strip()))
    return ms, p.stdout.decode(errors="replace")


def bench_connect(a):
    gw = Vmgated(["web1", "web2"], autostart=False)
    peer = None
    try:
        peer = Sshd(gw.pub, gw.key)
        kh = os.path.join(gw.dir, "bench_known_hosts")
        cases = [(gw.name, ssh_args(gw.port, gw.key, kh, gw.user, "list")),
                 (peer.name, ssh_args(peer.port, gw.key, kh, peer.user, "true"))]
        # Warm up (page cache, the known_hosts entries), and show the list.
        for _ in range(2):
            _, listing = timed_ssh(cases[0][1])
            timed_ssh(cases[1][1])
        times = {name: [] for name, _ in cases}
        for _ in range(a.runs):   # interleaved, so load drift hits both
            for name, args in cases:
                times[name].append(timed_ssh(args)[0])
    finally:
        gw.cleanup()
        if peer:
            peer.stop()
    print("\nconnection round trip, real OpenSSH client (%s), %d runs each, interleaved, on this host"
          % (subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip(), a.runs))
    print("  wall time of the whole `ssh` command: client start, key exchange, auth, command, close")
    print("  vmgated:      ssh -T -i <fresh ed25519 key> %s@127.0.0.1 list   (VMs not started, no KVM used)"
          % USER)
    print("  openssh sshd: the same client and key, %s@127.0.0.1 true   (SetEnv SHLVL=1: bash skips ~/.bashrc)"
          % pwd.getpwuid(os.getuid()).pw_name)
    print("  what `list` printed: %s" % " | ".join(line.strip() for line in listing.strip().splitlines()))
    print("%-16s %12s %12s %12s %12s" % ("server", "median ms", "p90 ms", "min ms", "max ms"))
    for name, t in times.items():
        print("%-16s %12.1f %12.1f %12.1f %12.1f" % (name, statistics.median(t), pct(t, 90), min(t), max(t)))
    v, s = times[gw.name], times[peer.name]
    print("%-16s %11.2fx %11.2fx" % ("sshd/vmgated", statistics.median(s) / statistics.median(v),
                                     pct(s, 90) / pct(v, 90)))
    print("%-16s %11.2fx %11.2fx" % ("p90/median", pct(v, 90) / statistics.median(v),
                                     pct(s, 90) / statistics.median(s)))
    print("target (issue 9): vmgated at least 5x faster than OpenSSH's sshd, its p90 within 1.5x of its median")


# -- part 1b: session setup (no KVM) -----------------------------------------

def setup_request(t, cmd):
    """One request on transport t: (open ms, exec ms, whole ms), whole =
    from the open to the server's close."""
    t0 = time.perf_counter()
    ch = t.open_session(timeout=TIMEOUT)
    t1 = time.perf_counter()
    ch.settimeout(TIMEOUT)
    ch.exec_command(cmd)
    t2 = time.perf_counter()
    while ch.recv(65536):
        pass
    if ch.recv_exit_status() != 0:
        raise RuntimeError("`%s` failed on the server" % cmd)
    ch.close()
    t3 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t0) * 1000


def setup_sessions(server, cmd, n):
    """n sessions running cmd, PER_CONN per connection, one connection
    after another: all of a connection's channels opened and exec'd, then
    each read to its close.  Returns (seconds, server CPU ms per session,
    worst open+exec ms)."""
    c0 = cpu_with_children_ms(server.pid)
    t0 = time.perf_counter()
    worst = 0
    done = 0
    while done < n:
        t = connect(server.port, server.user, server.key)
        chans = []
        for _ in range(min(PER_CONN, n - done)):
            s0 = time.perf_counter()
            ch = t.open_session(timeout=TIMEOUT)
            ch.settimeout(TIMEOUT)
            ch.exec_command(cmd)
            worst = max(worst, (time.perf_counter() - s0) * 1000)
            chans.append(ch)
        for ch in chans:
            while ch.recv(65536):
                pass
            if ch.recv_exit_status() != 0:
                raise RuntimeError("`%s` failed on the server" % cmd)
        done += len(chans)
        t.close()
    secs = time.perf_counter() - t0
    time.sleep(0.5)  # sshd's per-connection processes exit and are reaped
    return secs, (cpu_with_children_ms(server.pid) - c0) / n, worst


def bench_setup(a):
    gw = Vmgated(["web1", "web2"], autostart=False)
    peer = None
    rows, bulk = {}, {}
    try:
        peer = Sshd(gw.pub, gw.key)
        cases = [(gw, "list"), (peer, "true")]
        for server, cmd in cases:
            t = connect(server.port, server.user, server.key)
            setup_request(t, cmd)   # warm up
            rows[server.name] = [setup_request(t, cmd) for _ in range(a.runs)]
            t.close()
        for server, cmd in cases:
            log("  %s: %d sessions" % (server.name, a.sessions))
            bulk[server.name] = setup_sessions(server, cmd, a.sessions)
    finally:
        gw.cleanup()
        if peer:
            peer.stop()
    print("\nsession setup on this host (no KVM), paramiko %s (Nagle on, as paramiko leaves it)"
          % __import__("paramiko").__version__)
    print("  one connection, %d requests one after another: open a channel, exec, read to the close" % a.runs)
    print("  vmgated: `list` (VMs not started); openssh sshd: `true` (through the user's shell)")
    print("%-14s %-6s %9s %9s %9s %9s" % ("server", "step", "median ms", "p90 ms", "max ms", ">30 ms"))
    for name, r in rows.items():
        for i, step in enumerate(("open", "exec", "whole")):
            v = [x[i] for x in r]
            print("%-14s %-6s %9.2f %9.2f %9.2f %6d/%d" % (name, step, statistics.median(v), pct(v, 90),
                                                          max(v), sum(x > 30 for x in v), len(v)))
    print("  %d sessions, %d channels per connection, each connection's channels opened and exec'd, then"
          % (a.sessions, PER_CONN))
    print("  read to their close; server CPU: vmgated's own, sshd's with its session processes (reaped)")
    print("%-14s %9s %12s %18s" % ("server", "wall s", "CPU ms/sess", "worst open+exec ms"))
    for name, (secs, cpu, worst) in bulk.items():
        print("%-14s %9.2f %12.2f %18.1f" % (name, secs, cpu, worst))


# -- part 2: console sessions -------------------------------------------------

def connect(port, user, keyfile):
    """An authenticated paramiko Transport."""
    import paramiko
    key = paramiko.Ed25519Key.from_private_key_file(keyfile)
    t = paramiko.Transport(socket.create_connection(("127.0.0.1", port), TIMEOUT))
    t.banner_timeout = t.auth_timeout = TIMEOUT
    t.start_client(timeout=TIMEOUT)
    t.auth_publickey(user, key)
    return t


def serve_holder(pipe, cmds, received, alive, send):
    """A holder's answers until "close" (holder's docstring): CMDS, the
    open sessions' commands; ALIVE() counts the open ones; SEND(i, data)
    types into the i-th."""
    while True:
        msg = pipe.recv()
        if msg == "alive?":
            pipe.send(alive())
        elif msg == "bytes?":
            pipe.send(received[0])
        elif isinstance(msg, tuple) and msg[0] == "type":
            for want in msg[2]:
                if want in cmds:
                    send(cmds.index(want), msg[1])
            pipe.send("typed")
        else:
            return


def holder(pipe, port, user, keyfile, command, n, attached_mark):
    """In its own process (so that its 60-odd transport threads do not share
    a GIL with the latency probe): opens n sessions running `command` (or
    command[i] for the i-th, given a list), PER_CONN per connection, one
    connection after another, stopping at the first error.  A session counts
    as held once it is open and, if attached_mark is given, that text came
    on its stderr (vmgated's attach banner) with the channel still open.
    Replies ("held", held, conns, seconds, error), then drains every channel
    until told "close", answering "alive?" (how many are still open),
    "bytes?" (how many bytes all sessions received so far) and ("type",
    data, commands) (sends data on the first session running each of those
    commands; replies "typed")."""
    transports, chans, err = [], [], None
    cmds = command if isinstance(command, list) else [command] * n
    received = [0]
    t0 = time.monotonic()
    try:
        while len(chans) < n:
            t = connect(port, user, keyfile)
            transports.append(t)
            for _ in range(min(PER_CONN, n - len(chans))):
                ch = t.open_session(timeout=TIMEOUT)
                ch.exec_command(cmds[len(chans)])
                chans.append(ch)
            if len(transports) % 10 == 0:
                log("  %d sessions open" % len(chans))
    except Exception as e:  # noqa: BLE001  (any failure ends the ramp; we report it)
        # +2: the probe is session 1 (see console_run)
        err = "session %d: %s: %s" % (len(chans) + 2, type(e).__name__, e or "")
    stderr = [bytearray() for _ in chans]
    stop = threading.Event()

    def drain():
        while not stop.is_set():
            for i, ch in enumerate(chans):
                while ch.recv_ready():
                    received[0] += len(ch.recv(65536))
                while ch.recv_stderr_ready():
                    stderr[i] += ch.recv_stderr(65536)
            stop.wait(0.1)

    th = threading.Thread(target=drain, daemon=True)
    th.start()
    if attached_mark:
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and not all(attached_mark in s or c.closed
                                                 for s, c in zip(stderr, chans)):
            time.sleep(0.2)
    else:
        time.sleep(1)  # a refused or failed `cat` would have closed by now
    held = 0
    for s, c in zip(stderr, chans):
        if not c.closed and not c.exit_status_ready() and (not attached_mark or attached_mark in s):
            held += 1
        elif err is None:
            err = "a session ended: %r" % bytes(s[-200:]).decode(errors="replace")
    pipe.send(("held", held, len(transports), time.monotonic() - t0, err))
    serve_holder(pipe, cmds[:len(chans)], received,
                 lambda: sum(1 for c in chans if not c.closed and not c.exit_status_ready()),
                 lambda i, data: chans[i].closed or chans[i].sendall(data))
    stop.set()
    th.join()
    for t in transports:
        t.close()
    pipe.send("closed")


# What OpenSSH's client picks first from what vmgated offers; paramiko has
# neither it nor AES-GCM, only AES-CTR with an HMAC, which libssh 0.10 keys
# anew for every packet (the README's fan-out figures).
ASYNCSSH_CIPHER = "chacha20-poly1305@openssh.com"


def holder_asyncssh(pipe, port, user, keyfile, command, n, attached_mark):
    """holder() with asyncssh (python3-asyncssh) as the client, so that the
    held sessions use the cipher OpenSSH's client would (ASYNCSSH_CIPHER,
    no compression): the same ramp, the same replies."""
    import asyncio
    import warnings
    warnings.simplefilter("ignore")     # cryptography's deprecations, on import
    import asyncssh

    cmds = command if isinstance(command, list) else [command] * n
    received = [0]
    sessions, conns, err = [], [], [None]

    class Held(asyncssh.SSHClientSession):
        def __init__(self):
            self.stderr = bytearray()
            self.closed = False
            self.chan = None

        def data_received(self, data, datatype):
            if datatype == asyncssh.EXTENDED_DATA_STDERR:
                self.stderr += data[-4096:]
            else:
                received[0] += len(data)

        def connection_lost(self, exc):
            self.closed = True

    async def ramp():
        try:
            while len(sessions) < n:
                c = await asyncssh.connect(
                    "127.0.0.1", port, username=user, client_keys=[keyfile], known_hosts=None,
                    encryption_algs=[ASYNCSSH_CIPHER], compression_algs=["none"],
                    connect_timeout=TIMEOUT, login_timeout=TIMEOUT)
                conns.append(c)
                for _ in range(min(PER_CONN, n - len(sessions))):
                    chan, sess = await c.create_session(Held, cmds[len(sessions)], encoding=None)
                    sess.chan = chan
                    sessions.append(sess)
                if len(conns) % 10 == 0:
                    log("  %d sessions open (asyncssh)" % len(sessions))
        except Exception as e:  # noqa: BLE001  (any failure ends the ramp; we report it)
            err[0] = "session %d: %s: %s" % (len(sessions) + 2, type(e).__name__, e or "")

    loop = asyncio.new_event_loop()
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    t0 = time.monotonic()
    asyncio.run_coroutine_threadsafe(ramp(), loop).result()
    if attached_mark:
        end = time.monotonic() + TIMEOUT
        while time.monotonic() < end and not all(attached_mark in x.stderr or x.closed for x in sessions):
            time.sleep(0.2)
    else:
        time.sleep(1)
    held = 0
    for x in sessions:
        if not x.closed and x.chan.get_exit_status() is None and (not attached_mark or attached_mark in x.stderr):
            held += 1
        elif err[0] is None:
            err[0] = "a session ended: %r" % bytes(x.stderr[-200:]).decode(errors="replace")
    pipe.send(("held", held, len(conns), time.monotonic() - t0, err[0]))
    serve_holder(pipe, cmds[:len(sessions)], received,
                 lambda: sum(1 for x in sessions if not x.closed and x.chan.get_exit_status() is None),
                 lambda i, data: sessions[i].closed or loop.call_soon_threadsafe(sessions[i].chan.write,
                                                                                 data))

    async def close_all():
        for c in conns:
            c.close()
        for c in conns:
            await c.wait_closed()
    asyncio.run_coroutine_threadsafe(close_all(), loop).result(TIMEOUT)
    loop.call_soon_threadsafe(loop.stop)
    th.join(10)
    pipe.send("closed")


def held_by(a):
    """The holder process's function for --client."""
    return holder_asyncssh if a.client == "asyncssh" else holder


class Probe:
    """The measured session: one keystroke at a time, timed until its echo
    comes back.  Every ERASE_EVERY keystrokes the line is erased with Ctrl-U
    (not timed), which keeps it short with little extra output: every byte
    echoed goes to every attached session."""

    ERASE_EVERY = 32    # < the demo guest's LINE_MAX (255)

    def __init__(self, t, command, ready, erase_echo):
        """erase_echo(k): what comes back for Ctrl-U after k characters."""
        self.ch = t.open_session(timeout=TIMEOUT)
        self.ch.get_pty(term="xterm", width=80, height=24)
        self.ch.exec_command(command)
        self.buf = bytearray()
        self.erase_echo = erase_echo
        self.typed = 0
        self.expect(ready)

    def expect(self, pattern, send=None, every=None):
        """Reads until pattern shows in what came since the call began;
        optionally sends `send` first, and again every `every` seconds."""
        start = len(self.buf)
        end = time.monotonic() + TIMEOUT
        next_send = 0
        while pattern not in self.buf[start:]:
            now = time.monotonic()
            if send is not None and now >= next_send:
                self.ch.sendall(send)
                next_send = now + every if every else float("inf")
            if now > end:
                raise RuntimeError("waited %ds for %r; got %r" % (TIMEOUT, pattern, bytes(self.buf[-300:])))
            self.ch.settimeout(min(1, every or 1))
            try:
                d = self.ch.recv(65536)
            except socket.timeout:
                continue
            if not d:
                raise RuntimeError("session closed; got %r" % bytes(self.buf[-300:]))
            self.buf += d
        del self.buf[:-4096]  # keep memory flat over thousands of samples

    def erase(self):
        if self.typed:
            self.ch.sendall(b"\x15")
            self.expect(self.erase_echo(self.typed))
            self.typed = 0

    def keystrokes(self, n, gap=0.0):
        """n keystroke-to-echo times in ms; with gap, that many seconds
        before each key (a person's pace)."""
        out = []
        for i in range(n):
            if self.typed == self.ERASE_EVERY:
                self.erase()
            time.sleep(gap)
            while self.ch.recv_ready():   # nothing pending: the echo is ours
                self.buf += self.ch.recv(65536)
            key = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
            t0 = time.perf_counter()
            self.ch.sendall(key)
            self.expect(key)
            out.append((time.perf_counter() - t0) * 1000)
            self.typed += 1
        self.erase()
        return out

    def close(self):
        self.ch.close()


def from_holder(pipe, proc):
    """The holder's next reply; an error if it died instead."""
    while not pipe.poll(1):
        if not proc.is_alive():
            raise RuntimeError("the session holder died (status %s): see its traceback above"
                               % proc.exitcode)
    return pipe.recv()


# Keys at a person's pace: the fan-out cannot gather keys into one packet
# per viewer (gateway/hub.h, pacing), so each costs every viewer a packet.
PERSON_KEYS, PERSON_GAP = 30, 0.2


def timed_keystrokes(server, probe, n, gap=0.0):
    """probe.keystrokes(n, gap), and the server's CPU time per keystroke (ms),
    less what it used idle for as long as the gaps took."""
    pids = server.pids()
    idle = 0.0
    if gap:
        c0 = cpu_ms(pids)
        time.sleep(n * gap)
        idle = cpu_ms(pids) - c0
    c0 = cpu_ms(pids)
    lat = probe.keystrokes(n, gap)
    return lat, (cpu_ms(pids) - c0 - idle) / n


def console_run(a, server, probe_cmd, ready, erase_echo, hold_cmd, mark, n_sessions):
    """One server: latency with 1 session, then hold n_sessions in all,
    memory before/after, latency again.  Returns a dict of figures."""
    r = {"server": server.name, "asked": n_sessions}
    t = connect(server.port, server.user, server.key)
    probe = Probe(t, probe_cmd, ready, erase_echo)
    if server.name == "vmgated":   # the guest's prompt: Enter until it shows
        probe.expect(PROMPT, send=b"\r", every=5)
    probe.keystrokes(5)            # warm up
    log("  %s: latency, 1 session attached" % server.name)
    r["lat1"], r["cpu1"] = timed_keystrokes(server, probe, a.samples)
    time.sleep(1)
    r["before"] = server.memory()
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    hp = ctx.Process(target=held_by(a),
                     args=(theirs, server.port, server.user, server.key, hold_cmd, n_sessions - 1, mark))
    hp.start()
    log("  %s: opening %d more sessions" % (server.name, n_sessions - 1))
    try:
        _, held, conns, secs, err = from_holder(mine, hp)
        r.update(held=held + 1, conns=conns + 1, open_secs=secs, err=err)
        # What the server said about it, if anything.
        r["why"] = [line for line in server.log().splitlines()
                    if re.search(r"error|fail|cannot|refus|too many|limit|accept", line, re.I)][-3:]
        time.sleep(2)
        r["after"] = server.memory()
        t_after = time.monotonic()
        r["fds"] = fd_count(server.pids())
        if server.name == "vmgated":
            _, out, _ = server.gw.ssh(USER, "status", VM, timeout=TIMEOUT)
            r["status"] = out.strip()
        log("  %s: latency, %d sessions attached" % (server.name, held + 1))
        r["latN"], r["cpuN"] = timed_keystrokes(server, probe, a.samples)
        log("  %s: latency at a person's pace, %d sessions attached" % (server.name, held + 1))
        r["latP"], r["cpuP"] = timed_keystrokes(server, probe, PERSON_KEYS, PERSON_GAP)
        r["later"] = server.memory()
        r["later_secs"] = time.monotonic() - t_after
        mine.send("alive?")
        r["alive_after"] = from_holder(mine, hp) + 1
        mine.send("close")
        from_holder(mine, hp)
    finally:
        hp.join(60)
        if hp.is_alive():
            hp.kill()
        probe.close()
        t.close()
    return r


def qemu_serial_echo(a, pub, key):
    """The fair echo peer: the same demo guest under QEMU microvm (KVM) with
    its serial port on a UNIX socket, reached the way a user without vmgate
    would: OpenSSH's sshd, a session under a pty running
    `socat - UNIX-CONNECT:SOCKET`.  Returns a dict of figures, or one with
    "error" saying why it could not be measured."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_boot  # noqa: E402  (its QEMU command line and CPU probe)
    r = {"server": "qemu microvm serial, sshd + socat"}
    qemu = shutil.which("qemu-system-x86_64")
    socat = shutil.which("socat")
    demo = os.path.join(os.path.dirname(gwharness.VMM), "guest", "vmgate-demo.elf")
    if not qemu or not socat or not os.path.exists(demo):
        r["error"] = "needs qemu-system-x86_64, socat and %s" % demo
        return r
    cpu, tried = bench_boot.probe_qemu_cpu(qemu, 32, demo, bench_boot.DEMO_PROMPT, TIMEOUT)
    if cpu is None:
        r["error"] = "QEMU did not boot the demo guest: %s" % tried
        return r
    r["cpu"] = " ".join(cpu) if cpu else "QEMU's default CPU"
    tmp = tempfile.mkdtemp(prefix="bench-serial-")
    sock = os.path.join(tmp, "serial.sock")
    cmd = bench_boot.qemu_cmd(qemu, cpu, 32, demo)
    cmd[cmd.index("stdio")] = "unix:%s,server=on,wait=off" % sock
    q = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    peer = t = None
    try:
        end = time.monotonic() + TIMEOUT
        while not os.path.exists(sock):
            if q.poll() is not None or time.monotonic() > end:
                r["error"] = "QEMU made no serial socket (status %s)" % q.poll()
                return r
            time.sleep(0.05)
        peer = Sshd(pub, key)
        t = connect(peer.port, peer.user, peer.key)
        probe = Probe(t, "stty raw -echo; echo bench-ready; exec %s - UNIX-CONNECT:%s" % (socat, sock),
                      b"bench-ready", lambda k: b"\b \b" * k)
        probe.expect(PROMPT, send=b"\r", every=5)
        probe.keystrokes(5)
        log("  qemu serial via sshd + socat: latency, 1 session")
        r["lat1"], r["cpu1"] = timed_keystrokes(peer, probe, a.samples)
        probe.close()
    finally:
        if t:
            t.close()
        if peer:
            peer.stop()
        gwharness.stop_process(q)
        shutil.rmtree(tmp, ignore_errors=True)
    return r


def bench_console(a):
    if not gwharness.have_kvm():
        sys.exit("bench_gateway: --part console needs /dev/kvm: run it in tools/kvmbox")
    # vmgated holds a socket per connection and a recording file per
    # session: for 1,000 sessions more than the usual default soft limit of
    # 1024 open files (kvmbox's).  Raise it to the hard limit, as an admin
    # would (LimitNOFILE=); the servers inherit it.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = []
    gw = Vmgated([VM], autostart=True)
    try:
        log("vmgated: waiting for %s's prompt" % VM)
        results.append(console_run(a, gw, VM, b"attached to " + VM.encode(), lambda k: b"\b \b" * k,
                                   VM, b"attached to " + VM.encode(), a.sessions))
        gw.stop()   # one server at a time; keep its folder: the client key is there
        peer = Sshd(gw.pub, gw.key)
        try:
            results.append(console_run(a, peer, "stty raw -echo; echo bench-ready; exec cat",
                                       b"bench-ready", lambda k: b"\x15", "cat", None, a.peer_sessions))
        finally:
            peer.stop()
        fair = qemu_serial_echo(a, gw.pub, gw.key)
    finally:
        gw.cleanup()
    report_console(a, results, (soft, hard))
    report_fair_echo(results[0], fair)


def report_fair_echo(gw, fair):
    print("\nfair echo comparison (issue 9): the same demo guest, one session, %d keystrokes"
          % len(gw["lat1"]))
    print("  vmgated: paramiko -> vmgated -> vmgate-vmm's UART -> the guest's shell, and back")
    print("  qemu microvm serial: paramiko -> OpenSSH sshd -> a pty -> socat -> QEMU's serial socket"
          " -> the guest's shell, and back")
    if "error" in fair:
        print("  %s: not measured: %s" % (fair["server"], fair["error"]))
        return
    print("  QEMU's CPU model: %s; server CPU: vmgated's, or the sshd processes' (not socat's or QEMU's)"
          % fair["cpu"])
    print("%-36s %9s %9s %9s %9s %14s" % ("path", "p50 ms", "p99 ms", "min ms", "max ms", "CPU ms/key"))
    for name, lat, cpu in (("vmgated", gw["lat1"], gw["cpu1"]),
                           (fair["server"], fair["lat1"], fair["cpu1"])):
        print("%-36s %9.2f %9.2f %9.2f %9.2f %14.2f" % (name, pct(lat, 50), pct(lat, 99), min(lat),
                                                       max(lat), cpu))
    print("target: vmgated's p50 and p99 below the QEMU serial path's")


def held_client(a):
    """The held sessions' client and cipher, as the reports name them."""
    if a.client == "asyncssh":
        return "asyncssh (%s)" % ASYNCSSH_CIPHER
    return "paramiko (aes128-ctr + hmac-sha2-256-etm@openssh.com: the first of its MACs vmgated offers)"


def report_console(a, results, nofile):
    kvm = os.environ.get("KVMBOX")
    print()
    if kvm:
        print("NOTE: measured inside tools/kvmbox: the whole machine is QEMU TCG and the VM runs on nested,")
        print("      emulated KVM (every VM exit ~1 ms, serial ~10 KB/s).  These latencies and open times are")
        print("      NOT representative of a hardware KVM host.  Memory and fd figures are those of the same")
        print("      binaries and carry over.")
    print("console sessions held on one VM's console (demo guest), open files limit raised %d -> %d"
          % nofile)
    print("  vmgated: %s sessions `exec %s`, %d per connection; openssh sshd: sessions running `cat`"
          " (MaxSessions %d)" % (held_client(a), VM, PER_CONN, PER_CONN))
    print("  memory: the gateway process alone (vmgated) / the sum over sshd's listener and per-connection")
    print("  processes (openssh); before = 1 session attached, after = all of them (2 s after the last")
    print("  attached); KiB per added session.  A sum of VmRSS counts shared pages once per process;")
    print("  Private (smaps_rollup) does not.  fds: open file descriptors with all sessions attached")
    print("%-14s %6s %5s %5s %8s %8s %8s %8s %8s %9s %5s %6s" % (
        "server", "asked", "held", "conns", "RSS0 KiB", "RSS1 KiB", "RSS/sess", "Prv0 KiB",
        "Prv1 KiB", "Prv/sess", "fds", "open s"))
    for r in results:
        added = max(r["held"] - 1, 1)
        b, f = r["before"][0], r["after"][0]
        print("%-14s %6d %5d %5d %8d %8d %8.1f %8d %8d %9.1f %5d %6.1f" % (
            r["server"], r["asked"], r["held"], r["conns"], b["rss"], f["rss"], (f["rss"] - b["rss"]) / added,
            b["priv"], f["priv"], (f["priv"] - b["priv"]) / added, r["fds"], r["open_secs"]))
    for r in results:
        added = max(r["held"] - 1, 1)
        b, f, l8 = r["before"][0], r["after"][0], r["later"][0]
        if r["held"] < r["asked"]:
            print("  %s held %d of %d: %s" % (r["server"], r["held"], r["asked"], r["err"]))
            for line in r["why"]:
                print("    its log: %s" % line.strip())
        elif r["err"]:
            print("  %s: %s" % (r["server"], r["err"]))
        if r["alive_after"] != r["held"]:
            print("  %s: only %d of %d sessions were still open after the latency run"
                  % (r["server"], r["alive_after"], r["held"]))
        if r.get("status"):
            print("  vmgated says: %s" % r["status"])
        print("  %s: heap address space %d -> %d KiB (%.1f KiB/session; only touched pages are resident);"
              % (r["server"], b["heap"], f["heap"], (f["heap"] - b["heap"]) / added))
        print("    %.0f s later, after the latency run: Private %d KiB (%.1f KiB/session), of which"
              " AnonHugePages %d KiB" % (r["later_secs"], l8["priv"], (l8["priv"] - b["priv"]) / added,
                                         l8["thp"]))
        o = r["after"][1]
        if o:
            print("  %s: besides, %d session processes (shell/cat): VmRSS %d KiB, Private %d KiB"
                  % (r["server"], o["n"], o.get("rss", 0), o.get("priv", 0)))
    print("  transparent huge pages here: %s.  With `always`, khugepaged may back a sparse heap with 2 MiB"
          % thp_mode())
    print("  pages some time after it grew, which makes untouched address space resident (AnonHugePages).")
    if a.peer_sessions != a.sessions:
        print("  openssh sshd measured with %d sessions, not %d (--peer-sessions)" % (a.peer_sessions, a.sessions))
    print("\nkeystroke-to-echo latency, %d keystrokes each: paramiko sends one character, waits for its echo"
          % a.samples)
    print("  vmgated: through the gateway, the VM's UART and the demo guest's shell, and back; the other")
    print("  sessions attached to the same console receive every echo too")
    print("  openssh sshd: `stty raw -echo; exec cat` under a pty; the other sessions are idle `cat`s")
    print("  server CPU: vmgated's, or the sshd processes' (not cat's), per keystroke (with its Ctrl-U share)")
    print("%-14s %9s %9s %9s %9s %9s %14s" % ("server", "attached", "p50 ms", "p99 ms", "min ms", "max ms",
                                            "CPU ms/key"))
    for r in results:
        for n, lat, cpu in ((1, r["lat1"], r["cpu1"]), (r["held"], r["latN"], r["cpuN"])):
            print("%-14s %9d %9.2f %9.2f %9.2f %9.2f %14.2f" % (r["server"], n, pct(lat, 50), pct(lat, 99),
                                                                min(lat), max(lat), cpu))
    print("  at a person's pace: %d keystrokes %d ms apart (the CPU the server used idle for as long is"
          % (PERSON_KEYS, PERSON_GAP * 1000))
    print("  taken off): vmgated cannot gather keys into one packet per viewer, every viewer gets each echo")
    for r in results:
        lat = r["latP"]
        print("%-14s %9d %9.2f %9.2f %9.2f %9.2f %14.2f" % (r["server"], r["held"], pct(lat, 50), pct(lat, 99),
                                                            min(lat), max(lat), r["cpuP"]))
    for r in results:
        if r["server"] == "vmgated":
            ok = r["cpuN"] <= 3 and pct(r["latN"], 99) < 20
            print("target (issue 9): with %d viewers at most 3 ms of gateway CPU per keystroke and p99 under"
                  " 20 ms: %.2f ms, p99 %.2f ms: %s" % (r["held"], r["cpuN"], pct(r["latN"], 99),
                                                        "met" if ok else "NOT met"))



# -- part 3: many VMs ---------------------------------------------------------

def exec_out(t, cmd):
    """Runs a gateway command on transport t; its stdout as text."""
    ch = t.open_session(timeout=TIMEOUT)
    ch.settimeout(TIMEOUT)
    ch.exec_command(cmd)
    out = bytearray()
    while True:
        d = ch.recv(65536)
        if not d:
            break
        out += d
    st = ch.recv_exit_status()
    ch.close()
    if st != 0:
        raise RuntimeError("`%s`: exit %d: %s" % (cmd, st, out.decode(errors="replace")))
    return out.decode(errors="replace")


def settled_priv(pid, timeout=60):
    """The gateway's Private KiB once two readings 2 s apart agree (or after
    timeout s: boot output may still be arriving), and the readings seen."""
    seen = [mem_kib(pid)["priv"]]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        time.sleep(2)
        seen.append(mem_kib(pid)["priv"])
        if seen[-1] == seen[-2]:
            break
    return seen[-1], seen


def bench_vms(a):
    """N demo VMs, a.per_vm console sessions on each: the gateway's memory
    per VM and per session, and echo latency on one VM chosen at random
    while the others print (issue 9, "Scale across VMs")."""
    import random
    if not gwharness.have_kvm():
        sys.exit("bench_gateway: --part vms needs /dev/kvm: run it in tools/kvmbox")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    names = ["vm%d" % i for i in range(1, a.vms + 1)]
    target = random.Random(a.seed).choice(names)
    r = {"target": target}
    # Baseline for a configured VM: the same gateway with one VM, not started.
    # Each baseline after a login and `list` (the first key exchange sets up
    # libssh and libcrypto) and once the figure holds still (the host keys
    # made at the first start leave freed memory behind for a while).
    one = Vmgated(names[:1], autostart=False, memory=a.vm_memory, display=a.vm_display)
    try:
        t = connect(one.port, one.user, one.key)
        exec_out(t, "list")
        r["m_one"], _ = settled_priv(one.pid)
        t.close()
    finally:
        one.cleanup()
    gw = Vmgated(names, autostart=False, memory=a.vm_memory, display=a.vm_display)
    t = probe = hp = mine = None
    try:
        t = connect(gw.port, gw.user, gw.key)
        exec_out(t, "list")
        r["m_cfg"], _ = settled_priv(gw.pid)
        log("vmgated: starting %d VMs" % a.vms)
        t0 = time.monotonic()
        for v in names:
            exec_out(t, "power %s start" % v)
        end = time.monotonic() + TIMEOUT
        while True:
            listing = exec_out(t, "list")
            up = [v for v in names if re.search(r"^%s\s+running\b" % v, listing, re.M)]
            if len(up) == len(names):
                break
            if time.monotonic() > end:
                raise RuntimeError("after %ds only %d of %d VMs run:\n%s"
                                   % (TIMEOUT, len(up), len(names), listing))
            time.sleep(1)
        r["start_secs"] = time.monotonic() - t0
        r["m_run"], r["run_seen"] = settled_priv(gw.pid)
        r["monitors"] = [p for p in descendants(gw.pid) if p != gw.pid]
        mon = [mem_kib(p) for p in r["monitors"]]
        r["mon_priv"] = sum(m["priv"] for m in mon) / max(len(mon), 1)

        # The measured session: one of the target's per_vm sessions.
        probe = Probe(t, target, b"attached to " + target.encode(), lambda k: b"\b \b" * k)
        probe.expect(PROMPT, send=b"\r", every=5)
        probe.keystrokes(5)   # warm up
        cmds = [target] * (a.per_vm - 1) + [v for v in names if v != target for _ in range(a.per_vm)]
        ctx = multiprocessing.get_context("spawn")
        mine, theirs = ctx.Pipe()
        hp = ctx.Process(target=held_by(a),
                         args=(theirs, gw.port, gw.user, gw.key, cmds, len(cmds),
                                              b"attached to "))
        hp.start()
        log("vmgated: opening %d more console sessions" % len(cmds))
        _, held, conns, secs, err = from_holder(mine, hp)
        r.update(sessions=held + 1, asked=len(cmds) + 1, conns=conns + 1, open_secs=secs, err=err)
        r["m_sess"], r["sess_seen"] = settled_priv(gw.pid, 20)

        log("vmgated: latency on %s, the other VMs idle" % target)
        c0, w0 = cpu_ms(gw.pids()), time.monotonic()
        r["lat_idle"] = probe.keystrokes(a.samples)
        r["cpu_idle"] = (cpu_ms(gw.pids()) - c0) / a.samples

        others = [v for v in names if v != target]
        if others:
            mine.send(("type", b"bulk 1024M\r", others))
            from_holder(mine, hp)
            time.sleep(3)   # the output is flowing
        log("vmgated: latency on %s, %d other VMs printing `bulk 1024M`" % (target, len(others)))
        mine.send("bytes?")
        b0 = from_holder(mine, hp)
        c0, w0 = cpu_ms(gw.pids()), time.monotonic()
        # --samples keystrokes, over at least 10 s of the others printing
        r["lat_bulk"] = []
        while len(r["lat_bulk"]) < a.samples or time.monotonic() - w0 < 10:
            r["lat_bulk"] += probe.keystrokes(min(a.samples, 25))
        r["bulk_secs"] = time.monotonic() - w0
        r["cpu_bulk_pct"] = (cpu_ms(gw.pids()) - c0) / 10 / r["bulk_secs"]
        mine.send("bytes?")
        r["bulk_bytes"] = from_holder(mine, hp) - b0
        r["m_bulk"] = mem_kib(gw.pid)["priv"]
        if others:
            mine.send(("type", b"\x03", others))   # Ctrl-C ends bulk
            from_holder(mine, hp)
        mine.send("alive?")
        r["alive_after"] = from_holder(mine, hp) + 1
        mine.send("close")
        from_holder(mine, hp)
    finally:
        if hp is not None:
            hp.join(60)
            if hp.is_alive():
                hp.kill()
        if probe:
            probe.close()
        if t:
            t.close()
        gw.cleanup()
    report_vms(a, r, (soft, hard))


def report_vms(a, r, nofile):
    print()
    if os.environ.get("KVMBOX"):
        print("NOTE: measured inside tools/kvmbox: one emulated CPU runs the VMs (nested, emulated KVM), the")
        print("      gateway and the clients.  Latencies are NOT representative of a hardware KVM host; the")
        print("      gateway's memory figures are those of the same binary and carry over.")
    print("scale across VMs (issue 9): %d demo VMs (memory %s, display %s), %d console sessions each"
          % (a.vms, a.vm_memory, a.vm_display or "default", a.per_vm))
    print("  (paramiko `exec VM`, %d channels per connection); open files limit %d -> %d" % ((PER_CONN,) + nofile))
    print("  the display lives in each monitor, not in the gateway: `none` keeps the box's memory and CPU")
    print("  for the VMs without changing what the gateway holds")
    print("  gateway memory: Private_Clean + Private_Dirty of vmgated (smaps_rollup), KiB")
    n, s = a.vms, r["sessions"]
    rows = [
        ("vmgated, 1 VM configured, not started", r["m_one"], None),
        ("vmgated, %d VMs configured, not started" % n, r["m_cfg"],
         "%.1f KiB per configured VM" % ((r["m_cfg"] - r["m_one"]) / max(n - 1, 1))),
        ("%d VMs running (booted, settled)" % n, r["m_run"],
         "%.1f KiB per running VM (control channel, hub)" % ((r["m_run"] - r["m_cfg"]) / n)),
        ("%d console sessions held (%d connections)" % (s, r["conns"]), r["m_sess"],
         "%.1f KiB per session" % ((r["m_sess"] - r["m_run"]) / s)),
        ("after %.0f s of the others printing" % r["bulk_secs"], r["m_bulk"],
         "%.1f KiB per session" % ((r["m_bulk"] - r["m_run"]) / s)),
    ]
    for what, kib, per in rows:
        print("  %-46s %8d KiB   %s" % (what, kib, per or ""))
    print("  all VMs running after %.1f s; each monitor's own Private %.0f KiB (not the gateway's)"
          % (r["start_secs"], r["mon_priv"]))
    print("  %d of %d sessions held, opened in %.1f s%s" % (s, r["asked"], r["open_secs"],
                                                           "; " + r["err"] if r["err"] else ""))
    if r["alive_after"] != s:
        print("  only %d of %d sessions were still open at the end" % (r["alive_after"], s))
    print("\necho latency on %s (chosen at random, --seed %d), %d and %d keystrokes, paramiko one character"
          % (r["target"], a.seed, len(r["lat_idle"]), len(r["lat_bulk"])))
    print("  at a time; the target's other %d sessions receive every echo too" % (a.per_vm - 1))
    print("%-34s %9s %9s %9s %9s" % ("the other VMs", "p50 ms", "p99 ms", "min ms", "max ms"))
    for what, lat in (("idle", r["lat_idle"]), ("printing `bulk 1024M`", r["lat_bulk"])):
        print("%-34s %9.2f %9.2f %9.2f %9.2f" % (what, pct(lat, 50), pct(lat, 99), min(lat), max(lat)))
    print("  while they printed: the sessions received %.1f KiB/s in all; vmgated used %.1f%% of a CPU"
          % (r["bulk_bytes"] / 1024 / r["bulk_secs"], r["cpu_bulk_pct"]))
    print("  (idle: %.2f ms of vmgated CPU per keystroke)" % r["cpu_idle"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("connect", "setup", "console", "vms", "all"), default="all",
                    help="all: connect and setup, then console if /dev/kvm works here")
    ap.add_argument("--build", default=gwharness.BUILD, help="the build folder (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=30, help="connection round trips per server")
    ap.add_argument("--sessions", type=int, default=1000, help="console sessions to hold on vmgated")
    ap.add_argument("--peer-sessions", type=int, help="sessions to hold on sshd (default: --sessions)")
    ap.add_argument("--samples", type=int, default=200, help="keystrokes per latency figure")
    ap.add_argument("--client", choices=("paramiko", "asyncssh"), default="paramiko",
                    help="--part console/vms: the client of the held sessions (asyncssh: %s, as OpenSSH's "
                         "client would pick)" % ASYNCSSH_CIPHER)
    ap.add_argument("--vms", type=int, default=100, help="--part vms: demo VMs")
    ap.add_argument("--sessions-per-vm", dest="per_vm", type=int, default=5,
                    help="--part vms: console sessions on each VM")
    ap.add_argument("--vm-memory", default="16M", help="--part vms: each VM's memory")
    ap.add_argument("--vm-display", default="none",
                    help="--part vms: each VM's display (none, or WxH; the default: 1024x768)")
    ap.add_argument("--seed", type=int, default=int(time.time()),
                    help="--part vms: picks the measured VM (default: the time)")
    a = ap.parse_args()
    if a.peer_sessions is None:
        a.peer_sessions = a.sessions
    if a.vm_display == "default":
        a.vm_display = None
    if (a.sessions < 1 or a.peer_sessions < 1 or a.runs < 1 or a.samples < 1 or a.vms < 1
            or a.per_vm < 1):
        ap.error("counts must be at least 1")
    build = os.path.abspath(a.build)
    gwharness.VMGATED = os.path.join(build, "gateway", "vmgated")
    gwharness.VMM = os.path.join(build, "vmm-core", "vmgate-vmm")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on kill
    if a.part in ("connect", "all"):
        if os.environ.get("KVMBOX"):
            log("bench_gateway: note: connection round trips inside kvmbox are emulated")
        bench_connect(a)
    if a.part in ("setup", "all"):
        bench_setup(a)
    if a.part == "vms":
        bench_vms(a)
        return 0
    if a.part == "console" or (a.part == "all" and gwharness.have_kvm()):
        bench_console(a)
    elif a.part == "all":
        print("\n(console sessions and latency need /dev/kvm: run --part console in tools/kvmbox)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
