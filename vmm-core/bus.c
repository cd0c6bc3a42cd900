#include "bus.h"

#include <string.h>

int
bus_register(struct bus *bus, enum bus_space space, uint64_t base,
	     uint64_t len, struct bus_device *dev)
{
	if (bus->n == BUS_MAX_RANGES || len == 0 || base + len < base)
		return -1;
	for (int i = 0; i < bus->n; i++) {
		const struct bus_range *r = &bus->r[i];
		if (r->space == space && base < r->base + r->len &&
		    r->base < base + len)
			return -1;
	}
	bus->r[bus->n++] = (struct bus_range){ space, base, len, dev };
	return 0;
}

bool
bus_access(struct bus *bus, enum bus_space space, uint64_t addr,
	   uint8_t *data, uint32_t len, bool is_write)
{
	for (int i = 0; i < bus->n; i++) {
		struct bus_range *r = &bus->r[i];
		if (r->space == space && addr >= r->base &&
		    addr - r->base < r->len) {
			r->dev->handler(r->dev, addr - r->base, data, len,
					is_write);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
