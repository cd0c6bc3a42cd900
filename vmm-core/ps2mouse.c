#include "ps2mouse.h"

#include <stddef.h>

#define ACK 0xfa
#define RESEND 0xfe
#define BAT_OK 0xaa

static void
defaults(struct ps2mouse *m)
{
	m->reporting = m->remote = m->scale21 = false;
	m->rate = 100;
	m->resolution = 2; /* 4 counts/mm */
	m->pending = 0;
	m->rx = m->ry = m->rz = 0;
}

void
ps2mouse_init(struct ps2mouse *m, uint16_t cap)
{
	ps2fifo_init(&m->q, cap);
	defaults(m);
	m->wrap = false;
	m->id = 0;
	m->knock[0] = m->knock[1] = m->knock[2] = 0;
	m->buttons = 0;
	m->dropped = 0;
}

/* An answer always fits: the queue was just cleared and holds >= 4 bytes. */
static void
reply(struct ps2mouse *m, const uint8_t *p, size_t n)
{
	(void)ps2fifo_push(&m->q, p, n);
}

static void
reply1(struct ps2mouse *m, uint8_t v)
{
	reply(m, &v, 1);
}

static int
clamp(int v, int lo, int hi, bool *over)
{
	if (v < lo || v > hi) {
		*over = true;
		return v < lo ? lo : hi;
	}
	return v;
}

int
ps2mouse_packet(const struct ps2mouse *m, int dx, int dy, int dz, uint8_t *p)
{
	bool xo = false, yo = false, zo = false;
	int x = clamp(dx, PS2MOUSE_MIN, PS2MOUSE_MAX, &xo);
	int y = clamp(dy, PS2MOUSE_MIN, PS2MOUSE_MAX, &yo);

	p[0] =
	    (uint8_t)(0x08 | (m->buttons & 0x07) | (x < 0 ? 0x10 : 0) |
		      (y < 0 ? 0x20 : 0) | (xo ? 0x40 : 0) | (yo ? 0x80 : 0));
	p[1] = (uint8_t)(x & 0xff);
	p[2] = (uint8_t)(y & 0xff);
	if (m->id != 3)
		return 3;
	p[3] = (uint8_t)(clamp(dz, -8, 7, &zo) & 0xff);
	return 4;
}

static void
status(struct ps2mouse *m)
{
	/* byte 1: bit 0 right, 1 middle, 2 left (not the packet's order),
	 * 4 scaling 2:1, 5 reporting, 6 remote mode */
	uint8_t b =
	    (uint8_t)(((m->buttons & PS2MOUSE_RIGHT) ? 0x01 : 0) |
		      ((m->buttons & PS2MOUSE_MIDDLE) ? 0x02 : 0) |
		      ((m->buttons & PS2MOUSE_LEFT) ? 0x04 : 0) |
		      (m->scale21 ? 0x10 : 0) | (m->reporting ? 0x20 : 0) |
		      (m->remote ? 0x40 : 0));

	reply(m, (const uint8_t[]){ACK, b, m->resolution, m->rate}, 4);
}

static void
data_byte(struct ps2mouse *m, uint8_t cmd, uint8_t v)
{
	if (cmd == 0xf3) {
		m->rate = v;
		m->knock[0] = m->knock[1];
		m->knock[1] = m->knock[2];
		m->knock[2] = v;
		if (m->knock[0] == 200 && m->knock[1] == 100 &&
		    m->knock[2] == 80)
			m->id = 3;
		reply1(m, ACK);
	} else { /* 0xe8 */
		if (v > 3) {
			reply1(m, RESEND);
			return;
		}
		m->resolution = v;
		reply1(m, ACK);
	}
}

void
ps2mouse_write(struct ps2mouse *m, uint8_t v)
{
	uint8_t cmd = m->pending;
	uint8_t last = m->q.last;
	uint8_t pk[5];
	int n;

	ps2fifo_clear(&m->q);
	m->pending = 0;
	if (m->wrap && v != 0xec && v != 0xff) {
		reply1(m, v);
		return;
	}
	if (cmd != 0) {
		data_byte(m, cmd, v);
		return;
	}
	switch (v) {
	case 0xe6:
		m->scale21 = false;
		reply1(m, ACK);
		break;
	case 0xe7:
		m->scale21 = true;
		reply1(m, ACK);
		break;
	case 0xe8: /* resolution */
	case 0xf3: /* sample rate */
		m->pending = v;
		reply1(m, ACK);
		break;
	case 0xe9:
		status(m);
		break;
	case 0xea:
		m->remote = false;
		m->rx = m->ry = m->rz = 0;
		reply1(m, ACK);
		break;
	case 0xeb: /* read data: a packet even with nothing new */
		pk[0] = ACK;
		n = ps2mouse_packet(m, m->rx, m->ry, m->rz, pk + 1);
		m->rx = m->ry = m->rz = 0;
		reply(m, pk, (size_t)n + 1);
		break;
	case 0xec:
		m->wrap = false;
		reply1(m, ACK);
		break;
	case 0xee:
		m->wrap = true;
		reply1(m, ACK);
		break;
	case 0xf0:
		m->remote = true;
		m->rx = m->ry = m->rz = 0;
		reply1(m, ACK);
		break;
	case 0xf2:
		reply(m, (const uint8_t[]){ACK, m->id}, 2);
		break;
	case 0xf4:
		m->reporting = true;
		reply1(m, ACK);
		break;
	case 0xf5:
		m->reporting = false;
		reply1(m, ACK);
		break;
	case 0xf6:
		defaults(m);
		reply1(m, ACK);
		break;
	case 0xfe:
		reply1(m, last);
		break;
	case 0xff:
		defaults(m);
		m->wrap = false;
		m->id = 0;
		reply(m, (const uint8_t[]){ACK, BAT_OK, 0x00}, 3);
		break;
	default:
		reply1(m, RESEND);
		break;
	}
}

/* 2:1 scaling as a mouse applies it to stream reports. */
static int
scale(int d)
{
	static const int small[6] = {0, 1, 1, 3, 6, 9};
	int a = d < 0 ? -d : d;

	if (a >= 6)
		return 2 * d;
	return d < 0 ? -small[a] : small[a];
}

/* Motion saturates at +-65536: far beyond a packet, far from overflowing
 * an int when scaled or added up. */
#define MOTION_LIMIT 65536

static int
sat(long v)
{
	return v > MOTION_LIMIT	   ? MOTION_LIMIT
	       : v < -MOTION_LIMIT ? -MOTION_LIMIT
				   : (int)v;
}

static int
sat_add(int a, int b)
{
	return sat((long)a + b);
}

int
ps2mouse_motion(struct ps2mouse *m, int dx, int dy, int dz, unsigned buttons)
{
	uint8_t b = (uint8_t)(buttons & 0x07), pk[4];
	bool changed = b != m->buttons;
	int n;

	m->buttons = b;
	dx = sat(dx);
	dy = sat(dy);
	dz = sat(dz);
	if (m->id != 3)
		dz = 0;
	if (m->remote) {
		m->rx = sat_add(m->rx, dx);
		m->ry = sat_add(m->ry, dy);
		m->rz = sat_add(m->rz, dz);
		return 0;
	}
	if (!m->reporting || m->wrap || (!changed && !dx && !dy && !dz))
		return 0;
	if (m->scale21) {
		dx = scale(dx);
		dy = scale(dy);
	}
	n = ps2mouse_packet(m, dx, dy, dz, pk);
	if (!ps2fifo_push(&m->q, pk, (size_t)n)) {
		m->dropped++;
		return -1;
	}
	return 1;
}
