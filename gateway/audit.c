#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "policy.h"
#include "worker.h"
#include "xmalloc.h"

/* A kind of line whose repeats are being counted (audit_end_repeat). */
struct repeat {
	char *group, *kind;
	time_t since;	     /* when the window began (monotonic s) */
	unsigned long count; /* lines counted, not written, since */
	char first[40];	     /* the ts of the first and last of them */
	char last[40];
	struct json tail; /* the last one after its ts, without "}\n" */
};

struct audit {
	int fd;
	struct worker *w;
	struct json line;
	char stamp[CLOCK_STAMP_LEN]; /* the line's ts */
	size_t ts_end;		     /* where the line's ts member ends */
	struct repeat rep[AUDIT_REPEAT_SLOTS];
	unsigned nrep;
	int sync_running; /* a fdatasync job is queued or running */
	int dirty;	  /* written since that job started */
	int sync_err;	  /* errno of the job's fdatasync (0: it worked) */
	bool failing; /* a write or sync failed; nothing got through since */
	bool torn;    /* a part line could not be cut off the file */
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

static void repeat_flush(struct audit *a, bool all);

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	/* The worker is gone (audit.h): the counts are synced just below. */
	a->w = NULL;
	repeat_flush(a, true);
	for (unsigned i = 0; i < AUDIT_REPEAT_SLOTS; i++)
		json_free(&a->rep[i].tail);
	fdatasync(a->fd);
	close(a->fd);
	json_free(&a->line);
	free(a);
}

/* Starts a line in j: {"ts": stamp, "event": event */
static void
begin(struct json *j, const char *stamp, const char *event)
{
	json_raw(j, "{", 1);
	json_kstr(j, "ts", stamp);
	if (event != NULL)
		json_kstr(j, "event", event);
}

struct json *
audit_begin(struct audit *a, const char *event)
{
	json_reset(&a->line);
	clock_stamp(a->stamp);
	begin(&a->line, a->stamp, NULL);
	a->ts_end = a->line.len;
	json_kstr(&a->line, "event", event);
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
			if (p != buf &&
			    (start < 0 || ftruncate(a->fd, start) != 0))
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
audit_retry(struct audit *a, const struct json *line)
{
	struct json rec;
	int r = -1;

	json_init(&rec);
	if (a->torn)
		json_raw(&rec, "\n",
			 1); /* a torn line ends, alone on its own */
	char stamp[CLOCK_STAMP_LEN];
	clock_stamp(stamp);
	begin(&rec, stamp, "daemon");
	json_kstr(&rec, "what", "audit_recovered");
	json_kint(&rec, "lost", (long long)a->lost);
	json_raw(&rec, "}\n", 2);
	off_t start = lseek(a->fd, 0, SEEK_END);
	if (append(a, rec.buf, rec.len) != 0)
		goto fail;
	a->torn = false;
	if (append(a, line->buf, line->len) != 0 || fdatasync(a->fd) != 0) {
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

/* Writes a whole line ("...}\n"), failing closed (audit.h). */
static int
put(struct audit *a, const struct json *line)
{
	if (a->failing)
		return audit_retry(a, line);
	if (append(a, line->buf, line->len) != 0) {
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

int
audit_end(struct audit *a)
{
	json_raw(&a->line, "}\n", 2);
	return put(a, &a->line);
}

/*
 * Repeats -----------------------------------------------------------------
 * A slot per (group, kind) seen in the last AUDIT_REPEAT_SECS; its first
 * line of a window was written, the later ones are counted, and the count
 * goes out as one line when the window ends, when the group has a line of
 * another kind, when the slots run out, and at close.
 */

/* Seconds on the monotonic clock. */
static time_t
mono_secs(void)
{
	return (time_t)(clock_ms() / 1000);
}

/* Writes slot i's count as one line, if it has one, and zeroes it. */
static void
repeat_write(struct audit *a, unsigned i)
{
	struct repeat *r = &a->rep[i];
	struct json sum;
	char stamp[CLOCK_STAMP_LEN];

	if (r->count == 0)
		return;
	json_init(&sum);
	clock_stamp(stamp);
	begin(&sum, stamp, NULL);
	json_raw(&sum, r->tail.buf, r->tail.len);
	json_kint(&sum, "repeat", (long long)r->count);
	json_kstr(&sum, "first", r->first);
	json_kstr(&sum, "last", r->last);
	json_raw(&sum, "}\n", 2);
	put(a, &sum); /* a failure is counted and logged there */
	json_free(&sum);
	r->count = 0;
}

/* Writes slot i's count and frees the slot. */
static void
repeat_drop(struct audit *a, unsigned i)
{
	struct repeat *r = &a->rep[i];

	repeat_write(a, i);
	free(r->group);
	free(r->kind);
	json_free(&r->tail);
	a->nrep--;
	*r = a->rep[a->nrep];
	memset(&a->rep[a->nrep], 0, sizeof(a->rep[a->nrep]));
}

/* The oldest slot whose window has ended (any slot if all), or nrep. */
static unsigned
repeat_oldest(struct audit *a, bool all)
{
	time_t now = mono_secs();
	unsigned best = a->nrep;

	for (unsigned i = 0; i < a->nrep; i++) {
		struct repeat *r = &a->rep[i];
		if (!all && now - r->since < AUDIT_REPEAT_SECS)
			continue;
		if (best == a->nrep || r->since < a->rep[best].since)
			best = i;
	}
	return best;
}

/* Drops the slots whose window has ended (all: every slot), oldest first
 * so that the counts go out in the order their windows began. */
static void
repeat_flush(struct audit *a, bool all)
{
	unsigned i;

	while ((i = repeat_oldest(a, all)) < a->nrep)
		repeat_drop(a, i);
}

void
audit_flush_due(struct audit *a)
{
	repeat_flush(a, false);
}

int
audit_end_repeat(struct audit *a, const char *group, const char *kind)
{
	unsigned i;

	repeat_flush(a, false);
	for (i = 0; i < a->nrep; i++)
		if (strcmp(a->rep[i].group, group) == 0 &&
		    strcmp(a->rep[i].kind, kind) == 0)
			break;
	if (i < a->nrep) {
		struct repeat *r = &a->rep[i];
		if (r->count++ == 0)
			snprintf(r->first, sizeof(r->first), "%s", a->stamp);
		snprintf(r->last, sizeof(r->last), "%s", a->stamp);
		json_reset(&r->tail);
		json_raw(&r->tail, a->line.buf + a->ts_end,
			 a->line.len - a->ts_end);
		return a->failing ? -1 : 0;
	}
	/* A kind this group has not had in its window: what the group
	 * counted so far goes out first, so the log keeps the order. */
	for (i = 0; i < a->nrep; i++)
		if (strcmp(a->rep[i].group, group) == 0)
			repeat_write(a, i);
	if (a->nrep == AUDIT_REPEAT_SLOTS)
		repeat_drop(a, repeat_oldest(a, true));
	struct repeat *r = &a->rep[a->nrep++];
	r->group = xstrdup(group);
	r->kind = xstrdup(kind);
	r->since = mono_secs();
	r->count = 0;
	json_init(&r->tail);
	return audit_end(a);
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

/* The events ----------------------------------------------------------- */

int
audit_auth(struct audit *a, const char *user, const char *method,
	   const char *result, const char *reason, const char *addr,
	   const char *key)
{
	struct json *j = audit_begin(a, "auth");

	audit_kname(j, "user", user);
	json_kstr(j, "method", method);
	json_kstr(j, "result", result);
	if (reason != NULL)
		json_kstr(j, "reason", reason);
	json_kstr(j, "addr", addr);
	if (key != NULL)
		json_kstr(j, "key", key);
	return audit_end(a);
}

int
audit_decision(struct audit *a, const char *user, const char *vm,
	       unsigned right, unsigned rights, const struct policy_reason *why,
	       const char *action, const char *addr, unsigned long session)
{
	char reason[256];
	struct json *j;

	policy_reason_str(why, right, reason, sizeof(reason));
	j = audit_begin(a, "decision");
	json_kstr(j, "user", user);
	json_kstr(j, "vm", vm);
	json_kstr(j, "right", policy_right_name(right));
	json_kbool(j, "allowed", (rights & right) != 0);
	json_kstr(j, "reason", reason);
	json_kstr(j, "action", action);
	json_kstr(j, "addr", addr);
	json_kint(j, "session", (long long)session);
	return audit_end(a);
}

int
audit_session_start(struct audit *a, unsigned long session, const char *user,
		    const char *vm, const char *mode, const char *addr,
		    bool pty, const char *recording)
{
	struct json *j = audit_begin(a, "session_start");

	json_kint(j, "session", (long long)session);
	json_kstr(j, "user", user);
	json_kstr(j, "vm", vm);
	json_kstr(j, "mode", mode);
	json_kstr(j, "addr", addr);
	json_kbool(j, "pty", pty);
	json_kstr(j, "recording", recording); /* null: none */
	return audit_end(a);
}

int
audit_session_end(struct audit *a, unsigned long session, const char *user,
		  const char *vm, unsigned long long bytes_in,
		  unsigned long long bytes_out, const char *reason,
		  const char *addr)
{
	struct json *j = audit_begin(a, "session_end");

	json_kint(j, "session", (long long)session);
	json_kstr(j, "user", user);
	json_kstr(j, "vm", vm);
	json_kint(j, "bytes_in", (long long)bytes_in);
	json_kint(j, "bytes_out", (long long)bytes_out);
	json_kstr(j, "reason", reason);
	json_kstr(j, "addr", addr);
	return audit_end(a);
}

int
audit_display_start(struct audit *a, unsigned long session, const char *user,
		    const char *vm, bool control, const char *path,
		    const char *addr)
{
	struct json *j = audit_begin(a, "display_start");

	json_kint(j, "session", (long long)session);
	json_kstr(j, "user", user);
	json_kstr(j, "vm", vm);
	json_kstr(j, "mode", control ? "control" : "view");
	json_kstr(j, "path", path);
	json_kstr(j, "addr", addr);
	return audit_end(a);
}

int
audit_display_end(struct audit *a, unsigned long session, const char *user,
		  const char *vm, const char *path, unsigned long long bytes_in,
		  unsigned long long bytes_out, const char *reason,
		  const char *addr)
{
	struct json *j = audit_begin(a, "display_end");

	json_kint(j, "session", (long long)session);
	json_kstr(j, "user", user);
	json_kstr(j, "vm", vm);
	json_kstr(j, "path", path);
	json_kint(j, "bytes_in", (long long)bytes_in);
	json_kint(j, "bytes_out", (long long)bytes_out);
	json_kstr(j, "reason", reason);
	json_kstr(j, "addr", addr);
	return audit_end(a);
}

int
audit_power(struct audit *a, const char *user, const char *vm,
	    const char *action)
{
	struct json *j = audit_begin(a, "power");

	json_kstr(j, "user", user);
	json_kstr(j, "vm", vm);
	json_kstr(j, "action", action);
	json_kstr(j, "result", "requested");
	return audit_end(a);
}

int
audit_power_result(struct audit *a, const char *user, const char *vm, bool ok,
		   const char *result)
{
	struct json *j = audit_begin(a, "power");

	json_kstr(j, "user", user);
	json_kstr(j, "vm", vm);
	json_kbool(j, "ok", ok);
	json_kstr(j, "result", result);
	return audit_end(a);
}

int
audit_reload(struct audit *a, bool ok, const char *policy, const char *error,
	     size_t users, size_t rules)
{
	struct json *j = audit_begin(a, "reload");

	json_kbool(j, "ok", ok);
	json_kstr(j, "policy", policy);
	if (error != NULL)
		json_kstr(j, "error", error);
	if (ok) {
		json_kint(j, "users", (long long)users);
		json_kint(j, "rules", (long long)rules);
	}
	return audit_end(a);
}

int
audit_revoked(struct audit *a, const char *user, const char *addr,
	      const char *key, const char *reason, size_t sessions)
{
	struct json *j = audit_begin(a, "revoked");

	json_kstr(j, "user", user);
	json_kstr(j, "addr", addr);
	json_kstr(j, "method", key != NULL ? "publickey" : "password");
	if (key != NULL)
		json_kstr(j, "key", key);
	json_kstr(j, "reason", reason);
	json_kint(j, "sessions", (long long)sessions);
	return audit_end(a);
}

int
audit_vm(struct audit *a, const char *vm, const char *state, const char *detail)
{
	struct json *j = audit_begin(a, "vm");

	json_kstr(j, "vm", vm);
	json_kstr(j, "state", state);
	json_kstr(j, "detail", detail);
	/* A guest can loop through states at will: repeats are counted. */
	return audit_end_repeat(a, vm, state);
}

int
audit_daemon_start(struct audit *a, long pid, unsigned port, size_t vms)
{
	struct json *j = audit_begin(a, "daemon");

	json_kstr(j, "what", "start");
	json_kint(j, "pid", (long long)pid);
	json_kint(j, "ssh_port", (long long)port);
	json_kint(j, "vms", (long long)vms);
	return audit_end(a);
}

int
audit_daemon_stop(struct audit *a)
{
	struct json *j = audit_begin(a, "daemon");

	json_kstr(j, "what", "stop");
	return audit_end(a);
}

int
audit_recording_rotated(struct audit *a, unsigned long session,
			const char *file, unsigned long long bytes)
{
	struct json *j = audit_begin(a, "recording_rotated");

	json_kint(j, "session", (long long)session);
	json_kstr(j, "file", file);
	json_kint(j, "bytes", (long long)bytes);
	return audit_end(a);
}
