/* SPDX-License-Identifier: MIT */
/* Unit tests of the route table's logic (clusterd/route.c): string sets,
 * deltas in order, gaps and other generations asking for a sync, syncs
 * in chunks, and what mqttd is told about each change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clusterd/clusterd.h"
#include "ipc/wire_msg.h"
#include "tests/unit/unit.h"

/* What mqttd would have been told, as "+f", "-f" and "!" lines. */
struct told {
	char	log[4096];
	int	n;
};

static void
told_fn(void *arg, uint8_t op, const char *s, size_t len)
{
	struct told	*t = arg;
	size_t		 at = strlen(t->log);

	snprintf(t->log + at, sizeof(t->log) - at, "%s%.*s ",
	    op == IPC_ROUTE_ADD ? "+" : op == IPC_ROUTE_DEL ? "-" : "!",
	    (int)len, s);
	t->n++;
}

static struct wire_route
mk(uint64_t gen, uint64_t seq, uint8_t flags, struct wire_route_ent *e,
    uint32_t n)
{
	struct wire_route	w = { gen, seq, flags, n, e };

	return (w);
}

static struct wire_route_ent
ent(uint8_t op, const char *f)
{
	struct wire_route_ent	e = { op, (const uint8_t *)f, strlen(f) };

	return (e);
}

static void
test_rset(void)
{
	struct rset	s = { 0 };
	char		buf[32];
	int		i;

	CU_ASSERT_FALSE(has_rset(&s, "a", 1));
	CU_ASSERT_EQUAL(rset_del(&s, "a", 1), 0);
	CU_ASSERT_EQUAL(rset_add(&s, "a/#", 3), 1);
	CU_ASSERT_EQUAL(rset_add(&s, "a/#", 3), 0);
	CU_ASSERT_TRUE(has_rset(&s, "a/#", 3));
	CU_ASSERT_FALSE(has_rset(&s, "a/", 2));
	for (i = 0; i < 1000; i++) {
		snprintf(buf, sizeof(buf), "t/%d", i);
		CU_ASSERT_EQUAL(rset_add(&s, buf, strlen(buf)), 1);
	}
	CU_ASSERT_EQUAL(s.n, 1001);
	for (i = 0; i < 1000; i += 2) {
		snprintf(buf, sizeof(buf), "t/%d", i);
		CU_ASSERT_EQUAL(rset_del(&s, buf, strlen(buf)), 1);
	}
	CU_ASSERT_EQUAL(s.n, 501);
	CU_ASSERT_TRUE(has_rset(&s, "t/999", 5));
	CU_ASSERT_FALSE(has_rset(&s, "t/998", 5));
	rset_clear(&s);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(rset_add(&s, "x", 1), 1);
	rset_clear(&s);
}

static void
test_rtab_delta_needs_sync_first(void)
{
	struct rtab		t;
	struct told		told = { "", 0 };
	struct rtab_out		out = { told_fn, &told };
	struct wire_route_ent	e[1] = { ent(WIRE_ROUTE_ADD, "a") };
	struct wire_route	d = mk(7, 1, 0, e, 1);

	rtab_init(&t, 42);
	/* Nothing known yet: a delta cannot be applied. */
	CU_ASSERT_EQUAL(rtab_delta(&t, &d, &out), RTAB_NEED_SYNC);
	CU_ASSERT_EQUAL(told.n, 0);
	CU_ASSERT_EQUAL(t.set.n, 0);
	rtab_clear(&t);
}

static void
test_rtab_sync_then_deltas(void)
{
	struct rtab		t;
	struct told		told = { "", 0 };
	struct rtab_out		out = { told_fn, &told };
	struct wire_route_ent	s1[2] = { ent(WIRE_ROUTE_ADD, "a"),
				    ent(WIRE_ROUTE_ADD, "b") };
	struct wire_route_ent	s2[1] = { ent(WIRE_ROUTE_ADD, "c") };
	struct wire_route_ent	d1[2] = { ent(WIRE_ROUTE_DEL, "a"),
				    ent(WIRE_ROUTE_ADD, "d") };
	struct wire_route_ent	d2[1] = { ent(WIRE_ROUTE_ADD, "e") };
	struct wire_route	w;

	rtab_init(&t, 42);
	/* A sync in two chunks, as of seq 10. */
	w = mk(7, 10, WIRE_ROUTE_F_FIRST, s1, 2);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, &out), RTAB_OK);
	CU_ASSERT_EQUAL(told.n, 0);	/* nothing until the last chunk */
	w = mk(7, 10, WIRE_ROUTE_F_LAST, s2, 1);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, &out), RTAB_DONE);
	CU_ASSERT_EQUAL(t.set.n, 3);
	CU_ASSERT_TRUE(t.synced);
	CU_ASSERT_EQUAL(t.seq, 10);
	CU_ASSERT_EQUAL(told.n, 4);	/* RESET and three ADDs */
	CU_ASSERT_EQUAL(strncmp(told.log, "! ", 2), 0);
	/* Delta 11 applies in order. */
	told.log[0] = '\0';
	w = mk(7, 11, 0, d1, 2);
	CU_ASSERT_EQUAL(rtab_delta(&t, &w, &out), RTAB_OK);
	CU_ASSERT_STRING_EQUAL(told.log, "-a +d ");
	CU_ASSERT_FALSE(has_rset(&t.set, "a", 1));
	CU_ASSERT_TRUE(has_rset(&t.set, "d", 1));
	/* Delta 11 again: already seen, nothing happens. */
	told.log[0] = '\0';
	CU_ASSERT_EQUAL(rtab_delta(&t, &w, &out), RTAB_OK);
	CU_ASSERT_STRING_EQUAL(told.log, "");
	/* Delta 13: a gap (12 was lost): ask for a sync, apply nothing. */
	w = mk(7, 13, 0, d2, 1);
	CU_ASSERT_EQUAL(rtab_delta(&t, &w, &out), RTAB_NEED_SYNC);
	CU_ASSERT_FALSE(has_rset(&t.set, "e", 1));
	/* A probe "I am at 11" matches; "I am at 12" does not. */
	w = mk(7, 11, 0, NULL, 0);
	CU_ASSERT_EQUAL(rtab_delta(&t, &w, &out), RTAB_OK);
	w = mk(7, 12, 0, NULL, 0);
	CU_ASSERT_EQUAL(rtab_delta(&t, &w, &out), RTAB_NEED_SYNC);
	/* Another generation (the node restarted): a sync is needed. */
	w = mk(8, 12, 0, d2, 1);
	CU_ASSERT_EQUAL(rtab_delta(&t, &w, &out), RTAB_NEED_SYNC);
	rtab_clear(&t);
}

static void
test_rtab_sync_replaces(void)
{
	struct rtab		t;
	struct told		told = { "", 0 };
	struct rtab_out		out = { told_fn, &told };
	struct wire_route_ent	s1[2] = { ent(WIRE_ROUTE_ADD, "a"),
				    ent(WIRE_ROUTE_ADD, "b") };
	struct wire_route_ent	s2[1] = { ent(WIRE_ROUTE_ADD, "z") };
	struct wire_route	w;

	rtab_init(&t, 1);
	w = mk(1, 5, WIRE_ROUTE_F_FIRST | WIRE_ROUTE_F_LAST, s1, 2);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, &out), RTAB_DONE);
	/* The node restarted with other routes: the new set replaces. */
	told.log[0] = '\0';
	w = mk(2, 1, WIRE_ROUTE_F_FIRST | WIRE_ROUTE_F_LAST, s2, 1);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, &out), RTAB_DONE);
	CU_ASSERT_STRING_EQUAL(told.log, "! +z ");
	CU_ASSERT_EQUAL(t.set.n, 1);
	CU_ASSERT_EQUAL(t.gen, 2);
	/* A chunk without its first (lost): refused, old set kept. */
	w = mk(3, 1, WIRE_ROUTE_F_LAST, s1, 2);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, &out), RTAB_NEED_SYNC);
	CU_ASSERT_EQUAL(t.gen, 2);
	CU_ASSERT_TRUE(has_rset(&t.set, "z", 1));
	/* A sync whose chunks disagree on seq: refused. */
	w = mk(3, 1, WIRE_ROUTE_F_FIRST, s1, 2);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, &out), RTAB_OK);
	w = mk(3, 2, WIRE_ROUTE_F_LAST, s2, 1);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, &out), RTAB_NEED_SYNC);
	CU_ASSERT_EQUAL(t.gen, 2);
	/* An empty set is a set. */
	w = mk(4, 0, WIRE_ROUTE_F_FIRST | WIRE_ROUTE_F_LAST, NULL, 0);
	CU_ASSERT_EQUAL(rtab_sync(&t, &w, NULL), RTAB_DONE);
	CU_ASSERT_EQUAL(t.set.n, 0);
	rtab_clear(&t);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_rset),
		UNIT_TEST(test_rtab_delta_needs_sync_first),
		UNIT_TEST(test_rtab_sync_then_deltas),
		UNIT_TEST(test_rtab_sync_replaces),
		UNIT_END
	};

	return (unit_run("route", tests));
}
