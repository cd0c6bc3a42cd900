/*
 * mptable: an Intel MultiProcessor Specification 1.4 table describing the
 * vCPUs, the IOAPIC and ISA interrupt routing, at MPTABLE_ADDR (inside the
 * 0xf0000-0xfffff area that Linux scans).  ISA IRQ n is wired to IOAPIC pin
 * n, matching KVM's default GSI routing (the PIT injects GSI 0).
 *
 * Kept next to the ACPI tables (acpi.h), which describe the same CPUs,
 * IOAPIC and routing: a kernel with ACPI takes the MADT and ignores this
 * table (Linux prints "ACPI: Using ACPI (MADT) for SMP configuration
 * information"), but one without ACPI support, or booted with acpi=off,
 * finds its CPUs only here.  It costs a few hundred bytes of reserved
 * memory.  The facts both tables state (addresses, the IOAPIC id, the
 * CPU limit) are defined here once.
 */
#ifndef VMGATE_MPTABLE_H
#define VMGATE_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_ADDR 0xf0000ULL
#define MPTABLE_MAX_CPUS 64
#define MPTABLE_IOAPIC_ADDR 0xfec00000U
#define MPTABLE_LAPIC_ADDR 0xfee00000U

/* Size of the table for NCPUS processors. */
size_t mptable_size(int ncpus);

/* Writes the table into BUF (mptable_size(ncpus) bytes) that the guest will
 * see at guest-physical BASE. Returns 0, or -1 if ncpus is out of range. */
int mptable_write(uint8_t *buf, uint64_t base, int ncpus);

#endif
