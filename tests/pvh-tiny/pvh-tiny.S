/*
 * pvh-tiny: the smallest honest PVH guest.  It prints one line on COM1 and
 * powers off through the monitor's power register; the benchmark times its
 * first serial byte, so that byte goes out in the first instructions.
 *
 * With -DPVH_TINY_RESET it is the reboot-loop guest instead (pvh-reset64.elf):
 * the same line, then a reset through the i8042 (0xFE to port 0x64) on every
 * boot, the smallest guest that makes its monitor reboot it for ever.
 *
 * Assembled twice, for an ELF64 (-m64) and an ELF32 (-m32) image: the code
 * is 32-bit in both, because PVH starts every kernel in 32-bit protected
 * mode (flat segments, paging off, IF=0, DF unspecified) at the address in
 * the XEN_ELFNOTE_PHYS32_ENTRY note.  No stack, no memory writes.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20 /* transmit holding register empty */

/* vmgate-vmm's power register (vmm-core/pmreg.h): SLP_EN | SLP_TYP=5. */
#define PM_PORT 0x600
#define PM_S5 0x34

/* The i8042's command port and its "pulse the reset line" command. */
#define I8042_CMD 0x64
#define I8042_RESET 0xfe

/*
 * The entry note.  ELF64: an 8-byte descriptor, as Linux has (QEMU reads
 * a size_t there).  ELF32: a 4-byte one, as 32-bit kernels have.  Aligned
 * to 4: QEMU aligns the name by the note segment's p_align.
 */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.p2align 2
3:
#ifdef __x86_64__
	.quad pvh_tiny_entry
#else
	.long pvh_tiny_entry
#endif
4:	.p2align 2

	.section .text, "ax"
	.code32
	.globl pvh_tiny_entry
pvh_tiny_entry:
	/* The first byte needs no wait: a UART leaves reset with THR empty. */
	movw $COM1, %dx
	movb message, %al
	outb %al, %dx

	cld
	movl $message + 1, %esi
	movl $message_end - message - 1, %ecx
1:	movw $COM1 + UART_LSR, %dx
2:	inb %dx, %al
	testb $UART_LSR_THRE, %al
	jz 2b
	movw $COM1, %dx
	lodsb
	outb %al, %dx
	loop 1b

#ifdef PVH_TINY_RESET
	/* The reboot-loop guest: pulse the reset line through the keyboard
	 * controller, at once and on every boot. */
	movb $I8042_RESET, %al
	outb %al, $I8042_CMD
#else
	movw $PM_PORT, %dx
	movb $PM_S5, %al
	outb %al, %dx
#endif
3:	cli			/* a VMM without our power register */
	hlt
	jmp 3b

	.section .rodata, "a"
message:
#if defined(PVH_TINY_RESET)
	.ascii "pvh-reset: boot\r\n"
#elif defined(__x86_64__)
	.ascii "pvh-tiny: hello from ELF64\r\n"
#else
	.ascii "pvh-tiny: hello from ELF32\r\n"
#endif
message_end:

	.section .note.GNU-stack, "", @progbits
