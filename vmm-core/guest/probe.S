/*
 * probe.S - the faulting half of probe_inb() (see probe.h). Ring 3.
 *
 * Written in assembly so the labels exist exactly once: a C function with
 * an asm block could be inlined or cloned, and then the label trap.c
 * compares RIP with would name only one of the copies.
 */
#include "probe.h"

	.text
	.p2align 4
	.globl probe_inb
	.type probe_inb, @function
/* long probe_inb(uint16_t port): port in %di, result in %rax */
probe_inb:
	movzwl %di, %edx
	xorl %eax, %eax		/* bits 8..63 stay zero unless trap.c fixes up */
	.globl probe_inb_insn
probe_inb_insn:
	inb %dx, %al
	.globl probe_inb_fixup
probe_inb_fixup:
	ret
	.size probe_inb, . - probe_inb

	.section .note.GNU-stack, "", @progbits
