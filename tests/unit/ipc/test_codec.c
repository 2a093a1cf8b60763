/* SPDX-License-Identifier: MIT */
/* Unit tests of the IPC message codec (ipc/codec.c): round trips, and
 * short and over-long payloads rejected. */
#include <stdlib.h>
#include <string.h>

#include "ipc/ipc.h"
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
test_ipc_hello(void)
{
	struct ipc_hello	h = { "mqttd", "tern@1.2.3.4", 42, 7, 9 }, o;
	struct buf		b = BUF_INIT;

	ipc_enc_hello(&b, &h);
	CU_ASSERT_EQUAL(ipc_dec_hello(b.data, b.len, &o), 0);
	CU_ASSERT_STRING_EQUAL(o.daemon, "mqttd");
	CU_ASSERT_STRING_EQUAL(o.nodename, "tern@1.2.3.4");
	CU_ASSERT_EQUAL(o.pid, 42);
	CU_ASSERT_EQUAL(o.boot_id, 7);
	CU_ASSERT_EQUAL(o.peer_boot, 9);
	CHECK_TRUNCATIONS(&b, ipc_dec_hello, ipc_hello);
	buf_free(&b);
}

static void
test_ipc_heartbeat(void)
{
	struct ipc_heartbeat	h = { 0x1122334455667788ULL }, o;
	struct buf		b = BUF_INIT;

	ipc_enc_heartbeat(&b, &h);
	CU_ASSERT_EQUAL(ipc_dec_heartbeat(b.data, b.len, &o), 0);
	CU_ASSERT_EQUAL(o.seq, h.seq);
	CHECK_TRUNCATIONS(&b, ipc_dec_heartbeat, ipc_heartbeat);
	buf_free(&b);
}

static void
test_ipc_status(void)
{
	struct ipc_status_req	r = { 9, "sessions", "client-1" }, ro;
	struct ipc_status_rep	s = { 9, -1, "{\"a\": 1}" }, so;
	struct buf		b = BUF_INIT;

	ipc_enc_status_req(&b, &r);
	CU_ASSERT_EQUAL(ipc_dec_status_req(b.data, b.len, &ro), 0);
	CU_ASSERT_EQUAL(ro.id, 9);
	CU_ASSERT_STRING_EQUAL(ro.what, "sessions");
	CU_ASSERT_STRING_EQUAL(ro.arg, "client-1");
	CHECK_TRUNCATIONS(&b, ipc_dec_status_req, ipc_status_req);
	buf_reset(&b);
	ipc_enc_status_rep(&b, &s);
	CU_ASSERT_EQUAL(ipc_dec_status_rep(b.data, b.len, &so), 0);
	CU_ASSERT_EQUAL(so.rc, -1);
	CU_ASSERT_STRING_EQUAL(so.json, "{\"a\": 1}");
	free(so.json);
	buf_free(&b);
}

static void
test_ipc_name_limits(void)
{
	struct ipc_hello	o;
	struct buf		b = BUF_INIT;
	char			big[64];

	/* A daemon name longer than the field is refused, not cut. */
	memset(big, 'x', sizeof(big));
	buf_add_blob(&b, big, sizeof(big));
	buf_add_str(&b, "n");
	buf_add_u32(&b, 1);
	buf_add_u64(&b, 1);
	CU_ASSERT_EQUAL(ipc_dec_hello(b.data, b.len, &o), -1);
	/* An embedded NUL is refused. */
	buf_reset(&b);
	buf_add_blob(&b, "a\0b", 3);
	buf_add_str(&b, "n");
	buf_add_u32(&b, 1);
	buf_add_u64(&b, 1);
	CU_ASSERT_EQUAL(ipc_dec_hello(b.data, b.len, &o), -1);
	buf_free(&b);
}

static void
test_ipc_type_names(void)
{
	CU_ASSERT_STRING_EQUAL(ipc_type_name(IPC_HELLO), "IPC_HELLO");
	CU_ASSERT_STRING_EQUAL(ipc_type_name(9999), "IPC_UNKNOWN");
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_ipc_hello),
		UNIT_TEST(test_ipc_heartbeat),
		UNIT_TEST(test_ipc_status),
		UNIT_TEST(test_ipc_name_limits),
		UNIT_TEST(test_ipc_type_names),
		UNIT_END
	};

	return (unit_run("ipc_codec", tests));
}
