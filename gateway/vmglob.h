/*
 * VM name patterns in the policy: fnmatch-style, on names that can only hold
 * [A-Za-z0-9._-]:
 *	*	any run of characters, including none
 *	?	any one character
 *	[abc] [a-z0-9] [!a-c] [^a-c]	one character in (or not in) a set
 * Anything else must be a name character. Unlike fnmatch(3), a lone '[' or
 * ']', an empty set, a reversed range and backslashes are errors rather than
 * literals, and matching is linear (no backtracking blow-up on "*a*a*a*b").
 */
#ifndef VMGATE_VMGLOB_H
#define VMGATE_VMGLOB_H

#include <stdbool.h>
#include <stddef.h>

#define VMGLOB_MAX_LEN 255

/*
 * Returns 0 if pattern (len bytes) is valid, else -1 with *erroff the byte
 * offset of the offending character and *errmsg a static description.
 */
int vmglob_check(const char *pat, size_t len, size_t *erroff,
		 const char **errmsg);

/* Whether 'name' matches a pattern that passed vmglob_check. */
bool vmglob_match(const char *pat, const char *name);

/* Whether the pattern has no wildcard (it names exactly one VM). */
bool vmglob_is_literal(const char *pat);

#endif
