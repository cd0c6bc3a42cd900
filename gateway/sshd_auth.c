/* Logging in: public keys, passwords on the worker pool, failure penalties,
 * and the revocation of a login a reload took away. */
#include <event2/event.h>
#include <libssh/libssh.h>
#include <libssh/server.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "clock.h"
#include "config.h"
#include "gwctx.h"
#include "hub.h"
#include "log.h"
#include "penalty.h"
#include "policy.h"
#include "pwcheck.h"
#include "session.h"
#include "sshd_impl.h"
#include "startups.h"
#include "worker.h"
#include "xmalloc.h"

/* libssh 0.10 deprecates the ssh_message accessors: see sshd.c. */
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

void
sshd_auth_reply_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->held == NULL)
		return;
	ssh_message_reply_default(c->held);
	ssh_message_free(c->held);
	c->held = NULL;
	sshd_conn_ref(c);
	sshd_conn_process(c);
	sshd_conn_unref(c);
}

/* A failed attempt: the same reply whatever failed, maybe delayed. */
static void
auth_fail(struct conn *c, ssh_message msg)
{
	bool over;
	unsigned ms = penalty_fail(c->d->pen, c->ip, clock_ms(), &over);

	if (over != c->d->over_budget) {
		/* one line when a flood starts and one when it is over */
		c->d->over_budget = over;
		LOG(over ? "failed logins from all addresses passed %d a "
			   "minute: every failure reply now waits"
			 : "failed logins back under %d a minute",
		    PENALTY_GLOBAL_PER_MIN);
	}

	if (++c->auth_fails >= MAX_AUTH_FAILS) {
		ssh_message_free(msg);
		sshd_conn_close(c, "too many authentication failures");
		return;
	}
	if (ms == 0) {
		ssh_message_reply_default(msg);
		ssh_message_free(msg);
		return;
	}
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	c->held = msg;
	c->held_is_password = false;
	evtimer_add(c->reply_timer, &tv);
}

/* Our own copy of a client's public key (the message's goes with it). */
static ssh_key
cred_key_copy(const ssh_key key)
{
	char *b64 = NULL;
	ssh_key copy = NULL;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK ||
	    ssh_pki_import_pubkey_base64(b64, ssh_key_type(key), &copy) !=
		SSH_OK) {
		ssh_key_free(copy);
		copy = NULL;
	}
	ssh_string_free_char(b64);
	return copy;
}

static void
cred_fingerprint(const ssh_key key, char *out, size_t size)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	out[0] = '\0';
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
				   &hlen) == 0)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
					      hlen);
	snprintf(out, size, "%s", fp ? fp : "?");
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
}

/*
 * Why the credential c logged in with no longer opens its account under
 * pol, or NULL if it still does: the same key, or a password hash with the
 * same digest (a new hash of the same password counts as another).
 */
const char *
sshd_auth_cred_gone(const struct conn *c, const struct policy *pol)
{
	unsigned char id[POLICY_CRED_ID_LEN];

	if (!policy_user_exists(pol, c->user))
		return "user removed from the policy";
	if (c->cred_key != NULL)
		return policy_user_key_matches(pol, c->user, c->cred_key)
			   ? NULL
			   : "key removed from the policy";
	if (!policy_user_password_id(pol, c->user, id))
		return "password removed from the policy";
	return CRYPTO_memcmp(id, c->cred_pw, sizeof(id)) == 0
		   ? NULL
		   : "password changed";
}

/*
 * Logs c in as 'user'. key is the client's key for publickey (its own
 * copy is kept), NULL for a password checked under pol.
 */
static void
auth_success(struct conn *c, ssh_message msg, const char *user,
	     const char *method, const ssh_key key, const struct policy *pol)
{
	const struct config_limits *lim = &c->d->gw->cfg->limits;
	char esc[100];
	size_t sessions, have = sshd_user_conns(c->d, user, &sessions);

	if (have >= lim->conns_per_user) {
		/* The credential was right: say why, in the audit and to the
		 * client, instead of a failure it would retry. */
		char why[200];
		snprintf(why, sizeof(why),
			 "%s has %zu connections (max_connections_per_user)",
			 user, have);
		audit_auth(c->d->gw->audit, user, method, "refused", why,
			   c->addr, NULL);
		ssh_message_free(msg);
		ssh_session_set_disconnect_message(c->ss, why);
		sshd_conn_close(c, why);
		return;
	}
	if (key != NULL) {
		c->cred_key = cred_key_copy(key);
		if (c->cred_key == NULL) {
			/* what cannot be remembered cannot be revoked */
			LOG("%s: cannot copy the client's key: refused",
			    c->addr);
			audit_auth(c->d->gw->audit, user, method, "failure",
				   NULL, c->addr, NULL);
			auth_fail(c, msg);
			return;
		}
		cred_fingerprint(key, c->cred_fp, sizeof(c->cred_fp));
	} else {
		policy_user_password_id(pol, user, c->cred_pw);
	}
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->st = CONN_OPEN;
	event_del(c->grace);
	if (c->startup) {
		c->startup = false;
		startups_leave(c->d->startups, &c->src);
	}
	ssh_message_auth_reply_success(msg, 0);
	ssh_message_free(msg);
	audit_auth(c->d->gw->audit, c->user, method, "success", NULL, c->addr,
		   c->cred_key != NULL ? c->cred_fp : NULL);
	LOG("%s@%s authenticated (%s%s%s)",
	    log_esc(esc, sizeof(esc), c->user, strlen(c->user)), c->addr,
	    method, c->cred_key ? " " : "", c->cred_fp);
}

void
sshd_auth_revoke_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	sshd_conn_close(arg, "its credential was revoked");
}

/*
 * The credential c logged in with is gone (why): every session ends with
 * a message on its channel's stderr, the connection takes no new channel
 * or request, and it is cut REVOKE_FLUSH_MS later.
 */
void
sshd_auth_revoke(struct conn *c, const char *why)
{
	struct timeval tv = {0, REVOKE_FLUSH_MS * 1000};
	char esc[100], line[200];

	c->revoked = true;
	audit_revoked(c->d->gw->audit, c->user, c->addr,
		      c->cred_key != NULL ? c->cred_fp : NULL, why,
		      c->nsessions);
	LOG("%s@%s: login %s%s revoked (%s): closing the connection and its "
	    "%zu session(s)",
	    log_esc(esc, sizeof(esc), c->user, strlen(c->user)), c->addr,
	    c->cred_key ? "key " : "password", c->cred_fp, why, c->nsessions);
	snprintf(line, sizeof(line),
		 "vmgate: your login was revoked (%s); disconnecting", why);
	for (struct sess_node *n = c->sessions; n; n = n->next)
		session_end(n->s, "credential revoked", line);
	evtimer_add(c->revoke_timer, &tv);
}

/* Whether a user name can be a policy user at all. */
static bool
name_ok(const char *user)
{
	return user != NULL && config_name_problem(user, strlen(user)) == NULL;
}

static void
pw_done(void *arg, bool ok)
{
	struct conn *c = arg;

	if (!c->dead && c->held != NULL && c->held_is_password) {
		ssh_message msg = c->held;
		c->held = NULL;
		if (ok) {
			auth_success(c, msg, c->pw_user, "password", NULL,
				     c->d->gw->policy);
		} else {
			audit_auth(c->d->gw->audit, c->pw_user, "password",
				   "failure", NULL, c->addr, NULL);
			auth_fail(c, msg);
		}
		if (!c->dead) {
			sshd_conn_process(c);
		}
	}
	sshd_conn_unref(c);
}

static enum ssh_publickey_state_e
pk_state(ssh_message msg)
{
	return ssh_message_auth_publickey_state(msg);
}

static const char *
auth_method_name(int method)
{
	switch (method) {
	case SSH_AUTH_METHOD_INTERACTIVE:
		return "keyboard-interactive";
	case SSH_AUTH_METHOD_HOSTBASED:
		return "hostbased";
	case SSH_AUTH_METHOD_GSSAPI_MIC:
		return "gssapi-with-mic";
	default:
		return "other";
	}
}

void
sshd_auth_request(struct conn *c, ssh_message msg)
{
	struct gwctx *gw = c->d->gw;
	const char *user = ssh_message_auth_user(msg);
	bool valid = name_ok(user);
	const char *u = valid ? user : "";

	if (c->st != CONN_AUTH) {
		ssh_message_reply_default(msg);
		ssh_message_free(msg);
		return;
	}
	switch (ssh_message_subtype(msg)) {
	case SSH_AUTH_METHOD_PUBLICKEY: {
		ssh_key key = ssh_message_auth_pubkey(msg);
		enum ssh_publickey_state_e st = pk_state(msg);
		bool match = valid && key != NULL &&
			     policy_user_key_matches(gw->policy, u, key);
		if (st == SSH_PUBLICKEY_STATE_NONE && match) {
			ssh_message_auth_reply_pk_ok_simple(msg);
			ssh_message_free(msg);
			return;
		}
		if (st == SSH_PUBLICKEY_STATE_VALID && match) {
			auth_success(c, msg, u, "publickey", key, gw->policy);
			return;
		}
		audit_auth(c->d->gw->audit, user ? user : "", "publickey",
			   "failure", NULL, c->addr, NULL);
		auth_fail(c, msg);
		return;
	}
	case SSH_AUTH_METHOD_PASSWORD: {
		const char *pw = ssh_message_auth_password(msg);
		size_t n = pw ? strnlen(pw, POLICY_MAX_PASSWORD + 1) : 0;
		sshd_conn_ref(c);
		/* An unknown or impossible name takes the same slow path. */
		snprintf(c->pw_user, sizeof(c->pw_user), "%s", u);
		c->held = msg;
		c->held_is_password = true;
		pwcheck_submit(gw, c->pw_user, pw ? pw : "", n, pw_done, c);
		return;
	}
	case SSH_AUTH_METHOD_NONE:
		/* Every client starts here to learn the methods: no penalty,
		 * the first few times. */
		if (++c->nones <= NONE_FREE) {
			ssh_message_reply_default(msg);
			ssh_message_free(msg);
			return;
		}
		audit_auth(c->d->gw->audit, user ? user : "", "none", "failure",
			   NULL, c->addr, NULL);
		auth_fail(c, msg);
		return;
	default:
		/* Methods we do not offer fail like a wrong password: counted,
		 * slowed, audited with the name cut. */
		audit_auth(gw->audit, user ? user : "",
			   auth_method_name(ssh_message_subtype(msg)),
			   "failure", NULL, c->addr, NULL);
		auth_fail(c, msg);
		return;
	}
}
