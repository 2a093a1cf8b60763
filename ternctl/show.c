/* SPDX-License-Identifier: MIT */
/* ternctl's read-only commands (status, cluster show, session show, metrics
 * show) and cluster join/leave: ask the daemons, print tables or JSON.
 * JSON is read and written with jansson. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ternctl/ternctl.h"

static const char *const show_daemons[] = { "storaged", "clusterd", "mqttd" };
#define SHOW_NDAEMONS	(sizeof(show_daemons) / sizeof(show_daemons[0]))

void
show_scalar(const void *jv, char *out, size_t outlen)
{
	const json_t	*v = jv;

	if (v == NULL || json_is_null(v))
		snprintf(out, outlen, "-");
	else if (json_is_string(v))
		snprintf(out, outlen, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, outlen, "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, outlen, "%g", json_real_value(v));
	else if (json_is_true(v))
		snprintf(out, outlen, "true");
	else if (json_is_false(v))
		snprintf(out, outlen, "false");
	else
		snprintf(out, outlen, "...");
}

/* Parses a daemon's answer; prints why not and returns NULL if bad. */
static json_t *
show_parse(const struct query *q)
{
	json_t		*o;
	json_error_t	 e;

	if (q->text == NULL) {
		fprintf(stderr, "ternctl: %s\n", q->err);
		return (NULL);
	}
	if ((o = json_loads(q->text, 0, &e)) == NULL ||
	    !json_is_object(o)) {
		fprintf(stderr, "ternctl: %s sent bad JSON: %s\n", q->daemon,
		    o ? "not an object" : e.text);
		json_decref(o);
		return (NULL);
	}
	if (q->rc != 0) {
		fprintf(stderr, "ternctl: %s: %s\n", q->daemon,
		    json_string_value(json_object_get(o, "error")) ?
		    json_string_value(json_object_get(o, "error")) :
		    "request refused");
		json_decref(o);
		return (NULL);
	}
	return (o);
}

/* Prints o's scalar fields (but skip) as key=value. */
static void
show_fields(json_t *o, const char *skip)
{
	const char	*k;
	json_t		*v;
	char		 cell[256];

	json_object_foreach(o, k, v) {
		if (json_is_object(v) || json_is_array(v) ||
		    strcmp(k, "daemon") == 0 ||
		    (skip != NULL && strcmp(k, skip) == 0))
			continue;
		show_scalar(v, cell, sizeof(cell));
		printf(" %s=%s", k, cell);
	}
}

int
show_status(const struct conf *c, bool json)
{
	struct query	 q[SHOW_NDAEMONS];
	json_t		*all, *o;
	size_t		 i;
	int		 up = 0;
	char		*s;

	for (i = 0; i < SHOW_NDAEMONS; i++)
		query_init_status(&q[i], c, show_daemons[i], "status", "");
	query_run(q, SHOW_NDAEMONS, TERNCTL_QUERY_MS);
	all = json_object();
	if (!json)
		printf("%-9s %-5s %s\n", "DAEMON", "STATE", "DETAILS");
	for (i = 0; i < SHOW_NDAEMONS; i++) {
		o = NULL;
		if (q[i].text != NULL)
			o = json_loads(q[i].text, 0, NULL);
		if (o != NULL && json_is_object(o)) {
			up++;
			json_object_set_new(o, "running", json_true());
			if (!json) {
				printf("%-9s %-5s", q[i].daemon, "up");
				show_fields(o, "running");
				printf("\n");
			}
		} else {
			json_decref(o);
			o = json_pack("{s:b,s:s}", "running", 0, "error",
			    q[i].text ? "bad JSON in answer" : q[i].err);
			if (!json)
				printf("%-9s %-5s %s\n", q[i].daemon, "down",
				    q[i].text ? "bad JSON in answer" :
				    q[i].err);
		}
		json_object_set_new(all, q[i].daemon, o);
		query_free(&q[i]);
	}
	if (json) {
		s = json_dumps(all, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	}
	json_decref(all);
	return (up == (int)SHOW_NDAEMONS ? TERNCTL_EXIT_OK : TERNCTL_EXIT_FAIL);
}

/* --json: the daemon's object, unchanged. */
static int
show_raw(struct query *q)
{
	json_t	*o;

	if ((o = show_parse(q)) == NULL)
		return (TERNCTL_EXIT_FAIL);
	json_decref(o);
	printf("%s\n", q->text);
	return (TERNCTL_EXIT_OK);
}

/* Prints the array arr of objects as a table with columns cols. */
static void
show_table(json_t *arr, const char *const *cols, const int *widths)
{
	json_t	*row;
	size_t	 i, j;
	char	 cell[256];

	for (j = 0; cols[j] != NULL; j++) {
		snprintf(cell, sizeof(cell), "%s", cols[j]);
		for (i = 0; cell[i] != '\0'; i++)
			cell[i] = (char)toupper((unsigned char)cell[i]);
		printf("%-*s%s", widths[j], cell, cols[j + 1] ? " " : "\n");
	}
	json_array_foreach(arr, i, row) {
		for (j = 0; cols[j] != NULL; j++) {
			show_scalar(json_object_get(row, cols[j]), cell,
			    sizeof(cell));
			printf("%-*s%s", widths[j], cell,
			    cols[j + 1] ? " " : "\n");
		}
	}
}

int
show_cluster(const struct conf *c, bool json)
{
	static const char *const cols[] = { "name", "running", "leader",
	    "state", "role", "address", "owned", NULL };
	static const int widths[] = { 28, 7, 6, 7, 7, 21, 7 };
	struct query	 q;
	json_t		*o, *nodes, *r;
	int		 rc = TERNCTL_EXIT_FAIL;

	query_init_status(&q, c, "clusterd", "cluster", "");
	query_run(&q, 1, TERNCTL_QUERY_MS);
	if (json) {
		rc = show_raw(&q);
		query_free(&q);
		return (rc);
	}
	if ((o = show_parse(&q)) != NULL) {
		if ((nodes = json_object_get(o, "nodes")) != NULL &&
		    json_is_array(nodes)) {
			show_table(nodes, cols, widths);
			rc = TERNCTL_EXIT_OK;
			if ((r = json_object_get(o, "replication")) != NULL)
				printf("replication factor %lld: %lld sessions "
				    "of this node under-replicated, %lld copies "
				    "pending, %lld resyncs\n", (long long)
				    json_integer_value(json_object_get(r,
				    "factor")), (long long)json_integer_value(
				    json_object_get(r,
				    "under_replicated_sessions")), (long long)
				    json_integer_value(json_object_get(r,
				    "copies_pending")), (long long)
				    json_integer_value(json_object_get(r,
				    "resyncs")));
		} else
			fprintf(stderr, "ternctl: clusterd sent no nodes\n");
		json_decref(o);
	}
	query_free(&q);
	return (rc);
}

int
show_sessions(const struct conf *c, const char *client_id, bool json)
{
	static const char *const cols[] = { "client_id", "connected", "clean",
	    "queued", "inflight", "subscriptions", "owner", NULL };
	static const int widths[] = { 24, 9, 5, 6, 8, 13, 20 };
	struct query	 q;
	json_t		*o, *ss;
	int		 rc = TERNCTL_EXIT_FAIL;

	query_init_status(&q, c, "mqttd", "sessions", client_id);
	query_run(&q, 1, TERNCTL_QUERY_MS);
	if (json) {
		rc = show_raw(&q);
		query_free(&q);
		return (rc);
	}
	if ((o = show_parse(&q)) != NULL) {
		if ((ss = json_object_get(o, "sessions")) != NULL &&
		    json_is_array(ss)) {
			show_table(ss, cols, widths);
			rc = TERNCTL_EXIT_OK;
		} else
			fprintf(stderr, "ternctl: mqttd sent no sessions\n");
		json_decref(o);
	}
	query_free(&q);
	return (rc);
}

/* Prints every number under o as "prefix_key value", nested keys joined
 * with "_". */
static void
show_metric_lines(json_t *o, const char *prefix)
{
	const char	*k;
	json_t		*v;
	char		 name[512], cell[64];

	json_object_foreach(o, k, v) {
		if (prefix[0] != '\0')
			snprintf(name, sizeof(name), "%s_%s", prefix, k);
		else
			snprintf(name, sizeof(name), "%s", k);
		if (json_is_object(v))
			show_metric_lines(v, name);
		else if (json_is_number(v) || json_is_boolean(v)) {
			show_scalar(v, cell, sizeof(cell));
			if (json_is_boolean(v))
				snprintf(cell, sizeof(cell), "%d",
				    json_is_true(v) ? 1 : 0);
			printf("%s %s\n", name, cell);
		}
	}
}

int
show_metrics(const struct conf *c)
{
	struct query	 q[SHOW_NDAEMONS];
	json_t		*o;
	size_t		 i;
	int		 rc = TERNCTL_EXIT_OK;
	char		 prefix[32];

	for (i = 0; i < SHOW_NDAEMONS; i++)
		query_init_status(&q[i], c, show_daemons[i], "metrics", "");
	query_run(q, SHOW_NDAEMONS, TERNCTL_QUERY_MS);
	/* mqttd's counters keep their names; the others get their daemon's
	 * name as a prefix.  Only mqttd is required. */
	for (i = SHOW_NDAEMONS; i-- > 0; ) {
		bool	is_mqttd = strcmp(q[i].daemon, "mqttd") == 0;

		if (q[i].text == NULL && !is_mqttd) {
			query_free(&q[i]);
			continue;
		}
		if ((o = show_parse(&q[i])) == NULL) {
			if (is_mqttd)
				rc = TERNCTL_EXIT_FAIL;
			query_free(&q[i]);
			continue;
		}
		snprintf(prefix, sizeof(prefix), "%s", is_mqttd ? "" :
		    q[i].daemon);
		show_metric_lines(o, prefix);
		json_decref(o);
		query_free(&q[i]);
	}
	return (rc);
}

int
show_cluster_cmd(const struct conf *c, const struct ternctl_args *a)
{
	struct query	q;
	int		rc;

	if (a->cmd == TERNCTL_CLUSTER_JOIN)
		query_init_join(&q, c, a->node);
	else
		query_init_leave(&q, c, a->node, a->kill_sessions,
		    a->timeout_s, a->interval_s);
	/* A leave waits for the node's sessions to move: up to -t seconds,
	 * then the leader's grace (clusterd's MB_LEAVE_GRACE_MS). */
	query_run(&q, 1, a->cmd == TERNCTL_CLUSTER_JOIN ? TERNCTL_CLUSTER_MS :
	    TERNCTL_CLUSTER_MS + (int)a->timeout_s * 1000 + 120000);
	if (q.text == NULL) {
		fprintf(stderr, "ternctl: %s\n", q.err);
		rc = TERNCTL_EXIT_FAIL;
	} else if (q.rc != 0) {
		fprintf(stderr, "ternctl: %s\n", q.text);
		rc = TERNCTL_EXIT_FAIL;
	} else {
		printf("%s\n", q.text);
		rc = TERNCTL_EXIT_OK;
	}
	query_free(&q);
	return (rc);
}
