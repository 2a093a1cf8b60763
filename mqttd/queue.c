/* SPDX-License-Identifier: MIT */
/*
 * A session's queue: pending deliveries in order, and the in-flight window
 * with packet-id allocation that never reuses an id still in flight.
 */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "mqttd/mqttd.h"

/*
 * Entries are allocated for every QoS 1/2 delivery; keep a few freed ones
 * so the hot path does not go through malloc each time.
 */
#define QUEUE_FREELIST_MAX	4096

static struct queue_entry	*queue_freelist;
static size_t			 queue_nfree;

void
queue_init(struct queue *q)
{
	TAILQ_INIT(&q->inflight);
	TAILQ_INIT(&q->pending);
	q->ninflight = q->npending = 0;
	q->seq = 0;
	q->nstored = 0;
	q->next_pid = 1;
}

void
queue_clear(struct queue *q)
{
	struct queue_entry	*e;

	while ((e = TAILQ_FIRST(&q->inflight)) != NULL) {
		TAILQ_REMOVE(&q->inflight, e, link);
		queue_entry_free(e);
	}
	while ((e = TAILQ_FIRST(&q->pending)) != NULL) {
		TAILQ_REMOVE(&q->pending, e, link);
		queue_entry_free(e);
	}
	q->ninflight = q->npending = 0;
	q->nstored = 0;
}

struct queue_entry *
queue_entry_new(struct msg *m, uint8_t qos, bool retain,
    const uint32_t *subids, int nsubids)
{
	struct queue_entry	*e;
	int			 i;

	if ((e = queue_freelist) != NULL) {
		queue_freelist = *(struct queue_entry **)e;
		queue_nfree--;
	} else
		e = xmalloc(sizeof(*e));
	e->msg = msg_ref(m);
	e->sseq = 0;
	e->seq = 0;
	e->pid = 0;
	e->qos = qos;
	e->state = QUEUE_PENDING;
	e->retain = retain;
	if (nsubids > QUEUE_MAX_SUBIDS)
		nsubids = QUEUE_MAX_SUBIDS;
	for (i = 0; i < nsubids; i++)
		e->subids[i] = subids[i];
	e->nsubids = nsubids > 0 ? (uint8_t)nsubids : 0;
	return (e);
}

void
queue_entry_free(struct queue_entry *e)
{
	if (e == NULL)
		return;
	msg_unref(e->msg);
	if (queue_nfree < QUEUE_FREELIST_MAX) {
		*(struct queue_entry **)e = queue_freelist;
		queue_freelist = e;
		queue_nfree++;
	} else
		free(e);
}

void
queue_push(struct queue *q, struct queue_entry *e)
{
	e->state = QUEUE_PENDING;
	TAILQ_INSERT_TAIL(&q->pending, e, link);
	q->npending++;
}

struct queue_entry *
queue_pop(struct queue *q)
{
	struct queue_entry	*e;

	if ((e = TAILQ_FIRST(&q->pending)) == NULL)
		return (NULL);
	TAILQ_REMOVE(&q->pending, e, link);
	q->npending--;
	return (e);
}

bool
is_queue_pid_used(const struct queue *q, uint16_t pid)
{
	const struct queue_entry	*e;

	TAILQ_FOREACH(e, &q->inflight, link)
		if (e->pid == pid)
			return (true);
	return (false);
}

uint16_t
queue_alloc_pid(struct queue *q)
{
	const struct queue_entry	*oldest;
	uint16_t			 pid;

	/*
	 * Ids go 1, 2, ... 65535, 1, ... and the in-flight list is in
	 * allocation order, so the next id can only be in use when the
	 * oldest in-flight entry was given its id 65535 or more
	 * allocations ago.  Only then search.
	 */
	for (;;) {
		pid = q->next_pid;
		q->next_pid = pid == 65535 ? 1 : pid + 1;
		q->seq++;
		oldest = TAILQ_FIRST(&q->inflight);
		/* Ids derived from store seqs (queue_start()) break that
		 * order: then always check. */
		if (q->nstored == 0 &&
		    (oldest == NULL || q->seq - oldest->seq < 65535))
			return (pid);
		if (!is_queue_pid_used(q, pid))
			return (pid);
	}
}

void
queue_start(struct queue *q, struct queue_entry *e)
{
	uint16_t	pid;

	/* The caller must keep the window under 65535 (receive maximum). */
	if (e->sseq != 0) {
		/*
		 * A stored entry's packet id follows from its store seq, so
		 * that it is the same after a restart ([MQTT-4.4.0-1]);
		 * consecutive seqs of a session give distinct ids.
		 */
		pid = (uint16_t)(e->sseq % 65535 + 1);
		e->pid = is_queue_pid_used(q, pid) ? queue_alloc_pid(q) : pid;
		q->nstored++;
	} else
		e->pid = queue_alloc_pid(q);
	e->seq = q->seq;
	e->state = e->qos == 2 ? QUEUE_WAIT_PUBREC : QUEUE_WAIT_PUBACK;
	TAILQ_INSERT_TAIL(&q->inflight, e, link);
	q->ninflight++;
}

struct queue_entry *
queue_find(struct queue *q, uint16_t pid)
{
	struct queue_entry	*e;

	/* Acknowledgements come in order: the head is the usual answer. */
	TAILQ_FOREACH(e, &q->inflight, link)
		if (e->pid == pid)
			return (e);
	return (NULL);
}

void
queue_done(struct queue *q, struct queue_entry *e)
{
	TAILQ_REMOVE(&q->inflight, e, link);
	q->ninflight--;
	if (e->sseq != 0)
		q->nstored--;
	queue_entry_free(e);
}
