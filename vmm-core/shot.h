/*
 * shot: a PNG of the VM's screen, written with libpng (8-bit RGB, no
 * alpha; fast compression, since the monitor's loop waits for it).
 */
#ifndef VMGATE_SHOT_H
#define VMGATE_SHOT_H

#include "display.h"

#include <stddef.h>

/* Writes the PNG to FILE (a new file beside it, renamed over it, so a
 * reader never sees half a picture).  Returns 0, or -1 with ERR. */
int shot_write_file(const struct display *d, const char *path, char *err,
		    size_t errlen);

/* Writes the PNG to the open stream FD (not closed).  Returns 0 or -1. */
int shot_write_fd(const struct display *d, int fd, char *err, size_t errlen);

#endif
