#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

void
json_init(struct json *j)
{
	j->cap = 256;
	j->len = 0;
	j->buf = xmalloc(j->cap);
	j->buf[0] = '\0';
}

void
json_free(struct json *j)
{
	free(j->buf);
	j->buf = NULL;
	j->len = j->cap = 0;
}

void
json_reset(struct json *j)
{
	j->len = 0;
	j->buf[0] = '\0';
}

static void
reserve(struct json *j, size_t more)
{
	if (j->len + more + 1 <= j->cap)
		return;
	while (j->len + more + 1 > j->cap)
		j->cap *= 2;
	j->buf = xreallocarray(j->buf, j->cap, 1);
}

void
json_raw(struct json *j, const char *s, size_t n)
{
	reserve(j, n);
	memcpy(j->buf + j->len, s, n);
	j->len += n;
	j->buf[j->len] = '\0';
}

void
json_rawz(struct json *j, const char *s)
{
	json_raw(j, s, strlen(s));
}

void
json_str(struct json *j, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	char esc[8];

	reserve(j, n + 2);
	j->buf[j->len++] = '"';
	for (size_t i = 0; i < n;) {
		uint8_t c = p[i];
		if (c >= 0x80) {
			size_t k = utf8_seq(p + i, n - i, NULL);
			if (k == 0) {
				json_raw(j, "\xef\xbf\xbd", 3); /* U+FFFD */
				i++;
			} else {
				json_raw(j, s + i, k);
				i += k;
			}
			continue;
		}
		switch (c) {
		case '"':
			json_raw(j, "\\\"", 2);
			break;
		case '\\':
			json_raw(j, "\\\\", 2);
			break;
		case '\n':
			json_raw(j, "\\n", 2);
			break;
		case '\r':
			json_raw(j, "\\r", 2);
			break;
		case '\t':
			json_raw(j, "\\t", 2);
			break;
		case '\b':
			json_raw(j, "\\b", 2);
			break;
		case '\f':
			json_raw(j, "\\f", 2);
			break;
		default:
			if (c < 0x20 || c == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				json_raw(j, esc, 6);
			} else {
				json_raw(j, s + i, 1);
			}
			break;
		}
		i++;
	}
	json_raw(j, "\"", 1);
}

void
json_strz(struct json *j, const char *s)
{
	if (s == NULL)
		json_rawz(j, "null");
	else
		json_str(j, s, strlen(s));
}

static void
key(struct json *j, const char *k)
{
	if (j->len > 0 && j->buf[j->len - 1] != '{' &&
	    j->buf[j->len - 1] != '[')
		json_raw(j, ",", 1);
	json_strz(j, k);
	json_raw(j, ":", 1);
}

void
json_kstr(struct json *j, const char *k, const char *val)
{
	key(j, k);
	json_strz(j, val);
}

void
json_kstrn(struct json *j, const char *k, const char *val, size_t n)
{
	key(j, k);
	json_str(j, val, n);
}

void
json_kint(struct json *j, const char *k, long long val)
{
	char num[32];

	key(j, k);
	snprintf(num, sizeof(num), "%lld", val);
	json_rawz(j, num);
}

void
json_kbool(struct json *j, const char *k, bool val)
{
	key(j, k);
	json_rawz(j, val ? "true" : "false");
}

void
json_knum(struct json *j, const char *k, double val)
{
	char num[64];

	key(j, k);
	snprintf(num, sizeof(num), "%.6f", val);
	json_rawz(j, num);
}

size_t
json_utf8_complete(const uint8_t *p, size_t n)
{
	/* Look back at most 3 bytes for the start of a sequence. */
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		uint8_t c = p[n - back];
		if ((c & 0xc0) == 0x80)
			continue; /* continuation byte: keep looking */
		size_t want = c >= 0xf0 && c <= 0xf4   ? 4
			      : c >= 0xe0 && c <= 0xef ? 3
			      : c >= 0xc2 && c <= 0xdf ? 2
						       : 1;
		if (want > back)
			return n - back; /* cut short: keep it */
		return n;
	}
	return n;
}
