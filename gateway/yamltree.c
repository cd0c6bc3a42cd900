#include "yamltree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "xmalloc.h"

static void
yamltree_node_free(struct yamltree_node *n)
{
	if (n == NULL)
		return;
	/* depth is capped at YAMLTREE_MAX_DEPTH, so recursion is bounded */
	for (size_t i = 0; i < n->nkids; i++)
		yamltree_node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

void
yamltree_free(struct yamltree *t)
{
	if (t == NULL)
		return;
	yamltree_node_free(t->root);
	free(t->file);
	free(t);
}

static void
yamltree_verror(struct yamltree *t, enum diag_severity sev, unsigned line,
		unsigned col, const char *fmt, va_list ap)
{
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (sev == DIAG_ERROR)
		diag_error(t->d, t->file, line, col, "%s",
			   msg ? msg : "out of memory");
	else
		diag_warning(t->d, t->file, line, col, "%s",
			     msg ? msg : "out of memory");
	free(msg);
}

void
yamltree_error(struct yamltree *t, const struct yamltree_node *n,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yamltree_verror(t, DIAG_ERROR, n ? n->line : 0, n ? n->col : 0, fmt,
			ap);
	va_end(ap);
}

void
yamltree_error_at(struct yamltree *t, unsigned line, unsigned col,
		  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yamltree_verror(t, DIAG_ERROR, line, col, fmt, ap);
	va_end(ap);
}

void
yamltree_warning(struct yamltree *t, const struct yamltree_node *n,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	yamltree_verror(t, DIAG_WARNING, n ? n->line : 0, n ? n->col : 0, fmt,
			ap);
	va_end(ap);
}

size_t
yamltree_npairs(const struct yamltree_node *map)
{
	return map->type == YAMLTREE_MAPPING ? map->nkids / 2 : 0;
}

struct yamltree_node *
yamltree_key(const struct yamltree_node *map, size_t i)
{
	return map->kids[2 * i];
}

struct yamltree_node *
yamltree_value(const struct yamltree_node *map, size_t i)
{
	return map->kids[2 * i + 1];
}

bool
yamltree_is_null(const struct yamltree_node *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	if (n->type != YAMLTREE_SCALAR || !n->plain)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(n->str, nulls[i]) == 0 && n->len == strlen(nulls[i]))
			return true;
	return false;
}

const char *
yamltree_describe(const struct yamltree_node *n)
{
	switch (n->type) {
	case YAMLTREE_SCALAR:
		return yamltree_is_null(n) ? "nothing (null)" : "a string";
	case YAMLTREE_SEQUENCE:
		return "a list";
	case YAMLTREE_MAPPING:
		return "a mapping";
	case YAMLTREE_INVALID:
		break;
	}
	return "an invalid node";
}

static size_t
utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

void
yamltree_scalar_pos(const struct yamltree_node *n, size_t offset,
		    unsigned *line, unsigned *col)
{
	size_t raw, chars;

	*line = n->line;
	*col = n->col;
	if (n->type != YAMLTREE_SCALAR || n->end_line != n->line ||
	    n->end_col < n->col || offset > n->len)
		return;
	raw = n->end_col - n->col;
	chars = utf8_chars(n->str, n->len);
	if (n->plain && raw == chars)
		*col = n->col + (unsigned)utf8_chars(n->str, offset);
	else if (!n->plain && raw == chars + 2)
		*col = n->col + 1 + (unsigned)utf8_chars(n->str, offset);
}

/* Line and column of a byte offset, for reader errors which have no mark. */
static void
offset_pos(const unsigned char *buf, size_t len, size_t off, unsigned *line,
	   unsigned *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off && i < len; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if ((buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

static void
report_parser_error(struct yamltree *t, const yaml_parser_t *p,
		    const unsigned char *buf, size_t len)
{
	unsigned line, col;
	const char *problem = p->problem ? p->problem : "malformed YAML";

	switch (p->error) {
	case YAML_READER_ERROR:
		offset_pos(buf, len, p->problem_offset, &line, &col);
		yamltree_error_at(t, line, col, "invalid text: %s", problem);
		break;
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
		line = (unsigned)p->problem_mark.line + 1;
		col = (unsigned)p->problem_mark.column + 1;
		if (p->context != NULL)
			yamltree_error_at(t, line, col,
					  "syntax error: %s (%s started at "
					  "%u:%u)",
					  problem, p->context,
					  (unsigned)p->context_mark.line + 1,
					  (unsigned)p->context_mark.column + 1);
		else
			yamltree_error_at(t, line, col, "syntax error: %s",
					  problem);
		break;
	default:
		yamltree_error_at(t, 0, 0, "cannot parse YAML: %s", problem);
		break;
	}
}

static struct yamltree_node *
node_new(enum yamltree_type type, const yaml_event_t *ev)
{
	struct yamltree_node *n = xcalloc(1, sizeof(*n));

	n->type = type;
	n->line = (unsigned)ev->start_mark.line + 1;
	n->col = (unsigned)ev->start_mark.column + 1;
	n->end_line = (unsigned)ev->end_mark.line + 1;
	n->end_col = (unsigned)ev->end_mark.column + 1;
	return n;
}

static void
node_append(struct yamltree_node *parent, struct yamltree_node *kid)
{
	if (parent->nkids == parent->cap) {
		parent->cap = parent->cap ? parent->cap * 2 : 4;
		parent->kids = xreallocarray(parent->kids, parent->cap,
					     sizeof(*parent->kids));
	}
	parent->kids[parent->nkids++] = kid;
}

static int
pair_cmp(const void *a, const void *b)
{
	const struct yamltree_node *const *x = a, *const *y = b;
	size_t n = (*x)->len < (*y)->len ? (*x)->len : (*y)->len;
	int c = memcmp((*x)->str, (*y)->str, n);

	if (c != 0)
		return c;
	if ((*x)->len != (*y)->len)
		return (*x)->len < (*y)->len ? -1 : 1;
	/* same key: the one written first sorts first */
	if ((*x)->line != (*y)->line)
		return (*x)->line < (*y)->line ? -1 : 1;
	return (*x)->col < (*y)->col ? -1 : (*x)->col > (*y)->col;
}

/*
 * Drops the pairs of a finished mapping whose key is not a usable string or
 * repeats an earlier key, after reporting them.
 */
static void
mapping_finish(struct yamltree *t, struct yamltree_node *map)
{
	size_t npairs = map->nkids / 2, nkeys = 0, out = 0;
	struct yamltree_node **keys = NULL;
	char q[DIAG_QUOTE_MAX];

	if (npairs == 0)
		return;
	keys = xcalloc(npairs, sizeof(*keys));
	for (size_t i = 0; i < npairs; i++) {
		struct yamltree_node *k = map->kids[2 * i];
		if (k->type == YAMLTREE_INVALID)
			continue; /* already reported */
		if (k->type != YAMLTREE_SCALAR) {
			yamltree_error(t, k, "a key must be a string, not %s",
				       yamltree_describe(k));
			k->type = YAMLTREE_INVALID;
			continue;
		}
		if (memchr(k->str, '\0', k->len) != NULL) {
			yamltree_error(t, k, "key contains a NUL byte");
			k->type = YAMLTREE_INVALID;
			continue;
		}
		keys[nkeys++] = k;
	}
	qsort(keys, nkeys, sizeof(*keys), pair_cmp);
	for (size_t i = 1, first = 0; i < nkeys; i++) {
		/* equal keys are adjacent, the one written first leads */
		if (keys[i]->len != keys[first]->len ||
		    memcmp(keys[i]->str, keys[first]->str, keys[i]->len) != 0) {
			first = i;
			continue;
		}
		yamltree_error(t, keys[i],
			       "duplicate key %s (first at line %u)",
			       diag_quote(q, keys[i]->str, keys[i]->len),
			       keys[first]->line);
		keys[i]->type = YAMLTREE_INVALID;
	}
	free(keys);
	/* compact: keep the pairs whose key survived, in file order */
	for (size_t i = 0; i < npairs; i++) {
		struct yamltree_node *k = map->kids[2 * i];
		struct yamltree_node *v = map->kids[2 * i + 1];
		if (k->type == YAMLTREE_INVALID) {
			yamltree_node_free(k);
			yamltree_node_free(v);
			continue;
		}
		map->kids[out++] = k;
		map->kids[out++] = v;
	}
	map->nkids = out;
}

static const char *
event_tag(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return (const char *)ev->data.scalar.tag;
	case YAML_SEQUENCE_START_EVENT:
		return (const char *)ev->data.sequence_start.tag;
	case YAML_MAPPING_START_EVENT:
		return (const char *)ev->data.mapping_start.tag;
	default:
		return NULL;
	}
}

int
yamltree_parse(const char *file, const void *buf, size_t len, struct diag *d,
	       struct yamltree **tp)
{
	struct yamltree *t = xcalloc(1, sizeof(*t));
	struct yamltree_node *stack[YAMLTREE_MAX_DEPTH];
	struct yamltree_node *n;
	size_t depth = 0, ndocs = 0;
	yaml_parser_t parser;
	yaml_event_t ev;
	bool parser_ok = false, have_event = false, done = false;
	const char *tag;
	int r = -1;

	*tp = NULL;
	t->file = xstrdup(file);
	t->d = d;
	if (!yaml_parser_initialize(&parser)) {
		yamltree_error_at(t, 0, 0, "cannot initialise the YAML parser");
		goto out;
	}
	parser_ok = true;
	yaml_parser_set_input_string(&parser, buf, len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			report_parser_error(t, &parser, buf, len);
			goto out;
		}
		have_event = true;
		n = NULL;
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				yamltree_error_at(
				    t, (unsigned)ev.start_mark.line + 1,
				    (unsigned)ev.start_mark.column + 1,
				    "only one YAML document is allowed");
				goto out;
			}
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_ALIAS_EVENT:
			n = node_new(YAMLTREE_INVALID, &ev);
			yamltree_error(t, n, "aliases are not supported");
			break;
		case YAML_SCALAR_EVENT:
			n = node_new(YAMLTREE_SCALAR, &ev);
			n->plain =
			    ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
			n->str = xmalloc(ev.data.scalar.length + 1);
			memcpy(n->str, ev.data.scalar.value,
			       ev.data.scalar.length);
			n->str[ev.data.scalar.length] = '\0';
			n->len = ev.data.scalar.length;
			break;
		case YAML_SEQUENCE_START_EVENT:
			n = node_new(YAMLTREE_SEQUENCE, &ev);
			break;
		case YAML_MAPPING_START_EVENT:
			n = node_new(YAMLTREE_MAPPING, &ev);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth == 0) /* libyaml guarantees balance */
				goto out;
			depth--;
			if (ev.type == YAML_MAPPING_END_EVENT &&
			    stack[depth]->type == YAMLTREE_MAPPING)
				mapping_finish(t, stack[depth]);
			break;
		default:
			break;
		}
		if (n != NULL) {
			tag = event_tag(&ev);
			if (tag != NULL) {
				yamltree_error(t, n, "tags are not supported");
				n->type = YAMLTREE_INVALID;
			}
			if (depth > 0)
				node_append(stack[depth - 1], n);
			else if (t->root == NULL)
				t->root = n;
			else /* cannot happen with one document */
				yamltree_node_free(n);
			if (ev.type == YAML_SEQUENCE_START_EVENT ||
			    ev.type == YAML_MAPPING_START_EVENT) {
				if (depth == YAMLTREE_MAX_DEPTH) {
					yamltree_error(t, n,
						       "nesting deeper than %d "
						       "levels",
						       YAMLTREE_MAX_DEPTH);
					goto out;
				}
				/* an invalid (tagged) collection still
				 * collects its children, then is skipped */
				stack[depth++] = n;
			}
		}
		yaml_event_delete(&ev);
		have_event = false;
	}
	*tp = t;
	t = NULL; /* transferred */
	r = 0;
out:
	if (have_event)
		yaml_event_delete(&ev);
	if (parser_ok)
		yaml_parser_delete(&parser);
	yamltree_free(t);
	return r;
}

bool
yamltree_want_string(struct yamltree *t, const struct yamltree_node *n,
		     const char *what, size_t max)
{
	if (n->type == YAMLTREE_INVALID)
		return false;
	if (n->type != YAMLTREE_SCALAR || yamltree_is_null(n)) {
		yamltree_error(t, n, "%s must be a string, not %s", what,
			       yamltree_describe(n));
		return false;
	}
	if (memchr(n->str, '\0', n->len) != NULL) {
		yamltree_error(t, n, "%s contains a NUL byte", what);
		return false;
	}
	if (n->len > max) {
		yamltree_error(t, n, "%s is longer than %zu bytes", what, max);
		return false;
	}
	return true;
}

bool
yamltree_want_bool(struct yamltree *t, const struct yamltree_node *n,
		   const char *what, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};

	if (n->type == YAMLTREE_INVALID)
		return false;
	for (size_t i = 0; n->type == YAMLTREE_SCALAR && n->plain && i < 3;
	     i++) {
		if (strcmp(n->str, yes[i]) == 0 && n->len == strlen(yes[i])) {
			*out = true;
			return true;
		}
		if (strcmp(n->str, no[i]) == 0 && n->len == strlen(no[i])) {
			*out = false;
			return true;
		}
	}
	yamltree_error(t, n, "%s must be true or false", what);
	return false;
}

bool
yamltree_want_uint(struct yamltree *t, const struct yamltree_node *n,
		   const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	bool ok = n->type == YAMLTREE_SCALAR && n->plain && n->len > 0 &&
		  n->len <= 19 && (n->str[0] != '0' || n->len == 1);

	if (n->type == YAMLTREE_INVALID)
		return false;
	for (size_t i = 0; ok && i < n->len; i++) {
		if (n->str[i] < '0' || n->str[i] > '9')
			ok = false;
		else
			v = v * 10 + (uint64_t)(n->str[i] - '0');
	}
	if (!ok || v < min || v > max) {
		yamltree_error(t, n, "%s must be a number from %llu to %llu",
			       what, (unsigned long long)min,
			       (unsigned long long)max);
		return false;
	}
	*out = v;
	return true;
}

bool
yamltree_want(struct yamltree *t, const struct yamltree_node *n,
	      enum yamltree_type type, const char *what, const char *shape)
{
	if (n->type == type || yamltree_is_null(n))
		return true;
	if (n->type != YAMLTREE_INVALID)
		yamltree_error(t, n, "%s must be %s, not %s", what, shape,
			       yamltree_describe(n));
	return false;
}

static void
yamltree_uint_field(struct yamltree *t, const struct yamltree_uint *u,
		    void *obj, const struct yamltree_node *n)
{
	uint64_t v;

	if (yamltree_want_uint(t, n, u->what, u->min, u->max, &v))
		*(unsigned *)((char *)obj + u->off) = (unsigned)v;
}

void
yamltree_fields(struct yamltree *t, const struct yamltree_node *map,
		const struct yamltree_field *fields, size_t nfields, void *ctx,
		void *obj)
{
	char q[DIAG_QUOTE_MAX];

	for (size_t i = 0; i < yamltree_npairs(map); i++) {
		struct yamltree_node *k = yamltree_key(map, i);
		size_t f;
		for (f = 0; f < nfields; f++)
			if (strcmp(k->str, fields[f].key) == 0)
				break;
		if (f < nfields && fields[f].fn != NULL) {
			fields[f].fn(ctx, obj, k, yamltree_value(map, i));
			continue;
		}
		if (f < nfields) {
			yamltree_uint_field(t, fields[f].uint, obj,
					    yamltree_value(map, i));
			continue;
		}
		char *known = xstrdup("");
		for (f = 0; f < nfields; f++) {
			char *s = xasprintf("%s%s%s", known, f ? ", " : "",
					    fields[f].key);
			free(known);
			known = s;
		}
		yamltree_error(t, k, "unknown key %s (expected %s%s)",
			       diag_quote(q, k->str, k->len),
			       nfields > 1 ? "one of: " : "", known);
		free(known);
	}
}

int
yamltree_read_file(const char *path, size_t max, char **bufp, size_t *lenp,
		   struct diag *d)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r = -1;

	*bufp = NULL;
	*lenp = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		diag_error(d, path, 0, 0, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		diag_error(d, path, 0, 0, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		diag_error(d, path, 0, 0, "not a regular file");
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		diag_error(d, path, 0, 0, "file is larger than %zu bytes", max);
		goto out;
	}
	/* the size may change under us: read at most max + 1 and check */
	buf = xmalloc(max + 2);
	while (len <= max) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			diag_error(d, path, 0, 0, "cannot read: %s",
				   strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		diag_error(d, path, 0, 0, "file is larger than %zu bytes", max);
		goto out;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL; /* transferred */
	r = 0;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
}
