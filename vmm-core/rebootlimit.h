/*
 * rebootlimit: how long the monitor waits before it starts again a guest
 * that reset itself (i8042 reset line, the power register's reset, a KVM
 * system reset).  A guest that resets at once on every boot would otherwise
 * be rebooted as fast as KVM can create a VM, and each reboot is a log line
 * and a state change for the gateway.
 *
 * The rule, as systemd's start rate limit with a growing restart delay:
 * up to REBOOTLIMIT_BURST resets within REBOOTLIMIT_WINDOW_MS restart the
 * guest at once; the next one within the window starts a reboot loop, and
 * each reset of a loop waits before the next start: REBOOTLIMIT_DELAY_MIN_MS
 * first, then twice the previous wait, up to REBOOTLIMIT_DELAY_MAX_MS.  A
 * guest that runs REBOOTLIMIT_QUIET_MS after a start without resetting
 * ends the loop: the count and the delay start over.
 *
 * Only the guest's own resets count; the host's (a POWER RESET from the
 * gateway) start the guest at once, end any wait, and count as a start.
 *
 * Pure logic over the caller's monotonic clock in milliseconds: no clock
 * reads, no threads (the monitor's I/O thread owns it).
 */
#ifndef VMGATE_REBOOTLIMIT_H
#define VMGATE_REBOOTLIMIT_H

#include <stdint.h>

#define REBOOTLIMIT_BURST 5
#define REBOOTLIMIT_WINDOW_MS 10000
#define REBOOTLIMIT_DELAY_MIN_MS 1000
#define REBOOTLIMIT_DELAY_MAX_MS 60000
#define REBOOTLIMIT_QUIET_MS 60000

struct rebootlimit {
	/* Times of the last BURST + 1 resets, a ring; n of them are set. */
	int64_t resets[REBOOTLIMIT_BURST + 1];
	unsigned n, next;
	int64_t started;   /* the guest's last start */
	uint32_t delay_ms; /* the loop's last wait; 0: no loop */
	unsigned loop;	   /* resets since the loop began (0: no loop) */
};

/* The guest started at now_ms, with no reset before. */
void rebootlimit_init(struct rebootlimit *r, int64_t now_ms);

/*
 * The guest reset itself at now_ms: returns how many milliseconds to wait
 * before starting it again, 0 for at once.
 */
uint32_t rebootlimit_reset(struct rebootlimit *r, int64_t now_ms);

/* The guest started again at now_ms (after the wait or a host reset). */
void rebootlimit_started(struct rebootlimit *r, int64_t now_ms);

/* Resets of the guest since its reboot loop began; 0 when not in one. */
unsigned rebootlimit_loop_resets(const struct rebootlimit *r);

#endif
