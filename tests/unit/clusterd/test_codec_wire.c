/* SPDX-License-Identifier: MIT */
/* Unit tests of the messages between nodes (ipc/codec_wire.c): header and
 * versions, round trips, and short and over-long payloads rejected. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ipc/ipc.h"
#include "ipc/wire_msg.h"
#include "tests/unit/unit.h"

/* Every prefix and every extension of a valid payload must be refused. */
#define CHECK_TRUNCATIONS(b, dec, type) do {				\
	struct type	tmp_;						\
	struct buf	long_ = BUF_INIT;				\
	size_t		i_;						\
	for (i_ = 0; i_ < (b)->len; i_++) {				\
		CU_ASSERT_EQUAL(dec((b)->data, i_, &tmp_), -1);		\
	}								\
	buf_add(&long_, (b)->data, (b)->len);				\
	buf_add_u8(&long_, 0);						\
	CU_ASSERT_EQUAL(dec(long_.data, long_.len, &tmp_), -1);		\
	buf_free(&long_);						\
} while (0)

static void
test_wire_header(void)
{
	struct buf		 b = BUF_INIT;
	struct wire_hdr		 h;
	const uint8_t		*p;
	size_t			 len;

	wire_begin(&b, WIRE_PING, 0x1122334455667788ULL, 42);
	buf_add_u64(&b, 7);
	CU_ASSERT_EQUAL(wire_dec_hdr(b.data, b.len, &h, &p, &len), 0);
	CU_ASSERT_EQUAL(h.type, WIRE_PING);
	CU_ASSERT_EQUAL(h.node_id, 0x1122334455667788ULL);
	CU_ASSERT_EQUAL(h.boot_id, 42);
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT_PTR_EQUAL(p, b.data + WIRE_HDR_LEN);
	/* Too short for a header. */
	CU_ASSERT_EQUAL(wire_dec_hdr(b.data, WIRE_HDR_LEN - 1, &h, &p,
	    &len), -1);
	/* A version from the future, and one too old, are refused. */
	b.data[0] = WIRE_VERSION + 1;
	CU_ASSERT_EQUAL(wire_dec_hdr(b.data, b.len, &h, &p, &len), -1);
	b.data[0] = WIRE_VERSION_MIN - 1;
	CU_ASSERT_EQUAL(wire_dec_hdr(b.data, b.len, &h, &p, &len), -1);
	buf_free(&b);
	CU_ASSERT_STRING_EQUAL(wire_type_name(WIRE_RAFT_DATA),
	    "WIRE_RAFT_DATA");
	CU_ASSERT_STRING_EQUAL(wire_type_name(999), "WIRE_UNKNOWN");
}

static void
test_wire_ping_pong(void)
{
	struct wire_ping	pi = { 99 }, pio;
	struct wire_pong	po, poo;
	struct buf		b = BUF_INIT;

	wire_enc_ping(&b, &pi);
	CU_ASSERT_EQUAL(wire_dec_ping(b.data, b.len, &pio), 0);
	CU_ASSERT_EQUAL(pio.seq, 99);
	CHECK_TRUNCATIONS(&b, wire_dec_ping, wire_ping);
	buf_reset(&b);
	memset(&po, 0, sizeof(po));
	po.seq = 5;
	po.flags = WIRE_PONG_LEADER;
	snprintf(po.name, sizeof(po.name), "%s", "tern@10.0.0.5");
	snprintf(po.address, sizeof(po.address), "%s", "10.0.0.5:44053");
	snprintf(po.cluster_id, sizeof(po.cluster_id), "%s", "abc");
	wire_enc_pong(&b, &po);
	CU_ASSERT_EQUAL(wire_dec_pong(b.data, b.len, &poo), 0);
	CU_ASSERT_EQUAL(poo.seq, 5);
	CU_ASSERT_EQUAL(poo.flags, WIRE_PONG_LEADER);
	CU_ASSERT_STRING_EQUAL(poo.name, "tern@10.0.0.5");
	CU_ASSERT_STRING_EQUAL(poo.address, "10.0.0.5:44053");
	CU_ASSERT_STRING_EQUAL(poo.cluster_id, "abc");
	CHECK_TRUNCATIONS(&b, wire_dec_pong, wire_pong);
	buf_free(&b);
}

static void
test_wire_raft_stream(void)
{
	struct wire_raft_open	o = { 1, 2, "127.0.0.1:1" }, oo;
	struct wire_raft_data	d = { 3, 4, (const uint8_t *)"xyz", 3 }, dd;
	struct wire_raft_close	c = { 5 }, co;
	struct buf		b = BUF_INIT;

	wire_enc_raft_open(&b, &o);
	CU_ASSERT_EQUAL(wire_dec_raft_open(b.data, b.len, &oo), 0);
	CU_ASSERT_EQUAL(oo.conn, 1);
	CU_ASSERT_EQUAL(oo.raft_id, 2);
	CU_ASSERT_STRING_EQUAL(oo.address, "127.0.0.1:1");
	CHECK_TRUNCATIONS(&b, wire_dec_raft_open, wire_raft_open);
	buf_reset(&b);
	wire_enc_raft_data(&b, &d);
	CU_ASSERT_EQUAL(wire_dec_raft_data(b.data, b.len, &dd), 0);
	CU_ASSERT_EQUAL(dd.conn, 3);
	CU_ASSERT_EQUAL(dd.seq, 4);
	CU_ASSERT_EQUAL(dd.len, 3);
	CU_ASSERT_EQUAL(memcmp(dd.data, "xyz", 3), 0);
	CHECK_TRUNCATIONS(&b, wire_dec_raft_data, wire_raft_data);
	/* Empty data is refused. */
	buf_reset(&b);
	d.len = 0;
	wire_enc_raft_data(&b, &d);
	CU_ASSERT_EQUAL(wire_dec_raft_data(b.data, b.len, &dd), -1);
	buf_reset(&b);
	wire_enc_raft_close(&b, &c);
	CU_ASSERT_EQUAL(wire_dec_raft_close(b.data, b.len, &co), 0);
	CU_ASSERT_EQUAL(co.conn, 5);
	CHECK_TRUNCATIONS(&b, wire_dec_raft_close, wire_raft_close);
	buf_free(&b);
}

static void
test_wire_join_leave_reply(void)
{
	struct wire_join_req	j, jo;
	struct wire_leave_req	l = { 8, "tern@b", true, 60, 5 }, lo;
	struct wire_reply	r, ro;
	struct buf		b = BUF_INIT;

	memset(&j, 0, sizeof(j));
	j.req = 7;
	j.node_id = 0xabcdef;
	snprintf(j.name, sizeof(j.name), "%s", "tern@c");
	snprintf(j.address, sizeof(j.address), "%s", "127.0.0.1:3");
	wire_enc_join_req(&b, &j);
	CU_ASSERT_EQUAL(wire_dec_join_req(b.data, b.len, &jo), 0);
	CU_ASSERT_EQUAL(jo.req, 7);
	CU_ASSERT_EQUAL(jo.node_id, 0xabcdef);
	CU_ASSERT_STRING_EQUAL(jo.name, "tern@c");
	CU_ASSERT_STRING_EQUAL(jo.address, "127.0.0.1:3");
	CU_ASSERT_STRING_EQUAL(jo.cluster_id, "");
	CHECK_TRUNCATIONS(&b, wire_dec_join_req, wire_join_req);
	/* Node id 0 is not a node. */
	buf_reset(&b);
	j.node_id = 0;
	wire_enc_join_req(&b, &j);
	CU_ASSERT_EQUAL(wire_dec_join_req(b.data, b.len, &jo), -1);
	buf_reset(&b);
	wire_enc_leave_req(&b, &l);
	CU_ASSERT_EQUAL(wire_dec_leave_req(b.data, b.len, &lo), 0);
	CU_ASSERT_EQUAL(lo.req, 8);
	CU_ASSERT_STRING_EQUAL(lo.name, "tern@b");
	CU_ASSERT_TRUE(lo.kill);
	CU_ASSERT_EQUAL(lo.timeout_s, 60);
	CU_ASSERT_EQUAL(lo.interval_s, 5);
	CHECK_TRUNCATIONS(&b, wire_dec_leave_req, wire_leave_req);
	buf_reset(&b);
	memset(&r, 0, sizeof(r));
	r.req = 9;
	r.rc = WIRE_RC_REDIRECT;
	snprintf(r.text, sizeof(r.text), "%s", "ask the leader");
	snprintf(r.leader, sizeof(r.leader), "%s", "127.0.0.1:4");
	wire_enc_reply(&b, &r);
	CU_ASSERT_EQUAL(wire_dec_reply(b.data, b.len, &ro), 0);
	CU_ASSERT_EQUAL(ro.req, 9);
	CU_ASSERT_EQUAL(ro.rc, WIRE_RC_REDIRECT);
	CU_ASSERT_STRING_EQUAL(ro.text, "ask the leader");
	CU_ASSERT_STRING_EQUAL(ro.leader, "127.0.0.1:4");
	CHECK_TRUNCATIONS(&b, wire_dec_reply, wire_reply);
	buf_free(&b);
}

static void
test_wire_name_limits(void)
{
	struct wire_leave_req	o;
	struct buf		b = BUF_INIT;
	char			big[WIRE_NAME_MAX];

	memset(big, 'x', sizeof(big));
	buf_add_u32(&b, 1);
	buf_add_blob(&b, big, sizeof(big));
	CU_ASSERT_EQUAL(wire_dec_leave_req(b.data, b.len, &o), -1);
	buf_reset(&b);
	buf_add_u32(&b, 1);
	buf_add_blob(&b, "a\0b", 3);
	CU_ASSERT_EQUAL(wire_dec_leave_req(b.data, b.len, &o), -1);
	/* A length beyond the frame. */
	buf_reset(&b);
	buf_add_u32(&b, 1);
	buf_add_u32(&b, 0xffffffffu);
	CU_ASSERT_EQUAL(wire_dec_leave_req(b.data, b.len, &o), -1);
	buf_free(&b);
}

static void
test_wire_route(void)
{
	struct wire_route_ent	e[2] = {
		{ WIRE_ROUTE_ADD, (const uint8_t *)"a/#", 3 },
		{ WIRE_ROUTE_DEL, (const uint8_t *)"$share/g/b", 10 },
	};
	struct wire_route	r = { 11, 12, WIRE_ROUTE_F_FIRST, 2, e }, o;
	struct wire_route_sync_req q = { 5, 6 }, qo;
	struct buf		b = BUF_INIT;

	wire_enc_route(&b, &r);
	CU_ASSERT_EQUAL_FATAL(wire_dec_route(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.gen, 11);
	CU_ASSERT_EQUAL(o.seq, 12);
	CU_ASSERT_EQUAL(o.flags, WIRE_ROUTE_F_FIRST);
	CU_ASSERT_EQUAL_FATAL(o.n, 2);
	CU_ASSERT_EQUAL(o.ents[1].op, WIRE_ROUTE_DEL);
	CU_ASSERT_EQUAL(o.ents[1].len, 10);
	CU_ASSERT_EQUAL(memcmp(o.ents[1].filter, "$share/g/b", 10), 0);
	wire_route_free(&o);
	CHECK_TRUNCATIONS(&b, wire_dec_route, wire_route);
	/* Empty filter, bad op: refused. */
	e[0].len = 0;
	buf_reset(&b);
	wire_enc_route(&b, &r);
	CU_ASSERT_EQUAL(wire_dec_route(b.data, b.len, &o), -1);
	e[0].len = 3;
	e[0].op = 9;
	buf_reset(&b);
	wire_enc_route(&b, &r);
	CU_ASSERT_EQUAL(wire_dec_route(b.data, b.len, &o), -1);
	buf_reset(&b);
	wire_enc_route_sync_req(&b, &q);
	CU_ASSERT_EQUAL(wire_dec_route_sync_req(b.data, b.len, &qo), 0);
	CU_ASSERT_EQUAL(qo.gen, 5);
	CU_ASSERT_EQUAL(qo.seq, 6);
	CHECK_TRUNCATIONS(&b, wire_dec_route_sync_req, wire_route_sync_req);
	buf_free(&b);
}

static void
test_wire_forward(void)
{
	struct ipc_fwd_target	 t[2] = {
		{ 0, IPC_FWD_PLAIN, { NULL, 0 } },
		{ 0, IPC_FWD_SHARED, { (const uint8_t *)"$share/g/x", 10 } },
	};
	struct ipc_store_body	 body = { 0 };
	struct buf		 b = BUF_INIT, tb = BUF_INIT, bb = BUF_INIT;
	struct wire_forward	 f;
	struct rbuf		 r;
	const uint8_t		*tp, *bp;
	size_t			 at, tlen, blen;
	uint64_t		 seq;
	int			 n = 0;

	body.qos = 1;
	body.topic.p = (const uint8_t *)"x";
	body.topic.len = 1;
	body.payload.p = (const uint8_t *)"p";
	body.payload.len = 1;
	ipc_enc_fwd_targets(&tb, t, 2, false);
	ipc_enc_store_body(&bb, &body);
	at = wire_begin_forward(&b, 77, 5);
	wire_add_forward_msg(&b, 1, tb.data, tb.len, bb.data, bb.len);
	wire_add_forward_msg(&b, 0, tb.data, tb.len, bb.data, bb.len);
	wire_end_forward(&b, at, 2);
	CU_ASSERT_EQUAL_FATAL(wire_dec_forward(b.data, b.len, &f), 0);
	CU_ASSERT_EQUAL(f.to_boot, 77);
	CU_ASSERT_EQUAL(f.base, 5);
	CU_ASSERT_EQUAL(f.n, 2);
	rbuf_init(&r, f.msgs, f.len);
	while (wire_next_forward_msg(&r, &seq, &tp, &tlen, &bp, &blen) == 1) {
		CU_ASSERT_EQUAL(seq, n == 0 ? 1 : 0);
		CU_ASSERT_EQUAL(tlen, tb.len);
		CU_ASSERT_EQUAL(memcmp(tp, tb.data, tlen), 0);
		CU_ASSERT_EQUAL(blen, bb.len);
		CU_ASSERT_EQUAL(memcmp(bp, bb.data, blen), 0);
		n++;
	}
	CU_ASSERT_EQUAL(n, 2);
	CHECK_TRUNCATIONS(&b, wire_dec_forward, wire_forward);
	/* A count that does not match the messages. */
	wire_end_forward(&b, at, 3);
	CU_ASSERT_EQUAL(wire_dec_forward(b.data, b.len, &f), -1);
	wire_end_forward(&b, at, 1);
	CU_ASSERT_EQUAL(wire_dec_forward(b.data, b.len, &f), -1);
	buf_free(&b);
	buf_free(&tb);
	buf_free(&bb);
}

static void
test_wire_forward_ack_owner(void)
{
	struct ipc_ack_ent	 e[2] = { { 3, IPC_FWD_OK }, { 4, IPC_FWD_FULL } };
	struct wire_forward_ack	 a = { 9, 2, e }, ao;
	struct wire_forward_nack nk = { 9, 3 }, nko;
	struct ipc_bytes	 ids[2] = { { (const uint8_t *)"c1", 2 },
				    { (const uint8_t *)"c22", 3 } };
	struct wire_owner_req	 q = { 2, ids }, qo;
	struct buf		 b = BUF_INIT;

	wire_enc_forward_ack(&b, &a);
	CU_ASSERT_EQUAL_FATAL(wire_dec_forward_ack(b.data, b.len, &ao), 0);
	CU_ASSERT_EQUAL(ao.to_boot, 9);
	CU_ASSERT_EQUAL(ao.n, 2);
	CU_ASSERT_EQUAL(ao.ents[1].rc, IPC_FWD_FULL);
	wire_forward_ack_free(&ao);
	CHECK_TRUNCATIONS(&b, wire_dec_forward_ack, wire_forward_ack);
	buf_reset(&b);
	wire_enc_forward_nack(&b, &nk);
	CU_ASSERT_EQUAL(wire_dec_forward_nack(b.data, b.len, &nko), 0);
	CU_ASSERT_EQUAL(nko.seq, 3);
	CHECK_TRUNCATIONS(&b, wire_dec_forward_nack, wire_forward_nack);
	buf_reset(&b);
	wire_enc_owner_req(&b, &q);
	CU_ASSERT_EQUAL_FATAL(wire_dec_owner_req(b.data, b.len, &qo), 0);
	CU_ASSERT_EQUAL(qo.n, 2);
	CU_ASSERT_EQUAL(qo.ids[1].len, 3);
	CU_ASSERT_EQUAL(memcmp(qo.ids[1].p, "c22", 3), 0);
	wire_owner_req_free(&qo);
	CHECK_TRUNCATIONS(&b, wire_dec_owner_req, wire_owner_req);
	buf_free(&b);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_wire_header),
		UNIT_TEST(test_wire_ping_pong),
		UNIT_TEST(test_wire_raft_stream),
		UNIT_TEST(test_wire_join_leave_reply),
		UNIT_TEST(test_wire_name_limits),
		UNIT_TEST(test_wire_route),
		UNIT_TEST(test_wire_forward),
		UNIT_TEST(test_wire_forward_ack_owner),
		UNIT_END
	};

	return (unit_run("wire_codec", tests));
}
