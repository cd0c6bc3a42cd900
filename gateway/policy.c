#include "policy.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "vmglob.h"
#include "xmalloc.h"
#include "yamltree.h"

/*
 * Checked against when the user is unknown or has no password and the
 * policy holds no password at all (default yescrypt cost, as vmgatectl
 * passwd). A policy with passwords checks a miss against the setting of its
 * most common kind of hash instead (policy_pick_dummy).
 */
static const char policy_dummy_hash[] =
    "$y$j9T$5zhcZdSkl/yykgeTZLISB1$cYtOUlT6b.aq8jBv.csB7.DqTSWlKGQCO6fkGpI4uf3";

static const char *const policy_right_names[POLICY_NRIGHTS] = {
    "console:read",    "console:write", "display:view",
    "display:control", "power",		"admin",
};

struct policy_user {
	char *name;
	ssh_key *keys;
	size_t nkeys;
	char *password; /* NULL: no password login */
	unsigned pw_line, pw_col;
	size_t *groups; /* sorted indexes into policy->groups */
	size_t ngroups;
};

struct policy_group {
	char *name;
	size_t *members; /* indexes into policy->users */
	size_t nmembers;
};

struct policy_glob {
	char *pat;
	unsigned line, col;
};

struct policy_rule {
	unsigned line, col;
	bool deny;
	unsigned rights; /* closed: what it allows, or what it takes away */
	bool everyone;
	size_t *users; /* sorted, unique */
	size_t nusers;
	size_t *groups; /* sorted, unique */
	size_t ngroups;
	struct policy_glob *vms;
	size_t nvms;
};

struct policy {
	atomic_uint refs;
	char *file;
	struct policy_user *users; /* sorted by name */
	size_t nusers;
	struct policy_group *groups; /* sorted by name */
	size_t ngroups;
	struct policy_rule *rules; /* in file order */
	size_t nrules;
	/* A miss (unknown user, no password) hashes the password with this
	 * setting and fails: a copy of one user's hash of the most common
	 * method and cost, or policy_dummy_hash. */
	char *dummy;
};

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
static unsigned
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
static unsigned
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

static void
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

static int
policy_user_cmp(const void *a, const void *b)
{
	return strcmp(((const struct policy_user *)a)->name,
		      ((const struct policy_user *)b)->name);
}

static int
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
static ssize_t
policy_find_user(const struct policy *pol, const char *name)
{
	struct policy_user key = {.name = (char *)name};
	const struct policy_user *u;

	if (name == NULL || pol->nusers == 0)
		return -1;
	u = bsearch(&key, pol->users, pol->nusers, sizeof(*u), policy_user_cmp);
	return u == NULL ? -1 : u - pol->users;
}

static ssize_t
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
static size_t
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

/* ---- keys ---- */

static const struct {
	const char *name;
	enum ssh_keytypes_e type;
} policy_key_types[] = {
    {"ssh-ed25519", SSH_KEYTYPE_ED25519},
    {"ssh-rsa", SSH_KEYTYPE_RSA},
    {"ecdsa-sha2-nistp256", SSH_KEYTYPE_ECDSA_P256},
    {"ecdsa-sha2-nistp384", SSH_KEYTYPE_ECDSA_P384},
    {"ecdsa-sha2-nistp521", SSH_KEYTYPE_ECDSA_P521},
    {"sk-ecdsa-sha2-nistp256@openssh.com", SSH_KEYTYPE_SK_ECDSA},
    {"sk-ssh-ed25519@openssh.com", SSH_KEYTYPE_SK_ED25519},
};

/* Bounds-checked reader over a decoded key blob. */
struct policy_blob {
	const unsigned char *p;
	size_t len;
};

static bool
policy_blob_string(struct policy_blob *b, const unsigned char **s, size_t *n)
{
	uint32_t len;

	if (b->len < 4)
		return false;
	len = (uint32_t)b->p[0] << 24 | (uint32_t)b->p[1] << 16 |
	      (uint32_t)b->p[2] << 8 | b->p[3];
	if (len > b->len - 4)
		return false;
	*s = b->p + 4;
	*n = len;
	b->p += 4 + len;
	b->len -= 4 + len;
	return true;
}

/* Bits of an SSH mpint's magnitude. */
static unsigned
policy_mpint_bits(const unsigned char *s, size_t n)
{
	unsigned bits;

	while (n > 0 && s[0] == 0) {
		s++;
		n--;
	}
	if (n == 0)
		return 0;
	bits = (unsigned)(n - 1) * 8;
	for (unsigned c = s[0]; c != 0; c >>= 1)
		bits++;
	return bits;
}

/*
 * Parses "TYPE BASE64 [COMMENT]" (NUL-terminated, no NUL inside) into a
 * libssh key. Returns NULL with *keyp
 * set, or a message (in buf when it needs numbers) with *erroff the byte the
 * problem starts at.
 */
static const char *
policy_parse_key(const char *line, ssh_key *keyp, size_t *erroff, char *buf,
		 size_t bufsize)
{
	const char *problem = NULL;
	size_t tlen, b64off, b64len, dlen, pad = 0, i;
	unsigned char *blob = NULL;
	char *b64 = NULL, *again = NULL;
	enum ssh_keytypes_e type = SSH_KEYTYPE_UNKNOWN;
	struct policy_blob b;
	const unsigned char *s;
	size_t n;
	ssh_key key = NULL;
	int dec;

	*keyp = NULL;
	*erroff = 0;
	tlen = strcspn(line, " \t");
	for (i = 0; i < sizeof(policy_key_types) / sizeof(policy_key_types[0]);
	     i++) {
		if (strlen(policy_key_types[i].name) == tlen &&
		    memcmp(line, policy_key_types[i].name, tlen) == 0)
			type = policy_key_types[i].type;
	}
	if (type == SSH_KEYTYPE_UNKNOWN) {
		if (tlen > 21 &&
		    memcmp(line + tlen - 21, "-cert-v01@openssh.com", 21) == 0)
			problem = "certificates are not accepted as user keys";
		else if (tlen == 7 && memcmp(line, "ssh-dss", 7) == 0)
			problem = "DSA keys are not accepted";
		else
			problem =
			    "not an OpenSSH public key (expected ssh-ed25519, "
			    "ssh-rsa, ecdsa-sha2-*, or sk-*)";
		goto out;
	}
	b64off = tlen + strspn(line + tlen, " \t");
	b64len = strcspn(line + b64off, " \t");
	if (b64len == 0) {
		*erroff = b64off;
		problem = "the key data is missing after the key type";
		goto out;
	}
	*erroff = b64off;
	while (pad < 2 && pad < b64len &&
	       line[b64off + b64len - 1 - pad] == '=')
		pad++;
	blob = xmalloc(b64len / 4 * 3 + 1);
	dec = b64len % 4 == 0
		  ? EVP_DecodeBlock(blob, (const unsigned char *)line + b64off,
				    (int)b64len)
		  : -1;
	if (dec < 0 || (size_t)dec < pad) {
		problem = "the key data is not valid base64";
		goto out;
	}
	dlen = (size_t)dec - pad;
	b = (struct policy_blob){blob, dlen};
	if (!policy_blob_string(&b, &s, &n) || n != tlen ||
	    memcmp(s, line, tlen) != 0) {
		problem = "the key data does not hold a key of the type named "
			  "before it";
		goto out;
	}
	if (type == SSH_KEYTYPE_RSA) {
		const unsigned char *e, *mod;
		size_t elen, modlen;
		unsigned bits;
		if (!policy_blob_string(&b, &e, &elen) ||
		    !policy_blob_string(&b, &mod, &modlen)) {
			problem = "the RSA key data is truncated";
			goto out;
		}
		bits = policy_mpint_bits(mod, modlen);
		if (bits < POLICY_MIN_RSA_BITS || bits > POLICY_MAX_RSA_BITS) {
			snprintf(buf, bufsize,
				 "the RSA key has %u bits; %d to %d are "
				 "accepted",
				 bits, POLICY_MIN_RSA_BITS,
				 POLICY_MAX_RSA_BITS);
			problem = buf;
			goto out;
		}
	}
	b64 = xstrndup(line + b64off, b64len);
	if (ssh_pki_import_pubkey_base64(b64, type, &key) != SSH_OK ||
	    key == NULL || ssh_key_type(key) != type) {
		problem = "the key data is not a valid key";
		goto out;
	}
	/* what libssh read must be all there was, written the usual way */
	if (ssh_pki_export_pubkey_base64(key, &again) != SSH_OK ||
	    strcmp(again, b64) != 0) {
		problem = "the key data has trailing or malformed bytes";
		goto out;
	}
	*keyp = key;
	key = NULL; /* transferred */
out:
	ssh_key_free(key);
	ssh_string_free_char(again);
	free(b64);
	free(blob);
	return problem;
}

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
		    policy_parse_key(e->str, &key, &off, buf, sizeof(buf));
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
    {"keys", user_keys},
    {"password", user_password},
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
    {"allow", rule_allow},
    {"deny", rule_deny},
    {"to", rule_to},
    {"vms", rule_vms},
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
    {"users", top_users},
    {"groups", top_groups},
    {"rules", top_rules},
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
