/* SPDX-License-Identifier: MIT */
/*
 * The server side of RFC 6455 WebSocket for MQTT over WebSocket: the HTTP
 * upgrade and binary framing, nothing else (no extensions, no text).
 *
 * Why written here rather than taken from a library: the broker reads its
 * sockets itself (conn.c) and needs a layer that turns bytes into bytes.
 * libwebsockets brings its own event loop and connection ownership;
 * wslay, the one small framing-only C library, is not in Debian 12 with a
 * -dev package we could depend on, and libevent 2.1 has no WebSocket
 * server (its ws.c arrived in 2.2).  What is needed is small and fully
 * specified: a bounded HTTP request, Sec-WebSocket-Accept (SHA-1 and
 * base64 from OpenSSL), masked client frames, fragmentation, ping/pong
 * and the close handshake.  tests/unit/mqttd/test_ws.c covers it.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "mqttd/xport.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

void
ws_accept_key(const char *key, size_t len, char out[WS_ACCEPT_LEN + 1])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	EVP_MD_CTX	*ctx;

	memset(md, 0, sizeof(md));
	if ((ctx = EVP_MD_CTX_new()) != NULL) {
		if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, key, len) != 1 ||
		    EVP_DigestUpdate(ctx, WS_GUID, sizeof(WS_GUID) - 1) != 1 ||
		    EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
			mdlen = 0;
		EVP_MD_CTX_free(ctx);
	}
	/* SHA-1 is 20 bytes: 28 base64 characters.  A failure gives a
	 * key the client refuses. */
	EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
	out[WS_ACCEPT_LEN] = '\0';
}

/* Trims blanks around s[0..*len); returns the new start. */
static const char *
ws_trim(const char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
		(*len)--;
	return (s);
}

/* True if the comma-separated list v[0..len) holds token (any case). */
static bool
has_ws_token(const char *v, size_t len, const char *token)
{
	const char	*p, *end = v + len, *comma;
	size_t		 n, tlen = strlen(token);

	for (p = v; p < end; p = comma + 1) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma == NULL)
			comma = end;
		n = (size_t)(comma - p);
		p = ws_trim(p, &n);
		if (n == tlen && strncasecmp(p, token, n) == 0)
			return (true);
		if (comma == end)
			break;
	}
	return (false);
}

static void
ws_http_error(struct buf *out, const char *status, const char *extra)
{
	char	line[256];
	int	n;

	n = snprintf(line, sizeof(line), "HTTP/1.1 %s\r\n%sConnection: "
	    "close\r\nContent-Length: 0\r\n\r\n", status, extra);
	if (n > 0 && (size_t)n < sizeof(line))
		buf_add(out, line, (size_t)n);
}

struct ws_req {
	bool		 upgrade;
	bool		 connection;
	bool		 version13;
	bool		 has_version;
	const char	*key;
	size_t		 keylen;
	bool		 has_proto;
	bool		 proto_mqtt;
	bool		 proto_v31;
};

/* One header line name: value. */
static void
ws_header(struct ws_req *r, const char *line, size_t len)
{
	const char	*colon, *v;
	size_t		 nlen, vlen;

	if ((colon = memchr(line, ':', len)) == NULL)
		return;
	nlen = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - nlen - 1;
	v = ws_trim(v, &vlen);
#define IS(name) (nlen == sizeof(name) - 1 && \
	    strncasecmp(line, name, nlen) == 0)
	if (IS("Upgrade"))
		r->upgrade = r->upgrade || has_ws_token(v, vlen, "websocket");
	else if (IS("Connection"))
		r->connection = r->connection ||
		    has_ws_token(v, vlen, "upgrade");
	else if (IS("Sec-WebSocket-Version")) {
		r->has_version = true;
		r->version13 = vlen == 2 && memcmp(v, "13", 2) == 0;
	} else if (IS("Sec-WebSocket-Key")) {
		r->key = v;
		r->keylen = vlen;
	} else if (IS("Sec-WebSocket-Protocol")) {
		/* May come on several lines. */
		r->has_proto = true;
		r->proto_mqtt = r->proto_mqtt || has_ws_token(v, vlen, "mqtt");
		r->proto_v31 = r->proto_v31 ||
		    has_ws_token(v, vlen, "mqttv3.1");
	}
#undef IS
}

/* A base64 key of 16 bytes: 22 characters and "==". */
static bool
is_ws_key(const char *k, size_t len)
{
	size_t	i;

	if (len != 24 || k[22] != '=' || k[23] != '=')
		return (false);
	for (i = 0; i < 22; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '+' &&
		    k[i] != '/')
			return (false);
	return (true);
}

int
ws_handshake(const uint8_t *req, size_t len, struct buf *out, size_t *used,
    const char **why)
{
	struct ws_req	 r;
	const char	*s = (const char *)req, *end, *line, *eol, *proto;
	char		 accept[WS_ACCEPT_LEN + 1], resp[320];
	size_t		 n, hlen;
	int		 k;

	memset(&r, 0, sizeof(r));
	/* Refuse what is not a GET at once (MQTT sent to the wrong port). */
	if (memcmp(s, "GET ", len < 4 ? len : 4) != 0) {
		*why = "not an HTTP GET request";
		ws_http_error(out, "400 Bad Request", "");
		return (-1);
	}
	n = len < WS_MAX_REQUEST ? len : WS_MAX_REQUEST;
	end = memmem(s, n, "\r\n\r\n", 4);
	if (end == NULL) {
		if (len < WS_MAX_REQUEST)
			return (0);
		*why = "HTTP request too long";
		ws_http_error(out, "431 Request Header Fields Too Large", "");
		return (-1);
	}
	hlen = (size_t)(end - s) + 4;
	/* The request line: GET PATH HTTP/1.1 (or later). */
	eol = memmem(s, hlen, "\r\n", 2);
	n = (size_t)(eol - s);
	if (n < 14 || memcmp(s, "GET ", 4) != 0 ||
	    memcmp(eol - 9, " HTTP/1.", 8) != 0 || eol[-1] < '1' ||
	    eol[-1] > '9' || memchr(s, '\0', hlen) != NULL) {
		*why = "not an HTTP/1.1 GET request";
		ws_http_error(out, "400 Bad Request", "");
		return (-1);
	}
	for (line = eol + 2; line < end; line = eol + 2) {
		eol = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
		ws_header(&r, line, (size_t)(eol - line));
	}
	if (!r.upgrade || !r.connection) {
		*why = "not a WebSocket upgrade";
		ws_http_error(out, "400 Bad Request", "");
		return (-1);
	}
	if (!r.version13) {
		*why = "WebSocket version is not 13";
		ws_http_error(out, "426 Upgrade Required",
		    "Sec-WebSocket-Version: 13\r\n");
		return (-1);
	}
	if (r.key == NULL || !is_ws_key(r.key, r.keylen)) {
		*why = "bad Sec-WebSocket-Key";
		ws_http_error(out, "400 Bad Request", "");
		return (-1);
	}
	if (r.has_proto && !r.proto_mqtt && !r.proto_v31) {
		*why = "no mqtt subprotocol offered";
		ws_http_error(out, "400 Bad Request", "");
		return (-1);
	}
	proto = r.proto_mqtt ? "mqtt" : r.proto_v31 ? "mqttv3.1" : NULL;
	ws_accept_key(r.key, r.keylen, accept);
	k = snprintf(resp, sizeof(resp), "HTTP/1.1 101 Switching Protocols"
	    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n%s%s%s\r\n", accept,
	    proto != NULL ? "Sec-WebSocket-Protocol: " : "",
	    proto != NULL ? proto : "", proto != NULL ? "\r\n" : "");
	if (k < 0 || (size_t)k >= sizeof(resp)) {
		*why = "response too long";	/* cannot be */
		return (-1);
	}
	buf_add(out, resp, (size_t)k);
	*used = hlen;
	return (1);
}

void
ws_frame_header(struct buf *out, uint8_t opcode, uint64_t len)
{
	uint8_t	h[10];
	size_t	n = 2;
	int	i;

	h[0] = 0x80 | (opcode & 0x0f);
	if (len < 126)
		h[1] = (uint8_t)len;
	else if (len <= 0xffff) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
		n = 4;
	} else {
		h[1] = 127;
		for (i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	buf_add(out, h, n);
}

void
ws_close_frame(struct buf *out, uint16_t code)
{
	uint8_t	p[2];

	if (code == 0) {
		ws_frame_header(out, WS_OP_CLOSE, 0);
		return;
	}
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	ws_frame_header(out, WS_OP_CLOSE, 2);
	buf_add(out, p, 2);
}

/* Bytes of the header given its first two bytes. */
static size_t
ws_header_len(const uint8_t *h)
{
	size_t	n = 2 + 4;	/* + mask (required from clients) */

	if ((h[1] & 0x7f) == 126)
		n += 2;
	else if ((h[1] & 0x7f) == 127)
		n += 8;
	return (n);
}

#define WS_FAIL(c, w) do {	\
	*code = (c);		\
	*why = (w);		\
	return (-1);		\
} while (0)

/* The header in d->hdr is complete: check it and start the payload. */
static int
ws_start_frame(struct ws_decoder *d, uint64_t max_frame, uint16_t *code,
    const char **why)
{
	const uint8_t	*h = d->hdr;
	uint64_t	 len = h[1] & 0x7f;
	size_t		 off = 2;
	int		 i;

	if (h[0] & 0x70)
		WS_FAIL(WS_CLOSE_PROTOCOL, "reserved bits set");
	if ((h[1] & 0x80) == 0)
		WS_FAIL(WS_CLOSE_PROTOCOL, "unmasked client frame");
	d->fin = (h[0] & 0x80) != 0;
	d->opcode = h[0] & 0x0f;
	if (len == 126) {
		len = ((uint64_t)h[2] << 8) | h[3];
		off = 4;
	} else if (len == 127) {
		len = 0;
		for (i = 0; i < 8; i++)
			len = (len << 8) | h[2 + i];
		if (len >> 63)
			WS_FAIL(WS_CLOSE_PROTOCOL, "frame length over 2^63");
		off = 10;
	}
	memcpy(d->mask, h + off, 4);
	d->moff = 0;
	d->left = len;
	d->ctllen = 0;
	switch (d->opcode) {
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		if (!d->fin)
			WS_FAIL(WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (len > sizeof(d->ctl))
			WS_FAIL(WS_CLOSE_PROTOCOL, "control frame too long");
		break;
	case WS_OP_TEXT:
		/* [MQTT-6.0.0-1]: binary frames only. */
		WS_FAIL(WS_CLOSE_UNSUPPORTED, "text frame");
	case WS_OP_BINARY:
		if (d->fragmented)
			WS_FAIL(WS_CLOSE_PROTOCOL, "new message inside a "
			    "fragmented one");
		d->fragmented = !d->fin;
		break;
	case WS_OP_CONT:
		if (!d->fragmented)
			WS_FAIL(WS_CLOSE_PROTOCOL, "continuation without a "
			    "message");
		d->fragmented = !d->fin;
		break;
	default:
		WS_FAIL(WS_CLOSE_PROTOCOL, "reserved opcode");
	}
	if (!(d->opcode & 0x08) && max_frame != 0 && len > max_frame)
		WS_FAIL(WS_CLOSE_TOO_BIG, "frame over max_message_size");
	d->in_payload = true;
	return (0);
}

/* The current frame is complete. */
static int
ws_end_frame(struct ws_decoder *d, const struct ws_sink *sink,
    uint16_t *code, const char **why)
{
	d->in_payload = false;
	d->hlen = 0;
	if (!(d->opcode & 0x08))
		return (0);
	if (d->opcode == WS_OP_CLOSE) {
		if (d->ctllen == 1)
			WS_FAIL(WS_CLOSE_PROTOCOL, "close frame of 1 byte");
		d->closed = true;
	}
	sink->control(sink->arg, d->opcode, d->ctl, d->ctllen);
	return (0);
}

int
ws_decode(struct ws_decoder *d, uint8_t *p, size_t len, uint64_t max_frame,
    const struct ws_sink *sink, uint16_t *code, const char **why)
{
	size_t	n, i, need;

	while (len > 0 && !d->closed) {
		if (!d->in_payload) {
			/* Collect the header: 2 bytes say how long it is. */
			need = d->hlen < 2 ? 2 : ws_header_len(d->hdr);
			n = need - d->hlen;
			if (n > len)
				n = len;
			memcpy(d->hdr + d->hlen, p, n);
			d->hlen += (uint8_t)n;
			p += n;
			len -= n;
			if (d->hlen < 2)
				return (0);
			/* Unmasked: do not wait for a mask that is not
			 * coming. */
			if ((d->hdr[1] & 0x80) == 0)
				WS_FAIL(WS_CLOSE_PROTOCOL,
				    "unmasked client frame");
			/* The first 2 bytes say how long the header is. */
			if (d->hlen < ws_header_len(d->hdr))
				continue;
			if (ws_start_frame(d, max_frame, code, why) == -1)
				return (-1);
			if (d->left == 0 && ws_end_frame(d, sink, code,
			    why) == -1)
				return (-1);
			continue;
		}
		n = d->left < len ? (size_t)d->left : len;
		for (i = 0; i < n; i++)
			p[i] ^= d->mask[(d->moff + i) & 3];
		d->moff = (uint8_t)((d->moff + n) & 3);
		if (d->opcode & 0x08) {
			memcpy(d->ctl + d->ctllen, p, n);
			d->ctllen += (uint8_t)n;
		} else if (n > 0)
			sink->data(sink->arg, p, n);
		p += n;
		len -= n;
		d->left -= n;
		if (d->left == 0 && ws_end_frame(d, sink, code, why) == -1)
			return (-1);
	}
	return (0);
}
