/*
 * pvpanic.c - the pvpanic device (see pvpanic.h).
 *
 * Register: one byte at PVPANIC_PORT. Read: the events the device
 * supports. Write: the event that happened. A VMM that sees
 * PVPANIC_PANICKED reports the guest as crashed, as for a triple fault.
 */
#include "pvpanic.h"
#include "io.h"

#include <stdint.h>

/* What a read from an unclaimed port returns on a PC. */
#define PVPANIC_NO_DEVICE 0xff

bool
pvpanic_report_panic(void)
{
	uint8_t events = io_inb(PVPANIC_PORT);

	if (events == PVPANIC_NO_DEVICE || !(events & PVPANIC_PANICKED))
		return false;
	io_outb(PVPANIC_PORT, PVPANIC_PANICKED);
	return true;
}
