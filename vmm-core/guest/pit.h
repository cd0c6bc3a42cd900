/*
 * pit.h - the 8254 timer, channel 0 at PIT_HZ: the guest's tick while it
 * runs (clock.h keeps the time).
 */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#define PIT_IRQ 0
#define PIT_HZ 100

/* Channel 0 periodic at PIT_HZ, from now; also restarts it after
 * pit_stop(). */
void pit_init(void);
/* Stop the periodic tick: one last IRQ 0 about a microsecond later, then
 * none (mode 0 with a count of 1). */
void pit_stop(void);
/* IRQ 0 handler: clock_tick(). */
void pit_irq(void);
/* Ring 0: wait about `ticks` timer periods with interrupts on. */
void pit_sleep(unsigned ticks);

#endif
