/* SPDX-License-Identifier: MIT */
/* Encoders and decoders of clusterd's node-local messages (msg_cluster.h):
 * each decoder rejects short and over-long payloads. */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "ipc/ipc.h"

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

#define CLUSTER_SENDER(msg, mtype)					\
int									\
ipc_send_##msg(void *sock, const struct ipc_peer *to,			\
    const struct ipc_##msg *v)						\
{									\
	struct buf	b = BUF_INIT;					\
	int		rc;						\
									\
	ipc_enc_##msg(&b, v);						\
	rc = ipc_send(sock, to, (mtype), &b);				\
	buf_free(&b);							\
	return (rc);							\
}									\
int									\
ipc_recv_##msg(const struct ipc_msg *m, struct ipc_##msg *v)		\
{									\
	if (m->type != (mtype))						\
		return (-1);						\
	return (ipc_dec_##msg(m->payload, m->len, v));			\
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
CLUSTER_SENDER(cluster_join_req, IPC_CLUSTER_JOIN_REQ)

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
CLUSTER_SENDER(cluster_leave_req, IPC_CLUSTER_LEAVE_REQ)

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
CLUSTER_SENDER(cluster_rep, IPC_CLUSTER_REP)
