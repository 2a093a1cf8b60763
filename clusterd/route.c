/* SPDX-License-Identifier: MIT */
/*
 * The route table: which nodes have subscribers for which filters.  Not in
 * the Raft log (subscription churn would flood it): mqttd tells us the
 * filters of this node that got their first local subscriber or lost their
 * last (IPC_ROUTE_LOCAL, batched); we number our changes per generation
 * (our boot id) and send them to every member (WIRE_ROUTE_DELTA), with the
 * whole set when a link comes up or a peer sees a gap (WIRE_ROUTE_SYNC).
 * Every other node's set is pushed to mqttd as it changes
 * (IPC_ROUTE_UPDATE), whole when mqttd (re)connects, so that mqttd matches
 * remote routes itself with no round trip per publish.  Also here: the
 * link to mqttd's clusterlink, the cluster state it is told (majority,
 * members), and the end-of-iteration flush shared with forward.c and
 * owner.c.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/wire_msg.h"

#define ROUTE_TICK_MS		250
#define ROUTE_PROBE_MS		1000	/* "I am at seq" to every peer */
#define ROUTE_REQ_MS		500	/* sync requests per node at most */
#define ROUTE_READY_MS		5000	/* no mqttd: serve an empty set */
#define ROUTE_MINORITY_MS	1500	/* leaderless this long: minority */
#define ROUTE_STATE_MS		1000	/* cluster state to mqttd */
#define ROUTE_CL_DEAD_MS	3000	/* clusterlink silent: gone */
#define ROUTE_SYNC_CHUNK	4096	/* filters per WIRE_ROUTE_SYNC */

/* ------------------------------------------------------ string sets */

struct rset_ent {
	struct rset_ent	*next;
	uint32_t	 hash;
	uint32_t	 len;
	char		 s[];		/* NUL-terminated */
};

static uint32_t
rset_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return (h);
}

static void
rset_grow(struct rset *set)
{
	struct rset_ent	**tab, *e, *next;
	size_t		  cap = set->cap ? set->cap * 2 : 64, i;

	tab = xcalloc(cap, sizeof(*tab));
	for (i = 0; i < set->cap; i++)
		for (e = set->tab[i]; e != NULL; e = next) {
			next = e->next;
			e->next = tab[e->hash & (cap - 1)];
			tab[e->hash & (cap - 1)] = e;
		}
	free(set->tab);
	set->tab = tab;
	set->cap = cap;
}

static struct rset_ent **
rset_slot(const struct rset *set, const char *s, size_t len, uint32_t h)
{
	struct rset_ent	**pp;

	if (set->cap == 0)
		return (NULL);
	for (pp = &set->tab[h & (set->cap - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->len == len &&
		    memcmp((*pp)->s, s, len) == 0)
			return (pp);
	return (pp);
}

int
rset_add(struct rset *set, const char *s, size_t len)
{
	struct rset_ent	**pp, *e;
	uint32_t	  h = rset_hash(s, len);

	if ((pp = rset_slot(set, s, len, h)) != NULL && *pp != NULL)
		return (0);
	if (set->n + 1 > set->cap / 2 * 3 || set->cap == 0)
		rset_grow(set);
	e = xmalloc(sizeof(*e) + len + 1);
	e->hash = h;
	e->len = (uint32_t)len;
	memcpy(e->s, s, len);
	e->s[len] = '\0';
	e->next = set->tab[h & (set->cap - 1)];
	set->tab[h & (set->cap - 1)] = e;
	set->n++;
	return (1);
}

int
rset_del(struct rset *set, const char *s, size_t len)
{
	struct rset_ent	**pp, *e;

	if ((pp = rset_slot(set, s, len, rset_hash(s, len))) == NULL ||
	    *pp == NULL)
		return (0);
	e = *pp;
	*pp = e->next;
	free(e);
	set->n--;
	return (1);
}

bool
has_rset(const struct rset *set, const char *s, size_t len)
{
	struct rset_ent	**pp;

	pp = rset_slot(set, s, len, rset_hash(s, len));
	return (pp != NULL && *pp != NULL);
}

void
rset_walk(const struct rset *set, rset_walk_fn fn, void *arg)
{
	struct rset_ent	*e, *next;
	size_t		 i;

	for (i = 0; i < set->cap; i++)
		for (e = set->tab[i]; e != NULL; e = next) {
			next = e->next;
			fn(e->s, e->len, arg);
		}
}

void
rset_clear(struct rset *set)
{
	struct rset_ent	*e, *next;
	size_t		 i;

	for (i = 0; i < set->cap; i++)
		for (e = set->tab[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(set->tab);
	memset(set, 0, sizeof(*set));
}

/* ------------------------------------------- another node's routes */

void
rtab_init(struct rtab *t, uint64_t id)
{
	memset(t, 0, sizeof(*t));
	t->id = id;
}

void
rtab_clear(struct rtab *t)
{
	rset_clear(&t->set);
	rset_clear(&t->in);
}

static void
rtab_emit(struct rtab_out *out, uint8_t op, const char *s, size_t len)
{
	if (out != NULL && out->fn != NULL)
		out->fn(out->arg, op, s, len);
}

enum rtab_rc
rtab_delta(struct rtab *t, const struct wire_route *d, struct rtab_out *out)
{
	uint32_t	i;
	const char	*s;
	size_t		 len;

	if (!t->synced || d->gen != t->gen)
		return (RTAB_NEED_SYNC);
	if (d->n == 0)
		return (d->seq == t->seq ? RTAB_OK : RTAB_NEED_SYNC);
	if (d->seq <= t->seq)
		return (RTAB_OK);	/* seen already */
	if (d->seq != t->seq + 1)
		return (RTAB_NEED_SYNC);
	for (i = 0; i < d->n; i++) {
		s = (const char *)d->ents[i].filter;
		len = d->ents[i].len;
		if (d->ents[i].op == WIRE_ROUTE_ADD) {
			if (rset_add(&t->set, s, len) == 1)
				rtab_emit(out, IPC_ROUTE_ADD, s, len);
		} else if (rset_del(&t->set, s, len) == 1)
			rtab_emit(out, IPC_ROUTE_DEL, s, len);
	}
	t->seq = d->seq;
	return (RTAB_OK);
}

static void
rtab_emit_add(const char *s, size_t len, void *arg)
{
	rtab_emit(arg, IPC_ROUTE_ADD, s, len);
}

enum rtab_rc
rtab_sync(struct rtab *t, const struct wire_route *d, struct rtab_out *out)
{
	struct rset	tmp;
	uint32_t	i;

	if (d->flags & WIRE_ROUTE_F_FIRST) {
		rset_clear(&t->in);
		t->in_active = true;
		t->in_gen = d->gen;
		t->in_seq = d->seq;
	}
	if (!t->in_active || d->gen != t->in_gen || d->seq != t->in_seq) {
		/* A chunk of a sync we did not see start: wait for a
		 * whole one. */
		rset_clear(&t->in);
		t->in_active = false;
		return (RTAB_NEED_SYNC);
	}
	for (i = 0; i < d->n; i++)
		rset_add(&t->in, (const char *)d->ents[i].filter,
		    d->ents[i].len);
	if (!(d->flags & WIRE_ROUTE_F_LAST))
		return (RTAB_OK);
	tmp = t->set;
	t->set = t->in;
	t->in = tmp;
	rset_clear(&t->in);
	t->in_active = false;
	t->gen = d->gen;
	t->seq = d->seq;
	t->synced = true;
	rtab_emit(out, IPC_ROUTE_RESET, "", 0);
	rset_walk(&t->set, rtab_emit_add, out);
	return (RTAB_DONE);
}

/* ---------------------------------------------------------- state */

/* One pending entry to mqttd or to the peers (filter owned). */
struct route_pend {
	uint64_t	 node;
	uint8_t		 op;
	char		*filter;
	size_t		 len;
};

struct route_pendv {
	struct route_pend	*v;
	size_t			 n;
	size_t			 cap;
};

struct route {
	struct clusterd		*cd;
	/* This node's routes. */
	struct rset		 local;
	uint64_t		 gen;		/* our boot id */
	uint64_t		 seq;
	bool			 ready;		/* mqttd told us its set */
	struct route_pendv	 delta;		/* to the peers */
	uint64_t		 probe_at;
	/* Other nodes'. */
	struct rtab		**tabs;
	size_t			 ntabs;
	/* mqttd's clusterlink. */
	struct ipc_peer		 cl;
	bool			 has_cl;
	bool			 cl_up;
	bool			 cl_synced;	/* it knows our boot id */
	uint64_t		 cl_boot;
	uint64_t		 cl_seen;
	struct route_pendv	 upd;		/* to mqttd */
	/* Cluster state. */
	uint8_t			 flags;		/* IPC_CS_* as last sent */
	bool			 majority;
	uint64_t		 minority_since;
	uint64_t		 state_at;
	bool			 state_dirty;
	uv_check_t		 check;
	uv_timer_t		 tick;
	uint64_t		 started;
	struct buf		 out;
	struct route_stats	 st;
};

static void
route_pend_add(struct route_pendv *pv, uint64_t node, uint8_t op,
    const char *s, size_t len)
{
	struct route_pend	*p;

	if (pv->n == pv->cap) {
		pv->cap = pv->cap ? pv->cap * 2 : 64;
		pv->v = xreallocarray(pv->v, pv->cap, sizeof(*pv->v));
	}
	p = &pv->v[pv->n++];
	p->node = node;
	p->op = op;
	p->filter = xmalloc(len + 1);
	memcpy(p->filter, s, len);
	p->filter[len] = '\0';
	p->len = len;
}

static void
route_pend_clear(struct route_pendv *pv)
{
	size_t	i;

	for (i = 0; i < pv->n; i++)
		free(pv->v[i].filter);
	pv->n = 0;
}

static struct rtab *
route_tab(struct route *r, uint64_t id, bool create)
{
	size_t	i;

	for (i = 0; i < r->ntabs; i++)
		if (r->tabs[i]->id == id)
			return (r->tabs[i]);
	if (!create)
		return (NULL);
	r->tabs = xreallocarray(r->tabs, r->ntabs + 1, sizeof(*r->tabs));
	r->tabs[r->ntabs] = xmalloc(sizeof(**r->tabs));
	rtab_init(r->tabs[r->ntabs], id);
	return (r->tabs[r->ntabs++]);
}

/* ---------------------------------------------------- to mqttd */

bool
is_route_mqttd_up(struct clusterd *cd)
{
	return (cd->route != NULL && cd->route->has_cl && cd->route->cl_up);
}

int
route_to_mqttd(struct clusterd *cd, unsigned type, const struct buf *b)
{
	struct route	*r = cd->route;

	/* Also while it seems silent: ROUTER_MANDATORY refuses a peer
	 * that is really gone. */
	if (r == NULL || !r->has_cl)
		return (-1);
	if (ipc_send(cd->router, &r->cl, type, b) == -1)
		return (-1);
	cd->counters.ipc_out++;
	ipc_uv_kick(cd->router_w);
	return (0);
}

struct route_upd_ctx {
	struct route	*r;
	uint64_t	 node;
};

static void
route_upd_emit(void *arg, uint8_t op, const char *s, size_t len)
{
	struct route_upd_ctx	*c = arg;

	route_pend_add(&c->r->upd, c->node, op, s, len);
}

static void
route_upd_add(const char *s, size_t len, void *arg)
{
	route_upd_emit(arg, IPC_ROUTE_ADD, s, len);
}

/*
 * Sends what is pending for mqttd in one frame: a node's RESET and the
 * ADDs that rebuild its set must arrive together (mqttd compares the
 * set before and after the message).
 */
static void
route_flush_upd(struct route *r)
{
	struct ipc_route	 u = { 0 };
	struct ipc_route_ent	*ents;
	size_t			 k;

	if (r->upd.n == 0 || !r->cl_up)
		return;
	ents = xcalloc(r->upd.n, sizeof(*ents));
	for (k = 0; k < r->upd.n; k++) {
		ents[k].node = r->upd.v[k].node;
		ents[k].op = r->upd.v[k].op;
		ents[k].filter.p = (const uint8_t *)r->upd.v[k].filter;
		ents[k].filter.len = r->upd.v[k].len;
	}
	u.n = (uint32_t)r->upd.n;
	u.ents = ents;
	buf_reset(&r->out);
	ipc_enc_route(&r->out, &u);
	if (route_to_mqttd(r->cd, IPC_ROUTE_UPDATE, &r->out) == 0)
		r->st.updates_sent += r->upd.n;
	free(ents);
	route_pend_clear(&r->upd);
}

/* Every synced node's whole set, for a (re)connected mqttd. */
static void
route_full_to_mqttd(struct route *r)
{
	struct route_upd_ctx	c;
	size_t			i;

	route_pend_clear(&r->upd);
	c.r = r;
	for (i = 0; i < r->ntabs; i++) {
		if (!r->tabs[i]->synced)
			continue;
		c.node = r->tabs[i]->id;
		route_upd_emit(&c, IPC_ROUTE_RESET, "", 0);
		rset_walk(&r->tabs[i]->set, route_upd_add, &c);
	}
}

struct route_state_ctx {
	struct ipc_cs_node	*nodes;
	size_t			 n;
	size_t			 cap;
};

static void
route_state_node(struct clusterd *cd, uint64_t id, const char *name,
    const char *address, void *arg)
{
	struct route_state_ctx	*c = arg;
	struct ipc_cs_node	*n;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		c->nodes = xreallocarray(c->nodes, c->cap, sizeof(*c->nodes));
	}
	n = &c->nodes[c->n++];
	n->id = id;
	n->up = id == cd->node_id ? 1 :
	    link_is_up(link_peer_find(cd, address)) ? 1 : 0;
	n->name.p = (const uint8_t *)name;
	n->name.len = strlen(name);
}

uint8_t
route_state_flags(struct clusterd *cd)
{
	struct route	*r = cd->route;
	uint8_t		 f;

	f = discovery_state_flags(cd);
	if (r != NULL && r->majority)
		f |= IPC_CS_MAJORITY;
	if (is_membership_leaving(cd, cd->node_id))
		f |= IPC_CS_LEAVING;
	if (is_membership_leave_kill(cd, cd->node_id))
		f |= IPC_CS_LEAVE_KILL;
	if (cd->link != NULL && is_membership_joined(cd) &&
	    membership_count(cd) > 1)
		f |= IPC_CS_CLUSTERED;
	return (f);
}

static void
route_send_state(struct route *r)
{
	struct clusterd			*cd = r->cd;
	struct ipc_cluster_state	 s = { 0 };
	struct route_state_ctx		 c = { 0 };

	membership_walk(cd, route_state_node, &c);
	s.flags = route_state_flags(cd);
	s.node_id = cd->node_id;
	s.n = (uint32_t)c.n;
	s.nodes = c.nodes;
	buf_reset(&r->out);
	ipc_enc_cluster_state(&r->out, &s);
	if (route_to_mqttd(cd, IPC_CLUSTER_STATE, &r->out) == 0) {
		r->flags = s.flags;
		r->state_dirty = false;
		r->state_at = uv_now(cd->loop);
	}
	free(c.nodes);
}

/* --------------------------------------------------- to the peers */

static void
route_send_sync(struct route *r, uint64_t node)
{
	struct clusterd		*cd = r->cd;
	struct link_peer	*p;
	struct wire_route	 w = { 0 };
	struct wire_route_ent	*ents;
	struct rset_ent		*e;
	size_t			 i, n = 0;

	if (!r->ready || (p = membership_link(cd, node)) == NULL ||
	    !link_is_up(p))
		return;
	ents = xcalloc(ROUTE_SYNC_CHUNK, sizeof(*ents));
	w.gen = r->gen;
	w.seq = r->seq;
	w.flags = WIRE_ROUTE_F_FIRST;
	w.ents = ents;
	for (i = 0; i <= r->local.cap; i++) {
		for (e = i < r->local.cap ? r->local.tab[i] : NULL; e != NULL;
		    e = e->next) {
			ents[n].op = WIRE_ROUTE_ADD;
			ents[n].filter = (const uint8_t *)e->s;
			ents[n].len = e->len;
			if (++n < ROUTE_SYNC_CHUNK)
				continue;
			w.n = (uint32_t)n;
			link_begin(cd, &r->out, WIRE_ROUTE_SYNC);
			wire_enc_route(&r->out, &w);
			link_send(cd, p, &r->out);
			w.flags = 0;
			n = 0;
		}
	}
	w.n = (uint32_t)n;
	w.flags |= WIRE_ROUTE_F_LAST;
	link_begin(cd, &r->out, WIRE_ROUTE_SYNC);
	wire_enc_route(&r->out, &w);
	link_send(cd, p, &r->out);
	free(ents);
	r->st.syncs_sent++;
	log_debug("route: sent our %zu routes (seq %" PRIu64 ") to %016"
	    PRIx64, r->local.n, r->seq, node);
}

struct route_bcast {
	struct route	*r;
	bool		 sync;		/* a whole set, not r->out */
};

static void
route_bcast_one(struct clusterd *cd, uint64_t id, const char *name,
    const char *address, void *arg)
{
	struct route_bcast	*b = arg;
	struct link_peer	*p;

	if (id == cd->node_id)
		return;
	if (b->sync) {
		route_send_sync(b->r, id);
		return;
	}
	if ((p = membership_link(cd, id)) != NULL && link_is_up(p))
		link_send(cd, p, &b->r->out);
}

static void
route_flush_delta(struct route *r)
{
	struct clusterd		*cd = r->cd;
	struct wire_route	 w = { 0 };
	struct route_bcast	 b = { r, false };
	size_t			 i;

	if (r->delta.n == 0 || !r->ready)
		return;
	w.ents = xcalloc(r->delta.n, sizeof(*w.ents));
	for (i = 0; i < r->delta.n; i++) {
		w.ents[i].op = r->delta.v[i].op == IPC_ROUTE_ADD ?
		    WIRE_ROUTE_ADD : WIRE_ROUTE_DEL;
		w.ents[i].filter = (const uint8_t *)r->delta.v[i].filter;
		w.ents[i].len = r->delta.v[i].len;
	}
	w.n = (uint32_t)r->delta.n;
	w.gen = r->gen;
	w.seq = ++r->seq;
	link_begin(cd, &r->out, WIRE_ROUTE_DELTA);
	wire_enc_route(&r->out, &w);
	membership_walk(cd, route_bcast_one, &b);
	r->st.deltas_sent++;
	free(w.ents);
	route_pend_clear(&r->delta);
}

static void
route_probe(struct route *r)
{
	struct wire_route	w = { 0 };
	struct route_bcast	b = { r, false };

	w.gen = r->gen;
	w.seq = r->seq;
	link_begin(r->cd, &r->out, WIRE_ROUTE_DELTA);
	wire_enc_route(&r->out, &w);
	membership_walk(r->cd, route_bcast_one, &b);
}

static void
route_become_ready(struct route *r, const char *why)
{
	struct route_bcast	b = { r, true };

	if (r->ready)
		return;
	r->ready = true;
	log_info("route: serving %zu local routes (%s)", r->local.n, why);
	/* Peers may hold our previous incarnation's routes: replace them. */
	membership_walk(r->cd, route_bcast_one, &b);
}

/* ------------------------------------------------------ from mqttd */

void
route_on_hello(struct clusterd *cd, const struct ipc_peer *from,
    const struct ipc_hello *h)
{
	struct route	*r = cd->route;
	bool		 fresh;

	if (r == NULL)
		return;
	fresh = !r->has_cl || h->boot_id != r->cl_boot || !r->cl_up;
	r->cl = *from;
	r->has_cl = true;
	r->cl_seen = uv_now(cd->loop);
	/*
	 * Until the clusterlink has seen our boot id it has not resent what
	 * our previous incarnation left unanswered, so whatever newer it sends
	 * meanwhile would overtake that: is_route_clusterlink() refuses its
	 * forwards, claims and routes until a hello names our boot id.
	 */
	r->cl_synced = h->peer_boot == cd->boot_id;
	if (!fresh)
		return;
	if (r->cl_boot != 0 && h->boot_id != r->cl_boot)
		log_info("route: mqttd restarted (pid %u)", h->pid);
	r->cl_boot = h->boot_id;
	r->cl_up = true;
	log_info("route: mqttd's clusterlink is up (pid %u)", h->pid);
	route_full_to_mqttd(r);
	r->state_dirty = true;
	forward_on_mqttd(cd, true);
	owner_on_mqttd(cd, true);
	route_schedule(cd);
}

bool
is_route_clusterlink(struct clusterd *cd, const struct ipc_peer *from)
{
	struct route	*r = cd->route;

	return (r != NULL && r->has_cl && r->cl_synced &&
	    r->cl.len == from->len &&
	    memcmp(r->cl.id, from->id, from->len) == 0);
}

void
route_seen(struct clusterd *cd)
{
	if (cd->route != NULL)
		cd->route->cl_seen = uv_now(cd->loop);
}

struct route_full_ctx {
	struct route	*r;
	struct rset	*next;
};

static void
route_full_del(const char *s, size_t len, void *arg)
{
	struct route_full_ctx	*c = arg;

	if (!has_rset(c->next, s, len)) {
		rset_del(&c->r->local, s, len);
		route_pend_add(&c->r->delta, 0, IPC_ROUTE_DEL, s, len);
	}
}

void
route_on_local(struct clusterd *cd, const struct ipc_route *v)
{
	struct route		*r = cd->route;
	struct rset		 next = { 0 };
	struct route_full_ctx	 c;
	const char		*s;
	size_t			 len;
	uint32_t		 i;

	if (r == NULL)
		return;
	r->st.local_msgs++;
	if (v->flags & IPC_ROUTE_F_FULL) {
		for (i = 0; i < v->n; i++)
			if (v->ents[i].op == IPC_ROUTE_ADD)
				rset_add(&next, (const char *)
				    v->ents[i].filter.p, v->ents[i].filter.len);
		c.r = r;
		c.next = &next;
		rset_walk(&r->local, route_full_del, &c);
	}
	for (i = 0; i < v->n; i++) {
		s = (const char *)v->ents[i].filter.p;
		len = v->ents[i].filter.len;
		if (v->ents[i].op == IPC_ROUTE_ADD) {
			if (rset_add(&r->local, s, len) == 1)
				route_pend_add(&r->delta, 0, IPC_ROUTE_ADD, s,
				    len);
		} else if (v->ents[i].op == IPC_ROUTE_DEL) {
			if (rset_del(&r->local, s, len) == 1)
				route_pend_add(&r->delta, 0, IPC_ROUTE_DEL, s,
				    len);
		}
	}
	rset_clear(&next);
	if (!r->ready && (v->flags & IPC_ROUTE_F_FULL)) {
		/* The set is whole: no deltas for it, a sync instead. */
		route_pend_clear(&r->delta);
		route_become_ready(r, "mqttd sent them");
	}
	route_schedule(cd);
}

/* ------------------------------------------------- from the peers */

static void
route_ask_sync(struct route *r, struct rtab *t)
{
	struct clusterd			*cd = r->cd;
	struct link_peer		*p;
	struct wire_route_sync_req	 q;
	uint64_t			 now = uv_now(cd->loop);

	if (t->req_at != 0 && now - t->req_at < ROUTE_REQ_MS)
		return;
	if ((p = membership_link(cd, t->id)) == NULL)
		return;
	t->req_at = now;
	q.gen = t->gen;
	q.seq = t->seq;
	link_begin(cd, &r->out, WIRE_ROUTE_SYNC_REQ);
	wire_enc_route_sync_req(&r->out, &q);
	link_send(cd, p, &r->out);
	r->st.sync_requests++;
}

void
route_on_wire(struct clusterd *cd, const struct wire_hdr *h,
    const uint8_t *p, size_t len)
{
	struct route			*r = cd->route;
	struct wire_route		 d;
	struct wire_route_sync_req	 q;
	struct rtab			*t;
	struct route_upd_ctx		 c;
	struct rtab_out			 out;
	enum rtab_rc			 rc = RTAB_OK;

	if (r == NULL)
		return;
	if (!is_membership_member(cd, h->node_id)) {
		r->st.from_strangers++;
		return;
	}
	c.r = r;
	c.node = h->node_id;
	out.fn = route_upd_emit;
	out.arg = &c;
	switch (h->type) {
	case WIRE_ROUTE_SYNC_REQ:
		if (wire_dec_route_sync_req(p, len, &q) == -1)
			goto bad;
		route_send_sync(r, h->node_id);
		return;
	case WIRE_ROUTE_DELTA:
	case WIRE_ROUTE_SYNC:
		if (wire_dec_route(p, len, &d) == -1)
			goto bad;
		t = route_tab(r, h->node_id, true);
		if (h->type == WIRE_ROUTE_DELTA)
			rc = rtab_delta(t, &d, &out);
		else {
			rc = rtab_sync(t, &d, &out);
			if (rc == RTAB_DONE) {
				r->st.syncs_received++;
				log_debug("route: %016" PRIx64 " has %zu "
				    "routes (seq %" PRIu64 ")", t->id,
				    t->set.n, t->seq);
			}
		}
		wire_route_free(&d);
		if (rc == RTAB_NEED_SYNC)
			route_ask_sync(r, t);
		route_schedule(cd);
		return;
	default:
		break;
	}
 bad:
	r->st.bad_frames++;
	log_warnx("route: malformed %s from node %016" PRIx64 " dropped",
	    wire_type_name(h->type), h->node_id);
}

void
route_on_link(struct clusterd *cd, struct link_peer *p, enum link_event ev)
{
	struct route	*r = cd->route;

	if (r == NULL || p->node_id == 0)
		return;
	if (ev != LINK_EV_DOWN && is_membership_member(cd, p->node_id))
		route_send_sync(r, p->node_id);
	r->state_dirty = true;
	route_schedule(cd);
}

/* ---------------------------------------------------- housekeeping */

/* Drops the routes of nodes that are no longer members. */
static void
route_prune(struct route *r)
{
	struct route_upd_ctx	c;
	size_t			i;

	c.r = r;
	for (i = 0; i < r->ntabs; ) {
		if (is_membership_member(r->cd, r->tabs[i]->id)) {
			i++;
			continue;
		}
		log_info("route: node %016" PRIx64 " left: dropping its %zu "
		    "routes", r->tabs[i]->id, r->tabs[i]->set.n);
		c.node = r->tabs[i]->id;
		route_upd_emit(&c, IPC_ROUTE_RESET, "", 0);
		rtab_clear(r->tabs[i]);
		free(r->tabs[i]);
		r->tabs[i] = r->tabs[--r->ntabs];
	}
}

static void
route_check_cb(uv_check_t *h)
{
	struct clusterd	*cd = h->data;
	struct route	*r = cd->route;

	route_flush_delta(r);
	route_flush_upd(r);
	if (r->state_dirty)
		route_send_state(r);
	forward_flush(cd);
	owner_flush(cd);
	uv_check_stop(&r->check);
}

void
route_schedule(struct clusterd *cd)
{
	if (cd->route != NULL && !cd->stopping)
		uv_check_start(&cd->route->check, route_check_cb);
}

static void
route_tick_cb(uv_timer_t *h)
{
	struct clusterd	*cd = h->data;
	struct route	*r = cd->route;
	uint64_t	 now = uv_now(cd->loop);
	bool		 maj;

	if (r->cl_up && now - r->cl_seen > ROUTE_CL_DEAD_MS) {
		r->cl_up = false;
		log_warnx("route: mqttd's clusterlink is silent: down");
		forward_on_mqttd(cd, false);
		owner_on_mqttd(cd, false);
	}
	if (!r->ready && now - r->started > ROUTE_READY_MS && !r->cl_up)
		route_become_ready(r, "no mqttd yet");
	if (r->ready && now - r->probe_at >= ROUTE_PROBE_MS) {
		r->probe_at = now;
		route_probe(r);
	}
	route_prune(r);
	/* G3: a majority at once, a minority only after a while without
	 * a leader (an election takes well under a second). */
	maj = is_membership_majority(cd);
	if (maj) {
		r->minority_since = 0;
		if (!r->majority) {
			r->majority = true;
			log_info("route: in a majority: serving");
		}
	} else if (r->minority_since == 0)
		r->minority_since = now;
	else if (r->majority && now - r->minority_since > ROUTE_MINORITY_MS) {
		r->majority = false;
		log_warnx("route: no quorum for %d ms: this node is in a "
		    "minority", ROUTE_MINORITY_MS);
	}
	if (route_state_flags(cd) != r->flags ||
	    now - r->state_at >= ROUTE_STATE_MS)
		r->state_dirty = true;
	forward_tick(cd);
	owner_tick(cd);
	route_schedule(cd);
}

void
route_start(struct clusterd *cd)
{
	struct route	*r;

	r = xcalloc(1, sizeof(*r));
	r->cd = cd;
	r->gen = cd->boot_id;
	r->started = uv_now(cd->loop);
	/* Start as majority: a one-node cluster has no election to wait
	 * for, and a node that restarts should not refuse at once. */
	r->majority = true;
	buf_init(&r->out);
	cd->route = r;
	uv_check_init(cd->loop, &r->check);
	r->check.data = cd;
	uv_timer_init(cd->loop, &r->tick);
	r->tick.data = cd;
	uv_timer_start(&r->tick, route_tick_cb, ROUTE_TICK_MS, ROUTE_TICK_MS);
	forward_start(cd);
	owner_start(cd);
}

void
route_stop(struct clusterd *cd)
{
	struct route	*r = cd->route;

	if (r == NULL)
		return;
	uv_timer_stop(&r->tick);
	uv_check_stop(&r->check);
	uv_close((uv_handle_t *)&r->tick, NULL);
	uv_close((uv_handle_t *)&r->check, NULL);
	forward_stop(cd);
	owner_stop(cd);
}

void
route_free(struct clusterd *cd)
{
	struct route	*r = cd->route;
	size_t		 i;

	if (r == NULL)
		return;
	forward_free(cd);
	owner_free(cd);
	rset_clear(&r->local);
	for (i = 0; i < r->ntabs; i++) {
		rtab_clear(r->tabs[i]);
		free(r->tabs[i]);
	}
	free(r->tabs);
	route_pend_clear(&r->delta);
	route_pend_clear(&r->upd);
	free(r->delta.v);
	free(r->upd.v);
	buf_free(&r->out);
	free(r);
	cd->route = NULL;
}

bool
is_route_majority(struct clusterd *cd)
{
	return (cd->route == NULL || cd->route->majority);
}

void
route_stats(struct clusterd *cd, struct route_stats *st, size_t *local,
    size_t *remote)
{
	struct route	*r = cd->route;
	size_t		 i;

	memset(st, 0, sizeof(*st));
	*local = *remote = 0;
	if (r == NULL)
		return;
	*st = r->st;
	*local = r->local.n;
	for (i = 0; i < r->ntabs; i++)
		*remote += r->tabs[i]->set.n;
}

void
route_status(struct clusterd *cd, json_t *o)
{
	struct route	*r = cd->route;

	if (r == NULL)
		return;
	json_object_set_new(o, "majority", json_boolean(r->majority));
	json_object_set_new(o, "mqttd_clusterlink",
	    json_string(r->cl_up ? "up" : "down"));
	json_object_set_new(o, "owned_sessions",
	    json_integer((json_int_t)owner_count(cd, cd->node_id)));
}

#define ROUTE_JSON(o, name, v)						\
	json_object_set_new((o), (name), json_integer((json_int_t)(v)))

void
route_metrics(struct clusterd *cd, json_t *o)
{
	struct route_stats	st;
	struct forward_stats	fs;
	struct owner_stats	os;
	size_t			local, remote;

	route_stats(cd, &st, &local, &remote);
	forward_stats(cd, &fs);
	ROUTE_JSON(o, "routes_local", local);
	ROUTE_JSON(o, "routes_remote", remote);
	ROUTE_JSON(o, "route_deltas_sent", st.deltas_sent);
	ROUTE_JSON(o, "route_syncs_sent", st.syncs_sent);
	ROUTE_JSON(o, "route_syncs_received", st.syncs_received);
	ROUTE_JSON(o, "route_sync_requests", st.sync_requests);
	ROUTE_JSON(o, "route_bad_frames", st.bad_frames);
	ROUTE_JSON(o, "majority", is_route_majority(cd));
	ROUTE_JSON(o, "forward_requests", fs.forwards);
	ROUTE_JSON(o, "forward_messages_out", fs.msgs_out);
	ROUTE_JSON(o, "forward_frames_out", fs.frames_out);
	ROUTE_JSON(o, "forward_resent", fs.resent);
	ROUTE_JSON(o, "forward_messages_in", fs.msgs_in);
	ROUTE_JSON(o, "forward_duplicates_in", fs.dups_in);
	ROUTE_JSON(o, "forward_gaps_in", fs.gaps_in);
	ROUTE_JSON(o, "forward_delivered", fs.delivered);
	ROUTE_JSON(o, "forward_acked", fs.acked);
	ROUTE_JSON(o, "forward_gone", fs.gone);
	ROUTE_JSON(o, "forward_dropped_qos0", fs.dropped_qos0);
	ROUTE_JSON(o, "forward_pending_out", fs.pending_out);
	ROUTE_JSON(o, "forward_pending_in", fs.pending_in);
	ROUTE_JSON(o, "owned_sessions", owner_count(cd, cd->node_id));
	ROUTE_JSON(o, "replica_writes", fs.repl_writes);
	ROUTE_JSON(o, "replica_copies_sent", fs.repl_copies);
	ROUTE_JSON(o, "replica_writes_under_replicated", fs.repl_under);
	ROUTE_JSON(o, "replica_copies_pending", fs.repl_pending);
	ROUTE_JSON(o, "replica_sessions_under_replicated",
	    owner_under_replicated(cd));
	ROUTE_JSON(o, "replica_resyncs", cd->resyncs);
	owner_stats(cd, &os);
	ROUTE_JSON(o, "sessions_taken_over", os.takeovers);
	ROUTE_JSON(o, "sessions_from_replica", os.replica_xfers);
	ROUTE_JSON(o, "sessions_moved", os.moved);
	ROUTE_JSON(o, "sessions_adopted", os.adopted);
	ROUTE_JSON(o, "sessions_reconciled", os.reconciled);
}
