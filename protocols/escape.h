/*
 * escape: the console escape key (DESIGN.md section 4), one filter for
 * vmgated's SSH consoles and vmgate-vmm's terminal.  Ctrl-] followed by
 *
 *   .       detach (vmgate-vmm: stop the VM)
 *   b       send a serial break
 *   r       reset the VM (vmgated; needs the power right)
 *   w       who is attached (vmgated)
 *   ?       help
 *   Ctrl-]  one Ctrl-] to the guest
 *
 * Any other key after Ctrl-] is swallowed with the escape and answered with
 * the help; so are keys a caller has no use for (vmgate-vmm: r, w).  The
 * state survives across reads, so the two keys may arrive in separate
 * packets.
 */
#ifndef VMGATE_ESCAPE_H
#define VMGATE_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESCAPE_CHAR 0x1d /* Ctrl-] */

enum escape_action {
	ESCAPE_NONE,
	ESCAPE_DETACH,
	ESCAPE_BREAK,
	ESCAPE_RESET,
	ESCAPE_WHO,
	ESCAPE_HELP,	/* '?' */
	ESCAPE_UNKNOWN, /* anything else: show help */
};

struct escape {
	bool pending; /* Ctrl-] seen, waiting for the command key */
};

/*
 * Filters in[0..n): bytes for the guest are appended to out (room for n
 * bytes; out may be in itself, or any place before it in the same buffer,
 * for filtering in place). Stops right after the first escape command so
 * the caller can act on it in order; returns how many input bytes were
 * used, with *act set to the command (ESCAPE_NONE if the input ran out
 * first) and *outn to the number of bytes written to out.
 */
size_t escape_feed(struct escape *e, const uint8_t *in, size_t n, uint8_t *out,
		   size_t *outn, enum escape_action *act);

/* vmgated's help text, lines separated by \r\n, ending in \r\n. */
const char *escape_help(void);

#endif
