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
	bool			 stopping;
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
