/*
 * pvpanic: QEMU's paravirtual panic device, one I/O port (PVPANIC_PORT),
 * announced to ACPI guests as QEMU0001 in the DSDT (acpi.h); Linux's
 * pvpanic driver and the demo guest's fatal-exception handler write it.
 *
 *   read   the events this device supports: PANICKED | CRASH_LOADED
 *   write  bit 0 PANICKED: the guest has panicked and stops itself; the
 *          owner makes the VM crashed (event PVPANIC_EVENT_PANICKED).
 *          bit 1 CRASH_LOADED: the guest panicked but a crash kernel
 *          (kdump) takes over; the guest goes on, the owner only notes it.
 *          Both bits: PANICKED wins.  Other bits are ignored.
 *
 * The event callback runs on the vCPU thread that made the write, with no
 * lock of this device held (the device has no state to guard).
 */
#ifndef VMGATE_PVPANIC_H
#define VMGATE_PVPANIC_H

#include "bus.h"

#include <stdint.h>

#define PVPANIC_PORT 0x505
#define PVPANIC_PANICKED 0x01
#define PVPANIC_CRASH_LOADED 0x02

enum pvpanic_event { PVPANIC_EVENT_PANICKED, PVPANIC_EVENT_CRASH_LOADED };

struct pvpanic {
	struct bus_device dev; /* first */
	void (*event)(void *opaque, enum pvpanic_event ev);
	void *opaque;
};

void pvpanic_init(struct pvpanic *p,
		  void (*event)(void *opaque, enum pvpanic_event ev),
		  void *opaque);

#endif
