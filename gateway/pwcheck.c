#include "pwcheck.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gwctx.h"
#include "policy.h"
#include "worker.h"
#include "xmalloc.h"

struct pwjob {
	struct gwctx *gw;
	struct policy *pol; /* in force when the check began */
	char user[CONFIG_MAX_NAME + 1];
	char *pw;
	size_t pwlen;
	bool ok;
	void (*done)(void *arg, bool ok);
	void *arg;
};

static void
pw_work(void *arg)
{
	struct pwjob *j = arg;

	j->ok = policy_user_password_ok(j->pol, j->user, j->pw);
	explicit_bzero(j->pw, j->pwlen);
}

static void
pw_done(void *arg)
{
	struct pwjob *j = arg;
	struct policy *now = j->gw->policy;

	if (j->ok && j->pol != now) {
		unsigned char was[POLICY_CRED_ID_LEN], is[POLICY_CRED_ID_LEN];
		policy_user_password_id(j->pol, j->user, was);
		j->ok = policy_user_password_id(now, j->user, is) &&
			CRYPTO_memcmp(was, is, sizeof(was)) == 0;
	}
	j->done(j->arg, j->ok);
	policy_unref(j->pol);
	free(j->pw);
	free(j);
}

void
pwcheck_submit(struct gwctx *gw, const char *user, const char *pw, size_t pwlen,
	       void (*done)(void *arg, bool ok), void *arg)
{
	struct pwjob *j = xcalloc(1, sizeof(*j));

	j->gw = gw;
	j->pol = policy_ref(gw->policy);
	j->done = done;
	j->arg = arg;
	/* An impossible name or password (too long, or with a NUL the hash
	 * would stop at) is hashed all the same, as no user's: as slow, and
	 * as quiet about which part was wrong. */
	if (strlen(user) <= CONFIG_MAX_NAME && pwlen <= POLICY_MAX_PASSWORD &&
	    memchr(pw, '\0', pwlen) == NULL)
		snprintf(j->user, sizeof(j->user), "%s", user);
	j->pwlen = pwlen;
	j->pw = xmalloc(pwlen + 1);
	memcpy(j->pw, pw, pwlen);
	j->pw[pwlen] = '\0';
	worker_submit(gw->worker, pw_work, pw_done, j);
}
