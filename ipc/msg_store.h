/* SPDX-License-Identifier: MIT */
/*
 * Messages between storaged and its clients (mqttd, later clusterd), listed
 * in IPC_MESSAGES_STORE and expanded into ipc_msg.h's IPC_MESSAGES; their
 * payloads and codec (codec_store.c).  Layout as in ipc_msg.h: big-endian
 * integers and u32-length byte strings in the order of the struct's fields.
 *
 * Every request carries a request id chosen by the requester; the reply
 * (IPC_STORE_REP, or IPC_STORE_LOAD_REP chunks for IPC_STORE_LOAD) echoes
 * it.  Every request is idempotent: the requester picks message ids and
 * queue sequence numbers, so a request resent after a storaged restart
 * overwrites the same keys.  A reply with rc IPC_STORE_OK means the change
 * is durable as storage.sync promises (synced, with "always").
 *
 * Every session-scoped request names the session by (owner, client id).
 * owner "" is this node; a replica node's mqttd stores other nodes'
 * sessions (issue 8) under owner "n" + 16 lowercase hex digits of the
 * owner's node id, with the same messages.
 *
 * Byte strings (struct ipc_bytes) are borrowed: when encoding they point at
 * the caller's data; after decoding they point into the received payload
 * and are valid until ipc_msg_close() of that message.  Lists a decoder
 * fills (subs, targets, seqs, ...) are new arrays: release them with
 * ipc_store_free_*().
 */
#ifndef IPC_MSG_STORE_H
#define IPC_MSG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IPC_MESSAGES_STORE(X)						\
	X(IPC_STORE_SESSION_PUT, "mqttd -> storaged: session (+subs)")	\
	X(IPC_STORE_SESSION_DEL, "mqttd -> storaged: drop a session")	\
	X(IPC_STORE_SUB_PUT,	"mqttd -> storaged: add subs")		\
	X(IPC_STORE_SUB_DEL,	"mqttd -> storaged: drop subs")		\
	X(IPC_STORE_APPEND,	"mqttd -> storaged: body, N queues")	\
	X(IPC_STORE_ACK,	"mqttd -> storaged: drop entries")	\
	X(IPC_STORE_MARK,	"mqttd -> storaged: in-flight state")	\
	X(IPC_STORE_QOS2_PUT,	"mqttd -> storaged: QoS 2 ids in")	\
	X(IPC_STORE_QOS2_DEL,	"mqttd -> storaged: QoS 2 ids done")	\
	X(IPC_STORE_RETAIN_PUT,	"mqttd -> storaged: retained")		\
	X(IPC_STORE_RETAIN_DEL,	"mqttd -> storaged: unretain")		\
	X(IPC_STORE_WILL_PUT,	"mqttd -> storaged: pending will")	\
	X(IPC_STORE_WILL_DEL,	"mqttd -> storaged: will done")		\
	X(IPC_STORE_LOAD,	"mqttd -> storaged: send all")		\
	X(IPC_STORE_REP,	"storaged -> requester: outcome")	\
	X(IPC_STORE_LOAD_REP,	"storaged -> requester: LOAD chunk")

/* rc of IPC_STORE_REP / IPC_STORE_LOAD_REP. */
#define IPC_STORE_OK		0
#define IPC_STORE_E_IO		1	/* I/O failed; retry later */
#define IPC_STORE_E_NOSPACE	2	/* disk full (MQTT 5: 0x97) */
#define IPC_STORE_E_INVALID	3	/* malformed or unknown request */
#define IPC_STORE_E_BUSY	4	/* LOAD could not be sent; retry */

/* Limits checked by the decoders. */
#define IPC_STORE_OWNER_MAX	255
#define IPC_STORE_CLIENT_MAX	65535
#define IPC_STORE_TOPIC_MAX	65535
#define IPC_STORE_PAYLOAD_MAX	(256 * 1024 * 1024)
#define IPC_STORE_PROPS_MAX	(1024 * 1024)
#define IPC_STORE_DATA_MAX	(64 * 1024)
#define IPC_STORE_LIST_MAX	(1024 * 1024)	/* entries in one list */
#define IPC_STORE_SUBIDS_MAX	16

/* Body flags. */
#define IPC_STORE_F_RETAIN	0x01

/* Queue entry states (IPC_STORE_MARK). */
#define IPC_STORE_Q_QUEUED	0	/* not sent yet */
#define IPC_STORE_Q_SENT	1	/* PUBLISH sent, no PUBACK/PUBREC */
#define IPC_STORE_Q_PUBREC	2	/* QoS 2: PUBREC in, PUBREL sent */

/* IPC_STORE_LOAD what bits (0 = all). */
#define IPC_STORE_L_SESSIONS	0x01	/* sessions and subscriptions */
#define IPC_STORE_L_QUEUES	0x02
#define IPC_STORE_L_QOS2	0x04
#define IPC_STORE_L_RETAINED	0x08
#define IPC_STORE_L_WILLS	0x10

/* A borrowed byte string (see the comment at the top). */
struct ipc_bytes {
	const uint8_t	*p;
	size_t		 len;
};

/* Names a session: owner node ("" = this node) and client id. */
struct ipc_store_sess {
	struct ipc_bytes owner;
	struct ipc_bytes client_id;
};

/* A message body: stored once however many queues reference it. */
struct ipc_store_body {
	uint8_t		 qos;
	uint8_t		 flags;		/* IPC_STORE_F_* */
	uint64_t	 expire_at;	/* ms since the epoch; 0 = never */
	struct ipc_bytes topic;
	struct ipc_bytes props;		/* MQTT 5 properties, opaque */
	struct ipc_bytes payload;
};

/* One subscription of a session. */
struct ipc_store_sub {
	struct ipc_bytes filter;
	uint8_t		 options;	/* MQTT 5 options byte */
	uint32_t	 sub_id;	/* 0 = none */
};

/*
 * IPC_STORE_SESSION_PUT: creates or replaces a session record.  With
 * replace_subs, the stored subscriptions become exactly subs[]; without, they
 * are left alone (subs must then be empty).  expire_at is when the session
 * may be deleted (ms since the epoch, 0 = never: connected or no expiry);
 * storaged deletes the session with its subscriptions, queue, QoS 2 ids and
 * will when it passes, also across restarts.  data is opaque to storaged
 * (mqttd's own state) and comes back in LOAD.
 * IPC_STORE_SESSION_DEL: only id and s are sent; drops everything of it.
 */
struct ipc_store_session {
	uint32_t		 id;
	struct ipc_store_sess	 s;
	uint8_t			 proto;		/* MQTT level */
	uint8_t			 flags;
	bool			 replace_subs;
	uint32_t		 expiry_interval;	/* s, as asked */
	uint64_t		 expire_at;
	struct ipc_bytes	 data;
	uint32_t		 nsubs;
	struct ipc_store_sub	*subs;
};

/* IPC_STORE_SUB_PUT / IPC_STORE_SUB_DEL (DEL sends filters only). */
struct ipc_store_subs {
	uint32_t		 id;
	struct ipc_store_sess	 s;
	uint32_t		 nsubs;
	struct ipc_store_sub	*subs;
};

/* One queue an append goes to: (owner of the append, client_id). */
struct ipc_store_target {
	struct ipc_bytes client_id;
	uint64_t	 seq;		/* queue position (mqttd's) */
	uint8_t		 qos;		/* granted QoS */
	uint8_t		 nsub_ids;
	uint32_t	 sub_ids[IPC_STORE_SUBIDS_MAX];
};

/*
 * IPC_STORE_APPEND: stores body once under msg_id and appends a reference
 * to each target queue.  A target whose queue already holds
 * max_offline_messages entries is refused (drop newest); the reply lists
 * those in full[].  Resending the same append changes nothing.
 */
struct ipc_store_append {
	uint32_t		 id;
	struct ipc_bytes	 owner;
	uint64_t		 msg_id;
	struct ipc_store_body	 body;
	uint32_t		 ntargets;
	struct ipc_store_target	*targets;
};

/* IPC_STORE_ACK: deletes queue entries (the body goes with its last). */
struct ipc_store_ack {
	uint32_t		 id;
	struct ipc_store_sess	 s;
	uint32_t		 nseqs;
	uint64_t		*seqs;
};

struct ipc_store_mark_ent {
	uint64_t	 seq;
	uint8_t		 state;		/* IPC_STORE_Q_* */
};

/* IPC_STORE_MARK: sets the in-flight state of queue entries. */
struct ipc_store_mark {
	uint32_t			 id;
	struct ipc_store_sess		 s;
	uint32_t			 n;
	struct ipc_store_mark_ent	*ents;
};

/* IPC_STORE_QOS2_PUT / IPC_STORE_QOS2_DEL: incoming QoS 2 packet ids. */
struct ipc_store_qos2 {
	uint32_t		 id;
	struct ipc_store_sess	 s;
	uint32_t		 n;
	uint16_t		*pids;
};

/* IPC_STORE_RETAIN_PUT / IPC_STORE_RETAIN_DEL (DEL sends the topic only). */
struct ipc_store_retain {
	uint32_t		 id;
	struct ipc_store_body	 body;		/* topic = key */
};

/*
 * IPC_STORE_WILL_PUT / IPC_STORE_WILL_DEL (DEL sends id and s only): a
 * session's will, due at due_at (ms since the epoch; 0 = armed while the
 * client is connected).  storaged only keeps it: mqttd publishes it.
 */
struct ipc_store_will {
	uint32_t		 id;
	struct ipc_store_sess	 s;
	uint64_t		 due_at;
	struct ipc_store_body	 body;
};

/*
 * IPC_STORE_LOAD: asks for every record of owner (what = IPC_STORE_L_*
 * bits, 0 = all), answered by IPC_STORE_LOAD_REP chunks, the last one with
 * last set.  Record order: sessions, subscriptions, queue entries (by
 * session, in seq order), QoS 2 ids, retained (owner "" only), wills.
 * A non-empty client_id limits the LOAD to that one session of owner: its
 * session record, subscriptions, queue entries, QoS 2 ids and will, never
 * retained messages (a replica handover, issue 8).  client_id is encoded
 * after what.
 */
struct ipc_store_load {
	uint32_t		 id;
	struct ipc_bytes	 owner;
	uint32_t		 what;
	struct ipc_bytes	 client_id;	/* empty = every session */
};

/* Record kinds of a LOAD chunk. */
#define IPC_STORE_R_SESSION	1
#define IPC_STORE_R_SUB		2
#define IPC_STORE_R_QUEUE	3
#define IPC_STORE_R_QOS2	4
#define IPC_STORE_R_RETAIN	5
#define IPC_STORE_R_WILL	6

/*
 * One LOAD record; the fields used depend on kind:
 *	SESSION	client_id proto flags expiry_interval expire_at data
 *	SUB	client_id sub
 *	QUEUE	client_id seq qos state nsub_ids sub_ids msg_id body
 *	QOS2	client_id pid
 *	RETAIN	body
 *	WILL	client_id due_at body
 */
struct ipc_store_rec {
	uint8_t			 kind;
	struct ipc_bytes	 client_id;
	uint8_t			 proto;
	uint8_t			 flags;
	uint32_t		 expiry_interval;
	uint64_t		 expire_at;
	struct ipc_bytes	 data;
	struct ipc_store_sub	 sub;
	uint64_t		 seq;
	uint8_t			 qos;
	uint8_t			 state;
	uint8_t			 nsub_ids;
	uint32_t		 sub_ids[IPC_STORE_SUBIDS_MAX];
	uint64_t		 msg_id;
	uint16_t		 pid;
	uint64_t		 due_at;
	struct ipc_store_body	 body;
};

/* IPC_STORE_LOAD_REP: one chunk of a LOAD answer. */
struct ipc_store_load_rep {
	uint32_t		 id;
	int32_t			 rc;		/* IPC_STORE_* */
	bool			 last;
	uint32_t		 nrecs;
	struct ipc_store_rec	*recs;
};

/*
 * IPC_STORE_REP: the outcome of one request.  full[] (APPEND only) lists the
 * target client ids refused because their queue was full.
 */
struct ipc_store_rep {
	uint32_t		 id;
	int32_t			 rc;		/* IPC_STORE_* */
	uint32_t		 nfull;
	struct ipc_bytes	*full;
};

struct buf;
struct ipc_msg;
struct ipc_peer;

/* Returns a borrowed ipc_bytes over the NUL-terminated string s. */
struct ipc_bytes ipc_bytes_str(const char *s);
/* True if a and b hold the same bytes. */
bool	ipc_bytes_eq(struct ipc_bytes a, struct ipc_bytes b);

/*
 * codec_store.c.  Each message has
 *	void ipc_enc_store_X(struct buf *, const struct ipc_store_X *);
 *	int  ipc_dec_store_X(const uint8_t *, size_t, struct ipc_store_X *);
 *	int  ipc_send_store_X(void *sock, const struct ipc_peer *, const ...);
 *	int  ipc_recv_store_X(const struct ipc_msg *, struct ipc_store_X *);
 * Decoders return 0, or -1 on a short, over-long or out-of-limit payload
 * (nothing to free then).  Where a struct serves two messages, the
 * functions take the type (IPC_STORE_SESSION_PUT or _DEL, ...).
 */
void	ipc_enc_store_session(struct buf *b, unsigned type,
	    const struct ipc_store_session *v);
int	ipc_dec_store_session(unsigned type, const uint8_t *p, size_t len,
	    struct ipc_store_session *v);
void	ipc_enc_store_subs(struct buf *b, unsigned type,
	    const struct ipc_store_subs *v);
int	ipc_dec_store_subs(unsigned type, const uint8_t *p, size_t len,
	    struct ipc_store_subs *v);
void	ipc_enc_store_append(struct buf *b,
	    const struct ipc_store_append *v);
int	ipc_dec_store_append(const uint8_t *p, size_t len,
	    struct ipc_store_append *v);
void	ipc_enc_store_ack(struct buf *b, const struct ipc_store_ack *v);
int	ipc_dec_store_ack(const uint8_t *p, size_t len,
	    struct ipc_store_ack *v);
void	ipc_enc_store_mark(struct buf *b, const struct ipc_store_mark *v);
int	ipc_dec_store_mark(const uint8_t *p, size_t len,
	    struct ipc_store_mark *v);
void	ipc_enc_store_qos2(struct buf *b, const struct ipc_store_qos2 *v);
int	ipc_dec_store_qos2(const uint8_t *p, size_t len,
	    struct ipc_store_qos2 *v);
void	ipc_enc_store_retain(struct buf *b, unsigned type,
	    const struct ipc_store_retain *v);
int	ipc_dec_store_retain(unsigned type, const uint8_t *p, size_t len,
	    struct ipc_store_retain *v);
void	ipc_enc_store_will(struct buf *b, unsigned type,
	    const struct ipc_store_will *v);
int	ipc_dec_store_will(unsigned type, const uint8_t *p, size_t len,
	    struct ipc_store_will *v);
void	ipc_enc_store_load(struct buf *b, const struct ipc_store_load *v);
int	ipc_dec_store_load(const uint8_t *p, size_t len,
	    struct ipc_store_load *v);
void	ipc_enc_store_rep(struct buf *b, const struct ipc_store_rep *v);
int	ipc_dec_store_rep(const uint8_t *p, size_t len,
	    struct ipc_store_rep *v);
/* Encodes a LOAD chunk header for nrecs records appended later. */
void	ipc_enc_store_load_rep_head(struct buf *b, uint32_t id, int32_t rc,
	    bool last, uint32_t nrecs);
/* Appends one record to a chunk being built. */
void	ipc_enc_store_rec(struct buf *b, const struct ipc_store_rec *r);
void	ipc_enc_store_load_rep(struct buf *b,
	    const struct ipc_store_load_rep *v);
int	ipc_dec_store_load_rep(const uint8_t *p, size_t len,
	    struct ipc_store_load_rep *v);

/* Senders (type chosen by the function) and readers (type checked). */
int	ipc_send_store_session(void *sock, const struct ipc_peer *to,
	    unsigned type, const struct ipc_store_session *v);
int	ipc_send_store_subs(void *sock, const struct ipc_peer *to,
	    unsigned type, const struct ipc_store_subs *v);
int	ipc_send_store_append(void *sock, const struct ipc_peer *to,
	    const struct ipc_store_append *v);
int	ipc_send_store_ack(void *sock, const struct ipc_peer *to,
	    const struct ipc_store_ack *v);
int	ipc_send_store_mark(void *sock, const struct ipc_peer *to,
	    const struct ipc_store_mark *v);
int	ipc_send_store_qos2(void *sock, const struct ipc_peer *to,
	    unsigned type, const struct ipc_store_qos2 *v);
int	ipc_send_store_retain(void *sock, const struct ipc_peer *to,
	    unsigned type, const struct ipc_store_retain *v);
int	ipc_send_store_will(void *sock, const struct ipc_peer *to,
	    unsigned type, const struct ipc_store_will *v);
int	ipc_send_store_load(void *sock, const struct ipc_peer *to,
	    const struct ipc_store_load *v);
int	ipc_send_store_rep(void *sock, const struct ipc_peer *to,
	    const struct ipc_store_rep *v);
int	ipc_send_store_load_rep(void *sock, const struct ipc_peer *to,
	    const struct ipc_store_load_rep *v);
int	ipc_recv_store_session(const struct ipc_msg *m,
	    struct ipc_store_session *v);
int	ipc_recv_store_subs(const struct ipc_msg *m,
	    struct ipc_store_subs *v);
int	ipc_recv_store_append(const struct ipc_msg *m,
	    struct ipc_store_append *v);
int	ipc_recv_store_ack(const struct ipc_msg *m, struct ipc_store_ack *v);
int	ipc_recv_store_mark(const struct ipc_msg *m,
	    struct ipc_store_mark *v);
int	ipc_recv_store_qos2(const struct ipc_msg *m,
	    struct ipc_store_qos2 *v);
int	ipc_recv_store_retain(const struct ipc_msg *m,
	    struct ipc_store_retain *v);
int	ipc_recv_store_will(const struct ipc_msg *m,
	    struct ipc_store_will *v);
int	ipc_recv_store_load(const struct ipc_msg *m,
	    struct ipc_store_load *v);
int	ipc_recv_store_rep(const struct ipc_msg *m, struct ipc_store_rep *v);
int	ipc_recv_store_load_rep(const struct ipc_msg *m,
	    struct ipc_store_load_rep *v);

/* Release the lists a decoder allocated (NULL-safe, idempotent). */
void	ipc_store_free_session(struct ipc_store_session *v);
void	ipc_store_free_subs(struct ipc_store_subs *v);
void	ipc_store_free_append(struct ipc_store_append *v);
void	ipc_store_free_ack(struct ipc_store_ack *v);
void	ipc_store_free_mark(struct ipc_store_mark *v);
void	ipc_store_free_qos2(struct ipc_store_qos2 *v);
void	ipc_store_free_rep(struct ipc_store_rep *v);
void	ipc_store_free_load_rep(struct ipc_store_load_rep *v);

/*
 * Value encodings shared with storaged's schema (docs/storage.md): a body
 * is u8 qos, u8 flags, u64 expire_at, blob topic, blob props, blob payload.
 */
void	ipc_enc_store_body(struct buf *b, const struct ipc_store_body *v);
struct rbuf;
void	ipc_get_store_body(struct rbuf *r, struct ipc_store_body *v);

#endif
