"""vmgated end to end: real OpenSSH client and paramiko against the gateway,
real vmgate-vmm monitors running the demo guest."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import zlib

import pytest

from gwharness import BUILD, PROMPT, SLOW, Gateway, have_kvm, keygen, paramiko_client, rss_kib

needs_kvm = pytest.mark.skipif(not have_kvm(), reason="needs /dev/kvm (run under tools/kvmbox)")
pytestmark = needs_kvm


@pytest.fixture(scope="module")
def gw():
    g = Gateway()
    try:
        g.wait_prompt("web1")
        g.wait_prompt("web2")
        yield g
    finally:
        g.cleanup()


@pytest.fixture(autouse=True)
def gateway_still_up(request):
    """After each test on the shared gateway: it must still be running, and
    if it is not, its last words are the failure."""
    yield
    if "gw" in request.fixturenames:
        g = request.getfixturevalue("gw")
        assert g.proc.poll() is None, "vmgated exited with status %s; its log ends:\n%s" % (
            g.proc.returncode, g.log()[-6000:])


# -- listing, status, refusals ---------------------------------------------

def test_list_shows_only_visible_vms(gw):
    st, out, err = gw.ssh("alice", "list")
    assert st == 0, err
    assert re.search(r"^web1\s+running\s+console:read,console:write,power$", out, re.M), out
    assert re.search(r"^web2\s+running\s+console:read,console:write$", out, re.M), out
    st, out, _ = gw.ssh("bob")          # shell request, no command: the list
    assert st == 0
    assert "web1" in out and "web2" not in out, out


def test_status_and_who(gw):
    st, out, _ = gw.ssh("alice", "status", "web1")
    assert st == 0 and re.match(r"web1: running, monitor pid \d+, \d+ attached", out), out
    c = gw.attach("bob", "web1")
    try:
        c.expect(b"read-only: you may watch web1")
        st, out, _ = gw.ssh("alice", "who", "web1")
        assert st == 0 and re.search(r"^bob\s+read-only\s+since", out, re.M), out
    finally:
        c.close()


def _nice(pid):
    with open("/proc/%s/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[16])


def test_monitors_run_below_the_gateway(gw):
    """The VMs yield to the gateway that serves them: every thread of a
    monitor, its vCPUs included, runs 10 nice levels below vmgated. At the
    same priority, 99 VMs printing flat out on two cores left vmgated so
    little CPU that an echo on the 100th VM took 100-170 s."""
    pid = gw.vmm_pid("web1")
    want = min(19, _nice(gw.proc.pid) + 10)
    tasks = os.listdir("/proc/%d/task" % pid)
    assert len(tasks) >= 2, tasks   # the I/O loop and a vCPU at least
    for tid in tasks:
        assert _nice("%d/task/%s" % (pid, tid)) == want, (tid, want)


@pytest.mark.parametrize("user,cmd,line", [
    ("bob", ["web2"], "vmgate: no such VM: web2"),            # invisible = absent
    ("bob", ["web9"], "vmgate: no such VM: web9"),
    ("dave", ["status", "web1"], "vmgate: no such VM: web1"),
    ("bob", ["power", "web1", "reset"], "vmgate: not allowed: power web1"),
    ("alice", ["power", "web2", "reset"], "vmgate: not allowed: power web2"),
    ("carol", ["power", "web1", "stop"], "vmgate: not allowed: power web1"),
    ("alice", ["frobnicate", "web1"], "vmgate: unknown command (try: help)"),
])
def test_refusals_are_one_line(gw, user, cmd, line):
    st, out, err = gw.ssh(user, *cmd)
    assert st == 1
    assert out == ""
    assert err.strip() == line


def test_unknown_user_and_wrong_key_look_the_same(gw):
    a = gw.ssh("mallory", "list", key=gw.stranger_key)
    b = gw.ssh("alice", "list", key=gw.stranger_key)
    assert a[0] == b[0] == 255
    assert a[2].replace("mallory", "X") == b[2].replace("alice", "X")
    assert "Permission denied (publickey,password)" in a[2]


# -- attach ------------------------------------------------------------------

def test_attach_type_and_see_output(gw):
    c = gw.attach("alice", "web1")
    try:
        c.expect(b"[vmgate: attached to web1; Ctrl-] ? for help]")
        c.send(b"echo hi from ssh\r")
        c.expect(b"hi from ssh\r\n")
        c.expect(PROMPT)
        c.send(b"\x1d.")
        c.expect(b"[vmgate: detached from web1]")
        assert c.wait() == 0
    finally:
        c.close()


def test_attach_without_pty(gw):
    p = subprocess.Popen(gw.ssh_args("alice") + ["web1"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        p.stdin.write(b"echo nopty\r")
        p.stdin.flush()
        buf = b""
        end = time.time() + 60 * SLOW
        while b"nopty\r\n" not in buf and time.time() < end:
            buf += os.read(p.stdout.fileno(), 4096)
        assert b"nopty\r\n" in buf
        p.stdin.write(b"\x1d.")
        p.stdin.flush()
        assert p.wait(60 * SLOW) == 0
    finally:
        p.kill()


def test_scrollback_replayed_on_attach(gw):
    c = gw.attach("alice", "web2")
    try:
        c.expect(PROMPT)
        c.send(b"echo marker-12345\r")
        c.expect(b"marker-12345\r\n")
    finally:
        c.close()
    c = gw.attach("carol", "web2")
    try:
        c.expect(b"marker-12345")     # from before carol attached
    finally:
        c.close()


def test_escape_commands(gw):
    c = gw.attach("alice", "web1")
    try:
        c.expect(PROMPT)
        c.send(b"\x1d?")
        c.expect(b"escape keys")
        c.send(b"\x1dw")
        c.expect(b"attached to web1: alice(rw)")
        c.send(b"\x1db")
        c.expect(b"[vmgate: break sent to web1]")
        c.expect(b"<break>")          # the demo guest reports a break
        c.send(b"\x1d\x1d")           # one Ctrl-] reaches the guest
        c.send(b"\r")
        c.expect(PROMPT)
        c.send(b"\x1dr")              # alice has power on web1
        c.expect(b"[vmgate: resetting web1]")
        c.expect(b"web1 is rebooting")
        c.expect(b"vmgate demo guest", 120)
        c.expect(PROMPT, 120)
        c.send(b"\x1d.")
        assert c.wait() == 0
    finally:
        c.close()


def test_read_only_cannot_inject(gw):
    ro = gw.attach("bob", "web1")
    rw = gw.attach("alice", "web1")
    try:
        ro.expect(b"read-only: you may watch web1")
        rw.expect(PROMPT)
        ro.send(b"echo injected-by-bob\r")
        ro.send(b"\x1db")             # no break either
        ro.expect(b"read-only: no break")
        rw.send(b"echo from-alice\r")
        rw.expect(b"from-alice\r\n")
        ro.expect(b"from-alice\r\n")  # bob watches
        time.sleep(1)
        assert b"injected-by-bob" not in rw.output()
        ro.send(b"\x1dr")
        ro.expect(b"not allowed: power web1")
    finally:
        ro.close()
        rw.close()


def test_power_stop_start_and_stopped_refusal(gw):
    st, out, err = gw.ssh("alice", "power", "web2", "stop")
    assert st == 1 and "not allowed" in err      # deny power on web2 for alice
    # carol may not power anything; alice may power web1
    st, out, err = gw.ssh("alice", "power", "web1", "stop", timeout=120)
    assert st == 0, err
    assert "web1 is stopped" in out
    st, out, err = gw.ssh("alice", "web1")
    assert st == 1 and err.strip() == "vmgate: web1 is stopped"
    st, out, _ = gw.ssh("alice", "list")
    assert re.search(r"^web1\s+stopped", out, re.M), out
    st, out, err = gw.ssh("alice", "power", "web1", "start")
    assert st == 0, err
    gw.wait_prompt("web1")


# -- many sessions, slow sessions ----------------------------------------------

def test_typing_line_by_line_goes_on_past_the_vms_input_room(gw):
    """13 KiB typed with the real ssh client one line at a time, each
    echoed before the next, as a person types: all of it is echoed. The
    guest keeps up, so its 4 KiB input queue never fills; the monitor gave
    the gateway input credit back only when that queue drained from half
    full, and the console went deaf for good after 4 KiB (seen on a PVM
    host, where tests type fast enough to get there)."""
    c = gw.attach("alice", "web1")
    try:
        c.expect(PROMPT)
        # The prompt may be the scrollback's, of a boot before the last
        # test's power cycle; the new guest's UART setup drops what is
        # typed before it, as a real one does. Enter until it answers.
        for attempt in range(30):
            c.send(b"echo ready-%d\r" % attempt)
            try:
                c.expect(b"ready-%d\r\n" % attempt, 2)
                break
            except AssertionError:
                continue
        for i in range(120):
            c.send(b"echo %03d-%s\r" % (i, b"y" * 100))
            c.expect(b"%03d-%s\r\n" % (i, b"y" * 100))
    finally:
        c.close()


def test_typed_input_survives_escapes_while_guest_is_slow(gw):
    """A paste larger than the VM's input room, with an escape command on
    every line: each line reaches the guest whole and in order (issue 8
    #10: when an escape command ended a chunk the hub took only partly,
    the rest of what had been read from the client was dropped)."""
    n = 120                        # ~12 KB: well past the VM's input room
    lines = [b"L%04d %s" % (i, bytes(97 + (i + j) % 26 for j in range(90)))
             for i in range(n)]
    blob = b"\x15" + b"".join(b"echo " + ln + b"\r\x1dw" for ln in lines)
    cl = paramiko_client(gw, "alice")
    buf = bytearray()
    try:
        ch = cl.get_transport().open_session()
        ch.exec_command("web1")
        ch.settimeout(1)
        time.sleep(2)
        ch.sendall(blob)
        end, last_new = time.time() + 300 * SLOW, time.time()
        while time.time() < end and time.time() - last_new < 30 * SLOW:
            try:
                d = ch.recv(65536)
            except Exception:
                d = None
            if d == b"":
                break
            if d:
                buf.extend(d)
                last_new = time.time()
            if b"\n" + lines[-1] + b"\r\n" in buf:
                break
    finally:
        cl.close()
    # The answers to Ctrl-] w land in alice's stream between the guest's
    # bytes, even inside a line: take them out whole.
    out = re.sub(rb"\r\n\[vmgate: attached to web1:[^\]]*\]\r\n", b"", bytes(buf))
    assert b"[vmgate: attached to web1" not in out
    got = re.findall(rb"\n(L\d{4} [^\r\n]*)\r\n", out)
    first = next((i for i, (a, b) in enumerate(zip(got, lines)) if a != b),
                 min(len(got), n))
    assert got == lines, "%d of %d lines came back; first difference at line %d: %r" % (
        len(got), n, first, got[first:first + 2])


def test_a_paste_flood_into_a_slow_console_holds_bounded_memory():
    """A client that respects the window and types far faster than the VM
    takes input: the gateway holds a bounded amount, not what was sent
    (issue 8 #7: every time the VM took a few bytes, libssh reopened the
    whole window, so everything the client sent piled up in the gateway)."""
    import socket
    # ASan's quarantine (sanitizer build) would count as held memory.
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + "quarantine_size_mb=4"
    try:
        g = Gateway(vms=("web1",))
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old

    def vm(field):
        with open(f"/proc/{g.proc.pid}/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith(field + ":"))

    cl = None
    try:
        g.wait_prompt("web1")
        cl = paramiko_client(g, "alice")
        ch = cl.get_transport().open_session()
        ch.exec_command("web1")
        stop = threading.Event()

        def drain():
            ch.settimeout(0.5)
            while not stop.is_set():
                try:
                    if ch.recv(65536) == b"":
                        return
                except Exception:
                    pass

        th = threading.Thread(target=drain, daemon=True)
        th.start()
        time.sleep(2)
        rss0 = vm("VmRSS")
        chunk = b"x" * 32768
        sent, end = 0, time.time() + 40 * SLOW
        ch.settimeout(0.5)
        while time.time() < end and sent < 256 << 20:
            try:
                sent += ch.send(chunk)
            except socket.timeout:
                pass
        time.sleep(1)
        hwm = vm("VmHWM")
        stop.set()
        print(f"sent {sent >> 20} MiB to a slow console; vmgated RSS "
              f"{rss0 / 2**20:.1f} MiB before, peak {hwm / 2**20:.1f} MiB")
        assert hwm - rss0 < 32 << 20, f"vmgated grew by {(hwm - rss0) >> 20} MiB"
        assert cl.get_transport().is_active()
        assert "past the channel window" not in g.log()
    finally:
        if cl:
            cl.close()
        g.cleanup()


def test_50_sessions_receive_identical_bulk_output(gw):
    n, size = 50, 20000   # the guest's UART is slow under nested TCG
    clients, chans, bufs = [], [], []
    try:
        for i in range(n):
            cl = paramiko_client(gw, "carol")
            ch = cl.get_transport().open_session()
            ch.exec_command("web2")
            clients.append(cl)
            chans.append(ch)
            bufs.append(bytearray())
        done = threading.Event()

        def reader(i):
            ch = chans[i]
            ch.settimeout(1)
            while not done.is_set():
                try:
                    d = ch.recv(65536)
                except Exception:
                    continue
                if not d:
                    return
                bufs[i].extend(d)

        threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        time.sleep(2)
        chans[0].sendall(f"bulk {size}\r".encode())
        pat = re.compile(rb"bulk %d bytes checksum ([0-9a-f]{8})" % size)
        end = time.time() + 300 * SLOW
        while time.time() < end and not all(pat.search(b) for b in bufs):
            time.sleep(0.5)
        done.set()
        got = [pat.search(b) for b in bufs]
        assert all(got), [i for i, g in enumerate(got) if not g]
        for b, m in zip(bufs, got):
            # the bulk bytes sit between the echoed command line and the summary
            start = b.rfind(b"bulk %d\r\n" % size) + len(b"bulk %d\r\n" % size)
            payload = bytes(b[start:m.start()])
            assert len(payload) == size, len(payload)
            assert "%08x" % zlib.crc32(payload) == m.group(1).decode()
            assert b"dropped" not in b
    finally:
        for cl in clients:
            cl.close()


def test_stalled_reader_does_not_stall_others():
    # Its own gateway, whose web1 gives each viewer a 16 KiB queue
    # (viewer_queue; the default is 256 KiB): overflowing it takes a
    # quarter of the bytes, and the demo guest's UART gives about 2 KB/s
    # under kvmbox.
    # Under tools/kvmbox a streaming guest now and then stops dead or
    # triple-faults (nested emulation, see README); then web1 is reset and
    # the run tried again, at most twice more. On a KVM host: once.
    gw = Gateway(vms=("web1",), vm_extra="    scrollback: 4K\n    viewer_queue: 16K\n")
    try:
        gw.wait_prompt("web1")
        nested = bool(os.environ.get("KVMBOX"))
        for attempt in range(3 if nested else 1):
            if _stalled_reader_run(gw, last=attempt == 2 or not nested):
                return
            print("nested KVM: web1's bulk output did not complete, resetting web1 and retrying")
            st, out, err = gw.ssh("alice", "power", "web1", "reset", timeout=120)
            assert st == 0, err
            gw.wait_prompt("web1")
    finally:
        gw.cleanup()


def _stalled_reader_run(gw, last):
    """carol attaches to web1 and never reads while alice has the guest
    print more than carol's SSH window and queue hold. False: the guest's
    output did not complete (and this is not the last try)."""
    stalled = paramiko_client(gw, "carol")
    sch = stalled.get_transport().open_session(window_size=65536)
    sch.exec_command("web1")         # and never read from it
    try:
        c = gw.attach("alice", "web1")
        try:
            c.expect(PROMPT)
            # carol's 64 KiB window and 16 KiB queue hold 80 KiB, the
            # scrollback replayed to her (up to 4 KiB) among it: 140,000
            # bytes overflow them by 56 KiB at least (paramiko reads the
            # socket whether carol reads or not: TCP holds nothing more).
            # A gateway that waited for carol would stall alice there.
            c.send(b"bulk 140000\r")
            try:
                # A guest stopped dead is not worth the whole wait.
                c.expect(re.compile(rb"bulk 140000 bytes checksum [0-9a-f]{8}"), 600, stall=90)
            except AssertionError:  # stalled, timed out or cut off
                print("web1's output did not complete; the gateway's log ends:\n"
                      + gw.log()[-3000:], flush=True)
                if last:
                    raise
                return False
            c.send(b"echo still-alive\r")
            c.expect(b"still-alive\r\n", 60)
        finally:
            c.close()
        # the gateway's memory stays bounded: check its RSS
        rss = rss_kib(gw.proc.pid)
        assert rss < 400 * 1024, rss   # kB; ASan builds are fat, this is not
        # the stalled session was cut off or lost bytes behind a marker
        sch.settimeout(30)
        data = b""
        try:
            while True:
                d = sch.recv(65536)
                if not d:
                    break
                data += d
        except Exception:
            pass
        err = b""
        while sch.recv_stderr_ready():
            err += sch.recv_stderr(65536)
        # Either carol caught up and saw the drop marker, or (usually: the
        # bulk outlasts the 10 s overflow limit) she was cut off; a notice
        # cannot pass her full SSH window, the exit status and audit can.
        cut_off = [e for e in gw.audit() if e["event"] == "session_end"
                   and e["user"] == "carol" and e.get("reason") == "too slow"]
        if cut_off:
            assert sch.exit_status_ready() and sch.recv_exit_status() == 1
        else:
            assert b"bytes dropped: your connection is too slow" in data, \
                (len(data), data[:300], data[-300:], err)
        return True
    finally:
        stalled.close()


# -- recordings and audit ------------------------------------------------------

def test_recording_plays_with_asciinema(gw):
    c = gw.attach("alice", "web1")
    try:
        c.expect(PROMPT)
        c.send(b"echo recorded-text\r")
        c.expect(b"recorded-text\r\n")
        c.send(b"\x1d.")
        c.wait()
    finally:
        c.close()
    recs = sorted((os.path.join(gw.state, "recordings", f) for f in
                   os.listdir(os.path.join(gw.state, "recordings"))), key=os.path.getmtime)
    rec = recs[-1]
    assert os.stat(rec).st_mode & 0o777 == 0o600
    with open(rec) as f:
        header = json.loads(f.readline())
        events = [json.loads(line) for line in f]
    assert header["version"] == 2 and header["width"] > 0 and header["height"] > 0
    assert all(e[1] == "o" for e in events)
    # asciinema wants a writable config home and a terminal on stdin
    env = dict(os.environ, ASCIINEMA_CONFIG_HOME=os.path.join(gw.dir, "asciinema"))
    import pty
    master, slave = pty.openpty()
    try:
        import fcntl
        import termios

        def ctty():
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

        p = subprocess.run(["asciinema", "cat", rec], stdin=slave, capture_output=True,
                           timeout=60, env=env, preexec_fn=ctty)
    finally:
        os.close(master)
        os.close(slave)
    assert p.returncode == 0, p.stderr
    assert b"recorded-text" in p.stdout


def test_audit_lines_are_json_with_fields(gw):
    gw.ssh("alice", "list")
    gw.ssh("alice", "list", key=gw.stranger_key)
    gw.ssh("bob", "power", "web1", "reset")
    gw.ssh("alice", "power", "web1", "start")   # allowed; refused as already running
    lines = gw.audit()
    kinds = {l["event"] for l in lines}
    assert {"auth", "decision", "session_start", "session_end", "power", "vm", "daemon"} <= kinds
    for l in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", l["ts"])
    auth = [l for l in lines if l["event"] == "auth"]
    assert any(l["user"] == "alice" and l["method"] == "publickey" and l["result"] == "success"
               and l["addr"].startswith("127.0.0.1:") for l in auth)
    assert any(l["result"] == "failure" for l in auth)
    deny = [l for l in lines if l["event"] == "decision" and l["user"] == "bob"
            and l["right"] == "power"]
    assert deny and not deny[-1]["allowed"] and deny[-1]["reason"] == "default deny"
    ends = [l for l in lines if l["event"] == "session_end"]
    assert all(isinstance(l["bytes_in"], int) and isinstance(l["bytes_out"], int) for l in ends)
    assert any(l["bytes_out"] > 0 for l in ends)


# -- a gateway of their own ----------------------------------------------------

def test_reboot_loop_guest_is_backed_off_and_audited_with_a_count():
    """A guest that resets itself through the i8042 on every boot (issue 8
    #11: 807 audit and 1,217 log lines in 10 s, without end). The monitor
    backs the loop off, and the audit counts the repeated state changes:
    over 12 s the audit and the log stay small, `status` says the VM is in
    a reboot loop, and when the VM is stopped the count goes out as a
    "repeat" line that, with the lines written, adds up to every reset."""
    reset_elf = os.path.join(BUILD, "tests", "pvh-tiny", "pvh-reset64.elf")
    assert os.path.isfile(reset_elf), reset_elf + " missing: build the vmgate-pvh-tiny target"
    g = Gateway(vms=("web1",), start=False)
    try:
        with open(g.config) as f:
            cfg = f.read()
        with open(g.config, "w") as f:
            f.write(cfg.replace("kernel: demo", "kernel: " + reset_elf))
        g.start()
        g.wait_log(r"vm web1: monitor \d+ up", 120)
        log0 = len(g.log().splitlines())
        time.sleep(12)
        log_lines = len(g.log().splitlines()) - log0
        audit = [l for l in g.audit() if l["event"] == "vm" and l["vm"] == "web1"]
        resets = g.log().count("guest rebooting: guest reboot (keyboard controller reset line")
        print("in 12 s: %d resets, %d audit lines for web1, %d log lines"
              % (resets, len(audit), log_lines))
        assert resets >= 6, g.log()[-3000:]        # it does loop
        assert resets <= 12, "%d resets in 12 s: no backoff" % resets
        assert len(audit) <= 8, "%d audit lines in 12 s:\n%s" % (len(audit), audit[-10:])
        assert log_lines <= 60, "%d log lines in 12 s:\n%s" % (log_lines, g.log()[-3000:])
        st, out, _ = g.ssh("alice", "status", "web1")
        assert st == 0 and re.match(r"web1: rebooting \(guest reboot: keyboard controller reset "
                                    r"line; reboot loop: \d+ resets, next start in \d+ s\)", out), out
        st, out, err = g.ssh("alice", "power", "web1", "stop")
        assert st == 0, out + err
        g.wait_log(r"vm web1: stopped", 60)
        time.sleep(1)
        audit = [l for l in g.audit() if l["event"] == "vm" and l["vm"] == "web1"]
        resets = g.log().count("guest rebooting: guest reboot (keyboard controller reset line")
        for l in audit:
            print(json.dumps(l))
        rebooting = [l for l in audit if l["state"] == "rebooting"]
        assert any(l.get("repeat", 0) >= 2 for l in rebooting), audit
        counted = sum(l.get("repeat", 1) for l in rebooting)
        assert counted == resets, "audit counts %d resets, the log shows %d:\n%s" % (
            counted, resets, audit)
        for l in audit:
            if "repeat" in l:
                assert l["first"] <= l["last"] <= l["ts"], l
        # The count comes before the line that changed the VM's course.
        last_repeat = max(i for i, l in enumerate(audit) if l["state"] == "rebooting")
        first_stop = min(i for i, l in enumerate(audit) if l["state"] == "stopped")
        assert last_repeat < first_stop, audit
        assert g.proc.poll() is None
    finally:
        g.cleanup()


def test_killed_monitor_is_reported_and_restarted():
    g = Gateway()
    try:
        g.wait_prompt("web1")
        g.wait_prompt("web2")
        viewer = g.attach("alice", "web1")
        other = g.attach("alice", "web2")
        viewer.expect(PROMPT)
        other.expect(PROMPT)
        os.kill(g.vmm_pid("web1"), signal.SIGKILL)
        viewer.expect(b"web1: monitor killed by signal 9 (Killed); restarting in 1 s")
        other.send(b"echo web2-unaffected\r")
        other.expect(b"web2-unaffected\r\n")
        viewer.expect(b"vmgate demo guest", 120)   # restarted, same session
        viewer.expect(PROMPT, 120)
        st, out, _ = g.ssh("alice", "list")
        assert st == 0 and re.search(r"^web1\s+running", out, re.M), out
        viewer.close()
        other.close()
        assert g.proc.poll() is None
    finally:
        g.cleanup()


def asciinema_cat(path, home):
    """asciinema cat PATH: (exit status, stdout bytes, stderr bytes). It
    wants a writable config home and a terminal on stdin."""
    import fcntl
    import pty
    import termios
    env = dict(os.environ, ASCIINEMA_CONFIG_HOME=home)
    master, slave = pty.openpty()

    def ctty():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    try:
        p = subprocess.run(["asciinema", "cat", path], stdin=slave, capture_output=True,
                           timeout=60, env=env, preexec_fn=ctty)
    finally:
        os.close(master)
        os.close(slave)
    return p.returncode, p.stdout, p.stderr


def test_recordings_stay_within_quota():
    # 50 read-only attaches to a VM with a 32K quota: the folder stays under
    # it, the oldest files are rotated (and audited), each file holds at
    # most the 1K replay of the scrollback, and the newest still plays.
    quota, replay = 32 * 1024, 1024
    g = Gateway(vms=("web1",), vm_extra="    recordings: {quota: 32K, max_file: 8K, replay: 1K}\n")
    try:
        g.wait_prompt("web1")
        c = g.attach("alice", "web1")
        c.expect(PROMPT)
        for i in range(20):       # a scrollback well over 1K
            c.send(b"echo scroll-%02d-%s\r" % (i, b"x" * 50))
            c.expect(b"scroll-%02d-%s\r\n" % (i, b"x" * 50))
        c.close()
        recdir = os.path.join(g.state, "recordings")

        def usage():
            files = [os.path.join(recdir, f) for f in os.listdir(recdir)]
            return files, sum(os.path.getsize(f) for f in files)
        for _ in range(50):
            v = g.attach("bob", "web1")
            try:
                v.expect(b"read-only: you may watch web1")
                v.expect(b"scroll-19-")
            finally:
                v.close()
            files, size = usage()
            assert size <= quota, (size, files)
        deadline = time.time() + 60 * SLOW
        while sum(1 for l in g.audit() if l["event"] == "session_end"
                  and l["user"] == "bob") < 50:
            assert time.time() < deadline, "bob's 50 sessions did not all end"
            time.sleep(0.2)
        files, size = usage()
        assert size <= quota, (size, files)
        audit = g.audit()
        rotated = [l for l in audit if l["event"] == "recording_rotated"]
        bobs = [l["recording"] for l in audit if l["event"] == "session_start"
                and l["user"] == "bob"]
        assert len(bobs) == 50 and all(bobs), bobs
        assert rotated and len(files) < 50, (len(rotated), files)
        assert not os.path.exists(bobs[0])          # the oldest went
        assert all(not os.path.exists(l["file"]) for l in rotated)
        assert bobs[0] in [l["file"] for l in rotated]
        kept = [b for b in bobs if os.path.exists(b)]
        assert kept and kept[-1] == bobs[-1]
        for path in kept:
            with open(path) as f:
                header = json.loads(f.readline())
                events = [json.loads(line) for line in f]
            assert header["version"] == 2
            assert events[0][2].startswith("[vmgate: this recording starts with the last 1024 of the")
            text = "".join(e[2] for e in events[1:])
            assert 0 < len(text.encode()) <= replay, (path, text)
            assert "scroll-19-" in text
        st, out, err = asciinema_cat(bobs[-1], os.path.join(g.dir, "asciinema"))
        assert st == 0, err
        assert b"scroll-19-" in out and b"recording starts with the last 1024" in out
    finally:
        g.cleanup()


def test_guest_panic_shows_as_crashed():
    # The demo guest's `fault` dies and writes PANICKED to pvpanic: with
    # on_crash: stop the VM stays crashed, and everyone sees why, as for a
    # triple fault: the attached user, `status` and `list`.
    g = Gateway(vms=("web1",), start=False)
    with open(g.config) as f:
        text = f.read()
    with open(g.config, "w") as f:
        f.write(text.replace("on_crash: restart", "on_crash: stop"))
    g.start()
    try:
        g.wait_prompt("web1")
        c = g.attach("alice", "web1")
        try:
            c.expect(PROMPT)
            c.send(b"fault\r")
            c.expect(re.compile(rb"\[vmgate: web1 is crashed: guest panicked: pvpanic: PANICKED, "
                                rb"cpu 0 rip 0x[0-9a-f]+\]"), 120)
            c.expect(b"[vmgate: web1: monitor exited with status 15 (guest panicked); "
                     b"left stopped (on_crash: stop)]", 60)
        finally:
            c.close()
        st, out, _ = g.ssh("alice", "status", "web1")
        assert st == 0 and out.startswith(
            "web1: crashed (monitor exited with status 15 (guest panicked))"), out
        st, out, _ = g.ssh("alice", "list")
        assert st == 0 and re.search(r"^web1\s+crashed\s", out, re.M), out
        states = [(l["state"], l["detail"]) for l in g.audit() if l["event"] == "vm"]
        assert any(st == "crashed" and d.startswith("guest panicked: pvpanic: PANICKED, cpu 0 rip 0x")
                   for st, d in states), states
    finally:
        g.cleanup()


def test_replaced_key_cuts_an_attached_console():
    """Issue 8 #8 with a real console: alice's key is replaced, SIGHUP, and
    her attached ssh gets the message and ends within a second; bob, whose
    key stays, keeps watching (the host-level cases are in
    test_gateway_hostile_revoke.py)."""
    g = Gateway(vms=("web1",))
    try:
        g.wait_prompt("web1")
        alice = g.attach("alice", "web1")
        alice.expect(b"[vmgate: attached to web1; Ctrl-] ? for help]")
        bob = g.attach("bob", "web1")
        bob.expect(b"read-only: you may watch web1")
        g.pub["alice"] = keygen(os.path.join(g.dir, "id_alice_new"))
        g.write_policy()
        t0 = time.time()
        g.hup()
        alice.expect(b"vmgate: your login was revoked (key removed from the policy); "
                     b"disconnecting", 10)
        assert alice.wait(10) != 0
        assert time.time() - t0 < 1 + 2 * SLOW
        # bob's session goes on: what alice's new key types, he sees
        assert bob.proc.poll() is None
        new = g.attach("alice", "web1", key=os.path.join(g.dir, "id_alice_new"))
        new.expect(b"[vmgate: attached to web1; Ctrl-] ? for help]")
        new.send(b"echo still-watched\r")
        bob.expect(b"still-watched", 30)
        new.close()
        bob.close()
    finally:
        g.cleanup()


def test_reload_revokes_and_broken_policy_keeps_old():
    with open(os.path.join(os.path.dirname(__file__), "policy_nobob.yaml")) as f:
        nobob = f.read()
    carol_admin = "  - allow: [admin]\n    to: [user:carol]\n    vms: [\"*\"]\n"
    g = Gateway(vms=("web1",))
    try:
        g.wait_prompt("web1")
        bob = g.attach("bob", "web1")
        bob.expect(b"read-only: you may watch web1")
        # broken file: old policy stays, bob stays
        with open(g.policy_path, "w") as f:
            f.write("users: [this is not a mapping\n")
        g.hup()
        g.wait_log(r"reload of .* failed, keeping the current policy")
        st, out, _ = g.ssh("bob", "list")
        assert st == 0 and "web1" in out
        # bob's rule removed: his live session ends within a second
        g.write_policy(nobob)
        t0 = time.time()
        g.hup()
        bob.expect(b"[vmgate: your access to web1 was revoked]", 10)
        assert bob.wait(10) == 1
        assert time.time() - t0 < 1 + 2 * SLOW
        st, out, err = g.ssh("bob", "web1")
        assert st == 1 and err.strip() == "vmgate: no such VM: web1"
        # The admin command does what SIGHUP does, for admins only.
        st, out, err = g.ssh("alice", "reload")
        assert st == 1 and err.strip() == "vmgate: not allowed: reload (needs admin on every VM)", err
        g.write_policy(nobob + carol_admin)
        st, out, err = g.ssh("alice", "reload")
        assert st == 1 and "not allowed: reload" in err, err   # not yet: the file is not read
        g.hup()
        g.wait_log(r"reloaded", count=2)
        with open(g.policy_path, "a") as f:
            f.write("  - bad entry\n")
        st, out, err = g.ssh("carol", "reload")
        assert st == 1 and re.search(r"reload failed, the old policy stays: .*policy\.yaml:\d+:\d+: error", err), err
        g.write_policy(nobob + carol_admin
                       + "  - allow: [console:read]\n    to: [user:bob]\n    vms: [web1]\n")
        st, out, err = g.ssh("carol", "reload")
        assert st == 0 and out.strip() == "policy reloaded", (out, err)
        st, out, _ = g.ssh("bob", "list")
        assert st == 0 and "web1" in out, out   # bob's rule is back
        audit = g.audit()
        reloads = [l for l in audit if l["event"] == "reload"]
        assert [r["ok"] for r in reloads] == [False, True, True, False, True]
    finally:
        g.cleanup()
