/* SPDX-License-Identifier: MIT */
/*
 * Topic trees: the subscription tree (topic.c: which subscribers match a
 * topic name) and the retained-message tree (retain.c: which retained
 * messages match a topic filter).  Cost of a match grows with the depth of
 * the topic and the number of matching entries, not with the number of
 * unrelated subscriptions (children are hashed per level).
 */
#ifndef MQTTD_TOPIC_H
#define MQTTD_TOPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One subscriber on one filter: an opaque owner and its options. */
struct topic_sub {
	void		*owner;		/* borrowed */
	uint64_t	 data;		/* the caller's (options, sub id) */
};

struct topic_tree;

/*
 * Called once per matching tree node with its subscribers: for ordinary
 * subscriptions shared is false and every entry receives the message; for a
 * shared group ($share/G/filter) shared is true, subs are the group's
 * members on that filter, and the caller picks one, using *rr (the group's
 * round-robin cursor, which it may advance).  subs is valid only during
 * the call and the callback must not change the tree.
 */
typedef void	(*topic_match_fn)(const struct topic_sub *subs, size_t nsubs,
		    bool shared, const char *group, uint32_t *rr, void *arg);

/* Returns a new empty tree; free with topic_tree_free(). */
struct topic_tree *topic_tree_new(void);
void	topic_tree_free(struct topic_tree *t);
/*
 * Adds owner's subscription to filter (a full filter, "$share/G/f" allowed)
 * or replaces its data if owner already has one on the same filter.
 * Returns 1 if added, 0 if replaced, -1 if the filter is invalid.
 */
int	topic_tree_add(struct topic_tree *t, const char *filter, size_t len,
	    void *owner, uint64_t data);
/* Removes it; returns 1 if it existed, 0 if not, -1 if invalid. */
int	topic_tree_remove(struct topic_tree *t, const char *filter, size_t len,
	    void *owner);
/* Calls fn for each tree node whose filter matches topic (a topic name). */
void	topic_tree_match(struct topic_tree *t, const char *topic, size_t len,
	    topic_match_fn fn, void *arg);
/* Number of subscriptions in the tree. */
size_t	topic_tree_count(const struct topic_tree *t);

/*
 * Splits "$share/GROUP/FILTER".  Returns 1 and sets group/filter slices if
 * shared, 0 if filter is not a shared subscription, -1 if it is malformed
 * (empty group, group with + or #, no filter).
 */
int	topic_parse_shared(const char *filter, size_t len, const char **group,
	    size_t *glen, const char **real, size_t *rlen);
/*
 * True if filter matches topic (MQTT rules: + one level, # the rest and the
 * parent, wildcards at the first level do not match topics starting with $).
 * filter must not be a $share filter.
 */
bool	topic_match(const char *filter, size_t flen, const char *topic,
	    size_t tlen);
/* Number of tree nodes other than the root (for tests and benchmarks). */
size_t	topic_tree_nodes(const struct topic_tree *t);

/*
 * Hashed children of one tree level (topic.c), shared by both trees; not for
 * other callers.  Every child struct begins with a struct topic_key and its
 * level's bytes follow the child struct, off bytes after the key.  A single
 * child is held inline, up to TOPIC_KIDS_SMALL children sit in a plain array
 * scanned in order, past that v is an open-addressing table (linear probing,
 * power-of-two cap).  The table borrows the children: freeing them is the
 * tree's job.
 */
#define TOPIC_KIDS_SMALL	8

struct topic_key {
	uint32_t		 hash;	/* topic_hash_level() of the bytes */
	uint32_t		 len;
};

struct topic_kids {
	union {
		struct topic_key **v;	/* cap > 1; NULL slots in a table */
		struct topic_key *one;	/* cap == 1: the only child */
	}			 u;	/* borrowed entries */
	uint32_t		 n;
	uint32_t		 cap;
};

/* Hash of one level's bytes (seeded once per process). */
uint32_t topic_hash_level(const char *s, size_t len);
/* Returns the child whose level is s/len (hash from topic_hash_level()),
 * or NULL.  Borrowed. */
struct topic_key *topic_kids_find(const struct topic_kids *k, size_t off,
	    const char *s, size_t len, uint32_t hash);
/* Adds key, which must not be present yet.  Borrows key. */
void	topic_kids_add(struct topic_kids *k, struct topic_key *key);
/* Removes key, which must be present. */
void	topic_kids_del(struct topic_kids *k, struct topic_key *key);
/* Frees the table (not the children) and empties it. */
void	topic_kids_clear(struct topic_kids *k);
/* Iterating: topic_kids_at(k, i) for i < topic_kids_nslots(k), skipping
 * NULL entries. */
static inline size_t
topic_kids_nslots(const struct topic_kids *k)
{
	return (k->cap <= TOPIC_KIDS_SMALL ? k->n : k->cap);
}

static inline struct topic_key *
topic_kids_at(const struct topic_kids *k, size_t i)
{
	return (k->cap == 1 ? k->u.one : k->u.v[i]);
}

/* Retained messages keyed by topic name (retain.c). */
struct retain_tree;
typedef void	(*retain_match_fn)(void *value, void *arg);

/* Returns a new empty tree; free with retain_tree_free(), which calls
 * free_value (may be NULL) on each value still held. */
struct retain_tree *retain_tree_new(void (*free_value)(void *));
void	retain_tree_free(struct retain_tree *t);
/*
 * Stores value (owned by the tree from now) for topic, or deletes the entry
 * when value is NULL.  Returns the previous value, which the caller now
 * owns (NULL if none).
 */
void	*retain_tree_set(struct retain_tree *t, const char *topic, size_t len,
	    void *value);
/* Returns the value for topic, or NULL.  Borrowed. */
void	*retain_tree_get(struct retain_tree *t, const char *topic, size_t len);
/* Calls fn for every value whose topic matches filter (not $share). */
void	retain_tree_match(struct retain_tree *t, const char *filter,
	    size_t len, retain_match_fn fn, void *arg);
/* Calls fn for every value (for snapshots). */
void	retain_tree_walk(struct retain_tree *t, retain_match_fn fn, void *arg);
size_t	retain_tree_count(const struct retain_tree *t);
/* Number of tree nodes other than the root (for tests). */
size_t	retain_tree_nodes(const struct retain_tree *t);

#endif
