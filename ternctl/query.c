/* SPDX-License-Identifier: MIT */
/* ternctl's requests to the node's daemons: one DEALER per daemon, all
 * waited on together with zmq_poll and one deadline (no event loop). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"
#include "ternctl/ternctl.h"

static uint32_t
query_next_id(void)
{
	static uint32_t	id;

	if (id == 0)
		id = (uint32_t)getpid() << 8;
	return (++id);
}

static uint64_t
query_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
query_init(struct query *q, const struct conf *c, const char *daemon)
{
	memset(q, 0, sizeof(*q));
	q->daemon = daemon;
	conf_ipc_endpoint(c, daemon, q->endpoint, sizeof(q->endpoint));
	q->id = query_next_id();
	buf_init(&q->req);
}

void
query_init_status(struct query *q, const struct conf *c, const char *daemon,
    const char *what, const char *arg)
{
	struct ipc_status_req	r = { 0 };

	query_init(q, c, daemon);
	q->req_type = IPC_STATUS_REQ;
	q->rep_type = IPC_STATUS_REP;
	r.id = q->id;
	snprintf(r.what, sizeof(r.what), "%s", what);
	snprintf(r.arg, sizeof(r.arg), "%s", arg ? arg : "");
	ipc_enc_status_req(&q->req, &r);
}

void
query_init_join(struct query *q, const struct conf *c, const char *node)
{
	struct ipc_cluster_join_req	r = { 0 };

	query_init(q, c, "clusterd");
	q->req_type = IPC_CLUSTER_JOIN_REQ;
	q->rep_type = IPC_CLUSTER_REP;
	r.id = q->id;
	snprintf(r.node, sizeof(r.node), "%s", node);
	ipc_enc_cluster_join_req(&q->req, &r);
}

void
query_init_leave(struct query *q, const struct conf *c, const char *node,
    bool kill_sessions, uint32_t timeout_s, uint32_t interval_s)
{
	struct ipc_cluster_leave_req	r = { 0 };

	query_init(q, c, "clusterd");
	q->req_type = IPC_CLUSTER_LEAVE_REQ;
	q->rep_type = IPC_CLUSTER_REP;
	r.id = q->id;
	snprintf(r.node, sizeof(r.node), "%s", node);
	r.kill_sessions = kill_sessions;
	r.timeout_s = timeout_s;
	r.interval_s = interval_s;
	ipc_enc_cluster_leave_req(&q->req, &r);
}

/* Takes an answer for q if m is one; returns true when it was. */
static bool
query_take(struct query *q, const struct ipc_msg *m)
{
	struct ipc_status_rep	sr;
	struct ipc_cluster_rep	cr;

	if (m->type != q->rep_type)
		return (false);
	if (q->rep_type == IPC_STATUS_REP) {
		if (ipc_recv_status_rep(m, &sr) == -1 || sr.id != q->id) {
			free(sr.json);
			return (false);
		}
		q->rc = sr.rc;
		q->text = sr.json;
	} else {
		if (ipc_recv_cluster_rep(m, &cr) == -1 || cr.id != q->id) {
			free(cr.text);
			return (false);
		}
		q->rc = cr.rc;
		q->text = cr.text;
	}
	q->done = true;
	return (true);
}

static void
query_read(struct query *q)
{
	struct ipc_msg	m;

	while (!q->done && ipc_recv(q->sock, &m) == 1) {
		query_take(q, &m);
		ipc_msg_close(&m);
	}
}

/* Opens q's socket; false (with q->err) when there is nothing to ask. */
static bool
query_open(struct query *q)
{
	struct stat	st;
	const char	*path;

	if (strncmp(q->endpoint, "ipc://", 6) == 0) {
		path = q->endpoint + 6;
		if (stat(path, &st) == -1) {
			snprintf(q->err, sizeof(q->err), "%s is not running "
			    "(no socket %s: %s)", q->daemon, path,
			    strerror(errno));
			return (false);
		}
	}
	if ((q->sock = ipc_dealer_connect(q->endpoint, NULL)) == NULL) {
		snprintf(q->err, sizeof(q->err), "%s: cannot connect to %s",
		    q->daemon, q->endpoint);
		return (false);
	}
	return (true);
}

void
query_run(struct query *q, size_t n, int timeout_ms)
{
	zmq_pollitem_t	*items;
	uint64_t	 start = query_now_ms(), now;
	uint64_t	 deadline = start + timeout_ms;
	size_t		 i, nitems, waiting;
	long		 wait;

	items = xcalloc(n, sizeof(*items));
	for (i = 0; i < n; i++)
		if (!query_open(&q[i]))
			q[i].done = true;	/* with err: nothing more */
	for (;;) {
		/* A DEALER with ZMQ_IMMEDIATE refuses to send until it is
		 * connected: retry the send while waiting. */
		nitems = 0;
		waiting = 0;
		now = query_now_ms();
		for (i = 0; i < n; i++) {
			if (q[i].done)
				continue;
			/* Not even connected after the usual timeout: the
			 * socket file is stale, nobody is listening. */
			if (!q[i].sent && now >= start + TERNCTL_QUERY_MS) {
				q[i].done = true;
				continue;
			}
			waiting++;
			if (!q[i].sent && ipc_send(q[i].sock, NULL,
			    q[i].req_type, &q[i].req) == 0)
				q[i].sent = true;
			items[nitems].socket = q[i].sock;
			items[nitems].events = ZMQ_POLLIN;
			nitems++;
		}
		if (waiting == 0)
			break;
		now = query_now_ms();
		if (now >= deadline)
			break;
		wait = (long)(deadline - now);
		for (i = 0; i < n; i++)
			if (!q[i].done && !q[i].sent && wait > 10)
				wait = 10;
		if (zmq_poll(items, (int)nitems, wait) == -1 && errno != EINTR)
			break;
		for (i = 0; i < n; i++)
			if (!q[i].done)
				query_read(&q[i]);
	}
	for (i = 0; i < n; i++) {
		if (q[i].text != NULL || q[i].err[0] != '\0')
			continue;
		snprintf(q[i].err, sizeof(q[i].err), "%s is not running (no "
		    "answer on %s within %d s)", q[i].daemon, q[i].endpoint,
		    ((q[i].sent ? timeout_ms : TERNCTL_QUERY_MS) + 999) / 1000);
	}
	for (i = 0; i < n; i++) {
		ipc_close(q[i].sock);
		q[i].sock = NULL;
	}
	free(items);
}

void
query_free(struct query *q)
{
	ipc_close(q->sock);
	q->sock = NULL;
	buf_free(&q->req);
	free(q->text);
	q->text = NULL;
}
