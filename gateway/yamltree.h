/*
 * A YAML file as a small tree, built from libyaml's event parser with the
 * checks every vmgate file wants before any schema is applied:
 *   - one document only; aliases and tags are rejected (an alias could make a
 *     small file expand into a huge walk, and a tag would change the type of
 *     a value behind the schema's back);
 *   - nesting is capped at YAMLTREE_MAX_DEPTH;
 *   - mapping keys must be scalars without a NUL byte, and a key may appear
 *     once per mapping; offending pairs are reported and left out of the tree,
 *     so the schema code only ever sees clean mappings.
 * Errors go to the diag with the node's 1-based line and column. A syntax
 * error stops the parse (libyaml cannot go on); the other checks don't.
 */
#ifndef VMGATE_YAMLTREE_H
#define VMGATE_YAMLTREE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define YAMLTREE_MAX_DEPTH 32

enum yamltree_type {
	YAMLTREE_SCALAR = 1,
	YAMLTREE_SEQUENCE,
	YAMLTREE_MAPPING,
	/* An alias or a tagged node: already reported, schema code skips it. */
	YAMLTREE_INVALID,
};

struct yamltree_node {
	enum yamltree_type type;
	unsigned line, col; /* start, 1-based */
	unsigned end_line, end_col;
	bool plain; /* scalar written without quotes */
	char *str;  /* scalar value, NUL-terminated (may hold NULs) */
	size_t len;
	/* sequence: items; mapping: key0, value0, key1, value1, ... */
	struct yamltree_node **kids;
	size_t nkids;
	size_t cap;
};

struct yamltree {
	char *file;		    /* name used in messages */
	struct yamltree_node *root; /* NULL for an empty file */
	struct diag *d;
};

/*
 * Parses buf (len bytes, not NUL-terminated) into *tp. Returns 0 when the
 * tree is usable (it may still have had non-fatal problems, all in d), -1 on
 * a syntax error (also in d) with *tp NULL. Free with yamltree_free.
 */
int yamltree_parse(const char *file, const void *buf, size_t len,
		   struct diag *d, struct yamltree **tp);
void yamltree_free(struct yamltree *t);

/* Mapping helpers: number of pairs, i-th key and value. */
size_t yamltree_npairs(const struct yamltree_node *map);
struct yamltree_node *yamltree_key(const struct yamltree_node *map, size_t i);
struct yamltree_node *yamltree_value(const struct yamltree_node *map, size_t i);

/* A plain scalar reading as null: empty, "~", "null", "Null", "NULL". */
bool yamltree_is_null(const struct yamltree_node *n);

/* "a mapping", "a list", "a string", "nothing (null)" ... for messages */
const char *yamltree_describe(const struct yamltree_node *n);

/*
 * Position of the character at byte 'offset' of a scalar's value, when the
 * value is the source text as written (plain, or quoted without escapes, on
 * one line); otherwise the scalar's start.
 */
void yamltree_scalar_pos(const struct yamltree_node *n, size_t offset,
			 unsigned *line, unsigned *col);

/*
 * Schema helpers. Each checks one value, reports a problem at the value as
 * "WHAT must be ..." and returns false; an YAMLTREE_INVALID node fails
 * silently (it was reported when it was parsed).
 */
/* A non-null scalar without NUL bytes, at most max bytes. */
bool yamltree_want_string(struct yamltree *t, const struct yamltree_node *n,
			  const char *what, size_t max);
/* true / false (also True, TRUE, False, FALSE), unquoted. */
bool yamltree_want_bool(struct yamltree *t, const struct yamltree_node *n,
			const char *what, bool *out);
/* An unquoted decimal number from min to max, no sign or leading zero. */
bool yamltree_want_uint(struct yamltree *t, const struct yamltree_node *n,
			const char *what, uint64_t min, uint64_t max,
			uint64_t *out);
/*
 * A node of the given type (mapping or sequence), or null, which the caller
 * reads as an empty one. 'shape' completes "WHAT must be SHAPE, not ...".
 */
bool yamltree_want(struct yamltree *t, const struct yamltree_node *n,
		   enum yamltree_type type, const char *what,
		   const char *shape);

/*
 * An unsigned setting read by the walk itself: yamltree_want_uint(what, min,
 * max) and, when it holds, the value stored in the unsigned at 'off' in the
 * walk's obj. Written with YAMLTREE_UINT, which checks at compile time that
 * the member is an unsigned and that max fits in one.
 */
struct yamltree_uint {
	const char *what; /* "WHAT must be a number from MIN to MAX" */
	uint64_t min, max;
	size_t off;
};

/*
 * Walks a mapping's pairs, calling the field whose key matches; an unknown
 * key is reported with the list of known ones. 'ctx' and 'obj' are passed
 * through to the handlers. A field has a handler (fn) or, with fn NULL, is an
 * unsigned setting (uint).
 */
struct yamltree_field {
	const char *key;
	void (*fn)(void *ctx, void *obj, struct yamltree_node *key,
		   struct yamltree_node *value);
	const struct yamltree_uint *uint;
};
/*
 * The offset of an unsigned member; a compile error for a member of another
 * type or a max that does not fit in an unsigned.
 */
#define YAMLTREE_UINT_OFF(type, member, max)                                   \
	(offsetof(type, member) +                                              \
	 0 * sizeof(_Generic(((type *)0)->member, unsigned : 1)) +             \
	 0 * sizeof(char[(max) <= UINT_MAX ? 1 : -1]))
#define YAMLTREE_UINT(key, what, min, max, type, member)                       \
	{                                                                      \
		(key), NULL, &(const struct yamltree_uint)                     \
		{                                                              \
			(what), (min), (max),                                  \
			    YAMLTREE_UINT_OFF(type, member, max)               \
		}                                                              \
	}
void yamltree_fields(struct yamltree *t, const struct yamltree_node *map,
		     const struct yamltree_field *fields, size_t nfields,
		     void *ctx, void *obj);

/*
 * Reads a whole regular file of at most 'max' bytes into *bufp (caller frees;
 * NUL-terminated for convenience). On failure returns -1 and reports
 * "FILE: error: ..." in d.
 */
int yamltree_read_file(const char *path, size_t max, char **bufp, size_t *lenp,
		       struct diag *d);

void yamltree_error(struct yamltree *t, const struct yamltree_node *n,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void yamltree_error_at(struct yamltree *t, unsigned line, unsigned col,
		       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void yamltree_warning(struct yamltree *t, const struct yamltree_node *n,
		      const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
