#include "ps2kbd.h"

#include "keymap.h"

#include <stddef.h>

#define ACK 0xfa
#define RESEND 0xfe
#define BAT_OK 0xaa
#define ECHO 0xee
#define TYPEMATIC_DEFAULT 0x2b /* 10.9 characters/s after 500 ms */

static void
defaults(struct ps2kbd *kb)
{
	kb->typematic = TYPEMATIC_DEFAULT;
	kb->pending = 0;
}

void
ps2kbd_init(struct ps2kbd *kb, uint16_t cap)
{
	ps2fifo_init(&kb->q, cap);
	defaults(kb);
	kb->scanning = true;
	kb->leds = 0;
	kb->shift_l = kb->shift_r = false;
	kb->dropped = 0;
}

/* An answer always fits: the queue was just cleared and holds >= 3 bytes. */
static void
reply(struct ps2kbd *kb, const uint8_t *p, size_t n)
{
	(void)ps2fifo_push(&kb->q, p, n);
}

static void
reply1(struct ps2kbd *kb, uint8_t v)
{
	reply(kb, &v, 1);
}

static void
data_byte(struct ps2kbd *kb, uint8_t cmd, uint8_t v)
{
	switch (cmd) {
	case 0xed:
		kb->leds = v & 0x07;
		reply1(kb, ACK);
		break;
	case 0xf3:
		kb->typematic = v & 0x7f;
		reply1(kb, ACK);
		break;
	case 0xf0:
		if (v == 0)
			reply(kb, (const uint8_t[]){ACK, 0x02}, 2);
		else if (v == 2)
			reply1(kb, ACK);
		else
			reply1(kb, RESEND);
		break;
	}
}

void
ps2kbd_write(struct ps2kbd *kb, uint8_t v)
{
	uint8_t cmd = kb->pending;
	uint8_t last = kb->q.last;

	ps2fifo_clear(&kb->q);
	kb->pending = 0;
	if (cmd != 0 && !(v & 0x80)) {
		data_byte(kb, cmd, v);
		return;
	}
	switch (v) {
	case 0xed: /* set LEDs */
	case 0xf0: /* get/set scancode set */
	case 0xf3: /* typematic rate and delay */
		kb->pending = v;
		reply1(kb, ACK);
		break;
	case 0xee:
		reply1(kb, ECHO);
		break;
	case 0xf2: /* identify */
		reply(kb, (const uint8_t[]){ACK, 0xab, 0x83}, 3);
		break;
	case 0xf4:
		kb->scanning = true;
		reply1(kb, ACK);
		break;
	case 0xf5:
		defaults(kb);
		kb->scanning = false;
		reply1(kb, ACK);
		break;
	case 0xf6:
		defaults(kb);
		kb->scanning = true;
		reply1(kb, ACK);
		break;
	case 0xfe:
		reply1(kb, last);
		break;
	case 0xff:
		defaults(kb);
		kb->leds = 0;
		kb->scanning = true;
		reply(kb, (const uint8_t[]){ACK, BAT_OK}, 2);
		break;
	default:
		reply1(kb, RESEND);
		break;
	}
}

static size_t
put_code(uint8_t *p, uint8_t code, bool e0, bool down)
{
	size_t n = 0;

	if (e0)
		p[n++] = 0xe0;
	if (!down)
		p[n++] = 0xf0;
	p[n++] = code;
	return n;
}

int
ps2kbd_keysym(struct ps2kbd *kb, uint32_t keysym, bool down)
{
	struct keymap_key key;
	uint8_t seq[16];
	size_t n = 0;
	bool e0, held;

	if (!keymap_lookup(keysym, &key))
		return 0;
	e0 = key.flags & KEYMAP_E0;
	if (!e0 && key.code == KEYMAP_LSHIFT)
		kb->shift_l = down;
	if (!e0 && key.code == KEYMAP_RSHIFT)
		kb->shift_r = down;
	if (!kb->scanning)
		return 0;
	held = kb->shift_l || kb->shift_r;
	if (down && (key.flags & KEYMAP_SHIFT) && !held) {
		n += put_code(seq + n, KEYMAP_LSHIFT, false, true);
		n += put_code(seq + n, key.code, e0, true);
		n += put_code(seq + n, KEYMAP_LSHIFT, false, false);
	} else if (down && (key.flags & KEYMAP_NOSHIFT) && held) {
		if (kb->shift_l)
			n += put_code(seq + n, KEYMAP_LSHIFT, false, false);
		if (kb->shift_r)
			n += put_code(seq + n, KEYMAP_RSHIFT, false, false);
		n += put_code(seq + n, key.code, e0, true);
		if (kb->shift_l)
			n += put_code(seq + n, KEYMAP_LSHIFT, false, true);
		if (kb->shift_r)
			n += put_code(seq + n, KEYMAP_RSHIFT, false, true);
	} else {
		n += put_code(seq + n, key.code, e0, down);
	}
	if (!ps2fifo_push(&kb->q, seq, n)) {
		kb->dropped++;
		return -1;
	}
	return 1;
}
