/* SPDX-License-Identifier: MIT */
/*
 * Outbound PUBLISH: write now or queue, the in-flight window, retries on
 * reconnect, and the client's acknowledgements (PUBACK, PUBREC, PUBCOMP).
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mqttd/mqttd.h"

/*
 * Encodes one PUBLISH straight into the scratch buffer and queues it on
 * c's output.  Returns 0 if sent, -1 if dropped because it exceeds the
 * client's Maximum Packet Size ([MQTT-3.1.2-25]: then it is as if sent) or
 * the ACL does not let the client read it.
 */
static int
deliver_write(struct conn *c, struct msg *m, uint8_t qos, uint16_t pid,
    bool dup, bool retain, const uint32_t *subids, int nsubids)
{
	struct mqtt_props	 props, *pp = NULL;
	struct buf		*b = &broker->wbuf;
	const char		*topic = m->topic;
	size_t			 tlen = m->topic_len;
	uint16_t		 alias;
	bool			 is_new = false;
	int			 i;

	/* acl_file: a reload, or a partly allowed subscription. */
	if (!is_auth_deliver_allowed(c, m->topic, m->topic_len))
		return (-1);
	if (c->proto == MQTT_PROTO_V5) {
		pp = &props;
		msg_fill_props(m, pp, broker_now());
		for (i = 0; i < nsubids && i < MQTT_MAX_SUB_IDS; i++)
			props.sub_ids[props.nsub_ids++] = subids[i];
		if (props.nsub_ids > 0)
			MQTT_PROP_SET(pp, MQTT_PROP_SUBSCRIPTION_IDENTIFIER);
		if (c->aout != NULL && (alias = alias_out_get(c->aout, topic,
		    tlen, &is_new)) != 0) {
			MQTT_PROP_SET(pp, MQTT_PROP_TOPIC_ALIAS);
			props.topic_alias = alias;
			if (!is_new)
				tlen = 0;
		}
	}
	buf_reset(b);
	if (mqtt_encode_publish(b, c->proto, qos, dup, retain,
	    (const uint8_t *)topic, tlen, pid, pp, m->payload,
	    m->payload_len) == -1 ||
	    (c->max_packet != 0 && b->len > c->max_packet)) {
		if (is_new)
			alias_out_forget(c->aout, m->topic, m->topic_len);
		broker->stats.dropped_too_large++;
		return (-1);
	}
	conn_write(c, b->data, b->len);
	broker->stats.messages_out++;
	if (qos == 0)
		broker->stats.messages_out_qos0++;
	else if (qos == 1)
		broker->stats.messages_out_qos1++;
	else
		broker->stats.messages_out_qos2++;
	return (0);
}

static bool
is_deliver_expired(const struct msg *m)
{
	if (m->expire_at == 0 || !is_msg_expired(m, broker_now()))
		return (false);
	broker->stats.dropped_expired++;
	return (true);
}

void
deliver_msg(struct session *s, struct msg *m, uint8_t qos, bool retain,
    const uint32_t *subids, int nsubids)
{
	deliver_msg_seq(s, m, qos, retain, subids, nsubids, 0);
}

/* A new pending entry of s for m, with its store seq. */
static struct queue_entry *
deliver_entry(struct msg *m, uint8_t qos, bool retain,
    const uint32_t *subids, int nsubids, uint64_t sseq)
{
	struct queue_entry	*e;

	e = queue_entry_new(m, qos, retain, subids, nsubids);
	e->sseq = sseq;
	return (e);
}

bool
deliver_msg_seq(struct session *s, struct msg *m, uint8_t qos, bool retain,
    const uint32_t *subids, int nsubids, uint64_t sseq)
{
	const struct conf	*conf = broker->conf;
	struct conn		*c = s->conn;
	struct queue_entry	*e;

	if (m->qos < qos)
		qos = m->qos;
	if (is_deliver_expired(m))
		return (false);
	if (qos == 0)
		sseq = 0;
	if (c == NULL || c->state != CONN_ACTIVE) {
		/* QoS 0 is not queued for offline sessions ([MQTT-3.1.2-5]
		 * makes it optional). */
		if (qos == 0) {
			broker->stats.dropped_qos0_offline++;
			return (false);
		}
		/* Policy when full: the newest message is dropped. */
		if (conf->max_offline_messages > 0 &&
		    s->q.npending >= (uint64_t)conf->max_offline_messages) {
			broker->stats.dropped_queue_full++;
			limits_log(LIMITS_QUEUE_FULL, s->client_id, NULL,
			    "max_offline_messages reached, message dropped");
			return (false);
		}
		queue_push(&s->q, deliver_entry(m, qos, retain, subids,
		    nsubids, sseq));
		return (true);
	}
	if (qos == 0) {
		if (is_conn_wbuf_full(c)) {
			broker->stats.dropped_qos0_slow++;
			limits_log(LIMITS_WRITE_BUFFER, s->client_id, c->peer,
			    "client reads too slowly, QoS 0 dropped");
			return (false);
		}
		deliver_write(c, m, 0, 0, false, retain, subids, nsubids);
		return (false);
	}
	if (s->q.npending == 0 && s->q.ninflight < c->out_window &&
	    !is_conn_wbuf_full(c)) {
		e = deliver_entry(m, qos, retain, subids, nsubids, sseq);
		queue_start(&s->q, e);
		if (deliver_write(c, m, qos, e->pid, false, retain, subids,
		    nsubids) == -1) {
			queue_done(&s->q, e);
			return (false);
		}
		durable_entry_sent(s, e);
		return (true);
	}
	if (conf->max_online_messages > 0 &&
	    s->q.npending >= (uint64_t)conf->max_online_messages) {
		broker->stats.dropped_queue_full++;
		limits_log(LIMITS_QUEUE_FULL, s->client_id, c->peer,
		    "max_online_messages reached, message dropped");
		return (false);
	}
	queue_push(&s->q, deliver_entry(m, qos, retain, subids, nsubids,
	    sseq));
	if (is_conn_wbuf_full(c))
		c->wblocked = true;
	return (true);
}

void
deliver_pump(struct session *s)
{
	struct conn		*c = s->conn;
	struct queue_entry	*e;

	if (c == NULL || c->state != CONN_ACTIVE)
		return;
	while (s->q.npending > 0 && s->q.ninflight < c->out_window) {
		if (is_conn_wbuf_full(c)) {
			c->wblocked = true;
			return;
		}
		e = queue_pop(&s->q);
		if (is_deliver_expired(e->msg)) {
			durable_entry_done(s, e);
			queue_entry_free(e);
			continue;
		}
		queue_start(&s->q, e);
		if (deliver_write(c, e->msg, e->qos, e->pid, false, e->retain,
		    e->subids, e->nsubids) == -1) {
			durable_entry_done(s, e);
			queue_done(&s->q, e);
		} else
			durable_entry_sent(s, e);
	}
}

void
deliver_resume(struct session *s)
{
	struct conn		*c = s->conn;
	struct queue_entry	*e, *next;

	if (c == NULL)
		return;
	/* [MQTT-4.4.0-1]: resend unacknowledged PUBLISH and PUBREL. */
	TAILQ_FOREACH_SAFE(e, &s->q.inflight, link, next) {
		broker->stats.messages_retried++;
		if (e->state == QUEUE_WAIT_PUBCOMP) {
			conn_send_ack(c, MQTT_PUBREL, e->pid, 0);
			continue;
		}
		if (deliver_write(c, e->msg, e->qos, e->pid, true, e->retain,
		    e->subids, e->nsubids) == -1) {
			durable_entry_done(s, e);
			queue_done(&s->q, e);
		}
	}
	deliver_pump(s);
}

void
deliver_handle_puback(struct conn *c, struct mqtt_packet *pkt)
{
	struct session		*s = c->sess;
	struct queue_entry	*e;

	e = queue_find(&s->q, pkt->u.ack.packet_id);
	if (e == NULL || e->state != QUEUE_WAIT_PUBACK) {
		log_debug("client %s (%s): PUBACK for unknown id %u",
		    s->client_id, c->peer, pkt->u.ack.packet_id);
		return;
	}
	durable_entry_done(s, e);
	queue_done(&s->q, e);
	deliver_pump(s);
}

void
deliver_handle_pubrec(struct conn *c, struct mqtt_packet *pkt)
{
	struct session		*s = c->sess;
	struct queue_entry	*e;
	uint16_t		 pid = pkt->u.ack.packet_id;

	e = queue_find(&s->q, pid);
	if (e == NULL) {
		conn_send_ack(c, MQTT_PUBREL, pid,
		    MQTT_RC_PACKET_ID_NOT_FOUND);
		return;
	}
	if (e->state == QUEUE_WAIT_PUBCOMP) {
		conn_send_ack(c, MQTT_PUBREL, pid, 0);
		return;
	}
	if (e->state != QUEUE_WAIT_PUBREC) {
		log_debug("client %s (%s): PUBREC for QoS 1 id %u",
		    s->client_id, c->peer, pid);
		return;
	}
	if (c->proto == MQTT_PROTO_V5 && pkt->u.ack.rc >= 0x80) {
		/* The client refused it: the flow ends here. */
		durable_entry_done(s, e);
		queue_done(&s->q, e);
		deliver_pump(s);
		return;
	}
	e->state = QUEUE_WAIT_PUBCOMP;
	durable_entry_pubrec(s, e);
	/* Only the id matters from now on. */
	msg_unref(e->msg);
	e->msg = NULL;
	conn_send_ack(c, MQTT_PUBREL, pid, 0);
}

void
deliver_handle_pubcomp(struct conn *c, struct mqtt_packet *pkt)
{
	struct session		*s = c->sess;
	struct queue_entry	*e;

	e = queue_find(&s->q, pkt->u.ack.packet_id);
	if (e == NULL || e->state != QUEUE_WAIT_PUBCOMP) {
		log_debug("client %s (%s): PUBCOMP for unknown id %u",
		    s->client_id, c->peer, pkt->u.ack.packet_id);
		return;
	}
	durable_entry_done(s, e);
	queue_done(&s->q, e);
	deliver_pump(s);
}
