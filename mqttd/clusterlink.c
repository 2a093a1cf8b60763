/* SPDX-License-Identifier: MIT */
/*
 * mqttd's link to clusterd: local routes (refcounted, batched), other
 * nodes' routes, forwards and their answers, deliveries from other nodes,
 * the cluster state and session claims (see clusterlink.h).
 *
 * Forwards and claims live in lists in the order they were made, from the
 * call until clusterd answers; those before first_unsent went to the
 * clusterd whose boot id we know.  When a HELLO answer carries another
 * boot id, everything unanswered goes out again in the same order (the
 * new clusterd has none of it), and so does the whole set of local routes.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"
#include "mqttd/clusterlink.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define CL_TICK_MS	100
#define CL_HB_MS	1000	/* HELLO while up */
#define CL_HELLO_MS	250
#define CL_DEAD_MS	3000
#define CL_RECV_MAX	256
#define CL_BATCH_MAX	(256 * 1024)	/* bytes per IPC_FORWARD frame */

/* A filter with local subscribers. */
struct cl_local {
	struct cl_local	*hnext;
	uint32_t	 hash;
	uint32_t	 count;		/* local subscriptions */
	bool		 sent;		/* clusterd was told it exists */
	bool		 dirty;		/* on the dirty list */
	size_t		 len;
	char		 filter[];
};

struct cl_node {
	uint64_t	 id;
	struct cl_route	*head;
	size_t		 n;
};

/* A forward until clusterd answers (reliable), or until sent (QoS 0). */
struct cl_fwd {
	TAILQ_ENTRY(cl_fwd) link;
	uint64_t	 id;
	bool		 reliable;
	clusterlink_cb	 cb;
	void		*arg;
	struct buf	 frame;		/* IPC_FORWARD payload */
};
TAILQ_HEAD(cl_fwd_list, cl_fwd);

struct cl_claim {
	TAILQ_ENTRY(cl_claim) link;
	uint32_t	 id;
	bool		 sent;
	bool		 done;		/* answered: cb pending */
	uint8_t		 flags;
	uint8_t		 rc;
	uint64_t	 prev;
	uint64_t	 deadline;	/* monotonic ms */
	clusterlink_claim_cb cb;
	void		*arg;
	size_t		 len;
	char		*cid;
};
TAILQ_HEAD(cl_claim_list, cl_claim);

struct clusterlink {
	struct event_base	*base;		/* borrowed */
	struct clusterlink_opts	 o;		/* strings borrowed */
	void			*sock;
	struct ipc_ev		*ev;
	struct event		*flush_ev;
	struct event		*tick_ev;
	bool			 flush_pending;
	bool			 up;
	uint64_t		 boot_id;	/* clusterd's; 0 = unknown */
	uint64_t		 my_boot;
	uint64_t		 last_heard;
	uint64_t		 last_hello;
	uint8_t			 state;		/* IPC_CS_* */
	uint64_t		 node_id;
	/* Local routes. */
	struct cl_local		**ltab;
	size_t			 lcap;
	size_t			 nlocal;
	struct cl_local		**dirty;
	size_t			 ndirty;
	size_t			 dirty_cap;
	bool			 need_full;
	/* Other nodes' routes. */
	struct cl_route		**rtab;
	size_t			 rcap;
	size_t			 nremote;
	struct cl_node		*nodes;
	size_t			 nnodes;
	uint32_t		 upd_gen;
	/* Forwards. */
	struct cl_fwd_list	 fwds;
	struct cl_fwd		*first_unsent;
	uint64_t		 last_id;
	size_t			 nfwds;		/* reliable, outstanding */
	size_t			 bytes;
	bool			 blocked;
	/* Answers to deliveries. */
	struct ipc_ack_ent	*dacks;
	size_t			 ndacks;
	size_t			 dacks_cap;
	/* Claims. */
	struct cl_claim_list	 claims;
	uint32_t		 next_claim;
	/* Client ids to check (IPC_SESSION_CHECK), not sent yet. */
	struct ipc_claim_ent	*checks;	/* client_id owned */
	size_t			 nchecks;
	struct buf		 out;
	struct clusterlink_stats st;
};

static uint64_t
cl_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static uint32_t
cl_hash(const void *p, size_t len)
{
	const uint8_t	*s = p;
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return (h);
}

static void
cl_schedule(struct clusterlink *cl)
{
	if (!cl->flush_pending) {
		cl->flush_pending = true;
		event_active(cl->flush_ev, EV_TIMEOUT, 0);
	}
}

/* ------------------------------------------------------ link state */

static int
cl_send(struct clusterlink *cl, unsigned type, const struct buf *b)
{
	if (ipc_send(cl->sock, NULL, type, b) == -1)
		return (-1);
	ipc_ev_kick(cl->ev);
	return (0);
}

static void
cl_send_hello(struct clusterlink *cl)
{
	struct ipc_hello	h = { 0 };

	snprintf(h.daemon, sizeof(h.daemon), "clusterlink");
	snprintf(h.nodename, sizeof(h.nodename), "%s",
	    cl->o.nodename != NULL ? cl->o.nodename : "");
	h.pid = (uint32_t)getpid();
	h.boot_id = cl->my_boot;
	h.peer_boot = cl->boot_id;
	cl->last_hello = cl_mono();
	if (ipc_send_hello(cl->sock, NULL, &h) == 0)
		ipc_ev_kick(cl->ev);
}

static void
cl_down(struct clusterlink *cl)
{
	if (!cl->up)
		return;
	cl->up = false;
	log_warnx("clusterlink: clusterd is silent: down (%zu forwards "
	    "wait)", cl->nfwds);
	if (cl->o.link != NULL)
		cl->o.link(cl->o.arg, false);
}

/* clusterd (re)started: it knows nothing of ours; everything again. */
static void
cl_replay(struct clusterlink *cl)
{
	struct cl_claim	*c;

	cl->first_unsent = TAILQ_FIRST(&cl->fwds);
	if (cl->first_unsent != NULL)
		cl->st.resent += cl->nfwds;
	TAILQ_FOREACH(c, &cl->claims, link)
		c->sent = false;
	cl->need_full = true;
}

static void
cl_on_hello(struct clusterlink *cl, const struct ipc_msg *m)
{
	struct ipc_hello	h;

	if (ipc_recv_hello(m, &h) == -1) {
		log_warnx("clusterlink: malformed hello from clusterd");
		return;
	}
	if (h.boot_id != cl->boot_id) {
		if (cl->boot_id != 0) {
			cl->st.restarts++;
			log_warnx("clusterlink: clusterd restarted (pid %u): "
			    "sending %zu forwards and the routes again",
			    h.pid, cl->nfwds);
		}
		cl_replay(cl);
		cl->boot_id = h.boot_id;
		/* Tell it we know it before anything is sent again: it
		 * takes nothing from us until then (what it got meanwhile,
		 * it dropped), so the replay keeps the order. */
		cl_send_hello(cl);
	}
	if (!cl->up) {
		cl->up = true;
		log_info("clusterlink: clusterd is up (pid %u)", h.pid);
		if (cl->o.link != NULL)
			cl->o.link(cl->o.arg, true);
	}
	cl_schedule(cl);
}

/* ---------------------------------------------------- local routes */

static struct cl_local **
cl_local_slot(struct clusterlink *cl, const char *f, size_t len, uint32_t h)
{
	struct cl_local	**pp;

	for (pp = &cl->ltab[h & (cl->lcap - 1)]; *pp != NULL;
	    pp = &(*pp)->hnext)
		if ((*pp)->hash == h && (*pp)->len == len &&
		    memcmp((*pp)->filter, f, len) == 0)
			break;
	return (pp);
}

static void
cl_local_grow(struct clusterlink *cl)
{
	struct cl_local	**tab, *e, *next;
	size_t		  cap = cl->lcap * 2, i;

	tab = xcalloc(cap, sizeof(*tab));
	for (i = 0; i < cl->lcap; i++)
		for (e = cl->ltab[i]; e != NULL; e = next) {
			next = e->hnext;
			e->hnext = tab[e->hash & (cap - 1)];
			tab[e->hash & (cap - 1)] = e;
		}
	free(cl->ltab);
	cl->ltab = tab;
	cl->lcap = cap;
}

static void
cl_local_dirty(struct clusterlink *cl, struct cl_local *e)
{
	if (e->dirty)
		return;
	e->dirty = true;
	if (cl->ndirty == cl->dirty_cap) {
		cl->dirty_cap = cl->dirty_cap ? cl->dirty_cap * 2 : 64;
		cl->dirty = xreallocarray(cl->dirty, cl->dirty_cap,
		    sizeof(*cl->dirty));
	}
	cl->dirty[cl->ndirty++] = e;
	cl_schedule(cl);
}

void
clusterlink_route_ref(struct clusterlink *cl, const char *f, size_t len)
{
	struct cl_local	**pp, *e;
	uint32_t	  h = cl_hash(f, len);

	pp = cl_local_slot(cl, f, len, h);
	if ((e = *pp) == NULL) {
		if (cl->nlocal + 1 > cl->lcap / 4 * 3) {
			cl_local_grow(cl);
			pp = cl_local_slot(cl, f, len, h);
		}
		e = xcalloc(1, sizeof(*e) + len + 1);
		e->hash = h;
		e->len = len;
		memcpy(e->filter, f, len);
		*pp = e;
		cl->nlocal++;
	}
	if (e->count++ == 0)
		cl_local_dirty(cl, e);
}

void
clusterlink_route_unref(struct clusterlink *cl, const char *f, size_t len)
{
	struct cl_local	*e;

	e = *cl_local_slot(cl, f, len, cl_hash(f, len));
	if (e == NULL || e->count == 0)
		return;
	if (--e->count == 0)
		cl_local_dirty(cl, e);
}

static void
cl_local_remove(struct clusterlink *cl, struct cl_local *e)
{
	struct cl_local	**pp;

	pp = cl_local_slot(cl, e->filter, e->len, e->hash);
	*pp = e->hnext;
	cl->nlocal--;
	free(e);
}

/* Sends the changes (or, after a clusterd restart, the whole set). */
static void
cl_flush_routes(struct clusterlink *cl)
{
	struct ipc_route	 r = { 0 };
	struct ipc_route_ent	*ents;
	struct cl_local		*e;
	size_t			 i, n = 0, cap;

	if (!cl->up || (!cl->need_full && cl->ndirty == 0))
		return;
	cap = cl->need_full ? cl->nlocal + 1 : cl->ndirty;
	ents = xcalloc(cap, sizeof(*ents));
	if (cl->need_full) {
		r.flags = IPC_ROUTE_F_FULL;
		for (i = 0; i < cl->lcap; i++)
			for (e = cl->ltab[i]; e != NULL; e = e->hnext) {
				e->sent = e->count > 0;
				if (!e->sent)
					continue;
				ents[n].op = IPC_ROUTE_ADD;
				ents[n].filter.p = (const uint8_t *)e->filter;
				ents[n].filter.len = e->len;
				n++;
			}
	} else {
		for (i = 0; i < cl->ndirty; i++) {
			e = cl->dirty[i];
			if ((e->count > 0) == e->sent)
				continue;
			e->sent = e->count > 0;
			ents[n].op = e->sent ? IPC_ROUTE_ADD : IPC_ROUTE_DEL;
			ents[n].filter.p = (const uint8_t *)e->filter;
			ents[n].filter.len = e->len;
			n++;
		}
	}
	r.n = (uint32_t)n;
	r.ents = ents;
	buf_reset(&cl->out);
	ipc_enc_route(&cl->out, &r);
	if (n > 0 || cl->need_full) {
		if (cl_send(cl, IPC_ROUTE_LOCAL, &cl->out) == -1) {
			/* Not connected after all: the whole set later. */
			cl->need_full = true;
			free(ents);
			return;
		}
	}
	free(ents);
	cl->need_full = false;
	/* Forget filters nobody subscribes to any more. */
	for (i = 0; i < cl->ndirty; i++) {
		e = cl->dirty[i];
		e->dirty = false;
		if (e->count == 0 && !e->sent)
			cl_local_remove(cl, e);
	}
	cl->ndirty = 0;
}

/* --------------------------------------------------- remote routes */

static uint32_t
cl_rhash(uint64_t node, const char *f, size_t len)
{
	return (cl_hash(f, len) ^ (uint32_t)(node * 0x9e3779b97f4a7c15ULL >>
	    32));
}

static struct cl_route **
cl_route_slot(struct clusterlink *cl, uint64_t node, const char *f,
    size_t len)
{
	struct cl_route	**pp;

	if (cl->rcap == 0)
		return (NULL);
	for (pp = &cl->rtab[cl_rhash(node, f, len) & (cl->rcap - 1)];
	    *pp != NULL; pp = &(*pp)->hnext)
		if ((*pp)->node == node && (*pp)->len == len &&
		    memcmp((*pp)->filter, f, len) == 0)
			break;
	return (pp);
}

static void
cl_route_grow(struct clusterlink *cl)
{
	struct cl_route	**tab, *r, *next;
	size_t		  cap = cl->rcap ? cl->rcap * 2 : 64, i, h;

	tab = xcalloc(cap, sizeof(*tab));
	for (i = 0; i < cl->rcap; i++)
		for (r = cl->rtab[i]; r != NULL; r = next) {
			next = r->hnext;
			h = cl_rhash(r->node, r->filter, r->len) & (cap - 1);
			r->hnext = tab[h];
			tab[h] = r;
		}
	free(cl->rtab);
	cl->rtab = tab;
	cl->rcap = cap;
}

static struct cl_node *
cl_node_get(struct clusterlink *cl, uint64_t id)
{
	size_t	i;

	for (i = 0; i < cl->nnodes; i++)
		if (cl->nodes[i].id == id)
			return (&cl->nodes[i]);
	cl->nodes = xreallocarray(cl->nodes, cl->nnodes + 1,
	    sizeof(*cl->nodes));
	memset(&cl->nodes[cl->nnodes], 0, sizeof(*cl->nodes));
	cl->nodes[cl->nnodes].id = id;
	return (&cl->nodes[cl->nnodes++]);
}

static void
cl_route_add(struct clusterlink *cl, uint64_t node, const char *f,
    size_t len)
{
	struct cl_route	**pp, *r;
	struct cl_node	 *n;

	if ((pp = cl_route_slot(cl, node, f, len)) != NULL && *pp != NULL) {
		(*pp)->reset_gen = 0;	/* still there */
		return;
	}
	if (cl->nremote + 1 > cl->rcap / 4 * 3)
		cl_route_grow(cl);
	pp = cl_route_slot(cl, node, f, len);
	r = xcalloc(1, sizeof(*r) + len + 1);
	r->node = node;
	r->len = len;
	memcpy(r->filter, f, len);
	*pp = r;
	n = cl_node_get(cl, node);
	r->nnext = n->head;
	if (n->head != NULL)
		n->head->nprev = r;
	n->head = r;
	n->n++;
	cl->nremote++;
	cl->st.routes_remote = cl->nremote;
	if (cl->o.route_add != NULL)
		cl->o.route_add(cl->o.arg, r);
}

static void
cl_route_del(struct clusterlink *cl, struct cl_route *r)
{
	struct cl_route	**pp;
	struct cl_node	 *n;

	pp = cl_route_slot(cl, r->node, r->filter, r->len);
	*pp = r->hnext;
	n = cl_node_get(cl, r->node);
	if (r->nprev != NULL)
		r->nprev->nnext = r->nnext;
	else
		n->head = r->nnext;
	if (r->nnext != NULL)
		r->nnext->nprev = r->nprev;
	n->n--;
	cl->nremote--;
	cl->st.routes_remote = cl->nremote;
	if (cl->o.route_del != NULL)
		cl->o.route_del(cl->o.arg, r);
	free(r);
}

static void
cl_on_route_update(struct clusterlink *cl, const struct ipc_route *u)
{
	struct cl_route	**pp, *r, *next;
	struct cl_node	 *n;
	uint64_t	 *reset = NULL;
	size_t		  nreset = 0, i, k;
	uint32_t	  gen;
	const char	 *f;
	size_t		  len;

	if (++cl->upd_gen == 0)
		cl->upd_gen = 1;
	gen = cl->upd_gen;
	for (i = 0; i < u->n; i++) {
		f = (const char *)u->ents[i].filter.p;
		len = u->ents[i].filter.len;
		switch (u->ents[i].op) {
		case IPC_ROUTE_RESET:
			/* Marked now, removed at the end unless an ADD of
			 * this message keeps it. */
			n = cl_node_get(cl, u->ents[i].node);
			for (r = n->head; r != NULL; r = r->nnext)
				r->reset_gen = gen;
			reset = xreallocarray(reset, nreset + 1,
			    sizeof(*reset));
			reset[nreset++] = u->ents[i].node;
			break;
		case IPC_ROUTE_ADD:
			cl_route_add(cl, u->ents[i].node, f, len);
			break;
		case IPC_ROUTE_DEL:
			if ((pp = cl_route_slot(cl, u->ents[i].node, f,
			    len)) != NULL && *pp != NULL)
				cl_route_del(cl, *pp);
			break;
		}
	}
	for (k = 0; k < nreset; k++) {
		n = cl_node_get(cl, reset[k]);
		for (r = n->head; r != NULL; r = next) {
			next = r->nnext;
			if (r->reset_gen == gen)
				cl_route_del(cl, r);
		}
	}
	free(reset);
}

size_t
clusterlink_nroutes(const struct clusterlink *cl)
{
	return (cl->nremote);
}

/* ---------------------------------------------------------- targets */

static struct ipc_fwd_target *
cl_target_slot(struct cl_targets *t)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = xreallocarray(t->v, t->cap, sizeof(*t->v));
	}
	return (&t->v[t->n++]);
}

void
clusterlink_targets_add(struct cl_targets *t, const struct cl_route *r,
    bool shared)
{
	struct ipc_fwd_target	*x;
	uint32_t		 i;

	if (!shared) {
		for (i = 0; i < t->n; i++)
			if (t->v[i].node == r->node &&
			    t->v[i].kind == IPC_FWD_PLAIN)
				return;
	}
	x = cl_target_slot(t);
	x->node = r->node;
	x->kind = shared ? IPC_FWD_SHARED : IPC_FWD_PLAIN;
	x->filter.p = shared ? (const uint8_t *)r->filter : NULL;
	x->filter.len = shared ? r->len : 0;
}

void
clusterlink_targets_retain(struct cl_targets *t)
{
	struct ipc_fwd_target	*x;

	x = cl_target_slot(t);
	x->node = IPC_FWD_ALL_NODES;
	x->kind = IPC_FWD_RETAIN;
	x->filter.p = NULL;
	x->filter.len = 0;
}

void
clusterlink_targets_reset(struct cl_targets *t)
{
	t->n = 0;
}

void
clusterlink_targets_free(struct cl_targets *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

/* --------------------------------------------------------- forwards */

static void
cl_account(struct clusterlink *cl)
{
	cl->st.outstanding = cl->nfwds;
	cl->st.outstanding_bytes = cl->bytes;
	if (!cl->blocked && (cl->nfwds >= cl->o.max_forwards ||
	    cl->bytes >= cl->o.max_bytes)) {
		cl->blocked = true;
		cl->st.blocked++;
		log_debug("clusterlink: %zu forwards, %zu bytes outstanding: "
		    "back-pressure on", cl->nfwds, cl->bytes);
	} else if (cl->blocked && cl->nfwds <= cl->o.max_forwards / 4 * 3 &&
	    cl->bytes <= cl->o.max_bytes / 4 * 3) {
		cl->blocked = false;
		log_debug("clusterlink: back-pressure off");
		if (cl->o.unblock != NULL)
			cl->o.unblock(cl->o.arg);
	}
}

static uint64_t
cl_next_id(struct clusterlink *cl)
{
	struct timespec	ts;
	uint64_t	base;

	/* Never reused by this node, also across restarts of mqttd:
	 * clusterd may still answer a forward of our predecessor. */
	clock_gettime(CLOCK_REALTIME, &ts);
	base = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000)
	    << 16;
	cl->last_id = base > cl->last_id ? base : cl->last_id + 1;
	return (cl->last_id);
}

static void
cl_fwd_free(struct clusterlink *cl, struct cl_fwd *f)
{
	if (cl->first_unsent == f)
		cl->first_unsent = TAILQ_NEXT(f, link);
	TAILQ_REMOVE(&cl->fwds, f, link);
	if (f->reliable) {
		cl->nfwds--;
		cl->bytes -= sizeof(*f) + f->frame.cap;
	}
	buf_free(&f->frame);
	free(f);
}

void
clusterlink_forward(struct clusterlink *cl, const struct ipc_fwd_target *t,
    uint32_t nt, const struct ipc_store_body *body, bool reliable,
    clusterlink_cb cb, void *arg)
{
	struct ipc_forward	 v = { 0 };
	struct cl_fwd		*f;

	cl->st.forwards++;
	if (!reliable && !cl->up) {
		cl->st.forwards_dropped++;
		return;
	}
	f = xcalloc(1, sizeof(*f));
	f->id = cl_next_id(cl);
	f->reliable = reliable;
	f->cb = cb;
	f->arg = arg;
	v.id = f->id;
	v.flags = reliable ? IPC_FWD_F_ACK : 0;
	v.ntargets = nt;
	v.targets = (struct ipc_fwd_target *)t;
	v.body = *body;
	buf_init(&f->frame);
	ipc_enc_forward(&f->frame, &v);
	TAILQ_INSERT_TAIL(&cl->fwds, f, link);
	if (cl->first_unsent == NULL)
		cl->first_unsent = f;
	if (reliable) {
		cl->nfwds++;
		cl->bytes += sizeof(*f) + f->frame.cap;
		cl_account(cl);
	}
	cl_schedule(cl);
}

bool
clusterlink_would_block(const struct clusterlink *cl)
{
	return (cl->blocked);
}

/*
 * Sends the unsent forwards in order, batched (CL_BATCH_MAX bytes per
 * IPC_FORWARD frame); QoS 0 ones are done once sent.  Not sent (clusterd
 * away or its queue full): everything waits for the next round.
 */
static void
cl_flush_forwards(struct clusterlink *cl)
{
	struct cl_fwd	*f, *next, *first;
	size_t		 at;
	uint32_t	 n;

	while (cl->first_unsent != NULL && cl->up) {
		first = cl->first_unsent;
		buf_reset(&cl->out);
		at = ipc_batch_begin(&cl->out);
		n = 0;
		for (f = first; f != NULL && (n == 0 ||
		    cl->out.len + f->frame.len < CL_BATCH_MAX);
		    f = TAILQ_NEXT(f, link)) {
			ipc_batch_add(&cl->out, f->frame.data, f->frame.len);
			n++;
		}
		ipc_batch_end(&cl->out, at, n);
		if (cl_send(cl, IPC_FORWARD, &cl->out) == -1)
			return;
		for (f = first; n > 0; f = next, n--) {
			next = TAILQ_NEXT(f, link);
			cl->first_unsent = next;
			if (!f->reliable)
				cl_fwd_free(cl, f);
		}
	}
}

static void
cl_on_forward_ack(struct clusterlink *cl, const struct ipc_acks *a)
{
	struct cl_fwd	*f, *next;
	clusterlink_cb	 cb;
	void		*arg;
	uint32_t	 i;

	for (i = 0; i < a->n; i++) {
		/* Answers come nearly in order: look from the front. */
		for (f = TAILQ_FIRST(&cl->fwds); f != NULL; f = next) {
			next = TAILQ_NEXT(f, link);
			if (f->id != a->ents[i].id)
				continue;
			cb = f->cb;
			arg = f->arg;
			cl_fwd_free(cl, f);
			cl->st.forwards_acked++;
			if (cb != NULL)
				cb(arg, a->ents[i].rc);
			break;
		}
	}
	cl_account(cl);
}

/* ------------------------------------------------------- deliveries */

void
clusterlink_deliver_done(struct clusterlink *cl, uint64_t id, int rc)
{
	if (id == 0)
		return;
	if (cl->ndacks == cl->dacks_cap) {
		cl->dacks_cap = cl->dacks_cap ? cl->dacks_cap * 2 : 64;
		cl->dacks = xreallocarray(cl->dacks, cl->dacks_cap,
		    sizeof(*cl->dacks));
	}
	cl->dacks[cl->ndacks].id = id;
	cl->dacks[cl->ndacks].rc = (uint8_t)rc;
	cl->ndacks++;
	cl_schedule(cl);
}

static void
cl_flush_dacks(struct clusterlink *cl)
{
	struct ipc_acks	a;

	if (cl->ndacks == 0 || !cl->up)
		return;
	a.n = (uint32_t)cl->ndacks;
	a.ents = cl->dacks;
	buf_reset(&cl->out);
	ipc_enc_acks(&cl->out, &a);
	/* Lost: clusterd delivers it again, we answer again. */
	cl_send(cl, IPC_DELIVER_ACK, &cl->out);
	cl->ndacks = 0;
}

static void
cl_on_deliver(struct clusterlink *cl, const struct ipc_deliver *d)
{
	cl->st.delivers++;
	if (cl->o.deliver != NULL)
		cl->o.deliver(cl->o.arg, d->id, d->from, d->targets,
		    d->ntargets, &d->body);
	else
		clusterlink_deliver_done(cl, d->id, IPC_FWD_OK);
}

/* ----------------------------------------------------------- claims */

void
clusterlink_claim(struct clusterlink *cl, const char *cid, size_t len,
    bool local, clusterlink_claim_cb cb, void *arg)
{
	struct cl_claim	*c;

	cl->st.claims++;
	c = xcalloc(1, sizeof(*c));
	if (++cl->next_claim == 0)
		cl->next_claim = 1;
	c->id = cl->next_claim;
	c->cb = cb;
	c->arg = arg;
	c->flags = local ? IPC_CLAIM_F_LOCAL : 0;
	c->cid = xmalloc(len + 1);
	memcpy(c->cid, cid, len);
	c->cid[len] = '\0';
	c->len = len;
	c->deadline = cl_mono() + CLUSTERLINK_CLAIM_MS;
	if (!(cl->state & IPC_CS_CLUSTERED)) {
		/* Alone: nobody to agree with. */
		c->done = true;
		c->rc = IPC_CLAIM_OK;
	}
	TAILQ_INSERT_TAIL(&cl->claims, c, link);
	cl_schedule(cl);
}

static void
cl_claim_free(struct clusterlink *cl, struct cl_claim *c)
{
	TAILQ_REMOVE(&cl->claims, c, link);
	free(c->cid);
	free(c);
}

/* Sends the unsent claims in one frame; runs the answered ones. */
static void
cl_flush_claims(struct clusterlink *cl)
{
	struct ipc_claims	 v = { 0 };
	struct cl_claim		*c, *next;
	clusterlink_claim_cb	 cb;
	void			*arg;
	uint8_t			 rc;
	uint64_t		 prev;
	size_t			 n = 0;

	TAILQ_FOREACH_SAFE(c, &cl->claims, link, next) {
		if (!c->done)
			continue;
		cb = c->cb;
		arg = c->arg;
		rc = c->rc;
		prev = c->prev;
		if (rc != IPC_CLAIM_OK)
			cl->st.claims_failed++;
		cl_claim_free(cl, c);
		if (cb != NULL)
			cb(arg, rc, prev);
	}
	if (!cl->up)
		return;
	TAILQ_FOREACH(c, &cl->claims, link)
		if (!c->sent)
			n++;
	if (n == 0)
		return;
	v.ents = xcalloc(n, sizeof(*v.ents));
	TAILQ_FOREACH(c, &cl->claims, link) {
		if (c->sent)
			continue;
		v.ents[v.n].id = c->id;
		v.ents[v.n].flags = c->flags;
		v.ents[v.n].client_id.p = (const uint8_t *)c->cid;
		v.ents[v.n].client_id.len = c->len;
		v.n++;
	}
	buf_reset(&cl->out);
	ipc_enc_claims(&cl->out, &v);
	if (cl_send(cl, IPC_SESSION_CLAIM, &cl->out) == 0)
		TAILQ_FOREACH(c, &cl->claims, link)
			c->sent = true;
	free(v.ents);
}

static void
cl_on_claim_rep(struct clusterlink *cl, const struct ipc_claims *v)
{
	struct cl_claim	*c;
	uint32_t	 i;

	for (i = 0; i < v->n; i++)
		TAILQ_FOREACH(c, &cl->claims, link)
			if (c->id == v->ents[i].id && !c->done) {
				c->done = true;
				c->rc = v->ents[i].rc;
				c->prev = v->ents[i].prev;
				break;
			}
	cl_schedule(cl);
}

void
clusterlink_xfer(struct clusterlink *cl, const struct ipc_xfer *x)
{
	buf_reset(&cl->out);
	ipc_enc_xfer(&cl->out, x);
	if (!cl->up || cl_send(cl, IPC_SESSION_XFER, &cl->out) == -1)
		log_warnx("clusterlink: session hand-over chunk lost: "
		    "clusterd is away");
}

/* ----------------------------------------------------------- state */

bool
is_clusterlink_up(const struct clusterlink *cl)
{
	return (cl->up);
}

uint8_t
clusterlink_state(const struct clusterlink *cl)
{
	return (cl->state);
}

uint64_t
clusterlink_node_id(const struct clusterlink *cl)
{
	return (cl->node_id);
}

static void
cl_on_state(struct clusterlink *cl, const struct ipc_cluster_state *s)
{
	uint8_t	old = cl->state;

	cl->node_id = s->node_id;
	cl->state = s->flags;
	if (old != s->flags) {
		log_info("clusterlink: cluster state: %s%s%s",
		    s->flags & IPC_CS_MAJORITY ? "majority" : "MINORITY",
		    s->flags & IPC_CS_CLUSTERED ? ", clustered" : "",
		    (s->flags & IPC_CS_DISCOVERY) &&
		    !(s->flags & IPC_CS_JOINED) ? ", not joined yet" : "");
		if (cl->o.state != NULL)
			cl->o.state(cl->o.arg, s->flags);
	}
}

/* ------------------------------------------------------------ loop */

static void
cl_dispatch(struct clusterlink *cl, const struct ipc_msg *m)
{
	struct ipc_route		 r;
	struct ipc_acks			 a;
	struct ipc_deliver		 d;
	struct ipc_cluster_state	 s;
	struct ipc_claims		 c;
	struct ipc_takeover		 t;
	struct ipc_xfer			 x;
	struct rbuf			 r2;
	const uint8_t			*p;
	size_t				 len;
	uint32_t			 n;
	int				 rc;

	switch (m->type) {
	case IPC_HELLO:
		cl_on_hello(cl, m);
		return;
	case IPC_HEARTBEAT:
		return;
	case IPC_ROUTE_UPDATE:
		if (ipc_dec_route(m->payload, m->len, &r) == -1)
			break;
		cl_on_route_update(cl, &r);
		ipc_route_free(&r);
		return;
	case IPC_FORWARD_ACK:
		if (ipc_dec_acks(m->payload, m->len, &a) == -1)
			break;
		cl_on_forward_ack(cl, &a);
		ipc_acks_free(&a);
		return;
	case IPC_DELIVER:
		/* Before clusterd answered our first hello, deliveries are
		 * for the mqttd we replace; clusterd sends every unanswered
		 * one again, in order, after that answer. */
		if (cl->boot_id == 0)
			return;
		/* A batch: one of clusterd's loop iterations. */
		if (ipc_batch_first(&r2, m->payload, m->len, &n) == -1)
			break;
		while ((rc = ipc_batch_next(&r2, &n, &p, &len)) == 1) {
			if (ipc_dec_deliver(p, len, &d) == -1) {
				rc = -1;
				break;
			}
			cl_on_deliver(cl, &d);
			ipc_deliver_free(&d);
		}
		if (rc == -1)
			break;
		return;
	case IPC_CLUSTER_STATE:
		if (ipc_dec_cluster_state(m->payload, m->len, &s) == -1)
			break;
		cl_on_state(cl, &s);
		ipc_cluster_state_free(&s);
		return;
	case IPC_SESSION_CLAIM_REP:
		if (ipc_dec_claims(m->payload, m->len, &c) == -1)
			break;
		cl_on_claim_rep(cl, &c);
		ipc_claims_free(&c);
		return;
	case IPC_SESSION_TAKEOVER:
		if (ipc_dec_takeover(m->payload, m->len, &t) == -1)
			break;
		if (cl->o.takeover != NULL)
			cl->o.takeover(cl->o.arg, &t);
		return;
	case IPC_SESSION_XFER:
		if (ipc_dec_xfer(m->payload, m->len, &x) == -1)
			break;
		if (cl->o.xfer != NULL)
			cl->o.xfer(cl->o.arg, &x);
		ipc_xfer_free(&x);
		return;
	case IPC_REPLICA_RESYNC:
		if (cl->o.resync != NULL)
			cl->o.resync(cl->o.arg);
		return;
	default:
		log_warnx("clusterlink: unexpected %s from clusterd",
		    ipc_type_name(m->type));
		return;
	}
	log_warnx("clusterlink: malformed %s (%zu bytes) from clusterd "
	    "dropped", ipc_type_name(m->type), m->len);
}

static void
cl_read_cb(void *sock, void *arg)
{
	struct clusterlink	*cl = arg;
	struct ipc_msg		 m;
	int			 n;

	for (n = 0; n < CL_RECV_MAX && ipc_recv(sock, &m) == 1; n++) {
		cl->last_heard = cl_mono();
		cl_dispatch(cl, &m);
		ipc_msg_close(&m);
	}
}

static void	cl_flush_checks(struct clusterlink *);

void
clusterlink_check(struct clusterlink *cl, const char *cid, size_t len)
{
	struct ipc_claim_ent	*e;

	if (len == 0)
		return;
	cl->checks = xreallocarray(cl->checks, cl->nchecks + 1,
	    sizeof(*cl->checks));
	e = &cl->checks[cl->nchecks++];
	memset(e, 0, sizeof(*e));
	e->client_id.p = xmemdup(cid, len);
	e->client_id.len = len;
	cl_schedule(cl);
}

static void
cl_checks_free(struct clusterlink *cl)
{
	size_t	i;

	for (i = 0; i < cl->nchecks; i++)
		free((void *)cl->checks[i].client_id.p);
	free(cl->checks);
	cl->checks = NULL;
	cl->nchecks = 0;
}

/* Sends the client ids to check once, when clusterd is up. */
static void
cl_flush_checks(struct clusterlink *cl)
{
	struct ipc_claims	v = { 0 };

	if (!cl->up || cl->nchecks == 0)
		return;
	v.n = (uint32_t)cl->nchecks;
	v.ents = cl->checks;
	buf_reset(&cl->out);
	ipc_enc_claims(&cl->out, &v);
	if (cl_send(cl, IPC_SESSION_CHECK, &cl->out) == 0)
		cl_checks_free(cl);
}

static void
cl_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clusterlink	*cl = arg;

	cl->flush_pending = false;
	cl_flush_routes(cl);
	cl_flush_forwards(cl);
	cl_flush_dacks(cl);
	cl_flush_claims(cl);
	cl_flush_checks(cl);
}

static void
cl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct clusterlink	*cl = arg;
	struct cl_claim		*c;
	uint64_t		 now = cl_mono();

	if (cl->up && now - cl->last_heard > CL_DEAD_MS)
		cl_down(cl);
	/* HELLO, not HEARTBEAT, also while up: its answer carries
	 * clusterd's boot id, so a restart is noticed within CL_HB_MS. */
	if (now - cl->last_hello >= (cl->up ? CL_HB_MS : CL_HELLO_MS))
		cl_send_hello(cl);
	TAILQ_FOREACH(c, &cl->claims, link)
		if (!c->done && now > c->deadline) {
			log_warnx("clusterlink: claim of client %s not "
			    "answered within %d ms", c->cid,
			    CLUSTERLINK_CLAIM_MS);
			c->done = true;
			c->rc = IPC_CLAIM_ERROR;
			cl_schedule(cl);
		}
}

struct clusterlink *
clusterlink_new(struct event_base *base, const struct clusterlink_opts *o)
{
	struct clusterlink	*cl;
	struct timeval		 tv = { 0, CL_TICK_MS * 1000 };
	uint64_t		 r;

	cl = xcalloc(1, sizeof(*cl));
	cl->base = base;
	cl->o = *o;
	if (cl->o.max_forwards == 0)
		cl->o.max_forwards = CLUSTERLINK_MAX_FORWARDS;
	if (cl->o.max_bytes == 0)
		cl->o.max_bytes = CLUSTERLINK_MAX_BYTES;
	cl->state = IPC_CS_MAJORITY;
	TAILQ_INIT(&cl->fwds);
	TAILQ_INIT(&cl->claims);
	buf_init(&cl->out);
	cl->lcap = 64;
	cl->ltab = xcalloc(cl->lcap, sizeof(*cl->ltab));
	r = cl_next_id(cl);
	cl->my_boot = r ^ ((uint64_t)getpid() << 40);
	if ((cl->sock = ipc_dealer_connect(o->endpoint, NULL)) == NULL) {
		free(cl->ltab);
		free(cl);
		return (NULL);
	}
	cl->ev = ipc_ev_new(base, cl->sock, cl_read_cb, cl);
	cl->flush_ev = event_new(base, -1, 0, cl_flush_cb, cl);
	cl->tick_ev = event_new(base, -1, EV_PERSIST, cl_tick_cb, cl);
	event_add(cl->tick_ev, &tv);
	cl_send_hello(cl);
	return (cl);
}

void
clusterlink_free(struct clusterlink *cl)
{
	struct cl_local	*e, *enext;
	struct cl_route	*r, *rnext;
	struct cl_fwd	*f;
	struct cl_claim	*c;
	size_t		 i;

	if (cl == NULL)
		return;
	event_free(cl->tick_ev);
	event_free(cl->flush_ev);
	ipc_ev_free(cl->ev);
	ipc_close(cl->sock);
	for (i = 0; i < cl->lcap; i++)
		for (e = cl->ltab[i]; e != NULL; e = enext) {
			enext = e->hnext;
			free(e);
		}
	for (i = 0; i < cl->rcap; i++)
		for (r = cl->rtab[i]; r != NULL; r = rnext) {
			rnext = r->hnext;
			free(r);
		}
	while ((f = TAILQ_FIRST(&cl->fwds)) != NULL)
		cl_fwd_free(cl, f);
	while ((c = TAILQ_FIRST(&cl->claims)) != NULL)
		cl_claim_free(cl, c);
	free(cl->ltab);
	free(cl->rtab);
	free(cl->nodes);
	free(cl->dirty);
	free(cl->dacks);
	cl_checks_free(cl);
	buf_free(&cl->out);
	free(cl);
}

void
clusterlink_get_stats(const struct clusterlink *cl,
    struct clusterlink_stats *s)
{
	*s = cl->st;
	s->routes_local = cl->nlocal;
	s->routes_remote = cl->nremote;
	s->outstanding = cl->nfwds;
	s->outstanding_bytes = cl->bytes;
}
