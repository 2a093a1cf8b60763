/* SPDX-License-Identifier: MIT */
/*
 * Sessions: the table by client id, subscriptions, inbound QoS 2 state,
 * wills and the life cycle (takeover, expiry).  In memory in this issue.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/cluster.h"
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"

/*
 * Client ids are chosen by clients: a per-process random basis keeps them
 * from aiming at one hash chain.
 */
static uint32_t	session_hash_basis;

static uint32_t
session_hash(const char *s, size_t len)
{
	uint32_t	h;
	size_t		i;

	if (session_hash_basis == 0) {
		if (getrandom(&session_hash_basis, sizeof(session_hash_basis),
		    0) != sizeof(session_hash_basis))
			session_hash_basis = 2166136261u;
		session_hash_basis |= 1;	/* never 0 again */
	}
	h = session_hash_basis;			/* FNV-1a, seeded */

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return (h);
}

static void
session_grow(void)
{
	struct session	**tab, *s, *next;
	size_t		  cap, i, h;

	cap = broker->sess_cap ? broker->sess_cap * 2 : 1024;
	tab = xcalloc(cap, sizeof(*tab));
	for (i = 0; i < broker->sess_cap; i++) {
		for (s = broker->sess_tab[i]; s != NULL; s = next) {
			next = s->hnext;
			h = session_hash(s->client_id, s->id_len) & (cap - 1);
			s->hnext = tab[h];
			tab[h] = s;
		}
	}
	free(broker->sess_tab);
	broker->sess_tab = tab;
	broker->sess_cap = cap;
}

struct session *
session_find(const char *client_id, size_t len)
{
	struct session	*s;
	size_t		 h;

	if (broker->sess_cap == 0)
		return (NULL);
	h = session_hash(client_id, len) & (broker->sess_cap - 1);
	for (s = broker->sess_tab[h]; s != NULL; s = s->hnext)
		if (s->id_len == len && memcmp(s->client_id, client_id,
		    len) == 0)
			return (s);
	return (NULL);
}

struct session *
session_new(const char *client_id, size_t len)
{
	struct session	*s;
	size_t		 h;

	if (broker->nsessions >= broker->sess_cap / 4 * 3)
		session_grow();
	s = xcalloc(1, sizeof(*s));
	s->client_id = xstrndup(client_id, len);
	s->id_len = len;
	TAILQ_INIT(&s->subs);
	queue_init(&s->q);
	s->expiry = 0;
	h = session_hash(client_id, len) & (broker->sess_cap - 1);
	s->hnext = broker->sess_tab[h];
	broker->sess_tab[h] = s;
	broker->nsessions++;
	return (s);
}

static void
session_unlink(struct session *s)
{
	struct session	**sp;
	size_t		  h;

	h = session_hash(s->client_id, s->id_len) & (broker->sess_cap - 1);
	for (sp = &broker->sess_tab[h]; *sp != NULL; sp = &(*sp)->hnext) {
		if (*sp == s) {
			*sp = s->hnext;
			broker->nsessions--;
			return;
		}
	}
	fatalx("session: %s not in the table", s->client_id);
}

static void
session_free(struct session *s)
{
	struct sub	*sub;

	while ((sub = TAILQ_FIRST(&s->subs)) != NULL) {
		TAILQ_REMOVE(&s->subs, sub, link);
		topic_tree_remove(broker->subs, sub->filter, sub->len, s);
		cluster_sub_removed(sub->filter, sub->len);
		free(sub);
	}
	s->nsubs = 0;
	if (s->on_timers) {
		TAILQ_REMOVE(&broker->timers, s, timer_link);
		s->on_timers = false;
	}
	queue_clear(&s->q);
	msg_unref(s->will);
	free(s->qos2_in);
	free(s->client_id);
	free(s);
}

static void
session_publish_will(struct session *s)
{
	struct msg	*will = s->will;

	if (will == NULL)
		return;
	s->will = NULL;
	s->will_at = 0;
	durable_will_done(s);
	/* The will's Message Expiry Interval starts when it is published. */
	if (will->expiry_interval != 0)
		will->expire_at = broker_now() + will->expiry_interval;
	broker->stats.wills_published++;
	publish_msg(will, s);
	msg_unref(will);
}

void
session_end(struct session *s)
{
	struct sub	*sub;

	if (s->conn != NULL)
		fatalx("session: end of connected session %s", s->client_id);
	/* Out of storaged first: with its queue, QoS 2 ids and will. */
	durable_session_end(s);
	session_unlink(s);
	/* Its own subscriptions must not see its will. */
	while ((sub = TAILQ_FIRST(&s->subs)) != NULL) {
		TAILQ_REMOVE(&s->subs, sub, link);
		topic_tree_remove(broker->subs, sub->filter, sub->len, s);
		cluster_sub_removed(sub->filter, sub->len);
		free(sub);
	}
	s->nsubs = 0;
	session_publish_will(s);
	session_free(s);
}

void
session_detach(struct session *s, bool normal)
{
	int64_t	now = broker_now_ms();

	s->conn = NULL;
	if (normal) {
		msg_unref(s->will);
		s->will = NULL;
	}
	if (s->expiry == 0) {
		session_end(s);
		return;
	}
	if (s->will != NULL) {
		if (s->will_delay == 0)
			session_publish_will(s);
		else
			s->will_at = now + (int64_t)s->will_delay * 1000;
	}
	s->expire_at = s->expiry == MQTTD_EXPIRY_NEVER ? 0 :
	    now + (int64_t)s->expiry * 1000;
	session_update_timers(s);
	durable_session_detached(s);
}

void
session_update_timers(struct session *s)
{
	bool	want;

	if (s->conn != NULL) {
		s->will_at = 0;
		s->expire_at = 0;
	}
	want = s->will_at != 0 || s->expire_at != 0;
	if (want && !s->on_timers) {
		TAILQ_INSERT_TAIL(&broker->timers, s, timer_link);
		s->on_timers = true;
	} else if (!want && s->on_timers) {
		TAILQ_REMOVE(&broker->timers, s, timer_link);
		s->on_timers = false;
	}
}

void
session_sweep(int64_t now)
{
	struct session	*s, *next;

	TAILQ_FOREACH_SAFE(s, &broker->timers, timer_link, next) {
		if (s->will_at != 0 && now >= s->will_at)
			session_publish_will(s);
		if (s->expire_at != 0 && now >= s->expire_at) {
			log_debug("session %s expired", s->client_id);
			broker->stats.sessions_expired++;
			/*
			 * Ending s may publish a will that ends nothing else,
			 * so next stays valid.
			 */
			session_end(s);
			continue;
		}
		session_update_timers(s);
	}
}

int
session_subscribe(struct session *s, const char *filter, size_t len,
    uint8_t options, uint32_t subid)
{
	struct sub	*sub;
	uint64_t	 data;
	int		 rc;

	data = (uint64_t)options | ((uint64_t)subid << 8);
	if ((rc = topic_tree_add(broker->subs, filter, len, s, data)) == -1)
		return (-1);
	if (rc == 0) {
		TAILQ_FOREACH(sub, &s->subs, link) {
			if (sub->len == len &&
			    memcmp(sub->filter, filter, len) == 0) {
				sub->options = options;
				sub->subid = subid;
				return (0);
			}
		}
		/* The tree had it, the list did not: cannot happen. */
		fatalx("session: %s lost subscription %.*s", s->client_id,
		    (int)len, filter);
	}
	sub = xmalloc(sizeof(*sub) + len + 1);
	sub->subid = subid;
	sub->options = options;
	sub->len = (uint16_t)len;
	memcpy(sub->filter, filter, len);
	sub->filter[len] = '\0';
	TAILQ_INSERT_TAIL(&s->subs, sub, link);
	s->nsubs++;
	cluster_sub_added(filter, len);
	return (1);
}

int
session_unsubscribe(struct session *s, const char *filter, size_t len)
{
	struct sub	*sub;

	if (topic_tree_remove(broker->subs, filter, len, s) != 1)
		return (0);
	TAILQ_FOREACH(sub, &s->subs, link) {
		if (sub->len == len && memcmp(sub->filter, filter, len) == 0) {
			TAILQ_REMOVE(&s->subs, sub, link);
			s->nsubs--;
			cluster_sub_removed(filter, len);
			free(sub);
			break;
		}
	}
	return (1);
}

bool
has_session_qos2(const struct session *s, uint16_t pid)
{
	uint16_t	i;

	for (i = 0; i < s->nqos2_in; i++)
		if (s->qos2_in[i] == pid)
			return (true);
	return (false);
}

void
session_qos2_add(struct session *s, uint16_t pid)
{
	if (s->nqos2_in == s->qos2_cap) {
		s->qos2_cap = s->qos2_cap ? (s->qos2_cap >= 32768 ? 65535 :
		    s->qos2_cap * 2) : 4;
		s->qos2_in = xreallocarray(s->qos2_in, s->qos2_cap,
		    sizeof(*s->qos2_in));
	}
	if (s->nqos2_in < 65535)
		s->qos2_in[s->nqos2_in++] = pid;
}

bool
session_qos2_remove(struct session *s, uint16_t pid)
{
	uint16_t	i;

	for (i = 0; i < s->nqos2_in; i++) {
		if (s->qos2_in[i] == pid) {
			s->qos2_in[i] = s->qos2_in[--s->nqos2_in];
			return (true);
		}
	}
	return (false);
}

void
session_set_will(struct session *s, struct msg *will, uint32_t delay)
{
	msg_unref(s->will);
	s->will = will;
	s->will_delay = delay;
	s->will_at = 0;
}

void
session_walk(void (*fn)(struct session *, void *), void *arg)
{
	struct session	*s, *next;
	size_t		 i;

	for (i = 0; i < broker->sess_cap; i++) {
		for (s = broker->sess_tab[i]; s != NULL; s = next) {
			next = s->hnext;
			fn(s, arg);
		}
	}
}

void
session_free_all(void)
{
	struct session	*s;
	size_t		 i;

	for (i = 0; i < broker->sess_cap; i++) {
		while ((s = broker->sess_tab[i]) != NULL) {
			broker->sess_tab[i] = s->hnext;
			broker->nsessions--;
			if (s->conn != NULL)
				s->conn->sess = NULL;
			s->conn = NULL;
			session_free(s);
		}
	}
	free(broker->sess_tab);
	broker->sess_tab = NULL;
	broker->sess_cap = 0;
}
