#!/usr/bin/env python3
"""Turn a PC Screen Font (PSF1 or PSF2, optionally gzipped) with 8x16
glyphs into the demo guest's font table: 256 glyphs x 16 rows, one byte
per row, most significant bit = leftmost pixel (4096 bytes). Entry N is
the glyph for the character N in Latin-1 (ASCII for 0x20-0x7e), found
through the font's Unicode table when it has one; characters the font
lacks get its glyph for '?', or a blank.

Run at build time (vmm-core/guest/CMakeLists.txt); the output is also what
tests compare screen cells against. The font itself comes from a Debian
package (console-setup-linux), not from this repository.

usage: psf2raw.py FONT.psf[.gz] OUT.bin
"""

import gzip
import os
import struct
import sys

GLYPHS = 256
ROWS = 16
PSF1_MAGIC = b"\x36\x04"
PSF1_MODE512 = 0x01
PSF1_MODEHASTAB = 0x02
PSF1_MODESEQ = 0x04
PSF1_SEPARATOR = 0xFFFF
PSF1_STARTSEQ = 0xFFFE
PSF2_MAGIC = b"\x72\xb5\x4a\x86"
PSF2_HAS_UNICODE_TABLE = 0x01


class FontError(Exception):
    pass


def parse_psf1(data):
    if len(data) < 4:
        raise FontError("truncated PSF1 header")
    mode, charsize = data[2], data[3]
    if charsize != ROWS:
        raise FontError("glyphs are 8x%d, need 8x16" % charsize)
    count = 512 if mode & PSF1_MODE512 else 256
    end = 4 + count * charsize
    if len(data) < end:
        raise FontError("truncated PSF1 glyph data")
    glyphs = [data[4 + i * ROWS:4 + (i + 1) * ROWS] for i in range(count)]
    table = {}
    if mode & (PSF1_MODEHASTAB | PSF1_MODESEQ):
        pos, glyph = end, 0
        in_seq = False
        while glyph < count and pos + 2 <= len(data):
            (u,) = struct.unpack_from("<H", data, pos)
            pos += 2
            if u == PSF1_SEPARATOR:
                glyph += 1
                in_seq = False
            elif u == PSF1_STARTSEQ:
                in_seq = True
            elif not in_seq:
                table.setdefault(u, glyph)
    return glyphs, table


def utf8_values(entry):
    """Code points of single characters in one PSF2 glyph's entry."""
    seq_start = entry.find(b"\xfe")
    singles = entry if seq_start < 0 else entry[:seq_start]
    try:
        return [ord(c) for c in singles.decode("utf-8")]
    except UnicodeDecodeError as e:
        raise FontError("bad UTF-8 in the Unicode table: %s" % e)


def parse_psf2(data):
    if len(data) < 32:
        raise FontError("truncated PSF2 header")
    (_, hsize, flags, count, charsize, height,
     width) = struct.unpack_from("<IIIIIII", data, 0)
    if width != 8 or height != ROWS or charsize != ROWS:
        raise FontError("glyphs are %dx%d, need 8x16" % (width, height))
    if count < 1 or count > 65536:
        raise FontError("absurd glyph count %d" % count)
    end = hsize + count * charsize
    if hsize < 32 or len(data) < end:
        raise FontError("truncated PSF2 glyph data")
    glyphs = [data[hsize + i * ROWS:hsize + (i + 1) * ROWS]
              for i in range(count)]
    table = {}
    if flags & PSF2_HAS_UNICODE_TABLE:
        entries = data[end:].split(b"\xff")
        for glyph, entry in enumerate(entries[:count]):
            for u in utf8_values(entry):
                table.setdefault(u, glyph)
    return glyphs, table


def convert(data):
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if data[:2] == PSF1_MAGIC:
        glyphs, table = parse_psf1(data)
    elif data[:4] == PSF2_MAGIC:
        glyphs, table = parse_psf2(data)
    else:
        raise FontError("not a PSF1 or PSF2 font")
    if len(glyphs) < GLYPHS:
        raise FontError("only %d glyphs, need %d" % (len(glyphs), GLYPHS))
    blank = bytes(ROWS)
    if table:
        fallback = glyphs[table[ord("?")]] if ord("?") in table else blank
        out = [glyphs[table[c]] if c in table else fallback
               for c in range(GLYPHS)]
    else:  # no table: assume the glyphs are in code point order
        out = glyphs[:GLYPHS]
    for c in range(0x20, 0x7F):
        if c != 0x20 and out[c] == blank:
            raise FontError("no glyph for %r" % chr(c))
    return b"".join(out)


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__.split("\n\n")[-1] + "\n")
        return 2
    src, dst = sys.argv[1], sys.argv[2]
    try:
        with open(src, "rb") as f:
            raw = convert(f.read())
    except (OSError, FontError, EOFError) as e:
        sys.stderr.write("psf2raw: %s: %s\n" % (src, e))
        return 1
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(raw)
    os.replace(tmp, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
