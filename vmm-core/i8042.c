#include "i8042.h"

#include <limits.h>
#include <string.h>

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04	     /* self test passed */
#define STATUS_CMD 0x08	     /* last write was to 0x64 */
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited by the key lock */
#define STATUS_AUXB 0x20     /* the output buffer holds aux data */

#define CONFIG_KBD_INT 0x01
#define CONFIG_AUX_INT 0x02
#define CONFIG_KBD_OFF 0x10
#define CONFIG_AUX_OFF 0x20
#define CONFIG_XLATE 0x40
#define CONFIG_POWER_ON 0x45 /* kbd irq on, translation on, system flag */

#define CTL_AUX 0x100 /* a controller answer that reads as aux data */

/*
 * Set 2 to set 1, as the 8042 translates: entry [set-2 code] = set-1 code,
 * written from the published set-1 and set-2 tables key by key (IBM's
 * keyboard technical references; A. Brouwer's "Keyboard scancodes").  An
 * E0-prefixed key uses the same entry after the prefix (E0 74 Right ->
 * E0 4D).  0 = no key there: the byte passes unchanged (our keyboard never
 * sends those).
 */
static const uint8_t xlate[0x80] = {
    [0x01] = 0x43, /* F9 */
    [0x02] = 0x41, /* no key: the 8042 gives F7's set-1 code here, which
		    * is what a "which set" query answering 2 reads as */
    [0x03] = 0x3f, /* F5 */
    [0x04] = 0x3d, /* F3 */
    [0x05] = 0x3b, /* F1 */
    [0x06] = 0x3c, /* F2 */
    [0x07] = 0x58, /* F12 */
    [0x09] = 0x44, /* F10 */
    [0x0a] = 0x42, /* F8 */
    [0x0b] = 0x40, /* F6 */
    [0x0c] = 0x3e, /* F4 */
    [0x0d] = 0x0f, /* Tab */
    [0x0e] = 0x29, /* ` ~ */
    [0x11] = 0x38, /* left Alt (E0: right Alt) */
    [0x12] = 0x2a, /* left Shift */
    [0x14] = 0x1d, /* left Ctrl (E0: right Ctrl) */
    [0x15] = 0x10, /* Q */
    [0x16] = 0x02, /* 1 ! */
    [0x1a] = 0x2c, /* Z */
    [0x1b] = 0x1f, /* S */
    [0x1c] = 0x1e, /* A */
    [0x1d] = 0x11, /* W */
    [0x1e] = 0x03, /* 2 @ */
    [0x1f] = 0x5b, /* E0: left GUI */
    [0x21] = 0x2e, /* C */
    [0x22] = 0x2d, /* X */
    [0x23] = 0x20, /* D */
    [0x24] = 0x12, /* E */
    [0x25] = 0x05, /* 4 $ */
    [0x26] = 0x04, /* 3 # */
    [0x27] = 0x5c, /* E0: right GUI */
    [0x29] = 0x39, /* Space */
    [0x2a] = 0x2f, /* V */
    [0x2b] = 0x21, /* F */
    [0x2c] = 0x14, /* T */
    [0x2d] = 0x13, /* R */
    [0x2e] = 0x06, /* 5 % */
    [0x2f] = 0x5d, /* E0: Menu */
    [0x31] = 0x31, /* N */
    [0x32] = 0x30, /* B */
    [0x33] = 0x23, /* H */
    [0x34] = 0x22, /* G */
    [0x35] = 0x15, /* Y */
    [0x36] = 0x07, /* 6 ^ */
    [0x3a] = 0x32, /* M */
    [0x3b] = 0x24, /* J */
    [0x3c] = 0x16, /* U */
    [0x3d] = 0x08, /* 7 & */
    [0x3e] = 0x09, /* 8 * */
    [0x41] = 0x33, /* , < */
    [0x42] = 0x25, /* K */
    [0x43] = 0x17, /* I */
    [0x44] = 0x18, /* O */
    [0x45] = 0x0b, /* 0 ) */
    [0x46] = 0x0a, /* 9 ( */
    [0x49] = 0x34, /* . > */
    [0x4a] = 0x35, /* / ? (E0: keypad /) */
    [0x4b] = 0x26, /* L */
    [0x4c] = 0x27, /* ; : */
    [0x4d] = 0x19, /* P */
    [0x4e] = 0x0c, /* - _ */
    [0x52] = 0x28, /* ' " */
    [0x54] = 0x1a, /* [ { */
    [0x55] = 0x0d, /* = + */
    [0x58] = 0x3a, /* Caps Lock */
    [0x59] = 0x36, /* right Shift */
    [0x5a] = 0x1c, /* Enter (E0: keypad Enter) */
    [0x5b] = 0x1b, /* ] } */
    [0x5d] = 0x2b, /* \ | */
    [0x61] = 0x56, /* the 102nd key (ISO < >) */
    [0x66] = 0x0e, /* Backspace */
    [0x69] = 0x4f, /* keypad 1 (E0: End) */
    [0x6b] = 0x4b, /* keypad 4 (E0: Left) */
    [0x6c] = 0x47, /* keypad 7 (E0: Home) */
    [0x70] = 0x52, /* keypad 0 (E0: Insert) */
    [0x71] = 0x53, /* keypad . (E0: Delete) */
    [0x72] = 0x50, /* keypad 2 (E0: Down) */
    [0x73] = 0x4c, /* keypad 5 */
    [0x74] = 0x4d, /* keypad 6 (E0: Right) */
    [0x75] = 0x48, /* keypad 8 (E0: Up) */
    [0x76] = 0x01, /* Escape */
    [0x77] = 0x45, /* Num Lock */
    [0x78] = 0x57, /* F11 */
    [0x79] = 0x4e, /* keypad + */
    [0x7a] = 0x51, /* keypad 3 (E0: Page Down) */
    [0x7b] = 0x4a, /* keypad - */
    [0x7c] = 0x37, /* keypad * (E0: Print Screen) */
    [0x7d] = 0x49, /* keypad 9 (E0: Page Up) */
    [0x7e] = 0x46, /* Scroll Lock */
};

/* Codes from 0x80 up pass unchanged (0xe0, 0xe1 prefixes, 0xfa ack, 0xaa,
 * 0xab, 0xee, 0xfe), but for the two keys whose set-2 codes have bit 7. */
static uint8_t
translate(uint8_t v)
{
	if (v == 0x83) /* F7 */
		return 0x41;
	if (v == 0x84) /* Alt+SysRq */
		return 0x54;
	if (v < 0x80 && xlate[v] != 0)
		return xlate[v];
	return v;
}

static uint8_t
config(const struct i8042 *k)
{
	return k->ram[0];
}

/* Drives both lines from the output buffer and the configuration byte. */
static void
update_irq(struct i8042 *k)
{
	int kbd = k->obf && !k->out_aux && (config(k) & CONFIG_KBD_INT);
	int aux = k->obf && k->out_aux && (config(k) & CONFIG_AUX_INT);

	if (kbd != k->irq_kbd) {
		k->irq_kbd = kbd;
		bus_irq(&k->dev, I8042_KBD_IRQ, kbd);
	}
	if (aux != k->irq_aux) {
		k->irq_aux = aux;
		bus_irq(&k->dev, I8042_AUX_IRQ, aux);
	}
}

static void
ctl_push(struct i8042 *k, uint16_t v)
{
	if (k->ctl_len == I8042_CTL_QUEUE)
		return; /* a guest that never reads: its answers are lost */
	k->ctl[(k->ctl_head + k->ctl_len) % I8042_CTL_QUEUE] = v;
	k->ctl_len++;
}

/* The next keyboard byte as the guest sees it; false if none yet. */
static bool
kbd_take(struct i8042 *k, uint8_t *v)
{
	int b;

	while ((b = ps2fifo_pop(&k->kbd.q)) >= 0) {
		if (!(config(k) & CONFIG_XLATE)) {
			*v = (uint8_t)b;
			return true;
		}
		if (b == 0xf0) {
			k->xl_break = true;
			continue;
		}
		*v = translate((uint8_t)b);
		if (k->xl_break)
			*v |= 0x80;
		k->xl_break = false;
		return true;
	}
	return false;
}

/* Fills an empty output buffer, then sets the lines.  The two devices take
 * turns, so a moving mouse cannot hold the keyboard back or the reverse. */
static void
fill(struct i8042 *k)
{
	bool kbd_ready = !(config(k) & CONFIG_KBD_OFF) && k->kbd.q.len > 0;
	bool aux_ready = !(config(k) & CONFIG_AUX_OFF) && k->mouse.q.len > 0;

	if (!k->obf && k->ctl_len > 0) {
		uint16_t v = k->ctl[k->ctl_head];
		k->ctl_head = (k->ctl_head + 1) % I8042_CTL_QUEUE;
		k->ctl_len--;
		k->out = (uint8_t)v;
		k->out_aux = v & CTL_AUX;
		k->obf = true;
	}
	if (!k->obf && kbd_ready && !(aux_ready && !k->aux_last) &&
	    kbd_take(k, &k->out)) {
		k->out_aux = false;
		k->obf = true;
		k->aux_last = false;
	}
	if (!k->obf && aux_ready) {
		k->out = (uint8_t)ps2fifo_pop(&k->mouse.q);
		k->out_aux = true;
		k->obf = true;
		k->aux_last = true;
	}
	if (!k->obf && kbd_ready && kbd_take(k, &k->out)) {
		k->out_aux = false;
		k->obf = true;
		k->aux_last = false;
	}
	update_irq(k);
}

static uint8_t
output_port(const struct i8042 *k)
{
	/* bit 0 CPU not in reset, bit 1 A20 on, bits 4/5 buffer full from
	 * the keyboard / aux side */
	return (uint8_t)(0x03 | (k->obf && !k->out_aux ? 0x10 : 0) |
			 (k->obf && k->out_aux ? 0x20 : 0));
}

static void
command(struct i8042 *k, uint8_t cmd)
{
	if (cmd >= 0x20 && cmd <= 0x3f) { /* read RAM, 0x20: config */
		ctl_push(k, k->ram[cmd & 0x1f]);
		return;
	}
	if (cmd >= 0x60 && cmd <= 0x7f) { /* write RAM: data follows */
		k->cmd = cmd;
		return;
	}
	switch (cmd) {
	case 0xd1: /* write output port: data follows */
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer */
	case 0xd4: /* write to aux device */
		k->cmd = cmd;
		break;
	case 0xa7: /* disable aux */
		k->ram[0] |= CONFIG_AUX_OFF;
		break;
	case 0xa8: /* enable aux */
		k->ram[0] &= (uint8_t)~CONFIG_AUX_OFF;
		break;
	case 0xa9: /* test aux port: clock and data lines fine */
		ctl_push(k, 0x00);
		break;
	case 0xaa: /* controller self test */
		ctl_push(k, 0x55);
		break;
	case 0xab: /* test keyboard port */
		ctl_push(k, 0x00);
		break;
	case 0xad: /* disable keyboard */
		k->ram[0] |= CONFIG_KBD_OFF;
		break;
	case 0xae: /* enable keyboard */
		k->ram[0] &= (uint8_t)~CONFIG_KBD_OFF;
		break;
	case 0xd0: /* read output port */
		ctl_push(k, output_port(k));
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 clear = CPU reset. */
		if ((cmd & 0xf0) == 0xf0 && !(cmd & 0x01))
			k->reset_line(k->opaque);
		break;
	}
}

static void
data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->cmd;

	k->cmd = 0;
	if (cmd >= 0x60 && cmd <= 0x7f) {
		k->ram[cmd & 0x1f] = v;
		if (cmd == 0x60 && !k->config_set) {
			/* the guest has taken over: room for pastes */
			k->config_set = true;
			k->kbd.q.cap = I8042_KBD_QUEUE;
		}
		return;
	}
	switch (cmd) {
	case 0xd1:
		if (!(v & 0x01))
			k->reset_line(k->opaque);
		break;
	case 0xd2: /* as if the keyboard sent it; not translated */
		ctl_push(k, v);
		break;
	case 0xd3: /* as if the mouse sent it */
		ctl_push(k, v | CTL_AUX);
		break;
	case 0xd4:
		ps2mouse_write(&k->mouse, v);
		break;
	default: /* no controller command: the byte is for the keyboard */
		ps2kbd_write(&k->kbd, v);
		/* what it had not sent is gone; so is a half-seen break */
		k->xl_break = false;
		break;
	}
}

static void
i8042_io(struct bus_device *dev, uint64_t base, uint64_t offset, uint8_t *data,
	 uint32_t len, bool is_write)
{
	struct i8042 *k = (struct i8042 *)dev;

	if (len != 1 || offset != 0) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (base == I8042_DATA_PORT) {
		if (is_write) {
			data_write(k, data[0]);
		} else {
			/* with nothing new, a PC reads the old byte again */
			data[0] = k->out;
			if (k->obf) {
				k->obf = false;
				update_irq(
				    k); /* lower: the next byte is an edge */
			}
		}
	} else { /* I8042_CMD_PORT: status / command */
		if (is_write)
			command(k, data[0]);
		else
			data[0] =
			    (uint8_t)(STATUS_SYS | STATUS_UNLOCKED |
				      (k->obf ? STATUS_OBF : 0) |
				      (k->obf && k->out_aux ? STATUS_AUXB : 0) |
				      (k->cmd ? STATUS_CMD : 0));
	}
	fill(k);
	pthread_mutex_unlock(&k->lock);
}

/* Power-on state; the caller holds the lock or owns K alone. */
static void
power_on(struct i8042 *k)
{
	k->cmd = 0;
	memset(k->ram, 0, sizeof(k->ram));
	k->ram[0] = CONFIG_POWER_ON;
	k->config_set = false;
	k->ctl_head = k->ctl_len = 0;
	k->out = 0;
	k->obf = k->out_aux = k->xl_break = k->aux_last = false;
	ps2kbd_init(&k->kbd, I8042_KBD_EARLY);
	ps2mouse_init(&k->mouse, I8042_AUX_QUEUE);
}

static void
i8042_dev_reset(struct bus_device *dev)
{
	struct i8042 *k = (struct i8042 *)dev;
	struct i8042_stats s;

	pthread_mutex_lock(&k->lock);
	s.keys_dropped = k->kbd.dropped; /* counters outlive a reboot */
	s.packets_dropped = k->mouse.dropped;
	power_on(k);
	k->kbd.dropped = s.keys_dropped;
	k->mouse.dropped = s.packets_dropped;
	update_irq(k);
	pthread_mutex_unlock(&k->lock);
}

static void
i8042_dev_destroy(struct bus_device *dev)
{
	pthread_mutex_destroy(&((struct i8042 *)dev)->lock);
}

static const struct bus_device_ops i8042_dev_ops = {
    .access = i8042_io,
    .reset = i8042_dev_reset,
    .destroy = i8042_dev_destroy,
};

void
i8042_init(struct i8042 *k, void (*reset_line)(void *), void *opaque)
{
	memset(k, 0, sizeof(*k));
	k->dev.name = "i8042";
	k->dev.ops = &i8042_dev_ops;
	k->reset_line = reset_line;
	k->opaque = opaque;
	power_on(k);
	pthread_mutex_init(&k->lock, NULL);
}

int
i8042_register(struct i8042 *k, struct bus *bus)
{
	if (bus_register(bus, BUS_PIO, I8042_DATA_PORT, 1, &k->dev) != 0 ||
	    bus_register(bus, BUS_PIO, I8042_CMD_PORT, 1, &k->dev) != 0)
		return -1;
	return 0;
}

int
i8042_key(struct i8042 *k, uint32_t keysym, bool down)
{
	int r;

	pthread_mutex_lock(&k->lock);
	r = ps2kbd_keysym(&k->kbd, keysym, down);
	fill(k);
	pthread_mutex_unlock(&k->lock);
	return r;
}

/* VNC's button order (left, middle, right) to the packet's (left, right,
 * middle). */
static unsigned
ps2_buttons(unsigned b)
{
	return ((b & I8042_BUTTON_LEFT) ? PS2MOUSE_LEFT : 0) |
	       ((b & I8042_BUTTON_MIDDLE) ? PS2MOUSE_MIDDLE : 0) |
	       ((b & I8042_BUTTON_RIGHT) ? PS2MOUSE_RIGHT : 0);
}

int
i8042_pointer(struct i8042 *k, int dx, int dy, int dz, unsigned buttons)
{
	int r;

	pthread_mutex_lock(&k->lock);
	/* the mouse's Y grows upwards (and -INT_MIN is no int) */
	r = ps2mouse_motion(&k->mouse, dx, dy == INT_MIN ? INT_MAX : -dy, dz,
			    ps2_buttons(buttons));
	fill(k);
	pthread_mutex_unlock(&k->lock);
	return r;
}

static int
clampl(long v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : (int)v;
}

#define ABS_MAX_PACKETS 8

int
i8042_pointer_abs(struct i8042 *k, struct i8042_abs *a, int x, int y, int dz,
		  unsigned buttons)
{
	long dx, dy;
	int n = 0;

	if (!a->known) {
		a->x = x;
		a->y = y;
		a->known = true;
	}
	dx = (long)x - a->x;
	dy = (long)y - a->y;
	for (;;) {
		/* one packet's worth; screen Y is the packet's flipped */
		int sx = clampl(dx, PS2MOUSE_MIN, PS2MOUSE_MAX);
		int sy = clampl(dy, -PS2MOUSE_MAX, -PS2MOUSE_MIN);
		int r = i8042_pointer(k, sx, sy, n == 0 ? dz : 0, buttons);
		if (r < 0)
			return -1;
		if (r == 0) { /* nothing due (not reporting): origin moves */
			a->x = x;
			a->y = y;
			return n;
		}
		n++;
		a->x += sx;
		a->y += sy;
		dx -= sx;
		dy -= sy;
		if ((dx == 0 && dy == 0) || n == ABS_MAX_PACKETS)
			return n;
	}
}

void
i8042_stats(struct i8042 *k, struct i8042_stats *s)
{
	pthread_mutex_lock(&k->lock);
	s->keys_dropped = k->kbd.dropped;
	s->packets_dropped = k->mouse.dropped;
	pthread_mutex_unlock(&k->lock);
}
