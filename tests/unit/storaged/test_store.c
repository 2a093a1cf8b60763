/* SPDX-License-Identifier: MIT */
/* Unit tests of storaged's store (storaged/store_rocks.c) on temporary
 * databases: queue order, acks and shared bodies, limits, expiry with an
 * injected clock, schema checks, reopen, group commit and LOAD of one
 * session. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rocksdb/c.h>

#include "common/xmalloc.h"
#include "storaged/storaged.h"
#include "tests/unit/unit.h"

#define B(s)	ipc_bytes_str(s)

static uint64_t	 fake_now = 1700000000000ULL;
static char	 tmpdir[256];
static char	 dbdir[300];

static uint64_t
fake_clock(void *arg)
{
	return (fake_now);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	return (remove(path));
}

static void
mk_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_store.XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmpdir));
	snprintf(dbdir, sizeof(dbdir), "%s/store", tmpdir);
}

static void
rm_tmp(void)
{
	nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static struct store *
open_store(uint64_t max_offline)
{
	struct store_opts	o = { 0 };
	struct store		*st;
	char			err[1024];

	o.sync_always = true;
	o.max_offline = max_offline;
	o.clock = fake_clock;
	st = store_open(dbdir, &o, err, sizeof(err));
	if (st == NULL)
		fprintf(stderr, "open: %s\n", err);
	return (st);
}

/* One append of msg_id to (owner "", cid, seq). */
static int
append1(struct store *st, uint64_t msg_id, const char *cid, uint64_t seq,
    const char *payload, uint64_t expire_at, bool *was_full)
{
	struct ipc_store_append	a = { 0 };
	struct ipc_store_target	t = { 0 };
	bool			full = false;
	uint32_t		nfull;
	int			rc;

	a.msg_id = msg_id;
	a.body.qos = 1;
	a.body.topic = B("t/x");
	a.body.payload = B(payload);
	a.body.expire_at = expire_at;
	t.client_id = B(cid);
	t.seq = seq;
	t.qos = 1;
	a.ntargets = 1;
	a.targets = &t;
	rc = store_append(st, &a, &full, &nfull);
	if (was_full != NULL)
		*was_full = full;
	return (rc);
}

static int
ack1(struct store *st, const char *cid, uint64_t seq)
{
	struct ipc_store_ack	a = { 0 };

	a.s.client_id = B(cid);
	a.nseqs = 1;
	a.seqs = &seq;
	return (store_ack(st, &a));
}

/* What a LOAD returned, copied out. */
struct lrec {
	uint8_t		kind;
	char		cid[64];
	char		text[64];	/* payload, filter or topic */
	uint64_t	seq;
	uint64_t	msg_id;
	uint8_t		state;
	uint16_t	pid;
	uint64_t	due_at;
};

struct lres {
	struct lrec	*r;
	size_t		 n;
};

static void
cp(char *dst, size_t dlen, struct ipc_bytes b)
{
	snprintf(dst, dlen, "%.*s", (int)b.len, (const char *)b.p);
}

static int
load_cb(const struct ipc_store_rec *rec, void *arg)
{
	struct lres	*lr = arg;
	struct lrec	*r;

	lr->r = xreallocarray(lr->r, lr->n + 1, sizeof(*lr->r));
	r = &lr->r[lr->n++];
	memset(r, 0, sizeof(*r));
	r->kind = rec->kind;
	cp(r->cid, sizeof(r->cid), rec->client_id);
	if (rec->kind == IPC_STORE_R_SUB)
		cp(r->text, sizeof(r->text), rec->sub.filter);
	else if (rec->kind == IPC_STORE_R_RETAIN)
		cp(r->text, sizeof(r->text), rec->body.topic);
	else
		cp(r->text, sizeof(r->text), rec->body.payload);
	r->seq = rec->seq;
	r->msg_id = rec->msg_id;
	r->state = rec->state;
	r->pid = rec->pid;
	r->due_at = rec->due_at;
	return (0);
}

static struct lres
load(struct store *st, const char *owner)
{
	struct lres	lr = { NULL, 0 };

	CU_ASSERT_EQUAL(store_load(st, B(owner), B(""), 0, load_cb, &lr), 0);
	return (lr);
}

/* LOAD of one session (cid) of owner. */
static struct lres
load_one(struct store *st, const char *owner, const char *cid)
{
	struct lres	lr = { NULL, 0 };

	CU_ASSERT_EQUAL(store_load(st, B(owner), B(cid), 0, load_cb, &lr),
	    0);
	return (lr);
}

static size_t
count_kind(const struct lres *lr, uint8_t kind)
{
	size_t	i, n = 0;

	for (i = 0; i < lr->n; i++)
		if (lr->r[i].kind == kind)
			n++;
	return (n);
}

static void
test_queue_order(void)
{
	struct store	*st;
	struct lres	 lr;
	uint64_t	 seqs[] = { 65536, 1, 300, 2, 256, 1ULL << 33 };
	uint64_t	 want[] = { 1, 2, 256, 300, 65536, 1ULL << 33 };
	char		 pl[32];
	size_t		 i;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	/* Appended out of order: the queue is in seq order. */
	for (i = 0; i < 6; i++) {
		snprintf(pl, sizeof(pl), "m%llu", (unsigned long long)seqs[i]);
		CU_ASSERT_EQUAL(append1(st, 100 + i, "c1", seqs[i], pl, 0,
		    NULL), IPC_STORE_OK);
	}
	/* Another session's queue does not mix in. */
	CU_ASSERT_EQUAL(append1(st, 200, "c0", 5, "other", 0, NULL), 0);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	lr = load(st, "");
	CU_ASSERT_EQUAL_FATAL(count_kind(&lr, IPC_STORE_R_QUEUE), 7);
	CU_ASSERT_STRING_EQUAL(lr.r[0].cid, "c0");
	for (i = 0; i < 6; i++) {
		CU_ASSERT_STRING_EQUAL(lr.r[i + 1].cid, "c1");
		CU_ASSERT_EQUAL(lr.r[i + 1].seq, want[i]);
		snprintf(pl, sizeof(pl), "m%llu", (unsigned long long)want[i]);
		CU_ASSERT_STRING_EQUAL(lr.r[i + 1].text, pl);
	}
	free(lr.r);
	/* Another owner's (replica) queue is separate. */
	lr = load(st, "tern@other");
	CU_ASSERT_EQUAL(lr.n, 0);
	free(lr.r);
	store_close(st);
	rm_tmp();
}

static void
test_ack_and_refcount(void)
{
	struct ipc_store_append	 a = { 0 };
	struct ipc_store_target	 t[3];
	struct store		*st;
	struct lres		 lr;
	bool			 full[3];
	uint32_t		 nfull;
	int			 i;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	memset(t, 0, sizeof(t));
	a.msg_id = 7;
	a.body.topic = B("t");
	a.body.payload = B("shared");
	for (i = 0; i < 3; i++) {
		t[i].client_id = B(i == 0 ? "a" : i == 1 ? "b" : "c");
		t[i].seq = 10;
	}
	a.ntargets = 3;
	a.targets = t;
	CU_ASSERT_EQUAL(store_append(st, &a, full, &nfull), IPC_STORE_OK);
	CU_ASSERT_EQUAL(nfull, 0);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 1);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 3);
	/* A resend of the same append changes nothing. */
	CU_ASSERT_EQUAL(store_append(st, &a, full, &nfull), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 3);

	CU_ASSERT_EQUAL(ack1(st, "a", 10), IPC_STORE_OK);
	CU_ASSERT_EQUAL(ack1(st, "b", 10), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 1);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 1);
	/* Acking twice is harmless. */
	CU_ASSERT_EQUAL(ack1(st, "b", 10), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 1);
	lr = load(st, "");
	CU_ASSERT_EQUAL_FATAL(lr.n, 1);
	CU_ASSERT_STRING_EQUAL(lr.r[0].cid, "c");
	CU_ASSERT_STRING_EQUAL(lr.r[0].text, "shared");
	free(lr.r);
	/* The last ack deletes the body, its counter and queue length. */
	CU_ASSERT_EQUAL(ack1(st, "c", 10), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 0);
	CU_ASSERT_EQUAL(store_count(st, "refs"), 0);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 0);
	CU_ASSERT_EQUAL(store_count(st, "counts"), 0);
	store_close(st);
	rm_tmp();
}

static void
test_fanout_10000(void)
{
	struct ipc_store_append	 a = { 0 };
	struct ipc_store_target	*t;
	struct ipc_store_ack	 ack = { 0 };
	struct store_stats	 s0, s1;
	struct store		*st;
	char			(*cids)[16];
	bool			*full;
	uint32_t		 nfull, i, n = 10000;
	uint64_t		 seq = 1;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(1000));
	t = xcalloc(n, sizeof(*t));
	cids = xcalloc(n, sizeof(*cids));
	full = xcalloc(n, sizeof(*full));
	for (i = 0; i < n; i++) {
		snprintf(cids[i], sizeof(cids[i]), "sub-%05u", i);
		t[i].client_id = B(cids[i]);
		t[i].seq = seq;
		t[i].qos = 1;
	}
	a.msg_id = 42;
	a.body.topic = B("big/fanout");
	a.body.payload = B("a payload stored once");
	a.ntargets = n;
	a.targets = t;
	store_get_stats(st, &s0);
	CU_ASSERT_EQUAL(store_append(st, &a, full, &nfull), IPC_STORE_OK);
	CU_ASSERT_EQUAL(nfull, 0);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	store_get_stats(st, &s1);
	/* One write, one body, 10,000 small entries. */
	CU_ASSERT_EQUAL(s1.commits - s0.commits, 1);
	CU_ASSERT_EQUAL(s1.bodies_stored - s0.bodies_stored, 1);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 1);
	CU_ASSERT_EQUAL(store_count(st, "queues"), n);
	/* Acks of all but one leave the body. */
	ack.nseqs = 1;
	ack.seqs = &seq;
	for (i = 0; i < n - 1; i++) {
		ack.s.client_id = t[i].client_id;
		CU_ASSERT_EQUAL_FATAL(store_ack(st, &ack), IPC_STORE_OK);
	}
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 1);
	ack.s.client_id = t[n - 1].client_id;
	CU_ASSERT_EQUAL(store_ack(st, &ack), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 0);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 0);
	free(t);
	free(cids);
	free(full);
	store_close(st);
	rm_tmp();
}

static void
test_queue_limit(void)
{
	struct store		*st;
	struct store_stats	 s;
	bool			 full;
	uint64_t		 i;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(3));
	/* The limit holds inside one batch too (read-your-writes). */
	for (i = 1; i <= 5; i++) {
		CU_ASSERT_EQUAL(append1(st, i, "c", i, "p", 0, &full),
		    IPC_STORE_OK);
		CU_ASSERT_EQUAL(full, i > 3);
	}
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 3);
	/* Refused appends stored no body. */
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 3);
	store_get_stats(st, &s);
	CU_ASSERT_EQUAL(s.drop_queue_full, 2);
	/* Other sessions are not affected. */
	CU_ASSERT_EQUAL(append1(st, 9, "d", 1, "p", 0, &full), 0);
	CU_ASSERT_FALSE(full);
	/* After an ack there is room again. */
	CU_ASSERT_EQUAL(ack1(st, "c", 1), IPC_STORE_OK);
	CU_ASSERT_EQUAL(append1(st, 6, "c", 6, "p", 0, &full), 0);
	CU_ASSERT_FALSE(full);
	CU_ASSERT_EQUAL(append1(st, 7, "c", 7, "p", 0, &full), 0);
	CU_ASSERT_TRUE(full);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	store_close(st);
	/* The queue length survives a restart. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(3));
	CU_ASSERT_EQUAL(append1(st, 8, "c", 8, "p", 0, &full), 0);
	CU_ASSERT_TRUE(full);
	store_close(st);
	rm_tmp();
}

static void
test_mark_and_qos2(void)
{
	struct ipc_store_mark_ent	 ent = { 2, IPC_STORE_Q_PUBREC };
	struct ipc_store_mark		 m = { 0 };
	struct ipc_store_qos2		 q = { 0 };
	uint16_t			 pids[3] = { 1, 500, 65535 };
	struct store			*st;
	struct lres			 lr;
	size_t				 i;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	append1(st, 1, "c", 1, "one", 0, NULL);
	append1(st, 2, "c", 2, "two", 0, NULL);
	m.s.client_id = B("c");
	m.n = 1;
	m.ents = &ent;
	CU_ASSERT_EQUAL(store_mark(st, &m), IPC_STORE_OK);
	q.s.client_id = B("c");
	q.n = 3;
	q.pids = pids;
	CU_ASSERT_EQUAL(store_qos2_put(st, &q), IPC_STORE_OK);
	q.n = 1;
	q.pids = &pids[1];
	CU_ASSERT_EQUAL(store_qos2_del(st, &q), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	lr = load(st, "");
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_QUEUE), 2);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_QOS2), 2);
	for (i = 0; i < lr.n; i++) {
		if (lr.r[i].kind == IPC_STORE_R_QUEUE)
			CU_ASSERT_EQUAL(lr.r[i].state, lr.r[i].seq == 2 ?
			    IPC_STORE_Q_PUBREC : IPC_STORE_Q_QUEUED);
		if (lr.r[i].kind == IPC_STORE_R_QOS2)
			CU_ASSERT_TRUE(lr.r[i].pid == 1 ||
			    lr.r[i].pid == 65535);
	}
	free(lr.r);
	store_close(st);
	rm_tmp();
}

static void
put_session(struct store *st, const char *cid, uint64_t expire_at,
    const char *filter)
{
	struct ipc_store_sub		sub = { 0 };
	struct ipc_store_session	s = { 0 };

	s.s.client_id = B(cid);
	s.proto = 5;
	s.expiry_interval = 60;
	s.expire_at = expire_at;
	s.replace_subs = true;
	if (filter != NULL) {
		sub.filter = B(filter);
		sub.options = 1;
		s.nsubs = 1;
		s.subs = &sub;
	}
	CU_ASSERT_EQUAL(store_session_put(st, &s), IPC_STORE_OK);
}

static void
test_reopen_keeps_everything(void)
{
	struct ipc_store_retain	 r = { 0 };
	struct ipc_store_will	 w = { 0 };
	struct ipc_store_qos2	 q = { 0 };
	uint16_t		 pid = 9;
	struct store		*st;
	struct lres		 lr;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	put_session(st, "s1", 0, "a/#");
	put_session(st, "s2", 0, NULL);
	append1(st, 1, "s1", 1, "q1", 0, NULL);
	append1(st, 2, "s1", 2, "q2", 0, NULL);
	r.body.topic = B("ret/1");
	r.body.payload = B("rv");
	CU_ASSERT_EQUAL(store_retain_put(st, &r), IPC_STORE_OK);
	w.s.client_id = B("s2");
	w.due_at = fake_now + 5000;
	w.body.topic = B("will/s2");
	w.body.payload = B("bye");
	CU_ASSERT_EQUAL(store_will_put(st, &w), IPC_STORE_OK);
	q.s.client_id = B("s1");
	q.n = 1;
	q.pids = &pid;
	CU_ASSERT_EQUAL(store_qos2_put(st, &q), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	store_close(st);

	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	lr = load(st, "");
	/* sessions, subs, queue, qos2, retained, wills: in that order. */
	CU_ASSERT_EQUAL_FATAL(lr.n, 8);
	CU_ASSERT_EQUAL(lr.r[0].kind, IPC_STORE_R_SESSION);
	CU_ASSERT_STRING_EQUAL(lr.r[0].cid, "s1");
	CU_ASSERT_EQUAL(lr.r[1].kind, IPC_STORE_R_SESSION);
	CU_ASSERT_EQUAL(lr.r[2].kind, IPC_STORE_R_SUB);
	CU_ASSERT_STRING_EQUAL(lr.r[2].text, "a/#");
	CU_ASSERT_EQUAL(lr.r[3].kind, IPC_STORE_R_QUEUE);
	CU_ASSERT_STRING_EQUAL(lr.r[3].text, "q1");
	CU_ASSERT_EQUAL(lr.r[4].kind, IPC_STORE_R_QUEUE);
	CU_ASSERT_STRING_EQUAL(lr.r[4].text, "q2");
	CU_ASSERT_EQUAL(lr.r[5].kind, IPC_STORE_R_QOS2);
	CU_ASSERT_EQUAL(lr.r[5].pid, 9);
	CU_ASSERT_EQUAL(lr.r[6].kind, IPC_STORE_R_RETAIN);
	CU_ASSERT_STRING_EQUAL(lr.r[6].text, "ret/1");
	CU_ASSERT_EQUAL(lr.r[7].kind, IPC_STORE_R_WILL);
	CU_ASSERT_STRING_EQUAL(lr.r[7].text, "bye");
	CU_ASSERT_EQUAL(lr.r[7].due_at, fake_now + 5000);
	free(lr.r);

	/* Replacing subscriptions drops the old ones. */
	put_session(st, "s1", 0, "b/+");
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "subs"), 1);
	/* Deleting a session takes everything of it. */
	CU_ASSERT_EQUAL(store_session_del(st, &q.s), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "sessions"), 1);
	CU_ASSERT_EQUAL(store_count(st, "subs"), 0);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 0);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 0);
	CU_ASSERT_EQUAL(store_count(st, "qos2_in"), 0);
	CU_ASSERT_EQUAL(store_count(st, "counts"), 0);
	CU_ASSERT_EQUAL(store_retain_del(st, &r), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_will_del(st, &w.s), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "retained"), 0);
	CU_ASSERT_EQUAL(store_count(st, "wills"), 0);
	store_close(st);
	rm_tmp();
}

static void
test_expiry(void)
{
	struct ipc_store_retain	 r = { 0 };
	struct store		*st;
	struct store_stats	 s;
	struct lres		 lr;
	uint64_t		 t0 = fake_now;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	/* A session that expires at t0+10s with a queued message. */
	put_session(st, "gone", t0 + 10000, "x");
	append1(st, 1, "gone", 1, "q", 0, NULL);
	/* A session that stays, with one message expiring at t0+5s, one
	 * never, and one already expired. */
	put_session(st, "stays", 0, NULL);
	append1(st, 2, "stays", 1, "short", t0 + 5000, NULL);
	append1(st, 3, "stays", 2, "long", 0, NULL);
	append1(st, 4, "stays", 3, "dead", t0 - 1, NULL);
	r.body.topic = B("ret/exp");
	r.body.expire_at = t0 + 5000;
	store_retain_put(st, &r);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 3);
	CU_ASSERT_EQUAL(store_sweep(st, 1000), 0);

	/* Restart in between: expiry is kept on disk. */
	store_close(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));

	/* t0+6s: the short message and retained message are gone; at read
	 * time first (LOAD skips and deletes), then by the sweep. */
	fake_now = t0 + 6000;
	lr = load(st, "");
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_QUEUE), 2);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_RETAIN), 0);
	free(lr.r);
	CU_ASSERT_EQUAL(store_sweep(st, 1000), 1);	/* the retained one */
	CU_ASSERT_EQUAL(store_count(st, "queues"), 2);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 2);
	CU_ASSERT_EQUAL(store_count(st, "retained"), 0);
	CU_ASSERT_EQUAL(store_count(st, "sessions"), 2);

	/* Changing a session's expiry moves it: the old time is void. */
	put_session(st, "gone", t0 + 20000, "x");
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	fake_now = t0 + 11000;
	store_sweep(st, 1000);
	CU_ASSERT_EQUAL(store_count(st, "sessions"), 2);

	/* t0+21s: the session goes with its queue and body. */
	fake_now = t0 + 21000;
	CU_ASSERT_TRUE(store_sweep(st, 1000) >= 1);
	CU_ASSERT_EQUAL(store_count(st, "sessions"), 1);
	CU_ASSERT_EQUAL(store_count(st, "subs"), 0);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 1);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 1);
	CU_ASSERT_EQUAL(store_count(st, "expiry"), 0);
	store_get_stats(st, &s);
	CU_ASSERT_EQUAL(s.sessions_expired, 1);
	lr = load(st, "");
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_QUEUE), 1);
	CU_ASSERT_STRING_EQUAL(lr.r[lr.n - 1].text, "long");
	free(lr.r);
	store_close(st);
	fake_now = t0;
	rm_tmp();
}

static void
test_orphan_scan(void)
{
	struct store	*st;
	uint64_t	 t0 = fake_now, i;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	for (i = 1; i <= 50; i++)
		append1(st, i, "c", i, "p", i % 2 ? t0 + 1000 : 0, NULL);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	fake_now = t0 + 2000;
	/* A small scan budget: several sweeps walk the whole queue CF. */
	for (i = 0; i < 20; i++)
		store_sweep(st, 10);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 25);
	CU_ASSERT_EQUAL(store_count(st, "msgs"), 25);
	fake_now = t0;
	store_close(st);
	rm_tmp();
}

static void
test_group_commit(void)
{
	struct store		*st;
	struct store_stats	 s0, s1;
	struct lres		 lr;
	char			 cid[16];
	uint64_t		 i;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	store_get_stats(st, &s0);
	/* 1,000 requests from 10 sessions, one write. */
	for (i = 0; i < 1000; i++) {
		snprintf(cid, sizeof(cid), "c%llu",
		    (unsigned long long)(i % 10));
		CU_ASSERT_EQUAL_FATAL(append1(st, i + 1, cid, i / 10 + 1, "p",
		    0, NULL), IPC_STORE_OK);
	}
	CU_ASSERT_TRUE(store_pending(st) >= 1000);
	/* Nothing is visible to a reader before the commit. */
	CU_ASSERT_EQUAL(store_count(st, "queues"), 0);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_pending(st), 0);
	store_get_stats(st, &s1);
	CU_ASSERT_EQUAL(s1.commits - s0.commits, 1);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 1000);
	lr = load(st, "");
	CU_ASSERT_EQUAL(lr.n, 1000);
	/* c0's queue: seq 1..100 in order. */
	for (i = 0; i < 100 && i < lr.n; i++)
		CU_ASSERT_EQUAL(lr.r[i].seq, i + 1);
	free(lr.r);
	store_close(st);
	rm_tmp();
}

static void
test_low_space(void)
{
	struct store_opts	 o = { 0 };
	struct store_stats	 s;
	struct store		*st;
	char			 err[1024];

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	append1(st, 1, "c", 1, "p", 0, NULL);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	store_close(st);
	/* No file system has this much free: new data is refused, but
	 * acks (which free space) go through. */
	o.sync_always = true;
	o.min_free = UINT64_MAX / 2;
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = store_open(dbdir, &o, err,
	    sizeof(err)));
	CU_ASSERT_EQUAL(append1(st, 2, "c", 2, "p", 0, NULL),
	    IPC_STORE_E_NOSPACE);
	{
		struct ipc_store_session	ss = { 0 };

		ss.s.client_id = B("x");
		CU_ASSERT_EQUAL(store_session_put(st, &ss),
		    IPC_STORE_E_NOSPACE);
	}
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "sessions"), 0);
	CU_ASSERT_EQUAL(ack1(st, "c", 1), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_count(st, "queues"), 0);
	store_get_stats(st, &s);
	CU_ASSERT_TRUE(s.nospace_errors >= 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(store_last_error(st), "free space"));
	store_close(st);
	rm_tmp();
}

/* Creates a RocksDB database at dbdir with the given column families. */
static void
make_foreign(bool with_meta, uint32_t version)
{
	rocksdb_options_t		*o = rocksdb_options_create();
	rocksdb_writeoptions_t		*wo;
	rocksdb_column_family_handle_t	*h[2];
	const char			*names[2] = { "default", "meta" };
	const rocksdb_options_t		*opts[2] = { o, o };
	rocksdb_t			*db;
	char				*err = NULL, val[32];

	wo = rocksdb_writeoptions_create();
	rocksdb_options_set_create_if_missing(o, 1);
	rocksdb_options_set_create_missing_column_families(o, 1);
	db = rocksdb_open_column_families(o, dbdir, with_meta ? 2 : 1, names,
	    opts, h, &err);
	CU_ASSERT_PTR_NULL_FATAL(err);
	rocksdb_put_cf(db, wo, h[0], "k", 1, "v", 1, &err);
	if (with_meta) {
		memcpy(val, "tern-storaged", 13);
		val[13] = (char)(version >> 24);
		val[14] = (char)(version >> 16);
		val[15] = (char)(version >> 8);
		val[16] = (char)version;
		rocksdb_put_cf(db, wo, h[1], "schema", 6, val, 17, &err);
		rocksdb_column_family_handle_destroy(h[1]);
	}
	rocksdb_column_family_handle_destroy(h[0]);
	rocksdb_close(db);
	rocksdb_writeoptions_destroy(wo);
	rocksdb_options_destroy(o);
}

static void
expect_refused(const char *why)
{
	struct store_opts	o = { 0 };
	char			err[1024] = "";

	CU_ASSERT_PTR_NULL(store_open(dbdir, &o, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, why));
	if (strstr(err, why) == NULL)
		fprintf(stderr, "unexpected error: %s\n", err);
}

static void
test_schema_checks(void)
{
	struct store	*st;
	char		 path[400];
	int		 fd;

	/* No meta column family: foreign. */
	mk_tmp();
	make_foreign(false, 0);
	expect_refused("not a Tern store");
	rm_tmp();

	/* A newer schema version. */
	mk_tmp();
	make_foreign(true, STORE_SCHEMA_VERSION + 1);
	expect_refused("newer than this storaged");
	rm_tmp();

	/* The current version opens. */
	mk_tmp();
	make_foreign(true, STORE_SCHEMA_VERSION);
	CU_ASSERT_PTR_NOT_NULL(st = open_store(0));
	store_close(st);
	rm_tmp();

	/* Files but no database. */
	mk_tmp();
	mkdir(dbdir, 0700);
	snprintf(path, sizeof(path), "%s/junk", dbdir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_TRUE(write(fd, "x", 1) == 1);
	close(fd);
	expect_refused("no RocksDB database");
	rm_tmp();

	/* A corrupt database: CURRENT names a manifest that is garbage. */
	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	append1(st, 1, "c", 1, "p", 0, NULL);
	store_commit(st);
	store_close(st);
	snprintf(path, sizeof(path), "%s/CURRENT", dbdir);
	fd = open(path, O_TRUNC | O_WRONLY);
	CU_ASSERT_TRUE(write(fd, "MANIFEST-999999\n", 16) == 16);
	close(fd);
	expect_refused("store: ");
	rm_tmp();
}

/* A session of owner with one subscription, a QoS 2 id and a will. */
static void
put_owned(struct store *st, const char *owner, const char *cid,
    const char *filter, uint16_t pid)
{
	struct ipc_store_sub		sub = { 0 };
	struct ipc_store_session	s = { 0 };
	struct ipc_store_qos2		q = { 0 };
	struct ipc_store_will		w = { 0 };

	s.s.owner = B(owner);
	s.s.client_id = B(cid);
	s.proto = 5;
	s.expiry_interval = 60;
	s.replace_subs = true;
	sub.filter = B(filter);
	s.nsubs = 1;
	s.subs = &sub;
	CU_ASSERT_EQUAL(store_session_put(st, &s), IPC_STORE_OK);
	q.s = s.s;
	q.n = 1;
	q.pids = &pid;
	CU_ASSERT_EQUAL(store_qos2_put(st, &q), IPC_STORE_OK);
	w.s = s.s;
	w.due_at = pid;
	w.body.topic = B("will/t");
	w.body.payload = B(cid);
	CU_ASSERT_EQUAL(store_will_put(st, &w), IPC_STORE_OK);
}

/* One body of owner to the queues of "ab" and "abc". */
static void
append_owned(struct store *st, const char *owner, uint64_t msg_id,
    uint64_t seq, const char *payload)
{
	struct ipc_store_append	a = { 0 };
	struct ipc_store_target	t[2] = { { { 0 }, 0, 0, 0, { 0 } } };
	bool			full[2];
	uint32_t		nfull;

	a.owner = B(owner);
	a.msg_id = msg_id;
	a.body.qos = 1;
	a.body.topic = B("t/x");
	a.body.payload = B(payload);
	t[0].client_id = B("ab");
	t[0].seq = seq;
	t[0].qos = 1;
	t[1].client_id = B("abc");
	t[1].seq = seq + 100;
	t[1].qos = 1;
	a.ntargets = 2;
	a.targets = t;
	CU_ASSERT_EQUAL(store_append(st, &a, full, &nfull), IPC_STORE_OK);
}

/*
 * LOAD of one session: only its records, in the usual order, for client
 * ids that are prefixes of each other, and never another owner's.
 */
static void
test_load_one_session(void)
{
	static const char	*own = "n0000000000000001";
	struct ipc_store_retain	 ret = { 0 };
	struct ipc_store_sess	 ss = { { 0 }, { 0 } };
	struct store		*st;
	struct lres		 lr;
	size_t			 i;
	uint64_t		 last = 0;

	mk_tmp();
	CU_ASSERT_PTR_NOT_NULL_FATAL(st = open_store(0));
	put_owned(st, own, "ab", "f/ab", 1);
	put_owned(st, own, "abc", "f/abc", 2);
	put_owned(st, "", "ab", "f/local", 3);
	/* Appended out of seq order: LOAD returns them in seq order. */
	append_owned(st, own, 10, 3, "m3");
	append_owned(st, own, 11, 1, "m1");
	append_owned(st, own, 12, 2, "m2");
	append_owned(st, "", 13, 5, "local");
	ret.body.topic = B("r/1");
	ret.body.payload = B("kept");
	CU_ASSERT_EQUAL(store_retain_put(st, &ret), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);

	lr = load_one(st, own, "ab");
	/* session, sub, 3 queue entries, qos2, will */
	CU_ASSERT_EQUAL_FATAL(lr.n, 7);
	CU_ASSERT_EQUAL(lr.r[0].kind, IPC_STORE_R_SESSION);
	CU_ASSERT_EQUAL(lr.r[1].kind, IPC_STORE_R_SUB);
	CU_ASSERT_STRING_EQUAL(lr.r[1].text, "f/ab");
	for (i = 2; i < 5; i++) {
		CU_ASSERT_EQUAL(lr.r[i].kind, IPC_STORE_R_QUEUE);
		CU_ASSERT_TRUE(lr.r[i].seq > last);
		last = lr.r[i].seq;
	}
	CU_ASSERT_STRING_EQUAL(lr.r[2].text, "m1");
	CU_ASSERT_STRING_EQUAL(lr.r[3].text, "m2");
	CU_ASSERT_STRING_EQUAL(lr.r[4].text, "m3");
	CU_ASSERT_EQUAL(lr.r[3].msg_id, 12);
	CU_ASSERT_EQUAL(lr.r[5].kind, IPC_STORE_R_QOS2);
	CU_ASSERT_EQUAL(lr.r[5].pid, 1);
	CU_ASSERT_EQUAL(lr.r[6].kind, IPC_STORE_R_WILL);
	CU_ASSERT_STRING_EQUAL(lr.r[6].text, "ab");
	for (i = 0; i < lr.n; i++)
		CU_ASSERT_STRING_EQUAL(lr.r[i].cid, "ab");
	free(lr.r);

	lr = load_one(st, own, "abc");
	CU_ASSERT_EQUAL_FATAL(lr.n, 7);
	CU_ASSERT_STRING_EQUAL(lr.r[1].text, "f/abc");
	CU_ASSERT_EQUAL(lr.r[2].seq, 101);
	CU_ASSERT_EQUAL(lr.r[5].pid, 2);
	for (i = 0; i < lr.n; i++)
		CU_ASSERT_STRING_EQUAL(lr.r[i].cid, "abc");
	free(lr.r);

	/* "a" is a prefix of both but names neither. */
	lr = load_one(st, own, "a");
	CU_ASSERT_EQUAL(lr.n, 0);
	free(lr.r);

	/* This node's "ab", no retained, nothing of the other owner. */
	lr = load_one(st, "", "ab");
	CU_ASSERT_EQUAL_FATAL(lr.n, 5);
	CU_ASSERT_STRING_EQUAL(lr.r[1].text, "f/local");
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_QUEUE), 1);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_RETAIN), 0);
	CU_ASSERT_EQUAL(lr.r[2].seq, 5);
	free(lr.r);

	/* The whole owner: both sessions; owner "": its own and retained. */
	lr = load(st, own);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_SESSION), 2);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_QUEUE), 6);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_RETAIN), 0);
	free(lr.r);
	lr = load(st, "");
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_SESSION), 1);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_QUEUE), 2);
	CU_ASSERT_EQUAL(count_kind(&lr, IPC_STORE_R_RETAIN), 1);
	free(lr.r);

	/* Dropping the replica session leaves the other one. */
	ss.owner = B(own);
	ss.client_id = B("ab");
	CU_ASSERT_EQUAL(store_session_del(st, &ss), IPC_STORE_OK);
	CU_ASSERT_EQUAL(store_commit(st), IPC_STORE_OK);
	lr = load_one(st, own, "ab");
	CU_ASSERT_EQUAL(lr.n, 0);
	free(lr.r);
	lr = load_one(st, own, "abc");
	CU_ASSERT_EQUAL(lr.n, 7);
	free(lr.r);
	store_close(st);
	rm_tmp();
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_queue_order),
		UNIT_TEST(test_ack_and_refcount),
		UNIT_TEST(test_fanout_10000),
		UNIT_TEST(test_queue_limit),
		UNIT_TEST(test_mark_and_qos2),
		UNIT_TEST(test_load_one_session),
		UNIT_TEST(test_reopen_keeps_everything),
		UNIT_TEST(test_expiry),
		UNIT_TEST(test_orphan_scan),
		UNIT_TEST(test_group_commit),
		UNIT_TEST(test_low_space),
		UNIT_TEST(test_schema_checks),
		UNIT_END
	};

	return (unit_run("store", tests));
}
