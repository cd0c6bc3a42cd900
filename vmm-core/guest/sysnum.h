/*
 * sysnum.h - the int $0x80 interface between the shell and ring 0.
 *
 * %rax = number, %rdi = argument; the result comes back in %rax (negative:
 * failure). Only what ring 3 cannot do itself goes through here: ring 3
 * already does port I/O on the ports the TSS I/O bitmap grants it (gdt.c)
 * and reads `shared` directly.
 */
#ifndef GUEST_SYSNUM_H
#define GUEST_SYSNUM_H

enum sysnum {
	SYSNUM_WAIT_INPUT, /* sleep (hlt) until input is pending, a mouse
			      packet came, or (argument not 0) until
			      shared.ticks reaches the argument; returns 0 */
	SYSNUM_REBOOT,	   /* i8042 reset, port 0x600 reset, triple fault */
	SYSNUM_POWEROFF,   /* returns -1 if the machine did not power off */
	SYSNUM_CRASH,	   /* triple fault on purpose; never returns */
	SYSNUM_WILD,	   /* jump into the MMIO hole; never returns */
	SYSNUM_WAIT_TX,	   /* sleep (hlt) until the UART's THR has room
			      (uart_wait_tx_room); returns 0 */
	SYSNUM_COUNT
};

#endif
