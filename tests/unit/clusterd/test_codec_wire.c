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
	struct wire_leave_req	l = { 8, "tern@b" }, lo;
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

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_wire_header),
		UNIT_TEST(test_wire_ping_pong),
		UNIT_TEST(test_wire_raft_stream),
		UNIT_TEST(test_wire_join_leave_reply),
		UNIT_TEST(test_wire_name_limits),
		UNIT_END
	};

	return (unit_run("wire_codec", tests));
}
