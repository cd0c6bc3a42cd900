/* Client keystrokes and guest output as an attacker would send them: the
 * escape-key filter, the output queue and the JSON/asciicast escaping. The
 * first byte picks the queue size. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "escape.h"
#include "json.h"
#include "outq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct escape e = {0};
	struct outq q;
	struct json j;
	uint8_t out[4096];
	size_t off = 0;

	if (size == 0)
		return 0;
	outq_init(&q, 1 + data[0] * 8);
	json_init(&j);
	data++, size--;
	while (off < size) {
		size_t n = size - off < sizeof(out) ? size - off : sizeof(out);
		size_t outn;
		enum escape_action act;
		size_t k = escape_feed(&e, data + off, n, out, &outn, &act);
		if (k == 0 || k > n || outn > k)
			__builtin_trap();
		outq_push(&q, out, outn, off);
		const uint8_t *p;
		size_t m = outq_peek(&q, &p);
		if (m > 0)
			outq_consume(&q, (m + 1) / 2);
		off += k;
	}
	size_t whole = json_utf8_complete(data, size);
	if (whole > size || size - whole > 3)
		__builtin_trap();
	json_str(&j, (const char *)data, size);
	if (j.buf[0] != '"' || j.buf[j.len - 1] != '"' ||
	    strlen(j.buf) != j.len)
		__builtin_trap();
	json_free(&j);
	outq_free(&q);
	return 0;
}
