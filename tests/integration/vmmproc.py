"""Drive a real vmgate-vmm process over pipes, as a user's terminal would.

Output is collected by a reader thread so a test can wait for text with a
timeout and, on failure, show everything the guest printed.
"""
import os
import re
import signal
import subprocess
import threading
import time
import zlib

BUILD = os.environ.get("VMGATE_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
VMM = os.path.join(BUILD, "vmm-core", "vmgate-vmm")
PROMPT = b"demo$ "
# Nested KVM under TCG is slow: be generous, the tests assert on content.
SLOW = float(os.environ.get("VMGATE_TIMEOUT_SCALE", "1"))
# expect() patterns are short; a match can start at most this far back.
EXPECT_OVERLAP = 4096
# The host's /dev/kvm is PVM's (the kvm_pvm module), not hardware or nested
# SVM: ring-0 guest code is emulated, ring-3 `int $0x80` raises #UD, and some
# ring-0 instructions end the VM (DESIGN.md §3). Under tools/kvmbox the tests
# run inside the nested guest, where there is no kvm_pvm: False there.
ON_PVM = os.path.exists("/sys/module/kvm_pvm")


class Stalled(AssertionError):
    """The guest printed nothing new for the expect() call's stall time."""


class Vmm:
    def __init__(self, *args, stdin=True, env=None):
        self.cmd = [VMM, *args]
        self.proc = subprocess.Popen(
            self.cmd,
            env=None if env is None else {**os.environ, **env},
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.out = bytearray()
        self.err = bytearray()
        self.pos = 0  # how far expect() has consumed
        self.lock = threading.Condition()
        self.paused = threading.Event()
        self.paused.set()
        self.threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.err), daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _pump(self, f, buf):
        fd = f.fileno()
        while True:
            if buf is self.out:
                self.paused.wait()
            data = os.read(fd, 65536)
            if not data:
                with self.lock:
                    self.lock.notify_all()
                return
            with self.lock:
                buf.extend(data)
                self.lock.notify_all()

    def stop_reading(self):
        self.paused.clear()

    def resume_reading(self):
        self.paused.set()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def expect(self, pattern, timeout=30, stall=None):
        """Waits for PATTERN (bytes regex) after the last match; returns the match.
        With STALL (seconds), gives up early, raising Stalled, once no new
        output has come for that long."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        with self.lock:
            # Rescan only the new bytes (and a tail for a match that spans
            # two reads): a megabyte of output arriving in small pieces must
            # not cost a scan of everything so far per piece.
            scanned = self.pos
            seen, seen_at = len(self.out), time.monotonic()
            while True:
                m = rx.search(self.out, max(self.pos, scanned - EXPECT_OVERLAP))
                if m:
                    self.pos = m.end()
                    return m
                scanned = len(self.out)
                now = time.monotonic()
                if scanned != seen:
                    seen, seen_at = scanned, now
                left = deadline - now
                stalled = stall is not None and now - seen_at >= stall * SLOW
                if left <= 0 or stalled or (self.proc.poll() is not None and not self._alive_pumps()):
                    self._dump_guest()
                    what = "no output for %ss" % (stall * SLOW) if stalled else "within %ss" % (timeout * SLOW)
                    raise (Stalled if stalled else AssertionError)(
                        "did not see %r %s (%d bytes since the last match); exit=%s\n--- console (last 3000 bytes) ---\n%s\n--- stderr ---\n%s"
                        % (pattern, what, len(self.out) - self.pos, self.proc.poll(), bytes(self.out[-3000:]).decode(errors="replace"),
                           bytes(self.err).decode(errors="replace")))
                self.lock.wait(min(left, 0.5))

    def _dump_guest(self):
        """A guest that seems stuck: SIGUSR2 makes the monitor print each
        vCPU's registers and exit counts on stderr (twice, a second apart,
        to tell a spinning guest from a parked one). Call with the lock held."""
        for _ in range(2):
            if self.proc.poll() is not None:
                return
            os.kill(self.proc.pid, signal.SIGUSR2)
            self.lock.wait(1.0)

    def _alive_pumps(self):
        return any(t.is_alive() for t in self.threads)

    def command(self, line, timeout=30, stall=None):
        """Types LINE at the prompt; returns the output up to the next prompt."""
        self.send(line + "\r")
        self.expect(re.escape(line.encode()) + rb"\r\n", timeout)
        body_start = self.pos
        self.expect(re.escape(PROMPT), timeout, stall)
        return bytes(self.out[body_start:self.pos - len(PROMPT)])

    def wait(self, timeout=30):
        try:
            return self.proc.wait(timeout * SLOW)
        finally:
            for t in self.threads:
                t.join(5)

    def stderr_text(self):
        with self.lock:
            return bytes(self.err).decode(errors="replace")

    def read_low_ram(self, paddr, n):
        """N bytes of guest RAM at guest-physical PADDR, below the 32-bit
        hole, as they are now: read from the monitor's own mapping of it
        (guestmem.c maps its one memfd, "vmgate-ram", whole; low RAM comes
        first, so the file offset is the address). The sandbox makes the
        monitor non-dumpable: reading its /proc/PID/mem takes root."""
        with open("/proc/%d/maps" % self.proc.pid) as maps:
            for line in maps:
                f = line.split()
                if len(f) >= 6 and f[5] == "/memfd:vmgate-ram" and int(f[2], 16) == 0:
                    start, end = (int(x, 16) for x in f[0].split("-"))
                    break
            else:
                raise AssertionError("no vmgate-ram mapping in the monitor's maps")
        assert paddr + n <= end - start, "0x%x+%d: beyond guest RAM" % (paddr, n)
        with open("/proc/%d/mem" % self.proc.pid, "rb", buffering=0) as mem:
            mem.seek(start + paddr)
            data = mem.read(n)
        assert len(data) == n, "read %d of %d bytes at 0x%x" % (len(data), n, paddr)
        return data

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        # A monitor stuck in the kernel must not hang the whole suite.
        self.proc.wait(60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def bulk_check(text, n):
    """Checks `bulk N` output: exactly N payload bytes with the CRC-32 printed."""
    m = re.search(rb"bulk (\d+) bytes checksum ([0-9a-f]{8})\r\n", text)
    assert m, "no checksum line in %r" % text[-200:]
    payload = text[: m.start()]
    assert int(m.group(1)) == n
    assert len(payload) == n, "payload has %d bytes, want %d" % (len(payload), n)
    assert "%08x" % zlib.crc32(payload) == m.group(2).decode(), "checksum mismatch"
