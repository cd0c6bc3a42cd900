/*
 * trap.c - interrupt, exception and syscall dispatch.
 */
#include "trap.h"
#include "cpu.h"
#include "idt.h"
#include "pic.h"
#include "pit.h"
#include "syscall.h"
#include "uart.h"
#include "uart_regs.h"

#include <stddef.h>

static void (*const trap_irq_handlers[IDT_IRQS])(void) = {
    [PIT_IRQ] = pit_irq,
    [UART_COM1_IRQ] = uart_irq,
};

static void
trap_irq(unsigned irq)
{
	if (pic_spurious(irq))
		return;
	if (trap_irq_handlers[irq] != NULL)
		trap_irq_handlers[irq]();
	pic_eoi(irq);
}

/*
 * An exception nobody expects, in either ring: report it on the serial
 * port where a human or a test will see it, then stop for good. The first
 * words are fixed ("exception N at RIP=0x... err=0x...") for tools to grep.
 */
static __attribute__((noreturn)) void
trap_fatal(const struct trapentry_frame *f)
{
	uart_kprintf("\r\nexception %lu at RIP=0x%lx err=0x%lx", f->vector,
		     f->rip, f->error);
	if (f->vector == IDT_PAGE_FAULT)
		uart_kprintf(" cr2=0x%lx", cpu_read_cr2());
	uart_kprintf(" ring %lu rsp=0x%lx\r\n", f->cs & 3, f->rsp);
	cpu_halt_forever();
}

void
trap_dispatch(struct trapentry_frame *frame)
{
	uint64_t v = frame->vector;

	if (v >= IDT_IRQ_BASE && v < IDT_IRQ_BASE + IDT_IRQS)
		trap_irq((unsigned)(v - IDT_IRQ_BASE));
	else if (v == IDT_SYSCALL)
		syscall_dispatch(frame);
	else if (v == IDT_NMI) /* e.g. a VMM's "send NMI": say so, go on */
		uart_kprintf("\r\nNMI at RIP=0x%lx\r\n", frame->rip);
	else
		trap_fatal(frame);
}
