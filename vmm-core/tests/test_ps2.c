/*
 * Unit tests for the PS/2 keyboard and mouse behind the i8042, driven as a
 * guest drives them: port reads and writes through the bus, with the bus's
 * interrupt callback recording the lines; keys and pointer motion come in
 * as the VNC side gives them.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "i8042.h"
#include "keymap.h"

/* X11 keysyms used below (keysymdef.h). */
#define XK_BackSpace 0xff08
#define XK_Tab 0xff09
#define XK_Return 0xff0d
#define XK_Escape 0xff1b
#define XK_Home 0xff50
#define XK_Left 0xff51
#define XK_Up 0xff52
#define XK_Right 0xff53
#define XK_Down 0xff54
#define XK_Prior 0xff55
#define XK_Next 0xff56
#define XK_End 0xff57
#define XK_Insert 0xff63
#define XK_Delete 0xffff
#define XK_F1 0xffbe
#define XK_F7 0xffc4
#define XK_F12 0xffc9
#define XK_Shift_L 0xffe1
#define XK_Shift_R 0xffe2
#define XK_Control_L 0xffe3
#define XK_Control_R 0xffe4
#define XK_Alt_L 0xffe9
#define XK_Alt_R 0xffea

static struct bus bus;
static struct i8042 kb;
static int level[16], raises[16], lowers[16];

static void
t_irq(void *o, int line, int lvl)
{
	(void)o;
	assert_true(line == I8042_KBD_IRQ || line == I8042_AUX_IRQ);
	assert_int_not_equal(level[line], lvl); /* only changes are driven */
	level[line] = lvl;
	if (lvl)
		raises[line]++;
	else
		lowers[line]++;
}

static void
no_reset(void *o)
{
	(void)o;
}

static uint8_t
rd(uint64_t port)
{
	uint8_t v;
	bus_access(&bus, BUS_PIO, port, &v, 1, false);
	return v;
}

static void
wr(uint64_t port, uint8_t v)
{
	bus_access(&bus, BUS_PIO, port, &v, 1, true);
}

static void
set_config(uint8_t c)
{
	wr(0x64, 0x60);
	wr(0x60, c);
}

static void
aux(uint8_t v)
{
	wr(0x64, 0xd4);
	wr(0x60, v);
}

/* Reads what the controller has; AUXBITS gets the status's AUXB per byte. */
static size_t
drain(uint8_t *out, uint8_t *auxbits, size_t max)
{
	size_t n = 0;
	uint8_t st;

	while (n < max && ((st = rd(0x64)) & 0x01)) {
		if (auxbits != NULL)
			auxbits[n] = (st & 0x20) != 0;
		out[n++] = rd(0x60);
	}
	return n;
}

/* The guest reads exactly WANT, every byte from the keyboard side (IS_AUX
 * false) or every byte from the aux side. */
static void
expect_bytes(bool is_aux, const uint8_t *want, size_t n)
{
	uint8_t got[64], a[64];
	size_t m = drain(got, a, sizeof(got));

	if (m != n || memcmp(got, want, n) != 0) {
		char s[400];
		size_t o = 0;
		for (size_t i = 0; i < m && o + 4 < sizeof(s); i++)
			o += (size_t)snprintf(s + o, sizeof(s) - o, "%02x ",
					      got[i]);
		s[o] = 0;
		fail_msg("read %zu bytes: %s(wanted %zu)", m, s, n);
	}
	for (size_t i = 0; i < m; i++)
		assert_int_equal(a[i], is_aux);
}

#define EXPECT_KBD(...)                                                        \
	expect_bytes(false, (const uint8_t[]){__VA_ARGS__},                    \
		     sizeof((const uint8_t[]){__VA_ARGS__}))
#define EXPECT_AUX(...)                                                        \
	expect_bytes(true, (const uint8_t[]){__VA_ARGS__},                     \
		     sizeof((const uint8_t[]){__VA_ARGS__}))
#define EXPECT_NOTHING() assert_false(rd(0x64) & 0x01)

static int
setup(void **state)
{
	(void)state;
	memset(level, 0, sizeof(level));
	memset(raises, 0, sizeof(raises));
	memset(lowers, 0, sizeof(lowers));
	bus_init(&bus, t_irq, NULL);
	i8042_init(&kb, no_reset, NULL);
	assert_int_equal(i8042_register(&kb, &bus), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	bus_destroy(&bus);
	return 0;
}

/* atkbd's commands with translation off: the keyboard's own bytes. */
static void
kbd_commands_untranslated(void **state)
{
	(void)state;
	set_config(0x05); /* kbd irq, system flag, no translation */
	wr(0x60, 0xff);
	EXPECT_KBD(0xfa, 0xaa);
	wr(0x60, 0xf2);
	EXPECT_KBD(0xfa, 0xab, 0x83);
	wr(0x60, 0xed);
	EXPECT_KBD(0xfa);
	wr(0x60, 0x07);
	EXPECT_KBD(0xfa);
	assert_int_equal(kb.kbd.leds, 7);
	wr(0x60, 0xf0); /* which set? */
	EXPECT_KBD(0xfa);
	wr(0x60, 0x00);
	EXPECT_KBD(0xfa, 0x02);
	wr(0x60, 0xf0); /* set 2 */
	wr(0x60, 0x02);
	EXPECT_KBD(0xfa, 0xfa);
	wr(0x60, 0xf0); /* set 3: not offered */
	EXPECT_KBD(0xfa);
	wr(0x60, 0x03);
	EXPECT_KBD(0xfe);
	wr(0x60, 0xf3);
	wr(0x60, 0x20);
	EXPECT_KBD(0xfa, 0xfa);
	assert_int_equal(kb.kbd.typematic, 0x20);
	wr(0x60, 0xf5);
	EXPECT_KBD(0xfa);
	assert_false(kb.kbd.scanning);
	assert_int_equal(kb.kbd.typematic, 0x2b);	/* defaults */
	assert_int_equal(i8042_key(&kb, 'a', true), 0); /* not scanning */
	EXPECT_NOTHING();
	wr(0x60, 0xf4);
	EXPECT_KBD(0xfa);
	assert_true(kb.kbd.scanning);
	wr(0x60, 0xf5);
	wr(0x60, 0xf6); /* defaults, scanning again */
	EXPECT_KBD(0xfa, 0xfa);
	assert_true(kb.kbd.scanning);
	wr(0x60, 0xee);
	EXPECT_KBD(0xee);
	wr(0x60, 0xfe); /* resend: the last byte again */
	EXPECT_KBD(0xee);
	wr(0x60, 0x42); /* not a command */
	EXPECT_KBD(0xfe);
	/* a data byte with bit 7 set is the next command */
	wr(0x60, 0xed);
	wr(0x60, 0xf2);
	EXPECT_KBD(0xfa, 0xfa, 0xab, 0x83);
	/* what the keyboard has not sent yet is cleared by a command (the
	 * byte already in the controller's buffer stays) */
	assert_int_equal(i8042_key(&kb, 'a', true), 1);
	assert_int_equal(i8042_key(&kb, 'b', true), 1);
	assert_int_equal(i8042_key(&kb, 'c', true), 1);
	assert_int_equal(rd(0x60), 0x1c);
	wr(0x60, 0xf4);
	EXPECT_KBD(0x32, 0xfa);
}

/* With translation on (power-on), answers pass through the 8042's table:
 * the ID reads ab 41, set 2 reads 41. */
static void
kbd_commands_translated(void **state)
{
	(void)state;
	wr(0x64, 0x20);
	assert_int_equal(rd(0x60), 0x45);
	wr(0x60, 0xf2);
	EXPECT_KBD(0xfa, 0xab, 0x41);
	wr(0x60, 0xf0);
	wr(0x60, 0x00);
	EXPECT_KBD(0xfa, 0xfa, 0x41);
	wr(0x60, 0xff);
	EXPECT_KBD(0xfa, 0xaa);
}

static void
key(uint32_t sym, bool down)
{
	assert_int_equal(i8042_key(&kb, sym, down), 1);
}

static void
keys_translated_to_set1(void **state)
{
	(void)state;
	key('a', true);
	EXPECT_KBD(0x1e);
	key('a', false);
	EXPECT_KBD(0x9e);
	key(XK_Right, true);
	key(XK_Right, false);
	EXPECT_KBD(0xe0, 0x4d, 0xe0, 0xcd);
	key(XK_F7, true); /* the one set-2 code above 0x7f */
	key(XK_F7, false);
	EXPECT_KBD(0x41, 0xc1);
	/* the keys the issue names, make codes in set 1 */
	static const struct {
		uint32_t sym;
		uint8_t seq[2];
	} t[] = {
	    {'1', {0x02}},
	    {'0', {0x0b}},
	    {'z', {0x2c}},
	    {' ', {0x39}},
	    {XK_Return, {0x1c}},
	    {XK_BackSpace, {0x0e}},
	    {XK_Tab, {0x0f}},
	    {XK_Escape, {0x01}},
	    {XK_Up, {0xe0, 0x48}},
	    {XK_Down, {0xe0, 0x50}},
	    {XK_Left, {0xe0, 0x4b}},
	    {XK_Home, {0xe0, 0x47}},
	    {XK_End, {0xe0, 0x4f}},
	    {XK_Prior, {0xe0, 0x49}},
	    {XK_Next, {0xe0, 0x51}},
	    {XK_Insert, {0xe0, 0x52}},
	    {XK_Delete, {0xe0, 0x53}},
	    {XK_F1, {0x3b}},
	    {XK_F12, {0x58}},
	    {XK_Shift_R, {0x36}},
	    {XK_Control_L, {0x1d}},
	    {XK_Control_R, {0xe0, 0x1d}},
	    {XK_Alt_L, {0x38}},
	    {XK_Alt_R, {0xe0, 0x38}},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t got[8];
		size_t n = t[i].seq[0] == 0xe0 ? 2 : 1;
		key(t[i].sym, true);
		key(t[i].sym, false);
		assert_int_equal(drain(got, NULL, sizeof(got)), 2 * n);
		assert_memory_equal(got, t[i].seq, n);
		if (n == 2)
			assert_int_equal(got[2], 0xe0);
		assert_int_equal(got[2 * n - 1], t[i].seq[n - 1] | 0x80);
	}
	assert_int_equal(i8042_key(&kb, 0x12345678, true), 0); /* unknown */
	EXPECT_NOTHING();
}

/* With translation off the guest reads set 2 itself. */
static void
keys_in_set2(void **state)
{
	(void)state;
	set_config(0x05);
	key('a', true);
	key('a', false);
	EXPECT_KBD(0x1c, 0xf0, 0x1c);
	key(XK_Right, true);
	key(XK_Right, false);
	EXPECT_KBD(0xe0, 0x74, 0xe0, 0xf0, 0x74);
	key(XK_F7, true);
	key(XK_F7, false);
	EXPECT_KBD(0x83, 0xf0, 0x83);
}

/* A shifted symbol gets Shift around it only when the client holds none;
 * an unshifted one has the held Shift lifted around it. */
static void
keys_shift_as_viewers_send_it(void **state)
{
	(void)state;
	key('!', true); /* a client that sends no Shift */
	EXPECT_KBD(0x2a, 0x02, 0xaa);
	key('!', false);
	EXPECT_KBD(0x82);
	key('A', true);
	key('A', false);
	EXPECT_KBD(0x2a, 0x1e, 0xaa, 0x9e);
	/* a real viewer: Shift_L down, then the shifted keysym */
	key(XK_Shift_L, true);
	key('!', true);
	key('!', false);
	key(XK_Shift_L, false);
	EXPECT_KBD(0x2a, 0x02, 0x82, 0xaa);
	key(XK_Shift_R, true);
	key('"', true);
	key('"', false);
	EXPECT_KBD(0x36, 0x28, 0xa8);
	/* 'a' (no Shift) while the client holds right Shift */
	key('a', true);
	key('a', false);
	EXPECT_KBD(0xb6, 0x1e, 0x36, 0x9e);
	key(XK_Shift_R, false);
	EXPECT_KBD(0xb6);
	/* keys without a Shift state are left alone */
	key(XK_Shift_L, true);
	key(XK_Tab, true);
	key(XK_Tab, false);
	key(XK_Shift_L, false);
	EXPECT_KBD(0x2a, 0x0f, 0x8f, 0xaa);
}

/* IRQ 1 rises when a keyboard byte fills the buffer with config bit 0
 * set, falls when it is read, rises again for the next byte. */
static void
kbd_irq_line(void **state)
{
	(void)state;
	key(XK_Right, true);
	assert_int_equal(level[I8042_KBD_IRQ], 1);
	assert_int_equal(raises[I8042_KBD_IRQ], 1);
	assert_int_equal(rd(0x64) & 0x21, 0x01); /* OBF, not AUXB */
	assert_int_equal(rd(0x60), 0xe0);
	assert_int_equal(lowers[I8042_KBD_IRQ], 1);
	assert_int_equal(raises[I8042_KBD_IRQ], 2); /* a new edge */
	assert_int_equal(rd(0x60), 0x4d);
	assert_int_equal(level[I8042_KBD_IRQ], 0);
	assert_int_equal(rd(0x60), 0x4d); /* nothing new: the old byte */
	assert_int_equal(raises[I8042_AUX_IRQ], 0);
	/* interrupt off: the byte is there, the line stays low */
	set_config(0x04);
	key('a', true);
	assert_true(rd(0x64) & 0x01);
	assert_int_equal(level[I8042_KBD_IRQ], 0);
	set_config(0x05); /* turning it on with a byte waiting raises it */
	assert_int_equal(level[I8042_KBD_IRQ], 1);
	assert_int_equal(rd(0x60), 0x1c);
	assert_int_equal(level[I8042_KBD_IRQ], 0);
	/* the keyboard port disabled: its bytes wait in the keyboard */
	wr(0x64, 0xad);
	key('b', true);
	EXPECT_NOTHING();
	wr(0x64, 0xae);
	EXPECT_KBD(0x32);
}

/* The controller's own answers, the aux test and loopback Linux uses. */
static void
controller_commands(void **state)
{
	(void)state;
	assert_int_equal(rd(0x64) & 0x14, 0x14); /* system flag, no keylock */
	wr(0x64, 0xa9);
	EXPECT_KBD(0x00);
	wr(0x64, 0xab);
	EXPECT_KBD(0x00);
	wr(0x64, 0xa7);
	wr(0x64, 0x20);
	EXPECT_KBD(0x65); /* aux disabled: bit 5 */
	wr(0x64, 0xa8);
	wr(0x64, 0x20);
	EXPECT_KBD(0x45);
	set_config(0x47); /* both interrupts */
	/* 0xd3: the byte comes back as aux data, on IRQ 12 */
	wr(0x64, 0xd3);
	wr(0x60, 0xa5);
	assert_int_equal(rd(0x64) & 0x21, 0x21);
	assert_int_equal(level[I8042_AUX_IRQ], 1);
	assert_int_equal(level[I8042_KBD_IRQ], 0);
	wr(0x64, 0xd0); /* output port: aux buffer full */
	assert_int_equal(rd(0x60), 0xa5);
	EXPECT_KBD(0x23);
	assert_int_equal(level[I8042_AUX_IRQ], 0);
	wr(0x64, 0xd2); /* 0xd2: as keyboard data, untranslated */
	wr(0x60, 0x1c);
	assert_int_equal(level[I8042_KBD_IRQ], 1);
	EXPECT_KBD(0x1c);
	/* RAM beyond the configuration byte */
	wr(0x64, 0x65);
	wr(0x60, 0x99);
	wr(0x64, 0x25);
	EXPECT_KBD(0x99);
	/* answers a guest never reads are bounded */
	for (int i = 0; i < 100; i++)
		wr(0x64, 0xaa);
	uint8_t got[200];
	assert_int_equal(drain(got, NULL, sizeof(got)), 1 + I8042_CTL_QUEUE);
}

static void
mouse_on(void)
{
	set_config(0x47);
	wr(0x64, 0xa8);
	aux(0xff);
	EXPECT_AUX(0xfa, 0xaa, 0x00);
}

/* psmouse's exchanges, and IRQ 12 for aux bytes. */
static void
mouse_commands(void **state)
{
	(void)state;
	mouse_on();
	assert_int_equal(raises[I8042_AUX_IRQ], 3);
	assert_int_equal(raises[I8042_KBD_IRQ], 0);
	aux(0xf2);
	EXPECT_AUX(0xfa, 0x00);
	aux(0xe9); /* status: stream, off, 1:1; resolution 2; 100/s */
	EXPECT_AUX(0xfa, 0x00, 0x02, 0x64);
	aux(0xe8);
	aux(0x03);
	EXPECT_AUX(0xfa, 0xfa);
	aux(0xe8);
	aux(0x07);
	EXPECT_AUX(0xfa, 0xfe);
	aux(0xe7);
	EXPECT_AUX(0xfa);
	aux(0xf4);
	EXPECT_AUX(0xfa);
	aux(0xf3);
	aux(40);
	EXPECT_AUX(0xfa, 0xfa);
	assert_int_equal(i8042_pointer(&kb, 0, 0, 0, I8042_BUTTON_LEFT), 1);
	EXPECT_AUX(0x09, 0x00, 0x00);
	aux(0xe9);
	EXPECT_AUX(0xfa, 0x34, 0x03, 40); /* left, on, 2:1 */
	aux(0xe6);
	aux(0xf6); /* defaults: reporting off */
	EXPECT_AUX(0xfa, 0xfa);
	assert_int_equal(i8042_pointer(&kb, 5, 5, 0, 0), 0);
	EXPECT_NOTHING();
	aux(0x42); /* not a command */
	EXPECT_AUX(0xfe);
	aux(0xee); /* wrap mode: echoes */
	aux(0x12);
	aux(0xe9);
	EXPECT_AUX(0xfa, 0xe9);
	aux(0xec);
	EXPECT_AUX(0xfa);
	aux(0xfe); /* resend */
	EXPECT_AUX(0xfa);
	/* remote mode: motion waits for 0xeb */
	aux(0xf0);
	EXPECT_AUX(0xfa);
	assert_int_equal(i8042_pointer(&kb, 3, 0, 0, 0), 0);
	assert_int_equal(i8042_pointer(&kb, 4, -2, 0, 0), 0);
	EXPECT_NOTHING();
	aux(0xeb);
	EXPECT_AUX(0xfa, 0x08, 0x07, 0x02);
	aux(0xea);
	EXPECT_AUX(0xfa);
}

/* The IntelliMouse knock: rates 200, 100, 80, then ID 3 and 4-byte
 * packets; anything else in between leaves ID 0. */
static void
mouse_intellimouse_knock(void **state)
{
	static const uint8_t wrong[] = {200, 100, 60, 80};
	static const uint8_t knock[] = {200, 100, 80};
	(void)state;
	mouse_on();
	for (size_t i = 0; i < sizeof(wrong); i++) {
		aux(0xf3);
		aux(wrong[i]);
		EXPECT_AUX(0xfa, 0xfa);
	}
	aux(0xf2);
	EXPECT_AUX(0xfa, 0x00);
	for (size_t i = 0; i < sizeof(knock); i++) {
		aux(0xf3);
		aux(knock[i]);
		EXPECT_AUX(0xfa, 0xfa);
	}
	aux(0xf2);
	EXPECT_AUX(0xfa, 0x03);
	aux(0xf4);
	EXPECT_AUX(0xfa);
	assert_int_equal(i8042_pointer(&kb, 1, 0, 2, 0), 1);
	EXPECT_AUX(0x08, 0x01, 0x00, 0x02);
	assert_int_equal(i8042_pointer(&kb, 0, 0, -20, 0), 1);
	EXPECT_AUX(0x08, 0x00, 0x00, 0xf8); /* clamped to -8 */
	/* a reset forgets the knock */
	aux(0xff);
	EXPECT_AUX(0xfa, 0xaa, 0x00);
	aux(0xf2);
	EXPECT_AUX(0xfa, 0x00);
}

/* Sign bits, Y upwards, overflow and clamping, the button order. */
static void
mouse_packets(void **state)
{
	(void)state;
	mouse_on();
	aux(0xf4);
	EXPECT_AUX(0xfa);
	/* 5 right, 3 down (screen) = Y -3 */
	assert_int_equal(i8042_pointer(&kb, 5, 3, 0, I8042_BUTTON_LEFT), 1);
	EXPECT_AUX(0x29, 0x05, 0xfd);
	assert_int_equal(i8042_pointer(&kb, -10, -20, 0, 0), 1);
	EXPECT_AUX(0x18, 0xf6, 0x14);
	assert_int_equal(i8042_pointer(&kb, 0, 0, 0, I8042_BUTTON_RIGHT), 1);
	EXPECT_AUX(0x0a, 0x00, 0x00);
	assert_int_equal(i8042_pointer(&kb, 0, 0, 0, I8042_BUTTON_MIDDLE), 1);
	EXPECT_AUX(0x0c, 0x00, 0x00);
	assert_int_equal(i8042_pointer(&kb, 0, 0, 0, I8042_BUTTON_MIDDLE), 0);
	assert_int_equal(i8042_pointer(&kb, 0, 0, 3, 0), 1); /* no wheel */
	EXPECT_AUX(0x08, 0x00, 0x00);
	/* beyond a packet: clamped, overflow bits */
	assert_int_equal(i8042_pointer(&kb, 300, -400, 0, 0), 1);
	EXPECT_AUX(0xc8, 0xff, 0xff);
	assert_int_equal(i8042_pointer(&kb, -1000, 256, 0, 0), 1);
	EXPECT_AUX(0x78, 0x00, 0x00);
	assert_int_equal(i8042_pointer(&kb, -256, -255, 0, 0), 1);
	EXPECT_AUX(0x18, 0x00, 0xff); /* the limits themselves: no overflow */
	assert_int_equal(i8042_pointer(&kb, INT32_MIN, INT32_MIN, 0, 0), 1);
	EXPECT_AUX(0xd8, 0x00, 0xff);
}

/* Absolute VNC positions become motion: a far jump in several packets,
 * and the origin follows what was sent. */
static void
mouse_absolute(void **state)
{
	struct i8042_abs a = {0};
	uint8_t got[64];
	(void)state;
	mouse_on();
	aux(0xf4);
	EXPECT_AUX(0xfa);
	assert_int_equal(i8042_pointer_abs(&kb, &a, 100, 100, 0, 0), 0);
	EXPECT_NOTHING();
	assert_int_equal(i8042_pointer_abs(&kb, &a, 700, 90, 0, 0), 3);
	assert_int_equal(drain(got, NULL, sizeof(got)), 9);
	assert_int_equal(got[0], 0x08);
	assert_int_equal(got[1] + got[4] + got[7], 600);
	assert_int_equal(got[2], 10); /* 10 up */
	assert_int_equal(a.x, 700);
	assert_int_equal(a.y, 90);
	assert_int_equal(i8042_pointer_abs(&kb, &a, 700, 90, 0, 1), 1);
	EXPECT_AUX(0x09, 0x00, 0x00);
}

/* Flooding: the queues stay bounded, events drop whole and are counted. */
static void
queues_bounded(void **state)
{
	struct i8042_stats st;
	uint8_t got[1024];
	int queued = 0, dropped = 0;
	(void)state;
	/* before the guest sets the controller up: a keyboard's 16 bytes */
	for (int i = 0; i < 100; i++) {
		int r = i8042_key(&kb, XK_Right, true);
		queued += r == 1;
		dropped += r == -1;
	}
	/* 1 byte in the output buffer, 16 behind it; 2 bytes per event */
	assert_int_equal(queued, 8);
	assert_int_equal(dropped, 92);
	i8042_stats(&kb, &st);
	assert_int_equal(st.keys_dropped, 92);
	assert_int_equal(drain(got, NULL, sizeof(got)), 16);
	/* after: the full queue, whole sequences only */
	set_config(0x45);
	queued = dropped = 0;
	for (int i = 0; i < 1000; i++) {
		int r = i8042_key(&kb, 'A', (i & 1) == 0);
		queued += r == 1;
		dropped += r == -1;
	}
	assert_true(dropped > 0);
	size_t n = drain(got, NULL, sizeof(got));
	assert_true(n <= I8042_KBD_QUEUE + 1);
	for (size_t i = 0; i < n;) { /* 2a 1e aa, then 9e, whole */
		if (got[i] == 0x2a) {
			assert_true(i + 2 < n);
			assert_int_equal(got[i + 1], 0x1e);
			assert_int_equal(got[i + 2], 0xaa);
			i += 3;
		} else {
			assert_int_equal(got[i], 0x9e);
			i++;
		}
	}
	i8042_stats(&kb, &st);
	assert_int_equal(st.keys_dropped, 92 + (uint64_t)dropped);
	/* the mouse */
	mouse_on();
	aux(0xf4);
	EXPECT_AUX(0xfa);
	queued = dropped = 0;
	for (int i = 0; i < 1000; i++) {
		int r = i8042_pointer(&kb, 1, 1, 0, 0);
		queued += r == 1;
		dropped += r == -1;
	}
	/* the queue and the output buffer hold whole packets */
	assert_int_equal(queued, (I8042_AUX_QUEUE + 1) / 3);
	assert_int_equal(dropped, 1000 - queued);
	n = drain(got, NULL, sizeof(got));
	assert_int_equal(n, 3 * (size_t)queued);
	for (size_t i = 0; i < n; i += 3)
		assert_memory_equal(got + i, ((const uint8_t[]){0x28, 1, 0xff}),
				    3);
	i8042_stats(&kb, &st);
	assert_int_equal(st.packets_dropped, (uint64_t)dropped);
}

/* Keyboard and mouse share the buffer: each byte says where it is from. */
static void
kbd_and_mouse_interleave(void **state)
{
	uint8_t got[64], a[64];
	(void)state;
	mouse_on();
	aux(0xf4);
	EXPECT_AUX(0xfa);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(i8042_pointer(&kb, 1, 0, 0, 0), 1);
		key('a', true);
		key('a', false);
	}
	size_t n = drain(got, a, sizeof(got));
	assert_int_equal(n, 15);
	int kbd = 0, mouse = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i])
			assert_int_equal(got[i], "\x08\x01\x00"[mouse++ % 3]);
		else
			assert_int_equal(got[i], kbd++ & 1 ? 0x9e : 0x1e);
	}
	assert_int_equal(kbd, 6);
	assert_int_equal(mouse, 9);
	/* the aux port disabled holds the mouse's bytes back */
	wr(0x64, 0xa7);
	assert_int_equal(i8042_pointer(&kb, 1, 0, 0, 0), 1);
	EXPECT_NOTHING();
	wr(0x64, 0xa8);
	EXPECT_AUX(0x08, 0x01, 0x00);
}

/* A guest reboot: keyboard and mouse at power-on too. */
static void
reset_powers_devices_on(void **state)
{
	(void)state;
	mouse_on();
	static const uint8_t knock[] = {200, 100, 80};
	for (size_t i = 0; i < 3; i++) {
		aux(0xf3);
		aux(knock[i]);
	}
	aux(0xf4);
	wr(0x60, 0xf5); /* keyboard off */
	wr(0x60, 0xed); /* and half a command */
	assert_int_equal(i8042_pointer(&kb, 1, 0, 0, 0), 1);
	assert_int_equal(level[I8042_AUX_IRQ] + level[I8042_KBD_IRQ], 1);
	bus_reset(&bus);
	assert_int_equal(level[I8042_AUX_IRQ], 0);
	assert_int_equal(level[I8042_KBD_IRQ], 0);
	EXPECT_NOTHING();
	wr(0x64, 0x20);
	EXPECT_KBD(0x45);
	key('a', true); /* scanning, translated */
	EXPECT_KBD(0x1e);
	wr(0x64, 0xa8);
	set_config(0x47);
	assert_int_equal(i8042_pointer(&kb, 1, 0, 0, 0), 0); /* reporting off */
	aux(0xf2);
	EXPECT_AUX(0xfa, 0x00);
	aux(0xe9);
	EXPECT_AUX(0xfa, 0x00, 0x02, 100);
}

/* The monitor's loop types while a vCPU reads: every byte the guest gets
 * belongs to a whole sequence, in order. */
static void *
typist(void *arg)
{
	struct i8042 *k = arg;
	for (int i = 0; i < 20000; i++)
		while (i8042_key(k, XK_Right, (i & 1) == 0) < 0)
			;
	return NULL;
}

static void
threads_type_and_read(void **state)
{
	pthread_t t;
	int seen = 0, expect_e0 = 1, down = 1;
	(void)state;
	set_config(0x45);
	assert_int_equal(pthread_create(&t, NULL, typist, &kb), 0);
	while (seen < 40000) {
		if (!(rd(0x64) & 0x01))
			continue;
		uint8_t v = rd(0x60);
		if (expect_e0) {
			assert_int_equal(v, 0xe0);
		} else {
			assert_int_equal(v, down ? 0x4d : 0xcd);
			down = !down;
		}
		expect_e0 = !expect_e0;
		seen++;
	}
	pthread_join(t, NULL);
	EXPECT_NOTHING();
}

static void
keymap_covers_printable_ascii(void **state)
{
	struct keymap_key k;
	(void)state;
	for (uint32_t c = 0x20; c < 0x7f; c++) {
		assert_true(keymap_lookup(c, &k));
		assert_int_not_equal(k.code, 0);
		/* letters: one key, Shift the difference */
		if (c >= 'a' && c <= 'z') {
			struct keymap_key up;
			assert_true(keymap_lookup(c - 0x20, &up));
			assert_int_equal(up.code, k.code);
			assert_int_equal(k.flags, KEYMAP_NOSHIFT);
			assert_int_equal(up.flags, KEYMAP_SHIFT);
		}
	}
	assert_false(keymap_lookup(0x7f, &k));
	assert_false(keymap_lookup(0xff00, &k));
	assert_false(keymap_lookup(0x1000041, &k));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(kbd_commands_untranslated),
	    T(kbd_commands_translated),
	    T(keys_translated_to_set1),
	    T(keys_in_set2),
	    T(keys_shift_as_viewers_send_it),
	    T(kbd_irq_line),
	    T(controller_commands),
	    T(mouse_commands),
	    T(mouse_intellimouse_knock),
	    T(mouse_packets),
	    T(mouse_absolute),
	    T(queues_bounded),
	    T(kbd_and_mouse_interleave),
	    T(reset_powers_devices_on),
	    T(threads_type_and_read),
	    cmocka_unit_test(keymap_covers_printable_ascii),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
