/* SPDX-License-Identifier: MIT */
/*
 * clusterlink.c: mqttd's link to clusterd for everything between nodes
 * (issue 4; docs/clustering.md, "Routing and forwarding").
 *
 * - Local routes: the broker calls clusterlink_route_ref()/unref() for
 *   every subscription added or removed; clusterd is told (batched, once
 *   per loop round) when a filter gets its first local subscriber or loses
 *   its last, and the whole set again whenever clusterd (re)starts.
 * - Remote routes: clusterd pushes every other node's filters; each one
 *   becomes a struct cl_route handed to the route_add callback (the broker
 *   puts it in its subscription tree) and taken back with route_del.  So a
 *   publish is matched against other nodes' routes with no round trip.
 * - Forwards: clusterlink_forward() sends a message to other nodes; a
 *   reliable one is kept until clusterd answers (its callback runs once
 *   every target node's mqttd has it durably, or the node is gone) and is
 *   sent again, in order, if clusterd restarts.  Past max_forwards or
 *   max_bytes outstanding, clusterlink_would_block() is true: the caller
 *   stops reading from publishers until the unblock callback.
 * - Deliveries: messages from other nodes come to the deliver callback; a
 *   reliable one is answered with clusterlink_deliver_done() once handed
 *   over (durably).
 * - Cluster state (majority, joined) for G3 and discovery, and session
 *   ownership (claims, takeover, hand-over).
 *
 * Nothing here blocks; everything runs on the caller's libevent loop, and
 * callbacks run from it, never from inside the clusterlink_* call that
 * caused them.  clusterd absent or restarting changes nothing for clients
 * (G4): requests wait, bounded.
 */
#ifndef MQTTD_CLUSTERLINK_H
#define MQTTD_CLUSTERLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/ipc_msg.h"

struct event_base;
struct clusterlink;

/* One filter of another node, as the caller's tree holds it. */
struct cl_route {
	struct cl_route	*hnext;		/* clusterlink's */
	struct cl_route	*nnext;		/* clusterlink's: same node */
	struct cl_route	*nprev;		/* clusterlink's */
	uint64_t	 node;
	uint32_t	 reset_gen;	/* clusterlink's */
	void		*data;		/* the caller's */
	size_t		 len;
	char		 filter[];	/* NUL-terminated, "$share/G/F" kept */
};

/* rc is IPC_FWD_* (the worst answer of the target nodes). */
typedef void	(*clusterlink_cb)(void *arg, int rc);
/* rc is IPC_CLAIM_*; prev the previous owner node (0 = none). */
typedef void	(*clusterlink_claim_cb)(void *arg, int rc, uint64_t prev);

struct clusterlink_opts {
	const char	*endpoint;	/* clusterd's, conf_ipc_endpoint() */
	const char	*nodename;
	size_t		 max_forwards;	/* 0 = CLUSTERLINK_MAX_FORWARDS */
	size_t		 max_bytes;	/* 0 = CLUSTERLINK_MAX_BYTES */
	void		*arg;
	/* Another node's route appeared or went away (r valid until
	 * route_del returns). */
	void	(*route_add)(void *arg, struct cl_route *r);
	void	(*route_del)(void *arg, struct cl_route *r);
	/*
	 * A message from node `from` for this node: to every ordinary
	 * subscriber (IPC_FWD_PLAIN), to one member of a shared group
	 * (IPC_FWD_SHARED, t->filter), stored as retained (IPC_FWD_RETAIN).
	 * Everything is borrowed for the call.  id != 0: call
	 * clusterlink_deliver_done(id) once handed over durably.
	 */
	void	(*deliver)(void *arg, uint64_t id, uint64_t from,
		    const struct ipc_fwd_target *t, uint32_t nt,
		    const struct ipc_store_body *body);
	/* IPC_CS_* flags changed. */
	void	(*state)(void *arg, uint8_t flags);
	/* clusterlink_would_block() turned false. */
	void	(*unblock)(void *arg);
	/* clusterd answered (up) or went silent. */
	void	(*link)(void *arg, bool up);
	/* Another node owns client_id now: close its connection and hand
	 * the session over with clusterlink_xfer() (t borrowed). */
	void	(*takeover)(void *arg, const struct ipc_takeover *t);
	/* A session handed over to this node, chunk by chunk (borrowed). */
	void	(*xfer)(void *arg, const struct ipc_xfer *x);
	/* IPC_REPLICA_RESYNC: copy every persistent session afresh. */
	void	(*resync)(void *arg);
};

#define CLUSTERLINK_MAX_FORWARDS	65536
#define CLUSTERLINK_MAX_BYTES		(64 * 1024 * 1024)
#define CLUSTERLINK_CLAIM_MS		5000	/* a claim fails after */

/*
 * Returns a new link to clusterd at o->endpoint on base; it connects in
 * the background and reconnects on its own.  Borrows base and o's strings
 * until clusterlink_free().  NULL on error (logged).
 */
struct clusterlink *clusterlink_new(struct event_base *base,
		    const struct clusterlink_opts *o);
/*
 * Closes the link.  Outstanding requests are dropped without their
 * callbacks; route_del is not called.  NULL does nothing.
 */
void	clusterlink_free(struct clusterlink *cl);

bool	is_clusterlink_up(const struct clusterlink *cl);
/* The last IPC_CS_* flags clusterd sent (IPC_CS_MAJORITY until told). */
uint8_t	clusterlink_state(const struct clusterlink *cl);
/* This node's id (0 until clusterd told it). */
uint64_t clusterlink_node_id(const struct clusterlink *cl);
/* Number of other nodes' routes held. */
size_t	clusterlink_nroutes(const struct clusterlink *cl);

/* A local subscription to filter was added / removed (any session). */
void	clusterlink_route_ref(struct clusterlink *cl, const char *filter,
	    size_t len);
void	clusterlink_route_unref(struct clusterlink *cl, const char *filter,
	    size_t len);

/*
 * Targets of one publish: gathered while matching, then forwarded.
 * clusterlink_targets_add() adds r's node as a PLAIN target (once per
 * node) or, shared, (node, r->filter) as a SHARED one.
 */
struct cl_targets {
	struct ipc_fwd_target	*v;
	uint32_t		 n;
	uint32_t		 cap;
};
void	clusterlink_targets_add(struct cl_targets *t, const struct cl_route *r,
	    bool shared);
/* Adds every other node as a RETAIN target. */
void	clusterlink_targets_retain(struct cl_targets *t);
void	clusterlink_targets_reset(struct cl_targets *t);
void	clusterlink_targets_free(struct cl_targets *t);

/*
 * Forwards body to targets (both borrowed, copied).  reliable: kept and
 * sent again until clusterd answers, then cb(arg, rc) if cb is not NULL;
 * otherwise sent once (QoS 0) and dropped when clusterd is away.
 */
void	clusterlink_forward(struct clusterlink *cl,
	    const struct ipc_fwd_target *t, uint32_t nt,
	    const struct ipc_store_body *body, bool reliable,
	    clusterlink_cb cb, void *arg);
bool	clusterlink_would_block(const struct clusterlink *cl);
/* A delivery (deliver callback, id != 0) is handed over; rc IPC_FWD_*. */
void	clusterlink_deliver_done(struct clusterlink *cl, uint64_t id, int rc);

/*
 * Makes this node the owner of client_id (copied).  cb runs once the
 * claim is committed and any session the previous owner handed over has
 * arrived (xfer callback, before cb), with IPC_CLAIM_OK; IPC_CLAIM_NO_QUORUM
 * in a minority (unless local, for allow_register_during_netsplit);
 * IPC_CLAIM_ERROR when clusterd does not answer within
 * CLUSTERLINK_CLAIM_MS.  When this node is not in a cluster of several
 * nodes, cb runs with IPC_CLAIM_OK at once (on the next loop round).
 */
void	clusterlink_claim(struct clusterlink *cl, const char *client_id,
	    size_t len, bool local, clusterlink_claim_cb cb, void *arg);
/*
 * Asks clusterd (once, when it is up) whether this node still owns the
 * persistent session client_id (copied), loaded at start-up: clusterd
 * answers with IPC_SESSION_TAKEOVER (the takeover callback) for those
 * another node owns now (issue 8).
 */
void	clusterlink_check(struct clusterlink *cl, const char *client_id,
	    size_t len);
/* One chunk of a session handed over (x borrowed; x->node = receiver). */
void	clusterlink_xfer(struct clusterlink *cl, const struct ipc_xfer *x);

struct clusterlink_stats {
	uint64_t	forwards;	/* clusterlink_forward() calls */
	uint64_t	forwards_acked;
	uint64_t	forwards_dropped; /* QoS 0 with clusterd away */
	uint64_t	resent;		/* after a clusterd restart */
	uint64_t	delivers;	/* messages from other nodes */
	uint64_t	routes_local;	/* filters with local subscribers */
	uint64_t	routes_remote;
	uint64_t	claims;
	uint64_t	claims_failed;
	uint64_t	restarts;	/* clusterd boot id changes seen */
	uint64_t	blocked;
	uint64_t	outstanding;
	uint64_t	outstanding_bytes;
};

void	clusterlink_get_stats(const struct clusterlink *cl,
	    struct clusterlink_stats *s);

#endif
