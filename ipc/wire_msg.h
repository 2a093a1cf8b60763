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

#define WIRE_VERSION		1	/* bump on any change to this file */
#define WIRE_VERSION_MIN	1	/* oldest version still accepted */
#define WIRE_HDR_LEN		20

#define WIRE_MESSAGES(X)						\
	X(WIRE_PING,		"node -> node: are you there")		\
	X(WIRE_PONG,		"node -> node: yes, and who I am")	\
	X(WIRE_RAFT_OPEN,	"node -> node: open a Raft stream")	\
	X(WIRE_RAFT_DATA,	"either side: bytes of a Raft stream")	\
	X(WIRE_RAFT_CLOSE,	"either side: close a Raft stream")	\
	X(WIRE_JOIN_REQ,	"joining node -> leader: add me")	\
	X(WIRE_LEAVE_REQ,	"node -> leader: remove node NAME")	\
	X(WIRE_REPLY,		"leader -> node: outcome of a request")

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

struct buf;

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

#endif
