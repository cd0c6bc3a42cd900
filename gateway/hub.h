/*
 * A VM's console hub (DESIGN.md §4): one writer path into the guest, any
 * number of viewers, a scrollback ring replayed on attach.
 *
 * Guest output (hub_output) goes into the scrollback ring and into every
 * attached client's own bounded queue (outq.h), then each client's output()
 * callback is told there is something to send. A client that does not keep
 * up loses the oldest bytes of its own queue, never anyone else's, and the
 * guest is never slowed down.
 *
 * Input (hub_write) goes to the backend's send() (the supervisor, which
 * respects the VMM's input credit). What it cannot take now stays with the
 * caller, and the client's input_ready() is called when there is room again;
 * the caller must stop reading from its peer meanwhile. Read-only clients
 * cannot write at all: hub_write() refuses them whatever they pass.
 *
 * Callbacks run synchronously from hub_output()/hub_credit(); a client must
 * not detach or free itself (or anyone) from inside them, only schedule it.
 */
#ifndef VMGATE_HUB_H
#define VMGATE_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <time.h>

#include "outq.h"

#define HUB_CLIENT_QUEUE (256 * 1024) /* minimum per-client queue */

struct hub;

struct hub_client_ops {
	void (*output)(void *arg);	/* queue has new bytes */
	void (*input_ready)(void *arg); /* hub_write() may take more now */
};

struct hub_client {
	TAILQ_ENTRY(hub_client) entry;
	TAILQ_ENTRY(hub_client) blocked_entry;
	struct hub *hub;
	char *user;
	bool readonly; /* read it; change it with hub_set_readonly() */
	bool blocked;  /* on the hub's list waiting for input room */
	time_t since;
	struct outq q; /* bytes for this client, oldest first */
	const struct hub_client_ops *ops;
	void *arg;
};

/* send: writes up to n bytes into the guest, returns how many it took. */
typedef size_t (*hub_send_fn)(void *arg, const uint8_t *p, size_t n);

struct hub *hub_new(const char *vm, size_t scrollback, hub_send_fn send,
		    void *send_arg);
/* Every client must have been detached. Accepts NULL. */
void hub_free(struct hub *h);

/* Guest output, in order. */
void hub_output(struct hub *h, const uint8_t *p, size_t n);
/* The VMM lost n bytes of output: a marker goes into the stream. */
void hub_lost(struct hub *h, uint64_t n);
/* One line to every attached client, "\r\n[vmgate: TEXT]\r\n"; not kept in
 * the scrollback. */
void hub_notice(struct hub *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Attaches a client; its queue starts with the scrollback. */
struct hub_client *hub_attach(struct hub *h, const char *user, bool readonly,
			      const struct hub_client_ops *ops, void *arg);
/* Accepts NULL. */
void hub_detach(struct hub_client *c);

/* Input from c; returns bytes taken (0 for read-only clients). */
size_t hub_write(struct hub_client *c, const uint8_t *p, size_t n);
/* Changes c's mode (a policy reload). A client made read-only leaves the
 * writers' queue at once, so those waiting behind it are woken by the next
 * hub_credit() (the backend calls it when room comes: a queue is only ever
 * waiting for room). What it had not written yet is the caller's to drop.
 * Use this, never the field: a read-only head left on the queue would
 * stop hub_credit() for good. */
void hub_set_readonly(struct hub_client *c, bool readonly);
/* The backend can take input again: wakes blocked writers, oldest first. */
void hub_credit(struct hub *h);

/* Pushes text to one client's queue (escape-key answers) and notifies it. */
void hub_client_say(struct hub_client *c, const char *text);

/* Iteration over attached clients, in attach order. */
struct hub_client *hub_first(struct hub *h);
struct hub_client *hub_next(struct hub_client *c);
size_t hub_nclients(const struct hub *h);
const char *hub_name(const struct hub *h);

/* Milliseconds on the monotonic clock (the queues' time base). */
uint64_t hub_now_ms(void);

#endif
