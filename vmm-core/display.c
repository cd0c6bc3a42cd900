#include "display.h"

#include "errmsg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096u

int
display_parse_size(const char *s, uint32_t *w, uint32_t *h, char *err,
		   size_t errlen)
{
	char *end;
	unsigned long x, y;

	/* strtoul alone would take " 768" and "-1". */
	errno = 0;
	if (*s < '0' || *s > '9')
		goto bad;
	x = strtoul(s, &end, 10);
	if (end == s || (*end != 'x' && *end != 'X') || errno != 0)
		goto bad;
	s = end + 1;
	if (*s < '0' || *s > '9')
		goto bad;
	y = strtoul(s, &end, 10);
	if (end == s || *end != '\0' || errno != 0)
		goto bad;
	if (x < DISPLAY_MIN_W || x > DISPLAY_MAX_W || y < DISPLAY_MIN_H ||
	    y > DISPLAY_MAX_H)
		return errmsg(err, errlen,
			      "%lux%lu: width must be %d to %d and height %d "
			      "to %d",
			      x, y, DISPLAY_MIN_W, DISPLAY_MAX_W, DISPLAY_MIN_H,
			      DISPLAY_MAX_H);
	*w = (uint32_t)x;
	*h = (uint32_t)y;
	return 0;
bad:
	return errmsg(err, errlen, "expected WIDTHxHEIGHT, e.g. 1024x768");
}

/* FNV-1a over 64-bit words: fast, and a changed span that keeps its hash
 * (a lost update) needs a 64-bit collision. */
static uint64_t
span_hash(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	if (len % 8 != 0) {
		uint64_t w = 0;
		memcpy(&w, p + len - len % 8, len % 8);
		h = (h ^ w) * 0x100000001b3ULL;
	}
	return h;
}

static size_t
span_bytes(const struct display *d, uint32_t s)
{
	uint32_t x = s * DISPLAY_SPAN;
	uint32_t n = d->width - x < DISPLAY_SPAN ? d->width - x : DISPLAY_SPAN;

	return (size_t)n * 4;
}

static void
hash_all(struct display *d)
{
	for (uint32_t y = 0; y < d->height; y++)
		for (uint32_t s = 0; s < d->spans; s++)
			d->hash[(size_t)y * d->spans + s] =
			    span_hash(d->fb + (size_t)y * d->stride +
					  (size_t)s * DISPLAY_SPAN * 4,
				      span_bytes(d, s));
}

int
display_create(struct display *d, uint32_t width, uint32_t height)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (width < DISPLAY_MIN_W || width > DISPLAY_MAX_W ||
	    height < DISPLAY_MIN_H || height > DISPLAY_MAX_H)
		return -EINVAL;
	d->width = width;
	d->height = height;
	d->stride = width * 4;
	d->size = ((size_t)d->stride * height + PAGE - 1) / PAGE * PAGE;
	d->spans = (width + DISPLAY_SPAN - 1) / DISPLAY_SPAN;
	d->hash = calloc((size_t)height * d->spans, sizeof(*d->hash));
	if (d->hash == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if ((d->fd = memfd_create("vmgate-framebuffer", MFD_CLOEXEC)) < 0 ||
	    ftruncate(d->fd, (off_t)d->size) != 0) {
		r = -errno;
		goto out;
	}
	d->fb =
	    mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	if (d->fb == MAP_FAILED) {
		d->fb = NULL;
		r = -errno;
		goto out;
	}
	hash_all(d);
	r = 0;
out:
	if (r != 0)
		display_destroy(d);
	return r;
}

void
display_destroy(struct display *d)
{
	if (d->fb != NULL)
		munmap(d->fb, d->size);
	if (d->fd >= 0)
		close(d->fd);
	free(d->hash);
	d->fb = NULL;
	d->hash = NULL;
	d->fd = -1;
}

size_t
display_pages(const struct display *d)
{
	return d->size / PAGE;
}

void
display_clear(struct display *d)
{
	memset(d->fb, 0, d->size);
	hash_all(d);
}

/* Damage being gathered: the pending rectangle grows down while lines
 * change over the same columns. */
struct gather {
	display_rect_fn fn;
	void *opaque;
	size_t n;
	int open;
	uint32_t x1, x2, y1, y2;
};

static void
gather_flush(struct gather *g)
{
	if (g->open)
		g->fn(g->opaque, g->x1, g->y1, g->x2, g->y2), g->n++;
	g->open = 0;
}

static void
gather_line(struct gather *g, uint32_t y, uint32_t x1, uint32_t x2)
{
	if (g->open && g->y2 == y && g->x1 == x1 && g->x2 == x2) {
		g->y2 = y + 1;
		return;
	}
	gather_flush(g);
	*g = (struct gather){g->fn, g->opaque, g->n, 1, x1, x2, y, y + 1};
}

static int
page_dirty(const uint64_t *dirty, size_t page)
{
	return (dirty[page / 64] >> (page % 64)) & 1;
}

size_t
display_damage(struct display *d, const uint64_t *dirty, display_rect_fn fn,
	       void *opaque)
{
	struct gather g = {.fn = fn, .opaque = opaque};
	size_t npages = display_pages(d);

	for (uint32_t y = 0; y < d->height; y++) {
		size_t line = (size_t)y * d->stride;
		size_t first = line / PAGE,
		       last = (line + d->width * 4 - 1) / PAGE;
		uint32_t x1 = UINT32_MAX, x2 = 0;

		for (size_t p = first; p <= last && p < npages; p++) {
			if (!page_dirty(dirty, p))
				continue;
			/* The spans of this line that lie (partly) in page p.
			 */
			size_t lo = p * PAGE > line ? p * PAGE - line : 0;
			size_t hi = (p + 1) * PAGE - line;
			if (hi > (size_t)d->width * 4)
				hi = (size_t)d->width * 4;
			uint32_t s1 = (uint32_t)(lo / (DISPLAY_SPAN * 4));
			uint32_t s2 = (uint32_t)((hi - 1) / (DISPLAY_SPAN * 4));
			for (uint32_t s = s1; s <= s2; s++) {
				uint64_t *slot =
				    &d->hash[(size_t)y * d->spans + s];
				uint64_t h = span_hash(
				    d->fb + line + (size_t)s * DISPLAY_SPAN * 4,
				    span_bytes(d, s));
				if (h == *slot)
					continue;
				*slot = h;
				uint32_t sx = s * DISPLAY_SPAN;
				uint32_t ex =
				    sx + (uint32_t)span_bytes(d, s) / 4;
				if (sx < x1)
					x1 = sx;
				if (ex > x2)
					x2 = ex;
			}
		}
		if (x1 < x2)
			gather_line(&g, y, x1, x2);
		else
			gather_flush(&g);
	}
	gather_flush(&g);
	return g.n;
}
