/*
 * ps2mouse: a PS/2 mouse with the IntelliMouse wheel, the device on the
 * i8042's aux port.  It answers, byte by byte as a mouse does:
 *
 *   0xff reset                 0xfa 0xaa 0x00; defaults, ID 0, wrap off
 *   0xf2 get ID                0xfa, then 0x00, or 0x03 once the host has
 *                              set the sample rates 200, 100, 80 in a row
 *                              (the IntelliMouse knock: 4-byte packets)
 *   0xf3 sample rate, + data   0xfa, 0xfa
 *   0xe8 resolution, + data    0xfa, 0xfa (0-3), 0xfe (other)
 *   0xe9 status request        0xfa, then buttons/mode, resolution, rate
 *   0xe6 / 0xe7 scaling 1:1/2:1, 0xea stream mode, 0xf0 remote mode,
 *   0xf4 / 0xf5 data reporting on / off (0xf5 keeps the settings),
 *   0xf6 defaults, 0xee / 0xec wrap mode on / off       0xfa
 *   0xeb read data             0xfa, then a packet of the motion since the
 *                              last one
 *   0xfe resend                the last byte sent again
 *   anything else              0xfe
 *
 * In wrap mode every byte but 0xec and 0xff is echoed.  Every byte from the
 * host clears what the mouse had not sent yet, so the answer comes next.
 *
 * Packets (stream mode, reporting on): byte 0 = buttons (bit 0 left, 1
 * right, 2 middle), bit 3 always set, bits 4/5 the signs of X/Y, bits 6/7
 * their overflow; bytes 1-2 the low 8 bits of X and Y (9-bit two's
 * complement, Y up); with ID 3 a fourth byte, the wheel, -8..7 (positive:
 * towards the user).  Motion beyond -256..255 is clamped and flagged as an
 * overflow; 2:1 scaling applies to stream packets as a mouse does it.
 *
 * Not locked: the i8042 calls it under its own lock.
 */
#ifndef VMGATE_PS2MOUSE_H
#define VMGATE_PS2MOUSE_H

#include "ps2fifo.h"

#include <stdbool.h>
#include <stdint.h>

/* Buttons, in the packet's bit order. */
#define PS2MOUSE_LEFT 0x01
#define PS2MOUSE_RIGHT 0x02
#define PS2MOUSE_MIDDLE 0x04

/* The motion one packet can carry. */
#define PS2MOUSE_MIN (-256)
#define PS2MOUSE_MAX 255

struct ps2mouse {
	struct ps2fifo q; /* bytes for the host, oldest first */
	uint8_t pending;  /* command waiting for its data byte, or 0 */
	bool reporting, remote, wrap, scale21;
	uint8_t rate, resolution;
	uint8_t id;	  /* 0, or 3 after the IntelliMouse knock */
	uint8_t knock[3]; /* the last three sample rates, newest last */
	uint8_t buttons;  /* PS2MOUSE_* held now */
	int rx, ry, rz;	  /* remote mode: motion not read yet */
	uint64_t dropped; /* packets lost to a full queue */
};

/* Power-on state; the queue holds at most CAP bytes (<= PS2FIFO_SIZE). */
void ps2mouse_init(struct ps2mouse *m, uint16_t cap);

/* One byte from the host (through the controller's 0xd4). */
void ps2mouse_write(struct ps2mouse *m, uint8_t v);

/*
 * The pointer moved by DX, DY (PS/2 sense: Y up), the wheel by DZ, and
 * BUTTONS (PS2MOUSE_*) are held.  Returns 1 if a packet was queued, 0 if
 * none was due (no change, reporting off, remote mode: remote motion is
 * kept for 0xeb), -1 if the queue had no room for it (counted in dropped).
 */
int ps2mouse_motion(struct ps2mouse *m, int dx, int dy, int dz,
		    unsigned buttons);

/* Encodes one packet into P (4 bytes of room); returns its length. */
int ps2mouse_packet(const struct ps2mouse *m, int dx, int dy, int dz,
		    uint8_t *p);

#endif
