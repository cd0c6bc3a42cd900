#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
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
	int sync_err;	  /* errno of the job's fdatasync (0: it worked) */
	bool failing;	  /* a write or sync failed; nothing got through since */
	bool torn;	  /* a part line could not be cut off the file */
	unsigned long lost; /* lines not written while failing */
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

/* Starts a line in j: {"ts": now, "event": event */
static void
begin(struct json *j, const char *event)
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
	json_raw(j, "{", 1);
	json_kstr(j, "ts", stamp);
	json_kstr(j, "event", event);
}

struct json *
audit_begin(struct audit *a, const char *event)
{
	json_reset(&a->line);
	begin(&a->line, event);
	return &a->line;
}

static void
sync_work(void *arg)
{
	struct audit *a = arg;

	a->sync_err = fdatasync(a->fd) == 0 ? 0 : errno;
}

/* Logs once when the audit starts failing. */
static void
audit_fail(struct audit *a, const char *what, int err)
{
	if (a->failing)
		return;
	a->failing = true;
	LOG("audit log cannot be written (%s: %s); refusing new sessions and "
	    "power actions until it can",
	    what, err ? strerror(err) : "short write");
}

static void
sync_done(void *arg)
{
	struct audit *a = arg;

	a->sync_running = 0;
	if (a->sync_err != 0) {
		/* The lines since the last good sync may not be on disk. */
		audit_fail(a, "fdatasync", a->sync_err);
		a->sync_err = 0;
	}
	if (a->dirty) {
		a->dirty = 0;
		a->sync_running = 1;
		worker_submit(a->w, sync_work, sync_done, a);
	}
}

/*
 * Appends buf[0..len) with write(2) (O_APPEND); 0, or -1 with errno. A write
 * that fails part way is cut off again, so no torn line stays in the file.
 */
static int
append(struct audit *a, const char *buf, size_t len)
{
	off_t start = lseek(a->fd, 0, SEEK_END);
	const char *p = buf;
	size_t left = len;

	while (left > 0) {
		ssize_t k = write(a->fd, p, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int err = k < 0 ? errno : ENOSPC;
			if (p != buf && (start < 0 || ftruncate(a->fd, start) != 0))
				a->torn = true;
			errno = err;
			return -1;
		}
		p += k;
		left -= (size_t)k;
	}
	return 0;
}

/* While failing: the recovery line, then the waiting line, then a sync. */
static int
audit_retry(struct audit *a)
{
	struct json rec;
	int r = -1;

	json_init(&rec);
	if (a->torn)
		json_raw(&rec, "\n", 1); /* a torn line ends, alone on its own */
	begin(&rec, "daemon");
	json_kstr(&rec, "what", "audit_recovered");
	json_kint(&rec, "lost", (long long)a->lost);
	json_raw(&rec, "}\n", 2);
	off_t start = lseek(a->fd, 0, SEEK_END);
	if (append(a, rec.buf, rec.len) != 0)
		goto fail;
	a->torn = false;
	if (append(a, a->line.buf, a->line.len) != 0 || fdatasync(a->fd) != 0) {
		/* Not through after all: no "recovered" line without it. */
		int err = errno;
		if (start < 0 || ftruncate(a->fd, start) != 0)
			a->torn = true;
		errno = err;
		goto fail;
	}
	LOG("audit log recovered: %lu line%s could not be written", a->lost,
	    a->lost == 1 ? "" : "s");
	a->failing = false;
	a->lost = 0;
	r = 0;
	goto out;
fail:
	a->lost++;
	audit_fail(a, "write", errno);
out:
	json_free(&rec);
	return r;
}

int
audit_end(struct audit *a)
{
	json_raw(&a->line, "}\n", 2);
	if (a->failing)
		return audit_retry(a);
	if (append(a, a->line.buf, a->line.len) != 0) {
		a->lost++;
		audit_fail(a, "write", errno);
		return -1;
	}
	if (a->w == NULL)
		return 0;
	if (a->sync_running) {
		a->dirty = 1;
	} else {
		a->sync_running = 1;
		worker_submit(a->w, sync_work, sync_done, a);
	}
	return 0;
}

bool
audit_failing(const struct audit *a)
{
	return a->failing;
}

void
audit_kname(struct json *j, const char *key, const char *val)
{
	size_t n = val ? strnlen(val, AUDIT_MAX_NAME + 1) : 0;

	if (n <= AUDIT_MAX_NAME) {
		json_kstrn(j, key, val ? val : "", n);
		return;
	}
	n = json_utf8_complete((const uint8_t *)val, AUDIT_MAX_NAME);
	json_kstrn(j, key, val, n);
	char cut[80];
	snprintf(cut, sizeof(cut), "%s_cut", key);
	json_kbool(j, cut, true);
}
