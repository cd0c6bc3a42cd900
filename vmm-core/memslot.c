#include "memslot.h"

#include "errmsg.h"

int
memslot_add(struct memslot_table *t, const char *name, uint64_t gpa,
	    uint64_t size, void *host, uint32_t flags, char *err, size_t errlen)
{
	if (size == 0 || gpa + size < gpa)
		return errmsg(err, errlen, "%s: empty or wrapping range", name);
	if ((gpa | size | (uintptr_t)host) & (MEMSLOT_PAGE - 1))
		return errmsg(
		    err, errlen, "%s: 0x%llx+0x%llx is not page-aligned", name,
		    (unsigned long long)gpa, (unsigned long long)size);
	if (flags & ~(MEMSLOT_DIRTY_LOG | MEMSLOT_READONLY))
		return errmsg(err, errlen, "%s: unknown flags 0x%x", name,
			      flags);
	for (int i = 0; i < t->n; i++) {
		const struct memslot *o = &t->s[i];
		if (gpa < o->gpa + o->size && o->gpa < gpa + size)
			return errmsg(err, errlen,
				      "%s at 0x%llx+0x%llx overlaps %s", name,
				      (unsigned long long)gpa,
				      (unsigned long long)size, o->name);
	}
	if (t->n == MEMSLOT_MAX)
		return errmsg(err, errlen, "%s: more than %d memory slots",
			      name, MEMSLOT_MAX);
	t->s[t->n] = (struct memslot){name, gpa, size, host, flags};
	return t->n++;
}

const struct memslot *
memslot_find(const struct memslot_table *t, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < t->n; i++) {
		const struct memslot *s = &t->s[i];
		if (gpa >= s->gpa && gpa - s->gpa < s->size &&
		    len <= s->size - (gpa - s->gpa))
			return s;
	}
	return NULL;
}
