/* Unit tests for the framebuffer's damage tracking and the DISPI registers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "bus.h"
#include "dispi.h"
#include "display.h"
#include "shot.h"

#include <fcntl.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct rect {
	uint32_t x1, y1, x2, y2;
};
static struct rect rects[4096];
static size_t nrects;

static void
on_rect(void *o, uint32_t x1, uint32_t y1, uint32_t x2, uint32_t y2)
{
	(void)o;
	if (nrects < 4096)
		rects[nrects] = (struct rect){x1, y1, x2, y2};
	nrects++;
}

static uint64_t dirty[2048];

static void
mark_all(const struct display *d)
{
	memset(dirty, 0, sizeof(dirty));
	for (size_t p = 0; p < display_pages(d); p++)
		dirty[p / 64] |= 1ULL << (p % 64);
}

/* Dirty bits for the pages under the pixels [x1,x2) x [y1,y2), as KVM would
 * set them for a guest that wrote exactly there. */
static void
mark_rect(const struct display *d, uint32_t x1, uint32_t y1, uint32_t x2,
	  uint32_t y2)
{
	memset(dirty, 0, sizeof(dirty));
	for (uint32_t y = y1; y < y2; y++)
		for (uint32_t x = x1; x < x2; x++) {
			size_t p = ((size_t)y * d->stride + x * 4) / 4096;
			dirty[p / 64] |= 1ULL << (p % 64);
		}
}

static void
put_pixel(struct display *d, uint32_t x, uint32_t y, uint32_t xrgb)
{
	memcpy(d->fb + (size_t)y * d->stride + x * 4, &xrgb, 4);
}

static void
parse_sizes(void **state)
{
	uint32_t w = 0, h = 0;
	char err[160];
	(void)state;
	assert_int_equal(
	    display_parse_size("1024x768", &w, &h, err, sizeof(err)), 0);
	assert_int_equal(w, 1024);
	assert_int_equal(h, 768);
	assert_int_equal(
	    display_parse_size("4096X2160", &w, &h, err, sizeof(err)), 0);
	const char *bad[] = {"",       "1024",	    "1024x",
			     "x768",   "1024x768x", "1024*768",
			     "-1x768", "1024x 768", "99999999999999999999x1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    display_parse_size(bad[i], &w, &h, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "WIDTHxHEIGHT"));
	}
	assert_int_equal(
	    display_parse_size("4097x768", &w, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "width must be"));
	assert_int_equal(
	    display_parse_size("1024x63", &w, &h, err, sizeof(err)), -1);
}

/* Nothing changed: dirty pages (a guest rewrote the same pixels) report no
 * damage at all. */
static void
rewrite_is_no_damage(void **state)
{
	struct display d;
	(void)state;
	assert_int_equal(display_create(&d, 1024, 768), 0);
	assert_int_equal(d.size, 1024 * 768 * 4);
	mark_all(&d);
	nrects = 0;
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 0);
	display_destroy(&d);
}

/* One 8x16 character cell: 16 lines of one span, one rectangle, although
 * the dirty pages cover 16 whole lines. */
static void
one_cell_is_one_small_rect(void **state)
{
	struct display d;
	(void)state;
	assert_int_equal(display_create(&d, 1024, 768), 0);
	for (uint32_t y = 100; y < 116; y++)
		for (uint32_t x = 200; x < 208; x++)
			put_pixel(&d, x, y, 0xffffff);
	mark_rect(&d, 200, 100, 208, 116);
	nrects = 0;
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 1);
	assert_int_equal(rects[0].x1, 192);
	assert_int_equal(rects[0].x2, 224);
	assert_int_equal(rects[0].y1, 100);
	assert_int_equal(rects[0].y2, 116);
	/* asked again with the same log: already seen */
	nrects = 0;
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 0);
	display_destroy(&d);
}

/* A change whose page is not in the log is not reported (the log is the
 * source of truth), and is found once its page is. */
static void
only_dirty_pages_are_looked_at(void **state)
{
	struct display d;
	(void)state;
	assert_int_equal(display_create(&d, 1024, 768), 0);
	put_pixel(&d, 5, 700, 0x123456);
	mark_rect(&d, 0, 0, 1, 1);
	nrects = 0;
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 0);
	mark_rect(&d, 5, 700, 6, 701);
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 1);
	assert_int_equal(rects[0].x1, 0);
	assert_int_equal(rects[0].x2, 32);
	assert_int_equal(rects[0].y1, 700);
	assert_int_equal(rects[0].y2, 701);
	display_destroy(&d);
}

/* An odd width: lines straddle pages, the last span is short, and two
 * separate changes on different lines are two rectangles. */
static void
odd_width(void **state)
{
	struct display d;
	(void)state;
	assert_int_equal(display_create(&d, 1000, 600), 0);
	assert_int_equal(d.spans, 32);
	assert_int_equal(d.size % 4096, 0);
	put_pixel(&d, 999, 3, 1); /* last pixel of line 3: short span */
	put_pixel(&d, 0, 599, 2); /* first pixel of the last line */
	mark_all(&d);
	nrects = 0;
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 2);
	assert_int_equal(rects[0].x1, 992);
	assert_int_equal(rects[0].x2, 1000);
	assert_int_equal(rects[0].y1, 3);
	assert_int_equal(rects[0].y2, 4);
	assert_int_equal(rects[1].x1, 0);
	assert_int_equal(rects[1].x2, 32);
	assert_int_equal(rects[1].y1, 599);
	/* a full-screen change is one rectangle */
	memset(d.fb, 0x55, (size_t)d.stride * d.height);
	nrects = 0;
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 1);
	assert_int_equal(rects[0].x2, 1000);
	assert_int_equal(rects[0].y2, 600);
	/* cleared: black again, and nothing left to report */
	display_clear(&d);
	assert_int_equal(d.fb[4], 0);
	assert_int_equal(display_damage(&d, dirty, on_rect, NULL), 1 - 1);
	display_destroy(&d);
}

static uint16_t
inw(struct bus *b, uint64_t port)
{
	uint8_t v[2];
	bus_access(b, BUS_PIO, port, v, 2, false);
	return (uint16_t)(v[0] | v[1] << 8);
}

static void
outw(struct bus *b, uint64_t port, uint16_t val)
{
	uint8_t v[2] = {(uint8_t)val, (uint8_t)(val >> 8)};
	bus_access(b, BUS_PIO, port, v, 2, true);
}

static void
dispi_registers(void **state)
{
	struct bus b;
	struct dispi d;
	(void)state;
	bus_init(&b, NULL, NULL);
	/* nothing registered: what a guest reads as "no display" */
	outw(&b, DISPI_INDEX_PORT, DISPI_REG_ID);
	assert_int_equal(inw(&b, DISPI_DATA_PORT), 0xffff);
	dispi_init(&d, 1280, 720, 1280);
	assert_int_equal(bus_register(&b, BUS_PIO, DISPI_INDEX_PORT, 2, &d.dev),
			 0);
	const uint16_t want[][2] = {
	    {DISPI_REG_ID, DISPI_ID},
	    {DISPI_REG_XRES, 1280},
	    {DISPI_REG_YRES, 720},
	    {DISPI_REG_BPP, 32},
	    {DISPI_REG_ENABLE, 0x41},
	    {DISPI_REG_VIRT_WIDTH, 1280},
	    {DISPI_REG_VIRT_HEIGHT, 720},
	    {5, 0},
	    {0xffff, 0},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		outw(&b, DISPI_INDEX_PORT, want[i][0]);
		assert_int_equal(inw(&b, DISPI_INDEX_PORT), want[i][0]);
		assert_int_equal(inw(&b, DISPI_DATA_PORT), want[i][1]);
	}
	/* the mode is fixed: a write to XRES changes nothing */
	outw(&b, DISPI_INDEX_PORT, DISPI_REG_XRES);
	outw(&b, DISPI_DATA_PORT, 640);
	assert_int_equal(inw(&b, DISPI_DATA_PORT), 1280);
	/* a byte read gets the low half; a 4-byte read zeros past two */
	uint8_t v4[4] = {9, 9, 9, 9};
	bus_access(&b, BUS_PIO, DISPI_DATA_PORT, v4, 1, false);
	assert_int_equal(v4[0], 1280 & 0xff);
	bus_access(&b, BUS_PIO, DISPI_INDEX_PORT, v4, 4, false);
	assert_int_equal(v4[0] | v4[1] << 8, DISPI_REG_XRES);
	assert_int_equal(v4[2] | v4[3], 0);
	/* 0x1d0 is not the DISPI's */
	assert_false(bus_access(&b, BUS_PIO, 0x1d0, v4, 1, false));
	bus_destroy(&b);
}

/* The screenshot decodes (libpng's reader) to the framebuffer's pixels,
 * R, G and B in that order, whatever the XRGB memory order. */
static void
screenshot_round_trip(void **state)
{
	struct display d;
	char err[200], path[] = "/tmp/vmgate-shot-XXXXXX";
	(void)state;
	assert_int_equal(display_create(&d, 100, 70), 0);
	put_pixel(&d, 0, 0, 0x00112233);   /* R 0x11, G 0x22, B 0x33 */
	put_pixel(&d, 99, 69, 0xffff0000); /* pure red; X byte ignored */
	put_pixel(&d, 50, 10, 0x000000ff); /* pure blue */
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(shot_write_fd(&d, fd, err, sizeof(err)), 0);
	close(fd);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	png_image img;
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	assert_true(png_image_begin_read_from_stdio(&img, f));
	assert_int_equal(img.width, 100);
	assert_int_equal(img.height, 70);
	img.format = PNG_FORMAT_RGB;
	uint8_t *px = malloc(PNG_IMAGE_SIZE(img));
	assert_true(png_image_finish_read(&img, NULL, px, 0, NULL));
	const uint8_t *p0 = px, *p1 = px + (69 * 100 + 99) * 3,
		      *p2 = px + (10 * 100 + 50) * 3;
	assert_int_equal(p0[0], 0x11);
	assert_int_equal(p0[1], 0x22);
	assert_int_equal(p0[2], 0x33);
	assert_int_equal(p1[0], 0xff);
	assert_int_equal(p1[1] | p1[2], 0);
	assert_int_equal(p2[2], 0xff);
	assert_int_equal(p2[0] | p2[1], 0);
	assert_int_equal(px[3 * 1] | px[3 * 1 + 1] | px[3 * 1 + 2], 0);
	free(px);
	fclose(f);
	/* an fd that cannot be written: the reason, not a crash */
	fd = open(path, O_RDONLY);
	assert_int_equal(shot_write_fd(&d, fd, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Bad file descriptor"));
	close(fd);
	unlink(path);
	display_destroy(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_sizes),
	    cmocka_unit_test(rewrite_is_no_damage),
	    cmocka_unit_test(one_cell_is_one_small_rect),
	    cmocka_unit_test(only_dirty_pages_are_looked_at),
	    cmocka_unit_test(odd_width),
	    cmocka_unit_test(dispi_registers),
	    cmocka_unit_test(screenshot_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
