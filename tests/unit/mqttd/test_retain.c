/* SPDX-License-Identifier: MIT */
/* Unit tests of the retained-message tree (mqttd/retain.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttd/topic.h"
#include "tests/unit/unit.h"

static int	freed;

static void
free_value(void *v)
{
	freed++;
	free(v);
}

static char *
val(const char *s)
{
	return (strdup(s));
}

static void *
set(struct retain_tree *t, const char *topic, void *v)
{
	return (retain_tree_set(t, topic, strlen(topic), v));
}

static void *
get(struct retain_tree *t, const char *topic)
{
	return (retain_tree_get(t, topic, strlen(topic)));
}

/* The values a match returned, sorted and joined with ' '. */
struct got {
	char	*v[256];
	size_t	 n;
};

static void
got_fn(void *value, void *arg)
{
	struct got	*g = arg;

	if (g->n < 256)
		g->v[g->n] = value;
	g->n++;
}

static int
cmp_str(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

static void
matched(struct retain_tree *t, const char *filter, char *buf, size_t size)
{
	struct got	 g = { 0 };
	size_t		 i, len = 0;

	retain_tree_match(t, filter, strlen(filter), got_fn, &g);
	qsort(g.v, g.n, sizeof(g.v[0]), cmp_str);
	buf[0] = '\0';
	for (i = 0; i < g.n && len < size; i++)
		len += snprintf(buf + len, size - len, "%s%s", i ? " " : "",
		    g.v[i]);
}

static void
test_retain_set_get(void)
{
	struct retain_tree	*t;
	char			*old;

	freed = 0;
	t = retain_tree_new(free_value);
	CU_ASSERT_EQUAL(retain_tree_count(t), 0);
	CU_ASSERT_PTR_NULL(set(t, "a/b", val("1")));
	CU_ASSERT_PTR_NULL(set(t, "a/b/c", val("2")));
	CU_ASSERT_PTR_NULL(set(t, "a", val("3")));
	CU_ASSERT_EQUAL(retain_tree_count(t), 3);
	CU_ASSERT_EQUAL(retain_tree_nodes(t), 3);
	CU_ASSERT_STRING_EQUAL(get(t, "a/b"), "1");
	CU_ASSERT_STRING_EQUAL(get(t, "a"), "3");
	CU_ASSERT_PTR_NULL(get(t, "a/b/c/d"));
	CU_ASSERT_PTR_NULL(get(t, "a/c"));
	CU_ASSERT_PTR_NULL(get(t, "b"));

	/* Replace returns the old value to the caller. */
	old = set(t, "a/b", val("1b"));
	CU_ASSERT_STRING_EQUAL(old, "1");
	free(old);
	CU_ASSERT_EQUAL(retain_tree_count(t), 3);
	CU_ASSERT_STRING_EQUAL(get(t, "a/b"), "1b");

	/* Delete: an inner node stays while it has children. */
	old = set(t, "a/b", NULL);
	CU_ASSERT_STRING_EQUAL(old, "1b");
	free(old);
	CU_ASSERT_PTR_NULL(get(t, "a/b"));
	CU_ASSERT_EQUAL(retain_tree_count(t), 2);
	CU_ASSERT_EQUAL(retain_tree_nodes(t), 3);
	CU_ASSERT_PTR_NULL(set(t, "a/b", NULL));
	CU_ASSERT_PTR_NULL(set(t, "x/y/z", NULL));
	CU_ASSERT_EQUAL(retain_tree_nodes(t), 3);
	CU_ASSERT_EQUAL(retain_tree_count(t), 2);
	old = set(t, "a/b/c", NULL);
	CU_ASSERT_STRING_EQUAL(old, "2");
	free(old);
	CU_ASSERT_EQUAL(retain_tree_nodes(t), 1);	/* a/b/c, a/b pruned */
	old = set(t, "a", NULL);
	free(old);
	CU_ASSERT_EQUAL(retain_tree_count(t), 0);
	CU_ASSERT_EQUAL(retain_tree_nodes(t), 0);

	/* Empty levels are levels. */
	CU_ASSERT_PTR_NULL(set(t, "/", val("slash")));
	CU_ASSERT_PTR_NULL(set(t, "a//b", val("ab")));
	CU_ASSERT_PTR_NULL(get(t, "a/b"));
	CU_ASSERT_STRING_EQUAL(get(t, "a//b"), "ab");
	CU_ASSERT_PTR_NULL(get(t, ""));
	CU_ASSERT_EQUAL(freed, 0);
	/* The tree frees what it still holds. */
	retain_tree_free(t);
	CU_ASSERT_EQUAL(freed, 2);
	retain_tree_free(NULL);

	/* No free_value: values stay the caller's. */
	t = retain_tree_new(NULL);
	old = val("x");
	set(t, "k", old);
	retain_tree_free(t);
	free(old);
}

static const char *const topics[] = {
	"sport/tennis/player1",
	"sport/tennis/player1/ranking",
	"sport/tennis/player1/score/wimbledon",
	"sport/tennis/player2",
	"sport",
	"sport/",
	"/finance",
	"finance",
	"a//b",
	"$SYS/broker/load",
	"$SYS",
	"$share/g/x",
	"a/$b",
};

/* filter -> the sorted topics it matches, separated by ' '. */
static const struct {
	const char	*filter;
	const char	*want;
} rcases[] = {
	{ "sport/tennis/player1/#", "sport/tennis/player1 "
	    "sport/tennis/player1/ranking "
	    "sport/tennis/player1/score/wimbledon" },
	{ "sport/tennis/+", "sport/tennis/player1 sport/tennis/player2" },
	{ "sport/#", "sport sport/ sport/tennis/player1 "
	    "sport/tennis/player1/ranking "
	    "sport/tennis/player1/score/wimbledon sport/tennis/player2" },
	{ "sport/+", "sport/" },
	{ "+", "finance sport" },
	{ "+/+", "/finance a/$b sport/" },
	{ "/+", "/finance" },
	{ "#", "/finance a/$b a//b finance sport sport/ "
	    "sport/tennis/player1 sport/tennis/player1/ranking "
	    "sport/tennis/player1/score/wimbledon sport/tennis/player2" },
	{ "+/#", "/finance a/$b a//b finance sport sport/ "
	    "sport/tennis/player1 sport/tennis/player1/ranking "
	    "sport/tennis/player1/score/wimbledon sport/tennis/player2" },
	{ "$SYS/#", "$SYS $SYS/broker/load" },
	{ "$SYS/+/load", "$SYS/broker/load" },
	{ "+/broker/load", "" },
	{ "a/+/b", "a//b" },
	{ "a/+", "a/$b" },
	{ "a/#", "a/$b a//b" },
	{ "a/b", "" },
	{ "sport", "sport" },
	{ "nothing/#", "" },
	{ "$share/g/x", "$share/g/x" },
};

static void
test_retain_match_table(void)
{
	struct retain_tree	*t;
	char			 buf[1024];
	size_t			 i;

	t = retain_tree_new(free_value);
	for (i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
		set(t, topics[i], val(topics[i]));
	CU_ASSERT_EQUAL(retain_tree_count(t),
	    sizeof(topics) / sizeof(topics[0]));
	for (i = 0; i < sizeof(rcases) / sizeof(rcases[0]); i++) {
		matched(t, rcases[i].filter, buf, sizeof(buf));
		if (strcmp(buf, rcases[i].want) != 0)
			fprintf(stderr, "retain %s: got \"%s\"\n",
			    rcases[i].filter, buf);
		CU_ASSERT_STRING_EQUAL(buf, rcases[i].want);
	}
	retain_tree_free(t);
}

static uint64_t	rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rng(void)
{
	uint64_t	 x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (rng_state = x);
}

static const char *const r_levels[] = { "a", "b", "", "$x", "c" };

static void
r_levels_str(char *buf, size_t size, bool filter)
{
	size_t	 depth = 1 + rng() % 4, i, len = 0, r;

	buf[0] = '\0';
	for (i = 0; i < depth; i++) {
		r = rng() % (filter ? 7 : 5);
		if (i > 0)
			len += snprintf(buf + len, size - len, "/");
		if (r == 5)
			len += snprintf(buf + len, size - len, "+");
		else if (r == 6) {
			len += snprintf(buf + len, size - len, "#");
			break;
		} else
			len += snprintf(buf + len, size - len, "%s",
			    r_levels[r]);
	}
}

/*
 * Random sets and deletes of topics over a small alphabet; every match of
 * a random filter is compared with topic_match() over the live topics, and
 * the tree is empty (pruned) once they are all deleted.
 */
#define R_TOPICS	400

static void
test_retain_random(void)
{
	struct retain_tree	*t;
	char			(*tp)[64], filter[64], buf[8192], want[8192];
	char			*wv[R_TOPICS], *old;
	bool			 live[R_TOPICS] = { 0 };
	size_t			 i, j, k, n, nlive = 0, bad = 0, hits = 0, len;

	tp = calloc(R_TOPICS, sizeof(*tp));
	for (i = 0; i < R_TOPICS; i++) {
		r_levels_str(tp[i], sizeof(tp[i]), false);
		/* Keep topics unique so each live row is one value. */
		for (j = 0; j < i; j++)
			if (strcmp(tp[i], tp[j]) == 0)
				break;
		if (j < i)
			snprintf(tp[i], sizeof(tp[i]), "u/%zu", i);
	}
	t = retain_tree_new(free_value);
	for (i = 0; i < 5000; i++) {
		k = rng() % R_TOPICS;
		if (rng() % 3 != 0) {
			old = set(t, tp[k], val(tp[k]));
			CU_ASSERT_EQUAL(old != NULL, live[k]);
			nlive += live[k] ? 0 : 1;
			live[k] = true;
		} else {
			old = set(t, tp[k], NULL);
			CU_ASSERT_EQUAL(old != NULL, live[k]);
			nlive -= live[k] ? 1 : 0;
			live[k] = false;
		}
		free(old);
		CU_ASSERT_EQUAL(retain_tree_count(t), nlive);
		if (i % 3 != 0)
			continue;
		r_levels_str(filter, sizeof(filter), true);
		for (n = 0, j = 0; j < R_TOPICS; j++)
			if (live[j] && topic_match(filter, strlen(filter),
			    tp[j], strlen(tp[j])))
				wv[n++] = tp[j];
		qsort(wv, n, sizeof(wv[0]), cmp_str);
		want[0] = '\0';
		for (len = 0, j = 0; j < n && len < sizeof(want); j++)
			len += snprintf(want + len, sizeof(want) - len,
			    "%s%s", j ? " " : "", wv[j]);
		hits += n;
		matched(t, filter, buf, sizeof(buf));
		if (strcmp(buf, want) != 0 && bad++ < 5)
			fprintf(stderr, "retain random %s: \"%s\" != \"%s\"\n",
			    filter, buf, want);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(hits > 1000);
	for (i = 0; i < R_TOPICS; i++)
		free(set(t, tp[i], NULL));
	CU_ASSERT_EQUAL(retain_tree_count(t), 0);
	CU_ASSERT_EQUAL(retain_tree_nodes(t), 0);
	retain_tree_free(t);
	free(tp);
}

struct walk {
	size_t	 n;
};

static void
walk_fn(void *value, void *arg)
{
	struct walk	*w = arg;

	w->n++;
}

/* Walk, wide levels (array to hash table and back), deep topics. */
static void
test_retain_walk_wide_deep(void)
{
	struct retain_tree	*t;
	struct walk		 w = { 0 };
	char			 topic[32], buf[64], *deep;
	size_t			 i, n = 3000, bad = 0, levels = 30000;

	freed = 0;
	t = retain_tree_new(free_value);
	for (i = 0; i < n; i++) {
		snprintf(topic, sizeof(topic), "w/%zu", i);
		set(t, topic, val(topic));
	}
	retain_tree_walk(t, walk_fn, &w);
	CU_ASSERT_EQUAL(w.n, n);
	w.n = 0;
	retain_tree_match(t, "w/+", 3, walk_fn, &w);
	CU_ASSERT_EQUAL(w.n, n);
	for (i = 0; i < n; i += 2) {
		snprintf(topic, sizeof(topic), "w/%zu", i);
		free(set(t, topic, NULL));
	}
	for (i = 0; i < n; i++) {
		snprintf(topic, sizeof(topic), "w/%zu", i);
		matched(t, topic, buf, sizeof(buf));
		if (strcmp(buf, i % 2 ? topic : "") != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(retain_tree_count(t), n / 2);

	deep = malloc(2 * levels);
	for (i = 0; i < levels; i++) {
		deep[2 * i] = 'd';
		deep[2 * i + 1] = '/';
	}
	deep[2 * levels - 1] = '\0';
	retain_tree_set(t, deep, 2 * levels - 1, val("deep"));
	w.n = 0;
	retain_tree_match(t, "d/#", 3, walk_fn, &w);
	CU_ASSERT_EQUAL(w.n, 1);
	w.n = 0;
	retain_tree_match(t, deep, 2 * levels - 1, walk_fn, &w);
	CU_ASSERT_EQUAL(w.n, 1);
	w.n = 0;
	retain_tree_walk(t, walk_fn, &w);
	CU_ASSERT_EQUAL(w.n, n / 2 + 1);
	free(deep);
	retain_tree_free(t);
	CU_ASSERT_EQUAL(freed, (int)(n / 2 + 1));
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_retain_set_get),
		UNIT_TEST(test_retain_match_table),
		UNIT_TEST(test_retain_random),
		UNIT_TEST(test_retain_walk_wide_deep),
		UNIT_END
	};

	return (unit_run("retain", tests));
}
