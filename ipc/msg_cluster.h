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

#define IPC_MESSAGES_CLUSTER(X)						\
	X(IPC_CLUSTER_JOIN_REQ,	"ternctl -> clusterd: join NODE's cluster") \
	X(IPC_CLUSTER_LEAVE_REQ, "ternctl -> clusterd: make NODE leave")	\
	X(IPC_CLUSTER_REP,	"clusterd -> ternctl: outcome (rc, text)")

#define IPC_CLUSTER_NAME_MAX	256
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

struct buf;
struct ipc_msg;
struct ipc_peer;

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
