/*
 * lapic.c - the local APIC in virtual-wire mode.
 *
 * Why this is needed at all: with the APIC hardware-enabled (its reset
 * state), KVM's in-kernel irqchip hands a PIC interrupt to the CPU only if
 * LVT0 is unmasked and in ExtINT mode, and QEMU behaves the same. A BIOS
 * would have set that up; a PVH guest has no BIOS, so we do it ourselves
 * rather than rely on the VMM's reset values. ExtINT interrupts are
 * acknowledged at the PIC; only the APIC's own timer (clock.c's idle
 * wake-up) needs an APIC EOI.
 */
#include "lapic.h"
#include "cpu.h"
#include "idt.h"

#include <stdint.h>

#define LAPIC_BASE_ENABLE (1u << 11)	    /* IA32_APIC_BASE global enable */
#define LAPIC_BASE_MASK 0xfffff000ull	    /* below 4 GiB: what boot.S maps */
#define LAPIC_CPUID_APIC (1u << 9)	    /* CPUID.1:EDX */
#define LAPIC_CPUID_TSC_DEADLINE (1u << 24) /* CPUID.1:ECX */
#define LAPIC_MSR_TSC_DEADLINE 0x6e0

#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT0 0x350
#define LAPIC_LVT1 0x360

#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_LVT_EXTINT 0x700
#define LAPIC_LVT_NMI 0x400
#define LAPIC_LVT_TSC_DEADLINE (2u << 17) /* timer mode bits 18:17 */

/* 0: no usable APIC (lapic_init found none); the timer is then unused. */
static uintptr_t lapic_base;

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
	lapic_base = base;

	/* While software-disabled the APIC keeps every LVT masked, so
	 * enable it first. */
	lapic_write(base, LAPIC_SVR,
		    lapic_read(base, LAPIC_SVR) | LAPIC_SVR_ENABLE |
			IDT_APIC_SPURIOUS);
	lapic_write(base, LAPIC_TPR, 0);
	lapic_write(base, LAPIC_LVT0, LAPIC_LVT_EXTINT);
	lapic_write(base, LAPIC_LVT1, LAPIC_LVT_NMI);
}

bool
lapic_timer_init(unsigned vector)
{
	uint32_t a, b, c, d;

	if (lapic_base == 0)
		return false;
	cpu_cpuid(1, &a, &b, &c, &d);
	if (!(c & LAPIC_CPUID_TSC_DEADLINE))
		return false;
	/* The mode first: the deadline MSR is ignored in any other mode. */
	lapic_write(lapic_base, LAPIC_LVT_TIMER,
		    LAPIC_LVT_TSC_DEADLINE | (vector & 0xff));
	cpu_wrmsr(LAPIC_MSR_TSC_DEADLINE, 0);
	return true;
}

void
lapic_timer_deadline(uint64_t tsc)
{
	cpu_wrmsr(LAPIC_MSR_TSC_DEADLINE, tsc);
}

void
lapic_eoi(void)
{
	if (lapic_base != 0)
		lapic_write(lapic_base, LAPIC_EOI, 0);
}
