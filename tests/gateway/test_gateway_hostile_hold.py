"""A held auth reply must not cost the gateway CPU (issue 8, defect 4).

After a few failures from one address the gateway holds each failure reply
for a while. A client that sends more bytes or half-closes its socket during
that hold used to leave the socket readable while nothing read it, and the
event loop spun (~31k epoll_wait/s). Runs on the host: no KVM needed (the
VMs fail to start: tools/no-kvm hides /dev/kvm; SSH and authentication do
not care).
"""
import os
import re
import socket
import threading
import time

import paramiko
import pytest

from gwharness import Gateway

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def connect(port):
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    t = paramiko.Transport(sock)
    t.start_client(timeout=30)
    return sock, t


def failing_password(t, result, i):
    try:
        t.auth_password("alice", "not the password")
        result[i] = "accepted?!"
    except paramiko.AuthenticationException:
        result[i] = "refused"
    except Exception as e:  # the connection may end after the refusal
        result[i] = f"{type(e).__name__}: {e}"


def test_held_reply_with_client_bytes_and_half_close_costs_no_cpu():
    g = Gateway(vms=("web1",))
    conns = []
    try:
        # Use up the free failures: from now on every failure is held
        # (250 ms, 500 ms, ... up to 8 s).
        sock, t = connect(g.port)
        for _ in range(3):
            with pytest.raises(paramiko.AuthenticationException):
                t.auth_password("alice", "wrong")
        t.close()
        sock.close()

        n = 10
        result = [None] * n
        threads = []
        for i in range(n):
            sock, t = connect(g.port)
            conns.append((sock, t))
        for i, (sock, t) in enumerate(conns):
            th = threading.Thread(target=failing_password, args=(t, result, i),
                                  daemon=True)
            th.start()
            threads.append(th)
        # Wait until all of them are hashed (the audit says so) and held.
        end = time.time() + 30
        while time.time() < end and sum(
                1 for e in g.audit()
                if e.get("method") == "password" and e.get("result") == "failure") < 3 + n:
            time.sleep(0.05)
        for i, (sock, t) in enumerate(conns):
            t.send_ignore(256)  # bytes during the hold
            if i % 2 == 0:
                sock.shutdown(socket.SHUT_WR)  # and a half-close
        time.sleep(0.2)
        pid = g.proc.pid
        c0, w0 = cpu_seconds(pid), time.monotonic()
        time.sleep(3.0)
        c1, w1 = cpu_seconds(pid), time.monotonic()
        share = (c1 - c0) / (w1 - w0)
        print(f"vmgated CPU during the hold: {c1 - c0:.3f} s in {w1 - w0:.2f} s "
              f"({100 * share:.1f}%)")
        # Held replies still running at the end of the window: 4 s and 8 s
        # holds, so the window saw several held connections throughout.
        assert share < 0.10, f"vmgated used {100 * share:.0f}% CPU while replies were held"

        # Every held reply is still sent, and the clients that half-closed
        # are noticed afterwards: their connections end.
        for th in threads:
            th.join(30)
        assert all(r is not None for r in result), result
        assert result.count("refused") >= n // 2, result
        assert "accepted?!" not in result, result
        # (libssh reports the EOF as "Socket error: disconnected"; +1 for
        # the first connection, closed by us.)
        g.wait_log(r"closed: (client left|Socket error: disconnected)",
                   timeout=15, count=n // 2 + 1)
        assert g.proc.poll() is None
    finally:
        for sock, t in conns:
            t.close()
            sock.close()
        g.cleanup()
