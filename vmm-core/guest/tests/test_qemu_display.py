#!/usr/bin/env python3
"""Boot the demo guest on QEMU with a display, keyboard and mouse; check them.

QEMU's isa-vga is a Bochs VBE (DISPI) device whose linear framebuffer sits
at 0xE0000000, the address vmgate-vmm uses too, and its i8042 has a PS/2
keyboard and mouse: the same contract the guest has with vmgate-vmm. TCG,
no /dev/kvm needed. What is checked:

- keys sent with QMP send-key (Shift, Backspace, arrow Up for history,
  Enter) are typed into the shell, seen on the serial console;
- mouse motion and a button (QMP input-send-event) show in `mouse`, and
  the position is clamped to the screen;
- the screen (QMP screendump, PPM) shows, cell by cell, exactly the text a
  terminal fed with everything the serial console printed would show
  (wrapping, scrolling, backspace): each 8x16 cell is compared pixel by
  pixel with the font table the build generated (--font);
- the status bar shows the mouse position and an uptime clock at the top
  right, and an idle screen changes in the clock's cells only.

Exit status: 0 pass, 1 fail, 77 skip (no QEMU and VMGATE_ALLOW_SKIP=1).
"""

import argparse
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_qemu_microvm import (  # noqa: E402
    BOOT_TIMEOUT, PROMPT, Failure, Guest)

CELL_W, CELL_H = 8, 16
FG, BG = (0xAA, 0xAA, 0xAA), (0, 0, 0)  # fbcon.h: FBCON_FG, FBCON_BG
CLOCK_CELLS = 9  # "hh:mm:ss " in the last cells of row 0
SCREEN_TIMEOUT = 15.0

# QMP qcodes for what this test types.
QCODE = {" ": "spc", "-": "minus", "=": "equal", ",": "comma", ".": "dot",
         "/": "slash", ";": "semicolon", "\r": "ret", "\b": "backspace",
         "\t": "tab"}
SHIFTED = {"!": "1", "@": "2", "#": "3", "$": "4", "%": "5", "^": "6",
           "&": "7", "*": "8", "(": "9", ")": "0", "_": "minus",
           "+": "equal", "<": "comma", ">": "dot", "?": "slash",
           ":": "semicolon"}


class Qmp:
    def __init__(self, path, timeout=BOOT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise Failure("cannot connect to QMP at %s" % path)
                time.sleep(0.1)
        self.sock.settimeout(30)
        self.buf = b""
        self._reply()  # greeting
        self.cmd("qmp_capabilities")

    def _reply(self):
        while True:
            while b"\n" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise Failure("QMP connection closed")
                self.buf += data
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def cmd(self, name, **args):
        req = {"execute": name}
        if args:
            req["arguments"] = args
        self.sock.sendall(json.dumps(req).encode() + b"\n")
        msg = self._reply()
        if "error" in msg:
            raise Failure("QMP %s failed: %s" % (name, msg["error"]))
        return msg.get("return")

    def close(self):
        self.sock.close()


def key_codes(ch):
    if ch in SHIFTED:
        return ["shift", SHIFTED[ch]]
    if ch.isupper():
        return ["shift", ch.lower()]
    if ch.isalnum():
        return [ch]
    if ch in QCODE:
        return [QCODE[ch]]
    if ch.startswith("<") and ch.endswith(">"):  # a named key: <up>
        return [ch[1:-1]]
    raise ValueError("no qcode for %r" % ch)


def type_keys(qmp, keys):
    """keys: a string, or a list of characters and <named> keys."""
    for k in keys:
        qmp.cmd("send-key", keys=[{"type": "qcode", "data": c}
                                  for c in key_codes(k)], **{"hold-time": 20})


def move_mouse(qmp, dx, dy):
    qmp.cmd("input-send-event", events=[
        {"type": "rel", "data": {"axis": "x", "value": dx}},
        {"type": "rel", "data": {"axis": "y", "value": dy}}])


def mouse_button(qmp, button, down):
    qmp.cmd("input-send-event", events=[
        {"type": "btn", "data": {"button": button, "down": down}}])


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    if not m or m.group(3) != b"255":
        raise Failure("screendump is not an 8-bit P6 PPM: %r" % data[:20])
    w, h = int(m.group(1)), int(m.group(2))
    pix = data[m.end():]
    if len(pix) != w * h * 3:
        raise Failure("screendump: %d bytes of pixels for %dx%d" % (
            len(pix), w, h))
    return w, h, pix


def row_patterns(fg, bg):
    """The 24 bytes of an 8-pixel glyph row -> its font byte."""
    fg, bg = bytes(fg), bytes(bg)
    return {b"".join(fg if bits & (0x80 >> x) else bg
                     for x in range(CELL_W)): bits for bits in range(256)}


class Screen:
    def __init__(self, font, path, size):
        self.w, self.h, self.pix = read_ppm(path)
        if (self.w, self.h) != size:
            raise Failure("screen is %dx%d, expected %dx%d" % (
                self.w, self.h, *size))
        self.cols, self.rows = self.w // CELL_W, self.h // CELL_H
        self.glyphs = {}
        for c in range(0x20, 0x7F):
            self.glyphs.setdefault(font[c * CELL_H:(c + 1) * CELL_H], chr(c))
        self.patterns = {}

    def cell_bits(self, row, col, fg, bg):
        """The cell as 16 font rows, or None if a pixel is neither colour."""
        pat = self.patterns.get((fg, bg))
        if pat is None:
            pat = self.patterns[(fg, bg)] = row_patterns(fg, bg)
        out = bytearray()
        for y in range(CELL_H):
            off = ((row * CELL_H + y) * self.w + col * CELL_W) * 3
            bits = pat.get(self.pix[off:off + 3 * CELL_W])
            if bits is None:
                return None
            out.append(bits)
        return bytes(out)

    def cell(self, row, col, fg=FG, bg=BG):
        """The character this cell shows in these colours; '\\0' if none."""
        bits = self.cell_bits(row, col, fg, bg)
        return self.glyphs.get(bits, "\0") if bits is not None else "\0"

    def text(self):
        """(bar, lines, cursor): row 0 in bar colours; the text rows, each
        cell decoded as text or, failing that, as the inverted cursor."""
        bar = "".join(self.cell(0, c, BG, FG) for c in range(self.cols))
        lines, cursor = [], []
        for r in range(1, self.rows):
            line = ""
            for c in range(self.cols):
                ch = self.cell(r, c)
                if ch == "\0":
                    ch = self.cell(r, c, BG, FG)
                    if ch != "\0":
                        cursor.append((r - 1, c))
                line += ch
            lines.append(line)
        return bar, lines, cursor

    def margins_blank(self):
        """Pixels right of and below the cells are background."""
        bg = bytes(BG)
        for y in range(self.h):
            x0 = self.cols * CELL_W if y < self.rows * CELL_H else 0
            if self.pix[(y * self.w + x0) * 3:(y + 1) * self.w * 3] != \
                    bg * (self.w - x0):
                return False
        return True


class Terminal:
    """What the guest's console should show, from the serial transcript:
    the same rules as fbcon.c (CR, LF with scroll, BS, TAB, printable
    ASCII, wrap before a character that does not fit)."""

    def __init__(self, cols, lines):
        self.cols, self.nlines = cols, lines
        self.lines = [[" "] * cols for _ in range(lines)]
        self.row = self.col = 0

    def newline(self):
        if self.row + 1 < self.nlines:
            self.row += 1
        else:
            self.lines.pop(0)
            self.lines.append([" "] * self.cols)

    def feed(self, data):
        for b in data:
            if b == 0x0D:
                self.col = 0
            elif b == 0x0A:
                self.newline()
            elif b == 0x08:
                self.col = max(0, self.col - 1)
            elif b == 0x09:
                self.col = min((self.col + 8) & ~7, self.cols)
            elif 0x20 <= b <= 0x7E:
                if self.col >= self.cols:
                    self.col = 0
                    self.newline()
                self.lines[self.row][self.col] = chr(b)
                self.col += 1

    def text(self):
        return ["".join(line) for line in self.lines]

    def cursor(self):
        return (self.row, min(self.col, self.cols - 1))


class Run:
    def __init__(self, guest, qmp, font, tmpdir, size):
        self.guest, self.qmp, self.font, self.tmpdir = guest, qmp, font, tmpdir
        self.size = size
        self.cols, self.lines = size[0] // CELL_W, size[1] // CELL_H - 1
        self.dumps = 0

    def screen(self):
        # QEMU's VGA picks up a mode change at its next refresh: the first
        # dump after the guest set the mode may still be 640x480.
        for attempt in range(20):
            self.dumps += 1
            path = os.path.join(self.tmpdir, "screen%d.ppm" % self.dumps)
            self.qmp.cmd("screendump", filename=path)
            w, h, _ = read_ppm(path)
            if (w, h) == self.size or attempt == 19:
                return Screen(self.font, path, self.size)
            time.sleep(0.2)

    def expect_screen(self, what):
        """The screen matches the serial transcript (retried: the guest
        draws right after sending the prompt, so a dump may be early)."""
        deadline = time.monotonic() + SCREEN_TIMEOUT
        while True:
            term = Terminal(self.cols, self.lines)
            term.feed(self.guest.out)
            want, want_cursor = term.text(), term.cursor()
            screen = self.screen()
            bar, lines, cursor = screen.text()
            if lines == want and cursor == [want_cursor]:
                if not screen.margins_blank():
                    raise Failure("%s: pixels outside the text cells are "
                                  "not background" % what)
                return bar, lines
            if time.monotonic() > deadline:
                diff = ["  line %2d screen %r\n          want   %r" % (
                    i, lines[i].rstrip(), want[i].rstrip())
                    for i in range(self.lines) if lines[i] != want[i]]
                raise Failure(
                    "%s: screen text differs from the serial console "
                    "(cursor %s, want %s):\n%s" % (
                        what, cursor, want_cursor, "\n".join(diff[:12])))
            time.sleep(0.3)

    def command(self, line):
        return self.guest.command(line)

    def mouse(self, want, timeout=SCREEN_TIMEOUT):
        """`mouse` until it reports `want` (x, y, buttons)."""
        deadline = time.monotonic() + timeout
        while True:
            out = self.command("mouse").decode()
            m = re.fullmatch(r"mouse: x=(-?\d+) y=(-?\d+) buttons=(\S+) "
                             r"packets=(\d+)\r\n", out)
            if not m:
                raise Failure("mouse printed %r" % out)
            got = (int(m.group(1)), int(m.group(2)), m.group(3))
            if got == want:
                return int(m.group(4))
            if time.monotonic() > deadline:
                raise Failure("mouse reports %s, expected %s" % (got, want))
            time.sleep(0.3)


def boot(r):
    g = r.guest
    w, h = r.size
    g.expect(re.escape(PROMPT), BOOT_TIMEOUT, "banner and prompt")
    out = r.command("display")
    want = ("display: %dx%d, 32 bpp, stride %d bytes, framebuffer at "
            "0xe0000000\r\nkeyboard: PS/2 (i8042), typed into this shell"
            "\r\n" % (w, h, w * 4)).encode()
    if out != want:
        raise Failure("display printed %r, expected %r" % (out, want))
    bar, lines = r.expect_screen("after boot")
    if not lines[0].startswith("vmgate demo guest 0.1 (x86_64, 64 MiB"):
        raise Failure("first screen line is %r" % lines[0])


def run_other_size(r):
    """Another mode (display=WxH): cells, wrap, scroll, clamp follow it."""
    w, h = r.size
    boot(r)
    r.mouse((w // 2, h // 2, "none"))
    for _ in range(12):
        move_mouse(r.qmp, 400, 400)
    r.mouse((w - 1, h - 1, "none"))
    r.command("echo " + "".join("%03d" % i for i in range(0, 240, 3)))
    r.expect_screen("after a line longer than the screen is wide")
    r.command("bulk %d" % (64 * r.lines + 100))
    bar, _ = r.expect_screen("after scrolling")
    if not re.fullmatch(r" vmgate demo guest +mouse %d,%d ---  "
                        r"\d\d:\d\d:\d\d " % (w - 1, h - 1), bar):
        raise Failure("status bar reads %r" % bar)


def run(r):
    g = r.guest
    width = r.size[0]
    cols = r.cols
    boot(r)

    # Keyboard: shifted symbols, a typo fixed with Backspace, Enter.
    text = "echo Typed, via PS/2: x=1+2_3 (ok)!?"
    type_keys(r.qmp, list(text[:-1]) + ["Q", "\b", text[-1], "\r"])
    g.expect(re.escape(text[:-1].encode() + b"Q\b \b" + text[-1:].encode() +
                       b"\r\n"), what="typed line echoed on serial")
    g.expect(re.escape(text[5:].encode() + b"\r\n" + PROMPT),
             what="echo output of the typed line")
    # History through the arrow key (ESC [ A), and Ctrl-U to erase.
    type_keys(r.qmp, ["j", "u", "n", "k"])
    r.qmp.cmd("send-key", keys=[{"type": "qcode", "data": "ctrl"},
                                {"type": "qcode", "data": "u"}])
    type_keys(r.qmp, ["<up>", "\r"])
    g.expect(re.escape(text.encode() + b"\r\n" + text[5:].encode() +
                       b"\r\n" + PROMPT), what="history recall via arrow Up")

    # Mouse: starts mid-screen; PS/2 motion, a button, clamping.
    r.mouse((512, 384, "none"))
    move_mouse(r.qmp, 100, 50)
    r.mouse((612, 434, "none"))
    mouse_button(r.qmp, "left", True)
    move_mouse(r.qmp, -30, -20)
    r.mouse((582, 414, "left"))
    mouse_button(r.qmp, "left", False)
    for _ in range(8):
        move_mouse(r.qmp, 400, -400)
    r.mouse((width - 1, 0, "none"))

    # A line longer than the screen wraps; enough output to scroll.
    r.command("echo " + "".join("%03d" % i for i in range(0, 216, 3)))
    r.expect_screen("after a line longer than the screen is wide")
    r.command("bulk 4K")
    bar, lines = r.expect_screen("after wrapping and scrolling")
    if not re.fullmatch(r" vmgate demo guest +mouse 1023,0 ---  "
                        r"\d\d:\d\d:\d\d ", bar):
        raise Failure("status bar reads %r" % bar)
    if not any(line.startswith("bulk 4096 bytes checksum ")
               for line in lines):
        raise Failure("bulk summary not on screen")

    # Idle: only the clock's cells change, and they do.
    time.sleep(0.5)
    a = r.screen()
    time.sleep(2.2)
    b = r.screen()
    clock_x = (cols - CLOCK_CELLS) * CELL_W
    changed = set()
    for i in range(0, len(a.pix), 3):
        if a.pix[i:i + 3] != b.pix[i:i + 3]:
            y, x = divmod(i // 3, width)
            if y >= CELL_H or x < clock_x:
                raise Failure("idle screen changed at (%d,%d), outside the "
                              "clock" % (x, y))
            changed.add((x, y))
    if not changed:
        raise Failure("idle screen did not change in 2.2 s: no live clock")
    t0 = a.text()[0][-CLOCK_CELLS:]
    t1 = b.text()[0][-CLOCK_CELLS:]
    if not (re.fullmatch(r"\d\d:\d\d:\d\d ", t0) and t0 < t1):
        raise Failure("clock went from %r to %r" % (t0, t1))
    print("ok: %d clock pixels changed while idle (%r -> %r)" % (
        len(changed), t0, t1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernel", required=True, help="vmgate-demo.elf")
    ap.add_argument("--font", required=True,
                    help="the build's font table (font8x16.bin)")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    args = ap.parse_args()

    qemu = shutil.which(args.qemu)
    if qemu is None:
        if os.environ.get("VMGATE_ALLOW_SKIP") == "1":
            print("SKIP: %s not found (VMGATE_ALLOW_SKIP=1)" % args.qemu)
            return 77
        print("FAIL: %s not found (tools/setup-deps.sh installs it; "
              "VMGATE_ALLOW_SKIP=1 accepts a skip)" % args.qemu)
        return 1
    with open(args.font, "rb") as f:
        font = f.read()
    if len(font) != 256 * CELL_H:
        print("FAIL: %s is %d bytes, expected 4096" % (args.font, len(font)))
        return 1

    phases = [
        # The default mode: everything.
        ("1024x768", (1024, 768), [], run),
        # Not a multiple of the cell size: margins right and below.
        ("1000x740", (1000, 740), ["-append", "display=1000x740"],
         run_other_size),
        # The largest mode the contract allows (needs 34 MiB of VRAM).
        ("4096x2160", (4096, 2160), ["-append", "display=4096x2160"],
         run_other_size),
    ]
    for name, size, extra, fn in phases:
        with tempfile.TemporaryDirectory(prefix="vmgate-display-") as tmpdir:
            sock = os.path.join(tmpdir, "qmp.sock")
            argv = [qemu,
                    "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=on",
                    "-accel", "tcg", "-m", "64",
                    "-nodefaults", "-no-user-config", "-display", "none",
                    "-device", "isa-vga,vgamem_mb=64", "-device", "i8042",
                    "-qmp", "unix:%s,server=on,wait=off" % sock,
                    "-serial", "stdio", *extra, "-kernel", args.kernel]
            print("running (%s):" % name, " ".join(argv))
            guest = Guest(argv)
            qmp = None
            try:
                qmp = Qmp(sock)
                fn(Run(guest, qmp, font, tmpdir, size))
            except Failure as e:
                print("FAIL (%s):" % name, e)
                return 1
            finally:
                if qmp is not None:
                    qmp.close()
                guest.stop()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
