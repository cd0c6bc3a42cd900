/*
 * i8042: the PC keyboard controller.  It claims ports 0x60 (data) and 0x64
 * (status/command) and nothing between: 0x61 (the PC speaker and NMI
 * status) is another device's, as on a PC.  For now it answers
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
	void (*reset_line)(void *opaque); /* the guest pulsed CPU reset */
	void *opaque;
	uint8_t cmd;	   /* command waiting for its data byte, or 0 */
	uint8_t config;	   /* controller configuration byte */
	uint8_t outbuf[8]; /* bytes for the guest to read at 0x60 */
	int out_head, out_len;
};

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64

/* A controller in its power-on state, on no bus yet. */
void i8042_init(struct i8042 *k, void (*reset_line)(void *), void *opaque);

/* Registers I8042_DATA_PORT and I8042_CMD_PORT, one byte each; returns 0
 * or -1 as bus_register(). */
int i8042_register(struct i8042 *k, struct bus *bus);

#endif
