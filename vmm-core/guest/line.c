/*
 * line.c - line editing for a serial terminal.
 *
 * Erasing is done with "\b \b" per character rather than ANSI sequences:
 * it works on any terminal, including a bare `cat` of the serial port.
 */
#include "line.h"
#include "con.h"
#include "mem.h"
#include "str.h"

#include <stdbool.h>
#include <stddef.h>

#define LINE_CTRL_C 0x03
#define LINE_BS 0x08
#define LINE_CTRL_U 0x15
#define LINE_ESC 0x1b
#define LINE_DEL 0x7f

#define LINE_HISTORY 8

enum line_escape {
	LINE_ESC_NONE,
	LINE_ESC_SEEN, /* got ESC */
	LINE_ESC_CSI,  /* got ESC [ or ESC O: wait for the final byte */
};

static char line_history[LINE_HISTORY][LINE_MAX + 1];
static unsigned line_history_count; /* lines ever added */
/* The previous line ended with CR: a LF right after it is the same Enter.
 * Kept across calls because the LF arrives after we returned. */
static bool line_after_cr;

static void
line_erase(size_t n)
{
	while (n-- > 0)
		con_puts("\b \b");
}

/* Replace the visible line with `text`; returns the new length. */
static size_t
line_replace(char *buf, size_t len, const char *text)
{
	size_t n = str_len(text);

	line_erase(len);
	memcpy(buf, text, n);
	con_write(buf, n);
	return n;
}

static void
line_history_add(const char *buf, size_t len)
{
	if (len == 0)
		return;
	if (line_history_count > 0 &&
	    str_eq(line_history[(line_history_count - 1) % LINE_HISTORY], buf))
		return;
	memcpy(line_history[line_history_count % LINE_HISTORY], buf, len + 1);
	line_history_count++;
}

int
line_read(char *buf)
{
	enum line_escape esc = LINE_ESC_NONE;
	unsigned hist = line_history_count; /* == count: the line being typed */
	size_t len = 0;

	for (;;) {
		int c = con_getc();
		bool after_cr = line_after_cr;

		line_after_cr = false;
		if (c == CON_BREAK) {
			con_puts("<break>\r\n");
			return -1;
		}
		if (esc == LINE_ESC_SEEN) {
			esc = (c == '[' || c == 'O') ? LINE_ESC_CSI
						     : LINE_ESC_NONE;
			continue;
		}
		if (esc == LINE_ESC_CSI) {
			if (c >= 0x20 && c <= 0x3f)
				continue; /* parameter/intermediate bytes */
			esc = LINE_ESC_NONE;
			if (c == 'A' && hist > 0 &&
			    line_history_count - hist < LINE_HISTORY) {
				hist--;
				len = line_replace(
				    buf, len,
				    line_history[hist % LINE_HISTORY]);
			} else if (c == 'B' && hist < line_history_count) {
				hist++;
				len = line_replace(
				    buf, len,
				    hist == line_history_count
					? ""
					: line_history[hist % LINE_HISTORY]);
			}
			continue;
		}

		switch (c) {
		case '\n':
			if (after_cr)
				break;
			/* fall through */
		case '\r':
			line_after_cr = c == '\r';
			con_puts("\r\n");
			/* Show the whole line before the command runs: if it
			 * crashes the guest, the log still says what ran. */
			con_flush();
			buf[len] = '\0';
			line_history_add(buf, len);
			return (int)len;
		case LINE_DEL:
		case LINE_BS:
			if (len > 0) {
				len--;
				line_erase(1);
			}
			break;
		case LINE_CTRL_U:
			line_erase(len);
			len = 0;
			break;
		case LINE_CTRL_C:
			con_puts("^C\r\n");
			return -1;
		case LINE_ESC:
			esc = LINE_ESC_SEEN;
			break;
		default:
			if (c >= 0x20 && c < 0x7f && len < LINE_MAX) {
				buf[len++] = (char)c;
				con_putc((char)c);
			}
			break;
		}
	}
}
