#include "bus.h"

#include <string.h>

void
bus_init(struct bus *bus, bus_irq_fn irq, void *opaque)
{
	memset(bus, 0, sizeof(*bus));
	bus->tail = &bus->devices;
	bus->irq = irq;
	bus->irq_opaque = opaque;
}

int
bus_register(struct bus *bus, enum bus_space space, uint64_t base, uint64_t len,
	     struct bus_device *dev)
{
	if (bus->n == BUS_MAX_RANGES || len == 0 || base + len < base ||
	    (dev->bus != NULL && dev->bus != bus))
		return -1;
	for (int i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->r[i];
		if (r->space == space && base < r->base + r->len &&
		    r->base < base + len)
			return -1;
	}
	bus->r[bus->n++] = (struct bus_range){space, base, len, dev};
	if (dev->bus == NULL) {
		dev->bus = bus;
		dev->next = NULL;
		*bus->tail = dev;
		bus->tail = &dev->next;
	}
	return 0;
}

bool
bus_access(struct bus *bus, enum bus_space space, uint64_t addr, uint8_t *data,
	   uint32_t len, bool is_write)
{
	for (int i = 0; i < bus->n; i++) {
		struct bus_range *r = &bus->r[i];
		if (r->space == space && addr >= r->base &&
		    addr - r->base < r->len) {
			r->dev->ops->access(r->dev, r->base, addr - r->base,
					    data, len, is_write);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}

void
bus_irq(struct bus_device *dev, int irq, int level)
{
	struct bus *bus = dev->bus;

	if (bus != NULL && bus->irq != NULL)
		bus->irq(bus->irq_opaque, irq, level);
}

void
bus_reset(struct bus *bus)
{
	for (struct bus_device *d = bus->devices; d != NULL; d = d->next)
		if (d->ops->reset != NULL)
			d->ops->reset(d);
}

/* Newest first: a device may use one registered before it. */
static void
destroy_from(struct bus_device *d)
{
	if (d == NULL)
		return;
	destroy_from(d->next);
	d->bus = NULL;
	if (d->ops->destroy != NULL)
		d->ops->destroy(d);
}

void
bus_destroy(struct bus *bus)
{
	struct bus_device *first = bus->devices;

	bus->devices = NULL;
	bus->tail = &bus->devices;
	bus->n = 0;
	destroy_from(first);
}
