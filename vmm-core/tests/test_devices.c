/* Unit tests for the device models, driven through their bus handlers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus.h"
#include "console.h"
#include "i8042.h"
#include "memslot.h"
#include "pmreg.h"
#include "uart8250.h"

static int irq_level, irq_changes;
static size_t room = 1 << 20;
static uint8_t txbuf[4096];
static size_t txlen;

static int irq_line_seen = -1;

/* The bus's interrupt callback, as the VM's irqchip would be. */
static void
t_irq(void *o, int line, int level)
{
	(void)o;
	irq_line_seen = line;
	irq_level = level;
	irq_changes++;
}

static size_t
t_room(void *o)
{
	(void)o;
	return room;
}

static void
t_tx(void *o, uint8_t b)
{
	(void)o;
	if (txlen < sizeof(txbuf))
		txbuf[txlen++] = b;
}

static unsigned rx_space_calls;

static void
t_rx_space(void *o)
{
	(void)o;
	rx_space_calls++;
}

static const struct uart8250_ops ops = {t_room, t_tx, NULL};
static const struct uart8250_ops ops_space = {t_room, t_tx, t_rx_space};

static uint8_t
rd(struct bus *b, uint64_t port)
{
	uint8_t v;
	bus_access(b, BUS_PIO, port, &v, 1, false);
	return v;
}

static void
wr(struct bus *b, uint64_t port, uint8_t v)
{
	bus_access(b, BUS_PIO, port, &v, 1, true);
}

static struct uart8250 uart;
static struct bus bus;

/* A UART on a fresh bus, with the backend ops O. */
static int
uart_on_bus(const struct uart8250_ops *o)
{
	bus_init(&bus, t_irq, NULL);
	uart8250_init(&uart, o, NULL);
	assert_int_equal(bus_register(&bus, BUS_PIO, 0x3f8, 8, &uart.dev), 0);
	irq_level = irq_changes = 0;
	room = 1 << 20;
	txlen = 0;
	rx_space_calls = 0;
	return 0;
}

static int
setup_uart(void **state)
{
	(void)state;
	return uart_on_bus(&ops);
}

/* The same, with a backend that counts rx_space calls. */
static int
setup_uart_space(void **state)
{
	(void)state;
	return uart_on_bus(&ops_space);
}

static int
teardown_uart(void **state)
{
	(void)state;
	bus_destroy(&bus);
	return 0;
}

static void
uart_transmit_and_thre(void **state)
{
	(void)state;
	wr(&bus, 0x3fa, 0x07); /* FIFO on: 16 bytes per THRE */
	assert_true(rd(&bus, 0x3fd) & 0x20);
	wr(&bus, 0x3f8, 'h');
	wr(&bus, 0x3f8, 'i');
	assert_int_equal(txlen, 2);
	assert_memory_equal(txbuf, "hi", 2);
	room = 15; /* less than a FIFO: THR busy, the guest must wait */
	assert_false(rd(&bus, 0x3fd) & 0x20);
	/* THRE interrupt comes when room returns and the guest asked */
	wr(&bus, 0x3f9, 0x02);
	assert_int_equal(irq_level, 0);
	room = 64;
	uart8250_tx_kick(&uart);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(&bus, 0x3fa) & 0x0f, 0x02);
	assert_int_equal(rd(&bus, 0x3fa) & 0x0f, 0x01); /* acknowledged */
	assert_int_equal(irq_level, 0);
}

/* THRE promises room for what the FIFO mode lets a guest write at once. */
static void
uart_thre_follows_fifo_mode(void **state)
{
	(void)state;
	room = 1; /* FIFO off: a byte at a time */
	assert_true(rd(&bus, 0x3fd) & 0x20);
	room = 0;
	assert_false(rd(&bus, 0x3fd) & 0x20);
	wr(&bus, 0x3fa, 0x01); /* 16550A FIFO */
	room = 16;
	assert_true(rd(&bus, 0x3fd) & 0x20);
	room = 15;
	assert_false(rd(&bus, 0x3fd) & 0x20);
	wr(&bus, 0x3fb, 0x80); /* DLAB: the 64-byte bit may change */
	wr(&bus, 0x3fa, 0x21);
	wr(&bus, 0x3fb, 0x03);
	room = 63;
	assert_false(rd(&bus, 0x3fd) & 0x20);
	room = 64;
	assert_true(rd(&bus, 0x3fd) & 0x20);
	wr(&bus, 0x3fa, 0x00); /* FIFO off drops the 64-byte mode too */
	room = 1;
	assert_true(rd(&bus, 0x3fd) & 0x20);
	assert_int_equal(rd(&bus, 0x3fa) & 0xe0, 0x00);
}

/* Linux's 8250 autoconfig: FCR bit 5 sticks only with DLAB set (16750);
 * a UART that takes it without DLAB is a cheap clone. */
static void
uart_16750_probe(void **state)
{
	uint8_t status1, status2;

	(void)state;
	wr(&bus, 0x3fb, 0x00);
	wr(&bus, 0x3fa, 0x21);
	status1 = rd(&bus, 0x3fa) >> 5;
	wr(&bus, 0x3fa, 0x01);
	wr(&bus, 0x3fb, 0x80);
	wr(&bus, 0x3fa, 0x21);
	status2 = rd(&bus, 0x3fa) >> 5;
	wr(&bus, 0x3fa, 0x01);
	wr(&bus, 0x3fb, 0x00);
	assert_int_equal(status1, 6);
	assert_int_equal(status2, 7);
	/* the last FCR write, with DLAB, turned 64-byte mode off again */
	assert_int_equal(rd(&bus, 0x3fa) & 0xe0, 0xc0);
}

static void
uart_receive_irq(void **state)
{
	(void)state;
	wr(&bus, 0x3f9, 0x01); /* receive interrupt */
	assert_int_equal(irq_level, 0);
	assert_int_equal(uart8250_receive(&uart, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(&bus, 0x3fa) & 0x0f, 0x04);
	assert_true(rd(&bus, 0x3fd) & 0x01);
	assert_int_equal(rd(&bus, 0x3f8), 'a');
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(&bus, 0x3f8), 'b');
	assert_int_equal(irq_level, 0);
	assert_false(rd(&bus, 0x3fd) & 0x01);
}

static void
uart_receive_queue_bounded(void **state)
{
	static uint8_t big[UART8250_RXQ + 100];
	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(uart8250_receive(&uart, big, sizeof(big)),
			 UART8250_RXQ);
	assert_int_equal(uart8250_rx_room(&uart), 0);
	assert_int_equal(uart8250_receive(&uart, big, 1), 0);
	rd(&bus, 0x3f8);
	assert_int_equal(uart8250_rx_room(&uart), 1);
}

/* The backend hears of room as the guest reads: at the half mark, for a
 * reader that stopped at a full queue, and whenever the queue empties, for
 * a gateway whose typing never fills it (its credit came back only at the
 * half mark before: typing stalled for good after 4 KiB). */
static void
uart_rx_space_as_the_guest_reads(void **state)
{
	static uint8_t big[UART8250_RXQ];
	(void)state;
	for (int line = 0; line < 1000; line++) { /* 14 KiB, typed */
		assert_int_equal(
		    uart8250_receive(&uart, (const uint8_t *)"echo tick-42\r",
				     14),
		    14);
		for (int i = 0; i < 14; i++)
			rd(&bus, 0x3f8);
		assert_int_equal(rx_space_calls, (unsigned)line + 1);
		assert_int_equal(uart8250_rx_room(&uart), UART8250_RXQ);
	}
	rx_space_calls = 0;
	memset(big, 'x', sizeof(big));
	assert_int_equal(uart8250_receive(&uart, big, sizeof(big)),
			 sizeof(big));
	for (size_t i = 0; i < UART8250_RXQ / 2; i++)
		rd(&bus, 0x3f8);
	assert_int_equal(rx_space_calls, 0);
	rd(&bus, 0x3f8); /* below half full */
	assert_int_equal(rx_space_calls, 1);
	for (size_t i = 0; i < UART8250_RXQ / 2 - 2; i++)
		rd(&bus, 0x3f8);
	assert_int_equal(rx_space_calls, 1);
	rd(&bus, 0x3f8); /* empty */
	assert_int_equal(rx_space_calls, 2);
	rd(&bus, 0x3f8); /* reading an empty queue is no news */
	assert_int_equal(rx_space_calls, 2);
}

static void
uart_break(void **state)
{
	(void)state;
	wr(&bus, 0x3f9, 0x05); /* receive + line status */
	uart8250_send_break(&uart);
	assert_int_equal(irq_level, 1);
	assert_int_equal(rd(&bus, 0x3fa) & 0x0f, 0x06);
	uint8_t lsr = rd(&bus, 0x3fd);
	assert_true(lsr & 0x10);
	assert_true(lsr & 0x01);
	assert_false(rd(&bus, 0x3fd) & 0x10); /* reported once */
	assert_int_equal(rd(&bus, 0x3f8), 0);
	assert_int_equal(irq_level, 0);
}

static void
uart_loopback_probe(void **state)
{
	(void)state;
	/* What Linux's 8250 autoconfig checks before it trusts a port. */
	wr(&bus, 0x3fc, 0x1a);
	assert_int_equal(rd(&bus, 0x3fe) & 0xf0, 0x90);
	wr(&bus, 0x3f8, 'L');
	assert_int_equal(txlen, 0);
	assert_int_equal(rd(&bus, 0x3f8), 'L');
	wr(&bus, 0x3fc, 0x0b);
	assert_int_equal(rd(&bus, 0x3fe), 0xb0);
	/* divisor latch and scratch */
	wr(&bus, 0x3fb, 0x83);
	wr(&bus, 0x3f8, 1);
	wr(&bus, 0x3f9, 0);
	assert_int_equal(rd(&bus, 0x3f8), 1);
	wr(&bus, 0x3fb, 0x03);
	wr(&bus, 0x3ff, 0x5a);
	assert_int_equal(rd(&bus, 0x3ff), 0x5a);
}

static void
console_backpressure(void **state)
{
	struct console c;
	uint8_t buf[64];
	uint64_t lost;
	int was_full;
	(void)state;
	assert_int_equal(console_init(&c, 100), -EINVAL);
	assert_int_equal(console_init(&c, CONSOLE_CAP_DEFAULT), 0);
	assert_int_equal(console_tx_room(&c), CONSOLE_CAP_DEFAULT);
	for (int i = 0; i < CONSOLE_CAP_DEFAULT; i++)
		console_put(&c, (uint8_t)i);
	/* Full, but not stalled yet: the UART must show THR busy. */
	assert_int_equal(console_tx_room(&c), 0);
	/* A misbehaving guest writes anyway: the oldest byte goes. */
	console_put(&c, 0xee);
	size_t n = console_take(&c, buf, sizeof(buf), &lost, &was_full);
	assert_int_equal(n, sizeof(buf));
	assert_int_equal(lost, 1);
	assert_true(was_full);
	assert_int_equal(buf[0], 1);
	n = console_take(&c, buf, sizeof(buf), &lost, &was_full);
	assert_int_equal(lost, 0);
	assert_false(was_full);
	/* Nearly full (room for less than a burst) and no reader progress
	 * for CONSOLE_STALL_MS: the console stops holding the guest back. */
	assert_int_equal(console_tx_room(&c), 128);
	for (int i = 0; i < 120; i++)
		console_put(&c, 'x');
	assert_int_equal(console_tx_room(&c), 8);
	usleep((CONSOLE_STALL_MS + 100) * 1000);
	assert_int_equal(console_tx_room(&c), CONSOLE_CAP_DEFAULT);
	console_destroy(&c);
}

static int resets;
static void
on_reset(void *o)
{
	(void)o;
	resets++;
}

static void
i8042_commands(void **state)
{
	struct i8042 k;
	struct bus b;
	(void)state;
	bus_init(&b, NULL, NULL);
	i8042_init(&k, on_reset, NULL);
	assert_int_equal(i8042_register(&k, &b), 0);
	wr(&b, 0x64, 0xaa);
	assert_true(rd(&b, 0x64) & 0x01);
	assert_int_equal(rd(&b, 0x60), 0x55);
	assert_false(rd(&b, 0x64) & 0x01);
	wr(&b, 0x64, 0x60);
	wr(&b, 0x60, 0x47);
	wr(&b, 0x64, 0x20);
	assert_int_equal(rd(&b, 0x60), 0x47);
	assert_int_equal(resets, 0);
	wr(&b, 0x64, 0xfe);
	assert_int_equal(resets, 1);
	wr(&b, 0x64, 0xd1);
	wr(&b, 0x60, 0x02);
	assert_int_equal(resets, 2);
	bus_destroy(&b);
}

/* The controller claims 0x60 and 0x64 only: 0x61-0x63 are free for other
 * devices (0x61 is the PC speaker / NMI status port). */
static int spk_writes;
static void
spk_io(struct bus_device *d, uint64_t base, uint64_t off, uint8_t *data,
       uint32_t len, bool is_write)
{
	(void)d;
	(void)off;
	(void)len;
	if (is_write)
		spk_writes++;
	else
		data[0] = (uint8_t)base;
}

static void
i8042_claims_0x60_and_0x64_only(void **state)
{
	static const struct bus_device_ops spk_ops = {.access = spk_io};
	struct bus_device spk = {.name = "speaker", .ops = &spk_ops};
	struct i8042 k;
	struct bus b;
	(void)state;
	bus_init(&b, NULL, NULL);
	i8042_init(&k, on_reset, NULL);
	assert_int_equal(i8042_register(&k, &b), 0);
	for (uint64_t port = 0x61; port <= 0x63; port++) {
		assert_false(
		    bus_access(&b, BUS_PIO, port, &(uint8_t){0}, 1, false));
		assert_int_equal(rd(&b, port), 0xff);
	}
	assert_int_equal(bus_register(&b, BUS_PIO, 0x61, 3, &spk), 0);
	assert_int_equal(rd(&b, 0x61), 0x61);
	wr(&b, 0x62, 1);
	assert_int_equal(spk_writes, 1);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x64, 1, &spk), -1);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x5f, 2, &spk), -1);
	/* the controller still answers on both of its ports */
	wr(&b, 0x64, 0xaa);
	assert_int_equal(rd(&b, 0x60), 0x55);
	bus_destroy(&b);
}

/* A guest reboot puts the controller back to power-on: a half-written
 * command, queued output and a changed configuration byte are gone. */
static void
i8042_reset_restores_power_on(void **state)
{
	struct i8042 k;
	struct bus b;
	(void)state;
	bus_init(&b, NULL, NULL);
	i8042_init(&k, on_reset, NULL);
	assert_int_equal(i8042_register(&k, &b), 0);
	wr(&b, 0x64, 0x60);
	wr(&b, 0x60, 0x00); /* config 0 */
	wr(&b, 0x64, 0xaa); /* 0x55 queued */
	wr(&b, 0x64, 0x60); /* waiting for a data byte */
	assert_true(rd(&b, 0x64) & 0x09);
	bus_reset(&b);
	assert_int_equal(rd(&b, 0x64) & 0x09, 0);
	wr(&b, 0x64, 0x20);
	assert_int_equal(rd(&b, 0x60), 0x45);
	bus_destroy(&b);
}

static int pm_events[2];
static void
on_pm(void *o, enum pmreg_event ev)
{
	(void)o;
	pm_events[ev]++;
}

static void
pmreg_writes(void **state)
{
	struct pmreg p;
	struct bus b;
	(void)state;
	bus_init(&b, NULL, NULL);
	pmreg_init(&p, on_pm, NULL);
	assert_int_equal(bus_register(&b, BUS_PIO, PMREG_PORT, 1, &p.dev), 0);
	wr(&b, PMREG_PORT, 0x14); /* S5 without SLP_EN: nothing */
	assert_int_equal(pm_events[PMREG_POWEROFF], 0);
	wr(&b, PMREG_PORT, PMREG_S5_VALUE);
	assert_int_equal(pm_events[PMREG_POWEROFF], 1);
	wr(&b, PMREG_PORT, PMREG_RESET_VALUE);
	assert_int_equal(pm_events[PMREG_RESET], 1);
}

static void
bus_overlaps(void **state)
{
	static const struct bus_device_ops nop = {.access = spk_io};
	struct bus b, other;
	struct bus_device d = {.name = "d", .ops = &nop};
	struct bus_device e = {.name = "e", .ops = &nop};
	uint8_t v = 0;
	(void)state;
	bus_init(&b, NULL, NULL);
	bus_init(&other, NULL, NULL);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x100, 8, &d), 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x107, 1, &d), -1);
	assert_int_equal(bus_register(&b, BUS_MMIO, 0x100, 8, &d), 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0, 0, &d), -1);
	assert_int_equal(bus_register(&b, BUS_PIO, ~0ULL, 2, &d), -1);
	assert_false(bus_access(&b, BUS_PIO, 0x200, &v, 1, false));
	assert_int_equal(v, 0xff);
	/* one device, one bus */
	assert_int_equal(bus_register(&other, BUS_PIO, 0x300, 1, &d), -1);
	/* the range table is bounded */
	int n = b.n;
	for (int i = n; i < BUS_MAX_RANGES; i++)
		assert_int_equal(
		    bus_register(&b, BUS_PIO, 0x1000 + (uint64_t)i, 1, &e), 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x5000, 1, &e), -1);
	/* d and e are listed once each, in registration order */
	assert_ptr_equal(b.devices, &d);
	assert_ptr_equal(d.next, &e);
	assert_null(e.next);
}

/* Devices on the list: reset in registration order, destroyed newest
 * first, and their interrupts reach the owner's callback with their line. */
static char order[16];
static size_t norder;
static void
rec_reset(struct bus_device *d)
{
	order[norder++] = (char)(d->name[0] - 'a' + 'A');
}
static void
rec_destroy(struct bus_device *d)
{
	order[norder++] = d->name[0];
}

static void
bus_walks_devices(void **state)
{
	static const struct bus_device_ops with_reset = {
	    .access = spk_io, .reset = rec_reset, .destroy = rec_destroy};
	static const struct bus_device_ops no_hooks = {.access = spk_io};
	struct bus b;
	struct bus_device a = {.name = "a", .ops = &with_reset};
	struct bus_device n = {.name = "n", .ops = &no_hooks};
	struct bus_device c = {.name = "c", .ops = &with_reset};
	(void)state;
	bus_init(&b, t_irq, NULL);
	irq_changes = 0;
	bus_irq(&a, 7, 1); /* not on a bus yet: nowhere to go */
	assert_int_equal(irq_changes, 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x10, 1, &a), 0);
	assert_int_equal(bus_register(&b, BUS_MMIO, 0x1000, 16, &n), 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x20, 1, &c), 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x21, 1, &a), 0);
	bus_irq(&c, 12, 1);
	assert_int_equal(irq_changes, 1);
	assert_int_equal(irq_line_seen, 12);
	assert_int_equal(irq_level, 1);
	norder = 0;
	bus_reset(&b);
	bus_reset(&b);
	bus_destroy(&b);
	assert_int_equal(norder, 6);
	assert_memory_equal(order, "ACACca", 6);
	assert_null(b.devices);
	assert_false(bus_access(&b, BUS_PIO, 0x10, &(uint8_t){0}, 1, false));
}

/* The UART raises its own line (COM1's IRQ 4) through the bus. */
static void
uart_irq_through_bus(void **state)
{
	(void)state;
	irq_line_seen = -1;
	wr(&bus, 0x3f9, 0x02); /* IER: THR empty */
	assert_int_equal(irq_line_seen, UART8250_COM1_IRQ);
	assert_int_equal(irq_level, 1);
}

static void
memslot_table(void **state)
{
	static uint8_t ram[3 * 4096] __attribute__((aligned(4096)));
	struct memslot_table t = {0};
	char err[160];
	(void)state;
	assert_int_equal(
	    memslot_add(&t, "RAM", 0, 8192, ram, 0, err, sizeof(err)), 0);
	assert_int_equal(memslot_add(&t, "fb", 0x100000, 4096, ram + 8192,
				     MEMSLOT_DIRTY_LOG, err, sizeof(err)),
			 1);
	/* overlap, named */
	assert_int_equal(
	    memslot_add(&t, "rom", 4096, 8192, ram, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "overlaps RAM"));
	/* unaligned guest address, size and host pointer */
	assert_int_equal(
	    memslot_add(&t, "x", 0x200100, 4096, ram, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "page-aligned"));
	assert_int_equal(
	    memslot_add(&t, "x", 0x200000, 100, ram, 0, err, sizeof(err)), -1);
	assert_int_equal(
	    memslot_add(&t, "x", 0x200000, 4096, ram + 1, 0, err, sizeof(err)),
	    -1);
	/* empty, wrapping, unknown flags */
	assert_int_equal(
	    memslot_add(&t, "x", 0x200000, 0, ram, 0, err, sizeof(err)), -1);
	assert_int_equal(
	    memslot_add(&t, "x", ~0xfffULL, 8192, ram, 0, err, sizeof(err)),
	    -1);
	assert_int_equal(
	    memslot_add(&t, "x", 0x200000, 4096, ram, 0x80, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "flags"));
	/* lookups: whole ranges only */
	assert_ptr_equal(memslot_find(&t, 4096, 4096), &t.s[0]);
	assert_null(memslot_find(&t, 4096, 4097));
	assert_ptr_equal(memslot_find(&t, 0x100000, 1), &t.s[1]);
	assert_null(memslot_find(&t, 0x101000, 1));
	assert_null(memslot_find(&t, ~0ULL, 2));
	/* bounded */
	for (int i = 2; i < MEMSLOT_MAX; i++)
		assert_int_equal(memslot_add(&t, "more",
					     0x10000000ULL * (uint64_t)i, 4096,
					     ram, 0, err, sizeof(err)),
				 i);
	assert_int_equal(memslot_add(&t, "one more", 0xf0000000ULL, 4096, ram,
				     0, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "more than"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(uart_transmit_and_thre, setup_uart,
					    teardown_uart),
	    cmocka_unit_test_setup_teardown(uart_thre_follows_fifo_mode,
					    setup_uart, teardown_uart),
	    cmocka_unit_test_setup_teardown(uart_16750_probe, setup_uart,
					    teardown_uart),
	    cmocka_unit_test_setup_teardown(uart_receive_irq, setup_uart,
					    teardown_uart),
	    cmocka_unit_test_setup_teardown(uart_receive_queue_bounded,
					    setup_uart, teardown_uart),
	    cmocka_unit_test_setup_teardown(uart_rx_space_as_the_guest_reads,
					    setup_uart_space, teardown_uart),
	    cmocka_unit_test_setup_teardown(uart_break, setup_uart,
					    teardown_uart),
	    cmocka_unit_test_setup_teardown(uart_loopback_probe, setup_uart,
					    teardown_uart),
	    cmocka_unit_test(console_backpressure),
	    cmocka_unit_test_setup_teardown(uart_irq_through_bus, setup_uart,
					    teardown_uart),
	    cmocka_unit_test(i8042_commands),
	    cmocka_unit_test(i8042_claims_0x60_and_0x64_only),
	    cmocka_unit_test(i8042_reset_restores_power_on),
	    cmocka_unit_test(pmreg_writes),
	    cmocka_unit_test(bus_overlaps),
	    cmocka_unit_test(bus_walks_devices),
	    cmocka_unit_test(memslot_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
