/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of mqttd's storaged client (storelink.c) against a real
 * storaged that the test starts, stops (SIGSTOP) and kills (SIGKILL) in a
 * temporary directory: every request kind and LOAD, merging, back-pressure
 * while storaged is absent, resending after a restart, full queues, disk
 * "full", message ids above what LOAD returned, and replica writes
 * (storelink_apply) with one-session LOADs (storelink_load_session).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "mqttd/storelink.h"
#include "tests/unit/unit.h"

static char		 tdir[] = "/tmp/test_storelink.XXXXXX";
static char		 storaged_bin[4096];
static char		 endpoint[4300];
static pid_t		 spid = -1;
static struct event_base *base;

/* Storaged */

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
write_conf(const char *extra)
{
	char	 path[4200];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/tern.conf", tdir);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(2);
	}
	fprintf(f, "nodename = tern@127.0.0.1\ndata_dir = %s/data\n"
	    "run_dir = %s/run\nstorage.sync = always\n"
	    "storage.min_free_bytes = 0\nmax_offline_messages = 0\n"
	    "log_level = warn\n%s", tdir, tdir, extra != NULL ? extra : "");
	fclose(f);
}

/* Starts storaged; returns 0 once its socket exists, else -1. */
static int
storaged_try_start(void)
{
	char	conf[4200], log[4200], sock[4200];
	int	fd;
	uint64_t end;
	struct stat sb;

	snprintf(conf, sizeof(conf), "%s/tern.conf", tdir);
	snprintf(log, sizeof(log), "%s/storaged.log", tdir);
	snprintf(sock, sizeof(sock), "%s/run/storaged.sock", tdir);
	unlink(sock);
	if ((spid = fork()) == -1) {
		perror("fork");
		exit(2);
	}
	if (spid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execl(storaged_bin, "storaged", "-c", conf, (char *)NULL);
		_exit(127);
	}
	end = now_ms() + 10000;
	while (stat(sock, &sb) == -1 && now_ms() < end)
		usleep(10000);
	return (stat(sock, &sb) == 0 ? 0 : -1);
}

static void
storaged_start(void)
{
	CU_ASSERT_FATAL(storaged_try_start() == 0);
}

static void
storaged_kill(int sig)
{
	if (spid <= 0)
		return;
	kill(spid, sig);
	if (sig == SIGKILL || sig == SIGTERM) {
		waitpid(spid, NULL, 0);
		spid = -1;
	}
}

static void
at_exit_kill(void)
{
	if (spid > 0) {
		kill(spid, SIGKILL);
		waitpid(spid, NULL, 0);
	}
}

/* Event loop */

/* Runs the loop until *flag is true or ms pass.  Returns *flag. */
static bool
run_until(bool (*cond)(void *), void *arg, uint64_t ms)
{
	uint64_t	end = now_ms() + ms;

	while (!cond(arg) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return (cond(arg));
}

/* Runs the loop for ms. */
static void
run_for(uint64_t ms)
{
	uint64_t	end = now_ms() + ms;

	while (now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
}

static bool
cond_up(void *arg)
{
	return (is_storelink_up(arg));
}

/* Completions */

#define MAXDONE	4096

struct done {
	int		 n;		/* callbacks run */
	int		 nok;
	int		 rc[MAXDONE];
	int		 order[MAXDONE];	/* tags in callback order */
	char		 full[64];
	uint32_t	 nfull;
};

struct tag {
	struct done	*d;
	int		 tag;
};

static struct tag	tags[MAXDONE];

static void
done_cb(void *arg, int rc, const struct ipc_bytes *full, uint32_t nfull)
{
	struct tag	*t = arg;
	struct done	*d = t->d;

	if (d->n < MAXDONE) {
		d->rc[t->tag] = rc;
		d->order[d->n] = t->tag;
	}
	d->n++;
	if (rc == IPC_STORE_OK)
		d->nok++;
	if (nfull > 0) {
		d->nfull = nfull;
		snprintf(d->full, sizeof(d->full), "%.*s", (int)full[0].len,
		    (const char *)full[0].p);
	}
}

static struct tag *
tag(struct done *d, int i)
{
	tags[i].d = d;
	tags[i].tag = i;
	return (&tags[i]);
}

struct want {
	struct done	*d;
	int		 n;
};

static bool
cond_done(void *arg)
{
	struct want	*w = arg;

	return (w->d->n >= w->n);
}

static bool
wait_done(struct done *d, int n, uint64_t ms)
{
	struct want	w = { d, n };

	return (run_until(cond_done, &w, ms));
}

/* LOAD into a small text log, one line per record. */

struct loaded {
	char		 text[65536];
	size_t		 len;
	int		 nqueue;
	int		 nsess;
	int		 restarts;
	bool		 done;
	int		 rc;
	uint64_t	 last_seq;
	bool		 in_order;
};

static void
ld_add(struct loaded *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ld_add(struct loaded *l, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (l->len >= sizeof(l->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, sizeof(l->text) - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
	if (l->len >= sizeof(l->text))
		l->len = sizeof(l->text) - 1;
}

static void
ld_session(void *arg, const struct ipc_store_rec *r)
{
	struct loaded	*l = arg;

	l->nsess++;
	ld_add(l, "session %.*s %u %.*s\n", (int)r->client_id.len,
	    (const char *)r->client_id.p, r->expiry_interval,
	    (int)r->data.len, (const char *)r->data.p);
}

static void
ld_sub(void *arg, const struct ipc_store_rec *r)
{
	ld_add(arg, "sub %.*s %.*s %u\n", (int)r->client_id.len,
	    (const char *)r->client_id.p, (int)r->sub.filter.len,
	    (const char *)r->sub.filter.p, r->sub.options);
}

static void
ld_queue(void *arg, const struct ipc_store_rec *r)
{
	struct loaded	*l = arg;

	if (r->seq <= l->last_seq)
		l->in_order = false;
	l->last_seq = r->seq;
	l->nqueue++;
	if (l->nqueue <= 64)
		ld_add(l, "queue %.*s %llu %u %.*s\n", (int)r->client_id.len,
		    (const char *)r->client_id.p,
		    (unsigned long long)r->seq, r->state,
		    (int)r->body.payload.len,
		    (const char *)r->body.payload.p);
}

static void
ld_qos2(void *arg, const struct ipc_store_rec *r)
{
	ld_add(arg, "qos2 %.*s %u\n", (int)r->client_id.len,
	    (const char *)r->client_id.p, r->pid);
}

static void
ld_retain(void *arg, const struct ipc_store_rec *r)
{
	ld_add(arg, "retain %.*s %.*s\n", (int)r->body.topic.len,
	    (const char *)r->body.topic.p, (int)r->body.payload.len,
	    (const char *)r->body.payload.p);
}

static void
ld_will(void *arg, const struct ipc_store_rec *r)
{
	ld_add(arg, "will %.*s %llu %.*s\n", (int)r->client_id.len,
	    (const char *)r->client_id.p, (unsigned long long)r->due_at,
	    (int)r->body.topic.len, (const char *)r->body.topic.p);
}

static void
ld_restart(void *arg)
{
	struct loaded	*l = arg;
	int		 restarts = l->restarts + 1;

	memset(l, 0, sizeof(*l));
	l->in_order = true;
	l->restarts = restarts;
}

static void
ld_done(void *arg, int rc)
{
	struct loaded	*l = arg;

	l->done = true;
	l->rc = rc;
}

static const struct storelink_load_cbs ld_cbs = {
	ld_session, ld_sub, ld_queue, ld_qos2, ld_retain, ld_will,
	ld_restart, ld_done
};

static bool
cond_loaded(void *arg)
{
	return (((struct loaded *)arg)->done);
}

/* Returns a new LOAD result (free()). */
static struct loaded *
load_all(struct storelink *sl)
{
	struct loaded	*l = calloc(1, sizeof(*l));

	l->in_order = true;
	storelink_load(sl, 0, &ld_cbs, l);
	CU_ASSERT_FATAL(run_until(cond_loaded, l, 10000));
	CU_ASSERT(l->rc == IPC_STORE_OK);
	return (l);
}

/* Helpers to build requests */

static int	unblocks;

static void
unblock_cb(void *arg)
{
	unblocks++;
}

static struct storelink *
link_new(size_t max_reqs)
{
	struct storelink_opts	 o = { 0 };
	struct storelink	*sl;

	o.endpoint = endpoint;
	o.nodename = "tern@127.0.0.1";
	o.max_reqs = max_reqs;
	o.unblock = unblock_cb;
	sl = storelink_new(base, &o);
	CU_ASSERT_FATAL(sl != NULL);
	return (sl);
}

static void
append1(struct storelink *sl, const char *cid, uint64_t seq, uint64_t msg_id,
    const char *payload, storelink_cb cb, void *arg)
{
	struct ipc_store_append	a = { 0 };
	struct ipc_store_target	t = { 0 };

	a.msg_id = msg_id;
	a.body.qos = 1;
	a.body.topic = ipc_bytes_str("t/1");
	a.body.payload = ipc_bytes_str(payload);
	t.client_id = ipc_bytes_str(cid);
	t.seq = seq;
	t.qos = 1;
	a.ntargets = 1;
	a.targets = &t;
	storelink_append(sl, &a, cb, arg);
}

static void
session_put(struct storelink *sl, const char *cid, const char *data,
    storelink_cb cb, void *arg)
{
	struct ipc_store_session	s = { 0 };
	struct ipc_store_sub		subs[2] = { { { 0 }, 0, 0 } };

	s.s.client_id = ipc_bytes_str(cid);
	s.proto = 4;
	s.expiry_interval = 3600;
	s.data = ipc_bytes_str(data);
	s.replace_subs = true;
	subs[0].filter = ipc_bytes_str("a/+");
	subs[0].options = 1;
	subs[1].filter = ipc_bytes_str("b/#");
	subs[1].options = 2;
	s.nsubs = 2;
	s.subs = subs;
	storelink_session_put(sl, &s, cb, arg);
}

/* Tests */

static void
test_storelink_every_request(void)
{
	struct storelink	*sl;
	struct done		 d = { 0 };
	struct ipc_store_append	 a = { 0 };
	struct ipc_store_target	 t[2] = { { { 0 }, 0, 0, 0, { 0 } } };
	struct ipc_store_body	 body = { 0 };
	struct ipc_store_subs	 subs = { 0 };
	struct ipc_store_sub	 sub = { { 0 }, 0, 0 };
	struct loaded		*l;
	uint64_t		 id, s1, s2;

	sl = link_new(0);
	CU_ASSERT_FATAL(run_until(cond_up, sl, 5000));
	session_put(sl, "alice", "state-a", done_cb, tag(&d, 0));
	session_put(sl, "bob", "state-b", done_cb, tag(&d, 1));
	sub.filter = ipc_bytes_str("c/1");
	subs.s.client_id = ipc_bytes_str("bob");
	subs.nsubs = 1;
	subs.subs = &sub;
	storelink_sub_put(sl, &subs, done_cb, tag(&d, 2));
	sub.filter = ipc_bytes_str("a/+");
	storelink_sub_del(sl, &subs, done_cb, tag(&d, 3));

	id = storelink_next_id(sl);
	s1 = storelink_next_id(sl);
	s2 = storelink_next_id(sl);
	a.msg_id = id;
	a.body.qos = 2;
	a.body.topic = ipc_bytes_str("a/x");
	a.body.payload = ipc_bytes_str("hello");
	t[0].client_id = ipc_bytes_str("alice");
	t[0].seq = s1;
	t[0].qos = 1;
	t[1].client_id = ipc_bytes_str("bob");
	t[1].seq = s2;
	t[1].qos = 2;
	t[1].nsub_ids = 1;
	t[1].sub_ids[0] = 7;
	a.ntargets = 2;
	a.targets = t;
	storelink_append(sl, &a, done_cb, tag(&d, 4));
	storelink_ack(sl, "alice", 5, s1, done_cb, tag(&d, 5));
	storelink_mark(sl, "bob", 3, s2, IPC_STORE_Q_SENT, done_cb,
	    tag(&d, 6));
	storelink_qos2_put(sl, "alice", 5, 7, done_cb, tag(&d, 7));
	storelink_qos2_put(sl, "alice", 5, 8, done_cb, tag(&d, 8));
	storelink_qos2_del(sl, "alice", 5, 8, done_cb, tag(&d, 9));
	body.qos = 1;
	body.flags = IPC_STORE_F_RETAIN;
	body.topic = ipc_bytes_str("r/1");
	body.payload = ipc_bytes_str("kept");
	storelink_retain_put(sl, &body, done_cb, tag(&d, 10));
	body.topic = ipc_bytes_str("r/2");
	storelink_retain_put(sl, &body, done_cb, tag(&d, 11));
	storelink_retain_del(sl, "r/2", 3, done_cb, tag(&d, 12));
	body.topic = ipc_bytes_str("will/alice");
	storelink_will_put(sl, "alice", 5, 12345, &body, done_cb,
	    tag(&d, 13));
	storelink_will_put(sl, "bob", 3, 99, &body, done_cb, tag(&d, 14));
	storelink_will_del(sl, "bob", 3, done_cb, tag(&d, 15));
	session_put(sl, "carol", "state-c", done_cb, tag(&d, 16));
	storelink_session_del(sl, "carol", 5, done_cb, tag(&d, 17));

	/* Callbacks never run from inside the call that made a request. */
	CU_ASSERT(d.n == 0);
	CU_ASSERT_FATAL(wait_done(&d, 18, 5000));
	CU_ASSERT(d.nok == 18);

	l = load_all(sl);
	CU_ASSERT(strstr(l->text, "session alice 3600 state-a\n") != NULL);
	CU_ASSERT(strstr(l->text, "session bob 3600 state-b\n") != NULL);
	CU_ASSERT(strstr(l->text, "carol") == NULL);
	CU_ASSERT(strstr(l->text, "sub alice a/+ 1\n") != NULL);
	CU_ASSERT(strstr(l->text, "sub bob a/+") == NULL);
	CU_ASSERT(strstr(l->text, "sub bob c/1 0\n") != NULL);
	CU_ASSERT(strstr(l->text, "sub bob b/# 2\n") != NULL);
	CU_ASSERT(strstr(l->text, "queue alice") == NULL);	/* acked */
	CU_ASSERT(l->nqueue == 1);
	CU_ASSERT(strstr(l->text, "queue bob") != NULL &&
	    strstr(l->text, " 1 hello\n") != NULL);		/* marked */
	CU_ASSERT(strstr(l->text, "qos2 alice 7\n") != NULL);
	CU_ASSERT(strstr(l->text, "qos2 alice 8\n") == NULL);
	CU_ASSERT(strstr(l->text, "retain r/1 kept\n") != NULL);
	CU_ASSERT(strstr(l->text, "retain r/2") == NULL);
	CU_ASSERT(strstr(l->text, "will alice 12345 will/alice\n") != NULL);
	CU_ASSERT(strstr(l->text, "will bob") == NULL);
	free(l);

	/* Clean up for the next tests. */
	memset(&d, 0, sizeof(d));
	storelink_session_del(sl, "alice", 5, done_cb, tag(&d, 0));
	storelink_session_del(sl, "bob", 3, done_cb, tag(&d, 1));
	storelink_retain_del(sl, "r/1", 3, done_cb, tag(&d, 2));
	CU_ASSERT(wait_done(&d, 3, 5000) && d.nok == 3);
	storelink_free(sl);
}

static void
test_storelink_merge(void)
{
	struct storelink	*sl;
	struct storelink_stats	 st;
	struct done		 d = { 0 };
	struct loaded		*l;
	uint64_t		 seq[300];
	int			 i;

	sl = link_new(0);
	CU_ASSERT_FATAL(run_until(cond_up, sl, 5000));
	for (i = 0; i < 300; i++) {
		seq[i] = storelink_next_id(sl);
		append1(sl, i % 3 == 0 ? "m2" : "m1", seq[i],
		    storelink_next_id(sl), "x", done_cb, tag(&d, i));
	}
	CU_ASSERT_FATAL(wait_done(&d, 300, 10000) && d.nok == 300);

	/* 300 acks made in one round of the loop, on two sessions. */
	memset(&d, 0, sizeof(d));
	storelink_get_stats(sl, &st);
	for (i = 0; i < 300; i++)
		storelink_ack(sl, i % 3 == 0 ? "m2" : "m1",
		    2, seq[i], done_cb, tag(&d, i));
	{
		struct storelink_stats	st2;

		storelink_get_stats(sl, &st2);
		CU_ASSERT(st2.merged - st.merged >= 290);
		CU_ASSERT(st2.outstanding <= 10);
	}
	CU_ASSERT_FATAL(wait_done(&d, 300, 10000));
	CU_ASSERT(d.nok == 300);

	/*
	 * Merging never moves an ack before the append it acks: ack (m3,
	 * s0), append (m3, s1), ack (m3, s1).  The second ack must not join
	 * the first, or storaged would keep entry s1.
	 */
	memset(&d, 0, sizeof(d));
	seq[0] = storelink_next_id(sl);
	seq[1] = storelink_next_id(sl);
	append1(sl, "m3", seq[0], storelink_next_id(sl), "y", done_cb,
	    tag(&d, 0));
	CU_ASSERT_FATAL(wait_done(&d, 1, 5000));
	storelink_ack(sl, "m3", 2, seq[0], done_cb, tag(&d, 1));
	append1(sl, "m3", seq[1], storelink_next_id(sl), "z", done_cb,
	    tag(&d, 2));
	storelink_ack(sl, "m3", 2, seq[1], done_cb, tag(&d, 3));
	CU_ASSERT_FATAL(wait_done(&d, 4, 5000));
	CU_ASSERT(d.nok == 4);
	/* Completions come in request order. */
	CU_ASSERT(d.order[1] == 1 && d.order[2] == 2 && d.order[3] == 3);
	l = load_all(sl);
	CU_ASSERT(l->nqueue == 0);
	free(l);
	storelink_free(sl);
}

static void
test_storelink_absent_backpressure(void)
{
	struct storelink	*sl;
	struct storelink_stats	 st;
	struct done		 d = { 0 };
	struct loaded		*l;
	int			 i;

	storaged_kill(SIGTERM);
	unblocks = 0;
	sl = link_new(8);
	for (i = 0; i < 20; i++)
		append1(sl, "bp", storelink_next_id(sl),
		    storelink_next_id(sl), "p", done_cb, tag(&d, i));
	CU_ASSERT(storelink_would_block(sl));
	run_for(500);
	CU_ASSERT(!is_storelink_up(sl));
	CU_ASSERT(d.n == 0);
	CU_ASSERT(storelink_would_block(sl));
	storelink_get_stats(sl, &st);
	CU_ASSERT(st.outstanding == 20 && st.unsent == 20 && st.sent == 0);
	CU_ASSERT(unblocks == 0);

	storaged_start();
	CU_ASSERT_FATAL(wait_done(&d, 20, 10000));
	CU_ASSERT(d.nok == 20);
	for (i = 0; i < 20; i++)
		CU_ASSERT(d.order[i] == i);
	CU_ASSERT(!storelink_would_block(sl));
	CU_ASSERT(unblocks == 1);
	l = load_all(sl);
	CU_ASSERT(l->nqueue == 20 && l->in_order);
	free(l);
	memset(&d, 0, sizeof(d));
	storelink_session_del(sl, "bp", 2, done_cb, tag(&d, 0));
	CU_ASSERT(wait_done(&d, 1, 5000));
	storelink_free(sl);
}

static void
test_storelink_restart_resend(void)
{
	struct storelink	*sl;
	struct storelink_stats	 st;
	struct done		 d = { 0 };
	struct loaded		*l;
	int			 i, round;
	char			 p[32];

	sl = link_new(0);
	CU_ASSERT_FATAL(run_until(cond_up, sl, 5000));
	for (round = 0; round < 3; round++) {
		/* Requests sent to a storaged that never answers them. */
		storaged_kill(SIGSTOP);
		for (i = 0; i < 100; i++) {
			snprintf(p, sizeof(p), "r%d-%d", round, i);
			append1(sl, "rs", storelink_next_id(sl),
			    storelink_next_id(sl), p, done_cb,
			    tag(&d, round * 100 + i));
		}
		run_for(200);
		storelink_get_stats(sl, &st);
		CU_ASSERT(st.outstanding == 100);
		CU_ASSERT(st.unsent == 0);	/* all went out */
		CU_ASSERT(d.n == round * 100);
		storaged_kill(SIGKILL);
		storaged_start();
		CU_ASSERT_FATAL(wait_done(&d, (round + 1) * 100, 10000));
	}
	CU_ASSERT(d.nok == 300);
	storelink_get_stats(sl, &st);
	CU_ASSERT(st.restarts == 3);
	CU_ASSERT(st.resent >= 300);
	CU_ASSERT(st.outstanding == 0 && st.outstanding_bytes == 0);
	l = load_all(sl);
	CU_ASSERT(l->nqueue == 300 && l->in_order);
	CU_ASSERT(strstr(l->text, " r0-0\n") != NULL);
	free(l);

	/*
	 * A LOAD sent to a storaged that dies before answering is sent
	 * again to the next one and delivers everything once.
	 */
	l = calloc(1, sizeof(*l));
	l->in_order = true;
	storaged_kill(SIGSTOP);
	storelink_load(sl, 0, &ld_cbs, l);
	run_for(100);
	storaged_kill(SIGKILL);
	storaged_start();
	CU_ASSERT_FATAL(run_until(cond_loaded, l, 10000));
	CU_ASSERT(l->rc == IPC_STORE_OK && l->nqueue == 300 && l->in_order);
	free(l);

	memset(&d, 0, sizeof(d));
	storelink_session_del(sl, "rs", 2, done_cb, tag(&d, 0));
	CU_ASSERT(wait_done(&d, 1, 5000));
	storelink_free(sl);
}

static void
test_storelink_ids(void)
{
	struct storelink	*sl;
	struct done		 d = { 0 };
	struct loaded		*l;
	uint64_t		 future, prev, id;
	int			 i;

	sl = link_new(0);
	prev = storelink_next_id(sl);
	for (i = 0; i < 200000; i++) {
		id = storelink_next_id(sl);
		if (id <= prev)
			break;
		prev = id;
	}
	CU_ASSERT(i == 200000);
	/* About the current time in ms, shifted by 16. */
	CU_ASSERT((prev >> 16) > 1600000000000ULL);

	/* A stored id and seq far ahead of the clock (an hour). */
	future = ((uint64_t)time(NULL) * 1000 + 3600000) << 16;
	append1(sl, "ids", future + 5, future + 9, "f", done_cb, tag(&d, 0));
	CU_ASSERT_FATAL(wait_done(&d, 1, 5000) && d.nok == 1);
	storelink_free(sl);

	/* A new process: after LOAD its ids are above what was stored. */
	sl = link_new(0);
	CU_ASSERT(storelink_next_id(sl) < future);
	l = load_all(sl);
	CU_ASSERT(l->nqueue == 1);
	free(l);
	CU_ASSERT(storelink_next_id(sl) > future + 9);
	storelink_seen_id(sl, future + 1000);
	CU_ASSERT(storelink_next_id(sl) == future + 1001);
	memset(&d, 0, sizeof(d));
	storelink_session_del(sl, "ids", 3, done_cb, tag(&d, 0));
	CU_ASSERT(wait_done(&d, 1, 5000));
	storelink_free(sl);
}

static void
test_storelink_full_and_nospace(void)
{
	struct storelink	*sl;
	struct done		 d = { 0 };
	int			 i;

	storaged_kill(SIGTERM);
	write_conf("max_offline_messages = 2\n");
	storaged_start();
	sl = link_new(0);
	for (i = 0; i < 3; i++)
		append1(sl, "full", storelink_next_id(sl),
		    storelink_next_id(sl), "q", done_cb, tag(&d, i));
	CU_ASSERT_FATAL(wait_done(&d, 3, 10000));
	CU_ASSERT(d.nok == 3);
	CU_ASSERT(d.nfull == 1 && strcmp(d.full, "full") == 0);
	memset(&d, 0, sizeof(d));
	storelink_session_del(sl, "full", 4, done_cb, tag(&d, 0));
	CU_ASSERT(wait_done(&d, 1, 5000));

	/* Less free space than required: durable appends are refused. */
	storaged_kill(SIGTERM);
	write_conf("storage.min_free_bytes = 9000000000000000000\n");
	storaged_start();
	memset(&d, 0, sizeof(d));
	append1(sl, "ns", storelink_next_id(sl), storelink_next_id(sl), "n",
	    done_cb, tag(&d, 0));
	storelink_ack(sl, "ns", 2, 1, done_cb, tag(&d, 1));
	CU_ASSERT_FATAL(wait_done(&d, 2, 10000));
	CU_ASSERT(d.rc[0] == IPC_STORE_E_NOSPACE);
	CU_ASSERT(d.rc[1] == IPC_STORE_OK);	/* acks still work */
	storelink_free(sl);

	storaged_kill(SIGTERM);
	write_conf(NULL);
	storaged_start();
}

/* Replica writes */

#define OWN	"n0000000000000001"

/* Returns a new LOAD of one session (free()). */
static struct loaded *
load_one(struct storelink *sl, const char *owner, const char *cid)
{
	struct loaded	*l = calloc(1, sizeof(*l));

	l->in_order = true;
	storelink_load_session(sl, owner, cid, strlen(cid), &ld_cbs, l);
	CU_ASSERT_FATAL(run_until(cond_loaded, l, 10000));
	CU_ASSERT(l->rc == IPC_STORE_OK);
	return (l);
}

/* Applies the request encoded in b under OWN and empties b. */
static void
apply_buf(struct storelink *sl, uint16_t type, struct buf *b,
    struct done *d, int i)
{
	storelink_apply(sl, OWN, type, b->data, b->len, done_cb, tag(d, i));
	buf_reset(b);
}

/* An encoded SESSION_PUT of cid (subscriptions a/+ and b/#), owner "". */
static void
enc_session(struct buf *b, const char *cid, const char *data)
{
	struct ipc_store_session	s = { 0 };
	struct ipc_store_sub		subs[2] = { { { 0 }, 0, 0 } };

	s.s.client_id = ipc_bytes_str(cid);
	s.proto = 5;
	s.expiry_interval = 600;
	s.data = ipc_bytes_str(data);
	s.replace_subs = true;
	subs[0].filter = ipc_bytes_str("a/+");
	subs[0].options = 1;
	subs[1].filter = ipc_bytes_str("b/#");
	subs[1].options = 2;
	s.nsubs = 2;
	s.subs = subs;
	ipc_enc_store_session(b, IPC_STORE_SESSION_PUT, &s);
}

static void
enc_session_del(struct buf *b, const char *cid)
{
	struct ipc_store_session	s = { 0 };

	s.s.client_id = ipc_bytes_str(cid);
	ipc_enc_store_session(b, IPC_STORE_SESSION_DEL, &s);
}

static void
enc_sub(struct buf *b, uint16_t type, const char *cid, const char *filter)
{
	struct ipc_store_subs	v = { 0 };
	struct ipc_store_sub	sub = { { 0 }, 0, 0 };

	sub.filter = ipc_bytes_str(filter);
	v.s.client_id = ipc_bytes_str(cid);
	v.nsubs = 1;
	v.subs = &sub;
	ipc_enc_store_subs(b, type, &v);
}

/* An APPEND of payload to cid1 at seq1 and, if cid2, cid2 at seq2. */
static void
enc_append(struct buf *b, uint64_t msg_id, const char *payload,
    const char *cid1, uint64_t seq1, const char *cid2, uint64_t seq2)
{
	struct ipc_store_append	a = { 0 };
	struct ipc_store_target	t[2] = { { { 0 }, 0, 0, 0, { 0 } } };

	a.msg_id = msg_id;
	a.body.qos = 1;
	a.body.topic = ipc_bytes_str("a/x");
	a.body.payload = ipc_bytes_str(payload);
	t[0].client_id = ipc_bytes_str(cid1);
	t[0].seq = seq1;
	t[0].qos = 1;
	t[1].client_id = ipc_bytes_str(cid2 != NULL ? cid2 : "");
	t[1].seq = seq2;
	t[1].qos = 1;
	a.ntargets = cid2 != NULL ? 2 : 1;
	a.targets = t;
	ipc_enc_store_append(b, &a);
}

static void
enc_ack(struct buf *b, const char *cid, uint64_t seq)
{
	struct ipc_store_ack	a = { 0 };

	a.s.client_id = ipc_bytes_str(cid);
	a.nseqs = 1;
	a.seqs = &seq;
	ipc_enc_store_ack(b, &a);
}

static void
test_storelink_apply(void)
{
	struct storelink	*sl;
	struct storelink_stats	 st, st2;
	struct done		 d = { 0 };
	struct buf		 b = BUF_INIT;
	struct loaded		*l;
	char			 line[128];
	uint64_t		 s1, s2, s3;

	sl = link_new(0);
	CU_ASSERT_FATAL(run_until(cond_up, sl, 5000));
	s1 = storelink_next_id(sl);
	s2 = storelink_next_id(sl);
	s3 = storelink_next_id(sl);

	/* A local session of the same client id must stay apart. */
	session_put(sl, "rep1", "local", done_cb, tag(&d, 0));
	enc_session(&b, "rep1", "state-r1");
	apply_buf(sl, IPC_STORE_SESSION_PUT, &b, &d, 1);
	enc_session(&b, "rep2", "state-r2");
	apply_buf(sl, IPC_STORE_SESSION_PUT, &b, &d, 2);
	enc_sub(&b, IPC_STORE_SUB_PUT, "rep1", "c/1");
	apply_buf(sl, IPC_STORE_SUB_PUT, &b, &d, 3);
	enc_sub(&b, IPC_STORE_SUB_DEL, "rep1", "a/+");
	apply_buf(sl, IPC_STORE_SUB_DEL, &b, &d, 4);
	enc_append(&b, s1, "m1", "rep1", s1, "rep2", s2);
	apply_buf(sl, IPC_STORE_APPEND, &b, &d, 5);
	enc_append(&b, s3, "m2", "rep1", s3, NULL, 0);
	apply_buf(sl, IPC_STORE_APPEND, &b, &d, 6);
	/* Neither merged into the local ack, nor the local ack into it. */
	storelink_get_stats(sl, &st);
	storelink_ack(sl, "rep1", 4, s1, done_cb, tag(&d, 7));
	enc_ack(&b, "rep1", s1);
	apply_buf(sl, IPC_STORE_ACK, &b, &d, 8);
	storelink_ack(sl, "rep1", 4, s3, done_cb, tag(&d, 9));
	storelink_get_stats(sl, &st2);
	CU_ASSERT(st2.merged == st.merged);
	CU_ASSERT(d.n == 0);
	CU_ASSERT_FATAL(wait_done(&d, 10, 5000));
	CU_ASSERT(d.nok == 10);

	l = load_one(sl, OWN, "rep1");
	CU_ASSERT(l->nsess == 1);
	CU_ASSERT(strstr(l->text, "session rep1 600 state-r1\n") != NULL);
	CU_ASSERT(strstr(l->text, "sub rep1 b/# 2\n") != NULL);
	CU_ASSERT(strstr(l->text, "sub rep1 c/1 0\n") != NULL);
	CU_ASSERT(strstr(l->text, "a/+") == NULL);
	CU_ASSERT(l->nqueue == 1);		/* m1 acked */
	snprintf(line, sizeof(line), "queue rep1 %llu 0 m2\n",
	    (unsigned long long)s3);
	CU_ASSERT(strstr(l->text, line) != NULL);
	CU_ASSERT(strstr(l->text, "rep2") == NULL);
	CU_ASSERT(strstr(l->text, "local") == NULL);
	free(l);

	l = load_one(sl, OWN, "rep2");
	CU_ASSERT(l->nsess == 1 && l->nqueue == 1);
	CU_ASSERT(strstr(l->text, "session rep2 600 state-r2\n") != NULL);
	CU_ASSERT(strstr(l->text, "sub rep2 a/+ 1\n") != NULL);
	snprintf(line, sizeof(line), "queue rep2 %llu 0 m1\n",
	    (unsigned long long)s2);
	CU_ASSERT(strstr(l->text, line) != NULL);
	CU_ASSERT(strstr(l->text, "rep1") == NULL);
	free(l);

	/* Every session of the owner (client id ""). */
	l = load_one(sl, OWN, "");
	CU_ASSERT(l->nsess == 2 && l->nqueue == 2);
	free(l);

	/*
	 * Owner "" sees only its own "rep1" (whose queue is empty: the
	 * local acks were of entries it never had).
	 */
	l = load_all(sl);
	CU_ASSERT(l->nsess == 1 && l->nqueue == 0);
	CU_ASSERT(strstr(l->text, "session rep1 3600 local\n") != NULL);
	CU_ASSERT(strstr(l->text, "state-r") == NULL);
	CU_ASSERT(strstr(l->text, "rep2") == NULL);
	free(l);
	l = load_one(sl, "", "rep1");
	CU_ASSERT(l->nsess == 1 && l->nqueue == 0);
	CU_ASSERT(strstr(l->text, "state-r1") == NULL);
	free(l);

	/* SESSION_DEL drops the replica session and nothing else. */
	memset(&d, 0, sizeof(d));
	enc_session_del(&b, "rep2");
	apply_buf(sl, IPC_STORE_SESSION_DEL, &b, &d, 0);
	CU_ASSERT_FATAL(wait_done(&d, 1, 5000) && d.nok == 1);
	l = load_one(sl, OWN, "rep2");
	CU_ASSERT(l->nsess == 0 && l->nqueue == 0 && l->len == 0);
	free(l);
	l = load_one(sl, OWN, "rep1");
	CU_ASSERT(l->nsess == 1 && l->nqueue == 1);
	free(l);

	/*
	 * Replica writes sent to a storaged that dies before answering are
	 * sent again to the next one.
	 */
	memset(&d, 0, sizeof(d));
	storaged_kill(SIGSTOP);
	enc_session(&b, "rep3", "state-r3");
	apply_buf(sl, IPC_STORE_SESSION_PUT, &b, &d, 0);
	enc_append(&b, s3 + 1, "m3", "rep3", s3 + 1, NULL, 0);
	apply_buf(sl, IPC_STORE_APPEND, &b, &d, 1);
	run_for(200);
	storelink_get_stats(sl, &st);
	CU_ASSERT(st.outstanding == 2 && st.unsent == 0);
	storaged_kill(SIGKILL);
	storaged_start();
	CU_ASSERT_FATAL(wait_done(&d, 2, 10000));
	CU_ASSERT(d.nok == 2);
	l = load_one(sl, OWN, "rep3");
	CU_ASSERT(l->nsess == 1 && l->nqueue == 1);
	CU_ASSERT(strstr(l->text, " m3\n") != NULL);
	free(l);

	/* Clean up for the next tests. */
	memset(&d, 0, sizeof(d));
	enc_session_del(&b, "rep1");
	apply_buf(sl, IPC_STORE_SESSION_DEL, &b, &d, 0);
	enc_session_del(&b, "rep3");
	apply_buf(sl, IPC_STORE_SESSION_DEL, &b, &d, 1);
	storelink_session_del(sl, "rep1", 4, done_cb, tag(&d, 2));
	CU_ASSERT(wait_done(&d, 3, 5000) && d.nok == 3);
	l = load_one(sl, OWN, "");
	CU_ASSERT(l->nsess == 0 && l->nqueue == 0);
	free(l);
	buf_free(&b);
	storelink_free(sl);
}

static void
test_storelink_apply_invalid(void)
{
	struct storelink	*sl;
	struct done		 d = { 0 };
	struct buf		 b = BUF_INIT;
	struct ipc_store_mark_ent ent = { 1, IPC_STORE_Q_SENT };
	struct ipc_store_mark	 mark = { 0 };
	struct loaded		*l;
	char			 owner[300];

	sl = link_new(0);
	CU_ASSERT_FATAL(run_until(cond_up, sl, 5000));
	/* Garbage, a truncated APPEND, a kind not replicated (MARK). */
	storelink_apply(sl, OWN, IPC_STORE_SESSION_PUT,
	    (const uint8_t *)"garbage", 7, done_cb, tag(&d, 0));
	enc_append(&b, 1, "x", "inv", 1, NULL, 0);
	storelink_apply(sl, OWN, IPC_STORE_APPEND, b.data, b.len - 1,
	    done_cb, tag(&d, 1));
	buf_reset(&b);
	mark.s.client_id = ipc_bytes_str("inv");
	mark.n = 1;
	mark.ents = &ent;
	ipc_enc_store_mark(&b, &mark);
	storelink_apply(sl, OWN, IPC_STORE_MARK, b.data, b.len, done_cb,
	    tag(&d, 2));
	buf_reset(&b);
	/* A valid request with an owner name that is too long. */
	memset(owner, 'n', sizeof(owner) - 1);
	owner[sizeof(owner) - 1] = '\0';
	enc_session(&b, "inv", "x");
	storelink_apply(sl, owner, IPC_STORE_SESSION_PUT, b.data, b.len,
	    done_cb, tag(&d, 3));
	/* A good one after them still works. */
	apply_buf(sl, IPC_STORE_SESSION_PUT, &b, &d, 4);
	CU_ASSERT(d.n == 0);	/* never from inside the call */
	CU_ASSERT_FATAL(wait_done(&d, 5, 5000));
	CU_ASSERT(d.rc[0] == IPC_STORE_E_INVALID);
	CU_ASSERT(d.rc[1] == IPC_STORE_E_INVALID);
	CU_ASSERT(d.rc[2] == IPC_STORE_E_INVALID);
	CU_ASSERT(d.rc[3] == IPC_STORE_E_INVALID);
	CU_ASSERT(d.rc[4] == IPC_STORE_OK);
	CU_ASSERT(d.nok == 1);

	/* A one-session LOAD with an owner too long: done gets INVALID. */
	l = calloc(1, sizeof(*l));
	storelink_load_session(sl, owner, "inv", 3, &ld_cbs, l);
	CU_ASSERT(!l->done);
	CU_ASSERT_FATAL(run_until(cond_loaded, l, 5000));
	CU_ASSERT(l->rc == IPC_STORE_E_INVALID && l->len == 0);
	free(l);

	l = load_one(sl, OWN, "inv");
	CU_ASSERT(l->nsess == 1 && l->nqueue == 0);
	free(l);
	memset(&d, 0, sizeof(d));
	enc_session_del(&b, "inv");
	apply_buf(sl, IPC_STORE_SESSION_DEL, &b, &d, 0);
	CU_ASSERT(wait_done(&d, 1, 5000) && d.nok == 1);
	buf_free(&b);
	storelink_free(sl);
}

static int
rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return (remove(path));
}

int
main(int argc, char *argv[])
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_storelink_every_request),
		UNIT_TEST(test_storelink_merge),
		UNIT_TEST(test_storelink_absent_backpressure),
		UNIT_TEST(test_storelink_restart_resend),
		UNIT_TEST(test_storelink_ids),
		UNIT_TEST(test_storelink_apply),
		UNIT_TEST(test_storelink_apply_invalid),
		UNIT_TEST(test_storelink_full_and_nospace),
		UNIT_END
	};
	const char	*b = getenv("TERN_BUILDDIR");
	char		 run[4200], *p;
	size_t		 n;
	int		 rc;

	if (b != NULL)
		snprintf(storaged_bin, sizeof(storaged_bin),
		    "%s/storaged/storaged", b);
	else {
		/* argv[0] is BUILD/tests/unit/mqttd/test_storelink. */
		snprintf(storaged_bin, sizeof(storaged_bin), "%s", argv[0]);
		if ((p = strrchr(storaged_bin, '/')) != NULL)
			*p = '\0';
		else
			snprintf(storaged_bin, sizeof(storaged_bin), ".");
		n = strlen(storaged_bin);
		snprintf(storaged_bin + n, sizeof(storaged_bin) - n,
		    "/../../../storaged/storaged");
	}
	if (access(storaged_bin, X_OK) == -1) {
		fprintf(stderr, "%s: %s\n", storaged_bin, strerror(errno));
		return (99);
	}
	log_init("test_storelink", "tern@127.0.0.1", false);
	log_set_level(LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return (99);
	}
	snprintf(run, sizeof(run), "%s/run", tdir);
	mkdir(run, 0755);
	snprintf(endpoint, sizeof(endpoint), "ipc://%s/storaged.sock", run);
	atexit(at_exit_kill);
	write_conf(NULL);
	if (storaged_try_start() == -1) {
		fprintf(stderr, "storaged did not start\n");
		return (99);
	}
	base = event_base_new();

	rc = unit_run("storelink", tests);

	storaged_kill(SIGTERM);
	event_base_free(base);
	ipc_ctx_term();
	nftw(tdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return (rc);
}
