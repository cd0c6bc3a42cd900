#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"

struct record {
	int fd;
	struct timespec start;
	uint8_t carry[4]; /* incomplete UTF-8 tail of the previous chunk */
	size_t ncarry;
	struct json line;
};

static void
put_line(struct record *r)
{
	const char *p = r->line.buf;
	size_t left = r->line.len;

	while (left > 0) {
		ssize_t k = write(r->fd, p, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* a full disk must not end the session */
		p += k;
		left -= (size_t)k;
	}
}

struct record *
record_open(const char *dir, const char *vm, const char *user,
	    unsigned long session_id, unsigned width, unsigned height,
	    const char *term, char **pathp)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	struct record *r;
	char *path;
	int fd;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	path =
	    xasprintf("%s/%s-%s-%s-%lu.cast", dir, vm, stamp, user, session_id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(path);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	json_init(&r->line);
	json_rawz(&r->line, "{");
	json_kint(&r->line, "version", 2);
	json_kint(&r->line, "width", width ? width : 80);
	json_kint(&r->line, "height", height ? height : 24);
	json_kint(&r->line, "timestamp", (long long)now);
	char *title = xasprintf("%s@%s", user, vm);
	json_kstr(&r->line, "title", title);
	free(title);
	if (term != NULL && *term) {
		json_rawz(&r->line, ",\"env\":{");
		json_kstr(&r->line, "TERM", term);
		json_rawz(&r->line, "}");
	}
	json_rawz(&r->line, "}\n");
	put_line(r);
	if (pathp != NULL)
		*pathp = path;
	else
		free(path);
	return r;
}

static void
emit(struct record *r, const uint8_t *p, size_t n)
{
	struct timespec now;
	char t[32];

	clock_gettime(CLOCK_MONOTONIC, &now);
	double sec = (double)(now.tv_sec - r->start.tv_sec) +
		     (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
	json_reset(&r->line);
	snprintf(t, sizeof(t), "[%.6f,\"o\",", sec);
	json_rawz(&r->line, t);
	json_str(&r->line, (const char *)p, n);
	json_rawz(&r->line, "]\n");
	put_line(r);
}

void
record_output(struct record *r, const void *data, size_t n)
{
	uint8_t *chunk;
	size_t len, whole;

	if (r == NULL || n == 0)
		return;
	chunk = xmalloc(r->ncarry + n);
	memcpy(chunk, r->carry, r->ncarry);
	memcpy(chunk + r->ncarry, data, n);
	len = r->ncarry + n;
	whole = json_utf8_complete(chunk, len);
	r->ncarry = len - whole;
	memcpy(r->carry, chunk + whole, r->ncarry);
	if (whole > 0)
		emit(r, chunk, whole);
	free(chunk);
}

void
record_close(struct record *r)
{
	if (r == NULL)
		return;
	if (r->ncarry > 0) /* cut short at the very end: shown as U+FFFD */
		emit(r, r->carry, r->ncarry);
	close(r->fd);
	json_free(&r->line);
	free(r);
}
