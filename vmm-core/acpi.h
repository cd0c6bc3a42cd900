/*
 * acpi: the ACPI tables a guest finds at ACPI_ADDR, built into a buffer
 * (no KVM here, so the unit tests and `iasl -d` can check them):
 *
 *   RSDP (revision 2) -> XSDT -> FADT -> DSDT
 *                             -> MADT
 *
 * The platform they describe, the same one the MP table describes
 * (mptable.h) and vm.c builds:
 *   - FADT: hardware-reduced ACPI (no PM1 blocks, no SCI, no GPEs).  The
 *     sleep control and status registers and the reset register are all
 *     the power register, I/O port PMREG_PORT, 8 bits (pmreg.h): Linux's
 *     poweroff writes SLP_TYP 5 with SLP_EN there, its reboot writes
 *     PMREG_RESET_VALUE.  IAPC_BOOT_ARCH: an 8042 is present (our i8042),
 *     no VGA, no CMOS RTC.
 *   - DSDT: \_S5 (SLP_TYP 5, what pmreg.c takes for power-off); under
 *     \_SB: COM1 (PNP0501, ports 0x3f8-0x3ff, IRQ 4), the i8042's
 *     keyboard (KBD, PNP0303, ports 0x60 and 0x64, IRQ 1) and mouse (MOU,
 *     PNP0F13, IRQ 12) and the pvpanic device (QEMU0001, port
 *     PVPANIC_PORT).  COM1 and the i8042 are declared because a
 *     hardware-reduced platform has no legacy ISA IRQ map in Linux: the
 *     serial port and the i8042 driver get their interrupts from these
 *     _CRS, not from a built-in list (without them Linux's i8042 probe
 *     fails: request_irq(1) gives -EINVAL).
 *   - MADT: one enabled local APIC per vCPU (processor UID = APIC id =
 *     index), the IOAPIC at MPTABLE_IOAPIC_ADDR (id = ncpus, GSI base 0),
 *     NMI on LINT1 of every CPU, PCAT_COMPAT (the 8259 pair is there).
 *     No interrupt source override: KVM's default GSI routing (used as
 *     long as the monitor sets none) wires GSI n to IOAPIC pin n and, for
 *     n < 16, to the 8259 input n; the PIT injects GSI 0.  So ISA IRQ n is
 *     GSI n, as the MP table says too.  (QEMU routes GSI 0 to pin 2 and
 *     declares IRQ0 -> GSI 2; that would be wrong here.)
 *
 * The tables live in the reserved area below 1 MiB, from ACPI_ADDR up to
 * ACPI_AREA_END (where the MP table starts), 16-byte aligned, so that
 * Linux's scan of 0xe0000-0xfffff for "RSD PTR " finds the RSDP even when
 * nobody passes its address.
 */
#ifndef VMGATE_ACPI_H
#define VMGATE_ACPI_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_ADDR 0xe0000ULL
#define ACPI_AREA_END 0xf0000ULL
#define ACPI_AREA_SIZE ((size_t)(ACPI_AREA_END - ACPI_ADDR))
#define ACPI_MAX_CPUS 64

/* Table lengths, for callers and tests that walk the tables. */
#define ACPI_RSDP_LEN 36
#define ACPI_HDR_LEN 36
#define ACPI_FADT_LEN 276 /* revision 6 */

/*
 * Writes the tables for NCPUS vCPUs into BUF (CAP bytes), which the guest
 * will see at guest-physical BASE; the RSDP is at BUF[0].  Every pointer
 * inside is a guest-physical address.  Returns the number of bytes used,
 * or -1 if ncpus is not 1..ACPI_MAX_CPUS, BASE is not 16-byte aligned or
 * below 4 GiB, or CAP is too small (BUF is then unspecified).
 */
long acpi_write(uint8_t *buf, size_t cap, uint64_t base, int ncpus);

#endif
