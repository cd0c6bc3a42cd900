/*
 * bulk.h - the throughput test command.
 *
 * `bulk N` prints exactly N payload bytes: lines of 64 bytes (62 pattern
 * characters, then CR LF); when N is not a multiple of 64 the last line is
 * shorter but still ends the line (N mod 64 - 2 characters and CR LF, or
 * just LF if one byte is left). So the payload is precisely the bytes
 * between the command's echo and the summary line that follows:
 * `bulk N bytes checksum XXXXXXXX`, the zlib-compatible CRC-32 of the
 * N payload bytes in lowercase hex. N is decimal with an optional K (1024)
 * or M (1048576) suffix, at most 1 GiB. Ctrl-C or a break stops it.
 */
#ifndef GUEST_BULK_H
#define GUEST_BULK_H

void bulk_cmd(int argc, char **argv);

#endif
