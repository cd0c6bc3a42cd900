"""One address cannot take every connection slot (issue 8, defect 2).

4,100 idle sockets from one address used to fill the gateway's 4,096
connections, each kept for a 120 s grace time, and a real `ssh alice@gw
list` got "Connection reset". Now a source (IPv4 address, IPv6 /64) may have
per_source_max_startups connections that have not logged in, their total is
limited as OpenSSH's MaxStartups, and one that has not done its key exchange
after kex_timeout (login: login_grace_time) is closed. Runs on the host: no
KVM needed (the VMs fail to start: tools/no-kvm hides /dev/kvm; SSH, auth
and `list` do not care).
"""
import os
import re
import resource
import select
import socket
import time

import paramiko

from gwharness import Gateway, rss_kib

FLOOD = 4200  # more than the gateway's 4,096 connections
PER_SOURCE = 16  # the default per_source_max_startups


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def wait_answered(socks, timeout=10.0):
    """Waits until the gateway has answered every socket: a banner (it took
    the connection) or an end (it refused it). Returns how many did not get
    an answer in time."""
    p = select.poll()
    for s in socks:
        p.register(s, select.POLLIN)
    left = len(socks)
    end = time.monotonic() + timeout
    while left and time.monotonic() < end:
        for fd, _ in p.poll(200):
            p.unregister(fd)
            left -= 1
    return left


def open_idle(port, n, src="127.0.0.1", batch=256, deadline=15.0):
    """n sockets from src that connect and then send nothing, opened batch
    by batch, each batch once the gateway answered the one before (a banner
    or an end), so the flood does not overflow the listen queue and wait on
    SYN retries. Returns (sockets, how many got no answer)."""
    socks, unanswered = [], 0
    end = time.monotonic() + deadline
    for k in range(0, n, batch):
        new = []
        for _ in range(min(batch, n - k)):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.bind((src, 0))
            s.connect_ex(("127.0.0.1", port))
            new.append(s)
        unanswered += wait_answered(new, max(0.2, end - time.monotonic()))
        socks += new
    return socks, unanswered


def server_side(socks):
    """Reads what each socket got: ('open', bytes) if the gateway still holds
    it, ('closed', bytes) if it ended it, ('connecting', b"") if it is not
    connected yet."""
    out = []
    for s in socks:
        got = b""
        state = "open"
        try:
            s.getpeername()
        except OSError:
            out.append(("connecting", got))
            continue
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    state = "closed"
                    break
                got += chunk
        except BlockingIOError:
            pass
        except (ConnectionResetError, OSError):
            state = "closed"
        out.append((state, got))
    return out


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_flood_from_one_address_leaves_room_for_everyone_else():
    raise_nofile(FLOOD + 1000)
    g = Gateway(vms=("web1",))  # the defaults, as an admin gets them
    socks = []
    try:
        pid = g.proc.pid
        fds_before, rss_before = fds(pid), rss_kib(pid)
        t0 = time.monotonic()
        socks, unanswered = open_idle(g.port, FLOOD)
        flood_s = time.monotonic() - t0
        print(f"{FLOOD} idle sockets opened and answered in {flood_s:.1f} s "
              f"({unanswered} not answered); vmgated has {fds(pid)} fds "
              f"(was {fds_before}), RSS {rss_kib(pid)} KiB (was {rss_before})")
        assert unanswered == 0, f"the gateway answered {FLOOD - unanswered} of {FLOOD}"

        # Another loopback address gets in and is served.
        t1 = time.monotonic()
        st, out, err = g.ssh("alice", "list", timeout=30,
                             extra=("-b", "127.0.0.2"))
        print(f"ssh -b 127.0.0.2 alice@ list: status {st} in "
              f"{time.monotonic() - t1:.2f} s; stderr {err.strip()!r}")
        assert st == 0 and "web1" in out, (st, out, err)

        # The flood holds only its own few slots: at most
        # per_source_max_startups of its sockets have the banner and are
        # held, every other one was closed at once (or, if it got a banner,
        # at kex_timeout); the gateway's descriptors and memory stay bounded.
        seen = server_side(socks)
        held = [b for st_, b in seen if st_ == "open" and b]
        refused = [b for st_, b in seen if st_ == "closed" and not b]
        timed_out = [b for st_, b in seen if st_ == "closed" and b]
        print(f"flood: {len(held)} held, {len(refused)} refused, "
              f"{len(timed_out)} timed out, "
              f"{FLOOD - len(held) - len(refused) - len(timed_out)} else")
        assert len(held) <= PER_SOURCE, len(held)
        if flood_s < 8:  # (else the first ones may have timed out already)
            assert len(held) == PER_SOURCE, len(held)
        assert all(b.startswith(b"SSH-2.0-vmgate") for b in held + timed_out)
        assert len(held) + len(refused) + len(timed_out) == FLOOD
        assert fds(pid) < fds_before + 2 * PER_SOURCE + 10, (fds_before, fds(pid))
        assert rss_kib(pid) < rss_before + 32 * 1024, (rss_before, rss_kib(pid))

        log = g.log()
        assert re.search(rf"refused 127\.0\.0\.1:\d+: {PER_SOURCE} "
                         r"unauthenticated connections from 127\.0\.0\.1 "
                         rf"already \(ssh: per_source_max_startups: "
                         rf"{PER_SOURCE}\)", log), log
        # Coalesced: a line, then one summary every 5 s while refusals go
        # on, not a line per refused socket; and every refusal is counted.
        summary = (r"refused (\d+) more connections? in 5 s \((\d+) over "
                   r"per_source_max_startups, 0 by max_startups\) from "
                   r"127\.0\.0\.1 \((\d+)\)\n")
        end = time.monotonic() + 12
        while time.monotonic() < end:
            counted = 1 + sum(int(n) for n, _, _ in re.findall(summary, g.log()))
            if counted >= len(refused):
                break
            time.sleep(0.2)
        lines = re.findall(r"refused [^\n]*", g.log())
        print(f"{len(lines)} log lines for {len(refused)} refusals: {lines}")
        assert counted == len(refused), (counted, len(refused), lines)
        assert len(lines) <= 2 + (time.monotonic() - t0) / 5, lines

        # The held ones never did a key exchange: closed at kex_timeout.
        g.wait_log(r"127\.0\.0\.1:\d+ closed: no key exchange within 10 s "
                   r"\(ssh: kex_timeout\)", timeout=15,
                   count=len(held) + len(timed_out))
        time.sleep(0.5)
        still = [st_ for st_, _ in server_side(socks) if st_ == "open"]
        assert not still, f"{len(still)} idle sockets still held"
        print(f"all idle sockets closed {time.monotonic() - t0:.1f} s after "
              f"the flood began")
        assert g.proc.poll() is None
    finally:
        for s in socks:
            s.close()
        g.cleanup()


def idle_from(port, src):
    s = socket.create_connection(("127.0.0.1", port), timeout=10,
                                 source_address=(src, 0))
    return s


def gone(s, timeout):
    """Whether the gateway closed s (EOF or reset) within timeout."""
    s.settimeout(timeout)
    try:
        while s.recv(4096):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def test_configured_limits_max_startups_and_login_grace():
    g = Gateway(vms=("web1",), config_extra=(
        "ssh:\n"
        "  max_startups: 3:100:6\n"  # from the 3rd on, refuse every one
        "  per_source_max_startups: 2\n"
        "  kex_timeout: 2\n"
        "  login_grace_time: 3\n"))
    socks = []
    try:
        g.wait_log(r"before login: max_startups 3:100:6, "
                   r"per_source_max_startups 2 \(per IPv4 address, per IPv6 "
                   r"/64\), kex_timeout 2 s, login_grace_time 3 s", 5)
        # Three sources hold one idle connection each: the total is at
        # max_startups' start, so a fourth source is refused...
        socks = [idle_from(g.port, f"127.0.0.{i}") for i in (3, 4, 5)]
        for s in socks:
            assert s.recv(64).startswith(b"SSH-2.0-")
        late = idle_from(g.port, "127.0.0.6")
        assert gone(late, 5), "a 4th unauthenticated connection was kept"
        g.wait_log(r"refused 127\.0\.0\.6:\d+: 3 unauthenticated connections "
                   r"\(ssh: max_startups: 3:100:6\)", 5)
        # ...and a real client too, until kex_timeout frees the slots.
        st, out, err = g.ssh("alice", "list", timeout=30,
                             extra=("-b", "127.0.0.2"))
        assert st == 255, (st, out, err)
        assert all(gone(s, 5) for s in socks)
        g.wait_log(r"closed: no key exchange within 2 s \(ssh: kex_timeout\)",
                   5, count=3)
        st, out, err = g.ssh("alice", "list", timeout=30,
                             extra=("-b", "127.0.0.2"))
        assert st == 0 and "web1" in out, (st, out, err)

        # A client that finishes the key exchange but does not log in is
        # closed at login_grace_time, counted from its connect.
        sock = socket.create_connection(("127.0.0.1", g.port), timeout=10)
        t = paramiko.Transport(sock)
        t0 = time.monotonic()
        t.start_client(timeout=10)
        while t.is_active() and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        took = time.monotonic() - t0
        t.close()
        sock.close()
        assert 2.5 < took < 5, took
        g.wait_log(r"closed: not logged in within 3 s "
                   r"\(ssh: login_grace_time\)", 5)

        # Per source: a third idle socket from one address is refused.
        pair = [idle_from(g.port, "127.0.0.7") for _ in range(2)]
        socks += pair
        third = idle_from(g.port, "127.0.0.7")
        assert gone(third, 5)
        assert not any(gone(s, 0.2) for s in pair)
        # (a line of its own, or within the summary of the refusals above)
        g.wait_log(r"refused (127\.0\.0\.7:\d+: 2 unauthenticated connections "
                   r"from 127\.0\.0\.7 already|1 more connection in 5 s \(1 "
                   r"over per_source_max_startups, 0 by max_startups\) from "
                   r"127\.0\.0\.7 \(1\))", 12)
    finally:
        for s in socks:
            s.close()
        g.cleanup()
