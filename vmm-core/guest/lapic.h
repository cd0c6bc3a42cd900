/*
 * lapic.h - just enough local APIC to let 8259 interrupts through.
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

/*
 * Software-enable the local APIC (spurious vector IDT_APIC_SPURIOUS) and
 * route LINT0 as ExtINT (the PIC) and LINT1 as NMI, like a PC BIOS's
 * virtual-wire mode. Does nothing when the CPU has no enabled APIC.
 */
void lapic_init(void);

#endif
