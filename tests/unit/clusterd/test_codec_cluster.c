/* SPDX-License-Identifier: MIT */
/* Unit tests of clusterd's node-local messages (ipc/codec_cluster.c): round
 * trips, and short and over-long payloads rejected. */
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
		UNIT_END
	};

	return (unit_run("ipc_codec_cluster", tests));
}
