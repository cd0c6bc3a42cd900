#!/usr/bin/python3
"""Boot benchmark: vmgate-vmm vs QEMU microvm vs a bare KVM program, in one run.

Peers, each started N times (after one unmeasured run that warms the page
cache), timed from just before fork/exec to the first byte on their stdout
and to the guest's marker:
  * kvm_bare (tests/bench/kvm_bare.c): the floor; a VM, one slot, one vCPU,
    one `out` to COM1, the byte written to stdout;
  * the trivial PVH guest (tests/pvh-tiny, "pvh-tiny: hello") and the demo
    guest (its prompt "demo$ "), each on vmgate-vmm and on QEMU microvm
    (same ELF via -kernel, -accel kvm).
Memory: once the demo guest is at its prompt, the monitor's private memory
from /proc/PID/smaps (Private_Clean + Private_Dirty of every mapping) minus
the guest-RAM mapping, which both monitors back with a memfd (vmgate-vmm's
"vmgate-ram"; QEMU gets -object memory-backend-memfd): that is the monitor
overhead.  Kernel memory (KVM's vCPU and page-table state) is in neither.

QEMU's CPU model is chosen by a probe: `-cpu host`, else
`-cpu host,-arch-capabilities` (PVM hosts: QEMU cannot set MSR 0x10a), else
QEMU's default; the table says which.  A peer that fails is a row saying why.
It is a benchmark: it prints figures and whether the issue's targets are met,
and exits 1 only if a peer failed (so a broken bench is loud).
"""
import argparse
import math
import os
import select
import statistics
import subprocess
import sys
import tempfile
import time

DEMO_PROMPT = b"demo$ "
TINY_HELLO = b"pvh-tiny: hello"
BARE_BYTE = b"x"

# The targets (issue 7, Benchmark).
TARGET_QEMU_RATIO = 20.0  # first byte, trivial guest: QEMU / vmgate-vmm >=
TARGET_BARE_RATIO = 2.0  # first byte, trivial guest: vmgate-vmm / bare <=
TARGET_OVERHEAD_KIB = 1024  # monitor overhead, demo guest at its prompt <


class PeerFailed(Exception):
    pass


def in_kvmbox():
    return bool(os.environ.get("KVMBOX"))


def kvm_kind():
    """One line: which KVM this runs on."""
    if in_kvmbox():
        return ("kvmbox: nested kvm-amd inside QEMU TCG (no usable host KVM); "
                "every guest instruction is emulated, times are not representative")
    if not os.path.exists("/dev/kvm"):
        return "this host, which has no /dev/kvm (run through tests/bench/run.sh)"
    for mod, kind in (("kvm_pvm", "PVM"), ("kvm_intel", "kvm_intel"), ("kvm_amd", "kvm_amd")):
        if os.path.exists("/sys/module/" + mod):
            return "the host's /dev/kvm (%s)" % kind
    return "the host's /dev/kvm"


def tail(data, n=300):
    text = data[-n:].decode("utf-8", "replace")
    return " ".join(text.split())


def start(cmd):
    """Starts CMD with stdout on a pipe, stderr in a file; returns (p, errf, t0)."""
    errf = tempfile.TemporaryFile()
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errf)
    except OSError as e:
        errf.close()
        raise PeerFailed("cannot start %s: %s" % (cmd[0], e))
    return p, errf, t0


def stop(p, errf):
    if p.poll() is None:
        p.kill()
    p.wait()
    p.stdout.close()
    p.stdin.close()
    errf.close()


def why_failed(p, errf, out, what):
    """A one-line reason: what was missing, exit status, stderr and stdout tails."""
    if p.poll() is None:
        p.kill()
    status = p.wait()
    errf.seek(0)
    err = errf.read()
    parts = [what, "exit status %d" % status if status >= 0 else "killed by signal %d" % -status]
    if err.strip():
        parts.append("stderr: " + tail(err))
    if out:
        parts.append("stdout: " + tail(out, 120))
    return "; ".join(parts)


def read_until(p, errf, t0, marker, timeout):
    """Reads stdout until MARKER; returns (first byte s, marker s, output)."""
    out = b""
    first = None
    fd = p.stdout.fileno()
    while True:
        left = t0 + timeout - time.monotonic()
        if left <= 0:
            raise PeerFailed(why_failed(p, errf, out, "no %r within %g s" % (marker.decode(), timeout)))
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        data = os.read(fd, 65536)
        now = time.monotonic()
        if not data:
            raise PeerFailed(why_failed(p, errf, out, "exited before %r" % marker.decode()))
        if first is None:
            first = now - t0
        out += data
        if marker in out:
            return first, now - t0, out


def smaps_memory(pid, ram_tag):
    """Private KiB of PID split into guest RAM (the mapping named RAM_TAG),
    other anonymous and file-backed mappings; raises if no RAM mapping."""
    mem = {"ram": 0, "ram_rss": 0, "anon": 0, "file": 0}
    where = None
    found = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            fields = line.split()
            if not fields:
                continue
            if "-" in fields[0] and not fields[0].endswith(":"):
                # A mapping header: range perms offset dev inode [path].
                path = " ".join(fields[5:]) if len(fields) > 5 else ""
                if ram_tag in path:
                    where, found = "ram", True
                elif path == "" or path.startswith("[") or path.startswith("anon_inode:") \
                        or path.startswith("/memfd:"):
                    where = "anon"
                else:
                    where = "file"
                continue
            if fields[0] in ("Private_Clean:", "Private_Dirty:"):
                mem[where] += int(fields[1])
            elif fields[0] == "Rss:" and where == "ram":
                mem["ram_rss"] += int(fields[1])
    if not found:
        raise PeerFailed("no guest-RAM mapping %r in /proc/%d/smaps" % (ram_tag, pid))
    return mem


def one_run(peer, timeout, measure_mem):
    p, errf, t0 = start(peer["cmd"])
    try:
        first, mark, _ = read_until(p, errf, t0, peer["marker"], timeout)
        mem = None
        if measure_mem:
            time.sleep(0.3)  # let the guest settle at its prompt
            if p.poll() is not None:
                raise PeerFailed(why_failed(p, errf, b"", "exited at its prompt"))
            mem = smaps_memory(p.pid, peer["ram_tag"])
        if peer.get("detail"):
            # kvm_bare's own line: each step's time since its main().
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise PeerFailed(why_failed(p, errf, b"", "still running after its byte"))
            errf.seek(0)
            lines = errf.read().decode("utf-8", "replace").strip().splitlines()
            if p.returncode != 0 or not lines:
                raise PeerFailed(why_failed(p, errf, b"", "after its byte"))
            peer["detail"] = lines[-1]
        if peer.get("exits"):
            # vmgate-vmm ends when the trivial guest powers off: status 0.
            try:
                status = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise PeerFailed(why_failed(p, errf, b"", "still running %g s after the guest's poweroff" % timeout))
            if status != 0:
                raise PeerFailed(why_failed(p, errf, b"", "guest poweroff"))
        return first * 1000, mark * 1000, mem
    finally:
        stop(p, errf)


def p90(xs):
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def summarize(peer):
    """Turns peer['runs'] into peer['result'] (the figures of the table)."""
    rs = peer["runs"]
    res = {
        "first": statistics.median(r[0] for r in rs), "first90": p90(r[0] for r in rs),
        "mark": statistics.median(r[1] for r in rs), "mark90": p90(r[1] for r in rs),
    }
    if peer.get("mem"):
        # Memory varies little run to run; report the largest.
        res["overhead"] = max(r[2]["anon"] + r[2]["file"] for r in rs)
        res["anon"] = max(r[2]["anon"] for r in rs)
        res["file"] = max(r[2]["file"] for r in rs)
        res["ram_rss"] = max(r[2]["ram_rss"] for r in rs)
    peer["result"] = res


def measure(peers, runs, timeout):
    """One unmeasured run of each peer (warms the page cache), then RUNS
    rounds with one run of each: a load that changes during the benchmark
    then weighs on every peer alike.  A peer that fails gets peer['error']
    and leaves; the others get peer['result']."""
    for rnd in range(runs + 1):
        live = [p for p in peers if "error" not in p]
        if not live:
            break
        print("bench_boot: %s: %s" % ("warm-up run" if rnd == 0 else "round %d of %d" % (rnd, runs),
                                      ", ".join(p["label"] for p in live)),
              file=sys.stderr, flush=True)
        for peer in live:
            try:
                r = one_run(peer, timeout, rnd > 0 and peer.get("mem", False))
            except PeerFailed as e:
                peer["error"] = "run %d: %s" % (rnd, e) if rnd else "warm-up run: %s" % e
                continue
            if rnd > 0:
                peer.setdefault("runs", []).append(r)
    for peer in peers:
        if "error" not in peer:
            summarize(peer)


def qemu_cmd(qemu, cpu, mem_mib, kernel):
    return [qemu, "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on,memory-backend=ram",
            "-object", "memory-backend-memfd,id=ram,size=%dM" % mem_mib,
            "-accel", "kvm"] + cpu + ["-m", str(mem_mib), "-nodefaults", "-no-user-config",
                                      "-display", "none", "-serial", "stdio", "-kernel", kernel]


def probe_qemu_cpu(qemu, mem_mib, kernel, marker, timeout):
    """The first CPU model with which QEMU boots KERNEL to MARKER.
    Returns (cpu args or None, list of (label, outcome))."""
    tried = []
    for cpu in (["-cpu", "host"], ["-cpu", "host,-arch-capabilities"], []):
        label = " ".join(cpu) if cpu else "(QEMU's default CPU)"
        t = time.monotonic()
        try:
            p, errf, t0 = start(qemu_cmd(qemu, cpu, mem_mib, kernel))
            try:
                read_until(p, errf, t0, marker, timeout)
            finally:
                stop(p, errf)
        except PeerFailed as e:
            tried.append((label, "failed: " + str(e)))
            continue
        tried.append((label, "ok in %.0f ms" % ((time.monotonic() - t) * 1000)))
        return cpu, tried
    return None, tried


def qemu_version(qemu):
    try:
        out = subprocess.run([qemu, "--version"], capture_output=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return "%s --version: %s" % (qemu, e)
    lines = out.decode("utf-8", "replace").splitlines()
    return lines[0] if lines else "%s: no version" % qemu


def fmt_ms(v):
    return "%.1f" % v


def print_table(peers, runs, mem_mib):
    hdr = ("peer", "guest", "1st byte ms", "p90", "marker ms", "p90", "overhead KiB",
           "anon", "file", "guest RAM KiB")
    w = (24, 10, 12, 9, 11, 9, 13, 7, 7, 14)
    line = lambda cols: "  ".join(str(c).rjust(wi) if i > 1 else str(c).ljust(wi)
                                  for i, (c, wi) in enumerate(zip(cols, w)))
    print(line(hdr))
    for peer in peers:
        if "error" in peer:
            print(line((peer["name"], peer["guest"], "FAILED", "", "", "", "", "", "", "")))
            print("    why: " + peer["error"])
            continue
        r = peer["result"]
        cols = [peer["name"], peer["guest"], fmt_ms(r["first"]), fmt_ms(r["first90"])]
        cols += [fmt_ms(r["mark"]), fmt_ms(r["mark90"])] if peer["marker"] != BARE_BYTE else ["-", "-"]
        if "overhead" in r:
            cols += [r["overhead"], r["anon"], r["file"], r["ram_rss"]]
        else:
            cols += ["-", "-", "-", "-"]
        print(line(cols))
    print("markers: bare = its byte 'x'; tiny = %r; demo = the prompt %r. Times from fork/exec, "
          "median and p90 (nearest rank) of %d rounds (one run of each peer) after a warm-up round; %d MiB guests."
          % (TINY_HELLO.decode(), DEMO_PROMPT.decode(), runs, mem_mib))
    for peer in peers:
        if isinstance(peer.get("detail"), str) and "result" in peer:
            print("%s, last run: %s" % (peer["name"], peer["detail"]))
    print("overhead = Private_Clean+Private_Dirty over every mapping but the guest-RAM memfd "
          "(anon: heap, stacks, data, anonymous; file: the binary, libraries, the mapped kernel "
          "file), demo guest at its prompt, largest of the runs; guest RAM = Rss of the guest-RAM "
          "mapping (what the guest touched).  File-backed pages are shared by every "
          "monitor running the same binary; anon is what each further VM costs.")


def verdict(ok):
    return "met" if ok else "NOT met"


def print_targets(by):
    bare, vt, qt, vd, qd = (by.get(k, {}).get("result") for k in
                            ("bare", "vmgate-tiny", "qemu-tiny", "vmgate-demo", "qemu-demo"))
    print("targets (issue 7):")
    if vt and qt:
        r = qt["first"] / vt["first"]
        print("  first byte, trivial guest: QEMU microvm / vmgate-vmm = %.1fx (want >= %gx): %s"
              % (r, TARGET_QEMU_RATIO, verdict(r >= TARGET_QEMU_RATIO)))
    else:
        print("  first byte vs QEMU, trivial guest: not measured (a peer failed)")
    if vt and bare:
        r = vt["first"] / bare["first"]
        print("  first byte, trivial guest: vmgate-vmm / bare KVM = %.2fx (want <= %gx): %s"
              % (r, TARGET_BARE_RATIO, verdict(r <= TARGET_BARE_RATIO)))
    else:
        print("  first byte vs bare KVM: not measured (a peer failed)")
    if vd and "overhead" in vd:
        print("  monitor overhead, demo guest at its prompt: %d KiB (want < %d KiB): %s%s"
              % (vd["overhead"], TARGET_OVERHEAD_KIB, verdict(vd["overhead"] < TARGET_OVERHEAD_KIB),
                 "; QEMU microvm: %d KiB" % qd["overhead"] if qd and "overhead" in qd else ""))
    else:
        print("  monitor overhead: not measured (vmgate-vmm failed with the demo guest)")
    if vd and qd:
        print("  demo guest: QEMU / vmgate-vmm = %.1fx to the first byte, %.1fx to the prompt"
              % (qd["first"] / vd["first"], qd["mark"] / vd["mark"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="build directory (binaries and guests)")
    ap.add_argument("--vmm", help="default: BUILD/vmm-core/vmgate-vmm")
    ap.add_argument("--guest", help="demo guest; default: BUILD/vmm-core/guest/vmgate-demo.elf")
    ap.add_argument("--tiny", help="trivial PVH guest; default: BUILD/tests/pvh-tiny/pvh-tiny64.elf")
    ap.add_argument("--bare", help="default: BUILD/tests/bench/vmgate-kvm-bare")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--mem", type=int, default=64, help="guest MiB (default 64)")
    ap.add_argument("--timeout", type=float,
                    help="seconds a boot may take (default 30, 300 in kvmbox)")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    b = a.build
    vmm = a.vmm or os.path.join(b, "vmm-core/vmgate-vmm")
    demo = a.guest or os.path.join(b, "vmm-core/guest/vmgate-demo.elf")
    tiny = a.tiny or os.path.join(b, "tests/pvh-tiny/pvh-tiny64.elf")
    bare = a.bare or os.path.join(b, "tests/bench/vmgate-kvm-bare")
    timeout = a.timeout or (300.0 if in_kvmbox() else 30.0)
    mem = "%dM" % a.mem

    print("boot benchmark on %s" % kvm_kind())
    if os.environ.get("VMGATE_KVM") and not in_kvmbox():
        print("VMGATE_KVM=%s" % os.environ["VMGATE_KVM"])
    sys.stdout.flush()

    missing = {}
    for what, path in (("vmgate-vmm", vmm), ("demo guest", demo), ("trivial guest", tiny),
                       ("kvm_bare", bare)):
        if not os.path.isfile(path):
            missing[path] = "%s not built: %s does not exist" % (what, path)

    # QEMU's CPU model, by a probe boot of the trivial guest (the demo guest
    # while the trivial one is missing).
    probe_kernel, probe_marker = (tiny, TINY_HELLO) if tiny not in missing else (demo, DEMO_PROMPT)
    qemu_cpu, tried = None, []
    qemu_error = None
    if probe_kernel in missing:
        qemu_error = missing[probe_kernel]
    else:
        # A second or two on a working host KVM; a hang should not cost the
        # whole boot timeout there (in kvmbox everything is slow).
        probe_timeout = timeout if in_kvmbox() else min(timeout, 10.0)
        qemu_cpu, tried = probe_qemu_cpu(a.qemu, a.mem, probe_kernel, probe_marker, probe_timeout)
        if qemu_cpu is None:
            qemu_error = "no CPU model boots the probe (see the QEMU CPU probe above)"
    print("QEMU CPU probe (%s; boot of %s to %r):"
          % (qemu_version(a.qemu), os.path.basename(probe_kernel), probe_marker.decode()))
    for label, outcome in tried:
        print("  %s: %s" % (label, outcome))
    if qemu_cpu is not None:
        print("  using %s" % (" ".join(qemu_cpu) or "QEMU's default CPU"))
    sys.stdout.flush()

    def vmm_peer(key, kernel, marker, **kw):
        return dict(key=key, name="vmgate-vmm", cmd=[vmm, "--kernel", kernel, "--mem", mem],
                    marker=marker, ram_tag="memfd:vmgate-ram", needs=(vmm, kernel), **kw)

    def qemu_peer(key, kernel, marker, **kw):
        cpu = " ".join(qemu_cpu) if qemu_cpu else ""
        return dict(key=key, name=("qemu microvm " + cpu).strip(),
                    cmd=qemu_cmd(a.qemu, qemu_cpu or [], a.mem, kernel), marker=marker,
                    ram_tag="memfd:memory-backend-memfd", needs=(kernel,), qemu=True, **kw)

    peers = [
        dict(key="bare", name="kvm_bare (floor)", guest="-", cmd=[bare], marker=BARE_BYTE,
             needs=(bare,), detail=True),
        vmm_peer("vmgate-tiny", tiny, TINY_HELLO, guest="tiny", exits=True),
        qemu_peer("qemu-tiny", tiny, TINY_HELLO, guest="tiny"),
        vmm_peer("vmgate-demo", demo, DEMO_PROMPT, guest="demo", mem=True),
        qemu_peer("qemu-demo", demo, DEMO_PROMPT, guest="demo", mem=True),
    ]
    for peer in peers:
        peer["label"] = peer["name"] + ("" if peer["guest"] == "-" else " (%s)" % peer["guest"])
        gone = [missing[n] for n in peer["needs"] if n in missing]
        if gone:
            peer["error"] = "; ".join(gone)
        elif peer.get("qemu") and qemu_error:
            peer["error"] = qemu_error
    measure(peers, a.runs, timeout)

    print()
    print_table(peers, a.runs, a.mem)
    print()
    print_targets({p["key"]: p for p in peers})
    return 1 if any("error" in p for p in peers) else 0


if __name__ == "__main__":
    sys.exit(main())
