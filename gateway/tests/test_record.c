/* Recordings: the rotation rule, then real files in a temporary folder:
 * quota, file count, per-file cap, short replay, a failed write. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "record.h"
#include "xmalloc.h"

#define K 1024ULL

static void
plan_files(struct record_file *f, size_t n, const uint64_t *sizes,
	   const int64_t *ages, const bool *live)
{
	for (size_t i = 0; i < n; i++) {
		f[i].name = xasprintf("f%zu", i);
		f[i].size = sizes[i];
		f[i].mtime_ns = ages[i];
		f[i].live = live != NULL && live[i];
		f[i].remove = true; /* must be reset by record_plan */
	}
}

static void
plan_free(struct record_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].name);
}

/* Which names record_plan removed, in its (oldest first) order. */
static char *
removed(const struct record_file *f, size_t n)
{
	char *s = xstrdup("");

	for (size_t i = 0; i < n; i++) {
		if (!f[i].remove)
			continue;
		char *t = xasprintf("%s%s%s", s, *s ? " " : "", f[i].name);
		free(s);
		s = t;
	}
	return s;
}

static void
test_plan_quota(void **state)
{
	/* ten 10K files given in no particular order; f3 is the oldest */
	static const uint64_t sizes[10] = {10 * K, 10 * K, 10 * K, 10 * K,
					   10 * K, 10 * K, 10 * K, 10 * K,
					   10 * K, 10 * K};
	static const int64_t ages[10] = {50, 70, 20, 10, 90,
					 30, 40, 60, 80, 100};
	struct record_limits lim = {64 * K, 16 * K, 4 * K, 1000};
	struct record_file f[10];
	char *s;

	(void)state;
	plan_files(f, 10, sizes, ages, NULL);
	/* 100K held; 40K may stay with room for a 16K file */
	assert_int_equal(record_plan(f, 10, &lim), 16 * K);
	s = removed(f, 10);
	assert_string_equal(s, "f3 f2 f5 f6 f0 f7");
	free(s);
	plan_free(f, 10);

	/* under the quota: nothing goes */
	plan_files(f, 3, sizes, ages, NULL);
	assert_int_equal(record_plan(f, 3, &lim), 16 * K);
	s = removed(f, 3);
	assert_string_equal(s, "");
	free(s);
	plan_free(f, 3);

	/* an empty folder */
	assert_int_equal(record_plan(NULL, 0, &lim), 16 * K);
}

static void
test_plan_count(void **state)
{
	static const uint64_t sizes[5] = {100, 100, 100, 100, 100};
	static const int64_t ages[5] = {5, 4, 3, 2, 1};
	struct record_limits lim = {1024 * K, 64 * K, 4 * K, 3};
	struct record_file f[5];
	char *s;

	(void)state;
	plan_files(f, 5, sizes, ages, NULL);
	assert_int_equal(record_plan(f, 5, &lim), 64 * K);
	s = removed(f, 5);
	assert_string_equal(s, "f4 f3 f2"); /* 2 stay, the new one is 3rd */
	free(s);
	plan_free(f, 5);
}

static void
test_plan_live(void **state)
{
	static const uint64_t sizes[3] = {16 * K, 4 * K, 4 * K};
	static const int64_t ages[3] = {1, 2, 3};
	static const bool live[3] = {true, false, false};
	static const bool two_live[3] = {true, true, false};
	struct record_limits lim = {32 * K, 16 * K, 4 * K, 1000};
	struct record_file f[3];
	char *s;

	(void)state;
	/* the oldest is being written: it stays, counted for its cap */
	plan_files(f, 3, sizes, ages, live);
	assert_int_equal(record_plan(f, 3, &lim), 16 * K);
	s = removed(f, 3);
	assert_string_equal(s, "f1 f2");
	free(s);
	plan_free(f, 3);

	/* live files leave 12K once the closed one is gone: the new one
	 * gets that */
	plan_files(f, 3, sizes, ages, two_live);
	assert_int_equal(record_plan(f, 3, &lim), 12 * K);
	s = removed(f, 3);
	assert_string_equal(s, "f2");
	free(s);
	plan_free(f, 3);

	/* live files fill the quota: no recording */
	lim.quota = 20 * K;
	plan_files(f, 3, sizes, ages, two_live);
	assert_int_equal(record_plan(f, 3, &lim), 0);
	plan_free(f, 3);

	/* the count cannot be met with live files alone */
	lim = (struct record_limits){1024 * K, 16 * K, 4 * K, 2};
	plan_files(f, 3, sizes, ages, two_live);
	assert_int_equal(record_plan(f, 3, &lim), 0);
	plan_free(f, 3);
}

/* ---- real files ---- */

struct folder {
	char dir[64];
	unsigned rotated;
	uint64_t rotated_bytes;
};

static void
on_rotated(void *arg, const char *path, uint64_t size)
{
	struct folder *f = arg;

	assert_non_null(strstr(path, f->dir));
	f->rotated++;
	f->rotated_bytes += size;
}

static void
folder_usage(const char *dir, const char *prefix, uint64_t *bytes,
	     unsigned *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	assert_non_null(d);
	*bytes = 0;
	*count = 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		assert_int_equal(fstatat(dirfd(d), de->d_name, &st, 0), 0);
		*bytes += (uint64_t)st.st_size;
		(*count)++;
	}
	closedir(d);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = xmalloc(1 << 20);

	assert_non_null(f);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* Every line ends in '\n' and looks like one JSON value; returns lines. */
static unsigned
check_lines(const char *buf, size_t len)
{
	unsigned n = 0;

	assert_true(len > 0 && buf[len - 1] == '\n');
	for (const char *p = buf; p < buf + len;) {
		const char *e = strchr(p, '\n');
		assert_true(e[-1] == '}' || e[-1] == ']');
		assert_true(p[0] == '{' || p[0] == '[');
		p = e + 1;
		n++;
	}
	return n;
}

static void
folder_make(struct folder *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_record.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
}

static void
folder_remove(struct folder *f)
{
	char *cmd = xasprintf("rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

/* A session: attach with a big scrollback, some output, detach. */
static char *
session(struct folder *f, const char *vm, unsigned long id,
	const struct record_limits *lim, size_t scrollback, int64_t age)
{
	char *buf = xmalloc(scrollback);
	char *path = NULL;
	struct record *r;

	for (size_t i = 0; i < scrollback; i++)
		buf[i] = (i % 50 == 49) ? '\n' : (char)('a' + i % 50 % 26);
	r = record_open(f->dir, vm, "bob", id, 80, 24, "xterm", lim, on_rotated,
			f, &path);
	assert_non_null(r);
	record_replay(r, scrollback);
	/* as the pump sends it: in pieces */
	for (size_t off = 0; off < scrollback; off += 1000)
		record_output(r, buf + off,
			      scrollback - off < 1000 ? scrollback - off
						      : 1000);
	record_output(r, "live output\r\n", 13);
	record_close(r);
	/* its age, one second per session, as time would pass */
	struct timespec ts[2] = {{.tv_sec = 1000000 + age},
				 {.tv_sec = 1000000 + age}};
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(buf);
	return path;
}

static void
test_folder_quota(void **state)
{
	struct record_limits lim = {32 * K, 8 * K, 1 * K, 1000};
	struct folder f;
	uint64_t bytes;
	unsigned count;
	char *first = NULL, *last = NULL, *other, *foreign;
	int fd;

	(void)state;
	folder_make(&f);
	/* another VM whose name starts the same, and a file not ours */
	other = session(&f, "web1", 999, &lim, 100, 0);
	foreign = xasprintf("%s/web-notes.txt", f.dir);
	fd = open(foreign, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	for (unsigned long i = 1; i <= 50; i++) {
		char *p = session(&f, "web", i, &lim, 64 * 1024, (int64_t)i);
		if (i == 1)
			first = p;
		else {
			free(last);
			last = p;
		}
		folder_usage(f.dir, "web-2", &bytes, &count);
		assert_true(bytes <= lim.quota);
	}
	assert_true(f.rotated > 0);
	assert_int_equal(access(first, F_OK), -1); /* the oldest went */
	assert_int_equal(access(last, F_OK), 0);
	assert_int_equal(access(other, F_OK), 0); /* not web's */
	assert_int_equal(access(foreign, F_OK), 0);
	folder_usage(f.dir, "web-2", &bytes, &count);
	assert_int_equal(count + f.rotated, 50);

	/* the newest: a header, the note, at most 1K of replay from a line
	 * start, the live output */
	size_t len;
	char *buf = slurp(last, &len);
	assert_true(check_lines(buf, len) >= 4);
	assert_true(len < 2 * K);
	assert_non_null(strstr(buf, "starts with the last 1024 of the 65536 "
				    "bytes of scrollback"));
	char *replay = strstr(buf, "\n[");
	replay = strstr(replay + 1, "\n[");
	assert_non_null(replay);
	assert_non_null(strstr(replay, ",\"o\",\"abcdefg"));
	assert_non_null(strstr(buf, "live output"));
	free(buf);

	/* the count bound */
	lim.max_files = 5;
	free(session(&f, "web", 51, &lim, 100, 60));
	folder_usage(f.dir, "web-2", &bytes, &count);
	assert_int_equal(count, 5);
	free(first);
	free(last);
	free(other);
	free(foreign);
	folder_remove(&f);
}

static void
test_file_cap(void **state)
{
	struct record_limits lim = {64 * K, 8 * K, 4 * K, 1000};
	struct folder f;
	char *path;
	char chunk[500];
	size_t len;
	struct record *r, *r2;

	(void)state;
	folder_make(&f);
	memset(chunk, 'x', sizeof(chunk));
	r = record_open(f.dir, "vm", "alice", 1, 80, 24, NULL, &lim, on_rotated,
			&f, &path);
	assert_non_null(r);
	for (int i = 0; i < 100; i++) /* 50K of output */
		record_output(r, chunk, sizeof(chunk));
	/* a second recording while the first is live: the first counts for
	 * its cap and is never rotated */
	r2 = record_open(f.dir, "vm", "bob", 2, 80, 24, NULL, &lim, on_rotated,
			 &f, NULL);
	assert_non_null(r2);
	record_close(r2);
	record_close(r);
	char *buf = slurp(path, &len);
	assert_true(len <= lim.max_file);
	check_lines(buf, len);
	assert_non_null(strstr(buf,
			       "recording stopped: it reached its size "
			       "limit of 8192 bytes; the session goes on"));
	free(buf);
	assert_int_equal(f.rotated, 0);

	/* live recordings fill the quota: the next one is refused */
	lim = (struct record_limits){16 * K, 8 * K, 4 * K, 1000};
	struct record *a = record_open(f.dir, "full", "a", 1, 0, 0, NULL, &lim,
				       on_rotated, &f, NULL);
	struct record *b = record_open(f.dir, "full", "a", 2, 0, 0, NULL, &lim,
				       on_rotated, &f, NULL);
	assert_non_null(a);
	assert_non_null(b);
	errno = 0;
	assert_null(record_open(f.dir, "full", "a", 3, 0, 0, NULL, &lim,
				on_rotated, &f, NULL));
	assert_int_equal(errno, EDQUOT);
	record_close(a);
	record_close(b);
	free(path);
	folder_remove(&f);
}

/* A write that fails (here: the file size limit, as a full disk would)
 * stops the recording with whole lines only (4 lines of output fit, the 5th
 * is cut back, the last line fits in what is left); nothing else happens. */
static void
test_write_fails(void **state)
{
	struct record_limits lim = {64 * K, 32 * K, 4 * K, 1000};
	struct rlimit old, small = {.rlim_cur = 3100, .rlim_max = 0};
	struct folder f;
	char chunk[700], *path, *buf;
	size_t len;
	struct record *r;

	(void)state;
	folder_make(&f);
	memset(chunk, 'y', sizeof(chunk));
	r = record_open(f.dir, "vm", "alice", 1, 80, 24, NULL, &lim, NULL, NULL,
			&path);
	assert_non_null(r);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (int i = 0; i < 10; i++)
		record_output(r, chunk, sizeof(chunk));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	record_output(r, chunk, sizeof(chunk)); /* stopped: ignored */
	record_close(r);
	buf = slurp(path, &len);
	assert_true(len <= 3100);
	assert_true(check_lines(buf, len) >= 2);
	assert_non_null(strstr(buf, "recording stopped: it cannot be "
				    "written; the session goes on"));
	free(buf);
	free(path);
	folder_remove(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_quota),
	    cmocka_unit_test(test_plan_count),
	    cmocka_unit_test(test_plan_live),
	    cmocka_unit_test(test_folder_quota),
	    cmocka_unit_test(test_file_cap),
	    cmocka_unit_test(test_write_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
