/* SPDX-License-Identifier: MIT */
/*
 * Client connections: reading and framing MQTT packets, dispatching them,
 * batched output, flow control, timeouts and closing (see mqttd.h).
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/cluster.h"
#include "mqttd/mqttd.h"

/* One read(2) takes at most this much; packets are framed in place. */
#define CONN_READ_MAX		(64 * 1024)
/* A partial packet's buffer starts at most this big and doubles. */
#define CONN_INBUF_START	4096
/* Output buffers kept for reuse, and the largest kept. */
#define CONN_OBUF_POOL		256
#define CONN_OBUF_KEEP		(64 * 1024)

static uint8_t		 conn_rbuf[CONN_READ_MAX];
static struct buf	*conn_obuf_pool[CONN_OBUF_POOL];
static int		 conn_nobuf;

static void	conn_destroy(struct conn *);
static void	conn_keep_rest(struct conn *, const uint8_t *, size_t);

uint64_t
conn_mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

const char *
conn_client_id(const struct conn *c)
{
	if (c->sess != NULL)
		return (c->sess->client_id);
	return ("?");
}

size_t
conn_wbuf_len(const struct conn *c)
{
	return ((c->obuf != NULL ? c->obuf->len - c->ooff : 0) +
	    (c->x != NULL ? xport_pending(c) : 0));
}

bool
is_conn_wbuf_full(const struct conn *c)
{
	return (conn_wbuf_len(c) >= (size_t)broker->conf->max_write_buffer);
}

static void
conn_peer_name(struct conn *c, const struct sockaddr *sa)
{
	char	addr[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
		snprintf(c->peer, sizeof(c->peer), "%s:%u", addr,
		    ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
		snprintf(c->peer, sizeof(c->peer), "[%s]:%u", addr,
		    ntohs(sin6->sin6_port));
	} else
		snprintf(c->peer, sizeof(c->peer), "unknown");
}

/*
 * The size of the packet starting at hdr[0..n).  Returns 1 with *pkt_len
 * (fixed header included), 0 if more bytes are needed, -1 if malformed.
 * Done here rather than by mqtt_frame() because the size must be known
 * (and refused) before the whole packet has arrived.
 */
static int
conn_frame(const uint8_t *hdr, size_t n, size_t *pkt_len)
{
	uint32_t	val = 0, mult = 1;
	size_t		i;

	for (i = 1; i <= 4; i++) {
		if (i >= n)
			return (0);
		val += (hdr[i] & 0x7f) * mult;
		if ((hdr[i] & 0x80) == 0) {
			/* [MQTT-1.5.5-1]: the minimal number of bytes. */
			if (i > 1 && hdr[i] == 0)
				return (-1);
			*pkt_len = 1 + i + val;
			return (1);
		}
		mult *= 128;
	}
	return (-1);
}

/* The protocol level of a CONNECT that failed to decode, or 0. */
static uint8_t
conn_peek_level(const uint8_t *p, size_t len)
{
	size_t	off = 1, nlen;

	while (off < len && off < 5 && (p[off] & 0x80))
		off++;
	off++;
	if (off + 2 > len)
		return (0);
	nlen = be16_get(p + off);
	off += 2 + nlen;
	if (off >= len)
		return (0);
	return (p[off]);
}

static void
conn_send_raw_connack(struct conn *c, uint8_t level, uint8_t rc)
{
	struct mqtt_packet	pkt;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_CONNACK;
	pkt.u.connack.rc = rc;
	buf_reset(&broker->wbuf);
	if (mqtt_encode(&broker->wbuf, level, &pkt) == 0)
		conn_write(c, broker->wbuf.data, broker->wbuf.len);
}

static void
conn_connect_failed(struct conn *c, enum mqtt_rc rc, const char *why,
    const uint8_t *p, size_t len)
{
	uint8_t	level = conn_peek_level(p, len);

	log_warnx("client ? (%s): bad CONNECT: %s (%s)", c->peer, why,
	    mqtt_rc_name(rc));
	broker->stats.connects_refused++;
	if (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION) {
		if (level == MQTT_PROTO_V5)
			conn_send_raw_connack(c, MQTT_PROTO_V5, rc);
		else
			conn_send_raw_connack(c, MQTT_PROTO_V311,
			    MQTT_V3_REFUSED_PROTOCOL_VERSION);
	} else if (level == MQTT_PROTO_V5)
		conn_send_raw_connack(c, MQTT_PROTO_V5, rc);
	/* 3.1.1 [MQTT-3.1.4-1]: close without CONNACK. */
	conn_close(c, false, true);
}

static void
conn_packet(struct conn *c, const uint8_t *p, size_t len)
{
	struct mqtt_packet	 pkt;
	const char		*why = "?";
	enum mqtt_rc		 rc;
	unsigned		 type = p[0] >> 4;

	if (c->state == CONN_NEW && type != MQTT_CONNECT) {
		log_warnx("client ? (%s): %s before CONNECT, closing",
		    c->peer, mqtt_type_name(type));
		broker->stats.protocol_errors++;
		conn_close(c, false, false);
		return;
	}
	memset(&pkt, 0, sizeof(pkt));
	rc = mqtt_decode(p, len, c->state == CONN_NEW ? 0 : c->proto, &pkt,
	    &why);
	if (rc != MQTT_RC_SUCCESS) {
		if (rc == MQTT_RC_MALFORMED_PACKET)
			broker->stats.malformed_packets++;
		else
			broker->stats.protocol_errors++;
		if (c->state == CONN_NEW)
			conn_connect_failed(c, rc, why, p, len);
		else
			conn_fail(c, rc, why);
		mqtt_packet_clear(&pkt);
		return;
	}
	switch (type) {
	case MQTT_CONNECT:
		if (c->state == CONN_NEW) {
			if (!auth_connect_defer(c, &pkt.u.connect, p, len))
				connect_handle(c, &pkt);
		} else {
			broker->stats.protocol_errors++;
			conn_fail(c, MQTT_RC_PROTOCOL_ERROR, "second CONNECT");
		}
		break;
	case MQTT_PUBLISH:
		publish_handle(c, &pkt);
		limits_publish(c);
		break;
	case MQTT_PUBACK:
		deliver_handle_puback(c, &pkt);
		break;
	case MQTT_PUBREC:
		deliver_handle_pubrec(c, &pkt);
		break;
	case MQTT_PUBREL:
		publish_handle_pubrel(c, &pkt);
		break;
	case MQTT_PUBCOMP:
		deliver_handle_pubcomp(c, &pkt);
		break;
	case MQTT_SUBSCRIBE:
		subscribe_handle(c, &pkt);
		break;
	case MQTT_UNSUBSCRIBE:
		subscribe_handle_unsubscribe(c, &pkt);
		break;
	case MQTT_PINGREQ: {
		static const uint8_t pingresp[2] = { MQTT_PINGRESP << 4, 0 };

		conn_write(c, pingresp, sizeof(pingresp));
		break;
	}
	case MQTT_DISCONNECT:
		connect_handle_disconnect(c, &pkt);
		break;
	case MQTT_AUTH:
		broker->stats.protocol_errors++;
		conn_fail(c, MQTT_RC_PROTOCOL_ERROR,
		    "AUTH without enhanced authentication");
		break;
	default:
		broker->stats.protocol_errors++;
		conn_fail(c, MQTT_RC_PROTOCOL_ERROR,
		    "packet type a server does not accept");
		break;
	}
	mqtt_packet_clear(&pkt);
}

/* Keeps p[0..len), the start of a packet, in c->inbuf for the next read. */
static void
conn_keep_partial(struct conn *c, const uint8_t *p, size_t len,
    size_t pkt_len)
{
	size_t	cap;

	if (c->inbuf != NULL && p >= c->inbuf && p <= c->inbuf + c->inlen) {
		/* Already there (conn_read_partial() grows it). */
		if (p != c->inbuf)
			memmove(c->inbuf, p, len);
		c->inlen = (uint32_t)len;
		return;
	}
	/* Room for the whole packet, but grown as its bytes arrive, so
	 * that a header announcing 256 MB costs nothing until sent. */
	cap = pkt_len != 0 ? pkt_len : 5;
	if (cap > CONN_INBUF_START && cap > len * 2)
		cap = len * 2 > CONN_INBUF_START ? len * 2 : CONN_INBUF_START;
	c->inbuf = xmalloc(cap);
	memcpy(c->inbuf, p, len);
	c->inlen = (uint32_t)len;
	c->incap = (uint32_t)cap;
}

/* Keeps p[0..len) (any number of packets) in c->inbuf, in place or not. */
static void
conn_keep_rest(struct conn *c, const uint8_t *p, size_t len)
{
	uint8_t	*nb;

	if (c->inbuf != NULL && p >= c->inbuf && p <= c->inbuf + c->inlen) {
		if (p != c->inbuf)
			memmove(c->inbuf, p, len);
		c->inlen = (uint32_t)len;
		return;
	}
	nb = xmalloc(len);
	memcpy(nb, p, len);
	free(c->inbuf);
	c->inbuf = nb;
	c->inlen = c->incap = (uint32_t)len;
}

static size_t
conn_limit(void)
{
	return (broker->conf->max_message_size > 0 ?
	    (size_t)broker->conf->max_message_size : MQTT_MAX_REMAINING + 5);
}

/*
 * Frames and handles the packets in p[0..len) (the shared read buffer, or
 * c->inbuf).  What is left of an incomplete packet goes to c->inbuf.
 */
static void
conn_input(struct conn *c, const uint8_t *p, size_t len)
{
	size_t	off = 0, pkt_len = 0, limit = conn_limit();
	int	r;

	while (off < len && c->state != CONN_CLOSING && !c->dead &&
	    c->hold == 0) {
		/* Refuse by the first byte, without waiting for the rest. */
		if (c->state == CONN_NEW && (p[off] >> 4) != MQTT_CONNECT) {
			log_warnx("client ? (%s): %s instead of CONNECT, "
			    "closing", c->peer, mqtt_type_name(p[off] >> 4));
			broker->stats.protocol_errors++;
			conn_close(c, false, false);
			break;
		}
		if ((p[off] >> 4) == 0) {
			broker->stats.malformed_packets++;
			conn_fail(c, MQTT_RC_MALFORMED_PACKET,
			    "reserved packet type 0");
			break;
		}
		if ((r = conn_frame(p + off, len - off, &pkt_len)) == -1) {
			broker->stats.malformed_packets++;
			if (c->state == CONN_NEW) {
				log_warnx("client ? (%s): bad remaining "
				    "length, closing", c->peer);
				conn_close(c, false, false);
			} else
				conn_fail(c, MQTT_RC_MALFORMED_PACKET,
				    "bad remaining length");
			break;
		}
		if (r == 1 && pkt_len > limit) {
			broker->stats.packets_too_large++;
			if (c->state == CONN_NEW) {
				log_warnx("client ? (%s): CONNECT of %zu "
				    "bytes over max_message_size, closing",
				    c->peer, pkt_len);
				conn_close(c, false, false);
			} else
				conn_fail(c, MQTT_RC_PACKET_TOO_LARGE,
				    "packet over max_message_size");
			break;
		}
		if (r == 0 || len - off < pkt_len) {
			conn_keep_partial(c, p + off, len - off,
			    r == 1 ? pkt_len : 0);
			return;
		}
		conn_packet(c, p + off, pkt_len);
		off += pkt_len;
		broker->stats.bytes_in += pkt_len;
	}
	if (c->hold != 0 && off < len && c->state != CONN_CLOSING &&
	    !c->dead) {
		/* Held: what is left waits, whole, for conn_release(). */
		conn_keep_rest(c, p + off, len - off);
		return;
	}
	/* Everything used (or the connection is going): no partial. */
	free(c->inbuf);
	c->inbuf = NULL;
	c->inlen = c->incap = 0;
}

/* Reads into c->inbuf, which holds the start of a packet.  Returns the
 * read(2) result. */
static ssize_t
conn_read_partial(struct conn *c)
{
	size_t	pkt_len = 0, want;
	ssize_t	n;
	int	r;

	if (c->inlen == c->incap) {
		/* Full but the packet is not: grow towards its size. */
		if (conn_frame(c->inbuf, c->inlen, &pkt_len) != 1)
			pkt_len = 5;
		want = (size_t)c->incap * 2;
		if (want > pkt_len)
			want = pkt_len;
		c->inbuf = xrealloc(c->inbuf, want);
		c->incap = (uint32_t)want;
	}
	n = read(c->fd, c->inbuf + c->inlen, c->incap - c->inlen);
	if (n <= 0)
		return (n);
	c->inlen += (uint32_t)n;
	r = conn_frame(c->inbuf, c->inlen, &pkt_len);
	/* Still incomplete (and not too large): read more first. */
	if (r == 0 || (r == 1 && pkt_len > c->inlen &&
	    pkt_len <= conn_limit()))
		return (n);
	conn_input(c, c->inbuf, c->inlen);
	return (n);
}

/*
 * Handles the whole packets a hold kept in c->inbuf (or fails c on a bad
 * header there).  A single incomplete packet stays for conn_read_partial()
 * or conn_feed().
 */
static void
conn_input_kept(struct conn *c)
{
	size_t	pkt_len = 0;
	int	r;

	if (c->inbuf == NULL || c->hold != 0)
		return;
	r = conn_frame(c->inbuf, c->inlen, &pkt_len);
	if (r == 0 || (r == 1 && pkt_len > c->inlen &&
	    pkt_len <= conn_limit()))
		return;
	conn_input(c, c->inbuf, c->inlen);
}

void
conn_lost(struct conn *c, const char *how)
{
	if (c->state == CONN_CLOSING) {
		conn_destroy(c);
		return;
	}
	log_debug("client %s (%s): connection %s", conn_client_id(c),
	    c->peer, how);
	if (c->state == CONN_ACTIVE)
		broker->stats.disconnects_lost++;
	conn_close(c, false, false);
}

static void
conn_readcb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	c->busy = true;
	if (c->state != CONN_CLOSING) {
		/* After a hold: the input kept goes first; a hold (again)
		 * means no reading (the event may have been activated). */
		conn_input_kept(c);
		if (c->hold != 0 || c->state == CONN_CLOSING || c->dead)
			goto out;
	}
	if (c->x != NULL) {
		if (c->state != CONN_CLOSING)
			c->last_rx = conn_mono_now();
		n = xport_read(c);
		if (n == 0)
			conn_lost(c, "closed");
		else if (n == -1)
			conn_lost(c, "lost");
		goto out;
	}
	if (c->state == CONN_CLOSING) {
		/* Drain so that closing does not reset the connection. */
		n = read(fd, conn_rbuf, sizeof(conn_rbuf));
	} else {
		c->last_rx = conn_mono_now();
		if (c->inbuf != NULL)
			n = conn_read_partial(c);
		else if ((n = read(fd, conn_rbuf, sizeof(conn_rbuf))) > 0)
			conn_input(c, conn_rbuf, (size_t)n);
	}
	if (n == 0)
		conn_lost(c, "closed");
	else if (n == -1 && errno != EAGAIN && errno != EINTR)
		conn_lost(c, "lost");
 out:
	c->busy = false;
	if (c->dead)
		conn_destroy(c);
}

static void
conn_obuf_release(struct conn *c)
{
	struct buf	*b = c->obuf;

	c->obuf = NULL;
	c->ooff = 0;
	if (b == NULL)
		return;
	if (conn_nobuf < CONN_OBUF_POOL && b->cap <= CONN_OBUF_KEEP) {
		buf_reset(b);
		conn_obuf_pool[conn_nobuf++] = b;
	} else {
		buf_free(b);
		free(b);
	}
}

void
conn_write(struct conn *c, const void *p, size_t n)
{
	if (c->obuf == NULL) {
		if (conn_nobuf > 0)
			c->obuf = conn_obuf_pool[--conn_nobuf];
		else {
			c->obuf = xmalloc(sizeof(*c->obuf));
			buf_init(c->obuf);
		}
	}
	buf_add(c->obuf, p, n);
	broker->stats.bytes_out += n;
	if (!c->wfull && n > 0 && is_conn_wbuf_full(c)) {
		/* Deliveries wait (QoS 1/2) or are dropped (QoS 0) from now
		 * until the client reads. */
		c->wfull = true;
		broker->stats.limit_write_buffer++;
		limits_log(LIMITS_WRITE_BUFFER, conn_client_id(c), c->peer,
		    "output over max_write_buffer, deliveries wait");
	}
	if (!c->dirty) {
		if (TAILQ_EMPTY(&broker->dirty) && broker->flush_ev != NULL)
			event_active(broker->flush_ev, EV_WRITE, 0);
		TAILQ_INSERT_TAIL(&broker->dirty, c, dirty_link);
		c->dirty = true;
	}
}

static void	conn_writecb(evutil_socket_t, short, void *);
static int	conn_write_done(struct conn *);
static void	conn_arm_write(struct conn *);

/*
 * Writes what c has to send.  Returns 0, or -1 if the connection is broken
 * (the caller closes it).  What the socket does not take waits for the
 * write event.
 */
static int
conn_write_out(struct conn *c)
{
	struct buf	*b = c->obuf;
	ssize_t		 n;
	bool		 more = false;

	if (c->x != NULL) {
		/* The layer takes all of obuf and keeps what is not out. */
		if (xport_write(c, &more) == -1)
			return (-1);
		conn_obuf_release(c);
		if (!more) {
			c->wfull = false;
			return (conn_write_done(c));
		}
		conn_arm_write(c);
		return (0);
	}
	if (b == NULL)
		return (0);
	while (c->ooff < b->len) {
		n = write(c->fd, b->data + c->ooff, b->len - c->ooff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return (-1);
			break;
		}
		c->ooff += (size_t)n;
	}
	if (c->ooff == b->len) {
		conn_obuf_release(c);
		c->wfull = false;
		return (conn_write_done(c));
	}
	/* Keep the pending bytes compact. */
	if (c->ooff > CONN_OBUF_KEEP && c->ooff > b->len / 2) {
		memmove(b->data, b->data + c->ooff, b->len - c->ooff);
		b->len -= c->ooff;
		c->ooff = 0;
	}
	conn_arm_write(c);
	return (0);
}

/* Everything is written.  Returns 0. */
static int
conn_write_done(struct conn *c)
{
	if (c->wev != NULL)
		event_del(c->wev);
	if (c->state == CONN_CLOSING && !c->wshut) {
		/* Everything is out: send FIN, wait for the peer's. */
		shutdown(c->fd, SHUT_WR);
		c->wshut = true;
		/* Exiting: no need to wait for the peer. */
		if (broker->shutting_down)
			conn_destroy(c);
	}
	return (0);
}

/* Output lags: the write event sends the rest. */
static void
conn_arm_write(struct conn *c)
{
	if (c->wev == NULL)
		c->wev = event_new(broker->base, c->fd, EV_WRITE | EV_PERSIST,
		    conn_writecb, c);
	if (!event_pending(c->wev, EV_WRITE, NULL))
		event_add(c->wev, NULL);
}

/* The socket takes more of what conn_flush() could not write. */
static void
conn_writecb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	c->busy = true;
	if (conn_write_out(c) == -1)
		conn_lost(c, "lost on write");
	else if (c->state != CONN_CLOSING && c->wblocked &&
	    !is_conn_wbuf_full(c) && c->sess != NULL) {
		c->wblocked = false;
		deliver_pump(c->sess);
	}
	c->busy = false;
	if (c->dead)
		conn_destroy(c);
}

/* Writes c's output of this round: usually one write(2) that takes it
 * all, with no event to arm. */
static void
conn_flush(struct conn *c)
{
	TAILQ_REMOVE(&broker->dirty, c, dirty_link);
	c->dirty = false;
	if (c->wev != NULL && event_pending(c->wev, EV_WRITE, NULL))
		return;		/* the socket is full: the event writes */
	c->busy = true;
	if (conn_write_out(c) == -1)
		conn_lost(c, "lost on write");
	c->busy = false;
	if (c->dead)
		conn_destroy(c);
}

void
conn_flush_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&broker->dirty)) != NULL)
		conn_flush(c);
}

void
conn_pause_read(struct conn *c)
{
	if (!c->rpaused && c->state != CONN_CLOSING) {
		event_del(&c->rev);
		c->rpaused = true;
	}
}

void
conn_resume_read(struct conn *c)
{
	if (c->rpaused && c->state != CONN_CLOSING && c->hold == 0) {
		event_add(&c->rev, NULL);
		c->rpaused = false;
		c->last_rx = conn_mono_now();
	}
}

struct conn *
conn_new(struct listener *lst, int fd, const struct sockaddr *sa, int salen)
{
	struct conn	*c;
	int		 one = 1;

	(void)salen;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (evutil_make_socket_nonblocking(fd) == -1) {
		log_warn("conn: nonblocking");
		evutil_closesocket(fd);
		return (NULL);
	}
	c = xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->lst = lst;
	conn_peer_name(c, sa);
	c->state = CONN_NEW;
	c->last_rx = conn_mono_now();
	c->problem_info = true;
	event_assign(&c->rev, broker->base, fd, EV_READ | EV_PERSIST,
	    conn_readcb, c);
	if (lst != NULL && lst->cl->kind != CONF_LISTENER_TCP &&
	    xport_new(c, lst->cl->kind) == -1) {
		evutil_closesocket(fd);
		free(c);
		return (NULL);
	}
	event_add(&c->rev, NULL);
	TAILQ_INSERT_TAIL(&broker->conns, c, link);
	broker->nconns++;
	broker->stats.connections_accepted++;
	return (c);
}

static void
conn_destroy(struct conn *c)
{
	if (c->busy) {
		c->dead = true;
		return;
	}
	if (c->state == CONN_CLOSING)
		TAILQ_REMOVE(&broker->closing, c, link);
	if (c->dirty)
		TAILQ_REMOVE(&broker->dirty, c, dirty_link);
	event_del(&c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	auth_conn_free(c);
	durable_conn_gone(c);
	cluster_conn_free(c);
	limits_free(c);
	xport_free(c);
	free(c->username);
	evutil_closesocket(c->fd);
	conn_obuf_release(c);
	free(c->inbuf);
	if (c->ain != NULL) {
		alias_in_clear(c->ain);
		free(c->ain);
	}
	if (c->aout != NULL) {
		alias_out_clear(c->aout);
		free(c->aout);
	}
	free(c);
	if (broker->shutting_down && TAILQ_EMPTY(&broker->conns) &&
	    TAILQ_EMPTY(&broker->closing) && broker->base != NULL)
		event_base_loopexit(broker->base, NULL);
}

void
conn_close(struct conn *c, bool normal, bool flush)
{
	struct session	*s;

	if (c->state == CONN_CLOSING)
		return;
	if ((s = c->sess) != NULL) {
		c->sess = NULL;
		/* The session may be gone after this (expiry 0). */
		session_detach(s, normal);
	}
	if (c->state == CONN_ACTIVE)
		broker->nclients--;
	TAILQ_REMOVE(&broker->conns, c, link);
	broker->nconns--;
	c->state = CONN_CLOSING;
	TAILQ_INSERT_TAIL(&broker->closing, c, link);
	if (flush && c->x != NULL)
		xport_closing(c);
	if (!flush || conn_wbuf_len(c) == 0) {
		conn_destroy(c);
		return;
	}
	/* Flush, then FIN, then wait (bounded) for the peer's FIN while
	 * reading and dropping what it still sends. */
	c->last_rx = conn_mono_now() + MQTTD_CLOSE_LINGER * 1000;
	if (c->rpaused) {
		event_add(&c->rev, NULL);
		c->rpaused = false;
	}
}

int
conn_send(struct conn *c, const struct mqtt_packet *pkt)
{
	buf_reset(&broker->wbuf);
	if (mqtt_encode(&broker->wbuf, c->proto, pkt) == -1) {
		log_warnx("client %s (%s): cannot encode %s",
		    conn_client_id(c), c->peer, mqtt_type_name(pkt->type));
		return (-1);
	}
	if (c->max_packet != 0 && broker->wbuf.len > c->max_packet) {
		log_debug("client %s (%s): %s over the client's maximum "
		    "packet size, not sent", conn_client_id(c), c->peer,
		    mqtt_type_name(pkt->type));
		return (-1);
	}
	conn_write(c, broker->wbuf.data, broker->wbuf.len);
	return (0);
}

void
conn_send_disconnect(struct conn *c, enum mqtt_rc rc, const char *why)
{
	struct mqtt_packet	pkt;

	if (c->proto != MQTT_PROTO_V5 || c->state == CONN_CLOSING)
		return;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_DISCONNECT;
	pkt.u.disconnect.rc = rc;
	/*
	 * A Reason String is allowed on DISCONNECT whatever Request Problem
	 * Information says ([MQTT-3.1.2-29]).  It also makes the packet
	 * longer than 2 bytes, below which paho 1.6 ignores the reason code.
	 */
	if (why == NULL)
		why = mqtt_rc_name(rc);
	MQTT_PROP_SET(&pkt.u.disconnect.props, MQTT_PROP_REASON_STRING);
	pkt.u.disconnect.props.reason_string.p = (const uint8_t *)why;
	pkt.u.disconnect.props.reason_string.len = strlen(why);
	if (conn_send(c, &pkt) == -1) {
		/* Over the client's Maximum Packet Size: without it. */
		pkt.u.disconnect.props.present = 0;
		if (conn_send(c, &pkt) == -1)
			return;
	}
	broker->stats.disconnects_sent++;
}

void
conn_send_ack(struct conn *c, enum mqtt_type type, uint16_t pid, uint8_t rc)
{
	uint8_t	b[5];
	size_t	n = 4;

	/*
	 * The four acks are fixed 4-byte packets (5 with a reason code in
	 * 5.0): written directly, they are on the hot path.
	 */
	b[0] = (uint8_t)(type << 4) | (type == MQTT_PUBREL ? 0x02 : 0);
	b[1] = 2;
	be16_put(b + 2, pid);
	if (rc != 0 && c->proto == MQTT_PROTO_V5) {
		b[1] = 3;
		b[4] = rc;
		n = 5;
	}
	conn_write(c, b, n);
}

void
conn_fail(struct conn *c, enum mqtt_rc rc, const char *why)
{
	if (c->state == CONN_CLOSING)
		return;
	log_warnx("client %s (%s): %s (%s), closing", conn_client_id(c),
	    c->peer, why, mqtt_rc_name(rc));
	if (c->state == CONN_ACTIVE)
		conn_send_disconnect(c, rc, why);
	else if (c->proto == MQTT_PROTO_V5)
		conn_send_raw_connack(c, MQTT_PROTO_V5, rc);
	conn_close(c, false, true);
}

void
conn_sweep(uint64_t mono)
{
	struct conn	*c, *next;
	uint64_t	 limit;

	TAILQ_FOREACH_SAFE(c, &broker->conns, link, next) {
		if (c->state == CONN_NEW) {
			if (mono - c->last_rx > MQTTD_CONNECT_TIMEOUT * 1000) {
				log_info("client ? (%s): no CONNECT within "
				    "%d s, closing", c->peer,
				    MQTTD_CONNECT_TIMEOUT);
				broker->stats.connect_timeouts++;
				conn_close(c, false, false);
			}
			continue;
		}
		if (c->keepalive == 0 || c->rpaused)
			continue;
		/* [MQTT-3.1.2-24]: one and a half times the keep alive. */
		limit = (uint64_t)c->keepalive * 1500;
		if (mono > c->last_rx && mono - c->last_rx > limit) {
			log_info("client %s (%s): keep alive of %u s expired, "
			    "closing", conn_client_id(c), c->peer,
			    c->keepalive);
			broker->stats.keepalive_timeouts++;
			conn_send_disconnect(c, MQTT_RC_KEEP_ALIVE_TIMEOUT,
			    "keep alive timeout");
			conn_close(c, false, true);
		}
	}
	TAILQ_FOREACH_SAFE(c, &broker->closing, link, next) {
		if (mono >= c->last_rx)
			conn_destroy(c);
	}
}

void
conn_close_all(void)
{
	struct conn	*c;

	while ((c = TAILQ_FIRST(&broker->conns)) != NULL) {
		if (c->state == CONN_ACTIVE)
			conn_send_disconnect(c, MQTT_RC_SERVER_SHUTTING_DOWN,
			    "server shutting down");
		conn_close(c, true, true);
	}
}

void
conn_free_all(void)
{
	struct conn	*c;

	conn_close_all();
	while ((c = TAILQ_FIRST(&broker->closing)) != NULL) {
		c->busy = false;
		conn_destroy(c);
	}
	while (conn_nobuf > 0) {
		buf_free(conn_obuf_pool[--conn_nobuf]);
		free(conn_obuf_pool[conn_nobuf]);
	}
}

void
conn_hold(struct conn *c, uint8_t why)
{
	c->hold |= why;
	conn_pause_read(c);
}

void
conn_release(struct conn *c, uint8_t why)
{
	c->hold &= ~why;
	if (c->hold == 0 && c->state != CONN_CLOSING && !c->dead) {
		conn_resume_read(c);
		/*
		 * The input kept while held (and what a TLS layer still
		 * holds) is handled by the read callback, before anything
		 * newer: never here, where c may be inside conn_input()
		 * already.
		 */
		if (c->inbuf != NULL || c->x != NULL)
			event_active(&c->rev, EV_READ, 0);
	}
	if (!c->busy && c->dead)
		conn_destroy(c);
}

void
conn_feed(struct conn *c, const uint8_t *p, size_t len)
{
	size_t	need, cap;

	if (c->state == CONN_CLOSING || c->dead || len == 0)
		return;
	if (c->inbuf == NULL && c->hold == 0) {
		conn_input(c, p, len);
		return;
	}
	/* Behind a partial packet or a hold: append.  conn_input() bounds
	 * a partial packet by max_message_size, and a held connection
	 * stops reading. */
	need = (size_t)c->inlen + len;
	if (need > UINT32_MAX) {
		conn_fail(c, MQTT_RC_PACKET_TOO_LARGE, "input too large");
		return;
	}
	if (need > c->incap) {
		cap = (size_t)c->incap * 2;
		if (cap < need)
			cap = need;
		if (cap > conn_limit() + CONN_READ_MAX && need <=
		    conn_limit() + CONN_READ_MAX)
			cap = conn_limit() + CONN_READ_MAX;
		if (cap > UINT32_MAX)
			cap = need;
		c->inbuf = xrealloc(c->inbuf, cap);
		c->incap = (uint32_t)cap;
	}
	memcpy(c->inbuf + c->inlen, p, len);
	c->inlen = (uint32_t)need;
	if (c->hold == 0)
		conn_input(c, c->inbuf, c->inlen);
}
