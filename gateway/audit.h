/*
 * The audit log (DESIGN.md §4): one JSON object per line, appended to
 * state_dir/audit.log (0600). Every line has
 *
 *	"ts": "2024-05-01T12:00:00.123Z", "event": "<kind>"
 *
 * then fields of that kind:
 *	auth		user, method (publickey|password|none|...), result
 *			(success|failure|probe-ok), addr, [key] (fingerprint)
 *	decision	user, vm, right, allowed (bool), reason, addr, [action]
 *	session_start	session, user, vm, mode (interactive|read-only|command),
 *			addr, [command], [recording]
 *	session_end	session, user, vm, bytes_in, bytes_out, reason
 *	power		user, vm, action, result
 *	reload		ok (bool), policy, [error], [users, rules]
 *	vm		vm, state, detail (monitor started/died, state changes)
 *	daemon		what (start|stop), ...
 *
 * Each line is written with one write(2) as it happens (a crash loses
 * nothing written before it); fdatasync runs on the worker pool, never on
 * the loop.
 */
#ifndef VMGATE_AUDIT_H
#define VMGATE_AUDIT_H

#include "json.h"

struct audit;
struct worker;

/* Opens (creates 0600) path for appending; NULL with errno on failure. */
struct audit *audit_open(const char *path, struct worker *w);
/* Accepts NULL. Call after worker_free() so no sync job is left. */
void audit_close(struct audit *a);

/*
 * Starts a line: returns the object under construction, with ts and event
 * already in it; add members with json_k*(), then audit_end(). One line at
 * a time (the loop is single-threaded).
 */
struct json *audit_begin(struct audit *a, const char *event);
void audit_end(struct audit *a);

#endif
