#include "hub.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "xmalloc.h"

#ifndef TAILQ_FOREACH_SAFE /* glibc's sys/queue.h lacks it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                             \
	for ((var) = TAILQ_FIRST((head));                                      \
	     (var) && ((tvar) = TAILQ_NEXT((var), field), 1); (var) = (tvar))
#endif

struct hub {
	char *name;
	uint8_t *ring; /* scrollback */
	size_t cap, head, len;
	size_t client_queue;
	struct hub_clients clients, blocked;
	/* Clients waiting for hub_pace(): in this sweep, and (told in this
	 * sweep already) in the next. */
	struct hub_clients paced, paced_next;
	size_t nclients;
	hub_send_fn send;
	void *send_arg;
	void (*pace)(void *arg, int ms);
	void *pace_arg;
	bool sweeping;	   /* hub_pace() is going through the waiting list */
	uint64_t sweep_ms; /* clock_ms() when the last sweep started */
};

struct hub *
hub_new(const char *vm, size_t scrollback, size_t client_queue,
	hub_send_fn send, void *send_arg)
{
	struct hub *h = xcalloc(1, sizeof(*h));

	h->name = xstrdup(vm);
	h->cap = scrollback ? scrollback : 1;
	h->ring = xmalloc(h->cap);
	/* The replayed scrollback must fit with room to spare. */
	h->client_queue = client_queue;
	if (h->client_queue == 0)
		h->client_queue = HUB_CLIENT_QUEUE;
	if (h->client_queue < 2 * h->cap)
		h->client_queue = 2 * h->cap;
	TAILQ_INIT(&h->clients);
	TAILQ_INIT(&h->blocked);
	TAILQ_INIT(&h->paced);
	TAILQ_INIT(&h->paced_next);
	h->send = send;
	h->send_arg = send_arg;
	return h;
}

void
hub_free(struct hub *h)
{
	if (h == NULL)
		return;
	free(h->ring);
	free(h->name);
	free(h);
}

static void
ring_put(struct hub *h, const uint8_t *p, size_t n)
{
	if (n >= h->cap) {
		memcpy(h->ring, p + n - h->cap, h->cap);
		h->head = 0;
		h->len = h->cap;
		return;
	}
	size_t tail = (h->head + h->len) % h->cap;
	size_t first = h->cap - tail < n ? h->cap - tail : n;
	memcpy(h->ring + tail, p, first);
	memcpy(h->ring, p + first, n - first);
	if (h->len + n > h->cap) {
		h->head = (h->head + h->len + n - h->cap) % h->cap;
		h->len = h->cap;
	} else {
		h->len += n;
	}
}

void
hub_set_pacer(struct hub *h, void (*pace)(void *arg, int ms), void *arg)
{
	h->pace = pace;
	h->pace_arg = arg;
}

static void
pace_onto(struct hub_client *c, struct hub_clients *list)
{
	c->paced = list;
	TAILQ_INSERT_TAIL(list, c, paced_entry);
}

static void
unpace(struct hub_client *c)
{
	if (c->paced == NULL)
		return;
	TAILQ_REMOVE(c->paced, c, paced_entry);
	c->paced = NULL;
}

static void
fan_out(struct hub *h, const uint8_t *p, size_t n)
{
	struct hub_client *c, *next;
	uint64_t now = clock_ms();
	bool pace = h->pace != NULL && h->nclients > HUB_PACE_VIEWERS;
	bool idle = TAILQ_EMPTY(&h->paced) && !h->sweeping;

	TAILQ_FOREACH_SAFE(c, &h->clients, entry, next)
	{
		outq_push(&c->q, p, n, now);
		if (!pace ||
		    (c->typed_ms != 0 && now - c->typed_ms < HUB_TYPIST_MS)) {
			c->ops->output(c->arg);
		} else if (c->paced == NULL) {
			pace_onto(c, h->sweeping ? &h->paced_next : &h->paced);
		}
	}
	if (idle && !TAILQ_EMPTY(&h->paced)) {
		uint64_t next = h->sweep_ms + HUB_PACE_MS;
		h->pace(h->pace_arg, next > now ? (int)(next - now) : 0);
	}
}

int
hub_pace(struct hub *h)
{
	struct hub_client *c;

	if (!h->sweeping) {
		h->sweeping = true;
		h->sweep_ms = clock_ms();
	}
	for (int i = 0; i < HUB_PACE_SLICE && (c = TAILQ_FIRST(&h->paced));
	     i++) {
		unpace(c);
		c->ops->output(c->arg);
	}
	if (!TAILQ_EMPTY(&h->paced))
		return 0;
	h->sweeping = false;
	if (TAILQ_EMPTY(&h->paced_next))
		return -1;
	/* Those told in this sweep, and written to since, wait for the next. */
	while ((c = TAILQ_FIRST(&h->paced_next)) != NULL) {
		unpace(c);
		pace_onto(c, &h->paced);
	}
	uint64_t now = clock_ms(), next = h->sweep_ms + HUB_PACE_MS;
	return next > now ? (int)(next - now) : 0;
}

void
hub_output(struct hub *h, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	ring_put(h, p, n);
	fan_out(h, p, n);
}

void
hub_lost(struct hub *h, uint64_t n)
{
	char mark[128];
	int k = snprintf(mark, sizeof(mark),
			 "\r\n[vmgate: %llu bytes of console output lost in "
			 "the VM's buffer]\r\n",
			 (unsigned long long)n);

	hub_output(h, (const uint8_t *)mark, (size_t)k);
}

void
hub_notice(struct hub *h, const char *fmt, ...)
{
	char text[400], line[512];
	va_list ap;
	int k;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	k = snprintf(line, sizeof(line), "\r\n[vmgate: %s]\r\n", text);
	if (k > (int)sizeof(line) - 1)
		k = (int)sizeof(line) - 1;
	fan_out(h, (const uint8_t *)line, (size_t)k);
}

struct hub_client *
hub_attach(struct hub *h, const char *user, bool readonly,
	   const struct hub_client_ops *ops, void *arg)
{
	struct hub_client *c = xcalloc(1, sizeof(*c));
	uint64_t now = clock_ms();

	c->hub = h;
	c->user = xstrdup(user);
	c->readonly = readonly;
	c->since = time(NULL);
	c->ops = ops;
	c->arg = arg;
	outq_init(&c->q, h->client_queue);
	size_t first = h->cap - h->head < h->len ? h->cap - h->head : h->len;
	outq_push(&c->q, h->ring + h->head, first, now);
	outq_push(&c->q, h->ring, h->len - first, now);
	TAILQ_INSERT_TAIL(&h->clients, c, entry);
	h->nclients++;
	return c;
}

/* Takes c off the writers' queue, if it is on it. */
static void
unblock(struct hub_client *c)
{
	if (!c->blocked)
		return;
	c->blocked = false;
	TAILQ_REMOVE(&c->hub->blocked, c, blocked_entry);
}

void
hub_detach(struct hub_client *c)
{
	if (c == NULL)
		return;
	struct hub *h = c->hub;
	TAILQ_REMOVE(&h->clients, c, entry);
	unblock(c);
	unpace(c);
	h->nclients--;
	outq_free(&c->q);
	free(c->user);
	free(c);
}

size_t
hub_write(struct hub_client *c, const uint8_t *p, size_t n)
{
	struct hub *h = c->hub;
	size_t k;

	if (c->readonly || n == 0)
		return 0;
	c->typed_ms = clock_ms();
	/* Whoever waited first writes first. */
	k = (TAILQ_EMPTY(&h->blocked) || c->blocked)
		? h->send(h->send_arg, p, n)
		: 0;
	if (k < n && !c->blocked) {
		c->blocked = true;
		TAILQ_INSERT_TAIL(&h->blocked, c, blocked_entry);
	} else if (k == n) {
		unblock(c);
	}
	return k;
}

void
hub_set_readonly(struct hub_client *c, bool readonly)
{
	c->readonly = readonly;
	/* A reader has nothing to wait for; left on the list it would be the
	 * head that hub_credit() stops at, and nobody behind it would ever
	 * be woken. */
	if (readonly)
		unblock(c);
}

void
hub_credit(struct hub *h)
{
	struct hub_client *c, *next;

	TAILQ_FOREACH_SAFE(c, &h->blocked, blocked_entry, next)
	{
		c->ops->input_ready(c->arg);
		if (c->blocked)
			break; /* still no room: the rest wait their turn */
	}
}

void
hub_client_say(struct hub_client *c, const char *text)
{
	outq_push(&c->q, text, strlen(text), clock_ms());
	c->ops->output(c->arg);
}

struct hub_client *
hub_first(struct hub *h)
{
	return TAILQ_FIRST(&h->clients);
}

struct hub_client *
hub_next(struct hub_client *c)
{
	return TAILQ_NEXT(c, entry);
}

size_t
hub_nclients(const struct hub *h)
{
	return h->nclients;
}

const char *
hub_name(const struct hub *h)
{
	return h->name;
}
