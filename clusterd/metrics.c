/* SPDX-License-Identifier: MIT */
/*
 * The node's counters for /metrics and the state behind /health: clusterd
 * asks mqttd and storaged for their "metrics" JSON once a second and keeps
 * the latest answers, so that a scrape never waits on another process, and
 * turns them into the Prometheus text format 0.0.4.
 *
 * The sources are the ones `ternctl metrics show` reads (the same
 * STATUS_REQ "metrics" to each daemon, and status_json() for clusterd), so
 * both show the same numbers.  mqttd's counters come from MQTTD_STATS in
 * mqttd/mqttd.h; this file must not include it (one daemon never includes
 * another's headers), hence the small tables of gauges below.
 *
 * Each daemon is asked over a DEALER of our own, connected to its ROUTER
 * like ternctl's: mqttd answers STATUS_REQ only on its ROUTER (its DEALER
 * to us reads nothing but hellos and heartbeats), and a socket of our own
 * keeps the answers out of dispatch.c's paths.
 *
 * Replication lag is not exported: queues are not replicated yet (issue 8).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* One daemon we ask. */
struct metrics_src {
	const char	*daemon;
	void		*sock;		/* DEALER to its ROUTER */
	struct ipc_uv	*w;
	uint32_t	 next_id;
	uint64_t	 sent_ms;	/* a request is out since; 0: none */
	uint64_t	 answered_ms;	/* last answer; 0: never */
	json_t		*last;		/* last answer, owned */
};

enum { METRICS_MQTTD, METRICS_STORAGED, METRICS_NSRC };

static struct {
	struct clusterd		*cd;		/* borrowed */
	bool			 started;
	uv_timer_t		 poll;
	struct metrics_src	 src[METRICS_NSRC];
} metrics;

/* mqttd: MQTTD_STATS are counters; its gauges are these. */
static const char *const metrics_mqttd_gauges[] = {
	"connections", "sockets", "sessions", "subscriptions", "retained",
	"sessions_offline", "queued_messages", "inflight_messages",
	"listeners", NULL
};

/* clusterd (status.c, membership_metrics()): gauges but for these. */
static const char *const metrics_clusterd_counters[] = {
	"ipc_messages_in", "ipc_messages_out", "ipc_messages_bad",
	"status_requests", "raft_elections_won", "link_frames_in",
	"link_frames_out", "link_frames_bad", "raft_streams_opened",
	"raft_streams_lost_data", "replica_writes", "replica_copies_sent",
	"replica_writes_under_replicated", "replica_resyncs",
	"sessions_taken_over", "sessions_from_replica", "sessions_moved",
	"sessions_adopted", "sessions_reconciled", NULL
};

static const struct metrics_map metrics_maps[] = {
	{ "clusterd", false, metrics_clusterd_counters },
	{ "mqttd", true, metrics_mqttd_gauges },
	/* storaged names its counters *_total itself. */
	{ "storaged", false, NULL },
};

/* ------------------------------------------------------------ format */

/* Appends s with \\, \n (and \" when quoted) escaped. */
static void
metrics_escape(struct buf *b, const char *s, bool quoted)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_add(b, "\\\\", 2);
		else if (*s == '\n')
			buf_add(b, "\\n", 2);
		else if (*s == '"' && quoted)
			buf_add(b, "\\\"", 2);
		else
			buf_add_u8(b, (uint8_t)*s);
	}
}

static void
metrics_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
metrics_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	char	tmp[512];
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(tmp)) {
		char	*big = xmalloc((size_t)n + 1);

		va_start(ap, fmt);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		va_end(ap);
		buf_add(b, big, (size_t)n);
		free(big);
		return;
	}
	buf_add(b, tmp, (size_t)n);
}

void
metrics_family(struct buf *b, const char *name, const char *type,
    const char *help)
{
	metrics_printf(b, "# HELP %s ", name);
	metrics_escape(b, help, false);
	metrics_printf(b, "\n# TYPE %s %s\n", name, type);
}

static void
metrics_sample_begin(struct buf *b, const char *name, const char *label,
    const char *lvalue)
{
	buf_add(b, name, strlen(name));
	if (label != NULL) {
		metrics_printf(b, "{%s=\"", label);
		metrics_escape(b, lvalue, true);
		buf_add(b, "\"}", 2);
	}
	buf_add_u8(b, ' ');
}

void
metrics_sample(struct buf *b, const char *name, const char *label,
    const char *lvalue, int64_t v)
{
	metrics_sample_begin(b, name, label, lvalue);
	metrics_printf(b, "%" PRId64 "\n", v);
}

static void
metrics_sample_real(struct buf *b, const char *name, double v)
{
	metrics_sample_begin(b, name, NULL, NULL);
	if (isnan(v))
		buf_add(b, "NaN\n", 4);
	else if (isinf(v))
		metrics_printf(b, "%sInf\n", v > 0 ? "+" : "-");
	else
		metrics_printf(b, "%.17g\n", v);
}

static bool
metrics_has_suffix(const char *s, const char *suffix)
{
	size_t	n = strlen(s), m = strlen(suffix);

	return (n >= m && strcmp(s + n - m, suffix) == 0);
}

static bool
metrics_in_list(const char *const *list, const char *key)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return (true);
	return (false);
}

/* out = tern_<daemon>_<key>[_total], with anything but [A-Za-z0-9_:]
 * made "_". */
static void
metrics_name(char *out, size_t outlen, const char *daemon, const char *key,
    bool counter)
{
	size_t	dl = strlen(daemon), i;
	bool	prefixed;

	prefixed = strncmp(key, daemon, dl) == 0 && key[dl] == '_';
	snprintf(out, outlen, "tern_%s%s%s%s", prefixed ? "" : daemon,
	    prefixed ? "" : "_", key,
	    counter && !metrics_has_suffix(key, "_total") ? "_total" : "");
	for (i = 0; out[i] != '\0'; i++) {
		char	c = out[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == ':'))
			out[i] = '_';
	}
}

static void
metrics_format_walk(struct buf *b, const struct metrics_map *map,
    json_t *o, const char *prefix)
{
	const char	*k;
	json_t		*v;
	char		 key[256], name[320], help[320];
	bool		 counter;

	json_object_foreach(o, k, v) {
		if (prefix[0] != '\0')
			snprintf(key, sizeof(key), "%s_%s", prefix, k);
		else
			snprintf(key, sizeof(key), "%s", k);
		if (json_is_object(v)) {
			metrics_format_walk(b, map, v, key);
			continue;
		}
		if (!json_is_number(v) && !json_is_boolean(v))
			continue;
		counter = metrics_has_suffix(key, "_total") ||
		    (map->counters != metrics_in_list(map->flip, key));
		if (json_is_boolean(v))
			counter = false;
		metrics_name(name, sizeof(name), map->daemon, key, counter);
		/* ternctl metrics show prints mqttd's keys bare and the
		 * others' after their daemon's name. */
		snprintf(help, sizeof(help), "%s %s; ternctl metrics show: "
		    "%s%s%s", map->daemon, counter ? "counter" : "gauge",
		    strcmp(map->daemon, "mqttd") != 0 ? map->daemon : "",
		    strcmp(map->daemon, "mqttd") != 0 ? "_" : "", key);
		metrics_family(b, name, counter ? "counter" : "gauge", help);
		if (json_is_integer(v))
			metrics_sample(b, name, NULL, NULL,
			    (int64_t)json_integer_value(v));
		else if (json_is_real(v))
			metrics_sample_real(b, name, json_real_value(v));
		else
			metrics_sample(b, name, NULL, NULL,
			    json_is_true(v) ? 1 : 0);
	}
}

void
metrics_format_object(struct buf *b, const struct metrics_map *map,
    json_t *o)
{
	if (json_is_object(o))
		metrics_format_walk(b, map, o, "");
}

static void
metrics_format_nodes(struct buf *b, json_t *cluster)
{
	static const struct {
		const char	*name;
		const char	*help;
	} fam[] = {
		{ "tern_cluster_node_up",
		    "1 when the member node is reachable (ternctl cluster "
		    "show: running)" },
		{ "tern_cluster_node_leader",
		    "1 for the member node that leads the membership Raft" },
		{ "tern_cluster_node_leaving",
		    "1 while the member node leaves the cluster" },
	};
	json_t		*nodes, *n;
	const char	*name, *state;
	size_t		 f, i;
	int64_t		 v;

	nodes = json_object_get(cluster, "nodes");
	if (!json_is_array(nodes))
		return;
	for (f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
		metrics_family(b, fam[f].name, "gauge", fam[f].help);
		json_array_foreach(nodes, i, n) {
			if ((name = json_string_value(json_object_get(n,
			    "name"))) == NULL)
				continue;
			state = json_string_value(json_object_get(n,
			    "state"));
			if (f == 0)
				v = json_is_true(json_object_get(n,
				    "running"));
			else if (f == 1)
				v = json_is_true(json_object_get(n,
				    "leader"));
			else
				v = state != NULL &&
				    strcmp(state, "leaving") == 0;
			metrics_sample(b, fam[f].name, "node", name, v);
		}
	}
}

bool
is_metrics_joined(json_t *cluster, uint64_t node_id)
{
	json_t		*nodes, *n;
	const char	*cid, *id, *role;
	char		 mine[32];
	size_t		 i;

	cid = json_string_value(json_object_get(cluster, "cluster_id"));
	if (cid == NULL || cid[0] == '\0')
		return (false);
	snprintf(mine, sizeof(mine), "%016" PRIx64, node_id);
	nodes = json_object_get(cluster, "nodes");
	json_array_foreach(nodes, i, n) {
		id = json_string_value(json_object_get(n, "id"));
		role = json_string_value(json_object_get(n, "role"));
		if (id != NULL && strcmp(id, mine) == 0)
			return (role != NULL && strcmp(role, "none") != 0);
	}
	return (false);
}

void
metrics_format(struct buf *b, const struct metrics_input *in)
{
	static const char *const daemons[] = { "clusterd", "mqttd",
	    "storaged" };
	json_t	*objs[3];
	size_t	 i;

	objs[0] = in->clusterd;
	objs[1] = in->mqttd;
	objs[2] = in->storaged;
	metrics_family(b, "tern_daemon_up", "gauge",
	    "1 when the daemon of this node answered clusterd within the "
	    "last seconds");
	for (i = 0; i < 3; i++)
		metrics_sample(b, "tern_daemon_up", "daemon", daemons[i],
		    objs[i] != NULL);
	if (in->cluster != NULL) {
		metrics_family(b, "tern_cluster_joined", "gauge",
		    "1 when this node is a member of a cluster");
		metrics_sample(b, "tern_cluster_joined", NULL, NULL,
		    is_metrics_joined(in->cluster, in->node_id));
		metrics_format_nodes(b, in->cluster);
	}
	for (i = 0; i < 3; i++)
		if (objs[i] != NULL)
			metrics_format_object(b, &metrics_maps[i], objs[i]);
}

/* ------------------------------------------------------------- polling */

static bool
is_metrics_fresh(const struct metrics_src *s, uint64_t now)
{
	return (s->last != NULL && s->answered_ms != 0 &&
	    now - s->answered_ms <= METRICS_STALE_MS);
}

static void
metrics_read_cb(void *sock, void *arg)
{
	struct metrics_src	*s = arg;
	struct ipc_msg		 m;
	struct ipc_status_rep	 rep;
	json_error_t		 err;
	json_t			*o;
	int			 n;

	for (n = 0; n < 16 && ipc_recv(sock, &m) == 1; n++) {
		if (m.type != IPC_STATUS_REP) {
			log_trace(TRACE_IPC, "metrics: %s from %s ignored",
			    ipc_type_name(m.type), s->daemon);
			ipc_msg_close(&m);
			continue;
		}
		if (ipc_recv_status_rep(&m, &rep) == -1) {
			log_warnx("metrics: malformed status reply from %s",
			    s->daemon);
			ipc_msg_close(&m);
			continue;
		}
		ipc_msg_close(&m);
		o = rep.rc == 0 ? json_loads(rep.json, 0, &err) : NULL;
		if (o == NULL || !json_is_object(o)) {
			log_warnx("metrics: bad metrics from %s: %s",
			    s->daemon, rep.rc != 0 ? rep.json : err.text);
			json_decref(o);
		} else {
			json_decref(s->last);
			s->last = o;
			s->answered_ms = uv_now(metrics.cd->loop);
			s->sent_ms = 0;
		}
		free(rep.json);
	}
}

static void
metrics_ask(struct metrics_src *s, uint64_t now)
{
	struct ipc_status_req	req = { 0 };

	if (s->sent_ms != 0 && now - s->sent_ms < METRICS_RETRY_MS)
		return;
	req.id = ++s->next_id;
	snprintf(req.what, sizeof(req.what), "metrics");
	/* Fails at once while the daemon is absent (ZMQ_IMMEDIATE). */
	if (ipc_send_status_req(s->sock, NULL, &req) == 0)
		s->sent_ms = now;
	ipc_uv_kick(s->w);
}

static void
metrics_poll_cb(uv_timer_t *t)
{
	uint64_t	now = uv_now(t->loop);
	size_t		i;

	for (i = 0; i < METRICS_NSRC; i++) {
		if (!is_metrics_fresh(&metrics.src[i], now) &&
		    metrics.src[i].last != NULL) {
			/* Forget numbers a silent daemon no longer backs. */
			json_decref(metrics.src[i].last);
			metrics.src[i].last = NULL;
		}
		metrics_ask(&metrics.src[i], now);
	}
}

void
metrics_start(struct clusterd *cd)
{
	static const char *const names[METRICS_NSRC] = { "mqttd",
	    "storaged" };
	struct metrics_src	*s;
	char			 ep[1024];
	size_t			 i;

	if (metrics.started)
		return;
	metrics.cd = cd;
	for (i = 0; i < METRICS_NSRC; i++) {
		s = &metrics.src[i];
		s->daemon = names[i];
		conf_ipc_endpoint(&cd->conf, s->daemon, ep, sizeof(ep));
		if ((s->sock = ipc_dealer_connect(ep, NULL)) == NULL)
			fatalx("metrics: cannot connect to %s", ep);
		s->w = ipc_uv_new(cd->loop, s->sock, metrics_read_cb, s);
	}
	uv_timer_init(cd->loop, &metrics.poll);
	uv_timer_start(&metrics.poll, metrics_poll_cb, 0, METRICS_POLL_MS);
	metrics.started = true;
}

void
metrics_stop(struct clusterd *cd)
{
	size_t	i;

	if (!metrics.started)
		return;
	uv_timer_stop(&metrics.poll);
	uv_close((uv_handle_t *)&metrics.poll, NULL);
	for (i = 0; i < METRICS_NSRC; i++) {
		ipc_uv_free(metrics.src[i].w);
		metrics.src[i].w = NULL;
	}
}

void
metrics_free(struct clusterd *cd)
{
	size_t	i;

	if (!metrics.started)
		return;
	for (i = 0; i < METRICS_NSRC; i++) {
		ipc_close(metrics.src[i].sock);
		metrics.src[i].sock = NULL;
		json_decref(metrics.src[i].last);
		metrics.src[i].last = NULL;
	}
	metrics.started = false;
}

/* Returns the daemon's last answer if fresh, else NULL.  Borrowed. */
static json_t *
metrics_fresh(struct clusterd *cd, int which)
{
	struct metrics_src	*s = &metrics.src[which];

	return (metrics.started && is_metrics_fresh(s, uv_now(cd->loop)) ?
	    s->last : NULL);
}

void
metrics_prometheus(struct clusterd *cd, struct buf *b)
{
	struct metrics_input	 in = { 0 };
	char			*s;
	int			 rc;

	/* clusterd's own counters through the JSON ternctl reads. */
	s = status_json(cd, "metrics", "", &rc);
	in.clusterd = json_loads(s, 0, NULL);
	free(s);
	in.cluster = cd->mb != NULL ? membership_show(cd) : NULL;
	in.mqttd = metrics_fresh(cd, METRICS_MQTTD);
	in.storaged = metrics_fresh(cd, METRICS_STORAGED);
	in.nodename = cd->conf.nodename;
	in.node_id = cd->node_id;
	metrics_format(b, &in);
	json_decref(in.clusterd);
	json_decref(in.cluster);
}

bool
is_metrics_healthy(struct clusterd *cd, char *why, size_t whylen)
{
	struct metrics_src	*s = &metrics.src[METRICS_MQTTD];
	json_t			*mq, *l, *cluster;
	bool			 joined;

	if ((mq = metrics_fresh(cd, METRICS_MQTTD)) == NULL) {
		if (s->answered_ms == 0)
			snprintf(why, whylen, "mqttd has not answered");
		else
			snprintf(why, whylen, "mqttd has not answered for "
			    "%" PRIu64 " ms", uv_now(cd->loop) -
			    s->answered_ms);
		return (false);
	}
	/* Listeners open: mqttd exits when one cannot be bound, so an
	 * answer says they are; a "listeners" count, if mqttd gives one,
	 * is checked too. */
	l = json_object_get(mq, "listeners");
	if (json_is_integer(l) && json_integer_value(l) == 0) {
		snprintf(why, whylen, "mqttd has no open listener");
		return (false);
	}
	if (cd->mb == NULL) {
		snprintf(why, whylen, "membership not started");
		return (false);
	}
	cluster = membership_show(cd);
	joined = is_metrics_joined(cluster, cd->node_id);
	json_decref(cluster);
	if (!joined) {
		snprintf(why, whylen, "this node has not joined a cluster "
		    "yet (discovery = %s)", cd->conf.discovery ==
		    CONF_DISCOVERY_NONE ? "none" : "on");
		return (false);
	}
	snprintf(why, whylen, "ok");
	return (true);
}
