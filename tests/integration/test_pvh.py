"""PVH kernels of both ELF classes: tests/pvh-tiny on vmgate-vmm and on QEMU.

pvh-tiny64.elf and pvh-tiny32.elf are the same few instructions linked as
ELF64 and ELF32; each prints one line on COM1 and writes S5 to the power
register at port 0x600. A third image is the ELF32 one relabelled as x32
(e_machine EM_X86_64), which QEMU's -kernel boots too.

- test_kvm_*: boot on vmgate-vmm (needs /dev/kvm: tools/kvmbox).
- test_corrupt_*: broken ELF32 images are refused before KVM is touched,
  so these run anywhere.
- test_qemu_*: the reference VMM (QEMU microvm, TCG) boots the same files;
  its isa-debug-exit device at 0x600 turns the guest's power-off into
  QEMU's exit status (0x34 << 1 | 1).

The ctest pvh_tiny_host runs all but test_kvm_* on the host (no kvmbox);
vmm_kvm runs the whole file in kvmbox.
"""
import os
import shutil
import subprocess
import time

import pytest

from vmmproc import BUILD, SLOW, VMM, Vmm

TINY_DIR = os.path.join(BUILD, "tests", "pvh-tiny")
LINE = {64: b"pvh-tiny: hello from ELF64\r\n", 32: b"pvh-tiny: hello from ELF32\r\n"}
PM_S5 = 0x34
QEMU_DEBUG_EXIT_STATUS = PM_S5 << 1 | 1
EM_X86_64 = 62

needs_kvm = pytest.mark.skipif(not os.path.exists("/dev/kvm"), reason="no /dev/kvm: run under tools/kvmbox")
QEMU = shutil.which("qemu-system-x86_64")


def tiny(bits):
    path = os.path.join(TINY_DIR, "pvh-tiny%d.elf" % bits)
    assert os.path.isfile(path), "%s missing: build the vmgate-pvh-tiny target" % path
    return path


def tiny_x32(tmp_path):
    """pvh-tiny32.elf with e_machine EM_X86_64: the x32 container."""
    data = bytearray(open(tiny(32), "rb").read())
    assert data[4] == 1 and data[18:20] == b"\x03\x00", "pvh-tiny32.elf is not ELF32/EM_386"
    data[18:20] = EM_X86_64.to_bytes(2, "little")
    path = tmp_path / "pvh-tiny-x32.elf"
    path.write_bytes(bytes(data))
    return str(path)


IMAGES = {
    "elf64": lambda tmp_path: (tiny(64), LINE[64]),
    "elf32": lambda tmp_path: (tiny(32), LINE[32]),
    "x32": lambda tmp_path: (tiny_x32(tmp_path), LINE[32]),
}


@needs_kvm
@pytest.mark.parametrize("image", sorted(IMAGES))
def test_kvm_boots_prints_and_powers_off(image, tmp_path):
    path, line = IMAGES[image](tmp_path)
    with Vmm("--kernel", path, "--mem", "16M", stdin=False) as vm:
        vm.expect(line, timeout=60)
        status = vm.wait(60)
        err = vm.stderr_text()
        assert status == 0, "exit %s, stderr:\n%s" % (status, err)
        assert "guest stopped: guest power-off" in err, err
        # the line, whole and once: no byte lost or repeated on the way
        assert bytes(vm.out).count(line) == 1, bytes(vm.out)


RESET_LINE = b"pvh-reset: boot\r\n"


@needs_kvm
def test_kvm_reboot_loop_backs_off():
    """pvh-reset64.elf resets through the i8042 on every boot (issue 8 #11:
    ~40 reboots a second, a log line each, for ever). The monitor restarts
    the first 5 resets at once, then waits 1, 2, 4, 8 s...: 13 s after the
    first boot it has booted 9 times, and not once in the last 4 s."""
    path = os.path.join(TINY_DIR, "pvh-reset64.elf")
    assert os.path.isfile(path), "%s missing: build the vmgate-pvh-tiny target" % path
    with Vmm("--kernel", path, "--mem", "16M", stdin=False) as vm:
        vm.expect(RESET_LINE, timeout=60)
        start = time.monotonic()
        samples = []  # (seconds since the first boot, boots so far)
        while time.monotonic() - start < 13:
            time.sleep(0.1)
            with vm.lock:
                samples.append((time.monotonic() - start, bytes(vm.out).count(RESET_LINE)))
        err = vm.stderr_text()
    boots = samples[-1][1]
    late = boots - max(n for t, n in samples if t <= 9)
    resets = err.count("guest rebooting: guest reboot (keyboard controller reset line")
    print("boots in 13 s: %d, in its last 4 s: %d, reset lines on stderr: %d" % (boots, late, resets))
    assert boots >= 6, err  # the first resets restart at once
    assert boots <= 12, "%d boots in 13 s: no backoff\n%s" % (boots, err[-2000:])
    assert late == 0, "%d boots in the last 4 s: the wait does not grow" % late
    # One line per reset, saying why it waits.
    assert resets <= 12, err[-2000:]
    assert "keyboard controller reset line; reboot loop: 6 resets, next start in 1 s" in err, err
    assert "reboot loop: 8 resets, next start in 4 s" in err, err


def phdr32(data, i):
    """(p_type, p_offset, p_filesz) of an ELF32's program header I."""
    ph = int.from_bytes(data[28:32], "little") + 32 * i
    return tuple(int.from_bytes(data[ph + o:ph + o + 4], "little") for o in (0, 4, 16))


def note_offset(data):
    """Where pvh-tiny32.elf's PVH note is (its PT_NOTE is program header 1)."""
    ptype, off, _ = phdr32(data, 1)
    assert ptype == 4 and data[off + 12:off + 16] == b"Xen\0", "unexpected pvh-tiny32.elf layout"
    return off


def corrupt_truncated_body(data):
    return data[:4100]  # the PT_LOAD's bytes start at 4096


def corrupt_truncated_header(data):
    return data[:40]


def corrupt_note_value_size(data):
    off = note_offset(data)  # descsz 4 -> 2
    return data[:off + 4] + (2).to_bytes(4, "little") + data[off + 8:]


def corrupt_entry_outside(data):
    off = note_offset(data)
    return data[:off + 16] + (0x300000).to_bytes(4, "little") + data[off + 20:]


CORRUPTIONS = {
    "truncated-body": (corrupt_truncated_body,
                       "segment 0 (offset 4096, {load_size} bytes) extends past the end of the file "
                       "(4100 bytes): truncated image?"),
    "truncated-header": (corrupt_truncated_header,
                         "truncated ELF header (40 bytes, an ELF32 header has 52)"),
    "note-value-size": (corrupt_note_value_size,
                        "the Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY) has a 2-byte value, want 4 or 8"),
    "entry-outside": (corrupt_entry_outside,
                      "PVH entry 0x300000 is not inside a loaded segment"),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_elf32_is_refused_naming_file_and_problem(corruption, tmp_path):
    data = open(tiny(32), "rb").read()
    ptype, offset, load_size = phdr32(data, 0)
    assert (ptype, offset) == (1, 4096), "unexpected pvh-tiny32.elf layout"
    make, want = CORRUPTIONS[corruption]
    want = want.format(load_size=load_size)
    path = tmp_path / ("pvh-tiny32-%s.elf" % corruption)
    path.write_bytes(make(data))
    r = subprocess.run([VMM, "--kernel", str(path), "--mem", "16M"], stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30 * SLOW)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 1, "exit %s, stderr:\n%s" % (r.returncode, err)
    assert err == "vmgate-vmm: %s: %s\n" % (path, want), err
    assert r.stdout == b""


@pytest.mark.skipif(QEMU is None, reason="qemu-system-x86_64 not installed")
@pytest.mark.parametrize("image", sorted(IMAGES))
def test_qemu_microvm_boots_the_same_images(image, tmp_path):
    path, line = IMAGES[image](tmp_path)
    r = subprocess.run(
        [QEMU, "-M", "microvm,x-option-roms=off,isa-serial=on,rtc=off", "-accel", "tcg",
         "-m", "16", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
         "-device", "isa-debug-exit,iobase=0x600,iosize=1", "-kernel", path],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    assert r.returncode == QEMU_DEBUG_EXIT_STATUS, "exit %s\nstdout: %r\nstderr: %s" % (
        r.returncode, r.stdout, r.stderr.decode(errors="replace"))
    assert r.stdout == line, r.stdout
