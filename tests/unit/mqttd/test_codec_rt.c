/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the MQTT codec: round trips of every packet type in each
 * protocol version and of every property, exact bytes of known encodings,
 * user property iteration, and encoder limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttd/mqtt.h"
#include "tests/unit/mqttd/codec_spec.h"
#include "tests/unit/unit.h"

static const uint8_t	rt_protos[] = { MQTT_PROTO_V31, MQTT_PROTO_V311,
			    MQTT_PROTO_V5 };

static struct mqtt_bin
rt_bin(const char *s)
{
	struct mqtt_bin	b = { (const uint8_t *)s, strlen(s) };

	return (b);
}

static bool
rt_bin_eq(struct mqtt_bin b, const char *s)
{
	return (b.len == strlen(s) && (b.len == 0 ||
	    memcmp(b.p, s, b.len) == 0));
}

static bool
rt_bins_eq(struct mqtt_bin a, struct mqtt_bin b)
{
	return (a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
}

/*
 * Encodes in at proto into b, decodes it into out (at level 0 for a
 * CONNECT), and checks that out encodes to the same bytes.  The caller
 * checks the fields, then clears out and frees b.
 */
static void
rt_roundtrip(uint8_t proto, const struct mqtt_packet *in,
    struct mqtt_packet *out, struct buf *b)
{
	struct buf	 again = BUF_INIT;
	const char	*why = "-";
	enum mqtt_rc	 rc;
	size_t		 n = 0;

	buf_reset(b);
	CU_ASSERT_EQUAL_FATAL(mqtt_encode(b, proto, in), 0);
	CU_ASSERT_EQUAL(mqtt_frame(b->data, b->len, &n), 1);
	CU_ASSERT_EQUAL(n, b->len);
	rc = mqtt_decode(b->data, b->len,
	    in->type == MQTT_CONNECT ? 0 : proto, out, &why);
	if (rc != MQTT_RC_SUCCESS)
		fprintf(stderr, "round trip of %s at %u: 0x%02x %s\n",
		    mqtt_type_name(in->type), proto, rc, why);
	CU_ASSERT_EQUAL_FATAL(rc, MQTT_RC_SUCCESS);
	CU_ASSERT_EQUAL(out->type, in->type);
	CU_ASSERT_EQUAL(mqtt_encode(&again, proto, out), 0);
	CU_ASSERT_EQUAL(again.len, b->len);
	CU_ASSERT(again.len == b->len &&
	    memcmp(again.data, b->data, b->len) == 0);
	buf_free(&again);
}

/* Checks that b holds exactly the bytes of spec. */
static bool
rt_bytes_are(const struct buf *b, const char *spec)
{
	struct buf	want = BUF_INIT;
	bool		eq;

	spec_bytes(&want, spec);
	eq = want.len == b->len && memcmp(want.data, b->data, b->len) == 0;
	if (!eq) {
		size_t	i;

		fprintf(stderr, "bytes differ from '%s':", spec);
		for (i = 0; i < b->len; i++)
			fprintf(stderr, " %02x", b->data[i]);
		fprintf(stderr, "\n");
	}
	buf_free(&want);
	return (eq);
}

/* ---- Properties ---- */

/* Sets every property of mask to a distinct value; ub holds user props. */
static void
rt_props_fill(struct mqtt_props *p, uint64_t mask, struct buf *ub)
{
	memset(p, 0, sizeof(*p));
	p->present = mask & ~(1ULL << MQTT_PROP_USER_PROPERTY);
	p->payload_format = 1;
	p->message_expiry = 0x01020304;
	p->content_type = rt_bin("application/json");
	p->response_topic = rt_bin("reply/to/me");
	p->correlation_data = rt_bin("corr\x01");
	p->sub_ids[0] = 1;
	p->sub_ids[1] = 268435455;
	p->sub_ids[2] = 16384;
	p->nsub_ids = 3;
	p->session_expiry = 0xFFFFFFFF;
	p->assigned_client_id = rt_bin("auto-0001");
	p->server_keep_alive = 0x1234;
	p->auth_method = rt_bin("SCRAM-SHA-256");
	p->auth_data = rt_bin("\x01\x02\x03");
	p->request_problem_info = 1;
	p->will_delay = 77;
	p->request_response_info = 1;
	p->response_info = rt_bin("resp/info");
	p->server_reference = rt_bin("other.example:1883");
	p->reason_string = rt_bin("because");
	p->receive_maximum = 65535;
	p->topic_alias_maximum = 10;
	p->topic_alias = 9;
	p->maximum_qos = 1;
	p->retain_available = 1;
	p->maximum_packet_size = 1 << 20;
	p->wildcard_sub_available = 1;
	p->sub_id_available = 1;
	p->shared_sub_available = 1;
	if (mask & (1ULL << MQTT_PROP_USER_PROPERTY)) {
		buf_reset(ub);
		CU_ASSERT_EQUAL(mqtt_props_add_user(ub, "k1", 2, "v1", 2), 0);
		CU_ASSERT_EQUAL(mqtt_props_add_user(ub, "k1", 2, "", 0), 0);
		CU_ASSERT_EQUAL(mqtt_props_add_user(ub, "\xc3\xa9", 2, "x", 1),
		    0);
		p->user_props.p = ub->data;
		p->user_props.len = ub->len;
		p->nuser_props = 3;
		p->present |= 1ULL << MQTT_PROP_USER_PROPERTY;
	}
	if (!(mask & (1ULL << MQTT_PROP_SUBSCRIPTION_IDENTIFIER)))
		p->nsub_ids = 0;
}

/* Compares the properties of mask in a and b. */
static void
rt_props_check(const struct mqtt_props *a, const struct mqtt_props *b,
    uint64_t mask)
{
	struct mqtt_bin	 ka, va, kb, vb;
	size_t		 oa = 0, ob = 0;
	int		 i, ra, rb, n = 0;

	CU_ASSERT_EQUAL(a->present, b->present);
	CU_ASSERT_EQUAL(b->present, mask);
#define HAS(id)	((mask >> (id)) & 1)
	if (HAS(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR))
		CU_ASSERT_EQUAL(a->payload_format, b->payload_format);
	if (HAS(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL))
		CU_ASSERT_EQUAL(a->message_expiry, b->message_expiry);
	if (HAS(MQTT_PROP_CONTENT_TYPE))
		CU_ASSERT(rt_bins_eq(a->content_type, b->content_type));
	if (HAS(MQTT_PROP_RESPONSE_TOPIC))
		CU_ASSERT(rt_bins_eq(a->response_topic, b->response_topic));
	if (HAS(MQTT_PROP_CORRELATION_DATA))
		CU_ASSERT(rt_bins_eq(a->correlation_data,
		    b->correlation_data));
	CU_ASSERT_EQUAL(a->nsub_ids, b->nsub_ids);
	for (i = 0; i < a->nsub_ids && i < b->nsub_ids; i++)
		CU_ASSERT_EQUAL(a->sub_ids[i], b->sub_ids[i]);
	if (HAS(MQTT_PROP_SESSION_EXPIRY_INTERVAL))
		CU_ASSERT_EQUAL(a->session_expiry, b->session_expiry);
	if (HAS(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER))
		CU_ASSERT(rt_bins_eq(a->assigned_client_id,
		    b->assigned_client_id));
	if (HAS(MQTT_PROP_SERVER_KEEP_ALIVE))
		CU_ASSERT_EQUAL(a->server_keep_alive, b->server_keep_alive);
	if (HAS(MQTT_PROP_AUTHENTICATION_METHOD))
		CU_ASSERT(rt_bins_eq(a->auth_method, b->auth_method));
	if (HAS(MQTT_PROP_AUTHENTICATION_DATA))
		CU_ASSERT(rt_bins_eq(a->auth_data, b->auth_data));
	if (HAS(MQTT_PROP_REQUEST_PROBLEM_INFORMATION))
		CU_ASSERT_EQUAL(a->request_problem_info,
		    b->request_problem_info);
	if (HAS(MQTT_PROP_WILL_DELAY_INTERVAL))
		CU_ASSERT_EQUAL(a->will_delay, b->will_delay);
	if (HAS(MQTT_PROP_REQUEST_RESPONSE_INFORMATION))
		CU_ASSERT_EQUAL(a->request_response_info,
		    b->request_response_info);
	if (HAS(MQTT_PROP_RESPONSE_INFORMATION))
		CU_ASSERT(rt_bins_eq(a->response_info, b->response_info));
	if (HAS(MQTT_PROP_SERVER_REFERENCE))
		CU_ASSERT(rt_bins_eq(a->server_reference,
		    b->server_reference));
	if (HAS(MQTT_PROP_REASON_STRING))
		CU_ASSERT(rt_bins_eq(a->reason_string, b->reason_string));
	if (HAS(MQTT_PROP_RECEIVE_MAXIMUM))
		CU_ASSERT_EQUAL(a->receive_maximum, b->receive_maximum);
	if (HAS(MQTT_PROP_TOPIC_ALIAS_MAXIMUM))
		CU_ASSERT_EQUAL(a->topic_alias_maximum,
		    b->topic_alias_maximum);
	if (HAS(MQTT_PROP_TOPIC_ALIAS))
		CU_ASSERT_EQUAL(a->topic_alias, b->topic_alias);
	if (HAS(MQTT_PROP_MAXIMUM_QOS))
		CU_ASSERT_EQUAL(a->maximum_qos, b->maximum_qos);
	if (HAS(MQTT_PROP_RETAIN_AVAILABLE))
		CU_ASSERT_EQUAL(a->retain_available, b->retain_available);
	if (HAS(MQTT_PROP_MAXIMUM_PACKET_SIZE))
		CU_ASSERT_EQUAL(a->maximum_packet_size,
		    b->maximum_packet_size);
	if (HAS(MQTT_PROP_WILDCARD_SUB_AVAILABLE))
		CU_ASSERT_EQUAL(a->wildcard_sub_available,
		    b->wildcard_sub_available);
	if (HAS(MQTT_PROP_SUB_ID_AVAILABLE))
		CU_ASSERT_EQUAL(a->sub_id_available, b->sub_id_available);
	if (HAS(MQTT_PROP_SHARED_SUB_AVAILABLE))
		CU_ASSERT_EQUAL(a->shared_sub_available,
		    b->shared_sub_available);
#undef HAS
	CU_ASSERT_EQUAL(a->nuser_props, b->nuser_props);
	for (;;) {
		ra = mqtt_props_next_user(a, &oa, &ka, &va);
		rb = mqtt_props_next_user(b, &ob, &kb, &vb);
		CU_ASSERT_EQUAL(ra, rb);
		if (ra != 1 || rb != 1)
			break;
		CU_ASSERT(rt_bins_eq(ka, kb));
		CU_ASSERT(rt_bins_eq(va, vb));
		n++;
	}
	CU_ASSERT_EQUAL(ra, 0);
	CU_ASSERT_EQUAL(n, b->nuser_props);
}

#define B(id)	(1ULL << (id))
#define MSG_PROPS							\
	(B(MQTT_PROP_PAYLOAD_FORMAT_INDICATOR) |			\
	B(MQTT_PROP_MESSAGE_EXPIRY_INTERVAL) | B(MQTT_PROP_CONTENT_TYPE) |\
	B(MQTT_PROP_RESPONSE_TOPIC) | B(MQTT_PROP_CORRELATION_DATA) |	\
	B(MQTT_PROP_USER_PROPERTY))
#define CONNECT_PROPS							\
	(B(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |				\
	B(MQTT_PROP_AUTHENTICATION_METHOD) |				\
	B(MQTT_PROP_AUTHENTICATION_DATA) |				\
	B(MQTT_PROP_REQUEST_PROBLEM_INFORMATION) |			\
	B(MQTT_PROP_REQUEST_RESPONSE_INFORMATION) |			\
	B(MQTT_PROP_RECEIVE_MAXIMUM) | B(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |\
	B(MQTT_PROP_USER_PROPERTY) | B(MQTT_PROP_MAXIMUM_PACKET_SIZE))
#define WILL_PROPS	(MSG_PROPS | B(MQTT_PROP_WILL_DELAY_INTERVAL))
#define CONNACK_PROPS							\
	(B(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |				\
	B(MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER) |			\
	B(MQTT_PROP_SERVER_KEEP_ALIVE) |				\
	B(MQTT_PROP_AUTHENTICATION_METHOD) |				\
	B(MQTT_PROP_AUTHENTICATION_DATA) |				\
	B(MQTT_PROP_RESPONSE_INFORMATION) |				\
	B(MQTT_PROP_SERVER_REFERENCE) | B(MQTT_PROP_REASON_STRING) |	\
	B(MQTT_PROP_RECEIVE_MAXIMUM) | B(MQTT_PROP_TOPIC_ALIAS_MAXIMUM) |\
	B(MQTT_PROP_MAXIMUM_QOS) | B(MQTT_PROP_RETAIN_AVAILABLE) |	\
	B(MQTT_PROP_USER_PROPERTY) | B(MQTT_PROP_MAXIMUM_PACKET_SIZE) |	\
	B(MQTT_PROP_WILDCARD_SUB_AVAILABLE) |				\
	B(MQTT_PROP_SUB_ID_AVAILABLE) | B(MQTT_PROP_SHARED_SUB_AVAILABLE))
#define PUBLISH_PROPS							\
	(MSG_PROPS | B(MQTT_PROP_SUBSCRIPTION_IDENTIFIER) |		\
	B(MQTT_PROP_TOPIC_ALIAS))
#define ACK_PROPS							\
	(B(MQTT_PROP_REASON_STRING) | B(MQTT_PROP_USER_PROPERTY))
#define SUBSCRIBE_PROPS							\
	(B(MQTT_PROP_SUBSCRIPTION_IDENTIFIER) | B(MQTT_PROP_USER_PROPERTY))
#define DISCONNECT_PROPS						\
	(ACK_PROPS | B(MQTT_PROP_SESSION_EXPIRY_INTERVAL) |		\
	B(MQTT_PROP_SERVER_REFERENCE))
#define AUTH_PROPS							\
	(ACK_PROPS | B(MQTT_PROP_AUTHENTICATION_METHOD) |		\
	B(MQTT_PROP_AUTHENTICATION_DATA))

/* ---- Round trips ---- */

static void
test_rt_connect(void)
{
	struct mqtt_packet	 in, out;
	struct mqtt_connect	*c = &in.u.connect, *o = &out.u.connect;
	struct buf		 b = BUF_INIT, u1 = BUF_INIT, u2 = BUF_INIT;
	size_t			 i;
	int			 variant;

	for (i = 0; i < sizeof(rt_protos); i++) {
		for (variant = 0; variant < 3; variant++) {
			memset(&in, 0, sizeof(in));
			in.type = MQTT_CONNECT;
			c->proto_level = rt_protos[i];
			c->keep_alive = 0xBEEF;
			c->client_id = rt_bin(variant == 1 ? "" : "client-42");
			c->clean_start = variant != 1;
			if (variant >= 1) {
				c->has_username = true;
				c->username = rt_bin("user\xc3\xa9");
				c->has_password = true;
				c->password = rt_bin(variant == 2 ?
				    "\xff\xfe" : "");
			}
			if (variant == 2) {
				c->will_flag = true;
				c->will_qos = 2;
				c->will_retain = true;
				c->will_topic = rt_bin("will/topic");
				c->will_payload = rt_bin("gone");
			}
			if (rt_protos[i] == MQTT_PROTO_V5 && variant == 2) {
				rt_props_fill(&c->props, CONNECT_PROPS, &u1);
				rt_props_fill(&c->will_props, WILL_PROPS, &u2);
			}
			rt_roundtrip(0, &in, &out, &b);
			CU_ASSERT_EQUAL(o->proto_level, rt_protos[i]);
			CU_ASSERT(rt_bin_eq(o->proto_name,
			    rt_protos[i] == MQTT_PROTO_V31 ?
			    "MQIsdp" : "MQTT"));
			CU_ASSERT_EQUAL(o->keep_alive, 0xBEEF);
			CU_ASSERT_EQUAL(o->clean_start, c->clean_start);
			CU_ASSERT(rt_bins_eq(o->client_id, c->client_id));
			CU_ASSERT_EQUAL(o->will_flag, c->will_flag);
			CU_ASSERT_EQUAL(o->will_qos, c->will_qos);
			CU_ASSERT_EQUAL(o->will_retain, c->will_retain);
			CU_ASSERT(rt_bins_eq(o->will_topic, c->will_topic));
			CU_ASSERT(rt_bins_eq(o->will_payload,
			    c->will_payload));
			CU_ASSERT_EQUAL(o->has_username, c->has_username);
			CU_ASSERT_EQUAL(o->has_password, c->has_password);
			CU_ASSERT(rt_bins_eq(o->username, c->username));
			CU_ASSERT(rt_bins_eq(o->password, c->password));
			if (rt_protos[i] == MQTT_PROTO_V5 && variant == 2) {
				rt_props_check(&c->props, &o->props,
				    CONNECT_PROPS);
				rt_props_check(&c->will_props, &o->will_props,
				    WILL_PROPS);
			}
			mqtt_packet_clear(&out);
		}
	}
	/* The level comes from the CONNECT when proto is 0. */
	memset(&in, 0, sizeof(in));
	in.type = MQTT_CONNECT;
	c->proto_level = MQTT_PROTO_V311;
	c->clean_start = true;
	c->keep_alive = 60;
	c->client_id = rt_bin("c");
	buf_reset(&b);
	CU_ASSERT_EQUAL(mqtt_encode(&b, 0, &in), 0);
	CU_ASSERT(rt_bytes_are(&b, "10 0d s'MQTT' 04 02 003c s'c'"));
	buf_free(&b);
	buf_free(&u1);
	buf_free(&u2);
}

static void
test_rt_connack(void)
{
	struct mqtt_packet	 in, out;
	struct buf		 b = BUF_INIT, u = BUF_INIT;
	size_t			 i;

	for (i = 0; i < sizeof(rt_protos); i++) {
		memset(&in, 0, sizeof(in));
		in.type = MQTT_CONNACK;
		in.u.connack.session_present = true;
		if (rt_protos[i] == MQTT_PROTO_V5)
			rt_props_fill(&in.u.connack.props, CONNACK_PROPS, &u);
		rt_roundtrip(rt_protos[i], &in, &out, &b);
		CU_ASSERT_EQUAL(out.u.connack.rc, 0);
		/* 3.1 has no session present flag. */
		CU_ASSERT_EQUAL(out.u.connack.session_present,
		    rt_protos[i] != MQTT_PROTO_V31);
		if (rt_protos[i] == MQTT_PROTO_V5)
			rt_props_check(&in.u.connack.props,
			    &out.u.connack.props, CONNACK_PROPS);
		mqtt_packet_clear(&out);

		memset(&in, 0, sizeof(in));
		in.type = MQTT_CONNACK;
		in.u.connack.rc = rt_protos[i] == MQTT_PROTO_V5 ?
		    MQTT_RC_NOT_AUTHORIZED :
		    mqtt_rc_to_v3_connack(MQTT_RC_NOT_AUTHORIZED);
		rt_roundtrip(rt_protos[i], &in, &out, &b);
		CU_ASSERT_EQUAL(out.u.connack.rc, in.u.connack.rc);
		CU_ASSERT_FALSE(out.u.connack.session_present);
		mqtt_packet_clear(&out);
	}
	/* Known bytes. */
	buf_reset(&b);
	in.u.connack.rc = MQTT_V3_REFUSED_BAD_USERNAME_PASSWORD;
	CU_ASSERT_EQUAL(mqtt_encode(&b, MQTT_PROTO_V311, &in), 0);
	CU_ASSERT(rt_bytes_are(&b, "20 02 00 04"));
	buf_reset(&b);
	memset(&in, 0, sizeof(in));
	in.type = MQTT_CONNACK;
	in.u.connack.rc = MQTT_RC_SERVER_BUSY;
	CU_ASSERT_EQUAL(mqtt_encode(&b, MQTT_PROTO_V5, &in), 0);
	CU_ASSERT(rt_bytes_are(&b, "20 03 00 89 00"));
	buf_free(&b);
	buf_free(&u);
}

static void
test_rt_publish(void)
{
	struct mqtt_packet	 in, out;
	struct mqtt_publish	*p = &in.u.publish, *o = &out.u.publish;
	struct buf		 b = BUF_INIT, u = BUF_INIT;
	size_t			 i;
	uint8_t			 qos;

	for (i = 0; i < sizeof(rt_protos); i++) {
		for (qos = 0; qos <= 2; qos++) {
			memset(&in, 0, sizeof(in));
			in.type = MQTT_PUBLISH;
			p->qos = qos;
			p->dup = qos > 0;
			p->retain = qos == 1;
			p->topic = rt_bin("sensors/\xe6\xbc\xa2/temp");
			p->packet_id = qos > 0 ? 65535 : 0;
			p->payload = rt_bin(qos == 2 ? "" : "21.5 C");
			if (rt_protos[i] == MQTT_PROTO_V5)
				rt_props_fill(&p->props, PUBLISH_PROPS, &u);
			rt_roundtrip(rt_protos[i], &in, &out, &b);
			CU_ASSERT_EQUAL(o->qos, qos);
			CU_ASSERT_EQUAL(o->dup, p->dup);
			CU_ASSERT_EQUAL(o->retain, p->retain);
			CU_ASSERT(rt_bins_eq(o->topic, p->topic));
			CU_ASSERT_EQUAL(o->packet_id, p->packet_id);
			CU_ASSERT(rt_bins_eq(o->payload, p->payload));
			/* The payload is not copied. */
			if (o->payload.len > 0)
				CU_ASSERT_PTR_EQUAL(o->payload.p +
				    o->payload.len, b.data + b.len);
			if (rt_protos[i] == MQTT_PROTO_V5)
				rt_props_check(&p->props, &o->props,
				    PUBLISH_PROPS);
			mqtt_packet_clear(&out);
		}
	}
	/* Known bytes, and mqtt_encode_publish() gives the same. */
	buf_reset(&b);
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V311, 1, false,
	    true, (const uint8_t *)"a/b", 3, 10, NULL,
	    (const uint8_t *)"hi", 2), 0);
	CU_ASSERT(rt_bytes_are(&b, "33 09 s'a/b' 000a 'hi'"));
	buf_reset(&b);
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V5, 0, false,
	    false, (const uint8_t *)"a", 1, 0, NULL, NULL, 0), 0);
	CU_ASSERT(rt_bytes_are(&b, "30 04 s'a' 00"));
	/* Appends: two packets in one buffer. */
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V5, 0, false,
	    false, (const uint8_t *)"a", 1, 0, NULL, NULL, 0), 0);
	CU_ASSERT(rt_bytes_are(&b, "30 04 s'a' 00 30 04 s'a' 00"));
	/* Topic alias with an empty topic. */
	memset(&in, 0, sizeof(in));
	in.type = MQTT_PUBLISH;
	p->topic = rt_bin("");
	MQTT_PROP_SET(&p->props, MQTT_PROP_TOPIC_ALIAS);
	p->props.topic_alias = 3;
	rt_roundtrip(MQTT_PROTO_V5, &in, &out, &b);
	CU_ASSERT(rt_bytes_are(&b, "30 06 0000 [ 23 0003 ]"));
	CU_ASSERT_EQUAL(o->props.topic_alias, 3);
	mqtt_packet_clear(&out);
	buf_free(&b);
	buf_free(&u);
}

static void
test_rt_publish_large(void)
{
	struct mqtt_packet	 out;
	struct buf		 b = BUF_INIT;
	uint8_t			*payload;
	size_t			 n = 0;
	const char		*why;

	/* A remaining length that needs 3 varint bytes. */
	payload = calloc(1, 2097152);
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V311, 0, false,
	    false, (const uint8_t *)"big", 3, 0, NULL, payload, 2000000), 0);
	CU_ASSERT_EQUAL(b.len, 1 + 3 + 5 + 2000000);
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len, &n), 1);
	CU_ASSERT_EQUAL(n, b.len);
	CU_ASSERT_EQUAL(mqtt_frame(b.data, b.len - 1, &n), 0);
	CU_ASSERT_EQUAL(mqtt_decode(b.data, b.len, MQTT_PROTO_V311, &out,
	    &why), MQTT_RC_SUCCESS);
	CU_ASSERT_EQUAL(out.u.publish.payload.len, 2000000);
	mqtt_packet_clear(&out);
	free(payload);
	buf_free(&b);
}

static void
test_rt_acks(void)
{
	static const uint8_t	 types[] = { MQTT_PUBACK, MQTT_PUBREC,
	    MQTT_PUBREL, MQTT_PUBCOMP };
	struct mqtt_packet	 in, out;
	struct buf		 b = BUF_INIT, u = BUF_INIT;
	size_t			 i, t;
	int			 form;

	for (i = 0; i < sizeof(rt_protos); i++) {
		for (t = 0; t < sizeof(types); t++) {
			for (form = 0; form < 3; form++) {
				memset(&in, 0, sizeof(in));
				in.type = types[t];
				in.u.ack.packet_id = 0x0102;
				if (rt_protos[i] == MQTT_PROTO_V5 && form > 0)
					in.u.ack.rc = types[t] <= MQTT_PUBREC ?
					    MQTT_RC_NO_MATCHING_SUBSCRIBERS :
					    MQTT_RC_PACKET_ID_NOT_FOUND;
				if (rt_protos[i] == MQTT_PROTO_V5 && form > 1)
					rt_props_fill(&in.u.ack.props,
					    ACK_PROPS, &u);
				rt_roundtrip(rt_protos[i], &in, &out, &b);
				CU_ASSERT_EQUAL(out.u.ack.packet_id, 0x0102);
				CU_ASSERT_EQUAL(out.u.ack.rc, in.u.ack.rc);
				CU_ASSERT_EQUAL(b.data[0] & 0x0F,
				    types[t] == MQTT_PUBREL ? 2 : 0);
				/* The short forms. */
				if (rt_protos[i] != MQTT_PROTO_V5 || form == 0)
					CU_ASSERT_EQUAL(b.len, 4);
				if (rt_protos[i] == MQTT_PROTO_V5 && form == 1)
					CU_ASSERT_EQUAL(b.len, 5);
				if (rt_protos[i] == MQTT_PROTO_V5 && form == 2)
					rt_props_check(&in.u.ack.props,
					    &out.u.ack.props, ACK_PROPS);
				mqtt_packet_clear(&out);
			}
		}
	}
	buf_free(&b);
	buf_free(&u);
}

static void
test_rt_subscribe(void)
{
	struct mqtt_topic_entry	 e[3];
	struct mqtt_packet	 in, out;
	struct mqtt_subscribe	*s = &in.u.subscribe, *o = &out.u.subscribe;
	struct buf		 b = BUF_INIT, u = BUF_INIT;
	size_t			 i, j;
	int			 unsub;
	uint8_t			 want;

	e[0].filter = rt_bin("a/+/c");
	e[0].options = 0x2E;	/* QoS 2, no local, RAP, retain handling 2 */
	e[1].filter = rt_bin("#");
	e[1].options = 0x01;
	e[2].filter = rt_bin("$share/group/x/#");
	e[2].options = 0x18;	/* QoS 0, RAP, retain handling 1 */
	for (i = 0; i < sizeof(rt_protos); i++) {
		for (unsub = 0; unsub < 2; unsub++) {
			memset(&in, 0, sizeof(in));
			in.type = unsub ? MQTT_UNSUBSCRIBE : MQTT_SUBSCRIBE;
			s->packet_id = 7;
			s->entries = e;
			s->nentries = 3;
			if (rt_protos[i] == MQTT_PROTO_V5) {
				rt_props_fill(&s->props, unsub ?
				    B(MQTT_PROP_USER_PROPERTY) :
				    SUBSCRIBE_PROPS, &u);
				s->props.nsub_ids = unsub ? 0 : 1;
			}
			rt_roundtrip(rt_protos[i], &in, &out, &b);
			CU_ASSERT_EQUAL(b.data[0] & 0x0F, 2);
			CU_ASSERT_EQUAL(o->packet_id, 7);
			CU_ASSERT_EQUAL_FATAL(o->nentries, 3);
			for (j = 0; j < 3; j++) {
				CU_ASSERT(rt_bins_eq(o->entries[j].filter,
				    e[j].filter));
				if (unsub)
					want = 0;
				else if (rt_protos[i] == MQTT_PROTO_V5)
					want = e[j].options;
				else	/* 3.x sends only the QoS */
					want = MQTT_SUBOPT_QOS(e[j].options);
				CU_ASSERT_EQUAL(o->entries[j].options, want);
			}
			if (rt_protos[i] == MQTT_PROTO_V5)
				rt_props_check(&s->props, &o->props, unsub ?
				    B(MQTT_PROP_USER_PROPERTY) :
				    SUBSCRIBE_PROPS);
			mqtt_packet_clear(&out);
			CU_ASSERT_PTR_NULL(o->entries);
		}
	}
	buf_free(&b);
	buf_free(&u);
}

static void
test_rt_suback(void)
{
	static const uint8_t	 v3[] = { 0, 1, 2, 0x80 };
	static const uint8_t	 v5[] = { 0, 1, 2, 0x80, 0x87, 0x8F, 0x9E,
	    0xA2 };
	static const uint8_t	 un5[] = { 0, 0x11, 0x87 };
	struct mqtt_packet	 in, out;
	struct buf		 b = BUF_INIT, u = BUF_INIT;
	size_t			 i;
	bool			 is5;

	for (i = 0; i < sizeof(rt_protos); i++) {
		is5 = rt_protos[i] == MQTT_PROTO_V5;
		memset(&in, 0, sizeof(in));
		in.type = MQTT_SUBACK;
		in.u.suback.packet_id = 9;
		in.u.suback.rcs = is5 ? v5 : v3;
		in.u.suback.nrcs = is5 ? sizeof(v5) : sizeof(v3);
		if (is5)
			rt_props_fill(&in.u.suback.props, ACK_PROPS, &u);
		rt_roundtrip(rt_protos[i], &in, &out, &b);
		CU_ASSERT_EQUAL(out.u.suback.packet_id, 9);
		CU_ASSERT_EQUAL_FATAL(out.u.suback.nrcs, in.u.suback.nrcs);
		CU_ASSERT(memcmp(out.u.suback.rcs, in.u.suback.rcs,
		    in.u.suback.nrcs) == 0);
		if (is5)
			rt_props_check(&in.u.suback.props,
			    &out.u.suback.props, ACK_PROPS);
		mqtt_packet_clear(&out);

		memset(&in, 0, sizeof(in));
		in.type = MQTT_UNSUBACK;
		in.u.suback.packet_id = 10;
		in.u.suback.rcs = un5;
		in.u.suback.nrcs = sizeof(un5);
		if (is5)
			rt_props_fill(&in.u.suback.props, ACK_PROPS, &u);
		rt_roundtrip(rt_protos[i], &in, &out, &b);
		CU_ASSERT_EQUAL(out.u.suback.packet_id, 10);
		/* 3.x UNSUBACK has no reason codes. */
		CU_ASSERT_EQUAL(out.u.suback.nrcs, is5 ? sizeof(un5) : 0);
		if (is5) {
			CU_ASSERT(memcmp(out.u.suback.rcs, un5,
			    sizeof(un5)) == 0);
			rt_props_check(&in.u.suback.props,
			    &out.u.suback.props, ACK_PROPS);
		} else {
			CU_ASSERT(rt_bytes_are(&b, "b0 02 000a"));
		}
		mqtt_packet_clear(&out);
	}
	buf_free(&b);
	buf_free(&u);
}

static void
test_rt_ping_disconnect_auth(void)
{
	struct mqtt_packet	 in, out;
	struct buf		 b = BUF_INIT, u = BUF_INIT;
	size_t			 i;

	for (i = 0; i < sizeof(rt_protos); i++) {
		memset(&in, 0, sizeof(in));
		in.type = MQTT_PINGREQ;
		rt_roundtrip(rt_protos[i], &in, &out, &b);
		CU_ASSERT(rt_bytes_are(&b, "c0 00"));
		in.type = MQTT_PINGRESP;
		rt_roundtrip(rt_protos[i], &in, &out, &b);
		CU_ASSERT(rt_bytes_are(&b, "d0 00"));
		in.type = MQTT_DISCONNECT;
		rt_roundtrip(rt_protos[i], &in, &out, &b);
		CU_ASSERT(rt_bytes_are(&b, "e0 00"));
		CU_ASSERT_EQUAL(out.u.disconnect.rc, 0);
	}
	/* 5.0: the reason code alone, then with properties. */
	in.u.disconnect.rc = MQTT_RC_DISCONNECT_WITH_WILL;
	rt_roundtrip(MQTT_PROTO_V5, &in, &out, &b);
	CU_ASSERT(rt_bytes_are(&b, "e0 01 04"));
	CU_ASSERT_EQUAL(out.u.disconnect.rc, MQTT_RC_DISCONNECT_WITH_WILL);
	in.u.disconnect.rc = MQTT_RC_SESSION_TAKEN_OVER;
	rt_props_fill(&in.u.disconnect.props, DISCONNECT_PROPS, &u);
	rt_roundtrip(MQTT_PROTO_V5, &in, &out, &b);
	CU_ASSERT_EQUAL(out.u.disconnect.rc, MQTT_RC_SESSION_TAKEN_OVER);
	rt_props_check(&in.u.disconnect.props, &out.u.disconnect.props,
	    DISCONNECT_PROPS);
	/* A normal disconnection with properties keeps its rc byte. */
	memset(&in, 0, sizeof(in));
	in.type = MQTT_DISCONNECT;
	MQTT_PROP_SET(&in.u.disconnect.props,
	    MQTT_PROP_SESSION_EXPIRY_INTERVAL);
	rt_roundtrip(MQTT_PROTO_V5, &in, &out, &b);
	CU_ASSERT(rt_bytes_are(&b, "e0 L 00 [ 11 00000000 ]"));

	/* AUTH: 5.0 only. */
	memset(&in, 0, sizeof(in));
	in.type = MQTT_AUTH;
	rt_roundtrip(MQTT_PROTO_V5, &in, &out, &b);
	CU_ASSERT(rt_bytes_are(&b, "f0 00"));
	in.u.disconnect.rc = MQTT_RC_CONTINUE_AUTHENTICATION;
	rt_props_fill(&in.u.disconnect.props, AUTH_PROPS, &u);
	rt_roundtrip(MQTT_PROTO_V5, &in, &out, &b);
	CU_ASSERT_EQUAL(out.u.disconnect.rc, MQTT_RC_CONTINUE_AUTHENTICATION);
	rt_props_check(&in.u.disconnect.props, &out.u.disconnect.props,
	    AUTH_PROPS);
	buf_reset(&b);
	CU_ASSERT_EQUAL(mqtt_encode(&b, MQTT_PROTO_V311, &in), -1);
	CU_ASSERT_EQUAL(b.len, 0);
	buf_free(&b);
	buf_free(&u);
}

/* ---- Properties alone ---- */

static void
test_rt_props_block(void)
{
	struct mqtt_props	 p, q;
	struct buf		 b = BUF_INIT, u = BUF_INIT;
	const uint8_t		*cur;
	const char		*why;
	uint64_t		 masks[] = { CONNECT_PROPS, WILL_PROPS,
	    CONNACK_PROPS, PUBLISH_PROPS, ACK_PROPS, SUBSCRIBE_PROPS,
	    DISCONNECT_PROPS, AUTH_PROPS };
	unsigned		 types[] = { MQTT_CONNECT, MQTT_PROPS_WILL,
	    MQTT_CONNACK, MQTT_PUBLISH, MQTT_PUBACK, MQTT_SUBSCRIBE,
	    MQTT_DISCONNECT, MQTT_AUTH };
	size_t			 i;

	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		rt_props_fill(&p, masks[i], &u);
		if (types[i] == MQTT_SUBSCRIBE)
			p.nsub_ids = 1;
		buf_reset(&b);
		mqtt_props_encode(&b, &p);
		CU_ASSERT_EQUAL(b.len, mqtt_varint_len(mqtt_props_len(&p)) +
		    mqtt_props_len(&p));
		memset(&q, 0, sizeof(q));
		cur = b.data;
		CU_ASSERT_EQUAL(mqtt_props_decode(&cur, b.data + b.len,
		    types[i], &q, &why), MQTT_RC_SUCCESS);
		CU_ASSERT_PTR_EQUAL(cur, b.data + b.len);
		rt_props_check(&p, &q, masks[i]);
	}
	/* An empty block is one byte. */
	memset(&p, 0, sizeof(p));
	buf_reset(&b);
	mqtt_props_encode(&b, &p);
	CU_ASSERT(rt_bytes_are(&b, "00"));
	CU_ASSERT_EQUAL(mqtt_props_len(&p), 0);
	/* A string too long to encode. */
	MQTT_PROP_SET(&p, MQTT_PROP_REASON_STRING);
	p.reason_string.p = (const uint8_t *)b.data;
	p.reason_string.len = 70000;
	CU_ASSERT(mqtt_props_len(&p) > MQTT_MAX_REMAINING);
	buf_free(&b);
	buf_free(&u);
}

/* User properties interleaved with others: iterated and re-encoded. */
static void
test_rt_user_props_interleaved(void)
{
	struct mqtt_packet	 pkt;
	struct mqtt_bin		 k, v;
	struct buf		 b = BUF_INIT, e = BUF_INIT;
	size_t			 off = 0;
	const char		*why;

	spec_bytes(&b, "30 L s't' [ 26 s'a' s'1' 02 0000000a 26 s'b' s'2' "
	    "01 01 26 s'c' s'3' ] 'x'");
	CU_ASSERT_EQUAL_FATAL(mqtt_decode(b.data, b.len, MQTT_PROTO_V5, &pkt,
	    &why), MQTT_RC_SUCCESS);
	CU_ASSERT_EQUAL(pkt.u.publish.props.nuser_props, 3);
	CU_ASSERT_EQUAL(mqtt_props_next_user(&pkt.u.publish.props, &off, &k,
	    &v), 1);
	CU_ASSERT(rt_bin_eq(k, "a") && rt_bin_eq(v, "1"));
	CU_ASSERT_EQUAL(mqtt_props_next_user(&pkt.u.publish.props, &off, &k,
	    &v), 1);
	CU_ASSERT(rt_bin_eq(k, "b") && rt_bin_eq(v, "2"));
	CU_ASSERT_EQUAL(mqtt_props_next_user(&pkt.u.publish.props, &off, &k,
	    &v), 1);
	CU_ASSERT(rt_bin_eq(k, "c") && rt_bin_eq(v, "3"));
	CU_ASSERT_EQUAL(mqtt_props_next_user(&pkt.u.publish.props, &off, &k,
	    &v), 0);
	/* Re-encoded in id order, user properties together, order kept. */
	CU_ASSERT_EQUAL(mqtt_encode(&e, MQTT_PROTO_V5, &pkt), 0);
	CU_ASSERT(rt_bytes_are(&e, "30 L s't' [ 01 01 02 0000000a "
	    "26 s'a' s'1' 26 s'b' s'2' 26 s'c' s'3' ] 'x'"));
	mqtt_packet_clear(&pkt);
	/* A malformed user_props given to the iterator. */
	memset(&pkt, 0, sizeof(pkt));
	spec_bytes(&b, "26 0005 'ab'");
	pkt.u.publish.props.user_props.p = b.data;
	pkt.u.publish.props.user_props.len = b.len;
	off = 0;
	CU_ASSERT_EQUAL(mqtt_props_next_user(&pkt.u.publish.props, &off, &k,
	    &v), -1);
	buf_free(&b);
	buf_free(&e);
}

static void
test_rt_publish_sub_ids(void)
{
	struct mqtt_props	 p = { 0 };
	struct mqtt_packet	 out;
	struct buf		 b = BUF_INIT;
	const char		*why;
	int			 i;

	MQTT_PROP_SET(&p, MQTT_PROP_SUBSCRIPTION_IDENTIFIER);
	for (i = 0; i < MQTT_MAX_SUB_IDS; i++)
		p.sub_ids[i] = i + 1;
	p.nsub_ids = MQTT_MAX_SUB_IDS;
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V5, 0, false,
	    false, (const uint8_t *)"t", 1, 0, &p, NULL, 0), 0);
	CU_ASSERT_EQUAL(mqtt_decode(b.data, b.len, MQTT_PROTO_V5, &out,
	    &why), MQTT_RC_SUCCESS);
	CU_ASSERT_EQUAL(out.u.publish.props.nsub_ids, MQTT_MAX_SUB_IDS);
	CU_ASSERT_EQUAL(out.u.publish.props.sub_ids[MQTT_MAX_SUB_IDS - 1],
	    MQTT_MAX_SUB_IDS);
	mqtt_packet_clear(&out);
	/* One more than the struct holds is refused, not overflowed. */
	spec_bytes(&b, "30 L s't' [ 0b 01 0b 02 0b 03 0b 04 0b 05 0b 06 0b 07 "
	    "0b 08 0b 09 0b 0a 0b 0b 0b 0c 0b 0d 0b 0e 0b 0f 0b 10 0b 11 "
	    "0b 12 0b 13 0b 14 0b 15 0b 16 0b 17 0b 18 0b 19 0b 1a 0b 1b "
	    "0b 1c 0b 1d 0b 1e 0b 1f 0b 20 0b 21 ]");
	CU_ASSERT_EQUAL(mqtt_decode(b.data, b.len, MQTT_PROTO_V5, &out,
	    &why), MQTT_RC_PROTOCOL_ERROR);
	mqtt_packet_clear(&out);
	buf_free(&b);
}

/* ---- Encoder limits ---- */

static void
test_rt_encode_limits(void)
{
	struct mqtt_packet	 in;
	struct mqtt_topic_entry	 e;
	struct buf		 b = BUF_INIT;
	uint8_t			*big;

	big = calloc(1, 70000);
	memset(big, 'x', 70000);
	buf_add(&b, "keep", 4);
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V311, 0, false,
	    false, big, 65536, 0, NULL, NULL, 0), -1);
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V311, 3, false,
	    false, big, 1, 1, NULL, NULL, 0), -1);
	CU_ASSERT_EQUAL(b.len, 4);
	/* Payload making the packet larger than the largest length. */
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V311, 0, false,
	    false, big, 1, 0, NULL, big, MQTT_MAX_REMAINING - 2), -1);
	CU_ASSERT_EQUAL(b.len, 4);
	memset(&in, 0, sizeof(in));
	in.type = MQTT_CONNECT;
	in.u.connect.proto_level = MQTT_PROTO_V311;
	in.u.connect.client_id.p = big;
	in.u.connect.client_id.len = 65536;
	CU_ASSERT_EQUAL(mqtt_encode(&b, 0, &in), -1);
	in.u.connect.client_id.len = 65535;
	CU_ASSERT_EQUAL(mqtt_encode(&b, 0, &in), 0);
	CU_ASSERT_EQUAL(b.len, 4 + 1 + 3 + 10 + 2 + 65535);
	buf_reset(&b);
	in.u.connect.proto_level = 7;
	CU_ASSERT_EQUAL(mqtt_encode(&b, 0, &in), -1);
	memset(&in, 0, sizeof(in));
	in.type = MQTT_SUBSCRIBE;
	in.u.subscribe.packet_id = 1;
	e.filter.p = big;
	e.filter.len = 65536;
	e.options = 0;
	in.u.subscribe.entries = &e;
	in.u.subscribe.nentries = 1;
	CU_ASSERT_EQUAL(mqtt_encode(&b, MQTT_PROTO_V311, &in), -1);
	/* Properties too long: refused, nothing written. */
	memset(&in, 0, sizeof(in));
	in.type = MQTT_PUBACK;
	in.u.ack.packet_id = 1;
	MQTT_PROP_SET(&in.u.ack.props, MQTT_PROP_REASON_STRING);
	in.u.ack.props.reason_string.p = big;
	in.u.ack.props.reason_string.len = 65536;
	CU_ASSERT_EQUAL(mqtt_encode(&b, MQTT_PROTO_V5, &in), -1);
	CU_ASSERT_EQUAL(b.len, 0);
	/* Unknown type. */
	in.type = 0;
	CU_ASSERT_EQUAL(mqtt_encode(&b, MQTT_PROTO_V5, &in), -1);
	free(big);
	buf_free(&b);
}

/* The property block of 5.0 packets is left out in 3.x. */
static void
test_rt_no_props_in_v3(void)
{
	struct mqtt_props	 p = { 0 };
	struct buf		 b = BUF_INIT;

	MQTT_PROP_SET(&p, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
	p.message_expiry = 5;
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V311, 0, false,
	    false, (const uint8_t *)"t", 1, 0, &p, (const uint8_t *)"x", 1),
	    0);
	CU_ASSERT(rt_bytes_are(&b, "30 04 s't' 'x'"));
	buf_reset(&b);
	CU_ASSERT_EQUAL(mqtt_encode_publish(&b, MQTT_PROTO_V5, 0, false,
	    false, (const uint8_t *)"t", 1, 0, &p, (const uint8_t *)"x", 1),
	    0);
	CU_ASSERT(rt_bytes_are(&b, "30 L s't' [ 02 00000005 ] 'x'"));
	buf_free(&b);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_rt_connect),
		UNIT_TEST(test_rt_connack),
		UNIT_TEST(test_rt_publish),
		UNIT_TEST(test_rt_publish_large),
		UNIT_TEST(test_rt_acks),
		UNIT_TEST(test_rt_subscribe),
		UNIT_TEST(test_rt_suback),
		UNIT_TEST(test_rt_ping_disconnect_auth),
		UNIT_TEST(test_rt_props_block),
		UNIT_TEST(test_rt_user_props_interleaved),
		UNIT_TEST(test_rt_publish_sub_ids),
		UNIT_TEST(test_rt_encode_limits),
		UNIT_TEST(test_rt_no_props_in_v3),
		UNIT_END
	};

	return (unit_run("mqtt_codec_rt", tests));
}
