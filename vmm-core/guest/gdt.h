/*
 * gdt.h - segment selectors and the GDT/TSS set-up. Included from assembly.
 */
#ifndef GUEST_GDT_H
#define GUEST_GDT_H

/*
 * Selector layout (index << 3 | RPL). Kernel code/data first, then user
 * data before user code: the order SYSRET would need, kept so the layout
 * looks like every other x86-64 kernel's.
 */
#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_USER_DS (0x18 | 3)
#define GDT_USER_CS (0x20 | 3)
#define GDT_TSS 0x28

/*
 * The TSS I/O permission bitmap covers ports 0 .. GDT_IOMAP_PORTS - 1;
 * ring 3 can never use a port above (see gdt.c for the ones it may use).
 */
#define GDT_IOMAP_PORTS 0x400

#ifndef __ASSEMBLER__
/* Load the final GDT, reload every segment register, load the TSS with
 * its I/O permission bitmap. */
void gdt_init(void);
#endif

#endif
