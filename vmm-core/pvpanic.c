#include "pvpanic.h"

#include <string.h>

static void
pvpanic_io(struct bus_device *dev, uint64_t base, uint64_t addr, uint8_t *data,
	   uint32_t len, bool is_write)
{
	struct pvpanic *p = (struct pvpanic *)dev;

	(void)base;
	if (!is_write) {
		memset(data, 0, len);
		if (addr == 0)
			data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		return;
	}
	/* A wider write reaches here with the first byte at the port. */
	if (addr != 0)
		return;
	if (data[0] & PVPANIC_PANICKED)
		p->event(p->opaque, PVPANIC_EVENT_PANICKED);
	else if (data[0] & PVPANIC_CRASH_LOADED)
		p->event(p->opaque, PVPANIC_EVENT_CRASH_LOADED);
}

/* No state of its own: nothing to reset or free. */
static const struct bus_device_ops pvpanic_dev_ops = {.access = pvpanic_io};

void
pvpanic_init(struct pvpanic *p,
	     void (*event)(void *opaque, enum pvpanic_event ev), void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->dev.name = "pvpanic";
	p->dev.ops = &pvpanic_dev_ops;
	p->event = event;
	p->opaque = opaque;
}
