/*
 * trapentry.S - interrupt entry and exit, and the first drop to ring 3.
 *
 * Every stub makes the stack look the same (an error code, real or a zero
 * pushed here, then the vector number) and jumps to trapentry_common, which
 * saves the general registers as a struct trapentry_frame and calls
 * trap_dispatch(frame). No FPU/SSE state to save: the guest is compiled
 * with -mgeneral-regs-only.
 */
#include "gdt.h"
#include "idt.h"
#include "trapentry.h"

/* Exceptions for which the CPU pushes an error code. */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
		      (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.p2align 4
	.globl trapentry_stubs
trapentry_stubs:
	vector = 0
	.rept IDT_IRQ_BASE + IDT_IRQS
	.p2align 4	/* == TRAPENTRY_STUB_SIZE; the IDT code relies on it */
	.if (HAS_ERROR(vector)) == 0
	pushq $0
	.endif
	pushq $vector
	jmp trapentry_common
	vector = vector + 1
	.endr

	.p2align 4
	.globl trapentry_syscall
trapentry_syscall:
	pushq $0
	pushq $IDT_SYSCALL
	jmp trapentry_common

	.p2align 4
	.globl trapentry_apic_timer
trapentry_apic_timer:
	pushq $0
	pushq $IDT_APIC_TIMER
	jmp trapentry_common

/* The local APIC's spurious vector needs no EOI and no work at all. */
	.p2align 4
	.globl trapentry_apic_spurious
trapentry_apic_spurious:
	iretq

	.p2align 4
trapentry_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	/* Ring 3 may have left DF set; the C ABI wants it clear. */
	cld
	/* The CPU aligned RSP to 16 before pushing its 5 words; with the
	 * 2 + 15 pushed here the frame is 176 bytes, so RSP is still
	 * 16-aligned at the call, as the ABI requires. */
	movq %rsp, %rdi
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector and error code */
	iretq

/*
 * void trapentry_enter_user(void (*entry)(void), void *stack_top)
 *
 * Builds the frame iretq expects for a privilege change. RFLAGS: IF=1 so
 * ring 3 takes interrupts, bit 1 always set, IOPL 0: ring 3's port access
 * is what the TSS I/O bitmap allows (gdt.c), and nothing else.
 * Registers are cleared so nothing of ring 0 leaks into ring 3.
 */
	.globl trapentry_enter_user
trapentry_enter_user:
	pushq $GDT_USER_DS
	pushq %rsi
	pushq $0x202
	pushq $GDT_USER_CS
	pushq %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	iretq

	.section .note.GNU-stack, "", @progbits
