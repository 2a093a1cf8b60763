/* SPDX-License-Identifier: MIT */
/* Encoders and decoders of every message in ipc_msg.h (layout described
 * there): each decoder rejects short and over-long payloads. */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "ipc/codec_impl.h"
#include "ipc/ipc.h"

int
ipc_copy_name(char *dst, size_t dstlen, const uint8_t *p, size_t n)
{
	if (p == NULL || n >= dstlen || memchr(p, '\0', n) != NULL)
		return (-1);
	memcpy(dst, p, n);
	dst[n] = '\0';
	return (0);
}

static int
ipc_get_name(struct rbuf *r, char *dst, size_t dstlen)
{
	const uint8_t	*p;
	size_t		 n;

	if ((p = rbuf_blob(r, &n, dstlen - 1)) == NULL)
		return (-1);
	if (ipc_copy_name(dst, dstlen, p, n) == -1) {
		r->err = true;
		return (-1);
	}
	return (0);
}


/* IPC_HELLO */
void
ipc_enc_hello(struct buf *b, const struct ipc_hello *h)
{
	buf_add_str(b, h->daemon);
	buf_add_str(b, h->nodename);
	buf_add_u32(b, h->pid);
	buf_add_u64(b, h->boot_id);
	buf_add_u64(b, h->peer_boot);
}

int
ipc_dec_hello(const uint8_t *p, size_t len, struct ipc_hello *h)
{
	struct rbuf	r;

	memset(h, 0, sizeof(*h));
	rbuf_init(&r, p, len);
	ipc_get_name(&r, h->daemon, sizeof(h->daemon));
	ipc_get_name(&r, h->nodename, sizeof(h->nodename));
	h->pid = rbuf_u32(&r);
	h->boot_id = rbuf_u64(&r);
	h->peer_boot = rbuf_u64(&r);
	return (rbuf_done(&r) ? 0 : -1);
}
IPC_SENDER(hello, IPC_HELLO)

/* IPC_HEARTBEAT */
void
ipc_enc_heartbeat(struct buf *b, const struct ipc_heartbeat *h)
{
	buf_add_u64(b, h->seq);
}

int
ipc_dec_heartbeat(const uint8_t *p, size_t len, struct ipc_heartbeat *h)
{
	struct rbuf	r;

	rbuf_init(&r, p, len);
	h->seq = rbuf_u64(&r);
	return (rbuf_done(&r) ? 0 : -1);
}
IPC_SENDER(heartbeat, IPC_HEARTBEAT)

/* IPC_STATUS_REQ */
void
ipc_enc_status_req(struct buf *b, const struct ipc_status_req *s)
{
	buf_add_u32(b, s->id);
	buf_add_str(b, s->what);
	buf_add_str(b, s->arg);
}

int
ipc_dec_status_req(const uint8_t *p, size_t len, struct ipc_status_req *s)
{
	struct rbuf	r;

	memset(s, 0, sizeof(*s));
	rbuf_init(&r, p, len);
	s->id = rbuf_u32(&r);
	ipc_get_name(&r, s->what, sizeof(s->what));
	ipc_get_name(&r, s->arg, sizeof(s->arg));
	return (rbuf_done(&r) ? 0 : -1);
}
IPC_SENDER(status_req, IPC_STATUS_REQ)

/* IPC_STATUS_REP */
void
ipc_enc_status_rep(struct buf *b, const struct ipc_status_rep *s)
{
	buf_add_u32(b, s->id);
	buf_add_u32(b, (uint32_t)s->rc);
	buf_add_str(b, s->json);
}

int
ipc_dec_status_rep(const uint8_t *p, size_t len, struct ipc_status_rep *s)
{
	struct rbuf	r;

	memset(s, 0, sizeof(*s));
	rbuf_init(&r, p, len);
	s->id = rbuf_u32(&r);
	s->rc = (int32_t)rbuf_u32(&r);
	s->json = rbuf_strdup(&r, IPC_TEXT_MAX);
	if (!rbuf_done(&r)) {
		free(s->json);
		s->json = NULL;
		return (-1);
	}
	return (0);
}
IPC_SENDER(status_rep, IPC_STATUS_REP)
