/* SPDX-License-Identifier: MIT */
/*
 * clusterd: membership (Raft), the admin socket used by ternctl, and the
 * links to the node's other daemons.  A map of the directory: each block
 * below is one file.  Everything runs on one libuv loop (Raft's).
 */
#ifndef CLUSTERD_CLUSTERD_H
#define CLUSTERD_CLUSTERD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "common/conf.h"
#include "ipc/ipc.h"

/* A node-local daemon is "down" after this much silence. */
#define CLUSTERD_PEER_TIMEOUT_MS	3000
#define CLUSTERD_TICK_MS		1000

/* Another daemon of this node, as seen over IPC. */
struct cd_daemon {
	const char	*name;		/* "mqttd", "storaged" */
	bool		 up;
	uint64_t	 last_seen;	/* uv_now() ms; 0 = never */
	uint32_t	 pid;
	uint64_t	 boot_id;
	struct ipc_peer	 peer;		/* ROUTER id (mqttd) */
	bool		 has_peer;
};

struct cd_counters {
	uint64_t	 ipc_in;
	uint64_t	 ipc_out;
	uint64_t	 ipc_bad;
	uint64_t	 status_requests;
};

struct membership;
struct link;
struct raft_uv_transport;
struct wire_hdr;
struct wire_join_req;
struct wire_leave_req;
struct wire_reply;
struct wire_route;

/* Another node, as seen over its link (link.c). */
struct link_peer {
	struct clusterd		*cd;
	char			 address[256];	/* its cluster.advertise */
	void			*sock;		/* DEALER (CURVE) */
	struct ipc_uv		*w;
	bool			 up;		/* answered a ping lately */
	uint64_t		 last_pong;	/* uv_now() ms */
	uint64_t		 node_id;	/* from its pongs */
	uint64_t		 boot_id;
	char			 name[256];
	char			 cluster_id[64];
};

struct clusterd {
	struct conf		 conf;
	uv_loop_t		*loop;
	char			 endpoint[512];		/* our ROUTER */
	void			*router;
	void			*store;			/* DEALER to storaged */
	struct ipc_uv		*router_w;
	struct ipc_uv		*store_w;
	uv_timer_t		 tick;
	uv_signal_t		 sig_term;
	uv_signal_t		 sig_int;
	uv_signal_t		 sig_hup;
	uint64_t		 boot_id;
	uint64_t		 started_ms;
	uint64_t		 hb_seq;
	struct cd_daemon	 mqttd;
	struct cd_daemon	 storaged;
	struct cd_counters	 counters;
	uint64_t		 node_id;		/* stable, data_dir */
	struct membership	*mb;			/* NULL until started */
	struct link		*link;			/* NULL: no keys */
	struct raft_uv_transport *transport;		/* Raft's, or NULL */
	struct discovery	*disc;			/* discovery.c */
	struct route		*route;			/* route.c */
	struct forward		*fwd;			/* forward.c */
	struct owner		*owner;			/* owner.c */
	bool			 stopping;
	int			 exit_status;	/* main()'s; 0 or TERN_EXIT_LEFT */
	uint64_t		 resync_at;	/* replica.c: resync wanted since */
	uint64_t		 resyncs;	/* replica.c: resyncs asked */
};

/* dispatch.c */
/* Reads the admin ROUTER socket (ipc_uv callback); arg is the clusterd. */
void	dispatch_router(void *sock, void *arg);
/* Reads the DEALER to storaged (ipc_uv callback). */
void	dispatch_store(void *sock, void *arg);
/* Once a second: heartbeats to storaged, peer timeouts. */
void	dispatch_tick(struct clusterd *cd);
/* Fills h with this daemon's hello. */
void	dispatch_hello(const struct clusterd *cd, struct ipc_hello *h);

/* status.c */
/*
 * Answers a status request: what = "status", "cluster" or "metrics".
 * Returns a new JSON string (free()); *rc is 0, or -1 for an unknown what
 * (the string then holds {"error": ...}).
 */
char	*status_json(struct clusterd *cd, const char *what, const char *arg,
	    int *rc);
/* True when d was heard from within CLUSTERD_PEER_TIMEOUT_MS. */
bool	 status_is_daemon_up(const struct clusterd *cd,
	    const struct cd_daemon *d);

/* membership.c */
struct json_t;
/*
 * Loads (or makes) the node id (data_dir/node_id).  membership_open() then
 * opens Raft in data_dir/raft and starts it, bootstrapping a one-node
 * cluster on an empty data dir when discovery = none.  Both exit on a
 * start-up error.
 */
void	membership_start(struct clusterd *cd);
/* Opens and starts Raft (after link_start: Raft talks over the links). */
void	membership_open(struct clusterd *cd);
/* Closes Raft (asynchronously: the loop ends once it is closed). */
void	membership_stop(struct clusterd *cd);
/* Releases the membership once the loop has ended. */
void	membership_free(struct clusterd *cd);
/* Adds the membership's fields to a status object o (borrowed). */
void	membership_status(struct clusterd *cd, struct json_t *o);
/* Adds the membership's counters to a metrics object o (borrowed). */
void	membership_metrics(struct clusterd *cd, struct json_t *o);
/* Returns a new {"nodes": [...]} object (json_decref()). */
struct json_t *membership_show(struct clusterd *cd);
/* ternctl's join and leave; the answer goes to `to` on the admin socket. */
void	membership_ternctl_join(struct clusterd *cd, const struct ipc_peer *to,
	    const struct ipc_cluster_join_req *req);
void	membership_ternctl_leave(struct clusterd *cd,
	    const struct ipc_peer *to, const struct ipc_cluster_leave_req *req);
/* Requests from other nodes (link.c) and answers to ours. */
void	membership_on_join_req(struct clusterd *cd, const struct ipc_peer *from,
	    const struct wire_join_req *req);
void	membership_on_leave_req(struct clusterd *cd,
	    const struct ipc_peer *from, const struct wire_leave_req *req);
void	membership_on_reply(struct clusterd *cd, struct link_peer *p,
	    const struct wire_reply *rep);
/* Copies the cluster id ("" when none yet) into out. */
void	membership_cluster_id(struct clusterd *cd, char *out, size_t outlen);
/* WIRE_PONG flags for a ping from node_id. */
uint8_t	membership_pong_flags(struct clusterd *cd, uint64_t node_id);
/* A pong from p: notices when the leader no longer counts us in. */
void	membership_on_pong(struct clusterd *cd, struct link_peer *p,
	    uint8_t flags, const char *cluster_id);
/* Makes sure there is a link to every member (called by link.c). */
void	membership_touch_peers(struct clusterd *cd);
/*
 * True when data_dir holds this node's membership (data_dir/cluster_id and
 * a Raft log, or committed Raft entries): discovery then does not run.
 */
bool	has_membership_stored(struct clusterd *cd);
/* The cluster id stored in data_dir/cluster_id, "" when none.  Valid until
 * the membership changes. */
const char *membership_stored_id(struct clusterd *cd);
/* True when this node is a member (in the state machine and in Raft's
 * configuration) of a cluster that has an id. */
bool	is_membership_joined(struct clusterd *cd);
/* Number of members this node knows of. */
size_t	membership_count(struct clusterd *cd);
/*
 * Discovery's decisions, while Raft waits for them (first start): join the
 * cluster cluster_id through the node at address (the outcome comes back
 * through discovery_on_join_done()), or bootstrap a new cluster of one.
 * Both return 0, or -1 when Raft is not waiting for discovery.
 */
int	membership_discovery_join(struct clusterd *cd, const char *address,
	    const char *cluster_id);
int	membership_discovery_bootstrap(struct clusterd *cd);

/*
 * Routing's view of the members (route.c, forward.c, owner.c).  fn gets
 * every member, this node included, with borrowed strings.
 */
typedef void	(*membership_walk_fn)(struct clusterd *cd, uint64_t id,
		    const char *name, const char *address, void *arg);
void	membership_walk(struct clusterd *cd, membership_walk_fn fn,
	    void *arg);
bool	is_membership_member(struct clusterd *cd, uint64_t id);
/* The link to member id (opened if new), NULL for this node, a non-member
 * or without links. */
struct link_peer *membership_link(struct clusterd *cd, uint64_t id);
/* True in a majority once every entry known committed is applied here:
 * the state machine (ownership) is as recent as the leader's. */
bool	is_membership_caught_up(struct clusterd *cd);
/* True when member id is leaving the cluster (ternctl cluster leave);
 * is_membership_leave_kill(): with -k. */
bool	is_membership_leaving(struct clusterd *cd, uint64_t id);
bool	is_membership_leave_kill(struct clusterd *cd, uint64_t id);
/* The leader: true once member id, leaving, has had its -t seconds (its
 * remaining sessions move to the other nodes now). */
bool	is_membership_leave_due(struct clusterd *cd, uint64_t id);
/* True when this node is on the side of a quorum: it leads, or follows a
 * leader that still answers over its link (G3). */
bool	is_membership_majority(struct clusterd *cd);
bool	is_membership_leader(struct clusterd *cd);
/* The link to the leader; NULL when we lead or there is none. */
struct link_peer *membership_leader_link(struct clusterd *cd);
/*
 * Proposes buf (raft_malloc'd, padded to a multiple of 8; taken on
 * success) as one log entry; cb(arg, status) runs when it is committed
 * (0) or failed.  Returns 0, or -1 when this node does not lead.
 */
struct raft_buffer;
int	membership_apply(struct clusterd *cd, struct raft_buffer *buf,
	    void (*cb)(void *, int), void *arg);

/* link.c */
/* Reads the keys and listens on cluster.listen; -1 when there are no keys
 * (links off, logged).  Exits on other start-up errors. */
int	link_start(struct clusterd *cd);
/* Stops the link's loop handles (at shutdown). */
void	link_stop(struct clusterd *cd);
/* Closes the sockets and the context (after the loop ended). */
void	link_free(struct clusterd *cd);
/* Starts message type in b with this node's header. */
void	link_begin(struct clusterd *cd, struct buf *b, unsigned type);
/* Sends b to peer p (DEALER); 0, or -1 when p is not connected. */
int	link_send(struct clusterd *cd, struct link_peer *p,
	    const struct buf *b);
/* Answers the node whose DEALER has routing id `to`; 0 or -1. */
int	link_reply(struct clusterd *cd, const struct ipc_peer *to,
	    const struct buf *b);
/* Returns the link to address (host:port), opening it if new; NULL when
 * links are off.  Valid until link_free(). */
struct link_peer *link_peer_get(struct clusterd *cd, const char *address);
/* Same, without opening one. */
struct link_peer *link_peer_find(struct clusterd *cd, const char *address);
bool	link_is_up(const struct link_peer *p);
void	link_metrics(struct clusterd *cd, uint64_t *in, uint64_t *out,
	    uint64_t *bad, size_t *up);

/* discovery.c: finds the cluster on a node's first start. */
struct discovery;
/*
 * Starts discovery when discovery != none and data_dir holds no
 * membership (after membership_open): it resolves the seeds, asks them over
 * the links whether a cluster exists, then joins one or, on the one node
 * every node picks, bootstraps one.  Also starts the joined/not-joined
 * reports to mqttd.  Exits with a clear reason on bad settings.
 */
void	discovery_start(struct clusterd *cd);
void	discovery_stop(struct clusterd *cd);
/* Releases discovery once the loop has ended. */
void	discovery_free(struct clusterd *cd);
/* How discovery's join ended (membership.c): rc 0 = joined. */
void	discovery_on_join_done(struct clusterd *cd, int rc, const char *text);
/* What discovery waits for, "" when it is not running.  Valid until the
 * next loop iteration. */
const char *discovery_why(struct clusterd *cd);
/* IPC_CS_JOINED and IPC_CS_DISCOVERY as they are now, for the flags of
 * IPC_CLUSTER_STATE. */
uint8_t	discovery_state_flags(struct clusterd *cd);

/* The pure parts, for the unit tests. */
#define DISCOVERY_ADDR_MAX	256
/*
 * Writes "host:port" in canonical form into out: a numeric IPv4 or IPv6
 * host as inet_ntop() writes it (IPv6 in brackets), a name in lower case;
 * defport when s has no port (0: a port is required).  Returns 0 or -1.
 */
int	discovery_canon(const char *s, uint16_t defport, char *out,
	    size_t outlen);
/* Orders canonical addresses: IPv4 (by bytes, then port), then IPv6, then
 * names (strcmp).  Every node orders them the same way. */
int	discovery_addr_cmp(const char *a, const char *b);
/*
 * Splits a seed list ("h:p, h:p" or blank separated) into canonical
 * addresses (at most max, duplicates dropped).  Returns the count, or -1
 * with a reason in err.
 */
int	discovery_parse_seeds(const char *list,
	    char (*out)[DISCOVERY_ADDR_MAX], size_t max, char *err,
	    size_t errlen);
/*
 * Splits a StatefulSet pod's hostname "NAME-N[.domain]": name, ordinal
 * and the domain ("" when the hostname has none).  Returns 0, or -1 when
 * it does not end in -N.
 */
int	discovery_k8s_hostname(const char *hostname, char *name,
	    size_t namelen, long *ordinal, char *domain, size_t domainlen);

/*
 * route.c: the route table (which nodes have subscribers for which
 * filters), the link to mqttd's clusterlink, the cluster state mqttd is
 * told, and the flush at the end of every loop iteration that route.c,
 * forward.c and owner.c share.  Design: docs/clustering.md.
 */
struct route;
struct forward;
struct owner;

/* A set of strings (filters), hashed. */
struct rset_ent;
struct rset {
	struct rset_ent	**tab;
	size_t		  cap;
	size_t		  n;
};
typedef void	(*rset_walk_fn)(const char *s, size_t len, void *arg);
/* 1 added, 0 already there; 1 removed, 0 absent.  s is copied. */
int	rset_add(struct rset *set, const char *s, size_t len);
int	rset_del(struct rset *set, const char *s, size_t len);
bool	has_rset(const struct rset *set, const char *s, size_t len);
/* fn must not change set. */
void	rset_walk(const struct rset *set, rset_walk_fn fn, void *arg);
/* Frees everything; set is empty and reusable. */
void	rset_clear(struct rset *set);

/* Another node's routes as we know them (pure logic, unit-tested). */
struct rtab {
	uint64_t	 id;
	uint64_t	 gen;		/* its clusterd boot id */
	uint64_t	 seq;		/* last change applied */
	bool		 synced;	/* a whole set of gen arrived */
	struct rset	 set;
	struct rset	 in;		/* a sync arriving in chunks */
	bool		 in_active;
	uint64_t	 in_gen;
	uint64_t	 in_seq;
	uint64_t	 req_at;	/* last sync request (uv_now) */
};

/* What a change did, for mqttd: op is IPC_ROUTE_ADD/DEL/RESET. */
struct rtab_out {
	void	(*fn)(void *arg, uint8_t op, const char *s, size_t len);
	void	*arg;
};

enum rtab_rc {
	RTAB_OK,		/* applied (or nothing to do) */
	RTAB_DONE,		/* a whole set replaced the old one */
	RTAB_NEED_SYNC		/* a gap or another generation: ask */
};

void	rtab_init(struct rtab *t, uint64_t id);
void	rtab_clear(struct rtab *t);
/* Applies a WIRE_ROUTE_DELTA, reporting changes to out (may be NULL). */
enum rtab_rc rtab_delta(struct rtab *t, const struct wire_route *d,
	    struct rtab_out *out);
/* Applies one chunk of a WIRE_ROUTE_SYNC; on the last, reports RESET and
 * every ADD of the new set. */
enum rtab_rc rtab_sync(struct rtab *t, const struct wire_route *d,
	    struct rtab_out *out);

enum link_event {
	LINK_EV_UP,		/* answers again */
	LINK_EV_DOWN,		/* silent for LINK_DOWN_MS */
	LINK_EV_RESTART		/* answers with another boot id */
};

struct route_stats {
	uint64_t	 local_msgs;
	uint64_t	 deltas_sent;
	uint64_t	 syncs_sent;
	uint64_t	 syncs_received;
	uint64_t	 sync_requests;
	uint64_t	 updates_sent;	/* entries to mqttd */
	uint64_t	 from_strangers;
	uint64_t	 bad_frames;
};

/*
 * replica.c: where a persistent session's replicas live (issue 8), and a
 * replica write split into one copy per replica node.  Placement is
 * rendezvous hashing over the members (docs/clustering.md).
 */
#define REPLICA_MAX	4	/* replication_factor - 1, at most */
/* The score of node for client id cid (higher: preferred). */
uint64_t replica_score(const char *cid, size_t len, uint64_t node);
/* The `want` best members (other than owner) for cid, best first, into
 * out (REPLICA_MAX entries).  Returns how many. */
size_t	replica_pick(const uint64_t *members, size_t n, uint64_t owner,
	    const char *cid, size_t len, size_t want, uint64_t *out);
/* replica_pick() of `want` nodes over the current members. */
size_t	replica_targets(struct clusterd *cd, uint64_t owner, const char *cid,
	    size_t len, size_t want, uint64_t *out);
/* replica_pick() over the current members and replication_factor. */
size_t	replica_nodes(struct clusterd *cd, uint64_t owner, const char *cid,
	    size_t len, uint64_t *out);
/* One replica node's copy: req is u16 type + the encoded request. */
struct replica_copy {
	uint64_t		 node;
	struct buf		 req;
	struct ipc_store_target	*targets;	/* while splitting */
	size_t			 ntargets;
};
struct replica_copies {
	struct replica_copy	*v;
	size_t			 n;
};
/*
 * Splits a replica write (a REPL forward's body: u16 store request type +
 * the request, of this node's own sessions) into c, one copy per replica
 * node of the sessions it touches.  Returns 0 (c filled: free with
 * replica_copies_free(); it may hold no copy at all), or -1 when the
 * payload does not decode.
 */
int	replica_split(struct clusterd *cd, const struct ipc_store_body *body,
	    struct replica_copies *c);
void	replica_copies_free(struct replica_copies *c);
/*
 * Our replica copies may be incomplete (a replica node missed some while
 * unreachable) or misplaced (the members changed): once things settle
 * (REPLICA_RESYNC_MS), our mqttd is asked to send every persistent
 * session afresh (IPC_REPLICA_RESYNC).  replica_tick() sends it.
 */
void	replica_want_resync(struct clusterd *cd, const char *why);
void	replica_tick(struct clusterd *cd);

/* Starts route.c, forward.c and owner.c; stop and free them together. */
void	route_start(struct clusterd *cd);
void	route_stop(struct clusterd *cd);
void	route_free(struct clusterd *cd);
/* Flush at the end of this loop iteration (cheap to call often). */
void	route_schedule(struct clusterd *cd);
/* mqttd's clusterlink said hello (IPC_HELLO, daemon "clusterlink"). */
void	route_on_hello(struct clusterd *cd, const struct ipc_peer *from,
	    const struct ipc_hello *h);
/* True when from is the clusterlink; route_seen() notes it is alive. */
bool	is_route_clusterlink(struct clusterd *cd, const struct ipc_peer *from);
void	route_seen(struct clusterd *cd);
bool	is_route_mqttd_up(struct clusterd *cd);
/* Sends b (an IPC payload of type) to the clusterlink; 0 or -1. */
int	route_to_mqttd(struct clusterd *cd, unsigned type, const struct buf *b);
/* IPC_ROUTE_LOCAL from mqttd (v borrowed). */
void	route_on_local(struct clusterd *cd, const struct ipc_route *v);
/* WIRE_ROUTE_* from a peer (link.c). */
void	route_on_wire(struct clusterd *cd, const struct wire_hdr *h,
	    const uint8_t *p, size_t len);
/* A link came up, went down or its node restarted (link.c). */
void	route_on_link(struct clusterd *cd, struct link_peer *p,
	    enum link_event ev);
/* IPC_CS_* flags as they are now; whether we serve (G3). */
uint8_t	route_state_flags(struct clusterd *cd);
bool	is_route_majority(struct clusterd *cd);
void	route_stats(struct clusterd *cd, struct route_stats *st,
	    size_t *local, size_t *remote);
/* Adds routing's fields to a status object, its counters (route_*,
 * forward_*, owner_*) to a metrics object (o borrowed). */
void	route_status(struct clusterd *cd, struct json_t *o);
void	route_metrics(struct clusterd *cd, struct json_t *o);

/*
 * forward.c: messages to other nodes' subscribers.  One ordered stream per
 * peer, numbered per (our boot, its boot), batched into one WIRE_FORWARD
 * per peer per loop iteration, acknowledged hop by hop and sent again
 * after a loss; deliveries to mqttd kept until it acknowledges them.
 */
struct forward_stats {
	uint64_t	 forwards;	/* IPC_FORWARD from mqttd */
	uint64_t	 msgs_out;	/* messages sent to peers (with resends) */
	uint64_t	 frames_out;
	uint64_t	 resent;
	uint64_t	 msgs_in;	/* from peers, taken */
	uint64_t	 dups_in;
	uint64_t	 gaps_in;
	uint64_t	 delivered;	/* IPC_DELIVER to mqttd */
	uint64_t	 acked;		/* IPC_FORWARD_ACK entries */
	uint64_t	 gone;		/* completed as not delivered */
	uint64_t	 dropped_qos0;	/* no link, no mqttd */
	uint64_t	 pending_out;	/* now: unacknowledged to peers */
	uint64_t	 pending_in;	/* now: unacknowledged by mqttd */
	uint64_t	 repl_writes;	/* replica writes from mqttd */
	uint64_t	 repl_copies;	/* copies sent to replica nodes */
	uint64_t	 repl_under;	/* writes a replica node missed */
	uint64_t	 repl_pending;	/* now: copies not acknowledged */
};

void	forward_start(struct clusterd *cd);
void	forward_stop(struct clusterd *cd);
void	forward_free(struct clusterd *cd);
void	forward_flush(struct clusterd *cd);
void	forward_tick(struct clusterd *cd);
/* IPC_FORWARD / IPC_DELIVER_ACK from mqttd (payload of m). */
void	forward_on_ipc(struct clusterd *cd, const struct ipc_msg *m);
/* mqttd's clusterlink came (back) or went. */
void	forward_on_mqttd(struct clusterd *cd, bool up);
void	forward_on_wire(struct clusterd *cd, const struct wire_hdr *h,
	    const uint8_t *p, size_t len);
void	forward_on_link(struct clusterd *cd, struct link_peer *p,
	    enum link_event ev);
void	forward_stats(struct clusterd *cd, struct forward_stats *st);

/*
 * owner.c: session ownership (one owner node per client id), agreed
 * through Raft; takeover and the hand-over of sessions between nodes.
 */
void	owner_start(struct clusterd *cd);
void	owner_stop(struct clusterd *cd);
void	owner_free(struct clusterd *cd);
void	owner_flush(struct clusterd *cd);
void	owner_tick(struct clusterd *cd);
void	owner_on_ipc(struct clusterd *cd, const struct ipc_msg *m);
void	owner_on_mqttd(struct clusterd *cd, bool up);
void	owner_on_wire(struct clusterd *cd, const struct wire_hdr *h,
	    const uint8_t *p, size_t len);
/* The membership state machine's command for ownership entries; their
 * layout: u8 version, u8 OWNER_FSM_CMD, u32 n, n x (u64 node, blob client
 * id), zero padding to 8 bytes. */
#define OWNER_FSM_CMD	16
/* Applies one ownership entry (every node, in log order). */
void	owner_fsm_apply(struct clusterd *cd, const void *p, size_t len);
/* Appends the ownership map to a snapshot (a tagged optional section)
 * and reads it back; owner_restore() returns 0, or -1 if malformed. */
void	owner_snapshot(struct clusterd *cd, struct buf *b);
int	owner_restore(struct clusterd *cd, struct rbuf *r);
/* Number of client ids node owns (for cluster show and metrics). */
/* Sessions this node owns whose replicas are fewer than
 * replication_factor - 1 or do not all answer now (O(sessions)). */
size_t	owner_under_replicated(struct clusterd *cd);
struct owner_stats {
	uint64_t	takeovers;	/* our sessions taken by other nodes */
	uint64_t	replica_xfers;	/* sessions taken from a replica */
	uint64_t	moved;		/* leader: moved off gone/leaving nodes */
	uint64_t	adopted;	/* moved to this node */
	uint64_t	reconciled;	/* stale sessions dropped at start */
};
void	owner_stats(struct clusterd *cd, struct owner_stats *st);
size_t	owner_count(struct clusterd *cd, uint64_t node);

/* transport.c */
/* Returns a new Raft transport over the links; free with transport_free()
 * once raft_uv has closed it. */
struct raft_uv_transport *transport_new(struct clusterd *cd);
void	transport_free(struct raft_uv_transport *rt);
/* Raft stream frames from the ROUTER (streams others opened to us) and
 * from a DEALER (streams we opened). */
void	transport_on_router(struct clusterd *cd, const struct ipc_peer *from,
	    const struct wire_hdr *h, const uint8_t *p, size_t len);
void	transport_on_dealer(struct clusterd *cd, struct link_peer *peer,
	    const struct wire_hdr *h, const uint8_t *p, size_t len);
/* Closes every stream to or from a node that went down or restarted. */
void	transport_peer_down(struct clusterd *cd, struct link_peer *peer,
	    uint64_t node_id);
void	transport_stats(struct clusterd *cd, uint64_t *streams,
	    uint64_t *opened, uint64_t *lost);

/* http.c: GET /metrics and /health on listener.http.* (libuv). */
#define HTTP_HEAD_MAX		8192	/* bytes of a request's head */
#define HTTP_PATH_MAX		256
#define HTTP_MAX_CONNS		64	/* at once; more are closed */
#define HTTP_TIMEOUT_MS		5000	/* to read a request; to write */
#define HTTP_LINGER_MS		1000	/* then for the client's FIN */

enum http_parse {
	HTTP_PARSE_MORE,	/* the head is not complete yet */
	HTTP_PARSE_OK,
	HTTP_PARSE_BAD,		/* 400 */
	HTTP_PARSE_TOO_LARGE,	/* 431: head over HTTP_HEAD_MAX */
	HTTP_PARSE_URI_TOO_LONG,	/* 414 */
	HTTP_PARSE_VERSION	/* 505: not HTTP/1.0 or 1.1 */
};

struct http_req {
	char		 method[16];
	char		 path[HTTP_PATH_MAX];	/* without ?query */
	int		 minor;			/* HTTP/1.minor */
	size_t		 head_len;	/* through the blank line */
};

/*
 * Parses the head of one request in p[0..len).  Fills req on
 * HTTP_PARSE_OK.  Borrows p; never reads past len.
 */
enum http_parse http_parse_request(const char *p, size_t len,
	    struct http_req *req);
/*
 * Appends a whole response (status line, Content-Type, Content-Length,
 * Connection: close, extra header lines if not NULL, then body unless
 * head_only) to out.  Borrows everything.
 */
void	http_response(struct buf *out, int status, const char *ctype,
	    const char *extra, const void *body, size_t bodylen,
	    bool head_only);
/* Binds every listener.http.*; exits on a start-up error.  Starts the
 * metrics poll (metrics_start) when there is one. */
void	http_start(struct clusterd *cd);
/* Closes the listeners and connections (their memory goes once the loop
 * has closed the handles) and stops the metrics poll. */
void	http_stop(struct clusterd *cd);
/* Closes the metrics' IPC sockets (after the loop ended). */
void	http_free(struct clusterd *cd);

/* metrics.c: the daemons' counters for /metrics, cached, and /health. */
#define METRICS_POLL_MS		1000	/* ask mqttd and storaged */
#define METRICS_RETRY_MS	2000	/* ask again when no answer */
#define METRICS_STALE_MS	CLUSTERD_PEER_TIMEOUT_MS

struct json_t;
/*
 * How a daemon's metrics JSON maps to Prometheus names: every number
 * under the object (nested keys joined with "_") becomes
 * tern_<daemon>_<key> (no second prefix when key already starts with
 * "<daemon>_"); counters get "_total" appended unless the key ends in it.
 * A key ending in "_total" is a counter; otherwise its type is `counters`
 * (true: counter) unless the key is in `flip` (NULL-terminated).
 */
struct metrics_map {
	const char		*daemon;
	bool			 counters;
	const char *const	*flip;
};

/* What one /metrics page is made of; all borrowed, NULL = absent. */
struct metrics_input {
	struct json_t	*clusterd;	/* status_json(..."metrics") */
	struct json_t	*cluster;	/* membership_show() */
	struct json_t	*mqttd;		/* its answer; NULL: down */
	struct json_t	*storaged;	/* its answer; NULL: down */
	const char	*nodename;
	uint64_t	 node_id;
};

/* Opens DEALERs to mqttd's and storaged's ROUTERs and polls them with
 * STATUS_REQ "metrics" every METRICS_POLL_MS.  Never blocks. */
void	metrics_start(struct clusterd *cd);
void	metrics_stop(struct clusterd *cd);
void	metrics_free(struct clusterd *cd);
/* Appends the /metrics page (text format 0.0.4) built from the latest
 * answers to b. */
void	metrics_prometheus(struct clusterd *cd, struct buf *b);
/* True when the node serves (see http.c); else why says why. */
bool	is_metrics_healthy(struct clusterd *cd, char *why, size_t whylen);
/* The formatter behind metrics_prometheus(); appends to b. */
void	metrics_format(struct buf *b, const struct metrics_input *in);
/* Appends the lines of one daemon's metrics object o (borrowed). */
void	metrics_format_object(struct buf *b, const struct metrics_map *map,
	    struct json_t *o);
/* Appends "# HELP" and "# TYPE" lines; help is escaped. */
void	metrics_family(struct buf *b, const char *name, const char *type,
	    const char *help);
/* Appends one sample "name{label="value"} v"; label NULL: none.  The
 * label value is escaped. */
void	metrics_sample(struct buf *b, const char *name, const char *label,
	    const char *lvalue, int64_t v);
/* True when the membership object `cluster` (membership_show()) lists
 * node_id with a Raft role in a cluster with an id. */
bool	is_metrics_joined(struct json_t *cluster, uint64_t node_id);

#endif
