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
#include "pmreg.h"
#include "uart8250.h"

static int irq_level, irq_changes;
static size_t room = 1 << 20;
static uint8_t txbuf[4096];
static size_t txlen;

static void
t_irq(void *o, int level)
{
	(void)o;
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

static const struct uart8250_ops ops = { t_irq, t_room, t_tx, NULL };

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

static int
setup_uart(void **state)
{
	(void)state;
	memset(&bus, 0, sizeof(bus));
	uart8250_init(&uart, &ops, NULL);
	assert_int_equal(bus_register(&bus, BUS_PIO, 0x3f8, 8, &uart.dev), 0);
	irq_level = irq_changes = 0;
	room = 1 << 20;
	txlen = 0;
	return 0;
}

static int
teardown_uart(void **state)
{
	(void)state;
	uart8250_destroy(&uart);
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
	struct bus b = { 0 };
	(void)state;
	i8042_init(&k, on_reset, NULL);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x60, 5, &k.dev), 0);
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
	assert_int_equal(rd(&b, 0x61), 0xff); /* not ours */
	i8042_destroy(&k);
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
	struct bus b = { 0 };
	(void)state;
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
	struct bus b = { 0 };
	struct bus_device d = { "d", NULL };
	uint8_t v = 0;
	(void)state;
	assert_int_equal(bus_register(&b, BUS_PIO, 0x100, 8, &d), 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0x107, 1, &d), -1);
	assert_int_equal(bus_register(&b, BUS_MMIO, 0x100, 8, &d), 0);
	assert_int_equal(bus_register(&b, BUS_PIO, 0, 0, &d), -1);
	assert_false(bus_access(&b, BUS_PIO, 0x200, &v, 1, false));
	assert_int_equal(v, 0xff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(uart_transmit_and_thre,
						setup_uart, teardown_uart),
		cmocka_unit_test_setup_teardown(uart_thre_follows_fifo_mode,
						setup_uart, teardown_uart),
		cmocka_unit_test_setup_teardown(uart_16750_probe, setup_uart,
						teardown_uart),
		cmocka_unit_test_setup_teardown(uart_receive_irq, setup_uart,
						teardown_uart),
		cmocka_unit_test_setup_teardown(uart_receive_queue_bounded,
						setup_uart, teardown_uart),
		cmocka_unit_test_setup_teardown(uart_break, setup_uart,
						teardown_uart),
		cmocka_unit_test_setup_teardown(uart_loopback_probe,
						setup_uart, teardown_uart),
		cmocka_unit_test(console_backpressure),
		cmocka_unit_test(i8042_commands),
		cmocka_unit_test(pmreg_writes),
		cmocka_unit_test(bus_overlaps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
