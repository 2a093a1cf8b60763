/* SPDX-License-Identifier: MIT */
/*
 * Inbound PUBLISH: checks, topic aliases, exactly-once for QoS 2, then the
 * two steps of DESIGN.md's data path: match (who gets it) and hand over
 * (deliver.c), before the publisher is acknowledged.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/cluster.h"
#include "mqttd/clusterlink.h"
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"

struct publish_ctx {
	struct msg	*m;		/* borrowed */
	struct session	*origin;	/* borrowed, may be NULL */
	/* From another node: this node's subscribers only, as it says. */
	bool		 remote;
	bool		 plain;		/* ordinary subscribers */
	const struct ipc_fwd_target *t;	/* borrowed: its SHARED groups */
	uint32_t	 nt;
	size_t		 nremote;	/* other nodes' routes met */
};

static struct delivery *
publish_slot(void)
{
	if (broker->ndlv == broker->dlv_cap) {
		broker->dlv_cap = broker->dlv_cap ? broker->dlv_cap * 2 : 64;
		broker->dlv = xreallocarray(broker->dlv, broker->dlv_cap,
		    sizeof(*broker->dlv));
	}
	return (&broker->dlv[broker->ndlv++]);
}

/*
 * One matching subscription of s.  Overlapping ordinary subscriptions of
 * one session are merged: one delivery at the highest QoS with every
 * subscription id ([MQTT-3.3.4-2] allows it; Mosquitto does the same).
 * Shared ones always make their own delivery ([MQTT-4.8.2]).
 */
static void
publish_add(struct session *s, uint8_t options, uint32_t subid, bool merge)
{
	struct delivery	*d;
	uint8_t		 qos = MQTT_SUBOPT_QOS(options);
	bool		 rap = (options & MQTT_SUBOPT_RETAIN_AS_PUBLISHED) != 0;

	if (merge && s->match_gen == broker->match_gen) {
		d = &broker->dlv[s->match_idx];
		if (qos > d->qos)
			d->qos = qos;
		d->rap = d->rap || rap;
		if (subid != 0 && d->nsubids < QUEUE_MAX_SUBIDS)
			d->subids[d->nsubids++] = subid;
		return;
	}
	d = publish_slot();
	d->s = s;
	d->qos = qos;
	d->rap = rap;
	d->nsubids = 0;
	if (subid != 0)
		d->subids[d->nsubids++] = subid;
	if (merge) {
		s->match_gen = broker->match_gen;
		s->match_idx = (uint32_t)(broker->ndlv - 1);
	}
}

static bool
is_publish_own(const struct publish_ctx *ctx, const struct session *s)
{
	if (ctx->origin != NULL)
		return (s == ctx->origin);
	return (ctx->m->origin_len == s->id_len &&
	    memcmp(ctx->m->origin, s->client_id, s->id_len) == 0);
}

/*
 * True when a message from another node is for the shared group whose
 * members are subs (named group): the node that sent it chose this node
 * for one of its filters.  The group's filter is read from a remote
 * member's route, or from a local member's subscriptions.
 */
static bool
is_publish_group_listed(const struct publish_ctx *ctx, const char *group,
    const struct topic_sub *subs, size_t nsubs)
{
	const struct cl_route	*r;
	const struct session	*s = NULL;
	const struct sub	*sub;
	const char		*g, *real, *f;
	size_t			 glen, rlen, flen, i, k;

	for (k = 0; k < ctx->nt; k++) {
		if (ctx->t[k].kind != IPC_FWD_SHARED)
			continue;
		f = (const char *)ctx->t[k].filter.p;
		flen = ctx->t[k].filter.len;
		if (topic_parse_shared(f, flen, &g, &glen, &real,
		    &rlen) != 1 || strlen(group) != glen ||
		    memcmp(group, g, glen) != 0)
			continue;
		for (i = 0; i < nsubs; i++) {
			if (is_cluster_remote(subs[i].data)) {
				r = subs[i].owner;
				if (r->len == flen &&
				    memcmp(r->filter, f, flen) == 0)
					return (true);
				continue;
			}
			s = subs[i].owner;
			TAILQ_FOREACH(sub, &s->subs, link)
				if (sub->len == flen &&
				    memcmp(sub->filter, f, flen) == 0)
					return (true);
			break;
		}
	}
	return (false);
}

static void
publish_match_cb(const struct topic_sub *subs, size_t nsubs, bool shared,
    const char *group, uint32_t *rr, void *arg)
{
	struct publish_ctx	*ctx = arg;
	struct session		*s;
	size_t			 i, j, k, start, pick, fallback;
	uint8_t			 options;

	if (nsubs == 0)
		return;
	if (!shared) {
		for (i = 0; i < nsubs; i++) {
			if (is_cluster_remote(subs[i].data)) {
				/* Another node's route (cluster.c). */
				if (!ctx->remote) {
					cluster_match_remote(&subs[i], false);
					ctx->nremote++;
				}
				continue;
			}
			if (ctx->remote && !ctx->plain)
				continue;
			s = subs[i].owner;
			options = (uint8_t)subs[i].data;
			if ((options & MQTT_SUBOPT_NO_LOCAL) &&
			    is_publish_own(ctx, s))
				continue;
			publish_add(s, options, (uint32_t)(subs[i].data >> 8),
			    true);
		}
		return;
	}
	if (ctx->remote && !is_publish_group_listed(ctx, group, subs, nsubs))
		return;
	/*
	 * Round robin over the group, preferring connected members; another
	 * node with members counts as one connected member (a message from
	 * another node goes to a local member).
	 */
	start = *rr % nsubs;
	pick = fallback = nsubs;
	for (k = 0; k < nsubs; k++) {
		j = (start + k) % nsubs;
		if (is_cluster_remote(subs[j].data)) {
			if (ctx->remote)
				continue;
			pick = j;
			break;
		}
		if (fallback == nsubs)
			fallback = j;
		s = subs[j].owner;
		if (s->conn != NULL) {
			pick = j;
			break;
		}
	}
	if (pick == nsubs)
		pick = fallback;
	if (pick == nsubs)
		return;
	*rr = (uint32_t)(pick + 1);
	if (is_cluster_remote(subs[pick].data)) {
		cluster_match_remote(&subs[pick], true);
		ctx->nremote++;
		return;
	}
	publish_add(subs[pick].owner, (uint8_t)subs[pick].data,
	    (uint32_t)(subs[pick].data >> 8), false);
}

static void
publish_retain(struct msg *m)
{
	struct msg	*old;

	durable_retain(m);
	if (m->payload_len == 0) {
		old = retain_tree_set(broker->retained, m->topic, m->topic_len,
		    NULL);
		if (old != NULL)
			broker->stats.retained_deleted++;
	} else {
		old = retain_tree_set(broker->retained, m->topic, m->topic_len,
		    msg_ref(m));
		broker->stats.retained_set++;
	}
	msg_unref(old);
}

/* Matches ctx->m and hands it over here; returns the local deliveries. */
static size_t
publish_route(struct publish_ctx *ctx)
{
	struct msg		*m = ctx->m;
	struct delivery		*d;
	size_t			 i, n;
	uint64_t		 sseq;
	uint8_t			 qos;

	broker->match_gen++;
	broker->ndlv = 0;
	topic_tree_match(broker->subs, m->topic, m->topic_len,
	    publish_match_cb, ctx);
	n = broker->ndlv;
	/*
	 * Hand over.  QoS 1/2 deliveries to persistent sessions are also
	 * appended to their queues in storaged (one body, one APPEND), and
	 * a publisher's ack waits for it (durable_wait_*()).
	 */
	durable_publish_begin(m);
	for (i = 0; i < n; i++) {
		d = &broker->dlv[i];
		qos = d->qos < m->qos ? d->qos : m->qos;
		sseq = durable_seq(d->s, qos);
		if (deliver_msg_seq(d->s, m, d->qos, d->rap && m->retain,
		    d->subids, d->nsubids, sseq))
			durable_publish_target(d->s, sseq, qos, d->subids,
			    d->nsubids);
	}
	durable_publish_end();
	broker->ndlv = 0;
	return (n);
}

/* Every target node has a forwarded message (cluster.c): release the
 * publisher's ack (gone nodes have nobody to deliver to: not an error). */
static void
publish_forwarded(void *arg, int rc)
{
	durable_wait_release(arg, rc == IPC_FWD_OK || rc == IPC_FWD_GONE ?
	    IPC_STORE_OK : rc == IPC_FWD_FULL ? IPC_STORE_E_NOSPACE :
	    IPC_STORE_E_IO);
}

size_t
publish_msg(struct msg *m, struct session *origin)
{
	struct publish_ctx	 ctx = { 0 };
	struct durable_wait	*w;
	size_t			 n;

	if (m->retain)
		publish_retain(m);
	ctx.m = m;
	ctx.origin = origin;
	cluster_match_begin();
	n = publish_route(&ctx);
	/*
	 * Other nodes' subscribers (and, retained, every other node): the
	 * open wait, if any (a publisher's ack), also waits for them.
	 */
	w = m->qos > 0 ? durable_wait_hold() : NULL;
	if (cluster_match_end(m, w != NULL ? publish_forwarded : NULL, w) ==
	    0 && w != NULL)
		durable_wait_release(w, IPC_STORE_OK);
	n += ctx.nremote;
	if (n == 0)
		broker->stats.messages_no_subscribers++;
	return (n);
}

void
publish_remote(struct msg *m, const struct ipc_fwd_target *t, uint32_t nt,
    void (*done)(void *, int), void *arg)
{
	struct publish_ctx	ctx = { 0 };
	uint32_t		i;
	bool			retain = false;

	ctx.m = m;
	ctx.remote = true;
	ctx.t = t;
	ctx.nt = nt;
	for (i = 0; i < nt; i++) {
		if (t[i].kind == IPC_FWD_PLAIN)
			ctx.plain = true;
		else if (t[i].kind == IPC_FWD_RETAIN)
			retain = true;
	}
	/* Its ack (to the other node) waits for what it stores here. */
	durable_wait_begin();
	if (retain)
		publish_retain(m);
	if (ctx.plain || nt > (retain ? 1u : 0u))
		publish_route(&ctx);
	if (done != NULL)
		durable_wait_end_cb(done, arg);
	else
		durable_wait_abort();
}

/* Releases publishers held while forwards were behind (cluster.c). */
void
publish_unblocked(void)
{
	struct conn	*c;

	for (;;) {
		TAILQ_FOREACH(c, &broker->conns, link)
			if (c->hold & CONN_HOLD_CLUSTER)
				break;
		if (c == NULL)
			return;
		/* Handles input: may close others; start over. */
		conn_release(c, CONN_HOLD_CLUSTER);
		if (cluster_would_block())
			return;
	}
}

/*
 * Sends the ack that refuses a QoS 1/2 PUBLISH with rc (5.0), after the
 * acks of earlier PUBLISHes that wait for storaged ([MQTT-4.6.0-2]).
 */
static void
publish_refuse(struct conn *c, const struct mqtt_publish *pub, uint8_t rc)
{
	if (pub->qos == 0)
		return;
	durable_wait_begin();
	durable_wait_end_ack(c, pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC,
	    pub->packet_id, rc);
}

/* Resolves a 5.0 topic alias.  Returns 0, or -1 after failing c. */
static int
publish_alias(struct conn *c, const struct mqtt_publish *pub,
    const char **topic, size_t *tlen)
{
	uint16_t	alias = pub->props.topic_alias;

	if (alias == 0 || alias > c->topic_alias_max) {
		broker->stats.protocol_errors++;
		conn_fail(c, MQTT_RC_TOPIC_ALIAS_INVALID,
		    "topic alias out of range");
		return (-1);
	}
	if (c->ain == NULL) {
		c->ain = xmalloc(sizeof(*c->ain));
		alias_in_init(c->ain, c->topic_alias_max);
	}
	if (*tlen > 0) {
		alias_in_set(c->ain, alias, (const uint8_t *)*topic, *tlen);
		return (0);
	}
	if ((*topic = alias_in_get(c->ain, alias, tlen)) == NULL) {
		broker->stats.protocol_errors++;
		conn_fail(c, MQTT_RC_PROTOCOL_ERROR, "unknown topic alias");
		return (-1);
	}
	return (0);
}

void
publish_handle(struct conn *c, struct mqtt_packet *pkt)
{
	struct mqtt_publish	*pub = &pkt->u.publish;
	struct session		*s = c->sess;
	struct msg		*m;
	const char		*topic = (const char *)pub->topic.p;
	size_t			 tlen = pub->topic.len, n;
	bool			 v5 = c->proto == MQTT_PROTO_V5;

	broker->stats.messages_in++;
	if (pub->qos == 0)
		broker->stats.messages_in_qos0++;
	else if (pub->qos == 1)
		broker->stats.messages_in_qos1++;
	else
		broker->stats.messages_in_qos2++;
	/* [MQTT-3.3.4-6]: only the server sends subscription ids. */
	if (v5 && MQTT_PROP_HAS(&pub->props,
	    MQTT_PROP_SUBSCRIPTION_IDENTIFIER)) {
		broker->stats.protocol_errors++;
		conn_fail(c, MQTT_RC_PROTOCOL_ERROR,
		    "subscription identifier in a client's PUBLISH");
		return;
	}
	if (v5 && MQTT_PROP_HAS(&pub->props, MQTT_PROP_TOPIC_ALIAS)) {
		if (publish_alias(c, pub, &topic, &tlen) == -1)
			return;
	} else if (tlen == 0) {
		broker->stats.protocol_errors++;
		conn_fail(c, MQTT_RC_PROTOCOL_ERROR, "PUBLISH without topic");
		return;
	}
	if (pub->qos == 2 && has_session_qos2(s, pub->packet_id)) {
		/* Resent before our PUBREC arrived: ack, do not redeliver
		 * (after what the first one waits for in storaged). */
		broker->stats.messages_in_dup_qos2++;
		durable_wait_begin();
		durable_qos2_put(s, pub->packet_id);
		durable_wait_end_ack(c, MQTT_PUBREC, pub->packet_id, 0);
		return;
	}
	if (pub->qos == 2 && v5 && s->nqos2_in >= broker->max_inflight) {
		broker->stats.inbound_quota_exceeded++;
		conn_fail(c, MQTT_RC_RECEIVE_MAXIMUM_EXCEEDED,
		    "more QoS 2 PUBLISH in flight than our Receive Maximum");
		return;
	}
	if (v5 && MQTT_PROP_HAS(&pub->props,
	    MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) &&
	    pub->props.payload_format == 1 &&
	    !is_mqtt_utf8(pub->payload.p, pub->payload.len)) {
		broker->stats.dropped_payload_format++;
		if (pub->qos == 0)
			conn_fail(c, MQTT_RC_PAYLOAD_FORMAT_INVALID,
			    "payload is not UTF-8 as its format says");
		else
			publish_refuse(c, pub, MQTT_RC_PAYLOAD_FORMAT_INVALID);
		return;
	}
	if (v5 && MQTT_PROP_HAS(&pub->props, MQTT_PROP_RESPONSE_TOPIC) &&
	    !is_mqtt_topic_name(pub->props.response_topic.p,
	    pub->props.response_topic.len)) {
		broker->stats.protocol_errors++;
		conn_fail(c, MQTT_RC_PROTOCOL_ERROR, "invalid response topic");
		return;
	}
	if (!is_auth_publish_allowed(c, topic, tlen)) {
		/* 3.1.1 has no way to say no: acknowledge and drop. */
		if (v5)
			publish_refuse(c, pub, MQTT_RC_NOT_AUTHORIZED);
		else
			publish_refuse(c, pub, 0);
		return;
	}
	if (!is_cluster_allowed(CLUSTER_OP_PUBLISH)) {
		/* G3, in a minority (docs/clustering.md): QoS 0 dropped,
		 * QoS 1/2 refused (5.0) or the connection closed (3.1.1,
		 * which has no negative PUBACK). */
		if (pub->qos == 0)
			return;
		if (v5)
			publish_refuse(c, pub, MQTT_RC_IMPLEMENTATION_SPECIFIC);
		else {
			log_warnx("client %s (%s): QoS %u PUBLISH in a "
			    "minority: closing", conn_client_id(c), c->peer,
			    pub->qos);
			conn_close(c, false, false);
		}
		return;
	}
	/* Forwards behind (a node slow or away): read no more for now. */
	if (cluster_would_block())
		conn_hold(c, CONN_HOLD_CLUSTER);
	m = msg_new(topic, tlen, pub->payload.p, pub->payload.len, pub->qos,
	    pub->retain, v5 ? &pub->props : NULL, s->client_id, s->id_len,
	    broker_now());
	if (pub->qos == 0) {
		publish_msg(m, s);
		msg_unref(m);
		return;
	}
	/*
	 * The PUBACK/PUBREC waits until storaged has what this PUBLISH
	 * wrote: queue appends, the retained message, and the QoS 2 id
	 * (stored with the appends, in the same write: durable.c).
	 */
	durable_wait_begin();
	if (pub->qos == 2)
		durable_qos2_in(s, pub->packet_id);
	n = publish_msg(m, s);
	msg_unref(m);
	if (pub->qos == 1)
		durable_wait_end_ack(c, MQTT_PUBACK, pub->packet_id,
		    n == 0 ? MQTT_RC_NO_MATCHING_SUBSCRIBERS : 0);
	else {
		session_qos2_add(s, pub->packet_id);
		durable_wait_end_ack(c, MQTT_PUBREC, pub->packet_id,
		    n == 0 ? MQTT_RC_NO_MATCHING_SUBSCRIBERS : 0);
	}
}

void
publish_handle_pubrel(struct conn *c, struct mqtt_packet *pkt)
{
	uint16_t	pid = pkt->u.ack.packet_id;

	/* PUBCOMP once the id is gone from the store too: the client may
	 * use it again at once. */
	durable_wait_begin();
	if (session_qos2_remove(c->sess, pid)) {
		durable_qos2_del(c->sess, pid);
		durable_wait_end_ack(c, MQTT_PUBCOMP, pid, 0);
	} else
		durable_wait_end_ack(c, MQTT_PUBCOMP, pid,
		    MQTT_RC_PACKET_ID_NOT_FOUND);
}
