#include "worker.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

struct job {
	struct job *next;
	void (*work)(void *);
	void (*done)(void *);
	void *arg;
};

struct jobq {
	struct job *head, **tail;
};

struct worker {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jobq todo, finished;
	int efd; /* eventfd: finished jobs wait */
	struct event *ev;
	pthread_t *threads;
	unsigned nthreads;
	int stopping;
};

static void
q_push(struct jobq *q, struct job *j)
{
	j->next = NULL;
	*q->tail = j;
	q->tail = &j->next;
}

static struct job *
q_pop(struct jobq *q)
{
	struct job *j = q->head;

	if (j != NULL) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = &q->head;
	}
	return j;
}

static void *
run(void *arg)
{
	struct worker *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct job *j = q_pop(&w->todo);
		if (j == NULL) {
			if (w->stopping)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		pthread_mutex_unlock(&w->mu);
		j->work(j->arg);
		pthread_mutex_lock(&w->mu);
		q_push(&w->finished, j);
		(void)!write(w->efd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void
reap(struct worker *w)
{
	struct jobq done;
	struct job *j;

	pthread_mutex_lock(&w->mu);
	done = w->finished;
	if (done.head == NULL)
		done.tail = &done.head;
	w->finished.head = NULL;
	w->finished.tail = &w->finished.head;
	pthread_mutex_unlock(&w->mu);
	while ((j = q_pop(&done)) != NULL) {
		j->done(j->arg);
		free(j);
	}
}

static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	(void)!read(fd, &n, sizeof(n));
	reap(arg);
}

struct worker *
worker_new(struct event_base *base, unsigned nthreads)
{
	struct worker *w = xcalloc(1, sizeof(*w));

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->todo.tail = &w->todo.head;
	w->finished.tail = &w->finished.head;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		LOG("eventfd: %s", strerror(errno));
		abort();
	}
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, on_event, w);
	event_add(w->ev, NULL);
	w->threads = xcalloc(nthreads, sizeof(*w->threads));
	for (unsigned i = 0; i < nthreads; i++) {
		if (pthread_create(&w->threads[i], NULL, run, w) != 0) {
			LOG("pthread_create failed");
			abort();
		}
		w->nthreads++;
	}
	return w;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	reap(w);
	event_free(w->ev);
	close(w->efd);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w);
}

void
worker_submit(struct worker *w, void (*work)(void *), void (*done)(void *),
	      void *arg)
{
	struct job *j;

	if (w->stopping) {
		/* Shutting down (a done() queued more): run it here. */
		work(arg);
		done(arg);
		return;
	}
	j = xmalloc(sizeof(*j));
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->mu);
	q_push(&w->todo, j);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}
