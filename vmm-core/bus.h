/*
 * bus: the VM's devices and the routes of guest port I/O and MMIO to them.
 *
 * A device embeds a struct bus_device (first member, so the bus hands back
 * a pointer the device can cast) whose ops say how it is accessed, reset
 * and destroyed.  The owner registers each address range with one call; the
 * first registration also puts the device on the bus's list, which the VM
 * walks to reset every device on a guest reboot and to destroy them at
 * teardown.  A device raises or lowers an interrupt line through the bus
 * (bus_irq), which hands it to the owner's callback (the KVM irqchip), so
 * devices know nothing of KVM.
 *
 * Ranges never overlap (registration fails instead).  Registration happens
 * before the vCPUs start, so lookups need no lock; each device locks its
 * own state.
 */
#ifndef VMGATE_BUS_H
#define VMGATE_BUS_H

#include <stdbool.h>
#include <stdint.h>

enum bus_space { BUS_PIO, BUS_MMIO };

struct bus;
struct bus_device;

struct bus_device_ops {
	/*
	 * One access at BASE + OFFSET, where BASE is the start of the range
	 * the device registered (a device with several ranges tells them
	 * apart by BASE).  DATA holds LEN bytes (1, 2, 4 or 8),
	 * little-endian; for reads the handler fills all of them.
	 */
	void (*access)(struct bus_device *dev, uint64_t base, uint64_t offset,
		       uint8_t *data, uint32_t len, bool is_write);
	/* Back to power-on state, for a guest reboot; vCPUs are stopped.
	 * May be NULL. */
	void (*reset)(struct bus_device *dev);
	/* Frees what the device holds; called once, newest device first.
	 * May be NULL. */
	void (*destroy)(struct bus_device *dev);
};

struct bus_device {
	const char *name;
	const struct bus_device_ops *ops;
	struct bus *bus;	 /* set by the first bus_register() */
	struct bus_device *next; /* the bus's list, in registration order */
};

/* The owner's interrupt line: LEVEL 1 raises IRQ, 0 lowers it. */
typedef void (*bus_irq_fn)(void *opaque, int irq, int level);

#define BUS_MAX_RANGES 32

struct bus {
	int n;
	struct bus_range {
		enum bus_space space;
		uint64_t base, len;
		struct bus_device *dev;
	} r[BUS_MAX_RANGES];
	struct bus_device *devices, **tail;
	bus_irq_fn irq;
	void *irq_opaque;
};

/* An empty bus whose devices' interrupts go to IRQ (may be NULL). */
void bus_init(struct bus *bus, bus_irq_fn irq, void *opaque);

/*
 * Routes [BASE, BASE+LEN) of SPACE to DEV.  Returns 0, or -1 if the range
 * is empty, wraps, overlaps another or the table is full; DEV must not be
 * on another bus.
 */
int bus_register(struct bus *bus, enum bus_space space, uint64_t base,
		 uint64_t len, struct bus_device *dev);

/*
 * Dispatches one access.  Returns false when no device claims ADDR; reads
 * of unclaimed addresses then return all ones, as on a PC.
 */
bool bus_access(struct bus *bus, enum bus_space space, uint64_t addr,
		uint8_t *data, uint32_t len, bool is_write);

/* DEV drives interrupt line IRQ to LEVEL (no-op before registration). */
void bus_irq(struct bus_device *dev, int irq, int level);

/* Resets every device, in registration order. */
void bus_reset(struct bus *bus);

/* Destroys every device, newest first, and empties the bus. */
void bus_destroy(struct bus *bus);

#endif
