/*
 * font.h - the console font: 256 glyphs of 8x16 pixels, Latin-1 order, one
 * byte per row, most significant bit = leftmost pixel.
 *
 * Not kept in this repository: psf2raw.py makes it at build time from a
 * PSF console font of a Debian package (CMakeLists.txt, VMGATE_GUEST_FONT),
 * and font.S embeds the result. Linked into the user image.
 */
#ifndef GUEST_FONT_H
#define GUEST_FONT_H

#include <stdint.h>

#define FONT_WIDTH 8
#define FONT_HEIGHT 16
#define FONT_GLYPHS 256

extern const uint8_t font8x16[FONT_GLYPHS * FONT_HEIGHT];

#endif
