/* SPDX-License-Identifier: MIT */
/*
 * The pure parts of mqttd's TLS and WebSocket layers, kept apart from the
 * connection glue (xport.c) so that unit tests can drive them with bytes:
 * the RFC 6455 server side (ws.c) and the OpenSSL server context and
 * certificate helpers (tls.c).
 */
#ifndef MQTTD_XPORT_H
#define MQTTD_XPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "common/buf.h"

/* ws.c: the WebSocket handshake and framing (RFC 6455, server side). */

/* The HTTP upgrade request may not be longer. */
#define WS_MAX_REQUEST		8192
/* Sec-WebSocket-Accept: base64 of a SHA-1, without the NUL. */
#define WS_ACCEPT_LEN		28

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xa
};

/* Close status codes used here. */
#define WS_CLOSE_NORMAL		1000
#define WS_CLOSE_PROTOCOL	1002
#define WS_CLOSE_UNSUPPORTED	1003
#define WS_CLOSE_TOO_BIG	1009

/*
 * Sec-WebSocket-Accept for key[0..len): base64(SHA-1(key + GUID)), written
 * NUL-terminated to out.
 */
void	ws_accept_key(const char *key, size_t len,
	    char out[WS_ACCEPT_LEN + 1]);
/*
 * Parses the HTTP upgrade request at req[0..len) (the bytes read so far).
 * Returns 1 when it is complete and acceptable: the 101 response is
 * appended to out and *used is the request's length (bytes after it are
 * frames).  Returns 0 when more bytes are needed.  Returns -1 when it is
 * refused (malformed, not an upgrade, a wrong version, no acceptable
 * subprotocol, longer than WS_MAX_REQUEST): an HTTP error response is
 * appended to out and *why says why.  The subprotocol chosen is "mqtt",
 * else "mqttv3.1"; a request naming none is accepted without one.
 */
int	ws_handshake(const uint8_t *req, size_t len, struct buf *out,
	    size_t *used, const char **why);

/* Where decoded frames go. */
struct ws_sink {
	/* Unmasked payload bytes of binary (and continuation) frames. */
	void	(*data)(void *arg, const uint8_t *p, size_t len);
	/* A whole control frame: WS_OP_PING, WS_OP_PONG or WS_OP_CLOSE. */
	void	(*control)(void *arg, uint8_t opcode, const uint8_t *p,
		    size_t len);
	void	*arg;
};

/* The decoder of a client's frames; zero it to start. */
struct ws_decoder {
	uint8_t		 hdr[14];	/* header bytes so far */
	uint8_t		 hlen;
	bool		 in_payload;	/* header done, payload follows */
	uint8_t		 opcode;	/* of the current frame */
	bool		 fin;
	bool		 fragmented;	/* a data message is unfinished */
	bool		 closed;	/* a close frame was received */
	uint8_t		 mask[4];
	uint8_t		 moff;		/* payload offset mod 4 */
	uint64_t	 left;		/* payload bytes still to come */
	uint8_t		 ctl[125];	/* control frame payload */
	uint8_t		 ctllen;
};

/*
 * Decodes p[0..len) (unmasked in place), calling sink as frames arrive;
 * frames may be cut anywhere.  Data frames longer than max_frame (0: no
 * limit) are refused.  Bytes after a close frame are ignored.  Returns 0,
 * or -1 with the close status to send in *code and the reason in *why
 * (text frames, unmasked frames, reserved bits or opcodes, bad control
 * frames, continuation errors, frames too big).
 */
int	ws_decode(struct ws_decoder *d, uint8_t *p, size_t len,
	    uint64_t max_frame, const struct ws_sink *sink, uint16_t *code,
	    const char **why);
/* Appends an unmasked frame header (FIN set) for a payload of len. */
void	ws_frame_header(struct buf *out, uint8_t opcode, uint64_t len);
/* Appends a close frame with status code (0: no status). */
void	ws_close_frame(struct buf *out, uint16_t code);

/* tls.c: the server context and client certificates. */

/*
 * Returns a new server context: TLS 1.2 and 1.3, certificate chain and key
 * from PEM files, and with cafile (may be NULL) the CAs that client
 * certificates are verified against; require_cert refuses clients without
 * a valid one (needs cafile).  Returns NULL with the reason (file and
 * OpenSSL's error) in err.  Free with SSL_CTX_free().
 */
SSL_CTX	*tls_ctx_new(const char *certfile, const char *keyfile,
	    const char *cafile, bool require_cert, char *err, size_t errlen);
/* The subject common name of cert as UTF-8, or NULL if it has none (or
 * it holds a NUL).  Returns a new string; free with free(). */
char	*tls_cert_cn(X509 *cert);
/* OpenSSL's last error queued on this thread, as text in buf (cleared). */
const char *tls_error(char *buf, size_t len);

#endif
