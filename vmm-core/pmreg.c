#include "pmreg.h"

#include <string.h>

#define SLP_EN 0x20
#define SLP_TYP(v) (((v) >> 2) & 7)

static void
pmreg_io(struct bus_device *dev, uint64_t addr, uint8_t *data, uint32_t len,
	 bool is_write)
{
	struct pmreg *p = (struct pmreg *)dev;

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

void
pmreg_init(struct pmreg *p, void (*event)(void *, enum pmreg_event),
	   void *opaque)
{
	memset(p, 0, sizeof(*p));
	p->dev.name = "pmreg";
	p->dev.handler = pmreg_io;
	p->event = event;
	p->opaque = opaque;
}
