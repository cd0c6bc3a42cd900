#include "record.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "xmalloc.h"

/* Room kept under a recording's cap for its last line. */
#define RECORD_MARK_ROOM 256

struct record {
	TAILQ_ENTRY(record) entry; /* record_live */
	int fd;			   /* -1 once stopped */
	char *path;
	dev_t dev;
	ino_t ino;
	uint64_t cap;  /* bytes this file may reach */
	uint64_t size; /* bytes of whole lines written */
	struct timespec start;
	uint8_t carry[4]; /* incomplete UTF-8 tail of the previous chunk */
	size_t ncarry;
	uint64_t replay;    /* lim->replay */
	size_t skip;	    /* replayed bytes still to drop */
	size_t replay_left; /* replayed bytes still to come after those */
	bool align;	    /* drop up to a line start within the replay */
	struct json line;
};

/* Every recording this gateway is writing: their files are never rotated
 * and count for their whole cap. One event loop, so no lock. */
static TAILQ_HEAD(, record) record_live = TAILQ_HEAD_INITIALIZER(record_live);

static double
record_seconds(const struct record *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - r->start.tv_sec) +
	       (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
}

/* The line in r->line, whole or not at all: false if it failed. */
static bool
record_write(struct record *r)
{
	const char *p = r->line.buf;
	size_t left = r->line.len;

	while (left > 0) {
		ssize_t k = write(r->fd, p, left);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int err = k < 0 ? errno : ENOSPC;
			/* Cut back to the last whole line so it still plays;
			 * if even that fails there is nothing more to do. */
			if (ftruncate(r->fd, (off_t)r->size) == 0)
				(void)lseek(r->fd, (off_t)r->size, SEEK_SET);
			errno = err;
			return false;
		}
		p += k;
		left -= (size_t)k;
	}
	r->size += r->line.len;
	return true;
}

/* Ends the recording with a last line (if the disk takes it); the session
 * goes on unrecorded. */
static void
record_stop(struct record *r, const char *why)
{
	char t[32], text[160];

	if (r->fd < 0)
		return;
	snprintf(text, sizeof(text),
		 "\r\n[vmgate: recording stopped: %s; the session goes on]\r\n",
		 why);
	json_reset(&r->line);
	snprintf(t, sizeof(t), "[%.6f,\"o\",", record_seconds(r));
	json_rawz(&r->line, t);
	json_str(&r->line, text, strlen(text));
	json_rawz(&r->line, "]\n");
	(void)record_write(r);
	LOG("recording %s stopped: %s", r->path, why);
	close(r->fd);
	r->fd = -1;
}

/* Writes r->line unless that would take the file past its cap. */
static void
record_put(struct record *r)
{
	char why[80];

	if (r->fd < 0)
		return;
	if (r->size + r->line.len + RECORD_MARK_ROOM > r->cap) {
		snprintf(why, sizeof(why),
			 "it reached its size limit of %llu "
			 "bytes",
			 (unsigned long long)r->cap);
		record_stop(r, why);
		return;
	}
	if (!record_write(r))
		record_stop(r, errno == ENOSPC || errno == EDQUOT
				   ? "the disk is full"
				   : "it cannot be written");
}

static int
record_file_cmp(const void *a, const void *b)
{
	const struct record_file *x = a, *y = b;

	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns < y->mtime_ns ? -1 : 1;
	return strcmp(x->name, y->name);
}

uint64_t
record_plan(struct record_file *files, size_t n,
	    const struct record_limits *lim)
{
	uint64_t total = 0, room;
	size_t count = n;

	if (n > 0) /* qsort(NULL, 0) is undefined */
		qsort(files, n, sizeof(*files), record_file_cmp);
	for (size_t i = 0; i < n; i++) {
		files[i].remove = false;
		total += files[i].size;
	}
	for (size_t i = 0; i < n; i++) {
		if (total + lim->max_file <= lim->quota &&
		    count + 1 <= lim->max_files)
			break;
		if (files[i].live)
			continue;
		files[i].remove = true;
		total -= files[i].size;
		count--;
	}
	if (count + 1 > lim->max_files || total >= lim->quota)
		return 0;
	room = lim->quota - total;
	if (room > lim->max_file)
		room = lim->max_file;
	return room < RECORD_MIN_CAP ? 0 : room;
}

/* VM-YYYYMMDDTHHMMSSZ-*.cast */
static bool
record_is_vms(const char *name, const char *vm)
{
	static const char stamp[] = "DDDDDDDDTDDDDDDZ-";
	size_t vl = strlen(vm), nl = strlen(name);

	if (nl < vl + 1 + sizeof(stamp) - 1 + 5 || strncmp(name, vm, vl) != 0 ||
	    name[vl] != '-' || strcmp(name + nl - 5, ".cast") != 0)
		return false;
	for (size_t i = 0; stamp[i]; i++) {
		char c = name[vl + 1 + i];
		if (stamp[i] == 'D' ? (c < '0' || c > '9') : c != stamp[i])
			return false;
	}
	return true;
}

static const struct record *
record_find_live(dev_t dev, ino_t ino)
{
	const struct record *r;

	TAILQ_FOREACH(r, &record_live, entry)
	if (r->dev == dev && r->ino == ino)
		return r;
	return NULL;
}

/* Lists the VM's files, removes what record_plan says; returns the cap. */
static uint64_t
record_rotate(const char *dir, const char *vm, const struct record_limits *lim,
	      record_rotated_fn rotated, void *arg)
{
	struct record_file *files = NULL;
	size_t n = 0, alloc = 0;
	uint64_t cap = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		goto out;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		const struct record *live;

		if (!record_is_vms(de->d_name, vm) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
			0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == alloc) {
			alloc = alloc ? 2 * alloc : 64;
			files = xreallocarray(files, alloc, sizeof(*files));
		}
		live = record_find_live(st.st_dev, st.st_ino);
		files[n].name = xstrdup(de->d_name);
		files[n].size = (uint64_t)st.st_size;
		if (live != NULL && live->fd >= 0 && live->cap > files[n].size)
			files[n].size = live->cap;
		files[n].mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
				    st.st_mtim.tv_nsec;
		files[n].live = live != NULL;
		n++;
	}
	cap = record_plan(files, n, lim);
	for (size_t i = 0; i < n; i++) {
		if (!files[i].remove)
			continue;
		if (unlinkat(dirfd(d), files[i].name, 0) != 0) {
			LOG("cannot rotate recording %s/%s: %s", dir,
			    files[i].name, strerror(errno));
			continue;
		}
		char *path = xasprintf("%s/%s", dir, files[i].name);
		if (rotated != NULL)
			rotated(arg, path, files[i].size);
		free(path);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(files[i].name);
	free(files);
	if (d != NULL)
		closedir(d);
	return cap;
}

struct record *
record_open(const char *dir, const char *vm, const char *user,
	    unsigned long session_id, unsigned width, unsigned height,
	    const char *term, const struct record_limits *lim,
	    record_rotated_fn rotated, void *arg, char **pathp)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	struct stat st;
	struct record *r = NULL;
	char *path = NULL;
	uint64_t cap;
	int fd = -1, err = 0;

	if (pathp != NULL)
		*pathp = NULL;
	cap = record_rotate(dir, vm, lim, rotated, arg);
	if (cap == 0) {
		err = EDQUOT;
		goto out;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	path =
	    xasprintf("%s/%s-%s-%s-%lu.cast", dir, vm, stamp, user, session_id);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		err = errno;
		goto out;
	}
	r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	fd = -1; /* transferred */
	r->path = path;
	path = NULL; /* transferred */
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->cap = cap;
	r->replay = lim->replay;
	TAILQ_INSERT_TAIL(&record_live, r, entry);
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
	record_put(r);
	if (pathp != NULL)
		*pathp = xstrdup(r->path);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	if (r == NULL)
		errno = err;
	return r;
}

static void
emit(struct record *r, const uint8_t *p, size_t n)
{
	char t[32];

	json_reset(&r->line);
	snprintf(t, sizeof(t), "[%.6f,\"o\",", record_seconds(r));
	json_rawz(&r->line, t);
	json_str(&r->line, (const char *)p, n);
	json_rawz(&r->line, "]\n");
	record_put(r);
}

void
record_replay(struct record *r, size_t n)
{
	char note[160];

	if (r == NULL || n <= r->replay)
		return;
	r->skip = n - (size_t)r->replay;
	r->replay_left = (size_t)r->replay;
	r->align = r->replay > 0;
	snprintf(note, sizeof(note),
		 "[vmgate: this recording starts with the last %llu of the "
		 "%zu bytes of scrollback]\r\n",
		 (unsigned long long)r->replay, n);
	emit(r, (const uint8_t *)note, strlen(note));
}

void
record_output(struct record *r, const void *data, size_t n)
{
	const uint8_t *p = data;
	uint8_t *chunk;
	size_t len, whole, k;

	if (r == NULL || r->fd < 0 || n == 0)
		return;
	k = r->skip < n ? r->skip : n;
	r->skip -= k;
	p += k;
	n -= k;
	if (r->align && n > 0) {
		/* Start the replay at a line start, not inside a character
		 * or an escape sequence. */
		size_t lim = n < r->replay_left ? n : r->replay_left;
		const uint8_t *nl = memchr(p, '\n', lim);
		k = nl != NULL ? (size_t)(nl - p) + 1 : lim;
		if (nl != NULL || k == r->replay_left)
			r->align = false;
		r->replay_left -= k;
		p += k;
		n -= k;
	}
	k = r->replay_left < n ? r->replay_left : n;
	r->replay_left -= k;
	if (n == 0)
		return;
	chunk = xmalloc(r->ncarry + n);
	memcpy(chunk, r->carry, r->ncarry);
	memcpy(chunk + r->ncarry, p, n);
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
	if (r->fd >= 0 && r->ncarry > 0) /* cut short at the very end */
		emit(r, r->carry, r->ncarry);
	if (r->fd >= 0)
		close(r->fd);
	TAILQ_REMOVE(&record_live, r, entry);
	json_free(&r->line);
	free(r->path);
	free(r);
}
