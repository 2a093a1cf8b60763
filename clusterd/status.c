/* SPDX-License-Identifier: MIT */
/* clusterd's answers to status requests (JSON for ternctl), built with
 * jansson so that every string is escaped correctly. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"

bool
status_is_daemon_up(const struct clusterd *cd, const struct cd_daemon *d)
{
	return (d->up && d->last_seen != 0);
}

static json_t *
status_daemon(struct clusterd *cd)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "daemon", json_string("clusterd"));
	json_object_set_new(o, "nodename", json_string(cd->conf.nodename));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "uptime_s",
	    json_integer((json_int_t)((uv_now(cd->loop) - cd->started_ms) /
	    1000)));
	json_object_set_new(o, "mqttd", json_string(
	    status_is_daemon_up(cd, &cd->mqttd) ? "up" : "down"));
	json_object_set_new(o, "storaged", json_string(
	    status_is_daemon_up(cd, &cd->storaged) ? "up" : "down"));
	membership_status(cd, o);
	route_status(cd, o);
	return (o);
}

static json_t *
status_metrics(struct clusterd *cd)
{
	json_t	*o;

	o = json_object();
	json_object_set_new(o, "ipc_messages_in",
	    json_integer((json_int_t)cd->counters.ipc_in));
	json_object_set_new(o, "ipc_messages_out",
	    json_integer((json_int_t)cd->counters.ipc_out));
	json_object_set_new(o, "ipc_messages_bad",
	    json_integer((json_int_t)cd->counters.ipc_bad));
	json_object_set_new(o, "status_requests",
	    json_integer((json_int_t)cd->counters.status_requests));
	json_object_set_new(o, "mqttd_up",
	    json_integer(status_is_daemon_up(cd, &cd->mqttd)));
	json_object_set_new(o, "storaged_up",
	    json_integer(status_is_daemon_up(cd, &cd->storaged)));
	membership_metrics(cd, o);
	route_metrics(cd, o);
	return (o);
}

/* ternctl cluster show: this node's replication (issue 8). */
static void
status_replication(struct clusterd *cd, json_t *o)
{
	struct forward_stats	fs;

	forward_stats(cd, &fs);
	json_object_set_new(o, "replication", json_pack("{s:I,s:I,s:I,s:I,s:I}",
	    "factor", (json_int_t)cd->conf.replication_factor,
	    "under_replicated_sessions",
	    (json_int_t)owner_under_replicated(cd),
	    "copies_pending", (json_int_t)fs.repl_pending,
	    "writes_under_replicated", (json_int_t)fs.repl_under,
	    "resyncs", (json_int_t)cd->resyncs));
}

char *
status_json(struct clusterd *cd, const char *what, const char *arg, int *rc)
{
	json_t	*o;
	char	*s, *out;

	*rc = 0;
	if (strcmp(what, "status") == 0)
		o = status_daemon(cd);
	else if (strcmp(what, "cluster") == 0) {
		o = membership_show(cd);
		status_replication(cd, o);
	}
	else if (strcmp(what, "metrics") == 0)
		o = status_metrics(cd);
	else {
		*rc = -1;
		o = json_pack("{s:s}", "error", "unknown status request");
	}
	if ((s = json_dumps(o, JSON_COMPACT)) == NULL)
		fatalx("clusterd: json_dumps failed");
	json_decref(o);
	/* jansson's allocator is malloc; hand back our own copy anyway so
	 * that callers free() what xmalloc made. */
	out = xstrdup(s);
	free(s);
	return (out);
}
