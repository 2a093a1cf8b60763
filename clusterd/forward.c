/* SPDX-License-Identifier: MIT */
/*
 * Forwarding: messages published on this node for subscribers on others,
 * and the reverse.  mqttd sends IPC_FORWARD (a body and its target nodes);
 * each target node's share goes into our stream to that node: one ordered
 * stream per peer, numbered per (our boot id, its boot id), batched into
 * one WIRE_FORWARD per peer at the end of every loop iteration.  The peer
 * takes number n only after n - 1 and passes each message to its mqttd
 * (IPC_DELIVER); once that mqttd acknowledges it (its durable appends
 * done, IPC_DELIVER_ACK) the ack travels back (WIRE_FORWARD_ACK, batched)
 * and, when every target node answered, to our mqttd (IPC_FORWARD_ACK):
 * only then does the publisher get its PUBACK.
 *
 * Losses: a link that drops loses a tail of frames; after it comes back,
 * or when acks stop coming, or when the peer reports a gap
 * (WIRE_FORWARD_NACK), everything unacknowledged is sent again and the
 * peer drops what it has already taken.  A peer that restarted (another
 * boot id) gets the stream renumbered from 1.  A peer down for longer than
 * FWD_DEAD_MS, or no longer a member, has its forwards completed as
 * IPC_FWD_GONE (not delivered: nobody there to deliver to), so that a dead
 * node never holds the publishers of the others.  QoS 0 (unnumbered) is
 * sent once, in order with the rest, and dropped while the link is down.
 */
#include <sys/queue.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/wire_msg.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define FWD_FRAME_MAX	(256 * 1024)	/* bytes per WIRE_FORWARD */
#define FWD_RESEND_MS	2000		/* no ack for this long: again */
#define FWD_DEAD_MS	5000		/* peer silent this long: GONE */
#define FWD_NACK_MS	200		/* gap reports per peer at most */
#define FWD_READY_MS	5000		/* not caught up: go on anyway */

/* One IPC_FORWARD that waits for IPC_FORWARD_ACK. */
struct fwd_req {
	uint64_t	 id;		/* mqttd's */
	uint32_t	 pending;	/* target nodes not answered */
	uint8_t		 rc;		/* worst answer so far */
};

/* One message in our stream to a peer. */
struct fwd_ent {
	TAILQ_ENTRY(fwd_ent) link;
	uint64_t	 seq;		/* 0: QoS 0, sent once */
	struct fwd_req	*req;		/* NULL: nobody waits */
	bool		 repl;		/* a replica copy */
	uint8_t		*data;		/* targets + body, encoded */
	size_t		 len;
};
TAILQ_HEAD(fwd_ent_list, fwd_ent);

/* A message from a peer, handed to mqttd and not acknowledged yet. */
struct fwd_dlv {
	TAILQ_ENTRY(fwd_dlv) link;
	uint64_t	 id;		/* IPC_DELIVER id, ours */
	uint64_t	 from;
	uint64_t	 from_boot;
	uint64_t	 seq;
	uint8_t		*payload;	/* IPC_DELIVER payload */
	size_t		 len;
	bool		 sent;
};
TAILQ_HEAD(fwd_dlv_list, fwd_dlv);

/* Another node: our stream to it and its stream to us. */
struct fwd_peer {
	uint64_t		 node;
	/* out */
	uint64_t		 peer_boot;	/* the stream is for; 0 = not yet */
	uint64_t		 next_seq;
	struct fwd_ent_list	 ents;		/* in order, unacknowledged */
	struct fwd_ent		*unsent;	/* first not sent, or NULL */
	size_t			 nents;
	uint64_t		 progress_at;	/* last ack or send */
	uint64_t		 created;	/* uv_now() */
	bool			 gone;		/* down too long */
	bool			 repl_lost;	/* replica copies given up */
	/* in */
	uint64_t		 in_boot;
	uint64_t		 expected;
	uint64_t		 nack_at;
	struct ipc_ack_ent	*acks;		/* to send it */
	size_t			 nacks;
	size_t			 acks_cap;
};

struct forward {
	struct clusterd		*cd;
	struct fwd_peer		**peers;
	size_t			 npeers;
	struct fwd_dlv_list	 dlvs;
	uint64_t		 next_dlv;
	struct ipc_ack_ent	*acks;		/* IPC_FORWARD_ACK to send */
	size_t			 nacks;
	size_t			 acks_cap;
	struct buf		 out;
	struct buf		 tmp;
	bool			 ready;		/* members known: forwarding */
	struct buf		*early;		/* IPC_FORWARD frames before */
	size_t			 nearly;
	struct buf		 dbatch;	/* IPC_DELIVER frame being built */
	size_t			 dbatch_at;
	uint32_t		 dbatch_n;
	struct forward_stats	 st;
};

static void
fwd_ack_add(struct ipc_ack_ent **v, size_t *n, size_t *cap, uint64_t id,
    uint8_t rc)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xreallocarray(*v, *cap, sizeof(**v));
	}
	(*v)[*n].id = id;
	(*v)[*n].rc = rc;
	(*n)++;
}

static struct fwd_peer *
fwd_peer(struct forward *f, uint64_t node, bool create)
{
	struct fwd_peer	*pe;
	size_t		 i;

	for (i = 0; i < f->npeers; i++)
		if (f->peers[i]->node == node)
			return (f->peers[i]);
	if (!create)
		return (NULL);
	pe = xcalloc(1, sizeof(*pe));
	pe->node = node;
	pe->created = uv_now(f->cd->loop);
	pe->next_seq = 1;
	pe->expected = 1;
	TAILQ_INIT(&pe->ents);
	f->peers = xreallocarray(f->peers, f->npeers + 1, sizeof(*f->peers));
	f->peers[f->npeers++] = pe;
	return (pe);
}

/*
 * True when the peer has been silent for FWD_DEAD_MS (since its last pong,
 * or since we first wanted to send it something).
 */
static bool
is_fwd_dead(struct forward *f, struct fwd_peer *pe, struct link_peer *lp)
{
	uint64_t	now = uv_now(f->cd->loop), since;

	if (lp == NULL)
		return (true);
	if (link_is_up(lp))
		return (false);
	since = lp->last_pong > pe->created ? lp->last_pong : pe->created;
	return (now - since > FWD_DEAD_MS);
}

/* ------------------------------------------------ answers to mqttd */

static void
fwd_req_done(struct forward *f, struct fwd_req *req, uint8_t rc)
{
	if (rc > req->rc)
		req->rc = rc;
	if (--req->pending > 0)
		return;
	fwd_ack_add(&f->acks, &f->nacks, &f->acks_cap, req->id, req->rc);
	f->st.acked++;
	free(req);
	route_schedule(f->cd);
}

static void
fwd_ent_free(struct forward *f, struct fwd_peer *pe, struct fwd_ent *e,
    uint8_t rc)
{
	if (pe->unsent == e)
		pe->unsent = TAILQ_NEXT(e, link);
	TAILQ_REMOVE(&pe->ents, e, link);
	pe->nents--;
	if (e->seq != 0)
		f->st.pending_out--;
	if (e->repl)
		f->st.repl_pending--;
	if (e->req != NULL)
		fwd_req_done(f, e->req, rc);
	free(e->data);
	free(e);
}

/* Completes everything in pe's stream with rc (the peer is gone). */
static void
fwd_peer_drain(struct forward *f, struct fwd_peer *pe, uint8_t rc)
{
	struct fwd_ent	*e;
	size_t		 n = 0;

	while ((e = TAILQ_FIRST(&pe->ents)) != NULL) {
		if (e->seq != 0 && rc == IPC_FWD_GONE)
			f->st.gone++;
		if (e->repl)
			pe->repl_lost = true;
		fwd_ent_free(f, pe, e, rc);
		n++;
	}
	if (n > 0)
		log_warnx("forward: %zu messages for node %016" PRIx64 " not "
		    "delivered (node gone)", n, pe->node);
}

/* -------------------------------------------------- from our mqttd */

struct fwd_node_ctx {
	uint64_t	*ids;
	size_t		 n;
	size_t		 cap;
	uint64_t	 self;
};

static void
fwd_add_node(struct fwd_node_ctx *c, uint64_t id)
{
	size_t	i;

	if (id == c->self)
		return;
	for (i = 0; i < c->n; i++)
		if (c->ids[i] == id)
			return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->ids = xreallocarray(c->ids, c->cap, sizeof(*c->ids));
	}
	c->ids[c->n++] = id;
}

static void
fwd_member_cb(struct clusterd *cd, uint64_t id, const char *name,
    const char *address, void *arg)
{
	fwd_add_node(arg, id);
}

/* Queues data (owned, taken) for pe; req may be NULL. */
static void
fwd_enqueue(struct forward *f, struct fwd_peer *pe, uint8_t *data,
    size_t len, bool numbered, struct fwd_req *req)
{
	struct fwd_ent	*e;

	e = xcalloc(1, sizeof(*e));
	e->data = data;
	e->len = len;
	if (numbered) {
		e->seq = pe->next_seq++;
		e->req = req;
		if (req != NULL)
			req->pending++;
		f->st.pending_out++;
	}
	TAILQ_INSERT_TAIL(&pe->ents, e, link);
	pe->nents++;
	if (pe->unsent == NULL)
		pe->unsent = e;
}

/*
 * A replica write of our mqttd (issue 8): one copy per replica node of the
 * sessions it touches, each in our ordered stream to that node, answered
 * once every copy is acknowledged there (stored by its mqttd).  A replica
 * node that is gone is skipped: the write is then under-replicated
 * (IPC_FWD_GONE), which mqttd counts and accepts.
 */
static void
fwd_on_replica(struct forward *f, const struct ipc_forward *v)
{
	struct clusterd		*cd = f->cd;
	struct replica_copies	 c;
	struct fwd_req		*req;
	struct fwd_peer		*pe;
	struct link_peer	*lp;
	struct ipc_fwd_target	 t = { 0 };
	struct ipc_store_body	 b = v->body;
	uint8_t			*data, rc = IPC_FWD_OK;
	size_t			 i, len;

	f->st.repl_writes++;
	req = xcalloc(1, sizeof(*req));
	req->id = v->id;
	req->pending = 1;	/* ours, until the loop is done */
	if (replica_split(cd, &v->body, &c) == -1) {
		log_warnx("forward: malformed replica write from mqttd "
		    "dropped");
		fwd_req_done(f, req, IPC_FWD_ERROR);
		return;
	}
	t.kind = IPC_FWD_REPL;
	for (i = 0; i < c.n; i++) {
		lp = membership_link(cd, c.v[i].node);
		pe = lp != NULL ? fwd_peer(f, c.v[i].node, true) : NULL;
		if (pe != NULL && !pe->gone && is_fwd_dead(f, pe, lp))
			pe->gone = true;
		if (pe == NULL || pe->gone) {
			if (pe != NULL)
				pe->repl_lost = true;
			rc = IPC_FWD_GONE;
			continue;
		}
		b.payload.p = c.v[i].req.data;
		b.payload.len = c.v[i].req.len;
		buf_reset(&f->tmp);
		ipc_enc_fwd_targets(&f->tmp, &t, 1, false);
		ipc_enc_store_body(&f->tmp, &b);
		data = buf_release(&f->tmp, &len);
		fwd_enqueue(f, pe, data, len, true, req);
		TAILQ_LAST(&pe->ents, fwd_ent_list)->repl = true;
		f->st.repl_pending++;
		f->st.repl_copies++;
	}
	if (rc != IPC_FWD_OK)
		f->st.repl_under++;
	replica_copies_free(&c);
	fwd_req_done(f, req, rc);
	route_schedule(cd);
}

static void
fwd_on_forward(struct forward *f, const struct ipc_forward *v)
{
	struct clusterd		*cd = f->cd;
	struct fwd_node_ctx	 nodes = { 0 };
	struct fwd_req		*req = NULL;
	struct fwd_peer		*pe;
	struct link_peer	*lp;
	struct ipc_fwd_target	*mine;
	uint8_t			*data;
	uint32_t		 i, n;
	size_t			 k, len;
	bool			 numbered, counts;
	uint8_t			 gone_rc = IPC_FWD_OK;

	if (v->ntargets == 1 && v->targets[0].kind == IPC_FWD_REPL) {
		fwd_on_replica(f, v);
		return;
	}
	f->st.forwards++;
	nodes.self = cd->node_id;
	numbered = (v->flags & IPC_FWD_F_ACK) != 0;
	for (i = 0; i < v->ntargets; i++) {
		if (v->targets[i].kind == IPC_FWD_RETAIN)
			numbered = true;
		if (v->targets[i].node == IPC_FWD_ALL_NODES)
			membership_walk(cd, fwd_member_cb, &nodes);
		else
			fwd_add_node(&nodes, v->targets[i].node);
	}
	if (v->flags & IPC_FWD_F_ACK) {
		req = xcalloc(1, sizeof(*req));
		req->id = v->id;
		req->pending = 1;	/* ours, until the loop is done */
	}
	mine = xcalloc(v->ntargets ? v->ntargets : 1, sizeof(*mine));
	for (k = 0; k < nodes.n; k++) {
		n = 0;
		counts = false;
		for (i = 0; i < v->ntargets; i++) {
			if (v->targets[i].node != nodes.ids[k] &&
			    v->targets[i].node != IPC_FWD_ALL_NODES)
				continue;
			mine[n] = v->targets[i];
			mine[n].node = 0;
			if (mine[n].kind != IPC_FWD_RETAIN)
				counts = true;
			n++;
		}
		lp = membership_link(cd, nodes.ids[k]);
		pe = lp != NULL ? fwd_peer(f, nodes.ids[k], true) : NULL;
		if (pe != NULL && !pe->gone && is_fwd_dead(f, pe, lp))
			pe->gone = true;
		if (pe == NULL || pe->gone) {
			if (counts && req != NULL)
				gone_rc = IPC_FWD_GONE;
			if (numbered)
				f->st.gone++;
			else
				f->st.dropped_qos0++;
			continue;
		}
		if (!numbered && !link_is_up(lp)) {
			f->st.dropped_qos0++;
			continue;
		}
		buf_reset(&f->tmp);
		ipc_enc_fwd_targets(&f->tmp, mine, n, false);
		ipc_enc_store_body(&f->tmp, &v->body);
		data = buf_release(&f->tmp, &len);
		fwd_enqueue(f, pe, data, len, numbered, counts ? req : NULL);
	}
	free(mine);
	free(nodes.ids);
	if (req != NULL)
		fwd_req_done(f, req, gone_rc);
	route_schedule(cd);
}

static void
fwd_on_deliver_ack(struct forward *f, const struct ipc_acks *a)
{
	struct fwd_dlv	*d, *next;
	struct fwd_peer	*pe;
	uint32_t	 i;

	for (i = 0; i < a->n; i++) {
		/* Answers come nearly in order: look from the front. */
		TAILQ_FOREACH_SAFE(d, &f->dlvs, link, next) {
			if (d->id != a->ents[i].id)
				continue;
			pe = fwd_peer(f, d->from, false);
			if (pe != NULL && pe->in_boot == d->from_boot)
				fwd_ack_add(&pe->acks, &pe->nacks,
				    &pe->acks_cap, d->seq, a->ents[i].rc);
			TAILQ_REMOVE(&f->dlvs, d, link);
			f->st.pending_in--;
			free(d->payload);
			free(d);
			break;
		}
	}
	route_schedule(f->cd);
}

/* One IPC_FORWARD frame: a batch, every forward of one of mqttd's loop
 * rounds.  Returns 0, or -1 if malformed. */
static int
fwd_on_batch(struct forward *f, const uint8_t *payload, size_t plen)
{
	struct ipc_forward	 v;
	struct rbuf		 r;
	const uint8_t		*p;
	size_t			 len;
	uint32_t		 n;
	int			 rc;

	if (ipc_batch_first(&r, payload, plen, &n) == -1)
		return (-1);
	while ((rc = ipc_batch_next(&r, &n, &p, &len)) == 1) {
		if (ipc_dec_forward(p, len, &v) == -1)
			return (-1);
		fwd_on_forward(f, &v);
		ipc_forward_free(&v);
	}
	return (rc == -1 ? -1 : 0);
}

/*
 * After a restart clusterd learns the members (and whether each is up)
 * only once its Raft log is applied: a forward taken before would find
 * no node to send to and complete as gone, a loss and, for the messages
 * after it, a reordering.  So forwards wait until the state machine has
 * caught up with the leader (or FWD_READY_MS passed, e.g. in a
 * minority), then go in the order they came.
 */
static bool
fwd_is_ready(struct forward *f)
{
	struct clusterd	*cd = f->cd;
	size_t		 i;

	if (f->ready)
		return (true);
	if (!is_membership_caught_up(cd) &&
	    uv_now(cd->loop) - cd->started_ms < FWD_READY_MS)
		return (false);
	f->ready = true;
	if (f->nearly > 0)
		log_info("forward: members known: forwarding %zu batches "
		    "that came before", f->nearly);
	for (i = 0; i < f->nearly; i++) {
		if (fwd_on_batch(f, f->early[i].data, f->early[i].len) == -1)
			f->cd->counters.ipc_bad++;
		buf_free(&f->early[i]);
	}
	free(f->early);
	f->early = NULL;
	f->nearly = 0;
	return (true);
}

void
forward_on_ipc(struct clusterd *cd, const struct ipc_msg *m)
{
	struct forward		*f = cd->fwd;
	struct ipc_acks		 a;
	struct buf		*b;

	if (f == NULL)
		return;
	if (m->type == IPC_FORWARD) {
		if (!fwd_is_ready(f)) {
			f->early = xreallocarray(f->early, f->nearly + 1,
			    sizeof(*f->early));
			b = &f->early[f->nearly++];
			buf_init(b);
			buf_add(b, m->payload, m->len);
			return;
		}
		if (fwd_on_batch(f, m->payload, m->len) == -1)
			goto bad;
		return;
	}
	if (m->type == IPC_DELIVER_ACK) {
		if (ipc_dec_acks(m->payload, m->len, &a) == -1)
			goto bad;
		fwd_on_deliver_ack(f, &a);
		ipc_acks_free(&a);
		return;
	}
 bad:
	cd->counters.ipc_bad++;
	log_warnx("forward: malformed %s (%zu bytes) from mqttd dropped",
	    ipc_type_name(m->type), m->len);
}

/* ------------------------------------------------ to our mqttd */

/* Sends the IPC_DELIVER batch being built, if any. */
static int
fwd_flush_dlv(struct forward *f)
{
	int	rc;

	if (f->dbatch_n == 0)
		return (0);
	ipc_batch_end(&f->dbatch, f->dbatch_at, f->dbatch_n);
	rc = route_to_mqttd(f->cd, IPC_DELIVER, &f->dbatch);
	buf_reset(&f->dbatch);
	f->dbatch_n = 0;
	return (rc);
}

/*
 * Adds one delivery to the IPC_DELIVER batch (sent at the end of the loop
 * iteration, or when it grows past FWD_FRAME_MAX).  Returns 0, or -1 when
 * mqttd is away (what is numbered goes again when it is back).
 */
static int
fwd_send_dlv(struct forward *f, const uint8_t *payload, size_t len)
{
	if (!is_route_mqttd_up(f->cd))
		return (-1);
	if (f->dbatch_n == 0)
		f->dbatch_at = ipc_batch_begin(&f->dbatch);
	ipc_batch_add(&f->dbatch, payload, len);
	f->dbatch_n++;
	if (f->dbatch.len > FWD_FRAME_MAX)
		return (fwd_flush_dlv(f));
	route_schedule(f->cd);
	return (0);
}

void
forward_on_mqttd(struct clusterd *cd, bool up)
{
	struct forward	*f = cd->fwd;
	struct fwd_dlv	*d;

	if (f == NULL)
		return;
	/* A new (or returning) mqttd gets every unanswered delivery again,
	 * in order; it may see some twice (QoS 1 allows it). */
	TAILQ_FOREACH(d, &f->dlvs, link) {
		d->sent = false;
		if (up && fwd_send_dlv(f, d->payload, d->len) == 0)
			d->sent = true;
	}
}

/* ------------------------------------------------- from the peers */

static void
fwd_nack(struct forward *f, struct fwd_peer *pe, uint64_t boot)
{
	struct clusterd			*cd = f->cd;
	struct wire_forward_nack	 nk;
	struct link_peer		*lp;
	uint64_t			 now = uv_now(cd->loop);

	if (pe->nack_at != 0 && now - pe->nack_at < FWD_NACK_MS)
		return;
	if ((lp = membership_link(cd, pe->node)) == NULL)
		return;
	pe->nack_at = now;
	nk.to_boot = boot;
	nk.seq = pe->expected;
	link_begin(cd, &f->out, WIRE_FORWARD_NACK);
	wire_enc_forward_nack(&f->out, &nk);
	link_send(cd, lp, &f->out);
}

static bool
has_fwd_dlv(struct forward *f, uint64_t from, uint64_t boot, uint64_t seq)
{
	struct fwd_dlv	*d;

	TAILQ_FOREACH_REVERSE(d, &f->dlvs, fwd_dlv_list, link)
		if (d->from == from && d->from_boot == boot && d->seq == seq)
			return (true);
	return (false);
}

static void
fwd_take(struct forward *f, struct fwd_peer *pe, const struct wire_hdr *h,
    uint64_t seq, const uint8_t *t, size_t tlen, const uint8_t *body,
    size_t blen)
{
	struct fwd_dlv	*d;
	struct buf	 b = BUF_INIT;
	uint64_t	 id = 0;

	if (seq != 0)
		id = ++f->next_dlv;
	buf_add_u64(&b, id);
	buf_add_u64(&b, h->node_id);
	buf_add(&b, t, tlen);
	buf_add(&b, body, blen);
	f->st.msgs_in++;
	if (seq == 0) {
		if (fwd_send_dlv(f, b.data, b.len) == 0)
			f->st.delivered++;
		else
			f->st.dropped_qos0++;
		buf_free(&b);
		return;
	}
	d = xcalloc(1, sizeof(*d));
	d->id = id;
	d->from = h->node_id;
	d->from_boot = h->boot_id;
	d->seq = seq;
	d->payload = buf_release(&b, &d->len);
	TAILQ_INSERT_TAIL(&f->dlvs, d, link);
	f->st.pending_in++;
	if (fwd_send_dlv(f, d->payload, d->len) == 0) {
		d->sent = true;
		f->st.delivered++;
	}
}

/* The lowest seq still held for pe (everything before is completed). */
static uint64_t
fwd_base(struct fwd_peer *pe)
{
	struct fwd_ent	*e;

	TAILQ_FOREACH(e, &pe->ents, link)
		if (e->seq != 0)
			return (e->seq);
	return (pe->next_seq);
}

static void
fwd_on_frame(struct forward *f, const struct wire_hdr *h,
    const struct wire_forward *w)
{
	struct fwd_peer	*pe;
	struct rbuf	 r;
	const uint8_t	*t, *body;
	size_t		 tlen, blen;
	uint64_t	 seq;

	if (w->to_boot != f->cd->boot_id)
		return;		/* for our previous incarnation */
	pe = fwd_peer(f, h->node_id, true);
	if (pe->in_boot != h->boot_id) {
		/* The sender restarted: a new stream, from 1. */
		pe->in_boot = h->boot_id;
		pe->expected = 1;
		pe->nacks = 0;
	}
	if (w->base > pe->expected) {
		/* The sender gave up on seqs while we were cut off from it
		 * (forwards to an unreachable node complete as gone). */
		log_warnx("forward: node %016" PRIx64 " gave up on messages "
		    "%" PRIu64 "..%" PRIu64 " while we were unreachable",
		    h->node_id, pe->expected, w->base - 1);
		f->st.gaps_in++;
		pe->expected = w->base;
	}
	rbuf_init(&r, w->msgs, w->len);
	while (wire_next_forward_msg(&r, &seq, &t, &tlen, &body, &blen) ==
	    1) {
		if (seq == 0 || seq == pe->expected) {
			if (seq != 0)
				pe->expected++;
			fwd_take(f, pe, h, seq, t, tlen, body, blen);
			continue;
		}
		if (seq < pe->expected) {
			/* Sent again: answered already unless mqttd still
			 * has it. */
			f->st.dups_in++;
			if (!has_fwd_dlv(f, h->node_id, h->boot_id, seq))
				fwd_ack_add(&pe->acks, &pe->nacks,
				    &pe->acks_cap, seq, IPC_FWD_OK);
			continue;
		}
		f->st.gaps_in++;
		fwd_nack(f, pe, h->boot_id);
		break;
	}
	route_schedule(f->cd);
}

static void
fwd_on_ack(struct forward *f, const struct wire_hdr *h,
    const struct wire_forward_ack *a)
{
	struct fwd_peer	*pe;
	struct fwd_ent	*e, *next;
	uint32_t	 i;

	if (a->to_boot != f->cd->boot_id ||
	    (pe = fwd_peer(f, h->node_id, false)) == NULL ||
	    pe->peer_boot != h->boot_id)
		return;
	pe->progress_at = uv_now(f->cd->loop);
	for (i = 0; i < a->n; i++) {
		TAILQ_FOREACH_SAFE(e, &pe->ents, link, next) {
			if (e->seq == a->ents[i].id) {
				fwd_ent_free(f, pe, e, a->ents[i].rc);
				break;
			}
			if (e->seq > a->ents[i].id)
				break;
		}
	}
}

static void
fwd_on_nack(struct forward *f, const struct wire_hdr *h,
    const struct wire_forward_nack *nk)
{
	struct fwd_peer	*pe;
	struct fwd_ent	*e;

	if (nk->to_boot != f->cd->boot_id ||
	    (pe = fwd_peer(f, h->node_id, false)) == NULL ||
	    pe->peer_boot != h->boot_id)
		return;
	TAILQ_FOREACH(e, &pe->ents, link) {
		if (e->seq < nk->seq)
			continue;
		if (e == pe->unsent)
			break;
		/* e was sent and is before unsent: from here again. */
		f->st.resent++;
		pe->unsent = e;
		break;
	}
	route_schedule(f->cd);
}

void
forward_on_wire(struct clusterd *cd, const struct wire_hdr *h,
    const uint8_t *p, size_t len)
{
	struct forward			*f = cd->fwd;
	struct wire_forward		 w;
	struct wire_forward_ack		 a;
	struct wire_forward_nack	 nk;

	if (f == NULL || !is_membership_member(cd, h->node_id))
		return;
	switch (h->type) {
	case WIRE_FORWARD:
		if (wire_dec_forward(p, len, &w) == -1)
			goto bad;
		fwd_on_frame(f, h, &w);
		return;
	case WIRE_FORWARD_ACK:
		if (wire_dec_forward_ack(p, len, &a) == -1)
			goto bad;
		fwd_on_ack(f, h, &a);
		wire_forward_ack_free(&a);
		return;
	case WIRE_FORWARD_NACK:
		if (wire_dec_forward_nack(p, len, &nk) == -1)
			goto bad;
		fwd_on_nack(f, h, &nk);
		return;
	default:
		break;
	}
 bad:
	log_warnx("forward: malformed %s from node %016" PRIx64 " dropped",
	    wire_type_name(h->type), h->node_id);
}

/* ----------------------------------------------- streams, sending */

/* The peer is another incarnation now: renumber the stream from 1. */
static void
fwd_reset_stream(struct forward *f, struct fwd_peer *pe, uint64_t boot)
{
	struct fwd_ent	*e, *next;

	if (pe->peer_boot != 0)
		log_info("forward: node %016" PRIx64 " restarted: sending "
		    "%zu messages again", pe->node, pe->nents);
	pe->peer_boot = boot;
	pe->next_seq = 1;
	/* QoS 0 not sent yet goes to the new one as it is. */
	TAILQ_FOREACH_SAFE(e, &pe->ents, link, next)
		if (e->seq != 0)
			e->seq = pe->next_seq++;
	pe->unsent = TAILQ_FIRST(&pe->ents);
	pe->progress_at = uv_now(f->cd->loop);
}

void
forward_on_link(struct clusterd *cd, struct link_peer *p, enum link_event ev)
{
	struct forward	*f = cd->fwd;
	struct fwd_peer	*pe;

	if (f == NULL || p->node_id == 0 ||
	    (pe = fwd_peer(f, p->node_id, false)) == NULL)
		return;
	switch (ev) {
	case LINK_EV_DOWN:
		break;
	case LINK_EV_RESTART:
		fwd_reset_stream(f, pe, p->boot_id);
		/* FALLTHROUGH */
	case LINK_EV_UP:
		if (pe->gone)
			log_info("forward: node %016" PRIx64 " is back",
			    pe->node);
		pe->gone = false;
		if (pe->repl_lost) {
			pe->repl_lost = false;
			replica_want_resync(cd, "a replica node is back "
			    "after missing copies");
		}
		/* Frames may have been lost while it was away. */
		if (pe->unsent != TAILQ_FIRST(&pe->ents))
			f->st.resent++;
		pe->unsent = TAILQ_FIRST(&pe->ents);
		pe->progress_at = uv_now(cd->loop);
		break;
	}
	route_schedule(cd);
}

/* Sends pe's unsent messages, FWD_FRAME_MAX bytes per frame. */
static void
fwd_flush_peer(struct forward *f, struct fwd_peer *pe)
{
	struct clusterd		*cd = f->cd;
	struct link_peer	*lp;
	struct fwd_ent		*e, *next, *first;
	size_t			 at;
	uint32_t		 n;

	if (pe->unsent == NULL)
		return;
	lp = membership_link(cd, pe->node);
	if (lp == NULL || !link_is_up(lp) || lp->boot_id == 0) {
		/* QoS 0 waits for nothing. */
		for (e = pe->unsent; e != NULL; e = next) {
			next = TAILQ_NEXT(e, link);
			if (e->seq == 0) {
				f->st.dropped_qos0++;
				fwd_ent_free(f, pe, e, IPC_FWD_OK);
			}
		}
		return;
	}
	if (lp->boot_id != pe->peer_boot)
		fwd_reset_stream(f, pe, lp->boot_id);
	while (pe->unsent != NULL) {
		first = pe->unsent;
		link_begin(cd, &f->out, WIRE_FORWARD);
		at = wire_begin_forward(&f->out, pe->peer_boot,
		    fwd_base(pe));
		n = 0;
		for (e = first; e != NULL && (n == 0 ||
		    f->out.len + e->len < FWD_FRAME_MAX);
		    e = TAILQ_NEXT(e, link)) {
			wire_add_forward_msg(&f->out, e->seq, e->data, e->len,
			    NULL, 0);
			n++;
		}
		wire_end_forward(&f->out, at, n);
		if (link_send(cd, lp, &f->out) == -1)
			return;		/* not connected: the next flush */
		f->st.frames_out++;
		f->st.msgs_out += n;
		pe->progress_at = uv_now(cd->loop);
		/* Sent: QoS 0 is done, the rest waits for its ack. */
		for (e = first; n > 0; e = next, n--) {
			next = TAILQ_NEXT(e, link);
			pe->unsent = next;
			if (e->seq == 0)
				fwd_ent_free(f, pe, e, IPC_FWD_OK);
		}
	}
}

static void
fwd_flush_acks(struct forward *f, struct fwd_peer *pe)
{
	struct clusterd		*cd = f->cd;
	struct wire_forward_ack	 a;
	struct link_peer	*lp;

	if (pe->nacks == 0)
		return;
	if ((lp = membership_link(cd, pe->node)) != NULL) {
		a.to_boot = pe->in_boot;
		a.n = (uint32_t)pe->nacks;
		a.ents = pe->acks;
		link_begin(cd, &f->out, WIRE_FORWARD_ACK);
		wire_enc_forward_ack(&f->out, &a);
		/* Lost: the sender sends again, we answer again. */
		link_send(cd, lp, &f->out);
	}
	pe->nacks = 0;
}

void
forward_flush(struct clusterd *cd)
{
	struct forward	*f = cd->fwd;
	struct ipc_acks	 a;
	size_t		 i;

	if (f == NULL)
		return;
	fwd_flush_dlv(f);
	for (i = 0; i < f->npeers; i++) {
		fwd_flush_peer(f, f->peers[i]);
		fwd_flush_acks(f, f->peers[i]);
	}
	if (f->nacks > 0) {
		a.n = (uint32_t)f->nacks;
		a.ents = f->acks;
		buf_reset(&f->out);
		ipc_enc_acks(&f->out, &a);
		/* mqttd away: it sends its forwards again when back. */
		route_to_mqttd(cd, IPC_FORWARD_ACK, &f->out);
		f->nacks = 0;
	}
}

void
forward_tick(struct clusterd *cd)
{
	struct forward		*f = cd->fwd;
	struct fwd_peer		*pe;
	struct fwd_ent		*first;
	struct link_peer	*lp;
	uint64_t		 now = uv_now(cd->loop);
	size_t			 i;

	if (f == NULL)
		return;
	(void)fwd_is_ready(f);
	for (i = 0; i < f->npeers; ) {
		pe = f->peers[i];
		if (!is_membership_member(cd, pe->node)) {
			fwd_peer_drain(f, pe, IPC_FWD_GONE);
			free(pe->acks);
			free(pe);
			f->peers[i] = f->peers[--f->npeers];
			continue;
		}
		i++;
		lp = membership_link(cd, pe->node);
		if (lp == NULL || !link_is_up(lp)) {
			if (!pe->gone && is_fwd_dead(f, pe, lp)) {
				pe->gone = true;
				log_warnx("forward: node %016" PRIx64 " down "
				    "for %d s: forwards to it are dropped "
				    "until it is back", pe->node,
				    FWD_DEAD_MS / 1000);
			}
			if (pe->gone)
				fwd_peer_drain(f, pe, IPC_FWD_GONE);
			continue;
		}
		if (pe->gone)
			forward_on_link(cd, lp, LINK_EV_UP);
		/* Sent, unanswered for a while: the tail may be lost. */
		first = TAILQ_FIRST(&pe->ents);
		if (first != NULL && first != pe->unsent &&
		    now - pe->progress_at > FWD_RESEND_MS) {
			f->st.resent++;
			pe->unsent = first;
			pe->progress_at = now;
			route_schedule(cd);
		}
	}
}

/* ------------------------------------------------------- lifecycle */

void
forward_start(struct clusterd *cd)
{
	struct forward	*f;

	f = xcalloc(1, sizeof(*f));
	f->cd = cd;
	TAILQ_INIT(&f->dlvs);
	buf_init(&f->out);
	buf_init(&f->tmp);
	buf_init(&f->dbatch);
	cd->fwd = f;
}

void
forward_stop(struct clusterd *cd)
{
}

void
forward_free(struct clusterd *cd)
{
	struct forward	*f = cd->fwd;
	struct fwd_peer	*pe;
	struct fwd_ent	*e;
	struct fwd_dlv	*d;
	size_t		 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nearly; i++)
		buf_free(&f->early[i]);
	free(f->early);
	for (i = 0; i < f->npeers; i++) {
		pe = f->peers[i];
		while ((e = TAILQ_FIRST(&pe->ents)) != NULL) {
			TAILQ_REMOVE(&pe->ents, e, link);
			if (e->req != NULL && --e->req->pending == 0)
				free(e->req);
			free(e->data);
			free(e);
		}
		free(pe->acks);
		free(pe);
	}
	while ((d = TAILQ_FIRST(&f->dlvs)) != NULL) {
		TAILQ_REMOVE(&f->dlvs, d, link);
		free(d->payload);
		free(d);
	}
	free(f->peers);
	free(f->acks);
	buf_free(&f->out);
	buf_free(&f->tmp);
	buf_free(&f->dbatch);
	free(f);
	cd->fwd = NULL;
}

void
forward_stats(struct clusterd *cd, struct forward_stats *st)
{
	if (cd->fwd == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = cd->fwd->st;
}
