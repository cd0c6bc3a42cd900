/*
 * con.c - console I/O for ring 3.
 *
 * Output is collected in a small buffer and sent in bursts: read LSR and,
 * until THRE (transmit FIFO empty), sleep in ring 0 (sys_wait_tx: the
 * THR-empty interrupt), then write up to a FIFO's worth of bytes without
 * looking at LSR again, as one `rep outsb`. Each port instruction is a VM
 * exit, so a 16-byte burst (64 on a 16750) costs two exits, not 17, it
 * never writes into a full FIFO, and a guest whose output waits for a slow
 * reader sleeps instead of spinning on LSR.
 *
 * Everything sent is mirrored on the framebuffer console (fbcon.c), which
 * is redrawn while the shell waits for input and, during long output,
 * every FBCON_BUSY_TICKS from con_flush().
 */
#include "con.h"
#include "fbcon.h"
#include "fmt.h"
#include "io.h"
#include "shared.h"
#include "sys.h"
#include "uart_regs.h"

#include <stdarg.h>

#define CON_CTRL_C 0x03

static char con_buf[1024];
static size_t con_len;

void
con_flush(void)
{
	size_t depth = shared.uart_fifo_depth ? shared.uart_fifo_depth : 1;
	const char *p = con_buf;
	size_t n = con_len;

	while (n > 0) {
		size_t burst = n < depth ? n : depth;

		/* A VM exit per LSR read: sleep instead of polling while
		 * the VMM holds our output back for a slow reader. */
		if (!(io_inb(UART_COM1 + UART_LSR) & UART_LSR_THRE))
			sys_wait_tx();
		io_outsb(UART_COM1 + UART_THR, p, burst);
		p += burst;
		n -= burst;
	}
	con_len = 0;
	fbcon_sync_busy();
}

void
con_putc(char c)
{
	if (con_len == sizeof(con_buf))
		con_flush();
	con_buf[con_len++] = c;
	fbcon_putc(c);
}

void
con_write(const char *s, size_t n)
{
	while (n-- > 0)
		con_putc(*s++);
}

void
con_puts(const char *s)
{
	while (*s != '\0')
		con_putc(*s++);
}

void
con_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	n = fmt_vformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	con_write(buf, n);
}

int
con_getc(void)
{
	for (;;) {
		int c = shared_rx_pop();

		if (c >= 0)
			return c == SHARED_RX_BREAK ? CON_BREAK : c;
		con_flush();
		fbcon_sync();
		/* With a display, wake when its clock changes. */
		sys_wait_input(fbcon_active() ? fbcon_next_tick() : 0);
	}
}

bool
con_interrupted(void)
{
	struct shared_rx *rx = &shared.rx;
	uint32_t head = rx->head;

	io_barrier();
	for (uint32_t i = rx->tail; i != head; i++) {
		uint16_t v = rx->buf[i & (SHARED_RX_SIZE - 1)];

		if (v == CON_CTRL_C || v == SHARED_RX_BREAK) {
			io_barrier();
			rx->tail = i + 1;
			return true;
		}
	}
	return false;
}
