/* SPDX-License-Identifier: MIT */
/*
 * Replicated queues (issue 8), mqttd's part.
 *
 * As the owner of persistent sessions: a copy of every store request that
 * changes one of them (the session record, subscriptions, queue appends
 * and acks) goes to clusterd as a REPL forward (target node
 * IPC_FWD_REPLICAS); clusterd places the session's replicas and sends each
 * its share, in our ordered stream to that node.  A publisher's PUBACK
 * waits for the copies like it waits for the local write (durable.c).
 *
 * As a replica: the copies other nodes send are written to our storaged
 * under the owner's name, "n" + its node id in 16 hex digits, next to
 * (never mixed with) our own sessions.
 *
 * When an owner died before handing a session over, the new owner asks a
 * replica (IPC_SESSION_TAKEOVER with `replica` set): we LOAD our copy of
 * that one session and stream it like a live hand-over (IPC_SESSION_XFER:
 * state, subscriptions, queued messages oldest first), then delete it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"
#include "mqttd/cluster.h"
#include "mqttd/clusterlink.h"
#include "mqttd/mqttd.h"
#include "mqttd/replica.h"
#include "mqttd/storelink.h"

#define REPLICA_TOPIC		"$tern/replica"
#define REPLICA_XFER_CHUNK	256	/* messages per hand-over chunk */

static struct replica_stats	rst;
static struct buf		rbuf_out = BUF_INIT;

bool
is_replica_on(void)
{
	return (broker->conf->replication_factor >= 2 &&
	    cluster_link() != NULL && durable_link() != NULL &&
	    is_cluster_clustered());
}

void
replica_owner_name(uint64_t node, char *out, size_t outlen)
{
	snprintf(out, outlen, "n%016" PRIx64, node);
}

/* ------------------------------------------------------ owner side */

static void
replica_sent_cb(void *arg, int rc)
{
	if (rc == IPC_FWD_OK)
		rst.acked++;
	else if (rc == IPC_FWD_GONE || rc == IPC_FWD_FULL)
		rst.under++;	/* a replica node is gone: accepted */
	else
		rst.errors++;
	if (arg != NULL)
		durable_wait_release(arg, rc == IPC_FWD_ERROR ?
		    IPC_STORE_E_IO : IPC_STORE_OK);
}

/* Sends rbuf_out (u16 type + request) to the replicas; w may be NULL. */
static void
replica_send(struct durable_wait *w)
{
	struct ipc_fwd_target	t = { 0 };
	struct ipc_store_body	b = { 0 };

	t.node = IPC_FWD_REPLICAS;
	t.kind = IPC_FWD_REPL;
	b.qos = 1;
	b.topic.p = (const uint8_t *)REPLICA_TOPIC;
	b.topic.len = sizeof(REPLICA_TOPIC) - 1;
	b.payload.p = rbuf_out.data;
	b.payload.len = rbuf_out.len;
	rst.writes++;
	clusterlink_forward(cluster_link(), &t, 1, &b, true, replica_sent_cb,
	    w);
}

void
replica_session_put(const struct ipc_store_session *v,
    struct durable_wait *w)
{
	struct ipc_store_session	s = *v;

	s.id = 0;
	s.s.owner = ipc_bytes_str("");
	buf_reset(&rbuf_out);
	buf_add_u16(&rbuf_out, IPC_STORE_SESSION_PUT);
	ipc_enc_store_session(&rbuf_out, IPC_STORE_SESSION_PUT, &s);
	replica_send(w);
}

void
replica_session_del(const char *cid, size_t len)
{
	struct ipc_store_session	s = { 0 };

	s.s.owner = ipc_bytes_str("");
	s.s.client_id.p = (const uint8_t *)cid;
	s.s.client_id.len = len;
	buf_reset(&rbuf_out);
	buf_add_u16(&rbuf_out, IPC_STORE_SESSION_DEL);
	ipc_enc_store_session(&rbuf_out, IPC_STORE_SESSION_DEL, &s);
	replica_send(NULL);
}

void
replica_subs(unsigned type, const struct ipc_store_subs *v)
{
	struct ipc_store_subs	s = *v;

	s.id = 0;
	s.s.owner = ipc_bytes_str("");
	buf_reset(&rbuf_out);
	buf_add_u16(&rbuf_out, (uint16_t)type);
	ipc_enc_store_subs(&rbuf_out, type, &s);
	replica_send(NULL);
}

void
replica_append(const struct ipc_store_append *v, struct durable_wait *w)
{
	struct ipc_store_append	a = *v;
	uint32_t		i;

	/* Only the inbound QoS 2 ids ("\0" + client id) are not copied:
	 * nothing to send if that is all. */
	for (i = 0; i < v->ntargets; i++)
		if (v->targets[i].client_id.len > 0 &&
		    v->targets[i].client_id.p[0] != 0)
			break;
	if (i == v->ntargets)
		return;
	a.id = 0;
	a.owner = ipc_bytes_str("");
	buf_reset(&rbuf_out);
	buf_add_u16(&rbuf_out, IPC_STORE_APPEND);
	ipc_enc_store_append(&rbuf_out, &a);
	replica_send(w);
}

void
replica_ack(const char *cid, size_t len, uint64_t seq)
{
	struct ipc_store_ack	a = { 0 };

	if (len == 0 || cid[0] == 0)
		return;
	a.s.owner = ipc_bytes_str("");
	a.s.client_id.p = (const uint8_t *)cid;
	a.s.client_id.len = len;
	a.nseqs = 1;
	a.seqs = &seq;
	buf_reset(&rbuf_out);
	buf_add_u16(&rbuf_out, IPC_STORE_ACK);
	ipc_enc_store_ack(&rbuf_out, &a);
	replica_send(NULL);
}

/* ---------------------------------------------------- replica side */

struct replica_dlv {
	uint64_t	id;
};

static void
replica_applied_cb(void *arg, int rc, const struct ipc_bytes *full,
    uint32_t nfull)
{
	struct replica_dlv	*d = arg;
	struct clusterlink	*cl = cluster_link();

	(void)full;
	(void)nfull;
	if (rc == IPC_STORE_OK)
		rst.applied++;
	else
		rst.apply_errors++;
	if (cl != NULL && d->id != 0)
		clusterlink_deliver_done(cl, d->id, rc == IPC_STORE_OK ?
		    IPC_FWD_OK : rc == IPC_STORE_E_NOSPACE ? IPC_FWD_FULL :
		    IPC_FWD_ERROR);
	free(d);
}

void
replica_apply(uint64_t id, uint64_t from, const struct ipc_store_body *body)
{
	struct storelink	*sl = durable_link();
	struct replica_dlv	*d;
	char			 owner[32];
	uint16_t		 type;

	if (sl == NULL || body->payload.len < 2) {
		rst.apply_errors++;
		clusterlink_deliver_done(cluster_link(), id, IPC_FWD_ERROR);
		return;
	}
	type = (uint16_t)(body->payload.p[0] << 8 | body->payload.p[1]);
	replica_owner_name(from, owner, sizeof(owner));
	d = xmalloc(sizeof(*d));
	d->id = id;
	storelink_apply(sl, owner, type, body->payload.p + 2,
	    body->payload.len - 2, replica_applied_cb, d);
}

/* ------------------------------------------------------- hand-over */

struct replica_msg {
	uint8_t			 qos;
	struct ipc_store_body	 body;		/* owns its bytes */
};

struct replica_xfer {
	struct ipc_takeover	 t;		/* client_id: cid below */
	char			 owner[32];
	char			*cid;
	size_t			 len;
	bool			 found;
	uint8_t			 proto;
	uint32_t		 expiry;
	struct ipc_store_sub	*subs;		/* filters owned */
	uint32_t		 nsubs;
	struct replica_msg	*msgs;
	uint32_t		 nmsgs;
	uint32_t		 cap;
};

static struct ipc_bytes
replica_dup(struct ipc_bytes b)
{
	struct ipc_bytes	r;

	r.len = b.len;
	r.p = b.len > 0 ? xmemdup(b.p, b.len) : NULL;
	return (r);
}

static void
replica_xfer_clear(struct replica_xfer *x)
{
	uint32_t	i;

	for (i = 0; i < x->nsubs; i++)
		free((void *)x->subs[i].filter.p);
	free(x->subs);
	x->subs = NULL;
	x->nsubs = 0;
	for (i = 0; i < x->nmsgs; i++) {
		free((void *)x->msgs[i].body.topic.p);
		free((void *)x->msgs[i].body.props.p);
		free((void *)x->msgs[i].body.payload.p);
	}
	free(x->msgs);
	x->msgs = NULL;
	x->nmsgs = x->cap = 0;
	x->found = false;
}

static void
replica_ld_session(void *arg, const struct ipc_store_rec *r)
{
	struct replica_xfer	*x = arg;

	x->found = true;
	x->proto = r->proto;
	x->expiry = r->expiry_interval;
}

static void
replica_ld_sub(void *arg, const struct ipc_store_rec *r)
{
	struct replica_xfer	*x = arg;
	struct ipc_store_sub	*s;

	x->subs = xreallocarray(x->subs, x->nsubs + 1, sizeof(*x->subs));
	s = &x->subs[x->nsubs++];
	*s = r->sub;
	s->filter = replica_dup(r->sub.filter);
}

static void
replica_ld_queue(void *arg, const struct ipc_store_rec *r)
{
	struct replica_xfer	*x = arg;
	struct replica_msg	*m;

	if (r->qos == 0)
		return;
	if (x->nmsgs == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->msgs = xreallocarray(x->msgs, x->cap, sizeof(*x->msgs));
	}
	m = &x->msgs[x->nmsgs++];
	m->qos = r->qos;
	m->body = r->body;
	m->body.topic = replica_dup(r->body.topic);
	m->body.props = replica_dup(r->body.props);
	m->body.payload = replica_dup(r->body.payload);
}

static void
replica_ld_restart(void *arg)
{
	replica_xfer_clear(arg);
}

/* Streams what the LOAD found to the new owner, in chunks. */
static void
replica_xfer_send(struct replica_xfer *x)
{
	struct clusterlink	*cl = cluster_link();
	struct ipc_xfer		 v = { 0 };
	struct ipc_xfer_msg	*msgs;
	struct buf		 state = BUF_INIT;
	uint32_t		 i = 0, n;

	v.node = x->t.to;
	v.xfer = x->t.xfer;
	v.client_id.p = (const uint8_t *)x->cid;
	v.client_id.len = x->len;
	if (!x->found) {
		v.flags = IPC_XFER_F_LAST;
		clusterlink_xfer(cl, &v);
		return;
	}
	/* The opaque state of a hand-over (cluster.c): u8 proto, u32
	 * expiry. */
	buf_add_u8(&state, x->proto);
	buf_add_u32(&state, x->expiry);
	v.flags = IPC_XFER_F_SESSION;
	v.state.p = state.data;
	v.state.len = state.len;
	v.subs = x->subs;
	v.nsubs = x->nsubs;
	msgs = xcalloc(REPLICA_XFER_CHUNK, sizeof(*msgs));
	do {
		for (n = 0; n < REPLICA_XFER_CHUNK && i < x->nmsgs; n++, i++) {
			msgs[n].qos = x->msgs[i].qos;
			msgs[n].flags = 0;
			msgs[n].body = x->msgs[i].body;
		}
		v.msgs = msgs;
		v.nmsgs = n;
		if (i == x->nmsgs)
			v.flags |= IPC_XFER_F_LAST;
		clusterlink_xfer(cl, &v);
		/* The state and the subscriptions go in the first only. */
		v.state.len = 0;
		v.nsubs = 0;
	} while (i < x->nmsgs);
	free(msgs);
	buf_free(&state);
}

static void
replica_ld_done(void *arg, int rc)
{
	struct replica_xfer		*x = arg;
	struct ipc_store_session	 del = { 0 };
	struct storelink		*sl = durable_link();
	struct buf			 b = BUF_INIT;

	if (rc != IPC_STORE_OK) {
		log_warnx("replica: loading our copy of %.*s (owner %s) "
		    "failed (rc %d): handing over nothing", (int)x->len,
		    x->cid, x->owner, rc);
		replica_xfer_clear(x);
	}
	log_info("replica: %.*s (owner %s, gone): handing our copy (%s, "
	    "%u messages) to %016" PRIx64, (int)x->len, x->cid, x->owner,
	    x->found ? "session" : "no session", x->nmsgs, x->t.to);
	replica_xfer_send(x);
	rst.handovers++;
	rst.handover_msgs += x->nmsgs;
	if (x->found && rc == IPC_STORE_OK) {
		/* The new owner keeps (and replicates) it from now on. */
		del.s.owner = ipc_bytes_str("");
		del.s.client_id.p = (const uint8_t *)x->cid;
		del.s.client_id.len = x->len;
		ipc_enc_store_session(&b, IPC_STORE_SESSION_DEL, &del);
		storelink_apply(sl, x->owner, IPC_STORE_SESSION_DEL, b.data,
		    b.len, NULL, NULL);
		buf_free(&b);
	}
	replica_xfer_clear(x);
	free(x->cid);
	free(x);
}

static const struct storelink_load_cbs replica_load_cbs = {
	.session = replica_ld_session,
	.sub = replica_ld_sub,
	.queue = replica_ld_queue,
	.restart = replica_ld_restart,
	.done = replica_ld_done
};

void
replica_handover(const struct ipc_takeover *t)
{
	struct storelink	*sl = durable_link();
	struct replica_xfer	*x;

	x = xcalloc(1, sizeof(*x));
	x->t = *t;
	x->len = t->client_id.len;
	x->cid = xmemdup(t->client_id.p, x->len);
	x->t.client_id.p = (const uint8_t *)x->cid;
	replica_owner_name(t->replica, x->owner, sizeof(x->owner));
	if (sl == NULL) {
		replica_ld_done(x, IPC_STORE_E_IO);
		return;
	}
	storelink_load_session(sl, x->owner, x->cid, x->len,
	    &replica_load_cbs, x);
}

void
replica_stats(struct replica_stats *st)
{
	*st = rst;
}

void
replica_free(void)
{
	buf_free(&rbuf_out);
}
