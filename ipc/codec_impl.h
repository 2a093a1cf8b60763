/* SPDX-License-Identifier: MIT */
/*
 * Private to ipc/codec*.c: IPC_SENDER(msg, type) defines ipc_send_<msg>()
 * and ipc_recv_<msg>() from ipc_enc_<msg>() and ipc_dec_<msg>().
 */
#ifndef IPC_CODEC_IMPL_H
#define IPC_CODEC_IMPL_H

#include "ipc/ipc.h"

#define IPC_SENDER(msg, mtype)						\
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

#endif
