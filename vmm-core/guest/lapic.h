/*
 * lapic.h - just enough local APIC to let 8259 interrupts through, and its
 * TSC-deadline timer for waking an idle guest.
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Software-enable the local APIC (spurious vector IDT_APIC_SPURIOUS) and
 * route LINT0 as ExtINT (the PIC) and LINT1 as NMI, like a PC BIOS's
 * virtual-wire mode. Does nothing when the CPU has no enabled APIC.
 */
void lapic_init(void);

/*
 * After lapic_init(): put the APIC timer in TSC-deadline mode on `vector`,
 * disarmed. False (and nothing changed) without an enabled APIC or without
 * CPUID.1:ECX.TSC_DEADLINE.
 */
bool lapic_timer_init(unsigned vector);
/* Interrupt once the TSC reaches `tsc`; 0 disarms. Only after
 * lapic_timer_init() returned true. */
void lapic_timer_deadline(uint64_t tsc);
/* End of interrupt for a vector the APIC itself raised (its timer). */
void lapic_eoi(void);

#endif
