/*
 * pvpanic.h - tell the machine we died: QEMU's ISA pvpanic device, which
 * vmgate-vmm provides too. Ring 0.
 */
#ifndef GUEST_PVPANIC_H
#define GUEST_PVPANIC_H

#include <stdbool.h>

#define PVPANIC_PORT 0x505
#define PVPANIC_PANICKED 0x01	  /* event bit: guest panicked */
#define PVPANIC_CRASH_LOADED 0x02 /* event bit: crash kernel loaded */

/*
 * Writes PVPANIC_PANICKED if the device is there, and returns whether it
 * was. "There" means a read of the port returned the supported events with
 * PVPANIC_PANICKED in them and was not 0xff, which is what a port with no
 * device behind it reads as (QEMU microvm, older monitors), so such a
 * machine gets no write at all.
 */
bool pvpanic_report_panic(void);

#endif
