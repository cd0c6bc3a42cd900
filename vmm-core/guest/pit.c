/*
 * pit.c - the 8254 programmable interval timer.
 */
#include "pit.h"
#include "clock.h"
#include "cpu.h"
#include "io.h"
#include "shared.h"

#define PIT_CH0 0x40
#define PIT_MODE 0x43
/* Channel 0, lobyte/hibyte, mode 2 (rate generator), binary: what Linux
 * uses for its periodic tick. */
#define PIT_MODE_CH0_RATE 0x34
/* Channel 0, lobyte/hibyte, mode 0 (interrupt on terminal count): one
 * interrupt, then nothing until the next pit_init(). */
#define PIT_MODE_CH0_ONESHOT 0x30
#define PIT_STOP_COUNT 1
#define PIT_INPUT_HZ 1193182u
#define PIT_DIVISOR ((PIT_INPUT_HZ + PIT_HZ / 2) / PIT_HZ)

void
pit_init(void)
{
	io_outb(PIT_MODE, PIT_MODE_CH0_RATE);
	io_outb(PIT_CH0, PIT_DIVISOR & 0xff);
	io_outb(PIT_CH0, PIT_DIVISOR >> 8);
}

void
pit_stop(void)
{
	io_outb(PIT_MODE, PIT_MODE_CH0_ONESHOT);
	io_outb(PIT_CH0, PIT_STOP_COUNT);
	io_outb(PIT_CH0, 0);
}

void
pit_irq(void)
{
	clock_tick();
}

void
pit_sleep(unsigned ticks)
{
	uint64_t until = shared.ticks + ticks;

	while (shared.ticks < until)
		cpu_wait_for_interrupt();
}
