/*
 * trapentry.h - the assembly side of interrupts: entry stubs, the common
 * register save/restore path, and the first drop to ring 3.
 */
#ifndef GUEST_TRAPENTRY_H
#define GUEST_TRAPENTRY_H

#define TRAPENTRY_STUB_SIZE 16 /* bytes per stub in trapentry_stubs */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Stubs for vectors 0 .. IDT_IRQ_BASE+IDT_IRQS-1, TRAPENTRY_STUB_SIZE apart. */
extern char trapentry_stubs[];
extern char trapentry_syscall[];
extern char trapentry_apic_timer[];
extern char trapentry_apic_spurious[];

/* Registers as trapentry_common saves them; trap_dispatch may change them. */
struct trapentry_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error; /* error is 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
};

/* iretq to ring 3 at entry with the given stack, IF=1 and IOPL=0. */
__attribute__((noreturn)) void trapentry_enter_user(void (*entry)(void),
						    void *stack_top);
#endif

#endif
