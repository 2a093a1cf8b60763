/* SPDX-License-Identifier: MIT */
/*
 * Byte buffers: a growable writer (struct buf) and a bounds-checked reader
 * (struct rbuf), both big-endian, shared by the MQTT and IPC codecs.
 */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT	{ NULL, 0, 0 }

void	buf_init(struct buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void	buf_free(struct buf *b);
/* Empties the buffer, keeping its memory. */
void	buf_reset(struct buf *b);
/* Makes room for n more bytes; returns a pointer to the first free byte. */
uint8_t	*buf_reserve(struct buf *b, size_t n);
void	buf_add(struct buf *b, const void *p, size_t n);
void	buf_add_u8(struct buf *b, uint8_t v);
void	buf_add_u16(struct buf *b, uint16_t v);
void	buf_add_u32(struct buf *b, uint32_t v);
void	buf_add_u64(struct buf *b, uint64_t v);
/* A u32 length then the bytes. */
void	buf_add_blob(struct buf *b, const void *p, size_t n);
/* A u32 length then the bytes of a NUL-terminated string (NULL = empty). */
void	buf_add_str(struct buf *b, const char *s);
/* Returns the buffer's bytes; the caller owns them (free()); b is emptied. */
uint8_t	*buf_release(struct buf *b, size_t *len);

/*
 * Reader over borrowed bytes.  Every get on a short input sets err and
 * returns zero/NULL, so a decoder can read everything and test err once.
 */
struct rbuf {
	const uint8_t	*p;	/* borrowed */
	size_t		 len;
	size_t		 off;
	bool		 err;
};

void	rbuf_init(struct rbuf *r, const void *p, size_t len);
size_t	rbuf_left(const struct rbuf *r);
uint8_t	rbuf_u8(struct rbuf *r);
uint16_t rbuf_u16(struct rbuf *r);
uint32_t rbuf_u32(struct rbuf *r);
uint64_t rbuf_u64(struct rbuf *r);
/* Returns a pointer to the next n bytes (valid as long as the input). */
const uint8_t *rbuf_bytes(struct rbuf *r, size_t n);
/* A u32 length then bytes; *n gets the length; at most max bytes. */
const uint8_t *rbuf_blob(struct rbuf *r, size_t *n, size_t max);
/* A u32-length string; returns a new NUL-terminated copy or NULL. */
char	*rbuf_strdup(struct rbuf *r, size_t max);
/* True when the whole input was read without error. */
bool	rbuf_done(const struct rbuf *r);

static inline void
be16_put(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline uint16_t
be16_get(const uint8_t *p)
{
	return ((uint16_t)((p[0] << 8) | p[1]));
}

static inline void
be32_put(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static inline uint32_t
be32_get(const uint8_t *p)
{
	return (((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | p[3]);
}

#endif
