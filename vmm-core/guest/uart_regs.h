/*
 * uart_regs.h - 16550A register layout, shared by the ring-0 driver (uart.c)
 * and the ring-3 transmit path (con.c).
 */
#ifndef GUEST_UART_REGS_H
#define GUEST_UART_REGS_H

#define UART_COM1 0x3f8
#define UART_COM1_IRQ 4

/* Register offsets from the base port. */
#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5

#define UART_IER_RDA 0x01  /* received data available (and FIFO timeout) */
#define UART_IER_THRI 0x02 /* transmit holding register empty */
#define UART_IER_RLS 0x04  /* receiver line status: errors and break */

#define UART_IIR_FIFO_MASK 0xc0 /* both set: FIFO present and enabled */
#define UART_IIR_FIFO64 0x20	/* 16750: 64-byte FIFOs enabled */
#define UART_IIR_FIFO_BITS (UART_IIR_FIFO_MASK | UART_IIR_FIFO64)

/* Enable FIFOs, clear both, receive trigger level 14 bytes. */
#define UART_FCR_ENABLE_CLEAR_TRIG14 0xc7
#define UART_FCR_FIFO64 0x20 /* 16750, written with DLAB set */

#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80

#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT2 0x08 /* gates the IRQ line on PC 8250s */

#define UART_LSR_DR 0x01   /* data ready */
#define UART_LSR_BI 0x10   /* break interrupt */
#define UART_LSR_THRE 0x20 /* transmit holding register (FIFO) empty */

/* 115200 baud = 1.8432 MHz / 16 / divisor 1. */
#define UART_DIVISOR_115200 1

#define UART_FIFO_DEPTH 16
#define UART_FIFO64_DEPTH 64

#endif
