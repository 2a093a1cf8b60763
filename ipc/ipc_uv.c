/* SPDX-License-Identifier: MIT */
/*
 * libuv glue for ZeroMQ sockets (clusterd runs Raft on libuv).  Like
 * ipc_event.c: ZMQ_FD only signals that the socket's state may have changed
 * (edge-like), so after every wakeup and every send the glue asks ZMQ_EVENTS
 * and keeps calling back while messages wait.
 */
#include <stdlib.h>

#include <uv.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"

struct ipc_uv {
	uv_poll_t	 poll;
	uv_timer_t	 again;		/* runs the callback on the next turn */
	void		*sock;		/* borrowed */
	ipc_uv_cb	 cb;
	void		*arg;
	int		 open_handles;
};

static void	ipc_uv_again_cb(uv_timer_t *);

static void
ipc_uv_drain(struct ipc_uv *iu)
{
	int	rounds = 0;

	while (ipc_readable(iu->sock)) {
		iu->cb(iu->sock, iu->arg);
		/* Let the rest of the loop run; come back at once. */
		if (++rounds == 16) {
			uv_timer_start(&iu->again, ipc_uv_again_cb, 0, 0);
			break;
		}
	}
}

static void
ipc_uv_poll_cb(uv_poll_t *h, int status, int events)
{
	ipc_uv_drain(h->data);
}

static void
ipc_uv_again_cb(uv_timer_t *h)
{
	ipc_uv_drain(h->data);
}

struct ipc_uv *
ipc_uv_new(struct uv_loop_s *loop, void *sock, ipc_uv_cb cb, void *arg)
{
	struct ipc_uv	*iu;
	int		 rv;

	iu = xcalloc(1, sizeof(*iu));
	iu->sock = sock;
	iu->cb = cb;
	iu->arg = arg;
	if ((rv = uv_poll_init(loop, &iu->poll, ipc_fd(sock))) != 0)
		fatalx("ipc: uv_poll_init: %s", uv_strerror(rv));
	uv_timer_init(loop, &iu->again);
	iu->poll.data = iu;
	iu->again.data = iu;
	iu->open_handles = 2;
	uv_poll_start(&iu->poll, UV_READABLE, ipc_uv_poll_cb);
	/* Messages may already be waiting. */
	uv_timer_start(&iu->again, ipc_uv_again_cb, 0, 0);
	return (iu);
}

void
ipc_uv_kick(struct ipc_uv *iu)
{
	if (iu != NULL && ipc_readable(iu->sock))
		uv_timer_start(&iu->again, ipc_uv_again_cb, 0, 0);
}

static void
ipc_uv_closed(uv_handle_t *h)
{
	struct ipc_uv	*iu = h->data;

	if (--iu->open_handles == 0)
		free(iu);
}

void
ipc_uv_free(struct ipc_uv *iu)
{
	if (iu == NULL)
		return;
	uv_poll_stop(&iu->poll);
	uv_timer_stop(&iu->again);
	uv_close((uv_handle_t *)&iu->poll, ipc_uv_closed);
	uv_close((uv_handle_t *)&iu->again, ipc_uv_closed);
}
