/* SPDX-License-Identifier: MIT */
/* The refcounted message: one allocation per PUBLISH, shared by queues. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/mqttd.h"

static uint64_t	msg_id_next;

uint64_t
msg_next_id(void)
{
	struct timespec	ts;
	uint64_t	id;

	/* storaged's: above every id stored, also across restarts. */
	if ((id = durable_next_id()) != 0)
		return (id);
	/*
	 * Start from the boot time in microseconds, so ids keep growing
	 * across restarts unless more than a million messages a second were
	 * published on average (storaged persists the last id in issue 3).
	 */
	if (msg_id_next == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		msg_id_next = (uint64_t)ts.tv_sec * 1000000 +
		    ts.tv_nsec / 1000;
	}
	return (msg_id_next++);
}

static void
msg_copy_bin(struct mqtt_bin *dst, const struct mqtt_bin *src, uint8_t **p)
{
	if (src->len == 0) {
		dst->p = NULL;
		dst->len = 0;
		return;
	}
	memcpy(*p, src->p, src->len);
	dst->p = *p;
	dst->len = src->len;
	*p += src->len;
}

struct msg *
msg_new(const char *topic, size_t topic_len, const uint8_t *payload,
    size_t payload_len, uint8_t qos, bool retain,
    const struct mqtt_props *props, const char *origin, size_t origin_len,
    int64_t now)
{
	static const struct mqtt_bin	 none = { NULL, 0 };
	const struct mqtt_bin		*ct = &none, *rt = &none, *cd = &none;
	const struct mqtt_bin		*up = &none;
	struct msg			*m;
	uint8_t				*p;
	size_t				 extra;

	if (props != NULL) {
		if (MQTT_PROP_HAS(props, MQTT_PROP_CONTENT_TYPE))
			ct = &props->content_type;
		if (MQTT_PROP_HAS(props, MQTT_PROP_RESPONSE_TOPIC))
			rt = &props->response_topic;
		if (MQTT_PROP_HAS(props, MQTT_PROP_CORRELATION_DATA))
			cd = &props->correlation_data;
		if (props->nuser_props > 0)
			up = &props->user_props;
	}
	if (origin == NULL)
		origin_len = 0;
	extra = topic_len + 1 + payload_len + ct->len + rt->len + cd->len +
	    up->len + origin_len + 1;
	m = xmalloc(sizeof(*m) + extra);
	memset(m, 0, sizeof(*m));
	m->refcnt = 1;
	m->qos = qos;
	m->retain = retain;
	m->id = msg_next_id();
	p = (uint8_t *)(m + 1);
	m->topic = (char *)p;
	memcpy(p, topic, topic_len);
	p[topic_len] = '\0';
	m->topic_len = topic_len;
	p += topic_len + 1;
	m->payload = p;
	if (payload_len > 0)
		memcpy(p, payload, payload_len);
	m->payload_len = payload_len;
	p += payload_len;
	msg_copy_bin(&m->content_type, ct, &p);
	msg_copy_bin(&m->response_topic, rt, &p);
	msg_copy_bin(&m->correlation_data, cd, &p);
	msg_copy_bin(&m->user_props, up, &p);
	m->origin = (char *)p;
	if (origin_len > 0)
		memcpy(p, origin, origin_len);
	p[origin_len] = '\0';
	m->origin_len = origin_len;
	if (props != NULL) {
		m->nuser_props = up->len > 0 ? props->nuser_props : 0;
		if (MQTT_PROP_HAS(props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR)) {
			m->flags |= MSG_F_PAYLOAD_FORMAT;
			m->payload_format = props->payload_format;
		}
		/* An interval of 0 is taken as none, as Mosquitto does. */
		if (MQTT_PROP_HAS(props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) &&
		    props->message_expiry > 0) {
			m->expiry_interval = props->message_expiry;
			m->expire_at = now + props->message_expiry;
		}
		/* Keep the properties present even when empty. */
		if (MQTT_PROP_HAS(props, MQTT_PROP_CORRELATION_DATA) &&
		    cd->len == 0)
			m->correlation_data.p = (const uint8_t *)m->origin;
		if (MQTT_PROP_HAS(props, MQTT_PROP_CONTENT_TYPE) &&
		    ct->len == 0)
			m->content_type.p = (const uint8_t *)m->origin;
	}
	return (m);
}

struct msg *
msg_ref(struct msg *m)
{
	m->refcnt++;
	return (m);
}

void
msg_unref(struct msg *m)
{
	if (m == NULL)
		return;
	if (m->refcnt == 0)
		fatalx("msg: unref of a free message");
	if (--m->refcnt == 0)
		free(m);
}

bool
is_msg_expired(const struct msg *m, int64_t now)
{
	return (m->expire_at != 0 && now >= m->expire_at);
}

void
msg_fill_props(const struct msg *m, struct mqtt_props *props, int64_t now)
{
	int64_t	left;

	memset(props, 0, sizeof(*props));
	if (m->flags & MSG_F_PAYLOAD_FORMAT) {
		MQTT_PROP_SET(props, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR);
		props->payload_format = m->payload_format;
	}
	if (m->expire_at != 0) {
		left = m->expire_at - now;
		MQTT_PROP_SET(props, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
		props->message_expiry = left > 0 ? (uint32_t)left : 0;
	}
	if (m->content_type.p != NULL) {
		MQTT_PROP_SET(props, MQTT_PROP_CONTENT_TYPE);
		props->content_type = m->content_type;
	}
	if (m->response_topic.p != NULL) {
		MQTT_PROP_SET(props, MQTT_PROP_RESPONSE_TOPIC);
		props->response_topic = m->response_topic;
	}
	if (m->correlation_data.p != NULL) {
		MQTT_PROP_SET(props, MQTT_PROP_CORRELATION_DATA);
		props->correlation_data = m->correlation_data;
	}
	if (m->nuser_props > 0) {
		MQTT_PROP_SET(props, MQTT_PROP_USER_PROPERTY);
		props->user_props = m->user_props;
		props->nuser_props = m->nuser_props;
	}
}
