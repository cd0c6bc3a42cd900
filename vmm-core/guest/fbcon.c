/*
 * fbcon.c - text console on the linear framebuffer, drawn from ring 3.
 *
 * Two grids: what the text should be (fbcon_text, a ring of lines, so
 * scrolling moves an index rather than pixels) and what each screen cell
 * shows (fbcon_shown). fbcon_sync() compares them and redraws a cell's
 * 8x16 pixels only where they differ. Output therefore costs a byte store
 * per character; pixels are written once per sync, and a scroll redraws
 * the text area once per sync however many lines went by.
 */
#include "fbcon.h"
#include "fb.h"
#include "fmt.h"
#include "font.h"
#include "mem.h"
#include "pit.h"
#include "shared.h"
#include "str.h"

#include <stddef.h>

#define FBCON_MAX_COLS (FB_MAX_WIDTH / FONT_WIDTH)
#define FBCON_MAX_ROWS (FB_MAX_HEIGHT / FONT_HEIGHT)
#define FBCON_TAB 8
/*
 * While output streams, redraw at most 10 times a second, and spend at
 * most a fifth of the time redrawing: where drawing is slow (nested KVM,
 * TCG, a 4K screen) a redraw of the whole text area after scrolling must
 * not slow the serial console down.
 */
#define FBCON_BUSY_TICKS (PIT_HZ / 10)
#define FBCON_BUSY_SHARE 5
/* fbcon_shown: a cell drawn as the text cursor; 0: unknown, redraw. */
#define FBCON_SHOWN_CURSOR 0x80
#define FBCON_BAR_TITLE " vmgate demo guest"

static struct {
	bool on;
	uint32_t *fb;
	size_t stride; /* pixels */
	unsigned cols; /* cells per row */
	unsigned rows; /* screen rows: the bar, then `lines` text lines */
	unsigned lines;
	unsigned top; /* fbcon_text line shown on screen row 1 */
	unsigned row; /* cursor: text line (0 = top of the text area) */
	unsigned col; /* cursor column; == cols: wrap before the next char */
	uint64_t synced_at;
	uint64_t busy_gap; /* ticks between redraws during output */
} fbcon;

static uint8_t fbcon_text[FBCON_MAX_ROWS * FBCON_MAX_COLS];
static uint8_t fbcon_shown[FBCON_MAX_ROWS * FBCON_MAX_COLS];
static char fbcon_bar[FBCON_MAX_COLS + 1];

bool
fbcon_active(void)
{
	return fbcon.on;
}

static void
fbcon_draw(unsigned row, unsigned col, uint8_t ch, uint32_t fg, uint32_t bg)
{
	const uint8_t *glyph = &font8x16[(size_t)ch * FONT_HEIGHT];
	uint32_t *p = fbcon.fb + (size_t)row * FONT_HEIGHT * fbcon.stride +
		      (size_t)col * FONT_WIDTH;

	for (unsigned y = 0; y < FONT_HEIGHT; y++) {
		uint8_t bits = glyph[y];

		for (unsigned x = 0; x < FONT_WIDTH; x++)
			p[x] = (bits & (0x80u >> x)) ? fg : bg;
		p += fbcon.stride;
	}
}

bool
fbcon_init(void)
{
	const struct shared_fb *fb = &shared.fb;

	if (fb->status != SHARED_FB_OK)
		return false;
	fbcon.fb = fb->base;
	fbcon.stride = fb->stride;
	fbcon.cols = fb->width / FONT_WIDTH;
	fbcon.rows = fb->height / FONT_HEIGHT;
	if (fbcon.cols == 0 || fbcon.rows < 2)
		return false; /* not even a bar and one line */
	fbcon.lines = fbcon.rows - 1;
	/* The margins right and below the cells stay background too. */
	for (size_t y = 0; y < fb->height; y++) {
		uint32_t *p = fbcon.fb + y * fbcon.stride;

		for (size_t x = 0; x < fb->width; x++)
			p[x] = FBCON_BG;
	}
	memset(fbcon_text, ' ', (size_t)fbcon.lines * fbcon.cols);
	memset(fbcon_shown, 0, (size_t)fbcon.rows * fbcon.cols);
	fbcon.on = true;
	fbcon_sync();
	return true;
}

static uint8_t *
fbcon_line(unsigned row)
{
	return &fbcon_text[(size_t)((fbcon.top + row) % fbcon.lines) *
			   fbcon.cols];
}

static void
fbcon_newline(void)
{
	if (fbcon.row + 1 < fbcon.lines) {
		fbcon.row++;
		return;
	}
	fbcon.top = (fbcon.top + 1) % fbcon.lines;
	memset(fbcon_line(fbcon.row), ' ', fbcon.cols);
}

void
fbcon_putc(char c)
{
	uint8_t ch = (uint8_t)c;

	if (!fbcon.on)
		return;
	switch (ch) {
	case '\r':
		fbcon.col = 0;
		return;
	case '\n':
		fbcon_newline();
		return;
	case '\b':
		if (fbcon.col > 0)
			fbcon.col--;
		return;
	case '\t':
		fbcon.col = (fbcon.col + FBCON_TAB) & ~(FBCON_TAB - 1u);
		if (fbcon.col > fbcon.cols)
			fbcon.col = fbcon.cols;
		return;
	}
	if (ch < 0x20 || ch > 0x7e)
		return;
	if (fbcon.col >= fbcon.cols) {
		fbcon.col = 0;
		fbcon_newline();
	}
	fbcon_line(fbcon.row)[fbcon.col++] = ch;
}

/* Title left; mouse and clock right, the clock in the last cells. */
static void
fbcon_bar_text(void)
{
	char right[64];
	uint64_t s = shared.ticks / PIT_HZ;
	size_t n = 0, title = str_len(FBCON_BAR_TITLE);

	if (shared.mouse.present) {
		uint32_t b = shared.mouse.buttons;

		n = fmt_format(right, sizeof(right), "mouse %d,%d %c%c%c  ",
			       shared.mouse.x, shared.mouse.y,
			       (b & SHARED_MOUSE_LEFT) ? 'L' : '-',
			       (b & SHARED_MOUSE_MIDDLE) ? 'M' : '-',
			       (b & SHARED_MOUSE_RIGHT) ? 'R' : '-');
	}
	n += fmt_format(right + n, sizeof(right) - n, "%02lu:%02lu:%02lu ",
			s / 3600, s / 60 % 60, s % 60);
	memset(fbcon_bar, ' ', fbcon.cols);
	memcpy(fbcon_bar, FBCON_BAR_TITLE,
	       title < fbcon.cols ? title : fbcon.cols);
	/* On a narrow screen the clock wins over the title. */
	if (n > fbcon.cols) {
		memcpy(fbcon_bar, right + (n - fbcon.cols), fbcon.cols);
		return;
	}
	memcpy(fbcon_bar + fbcon.cols - n, right, n);
}

/* The status bar, then the text area; the cursor cell is inverted. */
static void
fbcon_draw_changed(void)
{
	unsigned cur_col = fbcon.col < fbcon.cols ? fbcon.col : fbcon.cols - 1;

	fbcon_bar_text();
	for (unsigned c = 0; c < fbcon.cols; c++) {
		uint8_t ch = (uint8_t)fbcon_bar[c];

		if (fbcon_shown[c] != ch) {
			fbcon_draw(0, c, ch, FBCON_BG, FBCON_FG);
			fbcon_shown[c] = ch;
		}
	}
	for (unsigned r = 0; r < fbcon.lines; r++) {
		const uint8_t *line = fbcon_line(r);
		uint8_t *shown = &fbcon_shown[(size_t)(r + 1) * fbcon.cols];

		for (unsigned c = 0; c < fbcon.cols; c++) {
			bool cursor = r == fbcon.row && c == cur_col;
			uint8_t want =
			    line[c] | (cursor ? FBCON_SHOWN_CURSOR : 0);

			if (shown[c] == want)
				continue;
			if (cursor)
				fbcon_draw(r + 1, c, line[c], FBCON_BG,
					   FBCON_FG);
			else
				fbcon_draw(r + 1, c, line[c], FBCON_FG,
					   FBCON_BG);
			shown[c] = want;
		}
	}
}

void
fbcon_sync(void)
{
	if (!fbcon.on)
		return;
	fbcon.synced_at = shared.ticks;
	fbcon_draw_changed();
	fbcon.busy_gap = (shared.ticks - fbcon.synced_at) * FBCON_BUSY_SHARE;
	if (fbcon.busy_gap < FBCON_BUSY_TICKS)
		fbcon.busy_gap = FBCON_BUSY_TICKS;
}

void
fbcon_sync_busy(void)
{
	if (fbcon.on && shared.ticks - fbcon.synced_at >= fbcon.busy_gap)
		fbcon_sync();
}

uint64_t
fbcon_next_tick(void)
{
	return (shared.ticks / PIT_HZ + 1) * PIT_HZ;
}
