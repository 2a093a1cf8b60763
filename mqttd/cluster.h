/* SPDX-License-Identifier: MIT */
/*
 * cluster.c: the broker's side of clustering (issue 4), on top of
 * clusterlink.c.  Other nodes' routes live in the broker's subscription
 * tree (broker->subs) next to local subscriptions, owned by a struct
 * cl_route and marked with CLUSTER_DATA_REMOTE in topic_sub.data, so that
 * one match finds both; shared groups then balance over local members and
 * remote nodes alike.  Messages from other nodes are delivered through
 * publish_remote(); the netsplit rules (G3) are is_cluster_allowed().
 * With no clusterd (or a cluster of one) everything here is a no-op and
 * costs one branch.
 */
#ifndef MQTTD_CLUSTER_H
#define MQTTD_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/ipc_msg.h"

struct msg;
struct topic_sub;
struct ipc_store_body;
struct buf;

/* topic_sub.data bit of another node's route (owner: struct cl_route). */
#define CLUSTER_DATA_REMOTE	(1ULL << 63)

static inline bool
is_cluster_remote(uint64_t data)
{
	return ((data & CLUSTER_DATA_REMOTE) != 0);
}

/* What a client asks for, for the netsplit rules. */
enum cluster_op {
	CLUSTER_OP_CONNECT,
	CLUSTER_OP_PUBLISH,
	CLUSTER_OP_SUBSCRIBE,
	CLUSTER_OP_UNSUBSCRIBE
};

/* Connects to clusterd (after broker_init and before the listeners
 * serve).  Returns 0, or -1 (logged: mqttd then runs without it). */
int	cluster_init(void);
void	cluster_free(void);
/* The link to clusterd, NULL without one (replica.c sends through it). */
struct clusterlink;
struct clusterlink *cluster_link(void);

/* A session subscribed to / unsubscribed from filter (any session). */
void	cluster_sub_added(const char *filter, size_t len);
void	cluster_sub_removed(const char *filter, size_t len);

/*
 * Publishing.  cluster_match_begin() before matching m; for every remote
 * route the match meets, cluster_match_remote() (shared: the group member
 * picked is that node).  cluster_match_end() forwards m to the nodes met,
 * and, when m is retained, its retain to every node.  For QoS >= 1 done is
 * called once every target node has the message durably (rc IPC_FWD_*),
 * and 1 is returned; 0 when nothing waits (no node, or QoS 0).
 */
void	cluster_match_begin(void);
void	cluster_match_remote(const struct topic_sub *sub, bool shared);
int	cluster_match_end(const struct msg *m, void (*done)(void *, int),
	    void *arg);
/* True when there are other nodes' routes at all; how many. */
bool	has_cluster_routes(void);
size_t	cluster_nroutes(void);
/* Back-pressure: stop reading from publishers while true. */
bool	cluster_would_block(void);

/* G3: may op be served now?  (Majority, or the knob for op is on.) */
bool	is_cluster_allowed(enum cluster_op op);
/* False while discovery has not joined this node to a cluster. */
bool	is_cluster_joined(void);
/* True while this node runs in a cluster of several nodes. */
bool	is_cluster_clustered(void);

/*
 * Message bodies between nodes (ipc_store_body), as storaged's: the
 * forwardable 5.0 properties as a property block, the expiry as an
 * absolute time in ms.  cluster_body() fills body borrowing m and props
 * (a scratch buffer the caller frees); cluster_msg() returns a new
 * message (msg_unref()) or NULL if the properties are malformed.
 */
void	cluster_body(const struct msg *m, struct ipc_store_body *body,
	    struct buf *props);
struct msg *cluster_msg(const struct ipc_store_body *body);

/*
 * Session ownership (connect.c).  cluster_connect() is asked for every
 * CONNECT once it is valid and authorised: CLUSTER_CONNECT_NOW (handle it
 * now), _LATER (the client id is being claimed: c is held, and
 * connect_handle() runs again with the same CONNECT once the claim is
 * decided, when this answers NOW or REFUSE), or _REFUSE (answer CONNACK
 * 0x88 / 3.1.1 return code 3: a minority, or the claim failed).
 * chosen_id: the client sent its id (an assigned one needs no claim).
 * cluster_conn_free(): c goes away (conn.c).
 */
enum cluster_connect {
	CLUSTER_CONNECT_NOW,
	CLUSTER_CONNECT_LATER,
	CLUSTER_CONNECT_REFUSE,
	CLUSTER_CONNECT_LEAVING		/* this node leaves: 5.0 0x9C */
};
struct conn;
struct mqtt_packet;
enum cluster_connect cluster_connect(struct conn *c,
	    const struct mqtt_packet *pkt, bool chosen_id);
void	cluster_conn_free(struct conn *c);

/* Counters for the metrics JSON (stats.c). */
void	cluster_stats_json(struct buf *b, bool *first);

#endif
