/*
 * What the policy files share (policy.c: the policy object and the rights
 * engine; policy_key.c: users' public keys; policy_load.c: reading the
 * YAML file). Not for other modules: they use policy.h.
 */
#ifndef VMGATE_POLICY_IMPL_H
#define VMGATE_POLICY_IMPL_H

#include <libssh/libssh.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "policy.h"

struct yamltree;
struct yamltree_node;

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

/* policy.c */
/* The setting a miss is hashed with when the policy has no password. */
extern const char policy_dummy_hash[];
/* What allowing 'r' gives: 'r' and everything it implies. */
unsigned policy_close_down(unsigned r);
/* What denying 'r' takes: 'r' and everything that implies it. */
unsigned policy_close_up(unsigned r);
/* Names of the rights, by bit index. */
extern const char *const policy_right_names[POLICY_NRIGHTS];
/* bsearch/qsort comparators of users and groups by name. */
int policy_user_cmp(const void *a, const void *b);
int policy_group_cmp(const void *a, const void *b);
/* Frees a policy whose references are gone (or that was never shared). */
void policy_free(struct policy *pol);
/* Index of the user or group named 'name', or -1. */
ssize_t policy_find_user(const struct policy *pol, const char *name);
ssize_t policy_find_group(const struct policy *pol, const char *name);
/* Sorts and removes duplicates in place; returns the new count. */
size_t policy_sort_unique(size_t *v, size_t n);

/* policy_key.c */
/*
 * Parses "TYPE BASE64 [COMMENT]" (NUL-terminated, no NUL inside) into a
 * libssh key. Returns NULL with *keyp set, or a message (in buf when it
 * needs numbers) with *erroff the byte the problem starts at.
 */
const char *policy_key_parse(const char *line, ssh_key *keyp, size_t *erroff,
			     char *buf, size_t bufsize);

#endif
