/* demo_image: the built-in demo guest, linked into vmgate-vmm. */
#ifndef VMGATE_DEMO_IMAGE_H
#define VMGATE_DEMO_IMAGE_H

#include <stddef.h>
#include <stdint.h>

const uint8_t *demo_image(size_t *len);

#endif
