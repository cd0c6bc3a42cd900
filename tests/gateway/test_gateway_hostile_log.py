"""A client cannot write into the gateway's log (issue 8, defect 5).

libssh's error text quotes the client's banner and its KEXINIT algorithm
lists; the gateway logged it raw, so terminal escapes reached the log and a
newline in the host-key list forged a whole line. Raw sockets, no SSH
library: the bytes are exactly the attacker's. Runs on the host: no KVM
needed (the VMs fail to start: tools/no-kvm hides /dev/kvm; the SSH side
does not care).
"""
import os
import re
import socket
import struct

from gwharness import Gateway

FORGED = b"2026-01-01T00:00:00.000Z vmgated[1]: sshd: root@1.2.3.4 authenticated (publickey)"
ESCAPES = b"\x1b[31mRED\x1b]0;owned\x07\x1b[2J\r"


def name_list(s):
    return struct.pack(">I", len(s)) + s


def packet(payload):
    """An unencrypted SSH binary packet (RFC 4253 section 6)."""
    pad = 8 - (len(payload) + 5) % 8
    if pad < 4:
        pad += 8
    return struct.pack(">IB", len(payload) + pad + 1, pad) + payload + b"\0" * pad


def kexinit(hostkey_algos):
    return packet(bytes([20]) + os.urandom(16)
                  + name_list(b"curve25519-sha256")
                  + name_list(hostkey_algos)
                  + name_list(b"aes128-ctr") * 2
                  + name_list(b"hmac-sha2-256-etm@openssh.com") * 2
                  + name_list(b"none") * 2
                  + name_list(b"") * 2
                  + b"\0" + b"\0\0\0\0")


def talk(port, banner, after_banner=b""):
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        assert s.recv(256).startswith(b"SSH-2.0-")
        s.sendall(banner)
        if after_banner:
            # the server's KEXINIT first, so ours is answered, not raced
            s.recv(65536)
            s.sendall(after_banner)
        try:
            while s.recv(65536):
                pass
        except (ConnectionResetError, socket.timeout):
            pass


def test_banner_and_kexinit_cannot_write_into_the_log():
    # The test reads the shared log line by line. In the sanitizer build the
    # monitor (which cannot start under tools/no-kvm) prints LeakSanitizer's
    # "==N==Unable to get registers from thread M." at exit into the same
    # file, once in the middle of the gateway's line (seen in a full run):
    # no leak check for this test's monitors, so only vmgated writes lines.
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + "detect_leaks=0"
    try:
        g = Gateway(vms=("web1",))
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old
    try:
        # 1: a valid banner with terminal escapes, then a KEXINIT whose
        # host-key list carries "\n<a forged log line>" and escapes.
        talk(g.port, b"SSH-2.0-evil" + ESCAPES + b"\r\n",
             kexinit(b"ssh-foo" + ESCAPES + b"\n" + FORGED))
        # 2: a banner libssh refuses and quotes in its error.
        talk(g.port, b"SSH-1.5-evil" + ESCAPES + b"\r\n")
        # 3: no banner at all, only escapes and a newline-separated forgery.
        talk(g.port, ESCAPES + b"\n" + FORGED + b"\r\n")
        g.wait_log(r"key exchange failed", timeout=20, count=3)
        g.stop()
        with open(g.log_path, "rb") as f:
            log = f.read()

        # No control byte but the line ends, no DEL.
        bad = sorted({b for b in log if (b < 0x20 and b != 0x0a) or b == 0x7f})
        assert not bad, f"raw control bytes {bad} in the log:\n{log!r}"
        lines = log.split(b"\n")
        # No forged line: every mention of it sits inside the key exchange
        # failure line that quotes it, escaped.
        assert not [l for l in lines if l.startswith(b"2026-01-01T00:00:00.000Z")], log
        quoting = [l for l in lines if b"root@1.2.3.4" in l]
        assert len(quoting) == 1, log
        for l in quoting:
            assert b"key exchange failed" in l and b"\\x0a2026-01-01" in l, l
        # The evidence is still there, readable and unambiguous.
        assert b"client [ssh-foo\\x1b[31mRED\\x1b]0;owned\\x07" in log, log
        assert b"(banner: SSH-1.5-evil\\x1b[31mRED" in log, log
        # Every line still has the log's own shape.
        for l in lines:
            if l and not l.startswith(b"vmgate-vmm: ") and b"warning:" not in l:
                assert re.match(rb"\d{4}-\d\d-\d\dT[\d:.]+Z vmgated\[\d+\]: \w+: ", l), l
    finally:
        g.cleanup()
