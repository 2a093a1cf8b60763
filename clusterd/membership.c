/* SPDX-License-Identifier: MIT */
/*
 * Cluster membership on libraft (raft_uv in data_dir/raft, Raft streams over
 * the CURVE links, transport.c).  The replicated state machine holds the
 * cluster id and the member nodes (id, name, address, leaving); Raft's own
 * configuration holds who votes (at most MB_MAX_VOTERS voters, the rest
 * standbys).  The leader runs one membership change at a time (a "job":
 * join or leave), step by step from a 10 ms poll timer, never from inside a
 * Raft callback.  ternctl's join and leave on any node become a request to
 * the leader over the links ("op"), retried and redirected until it answers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <raft.h>
#include <raft/uv.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/wire_msg.h"

#define MB_MAX_VOTERS		5
#define MB_POLL_MS		10
#define MB_ELECTION_MS		300
#define MB_HEARTBEAT_MS		30
#define MB_OP_RETRY_MS		300
#define MB_OP_RESEND_MS		2000
#define MB_OP_TIMEOUT_MS	25000
#define MB_LEFT_GRACE_MS	2000
#define MB_OUTCAST_MS		3000
#define MB_FSM_VERSION		1

/* FSM commands. */
enum mb_cmd {
	MB_CMD_ADD = 1,
	MB_CMD_REMOVE,
	MB_CMD_CLUSTER_ID,
	MB_CMD_LEAVING
};

struct mb_node {
	uint64_t	 id;
	char		 name[WIRE_NAME_MAX];
	char		 address[WIRE_NAME_MAX];
	uint8_t		 leaving;	/* MB_LEAVING_* */
};

enum mb_job_kind { MB_JOB_JOIN, MB_JOB_LEAVE, MB_JOB_PROMOTE };

/* mb_node.leaving */
#define MB_LEAVING		0x01	/* committed: it leaves */
#define MB_LEAVING_KILL		0x02	/* -k: close its connections */

/* Steps of a leave (issue 8, G6): mark the node leaving, wait until it
 * owns no session (moved as clients reconnect elsewhere, the rest after
 * -t seconds), then remove it from the state machine and from Raft. */
enum mb_leave_step { MB_LEAVE_MARK, MB_LEAVE_WAIT, MB_LEAVE_REMOVE,
    MB_LEAVE_RAFT, MB_LEAVE_DONE };
#define MB_LEAVE_GRACE_MS	120000	/* after -t: remove it anyway */
#define MB_LEAVE_SETTLE_MS	5000	/* owning nothing: hand-overs end */

/* One membership change, run by the leader. */
struct mb_job {
	struct membership	*mb;
	enum mb_job_kind	 kind;
	int			 step;
	bool			 in_flight;	/* a Raft request is out */
	bool			 failed;
	char			 why[256];
	struct mb_node		 node;
	bool			 has_reply;
	struct ipc_peer		 reply_to;	/* requester's link id */
	uint32_t		 req;
	struct raft_apply	 apply;
	struct raft_change	 change;
	/* leave */
	bool			 kill;		/* -k */
	uint64_t		 timeout_ms;	/* -t */
	uint64_t		 interval_ms;	/* -i */
	uint64_t		 since;		/* waiting since (uv_now) */
	uint64_t		 empty_since;	/* owns nothing since */
	uint64_t		 reported;
};

enum mb_op_kind { MB_OP_NONE, MB_OP_JOIN, MB_OP_LEAVE };

/* A ternctl join or leave on this node, waiting for the leader. */
struct mb_op {
	enum mb_op_kind	 kind;
	struct ipc_peer	 to;		/* ternctl on the admin socket */
	uint32_t	 ipc_id;
	char		 target[WIRE_NAME_MAX];	/* join: address; leave: name */
	char		 leader[WIRE_NAME_MAX];	/* where to ask ("" = ours) */
	uint32_t	 req;
	uint64_t	 deadline;
	uint64_t	 next_try;
	bool		 waiting_reset;	/* join: Raft is being reset */
	bool		 internal;	/* discovery's: no ternctl to answer */
	char		 cluster_id[64];	/* join: expected, "" = any */
	bool		 kill;			/* leave: -k */
	uint32_t	 timeout_s;		/* leave: -t */
	uint32_t	 interval_s;		/* leave: -i */
};

enum mb_after { MB_AFTER_NOTHING, MB_AFTER_STOP, MB_AFTER_JOIN,
    MB_AFTER_ALONE, MB_AFTER_IDLE, MB_AFTER_EXIT };

struct membership {
	struct clusterd		*cd;
	struct raft		 raft;
	struct raft_io		 io;
	struct raft_fsm		 fsm;
	char			 dir[4096];
	char			 nobootstrap[4096];
	char			 idfile[4096];	/* data_dir/cluster_id */
	char			 stored_id[64];	/* "" = none */
	bool			 bootstrap_now;	/* discovery says so */
	bool			 discovering;	/* Raft waits for it */
	bool			 running;	/* raft_start done */
	bool			 closing;
	enum mb_after		 after;
	uv_timer_t		 poll;
	uv_timer_t		 closer;	/* raft_close off callbacks */

	int			 last_state;
	raft_id			 last_leader;
	uint64_t		 leaderless_since;
	uint64_t		 elections;
	uint64_t		 last_failover_ms;

	/* FSM */
	char			 cluster_id[64];
	struct mb_node		*nodes;
	size_t			 nnodes;
	uint64_t		 applied;
	uint64_t		 removed_at;	/* we were removed (uv_now) */
	bool			 left_for_good;	/* removed after leaving: exit */
	uint64_t		 outcast_since;	/* the leader says: not ours */
	uint64_t		 outcast_seen;	/* its last such pong */

	struct mb_job		*job;
	bool			 fixing;	/* a reconcile apply is out */
	struct raft_apply	 fix_apply;
	struct raft_barrier	 barrier;	/* see mb_is_caught_up() */
	bool			 barrier_out;
	uint64_t		 barrier_term;	/* term it was asked in */
	uint64_t		 caught_up_term; /* applied all */
	struct raft_transfer	 transfer;
	bool			 transferring;
	struct mb_op		 op;
	uint32_t		 next_req;
	struct buf		 out;
};

static const char *
mb_state_name(int s)
{
	switch (s) {
	case RAFT_FOLLOWER:
		return ("follower");
	case RAFT_CANDIDATE:
		return ("candidate");
	case RAFT_LEADER:
		return ("leader");
	default:
		return ("unavailable");
	}
}

static const char *
mb_role_name(int role)
{
	switch (role) {
	case RAFT_VOTER:
		return ("voter");
	case RAFT_STANDBY:
		return ("standby");
	case RAFT_SPARE:
		return ("spare");
	default:
		return ("none");
	}
}

/* ---------------------------------------------------------------- FSM */

static struct mb_node *
mb_node_by_id(struct membership *mb, uint64_t id)
{
	size_t	i;

	for (i = 0; i < mb->nnodes; i++)
		if (mb->nodes[i].id == id)
			return (&mb->nodes[i]);
	return (NULL);
}

static struct mb_node *
mb_node_by_name(struct membership *mb, const char *name)
{
	size_t	i;

	for (i = 0; i < mb->nnodes; i++)
		if (strcmp(mb->nodes[i].name, name) == 0)
			return (&mb->nodes[i]);
	return (NULL);
}

static void
mb_fsm_clear(struct membership *mb)
{
	free(mb->nodes);
	mb->nodes = NULL;
	mb->nnodes = 0;
	mb->cluster_id[0] = '\0';
	mb->removed_at = 0;
	mb->outcast_since = 0;
}

static void
mb_fsm_put(struct membership *mb, const struct mb_node *n)
{
	struct mb_node	*o;

	if ((o = mb_node_by_id(mb, n->id)) == NULL) {
		mb->nodes = xreallocarray(mb->nodes, mb->nnodes + 1,
		    sizeof(*mb->nodes));
		o = &mb->nodes[mb->nnodes++];
	}
	*o = *n;
}

static void
mb_fsm_del(struct membership *mb, uint64_t id)
{
	size_t	i;

	for (i = 0; i < mb->nnodes; i++) {
		if (mb->nodes[i].id != id)
			continue;
		mb->nodes[i] = mb->nodes[mb->nnodes - 1];
		mb->nnodes--;
		return;
	}
}

/* Encodes a command into a raft_malloc'd buffer. */
static int
mb_cmd_encode(enum mb_cmd cmd, const struct mb_node *n, const char *text,
    struct raft_buffer *rb)
{
	struct buf	b = BUF_INIT;

	buf_add_u8(&b, MB_FSM_VERSION);
	buf_add_u8(&b, (uint8_t)cmd);
	buf_add_u64(&b, n ? n->id : 0);
	buf_add_str(&b, n ? n->name : text);
	buf_add_str(&b, n ? n->address : "");
	/* libraft's AppendEntries decoder steps over entries in 8-byte
	 * units while the encoder does not pad: pad here (seen as corrupt
	 * entries on followers otherwise). */
	while (b.len % 8 != 0)
		buf_add_u8(&b, 0);
	if ((rb->base = raft_malloc(b.len)) == NULL) {
		buf_free(&b);
		return (-1);
	}
	memcpy(rb->base, b.data, b.len);
	rb->len = b.len;
	buf_free(&b);
	return (0);
}

static int
mb_fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *rb,
    void **result)
{
	struct membership	*mb = fsm->data;
	struct clusterd		*cd = mb->cd;
	struct mb_node		 n = { 0 };
	struct mb_node		*o;
	struct rbuf		 r;
	const uint8_t		*p;
	size_t			 len;
	uint8_t			 version, cmd;

	*result = NULL;
	mb->applied++;
	rbuf_init(&r, rb->base, rb->len);
	version = rbuf_u8(&r);
	cmd = rbuf_u8(&r);
	/* Session ownership has entries of its own (owner.c). */
	if (version == MB_FSM_VERSION && cmd == OWNER_FSM_CMD) {
		owner_fsm_apply(cd, rb->base, rb->len);
		return (0);
	}
	n.id = rbuf_u64(&r);
	if ((p = rbuf_blob(&r, &len, sizeof(n.name) - 1)) != NULL &&
	    ipc_copy_name(n.name, sizeof(n.name), p, len) == -1)
		r.err = true;
	if ((p = rbuf_blob(&r, &len, sizeof(n.address) - 1)) != NULL &&
	    ipc_copy_name(n.address, sizeof(n.address), p, len) == -1)
		r.err = true;
	/* Up to 7 zero bytes of padding (mb_cmd_encode). */
	if (!r.err && rbuf_left(&r) < 8)
		while (rbuf_left(&r) > 0)
			if (rbuf_u8(&r) != 0)
				r.err = true;
	if (version != MB_FSM_VERSION || !rbuf_done(&r)) {
		/* A newer node wrote it: keep going, say so. */
		log_warnx("membership: skipped a log entry (version %u, "
		    "%zu bytes)", version, (size_t)rb->len);
		return (0);
	}
	switch (cmd) {
	case MB_CMD_ADD:
		if (mb_node_by_id(mb, n.id) == NULL)
			replica_want_resync(cd, "a node joined");
		mb_fsm_put(mb, &n);
		log_info("membership: %s (%s, id %016" PRIx64 ") is a member",
		    n.name, n.address, n.id);
		if (n.id == cd->node_id)
			mb->removed_at = 0;
		break;
	case MB_CMD_REMOVE:
		if ((o = mb_node_by_id(mb, n.id)) != NULL)
			log_info("membership: %s left the cluster", o->name);
		if (o != NULL && n.id == cd->node_id && o->leaving)
			mb->left_for_good = true;
		if (o != NULL)
			replica_want_resync(cd, "a node left");
		mb_fsm_del(mb, n.id);
		if (n.id == cd->node_id)
			mb->removed_at = uv_now(cd->loop);
		break;
	case MB_CMD_CLUSTER_ID:
		snprintf(mb->cluster_id, sizeof(mb->cluster_id), "%.63s",
		    n.name);
		log_info("membership: cluster id %s", mb->cluster_id);
		break;
	case MB_CMD_LEAVING:
		/* The address field says "kill" for -k. */
		if ((o = mb_node_by_id(mb, n.id)) != NULL) {
			o->leaving = MB_LEAVING |
			    (strcmp(n.address, "kill") == 0 ?
			    MB_LEAVING_KILL : 0);
			log_info("membership: %s is leaving the cluster%s",
			    o->name, o->leaving & MB_LEAVING_KILL ?
			    " (its connections are closed)" : "");
		}
		break;
	default:
		log_warnx("membership: skipped unknown command %u", cmd);
		break;
	}
	return (0);
}

static int
mb_fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[],
    unsigned *n_bufs)
{
	struct membership	*mb = fsm->data;
	struct buf		 b = BUF_INIT;
	size_t			 i;

	buf_add_u8(&b, MB_FSM_VERSION);
	buf_add_str(&b, mb->cluster_id);
	buf_add_u32(&b, (uint32_t)mb->nnodes);
	for (i = 0; i < mb->nnodes; i++) {
		buf_add_u64(&b, mb->nodes[i].id);
		buf_add_str(&b, mb->nodes[i].name);
		buf_add_str(&b, mb->nodes[i].address);
		buf_add_u8(&b, mb->nodes[i].leaving);
	}
	owner_snapshot(mb->cd, &b);	/* optional section, owner.c */
	while (b.len % 8 != 0)
		buf_add_u8(&b, 0);
	if ((*bufs = raft_malloc(sizeof(**bufs))) == NULL ||
	    ((*bufs)[0].base = raft_malloc(b.len)) == NULL) {
		raft_free(*bufs);
		buf_free(&b);
		return (RAFT_NOMEM);
	}
	memcpy((*bufs)[0].base, b.data, b.len);
	(*bufs)[0].len = b.len;
	*n_bufs = 1;
	buf_free(&b);
	return (0);
}

static int
mb_fsm_restore(struct raft_fsm *fsm, struct raft_buffer *rb)
{
	struct membership	*mb = fsm->data;
	struct mb_node		 n;
	struct rbuf		 r;
	const uint8_t		*p;
	size_t			 len;
	uint32_t		 count, i;
	int			 rc = RAFT_MALFORMED;

	rbuf_init(&r, rb->base, rb->len);
	if (rbuf_u8(&r) != MB_FSM_VERSION)
		goto out;
	mb_fsm_clear(mb);
	if ((p = rbuf_blob(&r, &len, sizeof(mb->cluster_id) - 1)) == NULL ||
	    ipc_copy_name(mb->cluster_id, sizeof(mb->cluster_id), p, len))
		goto out;
	count = rbuf_u32(&r);
	for (i = 0; i < count && !r.err; i++) {
		memset(&n, 0, sizeof(n));
		n.id = rbuf_u64(&r);
		if ((p = rbuf_blob(&r, &len, sizeof(n.name) - 1)) == NULL ||
		    ipc_copy_name(n.name, sizeof(n.name), p, len) == -1)
			goto out;
		if ((p = rbuf_blob(&r, &len, sizeof(n.address) - 1)) ==
		    NULL || ipc_copy_name(n.address, sizeof(n.address), p,
		    len) == -1)
			goto out;
		n.leaving = rbuf_u8(&r);
		mb_fsm_put(mb, &n);
	}
	if (!r.err && owner_restore(mb->cd, &r) == -1)
		goto out;
	if (!r.err && rbuf_left(&r) < 8)
		while (rbuf_left(&r) > 0)
			if (rbuf_u8(&r) != 0)
				r.err = true;
	if (rbuf_done(&r))
		rc = 0;
 out:
	if (rc != 0)
		log_warnx("membership: snapshot is malformed");
	else
		log_info("membership: restored a snapshot of %zu nodes",
		    mb->nnodes);
	raft_free(rb->base);
	return (rc);
}

/* ------------------------------------------------------ Raft lifecycle */

/* The node id: random on first start, then read from data_dir/node_id. */
static uint64_t
mb_node_id(const struct clusterd *cd)
{
	char		 path[4096], line[64];
	uint64_t	 id = 0;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/node_id", cd->conf.data_dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(line, sizeof(line), f) == NULL ||
		    sscanf(line, "%" SCNx64, &id) != 1 || id == 0)
			fatalx("membership: %s: not a node id", path);
		fclose(f);
		return (id);
	}
	if (errno != ENOENT)
		fatal("membership: %s", path);
	while (id == 0 || id == UINT64_MAX)
		if (RAND_bytes((unsigned char *)&id, sizeof(id)) != 1)
			fatalx("membership: no random bytes for a node id");
	id &= INT64_MAX;	/* printable as a signed number too */
	if ((f = fopen(path, "wx")) == NULL ||
	    fprintf(f, "%016" PRIx64 "\n", id) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0)
		fatal("membership: write %s", path);
	fclose(f);
	log_info("membership: new node id %016" PRIx64, id);
	return (id);
}

/* Removes every file in dir (Raft's log and snapshots). */
static void
mb_wipe(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	char		 path[4096];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (unlink(path) == -1)
			log_warn("membership: unlink %s", path);
	}
	closedir(d);
}

/* Forgets the stored cluster id (this node was removed from it). */
static void
mb_forget_id(struct membership *mb)
{
	if (unlink(mb->idfile) == -1 && errno != ENOENT)
		log_warn("membership: unlink %s", mb->idfile);
	mb->stored_id[0] = '\0';
}

/* Reads data_dir/cluster_id into mb->stored_id ("" when absent). */
static void
mb_load_id(struct membership *mb)
{
	char	 line[128];
	FILE	*f;
	size_t	 n;

	mb->stored_id[0] = '\0';
	if ((f = fopen(mb->idfile, "r")) == NULL) {
		if (errno != ENOENT)
			fatal("membership: %s", mb->idfile);
		return;
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n == 0 || n >= sizeof(mb->stored_id))
		fatalx("membership: %s: not a cluster id", mb->idfile);
	memcpy(mb->stored_id, line, n + 1);
}

/* Stores the cluster id this node is a member of (write, fsync,
 * rename), so that it never joins another one by discovery. */
static void
mb_store_id(struct membership *mb)
{
	char	 tmp[4200];
	FILE	*f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", mb->idfile);
	if ((f = fopen(tmp, "w")) == NULL ||
	    fprintf(f, "%s\n", mb->cluster_id) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) != 0) {
		log_warn("membership: write %s", tmp);
		if (f != NULL)
			fclose(f);
		return;
	}
	fclose(f);
	if (rename(tmp, mb->idfile) == -1) {
		log_warn("membership: rename %s", tmp);
		return;
	}
	if (mb->stored_id[0] != '\0')
		log_info("membership: cluster id %s replaces %s in %s",
		    mb->cluster_id, mb->stored_id, mb->idfile);
	else
		log_info("membership: stored cluster id %s in %s",
		    mb->cluster_id, mb->idfile);
	snprintf(mb->stored_id, sizeof(mb->stored_id), "%s", mb->cluster_id);
}

/* True when dir holds Raft data: any file at all (any), or else a closed
 * segment or a snapshot (entries that were committed). */
static bool
mb_dir_has_log(const char *dir, bool any)
{
	DIR		*d;
	struct dirent	*e;
	bool		 found = false;

	if ((d = opendir(dir)) == NULL)
		return (false);
	while (!found && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (any || strncmp(e->d_name, "snapshot-", 9) == 0 ||
		    (e->d_name[0] >= '0' && e->d_name[0] <= '9' &&
		    strchr(e->d_name, '-') != NULL))
			found = true;
	}
	closedir(d);
	return (found);
}

static void
mb_raft_open(struct membership *mb, bool may_bootstrap)
{
	struct clusterd			*cd = mb->cd;
	struct raft_configuration	 conf;
	int				 rv;

	mb_fsm_clear(mb);
	mb->fsm.version = 1;
	mb->fsm.data = mb;
	mb->fsm.apply = mb_fsm_apply;
	mb->fsm.snapshot = mb_fsm_snapshot;
	mb->fsm.restore = mb_fsm_restore;
	mb->transfer.data = mb;
	if (mkdir(mb->dir, 0750) == -1 && errno != EEXIST)
		fatal("membership: mkdir %s", mb->dir);
	cd->transport = transport_new(cd);
	memset(&mb->io, 0, sizeof(mb->io));
	memset(&mb->raft, 0, sizeof(mb->raft));
	if ((rv = raft_uv_init(&mb->io, cd->loop, mb->dir, cd->transport)) !=
	    0)
		fatalx("membership: raft_uv_init %s: %s", mb->dir,
		    mb->io.errmsg);
	raft_uv_set_connect_retry_delay(&mb->io, 100);
	if ((rv = raft_init(&mb->raft, &mb->io, &mb->fsm, cd->node_id,
	    cd->conf.cluster_advertise)) != 0)
		fatalx("membership: raft_init: %s", raft_errmsg(&mb->raft));
	mb->raft.data = mb;
	/* Pre-vote plus short timeouts: a new leader in well under a
	 * second after the old one dies (LIBRARIES.md, measured). */
	raft_set_election_timeout(&mb->raft, MB_ELECTION_MS);
	raft_set_heartbeat_timeout(&mb->raft, MB_HEARTBEAT_MS);
	raft_set_pre_vote(&mb->raft, true);
	raft_set_snapshot_threshold(&mb->raft, 256);
	raft_set_snapshot_trailing(&mb->raft, 64);
	if (mb->bootstrap_now || (may_bootstrap &&
	    cd->conf.discovery == CONF_DISCOVERY_NONE &&
	    access(mb->nobootstrap, F_OK) == -1)) {
		mb->bootstrap_now = false;
		raft_configuration_init(&conf);
		if (raft_configuration_add(&conf, cd->node_id,
		    cd->conf.cluster_advertise, RAFT_VOTER) != 0)
			fatalx("membership: configuration: out of memory");
		rv = raft_bootstrap(&mb->raft, &conf);
		raft_configuration_close(&conf);
		if (rv == 0)
			log_info("membership: bootstrapped a new cluster of "
			    "one node in %s", mb->dir);
		else if (rv != RAFT_CANTBOOTSTRAP)
			fatalx("membership: raft_bootstrap: %s",
			    raft_errmsg(&mb->raft));
	}
	if ((rv = raft_start(&mb->raft)) != 0)
		fatalx("membership: raft_start: %s", raft_errmsg(&mb->raft));
	mb->running = true;
	mb->caught_up_term = 0;
	mb->last_state = -1;
	mb->last_leader = 0;
	mb->leaderless_since = uv_now(cd->loop);
}

static void	mb_poll_cb(uv_timer_t *t);
static bool	mb_is_caught_up(struct membership *mb);
static void	mb_op_finish(struct membership *mb, int rc, const char *text);

static void
mb_raft_closed(struct raft *r)
{
	struct membership	*mb = r->data;
	struct clusterd		*cd = mb->cd;
	enum mb_after		 after = mb->after;

	raft_uv_close(&mb->io);
	transport_free(cd->transport);
	cd->transport = NULL;
	mb->running = false;
	mb->closing = false;
	mb->after = MB_AFTER_NOTHING;
	switch (after) {
	case MB_AFTER_JOIN:
		/* Start empty; the leader we join fills the log. */
		mb_wipe(mb->dir);
		{
			FILE *f = fopen(mb->nobootstrap, "w");

			if (f != NULL)
				fclose(f);
		}
		mb_raft_open(mb, false);
		mb->op.waiting_reset = false;
		mb->op.next_try = 0;
		log_info("membership: reset for joining %s", mb->op.target);
		break;
	case MB_AFTER_ALONE:
		mb_wipe(mb->dir);
		unlink(mb->nobootstrap);
		mb_forget_id(mb);
		if (cd->conf.discovery != CONF_DISCOVERY_NONE) {
			/* Discovery would only put it back at once: it
			 * stays out until clusterd starts again. */
			mb->discovering = true;
			log_warnx("membership: this node is in no cluster "
			    "now; it stays out of every cluster until "
			    "clusterd restarts (discovery runs then)");
			break;
		}
		mb_raft_open(mb, true);
		log_info("membership: this node left its cluster and runs "
		    "alone now");
		break;
	case MB_AFTER_EXIT:
		/* Left with `cluster leave`, owning nothing: the node stops
		 * (ternctl run stops the other daemons on this status). */
		mb_wipe(mb->dir);
		unlink(mb->nobootstrap);
		mb_forget_id(mb);
		log_info("membership: this node left its cluster: stopping");
		cd->exit_status = TERN_EXIT_LEFT;
		raise(SIGTERM);
		break;
	case MB_AFTER_IDLE:
		/* A join by discovery failed: no Raft until it tries
		 * again. */
		mb_wipe(mb->dir);
		unlink(mb->nobootstrap);
		log_info("membership: raft closed; discovery goes on");
		break;
	case MB_AFTER_STOP:
	default:
		uv_timer_stop(&mb->poll);
		uv_close((uv_handle_t *)&mb->poll, NULL);
		uv_close((uv_handle_t *)&mb->closer, NULL);
		mb_fsm_clear(mb);
		log_info("membership: raft closed");
		break;
	}
}

static void
mb_closer_cb(uv_timer_t *t)
{
	struct membership	*mb = t->data;

	if (mb->running && !mb->closing) {
		mb->closing = true;
		raft_close(&mb->raft, mb_raft_closed);
	}
}

/* Closes Raft, then does `after`; never calls raft_close from a callback
 * (LIBRARIES.md: it aborts), so it goes through a 0 ms timer. */
static void
mb_raft_close(struct membership *mb, enum mb_after after)
{
	if (mb->after != MB_AFTER_STOP)
		mb->after = after;
	uv_timer_start(&mb->closer, mb_closer_cb, 0, 0);
}

void
membership_start(struct clusterd *cd)
{
	struct membership	*mb;

	mb = xcalloc(1, sizeof(*mb));
	mb->cd = cd;
	cd->mb = mb;
	buf_init(&mb->out);
	cd->node_id = mb_node_id(cd);
	log_info("membership: node %s, id %016" PRIx64 ", raft address %s",
	    cd->conf.nodename, cd->node_id, cd->conf.cluster_advertise);
	snprintf(mb->dir, sizeof(mb->dir), "%s/raft", cd->conf.data_dir);
	snprintf(mb->nobootstrap, sizeof(mb->nobootstrap),
	    "%s/raft.joining", cd->conf.data_dir);
	snprintf(mb->idfile, sizeof(mb->idfile), "%s/cluster_id",
	    cd->conf.data_dir);
	mb_load_id(mb);
	uv_timer_init(cd->loop, &mb->poll);
	mb->poll.data = mb;
	uv_timer_init(cd->loop, &mb->closer);
	mb->closer.data = mb;
}

/* Second half of the start: after link_start (Raft needs the transport). */
static void
mb_open_first(struct membership *mb)
{
	mb_raft_open(mb, true);
	uv_timer_start(&mb->poll, mb_poll_cb, MB_POLL_MS, MB_POLL_MS);
}

void
membership_stop(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;

	if (mb == NULL)
		return;
	if (mb->op.kind != MB_OP_NONE)
		mb_op_finish(mb, -1, "clusterd is stopping");
	mb->after = MB_AFTER_STOP;
	if (mb->running)
		uv_timer_start(&mb->closer, mb_closer_cb, 0, 0);
	else if (!mb->closing) {
		uv_timer_stop(&mb->poll);
		uv_close((uv_handle_t *)&mb->poll, NULL);
		uv_close((uv_handle_t *)&mb->closer, NULL);
	}
}

/* --------------------------------------------------- leader's requests */

static bool
mb_is_leader(struct membership *mb)
{
	return (mb->running && !mb->closing &&
	    raft_state(&mb->raft) == RAFT_LEADER);
}

static const char *
mb_leader_address(struct membership *mb)
{
	raft_id		 id = 0;
	const char	*addr = NULL;

	if (!mb->running || mb->closing)
		return (NULL);
	raft_leader(&mb->raft, &id, &addr);
	return (id != 0 ? addr : NULL);
}

/* Role of id in Raft's configuration, or -1. */
static int
mb_role(struct membership *mb, uint64_t id)
{
	unsigned	i;

	if (!mb->running)
		return (-1);
	for (i = 0; i < mb->raft.configuration.n; i++)
		if (mb->raft.configuration.servers[i].id == id)
			return (mb->raft.configuration.servers[i].role);
	return (-1);
}

static unsigned
mb_voters(struct membership *mb)
{
	unsigned	i, n = 0;

	for (i = 0; i < mb->raft.configuration.n; i++)
		if (mb->raft.configuration.servers[i].role == RAFT_VOTER)
			n++;
	return (n);
}

static void
mb_reply(struct membership *mb, const struct ipc_peer *to, uint32_t req,
    uint32_t rc, const char *text)
{
	struct wire_reply	rep;
	const char		*leader;

	memset(&rep, 0, sizeof(rep));
	rep.req = req;
	rep.rc = rc;
	snprintf(rep.text, sizeof(rep.text), "%s", text);
	if ((leader = mb_leader_address(mb)) != NULL)
		snprintf(rep.leader, sizeof(rep.leader), "%s", leader);
	snprintf(rep.cluster_id, sizeof(rep.cluster_id), "%s",
	    mb->cluster_id);
	link_begin(mb->cd, &mb->out, WIRE_REPLY);
	wire_enc_reply(&mb->out, &rep);
	link_reply(mb->cd, to, &mb->out);
}

/* Not the leader: send the requester to the leader, or ask it to retry. */
static bool
mb_redirect(struct membership *mb, const struct ipc_peer *from, uint32_t req)
{
	const char	*leader;

	if (mb_is_leader(mb))
		return (false);
	leader = mb_leader_address(mb);
	if (leader != NULL && strcmp(leader,
	    mb->cd->conf.cluster_advertise) != 0)
		mb_reply(mb, from, req, WIRE_RC_REDIRECT, "ask the leader");
	else
		mb_reply(mb, from, req, WIRE_RC_RETRY, "no leader yet");
	return (true);
}

static struct mb_job *
mb_job_new(struct membership *mb, enum mb_job_kind kind,
    const struct ipc_peer *from, uint32_t req)
{
	struct mb_job	*j;

	j = xcalloc(1, sizeof(*j));
	j->mb = mb;
	j->kind = kind;
	if (from != NULL) {
		j->has_reply = true;
		j->reply_to = *from;
		j->req = req;
	}
	j->apply.data = j;
	j->change.data = j;
	mb->job = j;
	return (j);
}

/* True when member o is gone and req is its successor: same name and
 * address, and whatever answers at that address is not o (or nothing
 * does). */
static bool
mb_is_replaced(struct membership *mb, const struct mb_node *o,
    const struct wire_join_req *req)
{
	struct link_peer	*p;

	if (o->id == mb->cd->node_id || strcmp(o->address, req->address) != 0)
		return (false);
	p = link_peer_find(mb->cd, o->address);
	return (p == NULL || !link_is_up(p) || p->node_id != o->id);
}

void
membership_on_join_req(struct clusterd *cd, const struct ipc_peer *from,
    const struct wire_join_req *req)
{
	struct membership	*mb = cd->mb;
	struct mb_node		*o;
	struct mb_job		*j;
	char			 why[1024];

	if (mb == NULL || mb_redirect(mb, from, req->req))
		return;
	if (!mb_is_caught_up(mb)) {
		mb_reply(mb, from, req->req, WIRE_RC_RETRY,
		    "the leader is catching up with its log");
		return;
	}
	if (req->cluster_id[0] != '\0' &&
	    strcmp(req->cluster_id, mb->cluster_id) != 0) {
		snprintf(why, sizeof(why), "%s belongs to cluster %s, this is "
		    "cluster %s", req->name, req->cluster_id, mb->cluster_id);
		mb_reply(mb, from, req->req, WIRE_RC_ERROR, why);
		return;
	}
	if ((o = mb_node_by_name(mb, req->name)) != NULL &&
	    o->id != req->node_id && mb_is_replaced(mb, o, req)) {
		/* It came back with an empty data_dir (a new node id) at
		 * the same address: the old member goes first. */
		if (mb->job == NULL && !mb->transferring) {
			log_info("membership: %s (%s) came back as a new node "
			    "(id %016" PRIx64 ", was %016" PRIx64 "): "
			    "removing the old member first", req->name,
			    req->address, req->node_id, o->id);
			j = mb_job_new(mb, MB_JOB_LEAVE, NULL, 0);
			j->node = *o;
		}
		mb_reply(mb, from, req->req, WIRE_RC_RETRY,
		    "replacing the old member of that name first");
		return;
	}
	if ((o = mb_node_by_name(mb, req->name)) != NULL &&
	    o->id != req->node_id) {
		snprintf(why, sizeof(why), "a node named %s (id %016" PRIx64
		    ") is already a member; make it leave first (ternctl "
		    "cluster leave node=%s)", o->name, o->id, o->name);
		mb_reply(mb, from, req->req, WIRE_RC_ERROR, why);
		return;
	}
	if (mb->job != NULL) {
		mb_reply(mb, from, req->req, WIRE_RC_RETRY,
		    "another membership change is running");
		return;
	}
	log_info("membership: %s (%s) asks to join", req->name, req->address);
	j = mb_job_new(mb, MB_JOB_JOIN, from, req->req);
	j->node.id = req->node_id;
	snprintf(j->node.name, sizeof(j->node.name), "%s", req->name);
	snprintf(j->node.address, sizeof(j->node.address), "%s",
	    req->address);
}

static void
mb_transfer_cb(struct raft_transfer *req)
{
	struct membership	*mb = req->data;

	mb->transferring = false;
}

void
membership_on_leave_req(struct clusterd *cd, const struct ipc_peer *from,
    const struct wire_leave_req *req)
{
	struct membership	*mb = cd->mb;
	struct mb_node		*o;
	struct mb_job		*j;
	char			 why[512];

	if (mb == NULL || mb_redirect(mb, from, req->req))
		return;
	if ((o = mb_node_by_name(mb, req->name)) == NULL) {
		snprintf(why, sizeof(why), "%s is not a member of this "
		    "cluster", req->name);
		mb_reply(mb, from, req->req, WIRE_RC_ERROR, why);
		return;
	}
	if (mb->nnodes == 1) {
		mb_reply(mb, from, req->req, WIRE_RC_ERROR,
		    "the last node of a cluster cannot leave it");
		return;
	}
	if (mb->job != NULL && mb->job->kind == MB_JOB_LEAVE &&
	    mb->job->node.id == o->id) {
		/* The requester asks again while its queues move: it gets
		 * the answer at the end, under its latest request id. */
		mb->job->has_reply = true;
		mb->job->reply_to = *from;
		mb->job->req = req->req;
		return;
	}
	if (mb->job != NULL || mb->transferring) {
		mb_reply(mb, from, req->req, WIRE_RC_RETRY,
		    "another membership change is running");
		return;
	}
	if (o->id == cd->node_id) {
		/* The leader does not remove itself: hand leadership to
		 * another voter, which then does it. */
		if (raft_transfer(&mb->raft, &mb->transfer, 0,
		    mb_transfer_cb) == 0) {
			mb->transferring = true;
			log_info("membership: %s leaves: handing leadership "
			    "over first", o->name);
		}
		mb_reply(mb, from, req->req, WIRE_RC_RETRY,
		    "leadership is moving to another node");
		return;
	}
	log_info("membership: %s leaves the cluster (sessions move after "
	    "%u s%s)", o->name, req->timeout_s, req->kill ?
	    ", connections closed" : "");
	j = mb_job_new(mb, MB_JOB_LEAVE, from, req->req);
	j->node = *o;
	j->kill = req->kill;
	j->timeout_ms = (uint64_t)req->timeout_s * 1000;
	j->interval_ms = (uint64_t)(req->interval_s ? req->interval_s : 5) *
	    1000;
}

static void
mb_job_apply_cb(struct raft_apply *req, int status, void *result)
{
	struct mb_job	*j = req->data;

	j->in_flight = false;
	if (status != 0) {
		j->failed = true;
		snprintf(j->why, sizeof(j->why), "log entry not committed: %s",
		    raft_strerror(status));
	} else
		j->step++;
}

static void
mb_job_change_cb(struct raft_change *req, int status)
{
	struct mb_job	*j = req->data;

	j->in_flight = false;
	if (status != 0) {
		j->failed = true;
		snprintf(j->why, sizeof(j->why), "configuration change "
		    "failed: %s", raft_strerror(status));
	} else
		j->step++;
}

static int
mb_job_propose(struct mb_job *j, enum mb_cmd cmd)
{
	struct membership	*mb = j->mb;
	struct raft_buffer	 rb;
	int			 rv;

	if (mb_cmd_encode(cmd, &j->node, NULL, &rb) == -1)
		return (RAFT_NOMEM);
	if ((rv = raft_apply(&mb->raft, &j->apply, &rb, 1,
	    mb_job_apply_cb)) != 0) {
		raft_free(rb.base);
		return (rv);
	}
	j->in_flight = true;
	return (0);
}

static void
mb_job_end(struct membership *mb, uint32_t rc, const char *text)
{
	struct mb_job	*j = mb->job;

	if (j->has_reply)
		mb_reply(mb, &j->reply_to, j->req, rc, text);
	if (rc == WIRE_RC_OK)
		log_info("membership: %s", text);
	else
		log_warnx("membership: %s of %s: %s", j->kind == MB_JOB_LEAVE ?
		    "leave" : "join", j->node.name, text);
	free(j);
	mb->job = NULL;
}

/* Runs the next step of the leader's job, if it can. */
/*
 * One step of a leave; returns a libraft code as the other jobs do, or -1
 * when there is nothing to do this round.
 */
static int
mb_job_leave_step(struct mb_job *j)
{
	struct membership	*mb = j->mb;
	struct clusterd		*cd = mb->cd;
	char			 text[512];
	uint64_t		 now = uv_now(cd->loop);
	size_t			 n;
	int			 role = mb_role(mb, j->node.id), rv = -1;

	switch (j->step) {
	case MB_LEAVE_MARK:
		if (mb_node_by_id(mb, j->node.id) == NULL) {
			j->step = MB_LEAVE_RAFT;
			return (-1);
		}
		snprintf(j->node.address, sizeof(j->node.address), "%s",
		    j->kill ? "kill" : "");
		rv = mb_job_propose(j, MB_CMD_LEAVING);
		break;
	case MB_LEAVE_WAIT:
		if (j->since == 0)
			j->since = j->reported = now;
		n = owner_count(cd, j->node.id);
		if (n == 0) {
			/* The new owners are being handed its sessions:
			 * it stays a member (and answers) until they are. */
			if (j->empty_since == 0) {
				j->empty_since = now;
				log_info("membership: %s owns no session any "
				    "more", j->node.name);
			}
			if (now - j->empty_since >= MB_LEAVE_SETTLE_MS)
				j->step = MB_LEAVE_REMOVE;
		} else if (now - j->since > j->timeout_ms +
		    MB_LEAVE_GRACE_MS) {
			log_warnx("membership: %s still owns %zu sessions "
			    "%llu s after it started leaving: removing it "
			    "anyway", j->node.name, n, (unsigned long long)
			    ((now - j->since) / 1000));
			j->step = MB_LEAVE_REMOVE;
		} else if (now - j->reported >= j->interval_ms) {
			j->reported = now;
			log_info("membership: %s leaves: %zu sessions left "
			    "to move%s", j->node.name, n,
			    now - j->since >= j->timeout_ms ?
			    " (moving them to the other nodes)" : "");
		}
		return (-1);
	case MB_LEAVE_REMOVE:
		if (mb_node_by_id(mb, j->node.id) == NULL) {
			j->step = MB_LEAVE_RAFT;
			return (-1);
		}
		rv = mb_job_propose(j, MB_CMD_REMOVE);
		break;
	case MB_LEAVE_RAFT:
		if (role == -1) {
			j->step = MB_LEAVE_DONE;
			return (-1);
		}
		rv = raft_remove(&mb->raft, &j->change, j->node.id,
		    mb_job_change_cb);
		if (rv == 0)
			j->in_flight = true;
		break;
	default:
		snprintf(text, sizeof(text), "%s left the cluster",
		    j->node.name);
		mb_job_end(mb, WIRE_RC_OK, text);
		return (-1);
	}
	return (rv);
}

bool
is_membership_leave_due(struct clusterd *cd, uint64_t id)
{
	struct membership	*mb = cd->mb;
	struct mb_job		*j;

	if (mb == NULL || (j = mb->job) == NULL || j->kind != MB_JOB_LEAVE ||
	    j->node.id != id || j->step != MB_LEAVE_WAIT || j->since == 0)
		return (false);
	return (uv_now(cd->loop) - j->since >= j->timeout_ms);
}

static void
mb_job_step(struct membership *mb)
{
	struct mb_job	*j = mb->job;
	char		 text[512];
	int		 rv = 0, role, want;

	if (j == NULL || j->in_flight)
		return;
	if (j->failed) {
		mb_job_end(mb, mb_is_leader(mb) ? WIRE_RC_ERROR :
		    WIRE_RC_RETRY, j->why);
		return;
	}
	if (!mb_is_leader(mb)) {
		mb_job_end(mb, WIRE_RC_RETRY, "leadership moved; ask again");
		return;
	}
	role = mb_role(mb, j->node.id);
	switch (j->kind) {
	case MB_JOB_JOIN:
		want = mb_voters(mb) < MB_MAX_VOTERS ? RAFT_VOTER :
		    RAFT_STANDBY;
		if (j->step == 0) {
			struct mb_node *o = mb_node_by_id(mb, j->node.id);

			if (o != NULL && strcmp(o->name, j->node.name) == 0 &&
			    strcmp(o->address, j->node.address) == 0) {
				j->step++;
				return;
			}
			rv = mb_job_propose(j, MB_CMD_ADD);
		} else if (j->step == 1) {
			if (role != -1) {
				j->step++;
				return;
			}
			rv = raft_add(&mb->raft, &j->change, j->node.id,
			    j->node.address, mb_job_change_cb);
			if (rv == 0)
				j->in_flight = true;
		} else if (j->step == 2) {
			if (role == RAFT_VOTER || role == want) {
				j->step++;
				return;
			}
			rv = raft_assign(&mb->raft, &j->change, j->node.id,
			    want, mb_job_change_cb);
			if (rv == 0)
				j->in_flight = true;
		} else {
			snprintf(text, sizeof(text), "%s joined as a %s",
			    j->node.name, mb_role_name(role));
			mb_job_end(mb, WIRE_RC_OK, text);
			return;
		}
		break;
	case MB_JOB_LEAVE:
		if ((rv = mb_job_leave_step(j)) == -1)
			return;
		break;
	case MB_JOB_PROMOTE:
		if (j->step == 0 && role == RAFT_STANDBY) {
			rv = raft_assign(&mb->raft, &j->change, j->node.id,
			    RAFT_VOTER, mb_job_change_cb);
			if (rv == 0)
				j->in_flight = true;
		} else {
			snprintf(text, sizeof(text), "%s is a voter now",
			    j->node.name);
			mb_job_end(mb, WIRE_RC_OK, text);
			return;
		}
		break;
	}
	if (rv == RAFT_CANTCHANGE)
		return;		/* a change is still settling: next poll */
	if (rv != 0) {
		snprintf(text, sizeof(text), "%s", raft_errmsg(&mb->raft));
		mb_job_end(mb, rv == RAFT_NOTLEADER ? WIRE_RC_RETRY :
		    WIRE_RC_ERROR, text[0] ? text : raft_strerror(rv));
	}
}

static void
mb_barrier_cb(struct raft_barrier *req, int status)
{
	struct membership	*mb = req->data;

	mb->barrier_out = false;
	if (status == 0)
		mb->caught_up_term = mb->barrier_term;
}

/*
 * True once this leader has applied every entry of its log.  A node that
 * restarts replays its log only as entries get committed again, so a new
 * leader's state machine can lag: without this, it would see no cluster id
 * yet and make a second one (seen after restarting a whole cluster).  A
 * barrier per term tells when it has caught up.
 */
static bool
mb_is_caught_up(struct membership *mb)
{
	if (!mb_is_leader(mb))
		return (false);
	if (mb->caught_up_term == mb->raft.current_term)
		return (true);
	if (!mb->barrier_out) {
		mb->barrier.data = mb;
		mb->barrier_term = mb->raft.current_term;
		if (raft_barrier(&mb->raft, &mb->barrier, mb_barrier_cb) == 0)
			mb->barrier_out = true;
	}
	return (false);
}

static void
mb_fix_cb(struct raft_apply *req, int status, void *result)
{
	struct membership	*mb = req->data;

	mb->fixing = false;
}

static void
mb_fix_propose(struct membership *mb, enum mb_cmd cmd,
    const struct mb_node *n, const char *text)
{
	struct raft_buffer	rb;

	if (mb_cmd_encode(cmd, n, text, &rb) == -1)
		return;
	mb->fix_apply.data = mb;
	if (raft_apply(&mb->raft, &mb->fix_apply, &rb, 1, mb_fix_cb) != 0) {
		raft_free(rb.base);
		return;
	}
	mb->fixing = true;
}

/* The leader keeps the state whole: a cluster id, itself a member, and
 * up to MB_MAX_VOTERS voters when there are standbys to promote. */
static void
mb_reconcile(struct membership *mb)
{
	struct clusterd		*cd = mb->cd;
	struct mb_node		 self = { 0 };
	struct mb_node		*o;
	struct raft_server	*s;
	unsigned char		 rnd[16];
	char			 id[40];
	unsigned		 i;

	if (!mb_is_leader(mb) || mb->fixing || mb->job != NULL ||
	    !mb_is_caught_up(mb))
		return;
	if (mb->cluster_id[0] == '\0') {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return;
		for (i = 0; i < sizeof(rnd); i++)
			snprintf(id + 2 * i, 3, "%02x", rnd[i]);
		mb_fix_propose(mb, MB_CMD_CLUSTER_ID, NULL, id);
		return;
	}
	o = mb_node_by_id(mb, cd->node_id);
	if (o == NULL || strcmp(o->name, cd->conf.nodename) != 0 ||
	    strcmp(o->address, cd->conf.cluster_advertise) != 0) {
		self.id = cd->node_id;
		snprintf(self.name, sizeof(self.name), "%s",
		    cd->conf.nodename);
		snprintf(self.address, sizeof(self.address), "%s",
		    cd->conf.cluster_advertise);
		mb_fix_propose(mb, MB_CMD_ADD, &self, NULL);
		return;
	}
	if (mb_voters(mb) >= MB_MAX_VOTERS)
		return;
	for (i = 0; i < mb->raft.configuration.n; i++) {
		s = &mb->raft.configuration.servers[i];
		if (s->role != RAFT_STANDBY)
			continue;
		if ((o = mb_node_by_id(mb, s->id)) != NULL && o->leaving)
			continue;
		mb_job_new(mb, MB_JOB_PROMOTE, NULL, 0);
		mb->job->node.id = s->id;
		snprintf(mb->job->node.name, sizeof(mb->job->node.name), "%s",
		    o ? o->name : s->address);
		return;
	}
}

/* ------------------------------------------------- this node's ternctl */

static void
mb_op_finish(struct membership *mb, int rc, const char *text)
{
	struct ipc_cluster_rep	rep = { 0 };

	if (mb->op.internal) {
		/* Discovery's join: a failure closes Raft again and
		 * discovery tries anew. */
		if (rc != 0 && mb->running &&
		    mb_role(mb, mb->cd->node_id) == -1) {
			mb->discovering = true;
			mb_raft_close(mb, MB_AFTER_IDLE);
		}
		memset(&mb->op, 0, sizeof(mb->op));
		discovery_on_join_done(mb->cd, rc, text);
		return;
	}

	rep.id = mb->op.ipc_id;
	rep.rc = rc;
	rep.text = (char *)text;
	if (ipc_send_cluster_rep(mb->cd->router, &mb->op.to, &rep) == -1)
		log_warnx("membership: ternctl went away before the answer: "
		    "%s", text);
	ipc_uv_kick(mb->cd->router_w);
	if (rc == 0)
		log_info("membership: %s", text);
	else
		log_warnx("membership: %s failed: %s", mb->op.kind ==
		    MB_OP_JOIN ? "join" : "leave", text);
	/* A failed join left Raft empty: run alone again rather than in
	 * no cluster at all. */
	if (rc != 0 && mb->op.kind == MB_OP_JOIN && mb->running &&
	    mb_role(mb, mb->cd->node_id) == -1)
		mb_raft_close(mb, MB_AFTER_ALONE);
	memset(&mb->op, 0, sizeof(mb->op));
}

static bool
mb_op_busy(struct membership *mb, const struct ipc_peer *to, uint32_t id)
{
	struct ipc_cluster_rep	rep = { 0 };

	if (mb->op.kind == MB_OP_NONE && mb->cd->link != NULL &&
	    mb->running)
		return (false);
	rep.id = id;
	rep.rc = -1;
	rep.text = mb->discovering ? "discovery is running on this node "
	    "(ternctl cluster show says what it waits for); a join by hand "
	    "needs discovery = none" : mb->cd->link == NULL ?
	    "links to other nodes are off: this node has no cluster keys "
	    "(cluster.key_dir; ternctl keys create DIR)" :
	    "another cluster join or leave is running on this node";
	ipc_send_cluster_rep(mb->cd->router, to, &rep);
	return (true);
}

/* "tern@host" (port: our own cluster port) or "host:port". */
static int
mb_node_address(const struct clusterd *cd, const char *node, char *out,
    size_t outlen)
{
	const char	*at = strchr(node, '@'), *host = at ? at + 1 : node;
	const char	*myport = strrchr(cd->conf.cluster_advertise, ':');
	char		 h[256], err[256];
	uint16_t	 port;

	if (*host == '\0')
		return (-1);
	if (conf_split_hostport(host, h, sizeof(h), &port, err,
	    sizeof(err)) == 0 && port != 0)
		snprintf(out, outlen, "%s", host);
	else if (strchr(host, ':') == NULL && myport != NULL)
		snprintf(out, outlen, "%s%s", host, myport);
	else
		return (-1);
	return (0);
}

void
membership_ternctl_join(struct clusterd *cd, const struct ipc_peer *to,
    const struct ipc_cluster_join_req *req)
{
	struct membership	*mb = cd->mb;
	struct ipc_cluster_rep	 rep = { 0 };
	char			 addr[WIRE_NAME_MAX], why[512];

	if (mb_op_busy(mb, to, req->id))
		return;
	rep.id = req->id;
	rep.rc = -1;
	rep.text = why;
	if (mb_node_address(cd, req->node, addr, sizeof(addr)) == -1) {
		snprintf(why, sizeof(why), "bad discovery-node \"%s\" (want "
		    "tern@host or host:port)", req->node);
		ipc_send_cluster_rep(cd->router, to, &rep);
		return;
	}
	if (strcmp(addr, cd->conf.cluster_advertise) == 0) {
		snprintf(why, sizeof(why), "%s is this node", req->node);
		ipc_send_cluster_rep(cd->router, to, &rep);
		return;
	}
	if (mb->nnodes > 1 || mb->raft.configuration.n > 1) {
		snprintf(why, sizeof(why), "this node is already in a cluster "
		    "of %zu nodes; make it leave first", mb->nnodes);
		ipc_send_cluster_rep(cd->router, to, &rep);
		return;
	}
	log_info("membership: joining the cluster of %s (%s)", req->node,
	    addr);
	mb->op.kind = MB_OP_JOIN;
	mb->op.to = *to;
	mb->op.ipc_id = req->id;
	snprintf(mb->op.target, sizeof(mb->op.target), "%s", addr);
	mb->op.deadline = uv_now(cd->loop) + MB_OP_TIMEOUT_MS;
	mb->op.waiting_reset = true;
	/* Leave our own one-node cluster first: Raft starts over empty. */
	mb_raft_close(mb, MB_AFTER_JOIN);
}

void
membership_ternctl_leave(struct clusterd *cd, const struct ipc_peer *to,
    const struct ipc_cluster_leave_req *req)
{
	struct membership	*mb = cd->mb;

	if (mb_op_busy(mb, to, req->id))
		return;
	log_info("membership: asking the leader to remove %s", req->node);
	mb->op.kind = MB_OP_LEAVE;
	mb->op.to = *to;
	mb->op.ipc_id = req->id;
	snprintf(mb->op.target, sizeof(mb->op.target), "%s", req->node);
	mb->op.kill = req->kill_sessions;
	mb->op.timeout_s = req->timeout_s;
	mb->op.interval_s = req->interval_s;
	/* Its sessions move first: up to -t seconds and the grace after. */
	mb->op.deadline = uv_now(cd->loop) + MB_OP_TIMEOUT_MS +
	    (uint64_t)req->timeout_s * 1000 + MB_LEAVE_GRACE_MS;
}

/* Sends the op's request to the leader (or whoever we think it is). */
static void
mb_op_send(struct membership *mb, uint64_t now)
{
	struct clusterd		*cd = mb->cd;
	struct link_peer	*p;
	struct wire_join_req	 j;
	struct wire_leave_req	 l;
	const char		*to = mb->op.leader;

	if (*to == '\0' && mb->op.kind == MB_OP_JOIN)
		to = mb->op.target;
	if (*to == '\0' && (to = mb_leader_address(mb)) == NULL) {
		mb->op.next_try = now + MB_OP_RETRY_MS;
		return;
	}
	mb->op.req = ++mb->next_req;
	if ((p = link_peer_get(cd, to)) == NULL) {
		mb->op.next_try = now + MB_OP_RETRY_MS;
		return;
	}
	if (mb->op.kind == MB_OP_JOIN) {
		memset(&j, 0, sizeof(j));
		j.req = mb->op.req;
		j.node_id = cd->node_id;
		snprintf(j.cluster_id, sizeof(j.cluster_id), "%s",
		    mb->op.cluster_id);
		snprintf(j.name, sizeof(j.name), "%s", cd->conf.nodename);
		snprintf(j.address, sizeof(j.address), "%s",
		    cd->conf.cluster_advertise);
		link_begin(cd, &mb->out, WIRE_JOIN_REQ);
		wire_enc_join_req(&mb->out, &j);
	} else {
		memset(&l, 0, sizeof(l));
		l.req = mb->op.req;
		snprintf(l.name, sizeof(l.name), "%s", mb->op.target);
		l.kill = mb->op.kill;
		l.timeout_s = mb->op.timeout_s;
		l.interval_s = mb->op.interval_s;
		link_begin(cd, &mb->out, WIRE_LEAVE_REQ);
		wire_enc_leave_req(&mb->out, &l);
	}
	/* Not connected yet: the DEALER refuses; try again soon. */
	if (link_send(cd, p, &mb->out) == -1)
		mb->op.next_try = now + MB_OP_RETRY_MS / 3;
	else
		mb->op.next_try = now + MB_OP_RESEND_MS;
}

void
membership_on_reply(struct clusterd *cd, struct link_peer *p,
    const struct wire_reply *rep)
{
	struct membership	*mb = cd->mb;
	uint64_t		 now = uv_now(cd->loop);
	char			 text[1400];

	if (mb == NULL || mb->op.kind == MB_OP_NONE || rep->req != mb->op.req)
		return;
	switch (rep->rc) {
	case WIRE_RC_OK:
		if (mb->op.kind == MB_OP_JOIN)
			snprintf(text, sizeof(text), "joined cluster %s: %s",
			    rep->cluster_id, rep->text);
		else
			snprintf(text, sizeof(text), "%s", rep->text);
		mb_op_finish(mb, 0, text);
		break;
	case WIRE_RC_REDIRECT:
		if (rep->leader[0] != '\0' && strcmp(rep->leader,
		    mb->op.leader) != 0) {
			snprintf(mb->op.leader, sizeof(mb->op.leader), "%s",
			    rep->leader);
			mb->op.next_try = now;
			break;
		}
		/* FALLTHROUGH */
	case WIRE_RC_RETRY:
		/* Ask the one who answered again, or the new leader. */
		if (rep->rc == WIRE_RC_RETRY)
			mb->op.leader[0] = '\0';
		mb->op.next_try = now + MB_OP_RETRY_MS;
		break;
	default:
		snprintf(text, sizeof(text), "%s: %s", p->address, rep->text);
		mb_op_finish(mb, -1, text);
		break;
	}
}

static void
mb_op_step(struct membership *mb, uint64_t now)
{
	char	why[512];

	if (mb->op.kind == MB_OP_NONE)
		return;
	if (now >= mb->op.deadline) {
		if (mb->op.kind == MB_OP_JOIN)
			snprintf(why, sizeof(why), "no answer from %s within "
			    "%d s (is it running, and does this node have "
			    "the cluster's keys?)", mb->op.target,
			    MB_OP_TIMEOUT_MS / 1000);
		else
			snprintf(why, sizeof(why), "no answer from the "
			    "leader within %d s", MB_OP_TIMEOUT_MS / 1000);
		mb_op_finish(mb, -1, why);
		return;
	}
	if (mb->op.waiting_reset || now < mb->op.next_try)
		return;
	/* A join is done once a leader lists us (its reply may be lost). */
	if (mb->op.kind == MB_OP_JOIN && mb->running && !mb->closing &&
	    mb_node_by_id(mb, mb->cd->node_id) != NULL &&
	    mb_role(mb, mb->cd->node_id) != -1 && mb->nnodes > 1 &&
	    mb_leader_address(mb) != NULL) {
		snprintf(why, sizeof(why), "joined cluster %s as a %s",
		    mb->cluster_id, mb_role_name(mb_role(mb,
		    mb->cd->node_id)));
		mb_op_finish(mb, 0, why);
		return;
	}
	mb_op_send(mb, now);
}

/* --------------------------------------------------------------- poll */

static void
mb_poll_cb(uv_timer_t *t)
{
	struct membership	*mb = t->data;
	struct clusterd		*cd = mb->cd;
	uint64_t		 now = uv_now(cd->loop);
	raft_id			 leader = 0;
	const char		*addr = NULL;
	struct mb_node		*n, *self;
	int			 state;

	if (mb->running && !mb->closing) {
		state = raft_state(&mb->raft);
		if (state != mb->last_state) {
			log_info("raft: %s -> %s (term %llu)",
			    mb_state_name(mb->last_state),
			    mb_state_name(state),
			    (unsigned long long)mb->raft.current_term);
			if (state == RAFT_LEADER)
				mb->elections++;
			if (state != RAFT_LEADER)
				mb->transferring = false;
			mb->last_state = state;
		}
		raft_leader(&mb->raft, &leader, &addr);
		if (leader != mb->last_leader) {
			if (leader == 0) {
				mb->leaderless_since = now;
				log_info("raft: no leader");
			} else {
				n = mb_node_by_id(mb, leader);
				mb->last_failover_ms = now -
				    mb->leaderless_since;
				log_info("raft: leader is %s (%s) after %llu "
				    "ms without one", n ? n->name : "?",
				    addr ? addr : "?",
				    (unsigned long long)mb->last_failover_ms);
			}
			mb->last_leader = leader;
		}
		mb_reconcile(mb);
		mb_job_step(mb);
		if (is_membership_joined(cd) &&
		    strcmp(mb->stored_id, mb->cluster_id) != 0)
			mb_store_id(mb);
		if (mb->removed_at != 0 &&
		    now - mb->removed_at > MB_LEFT_GRACE_MS &&
		    mb_node_by_id(mb, cd->node_id) == NULL &&
		    mb->op.kind == MB_OP_NONE) {
			mb->removed_at = 0;
			mb_raft_close(mb, mb->left_for_good ? MB_AFTER_EXIT :
			    MB_AFTER_ALONE);
		}
		/* Removed while away, or the removal entry never reached
		 * us (the leader stops replicating to a removed node): the
		 * leader keeps saying so for a while. */
		if (mb->outcast_since != 0 &&
		    now - mb->outcast_since > MB_OUTCAST_MS &&
		    now - mb->outcast_seen < 1000 &&
		    mb->op.kind == MB_OP_NONE) {
			log_warnx("membership: the leader no longer counts "
			    "this node as a member: leaving the cluster");
			mb->outcast_since = 0;
			/* The usual end of `cluster leave`: the leader stops
			 * replicating to a node it removed, so the removal
			 * entry itself seldom arrives here. */
			if ((self = mb_node_by_id(mb, cd->node_id)) != NULL &&
			    self->leaving)
				mb->left_for_good = true;
			mb_raft_close(mb, mb->left_for_good ? MB_AFTER_EXIT :
			    MB_AFTER_ALONE);
		}
	}
	mb_op_step(mb, now);
}

/* ------------------------------------------------------------ status */

void
membership_cluster_id(struct clusterd *cd, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s", cd->mb ? cd->mb->cluster_id : "");
}

uint8_t
membership_pong_flags(struct clusterd *cd, uint64_t node_id)
{
	struct membership	*mb = cd->mb;
	uint8_t			 f = 0;

	if (mb == NULL)
		return (0);
	if (mb_is_leader(mb))
		f |= WIRE_PONG_LEADER;
	if (mb_node_by_id(mb, node_id) != NULL)
		f |= WIRE_PONG_MEMBER;
	return (f);
}

void
membership_on_pong(struct clusterd *cd, struct link_peer *p, uint8_t flags,
    const char *cluster_id)
{
	struct membership	*mb = cd->mb;
	uint64_t		 now = uv_now(cd->loop);

	/* Only the leader of our own cluster has a say. */
	if (mb == NULL || !(flags & WIRE_PONG_LEADER) ||
	    mb->cluster_id[0] == '\0' ||
	    strcmp(cluster_id, mb->cluster_id) != 0)
		return;
	if ((flags & WIRE_PONG_MEMBER) || !mb->running || mb->closing ||
	    mb_node_by_id(mb, cd->node_id) == NULL ||
	    mb->op.kind != MB_OP_NONE) {
		mb->outcast_since = 0;
		return;
	}
	if (mb->outcast_since == 0) {
		mb->outcast_since = now;
		log_info("membership: leader %s does not list this node",
		    p->name);
	}
	mb->outcast_seen = now;
}

void
membership_touch_peers(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;
	size_t			 i;

	if (mb == NULL)
		return;
	for (i = 0; i < mb->nnodes; i++)
		if (mb->nodes[i].id != cd->node_id)
			link_peer_get(cd, mb->nodes[i].address);
}

static bool
mb_is_running(struct clusterd *cd, const struct mb_node *n)
{
	if (n->id == cd->node_id)
		return (true);
	return (link_is_up(link_peer_find(cd, n->address)));
}

void
membership_status(struct clusterd *cd, json_t *o)
{
	struct membership	*mb = cd->mb;
	raft_id			 leader = 0;
	const char		*addr = NULL;
	struct mb_node		*n;

	json_object_set_new(o, "node_id", json_sprintf("%016" PRIx64,
	    cd->node_id));
	json_object_set_new(o, "cluster_id", json_string(mb->cluster_id));
	json_object_set_new(o, "cluster_nodes",
	    json_integer((json_int_t)mb->nnodes));
	json_object_set_new(o, "raft_state", json_string(mb->running ?
	    mb_state_name(raft_state(&mb->raft)) : "unavailable"));
	if (mb->running)
		raft_leader(&mb->raft, &leader, &addr);
	n = leader ? mb_node_by_id(mb, leader) : NULL;
	json_object_set_new(o, "leader", n ? json_string(n->name) :
	    json_null());
	json_object_set_new(o, "links", json_string(cd->link ? "on" :
	    "off (no keys)"));
	json_object_set_new(o, "joined",
	    json_boolean(is_membership_joined(cd)));
	json_object_set_new(o, "discovery", json_string(discovery_why(cd)));
}

void
membership_metrics(struct clusterd *cd, json_t *o)
{
	struct membership	*mb = cd->mb;
	uint64_t		 in, out, bad, streams, opened, lost;
	size_t			 up, i, running = 0;

	for (i = 0; i < mb->nnodes; i++)
		if (mb_is_running(cd, &mb->nodes[i]))
			running++;
	link_metrics(cd, &in, &out, &bad, &up);
	transport_stats(cd, &streams, &opened, &lost);
	json_object_set_new(o, "cluster_nodes",
	    json_integer((json_int_t)mb->nnodes));
	json_object_set_new(o, "cluster_nodes_running",
	    json_integer((json_int_t)running));
	json_object_set_new(o, "is_leader", json_integer(mb_is_leader(mb)));
	json_object_set_new(o, "raft_term", json_integer(mb->running ?
	    (json_int_t)mb->raft.current_term : 0));
	json_object_set_new(o, "raft_last_applied", json_integer(mb->running ?
	    (json_int_t)raft_last_applied(&mb->raft) : 0));
	json_object_set_new(o, "raft_elections_won",
	    json_integer((json_int_t)mb->elections));
	json_object_set_new(o, "raft_last_failover_ms",
	    json_integer((json_int_t)mb->last_failover_ms));
	json_object_set_new(o, "link_frames_in", json_integer((json_int_t)in));
	json_object_set_new(o, "link_frames_out",
	    json_integer((json_int_t)out));
	json_object_set_new(o, "link_frames_bad",
	    json_integer((json_int_t)bad));
	json_object_set_new(o, "link_peers_up", json_integer((json_int_t)up));
	json_object_set_new(o, "raft_streams",
	    json_integer((json_int_t)streams));
	json_object_set_new(o, "raft_streams_opened",
	    json_integer((json_int_t)opened));
	json_object_set_new(o, "raft_streams_lost_data",
	    json_integer((json_int_t)lost));
}

static int
mb_cmp_name(const void *a, const void *b)
{
	return (strcmp(((const struct mb_node *)a)->name,
	    ((const struct mb_node *)b)->name));
}

json_t *
membership_show(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;
	struct mb_node		*sorted, self = { 0 };
	raft_id			 leader = 0;
	const char		*addr = NULL;
	json_t			*nodes, *o;
	size_t			 i, n = mb->nnodes;
	bool			 running;

	if (mb->running)
		raft_leader(&mb->raft, &leader, &addr);
	sorted = xcalloc(n + 1, sizeof(*sorted));
	if (n > 0)
		memcpy(sorted, mb->nodes, n * sizeof(*sorted));
	if (mb_node_by_id(mb, cd->node_id) == NULL) {
		/* Not (yet) a member anywhere: show this node alone. */
		self.id = cd->node_id;
		snprintf(self.name, sizeof(self.name), "%s",
		    cd->conf.nodename);
		snprintf(self.address, sizeof(self.address), "%s",
		    cd->conf.cluster_advertise);
		sorted[n++] = self;
	}
	qsort(sorted, n, sizeof(*sorted), mb_cmp_name);
	nodes = json_array();
	for (i = 0; i < n; i++) {
		running = mb_is_running(cd, &sorted[i]);
		o = json_object();
		json_object_set_new(o, "name", json_string(sorted[i].name));
		json_object_set_new(o, "running", json_boolean(running));
		json_object_set_new(o, "leader",
		    json_boolean(leader != 0 && leader == sorted[i].id));
		json_object_set_new(o, "state", json_string(
		    sorted[i].leaving ? "leaving" : running ? "up" : "down"));
		json_object_set_new(o, "role", json_string(
		    mb_role_name(mb_role(mb, sorted[i].id))));
		json_object_set_new(o, "address",
		    json_string(sorted[i].address));
		json_object_set_new(o, "id", json_sprintf("%016" PRIx64,
		    sorted[i].id));
		/* Client ids it owns (owner.c): ownership counts. */
		json_object_set_new(o, "owned", json_integer((json_int_t)
		    owner_count(cd, sorted[i].id)));
		json_array_append_new(nodes, o);
	}
	free(sorted);
	o = json_object();
	json_object_set_new(o, "cluster_id", json_string(mb->cluster_id));
	json_object_set_new(o, "joined",
	    json_boolean(is_membership_joined(cd)));
	json_object_set_new(o, "discovery", json_string(discovery_why(cd)));
	json_object_set_new(o, "nodes", nodes);
	return (o);
}

void
membership_open(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;

	if (cd->conf.discovery != CONF_DISCOVERY_NONE &&
	    !has_membership_stored(cd)) {
		/* First start: Raft opens once discovery has chosen to
		 * join a cluster or to bootstrap one. */
		mb->discovering = true;
		uv_timer_start(&mb->poll, mb_poll_cb, MB_POLL_MS, MB_POLL_MS);
		return;
	}
	mb_open_first(mb);
}

bool
has_membership_stored(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;

	if (mb->stored_id[0] != '\0')
		return (mb_dir_has_log(mb->dir, true));
	/* Written before data_dir/cluster_id existed, or stopped between
	 * joining and storing the id: committed entries count. */
	return (mb_dir_has_log(mb->dir, false));
}

const char *
membership_stored_id(struct clusterd *cd)
{
	return (cd->mb->stored_id);
}

bool
is_membership_joined(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;

	return (mb != NULL && mb->running && !mb->closing &&
	    mb->cluster_id[0] != '\0' &&
	    mb_node_by_id(mb, cd->node_id) != NULL &&
	    mb_role(mb, cd->node_id) != -1);
}

size_t
membership_count(struct clusterd *cd)
{
	return (cd->mb != NULL ? cd->mb->nnodes : 0);
}

int
membership_discovery_join(struct clusterd *cd, const char *address,
    const char *cluster_id)
{
	struct membership	*mb = cd->mb;
	FILE			*f;

	if (!mb->discovering || mb->running || mb->closing ||
	    mb->op.kind != MB_OP_NONE || cd->link == NULL)
		return (-1);
	memset(&mb->op, 0, sizeof(mb->op));
	mb->op.kind = MB_OP_JOIN;
	mb->op.internal = true;
	snprintf(mb->op.target, sizeof(mb->op.target), "%s", address);
	snprintf(mb->op.cluster_id, sizeof(mb->op.cluster_id), "%s",
	    cluster_id);
	mb->op.deadline = uv_now(cd->loop) + MB_OP_TIMEOUT_MS;
	/* Start empty; the leader we join fills the log. */
	mb_wipe(mb->dir);
	if ((f = fopen(mb->nobootstrap, "w")) != NULL)
		fclose(f);
	mb->discovering = false;
	mb_raft_open(mb, false);
	log_info("membership: joining cluster %s through %s", cluster_id,
	    address);
	return (0);
}

int
membership_discovery_bootstrap(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;

	if (!mb->discovering || mb->running || mb->closing ||
	    mb->op.kind != MB_OP_NONE)
		return (-1);
	mb_wipe(mb->dir);
	unlink(mb->nobootstrap);
	mb->discovering = false;
	mb->bootstrap_now = true;
	mb_raft_open(mb, true);
	return (0);
}

void
membership_free(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;

	if (mb == NULL)
		return;
	mb_fsm_clear(mb);
	free(mb->job);
	buf_free(&mb->out);
	free(mb);
	cd->mb = NULL;
}

/* ------------------------------------- routing's view (route.c etc.) */

void
membership_walk(struct clusterd *cd, membership_walk_fn fn, void *arg)
{
	struct membership	*mb = cd->mb;
	size_t			 i;

	if (mb == NULL)
		return;
	for (i = 0; i < mb->nnodes; i++)
		fn(cd, mb->nodes[i].id, mb->nodes[i].name,
		    mb->nodes[i].address, arg);
}

bool
is_membership_member(struct clusterd *cd, uint64_t id)
{
	return (cd->mb != NULL && mb_node_by_id(cd->mb, id) != NULL);
}

struct link_peer *
membership_link(struct clusterd *cd, uint64_t id)
{
	struct mb_node	*n;

	if (cd->mb == NULL || id == cd->node_id ||
	    (n = mb_node_by_id(cd->mb, id)) == NULL)
		return (NULL);
	return (link_peer_get(cd, n->address));
}

bool
is_membership_majority(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;
	struct mb_node		*n;
	raft_id			 id = 0;
	const char		*addr = NULL;
	int			 state;

	if (mb == NULL || !mb->running || mb->closing)
		return (false);
	state = raft_state(&mb->raft);
	if (state == RAFT_LEADER)
		return (true);	/* libraft steps down without a quorum */
	if (state != RAFT_FOLLOWER)
		return (false);
	raft_leader(&mb->raft, &id, &addr);
	if (id == 0)
		return (false);
	/* A standby never stands for election and keeps the leader it
	 * knew: also ask whether that leader still answers. */
	n = mb_node_by_id(mb, id);
	return (n != NULL && link_is_up(link_peer_find(cd, n->address)));
}

bool
is_membership_leaving(struct clusterd *cd, uint64_t id)
{
	struct mb_node	*n;

	return (cd->mb != NULL && (n = mb_node_by_id(cd->mb, id)) != NULL &&
	    n->leaving);
}

bool
is_membership_leave_kill(struct clusterd *cd, uint64_t id)
{
	struct mb_node	*n;

	return (cd->mb != NULL && (n = mb_node_by_id(cd->mb, id)) != NULL &&
	    (n->leaving & MB_LEAVING_KILL) != 0);
}

bool
is_membership_caught_up(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;

	return (is_membership_majority(cd) &&
	    raft_last_applied(&mb->raft) >= mb->raft.commit_index);
}

/*
 * Proposes the entry buf (raft_malloc'd, padded to 8 bytes; taken on
 * success) on the leader; cb(arg, status) runs once it is committed or
 * failed.  Returns 0, or -1 when this node does not lead (buf untouched).
 */
struct mb_apply {
	struct raft_apply	 req;
	void			(*cb)(void *, int);
	void			*arg;
};

static void
mb_apply_cb(struct raft_apply *req, int status, void *result)
{
	struct mb_apply	*a = req->data;

	if (a->cb != NULL)
		a->cb(a->arg, status);
	free(a);
}

int
membership_apply(struct clusterd *cd, struct raft_buffer *buf,
    void (*cb)(void *, int), void *arg)
{
	struct membership	*mb = cd->mb;
	struct mb_apply		*a;

	if (mb == NULL || !mb_is_leader(mb))
		return (-1);
	a = xcalloc(1, sizeof(*a));
	a->req.data = a;
	a->cb = cb;
	a->arg = arg;
	if (raft_apply(&mb->raft, &a->req, buf, 1, mb_apply_cb) != 0) {
		free(a);
		return (-1);
	}
	return (0);
}

bool
is_membership_leader(struct clusterd *cd)
{
	return (cd->mb != NULL && mb_is_leader(cd->mb));
}

struct link_peer *
membership_leader_link(struct clusterd *cd)
{
	struct membership	*mb = cd->mb;
	raft_id			 id = 0;
	const char		*addr = NULL;

	if (mb == NULL || !mb->running || mb->closing)
		return (NULL);
	raft_leader(&mb->raft, &id, &addr);
	if (id == 0 || id == cd->node_id)
		return (NULL);
	return (membership_link(cd, id));
}
