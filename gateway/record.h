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
 */
#ifndef VMGATE_RECORD_H
#define VMGATE_RECORD_H

#include <stddef.h>
#include <stdint.h>

struct record;

/*
 * Creates dir/NAME.cast (0600), NAME from the VM, user, time and session id
 * (all already safe names). Returns NULL with errno on failure. *pathp, if
 * not NULL, receives the file's path (caller frees).
 */
struct record *record_open(const char *dir, const char *vm, const char *user,
			   unsigned long session_id, unsigned width,
			   unsigned height, const char *term, char **pathp);
/* An output event; n may be 0. */
void record_output(struct record *r, const void *data, size_t n);
/* Accepts NULL. */
void record_close(struct record *r);

#endif
