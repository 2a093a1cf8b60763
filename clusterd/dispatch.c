/* SPDX-License-Identifier: MIT */
/* Messages to clusterd from the node's other processes (mqttd, storaged,
 * ternctl), and the heartbeats it sends them. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"

void
dispatch_hello(const struct clusterd *cd, struct ipc_hello *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->daemon, sizeof(h->daemon), "clusterd");
	snprintf(h->nodename, sizeof(h->nodename), "%s", cd->conf.nodename);
	h->pid = (uint32_t)getpid();
	h->boot_id = cd->boot_id;
}

/* Marks d heard from now; logs the transition to up once. */
static void
dispatch_seen(struct clusterd *cd, struct cd_daemon *d, uint32_t pid,
    uint64_t boot_id)
{
	d->last_seen = uv_now(cd->loop);
	if (boot_id != 0 && d->boot_id != boot_id) {
		if (d->boot_id != 0 && d->up)
			log_info("clusterd: %s restarted (pid %u)", d->name,
			    pid);
		d->boot_id = boot_id;
		d->pid = pid;
	}
	if (!d->up) {
		d->up = true;
		log_info("clusterd: %s is up", d->name);
	}
}

static bool
dispatch_is_peer(const struct cd_daemon *d, const struct ipc_peer *p)
{
	return (d->has_peer && d->peer.len == p->len &&
	    memcmp(d->peer.id, p->id, p->len) == 0);
}

static void
dispatch_reply_status(struct clusterd *cd, const struct ipc_msg *m,
    const struct ipc_status_req *req)
{
	struct ipc_status_rep	rep = { 0 };
	int			rc;

	cd->counters.status_requests++;
	rep.id = req->id;
	rep.json = status_json(cd, req->what, req->arg, &rc);
	rep.rc = rc;
	if (ipc_send_status_rep(cd->router, &m->from, &rep) == 0)
		cd->counters.ipc_out++;
	free(rep.json);
}

static void
dispatch_one(struct clusterd *cd, const struct ipc_msg *m)
{
	struct ipc_hello		h, mine;
	struct ipc_heartbeat		hb;
	struct ipc_status_req		sreq;
	struct ipc_cluster_join_req	jreq;
	struct ipc_cluster_leave_req	lreq;
	struct ipc_route		rl;

	switch (m->type) {
	case IPC_HELLO:
		if (ipc_recv_hello(m, &h) == -1)
			goto bad;
		/* The answer first: a new clusterlink drops deliveries that
		 * come before it (they are for the mqttd it replaces), and
		 * route_on_hello() may send the waiting ones at once. */
		dispatch_hello(cd, &mine);
		if (ipc_send_hello(cd->router, &m->from, &mine) == 0)
			cd->counters.ipc_out++;
		if (strcmp(h.daemon, "mqttd") == 0) {
			cd->mqttd.peer = m->from;
			cd->mqttd.has_peer = true;
			dispatch_seen(cd, &cd->mqttd, h.pid, h.boot_id);
		} else if (strcmp(h.daemon, "clusterlink") == 0) {
			/* mqttd's routing link (route.c). */
			route_on_hello(cd, &m->from, &h);
			dispatch_seen(cd, &cd->mqttd, 0, 0);
		}
		break;
	case IPC_HEARTBEAT:
		if (ipc_recv_heartbeat(m, &hb) == -1)
			goto bad;
		/* A heartbeat whose hello was lost (sent before we were
		 * up) still names mqttd by its routing id. */
		if (!cd->mqttd.has_peer && m->from.len == 5 &&
		    memcmp(m->from.id, "mqttd", 5) == 0) {
			cd->mqttd.peer = m->from;
			cd->mqttd.has_peer = true;
		}
		if (dispatch_is_peer(&cd->mqttd, &m->from))
			dispatch_seen(cd, &cd->mqttd, 0, 0);
		if (is_route_clusterlink(cd, &m->from)) {
			route_seen(cd);
			dispatch_seen(cd, &cd->mqttd, 0, 0);
		}
		if (ipc_send_heartbeat(cd->router, &m->from, &hb) == 0)
			cd->counters.ipc_out++;
		break;
	case IPC_STATUS_REQ:
		if (ipc_recv_status_req(m, &sreq) == -1)
			goto bad;
		dispatch_reply_status(cd, m, &sreq);
		break;
	case IPC_CLUSTER_JOIN_REQ:
		if (ipc_recv_cluster_join_req(m, &jreq) == -1)
			goto bad;
		membership_ternctl_join(cd, &m->from, &jreq);
		break;
	case IPC_CLUSTER_LEAVE_REQ:
		if (ipc_recv_cluster_leave_req(m, &lreq) == -1)
			goto bad;
		membership_ternctl_leave(cd, &m->from, &lreq);
		break;
	case IPC_ROUTE_LOCAL:
		/* Only from the clusterlink that said hello to us: one that
		 * has not yet noticed our restart sends it all again. */
		if (!is_route_clusterlink(cd, &m->from))
			break;
		if (ipc_dec_route(m->payload, m->len, &rl) == -1)
			goto bad;
		route_seen(cd);
		route_on_local(cd, &rl);
		ipc_route_free(&rl);
		break;
	case IPC_FORWARD:
	case IPC_DELIVER_ACK:
		if (!is_route_clusterlink(cd, &m->from))
			break;
		route_seen(cd);
		forward_on_ipc(cd, m);
		break;
	case IPC_SESSION_CLAIM:
	case IPC_SESSION_XFER:
	case IPC_SESSION_CHECK:
		if (!is_route_clusterlink(cd, &m->from))
			break;
		route_seen(cd);
		owner_on_ipc(cd, m);
		break;
	default:
		log_warnx("clusterd: unexpected %s on %s",
		    ipc_type_name(m->type), cd->endpoint);
		cd->counters.ipc_bad++;
		break;
	}
	return;
 bad:
	cd->counters.ipc_bad++;
	log_warnx("clusterd: malformed %s (%zu bytes) dropped",
	    ipc_type_name(m->type), m->len);
}

void
dispatch_router(void *sock, void *arg)
{
	struct clusterd	*cd = arg;
	struct ipc_msg	 m;
	int		 n;

	for (n = 0; n < 64; n++) {
		if (ipc_recv(sock, &m) != 1)
			break;
		cd->counters.ipc_in++;
		dispatch_one(cd, &m);
		ipc_msg_close(&m);
	}
	ipc_uv_kick(cd->router_w);
}

void
dispatch_store(void *sock, void *arg)
{
	struct clusterd	*cd = arg;
	struct ipc_msg	 m;
	struct ipc_hello h;
	int		 n;

	for (n = 0; n < 64; n++) {
		if (ipc_recv(sock, &m) != 1)
			break;
		cd->counters.ipc_in++;
		/* Anything storaged sends shows that it is alive. */
		if (m.type == IPC_HELLO && ipc_recv_hello(&m, &h) == 0)
			dispatch_seen(cd, &cd->storaged, h.pid, h.boot_id);
		else
			dispatch_seen(cd, &cd->storaged, 0, 0);
		ipc_msg_close(&m);
	}
	ipc_uv_kick(cd->store_w);
}

static void
dispatch_check(struct clusterd *cd, struct cd_daemon *d, uint64_t now)
{
	if (d->up && now - d->last_seen > CLUSTERD_PEER_TIMEOUT_MS) {
		d->up = false;
		log_warnx("clusterd: %s is down (silent for %d s)", d->name,
		    CLUSTERD_PEER_TIMEOUT_MS / 1000);
	}
}

void
dispatch_tick(struct clusterd *cd)
{
	struct ipc_hello	h;
	struct ipc_heartbeat	hb = { 0 };
	uint64_t		now = uv_now(cd->loop);
	int			rc;

	/* Hello until storaged answers (it may have restarted), then
	 * heartbeats; a send to an absent storaged fails at once. */
	if (!cd->storaged.up) {
		dispatch_hello(cd, &h);
		rc = ipc_send_hello(cd->store, NULL, &h);
	} else {
		hb.seq = ++cd->hb_seq;
		rc = ipc_send_heartbeat(cd->store, NULL, &hb);
	}
	if (rc == 0)
		cd->counters.ipc_out++;
	ipc_uv_kick(cd->store_w);
	dispatch_check(cd, &cd->mqttd, now);
	dispatch_check(cd, &cd->storaged, now);
}
