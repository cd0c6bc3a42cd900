/*
 * fb.h - the linear framebuffer, ring-0 part: find it, check it, map it.
 *
 * The display is a Bochs VBE "DISPI" device: 16-bit index register at
 * 0x1ce, data at 0x1cf, and a linear framebuffer at the fixed
 * guest-physical address Bochs (and QEMU's isa-vga) use. vmgate-vmm
 * presents the mode it was given (ENABLE reads 0x41, writes ignored);
 * QEMU's isa-vga starts disabled, so a disabled device is set to
 * 1024x768x32 first. Ring 3 draws on it (fbcon.c).
 */
#ifndef GUEST_FB_H
#define GUEST_FB_H

#define FB_PHYS 0xe0000000ul /* VBE_DISPI_LFB_PHYSICAL_ADDRESS */
#define FB_MAX_WIDTH 4096u
#define FB_MAX_HEIGHT 2160u
/* The most ring 0 maps: a 4096x2160 screen, 32 bpp. */
#define FB_MAX_BYTES (FB_MAX_WIDTH * FB_MAX_HEIGHT * 4u)

/* Probe the DISPI registers; if they describe a usable 32 bpp mode, map
 * the framebuffer for ring 3 and fill in shared.fb. Silent either way:
 * the serial console looks the same with or without a display. */
void fb_init(void);

#endif
