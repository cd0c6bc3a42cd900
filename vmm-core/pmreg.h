/*
 * pmreg: the guest's power controls, one I/O port (0x600) in the style of
 * hardware-reduced ACPI: writes with SLP_EN (bit 5) set and SLP_TYP (bits
 * 2-4) = 5 request power-off (S5); a write of 1 (the FADT reset value)
 * requests a reset.  The demo guest uses it; Linux would with ACPI tables.
 */
#ifndef VMGATE_PMREG_H
#define VMGATE_PMREG_H

#include "bus.h"

#define PMREG_PORT 0x600
#define PMREG_RESET_VALUE 0x01
#define PMREG_S5_VALUE 0x34

enum pmreg_event { PMREG_POWEROFF, PMREG_RESET };

struct pmreg {
	struct bus_device dev; /* first */
	void (*event)(void *opaque, enum pmreg_event ev);
	void *opaque;
};

void pmreg_init(struct pmreg *p,
		void (*event)(void *opaque, enum pmreg_event ev), void *opaque);

#endif
