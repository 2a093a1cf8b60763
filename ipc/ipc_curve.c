/* SPDX-License-Identifier: MIT */
/*
 * ZeroMQ sockets between nodes: CURVE (authenticated, encrypted) ROUTER and
 * DEALER sockets in a context of their own, raw frames (wire_msg.h), and the
 * ZAP handler that admits only clients holding the cluster's key pair.
 *
 * Why a context of its own: once a ZAP handler is bound in a context it is
 * asked about every socket of that context, also the node-local NULL ones.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"

struct ipc_zap {
	void		*ctx;		/* borrowed */
	void		*rep;
	pthread_t	 thread;
	uint8_t		 allowed[32];	/* the one client key admitted */
	uint64_t	 refused;
};

static void
ipc_curve_opts(void *s)
{
	int	zero = 0, hwm = 100000, hs = 2000, one = 1;

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
	zmq_setsockopt(s, ZMQ_HANDSHAKE_IVL, &hs, sizeof(hs));
	zmq_setsockopt(s, ZMQ_IPV6, &one, sizeof(one));
}

void *
ipc_curve_router_bind(void *ctx, const char *endpoint, const char *sec_z85)
{
	void	*s;
	int	 one = 1;

	if ((s = zmq_socket(ctx, ZMQ_ROUTER)) == NULL) {
		log_warnx("ipc: socket: %s", zmq_strerror(errno));
		return (NULL);
	}
	ipc_curve_opts(s);
	zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
	/* A node that restarts takes its routing id over at once. */
	zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof(one));
	zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof(one));
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec_z85, 40);
	zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, "tern", 4);
	if (zmq_bind(s, endpoint) == -1) {
		log_warnx("ipc: bind %s: %s", endpoint, zmq_strerror(errno));
		zmq_close(s);
		return (NULL);
	}
	return (s);
}

void *
ipc_curve_dealer_connect(void *ctx, const char *endpoint,
    const char *pub_z85, const char *sec_z85, const void *rid, size_t ridlen)
{
	void	*s;
	int	 one = 1, ivl = 100, ivlmax = 1000;

	if ((s = zmq_socket(ctx, ZMQ_DEALER)) == NULL) {
		log_warnx("ipc: socket: %s", zmq_strerror(errno));
		return (NULL);
	}
	ipc_curve_opts(s);
	zmq_setsockopt(s, ZMQ_IMMEDIATE, &one, sizeof(one));
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivlmax, sizeof(ivlmax));
	zmq_setsockopt(s, ZMQ_ROUTING_ID, rid, ridlen);
	/* Every node holds the cluster's one key pair: the server's public
	 * key and the client's are the same. */
	zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, pub_z85, 40);
	zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub_z85, 40);
	zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec_z85, 40);
	if (zmq_connect(s, endpoint) == -1) {
		log_warnx("ipc: connect %s: %s", endpoint,
		    zmq_strerror(errno));
		zmq_close(s);
		return (NULL);
	}
	return (s);
}

int
ipc_raw_send(void *sock, const struct ipc_peer *to, const struct buf *b)
{
	if (to != NULL &&
	    zmq_send(sock, to->id, to->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
		return (-1);
	if (zmq_send(sock, b->data, b->len, ZMQ_DONTWAIT) == -1)
		return (-1);
	return (0);
}

int
ipc_raw_recv(void *sock, struct ipc_msg *m)
{
	zmq_msg_t	*zm;
	int		 type = 0;
	size_t		 len = sizeof(type), n;

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
			if (n > IPC_PEER_ID_MAX || !zmq_msg_more(zm)) {
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
		if (zmq_msg_more(zm)) {
			/* One frame per message: anything else is noise. */
			ipc_drain_more(sock);
			zmq_msg_close(zm);
			free(zm);
			continue;
		}
		m->payload = zmq_msg_data(zm);
		m->len = zmq_msg_size(zm);
		m->zmsg = zm;
		return (1);
	}
}

/* Receives one frame of a ZAP request into out (at most outlen bytes). */
static int
ipc_zap_frame(void *s, void *out, size_t outlen, size_t *n, int *more)
{
	zmq_msg_t	m;
	size_t		len = sizeof(*more);

	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, s, 0) == -1) {
		zmq_msg_close(&m);
		return (-1);
	}
	*n = zmq_msg_size(&m);
	if (out != NULL)
		memcpy(out, zmq_msg_data(&m), *n < outlen ? *n : outlen);
	zmq_msg_close(&m);
	zmq_getsockopt(s, ZMQ_RCVMORE, more, &len);
	return (0);
}

static void *
ipc_zap_main(void *arg)
{
	struct ipc_zap	*z = arg;
	char		 reqid[256], mech[32], key[64], hex[41];
	size_t		 n, reqidlen = 0, mechlen = 0, keylen = 0;
	int		 more, i;
	bool		 ok;

	for (;;) {
		/* version, request id, domain, address, identity,
		 * mechanism, credentials... */
		mechlen = keylen = 0;
		for (i = 0, more = 1; more; i++) {
			char	*dst = NULL;
			size_t	 dstlen = 0;

			if (i == 1) {
				dst = reqid;
				dstlen = sizeof(reqid);
			} else if (i == 5) {
				dst = mech;
				dstlen = sizeof(mech) - 1;
			} else if (i == 6) {
				dst = key;
				dstlen = sizeof(key);
			}
			if (ipc_zap_frame(z->rep, dst, dstlen, &n, &more) == -1)
				goto out;
			if (i == 1)
				reqidlen = n < sizeof(reqid) ? n : sizeof(reqid);
			else if (i == 5)
				mechlen = n < dstlen ? n : dstlen;
			else if (i == 6)
				keylen = n;
		}
		mech[mechlen] = '\0';
		ok = strcmp(mech, "CURVE") == 0 && keylen == 32 &&
		    memcmp(key, z->allowed, 32) == 0;
		if (!ok) {
			z->refused++;
			if (keylen == 32 && zmq_z85_encode(hex,
			    (uint8_t *)key, 32) != NULL)
				log_warnx("link: refused a peer with key %s "
				    "(not the cluster's key)", hex);
			else
				log_warnx("link: refused a %s peer", mech);
		}
		zmq_send(z->rep, "1.0", 3, ZMQ_SNDMORE);
		zmq_send(z->rep, reqid, reqidlen, ZMQ_SNDMORE);
		zmq_send(z->rep, ok ? "200" : "400", 3, ZMQ_SNDMORE);
		zmq_send(z->rep, ok ? "OK" : "not the cluster's key",
		    ok ? 2 : 21, ZMQ_SNDMORE);
		zmq_send(z->rep, ok ? "peer" : "", ok ? 4 : 0, ZMQ_SNDMORE);
		zmq_send(z->rep, "", 0, 0);
	}
 out:
	zmq_close(z->rep);
	return (NULL);
}

struct ipc_zap *
ipc_zap_start(void *ctx, const char *allowed_pub_z85)
{
	struct ipc_zap	*z;
	int		 zero = 0;

	z = xcalloc(1, sizeof(*z));
	z->ctx = ctx;
	if (zmq_z85_decode(z->allowed, allowed_pub_z85) == NULL) {
		log_warnx("link: bad public key");
		free(z);
		return (NULL);
	}
	if ((z->rep = zmq_socket(ctx, ZMQ_REP)) == NULL ||
	    zmq_setsockopt(z->rep, ZMQ_LINGER, &zero, sizeof(zero)) == -1 ||
	    zmq_bind(z->rep, "inproc://zeromq.zap.01") == -1) {
		log_warnx("link: ZAP handler: %s", zmq_strerror(errno));
		if (z->rep != NULL)
			zmq_close(z->rep);
		free(z);
		return (NULL);
	}
	if (pthread_create(&z->thread, NULL, ipc_zap_main, z) != 0) {
		log_warnx("link: ZAP thread: cannot start");
		zmq_close(z->rep);
		free(z);
		return (NULL);
	}
	return (z);
}

void
ipc_curve_ctx_term(void *ctx, struct ipc_zap *z)
{
	/* Terminating the context wakes the ZAP thread with ETERM; it
	 * closes its socket, which lets zmq_ctx_term return. */
	zmq_ctx_term(ctx);
	if (z != NULL) {
		pthread_join(z->thread, NULL);
		free(z);
	}
}
