#include "dispi.h"

#include <string.h>

static uint16_t
reg_read(const struct dispi *d, uint16_t index)
{
	switch (index) {
	case DISPI_REG_ID:
		return DISPI_ID;
	case DISPI_REG_XRES:
		return d->width;
	case DISPI_REG_YRES:
	case DISPI_REG_VIRT_HEIGHT:
		return d->height;
	case DISPI_REG_BPP:
		return 32;
	case DISPI_REG_ENABLE:
		return DISPI_ENABLED | DISPI_LFB_ENABLED;
	case DISPI_REG_VIRT_WIDTH:
		return d->stride_px;
	default:
		return 0;
	}
}

/*
 * As on Bochs and QEMU, the two registers are 16 bits wide and addressed by
 * the port an access starts at (0x1ce: index, 0x1cf: data), whatever its
 * width: the bytes past the first two read as zero and are not written.
 */
static void
dispi_io(struct bus_device *dev, uint64_t base, uint64_t offset, uint8_t *data,
	 uint32_t len, bool is_write)
{
	struct dispi *d = (struct dispi *)dev;
	uint16_t v;

	(void)base;
	if (is_write) {
		v = data[0];
		if (len > 1)
			v |= (uint16_t)(data[1] << 8);
		if (offset == 0)
			d->index = v;
		return; /* data writes: the mode is fixed */
	}
	v = offset == 0 ? d->index : reg_read(d, d->index);
	memset(data, 0, len);
	data[0] = (uint8_t)v;
	if (len > 1)
		data[1] = (uint8_t)(v >> 8);
}

static const struct bus_device_ops dispi_ops = {.access = dispi_io};

void
dispi_init(struct dispi *d, uint16_t width, uint16_t height, uint16_t stride_px)
{
	memset(d, 0, sizeof(*d));
	d->dev.name = "dispi";
	d->dev.ops = &dispi_ops;
	d->width = width;
	d->height = height;
	d->stride_px = stride_px;
}
