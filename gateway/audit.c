#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "worker.h"
#include "xmalloc.h"

struct audit {
	int fd;
	struct worker *w;
	struct json line;
	int sync_running; /* a fdatasync job is queued or running */
	int dirty;	  /* written since that job started */
};

struct audit *
audit_open(const char *path, struct worker *w)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	struct audit *a;

	if (fd < 0)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	a->fd = fd;
	a->w = w;
	json_init(&a->line);
	return a;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	fdatasync(a->fd);
	close(a->fd);
	json_free(&a->line);
	free(a);
}

struct json *
audit_begin(struct audit *a, const char *event)
{
	char stamp[40];
	struct timeval tv;
	struct tm tm;
	size_t n;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ",
		 (long)(tv.tv_usec / 1000));
	json_reset(&a->line);
	json_raw(&a->line, "{", 1);
	json_kstr(&a->line, "ts", stamp);
	json_kstr(&a->line, "event", event);
	return &a->line;
}

static void
sync_work(void *arg)
{
	struct audit *a = arg;

	fdatasync(a->fd);
}

static void
sync_done(void *arg)
{
	struct audit *a = arg;

	a->sync_running = 0;
	if (a->dirty) {
		a->dirty = 0;
		a->sync_running = 1;
		worker_submit(a->w, sync_work, sync_done, a);
	}
}

void
audit_end(struct audit *a)
{
	json_raw(&a->line, "}\n", 2);
	const char *p = a->line.buf;
	size_t left = a->line.len;
	while (left > 0) {
		ssize_t k = write(a->fd, p, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			LOG("audit log write failed: %s",
			    k < 0 ? strerror(errno) : "short write");
			return;
		}
		p += k;
		left -= (size_t)k;
	}
	if (a->w == NULL)
		return;
	if (a->sync_running) {
		a->dirty = 1;
	} else {
		a->sync_running = 1;
		worker_submit(a->w, sync_work, sync_done, a);
	}
}
