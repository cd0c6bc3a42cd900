#include "demo_image.h"

/* VMGATE_DEMO_ELF is the path of the guest built by vmm-core/guest. */
#ifndef VMGATE_DEMO_ELF
#error "VMGATE_DEMO_ELF must name the demo guest image"
#endif
__asm__(".section .rodata\n"
	".balign 16\n"
	"demo_image_start:\n"
	".incbin \"" VMGATE_DEMO_ELF "\"\n"
	"demo_image_end:\n"
	".previous\n");

extern const uint8_t demo_image_start[], demo_image_end[];

const uint8_t *
demo_image(size_t *len)
{
	*len = (size_t)(demo_image_end - demo_image_start);
	return demo_image_start;
}
