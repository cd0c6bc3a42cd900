/*
 * bulk.c - deterministic bulk output with a checksum (see bulk.h).
 *
 * Line k is the 62-character alphabet rotated by k, so a dropped,
 * duplicated or reordered line changes the CRC, not just a lost byte.
 */
#include "bulk.h"
#include "con.h"
#include "crc32.h"

#include <stdbool.h>
#include <stdint.h>

#define BULK_LINE 64
#define BULK_MAX (1ull << 30)
/* Look for Ctrl-C every this many lines (16 KiB). */
#define BULK_CHECK_LINES 256

static const char bulk_alphabet[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
#define BULK_ALPHABET_LEN (sizeof(bulk_alphabet) - 1)

/* Parse N[K|M]; false on syntax error or if above BULK_MAX. */
static bool
bulk_parse(const char *s, uint64_t *out)
{
	uint64_t n = 0;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > BULK_MAX)
			return false;
	}
	if (*s == 'K' || *s == 'k') {
		n <<= 10;
		s++;
	} else if (*s == 'M' || *s == 'm') {
		n <<= 20;
		s++;
	}
	if (*s != '\0' || n > BULK_MAX)
		return false;
	*out = n;
	return true;
}

/* Line k of the payload, len (1..BULK_LINE) bytes long, newline included. */
static void
bulk_line(char *line, size_t len, uint64_t k)
{
	size_t chars = len >= 2 ? len - 2 : 0;

	for (size_t j = 0; j < chars; j++)
		line[j] = bulk_alphabet[(k + j) % BULK_ALPHABET_LEN];
	if (len >= 2)
		line[chars++] = '\r';
	line[chars] = '\n';
}

void
bulk_cmd(int argc, char **argv)
{
	char line[BULK_LINE];
	uint64_t n, left, k = 0;
	uint32_t crc = 0;
	size_t len;

	if (argc != 2 || !bulk_parse(argv[1], &n)) {
		con_puts("usage: bulk N[K|M]   (N <= 1G)\r\n");
		return;
	}
	for (left = n; left > 0; left -= len) {
		len = left < BULK_LINE ? (size_t)left : BULK_LINE;
		bulk_line(line, len, k);
		con_write(line, len);
		crc = crc32_update(crc, line, len);
		if (++k % BULK_CHECK_LINES == 0 && con_interrupted()) {
			con_puts("\r\nbulk: interrupted\r\n");
			return;
		}
	}
	con_printf("bulk %lu bytes checksum %08x\r\n", n, crc);
}
