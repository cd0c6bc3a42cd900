/*
 * syscall.c - the privileged operations the shell asks for.
 *
 * Runs with interrupts off (the gate is an interrupt gate). Kept short:
 * on nested KVM every ring-0 instruction is emulated.
 */
#include "syscall.h"
#include "clock.h"
#include "cpu.h"
#include "io.h"
#include "pit.h"
#include "shared.h"
#include "sysnum.h"
#include "uart.h"

#include <stdint.h>

#define SYSCALL_I8042_CMD 0x64
#define SYSCALL_I8042_PULSE_RESET 0xfe
/*
 * vmgate-vmm's hardware-reduced-ACPI-style register: a write with SLP_EN
 * (bit 5) set and SLP_TYP (bits 4:2) = 5 powers off; 0x01 resets. Machines
 * without it (QEMU microvm) ignore the write and we carry on.
 */
#define SYSCALL_ACPI_PORT 0x600
#define SYSCALL_ACPI_RESET 0x01
#define SYSCALL_ACPI_SLP_TYP_S5 (5 << 2)
#define SYSCALL_ACPI_SLP_EN (1 << 5)
/* Guest-physical address no VMM backs with RAM; boot.S still maps it. */
#define SYSCALL_WILD_ADDR 0xd0000000ul
/* How long to wait for a reset/poweroff request to take effect. */
#define SYSCALL_SETTLE_TICKS (PIT_HZ / 10)

/*
 * The check and the sleep must not be separable by an interrupt: we are
 * here with IF=0, and sti; hlt only opens the window once hlt is reached.
 * Timer interrupts wake the hlt too; going back to sleep here instead of
 * returning to ring 3 saves an exit and re-entry (all emulated, on nested
 * KVM). Where clock.c can, the periodic tick stops for the wait and the
 * only timer interrupt is the one at `until`.
 *
 * arg: 0, or the tick count (shared.ticks) at which to return anyway; a
 * mouse packet also ends the wait. The display's clock and pointer
 * position are what the shell does when woken without input.
 */
static long
syscall_wait_input(uint64_t until)
{
	uint32_t packets = shared.mouse.packets;

	/* The shell has read everything: input held back by a full ring may
	 * come in again. */
	uart_rx_resume();
	while (shared_rx_empty() && (until == 0 || shared.ticks < until) &&
	       shared.mouse.packets == packets)
		clock_idle_wait(until);
	clock_idle_end();
	return 0;
}

static long
syscall_wait_tx(uint64_t arg)
{
	(void)arg;
	uart_wait_tx_room();
	return 0;
}

static __attribute__((noreturn)) void
syscall_triple_fault(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = {0, 0};

	/*
	 * With an empty IDT the #UD cannot be delivered (#GP), nor can that
	 * (#DF), which shuts the CPU down. ud2 rather than int3: on nested
	 * KVM, INT3 in ring 0 is one of the instructions that fail as an
	 * emulation error instead of faulting.
	 */
	__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
	cpu_halt_forever();
}

static long
syscall_reboot(uint64_t arg)
{
	(void)arg;
	io_outb(SYSCALL_I8042_CMD, SYSCALL_I8042_PULSE_RESET);
	pit_sleep(SYSCALL_SETTLE_TICKS);
	io_outb(SYSCALL_ACPI_PORT, SYSCALL_ACPI_RESET);
	pit_sleep(SYSCALL_SETTLE_TICKS);
	syscall_triple_fault();
}

static long
syscall_poweroff(uint64_t arg)
{
	(void)arg;
	io_outb(SYSCALL_ACPI_PORT,
		SYSCALL_ACPI_SLP_TYP_S5 | SYSCALL_ACPI_SLP_EN);
	pit_sleep(SYSCALL_SETTLE_TICKS);
	return -1;
}

static long
syscall_crash(uint64_t arg)
{
	(void)arg;
	syscall_triple_fault();
}

/*
 * Instruction fetch from an address with no RAM behind it: KVM cannot
 * emulate that and reports KVM_EXIT_INTERNAL_ERROR, which the VMM must
 * turn into a "crashed" state. Done from ring 0 so the page needs no U bit.
 */
static long
syscall_wild(uint64_t arg)
{
	(void)arg;
	__asm__ volatile("jmp *%0" : : "r"(SYSCALL_WILD_ADDR));
	cpu_halt_forever();
}

static long (*const syscall_table[SYSNUM_COUNT])(uint64_t) = {
    [SYSNUM_WAIT_INPUT] = syscall_wait_input,
    [SYSNUM_REBOOT] = syscall_reboot,
    [SYSNUM_POWEROFF] = syscall_poweroff,
    [SYSNUM_CRASH] = syscall_crash,
    [SYSNUM_WILD] = syscall_wild,
    [SYSNUM_WAIT_TX] = syscall_wait_tx,
};

void
syscall_dispatch(struct trapentry_frame *frame)
{
	uint64_t n = frame->rax;

	if (n >= SYSNUM_COUNT) {
		frame->rax = (uint64_t)-1;
		return;
	}
	frame->rax = (uint64_t)syscall_table[n](frame->rdi);
}
