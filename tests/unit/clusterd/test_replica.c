/* SPDX-License-Identifier: MIT */
/* Unit tests of replica placement (clusterd/replica.c): the owner is never
 * its own replica, the answer does not depend on the order of the member
 * list, sessions spread evenly, and a member leaving moves only the
 * sessions it held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clusterd/clusterd.h"
#include "tests/unit/unit.h"

static const uint64_t members[] = {
	0x1111111111111111ULL, 0x2222222222222222ULL, 0x3333333333333333ULL,
	0x4444444444444444ULL, 0x5555555555555555ULL
};

static void
test_replica_not_owner(void)
{
	uint64_t	out[REPLICA_MAX];
	char		cid[32];
	size_t		n, i, k;

	for (i = 0; i < 200; i++) {
		snprintf(cid, sizeof(cid), "client-%zu", i);
		n = replica_pick(members, 5, members[i % 5], cid,
		    strlen(cid), 2, out);
		CU_ASSERT_EQUAL(n, 2);
		for (k = 0; k < n; k++)
			CU_ASSERT_NOT_EQUAL(out[k], members[i % 5]);
		CU_ASSERT_NOT_EQUAL(out[0], out[1]);
	}
	/* Fewer members than wanted: all of them but the owner. */
	n = replica_pick(members, 2, members[0], "x", 1, 4, out);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(out[0], members[1]);
	n = replica_pick(members, 1, members[0], "x", 1, 1, out);
	CU_ASSERT_EQUAL(n, 0);
}

static void
test_replica_order_free(void)
{
	uint64_t	rev[5], a[REPLICA_MAX], b[REPLICA_MAX];
	char		cid[32];
	size_t		i;

	for (i = 0; i < 5; i++)
		rev[i] = members[4 - i];
	for (i = 0; i < 100; i++) {
		snprintf(cid, sizeof(cid), "c%zu", i);
		CU_ASSERT_EQUAL(replica_pick(members, 5, 0, cid, strlen(cid),
		    3, a), 3);
		CU_ASSERT_EQUAL(replica_pick(rev, 5, 0, cid, strlen(cid), 3,
		    b), 3);
		CU_ASSERT(memcmp(a, b, 3 * sizeof(*a)) == 0);
	}
}

static void
test_replica_spread(void)
{
	uint64_t	out[REPLICA_MAX];
	size_t		count[5] = { 0 }, i, k;
	char		cid[32];

	/* Owner members[0], one replica among the four others. */
	for (i = 0; i < 4000; i++) {
		snprintf(cid, sizeof(cid), "sensor/%zu", i);
		CU_ASSERT_EQUAL(replica_pick(members, 5, members[0], cid,
		    strlen(cid), 1, out), 1);
		for (k = 0; k < 5; k++)
			if (out[0] == members[k])
				count[k]++;
	}
	CU_ASSERT_EQUAL(count[0], 0);
	for (k = 1; k < 5; k++) {
		/* 1000 expected each; allow +-15%. */
		CU_ASSERT(count[k] > 850 && count[k] < 1150);
	}
}

static void
test_replica_stable(void)
{
	uint64_t	a[REPLICA_MAX], b[REPLICA_MAX];
	size_t		i, moved = 0;
	char		cid[32];

	/* members[4] leaves: only the sessions it held move. */
	for (i = 0; i < 1000; i++) {
		snprintf(cid, sizeof(cid), "id%zu", i);
		replica_pick(members, 5, members[0], cid, strlen(cid), 1, a);
		replica_pick(members, 4, members[0], cid, strlen(cid), 1, b);
		if (a[0] != b[0]) {
			CU_ASSERT_EQUAL(a[0], members[4]);
			moved++;
		}
	}
	CU_ASSERT(moved > 150 && moved < 350);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_replica_not_owner),
		UNIT_TEST(test_replica_order_free),
		UNIT_TEST(test_replica_spread),
		UNIT_TEST(test_replica_stable),
		UNIT_END
	};

	return (unit_run("replica", tests));
}
