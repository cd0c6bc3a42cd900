/*
 * pit.h - the 8254 timer, channel 0 at PIT_HZ: the guest's clock.
 */
#ifndef GUEST_PIT_H
#define GUEST_PIT_H

#define PIT_IRQ 0
#define PIT_HZ 100

void pit_init(void);
/* IRQ 0 handler: counts shared.ticks. */
void pit_irq(void);
/* Ring 0: wait about `ticks` timer periods with interrupts on. */
void pit_sleep(unsigned ticks);

#endif
