/* SPDX-License-Identifier: MIT */
/* Unit tests of the 5.0 topic alias tables (mqttd/alias.c). */
#include <stdio.h>
#include <string.h>

#include "mqttd/mqttd.h"
#include "tests/unit/unit.h"

static void
test_alias_in(void)
{
	struct alias_in	 a;
	const char	*t;
	size_t		 len;

	alias_in_init(&a, 3);
	CU_ASSERT_PTR_NULL(alias_in_get(&a, 1, &len));
	CU_ASSERT_EQUAL(alias_in_set(&a, 0, (const uint8_t *)"x", 1), -1);
	CU_ASSERT_EQUAL(alias_in_set(&a, 4, (const uint8_t *)"x", 1), -1);
	CU_ASSERT_EQUAL(alias_in_set(&a, 3, (const uint8_t *)"a/b", 3), 0);
	t = alias_in_get(&a, 3, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(memcmp(t, "a/b", 3), 0);
	CU_ASSERT_PTR_NULL(alias_in_get(&a, 2, &len));
	CU_ASSERT_PTR_NULL(alias_in_get(&a, 0, &len));
	CU_ASSERT_PTR_NULL(alias_in_get(&a, 4, &len));
	/* Re-pointing an alias replaces the topic. */
	CU_ASSERT_EQUAL(alias_in_set(&a, 3, (const uint8_t *)"c", 1), 0);
	t = alias_in_get(&a, 3, &len);
	CU_ASSERT_EQUAL(len, 1);
	CU_ASSERT_EQUAL(t[0], 'c');
	alias_in_clear(&a);

	/* A maximum of 0 accepts no alias. */
	alias_in_init(&a, 0);
	CU_ASSERT_EQUAL(alias_in_set(&a, 1, (const uint8_t *)"x", 1), -1);
	alias_in_clear(&a);
}

static void
test_alias_out(void)
{
	struct alias_out	a;
	bool			is_new;

	alias_out_init(&a, 2);
	CU_ASSERT_EQUAL(alias_out_get(&a, "a", 1, &is_new), 1);
	CU_ASSERT_TRUE(is_new);
	CU_ASSERT_EQUAL(alias_out_get(&a, "a", 1, &is_new), 1);
	CU_ASSERT_FALSE(is_new);
	CU_ASSERT_EQUAL(alias_out_get(&a, "b", 1, &is_new), 2);
	CU_ASSERT_TRUE(is_new);
	/* Full: no alias for a third topic, the others keep theirs. */
	CU_ASSERT_EQUAL(alias_out_get(&a, "c", 1, &is_new), 0);
	CU_ASSERT_FALSE(is_new);
	CU_ASSERT_EQUAL(alias_out_get(&a, "b", 1, &is_new), 2);
	CU_ASSERT_FALSE(is_new);
	/* Forgetting the last one frees its number. */
	alias_out_forget(&a, "b", 1);
	CU_ASSERT_EQUAL(a.count, 1);
	CU_ASSERT_EQUAL(alias_out_get(&a, "c", 1, &is_new), 2);
	CU_ASSERT_TRUE(is_new);
	CU_ASSERT_EQUAL(alias_out_get(&a, "a", 1, &is_new), 1);
	alias_out_clear(&a);

	alias_out_init(&a, 0);
	CU_ASSERT_EQUAL(alias_out_get(&a, "a", 1, &is_new), 0);
	alias_out_clear(&a);
}

/* Many topics: every one keeps its alias (hash collisions, forget). */
static void
test_alias_out_many(void)
{
	struct alias_out	a;
	char			t[32];
	bool			is_new;
	int			i, n;

	alias_out_init(&a, 1000);
	for (i = 0; i < 1000; i++) {
		n = snprintf(t, sizeof(t), "topic/%d", i);
		CU_ASSERT_EQUAL(alias_out_get(&a, t, n, &is_new), i + 1);
	}
	alias_out_forget(&a, "topic/999", 9);
	for (i = 0; i < 999; i++) {
		n = snprintf(t, sizeof(t), "topic/%d", i);
		if (alias_out_get(&a, t, n, &is_new) != i + 1 || is_new)
			CU_FAIL("alias lost");
	}
	CU_ASSERT_EQUAL(alias_out_get(&a, "other", 5, &is_new), 1000);
	CU_ASSERT_EQUAL(alias_out_get(&a, "more", 4, &is_new), 0);
	alias_out_clear(&a);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_alias_in),
		UNIT_TEST(test_alias_out),
		UNIT_TEST(test_alias_out_many),
		UNIT_END
	};

	return (unit_run("mqttd alias", tests));
}
