/*
 * dispi: the display's geometry for the guest, as the Bochs VBE "DISPI"
 * registers that QEMU's std VGA also has: a 16-bit index port DISPI_INDEX_PORT
 * and a 16-bit data port DISPI_DATA_PORT.  The monitor's framebuffer has a
 * fixed mode, so the registers are read-only here: a guest reads the ID,
 * the resolution, the depth and the stride, and finds the linear
 * framebuffer at DISPI_LFB_ADDR (Bochs' fixed LFB address).  Writes are
 * ignored; an index with no register reads 0.
 *
 *   index 0 ID            DISPI_ID (0xb0c5)
 *         1 XRES          width in pixels
 *         2 YRES          height in pixels
 *         3 BPP           32 (XRGB: bytes B, G, R, unused)
 *         4 ENABLE        0x41: enabled, linear framebuffer
 *         6 VIRT_WIDTH    pixels per line (stride / 4)
 *         7 VIRT_HEIGHT   height
 *
 * With no display the monitor registers no DISPI: the ports read 0xffff,
 * which is what a guest takes for "no display".
 */
#ifndef VMGATE_DISPI_H
#define VMGATE_DISPI_H

#include "bus.h"

#include <stdint.h>

#define DISPI_INDEX_PORT 0x1ce
#define DISPI_DATA_PORT 0x1cf
#define DISPI_ID 0xb0c5
#define DISPI_LFB_ADDR 0xe0000000ULL

enum {
	DISPI_REG_ID = 0,
	DISPI_REG_XRES = 1,
	DISPI_REG_YRES = 2,
	DISPI_REG_BPP = 3,
	DISPI_REG_ENABLE = 4,
	DISPI_REG_VIRT_WIDTH = 6,
	DISPI_REG_VIRT_HEIGHT = 7,
};

#define DISPI_ENABLED 0x01
#define DISPI_LFB_ENABLED 0x40

struct dispi {
	struct bus_device dev; /* first */
	uint16_t width, height, stride_px;
	_Atomic uint16_t index; /* last index written (vCPU threads) */
};

/* A DISPI describing a WIDTH x HEIGHT framebuffer of STRIDE_PX pixels per
 * line; register it at DISPI_INDEX_PORT, 2 ports. */
void dispi_init(struct dispi *d, uint16_t width, uint16_t height,
		uint16_t stride_px);

#endif
