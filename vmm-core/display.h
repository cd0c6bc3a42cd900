/*
 * display: a VM's linear framebuffer, and what in it changed.
 *
 * The framebuffer is a memfd of stride x height bytes (rounded up to a
 * page) in 32-bit XRGB: bytes B, G, R and one unused per pixel.  It is
 * mapped once: the VM gives the mapping to KVM as a memory slot with dirty
 * logging (vm.c, at DISPI_LFB_ADDR), and the VNC server sends from the same
 * mapping, so no pixel is copied.
 *
 * Damage: KVM's dirty log says which pages the guest wrote since the last
 * look.  A page says little (at 1024 pixels a line, one page is one whole
 * line), so display_damage() keeps a 64-bit hash of every span of
 * DISPLAY_SPAN pixels and re-hashes only the spans in dirty pages: a span
 * whose hash changed is damage.  A one-character change in an 8x16 cell
 * then reports 16 lines of one or two spans, not 16 whole lines.  The
 * hashes cost 8 bytes per 32 pixels (192 KiB at 1024x768), far less than
 * a shadow copy of the screen (3 MiB).
 *
 * Only the owner's thread calls these functions; the guest writes the
 * framebuffer concurrently, which is why damage comes from the dirty log:
 * a write after the log was read is in the next log.
 */
#ifndef VMGATE_DISPLAY_H
#define VMGATE_DISPLAY_H

#include <stddef.h>
#include <stdint.h>

#define DISPLAY_DEFAULT_W 1024
#define DISPLAY_DEFAULT_H 768
#define DISPLAY_MIN_W 64
#define DISPLAY_MIN_H 64
#define DISPLAY_MAX_W 4096
#define DISPLAY_MAX_H 2160
#define DISPLAY_SPAN 32 /* pixels per hashed span */

struct display {
	uint32_t width, height, stride; /* stride in bytes */
	size_t size;			/* mapping, a whole number of pages */
	int fd;				/* memfd, owned */
	uint8_t *fb;			/* mapping, owned */
	uint32_t spans;			/* spans per line */
	uint64_t *hash;			/* height x spans */
};

/* One rectangle of damage: columns [x1, x2), lines [y1, y2). */
typedef void (*display_rect_fn)(void *opaque, uint32_t x1, uint32_t y1,
				uint32_t x2, uint32_t y2);

/*
 * Parses "WIDTHxHEIGHT" (e.g. "1024x768") within the limits above.  Returns
 * 0, or -1 with the reason in ERR.
 */
int display_parse_size(const char *s, uint32_t *w, uint32_t *h, char *err,
		       size_t errlen);

/* A black WIDTH x HEIGHT framebuffer.  Returns 0 or -errno. */
int display_create(struct display *d, uint32_t width, uint32_t height);
void display_destroy(struct display *d);

/* Pages the framebuffer spans: the bits of a dirty log. */
size_t display_pages(const struct display *d);

/*
 * Reports, through FN, the spans that changed in the pages whose bits are
 * set in DIRTY (display_pages() bits, bit i of word i/64 for page i), lines
 * with equal column ranges merged into one rectangle.  Returns the number
 * of rectangles reported.
 */
size_t display_damage(struct display *d, const uint64_t *dirty,
		      display_rect_fn fn, void *opaque);

/* Blanks the screen (a guest reset); the caller treats all of it as
 * damaged. */
void display_clear(struct display *d);

#endif
