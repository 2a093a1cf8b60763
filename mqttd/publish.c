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
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"

struct publish_ctx {
	struct msg	*m;		/* borrowed */
	struct session	*origin;	/* borrowed, may be NULL */
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

static void
publish_match_cb(const struct topic_sub *subs, size_t nsubs, bool shared,
    const char *group, uint32_t *rr, void *arg)
{
	struct publish_ctx	*ctx = arg;
	struct session		*s;
	size_t			 i, k, start;
	uint8_t			 options;

	if (nsubs == 0)
		return;
	if (!shared) {
		for (i = 0; i < nsubs; i++) {
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
	/* Round robin over the group, preferring connected members. */
	start = *rr % nsubs;
	i = start;
	for (k = 0; k < nsubs; k++) {
		s = subs[(start + k) % nsubs].owner;
		if (s->conn != NULL) {
			i = (start + k) % nsubs;
			break;
		}
	}
	*rr = (uint32_t)(i + 1);
	publish_add(subs[i].owner, (uint8_t)subs[i].data,
	    (uint32_t)(subs[i].data >> 8), false);
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

size_t
publish_msg(struct msg *m, struct session *origin)
{
	struct publish_ctx	 ctx;
	struct delivery		*d;
	size_t			 i, n;
	uint64_t		 sseq;
	uint8_t			 qos;

	if (m->retain)
		publish_retain(m);
	ctx.m = m;
	ctx.origin = origin;
	broker->match_gen++;
	broker->ndlv = 0;
	topic_tree_match(broker->subs, m->topic, m->topic_len,
	    publish_match_cb, &ctx);
	n = broker->ndlv;
	if (n == 0)
		broker->stats.messages_no_subscribers++;
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
