/*
 * line.h - the shell's line editor.
 */
#ifndef GUEST_LINE_H
#define GUEST_LINE_H

#define LINE_MAX 255 /* characters per line, not counting the NUL */

/*
 * Reads one line into buf (LINE_MAX + 1 bytes, NUL-terminated), echoing
 * as it goes. Returns the length, or -1 when the line was cancelled by
 * Ctrl-C or a break (the "^C" or "<break>" and the newline are already
 * echoed).
 *
 * Keys: printable ASCII inserts; Backspace (0x7f, 0x08) erases; Ctrl-U
 * kills the line; Ctrl-C cancels; Enter is CR, LF or CR LF; Up/Down walk
 * the history. Other control characters and escape sequences are ignored.
 */
int line_read(char *buf);

#endif
