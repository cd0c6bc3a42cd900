/*
 * i8042: the PC keyboard controller at ports 0x60/0x64.  For now it answers
 * the controller commands Linux issues while probing (self test, config
 * byte, port tests, output port) and implements the CPU reset line
 * (command 0xfe), which is how Linux and the demo guest reboot.  Keyboard and
 * mouse devices come later.
 */
#ifndef VMGATE_I8042_H
#define VMGATE_I8042_H

#include "bus.h"

#include <pthread.h>
#include <stdint.h>

struct i8042 {
	struct bus_device dev; /* first */
	pthread_mutex_t lock;
	void (*reset)(void *opaque); /* the guest pulsed the reset line */
	void *opaque;
	uint8_t cmd;	    /* command waiting for its data byte, or 0 */
	uint8_t config;	    /* controller configuration byte */
	uint8_t outbuf[8];  /* bytes for the guest to read at 0x60 */
	int out_head, out_len;
};

void i8042_init(struct i8042 *k, void (*reset)(void *), void *opaque);
void i8042_destroy(struct i8042 *k);

#endif
