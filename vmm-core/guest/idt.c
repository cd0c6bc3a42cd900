/*
 * idt.c - the interrupt descriptor table.
 *
 * Every gate is an interrupt gate, so the CPU clears IF on entry: ring 0
 * never nests interrupts, except where it deliberately waits with sti; hlt.
 * Vectors without a gate are left not-present; hitting one raises #NP with
 * the vector in the error code, which the exception report shows.
 */
#include "idt.h"
#include "gdt.h"
#include "trapentry.h"

#include <stdint.h>

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

#define IDT_GATE_INTERRUPT 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define IDT_GATE_DPL3 0x60

static struct idt_gate idt[256];

static void
idt_set(unsigned vector, uintptr_t handler, uint8_t type_attr, uint8_t ist)
{
	struct idt_gate *g = &idt[vector];

	g->offset_low = handler & 0xffff;
	g->selector = GDT_KERNEL_CS;
	g->ist = ist;
	g->type_attr = type_attr;
	g->offset_mid = handler >> 16 & 0xffff;
	g->offset_high = handler >> 32;
	g->reserved = 0;
}

void
idt_init(bool syscall_gate_dpl0)
{
	struct idt_pointer ptr = {sizeof(idt) - 1, (uintptr_t)idt};
	uintptr_t stubs = (uintptr_t)trapentry_stubs;

	for (unsigned v = 0; v < IDT_IRQ_BASE + IDT_IRQS; v++) {
		/* #DF runs on its own stack (IST1): the kernel stack may be
		 * what overflowed. */
		idt_set(v, stubs + v * TRAPENTRY_STUB_SIZE, IDT_GATE_INTERRUPT,
			v == IDT_DOUBLE_FAULT ? 1 : 0);
	}
	idt_set(IDT_SYSCALL, (uintptr_t)trapentry_syscall,
		IDT_GATE_INTERRUPT | (syscall_gate_dpl0 ? 0 : IDT_GATE_DPL3),
		0);
	idt_set(IDT_APIC_TIMER, (uintptr_t)trapentry_apic_timer,
		IDT_GATE_INTERRUPT, 0);
	idt_set(IDT_APIC_SPURIOUS, (uintptr_t)trapentry_apic_spurious,
		IDT_GATE_INTERRUPT, 0);
	__asm__ volatile("lidt %0" : : "m"(ptr));
}
