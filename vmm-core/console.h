/*
 * console: the bounded buffer between a guest's UART transmitter (vCPU
 * threads) and whoever reads the console (the monitor's I/O thread, which
 * writes to stdout or to the gateway).
 *
 * Flow control, in order:
 *  1. While the buffer has room the guest's bytes are kept, nothing is lost.
 *  2. When it is full the UART shows THR busy, so a polling guest waits
 *     (a slow reader slows the guest like a real serial line).
 *  3. If the reader makes no progress for CONSOLE_STALL_MS the console stops
 *     waiting: it keeps accepting bytes and drops the oldest ones, counting
 *     them, so no vCPU waits forever and memory stays at the ring's size.  The
 *     reader is told how much was lost with the next bytes it takes.
 */
#ifndef VMGATE_CONSOLE_H
#define VMGATE_CONSOLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define CONSOLE_CAP_DEFAULT (256 * 1024)
#define CONSOLE_CAP_MIN 4096
#define CONSOLE_CAP_MAX (64 * 1024 * 1024)
#define CONSOLE_STALL_MS 2000
#define CONSOLE_LOW_ROOM 64 /* "full": less than the largest FIFO burst */

struct console {
	pthread_mutex_t lock;
	uint8_t *ring; /* cap bytes, owned */
	size_t cap, head, len;
	uint64_t lost;	     /* dropped since the reader last took */
	uint64_t lost_total; /* for the record */
	uint64_t full_since; /* CLOCK_MONOTONIC ms, 0 when not full */
	int wake_fd;	     /* eventfd: the reader has bytes waiting */
};

/* CAP: ring size, CONSOLE_CAP_MIN..CONSOLE_CAP_MAX. Returns 0 or -errno. */
int console_init(struct console *c, size_t cap);
void console_destroy(struct console *c);

/* UART side. */
size_t console_tx_room(struct console *c);
void console_put(struct console *c, uint8_t byte);

/*
 * Reader side: copies up to N bytes into BUF and returns the count; *LOST
 * gets the bytes dropped before them (0 normally).  *WAS_FULL tells the
 * caller to kick the UART (THR room came back).
 */
size_t console_take(struct console *c, uint8_t *buf, size_t n, uint64_t *lost,
		    int *was_full);

#endif
