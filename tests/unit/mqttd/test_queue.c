/* SPDX-License-Identifier: MIT */
/* Unit tests of the session queue, packet-id allocation and messages. */
#include <stdlib.h>
#include <string.h>

#include "mqttd/mqttd.h"
#include "tests/unit/unit.h"

static struct msg *
new_msg(const char *topic, uint8_t qos)
{
	return (msg_new(topic, strlen(topic), (const uint8_t *)"p", 1, qos,
	    false, NULL, NULL, 0, 1000));
}

static void
test_queue_order(void)
{
	struct queue		 q;
	struct queue_entry	*e;
	struct msg		*m[3];
	uint32_t		 ids[2] = { 5, 6 };
	int			 i;

	queue_init(&q);
	for (i = 0; i < 3; i++) {
		m[i] = new_msg(i == 0 ? "a" : i == 1 ? "b" : "c", 1);
		queue_push(&q, queue_entry_new(m[i], 1, i == 2, ids, i));
		CU_ASSERT_EQUAL(m[i]->refcnt, 2);
	}
	CU_ASSERT_EQUAL(q.npending, 3);
	for (i = 0; i < 3; i++) {
		e = queue_pop(&q);
		CU_ASSERT_PTR_EQUAL(e->msg, m[i]);
		CU_ASSERT_EQUAL(e->nsubids, i);
		CU_ASSERT_EQUAL(e->retain, i == 2);
		queue_start(&q, e);
		CU_ASSERT_EQUAL(e->pid, i + 1);
		CU_ASSERT_EQUAL(e->state, QUEUE_WAIT_PUBACK);
	}
	CU_ASSERT_PTR_NULL(queue_pop(&q));
	CU_ASSERT_EQUAL(q.ninflight, 3);
	/* Acknowledge out of order. */
	e = queue_find(&q, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_PTR_EQUAL(e->msg, m[1]);
	queue_done(&q, e);
	CU_ASSERT_EQUAL(m[1]->refcnt, 1);
	CU_ASSERT_PTR_NULL(queue_find(&q, 2));
	CU_ASSERT_EQUAL(q.ninflight, 2);
	CU_ASSERT_PTR_EQUAL(TAILQ_FIRST(&q.inflight)->msg, m[0]);
	queue_clear(&q);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(m[i]->refcnt, 1);
		msg_unref(m[i]);
	}
}

static void
test_queue_qos2_state(void)
{
	struct queue		 q;
	struct queue_entry	*e;
	struct msg		*m = new_msg("t", 2);

	queue_init(&q);
	e = queue_entry_new(m, 2, false, NULL, 0);
	queue_start(&q, e);
	CU_ASSERT_EQUAL(e->state, QUEUE_WAIT_PUBREC);
	CU_ASSERT_TRUE(is_queue_pid_used(&q, e->pid));
	CU_ASSERT_FALSE(is_queue_pid_used(&q, e->pid + 1));
	queue_clear(&q);
	CU_ASSERT_EQUAL(m->refcnt, 1);
	msg_unref(m);
}

/* Ids wrap from 65535 to 1 and skip an id still in flight. */
static void
test_queue_pid_wrap(void)
{
	struct queue		 q;
	struct queue_entry	*stuck, *e;
	struct msg		*m = new_msg("t", 1);
	uint32_t		 i;

	queue_init(&q);
	stuck = queue_entry_new(m, 1, false, NULL, 0);
	queue_start(&q, stuck);
	CU_ASSERT_EQUAL(stuck->pid, 1);
	/* 65534 more, each acknowledged at once: ids 2..65535. */
	for (i = 2; i <= 65535; i++) {
		e = queue_entry_new(m, 1, false, NULL, 0);
		queue_start(&q, e);
		if (e->pid != i) {
			CU_FAIL("unexpected id");
			break;
		}
		queue_done(&q, e);
	}
	/* Next would be 1, which is still in flight: must be 2. */
	e = queue_entry_new(m, 1, false, NULL, 0);
	queue_start(&q, e);
	CU_ASSERT_EQUAL(e->pid, 2);
	CU_ASSERT_EQUAL(q.ninflight, 2);
	CU_ASSERT_NOT_EQUAL(e->pid, 0);
	queue_done(&q, stuck);
	e = queue_entry_new(m, 1, false, NULL, 0);
	queue_start(&q, e);
	CU_ASSERT_EQUAL(e->pid, 3);
	queue_clear(&q);
	msg_unref(m);
}

static void
test_queue_pid_never_zero(void)
{
	struct queue	q;
	uint32_t	i;

	queue_init(&q);
	for (i = 0; i < 200000; i++)
		if (queue_alloc_pid(&q) == 0)
			CU_FAIL("packet id 0");
}

static void
test_msg_props(void)
{
	struct mqtt_props	 in, out;
	struct msg		*m;
	static const uint8_t	 up[] = { 0x26, 0, 1, 'k', 0, 1, 'v' };

	memset(&in, 0, sizeof(in));
	MQTT_PROP_SET(&in, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR);
	in.payload_format = 1;
	MQTT_PROP_SET(&in, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL);
	in.message_expiry = 60;
	MQTT_PROP_SET(&in, MQTT_PROP_CONTENT_TYPE);
	in.content_type.p = (const uint8_t *)"text/plain";
	in.content_type.len = 10;
	MQTT_PROP_SET(&in, MQTT_PROP_CORRELATION_DATA);
	in.correlation_data.p = (const uint8_t *)"";
	in.correlation_data.len = 0;
	MQTT_PROP_SET(&in, MQTT_PROP_TOPIC_ALIAS);
	in.topic_alias = 4;
	MQTT_PROP_SET(&in, MQTT_PROP_USER_PROPERTY);
	in.user_props.p = up;
	in.user_props.len = sizeof(up);
	in.nuser_props = 1;
	m = msg_new("a/b", 3, (const uint8_t *)"xyz", 3, 1, true, &in,
	    "cid", 3, 1000);
	CU_ASSERT_STRING_EQUAL(m->topic, "a/b");
	CU_ASSERT_EQUAL(memcmp(m->payload, "xyz", 3), 0);
	CU_ASSERT_STRING_EQUAL(m->origin, "cid");
	CU_ASSERT_EQUAL(m->expire_at, 1060);
	CU_ASSERT_FALSE(is_msg_expired(m, 1059));
	CU_ASSERT_TRUE(is_msg_expired(m, 1060));
	msg_fill_props(m, &out, 1040);
	CU_ASSERT_TRUE(MQTT_PROP_HAS(&out, MQTT_PROP_MESSAGE_EXPIRY_INTERVAL));
	CU_ASSERT_EQUAL(out.message_expiry, 20);
	CU_ASSERT_TRUE(MQTT_PROP_HAS(&out, MQTT_PROP_PAYLOAD_FORMAT_INDICATOR));
	CU_ASSERT_EQUAL(out.payload_format, 1);
	CU_ASSERT_EQUAL(out.content_type.len, 10);
	CU_ASSERT_EQUAL(memcmp(out.content_type.p, "text/plain", 10), 0);
	/* Empty correlation data is kept as present. */
	CU_ASSERT_TRUE(MQTT_PROP_HAS(&out, MQTT_PROP_CORRELATION_DATA));
	CU_ASSERT_EQUAL(out.correlation_data.len, 0);
	CU_ASSERT_FALSE(MQTT_PROP_HAS(&out, MQTT_PROP_RESPONSE_TOPIC));
	/* The topic alias is per connection: never forwarded. */
	CU_ASSERT_FALSE(MQTT_PROP_HAS(&out, MQTT_PROP_TOPIC_ALIAS));
	CU_ASSERT_EQUAL(out.nuser_props, 1);
	CU_ASSERT_EQUAL(out.user_props.len, sizeof(up));
	CU_ASSERT_EQUAL(memcmp(out.user_props.p, up, sizeof(up)), 0);
	msg_unref(m);

	/* No properties: nothing present, no expiry. */
	m = msg_new("t", 1, NULL, 0, 0, false, NULL, NULL, 0, 5);
	CU_ASSERT_EQUAL(m->expire_at, 0);
	CU_ASSERT_FALSE(is_msg_expired(m, 1 << 30));
	msg_fill_props(m, &out, 5);
	CU_ASSERT_EQUAL(out.present, 0);
	CU_ASSERT_EQUAL(out.user_props.len, 0);
	msg_unref(m);
}

static void
test_msg_ids(void)
{
	uint64_t	a = msg_next_id(), b = msg_next_id();

	CU_ASSERT_TRUE(b > a);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_queue_order),
		UNIT_TEST(test_queue_qos2_state),
		UNIT_TEST(test_queue_pid_wrap),
		UNIT_TEST(test_queue_pid_never_zero),
		UNIT_TEST(test_msg_props),
		UNIT_TEST(test_msg_ids),
		UNIT_END
	};

	return (unit_run("mqttd queue", tests));
}
