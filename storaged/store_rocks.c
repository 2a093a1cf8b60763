/* SPDX-License-Identifier: MIT */
/*
 * The node's store on RocksDB (C API): open and schema checks, the batch of
 * pending changes, queue appends with shared bodies, expiry and LOAD.  The
 * only file that includes rocksdb/c.h and handles its ownership rules:
 * strings RocksDB returns (values, errors, properties) are freed with
 * rocksdb_free(); handles are destroyed before rocksdb_close().
 *
 * Changes go into one WriteBatchWithIndex, so an operation sees the changes
 * of the operations before it in the same batch (read-your-writes while
 * group committing) and a failed write discards the whole batch with no
 * state to undo outside the database.  Schema: docs/storage.md.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include <rocksdb/c.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "storaged/storaged.h"

#define STORE_MAGIC	"tern-storaged"

enum store_cf {
	CF_DEFAULT,
	CF_META,
	CF_SESSIONS,
	CF_SUBS,
	CF_QUEUES,
	CF_MSGS,
	CF_REFS,
	CF_COUNTS,
	CF_RETAINED,
	CF_QOS2,
	CF_WILLS,
	CF_EXPIRY,
	CF_N
};

static const char *const store_cf_names[CF_N] = {
	"default", "meta", "sessions", "subs", "queues", "msgs", "refs",
	"counts", "retained", "qos2_in", "wills", "expiry"
};

/* Kinds of expiry index keys (first byte). */
#define EXP_SESSION	'S'
#define EXP_MSG		'M'
#define EXP_RETAIN	'R'

struct store {
	char				*dir;
	struct store_opts		 opts;
	rocksdb_t			*db;
	rocksdb_options_t		*dbopts;
	rocksdb_column_family_handle_t	*cf[CF_N];
	/* Column families found on disk that this version does not know. */
	rocksdb_column_family_handle_t	**xcf;
	size_t				 nxcf;
	rocksdb_readoptions_t		*ropts;
	rocksdb_writeoptions_t		*wopts;
	rocksdb_writebatch_wi_t		*wb;
	size_t				 nops;
	bool				 broken;	/* reopen first */
	uint64_t			 space_checked;	/* us */
	bool				 space_low;
	char				 last_error[1024];
	/* Resume point of the incremental scan for orphan queue entries. */
	struct buf			 scan_key;
	struct store_stats		 st;
};

static int	store_reopen(struct store *st);

/* Time and errors */

static uint64_t
store_real_clock(void *arg)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static uint64_t
store_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000);
}

uint64_t
store_now(const struct store *st)
{
	return (st->opts.clock(st->opts.clock_arg));
}

/* Maps a RocksDB error string to a reply code and frees it. */
static int
store_err_code(struct store *st, const char *what, char *err)
{
	int	code = IPC_STORE_E_IO;

	if (strstr(err, "No space") != NULL || strstr(err, "NoSpace") != NULL ||
	    strstr(err, "ENOSPC") != NULL) {
		code = IPC_STORE_E_NOSPACE;
		st->st.nospace_errors++;
	}
	log_warnx("store: %s: %s", what, err);
	snprintf(st->last_error, sizeof(st->last_error), "%s: %s", what, err);
	rocksdb_free(err);
	return (code);
}

/*
 * True when the file system is below min_free: then operations that add
 * data are refused before RocksDB meets ENOSPC, which leaves a database
 * that must be reopened (and Debian's librocksdb asserts on some of those
 * paths).  statvfs() at most every 50 ms.
 */
static bool
store_space_low(struct store *st)
{
	struct statvfs	vfs;
	uint64_t	now, avail;
	bool		low;

	if (st->opts.min_free == 0)
		return (false);
	now = store_mono_us();
	if (st->space_checked != 0 && now - st->space_checked < 50000)
		return (st->space_low);
	st->space_checked = now;
	if (statvfs(st->dir, &vfs) == -1)
		return (st->space_low);
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	low = avail < st->opts.min_free;
	if (low && !st->space_low) {
		log_warnx("store: %s: %llu bytes free, below %llu: refusing "
		    "new data", st->dir, (unsigned long long)avail,
		    (unsigned long long)st->opts.min_free);
		snprintf(st->last_error, sizeof(st->last_error),
		    "free space %llu bytes below storage.min_free_bytes",
		    (unsigned long long)avail);
	} else if (!low && st->space_low)
		log_info("store: %s: free space back above %llu bytes",
		    st->dir, (unsigned long long)st->opts.min_free);
	st->space_low = low;
	return (low);
}

/* Refuses an operation that adds data while space is low. */
#define STORE_NEED_SPACE(st) do {					\
	if (store_space_low(st)) {					\
		(st)->st.nospace_errors++;				\
		return (IPC_STORE_E_NOSPACE);				\
	}								\
} while (0)

/* Keys */

static void
key_owner(struct buf *k, struct ipc_bytes owner)
{
	buf_add_u8(k, (uint8_t)owner.len);
	buf_add(k, owner.p, owner.len);
}

/* u8 owner length, owner, u16 client id length, client id. */
static void
key_sess(struct buf *k, struct ipc_bytes owner, struct ipc_bytes cid)
{
	key_owner(k, owner);
	buf_add_u16(k, (uint16_t)cid.len);
	buf_add(k, cid.p, cid.len);
}

static void
key_msg(struct buf *k, struct ipc_bytes owner, uint64_t msg_id)
{
	key_owner(k, owner);
	buf_add_u64(k, msg_id);
}

static void
key_exp(struct buf *k, uint8_t kind, uint64_t at, const struct buf *rest)
{
	buf_add_u8(k, kind);
	buf_add_u64(k, at);
	buf_add(k, rest->data, rest->len);
}

static uint64_t
be64_get(const uint8_t *p)
{
	return (((uint64_t)be32_get(p) << 32) | be32_get(p + 4));
}

/*
 * Splits a session-prefixed key into owner and client id; *rest gets what
 * follows.  Returns -1 if k is not one.
 */
static int
key_sess_split(const uint8_t *k, size_t klen, struct ipc_bytes *owner,
    struct ipc_bytes *cid, struct ipc_bytes *rest)
{
	size_t	olen, clen;

	if (klen < 1)
		return (-1);
	olen = k[0];
	if (klen < 1 + olen + 2)
		return (-1);
	clen = be16_get(k + 1 + olen);
	if (klen < 3 + olen + clen)
		return (-1);
	owner->p = k + 1;
	owner->len = olen;
	cid->p = k + 3 + olen;
	cid->len = clen;
	rest->p = k + 3 + olen + clen;
	rest->len = klen - (3 + olen + clen);
	return (0);
}

/* The batch */

static void
wb_put(struct store *st, enum store_cf cf, const struct buf *k,
    const void *v, size_t vlen)
{
	rocksdb_writebatch_wi_put_cf(st->wb, st->cf[cf], (const char *)k->data,
	    k->len, v, vlen);
	st->nops++;
}

static void
wb_del(struct store *st, enum store_cf cf, const void *k, size_t klen)
{
	rocksdb_writebatch_wi_delete_cf(st->wb, st->cf[cf], k, klen);
	st->nops++;
}

/*
 * Reads key k of cf as the batch would leave it.  Returns 1 with *v (free
 * with rocksdb_free()) and *vlen, 0 if absent, -1 on error (code in *code).
 */
static int
wb_get(struct store *st, enum store_cf cf, const void *k, size_t klen,
    char **v, size_t *vlen, int *code)
{
	char	*err = NULL;

	*v = rocksdb_writebatch_wi_get_from_batch_and_db_cf(st->wb, st->db,
	    st->ropts, st->cf[cf], k, klen, vlen, &err);
	if (err != NULL) {
		*code = store_err_code(st, "read", err);
		return (-1);
	}
	return (*v != NULL ? 1 : 0);
}

/* Reads a u64 counter (refs, counts: the first 8 bytes); 0 if absent. */
static int
wb_get_u64(struct store *st, enum store_cf cf, const struct buf *k,
    uint64_t *out, uint64_t *second, int *code)
{
	char	*v;
	size_t	 vlen;
	int	 r;

	*out = 0;
	if (second != NULL)
		*second = 0;
	if ((r = wb_get(st, cf, k->data, k->len, &v, &vlen, code)) != 1)
		return (r);
	if (vlen >= 8)
		*out = be64_get((const uint8_t *)v);
	if (second != NULL && vlen >= 16)
		*second = be64_get((const uint8_t *)v + 8);
	rocksdb_free(v);
	return (1);
}

/*
 * Iterates the keys of cf starting with prefix, as the batch would leave
 * them.  Returns a new iterator positioned on the first (destroy with
 * rocksdb_iter_destroy()).
 */
static rocksdb_iterator_t *
wb_iter(struct store *st, enum store_cf cf, const struct buf *prefix)
{
	rocksdb_iterator_t	*base, *it;

	base = rocksdb_create_iterator_cf(st->db, st->ropts, st->cf[cf]);
	/* The batch iterator takes over base. */
	it = rocksdb_writebatch_wi_create_iterator_with_base_cf(st->wb, base,
	    st->cf[cf]);
	if (prefix->len == 0)
		rocksdb_iter_seek_to_first(it);
	else
		rocksdb_iter_seek(it, (const char *)prefix->data, prefix->len);
	return (it);
}

static int
iter_error(struct store *st, rocksdb_iterator_t *it, const char *what)
{
	char	*err = NULL;

	rocksdb_iter_get_error(it, &err);
	if (err != NULL)
		return (store_err_code(st, what, err));
	return (IPC_STORE_OK);
}

/* Starts an operation: a save point to roll back to on failure. */
static void
op_begin(struct store *st)
{
	rocksdb_writebatch_wi_set_save_point(st->wb);
}

static int
op_end(struct store *st, int code, size_t nops_before)
{
	char	*err = NULL;

	if (code == IPC_STORE_OK)
		return (code);
	rocksdb_writebatch_wi_rollback_to_save_point(st->wb, &err);
	if (err != NULL)
		rocksdb_free(err);
	st->nops = nops_before;
	return (code);
}

/* Open, schema, close */

static bool
store_dir_is_empty(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	bool		 empty = true;

	if ((d = opendir(dir)) == NULL)
		return (true);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	closedir(d);
	return (empty);
}

static int
store_mkdirs(const char *dir, char *err, size_t errlen)
{
	char	*p, *s = xstrdup(dir);

	for (p = s + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char	c = *p;

			*p = '\0';
			if (mkdir(s, 0750) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "store: mkdir %s: %s", s,
				    strerror(errno));
				free(s);
				return (-1);
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(s);
	return (0);
}

/* Reads and checks the schema marker; writes it into a new database. */
static int
store_check_schema(struct store *st, bool fresh, char *err, size_t errlen)
{
	struct buf	 v = BUF_INIT;
	char		*val, *e = NULL;
	size_t		 vlen, ml = strlen(STORE_MAGIC);
	uint32_t	 version;
	int		 rc = -1;

	val = rocksdb_get_cf(st->db, st->ropts, st->cf[CF_META], "schema", 6,
	    &vlen, &e);
	if (e != NULL) {
		snprintf(err, errlen, "store: %s: reading the schema "
		    "marker: %s", st->dir, e);
		rocksdb_free(e);
		return (-1);
	}
	if (val == NULL && fresh) {
		buf_add(&v, STORE_MAGIC, ml);
		buf_add_u32(&v, STORE_SCHEMA_VERSION);
		buf_add_u64(&v, store_now(st));
		rocksdb_writeoptions_set_sync(st->wopts, 1);
		rocksdb_put_cf(st->db, st->wopts, st->cf[CF_META], "schema", 6,
		    (const char *)v.data, v.len, &e);
		rocksdb_writeoptions_set_sync(st->wopts, st->opts.sync_always);
		buf_free(&v);
		if (e != NULL) {
			snprintf(err, errlen, "store: %s: writing the schema "
			    "marker: %s", st->dir, e);
			rocksdb_free(e);
			return (-1);
		}
		log_info("store: created %s (schema version %d)", st->dir,
		    STORE_SCHEMA_VERSION);
		return (0);
	}
	if (val == NULL || vlen < ml + 4 || memcmp(val, STORE_MAGIC, ml) != 0) {
		snprintf(err, errlen, "store: %s is not a Tern store (no "
		    "\"%s\" schema marker): refusing to use it; move it away "
		    "or point data_dir elsewhere", st->dir, STORE_MAGIC);
		goto out;
	}
	version = be32_get((const uint8_t *)val + ml);
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errlen, "store: %s has schema version %u, newer "
		    "than this storaged's %d: refusing to open it (run the "
		    "newer release)", st->dir, version, STORE_SCHEMA_VERSION);
		goto out;
	}
	if (version == 0) {
		snprintf(err, errlen, "store: %s: bad schema version 0",
		    st->dir);
		goto out;
	}
	/* Older versions would be migrated here; 1 is the first. */
	rc = 0;
 out:
	rocksdb_free(val);
	return (rc);
}

/* True if the opened database holds no key in any column family. */
static bool
store_db_is_empty(struct store *st)
{
	rocksdb_iterator_t	*it;
	bool			 empty = true;
	int			 i;

	for (i = 0; i < CF_N && empty; i++) {
		it = rocksdb_create_iterator_cf(st->db, st->ropts, st->cf[i]);
		rocksdb_iter_seek_to_first(it);
		if (rocksdb_iter_valid(it))
			empty = false;
		rocksdb_iter_destroy(it);
	}
	return (empty && st->nxcf == 0);
}

static int
store_open_db(struct store *st, char *err, size_t errlen)
{
	const char			*names[64];
	const rocksdb_options_t		*cfopts[64];
	rocksdb_column_family_handle_t	*handles[64];
	char				**have = NULL, *e = NULL;
	size_t				 nhave = 0, i, j, n = 0;
	bool				 fresh = false, known;

	have = rocksdb_list_column_families(st->dbopts, st->dir, &nhave, &e);
	if (e != NULL) {
		/* No database yet: RocksDB cannot find CURRENT. */
		rocksdb_free(e);
		e = NULL;
		/* The (empty) list is allocated even on error. */
		rocksdb_list_column_families_destroy(have, 0);
		have = NULL;
		nhave = 0;
		if (!store_dir_is_empty(st->dir)) {
			snprintf(err, errlen, "store: %s holds files but no "
			    "RocksDB database (foreign or corrupt): refusing "
			    "to use it", st->dir);
			return (-1);
		}
		fresh = true;
	}
	for (i = 0; i < CF_N; i++)
		names[n++] = store_cf_names[i];
	for (j = 0; j < nhave; j++) {
		known = false;
		for (i = 0; i < CF_N; i++)
			if (strcmp(have[j], store_cf_names[i]) == 0)
				known = true;
		if (!known && n < 64)
			names[n++] = have[j];
	}
	if (!fresh) {
		known = false;
		for (j = 0; j < nhave; j++)
			if (strcmp(have[j], "meta") == 0)
				known = true;
		if (!known) {
			snprintf(err, errlen, "store: %s is not a Tern store "
			    "(no \"meta\" column family): refusing to use it",
			    st->dir);
			rocksdb_list_column_families_destroy(have, nhave);
			return (-1);
		}
	}
	for (i = 0; i < n; i++)
		cfopts[i] = st->dbopts;
	st->db = rocksdb_open_column_families(st->dbopts, st->dir, (int)n,
	    names, cfopts, handles, &e);
	if (have != NULL)
		rocksdb_list_column_families_destroy(have, nhave);
	if (e != NULL) {
		snprintf(err, errlen, "store: open %s: %s", st->dir, e);
		rocksdb_free(e);
		st->db = NULL;
		return (-1);
	}
	for (i = 0; i < CF_N; i++)
		st->cf[i] = handles[i];
	st->nxcf = n - CF_N;
	if (st->nxcf > 0) {
		st->xcf = xcalloc(st->nxcf, sizeof(*st->xcf));
		for (i = 0; i < st->nxcf; i++)
			st->xcf[i] = handles[CF_N + i];
	}
	/* A crash right after creation leaves an empty database unmarked. */
	if (!fresh && store_db_is_empty(st))
		fresh = true;
	return (store_check_schema(st, fresh, err, errlen));
}

static void
store_close_db(struct store *st)
{
	size_t	i;

	if (st->db == NULL)
		return;
	for (i = 0; i < CF_N; i++)
		if (st->cf[i] != NULL)
			rocksdb_column_family_handle_destroy(st->cf[i]);
	for (i = 0; i < st->nxcf; i++)
		rocksdb_column_family_handle_destroy(st->xcf[i]);
	free(st->xcf);
	st->xcf = NULL;
	st->nxcf = 0;
	memset(st->cf, 0, sizeof(st->cf));
	rocksdb_close(st->db);
	st->db = NULL;
}

struct store *
store_open(const char *dir, const struct store_opts *o, char *err,
    size_t errlen)
{
	struct store	*st;

	if (store_mkdirs(dir, err, errlen) == -1)
		return (NULL);
	st = xcalloc(1, sizeof(*st));
	st->dir = xstrdup(dir);
	st->opts = *o;
	if (st->opts.clock == NULL)
		st->opts.clock = store_real_clock;
	buf_init(&st->scan_key);
	st->dbopts = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(st->dbopts, 1);
	rocksdb_options_set_create_missing_column_families(st->dbopts, 1);
	rocksdb_options_set_paranoid_checks(st->dbopts, 1);
	rocksdb_options_set_keep_log_file_num(st->dbopts, 4);
	rocksdb_options_set_max_background_jobs(st->dbopts, 2);
	/*
	 * 12 column families: bound the memtables (and the WAL space RocksDB
	 * preallocates, which follows write_buffer_size).
	 */
	rocksdb_options_set_write_buffer_size(st->dbopts, 8 << 20);
	rocksdb_options_set_db_write_buffer_size(st->dbopts, 64 << 20);
	st->ropts = rocksdb_readoptions_create();
	st->wopts = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(st->wopts, st->opts.sync_always);
	st->wb = rocksdb_writebatch_wi_create(0, 1);
	if (store_open_db(st, err, errlen) == -1) {
		store_close(st);
		return (NULL);
	}
	return (st);
}

void
store_close(struct store *st)
{
	char	*e = NULL;

	if (st == NULL)
		return;
	if (st->db != NULL && !st->broken) {
		if (st->nops > 0)
			store_commit(st);
		rocksdb_flush_wal(st->db, 1, &e);
		if (e != NULL) {
			log_warnx("store: close: sync: %s", e);
			rocksdb_free(e);
		}
	}
	store_close_db(st);
	rocksdb_writebatch_wi_destroy(st->wb);
	rocksdb_readoptions_destroy(st->ropts);
	rocksdb_writeoptions_destroy(st->wopts);
	rocksdb_options_destroy(st->dbopts);
	buf_free(&st->scan_key);
	free(st->dir);
	free(st);
}

/*
 * After a failed write RocksDB refuses further writes (its background
 * error) until reopened: close and open again.
 */
static int
store_reopen(struct store *st)
{
	char	err[512];

	store_close_db(st);
	if (store_open_db(st, err, sizeof(err)) == -1) {
		store_close_db(st);
		log_warnx("%s", err);
		snprintf(st->last_error, sizeof(st->last_error), "%s", err);
		return (-1);
	}
	log_info("store: reopened %s after a write error", st->dir);
	st->broken = false;
	return (0);
}

/* Commit */

size_t
store_pending(const struct store *st)
{
	return (st->nops);
}

int
store_commit(struct store *st)
{
	char		*e = NULL;
	uint64_t	 t0, us;
	int		 code = IPC_STORE_OK;

	if (st->nops == 0)
		return (IPC_STORE_OK);
	if (st->broken && store_reopen(st) == -1) {
		code = strstr(st->last_error, "No space") != NULL ?
		    IPC_STORE_E_NOSPACE : IPC_STORE_E_IO;
		st->st.write_errors++;
		goto out;
	}
	t0 = store_mono_us();
	rocksdb_write_writebatch_wi(st->db, st->wopts, st->wb, &e);
	us = store_mono_us() - t0;
	if (e != NULL) {
		code = store_err_code(st, "write", e);
		st->st.write_errors++;
		st->broken = true;
		goto out;
	}
	st->st.commits++;
	st->st.commit_ops += st->nops;
	st->st.commit_us_last = us;
	st->st.commit_us_total += us;
	if (us > st->st.commit_us_max)
		st->st.commit_us_max = us;
 out:
	rocksdb_writebatch_wi_clear(st->wb);
	st->nops = 0;
	return (code);
}

int
store_sync(struct store *st)
{
	char	*e = NULL;

	if (st->db == NULL || st->broken)
		return (-1);
	rocksdb_flush_wal(st->db, 1, &e);
	if (e != NULL) {
		store_err_code(st, "sync", e);
		st->broken = true;
		return (-1);
	}
	st->st.syncs++;
	return (0);
}

/* Bodies and queues */

/* Drops one reference to body (owner, msg_id); deletes it with the last. */
static int
store_unref(struct store *st, struct ipc_bytes owner, uint64_t msg_id)
{
	struct buf	k = BUF_INIT, ek = BUF_INIT;
	uint64_t	n, exp;
	uint8_t		v[16];
	int		code = IPC_STORE_OK, r;

	key_msg(&k, owner, msg_id);
	if ((r = wb_get_u64(st, CF_REFS, &k, &n, &exp, &code)) <= 0)
		goto out;	/* already gone (expired): nothing to do */
	if (n > 1) {
		be32_put(v, (uint32_t)((n - 1) >> 32));
		be32_put(v + 4, (uint32_t)(n - 1));
		be32_put(v + 8, (uint32_t)(exp >> 32));
		be32_put(v + 12, (uint32_t)exp);
		wb_put(st, CF_REFS, &k, v, sizeof(v));
		goto out;
	}
	wb_del(st, CF_REFS, k.data, k.len);
	wb_del(st, CF_MSGS, k.data, k.len);
	if (exp != 0) {
		key_exp(&ek, EXP_MSG, exp, &k);
		wb_del(st, CF_EXPIRY, ek.data, ek.len);
	}
	st->st.bodies_deleted++;
 out:
	buf_free(&k);
	buf_free(&ek);
	return (code);
}

/* Adds delta to the queue length counter of session key sk. */
static int
store_qlen_add(struct store *st, const struct buf *sk, int64_t delta,
    uint64_t *now_len)
{
	uint64_t	n;
	uint8_t		v[8];
	int		code = IPC_STORE_OK;

	if (wb_get_u64(st, CF_COUNTS, sk, &n, NULL, &code) == -1)
		return (code);
	if (delta < 0 && n < (uint64_t)-delta)
		n = 0;
	else
		n += delta;
	if (now_len != NULL)
		*now_len = n;
	if (n == 0) {
		wb_del(st, CF_COUNTS, sk->data, sk->len);
		return (IPC_STORE_OK);
	}
	be32_put(v, (uint32_t)(n >> 32));
	be32_put(v + 4, (uint32_t)n);
	wb_put(st, CF_COUNTS, sk, v, sizeof(v));
	return (IPC_STORE_OK);
}

static void
enc_queue_val(struct buf *v, uint64_t msg_id, uint8_t qos, uint8_t state,
    uint8_t nsub_ids, const uint32_t *sub_ids)
{
	uint8_t	i;

	buf_add_u64(v, msg_id);
	buf_add_u8(v, qos);
	buf_add_u8(v, state);
	buf_add_u8(v, nsub_ids);
	for (i = 0; i < nsub_ids; i++)
		buf_add_u32(v, sub_ids[i]);
}

static int
dec_queue_val(const uint8_t *p, size_t len, struct ipc_store_rec *r)
{
	struct rbuf	rb;
	uint8_t		i;

	rbuf_init(&rb, p, len);
	r->msg_id = rbuf_u64(&rb);
	r->qos = rbuf_u8(&rb);
	r->state = rbuf_u8(&rb);
	r->nsub_ids = rbuf_u8(&rb);
	if (r->nsub_ids > IPC_STORE_SUBIDS_MAX)
		return (-1);
	for (i = 0; i < r->nsub_ids; i++)
		r->sub_ids[i] = rbuf_u32(&rb);
	return (rbuf_done(&rb) ? 0 : -1);
}

int
store_append(struct store *st, const struct ipc_store_append *v, bool *full,
    uint32_t *nfull)
{
	const struct ipc_store_target	*t;
	struct buf			 mk = BUF_INIT, sk = BUF_INIT;
	struct buf			 val = BUF_INIT, ek = BUF_INIT;
	uint64_t			 refs, exp, qlen, added = 0;
	size_t				 nops = st->nops, sklen;
	uint32_t			 i;
	char				*old;
	size_t				 oldlen;
	int				 code = IPC_STORE_OK, r;

	*nfull = 0;
	for (i = 0; i < v->ntargets; i++)
		full[i] = false;
	STORE_NEED_SPACE(st);
	if (v->owner.len > IPC_STORE_OWNER_MAX)
		return (IPC_STORE_E_INVALID);
	st->st.appends++;
	if (v->body.expire_at != 0 && v->body.expire_at <= store_now(st)) {
		/* Expired before it was stored: nobody may receive it. */
		st->st.drop_expired += v->ntargets;
		return (IPC_STORE_OK);
	}
	op_begin(st);
	key_msg(&mk, v->owner, v->msg_id);
	if (wb_get_u64(st, CF_REFS, &mk, &refs, &exp, &code) == -1)
		goto out;
	for (i = 0; i < v->ntargets; i++) {
		t = &v->targets[i];
		buf_reset(&sk);
		key_sess(&sk, v->owner, t->client_id);
		sklen = sk.len;
		buf_add_u64(&sk, t->seq);
		r = wb_get(st, CF_QUEUES, sk.data, sk.len, &old, &oldlen,
		    &code);
		if (r == -1)
			goto out;
		if (r == 1) {
			/* A resend: the entry is there already. */
			rocksdb_free(old);
			continue;
		}
		sk.len = sklen;
		if (wb_get_u64(st, CF_COUNTS, &sk, &qlen, NULL, &code) == -1)
			goto out;
		if (st->opts.max_offline > 0 && qlen >= st->opts.max_offline) {
			full[i] = true;
			(*nfull)++;
			st->st.drop_queue_full++;
			continue;
		}
		if ((code = store_qlen_add(st, &sk, 1, NULL)) != IPC_STORE_OK)
			goto out;
		buf_add_u64(&sk, t->seq);
		buf_reset(&val);
		enc_queue_val(&val, v->msg_id, t->qos, IPC_STORE_Q_QUEUED,
		    t->nsub_ids, t->sub_ids);
		wb_put(st, CF_QUEUES, &sk, val.data, val.len);
		added++;
	}
	if (added == 0)
		goto out;
	if (refs == 0) {
		buf_reset(&val);
		ipc_enc_store_body(&val, &v->body);
		wb_put(st, CF_MSGS, &mk, val.data, val.len);
		exp = v->body.expire_at;
		if (exp != 0) {
			key_exp(&ek, EXP_MSG, exp, &mk);
			wb_put(st, CF_EXPIRY, &ek, "", 0);
		}
		st->st.bodies_stored++;
	}
	buf_reset(&val);
	buf_add_u64(&val, refs + added);
	buf_add_u64(&val, exp);
	wb_put(st, CF_REFS, &mk, val.data, val.len);
	st->st.queued += added;
 out:
	buf_free(&mk);
	buf_free(&sk);
	buf_free(&val);
	buf_free(&ek);
	return (op_end(st, code, nops));
}

int
store_ack(struct store *st, const struct ipc_store_ack *v)
{
	struct buf		 sk = BUF_INIT;
	struct ipc_store_rec	 rec;
	size_t			 nops = st->nops, sklen;
	uint32_t		 i;
	char			*val;
	size_t			 vlen;
	int			 code = IPC_STORE_OK, r;

	op_begin(st);
	key_sess(&sk, v->s.owner, v->s.client_id);
	sklen = sk.len;
	for (i = 0; i < v->nseqs; i++) {
		sk.len = sklen;
		buf_add_u64(&sk, v->seqs[i]);
		r = wb_get(st, CF_QUEUES, sk.data, sk.len, &val, &vlen, &code);
		if (r == -1)
			goto out;
		if (r == 0)
			continue;	/* acked before: idempotent */
		memset(&rec, 0, sizeof(rec));
		r = dec_queue_val((const uint8_t *)val, vlen, &rec);
		rocksdb_free(val);
		wb_del(st, CF_QUEUES, sk.data, sk.len);
		sk.len = sklen;
		if ((code = store_qlen_add(st, &sk, -1, NULL)) != IPC_STORE_OK)
			goto out;
		st->st.acked++;
		if (r == 0 && (code = store_unref(st, v->s.owner,
		    rec.msg_id)) != IPC_STORE_OK)
			goto out;
	}
 out:
	buf_free(&sk);
	return (op_end(st, code, nops));
}

int
store_mark(struct store *st, const struct ipc_store_mark *v)
{
	struct buf		 sk = BUF_INIT, val = BUF_INIT;
	struct ipc_store_rec	 rec;
	size_t			 nops = st->nops, sklen, vlen;
	uint32_t		 i;
	char			*old;
	int			 code = IPC_STORE_OK, r;

	op_begin(st);
	key_sess(&sk, v->s.owner, v->s.client_id);
	sklen = sk.len;
	for (i = 0; i < v->n; i++) {
		sk.len = sklen;
		buf_add_u64(&sk, v->ents[i].seq);
		r = wb_get(st, CF_QUEUES, sk.data, sk.len, &old, &vlen, &code);
		if (r == -1)
			goto out;
		if (r == 0)
			continue;
		memset(&rec, 0, sizeof(rec));
		r = dec_queue_val((const uint8_t *)old, vlen, &rec);
		rocksdb_free(old);
		if (r == -1)
			continue;
		buf_reset(&val);
		enc_queue_val(&val, rec.msg_id, rec.qos, v->ents[i].state,
		    rec.nsub_ids, rec.sub_ids);
		wb_put(st, CF_QUEUES, &sk, val.data, val.len);
	}
 out:
	buf_free(&sk);
	buf_free(&val);
	return (op_end(st, code, nops));
}

/* Sessions and subscriptions */

/*
 * Collects the keys of cf from seek on that start with its first pfxlen
 * bytes (at most max, 0 = all) into out as u32-length blobs, from an
 * iterator over the batch and the database.  Keys are collected first and
 * changed after: a batch iterator must not outlive a change to its batch.
 * Returns the number, or -1 (*code set).
 */
static ssize_t
store_collect(struct store *st, enum store_cf cf, const struct buf *seek,
    size_t pfxlen, size_t max, struct buf *out, int *code)
{
	rocksdb_iterator_t	*it;
	const uint8_t		*k;
	size_t			 klen, n = 0;

	it = wb_iter(st, cf, seek);
	for (; (max == 0 || n < max) && rocksdb_iter_valid(it);
	    rocksdb_iter_next(it), n++) {
		k = (const uint8_t *)rocksdb_iter_key(it, &klen);
		if (klen < pfxlen ||
		    (pfxlen > 0 && memcmp(k, seek->data, pfxlen) != 0))
			break;
		buf_add_blob(out, k, klen);
	}
	*code = iter_error(st, it, "iterate");
	rocksdb_iter_destroy(it);
	return (*code == IPC_STORE_OK ? (ssize_t)n : -1);
}

/* Deletes every key of cf under prefix; unrefs bodies for queue keys. */
static int
store_del_prefix(struct store *st, enum store_cf cf, const struct buf *pfx,
    struct ipc_bytes owner)
{
	struct buf		 keys = BUF_INIT;
	struct ipc_store_rec	 rec;
	struct rbuf		 rb;
	const uint8_t		*k;
	char			*val;
	size_t			 klen, vlen;
	int			 code = IPC_STORE_OK, r;

	if (store_collect(st, cf, pfx, pfx->len, 0, &keys, &code) == -1)
		goto out;
	rbuf_init(&rb, keys.data, keys.len);
	while (rbuf_left(&rb) > 0 && code == IPC_STORE_OK) {
		k = rbuf_blob(&rb, &klen, SIZE_MAX);
		if (cf == CF_QUEUES) {
			r = wb_get(st, cf, k, klen, &val, &vlen, &code);
			if (r == -1)
				break;
			memset(&rec, 0, sizeof(rec));
			if (r == 1 && dec_queue_val((const uint8_t *)val, vlen,
			    &rec) == 0)
				code = store_unref(st, owner, rec.msg_id);
			if (r == 1)
				rocksdb_free(val);
		}
		wb_del(st, cf, k, klen);
	}
 out:
	buf_free(&keys);
	return (code);
}

/* Reads the stored session's expire_at (0 if none or no session). */
static int
store_session_exp(struct store *st, const struct buf *sk, uint64_t *exp,
    bool *exists)
{
	char	*val;
	size_t	 vlen;
	int	 code = IPC_STORE_OK, r;

	*exp = 0;
	*exists = false;
	if ((r = wb_get(st, CF_SESSIONS, sk->data, sk->len, &val, &vlen,
	    &code)) == -1)
		return (code);
	if (r == 1) {
		*exists = true;
		/* u8 proto, u8 flags, u32 interval, u64 expire_at, ... */
		if (vlen >= 14)
			*exp = be64_get((const uint8_t *)val + 6);
		rocksdb_free(val);
	}
	return (IPC_STORE_OK);
}

/* Deletes session sk with everything of it. */
static int
store_session_wipe(struct store *st, struct ipc_bytes owner,
    const struct buf *sk)
{
	struct buf	ek = BUF_INIT;
	uint64_t	exp;
	bool		exists;
	int		code;

	if ((code = store_session_exp(st, sk, &exp, &exists)) != IPC_STORE_OK)
		return (code);
	if (exp != 0) {
		key_exp(&ek, EXP_SESSION, exp, sk);
		wb_del(st, CF_EXPIRY, ek.data, ek.len);
		buf_free(&ek);
	}
	wb_del(st, CF_SESSIONS, sk->data, sk->len);
	wb_del(st, CF_WILLS, sk->data, sk->len);
	wb_del(st, CF_COUNTS, sk->data, sk->len);
	if ((code = store_del_prefix(st, CF_SUBS, sk, owner)) != IPC_STORE_OK)
		return (code);
	if ((code = store_del_prefix(st, CF_QUEUES, sk, owner)) !=
	    IPC_STORE_OK)
		return (code);
	return (store_del_prefix(st, CF_QOS2, sk, owner));
}

static void
store_put_subs(struct store *st, const struct buf *sk, uint32_t n,
    const struct ipc_store_sub *subs)
{
	struct buf	k = BUF_INIT;
	uint8_t		v[5];
	uint32_t	i;

	for (i = 0; i < n; i++) {
		buf_reset(&k);
		buf_add(&k, sk->data, sk->len);
		buf_add(&k, subs[i].filter.p, subs[i].filter.len);
		v[0] = subs[i].options;
		be32_put(v + 1, subs[i].sub_id);
		wb_put(st, CF_SUBS, &k, v, sizeof(v));
	}
	buf_free(&k);
}

int
store_session_put(struct store *st, const struct ipc_store_session *v)
{
	struct buf	sk = BUF_INIT, val = BUF_INIT, ek = BUF_INIT;
	size_t		nops = st->nops;
	uint64_t	oexp;
	bool		exists;
	int		code;

	if (v->s.owner.len > IPC_STORE_OWNER_MAX ||
	    v->s.client_id.len > IPC_STORE_CLIENT_MAX)
		return (IPC_STORE_E_INVALID);
	STORE_NEED_SPACE(st);
	op_begin(st);
	key_sess(&sk, v->s.owner, v->s.client_id);
	if ((code = store_session_exp(st, &sk, &oexp, &exists)) !=
	    IPC_STORE_OK)
		goto out;
	if (oexp != 0 && oexp != v->expire_at) {
		key_exp(&ek, EXP_SESSION, oexp, &sk);
		wb_del(st, CF_EXPIRY, ek.data, ek.len);
	}
	if (v->expire_at != 0) {
		buf_reset(&ek);
		key_exp(&ek, EXP_SESSION, v->expire_at, &sk);
		wb_put(st, CF_EXPIRY, &ek, "", 0);
	}
	buf_add_u8(&val, v->proto);
	buf_add_u8(&val, v->flags);
	buf_add_u32(&val, v->expiry_interval);
	buf_add_u64(&val, v->expire_at);
	buf_add_blob(&val, v->data.p, v->data.len);
	wb_put(st, CF_SESSIONS, &sk, val.data, val.len);
	if (v->replace_subs) {
		if ((code = store_del_prefix(st, CF_SUBS, &sk, v->s.owner)) !=
		    IPC_STORE_OK)
			goto out;
		store_put_subs(st, &sk, v->nsubs, v->subs);
	}
 out:
	buf_free(&sk);
	buf_free(&val);
	buf_free(&ek);
	return (op_end(st, code, nops));
}

int
store_session_del(struct store *st, const struct ipc_store_sess *s)
{
	struct buf	sk = BUF_INIT;
	size_t		nops = st->nops;
	int		code;

	op_begin(st);
	key_sess(&sk, s->owner, s->client_id);
	code = store_session_wipe(st, s->owner, &sk);
	buf_free(&sk);
	return (op_end(st, code, nops));
}

int
store_sub_put(struct store *st, const struct ipc_store_subs *v)
{
	struct buf	sk = BUF_INIT;

	STORE_NEED_SPACE(st);
	key_sess(&sk, v->s.owner, v->s.client_id);
	store_put_subs(st, &sk, v->nsubs, v->subs);
	buf_free(&sk);
	return (IPC_STORE_OK);
}

int
store_sub_del(struct store *st, const struct ipc_store_subs *v)
{
	struct buf	k = BUF_INIT;
	uint32_t	i;

	for (i = 0; i < v->nsubs; i++) {
		buf_reset(&k);
		key_sess(&k, v->s.owner, v->s.client_id);
		buf_add(&k, v->subs[i].filter.p, v->subs[i].filter.len);
		wb_del(st, CF_SUBS, k.data, k.len);
	}
	buf_free(&k);
	return (IPC_STORE_OK);
}

/* QoS 2 ids, retained, wills */

static int
store_qos2(struct store *st, const struct ipc_store_qos2 *v, bool put)
{
	struct buf	k = BUF_INIT;
	size_t		sklen;
	uint32_t	i;

	key_sess(&k, v->s.owner, v->s.client_id);
	sklen = k.len;
	for (i = 0; i < v->n; i++) {
		k.len = sklen;
		buf_add_u16(&k, v->pids[i]);
		if (put)
			wb_put(st, CF_QOS2, &k, "", 0);
		else
			wb_del(st, CF_QOS2, k.data, k.len);
	}
	buf_free(&k);
	return (IPC_STORE_OK);
}

int
store_qos2_put(struct store *st, const struct ipc_store_qos2 *v)
{
	STORE_NEED_SPACE(st);
	return (store_qos2(st, v, true));
}

int
store_qos2_del(struct store *st, const struct ipc_store_qos2 *v)
{
	return (store_qos2(st, v, false));
}

/* Drops the expiry index entry of the retained message on topic, if any. */
static int
store_retain_unindex(struct store *st, const struct buf *tk)
{
	struct buf	ek = BUF_INIT;
	char		*old;
	size_t		 olen;
	uint64_t	 exp;
	int		 code = IPC_STORE_OK, r;

	r = wb_get(st, CF_RETAINED, tk->data, tk->len, &old, &olen, &code);
	if (r != 1)
		return (code);
	/* Body: u8 qos, u8 flags, u64 expire_at, ... */
	exp = olen >= 10 ? be64_get((const uint8_t *)old + 2) : 0;
	rocksdb_free(old);
	if (exp != 0) {
		key_exp(&ek, EXP_RETAIN, exp, tk);
		wb_del(st, CF_EXPIRY, ek.data, ek.len);
		buf_free(&ek);
	}
	return (IPC_STORE_OK);
}

int
store_retain_put(struct store *st, const struct ipc_store_retain *v)
{
	struct buf	tk = BUF_INIT, val = BUF_INIT, ek = BUF_INIT;
	size_t		nops = st->nops;
	int		code;

	STORE_NEED_SPACE(st);
	op_begin(st);
	buf_add(&tk, v->body.topic.p, v->body.topic.len);
	if ((code = store_retain_unindex(st, &tk)) != IPC_STORE_OK)
		goto out;
	ipc_enc_store_body(&val, &v->body);
	wb_put(st, CF_RETAINED, &tk, val.data, val.len);
	if (v->body.expire_at != 0) {
		key_exp(&ek, EXP_RETAIN, v->body.expire_at, &tk);
		wb_put(st, CF_EXPIRY, &ek, "", 0);
	}
 out:
	buf_free(&tk);
	buf_free(&val);
	buf_free(&ek);
	return (op_end(st, code, nops));
}

int
store_retain_del(struct store *st, const struct ipc_store_retain *v)
{
	struct buf	tk = BUF_INIT;
	size_t		nops = st->nops;
	int		code;

	op_begin(st);
	buf_add(&tk, v->body.topic.p, v->body.topic.len);
	if ((code = store_retain_unindex(st, &tk)) == IPC_STORE_OK)
		wb_del(st, CF_RETAINED, tk.data, tk.len);
	buf_free(&tk);
	return (op_end(st, code, nops));
}

int
store_will_put(struct store *st, const struct ipc_store_will *v)
{
	struct buf	sk = BUF_INIT, val = BUF_INIT;

	STORE_NEED_SPACE(st);
	key_sess(&sk, v->s.owner, v->s.client_id);
	buf_add_u64(&val, v->due_at);
	ipc_enc_store_body(&val, &v->body);
	wb_put(st, CF_WILLS, &sk, val.data, val.len);
	buf_free(&sk);
	buf_free(&val);
	return (IPC_STORE_OK);
}

int
store_will_del(struct store *st, const struct ipc_store_sess *s)
{
	struct buf	sk = BUF_INIT;

	key_sess(&sk, s->owner, s->client_id);
	wb_del(st, CF_WILLS, sk.data, sk.len);
	buf_free(&sk);
	return (IPC_STORE_OK);
}

/* Expiry */

/* Handles one due expiry index key k (kind, at, rest). */
static int
store_expire_one(struct store *st, const uint8_t *k, size_t klen)
{
	struct ipc_bytes	owner, cid, rest;
	struct buf		rk = BUF_INIT;
	uint64_t		at = be64_get(k + 1), cur, refs;
	bool			exists;
	int			code = IPC_STORE_OK;

	buf_add(&rk, k + 9, klen - 9);
	switch (k[0]) {
	case EXP_SESSION:
		if ((code = store_session_exp(st, &rk, &cur, &exists)) !=
		    IPC_STORE_OK)
			break;
		if (exists && cur == at &&
		    key_sess_split(rk.data, rk.len, &owner, &cid, &rest) == 0) {
			code = store_session_wipe(st, owner, &rk);
			st->st.sessions_expired++;
		}
		break;
	case EXP_MSG:
		if (wb_get_u64(st, CF_REFS, &rk, &refs, &cur, &code) == -1)
			break;
		if (cur == at) {
			/*
			 * The queue entries that reference it stay until
			 * they are acked, loaded or found by the sweep's
			 * orphan scan; they are skipped from now on.
			 */
			wb_del(st, CF_REFS, rk.data, rk.len);
			wb_del(st, CF_MSGS, rk.data, rk.len);
			st->st.bodies_deleted++;
		}
		break;
	case EXP_RETAIN:
		if ((code = store_retain_unindex(st, &rk)) == IPC_STORE_OK)
			wb_del(st, CF_RETAINED, rk.data, rk.len);
		break;
	}
	wb_del(st, CF_EXPIRY, k, klen);
	buf_free(&rk);
	return (code);
}

/*
 * Deletes queue entries whose body is gone (expired), scanning at most max
 * entries from where the last scan stopped.
 */
static int
store_scan_orphans(struct store *st, size_t max, size_t *removed)
{
	struct ipc_store_rec	 rec;
	struct ipc_bytes	 owner, cid, rest;
	struct buf		 keys = BUF_INIT, mk = BUF_INIT;
	struct buf		 sk = BUF_INIT;
	struct rbuf		 rb;
	const uint8_t		*k;
	char			*val;
	size_t			 klen, vlen;
	uint64_t		 refs, exp;
	size_t			 i;
	int			 code = IPC_STORE_OK, r;

	/* One more than max: that one is where the next scan starts. */
	if ((store_collect(st, CF_QUEUES, &st->scan_key, 0, max + 1,
	    &keys, &code)) == -1)
		goto out;
	buf_reset(&st->scan_key);
	rbuf_init(&rb, keys.data, keys.len);
	for (i = 0; rbuf_left(&rb) > 0 && code == IPC_STORE_OK; i++) {
		k = rbuf_blob(&rb, &klen, SIZE_MAX);
		if (i == max) {
			/* The next scan starts here; at the end, from 0. */
			buf_add(&st->scan_key, k, klen);
			break;
		}
		if (key_sess_split(k, klen, &owner, &cid, &rest) == -1 ||
		    rest.len != 8)
			continue;
		if ((r = wb_get(st, CF_QUEUES, k, klen, &val, &vlen,
		    &code)) != 1)
			continue;
		memset(&rec, 0, sizeof(rec));
		r = dec_queue_val((const uint8_t *)val, vlen, &rec);
		rocksdb_free(val);
		if (r == -1)
			continue;
		buf_reset(&mk);
		key_msg(&mk, owner, rec.msg_id);
		if (wb_get_u64(st, CF_REFS, &mk, &refs, &exp, &code) == -1)
			break;
		if (refs > 0)
			continue;
		buf_reset(&sk);
		key_sess(&sk, owner, cid);
		wb_del(st, CF_QUEUES, k, klen);
		code = store_qlen_add(st, &sk, -1, NULL);
		(*removed)++;
	}
 out:
	buf_free(&keys);
	buf_free(&mk);
	buf_free(&sk);
	return (code);
}

int
store_sweep(struct store *st, size_t max)
{
	struct buf	 start = BUF_INIT, keys = BUF_INIT;
	struct rbuf	 rb;
	const uint8_t	*k;
	size_t		 klen, n = 0, orphans = 0;
	uint64_t	 now = store_now(st);
	uint8_t		 kinds[] = { EXP_MSG, EXP_RETAIN, EXP_SESSION };
	unsigned	 i;
	int		 code = IPC_STORE_OK;

	if (st->db == NULL || (st->broken && store_reopen(st) == -1))
		return (-1);
	for (i = 0; i < sizeof(kinds) && code == IPC_STORE_OK; i++) {
		buf_reset(&start);
		buf_reset(&keys);
		buf_add_u8(&start, kinds[i]);
		if (store_collect(st, CF_EXPIRY, &start, 1, max, &keys,
		    &code) == -1)
			break;
		rbuf_init(&rb, keys.data, keys.len);
		while (rbuf_left(&rb) > 0 && n < max) {
			k = rbuf_blob(&rb, &klen, SIZE_MAX);
			/* Index keys are in time order: stop at the first
			 * one not due. */
			if (klen < 9 || be64_get(k + 1) > now)
				break;
			if ((code = store_expire_one(st, k, klen)) !=
			    IPC_STORE_OK)
				break;
			n++;
		}
	}
	buf_free(&start);
	buf_free(&keys);
	if (code == IPC_STORE_OK)
		code = store_scan_orphans(st, max, &orphans);
	if (code == IPC_STORE_OK) {
		st->st.drop_expired += orphans;
		code = store_commit(st);
	} else
		store_commit(st);
	if (code != IPC_STORE_OK)
		return (-1);
	return ((int)(n + orphans));
}

/* LOAD */

struct store_load {
	struct store		*st;
	rocksdb_readoptions_t	*ro;
	struct ipc_bytes	 owner;
	struct buf		 pfx;
	store_load_cb		 cb;
	void			*arg;
	uint64_t		 now;
	size_t			 dropped;
};

static int
store_load_cf(struct store_load *ld, enum store_cf cf)
{
	struct store		*st = ld->st;
	rocksdb_iterator_t	*it;
	struct ipc_store_rec	 rec;
	struct ipc_bytes	 owner, cid, rest;
	struct buf		 mk = BUF_INIT, sk = BUF_INIT;
	const uint8_t		*k, *val;
	char			*body = NULL, *e = NULL;
	size_t			 klen, vlen, blen;
	struct rbuf		 rb;
	int			 rc = 0;

	it = rocksdb_create_iterator_cf(st->db, ld->ro, st->cf[cf]);
	if (cf == CF_RETAINED)
		rocksdb_iter_seek_to_first(it);
	else
		rocksdb_iter_seek(it, (const char *)ld->pfx.data, ld->pfx.len);
	for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
		k = (const uint8_t *)rocksdb_iter_key(it, &klen);
		val = (const uint8_t *)rocksdb_iter_value(it, &vlen);
		memset(&rec, 0, sizeof(rec));
		rbuf_init(&rb, val, vlen);
		if (cf == CF_RETAINED) {
			rec.kind = IPC_STORE_R_RETAIN;
			ipc_get_store_body(&rb, &rec.body);
			if (!rbuf_done(&rb))
				goto bad;
			if (rec.body.expire_at != 0 &&
			    rec.body.expire_at <= ld->now)
				continue;
			goto emit;
		}
		if (klen < ld->pfx.len ||
		    memcmp(k, ld->pfx.data, ld->pfx.len) != 0)
			break;
		if (key_sess_split(k, klen, &owner, &cid, &rest) == -1)
			goto bad;
		rec.client_id = cid;
		switch (cf) {
		case CF_SESSIONS:
			rec.kind = IPC_STORE_R_SESSION;
			rec.proto = rbuf_u8(&rb);
			rec.flags = rbuf_u8(&rb);
			rec.expiry_interval = rbuf_u32(&rb);
			rec.expire_at = rbuf_u64(&rb);
			rec.data.p = rbuf_blob(&rb, &rec.data.len,
			    IPC_STORE_DATA_MAX);
			if (!rbuf_done(&rb))
				goto bad;
			if (rec.expire_at != 0 && rec.expire_at <= ld->now)
				continue;	/* the sweep deletes it */
			break;
		case CF_SUBS:
			rec.kind = IPC_STORE_R_SUB;
			rec.sub.filter = rest;
			rec.sub.options = rbuf_u8(&rb);
			rec.sub.sub_id = rbuf_u32(&rb);
			if (!rbuf_done(&rb) || rest.len == 0)
				goto bad;
			break;
		case CF_QUEUES:
			rec.kind = IPC_STORE_R_QUEUE;
			if (rest.len != 8 || dec_queue_val(val, vlen, &rec))
				goto bad;
			rec.seq = be64_get(rest.p);
			buf_reset(&mk);
			key_msg(&mk, owner, rec.msg_id);
			rocksdb_free(body);
			body = rocksdb_get_cf(st->db, ld->ro, st->cf[CF_MSGS],
			    (const char *)mk.data, mk.len, &blen, &e);
			if (e != NULL) {
				store_err_code(st, "load", e);
				e = NULL;
				rc = -1;
				goto out;
			}
			if (body != NULL) {
				rbuf_init(&rb, body, blen);
				ipc_get_store_body(&rb, &rec.body);
				if (!rbuf_done(&rb))
					goto bad;
			}
			if (body == NULL || (rec.body.expire_at != 0 &&
			    rec.body.expire_at <= ld->now)) {
				/* Expired: drop the entry now. */
				wb_del(st, CF_QUEUES, k, klen);
				buf_reset(&sk);
				key_sess(&sk, owner, cid);
				store_qlen_add(st, &sk, -1, NULL);
				if (body != NULL)
					store_unref(st, owner, rec.msg_id);
				ld->dropped++;
				continue;
			}
			break;
		case CF_QOS2:
			rec.kind = IPC_STORE_R_QOS2;
			if (rest.len != 2)
				goto bad;
			rec.pid = be16_get(rest.p);
			break;
		case CF_WILLS:
			rec.kind = IPC_STORE_R_WILL;
			rec.due_at = rbuf_u64(&rb);
			ipc_get_store_body(&rb, &rec.body);
			if (!rbuf_done(&rb))
				goto bad;
			break;
		default:
			continue;
		}
 emit:
		if (ld->cb(&rec, ld->arg) == -1) {
			rc = -1;
			goto out;
		}
		continue;
 bad:
		/* Never crash on bad bytes: report and skip the record. */
		log_warnx("store: load: skipped a malformed %s record",
		    store_cf_names[cf]);
	}
	if (iter_error(st, it, "load") != IPC_STORE_OK)
		rc = -1;
 out:
	rocksdb_free(body);
	rocksdb_iter_destroy(it);
	buf_free(&mk);
	buf_free(&sk);
	return (rc);
}

int
store_load(struct store *st, struct ipc_bytes owner, struct ipc_bytes cid,
    uint32_t what, store_load_cb cb, void *arg)
{
	const rocksdb_snapshot_t	*snap;
	struct store_load		 ld;
	int				 rc = 0;

	if (st->db == NULL || (st->broken && store_reopen(st) == -1))
		return (-1);
	if (what == 0)
		what = ~0U;
	memset(&ld, 0, sizeof(ld));
	ld.st = st;
	ld.owner = owner;
	ld.cb = cb;
	ld.arg = arg;
	ld.now = store_now(st);
	/*
	 * Every session-scoped key starts with SK, whose lengths make it an
	 * exact prefix: "ab" never matches the keys of "abc".
	 */
	if (cid.len > 0)
		key_sess(&ld.pfx, owner, cid);
	else
		key_owner(&ld.pfx, owner);
	/* Pending changes first, so the snapshot holds them. */
	if (store_commit(st) != IPC_STORE_OK) {
		buf_free(&ld.pfx);
		return (-1);
	}
	snap = rocksdb_create_snapshot(st->db);
	ld.ro = rocksdb_readoptions_create();
	rocksdb_readoptions_set_snapshot(ld.ro, snap);
	if (rc == 0 && (what & IPC_STORE_L_SESSIONS))
		rc = store_load_cf(&ld, CF_SESSIONS);
	if (rc == 0 && (what & IPC_STORE_L_SESSIONS))
		rc = store_load_cf(&ld, CF_SUBS);
	if (rc == 0 && (what & IPC_STORE_L_QUEUES))
		rc = store_load_cf(&ld, CF_QUEUES);
	if (rc == 0 && (what & IPC_STORE_L_QOS2))
		rc = store_load_cf(&ld, CF_QOS2);
	if (rc == 0 && (what & IPC_STORE_L_RETAINED) && owner.len == 0 &&
	    cid.len == 0)
		rc = store_load_cf(&ld, CF_RETAINED);
	if (rc == 0 && (what & IPC_STORE_L_WILLS))
		rc = store_load_cf(&ld, CF_WILLS);
	rocksdb_readoptions_destroy(ld.ro);
	rocksdb_release_snapshot(st->db, snap);
	buf_free(&ld.pfx);
	st->st.drop_expired += ld.dropped;
	/* The deletions of expired entries found while loading. */
	if (store_commit(st) != IPC_STORE_OK)
		rc = -1;
	return (rc);
}

/* Statistics */

static uint64_t
store_prop_u64(struct store *st, enum store_cf cf, const char *name)
{
	char		*v;
	uint64_t	 n = 0;

	if (st->db == NULL)
		return (0);
	if ((v = rocksdb_property_value_cf(st->db, st->cf[cf], name)) != NULL) {
		n = strtoull(v, NULL, 10);
		rocksdb_free(v);
	}
	return (n);
}

static uint64_t
store_du(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	char		 path[4096];
	uint64_t	 n = 0;

	if ((d = opendir(dir)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			n += (uint64_t)sb.st_blocks * 512;
	}
	closedir(d);
	return (n);
}

void
store_get_stats(struct store *st, struct store_stats *s)
{
	struct statvfs	vfs;
	const char	*p = "rocksdb.estimate-num-keys";

	*s = st->st;
	s->est_sessions = store_prop_u64(st, CF_SESSIONS, p);
	s->est_subs = store_prop_u64(st, CF_SUBS, p);
	s->est_queue = store_prop_u64(st, CF_QUEUES, p);
	s->est_bodies = store_prop_u64(st, CF_MSGS, p);
	s->est_retained = store_prop_u64(st, CF_RETAINED, p);
	s->disk_bytes = store_du(st->dir);
	if (statvfs(st->dir, &vfs) == 0)
		s->disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

int64_t
store_count(struct store *st, const char *cf)
{
	rocksdb_iterator_t	*it;
	int64_t			 n = 0;
	int			 i;

	for (i = 0; i < CF_N; i++)
		if (strcmp(store_cf_names[i], cf) == 0)
			break;
	if (i == CF_N || st->db == NULL)
		return (-1);
	it = rocksdb_create_iterator_cf(st->db, st->ropts, st->cf[i]);
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
	    rocksdb_iter_next(it))
		n++;
	rocksdb_iter_destroy(it);
	return (n);
}

const char *
store_last_error(const struct store *st)
{
	return (st->last_error);
}

void
store_set_max_offline(struct store *st, uint64_t max)
{
	st->opts.max_offline = max;
}
