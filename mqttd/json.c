/* SPDX-License-Identifier: MIT */
/* A small JSON writer for the status replies ternctl reads. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "mqttd/mqttd.h"

void
json_str(struct buf *b, const char *s, size_t len)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;
	unsigned char		ch;
	char			esc[6];

	buf_add_u8(b, '"');
	for (i = 0; i < len; i++) {
		ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			buf_add_u8(b, '\\');
			buf_add_u8(b, ch);
		} else if (ch < 0x20 || ch == 0x7f) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			buf_add(b, esc, sizeof(esc));
		} else
			buf_add_u8(b, ch);
	}
	buf_add_u8(b, '"');
}

static void
json_key(struct buf *b, bool *first, const char *k)
{
	if (!*first)
		buf_add_u8(b, ',');
	*first = false;
	json_str(b, k, strlen(k));
	buf_add_u8(b, ':');
}

void
json_kv_str(struct buf *b, bool *first, const char *k, const char *v)
{
	json_key(b, first, k);
	json_str(b, v, strlen(v));
}

void
json_kv_u64(struct buf *b, bool *first, const char *k, uint64_t v)
{
	char	num[24];
	int	n;

	json_key(b, first, k);
	n = snprintf(num, sizeof(num), "%" PRIu64, v);
	buf_add(b, num, (size_t)n);
}

void
json_kv_bool(struct buf *b, bool *first, const char *k, bool v)
{
	json_key(b, first, k);
	buf_add(b, v ? "true" : "false", v ? 4 : 5);
}

void
json_end(struct buf *b)
{
	*buf_reserve(b, 1) = '\0';
}
