/*
 * Fuzz target: the i8042 with its keyboard and mouse, driven by an
 * arbitrary mix of what the guest does (port reads and writes) and what the
 * VNC side does (keys, relative and absolute pointer events), with guest
 * reboots in between.  After every step the invariants must hold: queues
 * within their bounds, the interrupt lines exactly what the output buffer
 * and the configuration byte say, no byte left waiting behind an empty
 * output buffer (a lost interrupt), drop counters that only grow.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "i8042.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			abort();                                               \
	} while (0)

static int level[16];

static void
irq(void *o, int line, int lvl)
{
	(void)o;
	CHECK(line == I8042_KBD_IRQ || line == I8042_AUX_IRQ);
	CHECK(level[line] != lvl); /* only changes are driven */
	level[line] = lvl;
}

static void
reset_line(void *o)
{
	(void)o;
}

/* Keysyms worth hitting often: the mapped ones and their neighbours. */
static const uint32_t syms[] = {
    'a',    'A',    '!',    '1',    ' ',    '~',    0x7f,   0x1f,
    0xff08, 0xff09, 0xff0d, 0xff1b, 0xff50, 0xff51, 0xff53, 0xff57,
    0xff63, 0xffff, 0xffbe, 0xffc4, 0xffc9, 0xffe1, 0xffe2, 0xffe3,
    0xffe4, 0xffe9, 0xffea, 0xfe20, 0xfe03, 0xffb5, 0xff8d, 0xffaf,
};

struct in {
	const uint8_t *p;
	size_t n;
};

static uint8_t
next(struct in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static int
next16(struct in *in)
{
	int v = next(in);
	return (int16_t)(uint16_t)(v | next(in) << 8);
}

static void
invariants(struct i8042 *k, uint64_t *kd, uint64_t *md)
{
	uint8_t c = k->ram[0];
	struct i8042_stats s;

	CHECK(k->kbd.q.len <= k->kbd.q.cap && k->kbd.q.cap <= PS2FIFO_SIZE);
	CHECK(k->kbd.q.cap == I8042_KBD_EARLY ||
	      k->kbd.q.cap == I8042_KBD_QUEUE);
	CHECK(k->mouse.q.len <= k->mouse.q.cap &&
	      k->mouse.q.cap == I8042_AUX_QUEUE);
	CHECK(k->ctl_len >= 0 && k->ctl_len <= I8042_CTL_QUEUE);
	CHECK(level[I8042_KBD_IRQ] == (k->obf && !k->out_aux && (c & 0x01)));
	CHECK(level[I8042_AUX_IRQ] == (k->obf && k->out_aux && (c & 0x02)));
	if (!k->obf) {
		CHECK(k->ctl_len == 0);
		CHECK((c & 0x10) || k->kbd.q.len == 0);
		CHECK((c & 0x20) || k->mouse.q.len == 0);
	}
	CHECK(k->mouse.id == 0 || k->mouse.id == 3);
	i8042_stats(k, &s);
	CHECK(s.keys_dropped >= *kd && s.packets_dropped >= *md);
	*kd = s.keys_dropped;
	*md = s.packets_dropped;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct i8042 k;
	struct bus bus;
	struct i8042_abs abs = {0};
	struct in in = {data, size};
	uint64_t kd = 0, md = 0;
	uint8_t v, st;
	int steps = 0;

	memset(level, 0, sizeof(level));
	bus_init(&bus, irq, NULL);
	i8042_init(&k, reset_line, NULL);
	CHECK(i8042_register(&k, &bus) == 0);
	while (in.n > 0 && steps++ < 1024) {
		switch (next(&in) % 10) {
		case 0:
			bus_access(&bus, BUS_PIO, 0x60, &v, 1, false);
			break;
		case 1:
			bus_access(&bus, BUS_PIO, 0x64, &st, 1, false);
			CHECK(!!(st & 0x01) == k.obf);
			CHECK(!(st & 0x20) || (st & 0x01));
			break;
		case 2:
			v = next(&in);
			bus_access(&bus, BUS_PIO, 0x60, &v, 1, true);
			break;
		case 3:
			v = next(&in);
			bus_access(&bus, BUS_PIO, 0x64, &v, 1, true);
			break;
		case 4: {
			uint8_t b = next(&in);
			uint32_t sym =
			    b < 0x80
				? syms[b % (sizeof(syms) / sizeof(syms[0]))]
				: (uint32_t)next16(&in) & 0xffff;
			int r = i8042_key(&k, sym, b & 0x40);
			CHECK(r >= -1 && r <= 1);
			break;
		}
		case 5: {
			int dx = next16(&in), dy = next16(&in);
			int dz = (int8_t)next(&in);
			int r =
			    i8042_pointer(&k, dx * (dx & 7), dy, dz, next(&in));
			CHECK(r >= -1 && r <= 1);
			break;
		}
		case 6: {
			int x = next16(&in), y = next16(&in);
			int r =
			    i8042_pointer_abs(&k, &abs, x, y, 0, next(&in) & 7);
			CHECK(r >= -1 && r <= 8);
			break;
		}
		case 7:
			bus_reset(&bus);
			break;
		case 8: /* a whole aux command: 0xd4 then the byte */
			v = 0xd4;
			bus_access(&bus, BUS_PIO, 0x64, &v, 1, true);
			v = next(&in);
			bus_access(&bus, BUS_PIO, 0x60, &v, 1, true);
			break;
		case 9: /* drain what the guest would read */
			for (int i = 0; i < 600; i++) {
				bus_access(&bus, BUS_PIO, 0x64, &st, 1, false);
				if (!(st & 0x01))
					break;
				bus_access(&bus, BUS_PIO, 0x60, &v, 1, false);
			}
			break;
		}
		invariants(&k, &kd, &md);
	}
	bus_destroy(&bus);
	return 0;
}
