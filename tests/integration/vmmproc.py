"""Drive a real vmgate-vmm process over pipes, as a user's terminal would.

Output is collected by a reader thread so a test can wait for text with a
timeout and, on failure, show everything the guest printed.
"""
import os
import re
import subprocess
import threading
import time
import zlib

BUILD = os.environ.get("VMGATE_BUILD", os.path.join(os.path.dirname(__file__), "../../build"))
VMM = os.path.join(BUILD, "vmm-core", "vmgate-vmm")
PROMPT = b"demo$ "
# Nested KVM under TCG is slow: be generous, the tests assert on content.
SLOW = float(os.environ.get("VMGATE_TIMEOUT_SCALE", "1"))


class Vmm:
    def __init__(self, *args, stdin=True):
        self.cmd = [VMM, *args]
        self.proc = subprocess.Popen(
            self.cmd,
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

    def expect(self, pattern, timeout=30):
        """Waits for PATTERN (bytes regex) after the last match; returns the match."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        with self.lock:
            while True:
                m = rx.search(self.out, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._alive_pumps()):
                    raise AssertionError(
                        "did not see %r within %ss; exit=%s\n--- console (last 3000 bytes) ---\n%s\n--- stderr ---\n%s"
                        % (pattern, timeout * SLOW, self.proc.poll(), bytes(self.out[-3000:]).decode(errors="replace"),
                           bytes(self.err).decode(errors="replace")))
                self.lock.wait(min(left, 0.5))

    def _alive_pumps(self):
        return any(t.is_alive() for t in self.threads)

    def command(self, line, timeout=30):
        """Types LINE at the prompt; returns the output up to the next prompt."""
        self.send(line + "\r")
        start = self.pos
        self.expect(re.escape(line.encode()) + rb"\r\n", timeout)
        body_start = self.pos
        self.expect(re.escape(PROMPT), timeout)
        del start
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
