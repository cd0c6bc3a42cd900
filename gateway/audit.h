/*
 * The audit log (DESIGN.md §4): one JSON object per line, appended to
 * state_dir/audit.log (0600). Every line has
 *
 *	"ts": "2024-05-01T12:00:00.123Z", "event": "<kind>"
 *
 * then fields of that kind, in this order ([x]: only when there is one):
 *	auth		user, method (publickey|password|none|...), result
 *			(success|failure|probe-ok|refused), [reason] (refused),
 *			addr, [key] (fingerprint)
 *	decision	user, vm, right, allowed (bool), reason, action, addr,
 *			session
 *	session_start	session, user, vm, mode (interactive|read-only), addr,
 *			pty (bool), recording (null: none)
 *	session_end	session, user, vm, bytes_in, bytes_out, reason, addr
 *	display_start	session, user, vm, mode (view|control), path
 *			(ssh-tunnel), addr: a VNC viewer handed to the VM
 *	display_end	session, user, vm, path, bytes_in (viewer to VM),
 *			bytes_out, reason, addr
 *	power		user, vm, action, result ("requested"); then the
 *			monitor's answer: user, vm, ok (bool), result
 *	reload		ok (bool), policy, [error], [users, rules] (ok)
 *	revoked		user, addr, method, [key], reason, sessions: a reload
 *			took away the credential of a live connection, which
 *			is closed
 *	vm		vm, state, detail (monitor started/died, state changes);
 *			repeats counted, see audit_end_repeat()
 *	daemon		what (start|stop|audit_recovered), ... (start: pid,
 *			ssh_port, vms; audit_recovered: lost, the lines that
 *			could not be written before)
 *	recording_rotated  session, file, bytes: a recording deleted to
 *			stay within its VM's limits
 *
 * A name that came from a peer before it was checked (the user of a failed
 * login) is written with audit_kname(): at most AUDIT_MAX_NAME bytes, cut on
 * a UTF-8 boundary, and "<key>_cut": true when it was cut.
 *
 * Each line is written with one write(2) as it happens (a crash loses
 * nothing written before it); fdatasync runs on the worker pool, never on
 * the loop.
 *
 * Fail closed: when a write or an fdatasync fails (disk full, EIO, a
 * read-only remount) the audit is "failing": audit_end() returns -1, the
 * caller refuses whatever the line was about (new sessions, power actions;
 * AUDIT_REFUSED is the message for the user), and the condition is logged
 * once. Every later audit_end() retries; the first that gets its line (and,
 * while failing, an fdatasync) through writes a daemon/audit_recovered line
 * first and logs that the audit recovered. A write that fails part way is
 * cut back off the file, so the log never holds a torn line.
 */
#ifndef VMGATE_AUDIT_H
#define VMGATE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

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
/* Writes the line: 0, or -1 if it could not be written (see above). */
int audit_end(struct audit *a);

/*
 * Repeats. A guest (or a peer) can make some events happen at will: a VM
 * that resets itself in a loop goes "rebooting", "running", "rebooting"...
 * Such lines end with audit_end_repeat(a, group, kind) instead of
 * audit_end(), with the VM as group and its new state as kind. The first
 * line of a (group, kind) is written; further lines of that group and
 * kind within AUDIT_REPEAT_SECS of it are counted, not written, and the
 * count goes out as one line: the last counted line with a fresh ts and
 *
 *	"repeat": N, "first": "<ts of the first counted>", "last": "<ts>"
 *
 * (N lines like it, not written one by one). The count is written when the
 * window ends (audit_flush_due(), which the daemon calls every few
 * seconds, or the next repeatable line), when the group has a line of a
 * kind it did not have in the window (a VM that stops after a loop: the
 * count first, then "stopped"), when the AUDIT_REPEAT_SLOTS slots are all
 * taken (the oldest goes), and at audit_close(). So a loop costs at most
 * two lines per kind per window; nothing is dropped uncounted.
 * Returns as audit_end(): -1 while the audit is failing.
 */
#define AUDIT_REPEAT_SECS 60
#define AUDIT_REPEAT_SLOTS 64
int audit_end_repeat(struct audit *a, const char *group, const char *kind);
/* Writes the counts whose window has ended. */
void audit_flush_due(struct audit *a);

/* Whether the last write or sync failed (and nothing got through since). */
bool audit_failing(const struct audit *a);

#define AUDIT_MAX_NAME 64
/* val as key, cut to AUDIT_MAX_NAME bytes (then also "<key>_cut": true). */
void audit_kname(struct json *j, const char *key, const char *val);

/*
 * The events, typed: each writes one line of its kind with the fields
 * listed at the top of this file, in that order, and returns as
 * audit_end() (0, or -1 while the audit is failing). Optional fields are
 * left out when NULL. Use these rather than audit_begin() at a call site.
 */
struct policy_reason;

/* result: success|failure|probe-ok|refused; reason (refused) and key (the
 * fingerprint of a publickey success) may be NULL. user is cut as
 * audit_kname() says: before a login it is the peer's, unchecked. */
int audit_auth(struct audit *a, const char *user, const char *method,
	       const char *result, const char *reason, const char *addr,
	       const char *key);
/* A policy decision on right (one POLICY_* bit) for vm: allowed when
 * rights has it; reason from why (policy_reason_str). */
int audit_decision(struct audit *a, const char *user, const char *vm,
		   unsigned right, unsigned rights,
		   const struct policy_reason *why, const char *action,
		   const char *addr, unsigned long session);
int audit_session_start(struct audit *a, unsigned long session,
			const char *user, const char *vm, const char *mode,
			const char *addr, bool pty, const char *recording);
int audit_session_end(struct audit *a, unsigned long session, const char *user,
		      const char *vm, unsigned long long bytes_in,
		      unsigned long long bytes_out, const char *reason,
		      const char *addr);
int audit_display_start(struct audit *a, unsigned long session,
			const char *user, const char *vm, bool control,
			const char *path, const char *addr);
int audit_display_end(struct audit *a, unsigned long session, const char *user,
		      const char *vm, const char *path,
		      unsigned long long bytes_in, unsigned long long bytes_out,
		      const char *reason, const char *addr);
/* A power request: result "requested". */
int audit_power(struct audit *a, const char *user, const char *vm,
		const char *action);
/* The monitor's answer to a power request: ok, and what it said. */
int audit_power_result(struct audit *a, const char *user, const char *vm,
		       bool ok, const char *result);
/* error NULL on success; users and rules are written when ok. */
int audit_reload(struct audit *a, bool ok, const char *policy,
		 const char *error, size_t users, size_t rules);
/* key: the fingerprint for a publickey login, NULL for a password. */
int audit_revoked(struct audit *a, const char *user, const char *addr,
		  const char *key, const char *reason, size_t sessions);
/* A VM's state: repeats of (vm, state) are counted (audit_end_repeat). */
int audit_vm(struct audit *a, const char *vm, const char *state,
	     const char *detail);
int audit_daemon_start(struct audit *a, long pid, unsigned port, size_t vms);
int audit_daemon_stop(struct audit *a);
/* A recording deleted to stay within its limits. */
int audit_recording_rotated(struct audit *a, unsigned long session,
			    const char *file, unsigned long long bytes);

#define AUDIT_REFUSED                                                          \
	"audit log cannot be written; refusing new sessions and power "        \
	"actions until it can"

#endif
