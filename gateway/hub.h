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
 * Callbacks run synchronously from hub_output()/hub_credit()/hub_pace(); a
 * client must not detach or free itself (or anyone) from inside them, only
 * schedule it.
 *
 * Pacing a crowded console (issue 9). Each viewer's copy of the output is
 * one SSH packet, built, MACed, encrypted and sent: 10 to 20 us on a PVM
 * host with libssh 0.10 and paramiko's AES-CTR + HMAC (libssh keys the HMAC
 * anew for every packet), whatever the hub does. Told all at once, 1,000
 * viewers kept the loop busy for 15-20 ms per echo, and the person typing
 * waited behind them all. So with more than HUB_PACE_VIEWERS clients and a
 * pacer set (hub_set_pacer), hub_output() tells at once only the clients
 * that typed in the last HUB_TYPIST_MS (their echo), and queues the others'
 * notices in order. The owner's loop then calls hub_pace() a pass at a
 * time, each telling HUB_PACE_SLICE of them, so keys are read between
 * slices; such a sweep over the waiting viewers starts at most every
 * HUB_PACE_MS, like a display's frames, and what comes meanwhile leaves in
 * the same packet. A watcher sees output up to HUB_PACE_MS plus the sweep
 * later (its bytes wait in its queue); the typist's echo waits for no one.
 * This makes a keystroke cheaper only when keys come faster than sweeps:
 * at a person's pace every viewer still gets each echo in a packet of its
 * own.
 *
 * Why a queue per viewer, not one buffer per VM whose readers hold positions
 * (tmux's window_pane_offset). tests/bench/bench_hub.c measures the hub
 * layer alone (no SSH), 64 KiB scrollback replayed on attach, 20,000
 * one-byte echoes every viewer drains at once, then 1 MiB nobody reads
 * (gcc -O2, a loaded 2-core host, 2026-11-29):
 *
 *                         viewers  heap      ns per  heap       1 MiB
 *                                  attached  echo    echoing    unread
 *   queue per viewer           1    64 KiB      89    68 KiB    324 KiB
 *   queue per viewer        1000   376 KiB  13,105  4392 KiB  256392 KiB
 *   shared ring, positions     1   264 KiB       9   264 KiB    264 KiB
 *   shared ring, positions  1000   404 KiB   3,069   404 KiB    404 KiB
 *
 * CPU: neither matters. 13 to 18 us of hub work per keystroke at 1,000
 * viewers is about 0.1% of the 15 ms the gateway spent per keystroke there
 * (issue 9, a PVM host): the cost is one SSH packet built, encrypted and
 * sent per viewer, which no buffer layout removes. perf in tools/kvmbox,
 * 200 viewers, paramiko (aes128-ctr, hmac-sha2-256-etm): libcrypto 38%
 * (libssh makes a new HMAC key per packet, EVP_PKEY_new_mac_key and
 * EVP_DigestSignInit, 24% of vmgated's samples in a host profile), kernel
 * 38% (send, and loopback delivery to the client), libssh 10%, libc 7%,
 * vmgated itself 4% (console_pump the largest), the hub too little to show.
 * Memory: with one viewer the queues win (the shared ring is also the
 * scrollback, and must hold a whole per-viewer bound, 256 KiB, per VM, for
 * the case someone lags: 100 VMs are 25 MiB instead of 6.4 MiB); with 1,000
 * echoing viewers the ring wins by 4 MiB, less than half of what those
 * sessions cost in libssh anyway (8.4 KiB each, tests/bench/run.sh).
 * It wins big only when viewers stop reading: 1,000 of them hold 256 MiB
 * of queues, bounded in time by the session's overflow limit (10 s or
 * 4 MiB lost, then the viewer is disconnected). Semantics: a private line
 * (escape-key answers) or a notice kept out of the scrollback is one
 * outq_push() here; with positions it needs a side queue ordered against
 * the shared stream, and each reader's overflow streak its own bookkeeping.
 * So the queues stay, and a drained queue keeps at most 4 KiB (outq.h); the
 * figures above for "queue per viewer" are with that (before it, every
 * viewer kept its 64 KiB replay ring: 64 MiB for 1,000).
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
#define HUB_PACE_VIEWERS 64 /* up to this many clients: all told at once */
#define HUB_PACE_SLICE 64   /* else this many per hub_pace() */
#define HUB_TYPIST_MS 1000  /* typed this recently: told at once */
#define HUB_PACE_MS 50	    /* sweeps over waiting viewers start this apart */

struct hub;

struct hub_client_ops {
	void (*output)(void *arg);	/* queue has new bytes */
	void (*input_ready)(void *arg); /* hub_write() may take more now */
};

TAILQ_HEAD(hub_clients, hub_client);

struct hub_client {
	TAILQ_ENTRY(hub_client) entry;
	TAILQ_ENTRY(hub_client) blocked_entry;
	TAILQ_ENTRY(hub_client) paced_entry;
	struct hub *hub;
	char *user;
	bool readonly; /* read it; change it with hub_set_readonly() */
	bool blocked;  /* on the hub's list waiting for input room */
	/* Waiting for hub_pace(): on the hub's list for this sweep or the
	 * next (NULL: not waiting). */
	struct hub_clients *paced;
	uint64_t typed_ms; /* clock_ms() of its last input (0: none) */
	time_t since;
	struct outq q; /* bytes for this client, oldest first */
	const struct hub_client_ops *ops;
	void *arg;
};

/* send: writes up to n bytes into the guest, returns how many it took. */
typedef size_t (*hub_send_fn)(void *arg, const uint8_t *p, size_t n);

/* client_queue: each client's queue, bytes (0: HUB_CLIENT_QUEUE); at
 * least twice the scrollback whatever is asked (the replay must fit). */
struct hub *hub_new(const char *vm, size_t scrollback, size_t client_queue,
		    hub_send_fn send, void *send_arg);
/* Every client must have been detached. Accepts NULL. */
void hub_free(struct hub *h);
/* Paces the fan-out (above): pace(arg, ms) is called when clients start
 * to wait, and must then call hub_pace() in ms milliseconds (0: on the next
 * loop pass, after the sockets are polled). */
void hub_set_pacer(struct hub *h, void (*pace)(void *arg, int ms), void *arg);
/* Tells the next HUB_PACE_SLICE waiting clients; returns -1 if no one
 * waits any more, else when to call it again (ms, 0: next pass). */
int hub_pace(struct hub *h);

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

#endif
