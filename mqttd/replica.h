/* SPDX-License-Identifier: MIT */
/*
 * replica.c: replicated queues (issue 8), mqttd's part: copies of this
 * node's persistent-session store requests to their replica nodes
 * (through clusterd), the copies other nodes send written to our storaged,
 * and a replica copy handed to a dead owner's successor.  The design is in
 * docs/clustering.md, "Replicated queues".
 */
#ifndef MQTTD_REPLICA_H
#define MQTTD_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/ipc_msg.h"

struct durable_wait;

struct replica_stats {
	uint64_t	writes;		/* copies sent to clusterd */
	uint64_t	acked;		/* ... stored on every replica */
	uint64_t	under;		/* ... a replica node was gone */
	uint64_t	errors;		/* ... a replica could not store */
	uint64_t	applied;	/* other nodes' copies stored here */
	uint64_t	apply_errors;
	uint64_t	handovers;	/* replica copies handed over */
	uint64_t	handover_msgs;
};

/* True when writes are replicated: cluster.replication_factor >= 2 and
 * this node runs in a cluster of several nodes. */
bool	is_replica_on(void);
/* The store owner name of node's replica copies: "n" + 16 hex digits. */
void	replica_owner_name(uint64_t node, char *out, size_t outlen);

/*
 * Copies of this node's store requests (durable.c calls them right after
 * the storelink request, so that they go out in the same order).  The
 * arguments are borrowed for the call.  w (may be NULL) is a publisher's
 * wait: it is released once every replica stored the copy, or a replica
 * node is gone (under-replicated, counted), or with IPC_STORE_E_IO when a
 * replica failed to store it.
 */
void	replica_session_put(const struct ipc_store_session *v,
	    struct durable_wait *w);
void	replica_session_del(const char *cid, size_t len);
void	replica_subs(unsigned type, const struct ipc_store_subs *v);
void	replica_append(const struct ipc_store_append *v,
	    struct durable_wait *w);
void	replica_ack(const char *cid, size_t len, uint64_t seq);

/* Another node's copy (a REPL delivery id from node `from`): stored under
 * its owner name, then answered with clusterlink_deliver_done(). */
void	replica_apply(uint64_t id, uint64_t from,
	    const struct ipc_store_body *body);
/* IPC_SESSION_TAKEOVER with t->replica set: hand our copy of node
 * t->replica's session t->client_id to node t->to, then delete it.
 * Borrows t for the call. */
void	replica_handover(const struct ipc_takeover *t);

void	replica_stats(struct replica_stats *st);
void	replica_free(void);

#endif
