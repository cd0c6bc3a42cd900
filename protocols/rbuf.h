/*
 * rbuf: the one bounds-checked reader for untrusted bytes, for every wire
 * and file format (the control channel, kernel images, SSH key blobs, RFB).
 *
 * A struct rbuf is a view of len bytes the caller owns, with a cursor.  Two
 * families of getters, both little- and big-endian, fixed width:
 *  - rbuf_get_*: read at the cursor and advance it;
 *  - rbuf_at_*:  read at an absolute offset, cursor untouched (for formats
 *    with offsets inside, such as ELF headers).
 * Each returns 0, or RBUF_E_SHORT when the bytes are not all there; on
 * failure nothing is consumed and *v is not written (OpenSSH's sshbuf
 * getters).  No getter reads past len, whatever the offset (offsets are
 * 64-bit so that a value read from the input can be passed unchecked).
 */
#ifndef VMGATE_RBUF_H
#define VMGATE_RBUF_H

#include <stddef.h>
#include <stdint.h>

#define RBUF_E_SHORT (-1)

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off; /* cursor, <= len */
};

void rbuf_init(struct rbuf *b, const void *p, size_t len);
/* Bytes from the cursor to the end. */
size_t rbuf_left(const struct rbuf *b);
/* Moves the cursor to OFF (<= len) / past N bytes. */
int rbuf_seek(struct rbuf *b, uint64_t off);
int rbuf_skip(struct rbuf *b, size_t n);

int rbuf_get_u8(struct rbuf *b, uint8_t *v);
int rbuf_get_le16(struct rbuf *b, uint16_t *v);
int rbuf_get_le32(struct rbuf *b, uint32_t *v);
int rbuf_get_le64(struct rbuf *b, uint64_t *v);
int rbuf_get_be16(struct rbuf *b, uint16_t *v);
int rbuf_get_be32(struct rbuf *b, uint32_t *v);
int rbuf_get_be64(struct rbuf *b, uint64_t *v);
/* *p points at the next n bytes inside the buffer. */
int rbuf_get_bytes(struct rbuf *b, size_t n, const uint8_t **p);
/* A u32 big-endian length, at most max, then that many bytes (an SSH
 * "string", RFC 4251 section 5); *p points inside the buffer. */
int rbuf_get_string_be32(struct rbuf *b, size_t max, const uint8_t **p,
			 size_t *n);

int rbuf_at_u8(const struct rbuf *b, uint64_t off, uint8_t *v);
int rbuf_at_le16(const struct rbuf *b, uint64_t off, uint16_t *v);
int rbuf_at_le32(const struct rbuf *b, uint64_t off, uint32_t *v);
int rbuf_at_le64(const struct rbuf *b, uint64_t off, uint64_t *v);
int rbuf_at_be16(const struct rbuf *b, uint64_t off, uint16_t *v);
int rbuf_at_be32(const struct rbuf *b, uint64_t off, uint32_t *v);
int rbuf_at_be64(const struct rbuf *b, uint64_t off, uint64_t *v);
/* Copies n bytes at off into dst. */
int rbuf_at_copy(const struct rbuf *b, uint64_t off, void *dst, size_t n);

#endif
