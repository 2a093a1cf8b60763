/* SPDX-License-Identifier: MIT */
/* Encoders and decoders of the messages between nodes (wire_msg.h): each
 * decoder rejects short and over-long payloads. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
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
}

int
wire_dec_leave_req(const uint8_t *p, size_t len, struct wire_leave_req *v)
{
	struct rbuf	r;

	memset(v, 0, sizeof(*v));
	rbuf_init(&r, p, len);
	v->req = rbuf_u32(&r);
	wire_get_name(&r, v->name, sizeof(v->name));
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
