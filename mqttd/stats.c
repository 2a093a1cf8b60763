/* SPDX-License-Identifier: MIT */
/* The status, metrics and sessions replies (JSON) for ternctl. */
#include <string.h>

#include "mqttd/cluster.h"
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"

struct stats_walk {
	struct buf	*b;
	const char	*client_id;	/* "" = all */
	bool		 first;
	uint64_t	 queued;
	uint64_t	 inflight;
	uint64_t	 offline;
};

static void
stats_gauges(struct buf *b, bool *first)
{
	json_kv_u64(b, first, "connections", broker->nclients);
	json_kv_u64(b, first, "sockets", broker->nconns);
	json_kv_u64(b, first, "sessions", broker->nsessions);
	json_kv_u64(b, first, "subscriptions",
	    topic_tree_count(broker->subs) - cluster_nroutes());
	json_kv_u64(b, first, "retained",
	    retain_tree_count(broker->retained));
}

static void
stats_count_cb(struct session *s, void *arg)
{
	struct stats_walk	*w = arg;

	w->queued += s->q.npending;
	w->inflight += s->q.ninflight;
	if (s->conn == NULL)
		w->offline++;
}

static void
stats_session_cb(struct session *s, void *arg)
{
	struct stats_walk	*w = arg;
	struct buf		*b = w->b;
	bool			 first = true;

	if (w->client_id[0] != '\0' && strcmp(w->client_id, s->client_id))
		return;
	if (!w->first)
		buf_add_u8(b, ',');
	w->first = false;
	buf_add_u8(b, '{');
	json_kv_str(b, &first, "client_id", s->client_id);
	json_kv_bool(b, &first, "connected", s->conn != NULL);
	json_kv_bool(b, &first, "clean", s->clean);
	json_kv_u64(b, &first, "protocol", s->proto);
	json_kv_u64(b, &first, "expiry", s->expiry);
	json_kv_u64(b, &first, "queued", s->q.npending);
	json_kv_u64(b, &first, "inflight", s->q.ninflight);
	json_kv_u64(b, &first, "subscriptions", s->nsubs);
	json_kv_str(b, &first, "owner", broker->conf->nodename);
	if (s->conn != NULL)
		json_kv_str(b, &first, "peer", s->conn->peer);
	buf_add_u8(b, '}');
}

int
stats_json(struct buf *b, const char *what, const char *arg)
{
	struct stats_walk	w;
	bool			first = true;

	memset(&w, 0, sizeof(w));
	w.b = b;
	w.client_id = arg != NULL ? arg : "";
	w.first = true;
	if (strcmp(what, "status") == 0) {
		buf_add_u8(b, '{');
		json_kv_str(b, &first, "daemon", "mqttd");
		json_kv_str(b, &first, "nodename", broker->conf->nodename);
		stats_gauges(b, &first);
		json_kv_u64(b, &first, "messages_in",
		    broker->stats.messages_in);
		json_kv_u64(b, &first, "messages_out",
		    broker->stats.messages_out);
		json_kv_str(b, &first, "storaged",
		    is_dispatch_peer_up("storaged") ? "up" : "down");
		json_kv_str(b, &first, "clusterd",
		    is_dispatch_peer_up("clusterd") ? "up" : "down");
		buf_add_u8(b, '}');
	} else if (strcmp(what, "metrics") == 0) {
		session_walk(stats_count_cb, &w);
		buf_add_u8(b, '{');
		stats_gauges(b, &first);
		json_kv_u64(b, &first, "sessions_offline", w.offline);
		json_kv_u64(b, &first, "queued_messages", w.queued);
		json_kv_u64(b, &first, "inflight_messages", w.inflight);
#define STATS_JSON(name, desc)	\
		json_kv_u64(b, &first, #name, broker->stats.name);
		MQTTD_STATS(STATS_JSON)
#undef STATS_JSON
		cluster_stats_json(b, &first);
		buf_add_u8(b, '}');
	} else if (strcmp(what, "sessions") == 0) {
		buf_add(b, "{\"sessions\":[", 13);
		session_walk(stats_session_cb, &w);
		buf_add(b, "]}", 2);
	} else
		return (-1);
	json_end(b);
	return (0);
}
