#include "vmglob.h"

#include <string.h>

static bool
vmglob_namechar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int
vmglob_check(const char *pat, size_t len, size_t *erroff, const char **errmsg)
{
	size_t i = 0;
	int r = -1;

	*erroff = 0;
	*errmsg = NULL;
	if (len == 0) {
		*errmsg = "empty VM pattern";
		goto out;
	}
	if (len > VMGLOB_MAX_LEN) {
		*erroff = VMGLOB_MAX_LEN;
		*errmsg = "VM pattern longer than 255 characters";
		goto out;
	}
	while (i < len) {
		char c = pat[i];
		if (c == '*' || c == '?' || vmglob_namechar(c)) {
			i++;
			continue;
		}
		if (c == ']') {
			*erroff = i;
			*errmsg = "']' without a matching '['";
			goto out;
		}
		if (c != '[') {
			*erroff = i;
			*errmsg = c == '\\' ? "backslash escapes are not "
					      "supported in VM patterns"
					    : "invalid character in VM pattern";
			goto out;
		}
		/* a set: [ !? items ] */
		size_t open = i++;
		size_t nitems = 0;
		if (i < len && (pat[i] == '!' || pat[i] == '^'))
			i++;
		while (i < len && pat[i] != ']') {
			if (!vmglob_namechar(pat[i])) {
				*erroff = i;
				*errmsg = pat[i] == '['
					      ? "'[' inside a set (character "
						"classes are not supported)"
					      : "invalid character in a set";
				goto out;
			}
			/* a range a-b; a '-' first or last is literal */
			if (i + 2 < len && pat[i + 1] == '-' &&
			    pat[i + 2] != ']') {
				if (!vmglob_namechar(pat[i + 2])) {
					*erroff = i + 2;
					*errmsg = "invalid character in a set";
					goto out;
				}
				if (pat[i + 2] < pat[i]) {
					*erroff = i;
					*errmsg = "reversed range in a set";
					goto out;
				}
				i += 3;
			} else {
				i++;
			}
			nitems++;
		}
		if (i == len) {
			*erroff = open;
			*errmsg = "'[' without a matching ']'";
			goto out;
		}
		if (nitems == 0) {
			*erroff = open;
			*errmsg = "empty set '[]'";
			goto out;
		}
		i++; /* ']' */
	}
	r = 0;
out:
	return r;
}

/*
 * Matches one character against the item at *pp ('?', a set or a literal)
 * and advances *pp past it.
 */
static bool
vmglob_one(const char **pp, char c)
{
	const char *p = *pp;
	bool negate = false, hit = false;

	if (*p == '?') {
		*pp = p + 1;
		return true;
	}
	if (*p != '[') {
		*pp = p + 1;
		return *p == c;
	}
	p++;
	if (*p == '!' || *p == '^') {
		negate = true;
		p++;
	}
	while (*p != ']') {
		if (p[1] == '-' && p[2] != ']' && p[2] != '\0') {
			if (c >= p[0] && c <= p[2])
				hit = true;
			p += 3;
		} else {
			if (c == *p)
				hit = true;
			p++;
		}
	}
	*pp = p + 1;
	return hit != negate;
}

bool
vmglob_match(const char *pat, const char *name)
{
	const char *p = pat, *n = name;
	const char *star_p = NULL, *star_n = NULL;

	/*
	 * Greedy match remembering only the last '*': on a mismatch, let that
	 * star swallow one more character and retry. Earlier stars never need
	 * revisiting, so this is O(len(pat) * len(name)).
	 */
	while (*n != '\0') {
		if (*p == '*') {
			while (*p == '*')
				p++;
			star_p = p;
			star_n = n;
			continue;
		}
		if (*p != '\0') {
			const char *next = p;
			if (vmglob_one(&next, *n)) {
				p = next;
				n++;
				continue;
			}
		}
		if (star_p == NULL)
			return false;
		p = star_p;
		n = ++star_n;
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

bool
vmglob_is_literal(const char *pat)
{
	return strpbrk(pat, "*?[") == NULL;
}
