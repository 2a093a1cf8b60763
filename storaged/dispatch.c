/* SPDX-License-Identifier: MIT */
/*
 * storaged's messages from its peers: requests go into one store batch per
 * drain of the socket (group commit), are written with one RocksDB write
 * (one sync with storage.sync = always), and only then answered.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "storaged/storaged.h"

/* Requests applied in one group commit at most. */
#define DISPATCH_MAX		4096
/* Bytes of records in one LOAD chunk (a frame may exceed it by one). */
#define DISPATCH_CHUNK		(256 * 1024)

/* A request applied to the batch, answered after the commit. */
struct pending {
	struct ipc_msg		 m;	/* kept open: app borrows */
	uint32_t		 id;
	int			 code;	/* the operation's outcome */
	struct ipc_store_append	 app;
	bool			*full;
	uint32_t		 nfull;
};

static struct pending	*pend;
static size_t		 npend, pendcap;

static void
dispatch_send_rep(struct storaged *sd, struct pending *p, int commit_code)
{
	struct ipc_store_rep	 rep = { 0 };
	uint32_t		 i, j = 0;

	rep.id = p->id;
	rep.rc = p->code != IPC_STORE_OK ? p->code : commit_code;
	if (rep.rc == IPC_STORE_OK && p->nfull > 0) {
		rep.full = xcalloc(p->nfull, sizeof(*rep.full));
		for (i = 0; i < p->app.ntargets && j < p->nfull; i++)
			if (p->full[i])
				rep.full[j++] = p->app.targets[i].client_id;
		rep.nfull = j;
	}
	if (ipc_send_store_rep(sd->sock, &p->m.from, &rep) == -1)
		log_debug("storaged: reply %u: %s", p->id, strerror(errno));
	free(rep.full);
}

/* Commits the batch and answers every pending request. */
static void
dispatch_flush(struct storaged *sd)
{
	struct pending	*p;
	size_t		 i;
	int		 code;

	if (npend == 0)
		return;
	code = store_commit(sd->store);
	sd->batches++;
	if (npend > sd->batch_max)
		sd->batch_max = npend;
	for (i = 0; i < npend; i++) {
		p = &pend[i];
		dispatch_send_rep(sd, p, code);
		ipc_store_free_append(&p->app);
		free(p->full);
		ipc_msg_close(&p->m);
	}
	npend = 0;
}

static struct pending *
dispatch_pend(struct ipc_msg *m, uint32_t id)
{
	struct pending	*p;

	if (npend == pendcap) {
		pendcap = pendcap ? pendcap * 2 : 64;
		pend = xreallocarray(pend, pendcap, sizeof(*pend));
	}
	p = &pend[npend++];
	memset(p, 0, sizeof(*p));
	p->m = *m;
	p->id = id;
	return (p);
}

/* Answers a request that could not be decoded (its id, if readable). */
static void
dispatch_bad(struct storaged *sd, struct ipc_msg *m)
{
	struct ipc_store_rep	rep = { 0 };

	sd->bad_requests++;
	log_warnx("storaged: malformed %s (%zu bytes) dropped",
	    ipc_type_name(m->type), m->len);
	if (m->len >= 4) {
		rep.id = be32_get(m->payload);
		rep.rc = IPC_STORE_E_INVALID;
		ipc_send_store_rep(sd->sock, &m->from, &rep);
	}
	ipc_msg_close(m);
}

struct load_ctx {
	struct storaged	*sd;
	struct ipc_peer	*to;
	uint32_t	 id;
	struct buf	 recs;
	uint32_t	 n;
	bool		 send_failed;
};

static int
dispatch_load_send(struct load_ctx *lc, int32_t rc, bool last)
{
	struct buf	b = BUF_INIT;
	int		r;

	ipc_enc_store_load_rep_head(&b, lc->id, rc, last, lc->n);
	buf_add(&b, lc->recs.data, lc->recs.len);
	r = ipc_send(lc->sd->sock, lc->to, IPC_STORE_LOAD_REP, &b);
	buf_free(&b);
	buf_reset(&lc->recs);
	lc->n = 0;
	if (r == -1) {
		log_warnx("storaged: load %u: send: %s", lc->id,
		    strerror(errno));
		lc->send_failed = true;
	}
	return (r);
}

static int
dispatch_load_rec(const struct ipc_store_rec *rec, void *arg)
{
	struct load_ctx	*lc = arg;

	ipc_enc_store_rec(&lc->recs, rec);
	lc->n++;
	if (lc->recs.len >= DISPATCH_CHUNK)
		return (dispatch_load_send(lc, IPC_STORE_OK, false));
	return (0);
}

static void
dispatch_load(struct storaged *sd, struct ipc_msg *m)
{
	struct ipc_store_load	ld;
	struct load_ctx		lc = { 0 };
	int			rc;

	if (ipc_recv_store_load(m, &ld) == -1) {
		dispatch_bad(sd, m);
		return;
	}
	sd->load_requests++;
	lc.sd = sd;
	lc.to = &m->from;
	lc.id = ld.id;
	buf_init(&lc.recs);
	rc = store_load(sd->store, ld.owner, ld.client_id, ld.what,
	    dispatch_load_rec, &lc);
	if (rc == 0)
		dispatch_load_send(&lc, IPC_STORE_OK, true);
	else {
		buf_reset(&lc.recs);
		lc.n = 0;
		dispatch_load_send(&lc, lc.send_failed ? IPC_STORE_E_BUSY :
		    IPC_STORE_E_IO, true);
	}
	if (ld.client_id.len == 0)
		log_info("storaged: load %u for owner \"%.*s\": %s", ld.id,
		    (int)ld.owner.len, (const char *)ld.owner.p,
		    rc == 0 ? "sent" : "failed");
	else
		log_debug("storaged: load %u of session \"%.*s\" of owner "
		    "\"%.*s\": %s", ld.id, (int)ld.client_id.len,
		    (const char *)ld.client_id.p, (int)ld.owner.len,
		    (const char *)ld.owner.p, rc == 0 ? "sent" : "failed");
	buf_free(&lc.recs);
	ipc_msg_close(m);
}

static void
dispatch_control(struct storaged *sd, struct ipc_msg *m)
{
	struct ipc_hello	h = { 0 };
	struct ipc_heartbeat	hb;
	struct ipc_status_req	sr;
	struct ipc_status_rep	rep = { 0 };

	switch (m->type) {
	case IPC_HELLO:
		if (ipc_recv_hello(m, &h) == -1)
			goto bad;
		log_info("storaged: hello from %s (pid %u)", h.daemon, h.pid);
		memset(&h, 0, sizeof(h));
		snprintf(h.daemon, sizeof(h.daemon), "storaged");
		snprintf(h.nodename, sizeof(h.nodename), "%s", sd->nodename);
		h.pid = (uint32_t)getpid();
		h.boot_id = sd->boot_id;
		ipc_send_hello(sd->sock, &m->from, &h);
		break;
	case IPC_HEARTBEAT:
		if (ipc_recv_heartbeat(m, &hb) == -1)
			goto bad;
		ipc_send_heartbeat(sd->sock, &m->from, &hb);
		break;
	case IPC_STATUS_REQ:
		if (ipc_recv_status_req(m, &sr) == -1)
			goto bad;
		rep.id = sr.id;
		rep.json = storaged_status_json(sd, sr.what);
		rep.rc = rep.json != NULL ? 0 : -1;
		if (rep.json == NULL)
			rep.json = xstrdup("{\"error\": \"unknown request\"}");
		ipc_send_status_rep(sd->sock, &m->from, &rep);
		free(rep.json);
		break;
	default:
		goto bad;
	}
	ipc_msg_close(m);
	return;
 bad:
	sd->bad_requests++;
	log_warnx("storaged: malformed or unexpected %s dropped",
	    ipc_type_name(m->type));
	ipc_msg_close(m);
}

/* Decodes one store request and applies it to the batch. */
static void
dispatch_store(struct storaged *sd, struct ipc_msg *m)
{
	struct ipc_store_session	sess;
	struct ipc_store_subs		subs;
	struct ipc_store_ack		ack;
	struct ipc_store_mark		mark;
	struct ipc_store_qos2		q2;
	struct ipc_store_retain		ret;
	struct ipc_store_will		will;
	struct ipc_store_append		app;
	struct pending			*p;
	struct store			*st = sd->store;
	uint32_t			 id;
	int				 code;

	switch (m->type) {
	case IPC_STORE_SESSION_PUT:
	case IPC_STORE_SESSION_DEL:
		if (ipc_recv_store_session(m, &sess) == -1)
			goto bad;
		id = sess.id;
		code = m->type == IPC_STORE_SESSION_PUT ?
		    store_session_put(st, &sess) :
		    store_session_del(st, &sess.s);
		ipc_store_free_session(&sess);
		break;
	case IPC_STORE_SUB_PUT:
	case IPC_STORE_SUB_DEL:
		if (ipc_recv_store_subs(m, &subs) == -1)
			goto bad;
		id = subs.id;
		code = m->type == IPC_STORE_SUB_PUT ? store_sub_put(st, &subs) :
		    store_sub_del(st, &subs);
		ipc_store_free_subs(&subs);
		break;
	case IPC_STORE_APPEND:
		if (ipc_recv_store_append(m, &app) == -1)
			goto bad;
		p = dispatch_pend(m, app.id);
		p->app = app;
		p->full = xcalloc(app.ntargets ? app.ntargets : 1,
		    sizeof(*p->full));
		p->code = store_append(st, &p->app, p->full, &p->nfull);
		return;
	case IPC_STORE_ACK:
		if (ipc_recv_store_ack(m, &ack) == -1)
			goto bad;
		id = ack.id;
		code = store_ack(st, &ack);
		ipc_store_free_ack(&ack);
		break;
	case IPC_STORE_MARK:
		if (ipc_recv_store_mark(m, &mark) == -1)
			goto bad;
		id = mark.id;
		code = store_mark(st, &mark);
		ipc_store_free_mark(&mark);
		break;
	case IPC_STORE_QOS2_PUT:
	case IPC_STORE_QOS2_DEL:
		if (ipc_recv_store_qos2(m, &q2) == -1)
			goto bad;
		id = q2.id;
		code = m->type == IPC_STORE_QOS2_PUT ? store_qos2_put(st, &q2) :
		    store_qos2_del(st, &q2);
		ipc_store_free_qos2(&q2);
		break;
	case IPC_STORE_RETAIN_PUT:
	case IPC_STORE_RETAIN_DEL:
		if (ipc_recv_store_retain(m, &ret) == -1)
			goto bad;
		id = ret.id;
		code = m->type == IPC_STORE_RETAIN_PUT ?
		    store_retain_put(st, &ret) : store_retain_del(st, &ret);
		break;
	case IPC_STORE_WILL_PUT:
	case IPC_STORE_WILL_DEL:
		if (ipc_recv_store_will(m, &will) == -1)
			goto bad;
		id = will.id;
		code = m->type == IPC_STORE_WILL_PUT ?
		    store_will_put(st, &will) : store_will_del(st, &will.s);
		break;
	default:
		goto bad;
	}
	p = dispatch_pend(m, id);
	p->code = code;
	return;
 bad:
	dispatch_bad(sd, m);
}

void
storaged_dispatch(void *sock, void *arg)
{
	struct storaged	*sd = arg;
	struct ipc_msg	 m;
	size_t		 n;

	for (n = 0; n < DISPATCH_MAX; n++) {
		if (ipc_recv(sock, &m) != 1)
			break;
		sd->requests++;
		switch (m.type) {
		case IPC_HELLO:
		case IPC_HEARTBEAT:
		case IPC_STATUS_REQ:
			dispatch_control(sd, &m);
			break;
		case IPC_STORE_LOAD:
			/* LOAD sees every change answered before it. */
			dispatch_flush(sd);
			dispatch_load(sd, &m);
			break;
		case IPC_STORE_REP:
		case IPC_STORE_LOAD_REP:
			dispatch_bad(sd, &m);
			break;
		default:
			dispatch_store(sd, &m);
			break;
		}
	}
	dispatch_flush(sd);
	if (sd->ev != NULL)
		ipc_ev_kick(sd->ev);
}

/* Status */

static void
json_str(struct buf *b, const char *s)
{
	char	tmp[8];

	buf_add_u8(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\') {
			buf_add_u8(b, '\\');
			buf_add_u8(b, (uint8_t)*s);
		} else if ((unsigned char)*s < 0x20) {
			snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)*s);
			buf_add(b, tmp, 6);
		} else
			buf_add_u8(b, (uint8_t)*s);
	}
	buf_add_u8(b, '"');
}

static void
json_num(struct buf *b, const char *name, uint64_t v, bool comma)
{
	char	tmp[128];
	int	n;

	n = snprintf(tmp, sizeof(tmp), "\"%s\": %llu%s", name,
	    (unsigned long long)v, comma ? ", " : "");
	buf_add(b, tmp, (size_t)n);
}

static char *
json_finish(struct buf *b)
{
	size_t	len;
	char	*s;

	buf_add_u8(b, '\0');
	s = (char *)buf_release(b, &len);
	return (s);
}

char *
storaged_status_json(struct storaged *sd, const char *what)
{
	struct store_stats	s;
	struct buf		b = BUF_INIT;
	uint64_t		avg;

	store_get_stats(sd->store, &s);
	avg = s.commits ? s.commit_us_total / s.commits : 0;
	if (strcmp(what, "metrics") == 0) {
		buf_add(&b, "{", 1);
		json_num(&b, "storaged_requests_total", sd->requests, true);
		json_num(&b, "storaged_bad_requests_total", sd->bad_requests,
		    true);
		json_num(&b, "storaged_commits_total", s.commits, true);
		json_num(&b, "storaged_commit_ops_total", s.commit_ops, true);
		json_num(&b, "storaged_commit_us_total",
		    s.commit_us_total, true);
		json_num(&b, "storaged_commit_latency_us_max",
		    s.commit_us_max, true);
		json_num(&b, "storaged_wal_syncs_total", s.syncs, true);
		json_num(&b, "storaged_appends_total", s.appends, true);
		json_num(&b, "storaged_queued_total", s.queued, true);
		json_num(&b, "storaged_acked_total", s.acked, true);
		json_num(&b, "storaged_dropped_queue_full_total",
		    s.drop_queue_full, true);
		json_num(&b, "storaged_dropped_expired_total", s.drop_expired,
		    true);
		json_num(&b, "storaged_sessions_expired_total",
		    s.sessions_expired, true);
		json_num(&b, "storaged_write_errors_total", s.write_errors,
		    true);
		json_num(&b, "storaged_nospace_errors_total", s.nospace_errors,
		    true);
		json_num(&b, "storaged_sessions", s.est_sessions, true);
		json_num(&b, "storaged_queue_entries", s.est_queue, true);
		json_num(&b, "storaged_bodies", s.est_bodies, true);
		json_num(&b, "storaged_retained", s.est_retained, true);
		json_num(&b, "storaged_disk_bytes", s.disk_bytes, true);
		json_num(&b, "storaged_disk_free_bytes", s.disk_free, false);
		buf_add(&b, "}", 1);
		return (json_finish(&b));
	}
	if (strcmp(what, "status") != 0 && what[0] != '\0')
		return (NULL);
	buf_add(&b, "{\"daemon\": \"storaged\", \"node\": ", 31);
	json_str(&b, sd->nodename);
	buf_add(&b, ", ", 2);
	json_num(&b, "pid", (uint64_t)getpid(), true);
	json_num(&b, "schema_version", STORE_SCHEMA_VERSION, true);
	buf_add(&b, "\"sync\": ", 8);
	json_str(&b, sd->sync_always ? "always" : "interval");
	buf_add(&b, ", \"estimated\": {", 16);
	json_num(&b, "sessions", s.est_sessions, true);
	json_num(&b, "subscriptions", s.est_subs, true);
	json_num(&b, "queue_entries", s.est_queue, true);
	json_num(&b, "bodies", s.est_bodies, true);
	json_num(&b, "retained", s.est_retained, false);
	buf_add(&b, "}, ", 3);
	json_num(&b, "requests", sd->requests, true);
	json_num(&b, "bad_requests", sd->bad_requests, true);
	json_num(&b, "group_commits", sd->batches, true);
	json_num(&b, "group_commit_max", sd->batch_max, true);
	json_num(&b, "commits", s.commits, true);
	json_num(&b, "commit_ops", s.commit_ops, true);
	buf_add(&b, "\"write_latency_us\": {", 21);
	json_num(&b, "last", s.commit_us_last, true);
	json_num(&b, "avg", avg, true);
	json_num(&b, "max", s.commit_us_max, false);
	buf_add(&b, "}, \"drops\": {", 13);
	json_num(&b, "queue_full", s.drop_queue_full, true);
	json_num(&b, "expired", s.drop_expired, false);
	buf_add(&b, "}, ", 3);
	json_num(&b, "sessions_expired", s.sessions_expired, true);
	json_num(&b, "write_errors", s.write_errors, true);
	json_num(&b, "nospace_errors", s.nospace_errors, true);
	json_num(&b, "disk_bytes", s.disk_bytes, true);
	json_num(&b, "disk_free_bytes", s.disk_free, true);
	buf_add(&b, "\"last_error\": ", 14);
	json_str(&b, store_last_error(sd->store));
	buf_add(&b, "}", 1);
	return (json_finish(&b));
}
