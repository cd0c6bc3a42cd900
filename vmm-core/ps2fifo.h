/*
 * ps2fifo: the bounded byte queue a PS/2 device holds for its host.  It
 * never grows: a producer pushes a whole message (a scancode sequence, a
 * mouse packet, a command's answer) or nothing, so the guest never sees
 * half of one.  CAP may be lowered below the storage (the keyboard does so
 * until the guest has set the controller up, i8042.h); LEN <= CAP always.
 * Not locked: its owner is, under the i8042's lock.
 */
#ifndef VMGATE_PS2FIFO_H
#define VMGATE_PS2FIFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS2FIFO_SIZE 256

struct ps2fifo {
	uint16_t head, len, cap;
	uint8_t last; /* the byte popped last: what a "resend" sends again */
	uint8_t b[PS2FIFO_SIZE];
};

static inline void
ps2fifo_init(struct ps2fifo *f, uint16_t cap)
{
	f->head = f->len = 0;
	f->cap = cap > PS2FIFO_SIZE ? PS2FIFO_SIZE : cap;
	f->last = 0;
}

static inline void
ps2fifo_clear(struct ps2fifo *f)
{
	f->head = f->len = 0;
}

/* Pushes all N bytes, or none when they do not fit: returns false. */
static inline bool
ps2fifo_push(struct ps2fifo *f, const uint8_t *p, size_t n)
{
	if (n > (size_t)(f->cap - f->len))
		return false;
	for (size_t i = 0; i < n; i++)
		f->b[(f->head + f->len++) % PS2FIFO_SIZE] = p[i];
	return true;
}

/* The next byte, or -1 when empty. */
static inline int
ps2fifo_peek(const struct ps2fifo *f)
{
	return f->len == 0 ? -1 : f->b[f->head];
}

/* Takes the next byte; returns -1 when empty. */
static inline int
ps2fifo_pop(struct ps2fifo *f)
{
	if (f->len == 0)
		return -1;
	f->last = f->b[f->head];
	f->head = (uint16_t)((f->head + 1) % PS2FIFO_SIZE);
	f->len--;
	return f->last;
}

#endif
