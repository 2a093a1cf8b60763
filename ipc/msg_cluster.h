/* SPDX-License-Identifier: MIT */
/*
 * Messages between clusterd and the other processes of its node (ternctl's
 * cluster commands), listed in IPC_MESSAGES_CLUSTER and expanded into
 * ipc_msg.h's IPC_MESSAGES; their payloads and codec (codec_cluster.c).
 * Layout as in ipc_msg.h: big-endian integers and u32-length strings in the
 * order of the struct's fields.
 */
#ifndef IPC_MSG_CLUSTER_H
#define IPC_MSG_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/msg_store.h"

#define IPC_MESSAGES_CLUSTER(X)						\
	X(IPC_CLUSTER_JOIN_REQ,	"ternctl -> clusterd: join NODE's cluster") \
	X(IPC_CLUSTER_LEAVE_REQ, "ternctl -> clusterd: make NODE leave")	\
	X(IPC_CLUSTER_REP,	"clusterd -> ternctl: outcome (rc, text)") \
	IPC_MESSAGES_ROUTE(X)

/*
 * Routing and forwarding between mqttd and clusterd (issue 4; the design is
 * in docs/clustering.md, "Routing and forwarding").  mqttd's end is
 * mqttd/clusterlink.c, clusterd's clusterd/route.c, forward.c and owner.c.
 */
#define IPC_MESSAGES_ROUTE(X)						\
	X(IPC_ROUTE_LOCAL,	"mqttd -> clusterd: local route changes") \
	X(IPC_ROUTE_UPDATE,	"clusterd -> mqttd: other nodes' routes") \
	X(IPC_FORWARD,		"mqttd -> clusterd: a message for nodes") \
	X(IPC_FORWARD_ACK,	"clusterd -> mqttd: forwards done")	\
	X(IPC_DELIVER,		"clusterd -> mqttd: a message from a node") \
	X(IPC_DELIVER_ACK,	"mqttd -> clusterd: deliveries done")	\
	X(IPC_CLUSTER_STATE,	"clusterd -> mqttd: majority, members")	\
	X(IPC_SESSION_CLAIM,	"mqttd -> clusterd: own these client ids") \
	X(IPC_SESSION_CLAIM_REP, "clusterd -> mqttd: claims decided")	\
	X(IPC_SESSION_TAKEOVER,	"clusterd -> mqttd: hand a session over") \
	X(IPC_SESSION_XFER,	"either way: a session's state, in order") \
	X(IPC_SESSION_CHECK,	"mqttd -> clusterd: do I still own these") \
	X(IPC_REPLICA_RESYNC,	"clusterd -> mqttd: copy sessions afresh")

#define IPC_CLUSTER_NAME_MAX	256

/* clusterd's exit status when its node left the cluster with `ternctl
 * cluster leave` and owns nothing any more: ternctl run then stops the
 * node's other daemons too and exits 0. */
#define TERN_EXIT_LEFT		3
#define IPC_CLUSTER_TEXT_MAX	(64 * 1024)

/* IPC_CLUSTER_JOIN_REQ: node is "tern@host" or "host:port". */
struct ipc_cluster_join_req {
	uint32_t	 id;
	char		 node[IPC_CLUSTER_NAME_MAX];
};

/* IPC_CLUSTER_LEAVE_REQ: ternctl cluster leave node=NODE [-k] [-t] [-i]. */
struct ipc_cluster_leave_req {
	uint32_t	 id;
	char		 node[IPC_CLUSTER_NAME_MAX];
	bool		 kill_sessions;		/* -k */
	uint32_t	 timeout_s;		/* -t */
	uint32_t	 interval_s;		/* -i */
};

/* IPC_CLUSTER_REP: rc 0 = done; text is a message for the operator. */
struct ipc_cluster_rep {
	uint32_t	 id;
	int32_t		 rc;
	char		*text;		/* owned by the decoder's caller */
};

/*
 * Routing and forwarding payloads.  Byte strings (struct ipc_bytes) are
 * borrowed as in msg_store.h: from the caller when encoding, from the
 * received frame after decoding (valid until ipc_msg_close()).  Arrays a
 * decoder fills are new: release them with the ipc_*_free() named below.
 */
#define IPC_ROUTE_FILTER_MAX	65535
#define IPC_ROUTE_LIST_MAX	(1024 * 1024)

/* Route operations. */
#define IPC_ROUTE_ADD		1	/* the node has subscribers on filter */
#define IPC_ROUTE_DEL		2	/* no more */
#define IPC_ROUTE_RESET		3	/* forget every route of the node
					   (ADDs for it follow in the same
					   message: its whole set) */

/* IPC_ROUTE_LOCAL flags */
#define IPC_ROUTE_F_FULL	0x01	/* ents is the whole set: replace */

struct ipc_route_ent {
	uint64_t	 node;		/* IPC_ROUTE_UPDATE only */
	uint8_t		 op;		/* IPC_ROUTE_* */
	struct ipc_bytes filter;	/* full filter, "$share/G/F" kept */
};

/*
 * IPC_ROUTE_LOCAL: filters of this node that got their first local
 * subscriber (ADD) or lost their last (DEL), in order; batched.
 * IPC_ROUTE_UPDATE: the same about other nodes, each entry naming its node.
 */
struct ipc_route {
	uint8_t			 flags;		/* IPC_ROUTE_F_* */
	uint32_t		 n;
	struct ipc_route_ent	*ents;		/* ipc_route_free() */
};

/* What a forwarded message is for on its node. */
#define IPC_FWD_PLAIN		1	/* every ordinary subscriber */
#define IPC_FWD_SHARED		2	/* one member of group filter */
#define IPC_FWD_RETAIN		3	/* store as retained (payload empty:
					   delete); not delivered */
#define IPC_FWD_REPL		4	/* a replica write (issue 8): the
					   body's payload is u16 store request
					   type + the request, to apply under
					   the sending node's owner name */

/* IPC_FORWARD target node: every other member (retained messages). */
#define IPC_FWD_ALL_NODES	UINT64_MAX
/* IPC_FORWARD target node of a REPL target: the session's replica nodes,
 * as clusterd places them (cluster.replication_factor - 1 nodes). */
#define IPC_FWD_REPLICAS	(UINT64_MAX - 1)

struct ipc_fwd_target {
	uint64_t	 node;		/* IPC_FORWARD only; 0 elsewhere */
	uint8_t		 kind;		/* IPC_FWD_* */
	struct ipc_bytes filter;	/* SHARED: "$share/G/F"; PLAIN: "" */
};

/* IPC_FORWARD flags */
#define IPC_FWD_F_ACK		0x01	/* answer with IPC_FORWARD_ACK */

/*
 * Forwards with IPC_FWD_F_ACK or a RETAIN target travel reliably (numbered,
 * acknowledged hop by hop and sent again after a loss); others (QoS 0) are
 * sent once, in the same order, and lost with a link.
 */

/*
 * IPC_FORWARD and IPC_DELIVER frames are batches: u32 count, then count
 * times (u32 length, one payload as below), so that a loop round's
 * messages cost one frame (ipc_batch_*()).
 *
 * IPC_FORWARD: one message for other nodes.  id is the sender's (never
 * reused by one mqttd); with IPC_FWD_F_ACK clusterd answers it once every
 * target node's mqttd acknowledged it (its durable appends done) or the
 * node is gone.
 */
struct ipc_forward {
	uint64_t		 id;
	uint8_t			 flags;		/* IPC_FWD_F_* */
	uint32_t		 ntargets;
	struct ipc_fwd_target	*targets;	/* ipc_forward_free() */
	struct ipc_store_body	 body;
};

/* rc of a forward or a delivery. */
#define IPC_FWD_OK		0	/* delivered (and durable) */
#define IPC_FWD_GONE		1	/* node left or unreachable: dropped */
#define IPC_FWD_FULL		2	/* queues full there */
#define IPC_FWD_ERROR		3	/* storage failed there */

struct ipc_ack_ent {
	uint64_t	 id;
	uint8_t		 rc;		/* IPC_FWD_* */
};

/* IPC_FORWARD_ACK, IPC_DELIVER_ACK: batched answers. */
struct ipc_acks {
	uint32_t		 n;
	struct ipc_ack_ent	*ents;		/* ipc_acks_free() */
};

/*
 * IPC_DELIVER: a message from node `from` for this node's subscribers, as
 * targets say (node 0).  id != 0: answer IPC_DELIVER_ACK once delivered
 * and durable; 0: no answer (QoS 0).
 */
struct ipc_deliver {
	uint64_t		 id;
	uint64_t		 from;
	uint32_t		 ntargets;
	struct ipc_fwd_target	*targets;	/* ipc_deliver_free() */
	struct ipc_store_body	 body;
};

/* IPC_CLUSTER_STATE flags */
#define IPC_CS_MAJORITY		0x01	/* in a majority: serve (G3) */
#define IPC_CS_CLUSTERED	0x02	/* links on, in a cluster */
#define IPC_CS_JOINED		0x04	/* a member of a cluster with an id
					   (clusterd/discovery.c) */
#define IPC_CS_LEAVING		0x10	/* this node leaves: mqttd takes no
					   new connections (issue 8) */
#define IPC_CS_LEAVE_KILL	0x20	/* ... and closes the ones it has */
#define IPC_CS_DISCOVERY	0x08	/* discovery != none: mqttd refuses
					   CONNECT (0x88 / 3.1.1 rc 3) while
					   IPC_CS_JOINED is not set */

struct ipc_cs_node {
	uint64_t	 id;
	uint8_t		 up;		/* answers over its link */
	struct ipc_bytes name;
};

/* IPC_CLUSTER_STATE: sent on every change and once a second. */
struct ipc_cluster_state {
	uint8_t			 flags;		/* IPC_CS_* */
	uint64_t		 node_id;	/* this node */
	uint32_t		 n;
	struct ipc_cs_node	*nodes;		/* ipc_cluster_state_free() */
};

/* rc of a claim. */
#define IPC_CLAIM_OK		0
#define IPC_CLAIM_NO_QUORUM	1	/* minority side of a netsplit */
#define IPC_CLAIM_ERROR		2

/* IPC_SESSION_CLAIM entry flags */
#define IPC_CLAIM_F_LOCAL	0x01	/* allow_register_during_netsplit */

struct ipc_claim_ent {
	uint32_t	 id;		/* the requester's */
	uint8_t		 flags;		/* request: IPC_CLAIM_F_* */
	uint8_t		 rc;		/* answer: IPC_CLAIM_* */
	uint64_t	 prev;		/* answer: previous owner, 0 = none */
	struct ipc_bytes client_id;	/* request only */
};

/*
 * IPC_SESSION_CLAIM: make this node the owner of client ids (batched).
 * IPC_SESSION_CLAIM_REP answers each (by id) once the ownership is
 * committed and a session the old owner handed over arrived (as
 * IPC_SESSION_XFER, before the answer).
 */
struct ipc_claims {
	uint32_t		 n;
	struct ipc_claim_ent	*ents;		/* ipc_claims_free() */
};

/*
 * IPC_SESSION_TAKEOVER: close the client's connection (5.0: 0x8E) and
 * hand its session to node `to` with IPC_SESSION_XFER (xfer echoed).
 * With replica != 0 (issue 8) the session to hand over is not this node's
 * own but the replica copy this node keeps of node `replica`'s session
 * (its owner died): loaded from storaged, handed over, then deleted.
 * `to` may be this node itself.
 *
 * IPC_REPLICA_RESYNC (clusterd -> mqttd, empty): a replica node missed
 * copies (it was unreachable) or the members changed (replicas are placed
 * elsewhere): mqttd sends every persistent session afresh to its
 * replicas (SESSION_DEL, SESSION_PUT, one APPEND per queued message).
 *
 * IPC_SESSION_CHECK (mqttd -> clusterd, an ipc_claims of client ids only,
 * no answer): the persistent sessions mqttd loaded at its start.  For
 * each one another node owns now (it moved while this node was away),
 * clusterd sends IPC_SESSION_TAKEOVER, once its Raft log is up to date.
 */
struct ipc_takeover {
	uint64_t	 to;
	uint32_t	 xfer;
	uint64_t	 replica;
	struct ipc_bytes client_id;
};

/* IPC_SESSION_XFER flags */
#define IPC_XFER_F_SESSION	0x01	/* there was a session to hand over */
#define IPC_XFER_F_LAST		0x02	/* the last chunk */

struct ipc_xfer_msg {
	uint8_t			 qos;		/* granted */
	uint8_t			 flags;		/* IPC_STORE_F_RETAIN: send so */
	struct ipc_store_body	 body;
};

/*
 * IPC_SESSION_XFER: one chunk of a session handed over, in order: its
 * opaque state (mqttd's, like IPC_STORE_SESSION_PUT's data), then
 * subscriptions and queued messages, oldest first.  node is the receiver
 * (mqttd -> clusterd) or the sender (clusterd -> mqttd).
 */
struct ipc_xfer {
	uint64_t		 node;
	uint32_t		 xfer;
	uint8_t			 flags;		/* IPC_XFER_F_* */
	struct ipc_bytes	 client_id;
	struct ipc_bytes	 state;
	uint32_t		 nsubs;
	struct ipc_store_sub	*subs;		/* ipc_xfer_free() */
	uint32_t		 nmsgs;
	struct ipc_xfer_msg	*msgs;		/* ipc_xfer_free() */
};

struct buf;
struct ipc_msg;
struct ipc_peer;
struct rbuf;

/*
 * Batches of payloads (IPC_FORWARD, IPC_DELIVER): ipc_batch_begin()
 * returns where the count goes; ipc_batch_add() appends one payload;
 * ipc_batch_end() writes the count.  Reading: ipc_batch_first() over a
 * frame, then ipc_batch_next() returns 1 with one payload (into the
 * frame), 0 at the end, -1 if malformed (stop).
 */
#define IPC_BATCH_MAX	(1024 * 1024)	/* payloads in one frame */
size_t	ipc_batch_begin(struct buf *b);
void	ipc_batch_add(struct buf *b, const uint8_t *p, size_t len);
void	ipc_batch_end(struct buf *b, size_t at, uint32_t n);
int	ipc_batch_first(struct rbuf *r, const uint8_t *p, size_t len,
	    uint32_t *n);
int	ipc_batch_next(struct rbuf *r, uint32_t *left, const uint8_t **p,
	    size_t *len);

/* Route, forward and session codec (codec_cluster.c). */
void	ipc_enc_route(struct buf *b, const struct ipc_route *v);
int	ipc_dec_route(const uint8_t *p, size_t len, struct ipc_route *v);
void	ipc_route_free(struct ipc_route *v);
void	ipc_enc_forward(struct buf *b, const struct ipc_forward *v);
int	ipc_dec_forward(const uint8_t *p, size_t len, struct ipc_forward *v);
void	ipc_forward_free(struct ipc_forward *v);
void	ipc_enc_acks(struct buf *b, const struct ipc_acks *v);
int	ipc_dec_acks(const uint8_t *p, size_t len, struct ipc_acks *v);
void	ipc_acks_free(struct ipc_acks *v);
void	ipc_enc_deliver(struct buf *b, const struct ipc_deliver *v);
int	ipc_dec_deliver(const uint8_t *p, size_t len, struct ipc_deliver *v);
void	ipc_deliver_free(struct ipc_deliver *v);
void	ipc_enc_cluster_state(struct buf *b,
	    const struct ipc_cluster_state *v);
int	ipc_dec_cluster_state(const uint8_t *p, size_t len,
	    struct ipc_cluster_state *v);
void	ipc_cluster_state_free(struct ipc_cluster_state *v);
void	ipc_enc_claims(struct buf *b, const struct ipc_claims *v);
int	ipc_dec_claims(const uint8_t *p, size_t len, struct ipc_claims *v);
void	ipc_claims_free(struct ipc_claims *v);
void	ipc_enc_takeover(struct buf *b, const struct ipc_takeover *v);
int	ipc_dec_takeover(const uint8_t *p, size_t len,
	    struct ipc_takeover *v);
void	ipc_enc_xfer(struct buf *b, const struct ipc_xfer *v);
int	ipc_dec_xfer(const uint8_t *p, size_t len, struct ipc_xfer *v);
void	ipc_xfer_free(struct ipc_xfer *v);
/*
 * Target lists alone (u32 count, then node (with_node only), kind,
 * filter), as IPC_FORWARD/IPC_DELIVER and WIRE_FORWARD carry them.
 * The decoder returns a new array (free()) and checks kinds and filters.
 */
void	ipc_enc_fwd_targets(struct buf *b, const struct ipc_fwd_target *t,
	    uint32_t n, bool with_node);
int	ipc_get_fwd_targets(struct rbuf *r, struct ipc_fwd_target **t,
	    uint32_t *n, bool with_node);
/* Sends type (IPC_ROUTE_LOCAL or IPC_ROUTE_UPDATE, IPC_FORWARD_ACK or
 * IPC_DELIVER_ACK, IPC_SESSION_CLAIM or _REP) with payload v. */
int	ipc_send_route(void *sock, const struct ipc_peer *to, unsigned type,
	    const struct ipc_route *v);
int	ipc_send_acks(void *sock, const struct ipc_peer *to, unsigned type,
	    const struct ipc_acks *v);
int	ipc_send_claims(void *sock, const struct ipc_peer *to, unsigned type,
	    const struct ipc_claims *v);

/* codec_cluster.c: senders, readers, encoders and decoders. */
int	ipc_send_cluster_join_req(void *sock, const struct ipc_peer *to,
	    const struct ipc_cluster_join_req *v);
int	ipc_recv_cluster_join_req(const struct ipc_msg *m,
	    struct ipc_cluster_join_req *v);
int	ipc_send_cluster_leave_req(void *sock, const struct ipc_peer *to,
	    const struct ipc_cluster_leave_req *v);
int	ipc_recv_cluster_leave_req(const struct ipc_msg *m,
	    struct ipc_cluster_leave_req *v);
int	ipc_send_cluster_rep(void *sock, const struct ipc_peer *to,
	    const struct ipc_cluster_rep *v);
/* Fills v; v->text is a new string (free()). */
int	ipc_recv_cluster_rep(const struct ipc_msg *m,
	    struct ipc_cluster_rep *v);

void	ipc_enc_cluster_join_req(struct buf *b,
	    const struct ipc_cluster_join_req *v);
void	ipc_enc_cluster_leave_req(struct buf *b,
	    const struct ipc_cluster_leave_req *v);
void	ipc_enc_cluster_rep(struct buf *b, const struct ipc_cluster_rep *v);
int	ipc_dec_cluster_join_req(const uint8_t *p, size_t len,
	    struct ipc_cluster_join_req *v);
int	ipc_dec_cluster_leave_req(const uint8_t *p, size_t len,
	    struct ipc_cluster_leave_req *v);
int	ipc_dec_cluster_rep(const uint8_t *p, size_t len,
	    struct ipc_cluster_rep *v);

#endif
