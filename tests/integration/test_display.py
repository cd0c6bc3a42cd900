"""The monitor's display: a framebuffer served over VNC, screenshots, and the
control channel's display messages, with real clients (vncprobe on
libvncclient, gvnccapture from Debian)."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest
from PIL import Image

from ctlpeer import CtlPeer
from vmmproc import BUILD, PROMPT, VMM, Vmm

needs_kvm = pytest.mark.skipif(not os.path.exists("/dev/kvm"), reason="no /dev/kvm: run under tools/kvmbox")
PROBE = os.path.join(BUILD, "tests", "vnc", "vncprobe")
DISPLAY_CLIENT, DISPLAY_INFO, SCREENSHOT, SCREENSHOT_DONE = 0x30, 0x31, 0x32, 0x33
VIEW, CONTROL = 1, 2
UNSUPPORTED, INTERNAL = 6, 7

CACHE = os.path.join(os.environ.get("VMGATE_CACHE", os.path.expanduser("~/.cache/vmgate")), "linux")


def probe(target, *args, timeout=60):
    r = subprocess.run([PROBE, target, *args], capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, "vncprobe %s: %s%s" % (args, r.stdout, r.stderr)
    facts = {"rect": []}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(" ")
        if k == "rect":
            facts["rect"].append(tuple(map(int, v.split())))
        else:
            facts[k] = v
    return facts


def shot_written(vm, path, count=1):
    """SIGUSR1, then wait for the monitor's line saying the PNG is there
    (the file is opened at start, before the sandbox, and rewritten)."""
    vm.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while vm.stderr_text().count("screenshot %s: " % path) < count:
        assert time.monotonic() < deadline, vm.stderr_text()
        time.sleep(0.1)
    assert "bytes" in vm.stderr_text().split("screenshot %s: " % path)[count], vm.stderr_text()


@pytest.fixture
def tmp():
    # Sockets cannot live on kvmbox's shared folders: a local tmpfs.
    d = tempfile.mkdtemp(prefix="vmgate-display-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_display_options_are_checked():
    for bad, want in (("--display=1024", b"WIDTHxHEIGHT"), ("--display=8000x600", b"width must be"),
                      ("--vnc=0.0.0.0:5900", b"only a loopback address"),
                      ("--vnc=127.0.0.1:99999", b"bad port"),
                      ("--vnc-damage=some", b"want log or full")):
        r = subprocess.run([VMM, bad, "--console", "none"], capture_output=True, timeout=30)
        assert r.returncode in (1, 2), (bad, r)
        assert want in r.stderr, (bad, r.stderr)
    r = subprocess.run([VMM, "--display", "none", "--vnc", "unix:/tmp/x", "--console", "none"],
                       capture_output=True, timeout=30)
    assert r.returncode == 2 and b"need a display" in r.stderr, r


@needs_kvm
def test_vnc_viewers_get_the_screen_and_a_screenshot_decodes(tmp):
    sock = os.path.join(tmp, "vnc.sock")
    shot = os.path.join(tmp, "shot.png")
    with Vmm("--display", "800x600", "--vnc", "unix:" + sock, "--vnc", "127.0.0.1:5977",
             "--screenshot", shot) as vm:
        vm.expect(re.escape(PROMPT), timeout=60)
        assert os.stat(sock).st_mode & 0o077 == 0, "the socket is the owner's only"
        f = probe(sock, "--out", os.path.join(tmp, "first.ppm"))
        assert f["size"] == "800 600"
        assert f["name"] == "vm"
        with Image.open(os.path.join(tmp, "first.ppm")) as im:
            assert im.size == (800, 600)
        # A real viewer from Debian, over TCP.
        cap = os.path.join(tmp, "cap.png")
        r = subprocess.run(["gvnccapture", "127.0.0.1:77", cap], capture_output=True, timeout=60)
        assert r.returncode == 0, r
        with Image.open(cap) as im:
            assert im.size == (800, 600)
        shot_written(vm, shot)
        with Image.open(shot) as im:
            assert im.format == "PNG" and im.size == (800, 600) and im.mode == "RGB"
            im.load()
        # The guest is unharmed by all of it.
        assert vm.command("echo still-here") == b"still-here\r\n"


@needs_kvm
def test_without_a_display_there_is_no_dispi_and_no_server(tmp):
    with Vmm("--display", "none") as vm:
        vm.expect(re.escape(PROMPT), timeout=60)
        assert vm.command("echo ok") == b"ok\r\n"


def start_ctl(*args, name="web1"):
    peer = CtlPeer()
    fd = peer.child.fileno()
    proc = subprocess.Popen([VMM, "--ctl-fd", str(fd), "--name", name, *args], pass_fds=[fd],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peer.child.close()
    return peer, proc


def recv_until(peer, typ, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no message %#x; errors=%r" % (typ, peer.errors)
        m = peer.recv(left)
        assert m is not None, "channel closed; errors=%r" % (peer.errors,)
        if m[0] == typ:
            return m


def send_fd(peer, typ, payload, fd, seq):
    hdr = struct.pack("<HHI", typ, 0, seq)
    peer.sock.sendmsg([hdr + payload], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", fd))])


@needs_kvm
def test_control_channel_hands_viewers_and_takes_screenshots(tmp):
    peer, proc = start_ctl("--display", "640x480")
    try:
        peer.hello("web1")
        _, _, body = recv_until(peer, DISPLAY_INFO)
        assert struct.unpack("<II", body) == (640, 480)
        # A viewer on a socketpair, as the gateway hands them over.
        ours, theirs = socket.socketpair()
        send_fd(peer, DISPLAY_CLIENT, struct.pack("<I", VIEW), theirs.fileno(), seq=5)
        theirs.close()
        r = subprocess.run([PROBE, "fd:%d" % ours.fileno()], pass_fds=[ours.fileno()],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "size 640 480" in r.stdout, r
        ours.close()
        # A screenshot into a file we pass.
        fd = os.memfd_create("shot")
        send_fd(peer, SCREENSHOT, b"", fd, seq=9)
        _, seq, body = recv_until(peer, SCREENSHOT_DONE)
        (n,) = struct.unpack("<Q", body)
        assert seq == 9 and n == os.fstat(fd).st_size > 0
        path = os.path.join(tmp, "ctl.png")
        with open(path, "wb") as out:
            out.write(os.pread(fd, n, 0))
        with Image.open(path) as im:
            assert im.size == (640, 480)
        os.close(fd)
        # Never into a pipe: the loop must not wait on a reader.
        rd, wr = os.pipe()
        send_fd(peer, SCREENSHOT, b"", wr, seq=10)
        until_err = time.monotonic() + 30
        while not any(e[0] == INTERNAL for e in peer.errors):
            assert time.monotonic() < until_err, peer.errors
            peer.recv(30)
        os.close(rd)
        os.close(wr)
        # A DISPLAY_CLIENT without its fd is a protocol error.
        peer.send(DISPLAY_CLIENT, struct.pack("<I", CONTROL), seq=11)
        assert proc.wait(timeout=30) == 20
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@needs_kvm
def test_control_channel_display_requests_without_a_display():
    peer, proc = start_ctl("--display", "none")
    try:
        peer.hello("web1")
        fd = os.memfd_create("shot")
        send_fd(peer, SCREENSHOT, b"", fd, seq=3)
        deadline = time.monotonic() + 30
        while not peer.errors:
            assert time.monotonic() < deadline
            m = peer.recv(30)
            assert m is None or m[0] != DISPLAY_INFO, "no display, no DISPLAY_INFO"
        assert peer.errors[0] == (UNSUPPORTED, "no display")
        assert proc.poll() is None, "a refused request leaves the monitor running"
    finally:
        proc.kill()
        proc.wait()


@needs_kvm
@pytest.mark.skipif(not os.path.exists(os.path.join(CACHE, "vmlinuz")), reason="run tools/fetch-linux.sh first")
def test_linux_bzimage_draws_its_console_on_the_framebuffer(tmp):
    # screen_info says VESA linear framebuffer: Debian's kernel binds vesafb
    # and fbcon draws the kernel log on it.
    shot = os.path.join(tmp, "linux.png")
    with Vmm("--kernel", os.path.join(CACHE, "vmlinuz"), "--mem", "512M", "--screenshot", shot,
             "--cmdline", "console=tty0 console=ttyS0 panic=-1 nokaslr", stdin=False) as vm:
        vm.expect(rb"vesafb: mode is 1024x768x32, linelength=4096", timeout=300)
        vm.expect(rb"vesafb: framebuffer at 0xe0000000", timeout=60)
        vm.expect(rb"Console: switching to colour frame buffer device 128x48", timeout=60)
        vm.expect(rb"fb0: VESA VGA frame buffer device", timeout=60)
        time.sleep(2)
        shot_written(vm, shot)
        with Image.open(shot) as im:
            lit = sum(1 for p in im.convert("L").getdata() if p > 64)
        assert lit > 2000, "fbcon text on the screen: %d lit pixels" % lit
