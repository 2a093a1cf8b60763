/* SPDX-License-Identifier: MIT */
/* Encoders and decoders of clusterd's node-local messages (msg_cluster.h):
 * each decoder rejects short and over-long payloads. */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "ipc/codec_impl.h"
#include "ipc/ipc.h"
#include "ipc/msg_store.h"

static void
cluster_get_name(struct rbuf *r, char *dst, size_t dstlen)
{
	const uint8_t	*p;
	size_t		 n;

	if ((p = rbuf_blob(r, &n, dstlen - 1)) == NULL)
		return;
	if (ipc_copy_name(dst, dstlen, p, n) == -1)
		r->err = true;
}


/* IPC_CLUSTER_JOIN_REQ */
void
ipc_enc_cluster_join_req(struct buf *b, const struct ipc_cluster_join_req *v)
{
	buf_add_u32(b, v->id);
	buf_add_str(b, v->node);
}

int
ipc_dec_cluster_join_req(const uint8_t *p, size_t len,
    struct ipc_cluster_join_req *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	cluster_get_name(&r, v->node, sizeof(v->node));
	return (rbuf_done(&r) ? 0 : -1);
}
IPC_SENDER(cluster_join_req, IPC_CLUSTER_JOIN_REQ)

/* IPC_CLUSTER_LEAVE_REQ */
void
ipc_enc_cluster_leave_req(struct buf *b,
    const struct ipc_cluster_leave_req *v)
{
	buf_add_u32(b, v->id);
	buf_add_str(b, v->node);
	buf_add_u8(b, v->kill_sessions ? 1 : 0);
	buf_add_u32(b, v->timeout_s);
	buf_add_u32(b, v->interval_s);
}

int
ipc_dec_cluster_leave_req(const uint8_t *p, size_t len,
    struct ipc_cluster_leave_req *v)
{
	struct rbuf	r;
	uint8_t		k;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	cluster_get_name(&r, v->node, sizeof(v->node));
	k = rbuf_u8(&r);
	if (k > 1)
		r.err = true;
	v->kill_sessions = k == 1;
	v->timeout_s = rbuf_u32(&r);
	v->interval_s = rbuf_u32(&r);
	return (rbuf_done(&r) ? 0 : -1);
}
IPC_SENDER(cluster_leave_req, IPC_CLUSTER_LEAVE_REQ)

/* IPC_CLUSTER_REP */
void
ipc_enc_cluster_rep(struct buf *b, const struct ipc_cluster_rep *v)
{
	buf_add_u32(b, v->id);
	buf_add_u32(b, (uint32_t)v->rc);
	buf_add_str(b, v->text);
}

int
ipc_dec_cluster_rep(const uint8_t *p, size_t len, struct ipc_cluster_rep *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	v->rc = (int32_t)rbuf_u32(&r);
	v->text = rbuf_strdup(&r, IPC_CLUSTER_TEXT_MAX);
	if (!rbuf_done(&r)) {
		free(v->text);
		v->text = NULL;
		return (-1);
	}
	return (0);
}
IPC_SENDER(cluster_rep, IPC_CLUSTER_REP)

/* ------------------------------------------ routing and forwarding */

static void
route_put_bytes(struct buf *b, struct ipc_bytes v)
{
	buf_add_blob(b, v.p, v.len);
}

static void
route_get_bytes(struct rbuf *r, struct ipc_bytes *v, size_t max)
{
	v->p = rbuf_blob(r, &v->len, max);
	if (v->p == NULL)
		v->len = 0;
}

/*
 * Reads a list count and checks it against IPC_ROUTE_LIST_MAX and against
 * what is left (each element takes at least minsz bytes), so that a
 * hostile count cannot make the decoder allocate much.
 */
static uint32_t
route_get_count(struct rbuf *r, size_t minsz)
{
	uint32_t	n = rbuf_u32(r);

	if (r->err || n > IPC_ROUTE_LIST_MAX || n > rbuf_left(r) / minsz) {
		r->err = true;
		return (0);
	}
	return (n);
}

/* A filter: not empty, no NUL (MQTT forbids U+0000). */
static void
route_get_filter(struct rbuf *r, struct ipc_bytes *v, bool may_be_empty)
{
	route_get_bytes(r, v, IPC_ROUTE_FILTER_MAX);
	if (r->err)
		return;
	if ((v->len == 0 && !may_be_empty) ||
	    (v->len > 0 && memchr(v->p, '\0', v->len) != NULL))
		r->err = true;
}

/* IPC_ROUTE_LOCAL, IPC_ROUTE_UPDATE */
void
ipc_enc_route(struct buf *b, const struct ipc_route *v)
{
	uint32_t	i;

	buf_add_u8(b, v->flags);
	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		buf_add_u64(b, v->ents[i].node);
		buf_add_u8(b, v->ents[i].op);
		route_put_bytes(b, v->ents[i].filter);
	}
}

int
ipc_dec_route(const uint8_t *p, size_t len, struct ipc_route *v)
{
	struct rbuf	 r;
	uint32_t	 i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->flags = rbuf_u8(&r);
	v->n = route_get_count(&r, 8 + 1 + 4);
	if (v->n > 0)
		v->ents = xcalloc(v->n, sizeof(*v->ents));
	for (i = 0; i < v->n && !r.err; i++) {
		v->ents[i].node = rbuf_u64(&r);
		v->ents[i].op = rbuf_u8(&r);
		route_get_filter(&r, &v->ents[i].filter,
		    v->ents[i].op == IPC_ROUTE_RESET);
		if (v->ents[i].op < IPC_ROUTE_ADD ||
		    v->ents[i].op > IPC_ROUTE_RESET)
			r.err = true;
	}
	if (v->flags & ~IPC_ROUTE_F_FULL)
		r.err = true;
	if (!rbuf_done(&r)) {
		ipc_route_free(v);
		return (-1);
	}
	return (0);
}

void
ipc_route_free(struct ipc_route *v)
{
	free(v->ents);
	v->ents = NULL;
	v->n = 0;
}

int
ipc_send_route(void *sock, const struct ipc_peer *to, unsigned type,
    const struct ipc_route *v)
{
	struct buf	b = BUF_INIT;
	int		rc;

	ipc_enc_route(&b, v);
	rc = ipc_send(sock, to, type, &b);
	buf_free(&b);
	return (rc);
}

/* Target lists */
void
ipc_enc_fwd_targets(struct buf *b, const struct ipc_fwd_target *t,
    uint32_t n, bool with_node)
{
	uint32_t	i;

	buf_add_u32(b, n);
	for (i = 0; i < n; i++) {
		if (with_node)
			buf_add_u64(b, t[i].node);
		buf_add_u8(b, t[i].kind);
		route_put_bytes(b, t[i].filter);
	}
}

int
ipc_get_fwd_targets(struct rbuf *r, struct ipc_fwd_target **tp,
    uint32_t *np, bool with_node)
{
	struct ipc_fwd_target	*t = NULL;
	uint32_t		 n, i;

	n = route_get_count(r, (with_node ? 8 : 0) + 1 + 4);
	if (n > 0)
		t = xcalloc(n, sizeof(*t));
	for (i = 0; i < n && !r->err; i++) {
		if (with_node)
			t[i].node = rbuf_u64(r);
		t[i].kind = rbuf_u8(r);
		route_get_filter(r, &t[i].filter, true);
		if (t[i].kind == IPC_FWD_PLAIN && t[i].filter.len != 0)
			r->err = true;
		else if (t[i].kind == IPC_FWD_SHARED &&
		    (t[i].filter.len < 8 ||
		    memcmp(t[i].filter.p, "$share/", 7) != 0))
			r->err = true;
		else if ((t[i].kind == IPC_FWD_RETAIN ||
		    t[i].kind == IPC_FWD_REPL) && t[i].filter.len != 0)
			r->err = true;
		else if (t[i].kind < IPC_FWD_PLAIN ||
		    t[i].kind > IPC_FWD_REPL)
			r->err = true;
		if (with_node && t[i].node == 0)
			r->err = true;
	}
	if (r->err) {
		free(t);
		*tp = NULL;
		*np = 0;
		return (-1);
	}
	*tp = t;
	*np = n;
	return (0);
}

/* IPC_FORWARD */
void
ipc_enc_forward(struct buf *b, const struct ipc_forward *v)
{
	buf_add_u64(b, v->id);
	buf_add_u8(b, v->flags);
	ipc_enc_fwd_targets(b, v->targets, v->ntargets, true);
	ipc_enc_store_body(b, &v->body);
}

int
ipc_dec_forward(const uint8_t *p, size_t len, struct ipc_forward *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u64(&r);
	v->flags = rbuf_u8(&r);
	if (!r.err)
		ipc_get_fwd_targets(&r, &v->targets, &v->ntargets, true);
	ipc_get_store_body(&r, &v->body);
	if (v->flags & ~IPC_FWD_F_ACK || v->body.topic.len == 0)
		r.err = true;
	if (!rbuf_done(&r)) {
		ipc_forward_free(v);
		return (-1);
	}
	return (0);
}

void
ipc_forward_free(struct ipc_forward *v)
{
	free(v->targets);
	v->targets = NULL;
	v->ntargets = 0;
}

/* IPC_FORWARD_ACK, IPC_DELIVER_ACK */
void
ipc_enc_acks(struct buf *b, const struct ipc_acks *v)
{
	uint32_t	i;

	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		buf_add_u64(b, v->ents[i].id);
		buf_add_u8(b, v->ents[i].rc);
	}
}

int
ipc_dec_acks(const uint8_t *p, size_t len, struct ipc_acks *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->n = route_get_count(&r, 9);
	if (v->n > 0)
		v->ents = xcalloc(v->n, sizeof(*v->ents));
	for (i = 0; i < v->n && !r.err; i++) {
		v->ents[i].id = rbuf_u64(&r);
		v->ents[i].rc = rbuf_u8(&r);
		if (v->ents[i].rc > IPC_FWD_ERROR)
			r.err = true;
	}
	if (!rbuf_done(&r)) {
		ipc_acks_free(v);
		return (-1);
	}
	return (0);
}

void
ipc_acks_free(struct ipc_acks *v)
{
	free(v->ents);
	v->ents = NULL;
	v->n = 0;
}

int
ipc_send_acks(void *sock, const struct ipc_peer *to, unsigned type,
    const struct ipc_acks *v)
{
	struct buf	b = BUF_INIT;
	int		rc;

	ipc_enc_acks(&b, v);
	rc = ipc_send(sock, to, type, &b);
	buf_free(&b);
	return (rc);
}

/* IPC_DELIVER */
void
ipc_enc_deliver(struct buf *b, const struct ipc_deliver *v)
{
	buf_add_u64(b, v->id);
	buf_add_u64(b, v->from);
	ipc_enc_fwd_targets(b, v->targets, v->ntargets, false);
	ipc_enc_store_body(b, &v->body);
}

int
ipc_dec_deliver(const uint8_t *p, size_t len, struct ipc_deliver *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u64(&r);
	v->from = rbuf_u64(&r);
	if (!r.err)
		ipc_get_fwd_targets(&r, &v->targets, &v->ntargets, false);
	ipc_get_store_body(&r, &v->body);
	if (v->body.topic.len == 0 || v->ntargets == 0)
		r.err = true;
	if (!rbuf_done(&r)) {
		ipc_deliver_free(v);
		return (-1);
	}
	return (0);
}

void
ipc_deliver_free(struct ipc_deliver *v)
{
	free(v->targets);
	v->targets = NULL;
	v->ntargets = 0;
}

/* IPC_CLUSTER_STATE */
void
ipc_enc_cluster_state(struct buf *b, const struct ipc_cluster_state *v)
{
	uint32_t	i;

	buf_add_u8(b, v->flags);
	buf_add_u64(b, v->node_id);
	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		buf_add_u64(b, v->nodes[i].id);
		buf_add_u8(b, v->nodes[i].up);
		route_put_bytes(b, v->nodes[i].name);
	}
}

int
ipc_dec_cluster_state(const uint8_t *p, size_t len,
    struct ipc_cluster_state *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->flags = rbuf_u8(&r);
	v->node_id = rbuf_u64(&r);
	v->n = route_get_count(&r, 8 + 1 + 4);
	if (v->n > 0)
		v->nodes = xcalloc(v->n, sizeof(*v->nodes));
	for (i = 0; i < v->n && !r.err; i++) {
		v->nodes[i].id = rbuf_u64(&r);
		v->nodes[i].up = rbuf_u8(&r);
		route_get_bytes(&r, &v->nodes[i].name, IPC_CLUSTER_NAME_MAX);
		if (v->nodes[i].up > 1)
			r.err = true;
	}
	if (v->flags & ~(IPC_CS_MAJORITY | IPC_CS_CLUSTERED | IPC_CS_JOINED |
	    IPC_CS_DISCOVERY | IPC_CS_LEAVING | IPC_CS_LEAVE_KILL))
		r.err = true;
	if (!rbuf_done(&r)) {
		ipc_cluster_state_free(v);
		return (-1);
	}
	return (0);
}

void
ipc_cluster_state_free(struct ipc_cluster_state *v)
{
	free(v->nodes);
	v->nodes = NULL;
	v->n = 0;
}

/* IPC_SESSION_CLAIM, IPC_SESSION_CLAIM_REP */
void
ipc_enc_claims(struct buf *b, const struct ipc_claims *v)
{
	uint32_t	i;

	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		buf_add_u32(b, v->ents[i].id);
		buf_add_u8(b, v->ents[i].flags);
		buf_add_u8(b, v->ents[i].rc);
		buf_add_u64(b, v->ents[i].prev);
		route_put_bytes(b, v->ents[i].client_id);
	}
}

int
ipc_dec_claims(const uint8_t *p, size_t len, struct ipc_claims *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->n = route_get_count(&r, 4 + 1 + 1 + 8 + 4);
	if (v->n > 0)
		v->ents = xcalloc(v->n, sizeof(*v->ents));
	for (i = 0; i < v->n && !r.err; i++) {
		v->ents[i].id = rbuf_u32(&r);
		v->ents[i].flags = rbuf_u8(&r);
		v->ents[i].rc = rbuf_u8(&r);
		v->ents[i].prev = rbuf_u64(&r);
		route_get_bytes(&r, &v->ents[i].client_id,
		    IPC_STORE_CLIENT_MAX);
		if (v->ents[i].rc > IPC_CLAIM_ERROR ||
		    (v->ents[i].flags & ~IPC_CLAIM_F_LOCAL))
			r.err = true;
	}
	if (!rbuf_done(&r)) {
		ipc_claims_free(v);
		return (-1);
	}
	return (0);
}

void
ipc_claims_free(struct ipc_claims *v)
{
	free(v->ents);
	v->ents = NULL;
	v->n = 0;
}

int
ipc_send_claims(void *sock, const struct ipc_peer *to, unsigned type,
    const struct ipc_claims *v)
{
	struct buf	b = BUF_INIT;
	int		rc;

	ipc_enc_claims(&b, v);
	rc = ipc_send(sock, to, type, &b);
	buf_free(&b);
	return (rc);
}

/* IPC_SESSION_TAKEOVER */
void
ipc_enc_takeover(struct buf *b, const struct ipc_takeover *v)
{
	buf_add_u64(b, v->to);
	buf_add_u32(b, v->xfer);
	buf_add_u64(b, v->replica);
	route_put_bytes(b, v->client_id);
}

int
ipc_dec_takeover(const uint8_t *p, size_t len, struct ipc_takeover *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->to = rbuf_u64(&r);
	v->xfer = rbuf_u32(&r);
	v->replica = rbuf_u64(&r);
	route_get_bytes(&r, &v->client_id, IPC_STORE_CLIENT_MAX);
	if (v->client_id.len == 0 || v->to == 0)
		r.err = true;
	return (rbuf_done(&r) ? 0 : -1);
}

/* IPC_SESSION_XFER */
void
ipc_enc_xfer(struct buf *b, const struct ipc_xfer *v)
{
	uint32_t	i;

	buf_add_u64(b, v->node);
	buf_add_u32(b, v->xfer);
	buf_add_u8(b, v->flags);
	route_put_bytes(b, v->client_id);
	route_put_bytes(b, v->state);
	buf_add_u32(b, v->nsubs);
	for (i = 0; i < v->nsubs; i++) {
		route_put_bytes(b, v->subs[i].filter);
		buf_add_u8(b, v->subs[i].options);
		buf_add_u32(b, v->subs[i].sub_id);
	}
	buf_add_u32(b, v->nmsgs);
	for (i = 0; i < v->nmsgs; i++) {
		buf_add_u8(b, v->msgs[i].qos);
		buf_add_u8(b, v->msgs[i].flags);
		ipc_enc_store_body(b, &v->msgs[i].body);
	}
}

int
ipc_dec_xfer(const uint8_t *p, size_t len, struct ipc_xfer *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->node = rbuf_u64(&r);
	v->xfer = rbuf_u32(&r);
	v->flags = rbuf_u8(&r);
	route_get_bytes(&r, &v->client_id, IPC_STORE_CLIENT_MAX);
	route_get_bytes(&r, &v->state, IPC_STORE_DATA_MAX);
	v->nsubs = route_get_count(&r, 4 + 1 + 4);
	if (v->nsubs > 0)
		v->subs = xcalloc(v->nsubs, sizeof(*v->subs));
	for (i = 0; i < v->nsubs && !r.err; i++) {
		route_get_filter(&r, &v->subs[i].filter, false);
		v->subs[i].options = rbuf_u8(&r);
		v->subs[i].sub_id = rbuf_u32(&r);
	}
	if (!r.err)
		v->nmsgs = route_get_count(&r, 1 + 1 + 2 + 8 + 12);
	if (v->nmsgs > 0)
		v->msgs = xcalloc(v->nmsgs, sizeof(*v->msgs));
	for (i = 0; i < v->nmsgs && !r.err; i++) {
		v->msgs[i].qos = rbuf_u8(&r);
		v->msgs[i].flags = rbuf_u8(&r);
		ipc_get_store_body(&r, &v->msgs[i].body);
		if (v->msgs[i].qos > 2 || v->msgs[i].body.topic.len == 0)
			r.err = true;
	}
	if (v->client_id.len == 0 || v->node == 0 ||
	    (v->flags & ~(IPC_XFER_F_SESSION | IPC_XFER_F_LAST)))
		r.err = true;
	if (!rbuf_done(&r)) {
		ipc_xfer_free(v);
		return (-1);
	}
	return (0);
}

void
ipc_xfer_free(struct ipc_xfer *v)
{
	free(v->subs);
	free(v->msgs);
	v->subs = NULL;
	v->msgs = NULL;
	v->nsubs = v->nmsgs = 0;
}

/* Batches */
size_t
ipc_batch_begin(struct buf *b)
{
	size_t	at = b->len;

	buf_add_u32(b, 0);
	return (at);
}

void
ipc_batch_add(struct buf *b, const uint8_t *p, size_t len)
{
	buf_add_blob(b, p, len);
}

void
ipc_batch_end(struct buf *b, size_t at, uint32_t n)
{
	be32_put(b->data + at, n);
}

int
ipc_batch_first(struct rbuf *r, const uint8_t *p, size_t len, uint32_t *n)
{
	rbuf_init(r, p, len);
	*n = rbuf_u32(r);
	if (r->err || *n > IPC_BATCH_MAX || *n > rbuf_left(r) / 4)
		return (-1);
	return (0);
}

int
ipc_batch_next(struct rbuf *r, uint32_t *left, const uint8_t **p,
    size_t *len)
{
	if (*left == 0)
		return (rbuf_left(r) == 0 ? 0 : -1);
	if ((*p = rbuf_blob(r, len, IPC_STORE_PAYLOAD_MAX +
	    IPC_STORE_PROPS_MAX + 4 * 65536)) == NULL)
		return (-1);
	(*left)--;
	return (1);
}
