/* SPDX-License-Identifier: MIT */
/*
 * ZeroMQ helpers for messages between processes (ipc_msg.h) and the
 * encoders/decoders of every message (codec.c).  All ZeroMQ ownership rules
 * are handled here and in ipc.c.
 *
 * Topology on one node (endpoints under run_dir, conf_ipc_endpoint()):
 *	storaged binds ROUTER storaged.sock; mqttd and clusterd connect DEALERs.
 *	clusterd binds ROUTER clusterd.sock; mqttd and ternctl connect DEALERs.
 *	mqttd binds ROUTER mqttd.sock; ternctl connects for status.
 * A ROUTER answers a peer by the routing id it received (struct ipc_peer).
 * Every send is non-blocking; a DEALER uses ZMQ_IMMEDIATE so that a send to
 * an absent daemon fails at once (EAGAIN) instead of queueing.
 */
#ifndef IPC_IPC_H
#define IPC_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "ipc/ipc_msg.h"

struct event_base;

#define IPC_PEER_ID_MAX	255

/* A ROUTER's routing id of one connected peer. */
struct ipc_peer {
	uint8_t		id[IPC_PEER_ID_MAX];
	size_t		len;
};

/* One received message.  payload is valid until ipc_msg_close(). */
struct ipc_msg {
	struct ipc_peer	 from;		/* ROUTER sockets only */
	bool		 has_from;
	unsigned	 type;
	const uint8_t	*payload;
	size_t		 len;
	void		*zmsg;		/* owned zmq_msg_t */
};

/* Returns the process's ZeroMQ context, creating it on first use. */
void	*ipc_ctx(void);
/* Closes every socket's context at exit; sockets must be closed first. */
void	 ipc_ctx_term(void);
/*
 * Returns a new ROUTER socket bound to endpoint ("ipc://..." or "tcp://"),
 * removing a stale ipc socket file first; NULL on error (logged).
 * Close with ipc_close().
 */
void	*ipc_router_bind(const char *endpoint);
/*
 * Returns a new DEALER socket connecting to endpoint with routing identity
 * ident (may be NULL); NULL on error (logged).  Close with ipc_close().
 */
void	*ipc_dealer_connect(const char *endpoint, const char *ident);
void	 ipc_close(void *sock);
/* The socket's file descriptor for an event loop (ZMQ_FD). */
int	 ipc_fd(void *sock);
/* True when a message can be read now (ZMQ_EVENTS has ZMQ_POLLIN). */
bool	 ipc_readable(void *sock);

/*
 * Sends one message of type with payload (may be NULL) to peer `to`
 * (ROUTER sockets) or to the connected daemon (to = NULL, DEALER).
 * Never blocks.  Returns 0, or -1 with errno EAGAIN when the peer is
 * absent or its queue is full (not logged: callers decide).
 */
int	 ipc_send(void *sock, const struct ipc_peer *to, unsigned type,
	    const struct buf *payload);
/*
 * Receives one message without blocking.  Returns 1 with *m filled (close
 * with ipc_msg_close()), 0 when nothing is waiting, -1 on error.  A message
 * of another IPC_VERSION or a malformed header is logged, dropped and
 * skipped.
 */
int	 ipc_recv(void *sock, struct ipc_msg *m);
void	 ipc_msg_close(struct ipc_msg *m);
/* Reads and drops the remaining frames of a multi-frame message. */
void	 ipc_drain_more(void *sock);

/*
 * libevent glue (ipc_event.c).  cb runs when sock may have messages; it
 * reads with ipc_recv() until 0 (or up to a batch; the glue calls it again
 * while messages wait).  Call ipc_ev_kick() after sending on the socket:
 * a ZeroMQ send can consume the edge that would have woken the loop.
 */
struct ipc_ev;
typedef void	(*ipc_ev_cb)(void *sock, void *arg);
/* Returns a new watcher; free with ipc_ev_free().  Borrows base and sock. */
struct ipc_ev	*ipc_ev_new(struct event_base *base, void *sock, ipc_ev_cb cb,
		    void *arg);
void		 ipc_ev_kick(struct ipc_ev *ev);
void		 ipc_ev_free(struct ipc_ev *ev);

/*
 * libuv glue (ipc_uv.c), the same contract as the libevent glue above, for
 * clusterd's libuv loop.  ipc_uv_free() closes the watcher's handles; its
 * memory is released by the loop once they are closed.
 */
struct ipc_uv;
struct uv_loop_s;
typedef void	(*ipc_uv_cb)(void *sock, void *arg);
/* Returns a new watcher; free with ipc_uv_free().  Borrows loop and sock. */
struct ipc_uv	*ipc_uv_new(struct uv_loop_s *loop, void *sock, ipc_uv_cb cb,
		    void *arg);
void		 ipc_uv_kick(struct ipc_uv *iu);
void		 ipc_uv_free(struct ipc_uv *iu);

/*
 * Sockets between nodes (ipc_curve.c): CURVE ROUTER/DEALER in a ZeroMQ
 * context of the caller's (ctx), raw one-frame messages (wire_msg.h), and a
 * ZAP handler admitting only the cluster's key.  Keys are 40-char Z85.
 */
struct ipc_zap;
/* Returns a new ROUTER (CURVE server) bound to endpoint, or NULL (logged). */
void	*ipc_curve_router_bind(void *ctx, const char *endpoint,
	    const char *sec_z85);
/* Returns a new DEALER (CURVE client, routing id rid) or NULL (logged). */
void	*ipc_curve_dealer_connect(void *ctx, const char *endpoint,
	    const char *pub_z85, const char *sec_z85, const void *rid,
	    size_t ridlen);
/* Sends frame b (to a peer: ROUTER only).  Never blocks; 0 or -1 (errno). */
int	 ipc_raw_send(void *sock, const struct ipc_peer *to,
	    const struct buf *b);
/* Like ipc_recv() without the IPC header: m->payload is the whole frame. */
int	 ipc_raw_recv(void *sock, struct ipc_msg *m);
/* Starts the ZAP handler thread of ctx; NULL on error (logged). */
struct ipc_zap *ipc_zap_start(void *ctx, const char *allowed_pub_z85);
/* Terminates ctx (its sockets must be closed) and stops z (may be NULL). */
void	 ipc_curve_ctx_term(void *ctx, struct ipc_zap *z);

/* codec.c: one sender and one reader per message of ipc_msg.h. */
int	ipc_send_hello(void *sock, const struct ipc_peer *to,
	    const struct ipc_hello *h);
int	ipc_recv_hello(const struct ipc_msg *m, struct ipc_hello *h);
int	ipc_send_heartbeat(void *sock, const struct ipc_peer *to,
	    const struct ipc_heartbeat *h);
int	ipc_recv_heartbeat(const struct ipc_msg *m, struct ipc_heartbeat *h);
int	ipc_send_status_req(void *sock, const struct ipc_peer *to,
	    const struct ipc_status_req *r);
int	ipc_recv_status_req(const struct ipc_msg *m, struct ipc_status_req *r);
int	ipc_send_status_rep(void *sock, const struct ipc_peer *to,
	    const struct ipc_status_rep *r);
/* Fills r; r->json is a new string (free()). */
int	ipc_recv_status_rep(const struct ipc_msg *m, struct ipc_status_rep *r);

/* Encoders only (for tests and for callers that batch). */
void	ipc_enc_hello(struct buf *b, const struct ipc_hello *h);
void	ipc_enc_heartbeat(struct buf *b, const struct ipc_heartbeat *h);
void	ipc_enc_status_req(struct buf *b, const struct ipc_status_req *r);
void	ipc_enc_status_rep(struct buf *b, const struct ipc_status_rep *r);
/* Decoders over a bare payload (ipc_recv_* call these). */
int	ipc_dec_hello(const uint8_t *p, size_t len, struct ipc_hello *h);
int	ipc_dec_heartbeat(const uint8_t *p, size_t len,
	    struct ipc_heartbeat *h);
int	ipc_dec_status_req(const uint8_t *p, size_t len,
	    struct ipc_status_req *r);
int	ipc_dec_status_rep(const uint8_t *p, size_t len,
	    struct ipc_status_rep *r);

/* Copies a NUL-free byte string into a fixed char array; -1 if too long. */
int	ipc_copy_name(char *dst, size_t dstlen, const uint8_t *p, size_t n);

#endif
