/*
 * Just enough JSON writing for the audit log and the asciicast recordings:
 * a growable buffer and string escaping of untrusted bytes.
 *
 * json_str() writes any byte string as a valid JSON string: well-formed
 * UTF-8 passes through, control characters become \uXXXX (or \n, \r, \t,
 * \b, \f), and each byte of malformed UTF-8 becomes U+FFFD, so the output
 * always parses and is always valid UTF-8.
 */
#ifndef VMGATE_JSON_H
#define VMGATE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json {
	char *buf; /* NUL-terminated */
	size_t len, cap;
};

void json_init(struct json *j);
void json_free(struct json *j);
void json_reset(struct json *j);

void json_raw(struct json *j, const char *s, size_t n);
void json_rawz(struct json *j, const char *s);
void json_str(struct json *j, const char *s, size_t n);
void json_strz(struct json *j, const char *s); /* NULL writes null */

/* Object members: they write the separating comma themselves when the
 * buffer does not end in '{' or '['. */
void json_kstr(struct json *j, const char *key, const char *val);
void json_kstrn(struct json *j, const char *key, const char *val, size_t n);
void json_kint(struct json *j, const char *key, long long val);
void json_kbool(struct json *j, const char *key, bool val);
void json_knum(struct json *j, const char *key, double val);

/*
 * Of n bytes of a stream, how many form complete UTF-8 sequences: the
 * result is n minus a trailing incomplete (but so far valid) sequence of at
 * most 3 bytes, which the caller keeps for the next chunk.
 */
size_t json_utf8_complete(const uint8_t *p, size_t n);

#endif
