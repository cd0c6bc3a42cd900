/*
 * A small pool of threads for blocking work (password hashing, fsync) so the
 * event loop never waits (DESIGN.md §4).
 *
 * worker_submit() queues work(arg) for a pool thread; when it has run,
 * done(arg) is called on the loop thread, from a libevent callback. work()
 * must touch nothing but arg and thread-safe state; done() may touch
 * anything the loop owns. A job is never cancelled: whoever submits it keeps
 * arg alive until done() runs (e.g. by holding a reference).
 */
#ifndef VMGATE_WORKER_H
#define VMGATE_WORKER_H

struct event_base;
struct worker;

struct worker *worker_new(struct event_base *base, unsigned nthreads);
/* Runs every queued job to completion (done() included), then frees. */
void worker_free(struct worker *w);

void worker_submit(struct worker *w, void (*work)(void *arg),
		   void (*done)(void *arg), void *arg);

#endif
