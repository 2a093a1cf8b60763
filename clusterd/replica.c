/* SPDX-License-Identifier: MIT */
/*
 * Replicated queues (issue 8), clusterd's part: where a session's replicas
 * live, and the split of a replica write into one copy per replica node.
 *
 * Placement is rendezvous hashing: every member other than the owner gets
 * a score from (client id, member id), and the replication_factor - 1
 * highest scores hold the replicas.  Every node computes the same answer
 * from the same member list (Raft's), nothing is stored, sessions spread
 * evenly, and a member joining or leaving moves only the sessions whose
 * top scores it changes.
 */
#include <stdlib.h>
#include <string.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define REPLICA_RESYNC_MS	1000

uint64_t
replica_score(const char *cid, size_t len, uint64_t node)
{
	uint64_t	h = 14695981039346656037ULL;
	size_t		i;

	for (i = 0; i < len; i++) {
		h ^= (uint8_t)cid[i];
		h *= 1099511628211ULL;
	}
	/* splitmix64 of the mix, so that close node ids score apart. */
	h ^= node;
	h += 0x9e3779b97f4a7c15ULL;
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
	return (h ^ (h >> 31));
}

size_t
replica_pick(const uint64_t *members, size_t n, uint64_t owner,
    const char *cid, size_t len, size_t want, uint64_t *out)
{
	uint64_t	score[REPLICA_MAX];
	uint64_t	s;
	size_t		i, j, k = 0;

	if (want > REPLICA_MAX)
		want = REPLICA_MAX;
	for (i = 0; i < n; i++) {
		if (members[i] == owner || members[i] == 0)
			continue;
		s = replica_score(cid, len, members[i]);
		/* Insertion into the top `want`, highest first (ties: the
		 * lower id, so that the order is total). */
		for (j = k; j > 0 && (score[j - 1] < s || (score[j - 1] == s &&
		    out[j - 1] > members[i])); j--) {
			if (j < want) {
				score[j] = score[j - 1];
				out[j] = out[j - 1];
			}
		}
		if (j < want) {
			score[j] = s;
			out[j] = members[i];
			if (k < want)
				k++;
		}
	}
	return (k);
}

struct replica_members {
	uint64_t	*ids;
	size_t		 n;
	size_t		 cap;
};

static void
replica_member_cb(struct clusterd *cd, uint64_t id, const char *name,
    const char *address, void *arg)
{
	struct replica_members	*m = arg;

	(void)cd;
	(void)name;
	(void)address;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		m->ids = xreallocarray(m->ids, m->cap, sizeof(*m->ids));
	}
	m->ids[m->n++] = id;
}

size_t
replica_targets(struct clusterd *cd, uint64_t owner, const char *cid,
    size_t len, size_t want, uint64_t *out)
{
	struct replica_members	m = { 0 };
	size_t			n;

	membership_walk(cd, replica_member_cb, &m);
	n = replica_pick(m.ids, m.n, owner, cid, len, want, out);
	free(m.ids);
	return (n);
}

size_t
replica_nodes(struct clusterd *cd, uint64_t owner, const char *cid,
    size_t len, uint64_t *out)
{
	if (cd->conf.replication_factor < 2)
		return (0);
	return (replica_targets(cd, owner, cid, len,
	    (size_t)cd->conf.replication_factor - 1, out));
}

/* ------------------------------------------------ splitting writes */

static struct replica_copy *
replica_copy_for(struct replica_copies *c, uint64_t node)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		if (c->v[i].node == node)
			return (&c->v[i]);
	c->v = xreallocarray(c->v, c->n + 1, sizeof(*c->v));
	memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
	c->v[c->n].node = node;
	return (&c->v[c->n++]);
}

/* One copy of a single-session request to each replica of cid. */
static void
replica_split_one(struct clusterd *cd, const uint8_t *req, size_t len,
    struct ipc_bytes cid, struct replica_copies *c)
{
	uint64_t		 nodes[REPLICA_MAX];
	struct replica_copy	*rc;
	size_t			 i, n;

	n = replica_nodes(cd, cd->node_id, (const char *)cid.p, cid.len,
	    nodes);
	for (i = 0; i < n; i++) {
		rc = replica_copy_for(c, nodes[i]);
		buf_add(&rc->req, req, len);
	}
}

/* An APPEND: each replica node gets the body and its sessions' entries. */
static int
replica_split_append(struct clusterd *cd, const uint8_t *p, size_t len,
    struct replica_copies *c)
{
	struct ipc_store_append	 a, sub;
	struct replica_copy	*rc;
	uint64_t		 nodes[REPLICA_MAX];
	size_t			 i, k, n;

	if (ipc_dec_store_append(p, len, &a) == -1)
		return (-1);
	for (i = 0; i < a.ntargets; i++) {
		/* "\0" + client id: inbound QoS 2 ids, not replicated. */
		if (a.targets[i].client_id.len == 0 ||
		    a.targets[i].client_id.p[0] == 0)
			continue;
		n = replica_nodes(cd, cd->node_id,
		    (const char *)a.targets[i].client_id.p,
		    a.targets[i].client_id.len, nodes);
		for (k = 0; k < n; k++) {
			rc = replica_copy_for(c, nodes[k]);
			rc->targets = xreallocarray(rc->targets,
			    rc->ntargets + 1, sizeof(*rc->targets));
			rc->targets[rc->ntargets++] = a.targets[i];
		}
	}
	for (k = 0; k < c->n; k++) {
		rc = &c->v[k];
		if (rc->ntargets == 0)
			continue;
		sub = a;
		sub.ntargets = (uint32_t)rc->ntargets;
		sub.targets = rc->targets;
		buf_add_u16(&rc->req, IPC_STORE_APPEND);
		ipc_enc_store_append(&rc->req, &sub);
		free(rc->targets);
		rc->targets = NULL;
		rc->ntargets = 0;
	}
	ipc_store_free_append(&a);
	return (0);
}

int
replica_split(struct clusterd *cd, const struct ipc_store_body *body,
    struct replica_copies *c)
{
	struct ipc_store_session	s;
	struct ipc_store_subs		subs;
	struct ipc_store_ack		ack;
	struct rbuf			r;
	const uint8_t			*p;
	size_t				 len;
	uint16_t			 type;
	int				 rc = 0;

	memset(c, 0, sizeof(*c));
	rbuf_init(&r, body->payload.p, body->payload.len);
	type = rbuf_u16(&r);
	if (r.err)
		return (-1);
	p = body->payload.p + 2;
	len = body->payload.len - 2;
	switch (type) {
	case IPC_STORE_SESSION_PUT:
	case IPC_STORE_SESSION_DEL:
		if (ipc_dec_store_session(type, p, len, &s) == -1)
			return (-1);
		replica_split_one(cd, body->payload.p, body->payload.len,
		    s.s.client_id, c);
		ipc_store_free_session(&s);
		break;
	case IPC_STORE_SUB_PUT:
	case IPC_STORE_SUB_DEL:
		if (ipc_dec_store_subs(type, p, len, &subs) == -1)
			return (-1);
		replica_split_one(cd, body->payload.p, body->payload.len,
		    subs.s.client_id, c);
		ipc_store_free_subs(&subs);
		break;
	case IPC_STORE_ACK:
		if (ipc_dec_store_ack(p, len, &ack) == -1)
			return (-1);
		replica_split_one(cd, body->payload.p, body->payload.len,
		    ack.s.client_id, c);
		ipc_store_free_ack(&ack);
		break;
	case IPC_STORE_APPEND:
		rc = replica_split_append(cd, p, len, c);
		break;
	default:
		rc = -1;
	}
	if (rc == -1)
		replica_copies_free(c);
	return (rc);
}

void
replica_copies_free(struct replica_copies *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++) {
		buf_free(&c->v[i].req);
		free(c->v[i].targets);
	}
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------- resyncing */

void
replica_want_resync(struct clusterd *cd, const char *why)
{
	if (cd->conf.replication_factor < 2)
		return;
	if (cd->resync_at == 0)
		log_info("replica: %s: our sessions will be copied to their "
		    "replicas afresh", why);
	cd->resync_at = uv_now(cd->loop);
}

void
replica_tick(struct clusterd *cd)
{
	struct buf	b = BUF_INIT;

	if (cd->resync_at == 0 ||
	    uv_now(cd->loop) - cd->resync_at < REPLICA_RESYNC_MS ||
	    !is_route_mqttd_up(cd) || !is_membership_caught_up(cd))
		return;
	if (route_to_mqttd(cd, IPC_REPLICA_RESYNC, &b) == 0) {
		cd->resync_at = 0;
		cd->resyncs++;
	}
	buf_free(&b);
}
