/* SPDX-License-Identifier: MIT */
/* Encoders and decoders of the storaged messages (msg_store.h): each decoder
 * checks every length and limit and rejects short and over-long payloads. */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "ipc/ipc.h"
#include "ipc/msg_store.h"

struct ipc_bytes
ipc_bytes_str(const char *s)
{
	struct ipc_bytes	b = { (const uint8_t *)s, s ? strlen(s) : 0 };

	return (b);
}

bool
ipc_bytes_eq(struct ipc_bytes a, struct ipc_bytes b)
{
	return (a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0));
}

static void
put_bytes(struct buf *b, struct ipc_bytes v)
{
	buf_add_blob(b, v.p, v.len);
}

static void
get_bytes(struct rbuf *r, struct ipc_bytes *v, size_t max)
{
	v->p = rbuf_blob(r, &v->len, max);
	if (v->p == NULL)
		v->len = 0;
}

/*
 * Reads a list count and checks it against the limit and against what is
 * left of the input (each element takes at least minsz bytes), so a hostile
 * count cannot make the decoder allocate much.
 */
static uint32_t
get_count(struct rbuf *r, size_t minsz)
{
	uint32_t	n = rbuf_u32(r);

	if (r->err || n > IPC_STORE_LIST_MAX || n > rbuf_left(r) / minsz) {
		r->err = true;
		return (0);
	}
	return (n);
}

static void
put_sess(struct buf *b, const struct ipc_store_sess *s)
{
	put_bytes(b, s->owner);
	put_bytes(b, s->client_id);
}

static void
get_sess(struct rbuf *r, struct ipc_store_sess *s)
{
	get_bytes(r, &s->owner, IPC_STORE_OWNER_MAX);
	get_bytes(r, &s->client_id, IPC_STORE_CLIENT_MAX);
}

void
ipc_enc_store_body(struct buf *b, const struct ipc_store_body *v)
{
	buf_add_u8(b, v->qos);
	buf_add_u8(b, v->flags);
	buf_add_u64(b, v->expire_at);
	put_bytes(b, v->topic);
	put_bytes(b, v->props);
	put_bytes(b, v->payload);
}

void
ipc_get_store_body(struct rbuf *r, struct ipc_store_body *v)
{
	v->qos = rbuf_u8(r);
	v->flags = rbuf_u8(r);
	v->expire_at = rbuf_u64(r);
	get_bytes(r, &v->topic, IPC_STORE_TOPIC_MAX);
	get_bytes(r, &v->props, IPC_STORE_PROPS_MAX);
	get_bytes(r, &v->payload, IPC_STORE_PAYLOAD_MAX);
	if (v->qos > 2)
		r->err = true;
}

static void
put_sub(struct buf *b, const struct ipc_store_sub *s, bool filter_only)
{
	put_bytes(b, s->filter);
	if (filter_only)
		return;
	buf_add_u8(b, s->options);
	buf_add_u32(b, s->sub_id);
}

static void
get_sub(struct rbuf *r, struct ipc_store_sub *s, bool filter_only)
{
	get_bytes(r, &s->filter, IPC_STORE_TOPIC_MAX);
	if (s->filter.len == 0)
		r->err = true;
	if (filter_only)
		return;
	s->options = rbuf_u8(r);
	s->sub_id = rbuf_u32(r);
}

static void
put_subids(struct buf *b, uint8_t n, const uint32_t *ids)
{
	uint8_t	i;

	buf_add_u8(b, n);
	for (i = 0; i < n && i < IPC_STORE_SUBIDS_MAX; i++)
		buf_add_u32(b, ids[i]);
}

static void
get_subids(struct rbuf *r, uint8_t *n, uint32_t *ids)
{
	uint8_t	i;

	*n = rbuf_u8(r);
	if (*n > IPC_STORE_SUBIDS_MAX) {
		r->err = true;
		*n = 0;
		return;
	}
	for (i = 0; i < *n; i++)
		ids[i] = rbuf_u32(r);
}

/* A common sender: encodes with enc into a buffer and sends as type. */
#define STORE_SEND(name, stype)						\
int									\
ipc_send_store_##name(void *sock, const struct ipc_peer *to,		\
    const struct ipc_store_##stype *v)					\
{									\
	struct buf	b = BUF_INIT;					\
	int		rc;						\
									\
	ipc_enc_store_##name(&b, v);					\
	rc = ipc_send(sock, to, IPC_STORE_##stype##_TYPE, &b);		\
	buf_free(&b);							\
	return (rc);							\
}

/* Same for the structs that serve two message types. */
#define STORE_SEND2(name)						\
int									\
ipc_send_store_##name(void *sock, const struct ipc_peer *to,		\
    unsigned type, const struct ipc_store_##name *v)			\
{									\
	struct buf	b = BUF_INIT;					\
	int		rc;						\
									\
	ipc_enc_store_##name(&b, type, v);				\
	rc = ipc_send(sock, to, type, &b);				\
	buf_free(&b);							\
	return (rc);							\
}									\
int									\
ipc_recv_store_##name(const struct ipc_msg *m,				\
    struct ipc_store_##name *v)						\
{									\
	return (ipc_dec_store_##name(m->type, m->payload, m->len, v));	\
}

#define STORE_RECV(name, mtype)						\
int									\
ipc_recv_store_##name(const struct ipc_msg *m,				\
    struct ipc_store_##name *v)						\
{									\
	if (m->type != (mtype))						\
		return (-1);						\
	return (ipc_dec_store_##name(m->payload, m->len, v));		\
}

/* IPC_STORE_SESSION_PUT / _DEL */
void
ipc_enc_store_session(struct buf *b, unsigned type,
    const struct ipc_store_session *v)
{
	uint32_t	i;

	buf_add_u32(b, v->id);
	put_sess(b, &v->s);
	if (type == IPC_STORE_SESSION_DEL)
		return;
	buf_add_u8(b, v->proto);
	buf_add_u8(b, v->flags);
	buf_add_u8(b, v->replace_subs ? 1 : 0);
	buf_add_u32(b, v->expiry_interval);
	buf_add_u64(b, v->expire_at);
	put_bytes(b, v->data);
	buf_add_u32(b, v->nsubs);
	for (i = 0; i < v->nsubs; i++)
		put_sub(b, &v->subs[i], false);
}

int
ipc_dec_store_session(unsigned type, const uint8_t *p, size_t len,
    struct ipc_store_session *v)
{
	struct rbuf	r;
	uint32_t	i;
	uint8_t		rs;

	memset(v, 0, sizeof(*v));
	if (type != IPC_STORE_SESSION_PUT && type != IPC_STORE_SESSION_DEL)
		return (-1);
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_sess(&r, &v->s);
	if (type == IPC_STORE_SESSION_PUT) {
		v->proto = rbuf_u8(&r);
		v->flags = rbuf_u8(&r);
		rs = rbuf_u8(&r);
		v->replace_subs = rs == 1;
		if (rs > 1)
			r.err = true;
		v->expiry_interval = rbuf_u32(&r);
		v->expire_at = rbuf_u64(&r);
		get_bytes(&r, &v->data, IPC_STORE_DATA_MAX);
		v->nsubs = get_count(&r, 9);
		if (v->nsubs > 0 && !v->replace_subs)
			r.err = true;
		if (v->nsubs > 0 && !r.err)
			v->subs = xcalloc(v->nsubs, sizeof(*v->subs));
		for (i = 0; i < v->nsubs && !r.err; i++)
			get_sub(&r, &v->subs[i], false);
	}
	if (!rbuf_done(&r) || v->s.client_id.len == 0) {
		ipc_store_free_session(v);
		return (-1);
	}
	return (0);
}
STORE_SEND2(session)

void
ipc_store_free_session(struct ipc_store_session *v)
{
	free(v->subs);
	v->subs = NULL;
	v->nsubs = 0;
}

/* IPC_STORE_SUB_PUT / _DEL */
void
ipc_enc_store_subs(struct buf *b, unsigned type,
    const struct ipc_store_subs *v)
{
	uint32_t	i;

	buf_add_u32(b, v->id);
	put_sess(b, &v->s);
	buf_add_u32(b, v->nsubs);
	for (i = 0; i < v->nsubs; i++)
		put_sub(b, &v->subs[i], type == IPC_STORE_SUB_DEL);
}

int
ipc_dec_store_subs(unsigned type, const uint8_t *p, size_t len,
    struct ipc_store_subs *v)
{
	struct rbuf	r;
	uint32_t	i;
	bool		del = type == IPC_STORE_SUB_DEL;

	memset(v, 0, sizeof(*v));
	if (type != IPC_STORE_SUB_PUT && !del)
		return (-1);
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_sess(&r, &v->s);
	v->nsubs = get_count(&r, del ? 4 : 9);
	if (v->nsubs > 0 && !r.err)
		v->subs = xcalloc(v->nsubs, sizeof(*v->subs));
	for (i = 0; i < v->nsubs && !r.err; i++)
		get_sub(&r, &v->subs[i], del);
	if (!rbuf_done(&r) || v->s.client_id.len == 0) {
		ipc_store_free_subs(v);
		return (-1);
	}
	return (0);
}
STORE_SEND2(subs)

void
ipc_store_free_subs(struct ipc_store_subs *v)
{
	free(v->subs);
	v->subs = NULL;
	v->nsubs = 0;
}

/* IPC_STORE_APPEND */
#define IPC_STORE_append_TYPE	IPC_STORE_APPEND
void
ipc_enc_store_append(struct buf *b, const struct ipc_store_append *v)
{
	const struct ipc_store_target	*t;
	uint32_t			 i;

	buf_add_u32(b, v->id);
	put_bytes(b, v->owner);
	buf_add_u64(b, v->msg_id);
	ipc_enc_store_body(b, &v->body);
	buf_add_u32(b, v->ntargets);
	for (i = 0; i < v->ntargets; i++) {
		t = &v->targets[i];
		put_bytes(b, t->client_id);
		buf_add_u64(b, t->seq);
		buf_add_u8(b, t->qos);
		put_subids(b, t->nsub_ids, t->sub_ids);
	}
}

int
ipc_dec_store_append(const uint8_t *p, size_t len,
    struct ipc_store_append *v)
{
	struct ipc_store_target	*t;
	struct rbuf		 r;
	uint32_t		 i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_bytes(&r, &v->owner, IPC_STORE_OWNER_MAX);
	v->msg_id = rbuf_u64(&r);
	ipc_get_store_body(&r, &v->body);
	v->ntargets = get_count(&r, 14);
	if (v->ntargets > 0 && !r.err)
		v->targets = xcalloc(v->ntargets, sizeof(*v->targets));
	for (i = 0; i < v->ntargets && !r.err; i++) {
		t = &v->targets[i];
		get_bytes(&r, &t->client_id, IPC_STORE_CLIENT_MAX);
		t->seq = rbuf_u64(&r);
		t->qos = rbuf_u8(&r);
		get_subids(&r, &t->nsub_ids, t->sub_ids);
		if (t->client_id.len == 0 || t->qos > 2)
			r.err = true;
	}
	if (!rbuf_done(&r)) {
		ipc_store_free_append(v);
		return (-1);
	}
	return (0);
}
STORE_SEND(append, append)
STORE_RECV(append, IPC_STORE_APPEND)

void
ipc_store_free_append(struct ipc_store_append *v)
{
	free(v->targets);
	v->targets = NULL;
	v->ntargets = 0;
}

/* IPC_STORE_ACK */
#define IPC_STORE_ack_TYPE	IPC_STORE_ACK
void
ipc_enc_store_ack(struct buf *b, const struct ipc_store_ack *v)
{
	uint32_t	i;

	buf_add_u32(b, v->id);
	put_sess(b, &v->s);
	buf_add_u32(b, v->nseqs);
	for (i = 0; i < v->nseqs; i++)
		buf_add_u64(b, v->seqs[i]);
}

int
ipc_dec_store_ack(const uint8_t *p, size_t len, struct ipc_store_ack *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_sess(&r, &v->s);
	v->nseqs = get_count(&r, 8);
	if (v->nseqs > 0 && !r.err)
		v->seqs = xcalloc(v->nseqs, sizeof(*v->seqs));
	for (i = 0; i < v->nseqs && !r.err; i++)
		v->seqs[i] = rbuf_u64(&r);
	if (!rbuf_done(&r) || v->s.client_id.len == 0) {
		ipc_store_free_ack(v);
		return (-1);
	}
	return (0);
}
STORE_SEND(ack, ack)
STORE_RECV(ack, IPC_STORE_ACK)

void
ipc_store_free_ack(struct ipc_store_ack *v)
{
	free(v->seqs);
	v->seqs = NULL;
	v->nseqs = 0;
}

/* IPC_STORE_MARK */
#define IPC_STORE_mark_TYPE	IPC_STORE_MARK
void
ipc_enc_store_mark(struct buf *b, const struct ipc_store_mark *v)
{
	uint32_t	i;

	buf_add_u32(b, v->id);
	put_sess(b, &v->s);
	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		buf_add_u64(b, v->ents[i].seq);
		buf_add_u8(b, v->ents[i].state);
	}
}

int
ipc_dec_store_mark(const uint8_t *p, size_t len, struct ipc_store_mark *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_sess(&r, &v->s);
	v->n = get_count(&r, 9);
	if (v->n > 0 && !r.err)
		v->ents = xcalloc(v->n, sizeof(*v->ents));
	for (i = 0; i < v->n && !r.err; i++) {
		v->ents[i].seq = rbuf_u64(&r);
		v->ents[i].state = rbuf_u8(&r);
		if (v->ents[i].state > IPC_STORE_Q_PUBREC)
			r.err = true;
	}
	if (!rbuf_done(&r) || v->s.client_id.len == 0) {
		ipc_store_free_mark(v);
		return (-1);
	}
	return (0);
}
STORE_SEND(mark, mark)
STORE_RECV(mark, IPC_STORE_MARK)

void
ipc_store_free_mark(struct ipc_store_mark *v)
{
	free(v->ents);
	v->ents = NULL;
	v->n = 0;
}

/* IPC_STORE_QOS2_PUT / _DEL */
void
ipc_enc_store_qos2(struct buf *b, const struct ipc_store_qos2 *v)
{
	uint32_t	i;

	buf_add_u32(b, v->id);
	put_sess(b, &v->s);
	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++)
		buf_add_u16(b, v->pids[i]);
}

int
ipc_dec_store_qos2(const uint8_t *p, size_t len, struct ipc_store_qos2 *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_sess(&r, &v->s);
	v->n = get_count(&r, 2);
	if (v->n > 0 && !r.err)
		v->pids = xcalloc(v->n, sizeof(*v->pids));
	for (i = 0; i < v->n && !r.err; i++)
		v->pids[i] = rbuf_u16(&r);
	if (!rbuf_done(&r) || v->s.client_id.len == 0) {
		ipc_store_free_qos2(v);
		return (-1);
	}
	return (0);
}

int
ipc_send_store_qos2(void *sock, const struct ipc_peer *to, unsigned type,
    const struct ipc_store_qos2 *v)
{
	struct buf	b = BUF_INIT;
	int		rc;

	ipc_enc_store_qos2(&b, v);
	rc = ipc_send(sock, to, type, &b);
	buf_free(&b);
	return (rc);
}

int
ipc_recv_store_qos2(const struct ipc_msg *m, struct ipc_store_qos2 *v)
{
	if (m->type != IPC_STORE_QOS2_PUT && m->type != IPC_STORE_QOS2_DEL)
		return (-1);
	return (ipc_dec_store_qos2(m->payload, m->len, v));
}

void
ipc_store_free_qos2(struct ipc_store_qos2 *v)
{
	free(v->pids);
	v->pids = NULL;
	v->n = 0;
}

/* IPC_STORE_RETAIN_PUT / _DEL */
void
ipc_enc_store_retain(struct buf *b, unsigned type,
    const struct ipc_store_retain *v)
{
	buf_add_u32(b, v->id);
	if (type == IPC_STORE_RETAIN_DEL)
		put_bytes(b, v->body.topic);
	else
		ipc_enc_store_body(b, &v->body);
}

int
ipc_dec_store_retain(unsigned type, const uint8_t *p, size_t len,
    struct ipc_store_retain *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	if (type != IPC_STORE_RETAIN_PUT && type != IPC_STORE_RETAIN_DEL)
		return (-1);
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	if (type == IPC_STORE_RETAIN_DEL)
		get_bytes(&r, &v->body.topic, IPC_STORE_TOPIC_MAX);
	else
		ipc_get_store_body(&r, &v->body);
	if (!rbuf_done(&r) || v->body.topic.len == 0)
		return (-1);
	return (0);
}
STORE_SEND2(retain)

/* IPC_STORE_WILL_PUT / _DEL */
void
ipc_enc_store_will(struct buf *b, unsigned type,
    const struct ipc_store_will *v)
{
	buf_add_u32(b, v->id);
	put_sess(b, &v->s);
	if (type == IPC_STORE_WILL_DEL)
		return;
	buf_add_u64(b, v->due_at);
	ipc_enc_store_body(b, &v->body);
}

int
ipc_dec_store_will(unsigned type, const uint8_t *p, size_t len,
    struct ipc_store_will *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	if (type != IPC_STORE_WILL_PUT && type != IPC_STORE_WILL_DEL)
		return (-1);
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_sess(&r, &v->s);
	if (type == IPC_STORE_WILL_PUT) {
		v->due_at = rbuf_u64(&r);
		ipc_get_store_body(&r, &v->body);
		if (v->body.topic.len == 0)
			r.err = true;
	}
	if (!rbuf_done(&r) || v->s.client_id.len == 0)
		return (-1);
	return (0);
}
STORE_SEND2(will)

/* IPC_STORE_LOAD */
#define IPC_STORE_load_TYPE	IPC_STORE_LOAD
void
ipc_enc_store_load(struct buf *b, const struct ipc_store_load *v)
{
	buf_add_u32(b, v->id);
	put_bytes(b, v->owner);
	buf_add_u32(b, v->what);
	put_bytes(b, v->client_id);
}

int
ipc_dec_store_load(const uint8_t *p, size_t len, struct ipc_store_load *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	get_bytes(&r, &v->owner, IPC_STORE_OWNER_MAX);
	v->what = rbuf_u32(&r);
	get_bytes(&r, &v->client_id, IPC_STORE_CLIENT_MAX);
	return (rbuf_done(&r) ? 0 : -1);
}
STORE_SEND(load, load)
STORE_RECV(load, IPC_STORE_LOAD)

/* IPC_STORE_REP */
#define IPC_STORE_rep_TYPE	IPC_STORE_REP
void
ipc_enc_store_rep(struct buf *b, const struct ipc_store_rep *v)
{
	uint32_t	i;

	buf_add_u32(b, v->id);
	buf_add_u32(b, (uint32_t)v->rc);
	buf_add_u32(b, v->nfull);
	for (i = 0; i < v->nfull; i++)
		put_bytes(b, v->full[i]);
}

int
ipc_dec_store_rep(const uint8_t *p, size_t len, struct ipc_store_rep *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	v->rc = (int32_t)rbuf_u32(&r);
	v->nfull = get_count(&r, 4);
	if (v->nfull > 0 && !r.err)
		v->full = xcalloc(v->nfull, sizeof(*v->full));
	for (i = 0; i < v->nfull && !r.err; i++)
		get_bytes(&r, &v->full[i], IPC_STORE_CLIENT_MAX);
	if (!rbuf_done(&r)) {
		ipc_store_free_rep(v);
		return (-1);
	}
	return (0);
}
STORE_SEND(rep, rep)
STORE_RECV(rep, IPC_STORE_REP)

void
ipc_store_free_rep(struct ipc_store_rep *v)
{
	free(v->full);
	v->full = NULL;
	v->nfull = 0;
}

/* IPC_STORE_LOAD_REP */
void
ipc_enc_store_load_rep_head(struct buf *b, uint32_t id, int32_t rc,
    bool last, uint32_t nrecs)
{
	buf_add_u32(b, id);
	buf_add_u32(b, (uint32_t)rc);
	buf_add_u8(b, last ? 1 : 0);
	buf_add_u32(b, nrecs);
}

void
ipc_enc_store_rec(struct buf *b, const struct ipc_store_rec *r)
{
	buf_add_u8(b, r->kind);
	switch (r->kind) {
	case IPC_STORE_R_SESSION:
		put_bytes(b, r->client_id);
		buf_add_u8(b, r->proto);
		buf_add_u8(b, r->flags);
		buf_add_u32(b, r->expiry_interval);
		buf_add_u64(b, r->expire_at);
		put_bytes(b, r->data);
		break;
	case IPC_STORE_R_SUB:
		put_bytes(b, r->client_id);
		put_sub(b, &r->sub, false);
		break;
	case IPC_STORE_R_QUEUE:
		put_bytes(b, r->client_id);
		buf_add_u64(b, r->seq);
		buf_add_u8(b, r->qos);
		buf_add_u8(b, r->state);
		put_subids(b, r->nsub_ids, r->sub_ids);
		buf_add_u64(b, r->msg_id);
		ipc_enc_store_body(b, &r->body);
		break;
	case IPC_STORE_R_QOS2:
		put_bytes(b, r->client_id);
		buf_add_u16(b, r->pid);
		break;
	case IPC_STORE_R_RETAIN:
		ipc_enc_store_body(b, &r->body);
		break;
	case IPC_STORE_R_WILL:
		put_bytes(b, r->client_id);
		buf_add_u64(b, r->due_at);
		ipc_enc_store_body(b, &r->body);
		break;
	}
}

static void
get_rec(struct rbuf *rb, struct ipc_store_rec *r)
{
	r->kind = rbuf_u8(rb);
	switch (r->kind) {
	case IPC_STORE_R_SESSION:
		get_bytes(rb, &r->client_id, IPC_STORE_CLIENT_MAX);
		r->proto = rbuf_u8(rb);
		r->flags = rbuf_u8(rb);
		r->expiry_interval = rbuf_u32(rb);
		r->expire_at = rbuf_u64(rb);
		get_bytes(rb, &r->data, IPC_STORE_DATA_MAX);
		break;
	case IPC_STORE_R_SUB:
		get_bytes(rb, &r->client_id, IPC_STORE_CLIENT_MAX);
		get_sub(rb, &r->sub, false);
		break;
	case IPC_STORE_R_QUEUE:
		get_bytes(rb, &r->client_id, IPC_STORE_CLIENT_MAX);
		r->seq = rbuf_u64(rb);
		r->qos = rbuf_u8(rb);
		r->state = rbuf_u8(rb);
		get_subids(rb, &r->nsub_ids, r->sub_ids);
		r->msg_id = rbuf_u64(rb);
		ipc_get_store_body(rb, &r->body);
		break;
	case IPC_STORE_R_QOS2:
		get_bytes(rb, &r->client_id, IPC_STORE_CLIENT_MAX);
		r->pid = rbuf_u16(rb);
		break;
	case IPC_STORE_R_RETAIN:
		ipc_get_store_body(rb, &r->body);
		break;
	case IPC_STORE_R_WILL:
		get_bytes(rb, &r->client_id, IPC_STORE_CLIENT_MAX);
		r->due_at = rbuf_u64(rb);
		ipc_get_store_body(rb, &r->body);
		break;
	default:
		rb->err = true;
	}
}

void
ipc_enc_store_load_rep(struct buf *b, const struct ipc_store_load_rep *v)
{
	uint32_t	i;

	ipc_enc_store_load_rep_head(b, v->id, v->rc, v->last, v->nrecs);
	for (i = 0; i < v->nrecs; i++)
		ipc_enc_store_rec(b, &v->recs[i]);
}

int
ipc_dec_store_load_rep(const uint8_t *p, size_t len,
    struct ipc_store_load_rep *v)
{
	struct rbuf	r;
	uint32_t	i;
	uint8_t		last;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->id = rbuf_u32(&r);
	v->rc = (int32_t)rbuf_u32(&r);
	last = rbuf_u8(&r);
	v->last = last == 1;
	if (last > 1)
		r.err = true;
	/* The smallest record (QOS2) is 1 + 4 + 2 bytes. */
	v->nrecs = get_count(&r, 7);
	if (v->nrecs > 0 && !r.err)
		v->recs = xcalloc(v->nrecs, sizeof(*v->recs));
	for (i = 0; i < v->nrecs && !r.err; i++)
		get_rec(&r, &v->recs[i]);
	if (!rbuf_done(&r)) {
		ipc_store_free_load_rep(v);
		return (-1);
	}
	return (0);
}

int
ipc_send_store_load_rep(void *sock, const struct ipc_peer *to,
    const struct ipc_store_load_rep *v)
{
	struct buf	b = BUF_INIT;
	int		rc;

	ipc_enc_store_load_rep(&b, v);
	rc = ipc_send(sock, to, IPC_STORE_LOAD_REP, &b);
	buf_free(&b);
	return (rc);
}
STORE_RECV(load_rep, IPC_STORE_LOAD_REP)

void
ipc_store_free_load_rep(struct ipc_store_load_rep *v)
{
	free(v->recs);
	v->recs = NULL;
	v->nrecs = 0;
}
