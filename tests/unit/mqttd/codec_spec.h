/* SPDX-License-Identifier: MIT */
/*
 * A tiny notation for hand-made MQTT packets in the codec tests, so that
 * byte arrays stay readable and their lengths right:
 *   10 003c   hex bytes, any even number of digits per word
 *   'MQTT'    the text itself
 *   s'MQTT'   a two-byte length, then the text
 *   L         a varint of the length of the rest of the current level
 *   [ ... ]   a varint of the length of the contents, then the contents
 * For example "30 L s'a/b' 'hi'" is a QoS 0 PUBLISH of "hi" to "a/b".
 */
#ifndef TESTS_UNIT_MQTTD_CODEC_SPEC_H
#define TESTS_UNIT_MQTTD_CODEC_SPEC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static inline void
spec_varint(struct buf *b, size_t v)
{
	do {
		buf_add_u8(b, (v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v > 0);
}

static inline int
spec_hex(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Parses one level of spec at *s into b; stops at ']' or the end. */
static inline void
spec_level(const char **s, struct buf *b)
{
	struct buf	 sub = BUF_INIT;
	const char	*q;
	int		 hi, lo;
	bool		 counted;

	while (**s != '\0' && **s != ']') {
		switch (**s) {
		case ' ':
			(*s)++;
			break;
		case 'L':
			(*s)++;
			spec_level(s, &sub);
			spec_varint(b, sub.len);
			buf_add(b, sub.data, sub.len);
			buf_free(&sub);
			return;
		case '[':
			(*s)++;
			spec_level(s, &sub);
			if (**s == ']')
				(*s)++;
			spec_varint(b, sub.len);
			buf_add(b, sub.data, sub.len);
			buf_free(&sub);
			break;
		case 's':
		case '\'':
			counted = **s == 's';
			if (counted)
				(*s)++;
			q = strchr(*s + 1, '\'');
			if (**s != '\'' || q == NULL) {
				fprintf(stderr, "spec: bad quote\n");
				abort();
			}
			if (counted)
				buf_add_u16(b, (uint16_t)(q - *s - 1));
			buf_add(b, *s + 1, q - *s - 1);
			*s = q + 1;
			break;
		default:
			hi = spec_hex((*s)[0]);
			lo = hi < 0 ? -1 : spec_hex((*s)[1]);
			if (lo < 0) {
				fprintf(stderr, "spec: bad at '%s'\n", *s);
				abort();
			}
			buf_add_u8(b, (uint8_t)(hi << 4 | lo));
			*s += 2;
			break;
		}
	}
}

/* Fills b (emptied first) with the bytes of spec. */
static inline void
spec_bytes(struct buf *b, const char *spec)
{
	buf_reset(b);
	spec_level(&spec, b);
}

#endif
