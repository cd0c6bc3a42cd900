/*
 * idt.h - interrupt vectors and the IDT.
 */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#define IDT_NMI 2
#define IDT_DOUBLE_FAULT 8
#define IDT_PAGE_FAULT 14
#define IDT_EXCEPTIONS 32 /* 0-31 are CPU exceptions */
#define IDT_IRQ_BASE 0x20 /* 8259 master; the slave follows at 0x28 */
#define IDT_IRQS 16
#define IDT_SYSCALL 0x80 /* int $0x80, callable from ring 3 */
#define IDT_APIC_SPURIOUS 0xff

#ifndef __ASSEMBLER__
/* Fill and load the IDT: exceptions, IRQs, the syscall gate, APIC spurious. */
void idt_init(void);
#endif

#endif
