/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of sessions and routing without sockets: offline queues and
 * their limit, QoS downgrade, overlapping and shared subscriptions, no
 * local, retained messages, wills and session expiry.
 */
#include <stdio.h>
#include <string.h>

#include "common/conf.h"
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"
#include "tests/unit/unit.h"

static struct conf	conf;

static void
setup(void)
{
	conf_defaults(&conf);
	conf.max_offline_messages = 2;
	broker_init(&conf, NULL);
}

static void
teardown(void)
{
	broker_free();
	conf_free(&conf);
}

static struct session *
mk_session(const char *id, uint32_t expiry)
{
	struct session	*s = session_new(id, strlen(id));

	s->expiry = expiry;
	return (s);
}

static size_t
publish(const char *topic, const char *payload, uint8_t qos, bool retain,
    struct session *origin)
{
	struct msg	*m;
	size_t		 n;

	m = msg_new(topic, strlen(topic), (const uint8_t *)payload,
	    strlen(payload), qos, retain, NULL, "pub", 3, broker_now());
	n = publish_msg(m, origin);
	msg_unref(m);
	return (n);
}

static const char *
payload_at(struct session *s, int i)
{
	struct queue_entry	*e;

	TAILQ_FOREACH(e, &s->q.pending, link)
		if (i-- == 0)
			return ((const char *)e->msg->payload);
	return ("");
}

static void
test_session_offline_queue(void)
{
	struct session	*s;

	setup();
	s = mk_session("s", MQTTD_EXPIRY_NEVER);
	CU_ASSERT_EQUAL(session_subscribe(s, "a/#", 3, 1, 0), 1);
	CU_ASSERT_EQUAL(session_subscribe(s, "a/#", 3, 1, 0), 0);
	CU_ASSERT_EQUAL(s->nsubs, 1);
	CU_ASSERT_EQUAL(publish("a/b", "1", 1, false, NULL), 1);
	CU_ASSERT_EQUAL(publish("a/b", "2", 2, false, NULL), 1);
	/* Full: the newest is dropped and counted. */
	CU_ASSERT_EQUAL(publish("a/b", "3", 1, false, NULL), 1);
	CU_ASSERT_EQUAL(s->q.npending, 2);
	CU_ASSERT_EQUAL(broker->stats.dropped_queue_full, 1);
	CU_ASSERT_EQUAL(payload_at(s, 0)[0], '1');
	CU_ASSERT_EQUAL(payload_at(s, 1)[0], '2');
	/* Granted QoS 1 caps the QoS 2 message. */
	CU_ASSERT_EQUAL(TAILQ_LAST(&s->q.pending, queue_list)->qos, 1);
	/* QoS 0 is not queued offline. */
	publish("a/c", "0", 0, false, NULL);
	CU_ASSERT_EQUAL(s->q.npending, 2);
	CU_ASSERT_EQUAL(broker->stats.dropped_qos0_offline, 1);
	/* Nothing for unrelated topics. */
	CU_ASSERT_EQUAL(publish("b", "x", 1, false, NULL), 0);
	CU_ASSERT_EQUAL(broker->stats.messages_no_subscribers, 1);
	CU_ASSERT_EQUAL(session_unsubscribe(s, "a/#", 3), 1);
	CU_ASSERT_EQUAL(session_unsubscribe(s, "a/#", 3), 0);
	CU_ASSERT_EQUAL(publish("a/b", "4", 1, false, NULL), 0);
	teardown();
}

static void
test_session_overlap(void)
{
	struct session		*s;
	struct queue_entry	*e;

	setup();
	s = mk_session("s", MQTTD_EXPIRY_NEVER);
	session_subscribe(s, "a/+", 3, 0, 7);
	session_subscribe(s, "a/#", 3, 2, 9);
	session_subscribe(s, "#", 1, 1, 0);
	CU_ASSERT_EQUAL(publish("a/b", "x", 2, false, NULL), 1);
	CU_ASSERT_EQUAL_FATAL(s->q.npending, 1);
	e = TAILQ_FIRST(&s->q.pending);
	CU_ASSERT_EQUAL(e->qos, 2);
	CU_ASSERT_EQUAL(e->nsubids, 2);
	CU_ASSERT_TRUE((e->subids[0] == 7 && e->subids[1] == 9) ||
	    (e->subids[0] == 9 && e->subids[1] == 7));
	/* "#" does not match "$SYS/x". */
	CU_ASSERT_EQUAL(publish("$SYS/x", "y", 1, false, NULL), 0);
	teardown();
}

static void
test_session_shared(void)
{
	struct session	*a, *b, *c;

	setup();
	conf.max_offline_messages = 0;		/* no limit */
	a = mk_session("a", MQTTD_EXPIRY_NEVER);
	b = mk_session("b", MQTTD_EXPIRY_NEVER);
	c = mk_session("c", MQTTD_EXPIRY_NEVER);
	session_subscribe(a, "$share/g/t/#", 12, 1, 0);
	session_subscribe(b, "$share/g/t/#", 12, 1, 0);
	session_subscribe(c, "t/x", 3, 1, 0);
	CU_ASSERT_EQUAL(publish("t/x", "1", 1, false, NULL), 2);
	CU_ASSERT_EQUAL(publish("t/x", "2", 1, false, NULL), 2);
	CU_ASSERT_EQUAL(publish("t/x", "3", 1, false, NULL), 2);
	CU_ASSERT_EQUAL(publish("t/x", "4", 1, false, NULL), 2);
	CU_ASSERT_EQUAL(a->q.npending, 2);
	CU_ASSERT_EQUAL(b->q.npending, 2);
	CU_ASSERT_EQUAL(c->q.npending, 4);
	teardown();
}

static void
test_session_no_local(void)
{
	struct session	*s, *o;

	setup();
	s = mk_session("s", MQTTD_EXPIRY_NEVER);
	o = mk_session("o", MQTTD_EXPIRY_NEVER);
	session_subscribe(s, "t", 1, 1 | MQTT_SUBOPT_NO_LOCAL, 0);
	session_subscribe(o, "t", 1, 1, 0);
	CU_ASSERT_EQUAL(publish("t", "own", 1, false, s), 1);
	CU_ASSERT_EQUAL(s->q.npending, 0);
	CU_ASSERT_EQUAL(o->q.npending, 1);
	CU_ASSERT_EQUAL(publish("t", "other", 1, false, o), 2);
	CU_ASSERT_EQUAL(s->q.npending, 1);
	teardown();
}

static void
test_session_retained(void)
{
	setup();
	publish("r/1", "x", 1, true, NULL);
	publish("r/2", "y", 0, true, NULL);
	CU_ASSERT_EQUAL(retain_tree_count(broker->retained), 2);
	publish("r/1", "z", 1, true, NULL);
	CU_ASSERT_EQUAL(retain_tree_count(broker->retained), 2);
	publish("r/1", "", 1, true, NULL);
	CU_ASSERT_EQUAL(retain_tree_count(broker->retained), 1);
	CU_ASSERT_EQUAL(broker->stats.retained_deleted, 1);
	teardown();
}

static struct msg *
mk_will(const char *payload)
{
	return (msg_new("will/t", 6, (const uint8_t *)payload,
	    strlen(payload), 1, false, NULL, "w", 1, broker_now()));
}

static void
test_session_will(void)
{
	struct session	*w, *s;
	int64_t		 now;

	setup();
	s = mk_session("s", MQTTD_EXPIRY_NEVER);
	session_subscribe(s, "will/#", 6, 1, 0);

	/* Abnormal close, no delay: published at once. */
	w = mk_session("w", 100);
	session_set_will(w, mk_will("1"), 0);
	session_detach(w, false);
	CU_ASSERT_EQUAL(s->q.npending, 1);
	CU_ASSERT_PTR_NULL(w->will);

	/* Normal DISCONNECT: no will. */
	session_set_will(w, mk_will("2"), 0);
	session_detach(w, true);
	CU_ASSERT_EQUAL(s->q.npending, 1);

	/* Delayed: only when the delay has passed. */
	session_set_will(w, mk_will("3"), 5);
	now = broker_now_ms();
	session_detach(w, false);
	CU_ASSERT_EQUAL(s->q.npending, 1);
	session_sweep(now + 3000);
	CU_ASSERT_EQUAL(s->q.npending, 1);
	session_sweep(now + 6000);
	CU_ASSERT_EQUAL(s->q.npending, 2);
	CU_ASSERT_EQUAL(payload_at(s, 1)[0], '3');
	CU_ASSERT_PTR_EQUAL(session_find("w", 1), w);

	/* The session ending first sends the will with it. */
	session_set_will(w, mk_will("4"), 1000);
	session_detach(w, false);
	session_sweep(broker_now_ms() + 101000);
	CU_ASSERT_PTR_NULL(session_find("w", 1));
	CU_ASSERT_EQUAL(broker->stats.sessions_expired, 1);
	CU_ASSERT_EQUAL(broker->stats.wills_published, 3);
	conf.max_offline_messages = 0;
	teardown();
}

static void
test_session_expiry(void)
{
	struct session	*s;
	int64_t		 now = broker_now_ms();

	setup();
	s = mk_session("zero", 0);
	session_subscribe(s, "x", 1, 1, 0);
	CU_ASSERT_EQUAL(topic_tree_count(broker->subs), 1);
	session_detach(s, true);
	CU_ASSERT_PTR_NULL(session_find("zero", 4));
	CU_ASSERT_EQUAL(topic_tree_count(broker->subs), 0);

	s = mk_session("ten", 10);
	session_detach(s, true);
	session_sweep(now + 5000);
	CU_ASSERT_PTR_EQUAL(session_find("ten", 3), s);
	session_sweep(now + 12000);
	CU_ASSERT_PTR_NULL(session_find("ten", 3));

	s = mk_session("never", MQTTD_EXPIRY_NEVER);
	session_detach(s, true);
	session_sweep(now + 100000000000LL);
	CU_ASSERT_PTR_EQUAL(session_find("never", 5), s);
	CU_ASSERT_EQUAL(broker->nsessions, 1);
	teardown();
}

static void
test_session_qos2_ids(void)
{
	struct session	*s;
	uint32_t	 i;

	setup();
	s = mk_session("q", 0);
	for (i = 1; i <= 100; i++)
		session_qos2_add(s, (uint16_t)i);
	CU_ASSERT_TRUE(has_session_qos2(s, 50));
	CU_ASSERT_TRUE(session_qos2_remove(s, 50));
	CU_ASSERT_FALSE(has_session_qos2(s, 50));
	CU_ASSERT_FALSE(session_qos2_remove(s, 50));
	CU_ASSERT_TRUE(has_session_qos2(s, 100));
	CU_ASSERT_EQUAL(s->nqos2_in, 99);
	teardown();
}

/* Many sessions: the table grows and finds every one. */
static void
test_session_table(void)
{
	char	id[32];
	int	i, n;

	setup();
	for (i = 0; i < 5000; i++) {
		n = snprintf(id, sizeof(id), "client-%d", i);
		session_new(id, (size_t)n);
	}
	for (i = 0; i < 5000; i++) {
		n = snprintf(id, sizeof(id), "client-%d", i);
		if (session_find(id, (size_t)n) == NULL)
			CU_FAIL("session lost");
	}
	CU_ASSERT_PTR_NULL(session_find("client-5000", 11));
	CU_ASSERT_EQUAL(broker->nsessions, 5000);
	teardown();
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_session_offline_queue),
		UNIT_TEST(test_session_overlap),
		UNIT_TEST(test_session_shared),
		UNIT_TEST(test_session_no_local),
		UNIT_TEST(test_session_retained),
		UNIT_TEST(test_session_will),
		UNIT_TEST(test_session_expiry),
		UNIT_TEST(test_session_qos2_ids),
		UNIT_TEST(test_session_table),
		UNIT_END
	};

	return (unit_run("mqttd session", tests));
}
