/* SPDX-License-Identifier: MIT */
/*
 * store_client: drives a running storaged over IPC for black-box tests and
 * the benchmark in docs/storage.md.
 *
 *	store_client -e EP [opts] append N	appends N messages, one
 *		queue each (seq = msg id = start .. start+N-1); prints
 *		"acked SEQ" as each is answered OK, "error SEQ RC" otherwise
 *	store_client -e EP [opts] load		prints every LOAD record
 *	store_client -e EP [opts] ack SEQ...	acks queue entries
 *	store_client -e EP status|metrics	prints the JSON
 *	store_client -e EP [opts] bench N	N appends from -P requesters
 *		(sockets), each with -w requests in flight; prints the rate
 * Options: -o owner, -c client id, -s start, -w window, -t timeout ms,
 * -P requesters, -b payload bytes, -F fan-out (queues per append).
 * Exit status: 0 when every request was answered OK, 1 on an error reply,
 * 3 on a timeout, 2 on bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"

static const char	*endpoint;
static const char	*owner = "";
static const char	*client = "sub";
static uint64_t		 start = 1;
static unsigned		 window = 64;
static int		 timeout_ms = 10000;
static unsigned		 nreq = 1;
static size_t		 paylen = 0;
static unsigned		 fanout = 1;

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: store_client -e endpoint [-o owner] "
	    "[-c client] [-s start] [-w window] [-t ms] [-P n] [-b bytes] "
	    "[-F fanout] append N | load | ack SEQ... | status | metrics | "
	    "bench N\n");
	exit(2);
}

/* Sends, retrying while the DEALER has no connection yet (ZMQ_IMMEDIATE). */
static int
send_retry(void *s, unsigned type, const struct buf *b, uint64_t deadline)
{
	while (ipc_send(s, NULL, type, b) == -1) {
		if (errno != EAGAIN || now_ms() > deadline)
			return (-1);
		usleep(2000);
	}
	return (0);
}

/* Waits for one message on s until deadline.  Returns 1, 0 on timeout. */
static int
recv_wait(void *s, struct ipc_msg *m, uint64_t deadline)
{
	zmq_pollitem_t	pi = { s, 0, ZMQ_POLLIN, 0 };
	uint64_t	t;
	int		r;

	for (;;) {
		if ((r = ipc_recv(s, m)) != 0)
			return (r);
		t = now_ms();
		if (t >= deadline)
			return (0);
		zmq_poll(&pi, 1, (long)(deadline - t));
	}
}

static void
enc_append(struct buf *b, uint64_t seq, const char *cid)
{
	struct ipc_store_append	 a = { 0 };
	struct ipc_store_target	*t;
	char			 pl[64], *payload, cidbuf[300];
	size_t			 n;
	unsigned		 i;

	n = (size_t)snprintf(pl, sizeof(pl), "msg-%llu",
	    (unsigned long long)seq);
	payload = xmalloc(paylen > n ? paylen : n);
	memset(payload, 'x', paylen > n ? paylen : n);
	memcpy(payload, pl, n);
	a.id = (uint32_t)seq;
	a.owner = ipc_bytes_str(owner);
	a.msg_id = seq;
	a.body.qos = 1;
	a.body.topic = ipc_bytes_str("t/test");
	a.body.payload.p = (const uint8_t *)payload;
	a.body.payload.len = paylen > n ? paylen : n;
	a.ntargets = fanout;
	a.targets = xcalloc(fanout, sizeof(*a.targets));
	for (i = 0; i < fanout; i++) {
		t = &a.targets[i];
		if (fanout == 1)
			t->client_id = ipc_bytes_str(cid);
		else {
			snprintf(cidbuf, sizeof(cidbuf), "%s-%u", cid, i);
			t->client_id.p = (const uint8_t *)xstrdup(cidbuf);
			t->client_id.len = strlen(cidbuf);
		}
		t->seq = seq;
		t->qos = 1;
	}
	ipc_enc_store_append(b, &a);
	if (fanout > 1)
		for (i = 0; i < fanout; i++)
			free((void *)a.targets[i].client_id.p);
	free(a.targets);
	free(payload);
}

/* append N: pipelined with window requests in flight on one socket. */
static int
cmd_append(void *s, unsigned n)
{
	struct buf		b = BUF_INIT;
	struct ipc_msg		m;
	struct ipc_store_rep	rep;
	uint64_t		next = start, end = start + n, deadline;
	unsigned		inflight = 0, done = 0;
	int			rc = 0;

	deadline = now_ms() + (uint64_t)timeout_ms;
	while (done < n) {
		while (inflight < window && next < end) {
			buf_reset(&b);
			enc_append(&b, next, client);
			if (send_retry(s, IPC_STORE_APPEND, &b, deadline) == -1)
				goto timeout;
			next++;
			inflight++;
		}
		if (recv_wait(s, &m, deadline) != 1)
			goto timeout;
		if (ipc_recv_store_rep(&m, &rep) == 0) {
			if (rep.rc == IPC_STORE_OK)
				printf("acked %u%s\n", rep.id,
				    rep.nfull ? " full" : "");
			else {
				printf("error %u %d\n", rep.id, rep.rc);
				rc = 1;
			}
			fflush(stdout);
			ipc_store_free_rep(&rep);
			inflight--;
			done++;
			deadline = now_ms() + (uint64_t)timeout_ms;
		}
		ipc_msg_close(&m);
	}
	buf_free(&b);
	return (rc);
 timeout:
	fprintf(stderr, "store_client: timeout (%u of %u answered)\n", done,
	    n);
	buf_free(&b);
	return (3);
}

static void
print_body(const struct ipc_store_body *b)
{
	printf("%.*s %.*s", (int)b->topic.len, (const char *)b->topic.p,
	    (int)(b->payload.len > 40 ? 40 : b->payload.len),
	    (const char *)b->payload.p);
}

static int
cmd_load(void *s)
{
	struct buf			 b = BUF_INIT;
	struct ipc_store_load		 ld = { 0 };
	struct ipc_store_load_rep	 lr;
	struct ipc_store_rec		*r;
	struct ipc_msg			 m;
	uint64_t			 deadline, total = 0;
	uint32_t			 i;

	deadline = now_ms() + (uint64_t)timeout_ms;
	ld.id = 7;
	ld.owner = ipc_bytes_str(owner);
	ipc_enc_store_load(&b, &ld);
	if (send_retry(s, IPC_STORE_LOAD, &b, deadline) == -1)
		goto timeout;
	buf_free(&b);
	for (;;) {
		if (recv_wait(s, &m, deadline) != 1)
			goto timeout;
		if (ipc_recv_store_load_rep(&m, &lr) == -1) {
			ipc_msg_close(&m);
			continue;
		}
		for (i = 0; i < lr.nrecs; i++) {
			r = &lr.recs[i];
			switch (r->kind) {
			case IPC_STORE_R_SESSION:
				printf("session %.*s %llu\n",
				    (int)r->client_id.len,
				    (const char *)r->client_id.p,
				    (unsigned long long)r->expire_at);
				break;
			case IPC_STORE_R_SUB:
				printf("sub %.*s %.*s %u %u\n",
				    (int)r->client_id.len,
				    (const char *)r->client_id.p,
				    (int)r->sub.filter.len,
				    (const char *)r->sub.filter.p,
				    r->sub.options, r->sub.sub_id);
				break;
			case IPC_STORE_R_QUEUE:
				printf("queue %.*s %llu %llu %u ",
				    (int)r->client_id.len,
				    (const char *)r->client_id.p,
				    (unsigned long long)r->seq,
				    (unsigned long long)r->msg_id, r->state);
				print_body(&r->body);
				printf("\n");
				break;
			case IPC_STORE_R_QOS2:
				printf("qos2 %.*s %u\n", (int)r->client_id.len,
				    (const char *)r->client_id.p, r->pid);
				break;
			case IPC_STORE_R_RETAIN:
				printf("retain ");
				print_body(&r->body);
				printf("\n");
				break;
			case IPC_STORE_R_WILL:
				printf("will %.*s %llu ",
				    (int)r->client_id.len,
				    (const char *)r->client_id.p,
				    (unsigned long long)r->due_at);
				print_body(&r->body);
				printf("\n");
				break;
			}
		}
		total += lr.nrecs;
		if (lr.last) {
			printf("end %llu rc %d\n", (unsigned long long)total,
			    lr.rc);
			ipc_store_free_load_rep(&lr);
			ipc_msg_close(&m);
			return (lr.rc == IPC_STORE_OK ? 0 : 1);
		}
		ipc_store_free_load_rep(&lr);
		ipc_msg_close(&m);
		deadline = now_ms() + (uint64_t)timeout_ms;
	}
 timeout:
	fprintf(stderr, "store_client: load: timeout\n");
	buf_free(&b);
	return (3);
}

static int
cmd_ack(void *s, int argc, char **argv)
{
	struct buf		 b = BUF_INIT;
	struct ipc_store_ack	 a = { 0 };
	struct ipc_store_rep	 rep;
	struct ipc_msg		 m;
	uint64_t		 deadline = now_ms() + (uint64_t)timeout_ms;
	int			 i, rc = 3;

	a.id = 99;
	a.s.owner = ipc_bytes_str(owner);
	a.s.client_id = ipc_bytes_str(client);
	a.nseqs = (uint32_t)argc;
	a.seqs = xcalloc((size_t)argc + 1, sizeof(*a.seqs));
	for (i = 0; i < argc; i++)
		a.seqs[i] = strtoull(argv[i], NULL, 10);
	ipc_enc_store_ack(&b, &a);
	free(a.seqs);
	if (send_retry(s, IPC_STORE_ACK, &b, deadline) == 0 &&
	    recv_wait(s, &m, deadline) == 1) {
		if (ipc_recv_store_rep(&m, &rep) == 0) {
			rc = rep.rc == IPC_STORE_OK ? 0 : 1;
			printf("ack rc %d\n", rep.rc);
			ipc_store_free_rep(&rep);
		}
		ipc_msg_close(&m);
	}
	buf_free(&b);
	return (rc);
}

static int
cmd_status(void *s, const char *what)
{
	struct buf		b = BUF_INIT;
	struct ipc_status_req	r = { 0 };
	struct ipc_status_rep	rep;
	struct ipc_msg		m;
	uint64_t		deadline = now_ms() + (uint64_t)timeout_ms;
	int			rc = 3;

	r.id = 5;
	snprintf(r.what, sizeof(r.what), "%s", what);
	ipc_enc_status_req(&b, &r);
	if (send_retry(s, IPC_STATUS_REQ, &b, deadline) == 0 &&
	    recv_wait(s, &m, deadline) == 1) {
		if (ipc_recv_status_rep(&m, &rep) == 0) {
			printf("%s\n", rep.json);
			free(rep.json);
			rc = 0;
		}
		ipc_msg_close(&m);
	}
	buf_free(&b);
	return (rc);
}

/* bench N: P sockets, each with window requests in flight. */
static int
cmd_bench(unsigned n, unsigned nsock)
{
	void			**socks;
	zmq_pollitem_t		 *pi;
	unsigned		 *inflight, i, sent = 0, done = 0, errs = 0;
	struct buf		  b = BUF_INIT;
	struct ipc_msg		  m;
	struct ipc_store_rep	  rep;
	uint64_t		  t0, t1, deadline;
	char			  cid[64];

	socks = xcalloc(nsock, sizeof(*socks));
	pi = xcalloc(nsock, sizeof(*pi));
	inflight = xcalloc(nsock, sizeof(*inflight));
	for (i = 0; i < nsock; i++) {
		if ((socks[i] = ipc_dealer_connect(endpoint, NULL)) == NULL)
			return (2);
		pi[i].socket = socks[i];
		pi[i].events = ZMQ_POLLIN;
	}
	/* Wait until every socket is connected. */
	deadline = now_ms() + (uint64_t)timeout_ms;
	for (i = 0; i < nsock; i++) {
		struct ipc_heartbeat	hb = { i };

		buf_reset(&b);
		ipc_enc_heartbeat(&b, &hb);
		if (send_retry(socks[i], IPC_HEARTBEAT, &b, deadline) == -1 ||
		    recv_wait(socks[i], &m, deadline) != 1)
			return (3);
		ipc_msg_close(&m);
	}
	t0 = now_ms();
	deadline = t0 + (uint64_t)timeout_ms;
	while (done < n) {
		for (i = 0; i < nsock; i++) {
			while (inflight[i] < window && sent < n) {
				buf_reset(&b);
				snprintf(cid, sizeof(cid), "%s-%u", client, i);
				enc_append(&b, start + sent, cid);
				if (send_retry(socks[i], IPC_STORE_APPEND, &b,
				    deadline) == -1)
					return (3);
				sent++;
				inflight[i]++;
			}
		}
		if (zmq_poll(pi, (int)nsock, 1000) <= 0 && now_ms() > deadline)
			return (3);
		for (i = 0; i < nsock; i++) {
			while (ipc_recv(socks[i], &m) == 1) {
				if (ipc_recv_store_rep(&m, &rep) == 0) {
					if (rep.rc != IPC_STORE_OK)
						errs++;
					ipc_store_free_rep(&rep);
					inflight[i]--;
					done++;
					deadline = now_ms() +
					    (uint64_t)timeout_ms;
				}
				ipc_msg_close(&m);
			}
		}
	}
	t1 = now_ms();
	printf("appends %u requesters %u window %u payload %zu fanout %u "
	    "ms %llu rate %.0f/s errors %u\n", n, nsock, window, paylen,
	    fanout, (unsigned long long)(t1 - t0),
	    (double)n * 1000.0 / (double)(t1 > t0 ? t1 - t0 : 1), errs);
	for (i = 0; i < nsock; i++)
		ipc_close(socks[i]);
	free(socks);
	free(pi);
	free(inflight);
	buf_free(&b);
	return (errs ? 1 : 0);
}

int
main(int argc, char *argv[])
{
	void	*s;
	int	 ch, rc;
	unsigned nsock = 1;

	while ((ch = getopt(argc, argv, "e:o:c:s:w:t:P:b:F:")) != -1) {
		switch (ch) {
		case 'e':
			endpoint = optarg;
			break;
		case 'o':
			owner = optarg;
			break;
		case 'c':
			client = optarg;
			break;
		case 's':
			start = strtoull(optarg, NULL, 10);
			break;
		case 'w':
			window = (unsigned)atoi(optarg);
			break;
		case 't':
			timeout_ms = atoi(optarg);
			break;
		case 'P':
			nsock = (unsigned)atoi(optarg);
			break;
		case 'b':
			paylen = (size_t)atol(optarg);
			break;
		case 'F':
			fanout = (unsigned)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (endpoint == NULL || argc < 1 || window == 0 || nsock == 0 ||
	    fanout == 0)
		usage();
	log_init("store_client", "test", false);
	if (strcmp(argv[0], "bench") == 0) {
		if (argc != 2)
			usage();
		rc = cmd_bench((unsigned)atoi(argv[1]), nsock);
		ipc_ctx_term();
		return (rc);
	}
	if ((s = ipc_dealer_connect(endpoint, NULL)) == NULL)
		return (2);
	if (strcmp(argv[0], "append") == 0 && argc == 2) {
		nreq = (unsigned)atoi(argv[1]);
		rc = cmd_append(s, nreq);
	} else if (strcmp(argv[0], "load") == 0)
		rc = cmd_load(s);
	else if (strcmp(argv[0], "ack") == 0 && argc >= 2)
		rc = cmd_ack(s, argc - 1, argv + 1);
	else if (strcmp(argv[0], "status") == 0 ||
	    strcmp(argv[0], "metrics") == 0)
		rc = cmd_status(s, argv[0]);
	else
		usage();
	ipc_close(s);
	ipc_ctx_term();
	return (rc);
}
