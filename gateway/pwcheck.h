/*
 * pwcheck: a policy password checked off the event loop, for every front
 * door that takes passwords (SSH, VeNCrypt). The hash is slow on purpose
 * (policy_user_password_ok), so it runs on the worker pool; the caller's
 * callback gets the answer back on the loop.
 *
 * The answer is about the policy in force when it arrives: if a reload came
 * while hashing, the password counts only if the user still has the very
 * same password hash (policy_user_password_id), so a revoked or changed
 * password never logs in and a reload never fails a right one.
 */
#ifndef VMGATE_PWCHECK_H
#define VMGATE_PWCHECK_H

#include <stdbool.h>
#include <stddef.h>

struct gwctx;

/*
 * Checks PW[0..PWLEN) for USER (copied; a name too long to be a user, a
 * password longer than POLICY_MAX_PASSWORD or with a NUL in it, takes the
 * same slow path and fails). DONE(ARG, OK) runs later on the loop, always
 * exactly once; ARG must stay valid until then (take a reference). The copy of
 * the password is wiped once hashed.
 */
void pwcheck_submit(struct gwctx *gw, const char *user, const char *pw,
		    size_t pwlen, void (*done)(void *arg, bool ok), void *arg);

#endif
