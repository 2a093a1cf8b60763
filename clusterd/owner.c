/* SPDX-License-Identifier: MIT */
/*
 * Session ownership: one owner node per client id, agreed through Raft.
 *
 * The map client id -> owner node lives in the membership state machine
 * (entries of command OWNER_FSM_CMD, applied here on every node, and a
 * section of its snapshots).  On CONNECT mqttd claims the client id
 * (IPC_SESSION_CLAIM, batched); claims made during one loop iteration
 * become one log entry, proposed by the leader (ours directly, others'
 * sent to it as WIRE_OWNER_REQ).  Every node applies the entry:
 *
 * - on the claiming node, the claim is answered (IPC_SESSION_CLAIM_REP)
 *   once the entry is applied and, if another node owned the client id
 *   and still answers, once that node's hand-over arrived (at most
 *   OWNER_XFER_MS): mqttd installs the session before completing CONNECT;
 * - on the previous owner, mqttd is told to take the session over
 *   (IPC_SESSION_TAKEOVER): it closes the connection (5.0: 0x8E) and
 *   streams the subscriptions and queued messages, in order, as
 *   IPC_SESSION_XFER, which we relay to the new owner (WIRE_SESSION_XFER).
 *
 * A claim this node already holds is answered at once (reconnects are
 * cheap).  In a minority (G3) a claim is refused (IPC_CLAIM_NO_QUORUM),
 * unless mqttd asked for a local claim (allow_register_during_netsplit):
 * it is answered at once and proposed once the majority is back, where
 * the last claim committed wins and the other node takes its client over.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <raft.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/wire_msg.h"

#define OWNER_FSM_VERSION	1	/* membership.c's MB_FSM_VERSION */
#define OWNER_SNAP_TAG		0x4f	/* 'O' */
#define OWNER_RETRY_MS		1000	/* claim not applied: propose again */
#define OWNER_XFER_MS		3000	/* wait for the old owner's hand-over */
#define OWNER_CLAIM_MS		10000	/* give up on a claim */
#define OWNER_BATCH_MAX		4096	/* client ids per log entry */
#define OWNER_FAILOVER_MS	5000	/* owner silent this long: move (as
					   FWD_DEAD_MS; a clusterd restart
					   takes 1-2 s: G4) */
#define OWNER_SCAN_MS		1000	/* leader: look for such sessions */

/* One entry of the map. */
struct own_ent {
	struct own_ent	*next;
	uint32_t	 hash;
	uint64_t	 node;
	size_t		 len;
	char		 cid[];
};

enum claim_state {
	CLAIM_PROPOSE,		/* not proposed (or to propose again) */
	CLAIM_WAIT_APPLY,	/* proposed, not applied here yet */
	CLAIM_WAIT_XFER,	/* applied, the old owner hands over */
	CLAIM_LOCAL		/* minority, answered: propose on heal */
};

/* A claim of our mqttd, or one a follower sent the leader (remote). */
struct claim {
	struct claim	*next;
	enum claim_state state;
	uint32_t	 ipc_id;	/* mqttd's id (0: not ours) */
	uint64_t	 node;		/* claimer */
	uint64_t	 prev;
	uint64_t	 since;		/* uv_now() */
	uint64_t	 sent_at;
	uint64_t	 xfer_from;	/* the node asked for the session */
	bool		 xfer_done;
	bool		 asked_replica;	/* prev is gone: its replica hands
					   over (issue 8) */
	bool		 adopt;		/* not asked for: moved here by the
					   leader (failover, leave) */
	uint64_t	 then_to;	/* adopting, moved on meanwhile: hand
					   it over there once installed */
	size_t		 len;
	char		 cid[];
};

struct owner {
	struct clusterd		*cd;
	struct own_ent		**tab;
	size_t			 cap;
	size_t			 n;
	struct claim		*claims;	/* ours and, leader, others' */
	struct ipc_claim_ent	*reps;		/* answers to send */
	size_t			 nreps;
	size_t			 reps_cap;
	struct buf		 out;
	struct claim		*checks;	/* IPC_SESSION_CHECK ids */
	uint64_t		 claims_committed;
	uint64_t		 takeovers;
	uint64_t		 xfers;
	uint64_t		 replica_xfers;	/* hand-overs asked of replicas */
	uint64_t		 moved;		/* leader: sessions moved away from
						   gone or leaving nodes */
	uint64_t		 adopted;	/* sessions moved here */
	uint64_t		 scan_at;
	bool			 live;		/* caught up once since start */
	uint64_t		 reconciled;	/* stale sessions dropped */
};

static uint32_t
own_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return (h);
}

static struct own_ent **
own_slot(struct owner *o, const char *cid, size_t len, uint32_t h)
{
	struct own_ent	**pp;

	for (pp = &o->tab[h & (o->cap - 1)]; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->len == len &&
		    memcmp((*pp)->cid, cid, len) == 0)
			break;
	return (pp);
}

static uint64_t
own_get(struct owner *o, const char *cid, size_t len)
{
	struct own_ent	*e;

	e = *own_slot(o, cid, len, own_hash(cid, len));
	return (e != NULL ? e->node : 0);
}

/* Sets the owner of cid; returns the previous one (0 = none). */
static uint64_t
own_set(struct owner *o, const char *cid, size_t len, uint64_t node)
{
	struct own_ent	**pp, *e, **tab, *next;
	uint32_t	  h = own_hash(cid, len);
	uint64_t	  prev;
	size_t		  i, cap;

	pp = own_slot(o, cid, len, h);
	if ((e = *pp) != NULL) {
		prev = e->node;
		e->node = node;
		return (prev);
	}
	if (o->n + 1 > o->cap / 4 * 3) {
		cap = o->cap * 2;
		tab = xcalloc(cap, sizeof(*tab));
		for (i = 0; i < o->cap; i++)
			for (e = o->tab[i]; e != NULL; e = next) {
				next = e->next;
				e->next = tab[e->hash & (cap - 1)];
				tab[e->hash & (cap - 1)] = e;
			}
		free(o->tab);
		o->tab = tab;
		o->cap = cap;
		pp = own_slot(o, cid, len, h);
	}
	e = xcalloc(1, sizeof(*e) + len + 1);
	e->hash = h;
	e->node = node;
	e->len = len;
	memcpy(e->cid, cid, len);
	*pp = e;
	o->n++;
	return (0);
}

static void
own_clear(struct owner *o)
{
	struct own_ent	*e, *next;
	size_t		 i;

	for (i = 0; i < o->cap; i++) {
		for (e = o->tab[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		o->tab[i] = NULL;
	}
	o->n = 0;
}

/* ---------------------------------------------------- claims */

static struct claim *
claim_new(struct owner *o, uint64_t node, uint32_t ipc_id, const char *cid,
    size_t len)
{
	struct claim	*c;

	c = xcalloc(1, sizeof(*c) + len + 1);
	c->node = node;
	c->ipc_id = ipc_id;
	c->len = len;
	memcpy(c->cid, cid, len);
	c->since = uv_now(o->cd->loop);
	c->next = o->claims;
	o->claims = c;
	return (c);
}

static void
claim_unlink(struct owner *o, struct claim *c)
{
	struct claim	**pp;

	for (pp = &o->claims; *pp != NULL; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

static void
owner_reply(struct owner *o, uint32_t id, uint8_t rc, uint64_t prev)
{
	struct ipc_claim_ent	*e;

	if (id == 0)
		return;
	if (o->nreps == o->reps_cap) {
		o->reps_cap = o->reps_cap ? o->reps_cap * 2 : 32;
		o->reps = xreallocarray(o->reps, o->reps_cap,
		    sizeof(*o->reps));
	}
	e = &o->reps[o->nreps++];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->rc = rc;
	e->prev = prev;
	route_schedule(o->cd);
}

/* Answers claim c (ours) and forgets it. */
static void
claim_done(struct owner *o, struct claim *c, uint8_t rc)
{
	owner_reply(o, c->ipc_id, rc, c->prev);
	claim_unlink(o, c);
	free(c);
}

/* ------------------------------------------------ state machine */

/* Encodes one log entry of the claims in state CLAIM_PROPOSE. */
static int
owner_encode(struct owner *o, struct raft_buffer *rb, uint64_t now)
{
	struct buf	 b = BUF_INIT;
	struct claim	*c;
	size_t		 at;
	uint32_t	 n = 0;

	buf_add_u8(&b, OWNER_FSM_VERSION);
	buf_add_u8(&b, OWNER_FSM_CMD);
	at = b.len;
	buf_add_u32(&b, 0);
	for (c = o->claims; c != NULL && n < OWNER_BATCH_MAX; c = c->next) {
		if (c->state != CLAIM_PROPOSE)
			continue;
		buf_add_u64(&b, c->node);
		buf_add_blob(&b, c->cid, c->len);
		c->state = CLAIM_WAIT_APPLY;
		c->sent_at = now;
		n++;
	}
	if (n == 0) {
		buf_free(&b);
		return (-1);
	}
	be32_put(b.data + at, n);
	while (b.len % 8 != 0)
		buf_add_u8(&b, 0);
	if ((rb->base = raft_malloc(b.len)) == NULL) {
		buf_free(&b);
		return (-1);
	}
	memcpy(rb->base, b.data, b.len);
	rb->len = b.len;
	buf_free(&b);
	return (0);
}

static void
owner_takeover(struct owner *o, const char *cid, size_t len, uint64_t to)
{
	struct ipc_takeover	t = { 0 };

	o->takeovers++;
	t.to = to;
	t.client_id.p = (const uint8_t *)cid;
	t.client_id.len = len;
	buf_reset(&o->out);
	ipc_enc_takeover(&o->out, &t);
	if (route_to_mqttd(o->cd, IPC_SESSION_TAKEOVER, &o->out) == 0)
		log_debug("owner: client %.*s is owned by %016" PRIx64
		    " now: taking it over", (int)len, cid, to);
}

/*
 * The previous owner of claim c (ours) is gone (not a member, or its link
 * is down): the session continues from a replica copy (issue 8).  The
 * first replica node of prev's placement that answers (this node
 * included) hands its copy over, as IPC_SESSION_TAKEOVER with `replica`
 * set; without one the claim is answered at once, with no session.
 * Returns false when c was answered (and freed).
 */
static bool
owner_ask_replica(struct owner *o, struct claim *c)
{
	struct clusterd		*cd = o->cd;
	struct ipc_takeover	 t = { 0 };
	struct link_peer	*lp = NULL;
	uint64_t		 nodes[REPLICA_MAX];
	size_t			 i, n;

	c->asked_replica = true;
	c->since = uv_now(cd->loop);
	n = replica_nodes(cd, c->prev, c->cid, c->len, nodes);
	for (i = 0; i < n; i++) {
		if (nodes[i] == cd->node_id)
			break;
		lp = membership_link(cd, nodes[i]);
		if (lp != NULL && link_is_up(lp))
			break;
	}
	if (i == n) {
		log_warnx("owner: %.*s: its owner %016" PRIx64 " is gone and "
		    "no replica answers: going on without its session",
		    (int)c->len, c->cid, c->prev);
		claim_done(o, c, IPC_CLAIM_OK);
		return (false);
	}
	c->state = CLAIM_WAIT_XFER;
	c->xfer_from = nodes[i];
	o->replica_xfers++;
	log_info("owner: %.*s: its owner %016" PRIx64 " is gone: taking "
	    "the session from its replica on %016" PRIx64, (int)c->len,
	    c->cid, c->prev, nodes[i]);
	t.to = cd->node_id;
	t.replica = c->prev;
	t.client_id.p = (const uint8_t *)c->cid;
	t.client_id.len = c->len;
	buf_reset(&o->out);
	if (nodes[i] == cd->node_id) {
		ipc_enc_takeover(&o->out, &t);
		route_to_mqttd(cd, IPC_SESSION_TAKEOVER, &o->out);
	} else {
		link_begin(cd, &o->out, WIRE_REPLICA_XFER);
		ipc_enc_takeover(&o->out, &t);
		link_send(cd, lp, &o->out);
	}
	return (true);
}

/*
 * The leader moved cid to this node without our mqttd asking (its owner
 * died or leaves): a claim of nobody's waits for the session, from prev
 * if it still answers (it hands over as in a takeover), else from a
 * replica; our mqttd installs it as an offline session.
 */
static void
owner_adopt(struct owner *o, const char *cid, size_t len, uint64_t prev)
{
	struct claim		*c;
	struct link_peer	*lp;

	o->adopted++;
	c = claim_new(o, o->cd->node_id, 0, cid, len);
	c->adopt = true;
	c->prev = prev;
	c->state = CLAIM_WAIT_XFER;
	c->xfer_from = prev;
	lp = membership_link(o->cd, prev);
	if (lp == NULL || !link_is_up(lp))
		owner_ask_replica(o, c);
}

/* Our adopt claim of cid that waits for its hand-over, or NULL. */
static struct claim *
owner_adopting(struct owner *o, const char *cid, size_t len)
{
	struct claim	*c;

	for (c = o->claims; c != NULL; c = c->next)
		if (c->adopt && c->node == o->cd->node_id &&
		    c->state == CLAIM_WAIT_XFER && c->len == len &&
		    memcmp(c->cid, cid, len) == 0)
			return (c);
	return (NULL);
}

/* Applied: cid is node's now, was prev's. */
static void
owner_applied(struct owner *o, const char *cid, size_t len, uint64_t node,
    uint64_t prev)
{
	struct clusterd		*cd = o->cd;
	struct claim		*c, *next;
	struct link_peer	*lp;

	if (prev == cd->node_id && node != cd->node_id) {
		/* Still being installed here (adopted): hand it on after
		 * the last chunk, on the same socket, so nothing is lost. */
		if ((c = owner_adopting(o, cid, len)) != NULL)
			c->then_to = node;
		else
			owner_takeover(o, cid, len, node);
	}
	for (c = o->claims; c != NULL; c = next) {
		next = c->next;
		if (c->len != len || memcmp(c->cid, cid, len) != 0 ||
		    c->node != node)
			continue;
		if (c->ipc_id == 0 || c->state == CLAIM_LOCAL) {
			/* A follower's, or a local one reconciled. */
			claim_unlink(o, c);
			free(c);
			continue;
		}
		if (c->state == CLAIM_WAIT_XFER)
			continue;	/* applied twice (a retry) */
		c->prev = prev;
		o->claims_committed++;
		if (prev == 0 || prev == cd->node_id || c->xfer_done) {
			claim_done(o, c, IPC_CLAIM_OK);
			continue;
		}
		c->state = CLAIM_WAIT_XFER;
		c->xfer_from = prev;
		c->since = uv_now(cd->loop);
		lp = membership_link(cd, prev);
		if (lp == NULL || !link_is_up(lp))
			owner_ask_replica(o, c);
		return;
	}
	if (node == cd->node_id && prev != 0 && prev != cd->node_id &&
	    o->live)
		owner_adopt(o, cid, len, prev);
}

void
owner_fsm_apply(struct clusterd *cd, const void *p, size_t len)
{
	struct owner	*o = cd->owner;
	struct rbuf	 r;
	const uint8_t	*cid;
	size_t		 clen;
	uint64_t	 node, prev;
	uint32_t	 n, i;

	if (o == NULL)
		return;
	rbuf_init(&r, p, len);
	(void)rbuf_u8(&r);
	(void)rbuf_u8(&r);
	n = rbuf_u32(&r);
	for (i = 0; i < n && !r.err; i++) {
		node = rbuf_u64(&r);
		cid = rbuf_blob(&r, &clen, IPC_STORE_CLIENT_MAX);
		if (cid == NULL || clen == 0 || node == 0) {
			r.err = true;
			break;
		}
		prev = own_set(o, (const char *)cid, clen, node);
		owner_applied(o, (const char *)cid, clen, node, prev);
	}
	if (r.err)
		log_warnx("owner: skipped a malformed log entry (%zu bytes)",
		    len);
}

void
owner_snapshot(struct clusterd *cd, struct buf *b)
{
	struct owner	*o = cd->owner;
	struct own_ent	*e;
	size_t		 i;

	if (o == NULL)
		return;
	buf_add_u8(b, OWNER_SNAP_TAG);
	buf_add_u8(b, OWNER_FSM_VERSION);
	buf_add_u16(b, 0);
	buf_add_u32(b, (uint32_t)o->n);
	for (i = 0; i < o->cap; i++)
		for (e = o->tab[i]; e != NULL; e = e->next) {
			buf_add_u64(b, e->node);
			buf_add_blob(b, e->cid, e->len);
		}
}

int
owner_restore(struct clusterd *cd, struct rbuf *r)
{
	struct owner	*o = cd->owner;
	const uint8_t	*cid;
	size_t		 clen;
	uint64_t	 node;
	uint32_t	 n, i;

	if (o == NULL)
		return (0);
	own_clear(o);
	if (rbuf_left(r) < 8)
		return (0);	/* an older snapshot, or padding only */
	if (rbuf_u8(r) != OWNER_SNAP_TAG || rbuf_u8(r) != OWNER_FSM_VERSION)
		return (-1);
	(void)rbuf_u16(r);
	n = rbuf_u32(r);
	for (i = 0; i < n && !r->err; i++) {
		node = rbuf_u64(r);
		cid = rbuf_blob(r, &clen, IPC_STORE_CLIENT_MAX);
		if (cid == NULL || clen == 0)
			return (-1);
		own_set(o, (const char *)cid, clen, node);
	}
	if (r->err)
		return (-1);
	log_info("owner: restored the owners of %zu client ids", o->n);
	return (0);
}

/* ------------------------------------------------------ from mqttd */

static void
owner_on_claims(struct owner *o, const struct ipc_claims *v)
{
	struct clusterd	*cd = o->cd;
	struct claim	*c;
	const char	*cid;
	size_t		 len;
	uint32_t	 i;
	bool		 majority = is_route_majority(cd);

	for (i = 0; i < v->n; i++) {
		cid = (const char *)v->ents[i].client_id.p;
		len = v->ents[i].client_id.len;
		if (len == 0) {
			owner_reply(o, v->ents[i].id, IPC_CLAIM_ERROR, 0);
			continue;
		}
		if (!majority) {
			if (!(v->ents[i].flags & IPC_CLAIM_F_LOCAL)) {
				owner_reply(o, v->ents[i].id,
				    IPC_CLAIM_NO_QUORUM, 0);
				continue;
			}
			/* allow_register_during_netsplit: ours until the
			 * majority says otherwise. */
			c = claim_new(o, cd->node_id, 0, cid, len);
			c->state = CLAIM_LOCAL;
			owner_reply(o, v->ents[i].id, IPC_CLAIM_OK,
			    own_get(o, cid, len));
			continue;
		}
		if (own_get(o, cid, len) == cd->node_id) {
			if ((c = owner_adopting(o, cid, len)) != NULL &&
			    c->ipc_id == 0 && c->then_to == 0) {
				/* Moved here, not installed yet: the client
				 * waits for its session. */
				c->ipc_id = v->ents[i].id;
				continue;
			}
			owner_reply(o, v->ents[i].id, IPC_CLAIM_OK,
			    cd->node_id);
			continue;
		}
		c = claim_new(o, cd->node_id, v->ents[i].id, cid, len);
		c->state = CLAIM_PROPOSE;
	}
	route_schedule(cd);
}

static void	owner_xfer_in(struct owner *, uint64_t, const uint8_t *, size_t);
static void	owner_on_check(struct owner *, const struct ipc_claims *);

static void
owner_on_xfer_from_mqttd(struct owner *o, const struct ipc_msg *m,
    const struct ipc_xfer *x)
{
	struct clusterd		*cd = o->cd;
	struct link_peer	*lp;

	if (x->node == cd->node_id) {
		/* A replica copy handed to ourselves (issue 8). */
		owner_xfer_in(o, cd->node_id, m->payload, m->len);
		return;
	}
	/* The payload goes on as it is, with the sender in node. */
	if ((lp = membership_link(cd, x->node)) == NULL) {
		log_warnx("owner: hand-over of %.*s to an unknown node "
		    "dropped", (int)x->client_id.len,
		    (const char *)x->client_id.p);
		return;
	}
	link_begin(cd, &o->out, WIRE_SESSION_XFER);
	buf_add_u64(&o->out, cd->node_id);
	buf_add(&o->out, m->payload + 8, m->len - 8);
	if (link_send(cd, lp, &o->out) == 0)
		o->xfers++;
}

void
owner_on_ipc(struct clusterd *cd, const struct ipc_msg *m)
{
	struct owner		*o = cd->owner;
	struct ipc_claims	 v;
	struct ipc_xfer		 x;

	if (o == NULL)
		return;
	if (m->type == IPC_SESSION_CLAIM) {
		if (ipc_dec_claims(m->payload, m->len, &v) == -1)
			goto bad;
		owner_on_claims(o, &v);
		ipc_claims_free(&v);
		return;
	}
	if (m->type == IPC_SESSION_CHECK) {
		if (ipc_dec_claims(m->payload, m->len, &v) == -1)
			goto bad;
		owner_on_check(o, &v);
		ipc_claims_free(&v);
		return;
	}
	if (m->type == IPC_SESSION_XFER) {
		if (ipc_dec_xfer(m->payload, m->len, &x) == -1)
			goto bad;
		owner_on_xfer_from_mqttd(o, m, &x);
		ipc_xfer_free(&x);
		return;
	}
 bad:
	cd->counters.ipc_bad++;
	log_warnx("owner: malformed %s (%zu bytes) from mqttd dropped",
	    ipc_type_name(m->type), m->len);
}

void
owner_on_mqttd(struct clusterd *cd, bool up)
{
	struct owner	*o = cd->owner;
	struct claim	*c, *next;

	if (o == NULL || !up)
		return;
	/* A new mqttd: the old one's claims have nobody to answer. */
	for (c = o->claims; c != NULL; c = next) {
		next = c->next;
		if (c->ipc_id != 0 && c->node == cd->node_id)
			c->ipc_id = 0;
	}
}

/* ------------------------------------------------- from the peers */

/*
 * A hand-over chunk from node `from` (a peer's, or our own mqttd's when it
 * hands a replica copy to this node): passed to our mqttd if a claim of
 * ours waits for a session from that very node.
 */
static void
owner_xfer_in(struct owner *o, uint64_t from, const uint8_t *p, size_t len)
{
	struct clusterd	*cd = o->cd;
	struct ipc_xfer	 x;
	struct claim	*c;
	struct buf	 b;

	if (ipc_dec_xfer(p, len, &x) == -1) {
		log_warnx("owner: malformed hand-over from node %016" PRIx64
		    " dropped", from);
		return;
	}
	if (x.node != from) {
		log_warnx("owner: hand-over from node %016" PRIx64 " names "
		    "another sender: dropped", from);
		ipc_xfer_free(&x);
		return;
	}
	for (c = o->claims; c != NULL; c = c->next)
		if (c->node == cd->node_id && (c->ipc_id != 0 || c->adopt) &&
		    c->len == x.client_id.len &&
		    memcmp(c->cid, x.client_id.p, c->len) == 0)
			break;
	if (c == NULL || (c->state == CLAIM_WAIT_XFER &&
	    c->xfer_from != from)) {
		/* Nobody waits, or we asked another node (a replica after
		 * the owner seemed gone): one source only, never mixed. */
		log_debug("owner: hand-over of %.*s from %016" PRIx64 " that "
		    "nobody waits for dropped", (int)x.client_id.len,
		    (const char *)x.client_id.p, from);
		ipc_xfer_free(&x);
		return;
	}
	/* Before the claim's answer, on the same socket: in order. */
	b.data = (uint8_t *)p;
	b.len = b.cap = len;
	route_to_mqttd(cd, IPC_SESSION_XFER, &b);
	if (x.flags & IPC_XFER_F_LAST) {
		c->xfer_done = true;
		if (c->then_to != 0)
			owner_takeover(o, c->cid, c->len, c->then_to);
		if (c->state == CLAIM_WAIT_XFER)
			claim_done(o, c, IPC_CLAIM_OK);
	}
	ipc_xfer_free(&x);
}

/* A new owner asks us for our replica copy of a dead node's session. */
static void
owner_on_replica_req(struct owner *o, const struct wire_hdr *h,
    const uint8_t *p, size_t len)
{
	struct ipc_takeover	t;
	struct buf		b;

	if (ipc_dec_takeover(p, len, &t) == -1 || t.to != h->node_id ||
	    t.replica == 0) {
		log_warnx("owner: malformed replica hand-over request from "
		    "node %016" PRIx64 " dropped", h->node_id);
		return;
	}
	b.data = (uint8_t *)p;
	b.len = b.cap = len;
	if (route_to_mqttd(o->cd, IPC_SESSION_TAKEOVER, &b) == 0)
		log_info("owner: handing our replica of %.*s (owner %016"
		    PRIx64 ") to %016" PRIx64, (int)t.client_id.len,
		    (const char *)t.client_id.p, t.replica, t.to);
}

void
owner_on_wire(struct clusterd *cd, const struct wire_hdr *h,
    const uint8_t *p, size_t len)
{
	struct owner		*o = cd->owner;
	struct wire_owner_req	 q;
	struct claim		*c;
	uint32_t		 i;

	if (o == NULL || !is_membership_member(cd, h->node_id))
		return;
	switch (h->type) {
	case WIRE_OWNER_REQ:
		if (wire_dec_owner_req(p, len, &q) == -1)
			break;
		/* Only the leader proposes; the sender retries anyway. */
		if (is_membership_leader(cd))
			for (i = 0; i < q.n; i++) {
				c = claim_new(o, h->node_id, 0,
				    (const char *)q.ids[i].p, q.ids[i].len);
				c->state = CLAIM_PROPOSE;
			}
		wire_owner_req_free(&q);
		route_schedule(cd);
		return;
	case WIRE_SESSION_XFER:
		owner_xfer_in(o, h->node_id, p, len);
		return;
	case WIRE_REPLICA_XFER:
		owner_on_replica_req(o, h, p, len);
		return;
	default:
		break;
	}
	log_warnx("owner: malformed %s from node %016" PRIx64 " dropped",
	    wire_type_name(h->type), h->node_id);
}

/* ---------------------------------------------------- proposing */

/* Not the leader: our claims go to the leader, which proposes them. */
static void
owner_send_to_leader(struct owner *o, uint64_t now)
{
	struct clusterd		*cd = o->cd;
	struct wire_owner_req	 q = { 0 };
	struct link_peer	*lp;
	struct claim		*c;
	size_t			 n = 0;

	for (c = o->claims; c != NULL; c = c->next)
		if (c->state == CLAIM_PROPOSE && c->node == cd->node_id)
			n++;
	if (n == 0 || (lp = membership_leader_link(cd)) == NULL ||
	    !link_is_up(lp))
		return;
	q.ids = xcalloc(n, sizeof(*q.ids));
	for (c = o->claims; c != NULL; c = c->next) {
		if (c->state != CLAIM_PROPOSE || c->node != cd->node_id)
			continue;
		q.ids[q.n].p = (const uint8_t *)c->cid;
		q.ids[q.n].len = c->len;
		q.n++;
		c->state = CLAIM_WAIT_APPLY;
		c->sent_at = now;
	}
	link_begin(cd, &o->out, WIRE_OWNER_REQ);
	wire_enc_owner_req(&o->out, &q);
	link_send(cd, lp, &o->out);
	free(q.ids);
}

static void
owner_apply_cb(void *arg, int status)
{
	/* Applied (owner_fsm_apply did the work) or not: a claim that was
	 * not is proposed again after OWNER_RETRY_MS. */
}

void
owner_flush(struct clusterd *cd)
{
	struct owner		*o = cd->owner;
	struct raft_buffer	 rb;
	struct claim		*c;
	uint64_t		 now;

	if (o == NULL)
		return;
	if (o->nreps > 0) {
		struct ipc_claims	v = { (uint32_t)o->nreps, o->reps };

		buf_reset(&o->out);
		ipc_enc_claims(&o->out, &v);
		route_to_mqttd(cd, IPC_SESSION_CLAIM_REP, &o->out);
		o->nreps = 0;
	}
	now = uv_now(cd->loop);
	if (!is_membership_leader(cd)) {
		owner_send_to_leader(o, now);
		return;
	}
	while (owner_encode(o, &rb, now) == 0)
		if (membership_apply(cd, &rb, owner_apply_cb, o) == -1) {
			raft_free(rb.base);
			for (c = o->claims; c != NULL; c = c->next)
				if (c->state == CLAIM_WAIT_APPLY &&
				    c->sent_at == now)
					c->state = CLAIM_PROPOSE;
			break;
		}
}

/*
 * mqttd's sessions of its start (IPC_SESSION_CHECK), now that our state
 * machine is up to date: those another node owns moved while this node
 * was away (a takeover, or a failover to a replica): mqttd hands them
 * over (the new owner drops what it does not wait for) and forgets them,
 * so that nothing stale is delivered from here.
 */
static void
owner_reconcile(struct owner *o)
{
	struct clusterd	*cd = o->cd;
	struct claim	*c;
	uint64_t	 node;
	size_t		 n = 0, stale = 0;

	while ((c = o->checks) != NULL) {
		o->checks = c->next;
		n++;
		node = own_get(o, c->cid, c->len);
		if (node != 0 && node != cd->node_id) {
			owner_takeover(o, c->cid, c->len, node);
			stale++;
		}
		free(c);
	}
	o->reconciled += stale;
	log_info("owner: %zu stored sessions checked: %zu moved to other "
	    "nodes while we were away, dropped here", n, stale);
}

static void
owner_on_check(struct owner *o, const struct ipc_claims *v)
{
	struct claim	*c;
	uint32_t	 i;

	for (i = 0; i < v->n; i++) {
		if (v->ents[i].client_id.len == 0)
			continue;
		c = xcalloc(1, sizeof(*c) + v->ents[i].client_id.len + 1);
		c->len = v->ents[i].client_id.len;
		memcpy(c->cid, v->ents[i].client_id.p, c->len);
		c->next = o->checks;
		o->checks = c;
	}
}

/* True while a claim of cid waits to be committed (the leader's list). */
static bool
has_owner_claim(struct owner *o, const char *cid, size_t len)
{
	struct claim	*c;

	for (c = o->claims; c != NULL; c = c->next)
		if (c->len == len && memcmp(c->cid, cid, len) == 0 &&
		    (c->state == CLAIM_PROPOSE || c->state == CLAIM_WAIT_APPLY))
			return (true);
	return (false);
}

/* True when node's sessions must move: it is no member any more, it has
 * been silent for OWNER_FAILOVER_MS, or it leaves the cluster. */
static bool
is_owner_gone(struct owner *o, uint64_t node, uint64_t now)
{
	struct clusterd		*cd = o->cd;
	struct link_peer	*lp;

	if (node == cd->node_id)
		return (false);
	if (!is_membership_member(cd, node))
		return (true);
	if (is_membership_leaving(cd, node) &&
	    is_membership_leave_due(cd, node))
		return (true);
	lp = membership_link(cd, node);
	if (lp == NULL || link_is_up(lp))
		return (false);
	return (now - lp->last_pong > OWNER_FAILOVER_MS);
}

/*
 * The leader, once a second: every session whose owner is gone (or
 * leaves) moves to the first of its replica nodes that answers (issue 8),
 * in log entries like claims.  There the session is adopted from the
 * replica copy (or handed over by a leaving owner), so its queue goes on
 * receiving, in order, before its client comes back.
 */
static void
owner_failover(struct owner *o, uint64_t now)
{
	struct clusterd		*cd = o->cd;
	struct own_ent		*e;
	struct claim		*c;
	struct link_peer	*lp;
	uint64_t		 nodes[REPLICA_MAX], gone = 0;
	size_t			 i, k, n, moved = 0;

	if (now - o->scan_at < OWNER_SCAN_MS || !is_membership_leader(cd) ||
	    !o->live)
		return;
	o->scan_at = now;
	for (i = 0; i < o->cap; i++)
		for (e = o->tab[i]; e != NULL; e = e->next) {
			if (!is_owner_gone(o, e->node, now) ||
			    has_owner_claim(o, e->cid, e->len))
				continue;
			/* A leaving node hands its sessions over itself; a
			 * dead one's continue from replicas, if any. */
			if (is_membership_leaving(cd, e->node))
				n = replica_targets(cd, e->node, e->cid,
				    e->len, REPLICA_MAX, nodes);
			else
				n = replica_nodes(cd, e->node, e->cid, e->len,
				    nodes);
			for (k = 0; k < n; k++) {
				if (nodes[k] == cd->node_id)
					break;
				lp = membership_link(cd, nodes[k]);
				if (lp != NULL && link_is_up(lp))
					break;
			}
			if (k == n)
				continue;	/* nobody to move it to yet */
			c = claim_new(o, nodes[k], 0, e->cid, e->len);
			c->state = CLAIM_PROPOSE;
			gone = e->node;
			moved++;
		}
	if (moved == 0)
		return;
	o->moved += moved;
	log_warnx("owner: moving %zu sessions of gone or leaving nodes (e.g. "
	    "%016" PRIx64 ") to their replicas", moved, gone);
	route_schedule(cd);
}

void
owner_tick(struct clusterd *cd)
{
	struct owner	*o = cd->owner;
	struct claim	*c, *next;
	struct link_peer *lp;
	uint64_t	 now;
	bool		 majority;

	if (o == NULL)
		return;
	now = uv_now(cd->loop);
	majority = is_route_majority(cd);
	if (!o->live && is_membership_caught_up(cd))
		o->live = true;
	if (o->checks != NULL && o->live)
		owner_reconcile(o);
	owner_failover(o, now);
	replica_tick(cd);
	for (c = o->claims; c != NULL; c = next) {
		next = c->next;
		switch (c->state) {
		case CLAIM_LOCAL:
			if (majority) {
				log_info("owner: proposing the claim of %.*s "
				    "made during the netsplit", (int)c->len,
				    c->cid);
				c->state = CLAIM_PROPOSE;
			}
			break;
		case CLAIM_WAIT_APPLY:
			if (now - c->sent_at > OWNER_RETRY_MS)
				c->state = CLAIM_PROPOSE;
			/* FALLTHROUGH */
		case CLAIM_PROPOSE:
			if (now - c->since > OWNER_CLAIM_MS) {
				if (c->ipc_id != 0)
					log_warnx("owner: claim of %.*s not "
					    "committed in %d s", (int)c->len,
					    c->cid, OWNER_CLAIM_MS / 1000);
				claim_done(o, c, IPC_CLAIM_ERROR);
			} else if (!majority && c->ipc_id != 0)
				claim_done(o, c, IPC_CLAIM_NO_QUORUM);
			break;
		case CLAIM_WAIT_XFER:
			lp = membership_link(cd, c->xfer_from);
			if (!c->asked_replica && (now - c->since >
			    OWNER_XFER_MS || lp == NULL || !link_is_up(lp))) {
				/* The old owner died before handing over. */
				owner_ask_replica(o, c);
				break;
			}
			if (now - c->since > OWNER_XFER_MS) {
				log_warnx("owner: no hand-over of %.*s from "
				    "%016" PRIx64 " in %d ms: going on "
				    "without it", (int)c->len, c->cid,
				    c->xfer_from, OWNER_XFER_MS);
				if (c->then_to != 0)
					owner_takeover(o, c->cid, c->len,
					    c->then_to);
				claim_done(o, c, IPC_CLAIM_OK);
			}
			break;
		}
	}
	route_schedule(cd);
}

/* ------------------------------------------------------ lifecycle */

void
owner_start(struct clusterd *cd)
{
	struct owner	*o;

	o = xcalloc(1, sizeof(*o));
	o->cd = cd;
	o->cap = 256;
	o->tab = xcalloc(o->cap, sizeof(*o->tab));
	buf_init(&o->out);
	cd->owner = o;
}

void
owner_stop(struct clusterd *cd)
{
}

void
owner_free(struct clusterd *cd)
{
	struct owner	*o = cd->owner;
	struct claim	*c;

	if (o == NULL)
		return;
	own_clear(o);
	free(o->tab);
	while ((c = o->claims) != NULL) {
		o->claims = c->next;
		free(c);
	}
	while ((c = o->checks) != NULL) {
		o->checks = c->next;
		free(c);
	}
	free(o->reps);
	buf_free(&o->out);
	free(o);
	cd->owner = NULL;
}

size_t
owner_under_replicated(struct clusterd *cd)
{
	struct owner		*o = cd->owner;
	struct own_ent		*e;
	struct link_peer	*lp;
	uint64_t		 nodes[REPLICA_MAX];
	size_t			 i, k, n, want, under = 0;

	if (o == NULL || cd->conf.replication_factor < 2)
		return (0);
	want = (size_t)cd->conf.replication_factor - 1;
	for (i = 0; i < o->cap; i++)
		for (e = o->tab[i]; e != NULL; e = e->next) {
			if (e->node != cd->node_id)
				continue;
			n = replica_nodes(cd, e->node, e->cid, e->len, nodes);
			for (k = 0; k < n; k++) {
				lp = membership_link(cd, nodes[k]);
				if (lp == NULL || !link_is_up(lp))
					break;
			}
			if (n < want || k < n)
				under++;
		}
	return (under);
}

void
owner_stats(struct clusterd *cd, struct owner_stats *st)
{
	struct owner	*o = cd->owner;

	memset(st, 0, sizeof(*st));
	if (o == NULL)
		return;
	st->takeovers = o->takeovers;
	st->replica_xfers = o->replica_xfers;
	st->moved = o->moved;
	st->adopted = o->adopted;
	st->reconciled = o->reconciled;
}

size_t
owner_count(struct clusterd *cd, uint64_t node)
{
	struct owner	*o = cd->owner;
	struct own_ent	*e;
	size_t		 i, n = 0;

	if (o == NULL)
		return (0);
	for (i = 0; i < o->cap; i++)
		for (e = o->tab[i]; e != NULL; e = e->next)
			if (e->node == node)
				n++;
	return (n);
}
