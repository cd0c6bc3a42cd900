/*
 * gdt.c - the final GDT and the TSS.
 *
 * boot.S ran on a three-entry GDT good enough to reach 64-bit mode; this one
 * adds the ring-3 segments and the TSS, which holds the stack the CPU
 * switches to when an interrupt or int $0x80 arrives from ring 3 (RSP0) and
 * a separate stack for double faults (IST1), so that a kernel stack
 * overflow reports itself instead of triple-faulting.
 */
#include "gdt.h"
#include "kernel.h"

#include <stdint.h>

struct gdt_tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct gdt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Access byte | flags (L or D/B, G) for the flat segments. */
#define GDT_CODE64(dpl) (0x00af9a0000000000ull | (uint64_t)(dpl) << 45)
#define GDT_DATA(dpl) (0x00cf920000000000ull | (uint64_t)(dpl) << 45)
#define GDT_FLAT_LIMIT 0xffffull

static uint64_t gdt[7];
static struct gdt_tss gdt_tss;
static uint8_t gdt_df_stack[4096] __attribute__((aligned(16)));

void
gdt_init(void)
{
	uint64_t tss = (uintptr_t)&gdt_tss;
	uint64_t limit = sizeof(gdt_tss) - 1;
	struct gdt_pointer ptr = {sizeof(gdt) - 1, (uintptr_t)gdt};

	gdt[GDT_KERNEL_CS >> 3] = GDT_CODE64(0) | GDT_FLAT_LIMIT;
	gdt[GDT_KERNEL_DS >> 3] = GDT_DATA(0) | GDT_FLAT_LIMIT;
	gdt[GDT_USER_DS >> 3] = GDT_DATA(3) | GDT_FLAT_LIMIT;
	gdt[GDT_USER_CS >> 3] = GDT_CODE64(3) | GDT_FLAT_LIMIT;
	/* 64-bit TSS descriptor: 16 bytes, type 9 (available), present. */
	gdt[GDT_TSS >> 3] = (limit & 0xffff) | (tss & 0xffffff) << 16 |
			    0x89ull << 40 | (limit >> 16 & 0xf) << 48 |
			    (tss >> 24 & 0xff) << 56;
	gdt[(GDT_TSS >> 3) + 1] = tss >> 32;

	gdt_tss.rsp[0] = (uintptr_t)kernel_stack_top;
	gdt_tss.ist[0] = (uintptr_t)(gdt_df_stack + sizeof(gdt_df_stack));
	/* No I/O bitmap: ring 3 gets port access through IOPL=3 instead. */
	gdt_tss.iomap_base = sizeof(gdt_tss);

	__asm__ volatile("lgdt %0" : : "m"(ptr));
	/* A far return is the way to reload CS in 64-bit mode. */
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movl %[ds], %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs"
			 :
			 : [cs] "i"(GDT_KERNEL_CS), [ds] "i"(GDT_KERNEL_DS)
			 : "rax", "memory");
	__asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
}
