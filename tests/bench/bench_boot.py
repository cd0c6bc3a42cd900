#!/usr/bin/python3
"""Boot benchmark: vmgate-vmm vs QEMU microvm on the same demo guest, in one run.

For each monitor, N runs of: start the process, time to the first byte of
serial output, time to the shell prompt; then, once at the prompt, the
monitor's private resident memory (Private_Clean + Private_Dirty from
/proc/PID/smaps) excluding the guest-RAM mapping.  Prints a table with
medians and the ratios.  It is a benchmark, not a test: it asserts nothing.
"""
import argparse
import os
import select
import statistics
import subprocess
import sys
import time

PROMPT = b"demo$ "


def private_kib(pid, guest_bytes, guest_name):
    """Private RSS in KiB over all mappings but the guest's RAM."""
    total = 0
    skip = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            first = line.split()[0]
            if "-" in first and not first.endswith(":"):
                lo, hi = (int(x, 16) for x in first.split("-"))
                # vmgate-vmm names its RAM memfd; QEMU's RAM is the anonymous
                # mapping of the guest's size (plus alignment).
                skip = guest_name in line or (hi - lo) >= guest_bytes
                continue
            if skip:
                continue
            if first in ("Private_Clean:", "Private_Dirty:"):
                total += int(line.split()[1])
    return total


def one_run(cmd, guest_bytes, guest_name, timeout=60):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = b""
    first = prompt = None
    fd = p.stdout.fileno()
    while prompt is None:
        left = t0 + timeout - time.monotonic()
        if left <= 0:
            p.kill()
            raise RuntimeError("%s: no prompt in %ss; got %r" % (cmd[0], timeout, out[-200:]))
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        data = os.read(fd, 65536)
        if not data:
            raise RuntimeError("%s exited: %r" % (cmd[0], out[-300:]))
        now = time.monotonic()
        if first is None:
            first = now - t0
        out += data
        if PROMPT in out:
            prompt = now - t0
    time.sleep(0.2)
    mem = private_kib(p.pid, guest_bytes, guest_name)
    p.kill()
    p.wait()
    return first * 1000, prompt * 1000, mem


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vmm", required=True)
    ap.add_argument("--guest", required=True)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--mem", default="64")
    a = ap.parse_args()
    guest_bytes = int(a.mem) << 20
    monitors = {
        "vmgate-vmm": [a.vmm, "--kernel", a.guest, "--mem", a.mem + "M"],
        "qemu microvm": ["qemu-system-x86_64", "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
                         "-accel", "kvm", "-cpu", "host", "-m", a.mem, "-nodefaults", "-no-user-config",
                         "-display", "none", "-serial", "stdio", "-kernel", a.guest],
    }
    results = {}
    for name, cmd in monitors.items():
        one_run(cmd, guest_bytes, "vmgate-ram")  # warm the page cache
        runs = [one_run(cmd, guest_bytes, "vmgate-ram") for _ in range(a.runs)]
        results[name] = [statistics.median(r[i] for r in runs) for i in range(3)]
        results[name].append(max(r[2] for r in runs))
    kvm = "nested KVM in QEMU TCG (not representative)" if os.environ.get("KVMBOX") else "host KVM"
    print("\nboot of the demo guest, median of %d runs, %s MiB guest, %s" % (a.runs, a.mem, kvm))
    print("%-14s %16s %16s %20s %16s" % ("monitor", "first byte ms", "prompt ms", "private RSS KiB", "peak RSS KiB"))
    for name, (fb, pr, mem, peak) in results.items():
        print("%-14s %16.1f %16.1f %20d %16d" % (name, fb, pr, mem, peak))
    v, q = results["vmgate-vmm"], results["qemu microvm"]
    print("%-14s %15.1fx %15.1fx %19.1fx" % ("qemu/vmgate", q[0] / v[0], q[1] / v[1], q[2] / max(v[2], 1)))
    print("targets: first byte >= 5x faster than QEMU microvm; overhead < 3 MiB (3072 KiB) per VM")
    return 0


if __name__ == "__main__":
    sys.exit(main())
