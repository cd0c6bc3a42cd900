/*
 * ps2kbd: a PS/2 (MF2) keyboard in scancode set 2, the device behind the
 * i8042's first port.  It answers the commands Linux's atkbd sends, byte by
 * byte as a keyboard does:
 *
 *   0xff reset             0xfa 0xaa (self test passed), scanning on
 *   0xf2 identify          0xfa 0xab 0x83 (an MF2 keyboard)
 *   0xed LEDs, + data      0xfa, 0xfa
 *   0xf0 set, + data       0xfa, then 0xfa (2: set 2), 0xfa 0x02 (0: which
 *                          set), 0xfe (1, 3: only set 2 is offered)
 *   0xf3 typematic, + data 0xfa, 0xfa
 *   0xf4 enable            0xfa, scanning on
 *   0xf5 disable           0xfa, defaults, scanning off
 *   0xf6 defaults          0xfa, defaults, scanning on
 *   0xee echo              0xee
 *   0xfe resend            the last byte sent again
 *   anything else          0xfe (resend: not understood)
 *
 * A data byte with bit 7 set is a new command, as on a real keyboard.  Every
 * byte from the host clears what the keyboard had not sent yet, so the
 * answer is the next thing the host reads.  The bytes go out untranslated:
 * the controller translates to set 1 when its configuration says so.
 *
 * Keys come as X11 keysyms (keymap.h).  The keyboard tracks the client's
 * own Shift keys: a symbol that needs Shift (say '!' or 'A') gets a Shift
 * make before its make code and a Shift break after it when the client
 * holds no Shift (a real viewer sends Shift_L first, then the shifted
 * keysym: that is not doubled), and a symbol that needs no Shift ('a', '1')
 * while the client holds Shift gets the held Shift keys released around its
 * make code.  A key's break code is its own, whatever Shift was.
 *
 * Not locked: the i8042 calls it under its own lock.
 */
#ifndef VMGATE_PS2KBD_H
#define VMGATE_PS2KBD_H

#include "ps2fifo.h"

#include <stdbool.h>
#include <stdint.h>

struct ps2kbd {
	struct ps2fifo q; /* bytes for the host, oldest first */
	uint8_t pending;  /* command waiting for its data byte, or 0 */
	bool scanning;	  /* keys are reported */
	uint8_t leds;	  /* bit 0 Scroll, 1 Num, 2 Caps Lock */
	uint8_t typematic;
	bool shift_l, shift_r; /* the client's Shift keys are down */
	uint64_t dropped;      /* key events lost to a full queue */
};

/* Power-on state; the queue holds at most CAP bytes (<= PS2FIFO_SIZE). */
void ps2kbd_init(struct ps2kbd *kb, uint16_t cap);

/* One byte from the host (a command or its data). */
void ps2kbd_write(struct ps2kbd *kb, uint8_t v);

/*
 * KEYSYM went down or up.  Returns 1 if its scancodes were queued, 0 if the
 * key is unknown or the keyboard is not scanning (nothing sent), -1 if the
 * queue had no room for the whole sequence (nothing sent, counted in
 * dropped).
 */
int ps2kbd_keysym(struct ps2kbd *kb, uint32_t keysym, bool down);

#endif
