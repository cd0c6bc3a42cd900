/*
 * keymap: X11 keysyms, which is what a VNC client sends for a key (RFB,
 * KeyEvent), to the PC keyboard's scancode set 2, for a US layout.
 *
 * A keysym names a symbol, not a key: 'a' and 'A' are one key, the second
 * with Shift.  So each entry also says whether the symbol implies a Shift
 * state (letters, digits and punctuation) or not (Enter, arrows, function
 * keys, modifiers, the keypad); the keyboard (ps2kbd.h) uses that to add or
 * lift Shift around the key when the client's own Shift keys do not match.
 *
 * Not mapped (keymap_lookup returns false): Print Screen and Pause, whose
 * set-2 sequences are not one key code; keysyms outside a US layout.
 */
#ifndef VMGATE_KEYMAP_H
#define VMGATE_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

#define KEYMAP_E0 0x01	    /* the code follows an 0xe0 prefix */
#define KEYMAP_SHIFT 0x02   /* the symbol is the key with Shift held */
#define KEYMAP_NOSHIFT 0x04 /* the symbol is the key without Shift */

/* Set-2 make codes the keyboard tracks. */
#define KEYMAP_LSHIFT 0x12
#define KEYMAP_RSHIFT 0x59

struct keymap_key {
	uint8_t code;  /* set-2 make code (after 0xe0 with KEYMAP_E0) */
	uint8_t flags; /* KEYMAP_* */
};

/* The key for KEYSYM; false if none. */
bool keymap_lookup(uint32_t keysym, struct keymap_key *key);

#endif
