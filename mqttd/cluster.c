/* SPDX-License-Identifier: MIT */
/*
 * The broker's side of clustering (see cluster.h): other nodes' routes in
 * the subscription tree, forwarding what a publish matched there, messages
 * from other nodes, the cluster state (G3) and message bodies between
 * nodes.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/cluster.h"
#include "mqttd/clusterlink.h"
#include "mqttd/replica.h"
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"

/* Counters, in the metrics JSON as cluster_<name>. */
#define CLUSTER_STATS(X)						\
	X(forwards,		"messages forwarded to other nodes")	\
	X(forwards_qos0,	"of them QoS 0")			\
	X(forward_acks,		"QoS 1/2 forwards answered")		\
	X(forwards_gone,	"forwards answered: node gone")		\
	X(forwards_failed,	"forwards answered: full or failed")	\
	X(retained_out,		"retained sets/deletes sent to all")	\
	X(delivered_in,		"messages from other nodes")		\
	X(delivered_in_bad,	"messages from other nodes malformed")	\
	X(retained_in,		"retained sets/deletes from others")	\
	X(routes_added,		"remote routes added")			\
	X(routes_removed,	"remote routes removed")		\
	X(routes_bad,		"remote routes with invalid filters")	\
	X(refused_netsplit,	"operations refused: minority")		\
	X(claims,		"client ids claimed through the cluster") \
	X(claims_failed,	"claims refused or failed")		\
	X(takeovers_out,	"sessions handed to another node")	\
	X(takeovers_in,		"sessions handed over by another node")	\
	X(xfer_msgs_out,	"queued messages handed over")		\
	X(xfer_msgs_in,		"queued messages taken over")

struct cluster_stats {
#define CLUSTER_STAT_FIELD(name, desc)	uint64_t name;
	CLUSTER_STATS(CLUSTER_STAT_FIELD)
#undef CLUSTER_STAT_FIELD
};

#ifndef CONN_HOLD_CLAIM
#define CONN_HOLD_CLAIM		0x08
#endif
#define CLUSTER_XFER_CHUNK	256	/* queued messages per hand-over chunk */

/* A CONNECT waiting for the claim of its client id. */
struct cluster_claim {
	TAILQ_ENTRY(cluster_claim) link;
	struct conn	*c;		/* NULL once it went away */
	struct buf	 raw;		/* the CONNECT, encoded again */
	bool		 done;
	bool		 running;	/* in cluster_claimed(): it frees */
	int		 rc;		/* IPC_CLAIM_* */
};
TAILQ_HEAD(cluster_claim_list, cluster_claim);

static struct cluster_claim_list claims =
    TAILQ_HEAD_INITIALIZER(claims);
static struct clusterlink	*cl;
static struct cl_targets	 targets;
static struct buf		 scratch;
static struct cluster_stats	 cst;
static size_t			 nremote;	/* routes in broker->subs */

/* ---------------------------------------------------- message bodies */

void
cluster_body(const struct msg *m, struct ipc_store_body *body,
    struct buf *props)
{
	struct mqtt_props	p;

	memset(body, 0, sizeof(*body));
	/* The expiry travels as an absolute time, not as a property. */
	msg_fill_props(m, &p, broker_now());
	p.present &= ~(1ULL << MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
	buf_reset(props);
	mqtt_props_encode(props, &p);
	body->qos = m->qos;
	body->flags = m->retain ? IPC_STORE_F_RETAIN : 0;
	body->expire_at = m->expire_at > 0 ? (uint64_t)m->expire_at * 1000 :
	    0;
	body->topic.p = (const uint8_t *)m->topic;
	body->topic.len = m->topic_len;
	body->props.p = props->data;
	body->props.len = props->len;
	body->payload.p = m->payload;
	body->payload.len = m->payload_len;
}

struct msg *
cluster_msg(const struct ipc_store_body *body)
{
	struct mqtt_props	 props;
	struct msg		*m;
	const uint8_t		*p = body->props.p;
	const char		*why = NULL;
	int64_t			 now = broker_now();

	memset(&props, 0, sizeof(props));
	if (body->props.len > 0 && (mqtt_props_decode(&p, body->props.p +
	    body->props.len, MQTT_PUBLISH, &props, &why) != MQTT_RC_SUCCESS ||
	    p != body->props.p + body->props.len)) {
		log_warnx("cluster: a message from another node has bad "
		    "properties (%s): dropped", why ? why : "trailing bytes");
		return (NULL);
	}
	if (body->topic.len == 0 || body->qos > 2)
		return (NULL);
	m = msg_new((const char *)body->topic.p, body->topic.len,
	    body->payload.p, body->payload.len, body->qos,
	    (body->flags & IPC_STORE_F_RETAIN) != 0, &props, NULL, 0, now);
	if (body->expire_at != 0)
		m->expire_at = (int64_t)(body->expire_at / 1000);
	return (m);
}

/* ------------------------------------------------------ remote routes */

static void
cluster_route_add(void *arg, struct cl_route *r)
{
	/* QoS 2 and no options: the receiving node applies its own. */
	if (topic_tree_add(broker->subs, r->filter, r->len, r,
	    CLUSTER_DATA_REMOTE | 2) == -1) {
		cst.routes_bad++;
		log_warnx("cluster: node %016llx sent an invalid filter "
		    "\"%s\": ignored", (unsigned long long)r->node, r->filter);
		r->data = NULL;
		return;
	}
	r->data = r;		/* in the tree */
	nremote++;
	cst.routes_added++;
}

static void
cluster_route_del(void *arg, struct cl_route *r)
{
	if (r->data == NULL)
		return;
	topic_tree_remove(broker->subs, r->filter, r->len, r);
	nremote--;
	cst.routes_removed++;
}

bool
has_cluster_routes(void)
{
	return (nremote > 0);
}

size_t
cluster_nroutes(void)
{
	return (nremote);
}

void
cluster_sub_added(const char *filter, size_t len)
{
	if (cl != NULL)
		clusterlink_route_ref(cl, filter, len);
}

void
cluster_sub_removed(const char *filter, size_t len)
{
	if (cl != NULL)
		clusterlink_route_unref(cl, filter, len);
}

/* --------------------------------------------------------- publishing */

void
cluster_match_begin(void)
{
	clusterlink_targets_reset(&targets);
}

void
cluster_match_remote(const struct topic_sub *sub, bool shared)
{
	clusterlink_targets_add(&targets, sub->owner, shared);
}

struct cluster_wait {
	void	(*done)(void *, int);
	void	*arg;
};

static void
cluster_forward_cb(void *arg, int rc)
{
	struct cluster_wait	*w = arg;

	cst.forward_acks++;
	if (rc == IPC_FWD_GONE)
		cst.forwards_gone++;
	else if (rc != IPC_FWD_OK)
		cst.forwards_failed++;
	w->done(w->arg, rc);
	free(w);
}

int
cluster_match_end(const struct msg *m, void (*done)(void *, int), void *arg)
{
	struct ipc_store_body	 body;
	struct cluster_wait	*w;
	bool			 retain = m->retain;
	uint32_t		 n = targets.n;

	if (cl == NULL || (n == 0 && !retain))
		return (0);
	if (retain && is_cluster_clustered()) {
		clusterlink_targets_retain(&targets);
		cst.retained_out++;
	}
	if (targets.n == 0)
		return (0);
	cluster_body(m, &body, &scratch);
	cst.forwards++;
	if (m->qos == 0 || n == 0 || done == NULL) {
		if (m->qos == 0)
			cst.forwards_qos0++;
		/* Retained only, or QoS 0: nobody waits (a retain still
		 * travels reliably: clusterlink keeps it until answered). */
		clusterlink_forward(cl, targets.v, targets.n, &body,
		    m->qos > 0 || retain, NULL, NULL);
		return (0);
	}
	w = xmalloc(sizeof(*w));
	w->done = done;
	w->arg = arg;
	clusterlink_forward(cl, targets.v, targets.n, &body, true,
	    cluster_forward_cb, w);
	return (1);
}

bool
cluster_would_block(void)
{
	return (cl != NULL && clusterlink_would_block(cl));
}

/* ----------------------------------------------- from other nodes */

struct cluster_ack {
	uint64_t	id;
};

/* Handed over here (rc IPC_STORE_*): answer the sending node. */
static void
cluster_delivered(void *arg, int rc)
{
	struct cluster_ack	*a = arg;

	if (cl != NULL)
		clusterlink_deliver_done(cl, a->id, rc == IPC_STORE_OK ?
		    IPC_FWD_OK : rc == IPC_STORE_E_NOSPACE ? IPC_FWD_FULL :
		    IPC_FWD_ERROR);
	free(a);
}

static void
cluster_deliver_cb(void *arg, uint64_t id, uint64_t from,
    const struct ipc_fwd_target *t, uint32_t nt,
    const struct ipc_store_body *body)
{
	struct cluster_ack	*a;
	struct msg		*m;
	uint32_t		 i;

	if (nt == 1 && t[0].kind == IPC_FWD_REPL) {
		/* A replica copy of another node's session (issue 8). */
		if (id == 0)
			return;
		replica_apply(id, from, body);
		return;
	}
	if ((m = cluster_msg(body)) == NULL) {
		cst.delivered_in_bad++;
		clusterlink_deliver_done(cl, id, IPC_FWD_ERROR);
		return;
	}
	cst.delivered_in++;
	for (i = 0; i < nt; i++)
		if (t[i].kind == IPC_FWD_RETAIN)
			cst.retained_in++;
	a = NULL;
	if (id != 0) {
		a = xmalloc(sizeof(*a));
		a->id = id;
	}
	publish_remote(m, t, nt, id != 0 ? cluster_delivered : NULL, a);
	msg_unref(m);
}

/* ------------------------------------------------------ cluster state */

bool
is_cluster_clustered(void)
{
	return (cl != NULL && (clusterlink_state(cl) & IPC_CS_CLUSTERED));
}

bool
is_cluster_joined(void)
{
	uint8_t	st;

	/* A node still looking for its cluster (discovery) serves nobody
	 * (issue 5): a load balancer must not send clients to a lone node
	 * that would later join another cluster. */
	if (cl == NULL)
		return (true);
	st = clusterlink_state(cl);
	return (!(st & IPC_CS_DISCOVERY) || (st & IPC_CS_JOINED));
}

bool
is_cluster_allowed(enum cluster_op op)
{
	const struct conf	*conf = broker->conf;
	bool			 knob = false;

	if (cl == NULL || (clusterlink_state(cl) & IPC_CS_MAJORITY))
		return (true);
	switch (op) {
	case CLUSTER_OP_CONNECT:
		knob = conf->allow_register_during_netsplit;
		break;
	case CLUSTER_OP_PUBLISH:
		knob = conf->allow_publish_during_netsplit;
		break;
	case CLUSTER_OP_SUBSCRIBE:
		knob = conf->allow_subscribe_during_netsplit;
		break;
	case CLUSTER_OP_UNSUBSCRIBE:
		knob = conf->allow_unsubscribe_during_netsplit;
		break;
	}
	if (!knob)
		cst.refused_netsplit++;
	return (knob);
}

/*
 * Logged by clusterlink; refusals are decided per packet.  Only a leave
 * with -k (issue 8) acts on open connections: each gets DISCONNECT 0x9C
 * (use another server; 3.1.1: closed) and reconnects elsewhere, where its
 * session is handed over as in a takeover.  No will: the client lives.
 */
static void
cluster_state_cb(void *arg, uint8_t flags)
{
	static bool	 killed;
	struct conn	*c, *next;
	size_t		 n = 0;

	(void)arg;
	if (!(flags & IPC_CS_LEAVE_KILL) || killed)
		return;
	killed = true;
	for (c = TAILQ_FIRST(&broker->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (c->state != CONN_ACTIVE || c->dead)
			continue;
		conn_send_disconnect(c, MQTT_RC_USE_ANOTHER_SERVER,
		    "this node leaves the cluster");
		conn_close(c, true, true);
		n++;
	}
	log_info("cluster: this node leaves the cluster: closed %zu client "
	    "connections (-k)", n);
}

static void
cluster_unblock_cb(void *arg)
{
	publish_unblocked();
}

/* -------------------------------------------------- session ownership */

static struct cluster_claim *
cluster_claim_of(const struct conn *c)
{
	struct cluster_claim	*k;

	TAILQ_FOREACH(k, &claims, link)
		if (k->c == c)
			return (k);
	return (NULL);
}

static void
cluster_claim_free(struct cluster_claim *k)
{
	TAILQ_REMOVE(&claims, k, link);
	buf_free(&k->raw);
	free(k);
}

/* The claim is decided: handle the CONNECT that waited for it. */
static void
cluster_claimed(void *arg, int rc, uint64_t prev)
{
	struct cluster_claim	*k = arg;
	struct conn		*c = k->c;
	struct mqtt_packet	 pkt;
	const char		*why = "?";

	k->done = true;
	k->rc = rc;
	if (rc != IPC_CLAIM_OK)
		cst.claims_failed++;
	if (c == NULL || c->state != CONN_NEW) {
		cluster_claim_free(k);
		return;
	}
	memset(&pkt, 0, sizeof(pkt));
	c->busy = true;
	/* pkt borrows k->raw: k lives until connect_handle() is done. */
	k->running = true;
	if (mqtt_decode(k->raw.data, k->raw.len, 0, &pkt, &why) !=
	    MQTT_RC_SUCCESS)
		conn_fail(c, MQTT_RC_MALFORMED_PACKET, why);	/* cannot be */
	else
		connect_handle(c, &pkt);
	mqtt_packet_clear(&pkt);
	cluster_claim_free(k);
	c->busy = false;
	/* Handles what the client sent after its CONNECT; may free c. */
	conn_release(c, CONN_HOLD_CLAIM);
	conn_flush_all();
}

enum cluster_connect
cluster_connect(struct conn *c, const struct mqtt_packet *pkt, bool chosen_id)
{
	const struct mqtt_connect	*co = &pkt->u.connect;
	struct cluster_claim		*k;
	bool				 local;
	int				 rc;

	if ((k = cluster_claim_of(c)) != NULL && k->done) {
		/* The second run, with the claim decided (the claim's
		 * callback frees k afterwards). */
		rc = k->rc;
		k->c = NULL;
		return (rc == IPC_CLAIM_OK ? CLUSTER_CONNECT_NOW :
		    CLUSTER_CONNECT_REFUSE);
	}
	if (cl != NULL && (clusterlink_state(cl) & IPC_CS_LEAVING))
		return (CLUSTER_CONNECT_LEAVING);
	if (cl != NULL && !is_cluster_joined())
		return (CLUSTER_CONNECT_REFUSE);
	if (cl == NULL || !is_cluster_clustered())
		return (CLUSTER_CONNECT_NOW);
	if (!is_cluster_allowed(CLUSTER_OP_CONNECT))
		return (CLUSTER_CONNECT_REFUSE);
	if (!chosen_id)
		return (CLUSTER_CONNECT_NOW);	/* unique: nobody else has it */
	k = xcalloc(1, sizeof(*k));
	buf_init(&k->raw);
	if (mqtt_encode(&k->raw, co->proto_level, pkt) == -1) {
		buf_free(&k->raw);
		free(k);
		return (CLUSTER_CONNECT_NOW);
	}
	k->c = c;
	TAILQ_INSERT_TAIL(&claims, k, link);
	cst.claims++;
	/* allow_register_during_netsplit in a minority: a local claim. */
	local = !(clusterlink_state(cl) & IPC_CS_MAJORITY);
	clusterlink_claim(cl, (const char *)co->client_id.p,
	    co->client_id.len, local, cluster_claimed, k);
	conn_hold(c, CONN_HOLD_CLAIM);
	return (CLUSTER_CONNECT_LATER);
}

void
cluster_conn_free(struct conn *c)
{
	struct cluster_claim	*k;

	if ((k = cluster_claim_of(c)) == NULL)
		return;
	if (k->done && !k->running)
		cluster_claim_free(k);
	else
		k->c = NULL;	/* the claim's callback frees it */
}

/* Opaque session state in a hand-over: u8 proto, u32 expiry. */
static void
cluster_xfer_state(const struct session *s, struct buf *b)
{
	buf_add_u8(b, s->proto);
	buf_add_u32(b, s->expiry);
}

static void
cluster_xfer_send(struct ipc_xfer *x, struct ipc_xfer_msg *msgs,
    struct buf *props, uint32_t n, bool last)
{
	x->flags |= last ? IPC_XFER_F_LAST : 0;
	x->nmsgs = n;
	x->msgs = msgs;
	clusterlink_xfer(cl, x);
	cst.xfer_msgs_out += n;
	/* Only the first chunk carries the state and the subscriptions. */
	x->state.len = 0;
	x->nsubs = 0;
	(void)props;
}

/* Streams s (may be NULL: nothing to hand over) to node `to`. */
static void
cluster_xfer_out(const struct ipc_takeover *t, struct session *s)
{
	struct ipc_xfer		 x = { 0 };
	struct ipc_xfer_msg	*msgs;
	struct ipc_store_sub	*subs = NULL;
	struct buf		 state = BUF_INIT, *props;
	struct queue_entry	*e;
	struct sub		*sub;
	struct queue_list	*lists[2];
	uint32_t		 n = 0, i;
	int			 l;

	x.node = t->to;
	x.xfer = t->xfer;
	x.client_id = t->client_id;
	if (s == NULL) {
		x.flags = IPC_XFER_F_LAST;
		clusterlink_xfer(cl, &x);
		return;
	}
	x.flags = IPC_XFER_F_SESSION;
	cluster_xfer_state(s, &state);
	x.state.p = state.data;
	x.state.len = state.len;
	if (s->nsubs > 0)
		subs = xcalloc(s->nsubs, sizeof(*subs));
	TAILQ_FOREACH(sub, &s->subs, link) {
		subs[x.nsubs].filter.p = (const uint8_t *)sub->filter;
		subs[x.nsubs].filter.len = sub->len;
		subs[x.nsubs].options = sub->options;
		subs[x.nsubs].sub_id = sub->subid;
		x.nsubs++;
	}
	x.subs = subs;
	msgs = xcalloc(CLUSTER_XFER_CHUNK, sizeof(*msgs));
	props = xcalloc(CLUSTER_XFER_CHUNK, sizeof(*props));
	/* In flight first (sent, not acknowledged), then the rest. */
	lists[0] = &s->q.inflight;
	lists[1] = &s->q.pending;
	for (l = 0; l < 2; l++)
		TAILQ_FOREACH(e, lists[l], link) {
			cluster_body(e->msg, &msgs[n].body, &props[n]);
			msgs[n].qos = e->qos;
			msgs[n].flags = e->retain ? IPC_STORE_F_RETAIN : 0;
			if (++n < CLUSTER_XFER_CHUNK)
				continue;
			cluster_xfer_send(&x, msgs, props, n, false);
			n = 0;
		}
	cluster_xfer_send(&x, msgs, props, n, true);
	for (i = 0; i < CLUSTER_XFER_CHUNK; i++)
		buf_free(&props[i]);
	free(props);
	free(msgs);
	free(subs);
	buf_free(&state);
}

/* Another node owns the client id now: close here, hand the session over. */
static void
cluster_takeover_cb(void *arg, const struct ipc_takeover *t)
{
	struct session	*s;
	const char	*cid = (const char *)t->client_id.p;
	size_t		 len = t->client_id.len;

	if (t->replica != 0) {
		/* Not ours: our replica copy of a dead node's session. */
		replica_handover(t);
		return;
	}
	if ((s = session_find(cid, len)) != NULL && s->conn != NULL) {
		log_info("client %s (%s): taken over by another node",
		    s->client_id, s->conn->peer);
		broker->stats.takeovers++;
		/* Moved because this node leaves (after -t): 5.0's "use
		 * another server" says so better than a takeover. */
		if (clusterlink_state(cl) & IPC_CS_LEAVING)
			conn_send_disconnect(s->conn,
			    MQTT_RC_USE_ANOTHER_SERVER,
			    "this node leaves the cluster");
		else
			conn_send_disconnect(s->conn,
			    MQTT_RC_SESSION_TAKEN_OVER,
			    "session taken over by another node");
		conn_close(s->conn, false, true);
	}
	/* A clean session ended with its connection. */
	s = session_find(cid, len);
	cluster_xfer_out(t, s);
	if (s == NULL)
		return;
	cst.takeovers_out++;
	/* Its will went with the connection; the rest lives on there. */
	msg_unref(s->will);
	s->will = NULL;
	durable_session_handed_over(s);
	session_end(s);
}

/* A session handed over to this node (before the claim is answered). */
static void
cluster_xfer_cb(void *arg, const struct ipc_xfer *x)
{
	struct session	*s;
	struct msg	*m;
	struct rbuf	 r;
	const char	*cid = (const char *)x->client_id.p;
	size_t		 len = x->client_id.len;
	uint32_t	 i, expiry;
	uint8_t		 proto;

	if (!(x->flags & IPC_XFER_F_SESSION))
		return;
	s = session_find(cid, len);
	if (s != NULL && s->conn != NULL) {
		log_warnx("cluster: hand-over of %s while it is connected "
		    "here: dropped", s->client_id);
		return;
	}
	if (x->state.len > 0) {
		rbuf_init(&r, x->state.p, x->state.len);
		proto = rbuf_u8(&r);
		expiry = rbuf_u32(&r);
		if (!rbuf_done(&r))
			return;
		if (s == NULL)
			s = session_new(cid, len);
		cst.takeovers_in++;
		s->proto = proto;
		s->clean = false;
		s->expiry = expiry;
		s->expire_at = expiry == MQTTD_EXPIRY_NEVER ? 0 :
		    broker_now_ms() + (int64_t)expiry * 1000;
		session_update_timers(s);
		durable_session_detached(s);
	}
	if (s == NULL)
		return;		/* a chunk whose first we did not see */
	for (i = 0; i < x->nsubs; i++) {
		if (session_subscribe(s, (const char *)x->subs[i].filter.p,
		    x->subs[i].filter.len, x->subs[i].options,
		    x->subs[i].sub_id) == -1)
			continue;
		durable_sub_put(s, (const char *)x->subs[i].filter.p,
		    x->subs[i].filter.len, x->subs[i].options,
		    x->subs[i].sub_id);
	}
	for (i = 0; i < x->nmsgs; i++) {
		if ((m = cluster_msg(&x->msgs[i].body)) == NULL)
			continue;
		durable_deliver(s, m, x->msgs[i].qos,
		    (x->msgs[i].flags & IPC_STORE_F_RETAIN) != 0, NULL, 0);
		msg_unref(m);
		cst.xfer_msgs_in++;
	}
}

static void
cluster_resync_cb(void *arg)
{
	(void)arg;
	durable_resync_replicas();
}

/* --------------------------------------------------------- lifecycle */

/*
 * Sessions loaded from storaged before the link existed: their routes,
 * and (persistent ones) a check that this node still owns them (issue 8:
 * they may have moved while it was away).
 */
static void
cluster_ref_session(struct session *s, void *arg)
{
	struct sub	*sub;

	(void)arg;
	TAILQ_FOREACH(sub, &s->subs, link)
		clusterlink_route_ref(cl, sub->filter, sub->len);
	if (s->expiry != 0 && s->conn == NULL)
		clusterlink_check(cl, s->client_id, s->id_len);
}

struct clusterlink *
cluster_link(void)
{
	return (cl);
}

int
cluster_init(void)
{
	static char		ep[1024];
	struct clusterlink_opts	o = { 0 };

	conf_ipc_endpoint(broker->conf, "clusterd", ep, sizeof(ep));
	o.endpoint = ep;
	o.nodename = broker->conf->nodename;
	o.route_add = cluster_route_add;
	o.route_del = cluster_route_del;
	o.deliver = cluster_deliver_cb;
	o.state = cluster_state_cb;
	o.unblock = cluster_unblock_cb;
	o.takeover = cluster_takeover_cb;
	o.xfer = cluster_xfer_cb;
	o.resync = cluster_resync_cb;
	buf_init(&scratch);
	if ((cl = clusterlink_new(broker->base, &o)) == NULL) {
		log_warnx("cluster: no link to clusterd: running alone");
		return (-1);
	}
	session_walk(cluster_ref_session, NULL);
	return (0);
}

void
cluster_free(void)
{
	clusterlink_free(cl);
	cl = NULL;
	replica_free();
	clusterlink_targets_free(&targets);
	buf_free(&scratch);
}

void
cluster_stats_json(struct buf *b, bool *first)
{
	struct replica_stats	rs;

#define CLUSTER_STAT_JSON(name, desc)	json_kv_u64(b, first,		\
	    "cluster_" #name, cst.name);
	CLUSTER_STATS(CLUSTER_STAT_JSON)
#undef CLUSTER_STAT_JSON
	json_kv_u64(b, first, "cluster_routes_remote", nremote);
	replica_stats(&rs);
	json_kv_u64(b, first, "replica_writes", rs.writes);
	json_kv_u64(b, first, "replica_writes_acked", rs.acked);
	json_kv_u64(b, first, "replica_writes_under_replicated", rs.under);
	json_kv_u64(b, first, "replica_write_errors", rs.errors);
	json_kv_u64(b, first, "replica_copies_stored", rs.applied);
	json_kv_u64(b, first, "replica_copy_errors", rs.apply_errors);
	json_kv_u64(b, first, "replica_handovers", rs.handovers);
	json_kv_u64(b, first, "replica_handover_messages", rs.handover_msgs);
	json_kv_bool(b, first, "cluster_majority", cl == NULL ||
	    (clusterlink_state(cl) & IPC_CS_MAJORITY) != 0);
}
