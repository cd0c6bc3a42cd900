/*
 * Diagnostics collected while checking a file, printed the way compilers do:
 *
 *	FILE:LINE:COLUMN: error: MESSAGE
 *	FILE:LINE:COLUMN: warning: MESSAGE
 *	FILE: error: MESSAGE			(no position: cannot open, too
 *big)
 *
 * LINE and COLUMN are 1-based; COLUMN counts characters, not bytes. Loaders
 * keep going after an error so that one run reports every problem in a file.
 * Messages are made printable on the way in (control bytes and non-ASCII are
 * shown as \xNN), so quoting file content into them is safe for a terminal or
 * a log. At most DIAG_MAX entries are kept; the rest are counted.
 */
#ifndef VMGATE_DIAG_H
#define VMGATE_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define DIAG_MAX 1000
/* Longest quoted value diag_quote() produces, with quotes and NUL. */
#define DIAG_QUOTE_MAX 56

enum diag_severity {
	DIAG_ERROR,
	DIAG_WARNING,
};

struct diag_entry {
	char *file;
	unsigned line; /* 0 when the problem has no position */
	unsigned col;
	enum diag_severity severity;
	char *msg;
	size_t seq; /* insertion order, keeps diag_sort() stable */
};

/* Zero-initialise (or diag_init) before use; diag_clear() releases. */
struct diag {
	struct diag_entry *v;
	size_t n;
	size_t cap;
	size_t nerrors;	  /* including dropped ones */
	size_t nwarnings; /* including dropped ones */
	size_t dropped;
};

void diag_init(struct diag *d);
/* Frees every entry and resets *d to empty; accepts NULL. */
void diag_clear(struct diag *d);

void diag_error(struct diag *d, const char *file, unsigned line, unsigned col,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void diag_warning(struct diag *d, const char *file, unsigned line, unsigned col,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

size_t diag_errors(const struct diag *d);
size_t diag_warnings(const struct diag *d);

/*
 * Orders entries by file (in the order files first appear), then line, then
 * column; entries at the same place keep their insertion order.
 */
void diag_sort(struct diag *d);

/* One entry as text without a trailing newline; caller frees. */
char *diag_format(const struct diag_entry *e);
/* Every entry, one per line, then a count of dropped ones if any. */
void diag_print(const struct diag *d, FILE *f);

/*
 * Writes 's' (len bytes, may hold anything) into buf as a single-quoted
 * string shortened with "..." to fit DIAG_QUOTE_MAX; returns buf.
 */
const char *diag_quote(char buf[DIAG_QUOTE_MAX], const char *s, size_t len);

#endif
