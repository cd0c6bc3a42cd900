/* Loading the policy file: its YAML read into struct policy. */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"
#include "policy_impl.h"
#include "vmglob.h"
#include "xmalloc.h"
#include "yamltree.h"

/* Loader state: the top-level nodes, found first, then read in order. */
struct policy_ctx {
	struct yamltree *t;
	struct policy *pol;
	struct yamltree_node *users, *groups, *rules;
};

/* A rule's keys, gathered before checking it as a whole. */
struct policy_rulenodes {
	struct yamltree_node *allow_key, *allow, *deny_key, *deny, *to, *vms;
};

/* ---- users ---- */

static void
user_keys(void *ctx, void *obj, struct yamltree_node *k,
	  struct yamltree_node *n)
{
	struct policy_ctx *c = ctx;
	struct policy_user *u = obj;
	char buf[128];

	(void)k;
	if (!yamltree_want(c->t, n, YAMLTREE_SEQUENCE, "keys",
			   "a list of OpenSSH public keys"))
		return;
	if (n->nkids > POLICY_MAX_KEYS) {
		yamltree_error(c->t, n, "more than %d keys for one user",
			       POLICY_MAX_KEYS);
		return;
	}
	u->keys = xcalloc(n->nkids, sizeof(*u->keys));
	for (size_t i = 0; i < n->nkids; i++) {
		struct yamltree_node *e = n->kids[i];
		const char *problem;
		size_t off;
		ssh_key key;
		unsigned line, col;

		if (!yamltree_want_string(c->t, e, "a key",
					  POLICY_MAX_KEY_LINE))
			continue;
		problem =
		    policy_key_parse(e->str, &key, &off, buf, sizeof(buf));
		if (problem != NULL) {
			yamltree_scalar_pos(e, off, &line, &col);
			if (off == 0) {
				line = e->line;
				col = e->col;
			}
			yamltree_error_at(c->t, line, col, "bad key: %s",
					  problem);
			continue;
		}
		u->keys[u->nkeys++] = key;
	}
}

static bool
policy_hash_ok(const char *h, size_t len)
{
	static const char *const prefixes[] = {"$y$",  "$gy$", "$7$", "$2b$",
					       "$2y$", "$6$",  "$5$"};
	const char *last;
	bool known = false;

	if (len > 512)
		return false;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(h, prefixes[i], strlen(prefixes[i])) == 0)
			known = true;
	if (!known || strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRST"
				"UVWXYZ0123456789./$=") != len)
		return false;
	last = strrchr(h, '$');
	/* the hash proper: 22 characters or more in every method above */
	return strlen(last + 1) >= 22 && crypt_checksalt(h) == CRYPT_SALT_OK;
}

static void
user_password(void *ctx, void *obj, struct yamltree_node *k,
	      struct yamltree_node *n)
{
	struct policy_ctx *c = ctx;
	struct policy_user *u = obj;

	(void)k;
	if (!yamltree_want_string(c->t, n, "password", 512 + 1))
		return;
	if (!policy_hash_ok(n->str, n->len)) {
		yamltree_error(c->t, n,
			       "password must be a crypt(3) hash such as "
			       "$y$... (make one with vmgatectl passwd)");
		return;
	}
	free(u->password);
	u->password = xstrdup(n->str);
	u->pw_line = n->line;
	u->pw_col = n->col;
}

#define POLICY_HASH_CLASS_MAX 64

/*
 * The method and cost of a checked crypt(3) hash without its salt, so that
 * two hashes of one class cost the same to check: "$6$rounds=5000" (the
 * default written out), "$y$j9T", "$2b$12", "$7$" and its 11 parameter
 * characters.
 */
static void
policy_hash_class(const char *h, char *out, size_t size)
{
	if (h[1] == '2') {
		/* $2b$ and $2y$ are one algorithm */
		snprintf(out, size, "$2b$%.2s", h + 4);
	} else if (strncmp(h, "$5$", 3) == 0 || strncmp(h, "$6$", 3) == 0) {
		unsigned long rounds = 5000;
		if (strncmp(h + 3, "rounds=", 7) == 0)
			rounds = strtoul(h + 10, NULL, 10);
		snprintf(out, size, "%.3srounds=%lu", h, rounds);
	} else if (strncmp(h, "$7$", 3) == 0) {
		snprintf(out, size, "$7$%.11s", h + 3);
	} else {
		/* $y$ and $gy$: "$id$params$salt$hash" */
		const char *p = strchr(h + 1, '$');
		const char *q = p != NULL ? strchr(p + 1, '$') : NULL;
		size_t n = q != NULL ? (size_t)(q - h) : strlen(h);
		snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), h);
	}
}

struct policy_hash_entry {
	char cls[POLICY_HASH_CLASS_MAX];
	size_t user; /* index in file order */
};

static int
policy_hash_entry_cmp(const void *a, const void *b)
{
	const struct policy_hash_entry *x = a, *y = b;
	int r = strcmp(x->cls, y->cls);

	return r != 0 ? r : (x->user > y->user) - (x->user < y->user);
}

/*
 * A failed password login must take as long for an unknown user as for a
 * known one, or the time tells who exists. A miss is checked against a
 * hash of the class most users' hashes have (ties: the first in the file);
 * every user whose hash is of another class gets a warning at it, since
 * its failures take another time. Called with the users in file order.
 */
static void
policy_pick_dummy(struct policy_ctx *c)
{
	struct policy *pol = c->pol;
	struct policy_hash_entry *v = NULL;
	size_t n = 0, best = 0, best_count = 0, best_first = SIZE_MAX;
	char q[DIAG_QUOTE_MAX];

	for (size_t i = 0; i < pol->nusers; i++)
		n += pol->users[i].password != NULL;
	if (n == 0)
		return;
	v = xcalloc(n, sizeof(*v));
	n = 0;
	for (size_t i = 0; i < pol->nusers; i++) {
		if (pol->users[i].password == NULL)
			continue;
		policy_hash_class(pol->users[i].password, v[n].cls,
				  sizeof(v[n].cls));
		v[n++].user = i;
	}
	qsort(v, n, sizeof(*v), policy_hash_entry_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i; j < n && strcmp(v[j].cls, v[i].cls) == 0; j++)
			;
		/* v[i] is the first of its run in file order */
		if (j - i > best_count ||
		    (j - i == best_count && v[i].user < best_first)) {
			best = i;
			best_count = j - i;
			best_first = v[i].user;
		}
	}
	pol->dummy = xstrdup(pol->users[best_first].password);
	if (best_count < n) {
		/* back to file order, so the warnings read top down */
		for (size_t i = 0; i < pol->nusers; i++) {
			const struct policy_user *u = &pol->users[i];
			char cls[POLICY_HASH_CLASS_MAX];
			if (u->password == NULL)
				continue;
			policy_hash_class(u->password, cls, sizeof(cls));
			if (strcmp(cls, v[best].cls) == 0)
				continue;
			diag_warning(
			    c->t->d, pol->file, u->pw_line, u->pw_col,
			    "user %s: password hash %s is not of the kind "
			    "and cost most users have (%s, %zu of %zu), so "
			    "a failed login takes another time and tells "
			    "this user from unknown ones; hash every "
			    "password alike (vmgatectl passwd)",
			    diag_quote(q, u->name, strlen(u->name)), cls,
			    v[best].cls, best_count, n);
		}
	}
	free(v);
}

static const struct yamltree_field user_fields[] = {
    {"keys", user_keys, NULL},
    {"password", user_password, NULL},
};

static void
policy_read_users(struct policy_ctx *c)
{
	struct policy *pol = c->pol;
	struct yamltree_node *n = c->users;
	char q[DIAG_QUOTE_MAX];
	size_t npairs;

	if (n == NULL || !yamltree_want(c->t, n, YAMLTREE_MAPPING, "users",
					"a mapping of user names to settings"))
		return;
	npairs = yamltree_npairs(n);
	pol->users = xcalloc(npairs, sizeof(*pol->users));
	for (size_t i = 0; i < npairs; i++) {
		struct yamltree_node *k = yamltree_key(n, i);
		struct yamltree_node *v = yamltree_value(n, i);
		const char *problem = config_name_problem(k->str, k->len);
		struct policy_user *u;
		size_t errors;

		if (pol->nusers == POLICY_MAX_USERS) {
			yamltree_error(c->t, k, "more than %d users",
				       POLICY_MAX_USERS);
			break;
		}
		if (problem != NULL) {
			yamltree_error(c->t, k, "user name %s %s",
				       diag_quote(q, k->str, k->len), problem);
			continue;
		}
		u = &pol->users[pol->nusers++];
		u->name = xstrdup(k->str);
		if (!yamltree_want(c->t, v, YAMLTREE_MAPPING, "a user",
				   "a mapping with keys: and password:"))
			continue;
		errors = diag_errors(c->t->d);
		yamltree_fields(c->t, v, user_fields,
				sizeof(user_fields) / sizeof(user_fields[0]), c,
				u);
		/* a bad key or hash was reported already: don't add to it */
		if (u->nkeys == 0 && u->password == NULL &&
		    diag_errors(c->t->d) == errors)
			yamltree_warning(c->t, k,
					 "user %s has no key and no password, "
					 "so cannot log in",
					 diag_quote(q, k->str, k->len));
	}
	policy_pick_dummy(c);
	qsort(pol->users, pol->nusers, sizeof(*pol->users), policy_user_cmp);
}

/* ---- groups ---- */

static void
policy_read_groups(struct policy_ctx *c)
{
	struct policy *pol = c->pol;
	struct yamltree_node *n = c->groups;
	char q[DIAG_QUOTE_MAX];
	size_t npairs;

	if (n == NULL || !yamltree_want(c->t, n, YAMLTREE_MAPPING, "groups",
					"a mapping of group names to lists "
					"of user names"))
		return;
	npairs = yamltree_npairs(n);
	pol->groups = xcalloc(npairs, sizeof(*pol->groups));
	for (size_t i = 0; i < npairs; i++) {
		struct yamltree_node *k = yamltree_key(n, i);
		struct yamltree_node *v = yamltree_value(n, i);
		const char *problem = config_name_problem(k->str, k->len);
		struct policy_group *g;

		if (pol->ngroups == POLICY_MAX_GROUPS) {
			yamltree_error(c->t, k, "more than %d groups",
				       POLICY_MAX_GROUPS);
			break;
		}
		if (problem != NULL) {
			yamltree_error(c->t, k, "group name %s %s",
				       diag_quote(q, k->str, k->len), problem);
			continue;
		}
		g = &pol->groups[pol->ngroups++];
		g->name = xstrdup(k->str);
		if (!yamltree_want(c->t, v, YAMLTREE_SEQUENCE, "a group",
				   "a list of user names"))
			continue;
		if (v->nkids > POLICY_MAX_LIST) {
			yamltree_error(c->t, v, "more than %d members",
				       POLICY_MAX_LIST);
			continue;
		}
		g->members = xcalloc(v->nkids, sizeof(*g->members));
		for (size_t j = 0; j < v->nkids; j++) {
			struct yamltree_node *e = v->kids[j];
			ssize_t idx;
			if (!yamltree_want_string(c->t, e, "a group member",
						  CONFIG_MAX_NAME * 2))
				continue;
			idx = policy_find_user(pol, e->str);
			if (idx < 0) {
				yamltree_error(c->t, e, "unknown user %s",
					       diag_quote(q, e->str, e->len));
				continue;
			}
			g->members[g->nmembers++] = (size_t)idx;
		}
		g->nmembers = policy_sort_unique(g->members, g->nmembers);
	}
	qsort(pol->groups, pol->ngroups, sizeof(*pol->groups),
	      policy_group_cmp);
	/* walking groups in index order leaves each user's list sorted */
	for (size_t gi = 0; gi < pol->ngroups; gi++) {
		struct policy_group *g = &pol->groups[gi];
		for (size_t j = 0; j < g->nmembers; j++) {
			struct policy_user *u = &pol->users[g->members[j]];
			u->groups = xreallocarray(u->groups, u->ngroups + 1,
						  sizeof(*u->groups));
			u->groups[u->ngroups++] = gi;
		}
	}
}

/* ---- rules ---- */

static void
rule_allow(void *ctx, void *obj, struct yamltree_node *k,
	   struct yamltree_node *n)
{
	struct policy_rulenodes *rn = obj;

	(void)ctx;
	rn->allow_key = k;
	rn->allow = n;
}

static void
rule_deny(void *ctx, void *obj, struct yamltree_node *k,
	  struct yamltree_node *n)
{
	struct policy_rulenodes *rn = obj;

	(void)ctx;
	rn->deny_key = k;
	rn->deny = n;
}

static void
rule_to(void *ctx, void *obj, struct yamltree_node *k, struct yamltree_node *n)
{
	struct policy_rulenodes *rn = obj;

	(void)ctx;
	(void)k;
	rn->to = n;
}

static void
rule_vms(void *ctx, void *obj, struct yamltree_node *k, struct yamltree_node *n)
{
	struct policy_rulenodes *rn = obj;

	(void)ctx;
	(void)k;
	rn->vms = n;
}

static const struct yamltree_field rule_fields[] = {
    {"allow", rule_allow, NULL},
    {"deny", rule_deny, NULL},
    {"to", rule_to, NULL},
    {"vms", rule_vms, NULL},
};

/*
 * Checks that n is a list of at most POLICY_MAX_LIST entries; warns when it
 * is empty, since the rule then does nothing.
 */
static bool
policy_rule_list(struct policy_ctx *c, struct yamltree_node *n,
		 const char *what, const char *shape)
{
	if (!yamltree_want(c->t, n, YAMLTREE_SEQUENCE, what, shape))
		return false;
	if (n->nkids > POLICY_MAX_LIST) {
		yamltree_error(c->t, n, "more than %d entries in %s",
			       POLICY_MAX_LIST, what);
		return false;
	}
	if (n->nkids == 0)
		yamltree_warning(c->t, n,
				 "%s is empty, so this rule has no "
				 "effect",
				 what);
	return true;
}

static bool
policy_rule_rights(struct policy_ctx *c, struct yamltree_node *n,
		   const char *what, unsigned *rights)
{
	char q[DIAG_QUOTE_MAX];
	bool ok = true;

	if (!policy_rule_list(c, n, what, "a list of rights"))
		return false;
	for (size_t i = 0; i < n->nkids; i++) {
		struct yamltree_node *e = n->kids[i];
		int r;
		if (!yamltree_want_string(c->t, e, "a right", 64)) {
			ok = false;
			continue;
		}
		for (r = 0; r < POLICY_NRIGHTS; r++)
			if (strcmp(e->str, policy_right_names[r]) == 0)
				break;
		if (r == POLICY_NRIGHTS) {
			yamltree_error(c->t, e,
				       "unknown right %s (expected one of: "
				       "console:read, console:write, "
				       "display:view, display:control, power, "
				       "admin)",
				       diag_quote(q, e->str, e->len));
			ok = false;
			continue;
		}
		*rights |= 1u << r;
	}
	return ok;
}

static bool
policy_rule_to(struct policy_ctx *c, struct yamltree_node *n,
	       struct policy_rule *rule)
{
	char q[DIAG_QUOTE_MAX];
	bool ok = true;

	if (!policy_rule_list(c, n, "to",
			      "a list of user:NAME, group:NAME or \"*\""))
		return false;
	rule->users = xcalloc(n->nkids, sizeof(*rule->users));
	rule->groups = xcalloc(n->nkids, sizeof(*rule->groups));
	for (size_t i = 0; i < n->nkids; i++) {
		struct yamltree_node *e = n->kids[i];
		ssize_t idx;
		if (!yamltree_want_string(c->t, e, "an entry of to",
					  CONFIG_MAX_NAME * 2)) {
			ok = false;
			continue;
		}
		if (strcmp(e->str, "*") == 0) {
			rule->everyone = true;
		} else if (strncmp(e->str, "user:", 5) == 0) {
			idx = policy_find_user(c->pol, e->str + 5);
			if (idx < 0) {
				yamltree_error(
				    c->t, e, "unknown user %s",
				    diag_quote(q, e->str + 5, e->len - 5));
				ok = false;
				continue;
			}
			rule->users[rule->nusers++] = (size_t)idx;
		} else if (strncmp(e->str, "group:", 6) == 0) {
			idx = policy_find_group(c->pol, e->str + 6);
			if (idx < 0) {
				yamltree_error(
				    c->t, e, "unknown group %s",
				    diag_quote(q, e->str + 6, e->len - 6));
				ok = false;
				continue;
			}
			rule->groups[rule->ngroups++] = (size_t)idx;
		} else {
			yamltree_error(c->t, e,
				       "%s is not user:NAME, group:NAME or "
				       "\"*\"",
				       diag_quote(q, e->str, e->len));
			ok = false;
		}
	}
	rule->nusers = policy_sort_unique(rule->users, rule->nusers);
	rule->ngroups = policy_sort_unique(rule->groups, rule->ngroups);
	return ok;
}

static bool
policy_rule_vms(struct policy_ctx *c, struct yamltree_node *n,
		struct policy_rule *rule)
{
	bool ok = true;

	if (!policy_rule_list(c, n, "vms", "a list of VM names or patterns"))
		return false;
	rule->vms = xcalloc(n->nkids, sizeof(*rule->vms));
	for (size_t i = 0; i < n->nkids; i++) {
		struct yamltree_node *e = n->kids[i];
		const char *problem;
		size_t off;
		unsigned line, col;
		if (!yamltree_want_string(c->t, e, "a VM pattern", 1024)) {
			ok = false;
			continue;
		}
		if (vmglob_check(e->str, e->len, &off, &problem) != 0) {
			yamltree_scalar_pos(e, off, &line, &col);
			yamltree_error_at(c->t, line, col, "%s", problem);
			ok = false;
			continue;
		}
		rule->vms[rule->nvms].pat = xstrdup(e->str);
		rule->vms[rule->nvms].line = e->line;
		rule->vms[rule->nvms].col = e->col;
		rule->nvms++;
	}
	return ok;
}

static void
policy_rule_clear(struct policy_rule *r)
{
	for (size_t j = 0; j < r->nvms; j++)
		free(r->vms[j].pat);
	free(r->vms);
	free(r->users);
	free(r->groups);
	memset(r, 0, sizeof(*r));
}

static void
policy_read_rules(struct policy_ctx *c)
{
	struct policy *pol = c->pol;
	struct yamltree_node *n = c->rules;

	if (n == NULL || !yamltree_want(c->t, n, YAMLTREE_SEQUENCE, "rules",
					"a list of rules"))
		return;
	pol->rules = xcalloc(n->nkids, sizeof(*pol->rules));
	for (size_t i = 0; i < n->nkids; i++) {
		struct yamltree_node *rn = n->kids[i];
		struct policy_rulenodes nodes = {0};
		struct policy_rule *rule;
		unsigned rights = 0;
		bool ok = true;

		if (pol->nrules == POLICY_MAX_RULES) {
			yamltree_error(c->t, rn, "more than %d rules",
				       POLICY_MAX_RULES);
			break;
		}
		if (rn->type != YAMLTREE_MAPPING) {
			if (rn->type != YAMLTREE_INVALID)
				yamltree_error(c->t, rn,
					       "a rule must be a mapping with "
					       "allow: or deny:, to: and vms:, "
					       "not %s",
					       yamltree_describe(rn));
			continue;
		}
		rule = &pol->rules[pol->nrules];
		rule->line = rn->line;
		rule->col = rn->col;
		yamltree_fields(c->t, rn, rule_fields,
				sizeof(rule_fields) / sizeof(rule_fields[0]), c,
				&nodes);
		if (nodes.allow != NULL && nodes.deny != NULL) {
			struct yamltree_node *second =
			    nodes.deny_key->line > nodes.allow_key->line ||
				    (nodes.deny_key->line ==
					 nodes.allow_key->line &&
				     nodes.deny_key->col > nodes.allow_key->col)
				? nodes.deny_key
				: nodes.allow_key;
			yamltree_error(c->t, second,
				       "a rule has allow: or deny:, not both");
			ok = false;
		} else if (nodes.allow == NULL && nodes.deny == NULL) {
			yamltree_error(c->t, rn,
				       "a rule needs allow: or deny:");
			ok = false;
		} else if (nodes.allow != NULL) {
			ok = policy_rule_rights(c, nodes.allow, "allow",
						&rights) &&
			     ok;
			rule->rights = policy_close_down(rights);
		} else {
			ok = policy_rule_rights(c, nodes.deny, "deny",
						&rights) &&
			     ok;
			rule->deny = true;
			rule->rights = policy_close_up(rights);
		}
		if (nodes.to == NULL) {
			yamltree_error(c->t, rn, "a rule needs to:");
			ok = false;
		} else {
			ok = policy_rule_to(c, nodes.to, rule) && ok;
		}
		if (nodes.vms == NULL) {
			yamltree_error(c->t, rn, "a rule needs vms:");
			ok = false;
		} else {
			ok = policy_rule_vms(c, nodes.vms, rule) && ok;
		}
		if (!ok) {
			policy_rule_clear(rule);
			continue;
		}
		pol->nrules++;
	}
}

static void
top_users(void *ctx, void *obj, struct yamltree_node *k,
	  struct yamltree_node *n)
{
	(void)obj;
	(void)k;
	((struct policy_ctx *)ctx)->users = n;
}

static void
top_groups(void *ctx, void *obj, struct yamltree_node *k,
	   struct yamltree_node *n)
{
	(void)obj;
	(void)k;
	((struct policy_ctx *)ctx)->groups = n;
}

static void
top_rules(void *ctx, void *obj, struct yamltree_node *k,
	  struct yamltree_node *n)
{
	(void)obj;
	(void)k;
	((struct policy_ctx *)ctx)->rules = n;
}

static const struct yamltree_field top_fields[] = {
    {"users", top_users, NULL},
    {"groups", top_groups, NULL},
    {"rules", top_rules, NULL},
};

int
policy_load_mem(const char *name, const void *buf, size_t len, unsigned flags,
		struct policy **polp, struct diag *d)
{
	struct policy_ctx c = {0};
	struct policy *pol = xcalloc(1, sizeof(*pol));
	size_t errors_before = diag_errors(d);
	int r = -1;

	*polp = NULL;
	atomic_init(&pol->refs, 1);
	pol->file = xstrdup(name);
	c.pol = pol;
	if (len > POLICY_MAX_FILE) {
		diag_error(d, name, 0, 0, "file is larger than %d bytes",
			   POLICY_MAX_FILE);
		flags &= ~(unsigned)POLICY_PARTIAL;
		goto out;
	}
	if (yamltree_parse(name, buf, len, d, &c.t) != 0) {
		flags &= ~(unsigned)POLICY_PARTIAL; /* nothing was read */
		goto out;
	}
	if (c.t->root != NULL && !yamltree_is_null(c.t->root)) {
		if (c.t->root->type != YAMLTREE_MAPPING) {
			if (c.t->root->type != YAMLTREE_INVALID)
				yamltree_error(c.t, c.t->root,
					       "the file must be a mapping "
					       "(users:, groups:, rules:), not "
					       "%s",
					       yamltree_describe(c.t->root));
			flags &= ~(unsigned)POLICY_PARTIAL;
			goto out;
		}
		/* users before groups before rules, whatever the file order */
		yamltree_fields(c.t, c.t->root, top_fields,
				sizeof(top_fields) / sizeof(top_fields[0]), &c,
				NULL);
		policy_read_users(&c);
		policy_read_groups(&c);
		policy_read_rules(&c);
	}
	if (diag_errors(d) == errors_before)
		r = 0;
out:
	if (r == 0 || (flags & POLICY_PARTIAL)) {
		*polp = pol;
		pol = NULL; /* transferred */
	}
	policy_free(pol);
	yamltree_free(c.t);
	return r;
}

int
policy_load(const char *path, unsigned flags, struct policy **polp,
	    struct diag *d)
{
	char *buf = NULL;
	size_t len;
	int r = -1;

	*polp = NULL;
	if (yamltree_read_file(path, POLICY_MAX_FILE, &buf, &len, d) != 0)
		goto out;
	r = policy_load_mem(path, buf, len, flags, polp, d);
out:
	free(buf);
	return r;
}
