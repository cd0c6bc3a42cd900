/*
 * idt.h - interrupt vectors and the IDT.
 */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#define IDT_NMI 2
#define IDT_INVALID_OPCODE 6
#define IDT_DOUBLE_FAULT 8
#define IDT_GENERAL_PROTECTION 13
#define IDT_PAGE_FAULT 14
#define IDT_EXCEPTIONS 32 /* 0-31 are CPU exceptions */
#define IDT_IRQ_BASE 0x20 /* 8259 master; the slave follows at 0x28 */
#define IDT_IRQS 16
#define IDT_SYSCALL 0x80    /* int $0x80, callable from ring 3 */
#define IDT_APIC_TIMER 0xf0 /* the APIC's TSC-deadline timer (clock.c) */
#define IDT_APIC_SPURIOUS 0xff

/*
 * Selector error code of a #GP raised by delivering through IDT vector V:
 * bit 1 (IDT) set, EXT clear, the vector as the index.
 */
#define IDT_ERROR_CODE(v) ((v) << 3 | 2)

#ifndef __ASSEMBLER__
#include <stdbool.h>

/*
 * Fill and load the IDT: exceptions, IRQs, the syscall gate, the APIC timer
 * and APIC spurious.
 * With syscall_gate_dpl0, the int $0x80 gate gets DPL 0, so a ring-3
 * `int $0x80` raises #GP on every CPU and reaches ring 0 by the fault route
 * that PVM hosts (#UD) take (trap.c handles both); for testing that route.
 */
void idt_init(bool syscall_gate_dpl0);
#endif

#endif
