/*
 * fb.c - probe the Bochs DISPI display and map its framebuffer for ring 3.
 *
 * Nothing read here is trusted beyond the checks below: the geometry must
 * be 32 bpp, at most FB_MAX_WIDTH x FB_MAX_HEIGHT, with a stride (in
 * pixels) no smaller than the width and a size within FB_MAX_BYTES, or
 * the guest runs without a display. On a machine without the device the
 * ports read 0xffff and nothing is written to them; on one that presents
 * an enabled mode (vmgate-vmm) nothing is written either.
 */
#include "fb.h"
#include "io.h"
#include "paging.h"
#include "shared.h"

#include <stdint.h>

#define FB_DISPI_INDEX 0x1ce
#define FB_DISPI_DATA 0x1cf
#define FB_DISPI_ID5 0xb0c5

enum fb_dispi_reg {
	FB_DISPI_ID = 0,
	FB_DISPI_XRES = 1,
	FB_DISPI_YRES = 2,
	FB_DISPI_BPP = 3,
	FB_DISPI_ENABLE = 4,
	FB_DISPI_VIRT_WIDTH = 6,
};

#define FB_DISPI_ENABLED 0x01
#define FB_DISPI_LFB_ENABLED 0x40
#define FB_DISPI_ON (FB_DISPI_ENABLED | FB_DISPI_LFB_ENABLED)

/*
 * VGA attribute controller: reading 0x3da resets its index/data flip-flop;
 * index 0x20 sets PAS (palette address source), without which QEMU's VGA
 * shows a blank screen whatever the VBE mode (Linux's bochs driver
 * unblanks the same way).
 */
#define FB_VGA_INPUT_STATUS1 0x3da
#define FB_VGA_ATTR 0x3c0
#define FB_VGA_ATTR_PAS 0x20

/* What a disabled display (QEMU's isa-vga after reset) is set to, unless
 * the command line says display=WxH (bootinfo.c). */
#define FB_DEFAULT_WIDTH 1024
#define FB_DEFAULT_HEIGHT 768

static uint16_t
fb_dispi_read(enum fb_dispi_reg reg)
{
	io_outw(FB_DISPI_INDEX, reg);
	return io_inw(FB_DISPI_DATA);
}

static void
fb_dispi_write(enum fb_dispi_reg reg, uint16_t v)
{
	io_outw(FB_DISPI_INDEX, reg);
	io_outw(FB_DISPI_DATA, v);
}

void
fb_init(void)
{
	struct shared_fb *fb = &shared.fb;
	uint32_t w, h, stride;

	fb->status = SHARED_FB_NONE;
	fb->id = fb_dispi_read(FB_DISPI_ID);
	if (fb->id != FB_DISPI_ID5)
		return;
	if ((fb_dispi_read(FB_DISPI_ENABLE) & FB_DISPI_ON) != FB_DISPI_ON) {
		fb_dispi_write(FB_DISPI_ENABLE, 0);
		fb_dispi_write(FB_DISPI_XRES, fb->set_width ? fb->set_width
							    : FB_DEFAULT_WIDTH);
		fb_dispi_write(FB_DISPI_YRES, fb->set_height
						  ? fb->set_height
						  : FB_DEFAULT_HEIGHT);
		fb_dispi_write(FB_DISPI_BPP, 32);
		fb_dispi_write(FB_DISPI_ENABLE, FB_DISPI_ON);
		(void)io_inb(FB_VGA_INPUT_STATUS1);
		io_outb(FB_VGA_ATTR, FB_VGA_ATTR_PAS);
	}
	fb->bpp = fb_dispi_read(FB_DISPI_BPP);
	w = fb->width = fb_dispi_read(FB_DISPI_XRES);
	h = fb->height = fb_dispi_read(FB_DISPI_YRES);
	stride = fb->stride = fb_dispi_read(FB_DISPI_VIRT_WIDTH);
	if (fb->bpp != 32 ||
	    (fb_dispi_read(FB_DISPI_ENABLE) & FB_DISPI_ON) != FB_DISPI_ON) {
		fb->status = SHARED_FB_BAD_MODE;
		return;
	}
	/* stride <= FB_MAX_WIDTH keeps stride * h * 4 within FB_MAX_BYTES. */
	if (w == 0 || h == 0 || w > FB_MAX_WIDTH || h > FB_MAX_HEIGHT ||
	    stride < w || stride > FB_MAX_WIDTH) {
		fb->status = SHARED_FB_BAD_SIZE;
		return;
	}
	paging_map_user(FB_PHYS, (uint64_t)stride * h * 4);
	fb->base = (uint32_t *)FB_PHYS;
	fb->status = SHARED_FB_OK;
}
