/* SPDX-License-Identifier: MIT */
/* ZeroMQ sockets between the processes of a node: the only code here that
 * owns zmq_msg_t and socket lifetimes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"

#define IPC_HDR_LEN	4

static void	*ipc_context;

const char *
ipc_type_name(unsigned type)
{
	static const char *names[] = {
		"IPC_NONE",
#define IPC_NAME(name, desc)	#name,
		IPC_MESSAGES(IPC_NAME)
#undef IPC_NAME
	};

	if (type >= IPC_TYPE_MAX)
		return ("IPC_UNKNOWN");
	return (names[type]);
}

void *
ipc_ctx(void)
{
	if (ipc_context == NULL) {
		if ((ipc_context = zmq_ctx_new()) == NULL)
			fatal("ipc: zmq_ctx_new");
	}
	return (ipc_context);
}

void
ipc_ctx_term(void)
{
	if (ipc_context != NULL) {
		zmq_ctx_term(ipc_context);
		ipc_context = NULL;
	}
}

static void
ipc_sockopts(void *s)
{
	int	zero = 0, hwm = 100000;

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
}

void *
ipc_router_bind(const char *endpoint)
{
	void	*s;
	int	 one = 1;

	if ((s = zmq_socket(ipc_ctx(), ZMQ_ROUTER)) == NULL) {
		log_warnx("ipc: socket: %s", zmq_strerror(errno));
		return (NULL);
	}
	ipc_sockopts(s);
	/* Drop messages to peers that are gone instead of blocking. */
	zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	if (strncmp(endpoint, "ipc://", 6) == 0)
		unlink(endpoint + 6);
	if (zmq_bind(s, endpoint) == -1) {
		log_warnx("ipc: bind %s: %s", endpoint, zmq_strerror(errno));
		zmq_close(s);
		return (NULL);
	}
	return (s);
}

void *
ipc_dealer_connect(const char *endpoint, const char *ident)
{
	void	*s;
	int	 one = 1, ivl = 100, ivlmax = 1000;

	if ((s = zmq_socket(ipc_ctx(), ZMQ_DEALER)) == NULL) {
		log_warnx("ipc: socket: %s", zmq_strerror(errno));
		return (NULL);
	}
	ipc_sockopts(s);
	zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof(one));
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivlmax, sizeof(ivlmax));
	if (ident != NULL)
		zmq_setsockopt(s, ZMQ_ROUTING_ID, ident, strlen(ident));
	if (zmq_connect(s, endpoint) == -1) {
		log_warnx("ipc: connect %s: %s", endpoint,
		    zmq_strerror(errno));
		zmq_close(s);
		return (NULL);
	}
	return (s);
}

void
ipc_close(void *sock)
{
	if (sock != NULL)
		zmq_close(sock);
}

int
ipc_fd(void *sock)
{
	int	fd = -1;
	size_t	len = sizeof(fd);

	if (zmq_getsockopt(sock, ZMQ_FD, &fd, &len) == -1)
		fatalx("ipc: ZMQ_FD: %s", zmq_strerror(errno));
	return (fd);
}

bool
ipc_readable(void *sock)
{
	int	ev = 0;
	size_t	len = sizeof(ev);

	if (zmq_getsockopt(sock, ZMQ_EVENTS, &ev, &len) == -1)
		return (false);
	return ((ev & ZMQ_POLLIN) != 0);
}

int
ipc_send(void *sock, const struct ipc_peer *to, unsigned type,
    const struct buf *payload)
{
	zmq_msg_t	 msg;
	uint8_t		*p;
	size_t		 plen = payload ? payload->len : 0;

	if (to != NULL &&
	    zmq_send(sock, to->id, to->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
		return (-1);
	if (zmq_msg_init_size(&msg, IPC_HDR_LEN + plen) == -1)
		return (-1);
	p = zmq_msg_data(&msg);
	p[0] = IPC_VERSION;
	p[1] = 0;
	be16_put(p + 2, (uint16_t)type);
	if (plen > 0)
		memcpy(p + IPC_HDR_LEN, payload->data, plen);
	if (zmq_msg_send(&msg, sock, ZMQ_DONTWAIT) == -1) {
		zmq_msg_close(&msg);
		return (-1);
	}
	log_trace(TRACE_IPC, "ipc: sent %s (%zu bytes)", ipc_type_name(type),
	    plen);
	return (0);
}

void
ipc_drain_more(void *sock)
{
	zmq_msg_t	part;
	int		more;
	size_t		len = sizeof(more);

	for (;;) {
		if (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == -1 ||
		    !more)
			return;
		zmq_msg_init(&part);
		zmq_msg_recv(&part, sock, ZMQ_DONTWAIT);
		zmq_msg_close(&part);
	}
}

int
ipc_recv(void *sock, struct ipc_msg *m)
{
	zmq_msg_t	*zm;
	int		 type = 0, more;
	size_t		 len = sizeof(type);
	const uint8_t	*p;
	size_t		 n;

	zmq_getsockopt(sock, ZMQ_TYPE, &type, &len);
	for (;;) {
		memset(m, 0, sizeof(*m));
		zm = xmalloc(sizeof(*zm));
		zmq_msg_init(zm);
		if (zmq_msg_recv(zm, sock, ZMQ_DONTWAIT) == -1) {
			zmq_msg_close(zm);
			free(zm);
			if (errno == EAGAIN || errno == EINTR)
				return (0);
			log_warnx("ipc: recv: %s", zmq_strerror(errno));
			return (-1);
		}
		if (type == ZMQ_ROUTER) {
			n = zmq_msg_size(zm);
			more = zmq_msg_more(zm);
			if (n > IPC_PEER_ID_MAX || !more) {
				zmq_msg_close(zm);
				free(zm);
				ipc_drain_more(sock);
				continue;
			}
			memcpy(m->from.id, zmq_msg_data(zm), n);
			m->from.len = n;
			m->has_from = true;
			zmq_msg_close(zm);
			zmq_msg_init(zm);
			if (zmq_msg_recv(zm, sock, ZMQ_DONTWAIT) == -1) {
				zmq_msg_close(zm);
				free(zm);
				return (0);
			}
		}
		more = zmq_msg_more(zm);
		p = zmq_msg_data(zm);
		n = zmq_msg_size(zm);
		if (more)
			ipc_drain_more(sock);
		if (n < IPC_HDR_LEN || p[0] != IPC_VERSION || more) {
			log_warnx("ipc: dropped a message with %s (%zu bytes, "
			    "version %u, ours %u)", more ? "extra frames" :
			    "a bad header", n, n ? p[0] : 0, IPC_VERSION);
			zmq_msg_close(zm);
			free(zm);
			continue;
		}
		m->type = be16_get(p + 2);
		m->payload = p + IPC_HDR_LEN;
		m->len = n - IPC_HDR_LEN;
		m->zmsg = zm;
		log_trace(TRACE_IPC, "ipc: received %s (%zu bytes)",
		    ipc_type_name(m->type), m->len);
		return (1);
	}
}

void
ipc_msg_close(struct ipc_msg *m)
{
	if (m->zmsg != NULL) {
		zmq_msg_close(m->zmsg);
		free(m->zmsg);
		m->zmsg = NULL;
	}
	m->payload = NULL;
	m->len = 0;
}
