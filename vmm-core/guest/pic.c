/*
 * pic.c - the 8259A programmable interrupt controllers.
 *
 * The guest takes its two interrupt sources (PIT, COM1) through the PICs
 * the way a PC boots: simple, and it exercises the VMM's PIC emulation
 * (KVM's in-kernel one, or QEMU's). No I/O delays between the init words:
 * emulated PICs need none, and every extra port access is a VM exit.
 */
#include "pic.h"
#include "idt.h"
#include "io.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1

#define PIC_ICW1_INIT_ICW4 0x11 /* init, edge triggered, cascade, ICW4 */
#define PIC_ICW4_8086 0x01
#define PIC_CASCADE_IRQ 2
#define PIC_OCW3_READ_ISR 0x0b
#define PIC_EOI 0x20

void
pic_init(void)
{
	io_outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
	io_outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
	io_outb(PIC1_DATA, IDT_IRQ_BASE); /* ICW2: vector base */
	io_outb(PIC2_DATA, IDT_IRQ_BASE + 8);
	io_outb(PIC1_DATA, 1 << PIC_CASCADE_IRQ); /* ICW3: slave on IRQ2 */
	io_outb(PIC2_DATA, PIC_CASCADE_IRQ);	  /* ICW3: slave identity */
	io_outb(PIC1_DATA, PIC_ICW4_8086);
	io_outb(PIC2_DATA, PIC_ICW4_8086);
	io_outb(PIC1_DATA, 0xff);
	io_outb(PIC2_DATA, 0xff);
}

void
pic_unmask(unsigned irq)
{
	if (irq >= 8) {
		io_outb(PIC2_DATA, io_inb(PIC2_DATA) & ~(1u << (irq - 8)));
		irq = PIC_CASCADE_IRQ; /* the slave only reaches the CPU
					  through the master's IRQ2 */
	}
	io_outb(PIC1_DATA, io_inb(PIC1_DATA) & ~(1u << irq));
}

/*
 * A PIC reports IRQ 7 (or 15 on the slave) when a request went away
 * between INTA cycles; the in-service bit then stays clear. EOI-ing such an
 * interrupt would end a real one that is in service.
 */
bool
pic_spurious(unsigned irq)
{
	if (irq == 7) {
		io_outb(PIC1_CMD, PIC_OCW3_READ_ISR);
		return !(io_inb(PIC1_CMD) & 0x80);
	}
	if (irq == 15) {
		io_outb(PIC2_CMD, PIC_OCW3_READ_ISR);
		if (io_inb(PIC2_CMD) & 0x80)
			return false;
		/* The master did see a real IRQ2 from the slave. */
		io_outb(PIC1_CMD, PIC_EOI);
		return true;
	}
	return false;
}

void
pic_eoi(unsigned irq)
{
	if (irq >= 8)
		io_outb(PIC2_CMD, PIC_EOI);
	io_outb(PIC1_CMD, PIC_EOI);
}
