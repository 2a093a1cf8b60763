/* SPDX-License-Identifier: MIT */
/* Unit tests of topic matching and the subscription tree (mqttd/topic.c). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqttd/topic.h"
#include "tests/unit/unit.h"

#define OWNERS		10000

static char	owners[OWNERS];		/* &owners[i] is owner i */

#define OWNER(i)	((void *)&owners[(i)])
#define OWNER_NO(p)	((size_t)((char *)(p) - owners))

/* What one topic_tree_match() call reported. */
struct hits {
	size_t	 calls;
	size_t	 shared_calls;
	size_t	 nsubs;
	size_t	 nshared;
	uint64_t ids[4096];		/* data of each sub, in order seen */
	char	 groups[4096][16];	/* "" if not shared */
	uint32_t rr_seen[16];
};

static void
hits_fn(const struct topic_sub *subs, size_t nsubs, bool shared,
    const char *group, uint32_t *rr, void *arg)
{
	struct hits	*h = arg;
	size_t		 i;

	CU_ASSERT_TRUE(nsubs > 0);
	CU_ASSERT_EQUAL(shared, group != NULL);
	CU_ASSERT_EQUAL(shared, rr != NULL);
	if (shared) {
		if (h->shared_calls < 16)
			h->rr_seen[h->shared_calls] = *rr;
		(*rr)++;
		h->shared_calls++;
		h->nshared += nsubs;
	} else
		h->nsubs += nsubs;
	h->calls++;
	for (i = 0; i < nsubs; i++) {
		size_t	 k = h->nsubs + h->nshared - nsubs + i;

		if (k >= 4096)
			break;
		h->ids[k] = subs[i].data;
		snprintf(h->groups[k], sizeof(h->groups[k]), "%s",
		    group != NULL ? group : "");
	}
}

static void
match(struct topic_tree *t, const char *topic, struct hits *h)
{
	memset(h, 0, sizeof(*h));
	topic_tree_match(t, topic, strlen(topic), hits_fn, h);
}

static int
add(struct topic_tree *t, const char *f, size_t owner, uint64_t data)
{
	return (topic_tree_add(t, f, strlen(f), OWNER(owner), data));
}

static int
del(struct topic_tree *t, const char *f, size_t owner)
{
	return (topic_tree_remove(t, f, strlen(f), OWNER(owner)));
}

static bool
tm(const char *f, const char *topic)
{
	return (topic_match(f, strlen(f), topic, strlen(topic)));
}

/* filter, topic, match: the spec's examples and the corner cases. */
static const struct {
	const char	*filter;
	const char	*topic;
	bool		 match;
} cases[] = {
	/* 4.7.1.2: multi-level wildcard */
	{ "sport/tennis/player1/#", "sport/tennis/player1", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/ranking", true },
	{ "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon",
	    true },
	{ "sport/tennis/player1/#", "sport/tennis/player2", false },
	{ "sport/tennis/player1/#", "sport/tennis", false },
	{ "sport/#", "sport", true },
	{ "sport/#", "sport/", true },
	{ "sport/#", "sports", false },
	{ "#", "sport/tennis", true },
	{ "#", "/", true },
	{ "#", "a", true },
	/* 4.7.1.3: single-level wildcard */
	{ "sport/tennis/+", "sport/tennis/player1", true },
	{ "sport/tennis/+", "sport/tennis/player2", true },
	{ "sport/tennis/+", "sport/tennis/player1/ranking", false },
	{ "sport/+", "sport", false },
	{ "sport/+", "sport/", true },
	{ "+/+", "/finance", true },
	{ "/+", "/finance", true },
	{ "+", "/finance", false },
	{ "+", "finance", true },
	{ "+/tennis/#", "sport/tennis", true },
	{ "+/tennis/#", "sport/tennis/x/y", true },
	{ "+/tennis/#", "sport/golf", false },
	{ "+/#", "a", true },
	{ "+/+/#", "a", false },
	/* empty levels */
	{ "a//b", "a//b", true },
	{ "a//b", "a/b", false },
	{ "a/+/b", "a//b", true },
	{ "/a", "/a", true },
	{ "/a", "a", false },
	{ "a/", "a/", true },
	{ "a/", "a", false },
	{ "a/+", "a/", true },
	{ "+/+", "/", true },
	{ "+", "", true },
	{ "/#", "/", true },
	{ "/#", "/a/b", true },
	{ "//", "//", true },
	{ "+/+/+", "//", true },
	/* 4.7.2: topics starting with $ */
	{ "#", "$SYS/broker/load", false },
	{ "+/monitor/Clients", "$SYS/monitor/Clients", false },
	{ "$SYS/#", "$SYS/monitor/Clients", true },
	{ "$SYS/#", "$SYS", true },
	{ "$SYS/monitor/+", "$SYS/monitor/Clients", true },
	{ "$SYS/+", "$SYS/monitor/Clients", false },
	{ "+", "$SYS", false },
	{ "#", "$", false },
	{ "$", "$", true },
	{ "a/#", "a/$b", true },
	{ "a/+", "a/$b", true },
	{ "+/$b", "a/$b", true },
	{ "/#", "/$x", true },
	/* plain */
	{ "a/b/c", "a/b/c", true },
	{ "a/b/c", "a/b/c/d", false },
	{ "a/b/c", "a/b", false },
	{ "a/b/c", "a/b/cd", false },
	{ "a/b/cd", "a/b/c", false },
	{ "A", "a", false },
	{ "$share", "$share", true },
	{ "caf\xc3\xa9/+", "caf\xc3\xa9/x", true },
};

static void
test_topic_match_table(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (tm(cases[i].filter, cases[i].topic) != cases[i].match)
			fprintf(stderr, "topic_match(%s, %s) != %d\n",
			    cases[i].filter, cases[i].topic, cases[i].match);
		CU_ASSERT_EQUAL(tm(cases[i].filter, cases[i].topic),
		    cases[i].match);
	}
}

/* Every case on a tree holding only its filter, then on one tree holding
 * all filters (each as its own owner). */
static void
test_topic_tree_match_table(void)
{
	struct topic_tree	*t, *all;
	struct hits		 h;
	size_t			 i, j, n = sizeof(cases) / sizeof(cases[0]);
	size_t			 want;

	all = topic_tree_new();
	for (i = 0; i < n; i++) {
		t = topic_tree_new();
		CU_ASSERT_EQUAL(add(t, cases[i].filter, 0, 7), 1);
		match(t, cases[i].topic, &h);
		if ((h.nsubs == 1) != cases[i].match)
			fprintf(stderr, "tree %s ~ %s: %zu\n",
			    cases[i].filter, cases[i].topic, h.nsubs);
		CU_ASSERT_EQUAL(h.nsubs, cases[i].match ? 1 : 0);
		CU_ASSERT_EQUAL(h.calls, cases[i].match ? 1 : 0);
		if (h.nsubs == 1)
			CU_ASSERT_EQUAL(h.ids[0], 7);
		topic_tree_free(t);
		/* Each row its own owner, even where filters repeat. */
		CU_ASSERT_EQUAL(add(all, cases[i].filter, i, i), 1);
	}
	for (i = 0; i < n; i++) {
		match(all, cases[i].topic, &h);
		for (want = 0, j = 0; j < n; j++) {
			if (tm(cases[j].filter, cases[i].topic))
				want++;
		}
		CU_ASSERT_EQUAL(h.nsubs, want);
		CU_ASSERT_EQUAL(h.nshared, 0);
	}
	topic_tree_free(all);
}

static void
test_topic_parse_shared(void)
{
	const char	*g, *f;
	size_t		 gl, fl;

#define PS(s)	topic_parse_shared((s), strlen(s), &g, &gl, &f, &fl)
	CU_ASSERT_EQUAL(PS("$share/g/a/+"), 1);
	CU_ASSERT_EQUAL(gl, 1);
	CU_ASSERT_EQUAL(memcmp(g, "g", 1), 0);
	CU_ASSERT_EQUAL(fl, 3);
	CU_ASSERT_EQUAL(memcmp(f, "a/+", 3), 0);
	CU_ASSERT_EQUAL(PS("$share/group1/#"), 1);
	CU_ASSERT_EQUAL(gl, 6);
	CU_ASSERT_EQUAL(fl, 1);
	CU_ASSERT_EQUAL(PS("$share/g//"), 1);
	CU_ASSERT_EQUAL(fl, 1);
	CU_ASSERT_EQUAL(PS("$share/g/$SYS/#"), 1);
	CU_ASSERT_EQUAL(PS("a/b"), 0);
	CU_ASSERT_EQUAL(PS("$share"), 0);
	CU_ASSERT_EQUAL(PS("$sharex/g/a"), 0);
	CU_ASSERT_EQUAL(PS("$SHARE/g/a"), 0);
	CU_ASSERT_EQUAL(PS("$share/"), -1);
	CU_ASSERT_EQUAL(PS("$share//a"), -1);
	CU_ASSERT_EQUAL(PS("$share/g"), -1);
	CU_ASSERT_EQUAL(PS("$share/g/"), -1);
	CU_ASSERT_EQUAL(PS("$share/g+/a"), -1);
	CU_ASSERT_EQUAL(PS("$share/+/a"), -1);
	CU_ASSERT_EQUAL(PS("$share/#/a"), -1);
	CU_ASSERT_EQUAL(PS("$share/a#b/a"), -1);
	CU_ASSERT_EQUAL(topic_parse_shared("$share/g\0h/a", 12, &g, &gl, &f,
	    &fl), -1);
#undef PS
}

static void
test_topic_tree_invalid(void)
{
	static const char *const bad[] = {
		"", "a/#/b", "a#", "#a", "a/b#", "a/+b", "+a", "a/++", "##",
		"$share/", "$share//a", "$share/g", "$share/g/",
		"$share/g+/a", "$share/g#/a", "$share/g/a/#/b", "$share/g/a+",
	};
	struct topic_tree	*t;
	char			*big;
	size_t			 i;

	t = topic_tree_new();
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(add(t, bad[i], 0, 0), -1);
		CU_ASSERT_EQUAL(del(t, bad[i], 0), -1);
	}
	CU_ASSERT_EQUAL(topic_tree_add(t, "a\0b", 3, OWNER(0), 0), -1);
	big = calloc(1, 70000);
	memset(big, 'a', 65536);
	CU_ASSERT_EQUAL(topic_tree_add(t, big, 65536, OWNER(0), 0), -1);
	CU_ASSERT_EQUAL(topic_tree_add(t, big, 65535, OWNER(0), 0), 1);
	CU_ASSERT_EQUAL(topic_tree_remove(t, big, 65535, OWNER(0)), 1);
	free(big);
	CU_ASSERT_EQUAL(topic_tree_count(t), 0);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 0);
	/* Valid odd ones. */
	CU_ASSERT_EQUAL(add(t, "$share", 0, 0), 1);
	CU_ASSERT_EQUAL(add(t, "$sharex/g/a", 0, 0), 1);
	CU_ASSERT_EQUAL(add(t, "/", 0, 0), 1);
	CU_ASSERT_EQUAL(add(t, "#", 0, 0), 1);
	CU_ASSERT_EQUAL(add(t, "+", 0, 0), 1);
	CU_ASSERT_EQUAL(topic_tree_count(t), 5);
	topic_tree_free(t);
	topic_tree_free(NULL);
}

static void
test_topic_tree_add_remove(void)
{
	struct topic_tree	*t;
	struct hits		 h;

	t = topic_tree_new();
	CU_ASSERT_EQUAL(topic_tree_count(t), 0);
	CU_ASSERT_EQUAL(add(t, "a/b", 1, 10), 1);
	CU_ASSERT_EQUAL(add(t, "a/b", 2, 20), 1);
	CU_ASSERT_EQUAL(add(t, "a/+", 1, 30), 1);
	CU_ASSERT_EQUAL(add(t, "a/#", 1, 40), 1);
	CU_ASSERT_EQUAL(add(t, "#", 3, 50), 1);
	CU_ASSERT_EQUAL(topic_tree_count(t), 5);
	/* a, a/b, a/+, a/#, # */
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 5);

	/* Replace: same owner, same filter. */
	CU_ASSERT_EQUAL(add(t, "a/b", 1, 11), 0);
	CU_ASSERT_EQUAL(topic_tree_count(t), 5);
	match(t, "a/b", &h);
	CU_ASSERT_EQUAL(h.calls, 4);
	CU_ASSERT_EQUAL(h.nsubs, 5);
	match(t, "a", &h);		/* a/# and # */
	CU_ASSERT_EQUAL(h.nsubs, 2);
	match(t, "b", &h);
	CU_ASSERT_EQUAL(h.nsubs, 1);
	CU_ASSERT_EQUAL(h.ids[0], 50);
	match(t, "a/c", &h);
	CU_ASSERT_EQUAL(h.nsubs, 3);

	/* Remove what is not there. */
	CU_ASSERT_EQUAL(del(t, "a/b", 3), 0);
	CU_ASSERT_EQUAL(del(t, "a/c", 1), 0);
	CU_ASSERT_EQUAL(del(t, "x/y/z", 1), 0);
	CU_ASSERT_EQUAL(del(t, "$share/g/a/b", 1), 0);
	CU_ASSERT_EQUAL(topic_tree_count(t), 5);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 5);

	CU_ASSERT_EQUAL(del(t, "a/b", 1), 1);
	CU_ASSERT_EQUAL(del(t, "a/b", 1), 0);
	match(t, "a/b", &h);
	CU_ASSERT_EQUAL(h.nsubs, 4);
	CU_ASSERT_EQUAL(del(t, "a/b", 2), 1);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 4);	/* a/b pruned */
	CU_ASSERT_EQUAL(del(t, "a/#", 1), 1);
	CU_ASSERT_EQUAL(del(t, "a/+", 1), 1);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 1);	/* only # */
	CU_ASSERT_EQUAL(del(t, "#", 3), 1);
	CU_ASSERT_EQUAL(topic_tree_count(t), 0);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 0);
	match(t, "a/b", &h);
	CU_ASSERT_EQUAL(h.calls, 0);

	/* An inner node stays while a child needs it. */
	CU_ASSERT_EQUAL(add(t, "a/b/c", 1, 1), 1);
	CU_ASSERT_EQUAL(add(t, "a", 1, 1), 1);
	CU_ASSERT_EQUAL(del(t, "a", 1), 1);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 3);
	match(t, "a/b/c", &h);
	CU_ASSERT_EQUAL(h.nsubs, 1);
	CU_ASSERT_EQUAL(del(t, "a/b/c", 1), 1);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 0);
	topic_tree_free(t);
}

static void
test_topic_tree_dollar(void)
{
	struct topic_tree	*t;
	struct hits		 h;

	t = topic_tree_new();
	add(t, "#", 1, 1);
	add(t, "+/monitor/Clients", 2, 2);
	add(t, "$SYS/#", 3, 3);
	add(t, "$SYS/monitor/+", 4, 4);
	add(t, "+/#", 5, 5);
	add(t, "$share/g/#", 6, 6);
	add(t, "$share/g/$SYS/#", 7, 7);
	match(t, "$SYS/monitor/Clients", &h);
	CU_ASSERT_EQUAL(h.nsubs, 2);
	CU_ASSERT_EQUAL(h.nshared, 1);
	CU_ASSERT_EQUAL(h.shared_calls, 1);
	match(t, "$SYS", &h);
	CU_ASSERT_EQUAL(h.nsubs, 1);		/* $SYS/# */
	CU_ASSERT_EQUAL(h.nshared, 1);		/* $share/g/$SYS/# */
	match(t, "x/monitor/Clients", &h);
	CU_ASSERT_EQUAL(h.nsubs, 3);		/* #, +/m/C, +/# */
	CU_ASSERT_EQUAL(h.nshared, 1);		/* $share/g/# */
	topic_tree_free(t);
}

static void
test_topic_tree_shared(void)
{
	struct topic_tree	*t;
	struct hits		 h;
	size_t			 i;
	int			 g1 = 0, g2 = 0, plain = 0;

	t = topic_tree_new();
	CU_ASSERT_EQUAL(add(t, "$share/g1/a/+", 1, 101), 1);
	CU_ASSERT_EQUAL(add(t, "$share/g1/a/+", 2, 102), 1);
	CU_ASSERT_EQUAL(add(t, "$share/g2/a/+", 3, 203), 1);
	/* The same owner on the plain filter and in another group is a
	 * subscription of its own. */
	CU_ASSERT_EQUAL(add(t, "a/+", 1, 1), 1);
	CU_ASSERT_EQUAL(add(t, "$share/g2/a/+", 1, 201), 1);
	CU_ASSERT_EQUAL(add(t, "$share/g1/a/+", 1, 111), 0);	/* replace */
	CU_ASSERT_EQUAL(topic_tree_count(t), 5);
	/* Shared groups share the filter's node. */
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 2);

	match(t, "a/b", &h);
	CU_ASSERT_EQUAL(h.calls, 3);
	CU_ASSERT_EQUAL(h.shared_calls, 2);
	CU_ASSERT_EQUAL(h.nsubs, 1);
	CU_ASSERT_EQUAL(h.nshared, 4);
	for (i = 0; i < 5; i++) {
		if (strcmp(h.groups[i], "g1") == 0) {
			g1++;
			CU_ASSERT_TRUE(h.ids[i] == 111 || h.ids[i] == 102);
		} else if (strcmp(h.groups[i], "g2") == 0) {
			g2++;
			CU_ASSERT_TRUE(h.ids[i] == 203 || h.ids[i] == 201);
		} else {
			plain++;
			CU_ASSERT_EQUAL(h.ids[i], 1);
		}
	}
	CU_ASSERT_EQUAL(g1, 2);
	CU_ASSERT_EQUAL(g2, 2);
	CU_ASSERT_EQUAL(plain, 1);
	/* The round-robin cursor lives in the group: hits_fn advanced it. */
	CU_ASSERT_EQUAL(h.rr_seen[0], 0);
	CU_ASSERT_EQUAL(h.rr_seen[1], 0);
	match(t, "a/c", &h);
	CU_ASSERT_EQUAL(h.rr_seen[0], 1);
	CU_ASSERT_EQUAL(h.rr_seen[1], 1);
	match(t, "b/c", &h);
	CU_ASSERT_EQUAL(h.calls, 0);

	/* Leaving a group; the last member's leaving drops the group. */
	CU_ASSERT_EQUAL(del(t, "$share/g1/a/+", 1), 1);
	CU_ASSERT_EQUAL(del(t, "$share/g1/a/+", 1), 0);
	CU_ASSERT_EQUAL(del(t, "$share/g3/a/+", 2), 0);
	match(t, "a/b", &h);
	CU_ASSERT_EQUAL(h.shared_calls, 2);
	CU_ASSERT_EQUAL(h.nshared, 3);
	CU_ASSERT_EQUAL(del(t, "$share/g1/a/+", 2), 1);
	match(t, "a/b", &h);
	CU_ASSERT_EQUAL(h.shared_calls, 1);
	CU_ASSERT_EQUAL(h.nshared, 2);
	CU_ASSERT_STRING_EQUAL(h.groups[1], "g2");
	CU_ASSERT_EQUAL(del(t, "a/+", 1), 1);
	match(t, "a/b", &h);
	CU_ASSERT_EQUAL(h.calls, 1);
	CU_ASSERT_EQUAL(h.nsubs, 0);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 2);
	CU_ASSERT_EQUAL(del(t, "$share/g2/a/+", 3), 1);
	CU_ASSERT_EQUAL(del(t, "$share/g2/a/+", 1), 1);
	CU_ASSERT_EQUAL(topic_tree_count(t), 0);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 0);
	/* Groups are freed with the tree too (checked by ASan). */
	add(t, "$share/g/x", 1, 1);
	add(t, "$share/h/x", 1, 1);
	topic_tree_free(t);
}

/* Collects every sub of one plain callback into a per-owner table. */
struct many {
	uint64_t	*data;		/* by owner; UINT64_MAX: not seen */
	size_t		 seen;
	size_t		 calls;
	bool		 dup;
	bool		 shared;
};

static void
many_fn(const struct topic_sub *subs, size_t nsubs, bool shared,
    const char *group, uint32_t *rr, void *arg)
{
	struct many	*m = arg;
	size_t		 i, o;

	m->calls++;
	m->shared = shared;
	for (i = 0; i < nsubs; i++) {
		o = OWNER_NO(subs[i].owner);
		if (o >= OWNERS || m->data[o] != UINT64_MAX)
			m->dup = true;
		else
			m->data[o] = subs[i].data;
		m->seen++;
	}
}

static void
many_check(struct topic_tree *t, const char *topic, const uint64_t *want,
    size_t nwant)
{
	struct many	 m = { 0 };
	size_t		 i, bad = 0;

	m.data = malloc(OWNERS * sizeof(*m.data));
	for (i = 0; i < OWNERS; i++)
		m.data[i] = UINT64_MAX;
	topic_tree_match(t, topic, strlen(topic), many_fn, &m);
	CU_ASSERT_EQUAL(m.calls, nwant > 0 ? 1 : 0);
	CU_ASSERT_EQUAL(m.seen, nwant);
	CU_ASSERT_FALSE(m.dup);
	for (i = 0; i < OWNERS; i++)
		if (m.data[i] != want[i])
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	free(m.data);
}

static uint64_t	rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	uint64_t	 x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (rng_state = x);
}

/* 10,000 owners on one filter (plain and shared): add, replace, remove
 * in random order, checking the counts and the match as it shrinks. */
static void
test_topic_tree_many_owners(void)
{
	static const char *const filters[] = { "a/b/c", "$share/g/a/+/c" };
	struct topic_tree	*t;
	uint64_t		*want;
	size_t			*order, i, j, k, tmp;

	t = topic_tree_new();
	want = malloc(OWNERS * sizeof(*want));
	order = malloc(OWNERS * sizeof(*order));
	for (k = 0; k < 2; k++) {
		for (i = 0; i < OWNERS; i++) {
			CU_ASSERT_EQUAL_FATAL(add(t, filters[k], i, i), 1);
			want[i] = i;
		}
		CU_ASSERT_EQUAL(topic_tree_count(t), OWNERS);
		/* Replace every third. */
		for (i = 0; i < OWNERS; i += 3) {
			CU_ASSERT_EQUAL(add(t, filters[k], i, i + 1000000), 0);
			want[i] = i + 1000000;
		}
		CU_ASSERT_EQUAL(topic_tree_count(t), OWNERS);
		many_check(t, "a/b/c", want, OWNERS);
		for (i = 0; i < OWNERS; i++)
			order[i] = i;
		for (i = OWNERS - 1; i > 0; i--) {
			j = rng() % (i + 1);
			tmp = order[i];
			order[i] = order[j];
			order[j] = tmp;
		}
		for (i = 0; i < OWNERS; i++) {
			CU_ASSERT_EQUAL_FATAL(del(t, filters[k], order[i]), 1);
			want[order[i]] = UINT64_MAX;
			if (i % 1000 == 999) {
				CU_ASSERT_EQUAL(topic_tree_count(t),
				    OWNERS - i - 1);
				many_check(t, "a/b/c", want, OWNERS - i - 1);
			}
			if (i % 4000 == 0)
				CU_ASSERT_EQUAL(del(t, filters[k], order[i]),
				    0);
		}
		CU_ASSERT_EQUAL(topic_tree_count(t), 0);
		CU_ASSERT_EQUAL(topic_tree_nodes(t), 0);
	}
	free(order);
	free(want);
	topic_tree_free(t);
}

/* Filters and topics thousands of levels deep: no recursion to blow. */
static void
test_topic_tree_deep(void)
{
	struct topic_tree	*t;
	struct hits		 h;
	char			*f, *p;
	size_t			 i, levels = 30000, len = 2 * levels - 1;

	f = malloc(len + 1);
	p = malloc(len + 1);
	for (i = 0; i < levels; i++) {
		f[2 * i] = 'a';
		p[2 * i] = '+';
		if (i + 1 < levels) {
			f[2 * i + 1] = '/';
			p[2 * i + 1] = '/';
		}
	}
	f[len] = p[len] = '\0';
	t = topic_tree_new();
	CU_ASSERT_EQUAL(topic_tree_add(t, f, len, OWNER(1), 1), 1);
	CU_ASSERT_EQUAL(topic_tree_add(t, p, len, OWNER(2), 2), 1);
	p[len - 1] = '#';
	CU_ASSERT_EQUAL(topic_tree_add(t, p, len, OWNER(3), 3), 1);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 2 * levels + 1);
	memset(&h, 0, sizeof(h));
	topic_tree_match(t, f, len, hits_fn, &h);
	CU_ASSERT_EQUAL(h.nsubs, 3);
	CU_ASSERT_TRUE(topic_match(p, len, f, len));
	/* Free the '+' chain half-way through. */
	p[len - 1] = '+';
	CU_ASSERT_EQUAL(topic_tree_remove(t, p, len, OWNER(2)), 1);
	topic_tree_free(t);
	free(f);
	free(p);
}

/*
 * Random filters and topics over a small alphabet (so that they meet),
 * random adds, replaces and removes; every match is compared with
 * topic_match() over the live subscriptions.
 */
#define R_FILTERS	300
#define R_OWNERS	12
#define R_OPS		6000
#define R_TOPICS	4000

struct rsub {
	char	 filter[64];		/* as given to the tree */
	char	 real[64];		/* without $share/G/ */
	char	 group[8];
	bool	 live[R_OWNERS];
	uint64_t data[R_OWNERS];
};

struct rhits {
	struct rsub	*subs;
	size_t		 n;
	uint64_t	 got[R_FILTERS * R_OWNERS];
	bool		 bad_group;
};

static const char *const r_levels[] = { "a", "b", "", "$x", "c" };

static void
r_levels_str(char *buf, size_t size, bool filter)
{
	size_t	 depth = 1 + rng() % 4, i, len = 0;
	size_t	 r;

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

static void
rhits_fn(const struct topic_sub *subs, size_t nsubs, bool shared,
    const char *group, uint32_t *rr, void *arg)
{
	struct rhits	*h = arg;
	size_t		 i, fi;

	for (i = 0; i < nsubs; i++) {
		fi = subs[i].data / 1000000;
		if (fi >= R_FILTERS ||
		    strcmp(h->subs[fi].group, shared ? group : "") != 0)
			h->bad_group = true;
		if (h->n < R_FILTERS * R_OWNERS)
			h->got[h->n++] = subs[i].data;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Two rows may hold the same filter: the tree has one subscription per
 * filter and owner.  Marks every row of row f's filter not live for owner
 * o; returns true if one was.
 */
static bool
r_unlive(struct rsub *rs, size_t f, size_t o, size_t *live)
{
	size_t	 j;
	bool	 was = false;

	for (j = 0; j < R_FILTERS; j++)
		if (rs[j].live[o] && strcmp(rs[j].filter, rs[f].filter) == 0) {
			rs[j].live[o] = false;
			(*live)--;
			was = true;
		}
	return (was);
}

static void
test_topic_tree_random(void)
{
	struct topic_tree	*t;
	struct rsub		*rs;
	struct rhits		*h;
	uint64_t		*want, serial = 0, d;
	size_t			 i, f, o, nwant, live = 0, mismatches = 0;
	size_t			 matched = 0;
	char			 topic[64];
	bool			 was;

	rs = calloc(R_FILTERS, sizeof(*rs));
	h = calloc(1, sizeof(*h));
	want = calloc(R_FILTERS * R_OWNERS, sizeof(*want));
	h->subs = rs;
	for (i = 0; i < R_FILTERS; i++) {
		r_levels_str(rs[i].real, sizeof(rs[i].real), true);
		if (rs[i].real[0] == '\0')	/* "" is not a filter */
			snprintf(rs[i].real, sizeof(rs[i].real), "/");
		if (rng() % 4 == 0) {
			snprintf(rs[i].group, sizeof(rs[i].group), "g%d",
			    (int)(rng() % 2));
			snprintf(rs[i].filter, sizeof(rs[i].filter),
			    "$share/%s/%s", rs[i].group, rs[i].real);
		} else
			snprintf(rs[i].filter, sizeof(rs[i].filter), "%s",
			    rs[i].real);
	}
	t = topic_tree_new();
	for (i = 0; i < R_OPS + R_TOPICS; i++) {
		f = rng() % R_FILTERS;
		o = rng() % R_OWNERS;
		if (i < R_OPS || rng() % 3 == 0) {
			/* Add (or replace) twice as often as remove. */
			was = r_unlive(rs, f, o, &live);
			if (rng() % 3 != 0) {
				d = f * 1000000 + ++serial % 1000000;
				CU_ASSERT_EQUAL(add(t, rs[f].filter, o, d),
				    was ? 0 : 1);
				live++;
				rs[f].live[o] = true;
				rs[f].data[o] = d;
			} else
				CU_ASSERT_EQUAL(del(t, rs[f].filter, o),
				    was ? 1 : 0);
			CU_ASSERT_EQUAL(topic_tree_count(t), live);
		}
		if (i < R_OPS && i % 7 != 0)
			continue;
		r_levels_str(topic, sizeof(topic), false);
		nwant = 0;
		for (f = 0; f < R_FILTERS; f++)
			for (o = 0; o < R_OWNERS; o++)
				if (rs[f].live[o] && tm(rs[f].real, topic))
					want[nwant++] = rs[f].data[o];
		h->n = 0;
		topic_tree_match(t, topic, strlen(topic), rhits_fn, h);
		qsort(want, nwant, sizeof(*want), cmp_u64);
		qsort(h->got, h->n, sizeof(*h->got), cmp_u64);
		if (h->n != nwant ||
		    memcmp(want, h->got, nwant * sizeof(*want)) != 0) {
			if (mismatches++ < 5)
				fprintf(stderr, "random: topic \"%s\": tree "
				    "%zu, topic_match %zu\n", topic, h->n,
				    nwant);
		}
		matched += nwant;
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	CU_ASSERT_FALSE(h->bad_group);
	/* The test means something only if topics did match. */
	CU_ASSERT_TRUE(matched > 1000);
	for (f = 0; f < R_FILTERS; f++)
		for (o = 0; o < R_OWNERS; o++)
			if (rs[f].live[o]) {
				rs[f].live[o] = false;
				CU_ASSERT_EQUAL(del(t, rs[f].filter, o), 1);
			}
	CU_ASSERT_EQUAL(topic_tree_count(t), 0);
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 0);
	topic_tree_free(t);
	free(want);
	free(h);
	free(rs);
}

/* Many children on one level: the array turns into a hash table and back,
 * and lookups keep working through growth, deletes and shrinking. */
static void
test_topic_tree_wide(void)
{
	struct topic_tree	*t;
	struct hits		 h;
	char			 f[32];
	size_t			 i, n = 5000, bad = 0;

	t = topic_tree_new();
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "w/%zu", i);
		CU_ASSERT_EQUAL_FATAL(add(t, f, 1, i), 1);
	}
	CU_ASSERT_EQUAL(topic_tree_nodes(t), n + 1);
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "w/%zu", i);
		match(t, f, &h);
		if (h.nsubs != 1 || h.ids[0] != i)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* Remove all but every 97th, checking the rest after each step. */
	for (i = 0; i < n; i++) {
		if (i % 97 == 0)
			continue;
		snprintf(f, sizeof(f), "w/%zu", i);
		CU_ASSERT_EQUAL(del(t, f, 1), 1);
	}
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f), "w/%zu", i);
		match(t, f, &h);
		if (h.nsubs != (i % 97 == 0 ? 1u : 0u))
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < n; i += 97) {
		snprintf(f, sizeof(f), "w/%zu", i);
		CU_ASSERT_EQUAL(del(t, f, 1), 1);
	}
	CU_ASSERT_EQUAL(topic_tree_nodes(t), 0);
	topic_tree_free(t);
}

/* A level table entry as the trees lay it out: key, then the bytes. */
struct kid {
	struct topic_key	 key;
	char			 name[8];
};

/*
 * The level table alone, with hashes forced into a few probe chains that
 * wrap around the end of the table: random adds and deletes, and after
 * each one every entry present is found and every other one is not.
 */
static void
test_topic_kids_random(void)
{
	struct topic_kids	 k = { 0 };
	struct kid		*kids;
	bool			*in;
	size_t			 i, j, n = 0, nkids = 300, bad = 0, maxn = 0;
	struct topic_key	*f;
	bool			 grow;

	kids = calloc(nkids, sizeof(*kids));
	in = calloc(nkids, sizeof(*in));
	for (i = 0; i < nkids; i++) {
		snprintf(kids[i].name, sizeof(kids[i].name), "k%zu", i);
		kids[i].key.len = (uint32_t)strlen(kids[i].name);
		/* Homes near the top of small and large tables, and at
		 * the bottom, so that chains wrap into other chains. */
		kids[i].key.hash = (uint32_t)(rng() % 4) * 0x10000u +
		    (uint32_t)(rng() % 3);
		if (rng() % 2)
			kids[i].key.hash -= rng() % 2 ? 0x10 : 0x10000;
	}
	for (i = 0; i < 20000; i++) {
		j = rng() % nkids;
		/* Grow to a few hundred, then drain, then grow again. */
		grow = (i / 5000) % 2 == 0;
		if (!in[j] && (grow ? rng() % 4 != 0 : rng() % 4 == 0)) {
			topic_kids_add(&k, &kids[j].key);
			in[j] = true;
			n++;
		} else if (in[j] && (!grow || rng() % 4 == 0)) {
			topic_kids_del(&k, &kids[j].key);
			in[j] = false;
			n--;
		}
		if (n > maxn)
			maxn = n;
		if (k.n != n)
			bad++;
		for (j = 0; j < nkids; j++) {
			f = topic_kids_find(&k, offsetof(struct kid, name),
			    kids[j].name, kids[j].key.len, kids[j].key.hash);
			if (f != (in[j] ? &kids[j].key : NULL))
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(maxn > 4 * TOPIC_KIDS_SMALL);
	topic_kids_clear(&k);
	free(in);
	free(kids);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_topic_match_table),
		UNIT_TEST(test_topic_tree_match_table),
		UNIT_TEST(test_topic_parse_shared),
		UNIT_TEST(test_topic_tree_invalid),
		UNIT_TEST(test_topic_tree_add_remove),
		UNIT_TEST(test_topic_tree_dollar),
		UNIT_TEST(test_topic_tree_shared),
		UNIT_TEST(test_topic_tree_many_owners),
		UNIT_TEST(test_topic_tree_deep),
		UNIT_TEST(test_topic_tree_random),
		UNIT_TEST(test_topic_tree_wide),
		UNIT_TEST(test_topic_kids_random),
		UNIT_END
	};

	return (unit_run("topic", tests));
}
