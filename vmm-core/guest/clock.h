/*
 * clock.h - the guest's time (shared.ticks) and its idle waits.
 *
 * Where KVM offers its paravirtual clock (kvmclock) and the local APIC's
 * TSC-deadline timer, shared.ticks is kvmclock's time since clock_init()
 * in PIT_HZ units, recomputed at every timer interrupt and wake-up, so it
 * cannot drift or lose ticks. The PIT still ticks while ring 3 runs (ring 3
 * only reads shared.ticks), but an idle wait stops it and sleeps until its
 * deadline or an interrupt, with one APIC timer interrupt: no periodic
 * tick while idle. Elsewhere (QEMU TCG, a VMM without either), shared.ticks
 * counts PIT interrupts and idle waits wake at each one.
 *
 * Ring 0 only, interrupts off.
 */
#ifndef GUEST_CLOCK_H
#define GUEST_CLOCK_H

#include <stdint.h>

/* After lapic_init(), before the first timer interrupt: picks the clock
 * and says which in shared.clock. */
void clock_init(void);
/* IRQ 0 (the PIT). */
void clock_tick(void);
/* The APIC timer's vector (IDT_APIC_TIMER). */
void clock_timer_irq(void);
/*
 * One sleep of an idle wait: sti; hlt until an interrupt, or at the latest
 * (if `until` is not 0) until shared.ticks reaches `until`; then
 * shared.ticks is current. The first call of a wait stops the periodic tick
 * where that is possible. Callers loop on their own condition, then call
 * clock_idle_end().
 */
void clock_idle_wait(uint64_t until);
/* The wait is over: the periodic tick again (if clock_idle_wait stopped
 * it), and shared.ticks current. */
void clock_idle_end(void);

#endif
