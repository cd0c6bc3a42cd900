#include "i8042.h"

#include <string.h>

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04 /* self test passed */
#define STATUS_CMD 0x08 /* last write was to 0x64 */

static void
out_push(struct i8042 *k, uint8_t v)
{
	if (k->out_len == (int)sizeof(k->outbuf))
		return;
	k->outbuf[(k->out_head + k->out_len) % sizeof(k->outbuf)] = v;
	k->out_len++;
}

static void
command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20: /* read configuration byte */
		out_push(k, k->config);
		break;
	case 0x60: /* write configuration byte: data follows */
	case 0xd1: /* write output port: data follows */
	case 0xd2: /* write keyboard output buffer */
	case 0xd3: /* write aux output buffer */
	case 0xd4: /* write to aux device */
		k->cmd = cmd;
		break;
	case 0xa7: /* disable aux */
		k->config |= 0x20;
		break;
	case 0xa8: /* enable aux */
		k->config &= (uint8_t)~0x20;
		break;
	case 0xa9: /* test aux port: no device yet, so report clock stuck */
		out_push(k, 0x01);
		break;
	case 0xaa: /* controller self test */
		out_push(k, 0x55);
		break;
	case 0xab: /* test keyboard port */
		out_push(k, 0x00);
		break;
	case 0xad: /* disable keyboard */
		k->config |= 0x10;
		break;
	case 0xae: /* enable keyboard */
		k->config &= (uint8_t)~0x10;
		break;
	case 0xd0: /* read output port: A20 on, no reset */
		out_push(k, 0x03);
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 clear = CPU reset. */
		if ((cmd & 0xf0) == 0xf0 && !(cmd & 0x01))
			k->reset(k->opaque);
		break;
	}
}

static void
data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->cmd;

	k->cmd = 0;
	switch (cmd) {
	case 0x60:
		k->config = v;
		break;
	case 0xd1:
		if (!(v & 0x01))
			k->reset(k->opaque);
		break;
	case 0xd2:
	case 0xd3:
		out_push(k, v);
		break;
	default:
		/* No keyboard or mouse device yet: a device that is absent
		 * does not answer, which the guest sees as a timeout. */
		break;
	}
}

static void
i8042_io(struct bus_device *dev, uint64_t addr, uint8_t *data, uint32_t len,
	 bool is_write)
{
	struct i8042 *k = (struct i8042 *)dev;

	if (len != 1 || (addr != 0 && addr != 4)) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&k->lock);
	if (addr == 0) { /* 0x60 data */
		if (is_write) {
			data_write(k, data[0]);
		} else if (k->out_len > 0) {
			data[0] = k->outbuf[k->out_head];
			k->out_head = (k->out_head + 1) % sizeof(k->outbuf);
			k->out_len--;
		} else {
			data[0] = 0;
		}
	} else { /* 0x64 status / command; 0x61-0x63 never get here */
		if (is_write)
			command(k, data[0]);
		else
			data[0] = STATUS_SYS | (k->out_len > 0 ? STATUS_OBF : 0) |
				  (k->cmd ? STATUS_CMD : 0);
	}
	pthread_mutex_unlock(&k->lock);
}

void
i8042_init(struct i8042 *k, void (*reset)(void *), void *opaque)
{
	memset(k, 0, sizeof(*k));
	k->dev.name = "i8042";
	k->dev.handler = i8042_io;
	k->reset = reset;
	k->opaque = opaque;
	k->config = 0x45; /* kbd irq on, translation on, system flag */
	pthread_mutex_init(&k->lock, NULL);
}

void
i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}
