/*
 * shot: a PNG of the VM's screen, written with libpng (8-bit RGB, no
 * alpha; fast compression, since the monitor's loop waits for it).
 */
#ifndef VMGATE_SHOT_H
#define VMGATE_SHOT_H

#include "display.h"

#include <stddef.h>

/*
 * Writes the PNG to FD (blocking writes, from its current offset; FD is not
 * closed).  Uses write() only, so it works inside the monitor's sandbox.
 * Returns 0, or -1 with the reason in ERR.
 */
int shot_write_fd(const struct display *d, int fd, char *err, size_t errlen);

#endif
