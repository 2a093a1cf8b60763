/* SPDX-License-Identifier: MIT */
/*
 * mqttd, the MQTT front end: the map of the directory.  Every function other
 * files call is declared here under the marker of the file that holds it.
 *
 * Data model (DESIGN.md "Data paths"): a PUBLISH becomes one refcounted
 * struct msg; the match step (publish.c) decides which sessions get it, and
 * the delivery step (deliver.c) appends a reference to each session's
 * ordered queue (queue.c) or writes it straight to the client.  Sessions
 * (session.c) outlive connections (conn.c), whose socket I/O is kept in
 * two functions, behind which TLS and WebSocket connections go through
 * xport.c (OpenSSL on the socket, RFC 6455 framing in ws.c) without
 * touching the MQTT code.
 * Everything runs on one libevent loop; nothing in the MQTT path waits for
 * another process.
 */
#ifndef MQTTD_MQTTD_H
#define MQTTD_MQTTD_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event_struct.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/conf.h"
#include "mqttd/mqtt.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

struct event_base;
struct evconnlistener;
struct topic_tree;
struct retain_tree;
struct session;
struct conn;
struct xport;
struct auth_wait;

#define MQTTD_CONNECT_TIMEOUT	10	/* seconds to send CONNECT */
#define MQTTD_CLOSE_LINGER	2	/* seconds to flush a last packet */
#define MQTTD_EXPIRY_NEVER	UINT32_MAX

/*
 * Counters: every drop and refusal has one.  X(name, description); they are
 * listed in the "metrics" JSON in this order.
 */
#define MQTTD_STATS(X)							\
	X(connections_accepted,	"TCP connections accepted")		\
	X(connects,		"CONNECTs accepted")			\
	X(connects_refused,	"CONNECTs refused with a CONNACK code")	\
	X(connect_timeouts,	"connections closed without CONNECT")	\
	X(disconnects_clean,	"DISCONNECTs received")			\
	X(disconnects_lost,	"connections lost or closed on error")	\
	X(disconnects_sent,	"server DISCONNECTs sent (5.0)")	\
	X(keepalive_timeouts,	"connections closed by keep alive")	\
	X(takeovers,		"session takeovers")			\
	X(malformed_packets,	"malformed packets received")		\
	X(protocol_errors,	"protocol errors")			\
	X(packets_too_large,	"inbound packets over max_message_size") \
	X(bytes_in,		"bytes read from clients")		\
	X(bytes_out,		"bytes queued to clients")		\
	X(messages_in,		"PUBLISH received")			\
	X(messages_in_qos0,	"PUBLISH received at QoS 0")		\
	X(messages_in_qos1,	"PUBLISH received at QoS 1")		\
	X(messages_in_qos2,	"PUBLISH received at QoS 2")		\
	X(messages_in_dup_qos2,	"QoS 2 PUBLISH resent before PUBREL")	\
	X(messages_out,		"PUBLISH sent")				\
	X(messages_out_qos0,	"PUBLISH sent at QoS 0")		\
	X(messages_out_qos1,	"PUBLISH sent at QoS 1")		\
	X(messages_out_qos2,	"PUBLISH sent at QoS 2")		\
	X(messages_retried,	"PUBLISH/PUBREL resent on reconnect")	\
	X(messages_no_subscribers, "PUBLISH matching no subscriber")	\
	X(dropped_qos0_slow,	"QoS 0 dropped: client write buffer full") \
	X(dropped_qos0_offline,	"QoS 0 not queued for offline sessions") \
	X(dropped_queue_full,	"QoS 1/2 dropped: session queue full")	\
	X(dropped_expired,	"messages dropped: message expiry")	\
	X(dropped_too_large,	"messages dropped: client max packet size") \
	X(dropped_payload_format, "PUBLISH refused: payload not UTF-8")	\
	X(inbound_quota_exceeded, "clients over our receive maximum")	\
	X(retained_set,		"retained messages stored")		\
	X(retained_deleted,	"retained messages deleted")		\
	X(retained_sent,	"retained messages sent on subscribe")	\
	X(wills_published,	"will messages published")		\
	X(sessions_expired,	"sessions ended by expiry")		\
	X(subscribes,		"SUBSCRIBE topic filters accepted")	\
	X(subscribes_refused,	"SUBSCRIBE topic filters refused")	\
	X(unsubscribes,		"UNSUBSCRIBE topic filters")		\
	MQTTD_STATS_ACCESS(X)

/* Issue 6: access control, listeners and limits (auth.c, xport.c, limits.c). */
#define MQTTD_STATS_ACCESS(X)						\
	X(auth_ok,		"passwords accepted")			\
	X(auth_failed,		"CONNECTs refused: bad user or password") \
	X(auth_busy,		"CONNECTs refused: password checks full") \
	X(auth_anonymous_refused, "CONNECTs refused: anonymous")	\
	X(acl_denied_publish,	"PUBLISH refused by the ACL")		\
	X(acl_denied_subscribe,	"SUBSCRIBE filters refused by the ACL")	\
	X(acl_denied_deliver,	"deliveries dropped by the ACL")	\
	X(acl_denied_will,	"CONNECTs refused: will topic not allowed") \
	X(limit_connections,	"CONNECTs refused: max_connections")	\
	X(limit_publish_rate,	"pauses of a client over max_publish_rate") \
	X(limit_write_buffer,	"clients blocked on max_write_buffer")	\
	X(tls_handshakes,	"TLS handshakes completed")		\
	X(tls_failures,		"TLS handshakes or records failed")	\
	X(ws_upgrades,		"WebSocket upgrades accepted")		\
	X(ws_failures,		"WebSocket upgrades or frames refused")

struct stats {
#define MQTTD_STAT_FIELD(name, desc)	uint64_t name;
	MQTTD_STATS(MQTTD_STAT_FIELD)
#undef MQTTD_STAT_FIELD
};

/* msg.c: the refcounted message, stored once, referenced by every queue. */

#define MSG_F_PAYLOAD_FORMAT	0x01	/* payload_format is set */

/*
 * One message.  Every pointer points into the same allocation; topic is
 * NUL-terminated.  The 5.0 properties kept are those forwarded to
 * subscribers ([MQTT-3.3.2-*]): payload format, content type, response
 * topic, correlation data and user properties (as on the wire, in order);
 * the message expiry is kept as an absolute time.
 */
struct msg {
	uint32_t	 refcnt;
	uint8_t		 qos;
	bool		 retain;
	uint8_t		 flags;		/* MSG_F_* */
	uint8_t		 payload_format;
	uint64_t	 id;		/* node-unique */
	int64_t		 expire_at;	/* unix seconds; 0 = never */
	uint32_t	 expiry_interval; /* as published, 0 = none */
	char		*topic;
	size_t		 topic_len;
	uint8_t		*payload;
	size_t		 payload_len;
	struct mqtt_bin	 content_type;
	struct mqtt_bin	 response_topic;
	struct mqtt_bin	 correlation_data;
	struct mqtt_bin	 user_props;
	int		 nuser_props;
	char		*origin;	/* publisher's client id (no local) */
	size_t		 origin_len;
};

/*
 * Returns a new message (refcnt 1) holding copies of topic, payload, the
 * forwardable properties of props (may be NULL) and origin (may be NULL).
 * now is the current unix time for the message expiry.  Free with
 * msg_unref().
 */
struct msg	*msg_new(const char *topic, size_t topic_len,
		    const uint8_t *payload, size_t payload_len, uint8_t qos,
		    bool retain, const struct mqtt_props *props,
		    const char *origin, size_t origin_len, int64_t now);
/* Returns m with one more reference. */
struct msg	*msg_ref(struct msg *m);
/* Drops one reference; frees m with the last.  msg_unref(NULL) is a no-op. */
void		 msg_unref(struct msg *m);
/* True when m's message expiry has passed at unix time now. */
bool		 is_msg_expired(const struct msg *m, int64_t now);
/*
 * Fills props (cleared first) with m's forwardable properties and the
 * remaining Message Expiry Interval at now.  props borrows m.
 */
void		 msg_fill_props(const struct msg *m, struct mqtt_props *props,
		    int64_t now);
/* The next node-unique message id. */
uint64_t	 msg_next_id(void);

/* queue.c: a session's ordered queue of deliveries and in-flight window. */

enum queue_state {
	QUEUE_PENDING,		/* not sent yet */
	QUEUE_WAIT_PUBACK,	/* QoS 1 PUBLISH sent */
	QUEUE_WAIT_PUBREC,	/* QoS 2 PUBLISH sent */
	QUEUE_WAIT_PUBCOMP	/* QoS 2 PUBREL sent */
};

#define QUEUE_MAX_SUBIDS	4	/* subscription ids kept per entry */

struct queue_entry {
	TAILQ_ENTRY(queue_entry) link;
	struct msg	*msg;		/* one reference owned */
	uint64_t	 sseq;		/* durable.c: store seq; 0 = none */
	uint32_t	 seq;		/* allocation order of pid */
	uint32_t	 subids[QUEUE_MAX_SUBIDS];
	uint16_t	 pid;
	uint8_t		 qos;
	uint8_t		 state;		/* enum queue_state */
	uint8_t		 retain;	/* RETAIN flag to send */
	uint8_t		 nsubids;
};
TAILQ_HEAD(queue_list, queue_entry);

/*
 * inflight holds the entries sent and not yet acknowledged, in the order
 * their packet ids were allocated; pending the entries not sent yet.
 */
struct queue {
	struct queue_list	 inflight;
	struct queue_list	 pending;
	uint32_t		 ninflight;
	uint32_t		 npending;
	uint32_t		 seq;		/* packet ids allocated */
	uint32_t		 nstored;	/* in flight with an sseq */
	uint16_t		 next_pid;
};

void	queue_init(struct queue *q);
/* Frees every entry (dropping their message references). */
void	queue_clear(struct queue *q);
/*
 * Returns a new pending entry for m (takes a new reference to m) with the
 * given QoS, RETAIN flag and subscription ids (the first QUEUE_MAX_SUBIDS
 * are kept).  It is not in q until queue_push().  Free with
 * queue_entry_free().
 */
struct queue_entry *queue_entry_new(struct msg *m, uint8_t qos, bool retain,
		    const uint32_t *subids, int nsubids);
void	queue_entry_free(struct queue_entry *e);
/* Appends e (from queue_entry_new) to the pending list.  Takes ownership. */
void	queue_push(struct queue *q, struct queue_entry *e);
/* Removes and returns the first pending entry, or NULL.  Caller owns it. */
struct queue_entry *queue_pop(struct queue *q);
/*
 * Moves e (not in any list: new or popped) into the in-flight list with a
 * fresh packet id that no in-flight entry uses, state WAIT_PUBACK or
 * WAIT_PUBREC by its QoS.  Takes ownership.
 */
void	queue_start(struct queue *q, struct queue_entry *e);
/* Returns the in-flight entry with packet id pid, or NULL.  Borrowed. */
struct queue_entry *queue_find(struct queue *q, uint16_t pid);
/* Removes in-flight entry e and frees it. */
void	queue_done(struct queue *q, struct queue_entry *e);
/* Returns a packet id not used by an in-flight entry (and advances). */
uint16_t queue_alloc_pid(struct queue *q);
/* True if pid belongs to an in-flight entry. */
bool	is_queue_pid_used(const struct queue *q, uint16_t pid);

/* alias.c: 5.0 topic alias tables of one connection. */

/* Client -> server aliases: alias n maps to a topic name. */
struct alias_in {
	uint16_t	  max;
	char		**topics;	/* [max], owned, made on first use */
	uint16_t	 *lens;
};

/* Server -> client aliases: assigned on first use while there is room. */
struct alias_out_slot {
	char		*topic;		/* owned; NULL = free */
	uint16_t	 len;
	uint16_t	 alias;
};

struct alias_out {
	uint16_t		 max;	/* client's Topic Alias Maximum */
	uint16_t		 count;
	uint32_t		 cap;	/* hash slots, power of two */
	struct alias_out_slot	*slots;
};

void	alias_in_init(struct alias_in *a, uint16_t max);
void	alias_in_clear(struct alias_in *a);
/*
 * Sets alias (1..max) to topic (copied).  Returns 0, or -1 if alias is out
 * of range.
 */
int	alias_in_set(struct alias_in *a, uint16_t alias, const uint8_t *topic,
	    size_t len);
/* Returns the topic of alias (borrowed, valid until the next set), or NULL
 * if alias is out of range or unset. */
const char *alias_in_get(const struct alias_in *a, uint16_t alias,
	    size_t *len);

void	alias_out_init(struct alias_out *a, uint16_t max);
void	alias_out_clear(struct alias_out *a);
/*
 * Looks topic up.  Returns its alias with *is_new false if it has one;
 * assigns the next alias and returns it with *is_new true if there is room;
 * returns 0 (send the topic without an alias) when the table is full or max
 * is 0.
 */
uint16_t alias_out_get(struct alias_out *a, const char *topic, size_t len,
	    bool *is_new);
/* Forgets a just-assigned alias (the PUBLISH carrying it was not sent). */
void	alias_out_forget(struct alias_out *a, const char *topic, size_t len);

/* session.c: sessions by client id, their subscriptions and life cycle. */

struct sub {
	TAILQ_ENTRY(sub) link;
	uint32_t	 subid;
	uint8_t		 options;
	uint16_t	 len;
	char		 filter[];	/* full filter, "$share/G/f" kept */
};
TAILQ_HEAD(sub_list, sub);

struct session {
	struct session	*hnext;		/* hash chain */
	char		*client_id;	/* owned */
	size_t		 id_len;
	struct conn	*conn;		/* borrowed; NULL when offline */
	struct sub_list	 subs;
	uint32_t	 nsubs;
	struct queue	 q;
	uint16_t	*qos2_in;	/* inbound QoS 2 ids awaiting PUBREL */
	uint16_t	 nqos2_in;
	uint16_t	 qos2_cap;
	uint8_t		 proto;
	bool		 clean;		/* clean session / clean start */
	bool		 on_timers;
	uint32_t	 expiry;	/* seconds, MQTTD_EXPIRY_NEVER */
	int64_t		 expire_at;	/* unix ms when offline; 0 = none */
	struct msg	*will;		/* owned, NULL if none */
	uint32_t	 will_delay;
	int64_t		 will_at;	/* unix ms of a delayed will; 0 */
	TAILQ_ENTRY(session) timer_link;
	uint64_t	 match_gen;	/* publish.c: dedupe of one match */
	uint32_t	 match_idx;
	uint64_t	 dseq;		/* durable.c: next store seq */
	uint8_t		 dflags;	/* durable.c: DUR_F_* */
};
TAILQ_HEAD(session_list, session);

/* Returns the session of client_id, or NULL.  Borrowed. */
struct session	*session_find(const char *client_id, size_t len);
/* Returns a new empty session registered under client_id (copied). */
struct session	*session_new(const char *client_id, size_t len);
/*
 * Ends s: removes its subscriptions, publishes its will if any, drops its
 * queue and frees it.  s must be offline (no conn).
 */
void	session_end(struct session *s);
/*
 * The connection of s went away.  normal is true after a DISCONNECT
 * without will; otherwise the will is published now or scheduled (will
 * delay).  Ends s if its expiry is 0, else starts its expiry timer.
 */
void	session_detach(struct session *s, bool normal);
/* Adds or replaces s's subscription.  Returns 1 added, 0 replaced, -1 on an
 * invalid filter. */
int	session_subscribe(struct session *s, const char *filter, size_t len,
	    uint8_t options, uint32_t subid);
/* Returns 1 if the subscription existed and was removed, 0 if not. */
int	session_unsubscribe(struct session *s, const char *filter, size_t len);
/* Inbound QoS 2 packet ids: has/add/remove. */
bool	has_session_qos2(const struct session *s, uint16_t pid);
void	session_qos2_add(struct session *s, uint16_t pid);
bool	session_qos2_remove(struct session *s, uint16_t pid);
/* Sets s's will (takes ownership of will, may be NULL; frees the old). */
void	session_set_will(struct session *s, struct msg *will, uint32_t delay);
/* Puts s on (or takes it off) the timer list by its will_at/expire_at. */
void	session_update_timers(struct session *s);
/* Fires due wills and expiries at now_ms (unix ms; called a few times a
 * second). */
void	session_sweep(int64_t now_ms);
/* Calls fn for every session. */
void	session_walk(void (*fn)(struct session *, void *), void *arg);
/* Frees every session without publishing wills (at exit). */
void	session_free_all(void);

/*
 * conn.c: one client connection.  A plain TCP connection is a socket with
 * a read event; bytes are framed straight out of one shared read buffer,
 * and a packet cut by a read boundary is kept in inbuf until complete.
 * Output is gathered per connection during one round of callbacks and
 * written with one write(2) by conn_flush(); only what the socket does not
 * take stays in obuf, with a write event, until it drains.  An idle
 * connection holds no buffer.  conn_readcb() and conn_flush() are the only
 * places that touch the socket: for TLS and WebSocket they call
 * xport_read() and xport_write() instead (xport.c), which hand decoded
 * bytes to conn_feed().
 */

enum conn_state {
	CONN_NEW,		/* waiting for CONNECT */
	CONN_ACTIVE,		/* CONNACK 0 sent */
	CONN_CLOSING		/* flushing a last packet, then freed */
};

struct listener;

struct conn {
	TAILQ_ENTRY(conn) link;
	TAILQ_ENTRY(conn) dirty_link;	/* output waiting for conn_flush */
	struct event	 rev;		/* EV_READ | EV_PERSIST */
	struct event	*wev;		/* created when output lags */
	struct buf	*obuf;		/* output not yet written, or NULL */
	size_t		 ooff;		/* bytes of obuf already written */
	uint8_t		*inbuf;		/* a partial packet, or NULL */
	uint32_t	 inlen;
	uint32_t	 incap;
	int		 fd;
	struct listener	*lst;		/* borrowed */
	struct session	*sess;		/* borrowed */
	struct alias_in	*ain;		/* NULL until used */
	struct alias_out *aout;		/* NULL unless the client allows */
	uint64_t	 last_rx;	/* monotonic ms; CLOSING: deadline */
	uint32_t	 max_packet;	/* client's Maximum Packet Size; 0 */
	uint16_t	 keepalive;	/* seconds, 0 = none */
	uint16_t	 out_window;	/* in-flight limit towards the client */
	uint16_t	 topic_alias_max; /* ours, inbound */
	uint8_t		 state;		/* enum conn_state */
	uint8_t		 proto;		/* 0 before CONNECT */
	bool		 busy;		/* inside one of its callbacks */
	bool		 dead;		/* free when the callback returns */
	bool		 wblocked;	/* stopped sending: buffer full */
	bool		 problem_info;	/* 5.0 Request Problem Information */
	bool		 wshut;		/* CONN_CLOSING: write side shut */
	bool		 dirty;		/* on broker->dirty */
	bool		 rpaused;	/* conn_pause_read() */
	uint8_t		 hold;		/* CONN_HOLD_*: input waits */
	bool		 wfull;		/* output reached max_write_buffer */
	struct xport	*x;		/* TLS/WebSocket; NULL: plain TCP */
	char		*username;	/* owned; NULL: anonymous */
	struct auth_wait *authw;	/* owned by auth.c while checking */
	struct durable_acks *dacks;	/* durable.c: acks waiting, FIFO */
	struct event	*hold_ev;	/* limits.c: rate limit release */
	uint32_t	 rate_sec;	/* limits.c: second of rate_count */
	uint32_t	 rate_count;	/* limits.c: PUBLISH in rate_sec */
	char		 peer[56];	/* "addr:port" for log lines */
};
TAILQ_HEAD(conn_list, conn);

/* Returns a new connection on accepted socket fd (owned) for lst. */
struct conn	*conn_new(struct listener *lst, int fd,
		    const struct sockaddr *sa, int salen);
/*
 * Closes c: detaches its session (normal: no will), stops reading and frees
 * it, after the output is flushed if flush is set (at most
 * MQTTD_CLOSE_LINGER seconds).  Safe from inside c's own callbacks.
 */
void	conn_close(struct conn *c, bool normal, bool flush);
/*
 * A protocol failure of c: logs why with client id and peer, sends a 5.0
 * DISCONNECT (or a CONNACK before CONNECT was accepted) with rc when the
 * protocol allows, and closes c (publishing the will).
 */
void	conn_fail(struct conn *c, enum mqtt_rc rc, const char *why);
/*
 * Appends n bytes to c's output.  They are written to the socket once the
 * current round of callbacks is over (one write per connection per round).
 */
void	conn_write(struct conn *c, const void *p, size_t n);
/* Writes the output of every connection written to in this round. */
void	conn_flush_all(void);
/* Encodes pkt and queues it on c's output.  Returns 0 or -1 (logged). */
int	conn_send(struct conn *c, const struct mqtt_packet *pkt);
/* Sends a 5.0 DISCONNECT with rc and a Reason String (why, or the name of
 * rc if NULL); 3.x: nothing. */
void	conn_send_disconnect(struct conn *c, enum mqtt_rc rc, const char *why);
/* Sends PUBACK/PUBREC/PUBREL/PUBCOMP. */
void	conn_send_ack(struct conn *c, enum mqtt_type type, uint16_t pid,
	    uint8_t rc);
/* True when c's output holds more than max_write_buffer bytes. */
bool	is_conn_wbuf_full(const struct conn *c);
/* Bytes waiting in c's output. */
size_t	conn_wbuf_len(const struct conn *c);
/* Client id of c for log lines ("?" before CONNECT). */
const char *conn_client_id(const struct conn *c);
/* Keep alive, CONNECT and close timeouts (called a few times a second). */
void	conn_sweep(uint64_t mono);
/* Shutdown: DISCONNECT 0x8B to 5.0 clients, close everything. */
void	conn_close_all(void);
/* At exit: frees every connection still open or closing. */
void	conn_free_all(void);
/*
 * Stops reading c's socket (back-pressure on a publisher) and starts again.
 * Keep alive is not enforced while paused.
 */
void	conn_pause_read(struct conn *c);
void	conn_resume_read(struct conn *c);
/* Monotonic milliseconds (coarse clock). */
uint64_t conn_mono_now(void);
/*
 * Input holds (issue 6): while c->hold is not 0, c's socket is not read
 * and input already read is kept, unhandled, in order.  CONN_HOLD_AUTH: a
 * CONNECT waits for its password check; CONN_HOLD_RATE: over
 * max_publish_rate until the next second.
 */
#define CONN_HOLD_AUTH	0x01
#define CONN_HOLD_RATE	0x02
#define CONN_HOLD_STORE	0x04	/* durable.c: storaged is behind */
#define CONN_HOLD_CLAIM	0x08	/* cluster.c: the client id is claimed */
#define CONN_HOLD_CLUSTER 0x10	/* cluster.c: forwards are behind */
void	conn_hold(struct conn *c, uint8_t why);
/*
 * Clears why; when no hold is left, reads again, and the input kept is
 * handled first, from the read callback (not within this call).  Safe
 * anywhere; if c is closed and not inside one of its callbacks (busy), it
 * is freed here: do not use c afterwards.
 */
void	conn_release(struct conn *c, uint8_t why);
/*
 * Bytes a TLS or WebSocket layer (xport.c) decoded from c's socket: framed
 * and handled like bytes read from a plain socket.
 */
void	conn_feed(struct conn *c, const uint8_t *p, size_t len);
/* The connection is broken (xport.c): closes it without a flush. */
void	conn_lost(struct conn *c, const char *how);

/* listener.c: listening sockets. */
struct listener {
	struct evconnlistener	*evl;
	struct event		*pause_ev;	/* after EMFILE */
	const struct conf_listener *cl;	/* borrowed */
};
/* Binds every listener.tcp.* of the configuration.  Returns 0 or -1. */
int	listener_open_all(void);
/* Stops accepting and frees the listeners. */
void	listener_close_all(void);

/* connect.c: CONNECT handling. */
/* Handles the CONNECT in pkt on a CONN_NEW connection. */
void	connect_handle(struct conn *c, struct mqtt_packet *pkt);
/* Handles a client DISCONNECT. */
void	connect_handle_disconnect(struct conn *c, struct mqtt_packet *pkt);

/* publish.c: inbound PUBLISH, matching and inbound acknowledgements. */
void	publish_handle(struct conn *c, struct mqtt_packet *pkt);
void	publish_handle_pubrel(struct conn *c, struct mqtt_packet *pkt);
/*
 * Routes m (as published by origin, may be NULL) to every matching
 * subscription and stores/deletes it as retained if m->retain.  Returns
 * the number of sessions it was given to.  Borrows m.
 */
size_t	publish_msg(struct msg *m, struct session *origin);
/*
 * Delivers m, from another node, to this node's subscribers as t says
 * (IPC_FWD_PLAIN: every ordinary local subscriber; IPC_FWD_SHARED: one
 * local member of that group; IPC_FWD_RETAIN: stored as retained), never
 * to other nodes' routes.  done(arg, rc) runs once it is handed over
 * durably (rc IPC_STORE_*); done may be NULL (QoS 0).  Borrows m and t.
 */
struct ipc_fwd_target;
void	publish_remote(struct msg *m, const struct ipc_fwd_target *t,
	    uint32_t nt, void (*done)(void *, int), void *arg);
/* Forwards are no longer behind (cluster.c): publishers read again. */
void	publish_unblocked(void);

/* deliver.c: outbound PUBLISH and its acknowledgements. */
/*
 * Gives m to s at QoS min(m->qos, qos) with RETAIN flag retain and the
 * subscription ids: written now when s is connected and its window and
 * buffer allow, queued otherwise, or dropped (counted) by the queue limits.
 * Borrows m (takes its own reference if it keeps it).
 */
void	deliver_msg(struct session *s, struct msg *m, uint8_t qos,
	    bool retain, const uint32_t *subids, int nsubids);
/*
 * deliver_msg() with the store sequence number sseq (durable_seq(), 0 for
 * none) for the queue entry.  Returns true if a QoS 1/2 entry was made
 * (it was written or queued), false if dropped or sent at QoS 0.
 */
bool	deliver_msg_seq(struct session *s, struct msg *m, uint8_t qos,
	    bool retain, const uint32_t *subids, int nsubids, uint64_t sseq);
/* Sends pending entries of s while its window and write buffer allow. */
void	deliver_pump(struct session *s);
/* After CONNACK on a resumed session: resends in-flight entries (DUP, or
 * PUBREL), then pumps. */
void	deliver_resume(struct session *s);
void	deliver_handle_puback(struct conn *c, struct mqtt_packet *pkt);
void	deliver_handle_pubrec(struct conn *c, struct mqtt_packet *pkt);
void	deliver_handle_pubcomp(struct conn *c, struct mqtt_packet *pkt);

/* subscribe.c: SUBSCRIBE and UNSUBSCRIBE. */
void	subscribe_handle(struct conn *c, struct mqtt_packet *pkt);
void	subscribe_handle_unsubscribe(struct conn *c, struct mqtt_packet *pkt);

/* auth.c: authentication and authorisation hooks (issue 6 fills them). */
/*
 * Decides whether a CONNECT may log in.  Returns MQTT_RC_SUCCESS, or
 * MQTT_RC_BAD_USERNAME_OR_PASSWORD / MQTT_RC_NOT_AUTHORIZED.  Never
 * blocks.
 */
enum mqtt_rc auth_check(const struct conn *c, const struct mqtt_connect *co);
/* True if the client may publish to topic / subscribe to filter. */
bool	is_auth_publish_allowed(const struct conn *c, const char *topic,
	    size_t len);
bool	is_auth_subscribe_allowed(const struct conn *c, const char *filter,
	    size_t len);
/* True if the ACL lets c receive a message on topic (counts a denial). */
bool	is_auth_deliver_allowed(const struct conn *c, const char *topic,
	    size_t len);
/*
 * Starts the password check of the CONNECT raw[0..len) (decoded in co) on
 * the auth pool when one is needed: returns true with c held
 * (CONN_HOLD_AUTH) and the bytes copied; connect_handle() runs when the
 * result is in.  Returns false when the CONNECT can be handled now.
 */
bool	auth_connect_defer(struct conn *c, const struct mqtt_connect *co,
	    const uint8_t *raw, size_t len);
/* c goes away: cancels its check and frees what auth.c holds for it. */
void	auth_conn_free(struct conn *c);
/*
 * Loads password_file and acl_file of broker->conf and starts the auth
 * pool.  Returns 0, or -1 with the reason in err (start-up: fatal).
 */
int	auth_init(char *err, size_t errlen);
/* SIGHUP: loads both files again; a file that fails to load keeps the
 * previous table (logged). */
void	auth_reload(void);
void	auth_free(void);

/* xport.c: TLS and WebSocket layers under a connection. */
/*
 * Makes the server TLS context from the listener.ssl.* keys if an ssl or
 * wss listener is configured.  Returns 0, or -1 with the reason in err.
 * On SIGHUP (reload true) a context that fails to load keeps the old one.
 */
int	xport_tls_init(bool reload, char *err, size_t errlen);
void	xport_tls_free(void);
/* Puts c (new, from listener kind) behind TLS and/or WebSocket.  Returns 0
 * or -1 (logged; the caller closes c). */
int	xport_new(struct conn *c, enum conf_listener_kind kind);
void	xport_free(struct conn *c);
/* Reads and decodes what c's socket has (conn_feed() gets the bytes).
 * Returns 1 if more may follow, 0 at EOF, -1 on error (errno or logged). */
int	xport_read(struct conn *c);
/* Writes what c's output holds through the layer.  Returns 0, or -1 when
 * the connection is broken.  *want_write: the socket must become
 * writable before more can go. */
int	xport_write(struct conn *c, bool *want_write);
/* Bytes the layer holds for output (bounded by max_write_buffer too). */
size_t	xport_pending(const struct conn *c);
/* A close is about to be flushed: 1000 Normal Closure for WebSocket. */
void	xport_closing(struct conn *c);
/* The certificate's CN of a verified TLS client, or NULL.  Borrowed. */
const char *xport_identity(const struct conn *c);
/* True if c came in over TLS (ssl or wss). */
bool	is_xport_tls(const struct conn *c);

/* limits.c: the per-client publish rate and log lines of limits. */
enum limits_kind {
	LIMITS_PUBLISH_RATE,
	LIMITS_QUEUE_FULL,
	LIMITS_WRITE_BUFFER,
	LIMITS_CONNECTIONS,
	LIMITS_MESSAGE_SIZE,
	LIMITS_ACL,
	LIMITS_NKINDS
};
/* Counts one PUBLISH of c; holds c's input until the next second when it
 * reaches max_publish_rate. */
void	limits_publish(struct conn *c);
/*
 * Logs that a limit bit client_id (peer may be NULL): at most one line per
 * client and kind every LIMITS_LOG_INTERVAL seconds, with the number of
 * lines left out.
 */
void	limits_log(enum limits_kind kind, const char *client_id,
	    const char *peer, const char *what);
void	limits_free(struct conn *c);

/* reload.c: SIGHUP and the systemd watchdog. */
/*
 * Loads auth and TLS files (fatal on error), then handles SIGHUP and pings
 * the systemd watchdog on base.  conf is the broker's, changed in place by
 * a reload.
 */
void	reload_init(struct conf *conf, struct event_base *base);
/* What SIGHUP does: re-reads the configuration and the files it names. */
void	reload_apply(void);
void	reload_free(void);

/*
 * durable.c: persistent sessions, their queues, inbound QoS 2 ids, wills
 * and retained messages in storaged (issue 3), through storelink.c.
 * Nothing here blocks: requests are answered later, and a publisher's
 * acknowledgements wait (in order) for the writes they depend on.
 */
struct durable_wait;
struct durable_acks;
/* Connects to storaged and starts loading the stored state.  0 or -1. */
int	durable_init(void);
/* The link to storaged, NULL without one (replica.c writes through it). */
struct storelink;
struct storelink *durable_link(void);
/* Sends every persistent session afresh to its replica nodes (issue 8:
 * clusterd asks after a replica missed copies or the members changed). */
void	durable_resync_replicas(void);
/* s is handed to another node (call before session_end()): its replica
 * copies are kept for a while, as the new owner's fallback. */
void	durable_session_handed_over(struct session *s);
/* Runs the loop until the state is loaded, at most ms (start-up). */
void	durable_wait_loaded(int ms);
/* Runs the loop until storaged answered everything, at most ms (exit). */
void	durable_drain(int ms);
void	durable_free(void);
/* True when storaged is up / the stored state is loaded (or no store). */
bool	is_durable_up(void);
bool	is_durable_ready(void);
/* A node-unique id never used before, also across restarts; 0 when
 * there is no store (msg_next_id() falls back). */
uint64_t durable_next_id(void);
/* True if s is kept in storaged (expiry not 0). */
bool	is_durable_session(const struct session *s);
/*
 * The acknowledgement of one inbound packet: between begin and end, store
 * writes (and durable_wait_hold()s) join it; end queues the ack on c's
 * FIFO, sent once they are all done and everything before it was sent
 * (with 0x97 / 0x80, or a close for 3.1.1, if a write failed).  Every
 * begin is followed by one end_ack, end_cb (cb(arg, IPC_STORE_*) once
 * done) or abort.
 */
void	durable_wait_begin(void);
void	durable_wait_end_ack(struct conn *c, enum mqtt_type type,
	    uint16_t pid, uint8_t ok_rc);
void	durable_wait_end_cb(void (*cb)(void *, int), void *arg);
void	durable_wait_abort(void);
/* Another hold on the open wait (NULL if none); released with rc. */
struct durable_wait *durable_wait_hold(void);
void	durable_wait_release(struct durable_wait *w, int rc);
/* c goes away: its waiting acks are dropped (conn.c). */
void	durable_conn_gone(struct conn *c);
/* Session life cycle (connect.c, session.c, subscribe.c). */
void	durable_session_connected(struct session *s);
void	durable_session_detached(struct session *s);
void	durable_session_end(struct session *s);
void	durable_will_done(struct session *s);
void	durable_sub_put(struct session *s, const char *filter, size_t len,
	    uint8_t options, uint32_t subid);
void	durable_sub_del(struct session *s, const char *filter, size_t len);
void	durable_qos2_put(struct session *s, uint16_t pid);
void	durable_qos2_del(struct session *s, uint16_t pid);
/* The next publish_msg() routes s's inbound QoS 2 PUBLISH pid: its id is
 * stored in the same write as the message. */
void	durable_qos2_in(struct session *s, uint16_t pid);
/*
 * Routing one message (publish.c): begin; for each delivery, sseq =
 * durable_seq(s, qos) and, if deliver_msg_seq() kept it,
 * durable_publish_target(); end sends one APPEND (one body, every
 * target) on behalf of the open wait.  durable_retain() stores or drops
 * m as the retained message of its topic.
 */
void	durable_publish_begin(struct msg *m);
uint64_t durable_seq(struct session *s, uint8_t qos);
void	durable_publish_target(struct session *s, uint64_t sseq, uint8_t qos,
	    const uint32_t *subids, int nsubids);
void	durable_publish_end(void);
void	durable_retain(struct msg *m);
/* deliver_msg() of m to s alone, stored if s is durable. */
bool	durable_deliver(struct session *s, struct msg *m, uint8_t qos,
	    bool retain, const uint32_t *subids, int nsubids);
/* A stored entry was sent, got PUBREC, or is done (deliver.c). */
void	durable_entry_sent(struct session *s, struct queue_entry *e);
void	durable_entry_pubrec(struct session *s, struct queue_entry *e);
void	durable_entry_done(struct session *s, struct queue_entry *e);

/* json.c: a small JSON writer for status replies. */
void	json_str(struct buf *b, const char *s, size_t len);
void	json_kv_str(struct buf *b, bool *first, const char *k, const char *v);
void	json_kv_u64(struct buf *b, bool *first, const char *k, uint64_t v);
void	json_kv_bool(struct buf *b, bool *first, const char *k, bool v);
/* Terminates b with a NUL (not counted in b->len). */
void	json_end(struct buf *b);

/* stats.c: status, sessions and metrics as JSON. */
/* Appends the JSON text of what ("status", "metrics", "sessions") to b.
 * Returns 0, or -1 for an unknown what. */
int	stats_json(struct buf *b, const char *what, const char *arg);

/* dispatch.c: ipc with storaged, clusterd and ternctl. */
/* Binds the status ROUTER and connects to the peers.  Returns 0 or -1. */
int	dispatch_init(void);
void	dispatch_free(void);
/* True when peer ("storaged", "clusterd") was heard from recently. */
bool	is_dispatch_peer_up(const char *peer);

/* broker.c: the process-wide state. */
struct delivery {
	struct session	*s;		/* borrowed */
	uint8_t		 qos;
	bool		 rap;		/* retain as published */
	uint8_t		 nsubids;
	uint32_t	 subids[QUEUE_MAX_SUBIDS];
};

struct broker {
	const struct conf	*conf;		/* borrowed */
	struct event_base	*base;		/* borrowed */
	struct topic_tree	*subs;
	struct retain_tree	*retained;
	struct session		**sess_tab;
	size_t			 sess_cap;
	size_t			 nsessions;
	struct session_list	 timers;
	struct conn_list	 conns;		/* NEW and ACTIVE */
	struct conn_list	 closing;
	struct conn_list	 dirty;		/* output to flush */
	struct event		*flush_ev;
	size_t			 nconns;
	size_t			 nclients;	/* ACTIVE */
	struct listener		*listeners;
	int			 nlisteners;
	struct buf		 wbuf;		/* scratch for encoding */
	struct delivery		*dlv;		/* scratch for matching */
	size_t			 ndlv;
	size_t			 dlv_cap;
	uint64_t		 match_gen;
	uint64_t		 next_msg_id;
	uint32_t		 max_inflight;	/* 1..65535 */
	bool			 shutting_down;
	struct event		*sweep_ev;
	struct stats		 stats;
};

extern struct broker	*broker;

/*
 * Sets up the global broker for conf on base (base may be NULL for unit
 * tests).  Borrows both until broker_free().
 */
void	broker_init(const struct conf *conf, struct event_base *base);
void	broker_free(void);
/* Current unix time in seconds, and in milliseconds (coarse clock). */
int64_t	broker_now(void);
int64_t	broker_now_ms(void);
/* Starts shutdown: stop listening, disconnect clients, leave the loop. */
void	broker_shutdown(void);

#endif
