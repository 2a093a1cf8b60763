/* SPDX-License-Identifier: MIT */
/*
 * mqttd's link to storaged: outstanding requests with their callbacks,
 * batching, back-pressure, resending after a storaged restart, LOAD, and
 * the node's message id generator (see storelink.h).
 *
 * Every request lives in one list, in the order it was made, from creation
 * until it is answered; those before first_unsent have been sent to the
 * storaged whose boot id we know.  When a HELLO answer carries another boot
 * id, the whole list is marked unsent and goes out again in the same order:
 * storaged applies requests in order, so replaying the unanswered tail in
 * order leaves the store as if the first attempt had succeeded.
 */
#include <sys/queue.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"
#include "mqttd/storelink.h"

#ifndef TAILQ_FOREACH_SAFE
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)			\
	for ((var) = TAILQ_FIRST(head);					\
	    (var) != NULL && ((tvar) = TAILQ_NEXT(var, field), 1);	\
	    (var) = (tvar))
#endif

#define SL_TICK_MS	100	/* housekeeping timer */
#define SL_HB_MS	1000	/* heartbeat while up */
#define SL_DEAD_MS	3000	/* silence that means storaged is gone */
#define SL_HELLO_MS	250	/* HELLO while down */
/* A request unanswered this long makes us ask storaged's boot id again. */
#define SL_PROBE_MS	1000
#define SL_IO_TRIES	3	/* IPC_STORE_E_IO retries */
#define SL_IO_DELAY_MS	250	/* times the try number */
#define SL_BUSY_MS	500	/* LOAD answered IPC_STORE_E_BUSY */
#define SL_MERGE_MAX	1024	/* entries merged into one request */
#define SL_MERGE_SCAN	32	/* unsent requests looked back over */
#define SL_RECV_MAX	256	/* messages read per callback */

struct sl_waiter {
	storelink_cb	 cb;
	void		*arg;
};

struct sl_req {
	TAILQ_ENTRY(sl_req) link;
	uint32_t	 id;
	uint16_t	 type;		/* IPC_STORE_* */
	bool		 sent;
	bool		 on_retry;	/* in retry, not in reqs */
	bool		 delivering;	/* LOAD: records handed out */
	bool		 fixed;		/* frame final: never merged */
	uint8_t		 tries;		/* IPC_STORE_E_IO answers */
	uint64_t	 sent_at;	/* monotonic ms */
	uint64_t	 due;		/* retry: when to go back */
	/*
	 * Sessions the request touches, as a 64-bit Bloom filter of client
	 * id hashes (all ones: a barrier, e.g. LOAD), so that merging never
	 * moves an operation past another one on the same session.
	 */
	uint64_t	 bloom;
	size_t		 bytes;		/* counted in sl->bytes */
	struct buf	 frame;		/* payload; merged kinds: at send */
	/* ACK, MARK, QOS2_PUT/DEL: one session, many entries. */
	char		*cid;
	size_t		 cid_len;
	uint64_t	*vals;		/* seqs or packet ids */
	uint8_t		*states;	/* MARK */
	uint32_t	 n;
	uint32_t	 cap;
	/* LOAD: owner and (in cid) client id, both "" = this node's all */
	const struct storelink_load_cbs *lcbs;	/* borrowed */
	void		*larg;
	uint32_t	 what;
	char		*owner;
	size_t		 owner_len;
	/* Who waits: w1, then wx[]. */
	struct sl_waiter w1;
	struct sl_waiter *wx;
	uint32_t	 nwx;
	uint32_t	 wxcap;
};
TAILQ_HEAD(sl_req_list, sl_req);

struct storelink {
	struct event_base	*base;		/* borrowed */
	struct storelink_opts	 o;		/* strings borrowed */
	void			*sock;
	struct ipc_ev		*ev;
	struct event		*flush_ev;
	struct event		*tick_ev;
	struct sl_req_list	 reqs;
	struct sl_req		*first_unsent;
	struct sl_req_list	 retry;
	struct sl_req_list	 fails;		/* refused: answer next round */
	uint32_t		 next_req_id;
	size_t			 nreqs;
	size_t			 bytes;
	bool			 blocked;
	bool			 up;
	bool			 flush_pending;
	uint64_t		 boot_id;	/* storaged's; 0 = unknown */
	uint64_t		 my_boot_id;
	uint64_t		 last_heard;
	uint64_t		 last_hb;
	uint64_t		 last_hello;
	uint64_t		 hb_seq;
	uint64_t		 last_id;	/* storelink_next_id() */
	struct storelink_stats	 st;
};

static void	sl_flush(struct storelink *);

static uint64_t
sl_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static uint64_t
sl_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

/* The Bloom bit of a client id (FNV-1a). */
static uint64_t
sl_bit(const void *p, size_t len)
{
	const uint8_t	*s = p;
	uint32_t	 h = 2166136261u;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= 16777619u;
	}
	return ((uint64_t)1 << (h % 64));
}

uint64_t
storelink_next_id(struct storelink *sl)
{
	uint64_t	base = sl_wall_ms() << 16;

	sl->last_id = base > sl->last_id ? base : sl->last_id + 1;
	return (sl->last_id);
}

void
storelink_seen_id(struct storelink *sl, uint64_t id)
{
	if (id > sl->last_id)
		sl->last_id = id;
}

bool
is_storelink_up(const struct storelink *sl)
{
	return (sl->up);
}

bool
storelink_would_block(const struct storelink *sl)
{
	return (sl->blocked);
}

static void
sl_account(struct storelink *sl, struct sl_req *r)
{
	size_t	b;

	b = sizeof(*r) + r->frame.cap + r->cid_len + r->owner_len +
	    (size_t)r->cap * (sizeof(*r->vals) + 1) +
	    (size_t)r->wxcap * sizeof(*r->wx);
	sl->bytes = sl->bytes - r->bytes + b;
	r->bytes = b;
	if (!sl->blocked && (sl->nreqs >= sl->o.max_reqs ||
	    sl->bytes >= sl->o.max_bytes)) {
		sl->blocked = true;
		sl->st.blocked++;
		log_debug("storelink: %zu requests, %zu bytes outstanding: "
		    "back-pressure on", sl->nreqs, sl->bytes);
	}
}

static void
sl_check_unblock(struct storelink *sl)
{
	if (!sl->blocked || sl->nreqs > sl->o.max_reqs / 4 * 3 ||
	    sl->bytes > sl->o.max_bytes / 4 * 3)
		return;
	sl->blocked = false;
	log_debug("storelink: back-pressure off");
	if (sl->o.unblock != NULL)
		sl->o.unblock(sl->o.arg);
}

static uint32_t
sl_new_id(struct storelink *sl)
{
	if (++sl->next_req_id == 0)
		sl->next_req_id = 1;
	return (sl->next_req_id);
}

static void
sl_schedule(struct storelink *sl)
{
	if (!sl->flush_pending) {
		sl->flush_pending = true;
		event_active(sl->flush_ev, EV_TIMEOUT, 0);
	}
}

/* Puts r (unsent) at the end of the list. */
static void
sl_enqueue(struct storelink *sl, struct sl_req *r)
{
	r->sent = false;
	r->on_retry = false;
	TAILQ_INSERT_TAIL(&sl->reqs, r, link);
	if (sl->first_unsent == NULL)
		sl->first_unsent = r;
	sl_schedule(sl);
}

static struct sl_req *
sl_req_new(struct storelink *sl, uint16_t type, storelink_cb cb, void *arg)
{
	struct sl_req	*r;

	r = xcalloc(1, sizeof(*r));
	r->id = sl_new_id(sl);
	r->type = type;
	r->w1.cb = cb;
	r->w1.arg = arg;
	buf_init(&r->frame);
	sl->nreqs++;
	sl->st.requests++;
	return (r);
}

static void
sl_req_free(struct storelink *sl, struct sl_req *r)
{
	sl->nreqs--;
	sl->bytes -= r->bytes;
	buf_free(&r->frame);
	free(r->cid);
	free(r->owner);
	free(r->vals);
	free(r->states);
	free(r->wx);
	free(r);
}

/* Adds a plain request whose frame is encoded: it is sent as it is. */
static void
sl_add(struct storelink *sl, struct sl_req *r, uint64_t bloom)
{
	r->bloom = bloom;
	sl_account(sl, r);
	sl_enqueue(sl, r);
}

static bool
sl_is_mergeable(uint16_t type)
{
	return (type == IPC_STORE_ACK || type == IPC_STORE_MARK ||
	    type == IPC_STORE_QOS2_PUT || type == IPC_STORE_QOS2_DEL);
}

/*
 * Finds an unsent request of type on client id cid that the new entry can
 * join: looking back from the end of the list, stopping at a sent request
 * or at anything else that may touch the same session.
 */
static struct sl_req *
sl_merge_target(struct storelink *sl, uint16_t type, const char *cid,
    size_t len, uint64_t bit)
{
	struct sl_req	*r;
	int		 n = 0;

	TAILQ_FOREACH_REVERSE(r, &sl->reqs, sl_req_list, link) {
		if (r->sent || ++n > SL_MERGE_SCAN)
			return (NULL);
		if (!r->fixed && r->type == type && r->cid_len == len &&
		    memcmp(r->cid, cid, len) == 0) {
			if (r->n >= SL_MERGE_MAX)
				return (NULL);
			return (r);
		}
		if ((r->bloom & bit) != 0)
			return (NULL);
	}
	return (NULL);
}

static void
sl_add_waiter(struct sl_req *r, storelink_cb cb, void *arg)
{
	if (cb == NULL)
		return;
	if (r->w1.cb == NULL) {
		r->w1.cb = cb;
		r->w1.arg = arg;
		return;
	}
	if (r->nwx == r->wxcap) {
		r->wxcap = r->wxcap ? r->wxcap * 2 : 4;
		r->wx = xreallocarray(r->wx, r->wxcap, sizeof(*r->wx));
	}
	r->wx[r->nwx].cb = cb;
	r->wx[r->nwx].arg = arg;
	r->nwx++;
}

/* ACK, MARK, QOS2_PUT/DEL of one entry: merged where it is safe. */
static void
sl_entry(struct storelink *sl, uint16_t type, const char *cid, size_t len,
    uint64_t val, uint8_t state, storelink_cb cb, void *arg)
{
	struct sl_req	*r;
	uint64_t	 bit = sl_bit(cid, len);

	if (len == 0 || len > IPC_STORE_CLIENT_MAX) {
		log_warnx("storelink: %s with a bad client id length %zu "
		    "dropped", ipc_type_name(type), len);
		return;
	}
	if ((r = sl_merge_target(sl, type, cid, len, bit)) != NULL) {
		sl->st.requests++;
		sl->st.merged++;
		sl_add_waiter(r, cb, arg);
	} else {
		r = sl_req_new(sl, type, cb, arg);
		r->cid = xmemdup(cid, len);
		r->cid_len = len;
		r->bloom = bit;
		sl_enqueue(sl, r);
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 4;
		r->vals = xreallocarray(r->vals, r->cap, sizeof(*r->vals));
		if (type == IPC_STORE_MARK)
			r->states = xrealloc(r->states, r->cap);
	}
	r->vals[r->n] = val;
	if (r->states != NULL)
		r->states[r->n] = state;
	r->n++;
	sl_account(sl, r);
}

/* Encodes the frame of a request built at send time. */
static void
sl_encode(struct sl_req *r)
{
	struct ipc_store_ack		 ack = { 0 };
	struct ipc_store_mark		 mark = { 0 };
	struct ipc_store_qos2		 q2 = { 0 };
	struct ipc_store_load		 ld = { 0 };
	struct ipc_store_sess		 s;
	uint32_t			 i;

	s.owner = ipc_bytes_str("");
	s.client_id.p = (const uint8_t *)r->cid;
	s.client_id.len = r->cid_len;
	buf_reset(&r->frame);
	switch (r->type) {
	case IPC_STORE_ACK:
		ack.id = r->id;
		ack.s = s;
		ack.nseqs = r->n;
		ack.seqs = r->vals;
		ipc_enc_store_ack(&r->frame, &ack);
		break;
	case IPC_STORE_MARK:
		mark.id = r->id;
		mark.s = s;
		mark.n = r->n;
		mark.ents = xcalloc(r->n, sizeof(*mark.ents));
		for (i = 0; i < r->n; i++) {
			mark.ents[i].seq = r->vals[i];
			mark.ents[i].state = r->states[i];
		}
		ipc_enc_store_mark(&r->frame, &mark);
		free(mark.ents);
		break;
	case IPC_STORE_QOS2_PUT:
	case IPC_STORE_QOS2_DEL:
		q2.id = r->id;
		q2.s = s;
		q2.n = r->n;
		q2.pids = xcalloc(r->n, sizeof(*q2.pids));
		for (i = 0; i < r->n; i++)
			q2.pids[i] = (uint16_t)r->vals[i];
		ipc_enc_store_qos2(&r->frame, &q2);
		free(q2.pids);
		break;
	case IPC_STORE_LOAD:
		ld.id = r->id;
		ld.owner.p = (const uint8_t *)r->owner;
		ld.owner.len = r->owner_len;
		ld.what = r->what;
		ld.client_id = s.client_id;
		ipc_enc_store_load(&r->frame, &ld);
		break;
	}
}

/* Link state */

static void
sl_send_hello(struct storelink *sl)
{
	struct ipc_hello	h = { 0 };

	snprintf(h.daemon, sizeof(h.daemon), "mqttd");
	snprintf(h.nodename, sizeof(h.nodename), "%s",
	    sl->o.nodename != NULL ? sl->o.nodename : "");
	h.pid = (uint32_t)getpid();
	h.boot_id = sl->my_boot_id;
	sl->last_hello = sl_mono();
	if (ipc_send_hello(sl->sock, NULL, &h) == 0)
		ipc_ev_kick(sl->ev);
}

static void
sl_down(struct storelink *sl, const char *why)
{
	if (!sl->up)
		return;
	sl->up = false;
	log_warnx("storelink: storaged is down (%s); %zu requests wait",
	    why, sl->nreqs);
	if (sl->o.link != NULL)
		sl->o.link(sl->o.arg, false);
}

/* A LOAD starts over: with a new id, so chunks of the old one are ignored. */
static void
sl_load_reset(struct storelink *sl, struct sl_req *r)
{
	r->id = sl_new_id(sl);
	if (r->delivering) {
		r->delivering = false;
		if (r->lcbs->restart != NULL)
			r->lcbs->restart(r->larg);
	}
}

/* storaged restarted: everything unanswered goes out again, in order. */
static void
sl_replay(struct storelink *sl)
{
	struct sl_req	*r;

	TAILQ_FOREACH(r, &sl->reqs, link) {
		if (r->sent)
			sl->st.resent++;
		r->sent = false;
		if (r->type == IPC_STORE_LOAD)
			sl_load_reset(sl, r);
	}
	sl->first_unsent = TAILQ_FIRST(&sl->reqs);
}

static void
sl_handle_hello(struct storelink *sl, const struct ipc_msg *m)
{
	struct ipc_hello	h;

	if (ipc_recv_hello(m, &h) == -1) {
		log_warnx("storelink: malformed hello from storaged");
		return;
	}
	if (h.boot_id != sl->boot_id) {
		if (sl->boot_id != 0) {
			sl->st.restarts++;
			log_warnx("storelink: storaged restarted (pid %u): "
			    "sending %zu unanswered requests again", h.pid,
			    sl->nreqs);
			sl_replay(sl);
		}
		sl->boot_id = h.boot_id;
	}
	if (!sl->up) {
		sl->up = true;
		log_info("storelink: storaged is up (pid %u)", h.pid);
		if (sl->o.link != NULL)
			sl->o.link(sl->o.arg, true);
	}
	sl_schedule(sl);
}

/* Replies */

static struct sl_req *
sl_find(struct storelink *sl, uint32_t id)
{
	struct sl_req	*r;

	/* Answers come in order: the first request is nearly always it. */
	TAILQ_FOREACH(r, &sl->reqs, link)
		if (r->id == id)
			return (r);
	return (NULL);
}

static void
sl_unlink(struct storelink *sl, struct sl_req *r)
{
	if (sl->first_unsent == r)
		sl->first_unsent = TAILQ_NEXT(r, link);
	TAILQ_REMOVE(&sl->reqs, r, link);
}

/* Puts r aside until due, then at the end of the list. */
static void
sl_retry_later(struct storelink *sl, struct sl_req *r, uint64_t ms)
{
	sl_unlink(sl, r);
	r->sent = false;
	r->on_retry = true;
	r->due = sl_mono() + ms;
	TAILQ_INSERT_TAIL(&sl->retry, r, link);
}

static void
sl_complete(struct storelink *sl, struct sl_req *r, int rc,
    const struct ipc_bytes *full, uint32_t nfull)
{
	uint32_t	i;

	sl_unlink(sl, r);
	sl->st.replies++;
	if (rc != IPC_STORE_OK)
		sl->st.errors++;
	if (r->w1.cb != NULL)
		r->w1.cb(r->w1.arg, rc, full, nfull);
	for (i = 0; i < r->nwx; i++)
		r->wx[i].cb(r->wx[i].arg, rc, full, nfull);
	sl_req_free(sl, r);
}

static void
sl_handle_rep(struct storelink *sl, const struct ipc_msg *m)
{
	struct ipc_store_rep	 rep;
	struct sl_req		*r;

	if (ipc_recv_store_rep(m, &rep) == -1) {
		log_warnx("storelink: malformed reply from storaged dropped");
		return;
	}
	if ((r = sl_find(sl, rep.id)) == NULL || r->type == IPC_STORE_LOAD) {
		log_trace(TRACE_IPC, "storelink: reply %u to nothing", rep.id);
		ipc_store_free_rep(&rep);
		return;
	}
	switch (rep.rc) {
	case IPC_STORE_E_IO:
		if (r->tries < SL_IO_TRIES) {
			r->tries++;
			sl->st.retries++;
			log_debug("storelink: %s %u: I/O error, retry %u",
			    ipc_type_name(r->type), r->id, r->tries);
			sl_retry_later(sl, r, (uint64_t)SL_IO_DELAY_MS *
			    r->tries);
			break;
		}
		log_warnx("storelink: %s failed: I/O error in storaged",
		    ipc_type_name(r->type));
		sl_complete(sl, r, rep.rc, NULL, 0);
		break;
	case IPC_STORE_E_INVALID:
		log_warnx("storelink: storaged refused %s as invalid",
		    ipc_type_name(r->type));
		sl_complete(sl, r, rep.rc, NULL, 0);
		break;
	default:
		sl_complete(sl, r, rep.rc, rep.full, rep.nfull);
		break;
	}
	ipc_store_free_rep(&rep);
	sl_check_unblock(sl);
}

static void
sl_load_rec(struct storelink *sl, struct sl_req *r,
    const struct ipc_store_rec *rec)
{
	const struct storelink_load_cbs	*c = r->lcbs;
	void				(*fn)(void *,
					    const struct ipc_store_rec *);

	fn = NULL;

	switch (rec->kind) {
	case IPC_STORE_R_SESSION:
		fn = c->session;
		break;
	case IPC_STORE_R_SUB:
		fn = c->sub;
		break;
	case IPC_STORE_R_QUEUE:
		storelink_seen_id(sl, rec->msg_id);
		storelink_seen_id(sl, rec->seq);
		fn = c->queue;
		break;
	case IPC_STORE_R_QOS2:
		fn = c->qos2;
		break;
	case IPC_STORE_R_RETAIN:
		fn = c->retain;
		break;
	case IPC_STORE_R_WILL:
		fn = c->will;
		break;
	}
	if (fn != NULL)
		fn(r->larg, rec);
}

static void
sl_handle_load_rep(struct storelink *sl, const struct ipc_msg *m)
{
	struct ipc_store_load_rep	 lr;
	struct sl_req			*r;
	uint32_t			 i;
	void				(*done)(void *, int);
	void				*arg;

	if (ipc_recv_store_load_rep(m, &lr) == -1) {
		log_warnx("storelink: malformed LOAD chunk dropped");
		return;
	}
	if ((r = sl_find(sl, lr.id)) == NULL || r->type != IPC_STORE_LOAD) {
		ipc_store_free_load_rep(&lr);
		return;
	}
	if (lr.rc == IPC_STORE_E_BUSY) {
		log_info("storelink: storaged was too busy to send LOAD: "
		    "again in %d ms", SL_BUSY_MS);
		sl_load_reset(sl, r);
		sl_retry_later(sl, r, SL_BUSY_MS);
		ipc_store_free_load_rep(&lr);
		return;
	}
	r->delivering = true;
	for (i = 0; i < lr.nrecs && lr.rc == IPC_STORE_OK; i++)
		sl_load_rec(sl, r, &lr.recs[i]);
	if (lr.last || lr.rc != IPC_STORE_OK) {
		if (lr.rc != IPC_STORE_OK)
			log_warnx("storelink: LOAD failed in storaged (%d)",
			    lr.rc);
		done = r->lcbs->done;
		arg = r->larg;
		sl_complete(sl, r, lr.rc, NULL, 0);
		if (done != NULL)
			done(arg, lr.rc);
	}
	ipc_store_free_load_rep(&lr);
}

static void
sl_recv_cb(void *sock, void *arg)
{
	struct storelink	*sl = arg;
	struct ipc_msg		 m;
	int			 n;

	for (n = 0; n < SL_RECV_MAX && ipc_recv(sock, &m) == 1; n++) {
		sl->last_heard = sl_mono();
		switch (m.type) {
		case IPC_HELLO:
			sl_handle_hello(sl, &m);
			break;
		case IPC_HEARTBEAT:
			break;
		case IPC_STORE_REP:
			sl_handle_rep(sl, &m);
			break;
		case IPC_STORE_LOAD_REP:
			sl_handle_load_rep(sl, &m);
			break;
		default:
			log_trace(TRACE_IPC, "storelink: %s ignored",
			    ipc_type_name(m.type));
			break;
		}
		ipc_msg_close(&m);
	}
}

/* Sending */

static void
sl_flush(struct storelink *sl)
{
	struct sl_req	*r;
	uint64_t	 now = sl_mono();
	bool		 any = false;

	if (!sl->up)
		return;
	while ((r = sl->first_unsent) != NULL) {
		if (!r->fixed && (sl_is_mergeable(r->type) ||
		    r->type == IPC_STORE_LOAD))
			sl_encode(r);
		if (ipc_send(sl->sock, NULL, r->type, &r->frame) == -1) {
			if (errno == EAGAIN)
				sl_down(sl, "cannot send");
			else
				log_warn("storelink: send %s",
				    ipc_type_name(r->type));
			break;
		}
		any = true;
		r->sent = true;
		r->sent_at = now;
		sl->st.sent++;
		sl->first_unsent = TAILQ_NEXT(r, link);
	}
	if (any)
		ipc_ev_kick(sl->ev);
}

/*
 * Refuses r: its callbacks (or LOAD's done) get IPC_STORE_E_INVALID on
 * the next round of the loop, never from inside the call that made it.
 */
static void
sl_fail(struct storelink *sl, struct sl_req *r)
{
	TAILQ_INSERT_TAIL(&sl->fails, r, link);
	sl_schedule(sl);
}

static void
sl_answer_fails(struct storelink *sl)
{
	struct sl_req	*r;
	uint32_t	 i;

	while ((r = TAILQ_FIRST(&sl->fails)) != NULL) {
		TAILQ_REMOVE(&sl->fails, r, link);
		sl->st.replies++;
		sl->st.errors++;
		if (r->type == IPC_STORE_LOAD && r->lcbs->done != NULL)
			r->lcbs->done(r->larg, IPC_STORE_E_INVALID);
		if (r->w1.cb != NULL)
			r->w1.cb(r->w1.arg, IPC_STORE_E_INVALID, NULL, 0);
		for (i = 0; i < r->nwx; i++)
			r->wx[i].cb(r->wx[i].arg, IPC_STORE_E_INVALID, NULL,
			    0);
		sl_req_free(sl, r);
	}
}

static void
sl_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct storelink	*sl = arg;

	sl->flush_pending = false;
	sl_answer_fails(sl);
	sl_flush(sl);
}

static void
sl_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct storelink	*sl = arg;
	struct ipc_heartbeat	 hb;
	struct sl_req		*r, *next;
	uint64_t		 now = sl_mono();

	TAILQ_FOREACH_SAFE(r, &sl->retry, link, next) {
		if (r->due > now)
			continue;
		TAILQ_REMOVE(&sl->retry, r, link);
		sl_enqueue(sl, r);
	}
	if (sl->up && now - sl->last_heard > SL_DEAD_MS)
		sl_down(sl, "silent");
	if (!sl->up) {
		if (now - sl->last_hello >= SL_HELLO_MS)
			sl_send_hello(sl);
		return;
	}
	if (now - sl->last_hb >= SL_HB_MS) {
		sl->last_hb = now;
		hb.seq = ++sl->hb_seq;
		if (ipc_send_heartbeat(sl->sock, NULL, &hb) == 0)
			ipc_ev_kick(sl->ev);
	}
	/*
	 * A request long unanswered: storaged may have restarted between
	 * two heartbeats and lost it.  Its HELLO answer tells (boot id).
	 */
	r = TAILQ_FIRST(&sl->reqs);
	if (r != NULL && r->sent && now - r->sent_at >= SL_PROBE_MS &&
	    now - sl->last_hello >= SL_PROBE_MS)
		sl_send_hello(sl);
	if (sl->first_unsent != NULL)
		sl_flush(sl);
}

/* Requests */

void
storelink_session_put(struct storelink *sl,
    const struct ipc_store_session *v, storelink_cb cb, void *arg)
{
	struct ipc_store_session	 s = *v;
	struct sl_req			*r;

	r = sl_req_new(sl, IPC_STORE_SESSION_PUT, cb, arg);
	s.id = r->id;
	s.s.owner = ipc_bytes_str("");
	ipc_enc_store_session(&r->frame, IPC_STORE_SESSION_PUT, &s);
	sl_add(sl, r, sl_bit(v->s.client_id.p, v->s.client_id.len));
}

void
storelink_session_del(struct storelink *sl, const char *client_id,
    size_t len, storelink_cb cb, void *arg)
{
	struct ipc_store_session	 s = { 0 };
	struct sl_req			*r;

	r = sl_req_new(sl, IPC_STORE_SESSION_DEL, cb, arg);
	s.id = r->id;
	s.s.owner = ipc_bytes_str("");
	s.s.client_id.p = (const uint8_t *)client_id;
	s.s.client_id.len = len;
	ipc_enc_store_session(&r->frame, IPC_STORE_SESSION_DEL, &s);
	sl_add(sl, r, sl_bit(client_id, len));
}

static void
sl_subs(struct storelink *sl, unsigned type, const struct ipc_store_subs *v,
    storelink_cb cb, void *arg)
{
	struct ipc_store_subs	 s = *v;
	struct sl_req		*r;

	r = sl_req_new(sl, type, cb, arg);
	s.id = r->id;
	s.s.owner = ipc_bytes_str("");
	ipc_enc_store_subs(&r->frame, type, &s);
	sl_add(sl, r, sl_bit(v->s.client_id.p, v->s.client_id.len));
}

void
storelink_sub_put(struct storelink *sl, const struct ipc_store_subs *v,
    storelink_cb cb, void *arg)
{
	sl_subs(sl, IPC_STORE_SUB_PUT, v, cb, arg);
}

void
storelink_sub_del(struct storelink *sl, const struct ipc_store_subs *v,
    storelink_cb cb, void *arg)
{
	sl_subs(sl, IPC_STORE_SUB_DEL, v, cb, arg);
}

void
storelink_append(struct storelink *sl, const struct ipc_store_append *v,
    storelink_cb cb, void *arg)
{
	struct ipc_store_append	 a = *v;
	struct sl_req		*r;
	uint64_t		 bloom = 0;
	uint32_t		 i;

	r = sl_req_new(sl, IPC_STORE_APPEND, cb, arg);
	a.id = r->id;
	a.owner = ipc_bytes_str("");
	for (i = 0; i < v->ntargets && bloom != UINT64_MAX; i++)
		bloom |= sl_bit(v->targets[i].client_id.p,
		    v->targets[i].client_id.len);
	ipc_enc_store_append(&r->frame, &a);
	sl_add(sl, r, bloom);
}

void
storelink_ack(struct storelink *sl, const char *client_id, size_t len,
    uint64_t seq, storelink_cb cb, void *arg)
{
	sl_entry(sl, IPC_STORE_ACK, client_id, len, seq, 0, cb, arg);
}

void
storelink_mark(struct storelink *sl, const char *client_id, size_t len,
    uint64_t seq, uint8_t state, storelink_cb cb, void *arg)
{
	sl_entry(sl, IPC_STORE_MARK, client_id, len, seq, state, cb, arg);
}

void
storelink_qos2_put(struct storelink *sl, const char *client_id, size_t len,
    uint16_t pid, storelink_cb cb, void *arg)
{
	sl_entry(sl, IPC_STORE_QOS2_PUT, client_id, len, pid, 0, cb, arg);
}

void
storelink_qos2_del(struct storelink *sl, const char *client_id, size_t len,
    uint16_t pid, storelink_cb cb, void *arg)
{
	sl_entry(sl, IPC_STORE_QOS2_DEL, client_id, len, pid, 0, cb, arg);
}

void
storelink_retain_put(struct storelink *sl, const struct ipc_store_body *body,
    storelink_cb cb, void *arg)
{
	struct ipc_store_retain	 v = { 0 };
	struct sl_req		*r;

	r = sl_req_new(sl, IPC_STORE_RETAIN_PUT, cb, arg);
	v.id = r->id;
	v.body = *body;
	ipc_enc_store_retain(&r->frame, IPC_STORE_RETAIN_PUT, &v);
	sl_add(sl, r, 0);
}

void
storelink_retain_del(struct storelink *sl, const char *topic, size_t len,
    storelink_cb cb, void *arg)
{
	struct ipc_store_retain	 v = { 0 };
	struct sl_req		*r;

	r = sl_req_new(sl, IPC_STORE_RETAIN_DEL, cb, arg);
	v.id = r->id;
	v.body.topic.p = (const uint8_t *)topic;
	v.body.topic.len = len;
	ipc_enc_store_retain(&r->frame, IPC_STORE_RETAIN_DEL, &v);
	sl_add(sl, r, 0);
}

void
storelink_will_put(struct storelink *sl, const char *client_id, size_t len,
    uint64_t due_at, const struct ipc_store_body *body, storelink_cb cb,
    void *arg)
{
	struct ipc_store_will	 v = { 0 };
	struct sl_req		*r;

	r = sl_req_new(sl, IPC_STORE_WILL_PUT, cb, arg);
	v.id = r->id;
	v.s.owner = ipc_bytes_str("");
	v.s.client_id.p = (const uint8_t *)client_id;
	v.s.client_id.len = len;
	v.due_at = due_at;
	v.body = *body;
	ipc_enc_store_will(&r->frame, IPC_STORE_WILL_PUT, &v);
	sl_add(sl, r, sl_bit(client_id, len));
}

void
storelink_will_del(struct storelink *sl, const char *client_id, size_t len,
    storelink_cb cb, void *arg)
{
	struct ipc_store_will	 v = { 0 };
	struct sl_req		*r;

	r = sl_req_new(sl, IPC_STORE_WILL_DEL, cb, arg);
	v.id = r->id;
	v.s.owner = ipc_bytes_str("");
	v.s.client_id.p = (const uint8_t *)client_id;
	v.s.client_id.len = len;
	ipc_enc_store_will(&r->frame, IPC_STORE_WILL_DEL, &v);
	sl_add(sl, r, sl_bit(client_id, len));
}

void
storelink_load(struct storelink *sl, uint32_t what,
    const struct storelink_load_cbs *cbs, void *arg)
{
	struct sl_req	*r;

	r = sl_req_new(sl, IPC_STORE_LOAD, NULL, NULL);
	r->lcbs = cbs;
	r->larg = arg;
	r->what = what;
	/* A barrier: nothing is merged across it. */
	sl_add(sl, r, UINT64_MAX);
}

void
storelink_load_session(struct storelink *sl, const char *owner,
    const char *client_id, size_t len, const struct storelink_load_cbs *cbs,
    void *arg)
{
	struct sl_req	*r;
	size_t		 olen = strlen(owner);

	r = sl_req_new(sl, IPC_STORE_LOAD, NULL, NULL);
	r->lcbs = cbs;
	r->larg = arg;
	if (olen > IPC_STORE_OWNER_MAX || len > IPC_STORE_CLIENT_MAX) {
		log_warnx("storelink: LOAD of a session of owner \"%.32s\": "
		    "owner (%zu bytes) or client id (%zu bytes) too long",
		    owner, olen, len);
		sl_fail(sl, r);
		return;
	}
	r->owner = xmemdup(owner, olen);
	r->owner_len = olen;
	if (len > 0) {
		r->cid = xmemdup(client_id, len);
		r->cid_len = len;
	}
	/* A barrier too: it sees every request made before it. */
	sl_add(sl, r, UINT64_MAX);
}

/* A replica request: the bloom bits of the sessions it touches. */
static uint64_t
sl_append_bloom(const struct ipc_store_append *a)
{
	uint64_t	bloom = 0;
	uint32_t	i;

	for (i = 0; i < a->ntargets && bloom != UINT64_MAX; i++)
		bloom |= sl_bit(a->targets[i].client_id.p,
		    a->targets[i].client_id.len);
	return (bloom);
}

/*
 * Re-encodes the store request of type in payload with request id id and
 * owner own into out; *bloom gets the bits of its sessions.  Returns 0, or
 * -1 if it does not decode or type is not one storelink_apply() takes.
 */
static int
sl_reencode(uint16_t type, const uint8_t *payload, size_t len, uint32_t id,
    struct ipc_bytes own, struct buf *out, uint64_t *bloom)
{
	struct ipc_store_session	sess;
	struct ipc_store_subs		subs;
	struct ipc_store_append		app;
	struct ipc_store_ack		ack;

	switch (type) {
	case IPC_STORE_SESSION_PUT:
	case IPC_STORE_SESSION_DEL:
		if (ipc_dec_store_session(type, payload, len, &sess) == -1)
			return (-1);
		sess.id = id;
		sess.s.owner = own;
		ipc_enc_store_session(out, type, &sess);
		*bloom = sl_bit(sess.s.client_id.p, sess.s.client_id.len);
		ipc_store_free_session(&sess);
		return (0);
	case IPC_STORE_SUB_PUT:
	case IPC_STORE_SUB_DEL:
		if (ipc_dec_store_subs(type, payload, len, &subs) == -1)
			return (-1);
		subs.id = id;
		subs.s.owner = own;
		ipc_enc_store_subs(out, type, &subs);
		*bloom = sl_bit(subs.s.client_id.p, subs.s.client_id.len);
		ipc_store_free_subs(&subs);
		return (0);
	case IPC_STORE_APPEND:
		if (ipc_dec_store_append(payload, len, &app) == -1)
			return (-1);
		app.id = id;
		app.owner = own;
		ipc_enc_store_append(out, &app);
		*bloom = sl_append_bloom(&app);
		ipc_store_free_append(&app);
		return (0);
	case IPC_STORE_ACK:
		if (ipc_dec_store_ack(payload, len, &ack) == -1)
			return (-1);
		ack.id = id;
		ack.s.owner = own;
		ipc_enc_store_ack(out, &ack);
		*bloom = sl_bit(ack.s.client_id.p, ack.s.client_id.len);
		ipc_store_free_ack(&ack);
		return (0);
	default:
		return (-1);
	}
}

void
storelink_apply(struct storelink *sl, const char *owner, uint16_t type,
    const uint8_t *payload, size_t len, storelink_cb cb, void *arg)
{
	struct sl_req	*r;
	uint64_t	 bloom = 0;

	r = sl_req_new(sl, type, cb, arg);
	r->fixed = true;
	if (strlen(owner) > IPC_STORE_OWNER_MAX ||
	    sl_reencode(type, payload, len, r->id, ipc_bytes_str(owner),
	    &r->frame, &bloom) == -1) {
		log_warnx("storelink: replica %s (%zu bytes) for owner "
		    "\"%.32s\" refused: malformed or not a replicated kind",
		    ipc_type_name(type), len, owner);
		buf_reset(&r->frame);
		sl_fail(sl, r);
		return;
	}
	sl_add(sl, r, bloom);
}

void
storelink_get_stats(const struct storelink *sl, struct storelink_stats *s)
{
	const struct sl_req	*r;

	*s = sl->st;
	s->outstanding = sl->nreqs;
	s->outstanding_bytes = sl->bytes;
	s->unsent = 0;
	for (r = sl->first_unsent; r != NULL; r = TAILQ_NEXT(r, link))
		s->unsent++;
	TAILQ_FOREACH(r, &sl->retry, link)
		s->unsent++;
}

/* Life cycle */

struct storelink *
storelink_new(struct event_base *base, const struct storelink_opts *o)
{
	struct storelink	*sl;
	struct timeval		 tv = { 0, SL_TICK_MS * 1000 };

	sl = xcalloc(1, sizeof(*sl));
	sl->base = base;
	sl->o = *o;
	if (sl->o.max_reqs == 0)
		sl->o.max_reqs = STORELINK_MAX_REQS;
	if (sl->o.max_bytes == 0)
		sl->o.max_bytes = STORELINK_MAX_BYTES;
	TAILQ_INIT(&sl->reqs);
	TAILQ_INIT(&sl->retry);
	TAILQ_INIT(&sl->fails);
	if ((sl->sock = ipc_dealer_connect(o->endpoint, NULL)) == NULL) {
		free(sl);
		return (NULL);
	}
	sl->my_boot_id = sl_wall_ms() ^ ((uint64_t)getpid() << 40);
	sl->ev = ipc_ev_new(base, sl->sock, sl_recv_cb, sl);
	sl->flush_ev = event_new(base, -1, 0, sl_flush_cb, sl);
	sl->tick_ev = event_new(base, -1, EV_PERSIST, sl_tick_cb, sl);
	event_add(sl->tick_ev, &tv);
	sl_send_hello(sl);
	return (sl);
}

void
storelink_free(struct storelink *sl)
{
	struct sl_req	*r;

	if (sl == NULL)
		return;
	while ((r = TAILQ_FIRST(&sl->reqs)) != NULL) {
		TAILQ_REMOVE(&sl->reqs, r, link);
		sl_req_free(sl, r);
	}
	while ((r = TAILQ_FIRST(&sl->retry)) != NULL) {
		TAILQ_REMOVE(&sl->retry, r, link);
		sl_req_free(sl, r);
	}
	while ((r = TAILQ_FIRST(&sl->fails)) != NULL) {
		TAILQ_REMOVE(&sl->fails, r, link);
		sl_req_free(sl, r);
	}
	event_free(sl->tick_ev);
	event_free(sl->flush_ev);
	ipc_ev_free(sl->ev);
	ipc_close(sl->sock);
	free(sl);
}
