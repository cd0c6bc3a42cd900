#include "uart8250.h"

#include <string.h>

/* Register offsets (DLAB selects the divisor latch at 0 and 1). */
enum {
	R_RBR_THR = 0,
	R_IER = 1,
	R_IIR_FCR = 2,
	R_LCR = 3,
	R_MCR = 4,
	R_LSR = 5,
	R_MSR = 6,
	R_SCR = 7,
};

#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IIR_NONE 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0
#define IIR_FIFO64 0x20
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_TRIGGER 0xc0
/* TL16C750: 64-byte FIFOs, bit writable only while LCR.DLAB is set. */
#define FCR_FIFO64 0x20
#define RX_BREAK 0x100

/* Bytes a guest may write after seeing THRE: the FIFO mode in effect. */
static size_t
tx_depth(const struct uart8250 *u)
{
	if (!(u->fcr & FCR_ENABLE))
		return 1;
	return (u->fcr & FCR_FIFO64) ? UART8250_FIFO64 : UART8250_FIFO;
}

static int
tx_ready(struct uart8250 *u)
{
	/* In loopback the transmitter feeds our own receive queue. */
	if (u->mcr & MCR_LOOP)
		return u->rx_len < UART8250_RXQ;
	return u->ops->tx_room(u->opaque) >= tx_depth(u);
}

static uint8_t
lsr(struct uart8250 *u)
{
	uint8_t v = 0;

	if (u->rx_len > 0) {
		v |= LSR_DR;
		if ((u->rxq[u->rx_head] & RX_BREAK) && !u->bi_seen)
			v |= LSR_BI;
	}
	if (u->overrun)
		v |= LSR_OE;
	if (tx_ready(u))
		v |= LSR_THRE | LSR_TEMT;
	return v;
}

static uint8_t
iir(struct uart8250 *u)
{
	uint8_t fifo = 0;

	if (u->fcr & FCR_ENABLE)
		fifo = IIR_FIFO | ((u->fcr & FCR_FIFO64) ? IIR_FIFO64 : 0);
	uint8_t l = lsr(u);

	if ((u->ier & IER_RLSI) && (l & (LSR_OE | LSR_BI)))
		return fifo | IIR_RLSI;
	if ((u->ier & IER_RDI) && (l & LSR_DR))
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending && (l & LSR_THRE))
		return fifo | IIR_THRI;
	return fifo | IIR_NONE;
}

static void
update_irq(struct uart8250 *u)
{
	int level = (iir(u) & IIR_NONE) == 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		bus_irq(&u->dev, u->irq_line, level);
	}
}

static void
rx_push(struct uart8250 *u, uint16_t v)
{
	if (u->rx_len == UART8250_RXQ) {
		u->overrun = 1;
		return;
	}
	u->rxq[(u->rx_head + u->rx_len) % UART8250_RXQ] = v;
	u->rx_len++;
}

static uint8_t
rx_pop(struct uart8250 *u)
{
	if (u->rx_len == 0)
		return 0;
	uint8_t v = (uint8_t)u->rxq[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART8250_RXQ;
	u->rx_len--;
	u->bi_seen = 0;
	/* Below half full, the stdio reader that stopped at a full queue
	 * may go on; empty, a control-channel gateway that holds less credit
	 * than the queue has room gets the rest (its input never fills the
	 * queue when the guest keeps up, so the half mark alone is never
	 * crossed and its credit ran out after 4 KiB of typing). */
	if ((u->rx_len == UART8250_RXQ / 2 - 1 || u->rx_len == 0) &&
	    u->ops->rx_space != NULL)
		u->ops->rx_space(u->opaque);
	return v;
}

static uint8_t
msr(struct uart8250 *u)
{
	if (!(u->mcr & MCR_LOOP))
		return 0xb0; /* DCD, DSR, CTS: a cable is always there */
	/* Loopback wires the modem outputs back to the inputs; Linux's
	 * autoconfig checks exactly this before it trusts the port. */
	uint8_t v = 0;
	if (u->mcr & MCR_RTS)
		v |= 0x10;
	if (u->mcr & MCR_DTR)
		v |= 0x20;
	if (u->mcr & MCR_OUT1)
		v |= 0x40;
	if (u->mcr & MCR_OUT2)
		v |= 0x80;
	return v;
}

static uint8_t
reg_read(struct uart8250 *u, unsigned reg)
{
	uint8_t v = 0;

	switch (reg) {
	case R_RBR_THR:
		if (u->lcr & LCR_DLAB)
			return u->dll;
		return rx_pop(u);
	case R_IER:
		if (u->lcr & LCR_DLAB)
			return u->dlm;
		return u->ier;
	case R_IIR_FCR:
		v = iir(u);
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((v & 0x0f) == IIR_THRI)
			u->thri_pending = 0;
		return v;
	case R_LCR:
		return u->lcr;
	case R_MCR:
		return u->mcr;
	case R_LSR:
		v = lsr(u);
		if (v & LSR_BI)
			u->bi_seen = 1;
		u->overrun = 0;
		return v;
	case R_MSR:
		return msr(u);
	case R_SCR:
		return u->scr;
	}
	return 0xff;
}

static void
reg_write(struct uart8250 *u, unsigned reg, uint8_t v)
{
	switch (reg) {
	case R_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			break;
		}
		if (u->mcr & MCR_LOOP)
			rx_push(u, v);
		else
			u->ops->tx(u->opaque,
				   v); /* a full backend counts a loss */
		/* The byte left at once: THR is empty again if there is room.
		 */
		u->thri_pending = 1;
		break;
	case R_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling THRI with THR empty raises it at once (8250). */
		if ((v & IER_THRI) && !(u->ier & IER_THRI))
			u->thri_pending = 1;
		u->ier = v & 0x0f;
		break;
	case R_IIR_FCR:
		/* The 64-byte mode bit keeps its value unless DLAB is set,
		 * which is how Linux tells a 16750 from a 16550A. */
		if (!(u->lcr & LCR_DLAB))
			v = (uint8_t)((v & ~FCR_FIFO64) |
				      (u->fcr & FCR_FIFO64));
		u->fcr = v & (FCR_ENABLE | FCR_TRIGGER | FCR_FIFO64);
		if (!(u->fcr & FCR_ENABLE))
			u->fcr = 0;
		if (v & FCR_CLEAR_RX) {
			u->rx_head = u->rx_len = 0;
			if (u->ops->rx_space != NULL)
				u->ops->rx_space(u->opaque);
		}
		break;
	case R_LCR:
		u->lcr = v;
		break;
	case R_MCR:
		u->mcr = v & 0x1f;
		break;
	case R_SCR:
		u->scr = v;
		break;
	}
}

static void
uart_io(struct bus_device *dev, uint64_t base, uint64_t addr, uint8_t *data,
	uint32_t len, bool is_write)
{
	struct uart8250 *u = (struct uart8250 *)dev;

	(void)base;
	pthread_mutex_lock(&u->lock);
	/* Wider accesses are treated byte by byte, as the ISA bus would. */
	for (uint32_t i = 0; i < len; i++) {
		unsigned reg = (unsigned)((addr + i) & 7);
		if (is_write)
			reg_write(u, reg, data[i]);
		else
			data[i] = reg_read(u, reg);
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void
uart_dev_reset(struct bus_device *dev)
{
	uart8250_reset((struct uart8250 *)dev);
}

static void
uart_dev_destroy(struct bus_device *dev)
{
	pthread_mutex_destroy(&((struct uart8250 *)dev)->lock);
}

static const struct bus_device_ops uart_dev_ops = {
    .access = uart_io,
    .reset = uart_dev_reset,
    .destroy = uart_dev_destroy,
};

void
uart8250_init(struct uart8250 *u, const struct uart8250_ops *ops, void *opaque)
{
	memset(u, 0, sizeof(*u));
	u->dev.name = "uart8250";
	u->dev.ops = &uart_dev_ops;
	u->irq_line = UART8250_COM1_IRQ;
	u->ops = ops;
	u->opaque = opaque;
	pthread_mutex_init(&u->lock, NULL);
	uart8250_reset(u);
}

void
uart8250_reset(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	u->ier = u->mcr = u->scr = u->fcr = u->dlm = 0;
	u->lcr = 0x03;
	u->dll = 12;
	u->thri_pending = u->bi_seen = u->overrun = 0;
	u->irq_level = 0; /* the new irqchip starts with the line low */
	pthread_mutex_unlock(&u->lock);
}

size_t
uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n && u->rx_len < UART8250_RXQ; i++)
		rx_push(u, buf[i]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return i;
}

size_t
uart8250_rx_room(struct uart8250 *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = UART8250_RXQ - u->rx_len;
	pthread_mutex_unlock(&u->lock);
	return room;
}

void
uart8250_send_break(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	rx_push(u, RX_BREAK);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

void
uart8250_tx_kick(struct uart8250 *u)
{
	pthread_mutex_lock(&u->lock);
	u->thri_pending = 1;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}
