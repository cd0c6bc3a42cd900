#include "diag.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"

void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
}

void
diag_clear(struct diag *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	diag_init(d);
}

/* Copies 'msg', showing anything but printable ASCII as \xNN. */
static char *
diag_printable(const char *msg)
{
	size_t len = strlen(msg);
	char *out = xmalloc(len * 4 + 1);
	char *o = out;

	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			*o++ = (char)*p;
		} else {
			snprintf(o, 5, "\\x%02x", *p);
			o += 4;
		}
	}
	*o = '\0';
	return out;
}

static void
diag_add(struct diag *d, enum diag_severity sev, const char *file,
	 unsigned line, unsigned col, const char *fmt, va_list ap)
{
	struct diag_entry *e;
	char *raw = NULL;

	if (sev == DIAG_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= DIAG_MAX) {
		d->dropped++;
		return;
	}
	if (vasprintf(&raw, fmt, ap) < 0)
		raw = xstrdup("(out of memory formatting message)");
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 16;
		d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
	}
	e = &d->v[d->n];
	e->file = diag_printable(file ? file : "?");
	e->line = line;
	e->col = line ? col : 0;
	e->severity = sev;
	e->msg = diag_printable(raw);
	e->seq = d->n;
	d->n++;
	free(raw);
}

void
diag_error(struct diag *d, const char *file, unsigned line, unsigned col,
	   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, DIAG_ERROR, file, line, col, fmt, ap);
	va_end(ap);
}

void
diag_warning(struct diag *d, const char *file, unsigned line, unsigned col,
	     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_add(d, DIAG_WARNING, file, line, col, fmt, ap);
	va_end(ap);
}

size_t
diag_errors(const struct diag *d)
{
	return d->nerrors;
}

size_t
diag_warnings(const struct diag *d)
{
	return d->nwarnings;
}

struct diag_sortkey {
	size_t file_rank;
	struct diag_entry e;
};

static int
diag_cmp(const void *a, const void *b)
{
	const struct diag_sortkey *x = a, *y = b;

	if (x->file_rank != y->file_rank)
		return x->file_rank < y->file_rank ? -1 : 1;
	if (x->e.line != y->e.line)
		return x->e.line < y->e.line ? -1 : 1;
	if (x->e.col != y->e.col)
		return x->e.col < y->e.col ? -1 : 1;
	if (x->e.seq != y->e.seq)
		return x->e.seq < y->e.seq ? -1 : 1;
	return 0;
}

void
diag_sort(struct diag *d)
{
	struct diag_sortkey *k;

	if (d->n < 2)
		return;
	k = xcalloc(d->n, sizeof(*k));
	for (size_t i = 0; i < d->n; i++) {
		k[i].e = d->v[i];
		/* rank = index of the first entry naming the same file */
		k[i].file_rank = i;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(d->v[j].file, d->v[i].file) == 0) {
				k[i].file_rank = k[j].file_rank;
				break;
			}
		}
	}
	qsort(k, d->n, sizeof(*k), diag_cmp);
	for (size_t i = 0; i < d->n; i++) {
		d->v[i] = k[i].e;
		d->v[i].seq = i;
	}
	free(k);
}

char *
diag_format(const struct diag_entry *e)
{
	const char *sev = e->severity == DIAG_ERROR ? "error" : "warning";

	if (e->line == 0)
		return xasprintf("%s: %s: %s", e->file, sev, e->msg);
	return xasprintf("%s:%u:%u: %s: %s", e->file, e->line, e->col, sev,
			 e->msg);
}

void
diag_print(const struct diag *d, FILE *f)
{
	for (size_t i = 0; i < d->n; i++) {
		char *s = diag_format(&d->v[i]);
		fprintf(f, "%s\n", s);
		free(s);
	}
	if (d->dropped)
		fprintf(f, "(%zu more diagnostics not shown)\n", d->dropped);
}

const char *
diag_quote(char buf[DIAG_QUOTE_MAX], const char *s, size_t len)
{
	/* room for the quotes, "..." and the NUL */
	const size_t keep = DIAG_QUOTE_MAX - 6;

	if (len <= keep + 3) {
		snprintf(buf, DIAG_QUOTE_MAX, "'%.*s'", (int)len, s);
		/* an embedded NUL would cut the text short: show it */
		if (memchr(s, '\0', len) != NULL)
			snprintf(buf, DIAG_QUOTE_MAX, "'%.*s\\0...'",
				 (int)strnlen(s, len), s);
	} else {
		snprintf(buf, DIAG_QUOTE_MAX, "'%.*s...'",
			 (int)strnlen(s, keep), s);
	}
	return buf;
}
