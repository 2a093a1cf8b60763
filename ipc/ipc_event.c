/* SPDX-License-Identifier: MIT */
/*
 * libevent glue for ZeroMQ sockets.  ZMQ_FD only signals that the socket's
 * state may have changed (edge-like), so after every wakeup and every send
 * the glue asks ZMQ_EVENTS and keeps calling back while messages wait.
 */
#include <stdlib.h>

#include <event2/event.h>

#include "common/xmalloc.h"
#include "ipc/ipc.h"

struct ipc_ev {
	struct event	*ev;
	void		*sock;		/* borrowed */
	ipc_ev_cb	 cb;
	void		*arg;
};

static void
ipc_ev_fire(evutil_socket_t fd, short what, void *arg)
{
	struct ipc_ev	*ie = arg;
	int		 rounds = 0;

	while (ipc_readable(ie->sock)) {
		ie->cb(ie->sock, ie->arg);
		/* Let the rest of the loop run; come back at once. */
		if (++rounds == 16) {
			event_active(ie->ev, EV_READ, 0);
			break;
		}
	}
}

struct ipc_ev *
ipc_ev_new(struct event_base *base, void *sock, ipc_ev_cb cb, void *arg)
{
	struct ipc_ev	*ie;

	ie = xcalloc(1, sizeof(*ie));
	ie->sock = sock;
	ie->cb = cb;
	ie->arg = arg;
	ie->ev = event_new(base, ipc_fd(sock), EV_READ | EV_PERSIST,
	    ipc_ev_fire, ie);
	event_add(ie->ev, NULL);
	/* Messages may already be waiting. */
	event_active(ie->ev, EV_READ, 0);
	return (ie);
}

void
ipc_ev_kick(struct ipc_ev *ie)
{
	if (ipc_readable(ie->sock))
		event_active(ie->ev, EV_READ, 0);
}

void
ipc_ev_free(struct ipc_ev *ie)
{
	if (ie == NULL)
		return;
	event_free(ie->ev);
	free(ie);
}
