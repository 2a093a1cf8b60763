/* SPDX-License-Identifier: MIT */
/*
 * Tests of mqttd's clusterd client (clusterlink.c) and of clusterd's
 * routing and forwarding (route.c, forward.c) together: three real
 * clusterd processes in a temporary directory, joined into one cluster,
 * and one clusterlink per node in this process standing in for each
 * node's mqttd.  Routes appear on the other nodes and go away; QoS 1
 * forwards arrive once, in order, and are answered; QoS 0, shared and
 * retained targets arrive; kill -9 of the receiver's or the sender's
 * clusterd loses nothing reliable and keeps the order; routes come back
 * after a restart; a stopped node's forwards complete as "gone".
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <zmq.h>

#include "common/log.h"
#include "ipc/ipc.h"
#include "mqttd/clusterlink.h"
#include "tests/unit/unit.h"

#define NNODES	3
#define NMSG	2000

static char		 tdir[] = "/tmp/test_clusterlink.XXXXXX";
static char		 bindir[1024];
static struct event_base *base;

struct node {
	char			 name[8];
	char			 dir[512];
	char			 conf[600];
	int			 cport;
	pid_t			 pid;
	struct clusterlink	*cl;
	/* What its "mqttd" saw. */
	int			 nroutes;
	struct cl_route		*routes[64];
	int			 ndeliver;
	int			 nplain;
	int			 nshared;
	int			 nretain;
	int			 ndup;
	long			 last_seq;	/* payload "seq" of QoS 1 */
	int			 order_errors;
	char			 last_shared[256];
	uint8_t			*seen;		/* [NMSG] */
	bool			 hold;		/* do not answer deliveries */
	/* Ownership. */
	int			 ntakeovers;
	uint64_t		 takeover_to;
	int			 nxfers;
	char			 xfer_sub[64];
	char			 xfer_msg[64];
	int			 xfer_flags;
};

static struct node	 nodes[NNODES];

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static int
free_port(void)
{
	struct sockaddr_in	sa = { 0 };
	socklen_t		len = sizeof(sa);
	int			s, port;

	s = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) == -1) {
		perror("bind");
		exit(99);
	}
	port = ntohs(sa.sin_port);
	close(s);
	return (port);
}

static void
write_keys(void)
{
	char	 pub[41], sec[41], path[4200];
	FILE	*f;

	if (zmq_curve_keypair(pub, sec) != 0)
		exit(99);
	snprintf(path, sizeof(path), "%s/keys", tdir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/keys/cluster.key", tdir);
	f = fopen(path, "w");
	fprintf(f, "%s\n", sec);
	fclose(f);
	chmod(path, 0600);
	snprintf(path, sizeof(path), "%s/keys/cluster.pub", tdir);
	f = fopen(path, "w");
	fprintf(f, "%s\n", pub);
	fclose(f);
}

static void
write_conf(struct node *n)
{
	FILE	*f;

	if (snprintf(n->dir, sizeof(n->dir), "%s/%s", tdir, n->name) >=
	    (int)sizeof(n->dir) || snprintf(n->conf, sizeof(n->conf),
	    "%s/tern.conf", n->dir) >= (int)sizeof(n->conf))
		exit(99);
	mkdir(n->dir, 0750);
	if ((f = fopen(n->conf, "w")) == NULL) {
		perror(n->conf);
		exit(99);
	}
	fprintf(f, "nodename = %s@127.0.0.1\ndata_dir = %s/data\n"
	    "run_dir = %s/run\nlog_level = %s\n"
	    "cluster.listen = 127.0.0.1:%d\ncluster.advertise = "
	    "127.0.0.1:%d\ncluster.key_dir = %s/keys\ndiscovery = none\n",
	    n->name, n->dir, n->dir,
	    getenv("TEST_LOG_LEVEL") ? getenv("TEST_LOG_LEVEL") : "info",
	    n->cport, n->cport, tdir);
	fclose(f);
}

static void
node_start(struct node *n)
{
	char		 bin[4200], log[4300], sock[4300];
	struct stat	 sb;
	uint64_t	 end;
	int		 fd;

	snprintf(bin, sizeof(bin), "%s/clusterd/clusterd", bindir);
	snprintf(log, sizeof(log), "%s/clusterd.log", n->dir);
	snprintf(sock, sizeof(sock), "%s/run/clusterd.sock", n->dir);
	unlink(sock);
	if ((n->pid = fork()) == -1)
		exit(99);
	if (n->pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd != -1) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		/* TEST_GDB=1: a backtrace of a clusterd that stops. */
		if (getenv("TEST_GDB") != NULL)
			execlp("gdb", "gdb", "-q", "-batch", "-ex",
			    "break fatalx", "-ex", "run", "-ex", "bt",
			    "--args", bin, "-c", n->conf, (char *)NULL);
		execl(bin, "clusterd", "-c", n->conf, (char *)NULL);
		_exit(127);
	}
	end = now_ms() + 10000;
	while (stat(sock, &sb) == -1 && now_ms() < end)
		usleep(10000);
}

static void
node_kill(struct node *n, int sig)
{
	if (n->pid <= 0)
		return;
	kill(n->pid, sig);
	if (sig == SIGKILL || sig == SIGTERM) {
		waitpid(n->pid, NULL, 0);
		n->pid = -1;
	}
}

static void
at_exit_kill(void)
{
	int	i;

	for (i = 0; i < NNODES; i++)
		if (nodes[i].pid > 0) {
			kill(nodes[i].pid, SIGCONT);
			kill(nodes[i].pid, SIGKILL);
			waitpid(nodes[i].pid, NULL, 0);
		}
}

/* Runs ternctl ARGS... for node n; returns its exit status. */
static int
ternctl(struct node *n, const char *a1, const char *a2, const char *a3)
{
	char	bin[4200];
	pid_t	pid;
	int	st, fd;

	snprintf(bin, sizeof(bin), "%s/ternctl/ternctl", bindir);
	if ((pid = fork()) == 0) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execl(bin, "ternctl", "-c", n->conf, a1, a2, a3,
		    (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static bool
run_until(bool (*cond)(void *), void *arg, uint64_t ms)
{
	uint64_t	end = now_ms() + ms;

	while (!cond(arg) && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	return (cond(arg));
}

static void
run_for(uint64_t ms)
{
	uint64_t	end = now_ms() + ms;

	while (now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK),
		usleep(1000);
}

/* ------------------------------------------------- fake mqttd */

static void
route_add_cb(void *arg, struct cl_route *r)
{
	struct node	*n = arg;
	int		 i;

	n->nroutes++;
	for (i = 0; i < 64; i++)
		if (n->routes[i] == NULL) {
			n->routes[i] = r;
			break;
		}
}

/* True when n holds node's route for filter. */
static bool
has_route(struct node *n, struct node *node, const char *filter)
{
	int	i;

	for (i = 0; i < 64; i++)
		if (n->routes[i] != NULL &&
		    n->routes[i]->node == clusterlink_node_id(node->cl) &&
		    strcmp(n->routes[i]->filter, filter) == 0)
			return (true);
	return (false);
}

static void
route_del_cb(void *arg, struct cl_route *r)
{
	struct node	*n = arg;
	int		 i;

	n->nroutes--;
	for (i = 0; i < 64; i++)
		if (n->routes[i] == r)
			n->routes[i] = NULL;
}

static void
deliver_cb(void *arg, uint64_t id, uint64_t from,
    const struct ipc_fwd_target *t, uint32_t nt,
    const struct ipc_store_body *body)
{
	struct node	*n = arg;
	char		 p[64];
	long		 seq;
	uint32_t	 i;

	n->ndeliver++;
	for (i = 0; i < nt; i++) {
		if (t[i].kind == IPC_FWD_PLAIN)
			n->nplain++;
		else if (t[i].kind == IPC_FWD_SHARED) {
			n->nshared++;
			snprintf(n->last_shared, sizeof(n->last_shared),
			    "%.*s", (int)t[i].filter.len,
			    (const char *)t[i].filter.p);
		} else if (t[i].kind == IPC_FWD_RETAIN)
			n->nretain++;
	}
	snprintf(p, sizeof(p), "%.*s", (int)body->payload.len,
	    (const char *)body->payload.p);
	if (body->qos == 1 && sscanf(p, "seq %ld", &seq) == 1 && seq >= 0 &&
	    seq < NMSG) {
		if (n->seen[seq])
			n->ndup++;
		else if (seq < n->last_seq)
			n->order_errors++;	/* new, yet older than one seen */
		n->seen[seq] = 1;
		if (seq > n->last_seq)
			n->last_seq = seq;
	}
	if (!n->hold)
		clusterlink_deliver_done(n->cl, id, IPC_FWD_OK);
}

static void
takeover_cb(void *arg, const struct ipc_takeover *t)
{
	struct node		*n = arg;
	struct ipc_xfer		 x = { 0 };
	struct ipc_store_sub	 sub = { 0 };
	struct ipc_xfer_msg	 msg = { 0 };

	n->ntakeovers++;
	n->takeover_to = t->to;
	/* Hand over one subscription and one queued message. */
	x.node = t->to;
	x.xfer = t->xfer;
	x.flags = IPC_XFER_F_SESSION | IPC_XFER_F_LAST;
	x.client_id = t->client_id;
	sub.filter.p = (const uint8_t *)"q/#";
	sub.filter.len = 3;
	sub.options = 1;
	x.nsubs = 1;
	x.subs = &sub;
	msg.qos = 1;
	msg.body.qos = 1;
	msg.body.topic.p = (const uint8_t *)"q/1";
	msg.body.topic.len = 3;
	msg.body.payload.p = (const uint8_t *)"queued";
	msg.body.payload.len = 6;
	x.nmsgs = 1;
	x.msgs = &msg;
	clusterlink_xfer(n->cl, &x);
}

static void
xfer_cb(void *arg, const struct ipc_xfer *x)
{
	struct node	*n = arg;

	n->nxfers++;
	n->xfer_flags = x->flags;
	if (x->nsubs > 0)
		snprintf(n->xfer_sub, sizeof(n->xfer_sub), "%.*s",
		    (int)x->subs[0].filter.len,
		    (const char *)x->subs[0].filter.p);
	if (x->nmsgs > 0)
		snprintf(n->xfer_msg, sizeof(n->xfer_msg), "%.*s",
		    (int)x->msgs[0].body.payload.len,
		    (const char *)x->msgs[0].body.payload.p);
}

static void
cl_open(struct node *n)
{
	struct clusterlink_opts	o = { 0 };
	char			ep[4400];

	snprintf(ep, sizeof(ep), "ipc://%s/run/clusterd.sock", n->dir);
	o.endpoint = ep;
	o.nodename = n->name;
	o.arg = n;
	o.route_add = route_add_cb;
	o.route_del = route_del_cb;
	o.deliver = deliver_cb;
	o.takeover = takeover_cb;
	o.xfer = xfer_cb;
	if ((n->cl = clusterlink_new(base, &o)) == NULL)
		exit(99);
}

/* --------------------------------------------------- conditions */

static bool
cond_all_up(void *arg)
{
	int	i;

	for (i = 0; i < NNODES; i++)
		if (!is_clusterlink_up(nodes[i].cl) ||
		    clusterlink_node_id(nodes[i].cl) == 0 ||
		    !(clusterlink_state(nodes[i].cl) & IPC_CS_CLUSTERED))
			return (false);
	return (true);
}

struct want_routes {
	struct node	*n;
	int		 count;
};

static bool
cond_routes(void *arg)
{
	struct want_routes	*w = arg;

	return (w->n->nroutes == w->count);
}

struct fwd_done {
	int	n;
	int	ok;
	int	gone;
	int	other;
};

static void
fwd_cb(void *arg, int rc)
{
	struct fwd_done	*d = arg;

	d->n++;
	if (rc == IPC_FWD_OK)
		d->ok++;
	else if (rc == IPC_FWD_GONE)
		d->gone++;
	else
		d->other++;
}

struct want_done {
	struct fwd_done	*d;
	int		 n;
};

static bool
cond_done(void *arg)
{
	struct want_done	*w = arg;

	return (w->d->n >= w->n);
}

static bool
cond_ndeliver(void *arg)
{
	struct want_done	*w = arg;

	return (nodes[1].ndeliver >= w->n);
}

static void
reset_counts(void)
{
	int	i;

	for (i = 0; i < NNODES; i++) {
		nodes[i].ndeliver = nodes[i].nplain = nodes[i].nshared = 0;
		nodes[i].nretain = nodes[i].ndup = 0;
		nodes[i].order_errors = 0;
		nodes[i].last_seq = -1;
		memset(nodes[i].seen, 0, NMSG);
	}
}

static struct ipc_fwd_target
target(struct node *to, uint8_t kind, const char *filter)
{
	struct ipc_fwd_target	t = { 0 };

	t.node = clusterlink_node_id(to->cl);
	t.kind = kind;
	if (filter != NULL) {
		t.filter.p = (const uint8_t *)filter;
		t.filter.len = strlen(filter);
	}
	return (t);
}

static void
send_seq(struct node *from, struct ipc_fwd_target *t, int first, int n,
    struct fwd_done *d)
{
	struct ipc_store_body	body = { 0 };
	char			p[64];
	int			i;

	for (i = first; i < first + n; i++) {
		snprintf(p, sizeof(p), "seq %d", i);
		body.qos = 1;
		body.topic.p = (const uint8_t *)"t/x";
		body.topic.len = 3;
		body.payload.p = (const uint8_t *)p;
		body.payload.len = strlen(p);
		clusterlink_forward(from->cl, t, 1, &body, true, fwd_cb, d);
	}
}

static int
count_seen(struct node *n)
{
	int	i, c = 0;

	for (i = 0; i < NMSG; i++)
		c += n->seen[i];
	return (c);
}

/* ------------------------------------------------------- tests */

static void
test_cluster_forms(void)
{
	int	i;

	CU_ASSERT_EQUAL(ternctl(&nodes[1], "cluster", "join", NULL) != 0,
	    true);	/* no node named: refused */
	for (i = 1; i < NNODES; i++) {
		char	arg[64];

		snprintf(arg, sizeof(arg), "discovery-node=127.0.0.1:%d",
		    nodes[0].cport);
		CU_ASSERT_EQUAL_FATAL(ternctl(&nodes[i], "cluster", "join",
		    arg), 0);
	}
	CU_ASSERT_FATAL(run_until(cond_all_up, NULL, 20000));
}

static void
test_routes(void)
{
	struct want_routes	w;

	clusterlink_route_ref(nodes[1].cl, "t/#", 3);
	clusterlink_route_ref(nodes[1].cl, "t/#", 3);	/* a second sub */
	clusterlink_route_ref(nodes[2].cl, "$share/g/t/x", 12);
	w.n = &nodes[0];
	w.count = 2;
	CU_ASSERT_FATAL(run_until(cond_routes, &w, 5000));
	w.n = &nodes[1];
	w.count = 1;
	CU_ASSERT(run_until(cond_routes, &w, 5000));
	CU_ASSERT(has_route(&nodes[1], &nodes[2], "$share/g/t/x"));
	CU_ASSERT(has_route(&nodes[0], &nodes[1], "t/#"));
	CU_ASSERT(has_route(&nodes[0], &nodes[2], "$share/g/t/x"));
	/* One of two subscriptions goes: the route stays. */
	clusterlink_route_unref(nodes[1].cl, "t/#", 3);
	run_for(300);
	CU_ASSERT_EQUAL(nodes[0].nroutes, 2);
	clusterlink_route_unref(nodes[1].cl, "t/#", 3);
	w.n = &nodes[0];
	w.count = 1;
	CU_ASSERT(run_until(cond_routes, &w, 5000));
	CU_ASSERT(has_route(&nodes[0], &nodes[2], "$share/g/t/x"));
	CU_ASSERT(!has_route(&nodes[0], &nodes[1], "t/#"));
	clusterlink_route_ref(nodes[1].cl, "t/#", 3);
	w.count = 2;
	CU_ASSERT(run_until(cond_routes, &w, 5000));
}

static void
test_forward_qos1_order(void)
{
	struct ipc_fwd_target	t = target(&nodes[1], IPC_FWD_PLAIN, NULL);
	struct fwd_done		d = { 0 };
	struct want_done	w = { &d, NMSG };

	reset_counts();
	send_seq(&nodes[0], &t, 0, NMSG, &d);
	CU_ASSERT(run_until(cond_done, &w, 20000));
	CU_ASSERT_EQUAL(d.ok, NMSG);
	CU_ASSERT_EQUAL(count_seen(&nodes[1]), NMSG);
	CU_ASSERT_EQUAL(nodes[1].ndup, 0);
	CU_ASSERT_EQUAL(nodes[1].order_errors, 0);
	CU_ASSERT_EQUAL(nodes[2].ndeliver, 0);
}

static void
test_forward_qos0_shared_retain(void)
{
	struct ipc_fwd_target	t[3];
	struct ipc_store_body	body = { 0 };
	struct fwd_done		d = { 0 };
	struct want_done	w = { &d, 1 };
	int			i;

	reset_counts();
	body.topic.p = (const uint8_t *)"t/x";
	body.topic.len = 3;
	body.payload.p = (const uint8_t *)"zero";
	body.payload.len = 4;
	t[0] = target(&nodes[1], IPC_FWD_PLAIN, NULL);
	for (i = 0; i < 10; i++)
		clusterlink_forward(nodes[0].cl, t, 1, &body, false, NULL,
		    NULL);
	w.n = 10;
	CU_ASSERT(run_until(cond_ndeliver, &w, 5000));
	CU_ASSERT_EQUAL(nodes[1].nplain, 10);
	/* Shared to C, retained everywhere, plain to B: one message. */
	t[0] = target(&nodes[2], IPC_FWD_SHARED, "$share/g/t/x");
	t[1].node = IPC_FWD_ALL_NODES;
	t[1].kind = IPC_FWD_RETAIN;
	t[1].filter.p = NULL;
	t[1].filter.len = 0;
	t[2] = target(&nodes[1], IPC_FWD_PLAIN, NULL);
	body.qos = 1;
	body.flags = IPC_STORE_F_RETAIN;
	clusterlink_forward(nodes[0].cl, t, 3, &body, true, fwd_cb, &d);
	w.n = 1;
	CU_ASSERT(run_until(cond_done, &w, 5000));
	CU_ASSERT_EQUAL(d.ok, 1);
	run_for(200);
	CU_ASSERT_EQUAL(nodes[2].nshared, 1);
	CU_ASSERT_STRING_EQUAL(nodes[2].last_shared, "$share/g/t/x");
	CU_ASSERT_EQUAL(nodes[2].nretain, 1);
	CU_ASSERT_EQUAL(nodes[1].nretain, 1);
	CU_ASSERT_EQUAL(nodes[1].nplain, 11);
	CU_ASSERT_EQUAL(nodes[0].nretain, 0);	/* not to ourselves */
}

/* The receiver's clusterd dies with forwards in flight, and comes back. */
static void
test_receiver_clusterd_killed(void)
{
	struct ipc_fwd_target	t = target(&nodes[1], IPC_FWD_PLAIN, NULL);
	struct fwd_done		d = { 0 };
	struct want_done	w = { &d, NMSG };
	struct want_routes	wr = { &nodes[0], 2 };

	reset_counts();
	nodes[1].hold = true;	/* unanswered when it dies */
	send_seq(&nodes[0], &t, 0, NMSG / 2, &d);
	run_for(300);
	node_kill(&nodes[1], SIGKILL);
	nodes[1].hold = false;
	send_seq(&nodes[0], &t, NMSG / 2, NMSG / 2, &d);
	run_for(500);
	CU_ASSERT_EQUAL(d.n, 0);	/* nothing lost, nothing answered */
	node_start(&nodes[1]);
	CU_ASSERT(run_until(cond_done, &w, 20000));
	CU_ASSERT_EQUAL(d.ok, NMSG);
	CU_ASSERT_EQUAL(count_seen(&nodes[1]), NMSG);
	CU_ASSERT_EQUAL(nodes[1].order_errors, 0);
	/* Its routes are still known to A (and were never dropped). */
	CU_ASSERT(run_until(cond_routes, &wr, 5000));
}

/* The sender's clusterd dies: clusterlink sends everything again. */
static void
test_sender_clusterd_killed(void)
{
	struct ipc_fwd_target	t = target(&nodes[1], IPC_FWD_PLAIN, NULL);
	struct fwd_done		d = { 0 };
	struct want_done	w = { &d, NMSG };

	reset_counts();
	send_seq(&nodes[0], &t, 0, NMSG / 2, &d);
	node_kill(&nodes[0], SIGKILL);
	send_seq(&nodes[0], &t, NMSG / 2, NMSG / 2, &d);
	run_for(300);
	node_start(&nodes[0]);
	CU_ASSERT(run_until(cond_done, &w, 20000));
	CU_ASSERT_EQUAL(d.ok, NMSG);
	CU_ASSERT_EQUAL(count_seen(&nodes[1]), NMSG);
	CU_ASSERT_EQUAL(nodes[1].order_errors, 0);
	CU_ASSERT(clusterlink_nroutes(nodes[0].cl) == 2);
}

struct claim_done {
	int		 n;
	int		 rc;
	uint64_t	 prev;
	int		 xfers_before;	/* nxfers of the claimer when done */
	struct node	*claimer;
};

static void
claim_cb(void *arg, int rc, uint64_t prev)
{
	struct claim_done	*c = arg;

	c->n++;
	c->rc = rc;
	c->prev = prev;
	c->xfers_before = c->claimer->nxfers;
}

static bool
cond_claimed(void *arg)
{
	return (((struct claim_done *)arg)->n > 0);
}

static void
claim(struct node *n, const char *cid, struct claim_done *c)
{
	memset(c, 0, sizeof(*c));
	c->claimer = n;
	clusterlink_claim(n->cl, cid, strlen(cid), false, claim_cb, c);
	CU_ASSERT_FATAL(run_until(cond_claimed, c, 15000));
}

/* One owner per client id, through Raft; takeover hands the session over
 * before the new owner's claim completes. */
static void
test_claim_takeover(void)
{
	struct claim_done	c;

	claim(&nodes[0], "client-1", &c);
	CU_ASSERT_EQUAL(c.rc, IPC_CLAIM_OK);
	CU_ASSERT_EQUAL(c.prev, 0);
	/* Again on the owner: answered at once, nothing moves. */
	claim(&nodes[0], "client-1", &c);
	CU_ASSERT_EQUAL(c.rc, IPC_CLAIM_OK);
	CU_ASSERT_EQUAL(c.prev, clusterlink_node_id(nodes[0].cl));
	CU_ASSERT_EQUAL(nodes[0].ntakeovers, 0);
	/* B claims it: A is told to hand over, B gets the session first. */
	claim(&nodes[1], "client-1", &c);
	CU_ASSERT_EQUAL(c.rc, IPC_CLAIM_OK);
	CU_ASSERT_EQUAL(c.prev, clusterlink_node_id(nodes[0].cl));
	CU_ASSERT_EQUAL(nodes[0].ntakeovers, 1);
	CU_ASSERT_EQUAL(nodes[0].takeover_to,
	    clusterlink_node_id(nodes[1].cl));
	CU_ASSERT_EQUAL(c.xfers_before, 1);
	CU_ASSERT_STRING_EQUAL(nodes[1].xfer_sub, "q/#");
	CU_ASSERT_STRING_EQUAL(nodes[1].xfer_msg, "queued");
	CU_ASSERT_EQUAL(nodes[1].xfer_flags,
	    IPC_XFER_F_SESSION | IPC_XFER_F_LAST);
	/* C claims a new one; many at once are batched. */
	claim(&nodes[2], "client-2", &c);
	CU_ASSERT_EQUAL(c.rc, IPC_CLAIM_OK);
	CU_ASSERT_EQUAL(c.prev, 0);
	CU_ASSERT_EQUAL(nodes[1].ntakeovers, 0);
}

/* A node that stops answering: forwards to it end as "gone". */
static void
test_stopped_node_gone(void)
{
	struct ipc_fwd_target	t = target(&nodes[2], IPC_FWD_PLAIN, NULL);
	struct fwd_done		d = { 0 };
	struct want_done	w = { &d, 10 };
	uint64_t		t0;

	node_kill(&nodes[2], SIGSTOP);
	run_for(2000);
	t0 = now_ms();
	send_seq(&nodes[0], &t, 0, 10, &d);
	CU_ASSERT(run_until(cond_done, &w, 15000));
	CU_ASSERT_EQUAL(d.gone, 10);
	CU_ASSERT(now_ms() - t0 < 8000);
	/* Two of three: still a majority. */
	CU_ASSERT(clusterlink_state(nodes[0].cl) & IPC_CS_MAJORITY);
	node_kill(&nodes[2], SIGCONT);
}

int
main(int argc, char *argv[])
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_cluster_forms),
		UNIT_TEST(test_routes),
		UNIT_TEST(test_forward_qos1_order),
		UNIT_TEST(test_forward_qos0_shared_retain),
		UNIT_TEST(test_receiver_clusterd_killed),
		UNIT_TEST(test_sender_clusterd_killed),
		UNIT_TEST(test_claim_takeover),
		UNIT_TEST(test_stopped_node_gone),
		UNIT_END
	};
	const char	*b = getenv("TERN_BUILDDIR");
	char		 path[4300], *p;
	int		 i, rc;

	if (b != NULL)
		snprintf(bindir, sizeof(bindir), "%s", b);
	else {
		/* argv[0] is BUILD/tests/unit/mqttd/test_clusterlink. */
		snprintf(bindir, sizeof(bindir), "%s", argv[0]);
		if ((p = strrchr(bindir, '/')) != NULL)
			*p = '\0';
		strncat(bindir, "/../../..", sizeof(bindir) - strlen(bindir) -
		    1);
	}
	snprintf(path, sizeof(path), "%s/clusterd/clusterd", bindir);
	if (access(path, X_OK) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return (99);
	}
	log_init("test_clusterlink", "tern@127.0.0.1", false);
	log_set_level(LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tdir) == NULL) {
		perror("mkdtemp");
		return (99);
	}
	atexit(at_exit_kill);
	write_keys();
	base = event_base_new();
	for (i = 0; i < NNODES; i++) {
		snprintf(nodes[i].name, sizeof(nodes[i].name), "%c",
		    'a' + i);
		nodes[i].cport = free_port();
		nodes[i].seen = calloc(1, NMSG);
		write_conf(&nodes[i]);
		node_start(&nodes[i]);
		cl_open(&nodes[i]);
	}
	rc = unit_run("clusterlink", tests);
	for (i = 0; i < NNODES; i++) {
		clusterlink_free(nodes[i].cl);
		node_kill(&nodes[i], SIGCONT);
		node_kill(&nodes[i], SIGTERM);
		free(nodes[i].seen);
	}
	event_base_free(base);
	ipc_ctx_term();
	if (rc == 0 && getenv("TERN_KEEP") == NULL) {
		snprintf(path, sizeof(path), "rm -rf %s", tdir);
		if (system(path) != 0)
			rc = 1;
	} else
		fprintf(stderr, "test_clusterlink: logs in %s\n", tdir);
	return (rc);
}
