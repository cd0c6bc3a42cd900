/*
 * trap.c - interrupt, exception and syscall dispatch.
 *
 * A system call is a ring-3 `int $0x80`, and it reaches ring 0 by one of
 * three routes, all dispatched the same way (syscall_dispatch reads only
 * rax and rdi from the frame, whatever the vector):
 * - through the DPL-3 gate at IDT_SYSCALL, on hardware VT-x/AMD-V, nested
 *   SVM and TCG;
 * - as #UD with RIP at the `cd 80` bytes, which is what PVM hosts raise
 *   instead of entering the gate;
 * - as #GP with error code IDT_ERROR_CODE(IDT_SYSCALL) (0x402; 0x802 on
 *   QEMU TCG) and RIP at the `cd 80`, which every CPU raises when the gate
 *   is DPL 0: booted with syscall=trap, any host takes this fault route,
 *   so tests here cover the code PVM depends on (all but the #UD vector
 *   number itself).
 * Faults leave RIP at the instruction, so those two routes step over its
 * two bytes before dispatching, as the gate would have.
 */
#include "trap.h"
#include "clock.h"
#include "cpu.h"
#include "i8042.h"
#include "idt.h"
#include "kernel.h"
#include "pic.h"
#include "pit.h"
#include "probe.h"
#include "pvpanic.h"
#include "shared.h"
#include "syscall.h"
#include "uart.h"
#include "uart_regs.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRAP_INT_0X80_LEN 2

/*
 * Ring-3 instructions allowed to fault with #GP, and where to resume with
 * rax = PROBE_FAULTED (probe.h): Linux's exception table, one entry long.
 */
static const struct {
	const char *insn;
	const char *fixup;
} trap_fixups[] = {
    {probe_inb_insn, probe_inb_fixup},
};

static void (*const trap_irq_handlers[IDT_IRQS])(void) = {
    [PIT_IRQ] = pit_irq,
    [UART_COM1_IRQ] = uart_irq,
    [I8042_KBD_IRQ] = i8042_irq,
    [I8042_AUX_IRQ] = i8042_irq,
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
	/* After the report, so the reason is out before a VMM stops us. */
	pvpanic_report_panic();
	cpu_halt_forever();
}

static bool
trap_from_user(const struct trapentry_frame *f)
{
	return (f->cs & 3) == 3;
}

/*
 * Is this #UD or #GP a ring-3 `int $0x80` that did not go through the
 * gate? RIP is ring 3's: it is read only if both bytes lie in the user
 * image, the only pages ring 3 can execute from.
 */
static bool
trap_is_int_0x80(const struct trapentry_frame *f)
{
	uintptr_t lo = (uintptr_t)__user_text_start;
	uintptr_t hi = (uintptr_t)__user_data_end;
	const uint8_t *insn;

	if (!trap_from_user(f))
		return false;
	/* QEMU's TCG (so also kvmbox) reports the 64-bit IDT entry as
	 * vector * 16 where the SDM and hardware say vector * 8. */
	if (f->vector == IDT_GENERAL_PROTECTION &&
	    f->error != IDT_ERROR_CODE(IDT_SYSCALL) &&
	    f->error != IDT_ERROR_CODE(2 * IDT_SYSCALL))
		return false;
	if (f->rip < lo || f->rip > hi - TRAP_INT_0X80_LEN)
		return false;
	insn = (const uint8_t *)f->rip;
	return insn[0] == 0xcd && insn[1] == IDT_SYSCALL;
}

static void
trap_syscall(struct trapentry_frame *f, enum shared_syscall_route route)
{
	shared.syscalls[route]++;
	syscall_dispatch(f);
}

/*
 * A ring-3 #GP at a trap_fixups[] instruction: resume at its fixup. Error
 * code 0 is what a port refused by the I/O bitmap raises.
 */
static bool
trap_fixup(struct trapentry_frame *f)
{
	if (!trap_from_user(f) || f->error != 0)
		return false;
	for (size_t i = 0; i < sizeof(trap_fixups) / sizeof(trap_fixups[0]);
	     i++) {
		if (f->rip == (uintptr_t)trap_fixups[i].insn) {
			f->rax = (uint64_t)PROBE_FAULTED;
			f->rip = (uintptr_t)trap_fixups[i].fixup;
			return true;
		}
	}
	return false;
}

void
trap_dispatch(struct trapentry_frame *frame)
{
	uint64_t v = frame->vector;

	if (v >= IDT_IRQ_BASE && v < IDT_IRQ_BASE + IDT_IRQS)
		trap_irq((unsigned)(v - IDT_IRQ_BASE));
	else if (v == IDT_SYSCALL)
		trap_syscall(frame, SHARED_SYSCALL_GATE);
	else if (v == IDT_APIC_TIMER)
		clock_timer_irq();
	else if ((v == IDT_INVALID_OPCODE || v == IDT_GENERAL_PROTECTION) &&
		 trap_is_int_0x80(frame)) {
		frame->rip += TRAP_INT_0X80_LEN;
		trap_syscall(frame, v == IDT_INVALID_OPCODE
					? SHARED_SYSCALL_UD
					: SHARED_SYSCALL_GP);
	} else if (v == IDT_GENERAL_PROTECTION && trap_fixup(frame))
		; /* a probe that was refused; the probe reports it */
	else if (v == IDT_NMI) /* e.g. a VMM's "send NMI": say so, go on */
		uart_kprintf("\r\nNMI at RIP=0x%lx\r\n", frame->rip);
	else
		trap_fatal(frame);
}
