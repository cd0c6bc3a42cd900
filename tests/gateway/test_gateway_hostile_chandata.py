"""What a logged-in user can make the gateway hold (issue 8, defect 7).

libssh 0.10 keeps channel data a client sends past the window instead of
refusing it, and vmgated left it there until an `exec` came (or while the
console's input was blocked): a user with no rights at all sent 3 channels x
150 MiB on one connection and the gateway's RSS went from 9 to 459 MiB. Now a
client that sends past the window is cut off with a logged reason, one that
respects it is held at the window, and connections and channels per user are
capped (vmgate.yaml `limits:`). Runs on the host: no KVM needed (the VMs fail
to start: tools/no-kvm hides /dev/kvm; SSH, authentication and channels do
not care).
"""
import os
import re
import socket
import time

import paramiko
import pytest
from paramiko.common import MSG_CHANNEL_CLOSE, cMSG_CHANNEL_DATA

from gwharness import Gateway

MiB = 1 << 20


def vm_kib(pid, field):
    """A VmRSS/VmHWM-style line of /proc/PID/status, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def login(g, user, timeout=30):
    sock = socket.create_connection(("127.0.0.1", g.port), timeout=timeout)
    t = paramiko.Transport(sock)
    t.start_client(timeout=timeout)
    t.auth_publickey(user, paramiko.Ed25519Key.from_private_key_file(g.keys[user]))
    return t


def gateway(limits=None):
    g = Gateway(vms=("web1",), start=False)
    if limits:
        with open(g.config, "a") as f:
            f.write("limits:\n" + "".join(f"  {k}: {v}\n" for k, v in limits.items()))
    # In the sanitizer build, ASan keeps freed memory in quarantine (256 MiB
    # by default): it would count as memory the gateway holds.
    asan = os.environ.get("ASAN_OPTIONS", "")
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (asan + ":" if asan else "") + "quarantine_size_mb=4"
    try:
        g.start()
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old
    return g


def raw_data(t, chan, data):
    """MSG_CHANNEL_DATA straight to the transport: paramiko's Channel.send
    would wait for window, this does not."""
    m = paramiko.Message()
    m.add_byte(cMSG_CHANNEL_DATA)
    m.add_int(chan.remote_chanid)
    m.add_string(data)
    t._send_user_message(m)


def test_data_past_the_window_ends_the_connection_and_memory_stays_bounded():
    g = gateway()
    t = None
    try:
        pid = g.proc.pid
        # dave has a key and no rights at all.
        t = login(g, "dave")
        chans = [t.open_session() for _ in range(3)]
        time.sleep(0.5)
        rss0 = vm_kib(pid, "VmRSS")
        chunk = os.urandom(32768)
        per_chan = 150 * MiB
        sent = 0
        t0 = time.monotonic()
        try:
            for _ in range(per_chan // len(chunk)):
                for ch in chans:          # no exec: the data just waits
                    raw_data(t, ch, chunk)
                    sent += len(chunk)
                if not t.is_active():
                    break
        except (EOFError, OSError, paramiko.SSHException):
            pass                          # cut off: what we expect
        elapsed = time.monotonic() - t0
        time.sleep(1)
        hwm = vm_kib(pid, "VmHWM")
        print(f"sent {sent / MiB:.0f} MiB past the window in {elapsed:.1f} s; "
              f"vmgated RSS {rss0 / MiB:.1f} MiB before, peak {hwm / MiB:.1f} MiB")
        assert hwm - rss0 < 64 * MiB, (
            f"vmgated grew by {(hwm - rss0) / MiB:.0f} MiB holding channel data")
        # The connection was ended, and the log says who and why.
        g.wait_log(r"connection dave@127\.0\.0\.1:\d+ closed: session \d+: "
                   r"the client sent past the channel window", timeout=10)
        end = time.time() + 10
        while t.is_active() and time.time() < end:
            time.sleep(0.1)
        assert not t.is_active(), "the connection is still open"
        assert sent < per_chan * 3, "the gateway took 450 MiB without a word"
        assert g.proc.poll() is None
    finally:
        if t:
            t.close()
        g.cleanup()


def test_a_channel_we_closed_is_no_place_to_pile_up_data():
    """A client that never answers our channel close and keeps sending on
    that channel: libssh keeps the channel and takes the data, so the
    session stays until the client closes, to throw it away."""
    g = gateway()
    t = None
    try:
        pid = g.proc.pid
        t = login(g, "dave")
        # Never answer the gateway's MSG_CHANNEL_CLOSE.
        t._channel_handler_table = dict(t._channel_handler_table)
        t._channel_handler_table[MSG_CHANNEL_CLOSE] = lambda chan, m: None
        ch = t.open_session()
        ch.exec_command("help")       # answers, then closes the channel
        g.wait_log(r"dave@127\.0\.0\.1:\d+ runs 'help'")
        time.sleep(1)
        rss0 = vm_kib(pid, "VmRSS")
        chunk = os.urandom(32768)
        sent = 0
        try:
            while sent < 128 * MiB and t.is_active():
                raw_data(t, ch, chunk)
                sent += len(chunk)
        except (EOFError, OSError, paramiko.SSHException):
            pass
        time.sleep(1)
        hwm = vm_kib(pid, "VmHWM")
        print(f"sent {sent / MiB:.0f} MiB on a channel the gateway had closed; "
              f"vmgated RSS {rss0 / MiB:.1f} MiB before, peak {hwm / MiB:.1f} MiB")
        assert hwm - rss0 < 32 * MiB, (
            f"vmgated grew by {(hwm - rss0) / MiB:.0f} MiB holding channel data")
        # (The session discards it as it comes, so libssh's window reopens
        # and the client is not past it: nothing to cut.)
        assert g.proc.poll() is None
    finally:
        if t:
            t.close()
        g.cleanup()


def test_a_client_that_respects_the_window_is_held_not_cut_off():
    g = gateway()
    t = None
    try:
        pid = g.proc.pid
        t = login(g, "dave")
        chans = [t.open_session() for _ in range(4)]
        rss0 = vm_kib(pid, "VmRSS")
        took = []
        chunk = b"x" * 32768
        for ch in chans:
            ch.settimeout(1.5)
            n = 0
            try:
                while n < 64 * MiB:
                    n += ch.send(chunk)   # waits for window
            except socket.timeout:
                pass
            took.append(n)
        hwm = vm_kib(pid, "VmHWM")
        print(f"each channel took {[n // 1024 for n in took]} KiB before its window "
              f"closed; vmgated RSS {rss0 / MiB:.1f} -> peak {hwm / MiB:.1f} MiB")
        assert all(0 < n <= 2 * MiB for n in took), took
        assert hwm - rss0 < 32 * MiB
        # Nothing was cut off: the connection still works.
        assert t.is_active()
        ch = t.open_session()
        ch.exec_command("help")
        out = b""
        ch.settimeout(10)
        while True:
            d = ch.recv(65536)
            if not d:
                break
            out += d
        assert b"list" in out, out
        assert "past the channel window" not in g.log()
    finally:
        if t:
            t.close()
        g.cleanup()


def open_fails(t):
    with pytest.raises(paramiko.ChannelException):
        t.open_session(timeout=10)


def test_connections_and_channels_per_user_are_capped():
    g = gateway({"max_connections_per_user": 3,
                 "max_sessions_per_connection": 2,
                 "max_sessions_per_user": 5})
    ts = []
    try:
        # Sessions on one connection: the third is refused.
        a = login(g, "alice")
        ts.append(a)
        a1, a2 = a.open_session(), a.open_session()  # noqa: F841 (a lost Channel closes)
        open_fails(a)
        g.wait_log(r"alice@127\.0\.0\.1:\d+: channel refused: 2 sessions open "
                   r"on this connection \(max_sessions_per_connection\)")
        # Sessions of one user over connections: 2 + 2 + 1, then refused.
        b = login(g, "alice")
        ts.append(b)
        keep = [b.open_session(), b.open_session()]  # (a lost Channel closes)
        c = login(g, "alice")
        ts.append(c)
        keep.append(c.open_session())
        open_fails(c)
        g.wait_log(r"alice@127\.0\.0\.1:\d+: channel refused: alice has 5 "
                   r"sessions open \(max_sessions_per_user\)")
        # A fourth connection of alice: the key is right, but it is refused
        # with a message, and audited.
        with pytest.raises((paramiko.SSHException, EOFError)):
            login(g, "alice")
        g.wait_log(r"connection 127\.0\.0\.1:\d+ closed: alice has 3 connections "
                   r"\(max_connections_per_user\)")
        assert any(e.get("event") == "auth" and e.get("user") == "alice"
                   and e.get("result") == "refused" for e in g.audit()), g.audit()
        # OpenSSH's client shows the reason.
        st, out, err = g.ssh("alice", "list")
        assert st == 255 and "alice has 3 connections (max_connections_per_user)" in err, (
            st, out, err)
        # Other users are not affected.
        bob = login(g, "bob")
        ts.append(bob)
        keep.append(bob.open_session())
        # A closed session frees its place.
        a1.close()
        end = time.time() + 10
        while True:
            try:
                keep.append(c.open_session(timeout=10))
                break
            except paramiko.ChannelException:
                assert time.time() < end, "the closed session's place stayed taken"
                time.sleep(0.2)
        # A closed connection frees its place.
        b.close()
        end = time.time() + 10
        while True:
            try:
                ts.append(login(g, "alice"))
                break
            except (paramiko.SSHException, EOFError):
                assert time.time() < end, "the closed connection's place stayed taken"
                time.sleep(0.2)
        assert g.proc.poll() is None
    finally:
        for t in ts:
            t.close()
        g.cleanup()


def test_limits_are_checked_with_their_place(tmp_path):
    import subprocess
    from gwharness import BUILD
    cfg = tmp_path / "vmgate.yaml"
    cfg.write_text("limits:\n  max_sessions_per_connection: 0\n"
                   "  max_connections_per_user: many\n  nope: 1\n")
    (tmp_path / "policy.yaml").write_text("users: {}\n")
    p = subprocess.run([os.path.join(BUILD, "gateway", "vmgatectl"), "check",
                        "--config", str(cfg)], capture_output=True, text=True)
    out = p.stdout + p.stderr
    assert p.returncode != 0, out
    assert re.search(r"vmgate\.yaml:2:32: error: max_sessions_per_connection must "
                     r"be a number from 1 to \d+", out), out
    assert re.search(r"vmgate\.yaml:3:29: error: max_connections_per_user must "
                     r"be a number from 1 to \d+", out), out
    assert re.search(r"vmgate\.yaml:4:3: error: .*nope", out), out
