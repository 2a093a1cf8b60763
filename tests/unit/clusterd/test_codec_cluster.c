/* SPDX-License-Identifier: MIT */
/* Unit tests of clusterd's node-local messages (ipc/codec_cluster.c): round
 * trips, and short and over-long payloads rejected. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc.h"
#include "tests/unit/unit.h"

/* Every prefix and every extension of a valid payload must be refused. */
#define CHECK_TRUNCATIONS(b, dec, type, cleanup) do {			\
	struct type	tmp_;						\
	struct buf	long_ = BUF_INIT;				\
	size_t		i_;						\
	for (i_ = 0; i_ < (b)->len; i_++) {				\
		CU_ASSERT_EQUAL(dec((b)->data, i_, &tmp_), -1);		\
	}								\
	buf_add(&long_, (b)->data, (b)->len);				\
	buf_add_u8(&long_, 0);						\
	CU_ASSERT_EQUAL(dec(long_.data, long_.len, &tmp_), -1);		\
	cleanup;							\
	buf_free(&long_);						\
} while (0)

static void
test_cluster_join_req(void)
{
	struct ipc_cluster_join_req	r = { 77, "tern@10.0.0.5" }, o;
	struct buf			b = BUF_INIT;

	ipc_enc_cluster_join_req(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_cluster_join_req(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 77);
	CU_ASSERT_STRING_EQUAL(o.node, "tern@10.0.0.5");
	CHECK_TRUNCATIONS(&b, ipc_dec_cluster_join_req, ipc_cluster_join_req,
	    (void)0);
	buf_free(&b);
}

static void
test_cluster_leave_req(void)
{
	struct ipc_cluster_leave_req	r = { 5, "tern@b", true, 60, 5 }, o;
	struct buf			b = BUF_INIT;

	ipc_enc_cluster_leave_req(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_cluster_leave_req(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 5);
	CU_ASSERT_STRING_EQUAL(o.node, "tern@b");
	CU_ASSERT_TRUE(o.kill_sessions);
	CU_ASSERT_EQUAL(o.timeout_s, 60);
	CU_ASSERT_EQUAL(o.interval_s, 5);
	CHECK_TRUNCATIONS(&b, ipc_dec_cluster_leave_req, ipc_cluster_leave_req,
	    (void)0);
	/* A boolean byte other than 0 or 1 is refused. */
	b.data[4 + 4 + strlen("tern@b")] = 2;
	CU_ASSERT_EQUAL(ipc_dec_cluster_leave_req(b.data, b.len, &o), -1);
	buf_free(&b);
}

static void
test_cluster_rep(void)
{
	struct ipc_cluster_rep	r = { 9, -1, "no leader" }, o;
	struct buf		b = BUF_INIT;

	ipc_enc_cluster_rep(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_cluster_rep(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 9);
	CU_ASSERT_EQUAL(o.rc, -1);
	CU_ASSERT_STRING_EQUAL(o.text, "no leader");
	free(o.text);
	CHECK_TRUNCATIONS(&b, ipc_dec_cluster_rep, ipc_cluster_rep,
	    free(tmp_.text));
	buf_free(&b);
}

static void
test_cluster_name_limits(void)
{
	struct ipc_cluster_join_req	o;
	struct buf			b = BUF_INIT;
	char				big[IPC_CLUSTER_NAME_MAX];

	/* A node name as long as the field (no room for the NUL). */
	memset(big, 'x', sizeof(big));
	buf_add_u32(&b, 1);
	buf_add_blob(&b, big, sizeof(big));
	CU_ASSERT_EQUAL(ipc_dec_cluster_join_req(b.data, b.len, &o), -1);
	/* An embedded NUL. */
	buf_reset(&b);
	buf_add_u32(&b, 1);
	buf_add_blob(&b, "a\0b", 3);
	CU_ASSERT_EQUAL(ipc_dec_cluster_join_req(b.data, b.len, &o), -1);
	buf_free(&b);
}

static struct ipc_bytes
B(const char *s)
{
	struct ipc_bytes	b = { (const uint8_t *)s, strlen(s) };

	return (b);
}

static bool
is_bytes(struct ipc_bytes b, const char *s)
{
	return (b.len == strlen(s) && memcmp(b.p, s, b.len) == 0);
}

static void
test_route(void)
{
	struct ipc_route_ent	e[3] = {
		{ 0, IPC_ROUTE_ADD, { (const uint8_t *)"a/+/c", 5 } },
		{ 7, IPC_ROUTE_DEL, { (const uint8_t *)"$share/g/x", 10 } },
		{ 9, IPC_ROUTE_RESET, { NULL, 0 } },
	};
	struct ipc_route	r = { IPC_ROUTE_F_FULL, 3, e }, o;
	struct buf		b = BUF_INIT;

	ipc_enc_route(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_route(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.flags, IPC_ROUTE_F_FULL);
	CU_ASSERT_EQUAL_FATAL(o.n, 3);
	CU_ASSERT_EQUAL(o.ents[0].op, IPC_ROUTE_ADD);
	CU_ASSERT_TRUE(is_bytes(o.ents[0].filter, "a/+/c"));
	CU_ASSERT_EQUAL(o.ents[1].node, 7);
	CU_ASSERT_TRUE(is_bytes(o.ents[1].filter, "$share/g/x"));
	CU_ASSERT_EQUAL(o.ents[2].op, IPC_ROUTE_RESET);
	CU_ASSERT_EQUAL(o.ents[2].filter.len, 0);
	ipc_route_free(&o);
	CHECK_TRUNCATIONS(&b, ipc_dec_route, ipc_route, (void)0);
	/* An empty filter for ADD, an unknown op, a NUL: refused. */
	e[0].filter.len = 0;
	buf_reset(&b);
	ipc_enc_route(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_route(b.data, b.len, &o), -1);
	e[0].filter = B("a\0b");
	e[0].filter.len = 3;
	buf_reset(&b);
	ipc_enc_route(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_route(b.data, b.len, &o), -1);
	e[0].filter = B("a");
	e[0].op = 4;
	buf_reset(&b);
	ipc_enc_route(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_route(b.data, b.len, &o), -1);
	/* A count far beyond the frame allocates nothing and fails. */
	buf_reset(&b);
	buf_add_u8(&b, 0);
	buf_add_u32(&b, 1000000);
	CU_ASSERT_EQUAL(ipc_dec_route(b.data, b.len, &o), -1);
	buf_free(&b);
}

static void
fill_body(struct ipc_store_body *body)
{
	memset(body, 0, sizeof(*body));
	body->qos = 1;
	body->flags = IPC_STORE_F_RETAIN;
	body->expire_at = 123456;
	body->topic = B("t/1");
	body->props = B("\x01\x01");
	body->payload = B("hello");
}

static void
test_forward(void)
{
	struct ipc_fwd_target	t[3] = {
		{ 5, IPC_FWD_PLAIN, { NULL, 0 } },
		{ 5, IPC_FWD_SHARED, { (const uint8_t *)"$share/g/t/#", 12 } },
		{ IPC_FWD_ALL_NODES, IPC_FWD_RETAIN, { NULL, 0 } },
	};
	struct ipc_forward	f = { 0 }, o;
	struct buf		b = BUF_INIT;

	f.id = 42;
	f.flags = IPC_FWD_F_ACK;
	f.ntargets = 3;
	f.targets = t;
	fill_body(&f.body);
	ipc_enc_forward(&b, &f);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_forward(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 42);
	CU_ASSERT_EQUAL(o.flags, IPC_FWD_F_ACK);
	CU_ASSERT_EQUAL_FATAL(o.ntargets, 3);
	CU_ASSERT_EQUAL(o.targets[0].node, 5);
	CU_ASSERT_EQUAL(o.targets[1].kind, IPC_FWD_SHARED);
	CU_ASSERT_TRUE(is_bytes(o.targets[1].filter, "$share/g/t/#"));
	CU_ASSERT_EQUAL(o.targets[2].node, IPC_FWD_ALL_NODES);
	CU_ASSERT_EQUAL(o.body.qos, 1);
	CU_ASSERT_EQUAL(o.body.expire_at, 123456);
	CU_ASSERT_TRUE(is_bytes(o.body.topic, "t/1"));
	CU_ASSERT_TRUE(is_bytes(o.body.payload, "hello"));
	ipc_forward_free(&o);
	CHECK_TRUNCATIONS(&b, ipc_dec_forward, ipc_forward, (void)0);
	/* A shared target that is not $share, a plain one with a filter,
	 * node 0: refused. */
	t[1].filter = B("g/t/#");
	buf_reset(&b);
	ipc_enc_forward(&b, &f);
	CU_ASSERT_EQUAL(ipc_dec_forward(b.data, b.len, &o), -1);
	t[1].filter = B("$share/g/t");
	t[0].filter = B("x");
	buf_reset(&b);
	ipc_enc_forward(&b, &f);
	CU_ASSERT_EQUAL(ipc_dec_forward(b.data, b.len, &o), -1);
	t[0].filter.len = 0;
	t[0].node = 0;
	buf_reset(&b);
	ipc_enc_forward(&b, &f);
	CU_ASSERT_EQUAL(ipc_dec_forward(b.data, b.len, &o), -1);
	buf_free(&b);
}

static void
test_deliver_acks(void)
{
	struct ipc_fwd_target	t[1] = { { 0, IPC_FWD_PLAIN, { NULL, 0 } } };
	struct ipc_ack_ent	e[2] = { { 1, IPC_FWD_OK }, { 99, IPC_FWD_GONE } };
	struct ipc_acks		a = { 2, e }, ao;
	struct ipc_deliver	d = { 0 }, o;
	struct buf		b = BUF_INIT;

	d.id = 8;
	d.from = 0x1234;
	d.ntargets = 1;
	d.targets = t;
	fill_body(&d.body);
	ipc_enc_deliver(&b, &d);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_deliver(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 8);
	CU_ASSERT_EQUAL(o.from, 0x1234);
	CU_ASSERT_EQUAL(o.ntargets, 1);
	CU_ASSERT_TRUE(is_bytes(o.body.props, "\x01\x01"));
	ipc_deliver_free(&o);
	CHECK_TRUNCATIONS(&b, ipc_dec_deliver, ipc_deliver, (void)0);
	buf_reset(&b);
	ipc_enc_acks(&b, &a);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_acks(b.data, b.len, &ao), 0);
	CU_ASSERT_EQUAL(ao.n, 2);
	CU_ASSERT_EQUAL(ao.ents[1].id, 99);
	CU_ASSERT_EQUAL(ao.ents[1].rc, IPC_FWD_GONE);
	ipc_acks_free(&ao);
	CHECK_TRUNCATIONS(&b, ipc_dec_acks, ipc_acks, (void)0);
	e[0].rc = 77;
	buf_reset(&b);
	ipc_enc_acks(&b, &a);
	CU_ASSERT_EQUAL(ipc_dec_acks(b.data, b.len, &ao), -1);
	buf_free(&b);
}

static void
test_cluster_state_claims(void)
{
	struct ipc_cs_node		n[2] = { { 1, 1, { NULL, 0 } },
					    { 2, 0, { NULL, 0 } } };
	struct ipc_cluster_state	s = { IPC_CS_MAJORITY, 1, 2, n }, so;
	struct ipc_claim_ent		c[1];
	struct ipc_claims		cl = { 1, c }, co;
	struct ipc_takeover		t = { 3, 4, 5, { NULL, 0 } }, to;
	struct buf			b = BUF_INIT;

	n[0].name = B("a@x");
	n[1].name = B("b@y");
	ipc_enc_cluster_state(&b, &s);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_cluster_state(b.data, b.len, &so), 0);
	CU_ASSERT_EQUAL(so.flags, IPC_CS_MAJORITY);
	CU_ASSERT_EQUAL(so.n, 2);
	CU_ASSERT_TRUE(is_bytes(so.nodes[1].name, "b@y"));
	CU_ASSERT_EQUAL(so.nodes[1].up, 0);
	ipc_cluster_state_free(&so);
	CHECK_TRUNCATIONS(&b, ipc_dec_cluster_state, ipc_cluster_state,
	    (void)0);
	memset(c, 0, sizeof(c));
	c[0].id = 6;
	c[0].flags = IPC_CLAIM_F_LOCAL;
	c[0].rc = IPC_CLAIM_NO_QUORUM;
	c[0].prev = 77;
	c[0].client_id = B("client-1");
	buf_reset(&b);
	ipc_enc_claims(&b, &cl);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_claims(b.data, b.len, &co), 0);
	CU_ASSERT_EQUAL(co.ents[0].id, 6);
	CU_ASSERT_EQUAL(co.ents[0].rc, IPC_CLAIM_NO_QUORUM);
	CU_ASSERT_EQUAL(co.ents[0].prev, 77);
	CU_ASSERT_TRUE(is_bytes(co.ents[0].client_id, "client-1"));
	ipc_claims_free(&co);
	CHECK_TRUNCATIONS(&b, ipc_dec_claims, ipc_claims, (void)0);
	t.client_id = B("c");
	buf_reset(&b);
	ipc_enc_takeover(&b, &t);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_takeover(b.data, b.len, &to), 0);
	CU_ASSERT_EQUAL(to.to, 3);
	CU_ASSERT_EQUAL(to.xfer, 4);
	CU_ASSERT_EQUAL(to.replica, 5);
	CHECK_TRUNCATIONS(&b, ipc_dec_takeover, ipc_takeover, (void)0);
	buf_free(&b);
}

static void
test_xfer(void)
{
	struct ipc_store_sub	subs[2];
	struct ipc_xfer_msg	msgs[1];
	struct ipc_xfer		x = { 0 }, o;
	struct buf		b = BUF_INIT;

	memset(subs, 0, sizeof(subs));
	subs[0].filter = B("a/#");
	subs[0].options = 1;
	subs[0].sub_id = 3;
	subs[1].filter = B("$share/g/b");
	msgs[0].qos = 1;
	msgs[0].flags = 0;
	fill_body(&msgs[0].body);
	x.node = 9;
	x.xfer = 10;
	x.flags = IPC_XFER_F_SESSION | IPC_XFER_F_LAST;
	x.client_id = B("cid");
	x.state = B("opaque");
	x.nsubs = 2;
	x.subs = subs;
	x.nmsgs = 1;
	x.msgs = msgs;
	ipc_enc_xfer(&b, &x);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_xfer(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.node, 9);
	CU_ASSERT_EQUAL(o.xfer, 10);
	CU_ASSERT_EQUAL(o.flags, IPC_XFER_F_SESSION | IPC_XFER_F_LAST);
	CU_ASSERT_TRUE(is_bytes(o.state, "opaque"));
	CU_ASSERT_EQUAL_FATAL(o.nsubs, 2);
	CU_ASSERT_EQUAL(o.subs[0].sub_id, 3);
	CU_ASSERT_TRUE(is_bytes(o.subs[1].filter, "$share/g/b"));
	CU_ASSERT_EQUAL_FATAL(o.nmsgs, 1);
	CU_ASSERT_TRUE(is_bytes(o.msgs[0].body.payload, "hello"));
	ipc_xfer_free(&o);
	CHECK_TRUNCATIONS(&b, ipc_dec_xfer, ipc_xfer, (void)0);
	buf_free(&b);
}

static void
test_batch(void)
{
	struct buf	 b = BUF_INIT;
	struct rbuf	 r;
	const uint8_t	*p;
	size_t		 at, len;
	uint32_t	 n;

	at = ipc_batch_begin(&b);
	ipc_batch_add(&b, (const uint8_t *)"one", 3);
	ipc_batch_add(&b, (const uint8_t *)"", 0);
	ipc_batch_add(&b, (const uint8_t *)"three", 5);
	ipc_batch_end(&b, at, 3);
	CU_ASSERT_EQUAL_FATAL(ipc_batch_first(&r, b.data, b.len, &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), 1);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(memcmp(p, "one", 3), 0);
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), 1);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), 1);
	CU_ASSERT_EQUAL(memcmp(p, "three", 5), 0);
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), 0);
	/* Cut short: the last entry is malformed. */
	CU_ASSERT_EQUAL_FATAL(ipc_batch_first(&r, b.data, b.len - 1, &n), 0);
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), 1);
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), 1);
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), -1);
	/* Trailing bytes after the last entry. */
	buf_add_u8(&b, 0);
	CU_ASSERT_EQUAL_FATAL(ipc_batch_first(&r, b.data, b.len, &n), 0);
	while (ipc_batch_next(&r, &n, &p, &len) == 1)
		;
	CU_ASSERT_EQUAL(ipc_batch_next(&r, &n, &p, &len), -1);
	/* A count the frame cannot hold. */
	ipc_batch_end(&b, at, 1000000);
	CU_ASSERT_EQUAL(ipc_batch_first(&r, b.data, b.len, &n), -1);
	buf_free(&b);
}

static void
test_cluster_type_names(void)
{
	CU_ASSERT_STRING_EQUAL(ipc_type_name(IPC_CLUSTER_JOIN_REQ),
	    "IPC_CLUSTER_JOIN_REQ");
	CU_ASSERT_STRING_EQUAL(ipc_type_name(IPC_CLUSTER_REP),
	    "IPC_CLUSTER_REP");
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_cluster_join_req),
		UNIT_TEST(test_cluster_leave_req),
		UNIT_TEST(test_cluster_rep),
		UNIT_TEST(test_cluster_name_limits),
		UNIT_TEST(test_cluster_type_names),
		UNIT_TEST(test_route),
		UNIT_TEST(test_forward),
		UNIT_TEST(test_deliver_acks),
		UNIT_TEST(test_cluster_state_claims),
		UNIT_TEST(test_xfer),
		UNIT_TEST(test_batch),
		UNIT_END
	};

	return (unit_run("ipc_codec_cluster", tests));
}
