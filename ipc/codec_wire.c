/* SPDX-License-Identifier: MIT */
/* Encoders and decoders of the messages between nodes (wire_msg.h): each
 * decoder rejects short and over-long payloads. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"
#include "ipc/wire_msg.h"

const char *
wire_type_name(unsigned type)
{
	static const char *names[] = {
		"WIRE_NONE",
#define WIRE_NAME(name, desc)	#name,
		WIRE_MESSAGES(WIRE_NAME)
#undef WIRE_NAME
	};

	if (type >= WIRE_TYPE_MAX)
		return ("WIRE_UNKNOWN");
	return (names[type]);
}

static void
wire_get_name(struct rbuf *r, char *dst, size_t dstlen)
{
	const uint8_t	*p;
	size_t		 n;

	if ((p = rbuf_blob(r, &n, dstlen - 1)) == NULL)
		return;
	if (ipc_copy_name(dst, dstlen, p, n) == -1)
		r->err = true;
}

void
wire_begin(struct buf *b, unsigned type, uint64_t node_id, uint64_t boot_id)
{
	buf_reset(b);
	buf_add_u8(b, WIRE_VERSION);
	buf_add_u8(b, 0);
	buf_add_u16(b, (uint16_t)type);
	buf_add_u64(b, node_id);
	buf_add_u64(b, boot_id);
}

int
wire_dec_hdr(const uint8_t *p, size_t n, struct wire_hdr *h,
    const uint8_t **payload, size_t *len)
{
	struct rbuf	r;

	memset(h, 0, sizeof(*h));
	if (n < WIRE_HDR_LEN)
		return (-1);
	rbuf_init(&r, p, n);
	h->version = rbuf_u8(&r);
	(void)rbuf_u8(&r);
	h->type = rbuf_u16(&r);
	h->node_id = rbuf_u64(&r);
	h->boot_id = rbuf_u64(&r);
	if (r.err || h->version < WIRE_VERSION_MIN ||
	    h->version > WIRE_VERSION)
		return (-1);
	*payload = p + WIRE_HDR_LEN;
	*len = n - WIRE_HDR_LEN;
	return (0);
}

/* WIRE_PING */
void
wire_enc_ping(struct buf *b, const struct wire_ping *v)
{
	buf_add_u64(b, v->seq);
}

int
wire_dec_ping(const uint8_t *p, size_t len, struct wire_ping *v)
{
	struct rbuf	r;

	rbuf_init(&r, p, len);
	v->seq = rbuf_u64(&r);
	return (rbuf_done(&r) ? 0 : -1);
}

/* WIRE_PONG */
void
wire_enc_pong(struct buf *b, const struct wire_pong *v)
{
	buf_add_u64(b, v->seq);
	buf_add_u8(b, v->flags);
	buf_add_str(b, v->name);
	buf_add_str(b, v->address);
	buf_add_str(b, v->cluster_id);
}

int
wire_dec_pong(const uint8_t *p, size_t len, struct wire_pong *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->seq = rbuf_u64(&r);
	v->flags = rbuf_u8(&r);
	wire_get_name(&r, v->name, sizeof(v->name));
	wire_get_name(&r, v->address, sizeof(v->address));
	wire_get_name(&r, v->cluster_id, sizeof(v->cluster_id));
	return (rbuf_done(&r) ? 0 : -1);
}

/* WIRE_RAFT_OPEN */
void
wire_enc_raft_open(struct buf *b, const struct wire_raft_open *v)
{
	buf_add_u64(b, v->conn);
	buf_add_u64(b, v->raft_id);
	buf_add_str(b, v->address);
}

int
wire_dec_raft_open(const uint8_t *p, size_t len, struct wire_raft_open *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->conn = rbuf_u64(&r);
	v->raft_id = rbuf_u64(&r);
	wire_get_name(&r, v->address, sizeof(v->address));
	return (rbuf_done(&r) ? 0 : -1);
}

/* WIRE_RAFT_DATA */
void
wire_enc_raft_data(struct buf *b, const struct wire_raft_data *v)
{
	buf_add_u64(b, v->conn);
	buf_add_u64(b, v->seq);
	buf_add_blob(b, v->data, v->len);
}

int
wire_dec_raft_data(const uint8_t *p, size_t len, struct wire_raft_data *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->conn = rbuf_u64(&r);
	v->seq = rbuf_u64(&r);
	v->data = rbuf_blob(&r, &v->len, WIRE_DATA_MAX);
	return (rbuf_done(&r) && v->len > 0 ? 0 : -1);
}

/* WIRE_RAFT_CLOSE */
void
wire_enc_raft_close(struct buf *b, const struct wire_raft_close *v)
{
	buf_add_u64(b, v->conn);
}

int
wire_dec_raft_close(const uint8_t *p, size_t len, struct wire_raft_close *v)
{
	struct rbuf	r;

	rbuf_init(&r, p, len);
	v->conn = rbuf_u64(&r);
	return (rbuf_done(&r) ? 0 : -1);
}

/* WIRE_JOIN_REQ */
void
wire_enc_join_req(struct buf *b, const struct wire_join_req *v)
{
	buf_add_u32(b, v->req);
	buf_add_u64(b, v->node_id);
	buf_add_str(b, v->name);
	buf_add_str(b, v->address);
	buf_add_str(b, v->cluster_id);
}

int
wire_dec_join_req(const uint8_t *p, size_t len, struct wire_join_req *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->req = rbuf_u32(&r);
	v->node_id = rbuf_u64(&r);
	wire_get_name(&r, v->name, sizeof(v->name));
	wire_get_name(&r, v->address, sizeof(v->address));
	wire_get_name(&r, v->cluster_id, sizeof(v->cluster_id));
	return (rbuf_done(&r) && v->node_id != 0 ? 0 : -1);
}

/* WIRE_LEAVE_REQ */
void
wire_enc_leave_req(struct buf *b, const struct wire_leave_req *v)
{
	buf_add_u32(b, v->req);
	buf_add_str(b, v->name);
	buf_add_u8(b, v->kill ? 1 : 0);
	buf_add_u32(b, v->timeout_s);
	buf_add_u32(b, v->interval_s);
}

int
wire_dec_leave_req(const uint8_t *p, size_t len, struct wire_leave_req *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->req = rbuf_u32(&r);
	wire_get_name(&r, v->name, sizeof(v->name));
	v->kill = rbuf_u8(&r) != 0;
	v->timeout_s = rbuf_u32(&r);
	v->interval_s = rbuf_u32(&r);
	return (rbuf_done(&r) ? 0 : -1);
}

/* WIRE_REPLY */
void
wire_enc_reply(struct buf *b, const struct wire_reply *v)
{
	buf_add_u32(b, v->req);
	buf_add_u32(b, v->rc);
	buf_add_str(b, v->text);
	buf_add_str(b, v->leader);
	buf_add_str(b, v->cluster_id);
}

int
wire_dec_reply(const uint8_t *p, size_t len, struct wire_reply *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->req = rbuf_u32(&r);
	v->rc = rbuf_u32(&r);
	wire_get_name(&r, v->text, sizeof(v->text));
	wire_get_name(&r, v->leader, sizeof(v->leader));
	wire_get_name(&r, v->cluster_id, sizeof(v->cluster_id));
	return (rbuf_done(&r) ? 0 : -1);
}

/* ------------------------------------------ routing and forwarding */

/* Reads a list count, checked against WIRE_LIST_MAX and what is left. */
static uint32_t
wire_get_count(struct rbuf *r, size_t minsz)
{
	uint32_t	n = rbuf_u32(r);

	if (r->err || n > WIRE_LIST_MAX || n > rbuf_left(r) / minsz) {
		r->err = true;
		return (0);
	}
	return (n);
}

/* WIRE_ROUTE_DELTA, WIRE_ROUTE_SYNC */
void
wire_enc_route(struct buf *b, const struct wire_route *v)
{
	uint32_t	i;

	buf_add_u64(b, v->gen);
	buf_add_u64(b, v->seq);
	buf_add_u8(b, v->flags);
	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		buf_add_u8(b, v->ents[i].op);
		buf_add_blob(b, v->ents[i].filter, v->ents[i].len);
	}
}

int
wire_dec_route(const uint8_t *p, size_t len, struct wire_route *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->gen = rbuf_u64(&r);
	v->seq = rbuf_u64(&r);
	v->flags = rbuf_u8(&r);
	v->n = wire_get_count(&r, 1 + 4);
	if (v->n > 0)
		v->ents = xcalloc(v->n, sizeof(*v->ents));
	for (i = 0; i < v->n && !r.err; i++) {
		v->ents[i].op = rbuf_u8(&r);
		v->ents[i].filter = rbuf_blob(&r, &v->ents[i].len,
		    WIRE_ROUTE_FILTER_MAX);
		if (v->ents[i].filter == NULL || v->ents[i].len == 0 ||
		    memchr(v->ents[i].filter, '\0', v->ents[i].len) != NULL ||
		    (v->ents[i].op != WIRE_ROUTE_ADD &&
		    v->ents[i].op != WIRE_ROUTE_DEL))
			r.err = true;
	}
	if (v->flags & ~(WIRE_ROUTE_F_FIRST | WIRE_ROUTE_F_LAST))
		r.err = true;
	if (!rbuf_done(&r)) {
		wire_route_free(v);
		return (-1);
	}
	return (0);
}

void
wire_route_free(struct wire_route *v)
{
	free(v->ents);
	v->ents = NULL;
	v->n = 0;
}

/* WIRE_ROUTE_SYNC_REQ */
void
wire_enc_route_sync_req(struct buf *b, const struct wire_route_sync_req *v)
{
	buf_add_u64(b, v->gen);
	buf_add_u64(b, v->seq);
}

int
wire_dec_route_sync_req(const uint8_t *p, size_t len,
    struct wire_route_sync_req *v)
{
	struct rbuf	r;

	rbuf_init(&r, p, len);
	v->gen = rbuf_u64(&r);
	v->seq = rbuf_u64(&r);
	return (rbuf_done(&r) ? 0 : -1);
}

/* WIRE_FORWARD */
size_t
wire_begin_forward(struct buf *b, uint64_t to_boot, uint64_t base)
{
	size_t	at;

	buf_add_u64(b, to_boot);
	buf_add_u64(b, base);
	at = b->len;
	buf_add_u32(b, 0);
	return (at);
}

void
wire_add_forward_msg(struct buf *b, uint64_t seq, const uint8_t *targets,
    size_t tlen, const uint8_t *body, size_t blen)
{
	buf_add_u64(b, seq);
	if (tlen > 0)
		buf_add(b, targets, tlen);
	if (blen > 0)
		buf_add(b, body, blen);
}

void
wire_end_forward(struct buf *b, size_t at, uint32_t n)
{
	be32_put(b->data + at, n);
}

/* Reads one message; spans point into r's input. */
static int
wire_get_forward_msg(struct rbuf *r, uint64_t *seq, const uint8_t **t,
    size_t *tlen, const uint8_t **body, size_t *blen)
{
	struct ipc_fwd_target	*targets;
	struct ipc_store_body	 b;
	uint32_t		 n;
	size_t			 start;

	*seq = rbuf_u64(r);
	start = r->off;
	if (ipc_get_fwd_targets(r, &targets, &n, false) == -1)
		return (-1);
	free(targets);
	if (n == 0)
		r->err = true;
	*t = r->p + start;
	*tlen = r->off - start;
	start = r->off;
	ipc_get_store_body(r, &b);
	if (r->err || b.topic.len == 0) {
		r->err = true;
		return (-1);
	}
	*body = r->p + start;
	*blen = r->off - start;
	return (0);
}

int
wire_dec_forward(const uint8_t *p, size_t len, struct wire_forward *v)
{
	struct rbuf	 r;
	const uint8_t	*t, *body;
	size_t		 tlen, blen;
	uint64_t	 seq;
	uint32_t	 i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->to_boot = rbuf_u64(&r);
	v->base = rbuf_u64(&r);
	v->n = wire_get_count(&r, 8 + 4 + 14);
	v->msgs = r.p + r.off;
	v->len = rbuf_left(&r);
	for (i = 0; i < v->n && !r.err; i++)
		if (wire_get_forward_msg(&r, &seq, &t, &tlen, &body,
		    &blen) == -1)
			break;
	return (rbuf_done(&r) ? 0 : -1);
}

int
wire_next_forward_msg(struct rbuf *r, uint64_t *seq, const uint8_t **t,
    size_t *tlen, const uint8_t **body, size_t *blen)
{
	if (rbuf_left(r) == 0 || r->err)
		return (0);
	return (wire_get_forward_msg(r, seq, t, tlen, body, blen) == 0 ?
	    1 : 0);
}

/* WIRE_FORWARD_ACK */
void
wire_enc_forward_ack(struct buf *b, const struct wire_forward_ack *v)
{
	uint32_t	i;

	buf_add_u64(b, v->to_boot);
	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++) {
		buf_add_u64(b, v->ents[i].id);
		buf_add_u8(b, v->ents[i].rc);
	}
}

int
wire_dec_forward_ack(const uint8_t *p, size_t len,
    struct wire_forward_ack *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->to_boot = rbuf_u64(&r);
	v->n = wire_get_count(&r, 9);
	if (v->n > 0)
		v->ents = xcalloc(v->n, sizeof(*v->ents));
	for (i = 0; i < v->n && !r.err; i++) {
		v->ents[i].id = rbuf_u64(&r);
		v->ents[i].rc = rbuf_u8(&r);
		if (v->ents[i].id == 0 || v->ents[i].rc > IPC_FWD_ERROR)
			r.err = true;
	}
	if (!rbuf_done(&r)) {
		wire_forward_ack_free(v);
		return (-1);
	}
	return (0);
}

void
wire_forward_ack_free(struct wire_forward_ack *v)
{
	free(v->ents);
	v->ents = NULL;
	v->n = 0;
}

/* WIRE_FORWARD_NACK */
void
wire_enc_forward_nack(struct buf *b, const struct wire_forward_nack *v)
{
	buf_add_u64(b, v->to_boot);
	buf_add_u64(b, v->seq);
}

int
wire_dec_forward_nack(const uint8_t *p, size_t len,
    struct wire_forward_nack *v)
{
	struct rbuf	r;

	rbuf_init(&r, p, len);
	v->to_boot = rbuf_u64(&r);
	v->seq = rbuf_u64(&r);
	return (rbuf_done(&r) && v->seq > 0 ? 0 : -1);
}

/* WIRE_OWNER_REQ */
void
wire_enc_owner_req(struct buf *b, const struct wire_owner_req *v)
{
	uint32_t	i;

	buf_add_u32(b, v->n);
	for (i = 0; i < v->n; i++)
		buf_add_blob(b, v->ids[i].p, v->ids[i].len);
}

int
wire_dec_owner_req(const uint8_t *p, size_t len, struct wire_owner_req *v)
{
	struct rbuf	r;
	uint32_t	i;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->n = wire_get_count(&r, 4 + 1);
	if (v->n > 0)
		v->ids = xcalloc(v->n, sizeof(*v->ids));
	for (i = 0; i < v->n && !r.err; i++) {
		v->ids[i].p = rbuf_blob(&r, &v->ids[i].len,
		    IPC_STORE_CLIENT_MAX);
		if (v->ids[i].p == NULL || v->ids[i].len == 0)
			r.err = true;
	}
	if (!rbuf_done(&r)) {
		wire_owner_req_free(v);
		return (-1);
	}
	return (0);
}

void
wire_owner_req_free(struct wire_owner_req *v)
{
	free(v->ids);
	v->ids = NULL;
	v->n = 0;
}
