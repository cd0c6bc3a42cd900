/*
 * con.h - the shell's console: buffered output to COM1, input from the
 * receive ring. Ring 3 only.
 */
#ifndef GUEST_CON_H
#define GUEST_CON_H

#include <stdbool.h>
#include <stddef.h>

#define CON_BREAK 0x100 /* con_getc(): a break was received */

void con_putc(char c);
void con_write(const char *s, size_t n);
void con_puts(const char *s);
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Send everything buffered; con_getc() does this before it sleeps. */
void con_flush(void);
/* Next input byte, or CON_BREAK; sleeps in ring 0 while there is none. */
int con_getc(void);
/*
 * For long-running commands: true if a Ctrl-C or break is waiting. Input
 * up to and including it is consumed; other typed-ahead input is kept.
 */
bool con_interrupted(void);

#endif
