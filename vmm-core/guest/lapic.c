/*
 * lapic.c - the local APIC in virtual-wire mode.
 *
 * Why this is needed at all: with the APIC hardware-enabled (its reset
 * state), KVM's in-kernel irqchip hands a PIC interrupt to the CPU only if
 * LVT0 is unmasked and in ExtINT mode, and QEMU behaves the same. A BIOS
 * would have set that up; a PVH guest has no BIOS, so we do it ourselves
 * rather than rely on the VMM's reset values. ExtINT interrupts are
 * acknowledged at the PIC, so nothing here ever needs an APIC EOI.
 */
#include "lapic.h"
#include "cpu.h"
#include "idt.h"

#include <stdint.h>

#define LAPIC_BASE_ENABLE (1u << 11)  /* IA32_APIC_BASE global enable */
#define LAPIC_BASE_MASK 0xfffff000ull /* below 4 GiB: what boot.S maps */
#define LAPIC_CPUID_APIC (1u << 9)    /* CPUID.1:EDX */

#define LAPIC_TPR 0x080
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT0 0x350
#define LAPIC_LVT1 0x360

#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_EXTINT 0x700
#define LAPIC_LVT_NMI 0x400

static void
lapic_write(uintptr_t base, unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(base + reg) = v;
}

static uint32_t
lapic_read(uintptr_t base, unsigned reg)
{
	return *(volatile uint32_t *)(base + reg);
}

void
lapic_init(void)
{
	uint32_t a, b, c, d;
	uint64_t msr;
	uintptr_t base;

	cpu_cpuid(1, &a, &b, &c, &d);
	if (!(d & LAPIC_CPUID_APIC))
		return;
	msr = cpu_rdmsr(CPU_MSR_APIC_BASE);
	if (!(msr & LAPIC_BASE_ENABLE))
		return; /* the PIC then drives the CPU's INTR pin directly */
	base = msr & LAPIC_BASE_MASK;

	/* While software-disabled the APIC keeps every LVT masked, so
	 * enable it first. */
	lapic_write(base, LAPIC_SVR,
		    lapic_read(base, LAPIC_SVR) | LAPIC_SVR_ENABLE |
			IDT_APIC_SPURIOUS);
	lapic_write(base, LAPIC_TPR, 0);
	lapic_write(base, LAPIC_LVT0, LAPIC_LVT_EXTINT);
	lapic_write(base, LAPIC_LVT1, LAPIC_LVT_NMI);
}
