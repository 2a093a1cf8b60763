/* SPDX-License-Identifier: MIT */
/*
 * Links between nodes: a CURVE ROUTER on cluster.listen, a CURVE DEALER to
 * each other node's cluster.advertise, the cluster's key pair from
 * cluster.key_dir, and pings that tell which nodes are running.  Frames are
 * wire_msg.h messages; this file reads them and hands each to its owner
 * (transport.c for Raft streams, membership.c for join and leave).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zmq.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/wire_msg.h"

#define LINK_PING_MS		250
#define LINK_DOWN_MS		1500

struct link {
	void			*zctx;
	struct ipc_zap		*zap;
	void			*router;
	struct ipc_uv		*router_w;
	char			 pub[41];
	char			 sec[41];
	uint8_t			 rid[16];	/* node id, boot id */
	struct link_peer	**peers;
	size_t			 npeers;
	uv_timer_t		 ping;
	uint64_t		 ping_seq;
	struct buf		 out;
	uint64_t		 frames_in;
	uint64_t		 frames_out;
	uint64_t		 frames_bad;
	bool			 stopped;
};

/* Reads a 40-character Z85 key from dir/name into out. */
static int
link_read_key(const char *dir, const char *name, char out[41], bool secret)
{
	char		 path[4096], line[128];
	struct stat	 st;
	FILE		*f;
	size_t		 n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL) {
		log_warnx("link: %s: %s", path, strerror(errno));
		return (-1);
	}
	if (secret && fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		log_warnx("link: %s is readable by others (mode %o); it "
		    "should be 0600", path, (unsigned)(st.st_mode & 0777));
	if (fgets(line, sizeof(line), f) == NULL) {
		log_warnx("link: %s: empty", path);
		fclose(f);
		return (-1);
	}
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n != 40) {
		log_warnx("link: %s: not a Z85 CURVE key", path);
		return (-1);
	}
	memcpy(out, line, 41);
	return (0);
}

static int
link_endpoint(const char *hostport, char *out, size_t outlen)
{
	char		host[256], err[256];
	uint16_t	port;

	if (conf_split_hostport(hostport, host, sizeof(host), &port, err,
	    sizeof(err)) == -1) {
		log_warnx("link: %s", err);
		return (-1);
	}
	if (host[0] == '\0')
		snprintf(out, outlen, "tcp://*:%u", port);
	else if (strchr(host, ':') != NULL)
		snprintf(out, outlen, "tcp://[%s]:%u", host, port);
	else
		snprintf(out, outlen, "tcp://%s:%u", host, port);
	return (0);
}

void
link_begin(struct clusterd *cd, struct buf *b, unsigned type)
{
	wire_begin(b, type, cd->node_id, cd->boot_id);
}

int
link_send(struct clusterd *cd, struct link_peer *p, const struct buf *b)
{
	struct link	*l = cd->link;

	if (l == NULL || p == NULL || ipc_raw_send(p->sock, NULL, b) == -1)
		return (-1);
	l->frames_out++;
	ipc_uv_kick(p->w);
	return (0);
}

int
link_reply(struct clusterd *cd, const struct ipc_peer *to,
    const struct buf *b)
{
	struct link	*l = cd->link;

	if (l == NULL || ipc_raw_send(l->router, to, b) == -1)
		return (-1);
	l->frames_out++;
	ipc_uv_kick(l->router_w);
	return (0);
}

static void
link_on_pong(struct clusterd *cd, struct link_peer *p,
    const struct wire_hdr *h, const struct wire_pong *pong)
{
	uint64_t	now = uv_now(cd->loop);
	enum link_event	ev = LINK_EV_UP;
	bool		tell = !p->up;

	if (p->boot_id != 0 && p->boot_id != h->boot_id) {
		log_info("link: %s (%s) restarted", p->address, pong->name);
		transport_peer_down(cd, p, p->node_id);
		ev = LINK_EV_RESTART;
		tell = true;
	}
	p->node_id = h->node_id;
	p->boot_id = h->boot_id;
	snprintf(p->name, sizeof(p->name), "%s", pong->name);
	snprintf(p->cluster_id, sizeof(p->cluster_id), "%s",
	    pong->cluster_id);
	p->last_pong = now;
	if (!p->up) {
		p->up = true;
		log_info("link: %s (%s) is up", p->address, p->name);
	}
	membership_on_pong(cd, p, pong->flags, pong->cluster_id);
	/* Routing and forwarding: a (re)started or returning peer. */
	if (tell) {
		route_on_link(cd, p, ev);
		forward_on_link(cd, p, ev);
	}
}

static void
link_peer_cb(void *sock, void *arg)
{
	struct link_peer	*p = arg;
	struct clusterd		*cd = p->cd;
	struct link		*l = cd->link;
	struct ipc_msg		 m;
	struct wire_hdr		 h;
	struct wire_pong	 pong;
	struct wire_reply	 rep;
	const uint8_t		*pl;
	size_t			 len;
	int			 n;

	for (n = 0; n < 64 && ipc_raw_recv(sock, &m) == 1; n++) {
		l->frames_in++;
		if (wire_dec_hdr(m.payload, m.len, &h, &pl, &len) == -1) {
			l->frames_bad++;
			log_warnx("link: dropped a frame from %s (bad header "
			    "or version)", p->address);
			ipc_msg_close(&m);
			continue;
		}
		switch (h.type) {
		case WIRE_PONG:
			if (wire_dec_pong(pl, len, &pong) == 0)
				link_on_pong(cd, p, &h, &pong);
			else
				l->frames_bad++;
			break;
		case WIRE_RAFT_DATA:
		case WIRE_RAFT_CLOSE:
			transport_on_dealer(cd, p, &h, pl, len);
			break;
		case WIRE_REPLY:
			if (wire_dec_reply(pl, len, &rep) == 0)
				membership_on_reply(cd, p, &rep);
			else
				l->frames_bad++;
			break;
		default:
			l->frames_bad++;
			log_warnx("link: unexpected %s from %s",
			    wire_type_name(h.type), p->address);
			break;
		}
		ipc_msg_close(&m);
	}
}

struct link_peer *
link_peer_get(struct clusterd *cd, const char *address)
{
	struct link		*l = cd->link;
	struct link_peer	*p;
	char			 ep[512];
	size_t			 i;

	if (l == NULL)
		return (NULL);
	for (i = 0; i < l->npeers; i++)
		if (strcmp(l->peers[i]->address, address) == 0)
			return (l->peers[i]);
	if (l->stopped || link_endpoint(address, ep, sizeof(ep)) == -1)
		return (NULL);
	p = xcalloc(1, sizeof(*p));
	p->cd = cd;
	snprintf(p->address, sizeof(p->address), "%s", address);
	if ((p->sock = ipc_curve_dealer_connect(l->zctx, ep, l->pub, l->sec,
	    l->rid, sizeof(l->rid))) == NULL) {
		free(p);
		return (NULL);
	}
	p->w = ipc_uv_new(cd->loop, p->sock, link_peer_cb, p);
	l->peers = xreallocarray(l->peers, l->npeers + 1, sizeof(*l->peers));
	l->peers[l->npeers++] = p;
	log_debug("link: connecting to %s", address);
	return (p);
}

struct link_peer *
link_peer_find(struct clusterd *cd, const char *address)
{
	struct link	*l = cd->link;
	size_t		 i;

	if (l == NULL)
		return (NULL);
	for (i = 0; i < l->npeers; i++)
		if (strcmp(l->peers[i]->address, address) == 0)
			return (l->peers[i]);
	return (NULL);
}

bool
link_is_up(const struct link_peer *p)
{
	return (p != NULL && p->up);
}

/*
 * A Raft stream from a node of another cluster (its pongs carry another
 * cluster id than ours) is refused: a node never takes part in the Raft of
 * a cluster it does not belong to, e.g. a node whose stored membership
 * names addresses that now run another cluster.
 */
static bool
link_is_foreign_raft(struct clusterd *cd, const struct ipc_peer *from,
    const struct wire_hdr *h, const uint8_t *pl, size_t len)
{
	static uint64_t		 warned;
	struct link		*l = cd->link;
	struct wire_raft_open	 o;
	struct wire_raft_close	 cl;
	struct link_peer	*p;
	char			 ours[64];
	uint64_t		 now = uv_now(cd->loop);

	if (wire_dec_raft_open(pl, len, &o) == -1)
		return (false);		/* transport.c says it is bad */
	membership_cluster_id(cd, ours, sizeof(ours));
	p = link_peer_find(cd, o.address);
	if (p == NULL || !p->up || p->node_id != h->node_id ||
	    p->cluster_id[0] == '\0' || ours[0] == '\0' ||
	    strcmp(p->cluster_id, ours) == 0)
		return (false);
	if (warned == 0 || now - warned > 10000) {
		warned = now;
		log_warnx("link: refused a Raft stream from %s (%s): it is in "
		    "cluster %s, this node in cluster %s", p->name, o.address,
		    p->cluster_id, ours);
	}
	cl.conn = o.conn;
	link_begin(cd, &l->out, WIRE_RAFT_CLOSE);
	wire_enc_raft_close(&l->out, &cl);
	link_reply(cd, from, &l->out);
	return (true);
}

static void
link_router_cb(void *sock, void *arg)
{
	struct clusterd		*cd = arg;
	struct link		*l = cd->link;
	struct ipc_msg		 m;
	struct wire_hdr		 h;
	struct wire_ping	 ping;
	struct wire_pong	 pong;
	struct wire_join_req	 jreq;
	struct wire_leave_req	 lreq;
	const uint8_t		*pl;
	size_t			 len;
	int			 n;

	for (n = 0; n < 64 && ipc_raw_recv(sock, &m) == 1; n++) {
		l->frames_in++;
		if (wire_dec_hdr(m.payload, m.len, &h, &pl, &len) == -1 ||
		    h.node_id == 0) {
			l->frames_bad++;
			log_warnx("link: dropped a frame (bad header or "
			    "version %u)", m.len ? m.payload[0] : 0);
			ipc_msg_close(&m);
			continue;
		}
		switch (h.type) {
		case WIRE_PING:
			if (wire_dec_ping(pl, len, &ping) == -1)
				goto bad;
			memset(&pong, 0, sizeof(pong));
			pong.seq = ping.seq;
			snprintf(pong.name, sizeof(pong.name), "%s",
			    cd->conf.nodename);
			snprintf(pong.address, sizeof(pong.address), "%s",
			    cd->conf.cluster_advertise);
			membership_cluster_id(cd, pong.cluster_id,
			    sizeof(pong.cluster_id));
			pong.flags = membership_pong_flags(cd, h.node_id);
			link_begin(cd, &l->out, WIRE_PONG);
			wire_enc_pong(&l->out, &pong);
			link_reply(cd, &m.from, &l->out);
			break;
		case WIRE_RAFT_OPEN:
			if (link_is_foreign_raft(cd, &m.from, &h, pl, len))
				break;
			/* FALLTHROUGH */
		case WIRE_RAFT_DATA:
		case WIRE_RAFT_CLOSE:
			transport_on_router(cd, &m.from, &h, pl, len);
			break;
		case WIRE_JOIN_REQ:
			if (wire_dec_join_req(pl, len, &jreq) == -1)
				goto bad;
			membership_on_join_req(cd, &m.from, &jreq);
			break;
		case WIRE_LEAVE_REQ:
			if (wire_dec_leave_req(pl, len, &lreq) == -1)
				goto bad;
			membership_on_leave_req(cd, &m.from, &lreq);
			break;
		case WIRE_ROUTE_DELTA:
		case WIRE_ROUTE_SYNC_REQ:
		case WIRE_ROUTE_SYNC:
			route_on_wire(cd, &h, pl, len);
			break;
		case WIRE_FORWARD:
		case WIRE_FORWARD_ACK:
		case WIRE_FORWARD_NACK:
			forward_on_wire(cd, &h, pl, len);
			break;
		case WIRE_OWNER_REQ:
		case WIRE_SESSION_XFER:
		case WIRE_REPLICA_XFER:
			owner_on_wire(cd, &h, pl, len);
			break;
		default:
			goto bad;
		}
		ipc_msg_close(&m);
		continue;
 bad:
		l->frames_bad++;
		log_warnx("link: malformed or unexpected %s from node %016llx "
		    "dropped", wire_type_name(h.type),
		    (unsigned long long)h.node_id);
		ipc_msg_close(&m);
	}
}

static void
link_ping_cb(uv_timer_t *t)
{
	struct clusterd		*cd = t->data;
	struct link		*l = cd->link;
	struct link_peer	*p;
	struct wire_ping	 ping;
	uint64_t		 now = uv_now(cd->loop);
	size_t			 i;

	membership_touch_peers(cd);
	ping.seq = ++l->ping_seq;
	link_begin(cd, &l->out, WIRE_PING);
	wire_enc_ping(&l->out, &ping);
	for (i = 0; i < l->npeers; i++) {
		p = l->peers[i];
		link_send(cd, p, &l->out);
		if (p->up && now - p->last_pong > LINK_DOWN_MS) {
			p->up = false;
			log_warnx("link: %s (%s) is down (no answer for %d "
			    "ms)", p->address, p->name, LINK_DOWN_MS);
			transport_peer_down(cd, p, p->node_id);
			route_on_link(cd, p, LINK_EV_DOWN);
			forward_on_link(cd, p, LINK_EV_DOWN);
		}
	}
}

int
link_start(struct clusterd *cd)
{
	struct link	*l;
	char		 ep[512];
	size_t		 i;

	l = xcalloc(1, sizeof(*l));
	if (link_read_key(cd->conf.cluster_key_dir, "cluster.key", l->sec,
	    true) == -1 || link_read_key(cd->conf.cluster_key_dir,
	    "cluster.pub", l->pub, false) == -1) {
		log_warnx("link: no cluster keys in %s: links to other nodes "
		    "are off (make keys with \"ternctl keys create %s\")",
		    cd->conf.cluster_key_dir, cd->conf.cluster_key_dir);
		free(l);
		return (-1);
	}
	{
		char	derived[41];

		if (zmq_curve_public(derived, l->sec) == -1 ||
		    strcmp(derived, l->pub) != 0)
			fatalx("link: %s/cluster.pub does not belong to "
			    "cluster.key", cd->conf.cluster_key_dir);
	}
	for (i = 0; i < 8; i++) {
		l->rid[i] = (uint8_t)(cd->node_id >> (56 - 8 * i));
		l->rid[8 + i] = (uint8_t)(cd->boot_id >> (56 - 8 * i));
	}
	if ((l->zctx = zmq_ctx_new()) == NULL)
		fatalx("link: zmq_ctx_new");
	if ((l->zap = ipc_zap_start(l->zctx, l->pub)) == NULL)
		fatalx("link: cannot start the ZAP handler");
	if (link_endpoint(cd->conf.cluster_listen, ep, sizeof(ep)) == -1 ||
	    (l->router = ipc_curve_router_bind(l->zctx, ep, l->sec)) == NULL)
		fatalx("link: cannot listen on %s", cd->conf.cluster_listen);
	buf_init(&l->out);
	cd->link = l;
	l->router_w = ipc_uv_new(cd->loop, l->router, link_router_cb, cd);
	uv_timer_init(cd->loop, &l->ping);
	l->ping.data = cd;
	uv_timer_start(&l->ping, link_ping_cb, LINK_PING_MS, LINK_PING_MS);
	log_info("link: listening on %s (CURVE, keys from %s)",
	    cd->conf.cluster_listen, cd->conf.cluster_key_dir);
	return (0);
}

void
link_stop(struct clusterd *cd)
{
	struct link	*l = cd->link;
	size_t		 i;

	if (l == NULL)
		return;
	l->stopped = true;
	uv_timer_stop(&l->ping);
	uv_close((uv_handle_t *)&l->ping, NULL);
	ipc_uv_free(l->router_w);
	l->router_w = NULL;
	for (i = 0; i < l->npeers; i++) {
		ipc_uv_free(l->peers[i]->w);
		l->peers[i]->w = NULL;
	}
}

void
link_free(struct clusterd *cd)
{
	struct link	*l = cd->link;
	size_t		 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->npeers; i++) {
		ipc_close(l->peers[i]->sock);
		free(l->peers[i]);
	}
	free(l->peers);
	ipc_close(l->router);
	ipc_curve_ctx_term(l->zctx, l->zap);
	buf_free(&l->out);
	explicit_bzero(l->sec, sizeof(l->sec));
	free(l);
	cd->link = NULL;
}

void
link_metrics(struct clusterd *cd, uint64_t *in, uint64_t *out,
    uint64_t *bad, size_t *up)
{
	struct link	*l = cd->link;
	size_t		 i;

	*in = *out = *bad = 0;
	*up = 0;
	if (l == NULL)
		return;
	*in = l->frames_in;
	*out = l->frames_out;
	*bad = l->frames_bad;
	for (i = 0; i < l->npeers; i++)
		if (l->peers[i]->up)
			(*up)++;
}
