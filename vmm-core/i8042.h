/*
 * i8042: the PC keyboard controller, with a PS/2 keyboard on its first port
 * (ps2kbd.h, IRQ 1) and a PS/2 wheel mouse on its aux port (ps2mouse.h,
 * IRQ 12).  It claims ports 0x60 (data) and 0x64 (status/command) and
 * nothing between: 0x61 (the PC speaker and NMI status) is another
 * device's, as on a PC.
 *
 * The guest sees one output buffer at 0x60.  When it is empty the
 * controller fills it from, in order: its own answers (self test, config
 * byte, port tests, the 0xd2/0xd3 echoes), then the keyboard's and the
 * mouse's queues, taking turns; a port disabled in the configuration byte
 * (bit 4 keyboard, bit 5 aux) keeps its bytes in its device.  A byte from
 * the mouse (or 0xd3) sets status bit 5 (AUXB) with OBF, which is how
 * Linux's i8042 driver tells the two apart.  Filling the buffer raises IRQ 1
 * (keyboard side) or IRQ 12 (aux side) when configuration bit 0 / bit 1
 * allows it; reading 0x60 lowers the line, so every byte is a fresh edge.
 * With configuration bit 6 (translation, on at power-on) keyboard bytes are
 * translated from set 2 to set 1 as a PC's 8042 does: each code through
 * the table, a 0xf0 break prefix swallowed and bit 7 set on the next code.
 *
 * Controller commands: 0x20/0x60 read/write the configuration byte
 * (0x21-0x3f/0x61-0x7f the rest of its RAM), 0xa7/0xa8 disable/enable aux,
 * 0xa9 aux test (0x00), 0xaa self test (0x55), 0xab keyboard test (0x00),
 * 0xad/0xae disable/enable keyboard, 0xd0/0xd1 read/write the output port,
 * 0xd2/0xd3 write the keyboard/aux output buffer (the aux loopback Linux
 * uses to test IRQ 12), 0xd4 write to the mouse; 0xf0-0xff pulse the output
 * lines, bit 0 clear being the CPU reset line (command 0xfe), which is how
 * Linux and the demo guest reboot.
 *
 * Threads: vCPU threads access the ports; the monitor's loop feeds keys
 * and pointer motion.  Every entry point takes the controller's lock; the
 * bus's interrupt callback and reset_line are called with it held and must
 * not call back into the controller.  The queues are bounded: an event
 * that does not fit whole is dropped and counted (i8042_stats), never
 * half queued.
 */
#ifndef VMGATE_I8042_H
#define VMGATE_I8042_H

#include "bus.h"
#include "ps2fifo.h"
#include "ps2kbd.h"
#include "ps2mouse.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT 0x64
#define I8042_KBD_IRQ 1
#define I8042_AUX_IRQ 12

/*
 * Bytes each device may hold for the guest.  Until the guest first writes
 * the configuration byte the keyboard holds only I8042_KBD_EARLY, as a
 * real keyboard's buffer does: Linux's probe flushes at most 16 bytes and
 * gives up on a controller that keeps more coming, so keys typed while
 * the guest boots must not pile up beyond that.
 */
#define I8042_KBD_QUEUE 256
#define I8042_KBD_EARLY 16
#define I8042_AUX_QUEUE 256
#define I8042_CTL_QUEUE 8

/* Pointer buttons as VNC (and X) number them. */
#define I8042_BUTTON_LEFT 0x01
#define I8042_BUTTON_MIDDLE 0x02
#define I8042_BUTTON_RIGHT 0x04

struct i8042 {
	struct bus_device dev; /* first */
	pthread_mutex_t lock;
	void (*reset_line)(void *opaque); /* the guest pulsed CPU reset */
	void *opaque;
	uint8_t cmd;	 /* command waiting for its data byte, or 0 */
	uint8_t ram[32]; /* ram[0] is the configuration byte */
	bool config_set; /* the guest wrote the configuration byte */
	uint16_t ctl[I8042_CTL_QUEUE]; /* controller answers; bit 8: aux */
	int ctl_head, ctl_len;
	uint8_t out; /* the output buffer */
	bool obf, out_aux;
	bool xl_break;	      /* translation saw 0xf0: next code is a break */
	bool aux_last;	      /* the mouse's queue was served last */
	int irq_kbd, irq_aux; /* levels driven on the two lines */
	struct ps2kbd kbd;
	struct ps2mouse mouse;
};

struct i8042_stats {
	uint64_t keys_dropped;	  /* key events lost to a full queue */
	uint64_t packets_dropped; /* mouse packets lost to a full queue */
};

/* A controller in its power-on state, on no bus yet. */
void i8042_init(struct i8042 *k, void (*reset_line)(void *), void *opaque);

/* Registers I8042_DATA_PORT and I8042_CMD_PORT, one byte each; returns 0
 * or -1 as bus_register(). */
int i8042_register(struct i8042 *k, struct bus *bus);

/*
 * A key, as the X11 KEYSYM a VNC client sent, went DOWN or up (keymap.h
 * for the keys, ps2kbd.h for Shift).  Returns as ps2kbd_keysym(): 1 queued,
 * 0 nothing to send, -1 dropped (queue full).
 */
int i8042_key(struct i8042 *k, uint32_t keysym, bool down);

/*
 * The pointer moved by DX, DY in screen pixels (Y grows downwards, as in
 * VNC), the wheel turned DZ notches (positive: towards the user, VNC's
 * button 5), with BUTTONS (I8042_BUTTON_*) held.  Returns as
 * ps2mouse_motion().  Motion beyond what a packet holds is clamped and
 * flagged as an overflow.
 */
int i8042_pointer(struct i8042 *k, int dx, int dy, int dz, unsigned buttons);

/*
 * VNC gives absolute positions; the mouse reports motion.  An i8042_abs
 * remembers where the guest was last told the pointer is (zero it first;
 * the first event only sets the origin): i8042_pointer_abs sends the
 * difference, in as many packets as it needs (up to 8 a call, so a far
 * jump arrives whole rather than as an overflow), and moves the origin by
 * what was sent.  Returns the number of packets queued, or -1 if one was
 * dropped.
 */
struct i8042_abs {
	int x, y;
	bool known;
};

int i8042_pointer_abs(struct i8042 *k, struct i8042_abs *a, int x, int y,
		      int dz, unsigned buttons);

void i8042_stats(struct i8042 *k, struct i8042_stats *s);

#endif
