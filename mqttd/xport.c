/* SPDX-License-Identifier: MIT */
/*
 * The TLS and WebSocket layers between a client's socket and conn.c's
 * MQTT framing (listener.ssl, listener.ws, listener.wss).  conn.c calls
 * xport_read() instead of read(2) and xport_write() instead of write(2);
 * plain TCP connections never come here.
 *
 * TLS uses OpenSSL directly on the non-blocking socket (SSL_read,
 * SSL_write, the handshake's WANT_READ/WANT_WRITE) rather than
 * bufferevent_openssl: the broker's sockets are read and written by
 * conn.c itself (one shared read buffer, one write per round), and a
 * bufferevent would add a second buffering layer and its own callbacks
 * under every TLS connection.  Output goes through one buffer per
 * connection (wbuf): the MQTT bytes of a round, framed for WebSocket,
 * plus control frames and HTTP replies.  conn_wbuf_len() counts it, so
 * max_write_buffer bounds TLS and WebSocket clients as it bounds TCP ones.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/mqttd.h"
#include "mqttd/xport.h"

/* One read takes at most this much. */
#define XPORT_READ_MAX		(16 * 1024)
/* Reads per callback before giving other connections a turn. */
#define XPORT_READS_PER_CB	16
/* Output buffers larger than this are freed once written. */
#define XPORT_WBUF_KEEP		(16 * 1024)

struct xport {
	SSL		*ssl;		/* NULL: no TLS */
	bool		 tls_up;	/* handshake done */
	bool		 tls_shut;	/* close_notify sent */
	bool		 write_wants_read;
	char		*identity;	/* client certificate CN, owned */
	bool		 ws;
	bool		 ws_up;		/* upgrade answered */
	bool		 ws_close_sent;
	uint16_t	 ws_close_code;	/* to send after the output; 0 */
	struct buf	 hbuf;		/* the HTTP request so far */
	struct ws_decoder dec;
	struct buf	 wbuf;		/* bytes for the socket */
	size_t		 woff;		/* of wbuf, written */
};

static SSL_CTX	*xport_ctx;
static uint8_t	 xport_rbuf[XPORT_READ_MAX];

static bool
has_xport_tls_listener(void)
{
	const struct conf	*conf = broker->conf;
	int			 i;

	for (i = 0; i < conf->nlisteners; i++)
		if (conf->listeners[i].kind == CONF_LISTENER_SSL ||
		    conf->listeners[i].kind == CONF_LISTENER_WSS)
			return (true);
	return (false);
}

int
xport_tls_init(bool reload, char *err, size_t errlen)
{
	const struct conf	*conf = broker->conf;
	SSL_CTX			*ctx;

	if (!has_xport_tls_listener())
		return (0);
	ctx = tls_ctx_new(conf->ssl_certfile, conf->ssl_keyfile,
	    conf->ssl_cafile, conf->ssl_require_certificate, err, errlen);
	if (ctx == NULL)
		return (-1);
	/* Connections keep the context they started with (refcounted). */
	SSL_CTX_free(xport_ctx);
	xport_ctx = ctx;
	log_info("tls: %s certificate %s%s%s", reload ? "reloaded" : "loaded",
	    conf->ssl_certfile, conf->ssl_require_certificate ?
	    ", client certificates required by " : "",
	    conf->ssl_require_certificate ? conf->ssl_cafile : "");
	if (!reload && conf->ssl_use_identity_as_username &&
	    !conf->ssl_require_certificate)
		log_warnx("tls: use_identity_as_username without "
		    "require_certificate: TLS clients have no identity and "
		    "are refused");
	return (0);
}

void
xport_tls_free(void)
{
	SSL_CTX_free(xport_ctx);
	xport_ctx = NULL;
}

int
xport_new(struct conn *c, enum conf_listener_kind kind)
{
	struct xport	*x;
	char		 e[256];

	x = xcalloc(1, sizeof(*x));
	buf_init(&x->hbuf);
	buf_init(&x->wbuf);
	x->ws = kind == CONF_LISTENER_WS || kind == CONF_LISTENER_WSS;
	if (kind == CONF_LISTENER_SSL || kind == CONF_LISTENER_WSS) {
		if (xport_ctx == NULL ||
		    (x->ssl = SSL_new(xport_ctx)) == NULL ||
		    SSL_set_fd(x->ssl, c->fd) != 1) {
			log_warnx("client ? (%s): TLS: %s", c->peer,
			    xport_ctx == NULL ? "no context" :
			    tls_error(e, sizeof(e)));
			SSL_free(x->ssl);
			free(x);
			return (-1);
		}
		SSL_set_accept_state(x->ssl);
	}
	c->x = x;
	return (0);
}

void
xport_free(struct conn *c)
{
	struct xport	*x = c->x;

	if (x == NULL)
		return;
	SSL_free(x->ssl);
	free(x->identity);
	buf_free(&x->hbuf);
	buf_free(&x->wbuf);
	free(x);
	c->x = NULL;
}

const char *
xport_identity(const struct conn *c)
{
	return (c->x != NULL ? c->x->identity : NULL);
}

bool
is_xport_tls(const struct conn *c)
{
	return (c->x != NULL && c->x->ssl != NULL);
}

size_t
xport_pending(const struct conn *c)
{
	struct xport	*x = c->x;

	return (x->wbuf.len - x->woff + (x->ws_close_code != 0 ? 4 : 0));
}

/* Output waits in wbuf: have conn.c write it this round. */
static void
xport_schedule(struct conn *c)
{
	conn_write(c, "", 0);
}

static void
xport_tls_failed(struct conn *c, const char *what, int err)
{
	char	e[256];

	broker->stats.tls_failures++;
	if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
		log_info("client %s (%s): TLS %s: %s", conn_client_id(c),
		    c->peer, what, errno != 0 ? strerror(errno) :
		    "connection closed");
		return;
	}
	log_info("client %s (%s): TLS %s: %s", conn_client_id(c), c->peer,
	    what, tls_error(e, sizeof(e)));
}

/* The handshake is done: note the client certificate. */
static void
xport_tls_up(struct conn *c)
{
	struct xport	*x = c->x;
	X509		*cert;

	x->tls_up = true;
	broker->stats.tls_handshakes++;
	cert = SSL_get0_peer_certificate(x->ssl);
	if (cert != NULL && SSL_get_verify_result(x->ssl) == X509_V_OK)
		x->identity = tls_cert_cn(cert);
	log_debug("client ? (%s): %s, %s%s%s", c->peer, SSL_get_version(x->ssl),
	    SSL_get_cipher_name(x->ssl), x->identity != NULL ?
	    ", certificate CN " : "", x->identity != NULL ? x->identity : "");
}

/*
 * Advances the handshake.  Returns 1 when done, 0 when it waits (on
 * *want_write, or on reading), -1 on failure (logged).
 */
static int
xport_handshake(struct conn *c, bool *want_write)
{
	struct xport	*x = c->x;
	int		 r, err;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(x->ssl)) == 1) {
		xport_tls_up(c);
		return (1);
	}
	err = SSL_get_error(x->ssl, r);
	if (err == SSL_ERROR_WANT_READ)
		return (0);
	if (err == SSL_ERROR_WANT_WRITE) {
		*want_write = true;
		return (0);
	}
	xport_tls_failed(c, "handshake failed", err);
	return (-1);
}

/*
 * Reads up to len bytes of the stream (decrypted).  Returns the count, 0
 * at the end of the stream, -1 on error, -2 when nothing is there now.
 */
static ssize_t
xport_recv(struct conn *c, uint8_t *p, size_t len)
{
	struct xport	*x = c->x;
	ssize_t		 n;
	bool		 ww = false;
	int		 r, err;

	if (x->ssl == NULL) {
		n = read(c->fd, p, len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return (-2);
		return (n);
	}
	if (!x->tls_up) {
		r = xport_handshake(c, &ww);
		if (ww)
			xport_schedule(c);
		if (r != 1)
			return (r == 0 ? -2 : -1);
	}
	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read(x->ssl, p, (int)len)) > 0)
		return (r);
	err = SSL_get_error(x->ssl, r);
	switch (err) {
	case SSL_ERROR_WANT_READ:
		return (-2);
	case SSL_ERROR_WANT_WRITE:
		xport_schedule(c);
		return (-2);
	case SSL_ERROR_ZERO_RETURN:
		return (0);
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_error() == 0 && (errno == 0 || errno ==
		    ECONNRESET))
			return (0);	/* closed without close_notify */
		/* FALLTHROUGH */
	default:
		xport_tls_failed(c, "read failed", err);
		return (-1);
	}
}

static void
xport_ws_data(void *arg, const uint8_t *p, size_t len)
{
	conn_feed(arg, p, len);
}

static void
xport_ws_control(void *arg, uint8_t opcode, const uint8_t *p, size_t len)
{
	struct conn	*c = arg;
	struct xport	*x = c->x;
	uint16_t	 code;

	if (c->state == CONN_CLOSING || c->dead)
		return;
	if (opcode == WS_OP_PING) {
		ws_frame_header(&x->wbuf, WS_OP_PONG, len);
		buf_add(&x->wbuf, p, len);
		xport_schedule(c);
	} else if (opcode == WS_OP_CLOSE) {
		/* The close handshake: echo the status, then close. */
		code = len >= 2 ? (uint16_t)((p[0] << 8) | p[1]) :
		    WS_CLOSE_NORMAL;
		log_debug("client %s (%s): WebSocket close %u",
		    conn_client_id(c), c->peer, code);
		x->ws_close_code = code;
		if (c->state == CONN_ACTIVE)
			broker->stats.disconnects_lost++;
		conn_close(c, false, true);
	}
}

/* Bytes of a WebSocket connection: the upgrade request, then frames.
 * Returns 0, or -1 when the connection is being closed. */
static int
xport_ws_input(struct conn *c, uint8_t *p, size_t len)
{
	struct xport		*x = c->x;
	struct ws_sink		 sink = { xport_ws_data, xport_ws_control, c };
	const char		*why = "?";
	uint64_t		 limit;
	size_t			 used = 0;
	uint16_t		 code = 0;
	int			 r;

	if (!x->ws_up) {
		buf_add(&x->hbuf, p, len);
		r = ws_handshake(x->hbuf.data, x->hbuf.len, &x->wbuf, &used,
		    &why);
		if (r == 0)
			return (0);
		if (r == -1) {
			broker->stats.ws_failures++;
			log_info("client ? (%s): WebSocket upgrade refused: %s",
			    c->peer, why);
			xport_schedule(c);
			conn_close(c, false, true);
			return (-1);
		}
		x->ws_up = true;
		broker->stats.ws_upgrades++;
		xport_schedule(c);
		/* Frames sent right behind the request. */
		p = x->hbuf.data + used;
		len = x->hbuf.len - used;
	}
	limit = broker->conf->max_message_size > 0 ?
	    (uint64_t)broker->conf->max_message_size : 0;
	r = ws_decode(&x->dec, p, len, limit, &sink, &code, &why);
	if (x->hbuf.data != NULL && x->ws_up)
		buf_free(&x->hbuf);
	if (r == -1 && c->state != CONN_CLOSING) {
		broker->stats.ws_failures++;
		log_info("client %s (%s): WebSocket: %s, closing",
		    conn_client_id(c), c->peer, why);
		if (c->state == CONN_ACTIVE)
			broker->stats.disconnects_lost++;
		x->ws_close_code = code;
		conn_close(c, false, true);
		return (-1);
	}
	return (0);
}

int
xport_read(struct conn *c)
{
	struct xport	*x = c->x;
	ssize_t		 n;
	int		 i;

	for (i = 0; i < XPORT_READS_PER_CB; i++) {
		/* Held: the layer keeps the rest until conn_release(). */
		if (c->hold != 0 && c->state != CONN_CLOSING)
			return (1);
		n = xport_recv(c, xport_rbuf, sizeof(xport_rbuf));
		if (n == -2)
			break;
		if (n <= 0)
			return ((int)n);
		if (c->state == CONN_CLOSING || c->dead)
			continue;	/* drained and dropped */
		if (x->ws) {
			if (xport_ws_input(c, xport_rbuf, (size_t)n) == -1)
				return (1);
		} else
			conn_feed(c, xport_rbuf, (size_t)n);
	}
	if (i == XPORT_READS_PER_CB && x->ssl != NULL)
		event_active(&c->rev, EV_READ, 0);	/* more may wait */
	if (x->write_wants_read) {
		x->write_wants_read = false;
		xport_schedule(c);
	}
	return (1);
}

/* Moves c's MQTT output into wbuf (one binary frame for WebSocket). */
static void
xport_take_output(struct conn *c)
{
	struct xport	*x = c->x;
	struct buf	*b = c->obuf;
	size_t		 n;

	if (b != NULL && c->ooff < b->len) {
		n = b->len - c->ooff;
		if (x->ws && x->ws_up)
			ws_frame_header(&x->wbuf, WS_OP_BINARY, n);
		buf_add(&x->wbuf, b->data + c->ooff, n);
		c->ooff = b->len;
	}
	if (x->ws_close_code != 0 && !x->ws_close_sent) {
		if (x->ws_up)
			ws_close_frame(&x->wbuf, x->ws_close_code);
		x->ws_close_sent = true;
		x->ws_close_code = 0;
	}
}

int
xport_write(struct conn *c, bool *more)
{
	struct xport	*x = c->x;
	ssize_t		 n;
	int		 r, err;

	*more = false;
	xport_take_output(c);
	if (x->ssl != NULL && !x->tls_up) {
		r = xport_handshake(c, more);
		if (r == -1)
			return (-1);
		if (r == 0)
			return (0);
	}
	while (x->woff < x->wbuf.len) {
		if (x->ssl == NULL) {
			n = write(c->fd, x->wbuf.data + x->woff,
			    x->wbuf.len - x->woff);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN)
					return (-1);
				*more = true;
				break;
			}
			x->woff += (size_t)n;
			continue;
		}
		ERR_clear_error();
		errno = 0;
		r = SSL_write(x->ssl, x->wbuf.data + x->woff,
		    (int)(x->wbuf.len - x->woff > INT32_MAX ? INT32_MAX :
		    x->wbuf.len - x->woff));
		if (r > 0) {
			x->woff += (size_t)r;
			continue;
		}
		err = SSL_get_error(x->ssl, r);
		if (err == SSL_ERROR_WANT_WRITE) {
			*more = true;
			break;
		}
		if (err == SSL_ERROR_WANT_READ) {
			/* Retried after the next read. */
			x->write_wants_read = true;
			break;
		}
		xport_tls_failed(c, "write failed", err);
		return (-1);
	}
	if (x->woff == x->wbuf.len) {
		x->woff = 0;
		if (x->wbuf.cap > XPORT_WBUF_KEEP)
			buf_free(&x->wbuf);
		else
			buf_reset(&x->wbuf);
		if (c->state == CONN_CLOSING && x->ssl != NULL &&
		    x->tls_up && !x->tls_shut) {
			/* close_notify, once; the FIN follows. */
			x->tls_shut = true;
			ERR_clear_error();
			(void)SSL_shutdown(x->ssl);
		}
	} else if (x->woff > XPORT_WBUF_KEEP && x->woff > x->wbuf.len / 2) {
		memmove(x->wbuf.data, x->wbuf.data + x->woff,
		    x->wbuf.len - x->woff);
		x->wbuf.len -= x->woff;
		x->woff = 0;
	}
	return (0);
}

void
xport_closing(struct conn *c)
{
	struct xport	*x = c->x;

	if (!x->ws || !x->ws_up || x->ws_close_sent)
		return;
	if (x->ws_close_code == 0)
		x->ws_close_code = WS_CLOSE_NORMAL;
	xport_schedule(c);
}
