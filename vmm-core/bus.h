/*
 * bus: routes guest port I/O and MMIO accesses to devices.
 *
 * Every device embeds a struct bus_device and registers one or more ranges;
 * one handler signature serves both address spaces.  Ranges never overlap
 * (registration fails instead).  Registration happens before the vCPUs start,
 * so lookups need no lock; each device locks its own state.
 */
#ifndef VMGATE_BUS_H
#define VMGATE_BUS_H

#include <stdbool.h>
#include <stdint.h>

enum bus_space { BUS_PIO, BUS_MMIO };

struct bus_device;

/*
 * ADDR is relative to the start of the registered range; DATA holds LEN
 * bytes (1, 2, 4 or 8), little-endian.  For reads the handler fills DATA.
 */
typedef void (*bus_handler_fn)(struct bus_device *dev, uint64_t addr,
			       uint8_t *data, uint32_t len, bool is_write);

struct bus_device {
	const char *name;
	bus_handler_fn handler;
};

#define BUS_MAX_RANGES 32

struct bus {
	int n;
	struct bus_range {
		enum bus_space space;
		uint64_t base, len;
		struct bus_device *dev;
	} r[BUS_MAX_RANGES];
};

/* Returns 0, or -1 if the range overlaps another or the table is full. */
int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
		 uint64_t len, struct bus_device *dev);

/*
 * Dispatches one access.  Returns false when no device claims ADDR; reads
 * of unclaimed addresses then return all ones, as on a PC.
 */
bool bus_access(struct bus *bus, enum bus_space space, uint64_t addr,
		uint8_t *data, uint32_t len, bool is_write);

#endif
