/*
 * kernel.c - ring-0 start-up: set up the machine, then run the shell in
 * ring 3.
 *
 * Order matters: the UART first, so anything after it can report trouble;
 * the boot info before paging_init(), because the loader may have put
 * hvm_start_info in page 0, which paging_init() unmaps; interrupt sources
 * last, and interrupts themselves only come on with the drop to ring 3.
 */
#include "kernel.h"
#include "bootinfo.h"
#include "clock.h"
#include "fb.h"
#include "gdt.h"
#include "i8042.h"
#include "idt.h"
#include "lapic.h"
#include "paging.h"
#include "pic.h"
#include "pit.h"
#include "shared.h"
#include "shell.h"
#include "trapentry.h"
#include "uart.h"
#include "uart_regs.h"

void
kernel_main(uint32_t start_info_paddr)
{
	uart_init();
	bootinfo_init(start_info_paddr);
	gdt_init();
	idt_init(shared.syscall_trap);
	paging_init();
	fb_init();

	pic_init();
	lapic_init();
	clock_init();
	pit_init();
	uart_enable_rx_irq();
	pic_unmask(PIT_IRQ);
	pic_unmask(UART_COM1_IRQ);
	i8042_init(); /* after fb_init(): the mouse starts mid-screen */
	if (shared.keyboard) {
		pic_unmask(I8042_KBD_IRQ);
		pic_unmask(I8042_AUX_IRQ);
	}

	trapentry_enter_user(shell_main, shell_stack + sizeof(shell_stack));
}
