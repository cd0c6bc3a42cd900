/*
 * uart8250: a 16550A UART (COM1 style) with a 16-byte transmit FIFO view,
 * a larger receive queue, line-status/break reporting and level-computed
 * interrupts.  Like a TI TL16C750 it also offers 64-byte FIFOs, enabled
 * by FCR bit 5 written while LCR.DLAB is set and reported in IIR bit 5
 * (Linux probes for exactly that and then writes 64 bytes per THRE): on a
 * virtual UART every port access is a VM exit, so bigger bursts mean
 * fewer exits per byte.
 *
 * The UART knows nothing of where bytes go: the owner supplies the ops.
 * Transmit flow control is real: LSR.THRE is set only while the backend has
 * room for a full FIFO (1, 16 or 64 bytes, by the FIFO mode), so a guest that
 * polls THRE, as Linux and the demo guest do, waits for a slow reader instead
 * of losing output; the backend decides what happens if a reader stalls for
 * good (console.h).
 *
 * Its interrupt is line UART8250_COM1_IRQ of the bus it is registered on
 * (or irq_line, if the owner sets another before the guest runs).
 *
 * Thread safety: every entry point takes the UART's lock.  ops->tx and the
 * bus's interrupt callback are called with it held; they must not call back
 * into the UART.
 */
#ifndef VMGATE_UART8250_H
#define VMGATE_UART8250_H

#include "bus.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define UART8250_COM1_BASE 0x3f8
#define UART8250_COM1_IRQ 4
#define UART8250_FIFO 16
#define UART8250_FIFO64 64
#define UART8250_RXQ 4096 /* bytes queued for the guest beyond the FIFO */

struct uart8250_ops {
	/* Bytes the backend can take now. */
	size_t (*tx_room)(void *opaque);
	/* Hand one transmitted byte to the backend. */
	void (*tx)(void *opaque, uint8_t byte);
	/* The receive queue dropped below half full, or emptied. May be
	 * NULL. */
	void (*rx_space)(void *opaque);
};

struct uart8250 {
	struct bus_device dev; /* first: the bus hands this back */
	pthread_mutex_t lock;
	const struct uart8250_ops *ops;
	void *opaque;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	int thri_pending; /* THR-empty interrupt waiting to be seen */
	int bi_seen;	  /* LSR.BI for the head entry already reported */
	int overrun;
	int irq_level;
	int irq_line;

	/* Receive queue: low byte data, bit 8 marks a break character. */
	uint16_t rxq[UART8250_RXQ];
	size_t rx_head, rx_len;
};

void uart8250_init(struct uart8250 *u, const struct uart8250_ops *ops,
		   void *opaque);
/* Hardware reset (also the bus device's reset): registers to power-on
 * values; queued input is kept. */
void uart8250_reset(struct uart8250 *u);

/* Returns the bytes of BUF queued for the guest (the rest must wait). */
size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t n);

/* Receive queue free space in bytes. */
size_t uart8250_rx_room(struct uart8250 *u);

/* Line break from the outside world: a NUL with LSR.BI, as a real line. */
void uart8250_send_break(struct uart8250 *u);

/* The backend has room again: re-evaluate THRE and its interrupt. */
void uart8250_tx_kick(struct uart8250 *u);

#endif
