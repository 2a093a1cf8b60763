/* SPDX-License-Identifier: MIT */
/*
 * The retained-message tree: one node per topic level (children hashed with
 * topic.c's level tables), an opaque value on the nodes of retained topics,
 * and a match that follows a filter down the tree.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mqttd/topic.h"

#define RETAIN_STACK		64	/* match frames before using the heap */
#define RETAIN_ALL		SIZE_MAX	/* frame: the node and below */

struct retain_node {
	struct topic_key	 key;		/* first: see topic_kids */
	struct retain_node	*parent;
	struct topic_kids	 kids;
	void			*value;
	/* the level's bytes follow the struct */
};

#define RETAIN_NODE_OFF		sizeof(struct retain_node)

struct retain_tree {
	struct retain_node	*root;
	void			(*free_value)(void *);
	size_t			 count;
	size_t			 nodes;
};

struct retain_frame {
	struct retain_node	*n;
	size_t			 pos;	/* next filter level; > len: none left;
					   RETAIN_ALL: n and its subtree */
};

struct retain_stack {
	struct retain_frame	*v;
	size_t			 n;
	size_t			 cap;
	struct retain_frame	 buf[RETAIN_STACK];
};

static void
retain_stack_init(struct retain_stack *s)
{
	s->v = s->buf;
	s->n = 0;
	s->cap = RETAIN_STACK;
}

static void
retain_stack_push(struct retain_stack *s, struct retain_node *n, size_t pos)
{
	if (s->n == s->cap) {
		s->cap *= 2;
		if (s->v == s->buf) {
			s->v = xreallocarray(NULL, s->cap, sizeof(*s->v));
			memcpy(s->v, s->buf, s->n * sizeof(*s->v));
		} else
			s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n].n = n;
	s->v[s->n].pos = pos;
	s->n++;
}

static void
retain_stack_done(struct retain_stack *s)
{
	if (s->v != s->buf)
		free(s->v);
}

static bool
is_retain_dollar(const struct retain_node *n)
{
	return (n->key.len > 0 && *(const char *)(n + 1) == '$');
}

/* Pushes n's children with pos; at the root, not the "$..." ones if
 * skip_dollar is set. */
static void
retain_push_kids(struct retain_stack *s, struct retain_node *n, size_t pos,
    bool skip_dollar)
{
	struct retain_node	*c;
	size_t			 i, nslots = topic_kids_nslots(&n->kids);

	for (i = 0; i < nslots; i++) {
		if ((c = (struct retain_node *)topic_kids_at(&n->kids, i)) ==
		    NULL)
			continue;
		if (skip_dollar && is_retain_dollar(c))
			continue;
		retain_stack_push(s, c, pos);
	}
}

static size_t
retain_level_end(const char *s, size_t pos, size_t len)
{
	const char	*p;

	if (pos >= len)
		return (len);
	p = memchr(s + pos, '/', len - pos);
	return (p == NULL ? len : (size_t)(p - s));
}

static struct retain_node *
retain_node_new(struct retain_tree *t, struct retain_node *parent,
    const char *s, size_t len, uint32_t hash)
{
	struct retain_node	*n;

	n = xcalloc(1, sizeof(*n) + len);
	n->key.hash = hash;
	n->key.len = (uint32_t)len;
	if (len > 0)
		memcpy(n + 1, s, len);
	n->parent = parent;
	if (parent != NULL)
		t->nodes++;
	return (n);
}

struct retain_tree *
retain_tree_new(void (*free_value)(void *))
{
	struct retain_tree	*t;

	t = xcalloc(1, sizeof(*t));
	t->free_value = free_value;
	t->root = retain_node_new(t, NULL, "", 0, 0);
	return (t);
}

void
retain_tree_free(struct retain_tree *t)
{
	struct retain_stack	 s;
	struct retain_node	*n;

	if (t == NULL)
		return;
	retain_stack_init(&s);
	retain_stack_push(&s, t->root, 0);
	while (s.n > 0) {
		n = s.v[--s.n].n;
		retain_push_kids(&s, n, 0, false);
		if (n->value != NULL && t->free_value != NULL)
			t->free_value(n->value);
		topic_kids_clear(&n->kids);
		free(n);
	}
	retain_stack_done(&s);
	free(t);
}

/* Returns topic's node, creating the path if create is set, else NULL
 * when a level is missing. */
static struct retain_node *
retain_tree_path(struct retain_tree *t, const char *topic, size_t len,
    bool create)
{
	struct retain_node	*n = t->root;
	struct topic_key	*k;
	size_t			 pos, end;
	uint32_t		 h;

	for (pos = 0; pos <= len; pos = end + 1) {
		end = retain_level_end(topic, pos, len);
		h = topic_hash_level(topic + pos, end - pos);
		k = topic_kids_find(&n->kids, RETAIN_NODE_OFF, topic + pos,
		    end - pos, h);
		if (k == NULL && !create)
			return (NULL);
		if (k == NULL) {
			k = &retain_node_new(t, n, topic + pos, end - pos,
			    h)->key;
			topic_kids_add(&n->kids, k);
		}
		n = (struct retain_node *)k;
	}
	return (n);
}

void *
retain_tree_set(struct retain_tree *t, const char *topic, size_t len,
    void *value)
{
	struct retain_node	*n, *p;
	void			*old;

	if ((n = retain_tree_path(t, topic, len, value != NULL)) == NULL)
		return (NULL);
	old = n->value;
	n->value = value;
	if (old == NULL && value != NULL)
		t->count++;
	else if (old != NULL && value == NULL)
		t->count--;
	/* Prune nodes left with neither a value nor children. */
	while (n != t->root && n->value == NULL && n->kids.n == 0) {
		p = n->parent;
		topic_kids_del(&p->kids, &n->key);
		topic_kids_clear(&n->kids);
		free(n);
		t->nodes--;
		n = p;
	}
	return (old);
}

void *
retain_tree_get(struct retain_tree *t, const char *topic, size_t len)
{
	struct retain_node	*n;

	if ((n = retain_tree_path(t, topic, len, false)) == NULL)
		return (NULL);
	return (n->value);
}

void
retain_tree_match(struct retain_tree *t, const char *filter, size_t len,
    retain_match_fn fn, void *arg)
{
	struct retain_stack	 s;
	struct retain_node	*n;
	struct topic_key	*k;
	size_t			 pos, end;
	bool			 root;

	retain_stack_init(&s);
	retain_stack_push(&s, t->root, 0);
	while (s.n > 0) {
		s.n--;
		n = s.v[s.n].n;
		pos = s.v[s.n].pos;
		if (pos == RETAIN_ALL) {
			if (n->value != NULL)
				fn(n->value, arg);
			retain_push_kids(&s, n, RETAIN_ALL, false);
			continue;
		}
		if (pos > len) {
			if (n->value != NULL)
				fn(n->value, arg);
			continue;
		}
		end = retain_level_end(filter, pos, len);
		/* Wildcards at the first level skip "$..." topics. */
		root = n == t->root;
		if (end - pos == 1 && filter[pos] == '#') {
			/* The parent ("a/#" matches "a") and all below. */
			if (n->value != NULL)
				fn(n->value, arg);
			retain_push_kids(&s, n, RETAIN_ALL, root);
		} else if (end - pos == 1 && filter[pos] == '+')
			retain_push_kids(&s, n, end + 1, root);
		else if (n->kids.n > 0) {
			k = topic_kids_find(&n->kids, RETAIN_NODE_OFF,
			    filter + pos, end - pos,
			    topic_hash_level(filter + pos, end - pos));
			if (k != NULL)
				retain_stack_push(&s, (struct retain_node *)k,
				    end + 1);
		}
	}
	retain_stack_done(&s);
}

void
retain_tree_walk(struct retain_tree *t, retain_match_fn fn, void *arg)
{
	struct retain_stack	 s;
	struct retain_node	*n;

	retain_stack_init(&s);
	retain_stack_push(&s, t->root, 0);
	while (s.n > 0) {
		n = s.v[--s.n].n;
		if (n->value != NULL)
			fn(n->value, arg);
		retain_push_kids(&s, n, 0, false);
	}
	retain_stack_done(&s);
}

size_t
retain_tree_count(const struct retain_tree *t)
{
	return (t->count);
}

size_t
retain_tree_nodes(const struct retain_tree *t)
{
	return (t->nodes);
}
