/* SPDX-License-Identifier: MIT */
/* Unit tests of the WebSocket handshake and framing (mqttd/ws.c). */
#include <stdio.h>
#include <string.h>

#include "mqttd/xport.h"
#include "tests/unit/unit.h"

#define REQ_HEAD							\
	"GET /mqtt HTTP/1.1\r\n"					\
	"Host: localhost:8080\r\n"					\
	"Upgrade: websocket\r\n"					\
	"Connection: keep-alive, Upgrade\r\n"				\
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"		\
	"Sec-WebSocket-Version: 13\r\n"

/* What the sink got. */
struct got {
	uint8_t	data[4096];
	size_t	ndata;
	int	nctl;
	uint8_t	ctl_op;
	uint8_t	ctl[128];
	size_t	nctl_bytes;
};

static void
got_data(void *arg, const uint8_t *p, size_t len)
{
	struct got	*g = arg;

	CU_ASSERT_FATAL(g->ndata + len <= sizeof(g->data));
	memcpy(g->data + g->ndata, p, len);
	g->ndata += len;
}

static void
got_control(void *arg, uint8_t op, const uint8_t *p, size_t len)
{
	struct got	*g = arg;

	g->nctl++;
	g->ctl_op = op;
	memcpy(g->ctl, p, len);
	g->nctl_bytes = len;
}

/* A masked client frame of payload into out; returns its length. */
static size_t
client_frame(uint8_t *out, uint8_t b0, const uint8_t *payload, size_t len)
{
	static const uint8_t	mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	size_t			n = 0, i;

	out[n++] = b0;
	if (len < 126)
		out[n++] = 0x80 | (uint8_t)len;
	else if (len <= 0xffff) {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			out[n++] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	memcpy(out + n, mask, 4);
	n += 4;
	for (i = 0; i < len; i++)
		out[n + i] = payload[i] ^ mask[i & 3];
	return (n + len);
}

static int
decode(struct ws_decoder *d, uint8_t *p, size_t len, uint64_t max,
    struct got *g, uint16_t *code)
{
	struct ws_sink	 sink = { got_data, got_control, g };
	const char	*why = NULL;
	int		 r;

	r = ws_decode(d, p, len, max, &sink, code, &why);
	if (r == -1)
		CU_ASSERT_PTR_NOT_NULL(why);
	return (r);
}

static void
test_ws_accept_key(void)
{
	char	out[WS_ACCEPT_LEN + 1];

	/* The example of RFC 6455 section 1.3. */
	ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
	CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static int
handshake(const char *req, struct buf *out, size_t *used)
{
	const char	*why = NULL;

	buf_reset(out);
	*used = 0;
	return (ws_handshake((const uint8_t *)req, strlen(req), out, used,
	    &why));
}

static bool
has_text(const struct buf *b, const char *s)
{
	return (b->len > 0 && memmem(b->data, b->len, s, strlen(s)) != NULL);
}

static void
test_ws_handshake_ok(void)
{
	struct buf	out = BUF_INIT;
	size_t		used;
	const char	*req = REQ_HEAD "Sec-WebSocket-Protocol: mqtt\r\n\r\n";
	char		both[1024];

	CU_ASSERT_EQUAL(handshake(req, &out, &used), 1);
	CU_ASSERT_EQUAL(used, strlen(req));
	CU_ASSERT_TRUE(has_text(&out, "HTTP/1.1 101 Switching Protocols\r\n"));
	CU_ASSERT_TRUE(has_text(&out,
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	CU_ASSERT_TRUE(has_text(&out, "Sec-WebSocket-Protocol: mqtt\r\n"));
	CU_ASSERT_TRUE(out.len > 4 &&
	    memcmp(out.data + out.len - 4, "\r\n\r\n", 4) == 0);

	/* mqttv3.1 alone; and listed with others, on several lines. */
	CU_ASSERT_EQUAL(handshake(REQ_HEAD "Sec-WebSocket-Protocol: "
	    "mqttv3.1\r\n\r\n", &out, &used), 1);
	CU_ASSERT_TRUE(has_text(&out, "Sec-WebSocket-Protocol: mqttv3.1\r\n"));
	CU_ASSERT_EQUAL(handshake(REQ_HEAD "sec-websocket-protocol: chat, "
	    "x\r\nSec-WebSocket-Protocol:  MQTT \r\n\r\n", &out, &used), 1);
	CU_ASSERT_TRUE(has_text(&out, "Sec-WebSocket-Protocol: mqtt\r\n"));

	/* No subprotocol offered: accepted without one. */
	CU_ASSERT_EQUAL(handshake(REQ_HEAD "\r\n", &out, &used), 1);
	CU_ASSERT_FALSE(has_text(&out, "Sec-WebSocket-Protocol"));

	/* Frames right behind the request are not part of it. */
	snprintf(both, sizeof(both), "%s%s", req, "\x82\x80xxxx");
	CU_ASSERT_EQUAL(handshake(both, &out, &used), 1);
	CU_ASSERT_EQUAL(used, strlen(req));
	buf_free(&out);
}

static void
test_ws_handshake_partial(void)
{
	struct buf	 out = BUF_INIT;
	const char	*req = REQ_HEAD "\r\n";
	const char	*why = NULL;
	size_t		 used = 0, i;

	for (i = 0; i < strlen(req); i++)
		CU_ASSERT_EQUAL(ws_handshake((const uint8_t *)req, i, &out,
		    &used, &why), 0);
	CU_ASSERT_EQUAL(out.len, 0);
	CU_ASSERT_EQUAL(ws_handshake((const uint8_t *)req, strlen(req), &out,
	    &used, &why), 1);
	buf_free(&out);
}

static void
test_ws_handshake_refused(void)
{
	struct buf	 out = BUF_INIT;
	uint8_t		 big[WS_MAX_REQUEST + 10];
	const char	*why = NULL;
	size_t		 used;

	/* Not a WebSocket upgrade, not GET, old HTTP. */
	CU_ASSERT_EQUAL(handshake("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &out,
	    &used), -1);
	CU_ASSERT_TRUE(has_text(&out, "HTTP/1.1 400 "));
	CU_ASSERT_EQUAL(handshake("POST /mqtt HTTP/1.1\r\nUpgrade: websocket"
	    "\r\n\r\n", &out, &used), -1);
	CU_ASSERT_EQUAL(handshake("GET /mqtt HTTP/1.0\r\nUpgrade: websocket"
	    "\r\n\r\n", &out, &used), -1);
	/* Wrong version: 426 with the version we speak. */
	CU_ASSERT_EQUAL(handshake("GET / HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"
	    "==\r\nSec-WebSocket-Version: 8\r\n\r\n", &out, &used), -1);
	CU_ASSERT_TRUE(has_text(&out, "426 "));
	CU_ASSERT_TRUE(has_text(&out, "Sec-WebSocket-Version: 13\r\n"));
	/* Bad key. */
	CU_ASSERT_EQUAL(handshake("GET / HTTP/1.1\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: short==\r\n"
	    "Sec-WebSocket-Version: 13\r\n\r\n", &out, &used), -1);
	/* Subprotocols offered, none of them MQTT. */
	CU_ASSERT_EQUAL(handshake(REQ_HEAD "Sec-WebSocket-Protocol: chat, "
	    "mqttx\r\n\r\n", &out, &used), -1);
	/* No end of headers within WS_MAX_REQUEST bytes. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	buf_reset(&out);
	CU_ASSERT_EQUAL(ws_handshake(big, WS_MAX_REQUEST - 1, &out, &used,
	    &why), 0);
	CU_ASSERT_EQUAL(ws_handshake(big, sizeof(big), &out, &used, &why),
	    -1);
	CU_ASSERT_TRUE(has_text(&out, "431 "));
	buf_free(&out);
}

static void
test_ws_decode_frames(void)
{
	struct ws_decoder	d;
	struct got		g;
	uint8_t			buf[2048], payload[300];
	size_t			n = 0, i;
	uint16_t		code = 0;

	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	/* Short, 16-bit length, and an empty binary frame. */
	n += client_frame(buf + n, 0x82, payload, 10);
	n += client_frame(buf + n, 0x82, payload, 300);
	n += client_frame(buf + n, 0x82, payload, 0);
	CU_ASSERT_EQUAL(decode(&d, buf, n, 0, &g, &code), 0);
	CU_ASSERT_EQUAL(g.ndata, 310);
	CU_ASSERT_EQUAL(memcmp(g.data, payload, 10), 0);
	CU_ASSERT_EQUAL(memcmp(g.data + 10, payload, 300), 0);
	CU_ASSERT_EQUAL(g.nctl, 0);
}

static void
test_ws_decode_byte_by_byte(void)
{
	struct ws_decoder	d;
	struct got		g;
	uint8_t			buf[4096], payload[400];
	size_t			n = 0, i;
	uint16_t		code = 0;

	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	/* Fragmented: binary without FIN, a ping in between, then
	 * continuation with FIN. */
	n += client_frame(buf + n, 0x02, payload, 100);
	n += client_frame(buf + n, 0x89, (const uint8_t *)"hello", 5);
	n += client_frame(buf + n, 0x00, payload + 100, 200);
	n += client_frame(buf + n, 0x80, payload + 300, 50);
	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL_FATAL(decode(&d, buf + i, 1, 0, &g, &code), 0);
	CU_ASSERT_EQUAL(g.ndata, 350);
	CU_ASSERT_EQUAL(memcmp(g.data, payload, 350), 0);
	CU_ASSERT_EQUAL(g.nctl, 1);
	CU_ASSERT_EQUAL(g.ctl_op, WS_OP_PING);
	CU_ASSERT_EQUAL(g.nctl_bytes, 5);
	CU_ASSERT_EQUAL(memcmp(g.ctl, "hello", 5), 0);
	CU_ASSERT_FALSE(d.fragmented);
}

static void
test_ws_decode_64bit_length(void)
{
	static uint8_t		buf[70100], payload[70000];
	struct ws_decoder	d;
	struct got		g;
	size_t			n;
	uint16_t		code = 0;

	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	n = client_frame(buf, 0x82, payload, sizeof(payload));
	CU_ASSERT_EQUAL(buf[1], 0x80 | 127);
	/* Over the limit: 1009. */
	CU_ASSERT_EQUAL(decode(&d, buf, 14, 65536, &g, &code), -1);
	CU_ASSERT_EQUAL(code, WS_CLOSE_TOO_BIG);
	/* Within it: the payload streams through in pieces. */
	memset(&d, 0, sizeof(d));
	n = client_frame(buf, 0x82, payload, 4000);
	CU_ASSERT_EQUAL(decode(&d, buf, n, 65536, &g, &code), 0);
	CU_ASSERT_EQUAL(g.ndata, 4000);
}

static void
test_ws_decode_close(void)
{
	struct ws_decoder	d;
	struct got		g;
	uint8_t			buf[64];
	size_t			n;
	uint16_t		code = 0;

	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	n = client_frame(buf, 0x88, (const uint8_t *)"\x03\xe8", 2);
	n += client_frame(buf + n, 0x82, (const uint8_t *)"after", 5);
	CU_ASSERT_EQUAL(decode(&d, buf, n, 0, &g, &code), 0);
	CU_ASSERT_EQUAL(g.nctl, 1);
	CU_ASSERT_EQUAL(g.ctl_op, WS_OP_CLOSE);
	CU_ASSERT_EQUAL(g.nctl_bytes, 2);
	CU_ASSERT_TRUE(d.closed);
	/* Nothing after a close. */
	CU_ASSERT_EQUAL(g.ndata, 0);
}

/* One bad frame b0/b1 (with a mask and 0-length payload) gets code. */
static void
check_bad(uint8_t b0, uint8_t b1, uint16_t want)
{
	struct ws_decoder	d;
	struct got		g;
	uint8_t			buf[16] = { b0, b1, 1, 2, 3, 4 };
	uint16_t		code = 0;

	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	CU_ASSERT_EQUAL(decode(&d, buf, 6 + (b1 & 0x7f), 1000, &g, &code),
	    -1);
	CU_ASSERT_EQUAL(code, want);
}

static void
test_ws_decode_errors(void)
{
	struct ws_decoder	d;
	struct got		g;
	uint8_t			buf[256], payload[126];
	size_t			n;
	uint16_t		code = 0;

	check_bad(0x81, 0x80, WS_CLOSE_UNSUPPORTED);	/* text */
	check_bad(0x82, 0x00, WS_CLOSE_PROTOCOL);	/* not masked */
	/* Refused on its first 2 bytes, not after 4 more. */
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	buf[0] = 0x82;
	buf[1] = 0x02;
	CU_ASSERT_EQUAL(decode(&d, buf, 2, 0, &g, &code), -1);
	CU_ASSERT_EQUAL(code, WS_CLOSE_PROTOCOL);
	check_bad(0xc2, 0x80, WS_CLOSE_PROTOCOL);	/* RSV1 */
	check_bad(0x83, 0x80, WS_CLOSE_PROTOCOL);	/* opcode 3 */
	check_bad(0x8b, 0x80, WS_CLOSE_PROTOCOL);	/* opcode 0xb */
	check_bad(0x09, 0x80, WS_CLOSE_PROTOCOL);	/* fragmented ping */
	check_bad(0x80, 0x80, WS_CLOSE_PROTOCOL);	/* lone continuation */
	check_bad(0x88, 0x81, WS_CLOSE_PROTOCOL);	/* close of 1 byte */

	/* A ping longer than 125 bytes. */
	memset(&d, 0, sizeof(d));
	memset(&g, 0, sizeof(g));
	memset(payload, 0, sizeof(payload));
	n = client_frame(buf, 0x89, payload, 126);
	CU_ASSERT_EQUAL(decode(&d, buf, 8, 0, &g, &code), -1);
	CU_ASSERT_EQUAL(code, WS_CLOSE_PROTOCOL);

	/* A new binary message inside a fragmented one. */
	memset(&d, 0, sizeof(d));
	n = client_frame(buf, 0x02, payload, 3);
	n += client_frame(buf + n, 0x82, payload, 3);
	CU_ASSERT_EQUAL(decode(&d, buf, n, 0, &g, &code), -1);
	CU_ASSERT_EQUAL(code, WS_CLOSE_PROTOCOL);
}

static void
test_ws_frame_header(void)
{
	struct buf	b = BUF_INIT;

	ws_frame_header(&b, WS_OP_BINARY, 5);
	CU_ASSERT_EQUAL(b.len, 2);
	CU_ASSERT_EQUAL(b.data[0], 0x82);
	CU_ASSERT_EQUAL(b.data[1], 5);
	buf_reset(&b);
	ws_frame_header(&b, WS_OP_BINARY, 126);
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT_EQUAL(b.data[1], 126);
	CU_ASSERT_EQUAL(b.data[2], 0);
	CU_ASSERT_EQUAL(b.data[3], 126);
	buf_reset(&b);
	ws_frame_header(&b, WS_OP_BINARY, 65536);
	CU_ASSERT_EQUAL(b.len, 10);
	CU_ASSERT_EQUAL(b.data[1], 127);
	CU_ASSERT_EQUAL(b.data[7], 1);
	CU_ASSERT_EQUAL(b.data[8], 0);
	buf_reset(&b);
	ws_close_frame(&b, WS_CLOSE_NORMAL);
	CU_ASSERT_EQUAL(b.len, 4);
	CU_ASSERT_EQUAL(b.data[0], 0x88);
	CU_ASSERT_EQUAL(b.data[1], 2);
	CU_ASSERT_EQUAL(b.data[2], 0x03);
	CU_ASSERT_EQUAL(b.data[3], 0xe8);
	buf_free(&b);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_ws_accept_key),
		UNIT_TEST(test_ws_handshake_ok),
		UNIT_TEST(test_ws_handshake_partial),
		UNIT_TEST(test_ws_handshake_refused),
		UNIT_TEST(test_ws_decode_frames),
		UNIT_TEST(test_ws_decode_byte_by_byte),
		UNIT_TEST(test_ws_decode_64bit_length),
		UNIT_TEST(test_ws_decode_close),
		UNIT_TEST(test_ws_decode_errors),
		UNIT_TEST(test_ws_frame_header),
		UNIT_END
	};

	return (unit_run("ws", tests));
}
