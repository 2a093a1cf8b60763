/* SPDX-License-Identifier: MIT */
/*
 * The subscription tree: filter syntax, topic_match(), shared groups, and the
 * hashed per-level child tables that retain.c uses as well.
 *
 * One node per filter level.  Ordinary children are hashed by their bytes
 * (topic_kids); the '+' and '#' children hang off direct pointers, so a
 * match visits at most three children per node whatever the fan-out.  A
 * node's subscribers are an array (handed to the match callback as is) with
 * an owner -> index hash once it outgrows a short scan, so adding, replacing
 * and removing one of 10,000 owners on one filter costs O(1).
 */
#include <sys/random.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "mqttd/topic.h"

#define TOPIC_SUBS_SCAN		8	/* owners found by a scan up to this */
#define TOPIC_MAX_LEN		65535	/* longest MQTT string */
#define TOPIC_STACK		64	/* match frames before using the heap */

/* Subscribers of one node or one shared group. */
struct topic_subs {
	union {
		struct topic_sub *v;	/* cap > 1; past TOPIC_SUBS_SCAN,
					   2 * cap index slots follow v[cap]
					   (entry + 1, 0 empty) */
		struct topic_sub one;	/* cap == 1 */
	}			 u;
	uint32_t		 n;
	uint32_t		 cap;
};

struct topic_group {
	struct topic_group	*next;
	struct topic_subs	 members;
	uint32_t		 rr;
	char			 name[];	/* NUL-terminated */
};

struct topic_node {
	struct topic_key	 key;		/* first: see topic_kids */
	struct topic_node	*parent;
	struct topic_kids	 kids;
	struct topic_node	*plus;
	struct topic_node	*hash;
	struct topic_subs	 subs;
	struct topic_group	*groups;
	/* the level's bytes follow the struct */
};

#define TOPIC_NODE_OFF		sizeof(struct topic_node)

struct topic_tree {
	struct topic_node	*root;
	size_t			 count;
	size_t			 nodes;
};

struct topic_frame {
	struct topic_node	*n;
	size_t			 pos;	/* next topic level; > len: none left */
};

static uint32_t	topic_seed;

/*
 * The level hash is seeded per process so that a client cannot precompute
 * filters that all land in one probe chain.  Runs before main(), so there
 * is no race with threads that build trees.
 */
static void topic_seed_init(void) __attribute__((constructor));

static void
topic_seed_init(void)
{
	uint32_t	 s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
		s = (uint32_t)time(NULL) ^ ((uint32_t)getpid() << 16);
	topic_seed = s;
}

uint32_t
topic_hash_level(const char *s, size_t len)
{
	uint32_t	 h = 2166136261u ^ topic_seed;
	size_t		 i;

	/* FNV-1a, then murmur3's finaliser so the low bits (the probe
	 * start) depend on every byte. */
	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (h);
}

static uint32_t
topic_hash_ptr(const void *p)
{
	uint64_t	 x = (uint64_t)(uintptr_t)p;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return ((uint32_t)x);
}

/* Level tables. */

static bool
topic_key_is(const struct topic_key *key, size_t off, const char *s,
    size_t len, uint32_t hash)
{
	return (key->hash == hash && key->len == len &&
	    (len == 0 || memcmp((const char *)key + off, s, len) == 0));
}

struct topic_key *
topic_kids_find(const struct topic_kids *k, size_t off, const char *s,
    size_t len, uint32_t hash)
{
	struct topic_key	*key;
	uint32_t		 i, mask;

	if (k->cap <= TOPIC_KIDS_SMALL) {
		for (i = 0; i < k->n; i++) {
			key = topic_kids_at(k, i);
			if (topic_key_is(key, off, s, len, hash))
				return (key);
		}
		return (NULL);
	}
	mask = k->cap - 1;
	for (i = hash & mask; (key = k->u.v[i]) != NULL; i = (i + 1) & mask)
		if (topic_key_is(key, off, s, len, hash))
			return (key);
	return (NULL);
}

static void
topic_kids_insert_slot(struct topic_kids *k, struct topic_key *key)
{
	uint32_t	 i, mask = k->cap - 1;

	for (i = key->hash & mask; k->u.v[i] != NULL; i = (i + 1) & mask)
		continue;
	k->u.v[i] = key;
}

/* Moves the children into a new array (cap <= SMALL) or table; cap > 1. */
static void
topic_kids_resize(struct topic_kids *k, uint32_t cap)
{
	struct topic_kids	 old = *k;
	struct topic_key	*key;
	size_t			 i, nslots = topic_kids_nslots(&old);
	uint32_t		 n = 0;

	k->u.v = xcalloc(cap, sizeof(*k->u.v));
	k->cap = cap;
	for (i = 0; i < nslots; i++) {
		if ((key = topic_kids_at(&old, i)) == NULL)
			continue;
		if (cap <= TOPIC_KIDS_SMALL)
			k->u.v[n] = key;
		else
			topic_kids_insert_slot(k, key);
		n++;
	}
	k->n = n;
	if (old.cap > 1)
		free(old.u.v);
}

void
topic_kids_add(struct topic_kids *k, struct topic_key *key)
{
	if (k->cap == 0) {
		/* Most nodes have one child: no allocation for it. */
		k->u.one = key;
		k->cap = k->n = 1;
		return;
	}
	if (k->cap <= TOPIC_KIDS_SMALL) {
		if (k->n == k->cap)
			topic_kids_resize(k, k->cap == TOPIC_KIDS_SMALL ?
			    2 * TOPIC_KIDS_SMALL : 2 * k->cap);
		if (k->cap <= TOPIC_KIDS_SMALL) {
			k->u.v[k->n++] = key;
			return;
		}
	} else if (((size_t)k->n + 1) * 4 > (size_t)k->cap * 3)
		topic_kids_resize(k, 2 * k->cap);
	topic_kids_insert_slot(k, key);
	k->n++;
}

void
topic_kids_del(struct topic_kids *k, struct topic_key *key)
{
	struct topic_key	*last;
	uint32_t		 i, j, home, mask;

	if (k->cap == 1) {
		if (k->u.one == key)
			topic_kids_clear(k);
		return;
	}
	if (k->cap <= TOPIC_KIDS_SMALL) {
		for (i = 0; i < k->n && k->u.v[i] != key; i++)
			continue;
		if (i == k->n)
			return;
		k->u.v[i] = k->u.v[--k->n];
		if (k->n == 0)
			topic_kids_clear(k);
		else if (k->n == 1) {
			last = k->u.v[0];
			free(k->u.v);
			k->u.one = last;
			k->cap = 1;
		}
		return;
	}
	mask = k->cap - 1;
	for (i = key->hash & mask; k->u.v[i] != key; i = (i + 1) & mask)
		if (k->u.v[i] == NULL)
			return;
	/* Backward-shift deletion: no tombstones, probes stay short. */
	for (j = i;;) {
		j = (j + 1) & mask;
		if (k->u.v[j] == NULL)
			break;
		home = k->u.v[j]->hash & mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			k->u.v[i] = k->u.v[j];
			i = j;
		}
	}
	k->u.v[i] = NULL;
	k->n--;
	if (k->n <= TOPIC_KIDS_SMALL / 2)
		topic_kids_resize(k, TOPIC_KIDS_SMALL);
	else if (k->cap > 2 * TOPIC_KIDS_SMALL && k->n < k->cap / 8)
		topic_kids_resize(k, k->cap / 2);
}

void
topic_kids_clear(struct topic_kids *k)
{
	if (k->cap > 1)
		free(k->u.v);
	k->u.v = NULL;
	k->n = 0;
	k->cap = 0;
}

/* Subscriber sets. */

static struct topic_sub *
topic_subs_v(struct topic_subs *s)
{
	return (s->cap == 1 ? &s->u.one : s->u.v);
}

/* The owner index after v[cap], once cap > TOPIC_SUBS_SCAN; else NULL. */
static uint32_t *
topic_subs_idx(struct topic_subs *s)
{
	return (s->cap > TOPIC_SUBS_SCAN ? (uint32_t *)(s->u.v + s->cap) :
	    NULL);
}

/* Returns owner's slot in the index, or UINT32_MAX. */
static uint32_t
topic_subs_slot(struct topic_subs *s, const void *owner)
{
	uint32_t	*idx = topic_subs_idx(s);
	uint32_t	 i, mask = 2 * s->cap - 1;

	for (i = topic_hash_ptr(owner) & mask; idx[i] != 0;
	    i = (i + 1) & mask)
		if (s->u.v[idx[i] - 1].owner == owner)
			return (i);
	return (UINT32_MAX);
}

static void
topic_subs_index(struct topic_subs *s)
{
	uint32_t	*idx = topic_subs_idx(s);
	uint32_t	 i, j, mask;

	if (idx == NULL)
		return;
	memset(idx, 0, 2 * (size_t)s->cap * sizeof(*idx));
	mask = 2 * s->cap - 1;
	for (i = 0; i < s->n; i++) {
		for (j = topic_hash_ptr(s->u.v[i].owner) & mask; idx[j] != 0;
		    j = (j + 1) & mask)
			continue;
		idx[j] = i + 1;
	}
}

/* Returns the index of owner's entry, or UINT32_MAX. */
static uint32_t
topic_subs_find(struct topic_subs *s, const void *owner)
{
	struct topic_sub	*v = topic_subs_v(s);
	uint32_t		 i;

	if (s->cap <= TOPIC_SUBS_SCAN) {
		for (i = 0; i < s->n; i++)
			if (v[i].owner == owner)
				return (i);
		return (UINT32_MAX);
	}
	if ((i = topic_subs_slot(s, owner)) == UINT32_MAX)
		return (UINT32_MAX);
	return (topic_subs_idx(s)[i] - 1);
}

/*
 * Moves the entries to cap slots: one inline (cap 1, the common case, no
 * allocation), else an array followed by the owner index when large.
 */
static void
topic_subs_resize(struct topic_subs *s, uint32_t cap)
{
	struct topic_sub	 one = { 0 }, *v;
	size_t			 size;

	if (s->cap == 1)
		one = s->u.one;
	if (cap <= 1) {
		if (s->cap > 1) {
			if (s->n > 0)
				one = s->u.v[0];
			free(s->u.v);
		}
		s->u.one = one;
		s->cap = cap;
		return;
	}
	size = (size_t)cap * sizeof(*v);
	if (cap > TOPIC_SUBS_SCAN)
		size += 2 * (size_t)cap * sizeof(uint32_t);
	if (s->cap > 1)
		v = xrealloc(s->u.v, size);
	else {
		v = xmalloc(size);
		if (s->n > 0)
			v[0] = one;
	}
	s->u.v = v;
	s->cap = cap;
	topic_subs_index(s);
}

/* Returns 1 if owner was added, 0 if its data was replaced. */
static int
topic_subs_put(struct topic_subs *s, void *owner, uint64_t data)
{
	struct topic_sub	*v;
	uint32_t		*idx, i, mask;

	if ((i = topic_subs_find(s, owner)) != UINT32_MAX) {
		topic_subs_v(s)[i].data = data;
		return (0);
	}
	if (s->n == s->cap)
		topic_subs_resize(s, s->cap ? 2 * s->cap : 1);
	v = topic_subs_v(s);
	v[s->n].owner = owner;
	v[s->n].data = data;
	if ((idx = topic_subs_idx(s)) != NULL) {
		mask = 2 * s->cap - 1;
		for (i = topic_hash_ptr(owner) & mask; idx[i] != 0;
		    i = (i + 1) & mask)
			continue;
		idx[i] = s->n + 1;
	}
	s->n++;
	return (1);
}

static void
topic_subs_clear(struct topic_subs *s)
{
	if (s->cap > 1)
		free(s->u.v);
	memset(s, 0, sizeof(*s));
}

/* Removes index slot i by backward shift (linear probing). */
static void
topic_subs_unslot(struct topic_subs *s, uint32_t i)
{
	uint32_t	*idx = topic_subs_idx(s);
	uint32_t	 j, home, mask = 2 * s->cap - 1;

	for (j = i;;) {
		j = (j + 1) & mask;
		if (idx[j] == 0)
			break;
		home = topic_hash_ptr(s->u.v[idx[j] - 1].owner) & mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			idx[i] = idx[j];
			i = j;
		}
	}
	idx[i] = 0;
}

/*
 * Returns 1 if owner was removed, 0 if it had no entry.  The last entry
 * moves into the hole (order is not kept), and its index slot follows it.
 */
static int
topic_subs_del(struct topic_subs *s, const void *owner)
{
	struct topic_sub	*v = topic_subs_v(s);
	uint32_t		*idx = topic_subs_idx(s);
	uint32_t		 i, slot, last;

	if (idx == NULL) {
		if ((i = topic_subs_find(s, owner)) == UINT32_MAX)
			return (0);
		v[i] = v[--s->n];
	} else {
		if ((slot = topic_subs_slot(s, owner)) == UINT32_MAX)
			return (0);
		i = idx[slot] - 1;
		topic_subs_unslot(s, slot);
		last = s->n - 1;
		if (i != last) {
			slot = topic_subs_slot(s, v[last].owner);
			idx[slot] = i + 1;
			v[i] = v[last];
		}
		s->n--;
	}
	if (s->n == 0)
		topic_subs_clear(s);
	else if (s->n == 1 && s->cap > 1)
		topic_subs_resize(s, 1);
	else if (s->cap > 1 && s->n <= s->cap / 4)
		topic_subs_resize(s, s->cap / 2);
	return (1);
}

/* Syntax. */

/* Returns the end of the level that starts at pos (its '/' or len). */
static size_t
topic_level_end(const char *s, size_t pos, size_t len)
{
	const char	*p;

	if (pos >= len)
		return (len);
	p = memchr(s + pos, '/', len - pos);
	return (p == NULL ? len : (size_t)(p - s));
}

/* True if f is a valid filter: non-empty, no NUL, wildcards alone in their
 * level and '#' only last.  UTF-8 is the codec's job. */
static bool
is_topic_filter(const char *f, size_t len)
{
	size_t	 i, pos, end;

	if (len == 0 || len > TOPIC_MAX_LEN || memchr(f, '\0', len) != NULL)
		return (false);
	for (pos = 0; pos <= len; pos = end + 1) {
		end = topic_level_end(f, pos, len);
		for (i = pos; i < end; i++) {
			if (f[i] != '+' && f[i] != '#')
				continue;
			if (end - pos != 1)
				return (false);
			if (f[i] == '#' && end != len)
				return (false);
		}
	}
	return (true);
}

int
topic_parse_shared(const char *filter, size_t len, const char **group,
    size_t *glen, const char **real, size_t *rlen)
{
	static const char	 pfx[] = "$share/";
	const size_t		 plen = sizeof(pfx) - 1;
	const char		*g, *slash;
	size_t			 gl;

	if (len < plen || memcmp(filter, pfx, plen) != 0)
		return (0);
	g = filter + plen;
	if ((slash = memchr(g, '/', len - plen)) == NULL)
		return (-1);
	gl = (size_t)(slash - g);
	if (gl == 0 || memchr(g, '+', gl) != NULL ||
	    memchr(g, '#', gl) != NULL || memchr(g, '\0', gl) != NULL)
		return (-1);
	if (len - plen - gl - 1 == 0)
		return (-1);
	if (group != NULL)
		*group = g;
	if (glen != NULL)
		*glen = gl;
	if (real != NULL)
		*real = slash + 1;
	if (rlen != NULL)
		*rlen = len - plen - gl - 1;
	return (1);
}

bool
topic_match(const char *filter, size_t flen, const char *topic, size_t tlen)
{
	size_t	 fp = 0, tp = 0, fe, te;

	if (tlen > 0 && topic[0] == '$' && flen > 0 &&
	    (filter[0] == '+' || filter[0] == '#'))
		return (false);
	/* fp/tp > flen/tlen: no level left (see struct topic_frame). */
	for (;;) {
		if (fp > flen)
			return (tp > tlen);
		fe = topic_level_end(filter, fp, flen);
		if (fe - fp == 1 && filter[fp] == '#')
			return (true);
		if (tp > tlen)
			return (false);
		te = topic_level_end(topic, tp, tlen);
		if (!(fe - fp == 1 && filter[fp] == '+') &&
		    (fe - fp != te - tp ||
		    memcmp(filter + fp, topic + tp, fe - fp) != 0))
			return (false);
		fp = fe + 1;
		tp = te + 1;
	}
}

/* The tree. */

static struct topic_node *
topic_node_new(struct topic_tree *t, struct topic_node *parent,
    const char *s, size_t len, uint32_t hash)
{
	struct topic_node	*n;

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

static bool
topic_node_is_empty(const struct topic_node *n)
{
	return (n->subs.n == 0 && n->groups == NULL && n->kids.n == 0 &&
	    n->plus == NULL && n->hash == NULL);
}

static void
topic_node_free(struct topic_node *n)
{
	struct topic_group	*g;

	while ((g = n->groups) != NULL) {
		n->groups = g->next;
		topic_subs_clear(&g->members);
		free(g);
	}
	topic_subs_clear(&n->subs);
	topic_kids_clear(&n->kids);
	free(n);
}

struct topic_tree *
topic_tree_new(void)
{
	struct topic_tree	*t;

	t = xcalloc(1, sizeof(*t));
	t->root = topic_node_new(t, NULL, "", 0, 0);
	return (t);
}

void
topic_tree_free(struct topic_tree *t)
{
	struct topic_node	**st, *n;
	size_t			 nst = 0, cap = 64, i, nslots;

	if (t == NULL)
		return;
	/* Iterative: a filter may be thousands of levels deep. */
	st = xreallocarray(NULL, cap, sizeof(*st));
	st[nst++] = t->root;
	while (nst > 0) {
		n = st[--nst];
		nslots = topic_kids_nslots(&n->kids);
		if (cap - nst < nslots + 2) {
			cap = 2 * (nst + nslots + 2);
			st = xreallocarray(st, cap, sizeof(*st));
		}
		for (i = 0; i < nslots; i++)
			if (topic_kids_at(&n->kids, i) != NULL)
				st[nst++] = (struct topic_node *)
				    topic_kids_at(&n->kids, i);
		if (n->plus != NULL)
			st[nst++] = n->plus;
		if (n->hash != NULL)
			st[nst++] = n->hash;
		topic_node_free(n);
	}
	free(st);
	free(t);
}

/* Returns the node of filter f (no $share prefix), creating the path if
 * create is set, else NULL when a level is missing. */
static struct topic_node *
topic_tree_path(struct topic_tree *t, const char *f, size_t flen,
    bool create)
{
	struct topic_node	*n = t->root, **wild;
	struct topic_key	*k;
	size_t			 pos, end, l;
	uint32_t		 h;

	for (pos = 0; pos <= flen; pos = end + 1) {
		end = topic_level_end(f, pos, flen);
		l = end - pos;
		wild = NULL;
		if (l == 1 && f[pos] == '+')
			wild = &n->plus;
		else if (l == 1 && f[pos] == '#')
			wild = &n->hash;
		if (wild != NULL) {
			if (*wild == NULL && !create)
				return (NULL);
			if (*wild == NULL)
				*wild = topic_node_new(t, n, f + pos, 1, 0);
			n = *wild;
			continue;
		}
		h = topic_hash_level(f + pos, l);
		k = topic_kids_find(&n->kids, TOPIC_NODE_OFF, f + pos, l, h);
		if (k == NULL && !create)
			return (NULL);
		if (k == NULL) {
			k = &topic_node_new(t, n, f + pos, l, h)->key;
			topic_kids_add(&n->kids, k);
		}
		n = (struct topic_node *)k;
	}
	return (n);
}

static struct topic_group *
topic_node_group(struct topic_node *n, const char *name, size_t len,
    struct topic_group ***prevp)
{
	struct topic_group	*g, **prev;

	for (prev = &n->groups; (g = *prev) != NULL; prev = &g->next)
		if (strlen(g->name) == len && memcmp(g->name, name, len) == 0)
			break;
	if (prevp != NULL)
		*prevp = prev;
	return (g);
}

/* Frees n and its ancestors while they hold nothing. */
static void
topic_tree_prune(struct topic_tree *t, struct topic_node *n)
{
	struct topic_node	*p;

	while (n != t->root && topic_node_is_empty(n)) {
		p = n->parent;
		if (p->plus == n)
			p->plus = NULL;
		else if (p->hash == n)
			p->hash = NULL;
		else
			topic_kids_del(&p->kids, &n->key);
		topic_node_free(n);
		t->nodes--;
		n = p;
	}
}

/* Splits filter into group (glen 0 if not shared) and real filter. */
static int
topic_split(const char *filter, size_t len, const char **group, size_t *glen,
    const char **f, size_t *flen)
{
	int	 rc;

	*glen = 0;
	if ((rc = topic_parse_shared(filter, len, group, glen, f, flen)) == -1)
		return (-1);
	if (rc == 0) {
		*f = filter;
		*flen = len;
	}
	if (len > TOPIC_MAX_LEN || !is_topic_filter(*f, *flen))
		return (-1);
	return (0);
}

int
topic_tree_add(struct topic_tree *t, const char *filter, size_t len,
    void *owner, uint64_t data)
{
	struct topic_node	*n;
	struct topic_group	*g, **prev;
	const char		*group = NULL, *f;
	size_t			 glen, flen;
	int			 rc;

	if (topic_split(filter, len, &group, &glen, &f, &flen) == -1)
		return (-1);
	n = topic_tree_path(t, f, flen, true);
	if (glen == 0)
		rc = topic_subs_put(&n->subs, owner, data);
	else {
		if ((g = topic_node_group(n, group, glen, &prev)) == NULL) {
			g = xcalloc(1, sizeof(*g) + glen + 1);
			memcpy(g->name, group, glen);
			*prev = g;
		}
		rc = topic_subs_put(&g->members, owner, data);
	}
	t->count += (size_t)rc;
	return (rc);
}

int
topic_tree_remove(struct topic_tree *t, const char *filter, size_t len,
    void *owner)
{
	struct topic_node	*n;
	struct topic_group	*g, **prev;
	const char		*group = NULL, *f;
	size_t			 glen, flen;
	int			 rc;

	if (topic_split(filter, len, &group, &glen, &f, &flen) == -1)
		return (-1);
	if ((n = topic_tree_path(t, f, flen, false)) == NULL)
		return (0);
	if (glen == 0)
		rc = topic_subs_del(&n->subs, owner);
	else {
		if ((g = topic_node_group(n, group, glen, &prev)) == NULL)
			return (0);
		rc = topic_subs_del(&g->members, owner);
		if (g->members.n == 0) {
			*prev = g->next;
			free(g);
		}
	}
	t->count -= (size_t)rc;
	topic_tree_prune(t, n);
	return (rc);
}

static void
topic_node_report(struct topic_node *n, topic_match_fn fn, void *arg)
{
	struct topic_group	*g;

	if (n->subs.n > 0)
		fn(topic_subs_v(&n->subs), n->subs.n, false, NULL, NULL, arg);
	for (g = n->groups; g != NULL; g = g->next)
		fn(topic_subs_v(&g->members), g->members.n, true, g->name,
		    &g->rr, arg);
}

static void
topic_stack_push(struct topic_frame **st, size_t *nst, size_t *cap,
    struct topic_frame *onstack, struct topic_node *n, size_t pos)
{
	if (*nst == *cap) {
		*cap *= 2;
		if (*st == onstack) {
			*st = xreallocarray(NULL, *cap, sizeof(**st));
			memcpy(*st, onstack, *nst * sizeof(**st));
		} else
			*st = xreallocarray(*st, *cap, sizeof(**st));
	}
	(*st)[*nst].n = n;
	(*st)[*nst].pos = pos;
	(*nst)++;
}

void
topic_tree_match(struct topic_tree *t, const char *topic, size_t len,
    topic_match_fn fn, void *arg)
{
	struct topic_frame	 buf[TOPIC_STACK], *st = buf;
	struct topic_node	*n;
	struct topic_key	*k;
	size_t			 nst = 0, cap = TOPIC_STACK, pos, end;
	bool			 dollar = len > 0 && topic[0] == '$';
	bool			 wild;

	/* Depth first with an explicit stack: each frame is a node whose
	 * filter matched the topic's levels before pos. */
	topic_stack_push(&st, &nst, &cap, buf, t->root, 0);
	while (nst > 0) {
		nst--;
		n = st[nst].n;
		pos = st[nst].pos;
		if (pos > len) {
			/* All levels used: the node, and its '#' child
			 * ("a/#" matches "a"). */
			topic_node_report(n, fn, arg);
			if (n->hash != NULL)
				topic_node_report(n->hash, fn, arg);
			continue;
		}
		end = topic_level_end(topic, pos, len);
		/* Wildcards at the first level do not match "$..." topics. */
		wild = !(dollar && n == t->root);
		if (wild && n->hash != NULL)
			topic_node_report(n->hash, fn, arg);
		if (wild && n->plus != NULL)
			topic_stack_push(&st, &nst, &cap, buf, n->plus,
			    end + 1);
		if (n->kids.n == 0)
			continue;
		k = topic_kids_find(&n->kids, TOPIC_NODE_OFF, topic + pos,
		    end - pos, topic_hash_level(topic + pos, end - pos));
		if (k != NULL)
			topic_stack_push(&st, &nst, &cap, buf,
			    (struct topic_node *)k, end + 1);
	}
	if (st != buf)
		free(st);
}

size_t
topic_tree_count(const struct topic_tree *t)
{
	return (t->count);
}

size_t
topic_tree_nodes(const struct topic_tree *t)
{
	return (t->nodes);
}
