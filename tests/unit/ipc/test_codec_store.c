/* SPDX-License-Identifier: MIT */
/* Unit tests of the storaged messages' codec (ipc/codec_store.c): round
 * trips, and short, over-long and out-of-limit payloads rejected. */
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc.h"
#include "tests/unit/unit.h"

#define B(s)	ipc_bytes_str(s)

/*
 * Every prefix and every extension of a valid payload must be refused.
 * dec is called as dec(p, len, &out) and must free what it allocated.
 */
#define CHECK_TRUNC(b, call) do {					\
	struct buf	long_ = BUF_INIT;				\
	size_t		i_;					\
	const uint8_t	*p_;					\
	size_t		len_;					\
	for (i_ = 0; i_ < (b)->len; i_++) {				\
		p_ = (b)->data;						\
		len_ = i_;						\
		CU_ASSERT_EQUAL(call, -1);				\
	}								\
	buf_add(&long_, (b)->data, (b)->len);				\
	buf_add_u8(&long_, 0);						\
	p_ = long_.data;						\
	len_ = long_.len;						\
	CU_ASSERT_EQUAL(call, -1);					\
	buf_free(&long_);						\
} while (0)

static bool
eq(struct ipc_bytes a, const char *s)
{
	return (ipc_bytes_eq(a, B(s)));
}

static void
test_store_session(void)
{
	struct ipc_store_sub		subs[2] = {
		{ { (const uint8_t *)"a/+", 3 }, 0x21, 7 },
		{ { (const uint8_t *)"b/#", 3 }, 0x01, 0 }
	};
	struct ipc_store_session	s = { 0 }, o, tmp;
	struct buf			b = BUF_INIT;

	s.id = 11;
	s.s.owner = B("tern@n2");
	s.s.client_id = B("client-1");
	s.proto = 5;
	s.flags = 3;
	s.replace_subs = true;
	s.expiry_interval = 3600;
	s.expire_at = 0x0102030405060708ULL;
	s.data = B("opaque");
	s.nsubs = 2;
	s.subs = subs;
	ipc_enc_store_session(&b, IPC_STORE_SESSION_PUT, &s);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_session(IPC_STORE_SESSION_PUT,
	    b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 11);
	CU_ASSERT_TRUE(eq(o.s.owner, "tern@n2"));
	CU_ASSERT_TRUE(eq(o.s.client_id, "client-1"));
	CU_ASSERT_EQUAL(o.proto, 5);
	CU_ASSERT_EQUAL(o.flags, 3);
	CU_ASSERT_TRUE(o.replace_subs);
	CU_ASSERT_EQUAL(o.expiry_interval, 3600);
	CU_ASSERT_EQUAL(o.expire_at, 0x0102030405060708ULL);
	CU_ASSERT_TRUE(eq(o.data, "opaque"));
	CU_ASSERT_EQUAL_FATAL(o.nsubs, 2);
	CU_ASSERT_TRUE(eq(o.subs[1].filter, "b/#"));
	CU_ASSERT_EQUAL(o.subs[0].options, 0x21);
	CU_ASSERT_EQUAL(o.subs[0].sub_id, 7);
	ipc_store_free_session(&o);
	CHECK_TRUNC(&b, ipc_dec_store_session(IPC_STORE_SESSION_PUT, p_,
	    len_, &tmp));
	/* Read as the other type, the same bytes are refused. */
	CU_ASSERT_EQUAL(ipc_dec_store_session(IPC_STORE_SESSION_DEL, b.data,
	    b.len, &tmp), -1);
	CU_ASSERT_EQUAL(ipc_dec_store_session(IPC_HELLO, b.data, b.len,
	    &tmp), -1);

	buf_reset(&b);
	ipc_enc_store_session(&b, IPC_STORE_SESSION_DEL, &s);
	CU_ASSERT_EQUAL(ipc_dec_store_session(IPC_STORE_SESSION_DEL, b.data,
	    b.len, &o), 0);
	CU_ASSERT_TRUE(eq(o.s.client_id, "client-1"));
	CU_ASSERT_EQUAL(o.nsubs, 0);
	CHECK_TRUNC(&b, ipc_dec_store_session(IPC_STORE_SESSION_DEL, p_,
	    len_, &tmp));

	/* Subscriptions without replace_subs make no sense: refused. */
	s.replace_subs = false;
	buf_reset(&b);
	ipc_enc_store_session(&b, IPC_STORE_SESSION_PUT, &s);
	CU_ASSERT_EQUAL(ipc_dec_store_session(IPC_STORE_SESSION_PUT, b.data,
	    b.len, &o), -1);
	/* An empty client id is refused. */
	s.replace_subs = true;
	s.s.client_id = B("");
	buf_reset(&b);
	ipc_enc_store_session(&b, IPC_STORE_SESSION_PUT, &s);
	CU_ASSERT_EQUAL(ipc_dec_store_session(IPC_STORE_SESSION_PUT, b.data,
	    b.len, &o), -1);
	buf_free(&b);
}

static void
test_store_subs(void)
{
	struct ipc_store_sub	subs[1] = {
		{ { (const uint8_t *)"x/y", 3 }, 2, 99 }
	};
	struct ipc_store_subs	s = { 5, { { NULL, 0 },
				    { (const uint8_t *)"c", 1 } }, 1, subs };
	struct ipc_store_subs	o, tmp;
	struct buf		b = BUF_INIT;

	ipc_enc_store_subs(&b, IPC_STORE_SUB_PUT, &s);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_subs(IPC_STORE_SUB_PUT, b.data,
	    b.len, &o), 0);
	CU_ASSERT_EQUAL(o.nsubs, 1);
	CU_ASSERT_EQUAL(o.subs[0].sub_id, 99);
	CU_ASSERT_EQUAL(o.s.owner.len, 0);
	ipc_store_free_subs(&o);
	CHECK_TRUNC(&b, ipc_dec_store_subs(IPC_STORE_SUB_PUT, p_, len_,
	    &tmp));
	buf_reset(&b);
	ipc_enc_store_subs(&b, IPC_STORE_SUB_DEL, &s);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_subs(IPC_STORE_SUB_DEL, b.data,
	    b.len, &o), 0);
	CU_ASSERT_TRUE(eq(o.subs[0].filter, "x/y"));
	CU_ASSERT_EQUAL(o.subs[0].sub_id, 0);
	ipc_store_free_subs(&o);
	CHECK_TRUNC(&b, ipc_dec_store_subs(IPC_STORE_SUB_DEL, p_, len_,
	    &tmp));
	buf_free(&b);
}

static void
fill_append(struct ipc_store_append *a, struct ipc_store_target *t,
    unsigned n)
{
	unsigned	i;

	memset(a, 0, sizeof(*a));
	a->id = 77;
	a->owner = B("");
	a->msg_id = 0xAABBCCDD11223344ULL;
	a->body.qos = 2;
	a->body.flags = IPC_STORE_F_RETAIN;
	a->body.expire_at = 123456;
	a->body.topic = B("a/b/c");
	a->body.props = B("\x01\x02");
	a->body.payload.p = (const uint8_t *)"pay\0load";
	a->body.payload.len = 8;
	for (i = 0; i < n; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].client_id = B(i % 2 ? "odd" : "even");
		t[i].seq = 1000 + i;
		t[i].qos = 1;
		t[i].nsub_ids = 2;
		t[i].sub_ids[0] = i;
		t[i].sub_ids[1] = 268435455;
	}
	a->ntargets = n;
	a->targets = t;
}

static void
test_store_append(void)
{
	struct ipc_store_append	a, o, tmp;
	struct ipc_store_target	t[3];
	struct buf		b = BUF_INIT;

	fill_append(&a, t, 3);
	ipc_enc_store_append(&b, &a);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_append(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 77);
	CU_ASSERT_EQUAL(o.msg_id, 0xAABBCCDD11223344ULL);
	CU_ASSERT_EQUAL(o.body.qos, 2);
	CU_ASSERT_EQUAL(o.body.flags, IPC_STORE_F_RETAIN);
	CU_ASSERT_EQUAL(o.body.expire_at, 123456);
	CU_ASSERT_TRUE(eq(o.body.topic, "a/b/c"));
	CU_ASSERT_EQUAL(o.body.payload.len, 8);
	CU_ASSERT_EQUAL(memcmp(o.body.payload.p, "pay\0load", 8), 0);
	CU_ASSERT_EQUAL_FATAL(o.ntargets, 3);
	CU_ASSERT_TRUE(eq(o.targets[1].client_id, "odd"));
	CU_ASSERT_EQUAL(o.targets[2].seq, 1002);
	CU_ASSERT_EQUAL(o.targets[2].nsub_ids, 2);
	CU_ASSERT_EQUAL(o.targets[2].sub_ids[0], 2);
	CU_ASSERT_EQUAL(o.targets[2].sub_ids[1], 268435455);
	ipc_store_free_append(&o);
	CHECK_TRUNC(&b, ipc_dec_store_append(p_, len_, &tmp));

	/* QoS 3 is refused. */
	a.body.qos = 3;
	buf_reset(&b);
	ipc_enc_store_append(&b, &a);
	CU_ASSERT_EQUAL(ipc_dec_store_append(b.data, b.len, &o), -1);
	a.body.qos = 1;
	/* More subscription ids than the limit are refused. */
	buf_reset(&b);
	ipc_enc_store_append(&b, &a);
	/* The first target's nsub_ids byte, patched past the limit. */
	{
		/* id, owner, msg_id, body, count, the target's id,
		 * seq and qos */
		size_t	off = 4 + 4 + 8 + (1 + 1 + 8 + 4 + 5 + 4 + 2 +
		    4 + 8) + 4 + (4 + 4) + 8 + 1;

		CU_ASSERT_EQUAL(b.data[off], 2);
		b.data[off] = IPC_STORE_SUBIDS_MAX + 1;
		CU_ASSERT_EQUAL(ipc_dec_store_append(b.data, b.len, &o), -1);
	}
	buf_free(&b);
}

static void
test_store_count_limits(void)
{
	struct ipc_store_ack	o;
	struct buf		b = BUF_INIT;

	/* A count far beyond the bytes left is refused before allocating. */
	buf_add_u32(&b, 1);
	buf_add_blob(&b, NULL, 0);
	buf_add_blob(&b, "c", 1);
	buf_add_u32(&b, 0x7fffffff);
	buf_add_u64(&b, 1);
	CU_ASSERT_EQUAL(ipc_dec_store_ack(b.data, b.len, &o), -1);
	/* An owner longer than 255 bytes is refused. */
	buf_reset(&b);
	buf_add_u32(&b, 1);
	buf_add_blob(&b, NULL, 0);
	{
		char	big[300];

		memset(big, 'o', sizeof(big));
		buf_reset(&b);
		buf_add_u32(&b, 1);
		buf_add_blob(&b, big, sizeof(big));
		buf_add_blob(&b, "c", 1);
		buf_add_u32(&b, 0);
		CU_ASSERT_EQUAL(ipc_dec_store_ack(b.data, b.len, &o), -1);
	}
	buf_free(&b);
}

static void
test_store_ack_mark_qos2(void)
{
	uint64_t			seqs[3] = { 1, 1ULL << 40, 3 };
	uint16_t			pids[2] = { 1, 65535 };
	struct ipc_store_mark_ent	ents[2] = { { 5, 1 }, { 6, 2 } };
	struct ipc_store_ack		a = { 1, { { NULL, 0 },
					    { (const uint8_t *)"c", 1 } },
					    3, seqs }, ao, at;
	struct ipc_store_mark		m = { 2, { { NULL, 0 },
					    { (const uint8_t *)"c", 1 } },
					    2, ents }, mo, mt;
	struct ipc_store_qos2		q = { 3, { { NULL, 0 },
					    { (const uint8_t *)"c", 1 } },
					    2, pids }, qo, qt;
	struct buf			b = BUF_INIT;

	ipc_enc_store_ack(&b, &a);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_ack(b.data, b.len, &ao), 0);
	CU_ASSERT_EQUAL(ao.nseqs, 3);
	CU_ASSERT_EQUAL(ao.seqs[1], 1ULL << 40);
	ipc_store_free_ack(&ao);
	CHECK_TRUNC(&b, ipc_dec_store_ack(p_, len_, &at));

	buf_reset(&b);
	ipc_enc_store_mark(&b, &m);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_mark(b.data, b.len, &mo), 0);
	CU_ASSERT_EQUAL(mo.n, 2);
	CU_ASSERT_EQUAL(mo.ents[1].seq, 6);
	CU_ASSERT_EQUAL(mo.ents[1].state, IPC_STORE_Q_PUBREC);
	ipc_store_free_mark(&mo);
	CHECK_TRUNC(&b, ipc_dec_store_mark(p_, len_, &mt));
	/* An unknown state is refused. */
	ents[0].state = 9;
	buf_reset(&b);
	ipc_enc_store_mark(&b, &m);
	CU_ASSERT_EQUAL(ipc_dec_store_mark(b.data, b.len, &mo), -1);

	buf_reset(&b);
	ipc_enc_store_qos2(&b, &q);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_qos2(b.data, b.len, &qo), 0);
	CU_ASSERT_EQUAL(qo.n, 2);
	CU_ASSERT_EQUAL(qo.pids[1], 65535);
	ipc_store_free_qos2(&qo);
	CHECK_TRUNC(&b, ipc_dec_store_qos2(p_, len_, &qt));
	buf_free(&b);
}

static void
test_store_retain_will_load(void)
{
	struct ipc_store_retain	r = { 0 }, ro, rt;
	struct ipc_store_will	w = { 0 }, wo, wt;
	struct ipc_store_load	l = { 0 }, lo, lt;
	struct buf		b = BUF_INIT;

	r.id = 4;
	r.body.qos = 1;
	r.body.topic = B("r/t");
	r.body.payload = B("v");
	ipc_enc_store_retain(&b, IPC_STORE_RETAIN_PUT, &r);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_retain(IPC_STORE_RETAIN_PUT,
	    b.data, b.len, &ro), 0);
	CU_ASSERT_TRUE(eq(ro.body.topic, "r/t"));
	CU_ASSERT_TRUE(eq(ro.body.payload, "v"));
	CHECK_TRUNC(&b, ipc_dec_store_retain(IPC_STORE_RETAIN_PUT, p_, len_,
	    &rt));
	buf_reset(&b);
	ipc_enc_store_retain(&b, IPC_STORE_RETAIN_DEL, &r);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_retain(IPC_STORE_RETAIN_DEL,
	    b.data, b.len, &ro), 0);
	CU_ASSERT_TRUE(eq(ro.body.topic, "r/t"));
	CHECK_TRUNC(&b, ipc_dec_store_retain(IPC_STORE_RETAIN_DEL, p_, len_,
	    &rt));

	w.id = 6;
	w.s.client_id = B("c");
	w.due_at = 99;
	w.body.topic = B("will/t");
	buf_reset(&b);
	ipc_enc_store_will(&b, IPC_STORE_WILL_PUT, &w);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_will(IPC_STORE_WILL_PUT, b.data,
	    b.len, &wo), 0);
	CU_ASSERT_EQUAL(wo.due_at, 99);
	CU_ASSERT_TRUE(eq(wo.body.topic, "will/t"));
	CHECK_TRUNC(&b, ipc_dec_store_will(IPC_STORE_WILL_PUT, p_, len_,
	    &wt));
	buf_reset(&b);
	ipc_enc_store_will(&b, IPC_STORE_WILL_DEL, &w);
	CU_ASSERT_EQUAL(ipc_dec_store_will(IPC_STORE_WILL_DEL, b.data, b.len,
	    &wo), 0);
	CHECK_TRUNC(&b, ipc_dec_store_will(IPC_STORE_WILL_DEL, p_, len_,
	    &wt));

	l.id = 8;
	l.owner = B("tern@x");
	l.what = IPC_STORE_L_QUEUES;
	buf_reset(&b);
	ipc_enc_store_load(&b, &l);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_load(b.data, b.len, &lo), 0);
	CU_ASSERT_TRUE(eq(lo.owner, "tern@x"));
	CU_ASSERT_EQUAL(lo.what, IPC_STORE_L_QUEUES);
	CU_ASSERT_EQUAL(lo.client_id.len, 0);
	CHECK_TRUNC(&b, ipc_dec_store_load(p_, len_, &lt));

	/* One session: the client id comes after what. */
	l.client_id = B("dev-7");
	buf_reset(&b);
	ipc_enc_store_load(&b, &l);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_load(b.data, b.len, &lo), 0);
	CU_ASSERT_TRUE(eq(lo.owner, "tern@x"));
	CU_ASSERT_EQUAL(lo.what, IPC_STORE_L_QUEUES);
	CU_ASSERT_TRUE(eq(lo.client_id, "dev-7"));
	CU_ASSERT_EQUAL(be32_get(b.data + 4 + 4 + 6), IPC_STORE_L_QUEUES);
	CHECK_TRUNC(&b, ipc_dec_store_load(p_, len_, &lt));
	buf_free(&b);
}

static void
test_store_rep(void)
{
	struct ipc_bytes	full[2] = { { (const uint8_t *)"a", 1 },
				    { (const uint8_t *)"bb", 2 } };
	struct ipc_store_rep	r = { 9, IPC_STORE_E_NOSPACE, 2, full };
	struct ipc_store_rep	o, t;
	struct buf		b = BUF_INIT;

	ipc_enc_store_rep(&b, &r);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_rep(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 9);
	CU_ASSERT_EQUAL(o.rc, IPC_STORE_E_NOSPACE);
	CU_ASSERT_EQUAL_FATAL(o.nfull, 2);
	CU_ASSERT_TRUE(eq(o.full[1], "bb"));
	ipc_store_free_rep(&o);
	CHECK_TRUNC(&b, ipc_dec_store_rep(p_, len_, &t));
	buf_free(&b);
}

static void
test_store_load_rep(void)
{
	struct ipc_store_rec		recs[6];
	struct ipc_store_load_rep	l = { 0 }, o, t;
	struct buf			b = BUF_INIT;
	int				i;

	memset(recs, 0, sizeof(recs));
	for (i = 0; i < 6; i++) {
		recs[i].kind = (uint8_t)(i + 1);
		recs[i].client_id = B("cl");
	}
	recs[0].expire_at = 5;
	recs[0].data = B("d");
	recs[1].sub.filter = B("f/#");
	recs[1].sub.sub_id = 3;
	recs[2].seq = 42;
	recs[2].msg_id = 43;
	recs[2].state = IPC_STORE_Q_SENT;
	recs[2].nsub_ids = 1;
	recs[2].sub_ids[0] = 8;
	recs[2].body.topic = B("q/t");
	recs[2].body.payload = B("qp");
	recs[3].pid = 77;
	recs[4].body.topic = B("r/t");
	recs[5].due_at = 10;
	recs[5].body.topic = B("w/t");
	l.id = 3;
	l.last = true;
	l.nrecs = 6;
	l.recs = recs;
	ipc_enc_store_load_rep(&b, &l);
	CU_ASSERT_EQUAL_FATAL(ipc_dec_store_load_rep(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.id, 3);
	CU_ASSERT_TRUE(o.last);
	CU_ASSERT_EQUAL_FATAL(o.nrecs, 6);
	CU_ASSERT_EQUAL(o.recs[0].kind, IPC_STORE_R_SESSION);
	CU_ASSERT_EQUAL(o.recs[0].expire_at, 5);
	CU_ASSERT_TRUE(eq(o.recs[1].sub.filter, "f/#"));
	CU_ASSERT_EQUAL(o.recs[2].seq, 42);
	CU_ASSERT_EQUAL(o.recs[2].msg_id, 43);
	CU_ASSERT_EQUAL(o.recs[2].state, IPC_STORE_Q_SENT);
	CU_ASSERT_EQUAL(o.recs[2].sub_ids[0], 8);
	CU_ASSERT_TRUE(eq(o.recs[2].body.payload, "qp"));
	CU_ASSERT_EQUAL(o.recs[3].pid, 77);
	CU_ASSERT_TRUE(eq(o.recs[4].body.topic, "r/t"));
	CU_ASSERT_EQUAL(o.recs[5].due_at, 10);
	ipc_store_free_load_rep(&o);
	CHECK_TRUNC(&b, ipc_dec_store_load_rep(p_, len_, &t));
	/* An unknown record kind is refused. */
	recs[0].kind = 0;
	buf_reset(&b);
	ipc_enc_store_load_rep(&b, &l);
	CU_ASSERT_EQUAL(ipc_dec_store_load_rep(b.data, b.len, &o), -1);
	buf_free(&b);
}

static void
test_store_type_names(void)
{
	CU_ASSERT_STRING_EQUAL(ipc_type_name(IPC_STORE_APPEND),
	    "IPC_STORE_APPEND");
	CU_ASSERT_STRING_EQUAL(ipc_type_name(IPC_STORE_LOAD_REP),
	    "IPC_STORE_LOAD_REP");
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_store_session),
		UNIT_TEST(test_store_subs),
		UNIT_TEST(test_store_append),
		UNIT_TEST(test_store_count_limits),
		UNIT_TEST(test_store_ack_mark_qos2),
		UNIT_TEST(test_store_retain_will_load),
		UNIT_TEST(test_store_rep),
		UNIT_TEST(test_store_load_rep),
		UNIT_TEST(test_store_type_names),
		UNIT_END
	};

	return (unit_run("codec_store", tests));
}
