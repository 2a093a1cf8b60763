/* SPDX-License-Identifier: MIT */
/*
 * Messages from the other processes of the node: hello and heartbeats with
 * storaged and clusterd (their state is only watched and logged: nothing in
 * the MQTT path waits for them), and status requests from ternctl.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "mqttd/mqttd.h"

#define DISPATCH_DEAD_MS	3000

struct dispatch_peer {
	const char	*name;
	void		*sock;
	struct ipc_ev	*ev;
	bool		 up;
	uint64_t	 last_heard;	/* monotonic ms */
	uint64_t	 seq;
};

/* storaged's link is durable.c's (storelink.c). */
static struct dispatch_peer	 peers[] = {
	{ "clusterd", NULL, NULL, false, 0, 0 },
};
#define NPEERS	(sizeof(peers) / sizeof(peers[0]))

static void		*router;
static struct ipc_ev	*router_ev;
static struct event	*hb_ev;
static uint64_t		 boot_id;

bool
is_dispatch_peer_up(const char *name)
{
	size_t	i;

	if (strcmp(name, "storaged") == 0)
		return (is_durable_up());
	for (i = 0; i < NPEERS; i++)
		if (strcmp(peers[i].name, name) == 0)
			return (peers[i].up);
	return (false);
}

static void
dispatch_hello(struct ipc_hello *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->daemon, sizeof(h->daemon), "mqttd");
	snprintf(h->nodename, sizeof(h->nodename), "%s",
	    broker->conf->nodename);
	h->pid = (uint32_t)getpid();
	h->boot_id = boot_id;
}

static void
dispatch_heard(struct dispatch_peer *p)
{
	p->last_heard = conn_mono_now();
	if (!p->up) {
		p->up = true;
		log_info("ipc: %s is up", p->name);
	}
}

static void
dispatch_peer_cb(void *sock, void *arg)
{
	struct dispatch_peer	*p = arg;
	struct ipc_msg		 m;
	struct ipc_hello	 h;
	int			 n;

	for (n = 0; n < 64 && ipc_recv(sock, &m) == 1; n++) {
		dispatch_heard(p);
		switch (m.type) {
		case IPC_HELLO:
			if (ipc_recv_hello(&m, &h) == 0)
				log_debug("ipc: hello from %s pid %u",
				    h.daemon, h.pid);
			break;
		case IPC_HEARTBEAT:
			break;
		default:
			log_trace(TRACE_IPC, "ipc: %s from %s ignored",
			    ipc_type_name(m.type), p->name);
			break;
		}
		ipc_msg_close(&m);
	}
}

static void
dispatch_status(const struct ipc_msg *m)
{
	struct ipc_status_req	req;
	struct ipc_status_rep	rep;
	struct buf		b = BUF_INIT;

	if (ipc_recv_status_req(m, &req) == -1) {
		log_warnx("ipc: malformed status request dropped");
		return;
	}
	memset(&rep, 0, sizeof(rep));
	rep.id = req.id;
	if (stats_json(&b, req.what, req.arg) == -1) {
		buf_reset(&b);
		buf_add(&b, "{\"error\":\"unknown request\"}", 27);
		json_end(&b);
		rep.rc = -1;
	}
	rep.json = (char *)b.data;
	if (ipc_send_status_rep(router, &m->from, &rep) == -1)
		log_debug("ipc: status reply not sent: %s", strerror(errno));
	buf_free(&b);
}

static void
dispatch_router_cb(void *sock, void *arg)
{
	struct ipc_msg		m;
	struct ipc_hello	h;
	struct ipc_heartbeat	hb;
	int			n;

	for (n = 0; n < 64 && ipc_recv(sock, &m) == 1; n++) {
		switch (m.type) {
		case IPC_STATUS_REQ:
			dispatch_status(&m);
			break;
		case IPC_HELLO:
			dispatch_hello(&h);
			ipc_send_hello(router, &m.from, &h);
			break;
		case IPC_HEARTBEAT:
			if (ipc_recv_heartbeat(&m, &hb) == 0)
				ipc_send_heartbeat(router, &m.from, &hb);
			break;
		default:
			log_trace(TRACE_IPC, "ipc: %s ignored",
			    ipc_type_name(m.type));
			break;
		}
		ipc_msg_close(&m);
	}
	ipc_ev_kick(router_ev);
}

static void
dispatch_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch_peer	*p;
	struct ipc_hello	 h;
	struct ipc_heartbeat	 hb;
	uint64_t		 now = conn_mono_now();
	size_t			 i;

	for (i = 0; i < NPEERS; i++) {
		p = &peers[i];
		if (p->sock == NULL)
			continue;
		if (p->up && now - p->last_heard > DISPATCH_DEAD_MS) {
			p->up = false;
			log_warnx("ipc: %s is down (silent for %d s)",
			    p->name, DISPATCH_DEAD_MS / 1000);
		}
		if (!p->up) {
			dispatch_hello(&h);
			ipc_send_hello(p->sock, NULL, &h);
		} else {
			hb.seq = ++p->seq;
			ipc_send_heartbeat(p->sock, NULL, &hb);
		}
		ipc_ev_kick(p->ev);
	}
}

int
dispatch_init(void)
{
	const struct conf	*conf = broker->conf;
	struct timeval		 tv = { 1, 0 };
	char			 ep[1024];
	size_t			 i;

	if (mkdir(conf->run_dir, 0755) == -1 && errno != EEXIST)
		log_warn("ipc: mkdir %s", conf->run_dir);
	boot_id = msg_next_id();
	conf_ipc_endpoint(conf, "mqttd", ep, sizeof(ep));
	if ((router = ipc_router_bind(ep)) == NULL)
		return (-1);
	router_ev = ipc_ev_new(broker->base, router, dispatch_router_cb,
	    NULL);
	for (i = 0; i < NPEERS; i++) {
		conf_ipc_endpoint(conf, peers[i].name, ep, sizeof(ep));
		if ((peers[i].sock = ipc_dealer_connect(ep, NULL)) == NULL)
			continue;
		peers[i].ev = ipc_ev_new(broker->base, peers[i].sock,
		    dispatch_peer_cb, &peers[i]);
	}
	hb_ev = event_new(broker->base, -1, EV_PERSIST, dispatch_heartbeat,
	    NULL);
	event_add(hb_ev, &tv);
	dispatch_heartbeat(-1, 0, NULL);
	return (0);
}

void
dispatch_free(void)
{
	size_t	i;

	if (hb_ev != NULL)
		event_free(hb_ev);
	hb_ev = NULL;
	for (i = 0; i < NPEERS; i++) {
		ipc_ev_free(peers[i].ev);
		ipc_close(peers[i].sock);
		peers[i].ev = NULL;
		peers[i].sock = NULL;
	}
	ipc_ev_free(router_ev);
	ipc_close(router);
	router_ev = NULL;
	router = NULL;
	ipc_ctx_term();
}
