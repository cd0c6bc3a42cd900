"""Debian's own kernel on vmgate-vmm (DESIGN.md §3).

On this project's CI machines KVM is nested inside QEMU TCG, where a Linux
boot crawls: the test stops the VM once the lines it asserts have appeared.
If the boot fails first, it must be a clean crashed state with its reason.
"""
import os
import re
import time

import pytest

from vmmproc import Vmm

CACHE = os.path.join(os.environ.get("VMGATE_CACHE", os.path.expanduser("~/.cache/vmgate")), "linux")
needs_kvm = pytest.mark.skipif(not os.path.exists("/dev/kvm"), reason="no /dev/kvm: run under tools/kvmbox")
needs_kernel = pytest.mark.skipif(not os.path.exists(os.path.join(CACHE, "vmlinux")),
                                  reason="run tools/fetch-linux.sh first")

# A PVM host's /dev/kvm (kvm_pvm module) rather than hardware or nested SVM.
ON_PVM = os.path.exists("/sys/module/kvm_pvm")

CMDLINE = "earlyprintk=serial,ttyS0,115200 console=ttyS0 panic=-1 nokaslr"


def crashed_cleanly(vm):
    """If the monitor ended, it must have reported a reason, never died."""
    code = vm.proc.poll()
    if code is None:
        return
    assert code in (11, 12, 13, 15), "monitor exit %s: %s" % (code, vm.stderr_text())
    assert re.search(r"guest crashed: .*rip 0x", vm.stderr_text()), vm.stderr_text()


@needs_kvm
@needs_kernel
def test_vmlinux_pvh_prints_banner_e820_acpi_tables_and_two_cpus():
    # The RSDP comes from hvm_start_info.rsdp_paddr (vmm-core/acpi.h); the
    # kernel lists each table as it maps it, in this order.  With a MADT it
    # takes the CPUs from there and ignores the MP table, saying so.
    with Vmm("--kernel", os.path.join(CACHE, "vmlinux"), "--mem", "512M", "--cpus", "2",
             "--cmdline", CMDLINE, stdin=False) as vm:
        try:
            vm.expect(rb"Linux version \d+\.\d+", timeout=300)
            vm.expect(rb"e820: \[mem 0x0000000000100000-0x000000001fffffff\] usable", timeout=300)
            vm.expect(rb"ACPI: RSDP 0x00000000000E0000 000024 \(v02 VMGATE\)", timeout=300)
            vm.expect(rb"ACPI: XSDT 0x00000000000E[0-9A-F]{4} 000034 \(v01 VMGATE VMGATEXS", timeout=300)
            vm.expect(rb"ACPI: FACP 0x00000000000E[0-9A-F]{4} 000114 \(v06 VMGATE VMGATEFA", timeout=300)
            vm.expect(rb"ACPI: DSDT 0x00000000000E[0-9A-F]{4} [0-9A-F]{6} \(v02 VMGATE VMGATEDS", timeout=300)
            vm.expect(rb"ACPI: APIC 0x00000000000E[0-9A-F]{4} 00004E \(v04 VMGATE VMGATEMA", timeout=300)
            vm.expect(rb"ACPI: Using ACPI \(MADT\) for SMP configuration information", timeout=600)
            vm.expect(rb"smpboot: Allowing 2 CPUs, 0 hotplug CPUs", timeout=600)
        except AssertionError:
            crashed_cleanly(vm)
            raise
        # the MP table was not what it used
        assert b"Intel MultiProcessor Specification" not in vm.out


@needs_kvm
@needs_kernel
def test_bzimage_reaches_the_decompressor_and_the_kernel():
    # Debian builds without X86_VERBOSE_BOOTUP, so the decompressor's first
    # console line is its note about nokaslr; the kernel's banner follows.
    with Vmm("--kernel", os.path.join(CACHE, "vmlinuz"), "--mem", "512M",
             "--cmdline", CMDLINE, stdin=False) as vm:
        try:
            vm.expect(rb"KASLR disabled: 'nokaslr' on cmdline", timeout=300)
            if ON_PVM:
                # PVM emulates ring 0 one instruction at a time: the xz
                # decompression that follows takes many minutes there
                # (DESIGN.md §3). What can be asserted: it is running,
                # not crashed, a few seconds later.
                time.sleep(5)
                assert vm.proc.poll() is None, vm.stderr_text()
                return
            vm.expect(rb"Linux version \d+\.\d+", timeout=300)
        except AssertionError:
            crashed_cleanly(vm)
            raise
