/*
 * fbcon.h - the text console on the framebuffer. Ring 3 only.
 *
 * It mirrors the serial console (con.c passes it every byte it sends) in
 * 8x16 cells under a one-line status bar, with the mouse position and an
 * uptime clock (h:mm:ss) at the top right. Writes go to a text grid;
 * fbcon_sync() draws only the cells whose contents differ from what is on
 * the screen, so an idle screen changes once a second, in the clock's
 * cells only. Without a display (shared.fb) every call does nothing.
 */
#ifndef GUEST_FBCON_H
#define GUEST_FBCON_H

#include <stdbool.h>
#include <stdint.h>

/* Text colours, XRGB: light grey on black; the bar and the text cursor
 * are the inverse. */
#define FBCON_FG 0x00aaaaaau
#define FBCON_BG 0x00000000u

/* Clear the screen and draw the status bar; false: no display. */
bool fbcon_init(void);
bool fbcon_active(void);
/* Interpret one byte like a serial terminal: printable ASCII, CR, LF
 * (with scrolling), BS (moves left), TAB; the rest is ignored. Lines
 * wrap at the right edge. */
void fbcon_putc(char c);
/* Draw what changed since the last call. */
void fbcon_sync(void);
/* fbcon_sync(), at most every FBCON_BUSY_TICKS: for long output. */
void fbcon_sync_busy(void);
/* When the clock next changes (a shared.ticks value): the shell wakes
 * then to redraw it. */
uint64_t fbcon_next_tick(void);

#endif
