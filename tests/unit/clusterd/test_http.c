/* SPDX-License-Identifier: MIT */
/* Unit tests of clusterd's HTTP request parser and response writer
 * (http.c) and of the Prometheus text formatter (metrics.c). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clusterd/clusterd.h"
#include "tests/unit/unit.h"

static enum http_parse
parse(const char *s, struct http_req *r)
{
	return (http_parse_request(s, strlen(s), r));
}

static void
test_http_parse_get(void)
{
	struct http_req	r;
	const char	*s = "GET /metrics HTTP/1.1\r\nHost: a:1\r\n"
			    "User-Agent: Prometheus/2.45\r\n"
			    "Accept: text/plain;version=0.0.4;q=1\r\n\r\n";

	CU_ASSERT_EQUAL(parse(s, &r), HTTP_PARSE_OK);
	CU_ASSERT_STRING_EQUAL(r.method, "GET");
	CU_ASSERT_STRING_EQUAL(r.path, "/metrics");
	CU_ASSERT_EQUAL(r.minor, 1);
	CU_ASSERT_EQUAL(r.head_len, strlen(s));
}

/* Every proper prefix of a request needs more; the whole one parses. */
static void
test_http_parse_incremental(void)
{
	struct http_req	r;
	const char	*s = "GET /health HTTP/1.0\r\nHost: x\r\n\r\n";
	size_t		 i, n = strlen(s);

	for (i = 0; i < n; i++)
		CU_ASSERT_EQUAL(http_parse_request(s, i, &r),
		    HTTP_PARSE_MORE);
	CU_ASSERT_EQUAL(http_parse_request(s, n, &r), HTTP_PARSE_OK);
	CU_ASSERT_EQUAL(r.minor, 0);
}

static void
test_http_parse_forms(void)
{
	struct http_req	r;
	const char	*body = "POST /x HTTP/1.1\r\nContent-Length: 3\r\n"
			    "\r\nabc";

	/* LF-only line ends and leading empty lines. */
	CU_ASSERT_EQUAL(parse("\r\n\nGET /health HTTP/1.1\nHost: x\n\n", &r),
	    HTTP_PARSE_OK);
	CU_ASSERT_STRING_EQUAL(r.path, "/health");
	/* The query string is not part of the path. */
	CU_ASSERT_EQUAL(parse("GET /metrics?x=1&y HTTP/1.1\r\n\r\n", &r),
	    HTTP_PARSE_OK);
	CU_ASSERT_STRING_EQUAL(r.path, "/metrics");
	/* absolute-form */
	CU_ASSERT_EQUAL(parse("GET http://h:8888/health HTTP/1.1\r\n\r\n",
	    &r), HTTP_PARSE_OK);
	CU_ASSERT_STRING_EQUAL(r.path, "/health");
	CU_ASSERT_EQUAL(parse("GET http://h:8888 HTTP/1.1\r\n\r\n", &r),
	    HTTP_PARSE_OK);
	CU_ASSERT_STRING_EQUAL(r.path, "/");
	CU_ASSERT_EQUAL(parse("OPTIONS * HTTP/1.1\r\n\r\n", &r),
	    HTTP_PARSE_OK);
	CU_ASSERT_STRING_EQUAL(r.path, "*");
	/* A later 1.x is read as 1.1's kin. */
	CU_ASSERT_EQUAL(parse("GET / HTTP/1.9\r\n\r\n", &r), HTTP_PARSE_OK);
	CU_ASSERT_EQUAL(r.minor, 9);
	/* head_len stops at the blank line; the body is not the head's. */
	CU_ASSERT_EQUAL(parse(body, &r), HTTP_PARSE_OK);
	CU_ASSERT_STRING_EQUAL(r.method, "POST");
	CU_ASSERT_EQUAL(r.head_len, strlen(body) - 3);
	/* Header values may hold tabs and bytes over 0x7f. */
	CU_ASSERT_EQUAL(parse("GET / HTTP/1.1\r\nX:\ta\xc3\xa9\r\n\r\n", &r),
	    HTTP_PARSE_OK);
}

static void
test_http_parse_bad(void)
{
	static const char *const bad[] = {
		"BLAH\r\n\r\n",
		"GET\r\n\r\n",
		"GET /\r\n\r\n",
		"GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1 \r\n\r\n",
		"GET / HTTP/1.10\r\n\r\n",
		"GET / HTTP/1\r\n\r\n",
		"GET / http/1.1\r\n\r\n",
		"G(T / HTTP/1.1\r\n\r\n",
		"GET x HTTP/1.1\r\n\r\n",
		"GET /a\x01 HTTP/1.1\r\n\r\n",
		"GET /a\x7f HTTP/1.1\r\n\r\n",
		"GET /\xc3\xa9 HTTP/1.1\r\n\r\n",
		"GETTINGVERYLONGMETHOD / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nno colon\r\n\r\n",
		"GET / HTTP/1.1\r\n: empty name\r\n\r\n",
		"GET / HTTP/1.1\r\nHo st: x\r\n\r\n",
		"GET / HTTP/1.1\r\nHost : x\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\x01\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\rc\r\n\r\n",
		"\rGET / HTTP/1.1\r\n\r\n",
		NULL
	};
	struct http_req	r;
	size_t		i;

	for (i = 0; bad[i] != NULL; i++) {
		if (parse(bad[i], &r) != HTTP_PARSE_BAD)
			fprintf(stderr, "\n  not rejected: %s", bad[i]);
		CU_ASSERT_EQUAL(parse(bad[i], &r), HTTP_PARSE_BAD);
	}
	/* A NUL in the path (strlen would hide it). */
	{
		static const char	nul[] = "GET /a\0b HTTP/1.1\r\n\r\n";

		CU_ASSERT_EQUAL(http_parse_request(nul, sizeof(nul) - 1, &r),
		    HTTP_PARSE_BAD);
	}
	/* A bad request line is refused before the head is complete. */
	CU_ASSERT_EQUAL(parse("XX YY\r\nHost: x\r\n", &r), HTTP_PARSE_BAD);
	CU_ASSERT_EQUAL(parse("GET / HTTP/2.0\r\n\r\n", &r),
	    HTTP_PARSE_VERSION);
	CU_ASSERT_EQUAL(parse("GET / HTTP/0.9\r\n\r\n", &r),
	    HTTP_PARSE_VERSION);
}

static void
test_http_parse_limits(void)
{
	struct http_req	r;
	char		*big;
	size_t		 n;

	/* The longest path fits; one more byte is 414. */
	big = malloc(HTTP_HEAD_MAX + 64);
	memcpy(big, "GET /", 5);
	memset(big + 5, 'a', HTTP_PATH_MAX - 2);
	n = 5 + HTTP_PATH_MAX - 2;
	memcpy(big + n, " HTTP/1.1\r\n\r\n", 14);
	CU_ASSERT_EQUAL(parse(big, &r), HTTP_PARSE_OK);
	CU_ASSERT_EQUAL(strlen(r.path), HTTP_PATH_MAX - 1);
	big[n] = 'a';
	memcpy(big + n + 1, " HTTP/1.1\r\n\r\n", 14);
	CU_ASSERT_EQUAL(parse(big, &r), HTTP_PARSE_URI_TOO_LONG);

	/* A head of HTTP_HEAD_MAX bytes without its end is too large; one
	 * that ends within the limit is fine. */
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'b', HTTP_HEAD_MAX - 19);
	CU_ASSERT_EQUAL(http_parse_request(big, HTTP_HEAD_MAX - 1, &r),
	    HTTP_PARSE_MORE);
	CU_ASSERT_EQUAL(http_parse_request(big, HTTP_HEAD_MAX, &r),
	    HTTP_PARSE_TOO_LARGE);
	memcpy(big + HTTP_HEAD_MAX - 4, "\r\n\r\n", 4);
	CU_ASSERT_EQUAL(http_parse_request(big, HTTP_HEAD_MAX, &r),
	    HTTP_PARSE_OK);
	CU_ASSERT_EQUAL(r.head_len, HTTP_HEAD_MAX);
	free(big);
}

static char *
buf_str(struct buf *b)
{
	buf_add_u8(b, '\0');
	return ((char *)b->data);
}

static void
test_http_response(void)
{
	struct buf	b = BUF_INIT;

	http_response(&b, 405, "text/plain", "Allow: GET, HEAD\r\n", "no\n",
	    3, false);
	CU_ASSERT_STRING_EQUAL(buf_str(&b),
	    "HTTP/1.1 405 Method Not Allowed\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 3\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "Allow: GET, HEAD\r\n"
	    "\r\n"
	    "no\n");
	buf_reset(&b);
	/* HEAD: the length of the body GET would get, and no body. */
	http_response(&b, 200, "text/plain", NULL, "ok\n", 3, true);
	CU_ASSERT_STRING_EQUAL(buf_str(&b),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 3\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "\r\n");
	buf_free(&b);
}

static void
test_metrics_escape(void)
{
	struct buf	b = BUF_INIT;

	metrics_family(&b, "tern_x", "gauge", "a \\ b\nc \"q\"");
	metrics_sample(&b, "tern_x", "node", "n\"1\\\n", -3);
	metrics_sample(&b, "tern_x", NULL, NULL, INT64_MAX);
	CU_ASSERT_STRING_EQUAL(buf_str(&b),
	    "# HELP tern_x a \\\\ b\\nc \"q\"\n"
	    "# TYPE tern_x gauge\n"
	    "tern_x{node=\"n\\\"1\\\\\\n\"} -3\n"
	    "tern_x 9223372036854775807\n");
	buf_free(&b);
}

/* True when text has the line `line` (whole). */
static bool
has_line(const char *text, const char *line)
{
	size_t		 n = strlen(line);
	const char	*p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return (true);
		p++;
	}
	return (false);
}

static void
test_metrics_object_mqttd(void)
{
	static const char *const gauges[] = { "connections", NULL };
	struct metrics_map	 map = { "mqttd", true, gauges };
	struct buf		 b = BUF_INIT;
	json_t			*o;
	char			*t;

	o = json_loads("{\"connections\": 3, \"messages_in\": 7,"
	    "\"x_total\": 1, \"q\": {\"len\": 2}, \"s\": \"str\","
	    "\"b\": true, \"a-b.c\": 4, \"r\": 1.5, \"l\": [1]}", 0, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	metrics_format_object(&b, &map, o);
	t = buf_str(&b);
	CU_ASSERT_TRUE(has_line(t, "# TYPE tern_mqttd_connections gauge"));
	CU_ASSERT_TRUE(has_line(t, "tern_mqttd_connections 3"));
	CU_ASSERT_TRUE(has_line(t,
	    "# TYPE tern_mqttd_messages_in_total counter"));
	CU_ASSERT_TRUE(has_line(t, "tern_mqttd_messages_in_total 7"));
	CU_ASSERT_TRUE(has_line(t,
	    "# HELP tern_mqttd_messages_in_total mqttd counter; "
	    "ternctl metrics show: messages_in"));
	/* No "_total_total". */
	CU_ASSERT_TRUE(has_line(t, "tern_mqttd_x_total 1"));
	CU_ASSERT_PTR_NULL(strstr(t, "_total_total"));
	/* Nested keys joined with "_", as ternctl prints them. */
	CU_ASSERT_TRUE(has_line(t, "tern_mqttd_q_len_total 2"));
	/* Booleans are 0/1 gauges; strings and arrays are left out. */
	CU_ASSERT_TRUE(has_line(t, "# TYPE tern_mqttd_b gauge"));
	CU_ASSERT_TRUE(has_line(t, "tern_mqttd_b 1"));
	CU_ASSERT_PTR_NULL(strstr(t, "tern_mqttd_s"));
	CU_ASSERT_PTR_NULL(strstr(t, "tern_mqttd_l"));
	/* Names keep to [a-zA-Z0-9_:]. */
	CU_ASSERT_TRUE(has_line(t, "tern_mqttd_a_b_c_total 4"));
	CU_ASSERT_TRUE(has_line(t, "tern_mqttd_r_total 1.5"));
	json_decref(o);
	buf_free(&b);
}

static void
test_metrics_object_storaged(void)
{
	struct metrics_map	 map = { "storaged", false, NULL };
	struct buf		 b = BUF_INIT;
	json_t			*o;
	char			*t;

	o = json_pack("{s:i, s:i}", "storaged_commits_total", 12,
	    "storaged_disk_bytes", 4096);
	metrics_format_object(&b, &map, o);
	t = buf_str(&b);
	/* The daemon's own prefix is not doubled. */
	CU_ASSERT_TRUE(has_line(t,
	    "# TYPE tern_storaged_commits_total counter"));
	CU_ASSERT_TRUE(has_line(t, "tern_storaged_commits_total 12"));
	CU_ASSERT_TRUE(has_line(t, "# TYPE tern_storaged_disk_bytes gauge"));
	CU_ASSERT_TRUE(has_line(t, "tern_storaged_disk_bytes 4096"));
	CU_ASSERT_TRUE(has_line(t,
	    "# HELP tern_storaged_disk_bytes storaged gauge; "
	    "ternctl metrics show: storaged_storaged_disk_bytes"));
	json_decref(o);
	buf_free(&b);
}

static json_t *
cluster_of(const char *cid, const char *role_of_1)
{
	return (json_pack("{s:s, s:[{s:s, s:b, s:b, s:s, s:s, s:s},"
	    "{s:s, s:b, s:b, s:s, s:s, s:s}]}", "cluster_id", cid, "nodes",
	    "name", "a@h", "running", 1, "leader", 1, "state", "up",
	    "role", role_of_1, "id", "0000000000000001",
	    "name", "b\"@h", "running", 0, "leader", 0, "state", "leaving",
	    "role", "voter", "id", "00000000000000ab"));
}

static void
test_metrics_joined(void)
{
	json_t	*c;

	c = cluster_of("c1", "voter");
	CU_ASSERT_TRUE(is_metrics_joined(c, 1));
	CU_ASSERT_TRUE(is_metrics_joined(c, 0xab));
	CU_ASSERT_FALSE(is_metrics_joined(c, 2));
	json_decref(c);
	c = cluster_of("c1", "none");
	CU_ASSERT_FALSE(is_metrics_joined(c, 1));
	json_decref(c);
	c = cluster_of("", "voter");
	CU_ASSERT_FALSE(is_metrics_joined(c, 1));
	json_decref(c);
	c = json_object();
	CU_ASSERT_FALSE(is_metrics_joined(c, 1));
	json_decref(c);
}

static void
test_metrics_format_page(void)
{
	struct metrics_input	 in = { 0 };
	struct buf		 b = BUF_INIT;
	char			*t;

	in.clusterd = json_pack("{s:i, s:i}", "raft_term", 5,
	    "link_frames_in", 9);
	in.cluster = cluster_of("c1", "voter");
	in.storaged = json_pack("{s:i}", "storaged_appends_total", 3);
	in.mqttd = NULL;	/* did not answer */
	in.nodename = "a@h";
	in.node_id = 1;
	metrics_format(&b, &in);
	t = buf_str(&b);
	CU_ASSERT_TRUE(has_line(t, "tern_daemon_up{daemon=\"clusterd\"} 1"));
	CU_ASSERT_TRUE(has_line(t, "tern_daemon_up{daemon=\"mqttd\"} 0"));
	CU_ASSERT_TRUE(has_line(t, "tern_daemon_up{daemon=\"storaged\"} 1"));
	CU_ASSERT_PTR_NULL(strstr(t, "tern_mqttd_"));
	CU_ASSERT_TRUE(has_line(t, "tern_cluster_joined 1"));
	CU_ASSERT_TRUE(has_line(t, "tern_cluster_node_up{node=\"a@h\"} 1"));
	CU_ASSERT_TRUE(has_line(t,
	    "tern_cluster_node_up{node=\"b\\\"@h\"} 0"));
	CU_ASSERT_TRUE(has_line(t,
	    "tern_cluster_node_leader{node=\"a@h\"} 1"));
	CU_ASSERT_TRUE(has_line(t,
	    "tern_cluster_node_leaving{node=\"b\\\"@h\"} 1"));
	CU_ASSERT_TRUE(has_line(t, "# TYPE tern_clusterd_raft_term gauge"));
	CU_ASSERT_TRUE(has_line(t, "tern_clusterd_raft_term 5"));
	CU_ASSERT_TRUE(has_line(t,
	    "# TYPE tern_clusterd_link_frames_in_total counter"));
	CU_ASSERT_TRUE(has_line(t, "tern_storaged_appends_total 3"));
	/* One TYPE line per family, even with several samples. */
	CU_ASSERT_PTR_NULL(strstr(strstr(t,
	    "# TYPE tern_cluster_node_up ") + 1,
	    "# TYPE tern_cluster_node_up "));
	json_decref(in.clusterd);
	json_decref(in.cluster);
	json_decref(in.storaged);
	buf_free(&b);
}

int
main(void)
{
	static const struct unit_test	tests[] = {
		UNIT_TEST(test_http_parse_get),
		UNIT_TEST(test_http_parse_incremental),
		UNIT_TEST(test_http_parse_forms),
		UNIT_TEST(test_http_parse_bad),
		UNIT_TEST(test_http_parse_limits),
		UNIT_TEST(test_http_response),
		UNIT_TEST(test_metrics_escape),
		UNIT_TEST(test_metrics_object_mqttd),
		UNIT_TEST(test_metrics_object_storaged),
		UNIT_TEST(test_metrics_joined),
		UNIT_TEST(test_metrics_format_page),
		UNIT_END
	};

	return (unit_run("clusterd_http", tests));
}
