/* SPDX-License-Identifier: MIT */
/*
 * Every message between the clusterd processes of different nodes, defined
 * once, and its codec (codec_wire.c).  They travel over ZeroMQ links with
 * CURVE (clusterd/link.c): a DEALER of the sending node to the ROUTER that
 * the receiving node binds on cluster.listen.  Requests go DEALER -> ROUTER,
 * answers ROUTER -> DEALER.
 *
 * A message is one ZeroMQ frame:
 *
 *	u8 version (WIRE_VERSION)  u8 flags (0)  u16 type
 *	u64 sender's node id  u64 sender's boot id  payload...
 *
 * Payloads use the layout of ipc_msg.h (big-endian integers, u32-length
 * strings, in the order of the struct's fields).  A receiver accepts
 * WIRE_VERSION and WIRE_VERSION_MIN..WIRE_VERSION, so nodes can be upgraded
 * one at a time; anything else is logged and dropped.
 */
#ifndef IPC_WIRE_MSG_H
#define IPC_WIRE_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/msg_cluster.h"

#define WIRE_VERSION		3	/* bump on any change to this file */
/*
 * Oldest version still accepted.  3 (issue 8) moved WIRE_FORWARD's
 * messages behind a new base field and added WIRE_REPLICA_XFER and the
 * leave options, so 1 and 2 (development snapshots, never released) are
 * refused.  From 3 on, a change appends fields at the end of a payload
 * and decoders accept their absence, so that a node of the next release
 * can join this one during a rolling upgrade.
 */
#define WIRE_VERSION_MIN	3
#define WIRE_HDR_LEN		20

#define WIRE_MESSAGES(X)						\
	X(WIRE_PING,		"node -> node: are you there")		\
	X(WIRE_PONG,		"node -> node: yes, and who I am")	\
	X(WIRE_RAFT_OPEN,	"node -> node: open a Raft stream")	\
	X(WIRE_RAFT_DATA,	"either side: bytes of a Raft stream")	\
	X(WIRE_RAFT_CLOSE,	"either side: close a Raft stream")	\
	X(WIRE_JOIN_REQ,	"joining node -> leader: add me")	\
	X(WIRE_LEAVE_REQ,	"node -> leader: remove node NAME")	\
	X(WIRE_REPLY,		"leader -> node: outcome of a request")	\
	/* version 2: routing, forwarding, ownership (issue 4) */	\
	X(WIRE_ROUTE_DELTA,	"node -> node: changes of its routes")	\
	X(WIRE_ROUTE_SYNC_REQ,	"node -> node: send me all your routes") \
	X(WIRE_ROUTE_SYNC,	"node -> node: all its routes")		\
	X(WIRE_FORWARD,		"node -> node: messages for its clients") \
	X(WIRE_FORWARD_ACK,	"node -> node: forwarded messages done") \
	X(WIRE_FORWARD_NACK,	"node -> node: a gap, send again from seq") \
	X(WIRE_OWNER_REQ,	"node -> leader: commit my session claims") \
	X(WIRE_SESSION_XFER,	"old owner -> new owner: a session")	\
	X(WIRE_REPLICA_XFER,	"new owner -> replica: hand over your copy")

enum wire_type {
	WIRE_NONE = 0,
#define WIRE_ENUM(name, desc)	name,
	WIRE_MESSAGES(WIRE_ENUM)
#undef WIRE_ENUM
	WIRE_TYPE_MAX
};

#define WIRE_NAME_MAX	256
#define WIRE_DATA_MAX	(64 * 1024 * 1024)

/* Header of every message. */
struct wire_hdr {
	uint8_t		 version;
	uint16_t	 type;
	uint64_t	 node_id;
	uint64_t	 boot_id;
};

/* WIRE_PING */
struct wire_ping {
	uint64_t	 seq;
};

/* WIRE_PONG flags */
#define WIRE_PONG_LEADER	0x01	/* the answering node leads */
#define WIRE_PONG_MEMBER	0x02	/* it counts the pinger as a member */

/* WIRE_PONG */
struct wire_pong {
	uint64_t	 seq;
	uint8_t		 flags;
	char		 name[WIRE_NAME_MAX];
	char		 address[WIRE_NAME_MAX];	/* cluster.advertise */
	char		 cluster_id[64];		/* "" = none yet */
};

/* WIRE_RAFT_OPEN: the opener's Raft id and address. */
struct wire_raft_open {
	uint64_t	 conn;
	uint64_t	 raft_id;
	char		 address[WIRE_NAME_MAX];
};

/* WIRE_RAFT_DATA: data is borrowed from the frame (valid as long as it). */
struct wire_raft_data {
	uint64_t	 conn;
	uint64_t	 seq;
	const uint8_t	*data;
	size_t		 len;
};

/* WIRE_RAFT_CLOSE */
struct wire_raft_close {
	uint64_t	 conn;
};

/* WIRE_JOIN_REQ */
struct wire_join_req {
	uint32_t	 req;
	uint64_t	 node_id;
	char		 name[WIRE_NAME_MAX];
	char		 address[WIRE_NAME_MAX];
	char		 cluster_id[64];	/* "" = any cluster */
};

/* WIRE_LEAVE_REQ */
struct wire_leave_req {
	uint32_t	 req;
	char		 name[WIRE_NAME_MAX];
	bool		 kill;		/* close its connections (-k) */
	uint32_t	 timeout_s;	/* move its sessions after (-t) */
	uint32_t	 interval_s;	/* report progress every (-i) */
};

/* WIRE_REPLY rc values. */
#define WIRE_RC_OK		0
#define WIRE_RC_ERROR		1	/* text says why */
#define WIRE_RC_REDIRECT	2	/* ask the leader at .leader */
#define WIRE_RC_RETRY		3	/* busy: ask again soon */

/* WIRE_REPLY */
struct wire_reply {
	uint32_t	 req;
	uint32_t	 rc;
	char		 text[1024];
	char		 leader[WIRE_NAME_MAX];		/* address or "" */
	char		 cluster_id[64];
};

/*
 * WIRE_ROUTE_DELTA and WIRE_ROUTE_SYNC: the sender's own routes (filters
 * with subscribers on its node), numbered per generation (gen: the
 * sender's clusterd boot id).  A DELTA with entries is change number seq;
 * one without entries says "I am at seq" (a receiver behind asks for a
 * SYNC).  A SYNC is the whole set as of seq, in chunks (FIRST ... LAST);
 * its entries are all WIRE_ROUTE_ADD.
 */
#define WIRE_ROUTE_ADD		1
#define WIRE_ROUTE_DEL		2
#define WIRE_ROUTE_F_FIRST	0x01
#define WIRE_ROUTE_F_LAST	0x02
#define WIRE_ROUTE_FILTER_MAX	65535
#define WIRE_LIST_MAX		(1024 * 1024)

struct wire_route_ent {
	uint8_t		 op;
	const uint8_t	*filter;	/* into the frame */
	size_t		 len;
};

struct wire_route {
	uint64_t		 gen;
	uint64_t		 seq;
	uint8_t			 flags;		/* SYNC: WIRE_ROUTE_F_* */
	uint32_t		 n;
	struct wire_route_ent	*ents;		/* wire_route_free() */
};

/* WIRE_ROUTE_SYNC_REQ: what the asker has of the receiver's routes. */
struct wire_route_sync_req {
	uint64_t	 gen;
	uint64_t	 seq;
};

/*
 * WIRE_FORWARD: messages for the receiver's subscribers, for its
 * incarnation to_boot (a frame for an earlier one is dropped).  Numbered
 * messages (seq > 0) form one ordered stream per sender boot and receiver
 * boot: the receiver takes seq n only after n - 1, acknowledges each
 * (WIRE_FORWARD_ACK) once its mqttd has, and asks for the rest again after
 * a gap (WIRE_FORWARD_NACK).  seq 0: QoS 0, not acknowledged.  Each
 * message is u64 seq, a target list and a body (ipc/msg_cluster.h's
 * ipc_enc_fwd_targets(..., false) and ipc_enc_store_body()).  base: the
 * lowest seq the sender still holds; below it everything is completed
 * (answered, or given up while the receiver was unreachable), so a
 * receiver that expects less skips to base instead of waiting forever.
 */
struct wire_forward {
	uint64_t	 to_boot;
	uint64_t	 base;
	uint32_t	 n;
	const uint8_t	*msgs;		/* the n messages, into the frame */
	size_t		 len;
};

struct wire_forward_ack {
	uint64_t		 to_boot;	/* the original sender's boot */
	uint32_t		 n;
	struct ipc_ack_ent	*ents;	/* id = seq; wire_forward_ack_free() */
};

struct wire_forward_nack {
	uint64_t	 to_boot;
	uint64_t	 seq;		/* send again from this one */
};

/* WIRE_OWNER_REQ: the sender claims these client ids (to the leader). */
struct wire_owner_req {
	uint32_t		 n;
	struct ipc_bytes	*ids;		/* wire_owner_req_free() */
};

struct buf;
struct rbuf;
struct ipc_fwd_target;
struct ipc_store_body;

/* Returns the name of type ("WIRE_PING"), or "WIRE_UNKNOWN". */
const char	*wire_type_name(unsigned type);

/*
 * Starts message type in b (emptied first) with the header; append the
 * payload with wire_enc_<msg>().
 */
void	wire_begin(struct buf *b, unsigned type, uint64_t node_id,
	    uint64_t boot_id);
/*
 * Reads the header of a frame into h; *payload and *len get the rest.
 * Returns 0, or -1 for a short frame or an unsupported version.
 */
int	wire_dec_hdr(const uint8_t *p, size_t n, struct wire_hdr *h,
	    const uint8_t **payload, size_t *len);

void	wire_enc_ping(struct buf *b, const struct wire_ping *v);
int	wire_dec_ping(const uint8_t *p, size_t len, struct wire_ping *v);
void	wire_enc_pong(struct buf *b, const struct wire_pong *v);
int	wire_dec_pong(const uint8_t *p, size_t len, struct wire_pong *v);
void	wire_enc_raft_open(struct buf *b, const struct wire_raft_open *v);
int	wire_dec_raft_open(const uint8_t *p, size_t len,
	    struct wire_raft_open *v);
void	wire_enc_raft_data(struct buf *b, const struct wire_raft_data *v);
/* v->data points into p. */
int	wire_dec_raft_data(const uint8_t *p, size_t len,
	    struct wire_raft_data *v);
void	wire_enc_raft_close(struct buf *b, const struct wire_raft_close *v);
int	wire_dec_raft_close(const uint8_t *p, size_t len,
	    struct wire_raft_close *v);
void	wire_enc_join_req(struct buf *b, const struct wire_join_req *v);
int	wire_dec_join_req(const uint8_t *p, size_t len,
	    struct wire_join_req *v);
void	wire_enc_leave_req(struct buf *b, const struct wire_leave_req *v);
int	wire_dec_leave_req(const uint8_t *p, size_t len,
	    struct wire_leave_req *v);
void	wire_enc_reply(struct buf *b, const struct wire_reply *v);
int	wire_dec_reply(const uint8_t *p, size_t len, struct wire_reply *v);
void	wire_enc_route(struct buf *b, const struct wire_route *v);
/* WIRE_ROUTE_DELTA and WIRE_ROUTE_SYNC; filters point into p. */
int	wire_dec_route(const uint8_t *p, size_t len, struct wire_route *v);
void	wire_route_free(struct wire_route *v);
void	wire_enc_route_sync_req(struct buf *b,
	    const struct wire_route_sync_req *v);
int	wire_dec_route_sync_req(const uint8_t *p, size_t len,
	    struct wire_route_sync_req *v);
/* Starts a WIRE_FORWARD payload for to_boot with room for the count;
 * append each message with wire_add_forward_msg(), then set the count
 * with wire_end_forward(). */
size_t	wire_begin_forward(struct buf *b, uint64_t to_boot, uint64_t base);
void	wire_add_forward_msg(struct buf *b, uint64_t seq,
	    const uint8_t *targets, size_t tlen, const uint8_t *body,
	    size_t blen);
void	wire_end_forward(struct buf *b, size_t at, uint32_t n);
/* Checks the whole frame (every message) and fills v. */
int	wire_dec_forward(const uint8_t *p, size_t len, struct wire_forward *v);
/*
 * The next message of a checked WIRE_FORWARD (r over v->msgs, v->len):
 * its seq and the spans of its encoded targets and body (into the frame).
 * Returns 1, or 0 at the end.
 */
int	wire_next_forward_msg(struct rbuf *r, uint64_t *seq,
	    const uint8_t **targets, size_t *tlen, const uint8_t **body,
	    size_t *blen);
void	wire_enc_forward_ack(struct buf *b, const struct wire_forward_ack *v);
int	wire_dec_forward_ack(const uint8_t *p, size_t len,
	    struct wire_forward_ack *v);
void	wire_forward_ack_free(struct wire_forward_ack *v);
void	wire_enc_forward_nack(struct buf *b,
	    const struct wire_forward_nack *v);
int	wire_dec_forward_nack(const uint8_t *p, size_t len,
	    struct wire_forward_nack *v);
void	wire_enc_owner_req(struct buf *b, const struct wire_owner_req *v);
int	wire_dec_owner_req(const uint8_t *p, size_t len,
	    struct wire_owner_req *v);
void	wire_owner_req_free(struct wire_owner_req *v);
/* WIRE_SESSION_XFER carries an IPC_SESSION_XFER payload as it is
 * (ipc_enc_xfer/ipc_dec_xfer, node = the sender). */

#endif
