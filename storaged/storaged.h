/* SPDX-License-Identifier: MIT */
/*
 * storaged: the node's durable store.  A map of the directory:
 *	store_rocks.c	the RocksDB store (schema: docs/storage.md),
 *			the only file that includes rocksdb/c.h
 *	dispatch.c	IPC requests -> store operations, group commit
 *	main.c		arguments, config, socket, loop, timers, signals
 */
#ifndef STORAGED_STORAGED_H
#define STORAGED_STORAGED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc/ipc.h"

#define STORE_SCHEMA_VERSION	1

/* store_rocks.c */
struct store;

struct store_opts {
	bool		  sync_always;	/* sync WAL every commit */
	uint64_t	  max_offline;	/* per queue; 0 = unlimited */
	/*
	 * Below this many free bytes on the store's file system, operations
	 * that add data are refused (IPC_STORE_E_NOSPACE) so that RocksDB
	 * keeps room for its flushes and compactions; 0 = no check.
	 */
	uint64_t	  min_free;
	/* Wall clock in ms since the epoch; NULL = the real one (tests). */
	uint64_t	(*clock)(void *arg);
	void		 *clock_arg;
};

struct store_stats {
	uint64_t	commits;		/* batches written */
	uint64_t	commit_ops;		/* operations in them */
	uint64_t	commit_us_last;		/* last write's time */
	uint64_t	commit_us_max;
	uint64_t	commit_us_total;
	uint64_t	syncs;			/* interval WAL syncs */
	uint64_t	appends;		/* APPEND requests applied */
	uint64_t	queued;			/* queue entries added */
	uint64_t	acked;			/* entries ACK removed */
	uint64_t	bodies_stored;
	uint64_t	bodies_deleted;
	uint64_t	drop_queue_full;	/* refused: queue full */
	uint64_t	drop_expired;		/* gone by expiry */
	uint64_t	sessions_expired;
	uint64_t	write_errors;
	uint64_t	nospace_errors;
	/* Filled by store_get_stats() only. */
	uint64_t	est_sessions;
	uint64_t	est_subs;
	uint64_t	est_queue;
	uint64_t	est_bodies;
	uint64_t	est_retained;
	uint64_t	disk_bytes;
	uint64_t	disk_free;
};

/*
 * Opens (creating if needed, with mkdir -p) the store in directory dir.
 * A foreign or corrupt database, or one of a newer schema version, is
 * refused with the reason in err.  Returns a new store (close with
 * store_close()), or NULL.  Borrows o.  Blocks (disk).
 */
struct store	*store_open(const char *dir, const struct store_opts *o,
		    char *err, size_t errlen);
/* Writes what is pending, syncs the WAL and closes.  NULL does nothing. */
void		 store_close(struct store *st);
/* The store's clock (ms since the epoch). */
uint64_t	 store_now(const struct store *st);

/*
 * Operations.  Each adds its changes to the pending batch, where later
 * operations see them; nothing is durable until store_commit().  Each
 * returns IPC_STORE_OK, or an IPC_STORE_E_* code (logged) and then left no
 * change in the batch.  Borrows its arguments.
 */
int	store_session_put(struct store *st,
	    const struct ipc_store_session *v);
int	store_session_del(struct store *st, const struct ipc_store_sess *s);
int	store_sub_put(struct store *st, const struct ipc_store_subs *v);
int	store_sub_del(struct store *st, const struct ipc_store_subs *v);
/*
 * Appends v: the body once, one queue entry per target.  full (ntargets
 * entries, borrowed) gets true for targets refused because their queue holds
 * max_offline entries; *nfull their count.
 */
int	store_append(struct store *st, const struct ipc_store_append *v,
	    bool *full, uint32_t *nfull);
int	store_ack(struct store *st, const struct ipc_store_ack *v);
int	store_mark(struct store *st, const struct ipc_store_mark *v);
int	store_qos2_put(struct store *st, const struct ipc_store_qos2 *v);
int	store_qos2_del(struct store *st, const struct ipc_store_qos2 *v);
int	store_retain_put(struct store *st, const struct ipc_store_retain *v);
int	store_retain_del(struct store *st, const struct ipc_store_retain *v);
int	store_will_put(struct store *st, const struct ipc_store_will *v);
int	store_will_del(struct store *st, const struct ipc_store_sess *s);

/* Number of operations waiting in the batch. */
size_t	store_pending(const struct store *st);
/*
 * Writes the pending batch in one RocksDB write (synced with sync_always).
 * Returns IPC_STORE_OK, or IPC_STORE_E_NOSPACE / IPC_STORE_E_IO (logged);
 * the batch is emptied either way.  After a failed write the database is
 * reopened on the next commit, so the store keeps serving.  Blocks.
 */
int	store_commit(struct store *st);
/* Syncs the WAL (the storage.sync = interval timer).  Returns 0 or -1. */
int	store_sync(struct store *st);
/*
 * Deletes expired sessions (with everything of theirs), bodies and
 * retained messages, at most max of them, and queue entries whose body is
 * gone (an incremental scan of at most max entries), then commits.
 * Returns the number removed, or -1.
 */
int	store_sweep(struct store *st, size_t max);

/*
 * Calls cb for every record of owner (what: IPC_STORE_L_* bits, 0 = all),
 * in the order msg_store.h gives for LOAD, from one consistent snapshot.
 * A non-empty cid limits it to that session of owner (no retained
 * messages then).  Records point into store memory valid during the call
 * only.  Expired entries are skipped (and deleted).  cb returns 0, or -1
 * to stop.  Returns 0, or -1 (an error, logged, or cb stopped).  Borrows
 * owner and cid.  Blocks.
 */
typedef int	(*store_load_cb)(const struct ipc_store_rec *rec, void *arg);
int	store_load(struct store *st, struct ipc_bytes owner,
	    struct ipc_bytes cid, uint32_t what, store_load_cb cb, void *arg);

/* Fills s with the counters and estimates of the store. */
void	store_get_stats(struct store *st, struct store_stats *s);
/*
 * Exact number of committed keys in column family cf ("msgs", "queues",
 * ...), or -1 for an unknown name.  Scans: for tests and diagnostics.
 */
int64_t	store_count(struct store *st, const char *cf);
/* The last write error ("" if none). */
const char *store_last_error(const struct store *st);

/* Changes the per-queue limit for later appends (SIGHUP). */
void	store_set_max_offline(struct store *st, uint64_t max);

/* dispatch.c */
struct storaged {
	void		*sock;		/* ROUTER, borrowed */
	struct store	*store;		/* borrowed */
	const char	*nodename;	/* borrowed */
	bool		 sync_always;
	uint64_t	 boot_id;
	uint64_t	 requests;
	uint64_t	 bad_requests;
	uint64_t	 load_requests;
	uint64_t	 batches;	/* group commits */
	uint64_t	 batch_max;	/* most requests in one */
	struct ipc_ev	*ev;		/* borrowed; kicked */
};

/*
 * Reads every waiting message of sd->sock (up to a bound), applies the
 * requests to the store in one batch, commits it once and answers all.
 * The ipc_ev callback.
 */
void	storaged_dispatch(void *sock, void *arg);
/* Returns the status JSON (what = "status" or "metrics"); free(). */
char	*storaged_status_json(struct storaged *sd, const char *what);

#endif
