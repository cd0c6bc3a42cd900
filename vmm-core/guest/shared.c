/*
 * shared.c - data ring 0 publishes to ring 3, and the receive ring.
 *
 * Single producer (the UART interrupt handler) and single consumer (the
 * shell) on one CPU: a compiler barrier between filling a slot and moving
 * the index is all the ordering needed.
 */
#include "shared.h"
#include "io.h"

struct shared shared;

void
shared_rx_push(uint16_t v)
{
	struct shared_rx *rx = &shared.rx;
	uint32_t head = rx->head;

	if (head - rx->tail >= SHARED_RX_SIZE) {
		rx->dropped++;
		return;
	}
	rx->buf[head & (SHARED_RX_SIZE - 1)] = v;
	io_barrier();
	rx->head = head + 1;
}

bool
shared_rx_full(void)
{
	return shared.rx.head - shared.rx.tail >= SHARED_RX_SIZE;
}

bool
shared_rx_empty(void)
{
	return shared.rx.head == shared.rx.tail;
}

int
shared_rx_pop(void)
{
	struct shared_rx *rx = &shared.rx;
	uint32_t tail = rx->tail;
	int v;

	if (rx->head == tail)
		return -1;
	io_barrier();
	v = rx->buf[tail & (SHARED_RX_SIZE - 1)];
	io_barrier();
	rx->tail = tail + 1;
	return v;
}
