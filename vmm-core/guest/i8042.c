/*
 * i8042.c - PS/2 keyboard and mouse through the PC keyboard controller.
 *
 * The controller translates the keyboard's scan code set 2 into set 1
 * (config bit 6, on by default on a PC), so that is what arrives here.
 * Set 1 is decoded into what a terminal sends: ASCII, CR for Enter, DEL
 * for Backspace, Ctrl-letter as a control byte, arrows as ESC [ A..D.
 * Everything the devices send is untrusted: unknown codes are dropped,
 * mouse packets are re-synchronised on the always-one bit of their first
 * byte, and one interrupt reads at most I8042_BURST_MAX bytes.
 */
#include "i8042.h"
#include "io.h"
#include "shared.h"

#include <stdbool.h>
#include <stdint.h>

#define I8042_DATA 0x60
#define I8042_STATUS 0x64 /* read */
#define I8042_CMD 0x64	  /* write */

#define I8042_STATUS_OBF 0x01 /* a byte waits in the output buffer */
#define I8042_STATUS_IBF 0x02 /* the controller has not taken our byte */
#define I8042_STATUS_AUX 0x20 /* that byte came from the mouse */

#define I8042_CMD_READ_CONFIG 0x20
#define I8042_CMD_WRITE_CONFIG 0x60
#define I8042_CMD_DISABLE_AUX 0xa7
#define I8042_CMD_ENABLE_AUX 0xa8
#define I8042_CMD_DISABLE_KBD 0xad
#define I8042_CMD_ENABLE_KBD 0xae
#define I8042_CMD_WRITE_AUX 0xd4

#define I8042_CONFIG_KBD_IRQ 0x01
#define I8042_CONFIG_AUX_IRQ 0x02
#define I8042_CONFIG_KBD_OFF 0x10
#define I8042_CONFIG_AUX_OFF 0x20
#define I8042_CONFIG_TRANSLATE 0x40

#define I8042_DEV_SET_DEFAULTS 0xf6
#define I8042_DEV_ENABLE 0xf4
#define I8042_DEV_ACK 0xfa

/*
 * Status reads before giving up on one byte. This guest runs on VMMs,
 * whose controllers answer as soon as the command is written; every read
 * is a VM exit (emulated and slow on nested KVM), so a model that never
 * answers a command (no mouse, no ACK) must cost little.
 */
#define I8042_POLL_MAX 2000
#define I8042_FLUSH_MAX 32
#define I8042_BURST_MAX 64

/* Pointer start and bounds when there is no display. */
#define I8042_NO_FB_WIDTH 1024
#define I8042_NO_FB_HEIGHT 768

/*
 * Set 1 make codes 0x00-0x39 -> what a terminal sends, unshifted and
 * shifted; NUL: nothing (modifiers, Alt). One string per keyboard row.
 */
#define I8042_MAP_CODES 0x3a
static const char i8042_plain[] = "\0\x1b"
				  "1234567890-=\x7f\t"
				  "qwertyuiop[]\r\0"
				  "asdfghjkl;'`\0\\"
				  "zxcvbnm,./\0*\0 ";
static const char i8042_shifted[] = "\0\x1b"
				    "!@#$%^&*()_+\x7f\t"
				    "QWERTYUIOP{}\r\0"
				    "ASDFGHJKL:\"~\0|"
				    "ZXCVBNM<>?\0*\0 ";
_Static_assert(sizeof(i8042_plain) == I8042_MAP_CODES + 1 &&
		   sizeof(i8042_shifted) == I8042_MAP_CODES + 1,
	       "one entry per make code 0x00-0x39");

#define I8042_SC_LCTRL 0x1d
#define I8042_SC_LSHIFT 0x2a
#define I8042_SC_RSHIFT 0x36
#define I8042_SC_CAPS 0x3a
#define I8042_SC_BREAK 0x80
#define I8042_SC_E0 0xe0
#define I8042_SC_E1 0xe1
#define I8042_E1_LEN 5 /* Pause: e1 1d 45 e1 9d c5 */

static struct {
	bool e0, lshift, rshift, lctrl, rctrl, caps;
	unsigned skip; /* bytes left of an E1 sequence */
} i8042_kbd;

static struct {
	uint8_t packet[3];
	unsigned len;
} i8042_aux;

static bool
i8042_wait(uint8_t mask, uint8_t want)
{
	for (int i = 0; i < I8042_POLL_MAX; i++) {
		uint8_t st = io_inb(I8042_STATUS);

		if ((st & mask) == want)
			return true;
		io_pause();
	}
	return false;
}

static bool
i8042_command(uint8_t cmd)
{
	if (!i8042_wait(I8042_STATUS_IBF, 0))
		return false;
	io_outb(I8042_CMD, cmd);
	return true;
}

static bool
i8042_write_data(uint8_t v)
{
	if (!i8042_wait(I8042_STATUS_IBF, 0))
		return false;
	io_outb(I8042_DATA, v);
	return true;
}

/* -1: nothing came. */
static int
i8042_read_data(void)
{
	if (!i8042_wait(I8042_STATUS_OBF, I8042_STATUS_OBF))
		return -1;
	return io_inb(I8042_DATA);
}

static void
i8042_flush(void)
{
	for (int i = 0; i < I8042_FLUSH_MAX; i++) {
		if (!(io_inb(I8042_STATUS) & I8042_STATUS_OBF))
			return;
		(void)io_inb(I8042_DATA);
	}
}

/* A command byte for a device (through 0xd4 for the mouse); true if it
 * answered ACK. Bytes other than ACK (a key pressed meanwhile) are
 * skipped, a bounded number of them. */
static bool
i8042_device(bool aux, uint8_t cmd)
{
	if (aux && !i8042_command(I8042_CMD_WRITE_AUX))
		return false;
	if (!i8042_write_data(cmd))
		return false;
	for (int i = 0; i < I8042_FLUSH_MAX; i++) {
		int v = i8042_read_data();

		if (v < 0)
			return false;
		if (v == I8042_DEV_ACK)
			return true;
	}
	return false;
}

static void
i8042_mouse_bounds(int32_t *w, int32_t *h)
{
	if (shared.fb.status == SHARED_FB_OK) {
		*w = (int32_t)shared.fb.width;
		*h = (int32_t)shared.fb.height;
	} else {
		*w = I8042_NO_FB_WIDTH;
		*h = I8042_NO_FB_HEIGHT;
	}
}

void
i8042_init(void)
{
	int config;
	int32_t w, h;

	if (io_inb(I8042_STATUS) == 0xff)
		return; /* nothing there: an unbacked port */
	if (!i8042_command(I8042_CMD_DISABLE_KBD) ||
	    !i8042_command(I8042_CMD_DISABLE_AUX))
		return;
	i8042_flush();
	if (!i8042_command(I8042_CMD_READ_CONFIG))
		return;
	config = i8042_read_data();
	if (config < 0)
		return;
	config |= I8042_CONFIG_KBD_IRQ | I8042_CONFIG_AUX_IRQ |
		  I8042_CONFIG_TRANSLATE;
	config &= ~(I8042_CONFIG_KBD_OFF | I8042_CONFIG_AUX_OFF);
	if (!i8042_command(I8042_CMD_WRITE_CONFIG) ||
	    !i8042_write_data((uint8_t)config))
		return;
	if (!i8042_command(I8042_CMD_ENABLE_KBD))
		return;
	/* The keyboard scans after reset already; a firmware may have
	 * stopped it. An ACK-less keyboard may still send keys. */
	(void)i8042_device(false, I8042_DEV_ENABLE);
	shared.keyboard = true;

	i8042_mouse_bounds(&w, &h);
	shared.mouse.x = w / 2;
	shared.mouse.y = h / 2;
	if (i8042_command(I8042_CMD_ENABLE_AUX) &&
	    i8042_device(true, I8042_DEV_SET_DEFAULTS) &&
	    i8042_device(true, I8042_DEV_ENABLE))
		shared.mouse.present = true;
	i8042_flush();
}

static void
i8042_push_str(const char *s)
{
	while (*s != '\0')
		shared_rx_push((uint8_t)*s++);
}

static void
i8042_key(uint8_t sc)
{
	bool brk = sc & I8042_SC_BREAK;
	uint8_t code = sc & ~I8042_SC_BREAK;
	bool e0 = i8042_kbd.e0;
	bool shift, ctrl;
	char c;

	i8042_kbd.e0 = false;
	if (i8042_kbd.skip > 0) {
		i8042_kbd.skip--;
		return;
	}
	if (sc == I8042_SC_E0) {
		i8042_kbd.e0 = true;
		return;
	}
	if (sc == I8042_SC_E1) {
		i8042_kbd.skip = I8042_E1_LEN;
		return;
	}
	if (code == I8042_SC_LCTRL) {
		*(e0 ? &i8042_kbd.rctrl : &i8042_kbd.lctrl) = !brk;
		return;
	}
	if (code == I8042_SC_LSHIFT || code == I8042_SC_RSHIFT) {
		/* e0 2a / e0 aa: the fake shifts around some keys. */
		if (!e0)
			*(code == I8042_SC_LSHIFT ? &i8042_kbd.lshift
						  : &i8042_kbd.rshift) = !brk;
		return;
	}
	if (brk)
		return;
	if (code == I8042_SC_CAPS) {
		i8042_kbd.caps = !i8042_kbd.caps;
		return;
	}
	if (e0) {
		static const char arrows[] = {
		    [0x48] = 'A', [0x50] = 'B', [0x4d] = 'C', [0x4b] = 'D'};
		static char seq[] = "\x1b[?";

		if (code == 0x1c) /* keypad Enter */
			shared_rx_push('\r');
		else if (code == 0x35) /* keypad / */
			shared_rx_push('/');
		else if (code < sizeof(arrows) && arrows[code] != 0) {
			seq[2] = arrows[code];
			i8042_push_str(seq);
		}
		return;
	}
	if (code >= I8042_MAP_CODES)
		return;
	shift = i8042_kbd.lshift || i8042_kbd.rshift;
	ctrl = i8042_kbd.lctrl || i8042_kbd.rctrl;
	c = shift ? i8042_shifted[code] : i8042_plain[code];
	if (c >= 'a' && c <= 'z' && i8042_kbd.caps)
		c = (char)(c - 'a' + 'A');
	else if (c >= 'A' && c <= 'Z' && i8042_kbd.caps)
		c = (char)(c - 'A' + 'a');
	if (ctrl && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
		c = (char)(c & 0x1f);
	if (c != 0)
		shared_rx_push((uint8_t)c);
}

static int32_t
i8042_clamp(int32_t v, int32_t max)
{
	return v < 0 ? 0 : v >= max ? max - 1 : v;
}

/*
 * Standard 3-byte packet: buttons and the always-one bit 3, X and Y sign
 * (bits 4, 5) and overflow (bits 6, 7), then the low 8 bits of X and Y.
 * PS/2 Y grows upwards, the screen's downwards.
 */
static void
i8042_mouse(uint8_t b)
{
	uint8_t *p = i8042_aux.packet;
	int32_t dx, dy, w, h;

	if (i8042_aux.len == 0 && !(b & 0x08))
		return; /* out of step: wait for a first byte */
	p[i8042_aux.len++] = b;
	if (i8042_aux.len < 3)
		return;
	i8042_aux.len = 0;
	dx = p[1] - ((p[0] & 0x10) ? 256 : 0);
	dy = p[2] - ((p[0] & 0x20) ? 256 : 0);
	if (p[0] & 0xc0)
		dx = dy = 0; /* overflow: the deltas mean nothing */
	i8042_mouse_bounds(&w, &h);
	shared.mouse.x = i8042_clamp(shared.mouse.x + dx, w);
	shared.mouse.y = i8042_clamp(shared.mouse.y - dy, h);
	shared.mouse.buttons = p[0] & 0x07;
	shared.mouse.packets++;
}

void
i8042_irq(void)
{
	for (int i = 0; i < I8042_BURST_MAX; i++) {
		uint8_t st = io_inb(I8042_STATUS);
		uint8_t v;

		if (!(st & I8042_STATUS_OBF))
			return;
		v = io_inb(I8042_DATA);
		if (st & I8042_STATUS_AUX)
			i8042_mouse(v);
		else
			i8042_key(v);
	}
}
