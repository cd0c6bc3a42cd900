#include "pmreg.h"

#include <string.h>

#define SLP_EN 0x20
#define SLP_TYP(v) (((v) >> 2) & 7)

static void
pmreg_io(struct bus_device *dev, uint64_t base, uint64_t addr, uint8_t *data,
	 uint32_t len, bool is_write)
{
	struct pmreg *p = (struct pmreg *)dev;

	(void)base;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (addr != 0)
		return;
	if ((data[0] & SLP_EN) && SLP_TYP(data[0]) == 5)
		p->event(p->opaque, PMREG_POWEROFF);
	else if (data[0] == PMREG_RESET_VALUE)
		p->event(p->opaque, PMREG_RESET);
}

/* No state of its own: nothing to reset or free. */
static const struct bus_device_ops pmreg_dev_ops = {.access = pmreg_io};

void
pmreg_init(struct pmreg *p, void (*event)(void *, enum pmreg_event),
	   void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->dev.name = "pmreg";
	p->dev.ops = &pmreg_dev_ops;
	p->event = event;
	p->opaque = opaque;
}
