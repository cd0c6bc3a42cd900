/*
 * gdt.c - the final GDT and the TSS.
 *
 * boot.S ran on a three-entry GDT good enough to reach 64-bit mode; this one
 * adds the ring-3 segments and the TSS, which holds the stack the CPU
 * switches to when an interrupt or int $0x80 arrives from ring 3 (RSP0), a
 * separate stack for double faults (IST1), so that a kernel stack
 * overflow reports itself instead of triple-faulting, and the I/O
 * permission bitmap.
 *
 * Ring 3 runs with IOPL 0, so the bitmap alone decides which ports it may
 * use: exactly those in gdt_user_ports[], nothing more. That is also the
 * only rule PVM hosts know (their ring-3 in/out ignore RFLAGS.IOPL), so
 * every host runs the same path.
 */
#include "gdt.h"
#include "kernel.h"
#include "mem.h"
#include "uart_regs.h"

#include <stddef.h>
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
_Static_assert(sizeof(struct gdt_tss) == 0x68, "64-bit TSS layout");

/*
 * The TSS and, right behind it, the I/O permission bitmap: one bit per port
 * from 0 up to GDT_IOMAP_PORTS - 1, clear = ring 3 may use it. The CPU
 * reads two bitmap bytes for every access, so the byte after the bitmap
 * must exist and be all ones (SDM vol. 1, 19.5.2). Ports past the bitmap
 * fall outside the TSS limit and are refused without a bit.
 */
struct gdt_tss_iomap {
	struct gdt_tss tss;
	uint8_t iomap[GDT_IOMAP_PORTS / 8];
	uint8_t iomap_end;
} __attribute__((packed));

/*
 * Every port ring 3 touches, and why. Keep in step with the ring-3
 * sources (shell.c line.c cmd.c bulk.c con.c sys.c probe.S and the shared
 * helpers): a port used there and missing here is a #GP, one listed here
 * and used nowhere is privilege ring 3 should not have.
 */
static const uint16_t gdt_user_ports[] = {
    UART_COM1 + UART_THR, /* con_flush(): rep outsb of a burst */
    UART_COM1 + UART_LSR, /* con_flush(): poll THRE before each burst */
};

struct gdt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* Access byte | flags (L or D/B, G) for the flat segments. */
#define GDT_CODE64(dpl) (0x00af9a0000000000ull | (uint64_t)(dpl) << 45)
#define GDT_DATA(dpl) (0x00cf920000000000ull | (uint64_t)(dpl) << 45)
#define GDT_FLAT_LIMIT 0xffffull

static uint64_t gdt[7];

/* 256-aligned: the 233 bytes the CPU reads never straddle a page. */
static struct gdt_tss_iomap gdt_tss __attribute__((aligned(256)));
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

	gdt_tss.tss.rsp[0] = (uintptr_t)kernel_stack_top;
	gdt_tss.tss.ist[0] = (uintptr_t)(gdt_df_stack + sizeof(gdt_df_stack));
	gdt_tss.tss.iomap_base = offsetof(struct gdt_tss_iomap, iomap);
	memset(gdt_tss.iomap, 0xff, sizeof(gdt_tss.iomap));
	gdt_tss.iomap_end = 0xff;
	for (size_t i = 0;
	     i < sizeof(gdt_user_ports) / sizeof(gdt_user_ports[0]); i++) {
		uint16_t port = gdt_user_ports[i];

		if (port < GDT_IOMAP_PORTS) /* else ring 3 never gets it */
			gdt_tss.iomap[port / 8] &=
			    (uint8_t) ~(1u << (port % 8));
	}

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
