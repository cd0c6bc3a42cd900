#include "console.h"
#include "clock.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int
console_init(struct console *c, size_t cap)
{
	if (cap < CONSOLE_CAP_MIN || cap > CONSOLE_CAP_MAX)
		return -EINVAL;
	c->cap = cap;
	c->head = c->len = 0;
	c->lost = c->lost_total = 0;
	c->full_since = 0;
	if ((c->ring = malloc(cap)) == NULL)
		return -ENOMEM;
	if ((c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		int r = -errno;
		free(c->ring);
		c->ring = NULL;
		return r;
	}
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

void
console_destroy(struct console *c)
{
	if (c->ring == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	close(c->wake_fd);
	free(c->ring);
	c->ring = NULL;
}

/*
 * Called with the lock held.  "Full" is less room than a UART FIFO burst
 * needs: the UART shows THR busy below that, so the guest already waits.
 */
static int
stalled(struct console *c)
{
	if (c->cap - c->len >= CONSOLE_LOW_ROOM) {
		c->full_since = 0;
		return 0;
	}
	uint64_t t = clock_ms();
	if (c->full_since == 0)
		c->full_since = t ? t : 1;
	return t - c->full_since >= CONSOLE_STALL_MS;
}

size_t
console_tx_room(struct console *c)
{
	size_t room;

	pthread_mutex_lock(&c->lock);
	room = c->cap - c->len;
	if (room < CONSOLE_LOW_ROOM && stalled(c))
		room = c->cap; /* dropping oldest: take anything */
	pthread_mutex_unlock(&c->lock);
	return room;
}

void
console_put(struct console *c, uint8_t byte)
{
	int wake;

	pthread_mutex_lock(&c->lock);
	if (c->len == c->cap) {
		c->head = (c->head + 1) % c->cap;
		c->len--;
		c->lost++;
		c->lost_total++;
	}
	c->ring[(c->head + c->len) % c->cap] = byte;
	wake = c->len++ == 0;
	pthread_mutex_unlock(&c->lock);
	if (wake) {
		uint64_t one = 1;
		(void)!write(c->wake_fd, &one, sizeof(one));
	}
}

size_t
console_take(struct console *c, uint8_t *buf, size_t n, uint64_t *lost,
	     int *was_full)
{
	size_t i;
	uint64_t drain;

	(void)!read(c->wake_fd, &drain, sizeof(drain));
	pthread_mutex_lock(&c->lock);
	*was_full = c->cap - c->len < CONSOLE_LOW_ROOM;
	for (i = 0; i < n && c->len > 0; i++) {
		buf[i] = c->ring[c->head];
		c->head = (c->head + 1) % c->cap;
		c->len--;
	}
	if (i > 0)
		c->full_since = 0;
	*lost = c->lost;
	c->lost = 0;
	if (c->len > 0) {
		/* More left: make sure the reader comes back for it. */
		uint64_t one = 1;
		(void)!write(c->wake_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&c->lock);
	return i;
}
