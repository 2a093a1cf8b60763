/* SPDX-License-Identifier: MIT */
/* SUBSCRIBE and UNSUBSCRIBE, and retained messages sent on subscribe. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/cluster.h"
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"

struct subscribe_retained {
	struct session	*s;		/* borrowed */
	uint8_t		 qos;
	uint32_t	 subid;
	int64_t		 now;
};

static void
subscribe_retained_cb(void *value, void *arg)
{
	struct subscribe_retained	*ctx = arg;
	struct msg			*m = value;

	if (is_msg_expired(m, ctx->now))
		return;
	broker->stats.retained_sent++;
	/* [MQTT-3.3.1-8]: RETAIN is set on messages sent for a new
	 * subscription. */
	durable_deliver(ctx->s, m, ctx->qos, true, &ctx->subid,
	    ctx->subid != 0 ? 1 : 0);
}

void
subscribe_handle(struct conn *c, struct mqtt_packet *pkt)
{
	struct mqtt_subscribe		*sub = &pkt->u.subscribe;
	struct session			*s = c->sess;
	struct mqtt_packet		 ack;
	struct subscribe_retained	 ctx;
	const char			*f, *group, *real;
	size_t				 i, len, glen, rlen;
	uint8_t				*rcs, *isnew, opts, rh;
	uint32_t			 subid = 0;
	bool				 v5 = c->proto == MQTT_PROTO_V5;
	bool				 refuse;
	int				 r;

	if (v5 && MQTT_PROP_HAS(&sub->props,
	    MQTT_PROP_SUBSCRIPTION_IDENTIFIER) && sub->props.nsub_ids > 0)
		subid = sub->props.sub_ids[0];
	/* [MQTT-3.8.3-4]: no local on a shared subscription. */
	for (i = 0; v5 && i < sub->nentries; i++) {
		f = (const char *)sub->entries[i].filter.p;
		len = sub->entries[i].filter.len;
		if ((sub->entries[i].options & MQTT_SUBOPT_NO_LOCAL) &&
		    topic_parse_shared(f, len, &group, &glen, &real,
		    &rlen) == 1) {
			broker->stats.protocol_errors++;
			conn_fail(c, MQTT_RC_PROTOCOL_ERROR,
			    "no local on a shared subscription");
			return;
		}
	}
	rcs = xcalloc(sub->nentries, 1);
	isnew = xcalloc(sub->nentries, 1);
	/* G3: a minority takes no subscription (docs/clustering.md). */
	refuse = !is_cluster_allowed(CLUSTER_OP_SUBSCRIBE);
	for (i = 0; i < sub->nentries; i++) {
		f = (const char *)sub->entries[i].filter.p;
		len = sub->entries[i].filter.len;
		opts = sub->entries[i].options;
		if (!v5)
			opts &= 0x03;
		rcs[i] = v5 ? MQTT_RC_TOPIC_FILTER_INVALID :
		    MQTT_RC_UNSPECIFIED_ERROR;
		if (len > UINT16_MAX ||
		    topic_parse_shared(f, len, &group, &glen, &real,
		    &rlen) == -1) {
			broker->stats.subscribes_refused++;
			continue;
		}
		if (refuse) {
			rcs[i] = v5 ? MQTT_RC_IMPLEMENTATION_SPECIFIC :
			    MQTT_RC_UNSPECIFIED_ERROR;
			broker->stats.subscribes_refused++;
			continue;
		}
		if (!is_auth_subscribe_allowed(c, f, len)) {
			rcs[i] = v5 ? MQTT_RC_NOT_AUTHORIZED :
			    MQTT_RC_UNSPECIFIED_ERROR;
			broker->stats.subscribes_refused++;
			continue;
		}
		if ((r = session_subscribe(s, f, len, opts, subid)) == -1) {
			broker->stats.subscribes_refused++;
			continue;
		}
		isnew[i] = r == 1;
		durable_sub_put(s, f, len, opts, subid);
		rcs[i] = MQTT_SUBOPT_QOS(opts);
		broker->stats.subscribes++;
	}
	memset(&ack, 0, sizeof(ack));
	ack.type = MQTT_SUBACK;
	ack.u.suback.packet_id = sub->packet_id;
	ack.u.suback.rcs = rcs;
	ack.u.suback.nrcs = sub->nentries;
	conn_send(c, &ack);

	/* Retained messages, after the SUBACK ([MQTT-3.8.4-4]). */
	ctx.s = s;
	ctx.subid = subid;
	ctx.now = broker_now();
	for (i = 0; i < sub->nentries; i++) {
		if (rcs[i] >= 0x80)
			continue;
		f = (const char *)sub->entries[i].filter.p;
		len = sub->entries[i].filter.len;
		opts = sub->entries[i].options;
		rh = v5 ? MQTT_SUBOPT_RETAIN_HANDLING(opts) : 0;
		/* Not for shared subscriptions ([MQTT-4.8.2]). */
		if (topic_parse_shared(f, len, &group, &glen, &real,
		    &rlen) != 0)
			continue;
		if (rh == 2 || (rh == 1 && !isnew[i]))
			continue;
		ctx.qos = MQTT_SUBOPT_QOS(opts);
		retain_tree_match(broker->retained, f, len,
		    subscribe_retained_cb, &ctx);
	}
	free(rcs);
	free(isnew);
}

void
subscribe_handle_unsubscribe(struct conn *c, struct mqtt_packet *pkt)
{
	struct mqtt_subscribe	*sub = &pkt->u.subscribe;
	struct mqtt_packet	 ack;
	const char		*f, *group, *real;
	size_t			 i, len, glen, rlen;
	uint8_t			*rcs;
	bool			 refuse;

	/* G3: a minority keeps every subscription; 3.1.1's UNSUBACK cannot
	 * say so: close (docs/clustering.md). */
	if ((refuse = !is_cluster_allowed(CLUSTER_OP_UNSUBSCRIBE)) &&
	    c->proto != MQTT_PROTO_V5) {
		log_warnx("client %s (%s): UNSUBSCRIBE in a minority: closing",
		    conn_client_id(c), c->peer);
		conn_close(c, false, false);
		return;
	}
	rcs = xcalloc(sub->nentries, 1);
	for (i = 0; i < sub->nentries; i++) {
		f = (const char *)sub->entries[i].filter.p;
		len = sub->entries[i].filter.len;
		broker->stats.unsubscribes++;
		if (refuse)
			rcs[i] = MQTT_RC_IMPLEMENTATION_SPECIFIC;
		else if (topic_parse_shared(f, len, &group, &glen, &real,
		    &rlen) == -1)
			rcs[i] = MQTT_RC_TOPIC_FILTER_INVALID;
		else if (session_unsubscribe(c->sess, f, len) == 1) {
			durable_sub_del(c->sess, f, len);
			rcs[i] = MQTT_RC_SUCCESS;
		} else
			rcs[i] = MQTT_RC_NO_SUBSCRIPTION_EXISTED;
	}
	memset(&ack, 0, sizeof(ack));
	ack.type = MQTT_UNSUBACK;
	ack.u.suback.packet_id = sub->packet_id;
	ack.u.suback.rcs = rcs;
	ack.u.suback.nrcs = sub->nentries;
	conn_send(c, &ack);
	free(rcs);
}
