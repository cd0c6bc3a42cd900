#include "policy.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy_impl.h"
#include "vmglob.h"
#include "xmalloc.h"

/*
 * Checked against when the user is unknown or has no password and the
 * policy holds no password at all (default yescrypt cost, as vmgatectl
 * passwd). A policy with passwords checks a miss against the setting of its
 * most common kind of hash instead (policy_pick_dummy).
 */
const char policy_dummy_hash[] =
    "$y$j9T$5zhcZdSkl/yykgeTZLISB1$cYtOUlT6b.aq8jBv.csB7.DqTSWlKGQCO6fkGpI4uf3";

const char *const policy_right_names[POLICY_NRIGHTS] = {
    "console:read",    "console:write", "display:view",
    "display:control", "power",		"admin",
};

const char *
policy_right_name(unsigned right)
{
	int i = policy_right_index(right);

	return i < 0 ? NULL : policy_right_names[i];
}

int
policy_right_index(unsigned right)
{
	for (int i = 0; i < POLICY_NRIGHTS; i++)
		if (right == 1u << i)
			return i;
	return -1;
}

/* What allowing 'r' gives: 'r' and everything it implies. */
unsigned
policy_close_down(unsigned r)
{
	if (r & POLICY_ADMIN)
		r |= POLICY_ALL_RIGHTS;
	if (r & POLICY_CONSOLE_WRITE)
		r |= POLICY_CONSOLE_READ;
	if (r & POLICY_DISPLAY_CONTROL)
		r |= POLICY_DISPLAY_VIEW;
	return r;
}

/* What denying 'r' takes: 'r' and everything that implies it. */
unsigned
policy_close_up(unsigned r)
{
	if (r & POLICY_CONSOLE_READ)
		r |= POLICY_CONSOLE_WRITE;
	if (r & POLICY_DISPLAY_VIEW)
		r |= POLICY_DISPLAY_CONTROL;
	if (r != 0)
		r |= POLICY_ADMIN;
	return r;
}

void
policy_free(struct policy *pol)
{
	if (pol == NULL)
		return;
	for (size_t i = 0; i < pol->nusers; i++) {
		struct policy_user *u = &pol->users[i];
		for (size_t k = 0; k < u->nkeys; k++)
			ssh_key_free(u->keys[k]);
		free(u->keys);
		if (u->password != NULL)
			explicit_bzero(u->password, strlen(u->password));
		free(u->password);
		free(u->groups);
		free(u->name);
	}
	free(pol->users);
	for (size_t i = 0; i < pol->ngroups; i++) {
		free(pol->groups[i].name);
		free(pol->groups[i].members);
	}
	free(pol->groups);
	for (size_t i = 0; i < pol->nrules; i++) {
		struct policy_rule *r = &pol->rules[i];
		for (size_t j = 0; j < r->nvms; j++)
			free(r->vms[j].pat);
		free(r->vms);
		free(r->users);
		free(r->groups);
	}
	free(pol->rules);
	if (pol->dummy != NULL)
		explicit_bzero(pol->dummy, strlen(pol->dummy));
	free(pol->dummy);
	free(pol->file);
	free(pol);
}

struct policy *
policy_ref(struct policy *pol)
{
	atomic_fetch_add_explicit(&pol->refs, 1, memory_order_relaxed);
	return pol;
}

void
policy_unref(struct policy *pol)
{
	if (pol == NULL)
		return;
	if (atomic_fetch_sub_explicit(&pol->refs, 1, memory_order_acq_rel) == 1)
		policy_free(pol);
}

size_t
policy_nusers(const struct policy *pol)
{
	return pol->nusers;
}

size_t
policy_ngroups(const struct policy *pol)
{
	return pol->ngroups;
}

size_t
policy_nrules(const struct policy *pol)
{
	return pol->nrules;
}

const char *
policy_file(const struct policy *pol)
{
	return pol->file;
}

int
policy_user_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy_user *)a)->name,
		      ((const struct policy_user *)b)->name);
}

int
policy_group_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy_group *)a)->name,
		      ((const struct policy_group *)b)->name);
}

static int
policy_size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Index of the user named 'name', or -1. */
ssize_t
policy_find_user(const struct policy *pol, const char *name)
{
	struct policy_user key = {.name = (char *)name};
	const struct policy_user *u;

	if (name == NULL || pol->nusers == 0)
		return -1;
	u = bsearch(&key, pol->users, pol->nusers, sizeof(*u), policy_user_cmp);
	return u == NULL ? -1 : u - pol->users;
}

ssize_t
policy_find_group(const struct policy *pol, const char *name)
{
	struct policy_group key = {.name = (char *)name};
	const struct policy_group *g;

	if (pol->ngroups == 0)
		return -1;
	g = bsearch(&key, pol->groups, pol->ngroups, sizeof(*g),
		    policy_group_cmp);
	return g == NULL ? -1 : g - pol->groups;
}

/* Sorts and removes duplicates in place; returns the new count. */
size_t
policy_sort_unique(size_t *v, size_t n)
{
	size_t out = 0;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), policy_size_cmp);
	for (size_t i = 0; i < n; i++)
		if (out == 0 || v[out - 1] != v[i])
			v[out++] = v[i];
	return out;
}

/* ---- the engine ---- */

static bool
policy_rule_applies(const struct policy_rule *r, size_t uidx,
		    const struct policy_user *u)
{
	size_t i = 0, j = 0;

	if (r->everyone)
		return true;
	if (r->nusers > 0 && bsearch(&uidx, r->users, r->nusers,
				     sizeof(*r->users), policy_size_cmp))
		return true;
	/* both group lists are sorted: walk them together */
	while (i < r->ngroups && j < u->ngroups) {
		if (r->groups[i] == u->groups[j])
			return true;
		if (r->groups[i] < u->groups[j])
			i++;
		else
			j++;
	}
	return false;
}

static bool
policy_rule_matches_vm(const struct policy_rule *r, const char *vm)
{
	for (size_t i = 0; i < r->nvms; i++)
		if (vmglob_match(r->vms[i].pat, vm))
			return true;
	return false;
}

unsigned
policy_rights(const struct policy *pol, const char *user, const char *vm,
	      struct policy_reason *why)
{
	struct policy_decision allowed[POLICY_NRIGHTS], denied[POLICY_NRIGHTS];
	unsigned allow = 0, deny = 0;
	ssize_t uidx = policy_find_user(pol, user);

	if (why != NULL) {
		why->file = pol->file;
		for (int b = 0; b < POLICY_NRIGHTS; b++)
			why->right[b] = (struct policy_decision){-1, 0, false};
	}
	if (uidx < 0 || vm == NULL)
		return 0;
	for (size_t i = 0; i < pol->nrules; i++) {
		const struct policy_rule *r = &pol->rules[i];
		unsigned *acc = r->deny ? &deny : &allow;
		struct policy_decision *dec = r->deny ? denied : allowed;

		if (!policy_rule_applies(r, (size_t)uidx, &pol->users[uidx]) ||
		    !policy_rule_matches_vm(r, vm))
			continue;
		for (int b = 0; b < POLICY_NRIGHTS; b++) {
			unsigned bit = 1u << b;
			if (!(r->rights & bit) || (*acc & bit))
				continue;
			*acc |= bit;
			dec[b] =
			    (struct policy_decision){(int)i, r->line, r->deny};
		}
	}
	if (why != NULL) {
		for (int b = 0; b < POLICY_NRIGHTS; b++) {
			if (deny & (1u << b))
				why->right[b] = denied[b];
			else if (allow & (1u << b))
				why->right[b] = allowed[b];
		}
	}
	return allow & ~deny;
}

bool
policy_vm_visible(const struct policy *pol, const char *user, const char *vm)
{
	return policy_rights(pol, user, vm, NULL) != 0;
}

size_t
policy_visible_vms(const struct policy *pol, const char *user,
		   const char *const *vms, size_t nvms, size_t *out)
{
	size_t n = 0;

	for (size_t i = 0; i < nvms; i++)
		if (policy_vm_visible(pol, user, vms[i]))
			out[n++] = i;
	return n;
}

bool
policy_user_exists(const struct policy *pol, const char *user)
{
	return policy_find_user(pol, user) >= 0;
}

bool
policy_user_has_password(const struct policy *pol, const char *user)
{
	ssize_t i = policy_find_user(pol, user);

	return i >= 0 && pol->users[i].password != NULL;
}

bool
policy_user_key_matches(const struct policy *pol, const char *user,
			const ssh_key key)
{
	ssize_t i = policy_find_user(pol, user);

	if (i < 0 || key == NULL)
		return false;
	for (size_t k = 0; k < pol->users[i].nkeys; k++)
		if (ssh_key_cmp(pol->users[i].keys[k], key,
				SSH_KEY_CMP_PUBLIC) == 0)
			return true;
	return false;
}

bool
policy_user_password_ok(const struct policy *pol, const char *user,
			const char *password)
{
	ssize_t i = policy_find_user(pol, user);
	bool miss = i < 0 || pol->users[i].password == NULL;
	const char *want = !miss		? pol->users[i].password
			   : pol->dummy != NULL ? pol->dummy
						: policy_dummy_hash;
	struct crypt_data *cd = NULL;
	const char *got;
	bool ok = false;

	if (password == NULL ||
	    strnlen(password, POLICY_MAX_PASSWORD + 1) > POLICY_MAX_PASSWORD)
		goto out;
	/* per call, not static: crypt_rn is reentrant only this way */
	cd = xcalloc(1, sizeof(*cd));
	got = crypt_rn(password, want, cd, sizeof(*cd));
	/* a miss compares as a hit does, then fails whatever came out */
	ok = got != NULL && got[0] != '*' && strlen(got) == strlen(want) &&
	     CRYPTO_memcmp(got, want, strlen(want)) == 0 && !miss;
out:
	if (cd != NULL)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

bool
policy_user_password_id(const struct policy *pol, const char *user,
			unsigned char id[POLICY_CRED_ID_LEN])
{
	ssize_t i = policy_find_user(pol, user);
	const char *h = i >= 0 ? pol->users[i].password : NULL;
	unsigned len = POLICY_CRED_ID_LEN;

	memset(id, 0, POLICY_CRED_ID_LEN);
	if (h == NULL)
		return false;
	if (EVP_Digest(h, strlen(h), id, &len, EVP_sha256(), NULL) != 1 ||
	    len != POLICY_CRED_ID_LEN)
		abort(); /* SHA-256 cannot fail but on memory exhaustion */
	return true;
}

const char *
policy_reason_str(const struct policy_reason *why, unsigned right, char *buf,
		  size_t size)
{
	int b = policy_right_index(right);
	const struct policy_decision *dec;

	if (b < 0 || why->right[b].rule < 0) {
		snprintf(buf, size, "default deny");
		return buf;
	}
	dec = &why->right[b];
	snprintf(buf, size, "%s:%u rule %d %s", why->file, dec->line,
		 dec->rule + 1, dec->denied ? "deny" : "allow");
	return buf;
}

void
policy_check_vms(const struct policy *pol, const char *const *vms, size_t nvms,
		 struct diag *d)
{
	char q[DIAG_QUOTE_MAX];

	for (size_t i = 0; i < pol->nrules; i++) {
		const struct policy_rule *r = &pol->rules[i];
		for (size_t j = 0; j < r->nvms; j++) {
			const struct policy_glob *g = &r->vms[j];
			size_t k;
			for (k = 0; k < nvms; k++)
				if (vmglob_match(g->pat, vms[k]))
					break;
			if (k < nvms)
				continue;
			diag_quote(q, g->pat, strlen(g->pat));
			if (vmglob_is_literal(g->pat))
				diag_warning(d, pol->file, g->line, g->col,
					     "no VM named %s is configured", q);
			else
				diag_warning(d, pol->file, g->line, g->col,
					     "VM pattern %s matches no "
					     "configured VM",
					     q);
		}
	}
}
