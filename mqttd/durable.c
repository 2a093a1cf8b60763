/* SPDX-License-Identifier: MIT */
/*
 * What mqttd keeps in storaged (issue 3): persistent sessions with their
 * subscriptions and wills, their queues of QoS 1/2 messages, inbound QoS 2
 * packet ids and retained messages; rebuilding them with LOAD at start;
 * and holding a publisher's PUBACK/PUBREC (in the order of its PUBLISHes)
 * until the writes it depends on are durable.  The link itself is
 * storelink.c.
 *
 * A session is durable while its expiry is not 0 (3.1.1 clean session 0,
 * 5.0 Session Expiry Interval > 0).  Its QoS 1/2 queue entries carry a
 * store sequence number (queue_entry.sseq) from the session's own counter
 * (session.dseq), which starts from storelink_next_id() (above anything
 * stored before) and counts up by one, so that the packet id of an entry
 * can be derived from it (queue.c) and is the same after a restart.
 *
 * An inbound QoS 2 packet id must be stored atomically with the message
 * (else a crash between the two writes makes the PUBLISH sent again
 * either lost or stored twice).  So when the message is appended, the id
 * is one more target of the same APPEND: the queue "\0" + client id
 * (client ids never hold a NUL), seq = the packet id.  LOAD turns such
 * entries back into inbound QoS 2 ids; PUBREL acks the entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/mqttd.h"
#include "mqttd/replica.h"
#include "mqttd/storelink.h"
#include "mqttd/topic.h"

#define DUR_DATA_VERSION	1	/* session data blob */
#define DUR_LOAD_RETRY_MS	1000
#define DUR_MSGCACHE		4096	/* LOAD: bodies shared by msg id */

/* session.dflags */
#define DUR_F_STORED		0x01	/* the session is in the store */
#define DUR_F_WILL		0x02	/* so is its will */
#define DUR_F_REPUT		0x04	/* LOAD: write expire_at again */
#define DUR_F_HANDED		0x08	/* handed to another node: its
					   replica copies stay a while */
#define DUR_HANDED_KEEP_S	120	/* ... this long (seconds) */

/*
 * One inbound packet's acknowledgement waiting for store writes (and
 * other holds, durable_wait_hold()), in its connection's FIFO.
 */
struct durable_wait {
	TAILQ_ENTRY(durable_wait) link;		/* c->dacks */
	TAILQ_ENTRY(durable_wait) all;		/* dur.waits */
	struct conn	*c;		/* borrowed; NULL once gone */
	void		(*cb)(void *, int);
	void		*arg;
	int		 pending;	/* holds not released */
	int		 rc;		/* worst IPC_STORE_* seen */
	bool		 queued;	/* in c->dacks */
	uint16_t	 pid;
	uint8_t		 type;		/* MQTT_PUBACK, _PUBREC, _PUBCOMP */
	uint8_t		 ok_rc;		/* reason code on success */
};
TAILQ_HEAD(durable_wait_list, durable_wait);

struct durable_acks {
	struct durable_wait_list q;
};

struct dur_msgc {
	uint64_t	 id;
	struct msg	*m;
};

static struct {
	struct storelink	*sl;
	struct event		*retry_ev;
	bool			 loaded;
	/* The open wait (durable_wait_begin() .. _end()) and its object. */
	bool			 wait_open;
	struct durable_wait	*cur;
	struct durable_wait_list waits;
	/* The publish being routed (durable_publish_begin() .. _end()). */
	struct msg		*pm;
	struct ipc_store_target	*targets;
	uint32_t		 ntargets;
	uint32_t		 tcap;
	/* Entries of it sent at once: marked SENT after the APPEND. */
	struct session		**msess;
	uint64_t		*mseq;
	uint32_t		 nmarks;
	uint32_t		 mcap;
	/* The inbound QoS 2 id that goes with it (durable_qos2_in()). */
	struct session		*q2s;
	uint16_t		 q2pid;
	struct buf		 q2cid;		/* "\0" client id */
	struct buf		 orphan;	/* LOAD: last orphan deleted */
	struct buf		 props;
	/* LOAD */
	struct session		*ls;		/* last session looked up */
	struct dur_msgc		*msgc;
	uint64_t		 nsess, nqueue, nretained;
	bool			 load_started;
} dur;

static void	durable_load_start(void);
static void	dur_session_put_to(struct session *, bool, bool);
static bool	dur_q2_name(const struct session *, struct buf *);

struct storelink *
durable_link(void)
{
	return (dur.sl);
}

bool
is_durable_up(void)
{
	return (dur.sl != NULL && is_storelink_up(dur.sl));
}

bool
is_durable_ready(void)
{
	return (dur.sl == NULL || dur.loaded);
}

uint64_t
durable_next_id(void)
{
	return (dur.sl != NULL ? storelink_next_id(dur.sl) : 0);
}

bool
is_durable_session(const struct session *s)
{
	return (dur.sl != NULL && s->expiry != 0);
}

/* Waits */

static void
dur_wait_free(struct durable_wait *w)
{
	TAILQ_REMOVE(&dur.waits, w, all);
	free(w);
}

/*
 * Sends the acknowledgement of w on its connection, or refuses it.
 * Returns false when c must be closed instead (3.1.1 has no negative
 * PUBACK: the client sends the PUBLISH again after reconnecting).
 */
static bool
dur_wait_ack(struct durable_wait *w)
{
	struct conn	*c = w->c;
	uint8_t		 rc = w->ok_rc;

	if (w->rc != IPC_STORE_OK) {
		if (w->type == MQTT_PUBCOMP) {
			/* The id stays stored; nothing the client can do
			 * about it, so the flow completes. */
			log_warnx("client %s (%s): QoS 2 id %u not removed "
			    "from the store (%d)", conn_client_id(c), c->peer,
			    w->pid, w->rc);
		} else {
			if (w->type == MQTT_PUBREC && c->sess != NULL) {
				session_qos2_remove(c->sess, w->pid);
				durable_qos2_del(c->sess, w->pid);
			}
			if (c->proto != MQTT_PROTO_V5) {
				log_warnx("client %s (%s): PUBLISH %u not "
				    "stored (%s): closing", conn_client_id(c),
				    c->peer, w->pid, w->rc ==
				    IPC_STORE_E_NOSPACE ? "disk full" :
				    "store error");
				return (false);
			}
			rc = w->rc == IPC_STORE_E_NOSPACE ?
			    MQTT_RC_QUOTA_EXCEEDED : MQTT_RC_UNSPECIFIED_ERROR;
		}
	}
	conn_send_ack(c, (enum mqtt_type)w->type, w->pid, rc);
	return (true);
}

/* Sends the acknowledgements at the head of c's FIFO that are ready. */
static void
dur_acks_flush(struct conn *c)
{
	struct durable_wait	*w;
	bool			 ok;

	while (c->dacks != NULL && (w = TAILQ_FIRST(&c->dacks->q)) != NULL &&
	    w->pending == 0) {
		TAILQ_REMOVE(&c->dacks->q, w, link);
		w->queued = false;
		ok = c->state != CONN_ACTIVE || c->dead || dur_wait_ack(w);
		dur_wait_free(w);
		if (!ok) {
			durable_conn_gone(c);
			conn_close(c, false, true);
			return;
		}
	}
}

static void
dur_wait_ready(struct durable_wait *w)
{
	if (w->cb != NULL) {
		w->cb(w->arg, w->rc);
		dur_wait_free(w);
	} else if (w->c != NULL && w->queued)
		dur_acks_flush(w->c);
	else if (w->c == NULL && !w->queued && w != dur.cur)
		dur_wait_free(w);
}

void
durable_wait_release(struct durable_wait *w, int rc)
{
	if (rc != IPC_STORE_OK && (w->rc == IPC_STORE_OK ||
	    rc == IPC_STORE_E_NOSPACE))
		w->rc = rc;
	if (--w->pending == 0)
		dur_wait_ready(w);
}

struct durable_wait *
durable_wait_hold(void)
{
	struct durable_wait	*w;

	if (!dur.wait_open)
		return (NULL);
	if (dur.waits.tqh_last == NULL)
		TAILQ_INIT(&dur.waits);
	if ((w = dur.cur) == NULL) {
		w = dur.cur = xcalloc(1, sizeof(*w));
		TAILQ_INSERT_TAIL(&dur.waits, w, all);
		w->pending = 1;		/* until durable_wait_end_*() */
	}
	w->pending++;
	return (w);
}

static void
dur_req_cb(void *arg, int rc, const struct ipc_bytes *full, uint32_t nfull)
{
	if (nfull > 0)
		broker->stats.dropped_queue_full += nfull;
	if (arg != NULL)
		durable_wait_release(arg, rc);
}

void
durable_wait_begin(void)
{
	dur.wait_open = true;
	dur.cur = NULL;
}

void
durable_wait_end_ack(struct conn *c, enum mqtt_type type, uint16_t pid,
    uint8_t ok_rc)
{
	struct durable_wait	*w = dur.cur;

	dur.wait_open = false;
	dur.cur = NULL;
	if (w == NULL && (c->dacks == NULL || TAILQ_EMPTY(&c->dacks->q))) {
		conn_send_ack(c, type, pid, ok_rc);
		return;
	}
	if (w == NULL) {
		if (dur.waits.tqh_last == NULL)
			TAILQ_INIT(&dur.waits);
		w = xcalloc(1, sizeof(*w));
		TAILQ_INSERT_TAIL(&dur.waits, w, all);
		w->pending = 1;
	}
	w->c = c;
	w->type = (uint8_t)type;
	w->pid = pid;
	w->ok_rc = ok_rc;
	if (c->dacks == NULL) {
		c->dacks = xcalloc(1, sizeof(*c->dacks));
		TAILQ_INIT(&c->dacks->q);
	}
	TAILQ_INSERT_TAIL(&c->dacks->q, w, link);
	w->queued = true;
	durable_wait_release(w, IPC_STORE_OK);
	/* Back-pressure: read no more from c until storaged catches up. */
	if (dur.sl != NULL && storelink_would_block(dur.sl) &&
	    c->state == CONN_ACTIVE && !c->dead)
		conn_hold(c, CONN_HOLD_STORE);
}

void
durable_wait_abort(void)
{
	struct durable_wait	*w = dur.cur;

	dur.wait_open = false;
	dur.cur = NULL;
	if (w != NULL)
		durable_wait_release(w, IPC_STORE_OK);
}

void
durable_wait_end_cb(void (*cb)(void *, int), void *arg)
{
	struct durable_wait	*w = dur.cur;

	dur.wait_open = false;
	dur.cur = NULL;
	if (w == NULL) {
		cb(arg, IPC_STORE_OK);
		return;
	}
	w->cb = cb;
	w->arg = arg;
	durable_wait_release(w, IPC_STORE_OK);
}

void
durable_conn_gone(struct conn *c)
{
	struct durable_wait	*w;

	if (c->dacks == NULL)
		return;
	while ((w = TAILQ_FIRST(&c->dacks->q)) != NULL) {
		TAILQ_REMOVE(&c->dacks->q, w, link);
		w->queued = false;
		w->c = NULL;
		if (w->pending == 0)
			dur_wait_free(w);
	}
	free(c->dacks);
	c->dacks = NULL;
}

/*
 * Releases connections held by back-pressure (storelink's unblock).  A
 * release handles input, which may close other connections: start over
 * from the head after each.
 */
static void
dur_unblock(void *arg)
{
	struct conn	*c;

	for (;;) {
		TAILQ_FOREACH(c, &broker->conns, link)
			if (c->hold & CONN_HOLD_STORE)
				break;
		if (c == NULL)
			return;
		conn_release(c, CONN_HOLD_STORE);
		if (storelink_would_block(dur.sl))
			return;
	}
}

static void
dur_link(void *arg, bool up)
{
	/* Requests wait in storelink while storaged is away. */
}

/* Requests on behalf of the open wait (if any). */
static void *
dur_arg(void)
{
	return (durable_wait_hold());
}

static struct ipc_store_sess
dur_sess(const struct session *s)
{
	struct ipc_store_sess	ss;

	ss.owner = ipc_bytes_str("");
	ss.client_id.p = (const uint8_t *)s->client_id;
	ss.client_id.len = s->id_len;
	return (ss);
}

/* A body from m: topic, payload, forwardable 5.0 properties, expiry. */
static void
dur_body(struct msg *m, struct ipc_store_body *b)
{
	struct mqtt_props	props;

	msg_fill_props(m, &props, broker_now());
	/* The expiry is kept as an absolute time in the body. */
	props.present &= ~(1ULL << MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
	buf_reset(&dur.props);
	if (props.present != 0)
		mqtt_props_encode(&dur.props, &props);
	memset(b, 0, sizeof(*b));
	b->qos = m->qos;
	b->flags = m->retain ? IPC_STORE_F_RETAIN : 0;
	b->expire_at = m->expire_at != 0 ? (uint64_t)m->expire_at * 1000 : 0;
	b->topic.p = (const uint8_t *)m->topic;
	b->topic.len = m->topic_len;
	b->payload.p = m->payload;
	b->payload.len = m->payload_len;
	b->props.p = dur.props.data;
	b->props.len = dur.props.len;
}

/* A message from a stored body; NULL if it cannot be decoded. */
static struct msg *
dur_msg(const struct ipc_store_body *b, bool retain)
{
	struct mqtt_props	 props;
	const uint8_t		*p = b->props.p;
	const char		*why = NULL;
	struct msg		*m;

	memset(&props, 0, sizeof(props));
	if (b->props.len > 0 && mqtt_props_decode(&p, b->props.p +
	    b->props.len, MQTT_PUBLISH, &props, &why) != MQTT_RC_SUCCESS) {
		log_warnx("durable: stored message on %.*s: bad properties "
		    "(%s)", (int)b->topic.len, (const char *)b->topic.p,
		    why != NULL ? why : "?");
		return (NULL);
	}
	m = msg_new((const char *)b->topic.p, b->topic.len, b->payload.p,
	    b->payload.len, b->qos, retain, b->props.len > 0 ? &props : NULL,
	    NULL, 0, broker_now());
	if (b->expire_at != 0) {
		m->expire_at = (int64_t)((b->expire_at + 999) / 1000);
		m->expiry_interval = 1;
	}
	return (m);
}

/* Sessions */

static void
dur_session_data(const struct session *s, struct buf *b)
{
	buf_add_u8(b, DUR_DATA_VERSION);
	buf_add_u32(b, s->will_delay);
}

/* Copies of one persistent session, from scratch, to its replicas. */
static void
dur_resync_one(struct session *s, void *arg)
{
	struct ipc_store_append	 a = { 0 };
	struct ipc_store_target	 t;
	struct queue_entry	*e;
	struct queue_list	*lists[2];
	size_t			*n = arg;
	int			 l, i;

	if (!is_durable_session(s) || !(s->dflags & DUR_F_STORED))
		return;
	(*n)++;
	replica_session_del(s->client_id, s->id_len);
	dur_session_put_to(s, true, false);
	lists[0] = &s->q.inflight;
	lists[1] = &s->q.pending;
	for (l = 0; l < 2; l++)
		TAILQ_FOREACH(e, lists[l], link) {
			if (e->sseq == 0 || e->msg == NULL)
				continue;
			memset(&t, 0, sizeof(t));
			t.client_id.p = (const uint8_t *)s->client_id;
			t.client_id.len = s->id_len;
			t.seq = e->sseq;
			t.qos = e->qos;
			for (i = 0; i < e->nsubids &&
			    i < IPC_STORE_SUBIDS_MAX; i++)
				t.sub_ids[t.nsub_ids++] = e->subids[i];
			a.msg_id = e->msg->id;
			dur_body(e->msg, &a.body);
			a.ntargets = 1;
			a.targets = &t;
			replica_append(&a, NULL);
		}
}

void
durable_resync_replicas(void)
{
	size_t	n = 0;

	if (!is_replica_on())
		return;
	session_walk(dur_resync_one, &n);
	log_info("durable: sent fresh copies of %zu persistent sessions to "
	    "their replicas", n);
}

static void
dur_session_put(struct session *s, bool with_subs)
{
	dur_session_put_to(s, with_subs, true);
}

/* SESSION_PUT of s to storaged (local) and, replicating, to replicas. */
static void
dur_session_put_to(struct session *s, bool with_subs, bool local)
{
	struct ipc_store_session	 v = { 0 };
	struct ipc_store_sub		*subs = NULL;
	struct buf			 data = BUF_INIT;
	struct sub			*sub;
	uint32_t			 n = 0;

	v.s = dur_sess(s);
	v.proto = s->proto;
	v.expiry_interval = s->expiry;
	v.expire_at = s->conn == NULL && s->expire_at > 0 ?
	    (uint64_t)s->expire_at : 0;
	dur_session_data(s, &data);
	v.data.p = data.data;
	v.data.len = data.len;
	if (with_subs) {
		v.replace_subs = true;
		if (s->nsubs > 0)
			subs = xcalloc(s->nsubs, sizeof(*subs));
		TAILQ_FOREACH(sub, &s->subs, link) {
			if (n == s->nsubs)
				break;
			subs[n].filter.p = (const uint8_t *)sub->filter;
			subs[n].filter.len = sub->len;
			subs[n].options = sub->options;
			subs[n].sub_id = sub->subid;
			n++;
		}
		v.nsubs = n;
		v.subs = subs;
	}
	if (local) {
		storelink_session_put(dur.sl, &v, dur_req_cb, dur_arg());
		s->dflags |= DUR_F_STORED;
	}
	if (is_replica_on())
		replica_session_put(&v, local ? dur_arg() : NULL);
	free(subs);
	buf_free(&data);
}

static void
dur_will_put(struct session *s, uint64_t due_at)
{
	struct ipc_store_body	b;

	dur_body(s->will, &b);
	storelink_will_put(dur.sl, s->client_id, s->id_len, due_at, &b,
	    dur_req_cb, NULL);
	s->dflags |= DUR_F_WILL;
}

void
durable_will_done(struct session *s)
{
	if (dur.sl == NULL || !(s->dflags & DUR_F_WILL))
		return;
	storelink_will_del(dur.sl, s->client_id, s->id_len, dur_req_cb,
	    NULL);
	s->dflags &= ~DUR_F_WILL;
}

void
durable_session_connected(struct session *s)
{
	if (dur.sl == NULL)
		return;
	if (!is_durable_session(s)) {
		/* Resumed with expiry 0: it ends at disconnect. */
		if (s->dflags & DUR_F_STORED)
			durable_session_end(s);
		return;
	}
	if (s->dseq == 0)
		s->dseq = storelink_next_id(dur.sl);
	dur_session_put(s, true);
	if (s->will != NULL)
		dur_will_put(s, 0);
	else
		durable_will_done(s);
}

void
durable_session_detached(struct session *s)
{
	if (dur.sl == NULL)
		return;
	if (!is_durable_session(s)) {
		if (s->dflags & DUR_F_STORED)
			durable_session_end(s);
		return;
	}
	dur_session_put(s, false);
	if (s->will != NULL && s->will_at != 0)
		dur_will_put(s, (uint64_t)s->will_at);
	else if (s->will == NULL)
		durable_will_done(s);
}

/*
 * s goes to another node (takeover, leave).  Its replica copies are what
 * the new owner falls back on if this node dies or leaves before the
 * hand-over arrives: they are not deleted with s but expire
 * DUR_HANDED_KEEP_S later (the new owner keeps copies of its own).
 */
void
durable_session_handed_over(struct session *s)
{
	int64_t	keep;

	if (dur.sl == NULL || !(s->dflags & DUR_F_STORED) ||
	    !is_durable_session(s))
		return;
	s->dflags |= DUR_F_HANDED;
	if (!is_replica_on())
		return;
	keep = broker_now_ms() + DUR_HANDED_KEEP_S * 1000;
	if (s->expire_at == 0 || s->conn != NULL || s->expire_at > keep)
		s->expire_at = keep;
	dur_session_put_to(s, false, false);
}

void
durable_session_end(struct session *s)
{
	if (dur.sl == NULL || !(s->dflags & DUR_F_STORED))
		return;
	storelink_session_del(dur.sl, s->client_id, s->id_len, dur_req_cb,
	    NULL);
	if (is_replica_on() && !(s->dflags & DUR_F_HANDED))
		replica_session_del(s->client_id, s->id_len);
	if (dur_q2_name(s, &dur.q2cid))
		storelink_session_del(dur.sl, (const char *)dur.q2cid.data,
		    dur.q2cid.len, dur_req_cb, NULL);
	s->dflags = 0;
}

static void
dur_subs(struct session *s, bool put, const char *filter, size_t len,
    uint8_t options, uint32_t subid)
{
	struct ipc_store_subs	v = { 0 };
	struct ipc_store_sub	sub = { { 0 }, 0, 0 };

	if (!is_durable_session(s) || !(s->dflags & DUR_F_STORED))
		return;
	v.s = dur_sess(s);
	sub.filter.p = (const uint8_t *)filter;
	sub.filter.len = len;
	sub.options = options;
	sub.sub_id = subid;
	v.nsubs = 1;
	v.subs = &sub;
	if (put)
		storelink_sub_put(dur.sl, &v, dur_req_cb, NULL);
	else
		storelink_sub_del(dur.sl, &v, dur_req_cb, NULL);
	if (is_replica_on())
		replica_subs(put ? IPC_STORE_SUB_PUT : IPC_STORE_SUB_DEL, &v);
}

void
durable_sub_put(struct session *s, const char *filter, size_t len,
    uint8_t options, uint32_t subid)
{
	dur_subs(s, true, filter, len, options, subid);
}

void
durable_sub_del(struct session *s, const char *filter, size_t len)
{
	dur_subs(s, false, filter, len, 0, 0);
}

/* Fills b with the name of s's queue of inbound QoS 2 ids. */
static bool
dur_q2_name(const struct session *s, struct buf *b)
{
	buf_reset(b);
	if (s->id_len + 1 > IPC_STORE_CLIENT_MAX)
		return (false);
	buf_add_u8(b, 0);
	buf_add(b, s->client_id, s->id_len);
	return (true);
}

void
durable_qos2_in(struct session *s, uint16_t pid)
{
	if (!is_durable_session(s))
		return;
	dur.q2s = s;
	dur.q2pid = pid;
}

void
durable_qos2_put(struct session *s, uint16_t pid)
{
	if (is_durable_session(s))
		storelink_qos2_put(dur.sl, s->client_id, s->id_len, pid,
		    dur_req_cb, dur_arg());
}

void
durable_qos2_del(struct session *s, uint16_t pid)
{
	if (dur.sl == NULL || !(s->dflags & DUR_F_STORED))
		return;
	/* It was stored one way or the other (durable_publish_end()). */
	storelink_qos2_del(dur.sl, s->client_id, s->id_len, pid,
	    dur_req_cb, dur_arg());
	if (dur_q2_name(s, &dur.q2cid))
		storelink_ack(dur.sl, (const char *)dur.q2cid.data,
		    dur.q2cid.len, pid, dur_req_cb, dur_arg());
}

/* Publishing */

void
durable_publish_begin(struct msg *m)
{
	dur.pm = m;
	dur.ntargets = 0;
}

uint64_t
durable_seq(struct session *s, uint8_t qos)
{
	if (qos == 0 || !is_durable_session(s) || dur.pm == NULL)
		return (0);
	if (s->dseq == 0)
		s->dseq = storelink_next_id(dur.sl);
	return (s->dseq++);
}

void
durable_publish_target(struct session *s, uint64_t sseq, uint8_t qos,
    const uint32_t *subids, int nsubids)
{
	struct ipc_store_target	*t;
	int			 i;

	if (sseq == 0)
		return;
	if (dur.ntargets == dur.tcap) {
		dur.tcap = dur.tcap ? dur.tcap * 2 : 16;
		dur.targets = xreallocarray(dur.targets, dur.tcap,
		    sizeof(*dur.targets));
	}
	t = &dur.targets[dur.ntargets++];
	memset(t, 0, sizeof(*t));
	t->client_id.p = (const uint8_t *)s->client_id;
	t->client_id.len = s->id_len;
	t->seq = sseq;
	t->qos = qos;
	for (i = 0; i < nsubids && i < IPC_STORE_SUBIDS_MAX; i++)
		t->sub_ids[t->nsub_ids++] = subids[i];
	s->dflags |= DUR_F_STORED;
}

void
durable_publish_end(void)
{
	struct ipc_store_append	a = { 0 };
	struct msg		*m = dur.pm;
	struct session		*s;
	uint32_t		 i;

	dur.pm = NULL;
	if (dur.q2s != NULL) {
		s = dur.q2s;
		dur.q2s = NULL;
		if (m != NULL && dur.ntargets > 0 && dur_q2_name(s,
		    &dur.q2cid)) {
			/* Stored with the message: see the top. */
			durable_publish_target(s, dur.q2pid, 2, NULL, 0);
			dur.targets[dur.ntargets - 1].client_id.p =
			    dur.q2cid.data;
			dur.targets[dur.ntargets - 1].client_id.len =
			    dur.q2cid.len;
		} else
			storelink_qos2_put(dur.sl, s->client_id, s->id_len,
			    dur.q2pid, dur_req_cb, dur_arg());
	}
	if (m == NULL || dur.ntargets == 0) {
		dur.nmarks = 0;
		return;
	}
	a.msg_id = m->id;
	dur_body(m, &a.body);
	a.ntargets = dur.ntargets;
	a.targets = dur.targets;
	storelink_append(dur.sl, &a, dur_req_cb, dur_arg());
	if (is_replica_on())
		replica_append(&a, dur_arg());
	dur.ntargets = 0;
	for (i = 0; i < dur.nmarks; i++) {
		s = dur.msess[i];
		storelink_mark(dur.sl, s->client_id, s->id_len, dur.mseq[i],
		    IPC_STORE_Q_SENT, dur_req_cb, NULL);
	}
	dur.nmarks = 0;
}

bool
durable_deliver(struct session *s, struct msg *m, uint8_t qos, bool retain,
    const uint32_t *subids, int nsubids)
{
	uint64_t	sseq;
	uint8_t		q = m->qos < qos ? m->qos : qos;
	bool		kept;

	durable_publish_begin(m);
	sseq = durable_seq(s, q);
	kept = deliver_msg_seq(s, m, qos, retain, subids, nsubids, sseq);
	if (kept)
		durable_publish_target(s, sseq, q, subids, nsubids);
	durable_publish_end();
	return (kept);
}

void
durable_retain(struct msg *m)
{
	struct ipc_store_body	b;

	if (dur.sl == NULL)
		return;
	if (m->payload_len == 0) {
		storelink_retain_del(dur.sl, m->topic, m->topic_len,
		    dur_req_cb, dur_arg());
		return;
	}
	dur_body(m, &b);
	b.flags |= IPC_STORE_F_RETAIN;
	storelink_retain_put(dur.sl, &b, dur_req_cb, dur_arg());
}

/* Queue entries */

void
durable_entry_sent(struct session *s, struct queue_entry *e)
{
	if (dur.sl == NULL || e->sseq == 0)
		return;
	if (dur.pm != NULL) {
		/* Written before its APPEND is made: mark it after. */
		if (dur.nmarks == dur.mcap) {
			dur.mcap = dur.mcap ? dur.mcap * 2 : 16;
			dur.msess = xreallocarray(dur.msess, dur.mcap,
			    sizeof(*dur.msess));
			dur.mseq = xreallocarray(dur.mseq, dur.mcap,
			    sizeof(*dur.mseq));
		}
		dur.msess[dur.nmarks] = s;
		dur.mseq[dur.nmarks++] = e->sseq;
		return;
	}
	storelink_mark(dur.sl, s->client_id, s->id_len, e->sseq,
	    IPC_STORE_Q_SENT, dur_req_cb, NULL);
}

void
durable_entry_pubrec(struct session *s, struct queue_entry *e)
{
	if (dur.sl != NULL && e->sseq != 0)
		storelink_mark(dur.sl, s->client_id, s->id_len, e->sseq,
		    IPC_STORE_Q_PUBREC, dur_req_cb, NULL);
}

void
durable_entry_done(struct session *s, struct queue_entry *e)
{
	if (dur.sl == NULL || e->sseq == 0 || !(s->dflags & DUR_F_STORED))
		return;
	storelink_ack(dur.sl, s->client_id, s->id_len, e->sseq, dur_req_cb,
	    NULL);
	if (is_replica_on())
		replica_ack(s->client_id, s->id_len, e->sseq);
}

/* LOAD */

static struct session *
dur_load_session(struct ipc_bytes cid)
{
	struct session	*s = dur.ls;

	if (s != NULL && s->id_len == cid.len &&
	    memcmp(s->client_id, cid.p, cid.len) == 0)
		return (s);
	s = session_find((const char *)cid.p, cid.len);
	if (s != NULL)
		dur.ls = s;
	return (s);
}

static void
dur_ld_session(void *arg, const struct ipc_store_rec *r)
{
	struct session	*s;
	struct rbuf	 rb;
	int64_t		 now = broker_now_ms();

	if (r->client_id.len == 0 || memchr(r->client_id.p, '\0',
	    r->client_id.len) != NULL)
		return;
	if ((s = dur_load_session(r->client_id)) == NULL)
		s = session_new((const char *)r->client_id.p,
		    r->client_id.len);
	dur.ls = s;
	dur.nsess++;
	s->proto = r->proto;
	s->clean = false;
	s->expiry = r->expiry_interval;
	s->dflags |= DUR_F_STORED;
	rbuf_init(&rb, r->data.p, r->data.len);
	if (rbuf_u8(&rb) == DUR_DATA_VERSION)
		s->will_delay = rbuf_u32(&rb);
	if (r->expire_at != 0)
		s->expire_at = (int64_t)r->expire_at;
	else if (s->expiry != MQTTD_EXPIRY_NEVER) {
		/* It was connected when mqttd stopped: the expiry runs
		 * from now, and the store is told. */
		s->expire_at = now + (int64_t)s->expiry * 1000;
		s->dflags |= DUR_F_REPUT;
	}
	session_update_timers(s);
}

static void
dur_ld_sub(void *arg, const struct ipc_store_rec *r)
{
	struct session	*s;

	if ((s = dur_load_session(r->client_id)) == NULL)
		return;
	if (session_subscribe(s, (const char *)r->sub.filter.p,
	    r->sub.filter.len, r->sub.options, r->sub.sub_id) == -1)
		log_warnx("durable: %s: stored filter %.*s refused",
		    s->client_id, (int)r->sub.filter.len,
		    (const char *)r->sub.filter.p);
}

static struct msg *
dur_ld_body(const struct ipc_store_rec *r)
{
	struct dur_msgc	*mc;
	struct msg	*m;

	if (dur.msgc == NULL)
		dur.msgc = xcalloc(DUR_MSGCACHE, sizeof(*dur.msgc));
	mc = &dur.msgc[r->msg_id % DUR_MSGCACHE];
	if (mc->m != NULL && mc->id == r->msg_id)
		return (msg_ref(mc->m));
	if ((m = dur_msg(&r->body, false)) == NULL)
		return (NULL);
	m->id = r->msg_id;
	msg_unref(mc->m);
	mc->m = msg_ref(m);
	mc->id = r->msg_id;
	return (m);
}

/* An inbound QoS 2 id stored with its message (see the top). */
static void
dur_ld_qos2_entry(const struct ipc_store_rec *r)
{
	struct ipc_bytes	 cid;
	struct session		*s;

	cid.p = r->client_id.p + 1;
	cid.len = r->client_id.len - 1;

	if ((s = dur_load_session(cid)) != NULL) {
		if (r->seq >= 1 && r->seq <= 65535 &&
		    !has_session_qos2(s, (uint16_t)r->seq))
			session_qos2_add(s, (uint16_t)r->seq);
		return;
	}
	/* Its session is gone (expired while mqttd was away). */
	if (dur.orphan.len == r->client_id.len &&
	    memcmp(dur.orphan.data, r->client_id.p, r->client_id.len) == 0)
		return;
	buf_reset(&dur.orphan);
	buf_add(&dur.orphan, r->client_id.p, r->client_id.len);
	storelink_session_del(dur.sl, (const char *)r->client_id.p,
	    r->client_id.len, dur_req_cb, NULL);
}

static void
dur_ld_queue(void *arg, const struct ipc_store_rec *r)
{
	struct session		*s;
	struct queue_entry	*e;
	struct msg		*m;
	int			 n = r->nsub_ids;

	if (r->client_id.len > 1 && r->client_id.p[0] == '\0') {
		dur_ld_qos2_entry(r);
		return;
	}
	if ((s = dur_load_session(r->client_id)) == NULL || r->qos == 0)
		return;
	/* Loaded already (this LOAD started over). */
	if (r->seq < s->dseq)
		return;
	if ((m = dur_ld_body(r)) == NULL)
		return;
	if (n > QUEUE_MAX_SUBIDS)
		n = QUEUE_MAX_SUBIDS;
	e = queue_entry_new(m, r->qos, false, r->sub_ids, n);
	msg_unref(m);
	e->sseq = r->seq;
	s->dseq = r->seq + 1;
	dur.nqueue++;
	switch (r->state) {
	case IPC_STORE_Q_QUEUED:
		queue_push(&s->q, e);
		break;
	case IPC_STORE_Q_SENT:
		/* Sent before: again with DUP and its packet id. */
		queue_start(&s->q, e);
		break;
	default:
		queue_start(&s->q, e);
		if (e->qos == 2) {
			e->state = QUEUE_WAIT_PUBCOMP;
			msg_unref(e->msg);
			e->msg = NULL;
		}
		break;
	}
}

static void
dur_ld_qos2(void *arg, const struct ipc_store_rec *r)
{
	struct session	*s;

	if ((s = dur_load_session(r->client_id)) != NULL &&
	    !has_session_qos2(s, r->pid))
		session_qos2_add(s, r->pid);
}

static void
dur_ld_retain(void *arg, const struct ipc_store_rec *r)
{
	struct msg	*m;

	if ((m = dur_msg(&r->body, true)) == NULL)
		return;
	msg_unref(retain_tree_set(broker->retained, m->topic, m->topic_len,
	    m));
	dur.nretained++;
}

static void
dur_ld_will(void *arg, const struct ipc_store_rec *r)
{
	struct session	*s;
	struct msg	*m;

	if ((s = dur_load_session(r->client_id)) == NULL ||
	    (m = dur_msg(&r->body, (r->body.flags & IPC_STORE_F_RETAIN) !=
	    0)) == NULL)
		return;
	session_set_will(s, m, s->will_delay);
	/* Armed while connected: mqttd stopped, so the client is gone. */
	s->will_at = r->due_at != 0 ? (int64_t)r->due_at :
	    broker_now_ms() + (int64_t)s->will_delay * 1000;
	s->dflags |= DUR_F_WILL;
	session_update_timers(s);
}

static void
dur_ld_restart(void *arg)
{
	log_info("durable: LOAD starts over");
}

static void
dur_ld_fix(struct session *s, void *arg)
{
	uint64_t	floor = storelink_next_id(dur.sl);

	/* Above whatever a previous mqttd may still have in flight. */
	if (s->dseq < floor)
		s->dseq = floor;
	if (s->dflags & DUR_F_REPUT) {
		s->dflags &= ~DUR_F_REPUT;
		dur_session_put(s, false);
	}
}

static void
dur_ld_done(void *arg, int rc)
{
	size_t	i;

	if (dur.msgc != NULL) {
		for (i = 0; i < DUR_MSGCACHE; i++)
			msg_unref(dur.msgc[i].m);
		free(dur.msgc);
		dur.msgc = NULL;
	}
	dur.ls = NULL;
	if (rc != IPC_STORE_OK) {
		log_warnx("durable: LOAD failed (%d): again in %d ms", rc,
		    DUR_LOAD_RETRY_MS);
		durable_load_start();
		return;
	}
	session_walk(dur_ld_fix, NULL);
	dur.loaded = true;
	log_info("durable: loaded %llu sessions, %llu queued messages, "
	    "%llu retained messages", (unsigned long long)dur.nsess,
	    (unsigned long long)dur.nqueue,
	    (unsigned long long)dur.nretained);
}

static const struct storelink_load_cbs dur_load_cbs = {
	dur_ld_session, dur_ld_sub, dur_ld_queue, dur_ld_qos2, dur_ld_retain,
	dur_ld_will, dur_ld_restart, dur_ld_done
};

static void
dur_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	storelink_load(dur.sl, 0, &dur_load_cbs, NULL);
}

static void
durable_load_start(void)
{
	struct timeval	tv = { 0, DUR_LOAD_RETRY_MS * 1000 };

	if (!dur.load_started) {
		dur.load_started = true;
		storelink_load(dur.sl, 0, &dur_load_cbs, NULL);
		return;
	}
	if (dur.retry_ev == NULL)
		dur.retry_ev = evtimer_new(broker->base, dur_retry_cb, NULL);
	evtimer_add(dur.retry_ev, &tv);
}

/* Life cycle */

int
durable_init(void)
{
	struct storelink_opts	o = { 0 };
	char			ep[1024];

	if (dur.waits.tqh_last == NULL)
		TAILQ_INIT(&dur.waits);
	buf_init(&dur.props);
	conf_ipc_endpoint(broker->conf, "storaged", ep, sizeof(ep));
	o.endpoint = ep;
	o.nodename = broker->conf->nodename;
	o.unblock = dur_unblock;
	o.link = dur_link;
	if ((dur.sl = storelink_new(broker->base, &o)) == NULL)
		return (-1);
	durable_load_start();
	return (0);
}

static uint64_t
dur_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

void
durable_wait_loaded(int ms)
{
	uint64_t	end = dur_mono() + (uint64_t)ms;

	/* storelink's timer wakes the loop at least every 100 ms. */
	while (dur.sl != NULL && !dur.loaded && dur_mono() < end)
		event_base_loop(broker->base, EVLOOP_ONCE);
	if (dur.sl != NULL && !dur.loaded)
		log_warnx("durable: storaged has not loaded the state in %d "
		    "ms: CONNECTs are refused until it has", ms);
}

void
durable_drain(int ms)
{
	struct storelink_stats	st;
	uint64_t		end = dur_mono() + (uint64_t)ms;

	while (dur.sl != NULL && is_storelink_up(dur.sl) &&
	    dur_mono() < end) {
		storelink_get_stats(dur.sl, &st);
		if (st.outstanding == 0)
			break;
		event_base_loop(broker->base, EVLOOP_ONCE);
	}
}

void
durable_free(void)
{
	struct durable_wait	*w;

	if (dur.retry_ev != NULL)
		event_free(dur.retry_ev);
	storelink_free(dur.sl);
	while (dur.waits.tqh_last != NULL &&
	    (w = TAILQ_FIRST(&dur.waits)) != NULL)
		dur_wait_free(w);
	free(dur.targets);
	free(dur.msess);
	free(dur.mseq);
	buf_free(&dur.q2cid);
	buf_free(&dur.orphan);
	buf_free(&dur.props);
	memset(&dur, 0, sizeof(dur));
}
