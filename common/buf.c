/* SPDX-License-Identifier: MIT */
/* Byte buffers: growable big-endian writer and bounds-checked reader. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

uint8_t *
buf_reserve(struct buf *b, size_t n)
{
	size_t	ncap;

	if (b->cap - b->len < n) {
		ncap = b->cap ? b->cap : 64;
		while (ncap - b->len < n)
			ncap *= 2;
		b->data = xrealloc(b->data, ncap);
		b->cap = ncap;
	}
	return (b->data + b->len);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	memcpy(buf_reserve(b, n), p, n);
	b->len += n;
}

void
buf_add_u8(struct buf *b, uint8_t v)
{
	*buf_reserve(b, 1) = v;
	b->len++;
}

void
buf_add_u16(struct buf *b, uint16_t v)
{
	be16_put(buf_reserve(b, 2), v);
	b->len += 2;
}

void
buf_add_u32(struct buf *b, uint32_t v)
{
	be32_put(buf_reserve(b, 4), v);
	b->len += 4;
}

void
buf_add_u64(struct buf *b, uint64_t v)
{
	buf_add_u32(b, (uint32_t)(v >> 32));
	buf_add_u32(b, (uint32_t)v);
}

void
buf_add_blob(struct buf *b, const void *p, size_t n)
{
	buf_add_u32(b, (uint32_t)n);
	buf_add(b, p, n);
}

void
buf_add_str(struct buf *b, const char *s)
{
	buf_add_blob(b, s, s ? strlen(s) : 0);
}

uint8_t *
buf_release(struct buf *b, size_t *len)
{
	uint8_t	*p = b->data;

	*len = b->len;
	buf_init(b);
	return (p);
}

void
rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = false;
}

size_t
rbuf_left(const struct rbuf *r)
{
	return (r->len - r->off);
}

const uint8_t *
rbuf_bytes(struct rbuf *r, size_t n)
{
	const uint8_t	*p;

	if (r->err || rbuf_left(r) < n) {
		r->err = true;
		return (NULL);
	}
	p = r->p + r->off;
	r->off += n;
	return (p);
}

uint8_t
rbuf_u8(struct rbuf *r)
{
	const uint8_t	*p = rbuf_bytes(r, 1);

	return (p ? p[0] : 0);
}

uint16_t
rbuf_u16(struct rbuf *r)
{
	const uint8_t	*p = rbuf_bytes(r, 2);

	return (p ? be16_get(p) : 0);
}

uint32_t
rbuf_u32(struct rbuf *r)
{
	const uint8_t	*p = rbuf_bytes(r, 4);

	return (p ? be32_get(p) : 0);
}

uint64_t
rbuf_u64(struct rbuf *r)
{
	uint64_t	hi = rbuf_u32(r);

	return ((hi << 32) | rbuf_u32(r));
}

const uint8_t *
rbuf_blob(struct rbuf *r, size_t *n, size_t max)
{
	uint32_t	len = rbuf_u32(r);

	*n = 0;
	if (r->err || len > max) {
		r->err = true;
		return (NULL);
	}
	*n = len;
	if (len == 0)
		return ((const uint8_t *)"");
	return (rbuf_bytes(r, len));
}

char *
rbuf_strdup(struct rbuf *r, size_t max)
{
	const uint8_t	*p;
	size_t		 n;

	if ((p = rbuf_blob(r, &n, max)) == NULL)
		return (NULL);
	if (memchr(p, '\0', n) != NULL) {
		r->err = true;
		return (NULL);
	}
	return (xstrndup((const char *)p, n));
}

bool
rbuf_done(const struct rbuf *r)
{
	return (!r->err && r->off == r->len);
}
