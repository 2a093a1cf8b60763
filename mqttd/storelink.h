/* SPDX-License-Identifier: MIT */
/*
 * storelink.c: mqttd's client of storaged (issue 3).  It owns the DEALER to
 * storaged, sends the store requests of ipc/msg_store.h and calls back
 * when each is answered, never blocking the event loop.
 *
 * - Batching: requests made during one round of the event loop are sent
 *   together once the round's callbacks are done (so storaged commits them
 *   in one group commit), and consecutive ACK, MARK and QoS 2 id requests
 *   of one session are merged into one request (one frame).
 * - Bounded memory: every request is kept, encoded, until it is answered.
 *   Past max_reqs requests or max_bytes bytes outstanding,
 *   storelink_would_block() is true and the caller must stop reading from
 *   publishers; the unblock callback says when to resume.
 * - Restarts: requests are idempotent (msg_store.h), so when storaged comes
 *   back with another boot id (HELLO) everything unanswered is sent again,
 *   in the order it was first made.  A request is sent only to a storaged
 *   that answered our HELLO; while it is absent requests wait (that is
 *   all: nothing is refused and no client is touched).
 * - LOAD streams the stored state into the caller's callbacks, all of this
 *   node's or one session of any owner.
 * - Replica writes (issue 8): storelink_apply() stores another node's
 *   store request under that node's owner name, ordered with the rest.
 * - Message ids and queue sequence numbers come from storelink_next_id():
 *   a millisecond timestamp shifted left by 16 bits plus a counter, and
 *   above every id and sequence number LOAD returned, so they are never
 *   reused across restarts (docs/storage.md).
 *
 * Everything runs on the caller's libevent loop; callbacks run from it.
 */
#ifndef MQTTD_STORELINK_H
#define MQTTD_STORELINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/ipc_msg.h"

struct event_base;
struct storelink;

/*
 * Completion of one request: rc is IPC_STORE_OK or an IPC_STORE_E_* code
 * (a request storaged answered IPC_STORE_E_IO is retried a few times
 * first).  full[] (APPEND only) lists the client ids whose queue was full;
 * valid during the call only.  Runs from the event loop, never from inside
 * the storelink_* call that made the request.
 */
typedef void	(*storelink_cb)(void *arg, int rc,
		    const struct ipc_bytes *full, uint32_t nfull);

struct storelink_opts {
	const char	*endpoint;	/* storaged's, conf_ipc_endpoint() */
	const char	*nodename;	/* for HELLO */
	size_t		 max_reqs;	/* 0 = STORELINK_MAX_REQS */
	size_t		 max_bytes;	/* 0 = STORELINK_MAX_BYTES */
	/* Called when storelink_would_block() turns false again. */
	void		(*unblock)(void *arg);
	/* Called when storaged comes up (first answer, or after a loss)
	 * and when it is lost.  May be NULL. */
	void		(*link)(void *arg, bool up);
	void		*arg;
};

#define STORELINK_MAX_REQS	16384
#define STORELINK_MAX_BYTES	(64 * 1024 * 1024)

/*
 * Returns a new link to storaged at o->endpoint on base; it connects in the
 * background and reconnects on its own.  Borrows base and the strings of o
 * until storelink_free().  NULL on error (logged).
 */
struct storelink *storelink_new(struct event_base *base,
		    const struct storelink_opts *o);
/*
 * Closes the link.  Requests still outstanding are dropped without their
 * callbacks.  NULL does nothing.
 */
void	storelink_free(struct storelink *sl);

/* True when storaged answered recently. */
bool	is_storelink_up(const struct storelink *sl);
/* True while more than max_reqs/max_bytes are outstanding: stop reading
 * from publishers until the unblock callback. */
bool	storelink_would_block(const struct storelink *sl);
/* A new id for a message or a queue entry, never used before on this node
 * (also across restarts, once LOAD has run). */
uint64_t storelink_next_id(struct storelink *sl);
/* Raises the id generator above id (done by LOAD for what it returns). */
void	storelink_seen_id(struct storelink *sl, uint64_t id);

/*
 * Requests.  Each copies what it needs from its arguments (they are
 * borrowed for the call only), fills in the request id and owner "" (this
 * node), and calls cb(arg, ...) once when it is answered; cb may be NULL.
 * Never blocks.  The id fields of the structs passed are ignored.
 */
void	storelink_session_put(struct storelink *sl,
	    const struct ipc_store_session *v, storelink_cb cb, void *arg);
void	storelink_session_del(struct storelink *sl, const char *client_id,
	    size_t len, storelink_cb cb, void *arg);
void	storelink_sub_put(struct storelink *sl, const struct ipc_store_subs *v,
	    storelink_cb cb, void *arg);
/* Only the filters of v->subs are used. */
void	storelink_sub_del(struct storelink *sl, const struct ipc_store_subs *v,
	    storelink_cb cb, void *arg);
/* v->owner is ignored ("" is used). */
void	storelink_append(struct storelink *sl,
	    const struct ipc_store_append *v, storelink_cb cb, void *arg);
/* Queue entry seq of the session is done (PUBACK, PUBCOMP). */
void	storelink_ack(struct storelink *sl, const char *client_id,
	    size_t len, uint64_t seq, storelink_cb cb, void *arg);
/* Sets the in-flight state (IPC_STORE_Q_*) of entry seq. */
void	storelink_mark(struct storelink *sl, const char *client_id,
	    size_t len, uint64_t seq, uint8_t state, storelink_cb cb,
	    void *arg);
/* An inbound QoS 2 packet id is kept (PUBLISH) or done (PUBREL). */
void	storelink_qos2_put(struct storelink *sl, const char *client_id,
	    size_t len, uint16_t pid, storelink_cb cb, void *arg);
void	storelink_qos2_del(struct storelink *sl, const char *client_id,
	    size_t len, uint16_t pid, storelink_cb cb, void *arg);
/* body->topic is the key. */
void	storelink_retain_put(struct storelink *sl,
	    const struct ipc_store_body *body, storelink_cb cb, void *arg);
void	storelink_retain_del(struct storelink *sl, const char *topic,
	    size_t len, storelink_cb cb, void *arg);
void	storelink_will_put(struct storelink *sl, const char *client_id,
	    size_t len, uint64_t due_at, const struct ipc_store_body *body,
	    storelink_cb cb, void *arg);
void	storelink_will_del(struct storelink *sl, const char *client_id,
	    size_t len, storelink_cb cb, void *arg);

/*
 * LOAD: every record callback gets one record of the stored state (valid
 * during the call only), in the order of msg_store.h: sessions,
 * subscriptions, queue entries (by session, in seq order, each with its
 * body), QoS 2 ids, retained messages, wills.  A NULL callback skips its
 * kind.  restart runs when the LOAD starts over (storaged restarted in the
 * middle, or was too busy to send it): forget the records delivered so
 * far.  done runs once at the end with IPC_STORE_OK, or an error code.
 */
struct storelink_load_cbs {
	void	(*session)(void *arg, const struct ipc_store_rec *r);
	void	(*sub)(void *arg, const struct ipc_store_rec *r);
	void	(*queue)(void *arg, const struct ipc_store_rec *r);
	void	(*qos2)(void *arg, const struct ipc_store_rec *r);
	void	(*retain)(void *arg, const struct ipc_store_rec *r);
	void	(*will)(void *arg, const struct ipc_store_rec *r);
	void	(*restart)(void *arg);
	void	(*done)(void *arg, int rc);
};

/*
 * Starts a LOAD of what (IPC_STORE_L_* bits, 0 = all); it is sent once
 * storaged is up and sees every request made before it.  Borrows cbs until
 * done runs.  Raises the id generator above every msg_id and seq loaded.
 */
void	storelink_load(struct storelink *sl, uint32_t what,
	    const struct storelink_load_cbs *cbs, void *arg);
/*
 * Like storelink_load() with what = 0, but of the session client_id (len
 * bytes, may hold a NUL) of owner ("" = this node, "n" + 16 hex digits =
 * a replica): its session record, subscriptions, queue entries (in seq
 * order, with their bodies), QoS 2 ids and will; never retained messages.
 * len 0 loads every session of owner.  The inbound QoS 2 ids stored as
 * the queue "\0" + client id (durable.c) are a session of their own for
 * the store: load them with a second call.  Borrows owner and client_id
 * for the call only, cbs until done runs.  An owner over 255 or a client
 * id over 65535 bytes is refused: done gets IPC_STORE_E_INVALID on the
 * next round of the loop (logged once).  Raises the id generator above
 * what it loads, as storelink_load() does.  Never blocks.
 */
void	storelink_load_session(struct storelink *sl, const char *owner,
	    const char *client_id, size_t len,
	    const struct storelink_load_cbs *cbs, void *arg);

/*
 * Replica writes (issue 8): payload (len bytes) is a store request of
 * type IPC_STORE_SESSION_PUT, _SESSION_DEL, _SUB_PUT, _SUB_DEL, _APPEND or
 * _ACK as another node encoded it with ipc_enc_store_*() (its id and owner
 * do not matter).  It is decoded, given a new request id and owner (the
 * owner node's name in this store, "n" + 16 lowercase hex digits of its
 * node id, e.g. "n00ab12cd34ef5678"), encoded again and queued like the
 * other requests: sent in the order made, sent again after a storaged
 * restart, retried on IPC_STORE_E_IO, never merged with another request
 * (and ACKs, MARKs and QoS 2 ids of this node are not merged across it
 * when it touches a session of the same client id).  cb(arg, ...) runs
 * once when storaged answered; cb may be NULL.  A payload that does not
 * decode, another type, or an owner over 255 bytes is refused: cb gets
 * IPC_STORE_E_INVALID on the next round of the loop (never from inside
 * this call, possibly before earlier requests are answered) and one
 * warning is logged.  Borrows owner and payload for the call only.
 * Never blocks.
 */
void	storelink_apply(struct storelink *sl, const char *owner,
	    uint16_t type, const uint8_t *payload, size_t len,
	    storelink_cb cb, void *arg);

struct storelink_stats {
	uint64_t	requests;	/* storelink_* requests made */
	uint64_t	merged;		/* of them, merged into another */
	uint64_t	sent;		/* frames sent (with resends) */
	uint64_t	resent;		/* frames sent again after a restart */
	uint64_t	replies;	/* requests answered */
	uint64_t	errors;		/* answered with an error */
	uint64_t	retries;	/* IPC_STORE_E_IO retried */
	uint64_t	restarts;	/* storaged boot id changes seen */
	uint64_t	blocked;	/* times would_block turned true */
	uint64_t	outstanding;	/* requests now unanswered */
	uint64_t	outstanding_bytes;
	uint64_t	unsent;		/* of them, not sent yet */
};

void	storelink_get_stats(const struct storelink *sl,
	    struct storelink_stats *s);

#endif
