/*
 * uart.h - ring-0 side of COM1: set-up, the receive interrupt, and polled
 * output for reports that cannot go through the shell (exceptions).
 * Ring 3 transmits by itself (con.c).
 */
#ifndef GUEST_UART_H
#define GUEST_UART_H

#include <stddef.h>

/* 115200 8N1, FIFOs on, OUT2 set; interrupts still off at the UART. */
void uart_init(void);
/* IER = received data available + receiver line status (break). */
void uart_enable_rx_irq(void);
/* IRQ 4 handler: moves received bytes and breaks into shared.rx. */
void uart_irq(void);
/* Ring 0, interrupts off: receive interrupts on again if a full ring
 * turned them off (call once the shell has emptied the ring). */
void uart_rx_resume(void);
/*
 * Ring 0, interrupts off: sleeps (hlt) until THR has room for a FIFO burst
 * (LSR.THRE), woken by the THR-empty interrupt. A VMM whose console reader
 * is slow keeps THRE clear for long: polling LSR meanwhile is a VM exit
 * each time, and 99 guests doing it starve every other guest of the CPU.
 */
void uart_wait_tx_room(void);
/* Polled output, ring 0 only, for diagnostics. */
void uart_kwrite(const char *s, size_t n);
void uart_kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
