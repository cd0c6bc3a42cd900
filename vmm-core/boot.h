/*
 * boot: lays out guest memory for a kernel found by the loader and says how
 * the boot vCPU must start.
 *
 * Guest-physical layout below 1 MiB (all of it RAM, part marked reserved):
 *   0x0500  GDT                 0x6000  PVH hvm_start_info, memmap, modules
 *   0x7000  Linux zero page     0x9000  page tables (4 GiB identity, 2 MiB)
 *   0x20000 command line        0x9fc00-0xfffff reserved: ACPI tables
 *                               from 0xe0000 (acpi.h), MP table 0xf0000
 * The kernel sits at 1 MiB or its ELF addresses; an initrd goes at the top
 * of low RAM (below the kernel's initrd_addr_max).
 */
#ifndef VMGATE_BOOT_H
#define VMGATE_BOOT_H

#include "guestmem.h"
#include "loader.h"

#include <stddef.h>
#include <stdint.h>

#define BOOT_GDT 0x500ULL
#define BOOT_START_INFO 0x6000ULL
#define BOOT_ZERO_PAGE 0x7000ULL
#define BOOT_PML4 0x9000ULL
#define BOOT_CMDLINE 0x20000ULL
#define BOOT_CMDLINE_MAX 4095

/* GDT selectors, the ones Linux's boot protocol names. */
#define BOOT_SEL_CODE32 0x08
#define BOOT_SEL_CODE64 0x10
#define BOOT_SEL_DATA 0x18
#define BOOT_SEL_TSS 0x20

enum boot_cpu_mode {
	BOOT_MODE_PROT32, /* PVH: flat 32-bit, paging off, EBX = start_info */
	BOOT_MODE_LONG64, /* Linux 64-bit: paging on, RSI = zero page */
};

struct boot_entry {
	enum boot_cpu_mode mode;
	uint64_t rip;
	uint64_t rbx, rsi;
	uint64_t cr3;
};

/* The linear framebuffer, for Linux's screen_info (bzImage only). */
struct boot_fb {
	uint64_t base; /* guest-physical */
	uint32_t width, height, stride;
	uint64_t size; /* bytes */
};

struct boot_params_in {
	const uint8_t *kernel;
	size_t kernel_len;
	const struct loader_image *image;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline; /* may be NULL */
	int ncpus;
	const struct boot_fb *fb; /* NULL: no display */
};

#define BOOT_SCREEN_INFO_LEN 0x40

/*
 * Fills Linux's struct screen_info (the first BOOT_SCREEN_INFO_LEN bytes of
 * the zero page) for FB: a VESA linear framebuffer (VIDEO_TYPE_VLFB), 32
 * bpp XRGB.  Debian 12's kernel turns that into a "vesa-framebuffer"
 * device, which vesafb drives (it is built without SYSFB_SIMPLEFB, which
 * would make it simplefb's, and efifb needs VIDEO_TYPE_EFI, which is for
 * EFI firmware: there is none here).
 */
void boot_screen_info(uint8_t *si, const struct boot_fb *fb);

/*
 * Copies the kernel, initrd and boot structures into GM and fills OUT.
 * Returns 0, or -1 with a message in ERR.
 */
int boot_prepare(struct guestmem *gm, const struct boot_params_in *in,
		 struct boot_entry *out, char *err, size_t errlen);

#endif
