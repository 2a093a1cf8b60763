/* SPDX-License-Identifier: MIT */
/*
 * Raft's transport (struct raft_uv_transport) over the CURVE links between
 * nodes, so that Raft traffic is authenticated and encrypted like all the
 * rest.  raft_uv wants a libuv stream per connection: each connection is a
 * socketpair; Raft gets one end (a uv_pipe_t from raft_malloc, which raft_uv
 * closes and frees), and we relay the other end's bytes as WIRE_RAFT_DATA
 * frames, numbered so that a lost frame (a link that broke and came back)
 * closes the stream instead of corrupting it.  Raft then reconnects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <raft.h>
#include <raft/uv.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/wire_msg.h"

#define TRANSPORT_READ_MAX	(256 * 1024)

struct tconn {
	struct transport	*t;
	uint64_t		 id;		/* chosen by the opener */
	bool			 outbound;	/* we opened it */
	struct link_peer	*peer;		/* outbound: the DEALER */
	struct ipc_peer		 rid;		/* inbound: opener's id */
	uint64_t		 node_id;	/* the other node */
	uint64_t		 boot_id;
	uv_pipe_t		 relay;		/* our end */
	uint64_t		 seq_out;
	uint64_t		 seq_in;
	struct tconn		*next;
};

struct tconnect {
	struct raft_uv_connect	*req;
	raft_id			 id;
	char			*address;
	raft_uv_connect_cb	 cb;
	struct tconnect		*next;
};

struct transport {
	struct raft_uv_transport	 rt;
	struct clusterd			*cd;
	raft_id				 id;
	char				 address[WIRE_NAME_MAX];
	raft_uv_accept_cb		 accept_cb;
	struct tconn			*conns;
	struct tconnect			*pending;
	uint64_t			 next_conn;
	uv_timer_t			 kick;
	raft_uv_transport_close_cb	 close_cb;
	int				 open_handles;
	bool				 closing;
	bool				 free_me;	/* once closed */
	bool				 in_close_cb;
	struct buf			 out;
	uint64_t			 opened, lost;
};

static void	transport_conn_close(struct tconn *c, bool tell_peer);

static void
transport_maybe_closed(struct transport *t)
{
	if (!t->closing || t->open_handles != 0)
		return;
	if (t->close_cb != NULL) {
		raft_uv_transport_close_cb cb = t->close_cb;

		/* The callback may end in transport_free(): it then only
		 * marks t, which is freed below. */
		t->close_cb = NULL;
		t->in_close_cb = true;
		cb(&t->rt);
		t->in_close_cb = false;
	}
	if (t->free_me) {
		buf_free(&t->out);
		free(t);
	}
}

static void
transport_handle_closed(uv_handle_t *h)
{
	struct tconn	*c = h->data;
	struct transport *t = c->t;

	free(c);
	t->open_handles--;
	transport_maybe_closed(t);
}

/* Sends a frame about c to the other side. */
static int
transport_send(struct tconn *c, const struct buf *b)
{
	struct clusterd	*cd = c->t->cd;

	if (c->outbound)
		return (link_send(cd, c->peer, b));
	return (link_reply(cd, &c->rid, b));
}

static void
transport_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	b->base = xmalloc(TRANSPORT_READ_MAX);
	b->len = TRANSPORT_READ_MAX;
}

static void
transport_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct tconn		*c = s->data;
	struct transport	*t = c->t;
	struct wire_raft_data	 d = { 0 };

	if (n > 0) {
		d.conn = c->id;
		d.seq = c->seq_out++;
		d.data = (const uint8_t *)b->base;
		d.len = (size_t)n;
		link_begin(t->cd, &t->out, WIRE_RAFT_DATA);
		wire_enc_raft_data(&t->out, &d);
		if (transport_send(c, &t->out) == -1) {
			log_trace(TRACE_RAFT, "transport: stream %llx to "
			    "%016llx: link down",
			    (unsigned long long)c->id,
			    (unsigned long long)c->node_id);
			transport_conn_close(c, false);
		}
	} else if (n < 0) {
		/* Raft closed its end (or it broke): tell the other side. */
		transport_conn_close(c, true);
	}
	free(b->base);
}

/* Makes a socketpair: *raft_end (for Raft, raft_malloc'd) and c's relay. */
static int
transport_pair(struct transport *t, struct tconn *c, uv_pipe_t **raft_end)
{
	uv_loop_t	*loop = t->cd->loop;
	uv_pipe_t	*p;
	int		 sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("transport: socketpair");
		return (-1);
	}
	if ((p = raft_malloc(sizeof(*p))) == NULL) {
		close(sv[0]);
		close(sv[1]);
		return (-1);
	}
	uv_pipe_init(loop, p, 0);
	uv_pipe_open(p, sv[0]);
	uv_pipe_init(loop, &c->relay, 0);
	uv_pipe_open(&c->relay, sv[1]);
	c->relay.data = c;
	t->open_handles++;
	c->next = t->conns;
	t->conns = c;
	uv_read_start((uv_stream_t *)&c->relay, transport_alloc_cb,
	    transport_read_cb);
	*raft_end = p;
	t->opened++;
	return (0);
}

static void
transport_conn_close(struct tconn *c, bool tell_peer)
{
	struct transport	*t = c->t;
	struct tconn		**pp;
	struct wire_raft_close	 cl;

	for (pp = &t->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (tell_peer) {
		cl.conn = c->id;
		link_begin(t->cd, &t->out, WIRE_RAFT_CLOSE);
		wire_enc_raft_close(&t->out, &cl);
		transport_send(c, &t->out);
	}
	/* Closing our end gives Raft's end EOF. */
	uv_close((uv_handle_t *)&c->relay, transport_handle_closed);
}

static void
transport_connect_one(struct transport *t, struct tconnect *p)
{
	struct link_peer	*peer;
	struct tconn		*c;
	struct wire_raft_open	 o = { 0 };
	uv_pipe_t		*raft_end;

	if (t->closing) {
		p->cb(p->req, NULL, RAFT_CANCELED);
		return;
	}
	if ((peer = link_peer_get(t->cd, p->address)) == NULL) {
		p->cb(p->req, NULL, RAFT_NOCONNECTION);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->t = t;
	c->id = ++t->next_conn;
	c->outbound = true;
	c->peer = peer;
	c->node_id = p->id;
	o.conn = c->id;
	o.raft_id = t->id;
	snprintf(o.address, sizeof(o.address), "%s", t->address);
	link_begin(t->cd, &t->out, WIRE_RAFT_OPEN);
	wire_enc_raft_open(&t->out, &o);
	/* The DEALER refuses at once while the peer is not connected. */
	if (link_send(t->cd, peer, &t->out) == -1) {
		free(c);
		p->cb(p->req, NULL, RAFT_NOCONNECTION);
		return;
	}
	if (transport_pair(t, c, &raft_end) == -1) {
		free(c);
		p->cb(p->req, NULL, RAFT_NOCONNECTION);
		return;
	}
	log_trace(TRACE_RAFT, "transport: stream %llx to %s open",
	    (unsigned long long)c->id, p->address);
	p->cb(p->req, (struct uv_stream_s *)raft_end, 0);
}

static void
transport_kick_cb(uv_timer_t *h)
{
	struct transport	*t = h->data;
	struct tconnect		*p;

	/* Connect callbacks run from here, never from inside connect(). */
	while ((p = t->pending) != NULL) {
		t->pending = p->next;
		transport_connect_one(t, p);
		free(p->address);
		free(p);
	}
}

static int
transport_init_cb(struct raft_uv_transport *rt, raft_id id,
    const char *address)
{
	struct transport	*t = rt->impl;

	t->id = id;
	snprintf(t->address, sizeof(t->address), "%s", address);
	return (0);
}

static int
transport_listen_cb(struct raft_uv_transport *rt, raft_uv_accept_cb cb)
{
	struct transport	*t = rt->impl;

	t->accept_cb = cb;
	return (0);
}

static int
transport_connect_cb(struct raft_uv_transport *rt,
    struct raft_uv_connect *req, raft_id id, const char *address,
    raft_uv_connect_cb cb)
{
	struct transport	*t = rt->impl;
	struct tconnect		*p, **pp;

	if (t->closing)
		return (RAFT_CANCELED);
	p = xcalloc(1, sizeof(*p));
	p->req = req;
	p->id = id;
	p->address = xstrdup(address);
	p->cb = cb;
	for (pp = &t->pending; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = p;
	uv_timer_start(&t->kick, transport_kick_cb, 0, 0);
	return (0);
}

static void
transport_kick_closed(uv_handle_t *h)
{
	struct transport	*t = h->data;

	t->open_handles--;
	transport_maybe_closed(t);
}

static void
transport_close_cb(struct raft_uv_transport *rt,
    raft_uv_transport_close_cb cb)
{
	struct transport	*t = rt->impl;
	struct tconnect		*p;

	t->closing = true;
	t->close_cb = cb;
	t->accept_cb = NULL;
	while ((p = t->pending) != NULL) {
		t->pending = p->next;
		p->cb(p->req, NULL, RAFT_CANCELED);
		free(p->address);
		free(p);
	}
	while (t->conns != NULL)
		transport_conn_close(t->conns, true);
	uv_close((uv_handle_t *)&t->kick, transport_kick_closed);
}

struct raft_uv_transport *
transport_new(struct clusterd *cd)
{
	struct transport	*t;

	t = xcalloc(1, sizeof(*t));
	t->cd = cd;
	t->rt.impl = t;
	t->rt.init = transport_init_cb;
	t->rt.listen = transport_listen_cb;
	t->rt.connect = transport_connect_cb;
	t->rt.close = transport_close_cb;
	/* Stream ids differ across restarts of this process. */
	t->next_conn = cd->boot_id << 20;
	buf_init(&t->out);
	uv_timer_init(cd->loop, &t->kick);
	t->kick.data = t;
	t->open_handles = 1;
	return (&t->rt);
}

void
transport_free(struct raft_uv_transport *rt)
{
	struct transport	*t;

	if (rt == NULL)
		return;
	t = rt->impl;
	/* raft_uv closed it, but our handles may still be closing. */
	if (t->closing && t->open_handles == 0 && !t->in_close_cb) {
		buf_free(&t->out);
		free(t);
	} else
		t->free_me = true;
}

static struct tconn *
transport_find(struct transport *t, bool outbound, uint64_t id,
    const struct ipc_peer *rid)
{
	struct tconn	*c;

	for (c = t->conns; c != NULL; c = c->next) {
		if (c->outbound != outbound || c->id != id)
			continue;
		if (!outbound && (c->rid.len != rid->len ||
		    memcmp(c->rid.id, rid->id, rid->len) != 0))
			continue;
		return (c);
	}
	return (NULL);
}

/* Writes bytes from the other side into Raft's stream. */
static void
transport_write_done(uv_write_t *w, int status)
{
	free(w);
}

static void
transport_deliver(struct tconn *c, const struct wire_raft_data *d)
{
	uv_write_t	*w;
	uv_buf_t	 b;
	int		 n;

	if (d->seq != c->seq_in) {
		c->t->lost++;
		log_warnx("transport: stream %llx from %016llx lost data "
		    "(frame %llu, expected %llu); closing it",
		    (unsigned long long)c->id,
		    (unsigned long long)c->node_id,
		    (unsigned long long)d->seq,
		    (unsigned long long)c->seq_in);
		transport_conn_close(c, true);
		return;
	}
	c->seq_in++;
	b.base = (char *)d->data;
	b.len = d->len;
	n = uv_try_write((uv_stream_t *)&c->relay, &b, 1);
	if (n == UV_EAGAIN)
		n = 0;
	if (n < 0) {
		transport_conn_close(c, true);
		return;
	}
	if ((size_t)n == d->len)
		return;
	/* The rest waits in libuv's queue, in order, with its own copy. */
	w = xmalloc(sizeof(*w) + d->len - n);
	memcpy(w + 1, d->data + n, d->len - n);
	b.base = (char *)(w + 1);
	b.len = d->len - n;
	if (uv_write(w, (uv_stream_t *)&c->relay, &b, 1,
	    transport_write_done) != 0) {
		free(w);
		transport_conn_close(c, true);
	}
}

void
transport_on_router(struct clusterd *cd, const struct ipc_peer *from,
    const struct wire_hdr *h, const uint8_t *p, size_t len)
{
	struct transport	*t;
	struct wire_raft_open	 o;
	struct wire_raft_data	 d;
	struct wire_raft_close	 cl;
	struct tconn		*c, *next;
	uv_pipe_t		*raft_end;

	if (cd->transport == NULL)
		return;
	t = cd->transport->impl;
	switch (h->type) {
	case WIRE_RAFT_OPEN:
		if (wire_dec_raft_open(p, len, &o) == -1 || o.raft_id == 0)
			goto bad;
		/* Streams from an earlier run of that node are dead. */
		for (c = t->conns; c != NULL; c = next) {
			next = c->next;
			if (!c->outbound && c->node_id == h->node_id &&
			    c->boot_id != h->boot_id)
				transport_conn_close(c, false);
		}
		c = xcalloc(1, sizeof(*c));
		c->t = t;
		c->id = o.conn;
		c->rid = *from;
		c->node_id = h->node_id;
		c->boot_id = h->boot_id;
		if (t->accept_cb == NULL || t->closing ||
		    transport_pair(t, c, &raft_end) == -1) {
			cl.conn = o.conn;
			link_begin(cd, &t->out, WIRE_RAFT_CLOSE);
			wire_enc_raft_close(&t->out, &cl);
			link_reply(cd, from, &t->out);
			free(c);
			return;
		}
		t->accept_cb(&t->rt, o.raft_id, o.address,
		    (struct uv_stream_s *)raft_end);
		break;
	case WIRE_RAFT_DATA:
		if (wire_dec_raft_data(p, len, &d) == -1)
			goto bad;
		if ((c = transport_find(t, false, d.conn, from)) == NULL) {
			/* We do not know it (we restarted): say so. */
			cl.conn = d.conn;
			link_begin(cd, &t->out, WIRE_RAFT_CLOSE);
			wire_enc_raft_close(&t->out, &cl);
			link_reply(cd, from, &t->out);
			return;
		}
		transport_deliver(c, &d);
		break;
	case WIRE_RAFT_CLOSE:
		if (wire_dec_raft_close(p, len, &cl) == -1)
			goto bad;
		if ((c = transport_find(t, false, cl.conn, from)) != NULL)
			transport_conn_close(c, false);
		break;
	}
	return;
 bad:
	log_warnx("transport: malformed %s from node %016llx dropped",
	    wire_type_name(h->type), (unsigned long long)h->node_id);
}

void
transport_on_dealer(struct clusterd *cd, struct link_peer *peer,
    const struct wire_hdr *h, const uint8_t *p, size_t len)
{
	struct transport	*t;
	struct wire_raft_data	 d;
	struct wire_raft_close	 cl;
	struct tconn		*c;

	if (cd->transport == NULL)
		return;
	t = cd->transport->impl;
	switch (h->type) {
	case WIRE_RAFT_DATA:
		if (wire_dec_raft_data(p, len, &d) == -1)
			goto bad;
		if ((c = transport_find(t, true, d.conn, NULL)) != NULL)
			transport_deliver(c, &d);
		break;
	case WIRE_RAFT_CLOSE:
		if (wire_dec_raft_close(p, len, &cl) == -1)
			goto bad;
		if ((c = transport_find(t, true, cl.conn, NULL)) != NULL)
			transport_conn_close(c, false);
		break;
	}
	return;
 bad:
	log_warnx("transport: malformed %s from %s dropped",
	    wire_type_name(h->type), peer->address);
}

void
transport_peer_down(struct clusterd *cd, struct link_peer *peer,
    uint64_t node_id)
{
	struct transport	*t;
	struct tconn		*c, *next;

	if (cd->transport == NULL)
		return;
	t = cd->transport->impl;
	for (c = t->conns; c != NULL; c = next) {
		next = c->next;
		if ((c->outbound && c->peer == peer) ||
		    (!c->outbound && node_id != 0 && c->node_id == node_id))
			transport_conn_close(c, false);
	}
}

void
transport_stats(struct clusterd *cd, uint64_t *streams, uint64_t *opened,
    uint64_t *lost)
{
	struct transport	*t;
	struct tconn		*c;

	*streams = *opened = *lost = 0;
	if (cd->transport == NULL)
		return;
	t = cd->transport->impl;
	for (c = t->conns; c != NULL; c = c->next)
		(*streams)++;
	*opened = t->opened;
	*lost = t->lost;
}
