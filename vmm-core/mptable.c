#include "mptable.h"
#include "wire.h"

#include <string.h>

#define FPS_LEN 16
#define HDR_LEN 44
#define CPU_LEN 20
#define ENTRY_LEN 8
#define ISA_IRQS 16

size_t
mptable_size(int ncpus)
{
	/* bus, ioapic, ISA irqs, two local interrupt entries */
	return FPS_LEN + HDR_LEN + (size_t)ncpus * CPU_LEN +
	       (2 + ISA_IRQS + 2) * ENTRY_LEN;
}

int
mptable_write(uint8_t *buf, uint64_t base, int ncpus)
{
	if (ncpus < 1 || ncpus > MPTABLE_MAX_CPUS)
		return -1;
	size_t size = mptable_size(ncpus);
	memset(buf, 0, size);

	uint8_t *fps = buf, *hdr = buf + FPS_LEN, *e = hdr + HDR_LEN;
	uint8_t ioapic_id = (uint8_t)ncpus; /* after the LAPIC ids */
	uint16_t count = 0;

	for (int i = 0; i < ncpus; i++, e += CPU_LEN, count++) {
		e[0] = 0;			   /* processor */
		e[1] = (uint8_t)i;		   /* LAPIC id */
		e[2] = 0x14;			   /* LAPIC version */
		e[3] = 0x01 | (i == 0 ? 0x02 : 0); /* enabled, BSP */
		put32(e + 4, 0x600);		   /* family 6 */
		put32(e + 8, 0x201);		   /* FPU, APIC */
	}
	e[0] = 1; /* bus 0: ISA */
	memcpy(e + 2, "ISA   ", 6);
	e += ENTRY_LEN, count++;
	e[0] = 2; /* IOAPIC */
	e[1] = ioapic_id;
	e[2] = 0x11;
	e[3] = 0x01; /* enabled */
	put32(e + 4, MPTABLE_IOAPIC_ADDR);
	e += ENTRY_LEN, count++;
	for (int irq = 0; irq < ISA_IRQS; irq++, e += ENTRY_LEN, count++) {
		e[0] = 3; /* I/O interrupt: INT, bus default polarity */
		e[4] = 0; /* source bus */
		e[5] = (uint8_t)irq;
		e[6] = ioapic_id;
		e[7] = (uint8_t)irq;
	}
	for (int lint = 0; lint < 2; lint++, e += ENTRY_LEN, count++) {
		e[0] = 4;		  /* local interrupt */
		e[1] = lint == 0 ? 3 : 1; /* ExtINT, NMI */
		e[6] = 0xff;		  /* all LAPICs */
		e[7] = (uint8_t)lint;
	}

	memcpy(hdr, "PCMP", 4);
	put16(hdr + 4, (uint16_t)(size - FPS_LEN));
	hdr[6] = 4; /* spec 1.4 */
	memcpy(hdr + 8, "VMGATE  ", 8);
	memcpy(hdr + 16, "vmgate-vmm  ", 12);
	put16(hdr + 34, count);
	put32(hdr + 36, MPTABLE_LAPIC_ADDR);
	hdr[7] = checksum8(hdr, size - FPS_LEN);

	memcpy(fps, "_MP_", 4);
	put32(fps + 4, (uint32_t)(base + FPS_LEN));
	fps[8] = 1; /* length in 16-byte units */
	fps[9] = 4;
	fps[10] = checksum8(fps, FPS_LEN);
	return 0;
}
