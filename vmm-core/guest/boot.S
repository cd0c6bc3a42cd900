/*
 * boot.S - the PVH entry: from 32-bit protected mode to kernel_main().
 *
 * A PVH loader (our VMM, QEMU, Xen, Firecracker, cloud-hypervisor) reads the
 * XEN_ELFNOTE_PHYS32_ENTRY note and starts us there in 32-bit protected
 * mode with flat segments and paging off, %ebx = physical address of
 * struct hvm_start_info. No stack is promised, nor zeroed bss.
 */
#include "gdt.h"
#include "paging.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100
#define CR0_PG 0x80000000
#define CR4_PAE 0x20

/*
 * The note Linux carries too. The descriptor is 8 bytes like Linux's
 * (_ASM_PTR): QEMU reads a size_t from it. 4-byte alignment matters:
 * QEMU aligns the name by the segment's p_align when looking for it.
 */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.p2align 2
3:	.quad boot_pvh_entry
4:	.p2align 2

	.section .boot.text, "ax"
	.code32
	.globl boot_pvh_entry
boot_pvh_entry:
	cli
	cld
	movl %ebx, %esi		/* start_info; survives everything below */

	/* Zero both .bss ranges: the page tables and stacks live there. */
	xorl %eax, %eax
	movl $__kernel_bss_start, %edi
	movl $__kernel_bss_end, %ecx
	subl %edi, %ecx
	rep stosb
	movl $__user_bss_start, %edi
	movl $__user_bss_end, %ecx
	subl %edi, %ecx
	rep stosb

	movl $kernel_stack_top, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> the 4 page directories. */
	movl $paging_pdpt + (PAGING_P | PAGING_RW | PAGING_U), paging_pml4
	movl $paging_pd + (PAGING_P | PAGING_RW | PAGING_U), %eax
	xorl %ecx, %ecx
1:	movl %eax, paging_pdpt(, %ecx, 8)
	addl $4096, %eax
	incl %ecx
	cmpl $PAGING_PD_COUNT, %ecx
	jb 1b

	/* 2048 x 2 MiB identity pages, supervisor-only, 3-4 GiB uncached.
	 * The high halves of the entries stay zero (below 4 GiB). */
	movl $PAGING_P | PAGING_RW | PAGING_PS, %eax
	xorl %ecx, %ecx
2:	cmpl $PAGING_UNCACHED_FROM_PDE, %ecx
	jne 3f
	orl $PAGING_PCD | PAGING_PWT, %eax
3:	movl %eax, paging_pd(, %ecx, 8)
	addl $0x200000, %eax
	incl %ecx
	cmpl $PAGING_PD_COUNT * 512, %ecx
	jb 2b

	/* PAE, then EFER.LME, then paging: the CPU enters long mode. */
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $paging_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $CR0_PG, %eax
	movl %eax, %cr0

	lgdt boot_gdt_pointer
	ljmp $GDT_KERNEL_CS, $boot_long_mode

	.code64
boot_long_mode:
	movl $GDT_KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $kernel_stack_top, %esp	/* zero-extends into %rsp */
	movl %esi, %edi			/* kernel_main(start_info) */
	call kernel_main
4:	cli
	hlt
	jmp 4b

	.section .rodata
	.p2align 3
/* Just enough GDT to reach 64-bit mode; gdt_init() replaces it. */
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* GDT_KERNEL_CS: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* GDT_KERNEL_DS: flat data, DPL 0 */
boot_gdt_end:
boot_gdt_pointer:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.bss
	.p2align 12
	.globl kernel_stack_top
kernel_stack:
	.skip 16384
kernel_stack_top:

	.section .note.GNU-stack, "", @progbits
