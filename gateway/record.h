/*
 * Console session recordings in asciicast v2 (DESIGN.md §4): a header line
 *
 *	{"version": 2, "width": W, "height": H, "timestamp": UNIX,
 *	 "title": "...", "env": {"TERM": "..."}}
 *
 * then one [seconds, "o", "text"] line per chunk of output the session was
 * sent. Each line is written with one write(2) as it happens, so a crash of
 * the gateway loses nothing already shown. Console bytes that are not valid
 * UTF-8 are written as U+FFFD; a UTF-8 sequence split between two chunks is
 * held back and written whole with the next one.
 *
 * Bounds (struct record_limits, from vmgate.yaml's recordings:):
 *  - A recording does not copy the whole scrollback the session is sent on
 *    attach, only its last 'replay' bytes, from the first line start in
 *    them, after a one-line note. A short replay rather than a reference to
 *    another file: every file stays self-contained, so asciinema cat/play
 *    of any one file shows the screen the user saw, even after the file
 *    that held the earlier output was rotated away.
 *  - A VM's files in the folder hold at most 'quota' bytes and number at
 *    most 'max_files': before a recording starts, the oldest finished files
 *    of that VM are removed (rotated) until the new one fits. A recording
 *    being written counts for its whole cap, so the bound holds while it
 *    grows; if the live ones leave less than RECORD_MIN_CAP, no recording.
 *  - A recording stops at its cap ('max_file' or what the quota leaves),
 *    with a last line saying so; the session goes on.
 *  - A failed write (a full disk) stops the recording the same way, cut back
 *    to its last whole line so it still plays; the session goes on.
 *
 * A VM's files are the regular files dir/VM-YYYYMMDDTHHMMSSZ-*.cast; other
 * files in the folder are never counted or removed.
 */
#ifndef VMGATE_RECORD_H
#define VMGATE_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORD_MIN_CAP (8 * 1024)

struct record;

struct record_limits {
	uint64_t quota;	    /* bytes, all of the VM's files */
	uint64_t max_file;  /* bytes, one file */
	uint64_t replay;    /* scrollback bytes a recording starts with */
	unsigned max_files; /* the VM's files, this one included */
};

/* Told of each file rotated away (path and size) before record_open
 * returns; for the audit. */
typedef void (*record_rotated_fn)(void *arg, const char *path, uint64_t size);

/*
 * Creates dir/NAME.cast (0600), NAME from the VM, user, time and session id
 * (all already safe names), after rotating the VM's oldest files as 'lim'
 * requires. Returns NULL with errno on failure (EDQUOT: the VM's live
 * recordings leave no room). *pathp, if not NULL, receives the file's path
 * (caller frees).
 */
struct record *record_open(const char *dir, const char *vm, const char *user,
			   unsigned long session_id, unsigned width,
			   unsigned height, const char *term,
			   const struct record_limits *lim,
			   record_rotated_fn rotated, void *arg, char **pathp);
/* The next n bytes of output are the scrollback replayed on attach: only
 * their last lim->replay bytes are kept. Call before any record_output. */
void record_replay(struct record *r, size_t n);
/* An output event; n may be 0. Accepts NULL. */
void record_output(struct record *r, const void *data, size_t n);
/* Accepts NULL. */
void record_close(struct record *r);

/*
 * The rotation rule, on its own: files[0..n) are one VM's files, each with
 * its size (for a live one: its cap) and age. Sorts them oldest first, sets
 * 'remove' on the oldest finished ones that must go so that a new file of
 * up to lim->max_file bytes fits in lim->quota and lim->max_files, and
 * returns the new file's cap: lim->max_file, less if live files leave less
 * room, 0 if that is under RECORD_MIN_CAP or the count cannot be met.
 */
struct record_file {
	char *name;	  /* in the folder; owned by the caller */
	uint64_t size;	  /* bytes, or the cap of a live recording */
	int64_t mtime_ns; /* age: last change */
	bool live;	  /* being written by this gateway: never removed */
	bool remove;	  /* out */
};
uint64_t record_plan(struct record_file *files, size_t n,
		     const struct record_limits *lim);

#endif
