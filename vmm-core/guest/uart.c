/*
 * uart.c - 16550A (or 16750, with 64-byte FIFOs) on COM1, ring-0 part.
 */
#include "uart.h"
#include "clock.h"
#include "fmt.h"
#include "io.h"
#include "shared.h"
#include "uart_regs.h"

#include <stdarg.h>
#include <stdbool.h>

/* Bounds the receive loop: a device that never clears DR must not keep
 * ring 0 (emulated, slow on nested KVM) spinning forever. */
#define UART_RX_BURST_MAX 256
/*
 * uart_wait_tx_room() sleeps until the THR-empty interrupt, and looks at
 * LSR again at least this often (PIT_HZ ticks): THRE may also come back
 * with no event a VMM would announce (vmgate-vmm stops holding the guest
 * back once its console reader has stalled for 2 s, and says so by
 * reporting room, not by an interrupt).
 */
#define UART_TX_RECHECK_TICKS 10

void
uart_init(void)
{
	io_outb(UART_COM1 + UART_IER, 0);
	io_outb(UART_COM1 + UART_LCR, UART_LCR_DLAB);
	io_outb(UART_COM1 + UART_DLL, UART_DIVISOR_115200 & 0xff);
	io_outb(UART_COM1 + UART_DLM, UART_DIVISOR_115200 >> 8);
	/* A 16750 takes its 64-byte FIFO bit only while DLAB is set; a
	 * 16550A ignores it. */
	io_outb(UART_COM1 + UART_FCR,
		UART_FCR_ENABLE_CLEAR_TRIG14 | UART_FCR_FIFO64);
	io_outb(UART_COM1 + UART_LCR, UART_LCR_8N1);
	io_outb(UART_COM1 + UART_MCR,
		UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);

	/* IIR bits 7:6 both set: FIFO present and on; bit 5 too: 64 bytes.
	 * An 8250/16450 has no FIFO: then THRE means room for one byte. */
	switch (io_inb(UART_COM1 + UART_IIR) & UART_IIR_FIFO_BITS) {
	case UART_IIR_FIFO_BITS:
		shared.uart_fifo_depth = UART_FIFO64_DEPTH;
		break;
	case UART_IIR_FIFO_MASK:
		shared.uart_fifo_depth = UART_FIFO_DEPTH;
		break;
	default:
		shared.uart_fifo_depth = 1;
	}
}

/*
 * Receive interrupts: data available (FIFO trigger level or character
 * timeout) and line status. The latter is how a 16550 announces a break:
 * the NUL a break stores may sit below the trigger level, and not every
 * UART model starts the character timeout for it (QEMU's does not).
 *
 * Bytes that arrived since uart_init() (its FCR write clears the FIFO) are
 * kept, not flushed. Whether enabling IER with data already waiting raises
 * the IRQ differs between UART models, so collect them here instead of
 * relying on it.
 */
/* Set while the receive ring was full and receive interrupts are off. */
static bool uart_rx_paused;
/* Set while uart_wait_tx_room() sleeps: THR-empty interrupts are on. */
static bool uart_tx_waiting;

/* IER as the two flags above want it. */
static void
uart_set_ier(void)
{
	uint8_t ier = uart_rx_paused ? 0 : UART_IER_RDA | UART_IER_RLS;

	if (uart_tx_waiting)
		ier |= UART_IER_THRI;
	io_outb(UART_COM1 + UART_IER, ier);
}

void
uart_enable_rx_irq(void)
{
	uart_set_ier();
	uart_irq();
}

/*
 * LSR is read before each RBR read on purpose: BI (like PE/FE) describes
 * the character at the head of the FIFO -- for a break, the NUL byte the
 * UART stores for it -- and reading LSR clears it. BI without DR is also
 * taken as a break, for devices that report a break without the NUL.
 *
 * Two ways out leave bytes in the UART, and each must keep a way back:
 * - the ring is full (the shell is behind, e.g. a long paste): receive
 *   interrupts go off and the bytes wait in the UART, and in the VMM's
 *   queue behind it, which slows the sender instead of losing input;
 *   uart_rx_resume() turns them on again once the shell has read the ring;
 * - the burst cap: the 8259 is edge-triggered and the UART's line is still
 *   up, so no new edge, hence no new interrupt, would ever come. Turning
 *   the interrupts off and on again drops and raises the line: the PIC
 *   latches that edge and interrupts again after this one's EOI.
 */
void
uart_irq(void)
{
	for (int i = 0; i < UART_RX_BURST_MAX; i++) {
		uint8_t lsr;

		if (shared_rx_full() && !uart_rx_paused) {
			uart_rx_paused = true;
			uart_set_ier();
		}
		lsr = io_inb(UART_COM1 + UART_LSR);
		/* The waiter sees THRE itself; turning THRI off here lowers
		 * the line, so the next receive interrupt is a new edge. */
		if (uart_tx_waiting && (lsr & UART_LSR_THRE)) {
			uart_tx_waiting = false;
			uart_set_ier();
		}
		if (uart_rx_paused)
			return;
		if (lsr & UART_LSR_BI) {
			if (lsr & UART_LSR_DR)
				(void)io_inb(UART_COM1 + UART_RBR);
			shared_rx_push(SHARED_RX_BREAK);
			continue;
		}
		if (!(lsr & UART_LSR_DR))
			return;
		shared_rx_push(io_inb(UART_COM1 + UART_RBR));
	}
	io_outb(UART_COM1 + UART_IER, 0);
	uart_set_ier();
}

void
uart_rx_resume(void)
{
	if (!uart_rx_paused)
		return;
	uart_rx_paused = false;
	uart_enable_rx_irq();
}

void
uart_wait_tx_room(void)
{
	if (io_inb(UART_COM1 + UART_LSR) & UART_LSR_THRE)
		return;
	uart_tx_waiting = true;
	uart_set_ier();
	do
		clock_idle_wait(shared.ticks + UART_TX_RECHECK_TICKS);
	while (!(io_inb(UART_COM1 + UART_LSR) & UART_LSR_THRE));
	if (uart_tx_waiting) {
		uart_tx_waiting = false;
		uart_set_ier();
	}
	clock_idle_end();
}

void
uart_kwrite(const char *s, size_t n)
{
	size_t depth = shared.uart_fifo_depth ? shared.uart_fifo_depth : 1;

	while (n > 0) {
		size_t burst = n < depth ? n : depth;

		while (!(io_inb(UART_COM1 + UART_LSR) & UART_LSR_THRE))
			io_pause();
		for (size_t i = 0; i < burst; i++)
			io_outb(UART_COM1 + UART_THR, (uint8_t)s[i]);
		s += burst;
		n -= burst;
	}
}

void
uart_kprintf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = fmt_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	uart_kwrite(buf, n);
}
