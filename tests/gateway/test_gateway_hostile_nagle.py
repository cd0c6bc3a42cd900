"""No 40 ms stalls between an SSH request and its reply (issue 9).

Without TCP_NODELAY the gateway's reply to a request that it answers with
several packets (a command's output, exit status, EOF, close) waited for
the client's ACK of the first packet, which a delayed-ACK client holds for
40 ms; and a client that has Nagle's algorithm on (paramiko, unlike
OpenSSH's ssh) held its next request back until the gateway acknowledged
its last one, which the gateway's kernel delayed by 40 ms too. With both,
each `list` on one connection took about 92 ms on this host; with the fix
about 1 ms. Runs on the host: no KVM needed (`list` works while the VMs
fail to start: tools/no-kvm hides /dev/kvm).

The client here is plain paramiko on a plain socket (Nagle on, as
paramiko leaves it), one connection, requests strictly one after another:
the pattern of a management script. The assertion is on the median, so a
loaded machine's occasional slow request does not fail it; a 40 ms stall
is in every request.

The VNC listener's connections are checked another way: a VNC reply in
several writes (an update the monitor wrote in pieces) stalls the same
way, but only with a running VM, and under kvmbox a 40 ms stall hides in
the emulation's noise. So the test takes the gateway's own end of a
viewer's connection (pidfd_getfd) and reads its TCP_NODELAY.
"""
import ctypes
import os
import socket
import statistics
import time

import paramiko

from gwharness import Gateway

REQUESTS = 50
MEDIAN_MAX_MS = 20   # 40 ms is the kernel's shortest delayed ACK


def run(t, cmd):
    """Milliseconds from opening the channel to the server's close, and
    what the command printed."""
    t0 = time.perf_counter()
    ch = t.open_session(timeout=30)
    ch.settimeout(30)
    ch.exec_command(cmd)
    out = b""
    while True:
        d = ch.recv(65536)
        if not d:
            break
        out += d
    status = ch.recv_exit_status()
    ch.close()
    ms = (time.perf_counter() - t0) * 1000
    assert status == 0, (status, out)
    return ms, out


def test_sequential_requests_on_one_connection_do_not_stall():
    g = Gateway(vms=("web1",))
    try:
        key = paramiko.Ed25519Key.from_private_key_file(g.keys["alice"])
        sock = socket.create_connection(("127.0.0.1", g.port), timeout=30)
        t = paramiko.Transport(sock)
        t.start_client(timeout=30)
        t.auth_publickey("alice", key)
        _, out = run(t, "list")   # warm up
        assert b"web1" in out, out
        times = [run(t, "list")[0] for _ in range(REQUESTS)]
        t.close()
        med = statistics.median(times)
        assert med < MEDIAN_MAX_MS, (
            f"`list` on one connection: median {med:.1f} ms over {REQUESTS} requests "
            f"(limit {MEDIAN_MAX_MS} ms; a delayed-ACK stall is 40 ms); all: "
            + " ".join(f"{x:.1f}" for x in times))
    finally:
        g.cleanup()


def gateway_end(pid, client):
    """A duplicate of the gateway's (PID's) end of the TCP connection whose
    other end is the socket CLIENT, taken with pidfd_getfd(2)."""
    port = client.getsockname()[1]
    inode = None
    with open("/proc/%d/net/tcp" % pid) as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if int(fields[2].split(":")[1], 16) == port:  # its remote end: us
                inode = fields[9]
    assert inode, f"no connection from port {port} in the gateway's /proc/net/tcp"
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == f"socket:[{inode}]":
                break
        except OSError:
            continue
    else:
        raise AssertionError(f"the gateway holds no fd for socket {inode}")
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        dup = libc.syscall(438, pidfd, int(fd), 0)  # SYS_pidfd_getfd
        assert dup >= 0, os.strerror(ctypes.get_errno())
    finally:
        os.close(pidfd)
    return socket.socket(fileno=dup)


def test_ssh_and_vnc_connections_send_without_nagle():
    g = Gateway(vms=("web1",), vnc=True)
    try:
        for port, banner in ((g.port, b"SSH-2.0-"), (g.vnc_port, b"RFB 003.008\n")):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as c:
                got = b""
                while len(got) < len(banner):
                    d = c.recv(len(banner) - len(got))
                    assert d, f"port {port} closed after {got!r}"
                    got += d
                assert got == banner, got
                with gateway_end(g.proc.pid, c) as mine:
                    nodelay = mine.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                assert nodelay, f"the gateway's end of a connection to {banner!r} has Nagle on"
    finally:
        g.cleanup()
