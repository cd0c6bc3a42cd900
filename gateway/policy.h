/*
 * policy.yaml: who may do what to which VM.
 *
 *	users:
 *	  alice:
 *	    keys: ["ssh-ed25519 AAAA... alice@laptop"]	OpenSSH public keys
 *	    password: "$y$j9T$..."			optional, crypt(3) hash
 *	groups:
 *	  ops: [alice]					user names
 *	rules:
 *	  - allow: [console:write, power]		or deny: [...]
 *	    to: [group:ops, user:bob, "*"]		"*" is every user
 *	    vms: ["web*", db1]				see vmglob.h
 *
 * Rights form a small order: admin implies every right, console:write
 * implies console:read, display:control implies display:view. Allowing a
 * right allows what it implies; denying a right also denies whatever implies
 * it (deny console:read takes console:write and admin away too), so the
 * effective set always stays closed under the implications. For a user and
 * a VM, a right is effective iff some matching allow rule gives it and no
 * matching deny rule takes it: default deny, and any deny beats any allow,
 * whatever the rule order. Users not in the file have no rights.
 *
 * A loaded policy is immutable and reference-counted, so a reload builds a
 * new one and swaps the pointer while sessions keep theirs; every function
 * taking a const struct policy * is safe to call from several threads.
 */
#ifndef VMGATE_POLICY_H
#define VMGATE_POLICY_H

#include <libssh/libssh.h>
#include <stdbool.h>
#include <stddef.h>

#include "diag.h"

#define POLICY_MAX_FILE (1024 * 1024)
#define POLICY_MAX_USERS 10000
#define POLICY_MAX_GROUPS 10000
#define POLICY_MAX_RULES 10000
#define POLICY_MAX_LIST 10000	  /* entries in any one list */
#define POLICY_MAX_KEYS 100	  /* keys per user */
#define POLICY_MAX_KEY_LINE 16384 /* bytes of one key entry */
#define POLICY_MIN_RSA_BITS 2048
#define POLICY_MAX_RSA_BITS 16384
#define POLICY_MAX_PASSWORD 1024 /* bytes a client may send */

/* policy_load flags */
#define POLICY_PARTIAL 0x1 /* on errors, still return what was read */

enum policy_right {
	POLICY_CONSOLE_READ = 1u << 0,
	POLICY_CONSOLE_WRITE = 1u << 1,
	POLICY_DISPLAY_VIEW = 1u << 2,
	POLICY_DISPLAY_CONTROL = 1u << 3,
	POLICY_POWER = 1u << 4,
	POLICY_ADMIN = 1u << 5,
};
#define POLICY_NRIGHTS 6
#define POLICY_ALL_RIGHTS ((1u << POLICY_NRIGHTS) - 1)

/* Why one right came out the way it did. */
struct policy_decision {
	int rule; /* 0-based index in rules:, -1 if no rule (default deny) */
	unsigned line; /* line of the rule's "-" in the file, 0 if none */
	bool denied;   /* the rule is a deny rule */
};

/* Indexed by right number: bit (1u << i) is explained by right[i]. */
struct policy_reason {
	const char *file; /* the policy file; valid while the policy is held */
	struct policy_decision right[POLICY_NRIGHTS];
};

struct policy;

/*
 * Reads and checks a policy file. Returns 0 with *polp (one reference) when
 * there is no error, warnings possibly in d. Returns -1 with every error in
 * d and *polp NULL or, with POLICY_PARTIAL, the part that checked out (for
 * reporting only: a rule with a bad entry is dropped whole) unless the file
 * could not be read or parsed at all.
 */
int policy_load(const char *path, unsigned flags, struct policy **polp,
		struct diag *d);
/* Same on a buffer; 'name' is the file name used in messages. */
int policy_load_mem(const char *name, const void *buf, size_t len,
		    unsigned flags, struct policy **polp, struct diag *d);

/* Takes one more reference; returns pol. */
struct policy *policy_ref(struct policy *pol);
/* Drops one reference, freeing on the last; accepts NULL. */
void policy_unref(struct policy *pol);

/* Counts for "OK: N users, M groups, K rules". */
size_t policy_nusers(const struct policy *pol);
size_t policy_ngroups(const struct policy *pol);
size_t policy_nrules(const struct policy *pol);
const char *policy_file(const struct policy *pol);

bool policy_user_exists(const struct policy *pol, const char *user);
bool policy_user_has_password(const struct policy *pol, const char *user);

/*
 * Effective rights (enum policy_right bits) of 'user' on 'vm'. 'why' may be
 * NULL; otherwise it receives, per right, the first rule that denied it if
 * any matching rule did, else the first rule that granted it, else none.
 * A NULL or unknown user, or a NULL vm, has no rights.
 */
unsigned policy_rights(const struct policy *pol, const char *user,
		       const char *vm, struct policy_reason *why);

/* A VM is visible to a user iff the user has any right on it. */
bool policy_vm_visible(const struct policy *pol, const char *user,
		       const char *vm);
/*
 * Of the nvms names in vms, writes the indexes of those visible to 'user'
 * into out (room for nvms) in order; returns how many.
 */
size_t policy_visible_vms(const struct policy *pol, const char *user,
			  const char *const *vms, size_t nvms, size_t *out);

/* Whether 'key' (public part) is one of the user's keys. */
bool policy_user_key_matches(const struct policy *pol, const char *user,
			     const ssh_key key);

/*
 * Whether 'password' is the user's. Slow on purpose (the hash's cost) and
 * as slow for an unknown user or one without a password, so timing does not
 * tell which users exist: such a miss is hashed with the method and cost
 * most of the policy's password hashes have (yescrypt's default if none has
 * a password), and policy_load warns at each hash of another kind or cost.
 * Call it from a worker thread. Thread-safe.
 */
bool policy_user_password_ok(const struct policy *pol, const char *user,
			     const char *password);

/*
 * Which password the user has: a SHA-256 digest of its hash, so that a
 * connection can remember the password it logged in with and a reload can
 * tell whether that password still opens the account (a changed hash, even
 * of the same password, counts as another). Returns false, id zeroed, for
 * an unknown user or one without a password.
 */
#define POLICY_CRED_ID_LEN 32
bool policy_user_password_id(const struct policy *pol, const char *user,
			     unsigned char id[POLICY_CRED_ID_LEN]);

/* "console:read" ... for a single right bit; NULL for anything else. */
const char *policy_right_name(unsigned right);
/* Index 0..5 of a single right bit, -1 otherwise. */
int policy_right_index(unsigned right);

/*
 * One line for the audit log on why 'right' came out as it did:
 * "policy.yaml:12 rule 3 allow", "policy.yaml:20 rule 4 deny" or
 * "default deny". Returns buf.
 */
const char *policy_reason_str(const struct policy_reason *why, unsigned right,
			      char *buf, size_t size);

/*
 * Cross-check with the configured VMs: each VM pattern of a rule that
 * matches none of them gets a warning at its position.
 */
void policy_check_vms(const struct policy *pol, const char *const *vms,
		      size_t nvms, struct diag *d);

#endif
