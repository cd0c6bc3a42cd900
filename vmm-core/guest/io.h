/*
 * io.h - x86 port I/O.
 *
 * Ring 0 may use any port. Ring 3 runs with RFLAGS.IOPL=0, so in ring 3
 * these fault (#GP) unless the TSS I/O permission bitmap grants the port:
 * only the ports listed in gdt.c's gdt_user_ports[] are granted.
 */
#ifndef GUEST_IO_H
#define GUEST_IO_H

#include <stdint.h>

static inline uint8_t
io_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %w1, %b0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void
io_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %b0, %w1" : : "a"(v), "Nd"(port));
}

static inline uint16_t
io_inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %w1, %w0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void
io_outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %w0, %w1" : : "a"(v), "Nd"(port));
}

/*
 * Writes N bytes from P to PORT with one `rep outsb`: a VMM sees the whole
 * string in one exit (KVM passes it up as one KVM_EXIT_IO with a count)
 * instead of one exit per byte.
 */
static inline void
io_outsb(uint16_t port, const void *p, unsigned long n)
{
	__asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(port) : "memory");
}

/* Spin-wait hint; also keeps a polling loop from starving a hyperthread. */
static inline void
io_pause(void)
{
	__asm__ volatile("pause");
}

/* Compiler barrier: orders our loads/stores against an interrupt handler on
 * the same CPU (x86 keeps program order for plain stores and loads). */
static inline void
io_barrier(void)
{
	__asm__ volatile("" : : : "memory");
}

#endif
