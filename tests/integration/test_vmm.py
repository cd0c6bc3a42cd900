"""vmgate-vmm with the built-in demo guest on real KVM (run under tools/kvmbox)."""
import fcntl
import os
import pty
import re
import select
import subprocess
import time

import pytest

from vmmproc import ON_PVM, PROMPT, SLOW, VMM, Stalled, Vmm, bulk_check

needs_kvm = pytest.mark.skipif(not os.path.exists("/dev/kvm"), reason="no /dev/kvm: run under tools/kvmbox")


@needs_kvm
def test_banner_prompt_and_commands():
    with Vmm() as vm:
        vm.expect(rb"vmgate demo guest")
        vm.expect(re.escape(PROMPT))
        assert vm.command("echo hello   world") == b"hello world\r\n"
        assert vm.command("uname") == b"vmgate-demo 0.1 x86_64\r\n"
        assert b"command not found" in vm.command("frobnicate")
        t1 = float(vm.command("uptime").split()[0])
        time.sleep(0.5)
        t2 = float(vm.command("uptime").split()[0])
        assert t2 > t1
        mem = vm.command("mem")
        assert re.search(rb"\b6[0-9]{4} KiB|65[0-9]{3}", mem), mem


def timed_uptime(vm):
    """(guest uptime, host monotonic time before asking, after the answer)."""
    before = time.monotonic()
    up = float(vm.command("uptime").split()[0])
    return up, before, time.monotonic()


def idle_wakeups(vm):
    out = vm.command("clock")
    m = re.search(rb"idle wake-ups (\d+)", out)
    assert m, out
    return out, int(m.group(1))


@needs_kvm
@pytest.mark.parametrize("display", ["1024x768", "none"])
def test_the_idle_guest_sleeps_without_a_tick_and_keeps_time(display):
    # On KVM the demo guest keeps time with kvmclock and, waiting for input,
    # stops its 100 Hz tick and sleeps until its next deadline (the
    # display's clock, once a second; without a display none at all).  It
    # must still keep time: uptime follows the host's clock over an idle
    # stretch, neither stalled nor drifting.
    idle = 4.0
    with Vmm("--display", display) as vm:
        vm.expect(re.escape(PROMPT))
        out, w0 = idle_wakeups(vm)
        assert out.startswith(b"kvmclock"), out
        u0, a0, b0 = timed_uptime(vm)
        time.sleep(idle)
        u1, a1, b1 = timed_uptime(vm)
        _, w1 = idle_wakeups(vm)
        # The guest read its clock between each pair of host readings;
        # ticks are 10 ms, and kvmbox's clocks may differ by a little.
        slack = 0.03 + 0.01 * (b1 - a0)
        assert a1 - b0 - slack <= u1 - u0 <= b1 - a0 + slack, (u0, u1, a0, b0, a1, b1)
        # A 100 Hz tick would wake it 400 times; the clock needs about 4
        # (each with the PIT's last interrupt as it stops), and each input
        # byte of the commands typed in between wakes it once more.
        assert w1 - w0 < 10 * idle, (w0, w1)


@needs_kvm
def test_bulk_one_mebibyte_complete():
    # Under tools/kvmbox (KVM nested in QEMU's SVM emulation) a streaming
    # guest has been seen, now and then, to triple-fault (rip 0xfff0: KVM
    # reset the VMCB, nothing of the guest's state survives) or to stop
    # making progress, although the demo guest has a double-fault handler on
    # its own stack. The monitor must report a crash cleanly; then, or after
    # a minute without a byte (the vCPU registers are printed, see
    # Vmm._dump_guest), the run is tried again, at most twice more. On a
    # host with its own KVM, and for any other failure, the first result
    # stands.
    nested = bool(os.environ.get("KVMBOX"))
    for attempt in range(3 if nested else 1):
        with Vmm() as vm:
            vm.expect(re.escape(PROMPT))
            try:
                # ~10 KB/s when nested: a minute or two, more on a busy machine
                out = vm.command("bulk 1M", timeout=900, stall=60 if nested else None)
            except Stalled as e:
                if attempt == 2:
                    raise
                print("nested KVM: bulk output stalled, retrying\n%s" % str(e)[-1500:])
                continue
            except AssertionError:
                if attempt == 2 or vm.proc.poll() != 11:
                    raise
                assert "guest crashed: triple fault" in vm.stderr_text()
                print("nested KVM: guest triple-faulted during bulk, retrying")
                continue
            bulk_check(out, 1 << 20)
            return


@needs_kvm
def test_poweroff_exits_zero():
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        vm.send("poweroff\r")
        assert vm.wait() == 0
        assert "guest stopped: guest power-off" in vm.stderr_text()


@needs_kvm
def test_reboot_exit_and_restart():
    with Vmm("--on-reboot", "exit") as vm:
        vm.expect(re.escape(PROMPT))
        vm.send("reboot\r")
        assert vm.wait() == 10
        assert "guest rebooting: guest reboot" in vm.stderr_text()
    with Vmm() as vm:  # default: restart, like a PC
        vm.expect(rb"vmgate demo guest")
        vm.expect(re.escape(PROMPT))
        vm.send("reboot\r")
        vm.expect(rb"vmgate demo guest", timeout=60)
        vm.expect(re.escape(PROMPT))
        assert vm.command("echo again") == b"again\r\n"
        assert vm.proc.poll() is None


@needs_kvm
def test_triple_fault_is_a_crashed_state():
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        vm.send("crash\r")
        assert vm.wait() == 11
        assert re.search(r"guest crashed: triple fault \(.*cpu 0, rip 0x[0-9a-f]+\)", vm.stderr_text())


@needs_kvm
def test_kvm_internal_error_is_a_crashed_state():
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        vm.send("wild\r")
        assert vm.wait() == 12
        err = vm.stderr_text()
        assert re.search(r"guest crashed: KVM internal error \(suberror \d+.*rip 0x[0-9a-f]+\)", err), err


@needs_kvm
def test_guest_panic_is_a_crashed_state():
    # The demo guest's fatal-exception handler writes PANICKED to pvpanic
    # (port 0x505) after its report: the monitor ends with status 15 and
    # one line naming the panic, the vCPU and its rip.
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        vm.send("fault\r")
        vm.expect(rb"exception 14 at RIP=0x[0-9a-f]+ err=0x[0-9a-f]+ cr2=0x0 ring 3")
        assert vm.wait() == 15, vm.stderr_text()
        err = vm.stderr_text()
        assert re.search(r"guest crashed: guest panic \(pvpanic: PANICKED; cpu 0, rip 0x[0-9a-f]+\)", err), err


@needs_kvm
def test_one_crash_leaves_other_monitors_running():
    with Vmm() as a, Vmm() as b:
        a.expect(re.escape(PROMPT))
        b.expect(re.escape(PROMPT))
        a.send("crash\r")
        assert a.wait() == 11
        assert b.command("echo still here") == b"still here\r\n"
        assert b.proc.poll() is None


@needs_kvm
def test_stdin_eof_keeps_guest_running_and_sigterm_stops():
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        vm.proc.stdin.close()
        time.sleep(1)
        assert vm.proc.poll() is None
        vm.proc.terminate()
        assert vm.wait() == 20
        assert "stopped by signal" in vm.stderr_text()


@needs_kvm
def test_stalled_reader_never_blocks_the_guest_and_loses_nothing_silently():
    """A reader that stops: the guest keeps running, the monitor keeps only
    its buffer, and every dropped byte is accounted for by the marker."""
    n = 30000
    with Vmm("--console-buffer", "4K") as vm:
        fcntl.fcntl(vm.proc.stdout.fileno(), 1031, 4096)  # F_SETPIPE_SZ: a 4 KiB pipe
        vm.expect(re.escape(PROMPT))
        vm.stop_reading()
        vm.send("bulk %d\r" % n)
        # Nobody reads: pipe and buffer fill, THR shows busy, and after 2 s
        # without progress the monitor drops the oldest bytes instead.
        time.sleep(20)
        vm.send("echo done\r")
        vm.resume_reading()
        m = vm.expect(rb"bulk %d bytes checksum [0-9a-f]{8}\r\n" % n, timeout=600)
        vm.expect(rb"done\r\n" + re.escape(PROMPT), timeout=120)
        out = bytes(vm.out)
        start = out.index(b"bulk %d\r\n" % n) + len(b"bulk %d\r\n" % n)
        body = out[start:m.start()]
        lost = [int(x) for x in re.findall(rb"\r\n\[vmgate-vmm: (\d+) bytes of console output lost: reader too slow\]\r\n", body)]
        assert lost, "no loss marker although the reader stalled"
        payload = re.sub(rb"\r\n\[vmgate-vmm: \d+ bytes of console output lost: reader too slow\]\r\n", b"", body)
        # Exact accounting: what arrived plus what the markers report.
        assert len(payload) + sum(lost) == n, (len(payload), lost)
        assert vm.proc.poll() is None


@needs_kvm
def test_break_reaches_the_guest():
    # Ctrl-] b needs a terminal; the break path is also covered through the
    # control channel. Here: the guest sees input typed quickly, in order.
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        vm.send("echo " + "x" * 200 + "\r")
        vm.expect(rb"x{200}\r\n")
        vm.expect(re.escape(PROMPT))


@needs_kvm
def test_ring3_gets_exactly_its_ports():
    """Least privilege: ring 3 runs with IOPL 0 and a TSS I/O bitmap that
    grants COM1's THR and LSR only. Any other port is a #GP, which the
    guest's `inb` reports instead of dying.

    The shell's system calls are ring-3 `int $0x80`s. They enter the DPL-3
    gate on hardware KVM, nested SVM and TCG; on a PVM host every one
    raises #UD at the `cd 80` instead (DESIGN.md §3), which the guest's
    trap.c takes as the same call: there all of them count as #UD."""
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        for port in ("0x60", "0x3f9", "0x505", "0x600"):
            assert vm.command("inb " + port) == b"inb %s: #GP (port not in ring 3's I/O bitmap)\r\n" % port.encode()
        assert vm.command("echo still alive") == b"still alive\r\n"
        out = vm.command("inb 0x3fd")
        m = re.fullmatch(rb"inb 0x3fd: 0x([0-9a-f]{2})\r\n", out)
        assert m, out
        # Read after the shell flushed its output: THRE (0x20) is set.
        assert int(m.group(1), 16) & 0x20, out
        # ... and no other port: ring 3 tries all 65536 (65534 #GPs).
        assert vm.command("ports", timeout=300) == b"ring 3 may read: 0x3f8 0x3fd\r\n2 of 65536 ports\r\n"
        counts = vm.command("syscalls")
        if ON_PVM:
            expected = rb"int \$0x80 calls: 0 through the gate, [1-9]\d* as #UD, 0 as #GP\r\n"
        else:
            expected = rb"int \$0x80 calls: [1-9]\d* through the gate, 0 as #UD, 0 as #GP\r\n"
        assert re.fullmatch(expected, counts), counts


@needs_kvm
def test_syscalls_by_the_fault_route():
    """syscall=trap gives the int $0x80 gate DPL 0: every system call then
    reaches ring 0 as a #GP at the `cd 80` bytes, the fault route that PVM
    hosts (#UD) depend on; the shell must work exactly as through the gate.

    On a PVM host a ring-3 `int $0x80` raises #UD whatever the gate's DPL
    (DESIGN.md §3), so there every call counts as #UD and none as #GP: the
    same fault route (trap.c steps over the `cd 80` and dispatches), by the
    vector PVM uses."""
    with Vmm("--cmdline", "syscall=trap") as vm:
        vm.expect(re.escape(PROMPT))
        assert vm.command("echo via a fault") == b"via a fault\r\n"
        bulk_check(vm.command("bulk 64K", timeout=600), 64 << 10)
        time.sleep(0.5)  # the wait-for-input call sleeps (sti; hlt) in the handler
        counts = vm.command("syscalls")
        if ON_PVM:
            route = rb"int \$0x80 calls: 0 through the gate, [1-9]\d* as #UD, 0 as #GP\r\n"
        else:
            route = rb"int \$0x80 calls: 0 through the gate, 0 as #UD, [1-9]\d* as #GP\r\n"
        assert re.fullmatch(route + rb"syscall=trap: the int \$0x80 gate is DPL 0\r\n", counts), counts
        vm.send("poweroff\r")
        assert vm.wait() == 0
        assert "guest stopped: guest power-off" in vm.stderr_text()


def test_bad_images_get_clear_errors(tmp_path):
    missing = tmp_path / "nope"
    r = os.popen("%s --kernel %s 2>&1; echo exit=$?" % (VMM, missing)).read()
    assert "%s: No such file or directory" % missing in r and "exit=1" in r
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF" + b"\x02\x01\x01" + b"\0" * 20)
    r = os.popen("%s --kernel %s 2>&1; echo exit=$?" % (VMM, junk)).read()
    assert "%s: truncated ELF header" % junk in r and "exit=1" in r
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    r = os.popen("%s --kernel %s 2>&1; echo exit=$?" % (VMM, empty)).read()
    assert "empty" in r and "exit=1" in r
    r = os.popen("%s --mem 3X 2>&1; echo exit=$?" % VMM).read()
    assert "--mem 3X: not a size" in r and "exit=2" in r
    r = os.popen("%s --cpus 0 2>&1; echo exit=$?" % VMM).read()
    assert "--cpus 0: must be 1 to 64" in r and "exit=1" in r


@needs_kvm
def test_a_long_paste_arrives_whole_and_in_order():
    """11 KB typed at once: far more than the UART, the guest's receive
    ring (4096) or one interrupt's burst (256) holds. Every line must come
    back whole and in order: input waits (the guest turns receive
    interrupts off while its ring is full) rather than being lost, and the
    edge-triggered PIC gets a new edge after a capped burst. Before that
    fix the guest took 256 bytes, then no interrupt ever came again."""
    n = 150
    lines = [b"echo L%04d %s" % (i, b"x" * 60) for i in range(n)]
    with Vmm() as vm:
        vm.expect(re.escape(PROMPT))
        vm.send(b"".join(l + b"\r" for l in lines))
        vm.expect(rb"\r\nL%04d x{60}\r\n" % (n - 1), timeout=300, stall=60)
        vm.expect(re.escape(PROMPT))
        out = bytes(vm.out)
        pos = 0
        for i in range(n):
            want = b"\r\nL%04d %s\r\n" % (i, b"x" * 60)
            at = out.find(want, pos)
            assert at >= 0, "line %d missing or out of order" % i
            pos = at + len(want)
        assert vm.command("echo still here") == b"still here\r\n"


@needs_kvm
def test_terminal_escape_keys():
    """The monitor's own terminal (a pty, raw mode): the escape filter it
    shares with the gateway (protocols/escape.h). Ctrl-] ? and unknown keys,
    and the gateway's keys (r, w), show the help and reach no guest;
    Ctrl-] Ctrl-] sends one Ctrl-]; keys split across writes still count;
    Ctrl-] . stops the VM with exit 20."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([VMM], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    out = bytearray()

    def expect(pattern, timeout=60):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        while not rx.search(out):
            left = deadline - time.monotonic()
            assert left > 0, "no %r in %r" % (pattern, bytes(out[-2000:]))
            if select.select([master], [], [], left)[0]:
                try:
                    out.extend(os.read(master, 65536))
                except OSError:  # EIO: the monitor is gone
                    assert rx.search(out), "no %r in %r" % (pattern, bytes(out[-2000:]))
        m = rx.search(out)
        del out[: m.end()]
        return m

    try:
        expect(re.escape(PROMPT))
        for keys in (b"\x1d?", b"\x1dx", b"\x1dr", b"\x1dw"):
            os.write(master, keys)
            expect(rb"vmgate-vmm: escape keys: Ctrl-\] \.  quit")
        os.write(master, b"\x1d")
        time.sleep(0.3)
        os.write(master, b"?")
        expect(rb"vmgate-vmm: escape keys:")
        # Ctrl-] Ctrl-] is one Ctrl-] for the guest (whose line editor
        # drops it) and ends the escape: the b after it is text, not a
        # break; none of the keys above reached the shell.
        os.write(master, b"echo a\x1d\x1db\r")
        expect(rb"echo ab\r\nab\r\n")
        expect(re.escape(PROMPT))
        os.write(master, b"echo ok\r")
        expect(rb"\r\nok\r\n")
        os.write(master, b"\x1d.")
        expect(rb"vmgate-vmm: stopped from the terminal")
        assert proc.wait(timeout=30 * SLOW) == 20
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
