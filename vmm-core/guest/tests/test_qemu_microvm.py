#!/usr/bin/env python3
"""Boot the vmgate demo guest on QEMU's microvm machine and drive its shell.

QEMU is the reference VMM here: if the guest works on it, its PVH entry,
PIC/PIT/UART drivers and ring-3 shell are right, independently of vmgate-vmm.
Runs with TCG, so no /dev/kvm is needed.

The serial port is QEMU's stdio, connected to pipes (not a pty): on a tty
QEMU keeps ISIG on, and the Ctrl-C this test types would kill QEMU.

Exit status: 0 pass, 1 fail (also: no qemu-system-x86_64), 77 skip (no
qemu-system-x86_64 and VMGATE_ALLOW_SKIP=1).
"""

import argparse
import os
import re
import select
import shutil
import subprocess
import sys
import time
import zlib

PROMPT = b"demo$ "
# With QEMU's mux chardev, Ctrl-A b sends a break to the serial port.
MUX_SEND_BREAK = b"\x01b"
BANNER = b"vmgate demo guest "
BOOT_TIMEOUT = 60.0
CMD_TIMEOUT = 20.0
BULK_LINE = 64


class Failure(Exception):
    pass


class Guest:
    """A QEMU process and everything it has printed so far."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.out = b""  # everything received
        self.pos = 0  # how much of it the test has consumed

    def _read_some(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([self.proc.stdout], [], [], left)
        if not ready:
            return False
        data = self.proc.stdout.read(65536)
        if not data:  # EOF: QEMU exited
            raise Failure("QEMU exited (status %s)" % self.proc.poll())
        self.out += data
        return True

    def seen(self, n=600):
        tail = self.out[self.pos:]
        head = self.out[max(0, self.pos - n):self.pos]
        return "...%r\n  <-- consumed | unconsumed -->\n%r" % (
            head, tail[:n * 2])

    def expect(self, pattern, timeout=CMD_TIMEOUT, what=None):
        """Wait for a regex (bytes) in the unconsumed output; consume it."""
        rx = re.compile(pattern if isinstance(pattern, bytes)
                        else re.escape(pattern.encode()), re.S)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.out, self.pos)
            if m:
                self.pos = m.end()
                return m
            try:
                more = self._read_some(deadline)
            except Failure as e:
                raise Failure("%s while waiting for %s; saw:\n%s" % (
                    e, what or rx.pattern, self.seen()))
            if not more:
                raise Failure("timeout (%.0fs) waiting for %s; saw:\n%s" % (
                    timeout, what or rx.pattern, self.seen()))

    def read_exact(self, n, timeout=CMD_TIMEOUT):
        deadline = time.monotonic() + timeout
        while len(self.out) - self.pos < n:
            if not self._read_some(deadline):
                raise Failure("timeout: wanted %d bytes, got %d; saw:\n%s" % (
                    n, len(self.out) - self.pos, self.seen()))
        data = self.out[self.pos:self.pos + n]
        self.pos += n
        return data

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def command(self, line, timeout=CMD_TIMEOUT):
        """Type a line; return its output (between the echo and the prompt)."""
        self.send(line + "\r")
        self.expect(re.escape(line.encode()) + b"\r\n", timeout,
                    "echo of %r" % line)
        m = self.expect(b"(.*?)" + re.escape(PROMPT), timeout,
                        "prompt after %r" % line)
        return m.group(1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


def expect_output(guest, line, expected):
    out = guest.command(line)
    if out != expected:
        raise Failure("%r printed %r, expected %r" % (line, out, expected))
    return out


def check_banner(guest):
    guest.expect(re.escape(PROMPT), BOOT_TIMEOUT, "banner and prompt")
    text = guest.out[:guest.pos]
    first = text.lstrip(b"\r\n").split(b"\r\n")[0]
    if not first.startswith(BANNER):
        raise Failure("first line is %r, expected it to begin with %r" % (
            first, BANNER))
    if not re.match(rb"vmgate demo guest 0\.1 \(x86_64, 64 MiB, PVH\)$",
                    first):
        raise Failure("unexpected banner %r" % first)
    if not text.endswith(b"\r\n" + PROMPT):
        raise Failure("prompt not on a line of its own: %r" % text[-40:])


def check_bulk(guest, arg, n):
    guest.send("bulk %s\r" % arg)
    guest.expect(("bulk %s\r\n" % arg).encode(), what="echo of bulk")
    payload = guest.read_exact(n, timeout=120)
    # The summary line must follow the payload directly.
    rest = guest.expect(rb"(.*?)" + re.escape(PROMPT), what="bulk summary")
    m = re.fullmatch(rb"bulk (\d+) bytes checksum ([0-9a-f]{8})\r\n",
                     rest.group(1))
    if not m:
        raise Failure("bulk %s: after %d payload bytes expected the summary,"
                      " got %r" % (arg, n, rest.group(1)[:200]))
    if int(m.group(1)) != n:
        raise Failure("bulk %s reported %s bytes, expected %d" % (
            arg, m.group(1).decode(), n))
    crc = "%08x" % zlib.crc32(payload)
    if m.group(2).decode() != crc:
        raise Failure("bulk %s: checksum %s, zlib.crc32 of the %d received "
                      "bytes is %s" % (arg, m.group(2).decode(), n, crc))
    # Shape: lines of 62 printable characters + CR LF; a short last line
    # still ends in CR LF (or is a lone LF if one byte is left).
    for i in range(0, n, BULK_LINE):
        line = payload[i:i + BULK_LINE]
        body, end = (line[:-2], line[-2:]) if len(line) >= 2 else (b"", line)
        if not all(0x21 <= b < 0x7f for b in body) or \
                end != (b"\r\n" if len(line) >= 2 else b"\n"):
            raise Failure("bulk %s: malformed line %d: %r" % (
                arg, i // BULK_LINE, line))


def run(guest):
    check_banner(guest)

    expect_output(guest, "echo hello world", b"hello world\r\n")
    expect_output(guest, "echo   spaced    out  ", b"spaced out\r\n")
    expect_output(guest, "uname", b"vmgate-demo 0.1 x86_64\r\n")

    t1 = float(guest.command("uptime"))
    time.sleep(0.5)
    t2 = float(guest.command("uptime"))
    if not t2 > t1:
        raise Failure("uptime did not increase: %s then %s" % (t1, t2))

    check_bulk(guest, "100000", 100000)
    check_bulk(guest, "1K", 1024)
    for n in (1, 2, 65):
        check_bulk(guest, str(n), n)
    # Ctrl-C stops a long bulk (64 MiB would take minutes on TCG).
    guest.send("bulk 64M\r")
    guest.expect(b"bulk 64M\r\n", what="echo of bulk 64M")
    guest.read_exact(4096)
    guest.send("\x03")
    guest.expect(b"\r\nbulk: interrupted\r\n" + re.escape(PROMPT),
                 what="bulk interrupted by Ctrl-C")
    expect_output(guest, "echo still here", b"still here\r\n")

    # Line editing. Backspace (DEL and BS) erases.
    guest.send("ecxo\x7f\x7fho hi\r")
    guest.expect(b"ecxo\b \b\b \bho hi\r\nhi\r\n" + re.escape(PROMPT),
                 what="line edited with DEL")
    guest.send("echo x\x08y\r")
    guest.expect(b"\r\ny\r\n" + re.escape(PROMPT), what="BS erase")
    # Ctrl-U kills the line.
    guest.send("garbage\x15echo ok\r")
    guest.expect(b"\r\nok\r\n" + re.escape(PROMPT), what="Ctrl-U")
    # Ctrl-C cancels the line: ^C and a fresh prompt, nothing run.
    guest.send("echo no\x03")
    guest.expect(b"echo no\\^C\r\n" + re.escape(PROMPT), what="Ctrl-C")
    # CR LF is one Enter: exactly one prompt per line.
    guest.send("echo a\r\necho b\r\n")
    guest.expect(b"echo a\r\na\r\n" + re.escape(PROMPT) +
                 b"echo b\r\nb\r\n" + re.escape(PROMPT), what="CR LF")
    # A bare LF is Enter too; other control characters are ignored.
    guest.send("ec\x01ho lf\n")
    guest.expect(b"echo lf\r\nlf\r\n" + re.escape(PROMPT), what="LF")
    # Lines stop at 255 characters.
    long_arg = "z" * 300
    guest.send("echo " + long_arg + "\r")
    guest.expect(b"\r\n" + b"z" * 250 + b"\r\n" + re.escape(PROMPT),
                 what="255-character line limit")
    # Up arrow recalls the previous line.
    expect_output(guest, "echo first", b"first\r\n")
    guest.send("\x1b[A\r")
    guest.expect(b"echo first\r\nfirst\r\n" + re.escape(PROMPT),
                 what="history")

    helptext = guest.command("help")
    for name in ("help", "uname", "echo", "mem", "uptime", "bulk", "inb",
                 "ports", "syscalls", "reboot", "poweroff", "crash", "wild",
                 "fault"):
        if not re.search(rb"^  " + name.encode() + rb" ", helptext, re.M):
            raise Failure("help does not list %s:\n%r" % (name, helptext))

    expect_output(guest, "frobnicate 1 2",
                  b"frobnicate: command not found\r\n")

    check_ports(guest)
    check_syscalls(guest, "gate")

    mem = guest.command("mem").decode()
    lines = mem.split("\r\n")
    m = re.fullmatch(r"total (\d+) KiB", lines[0])
    if not m:
        raise Failure("mem: first line %r" % lines[0])
    ram = 0
    for line in lines[1:-1]:
        e = re.fullmatch(r"0x([0-9a-f]{16}) 0x([0-9a-f]{16}) (\d+)", line)
        if not e:
            raise Failure("mem: bad entry line %r" % line)
        if e.group(3) == "1":
            ram += int(e.group(2), 16)
    if ram >> 10 != int(m.group(1)) or not (60 << 20) <= ram <= (64 << 20):
        raise Failure("mem: total %s KiB, entries sum to %d bytes:\n%s" % (
            m.group(1), ram, mem))

    expect_output(guest, "poweroff",
                  b"powering off\r\npoweroff: not supported by this "
                  b"machine\r\n")

    # reboot on microvm: no i8042, no port 0x600, so it ends in a triple
    # fault, which QEMU turns into a reset: the guest must come back.
    guest.send("reboot\r")
    guest.expect(b"rebooting\r\n", what="reboot message")
    check_banner_again(guest, "reboot")
    expect_output(guest, "echo after reboot", b"after reboot\r\n")

    # crash: a deliberate triple fault, which QEMU also turns into a reset.
    guest.send("crash\r")
    guest.expect(b"crash: triple fault\r\n", what="crash message")
    check_banner_again(guest, "crash")
    expect_output(guest, "uname", b"vmgate-demo 0.1 x86_64\r\n")


# Ring 3 may use exactly COM1's THR (0x3f8) and LSR (0x3fd); every other
# port must raise #GP, which the guest reports and survives. The neighbours
# of the granted ports prove the bitmap is exact, 0x505 and 0x600 lie
# beyond its end.
FORBIDDEN_PORTS = ("0x60", "0x64", "0x3f9", "0x3fc", "0x3fe", "0x3f7",
                   "0x505", "0x600", "0xffff")


def check_ports(guest):
    out = guest.command("inb 0x3fd")
    m = re.fullmatch(rb"inb 0x3fd: 0x([0-9a-f]{2})\r\n", out)
    if not m:
        raise Failure("inb 0x3fd (COM1 LSR) printed %r" % out)
    # The shell flushed its output before reading the line: the transmitter
    # is idle, so THRE (0x20) and TEMT (0x40) are set.
    if int(m.group(1), 16) & 0x60 != 0x60:
        raise Failure("inb 0x3fd: LSR 0x%s, expected THRE and TEMT set" %
                      m.group(1).decode())
    # The same port in decimal.
    out = guest.command("inb 1021")
    if not re.fullmatch(rb"inb 0x3fd: 0x[0-9a-f]{2}\r\n", out):
        raise Failure("inb 1021 printed %r" % out)
    for port in FORBIDDEN_PORTS:
        expect_output(guest, "inb " + port,
                      ("inb %s: #GP (port not in ring 3's I/O bitmap)\r\n"
                       % port).encode())
    # And no other port at all: ring 3 tries all 65536.
    expect_output(guest, "ports",
                  b"ring 3 may read: 0x3f8 0x3fd\r\n2 of 65536 ports\r\n")
    for bad in ("inb", "inb 0x10000", "inb 12z", "inb 0x"):
        out = guest.command(bad)
        if not out.startswith(b"usage: inb PORT"):
            raise Failure("%r printed %r, expected the usage line" % (
                bad, out))
    expect_output(guest, "echo ports done", b"ports done\r\n")


def check_syscalls(guest, route):
    """All system calls so far came by ROUTE ("gate" or "#GP"), none other."""
    out = guest.command("syscalls")
    m = re.match(rb"int \$0x80 calls: (\d+) through the gate, (\d+) as #UD, "
                 rb"(\d+) as #GP\r\n", out)
    if not m:
        raise Failure("syscalls printed %r" % out)
    counts = {"gate": int(m.group(1)), "#UD": int(m.group(2)),
              "#GP": int(m.group(3))}
    others = {k: v for k, v in counts.items() if k != route}
    if counts[route] == 0 or any(others.values()):
        raise Failure("syscalls: expected every call %s, got %r" % (
            "through the gate" if route == "gate" else "as " + route,
            counts))
    return counts[route]


def run_syscall_trap(guest):
    """syscall=trap: the int $0x80 gate is DPL 0, so every system call
    arrives as a #GP at the `cd 80` bytes and is dispatched from the fault
    handler: the route PVM hosts need (there as #UD)."""
    guest.expect(re.escape(PROMPT), BOOT_TIMEOUT, "banner and prompt")
    expect_output(guest, "echo through a fault", b"through a fault\r\n")
    check_bulk(guest, "100000", 100000)
    # Waiting for input (sti; hlt in ring 0) from the fault handler.
    time.sleep(0.5)
    expect_output(guest, "echo after a wait", b"after a wait\r\n")
    n = check_syscalls(guest, "#GP")
    if b"syscall=trap: the int $0x80 gate is DPL 0" not in guest.out:
        raise Failure("syscalls does not say syscall=trap is in effect")
    expect_output(guest, "poweroff",
                  b"powering off\r\npoweroff: not supported by this "
                  b"machine\r\n")
    if check_syscalls(guest, "#GP") <= n:
        raise Failure("the #GP count did not grow")
    check_ports(guest)


def run_fault_pvpanic(guest):
    """A fatal exception writes PVPANIC_PANICKED to QEMU's pvpanic device,
    which with -action panic=exit-failure ends QEMU with status 1."""
    guest.expect(re.escape(PROMPT), BOOT_TIMEOUT, "banner and prompt")
    guest.send("fault\r")
    guest.expect(b"fault: reading address 0 from ring 3\r\n",
                 what="fault message")
    guest.expect(rb"\r\nexception 14 at RIP=0x[0-9a-f]+ err=0x4 cr2=0x0 "
                 rb"ring 3 rsp=0x[0-9a-f]+\r\n", what="exception report")
    try:
        status = guest.proc.wait(CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("QEMU still running %.0fs after the exception: no "
                      "pvpanic write" % CMD_TIMEOUT)
    if status != 1:
        raise Failure("QEMU exit status %d after pvpanic, expected 1" % status)


def check_banner_again(guest, after):
    m = guest.expect(re.escape(BANNER) + rb"[^\r]*\r\n", BOOT_TIMEOUT,
                     "banner after %s" % after)
    if b"exception" in guest.out[guest.pos - 2000:m.start()]:
        raise Failure("%s: exception report instead of a reset:\n%s" % (
            after, guest.seen()))
    guest.expect(re.escape(PROMPT), BOOT_TIMEOUT, "prompt after %s" % after)


def run_small_with_break(guest):
    """16 MiB, the smallest size the guest promises, and a serial break."""
    guest.expect(re.escape(PROMPT), BOOT_TIMEOUT, "banner and prompt")
    first = guest.out.lstrip(b"\r\n").split(b"\r\n")[0]
    if first != b"vmgate demo guest 0.1 (x86_64, 16 MiB, PVH)":
        raise Failure("16 MiB boot: banner %r" % first)
    # A break cancels the line being typed, like Ctrl-C.
    guest.send("echo partial")
    guest.expect(b"echo partial", what="echo of the partial line")
    # Let the UART go idle first: the break must raise its own interrupt,
    # not ride on the character timeout of the bytes before it.
    time.sleep(0.3)
    guest.send(MUX_SEND_BREAK)
    guest.expect(b"<break>\r\n" + re.escape(PROMPT), what="<break>")
    expect_output(guest, "echo after break", b"after break\r\n")
    # Without a pvpanic device (port 0x505 reads 0xff) a fatal exception is
    # reported and the guest halts: no write, QEMU neither exits nor resets.
    guest.send("fault\r")
    guest.expect(rb"\r\nexception 14 at RIP=0x[0-9a-f]+ err=0x4 cr2=0x0 "
                 rb"ring 3 rsp=0x[0-9a-f]+\r\n", what="exception report")
    time.sleep(2)
    if guest.proc.poll() is not None:
        raise Failure("QEMU exited (%d) after a fault without pvpanic" %
                      guest.proc.poll())
    guest.send("echo halted?\r")
    time.sleep(1)
    try:
        guest._read_some(time.monotonic() + 0.5)
    except Failure:
        pass
    if guest.out[guest.pos:]:
        raise Failure("guest answered after a fatal exception: %r" %
                      guest.out[guest.pos:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", required=True, help="vmgate-demo.elf")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    args = ap.parse_args()

    qemu = shutil.which(args.qemu)
    if qemu is None:
        # No silent green: tools/setup-deps.sh installs QEMU, so a missing
        # one fails the suite unless skips were asked for (README).
        if os.environ.get("VMGATE_ALLOW_SKIP") == "1":
            print("SKIP: %s not found (VMGATE_ALLOW_SKIP=1)" % args.qemu)
            return 77
        print("FAIL: %s not found (tools/setup-deps.sh installs it; "
              "VMGATE_ALLOW_SKIP=1 accepts a skip)" % args.qemu)
        return 1
    def qemu_argv(mem, serial):
        return [qemu,
                "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
                "-accel", "tcg", "-m", mem,
                "-nodefaults", "-no-user-config", "-nographic",
                *serial, "-kernel", args.kernel]

    phases = [
        ("64 MiB, shell", qemu_argv("64", ["-serial", "stdio"]), run),
        # The mux is the only way to send a break through QEMU's stdio;
        # signal=off keeps Ctrl-C a byte for the guest.
        ("16 MiB, break",
         qemu_argv("16", ["-chardev", "stdio,id=con,mux=on,signal=off",
                          "-serial", "chardev:con"]),
         run_small_with_break),
    ]
    phases += [
        ("64 MiB, syscall=trap",
         qemu_argv("64", ["-serial", "stdio", "-append", "syscall=trap"]),
         run_syscall_trap),
        ("64 MiB, pvpanic",
         qemu_argv("64", ["-serial", "stdio", "-device", "pvpanic",
                          "-action", "panic=exit-failure"]),
         run_fault_pvpanic),
    ]
    for name, argv, fn in phases:
        print("running (%s):" % name, " ".join(argv))
        guest = Guest(argv)
        try:
            fn(guest)
        except Failure as e:
            print("FAIL (%s):" % name, e)
            return 1
        finally:
            guest.stop()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
