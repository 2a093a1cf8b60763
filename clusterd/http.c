/* SPDX-License-Identifier: MIT */
/*
 * The HTTP endpoint of listener.http.*: GET (or HEAD) /metrics and
 * /health on clusterd's libuv loop, one request per connection.
 *
 * Why by hand and not libmicrohttpd: the endpoint serves two fixed paths
 * to Prometheus and to probes, each of which opens a connection per
 * request; libmicrohttpd brings its own threads or its own select loop,
 * which would have to be bridged into Raft's libuv loop, for features
 * (keep-alive, chunking, bodies, TLS) this endpoint does not need.  What
 * is left is a strict parser of a request head (http_parse_request, unit
 * tested) and a few libuv callbacks.  Limits: HTTP_HEAD_MAX bytes of head,
 * HTTP_TIMEOUT_MS to send it and to take the answer, HTTP_MAX_CONNS at
 * once; request bodies are read and discarded, never buffered.  Every
 * answer has "Connection: close"; after writing it the server shuts down
 * its side and reads until the client closes (or HTTP_LINGER_MS), so that
 * unread input cannot turn the close into a reset that loses the answer.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define HTTP_BACKLOG	64

enum http_state {
	HTTP_READING,		/* the request head */
	HTTP_WRITING,		/* the answer */
	HTTP_LINGERING		/* answered; until the client's FIN */
};

struct http_conn {
	LIST_ENTRY(http_conn)	 entry;
	uv_tcp_t		 tcp;
	uv_timer_t		 timer;
	uv_write_t		 wreq;
	uv_shutdown_t		 sreq;
	enum http_state		 state;
	bool			 closing;
	bool			 peer_eof;
	int			 open_handles;
	size_t			 inlen;
	char			 in[HTTP_HEAD_MAX];
	struct buf		 out;
};

struct http_listener {
	LIST_ENTRY(http_listener) entry;
	uv_tcp_t		 tcp;
	char			 name[320];
};

static struct {
	struct clusterd		*cd;		/* borrowed */
	LIST_HEAD(, http_listener) listeners;
	LIST_HEAD(, http_conn)	 conns;
	size_t			 nconns;
	uint64_t		 refused;	/* over HTTP_MAX_CONNS */
} http;

/* Scratch for bytes read after the head: discarded. */
static char	http_discard[4096];

/* ------------------------------------------------------------ parsing */

static bool
is_http_tchar(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL));
}

/* The request line p[0..n) (no CR/LF). */
static enum http_parse
http_parse_line(const char *p, size_t n, struct http_req *req)
{
	size_t		 i = 0, m, t0, tn;
	const char	*t, *v;

	for (m = 0; i < n && is_http_tchar((unsigned char)p[i]); i++, m++)
		;
	if (m == 0 || m >= sizeof(req->method) || i >= n || p[i] != ' ')
		return (HTTP_PARSE_BAD);
	memcpy(req->method, p, m);
	req->method[m] = '\0';
	t0 = ++i;
	for (; i < n && p[i] != ' '; i++)
		if ((unsigned char)p[i] <= 0x20 ||
		    (unsigned char)p[i] >= 0x7f)
			return (HTTP_PARSE_BAD);
	tn = i - t0;
	if (tn == 0 || i >= n)
		return (HTTP_PARSE_BAD);
	/* "HTTP/" DIGIT "." DIGIT and nothing after it. */
	v = p + i + 1;
	if (n - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return (HTTP_PARSE_BAD);
	t = p + t0;
	/* absolute-form: drop the scheme and authority. */
	m = tn > 7 && strncmp(t, "http://", 7) == 0 ? 7 :
	    tn > 8 && strncmp(t, "https://", 8) == 0 ? 8 : 0;
	if (m > 0) {
		const char	*s = memchr(t + m, '/', tn - m);

		if (s == NULL) {
			t = "/";
			tn = 1;
		} else {
			tn -= (size_t)(s - t);
			t = s;
		}
	}
	if (!(t[0] == '/' || (tn == 1 && t[0] == '*')))
		return (HTTP_PARSE_BAD);
	for (m = 0; m < tn && t[m] != '?' && t[m] != '#'; m++)
		;
	if (m >= sizeof(req->path))
		return (HTTP_PARSE_URI_TOO_LONG);
	memcpy(req->path, t, m);
	req->path[m] = '\0';
	if (v[5] != '1')
		return (HTTP_PARSE_VERSION);
	req->minor = v[7] - '0';
	return (HTTP_PARSE_OK);
}

/* One header line p[0..n) (no CR/LF). */
static bool
is_http_header_ok(const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n && is_http_tchar((unsigned char)p[i]); i++)
		;
	if (i == 0 || i >= n || p[i] != ':')
		return (false);
	for (i++; i < n; i++)
		if (((unsigned char)p[i] < 0x20 && p[i] != '\t') ||
		    (unsigned char)p[i] == 0x7f)
			return (false);
	return (true);
}

enum http_parse
http_parse_request(const char *p, size_t len, struct http_req *req)
{
	const char	*nl;
	size_t		 off = 0, n;
	bool		 first = true;
	enum http_parse	 rc;

	memset(req, 0, sizeof(*req));
	/* Empty lines before the request line are allowed (RFC 9112). */
	while (off < len && (p[off] == '\r' || p[off] == '\n')) {
		if (p[off] == '\r' && off + 1 < len && p[off + 1] != '\n')
			return (HTTP_PARSE_BAD);
		off++;
	}
	for (;;) {
		if ((nl = memchr(p + off, '\n', len - off)) == NULL)
			break;
		n = (size_t)(nl - (p + off));
		if (n > 0 && p[off + n - 1] == '\r')
			n--;
		if (memchr(p + off, '\r', n) != NULL)
			return (HTTP_PARSE_BAD);
		if (first) {
			if ((rc = http_parse_line(p + off, n, req)) !=
			    HTTP_PARSE_OK)
				return (rc);
			first = false;
		} else if (n == 0) {
			req->head_len = (size_t)(nl - p) + 1;
			if (req->head_len > HTTP_HEAD_MAX)
				return (HTTP_PARSE_TOO_LARGE);
			return (HTTP_PARSE_OK);
		} else if (!is_http_header_ok(p + off, n))
			return (HTTP_PARSE_BAD);	/* also obs-fold */
		off = (size_t)(nl - p) + 1;
	}
	return (len >= HTTP_HEAD_MAX ? HTTP_PARSE_TOO_LARGE : HTTP_PARSE_MORE);
}

/* --------------------------------------------------------- answering */

static const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return ("OK");
	case 400:
		return ("Bad Request");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 414:
		return ("URI Too Long");
	case 431:
		return ("Request Header Fields Too Large");
	case 503:
		return ("Service Unavailable");
	case 505:
		return ("HTTP Version Not Supported");
	default:
		return ("Error");
	}
}

void
http_response(struct buf *out, int status, const char *ctype,
    const char *extra, const void *body, size_t bodylen, bool head_only)
{
	char	hdr[512];
	int	n;

	n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "%s\r\n", status, http_reason(status), ctype, bodylen,
	    extra != NULL ? extra : "");
	if (n < 0 || (size_t)n >= sizeof(hdr))
		fatalx("http: response head too long");
	buf_add(out, hdr, (size_t)n);
	if (!head_only && bodylen > 0)
		buf_add(out, body, bodylen);
}

static void
http_text(struct buf *out, int status, const char *extra, const char *text,
    bool head_only)
{
	http_response(out, status, "text/plain; charset=utf-8", extra, text,
	    strlen(text), head_only);
}

/* Fills c->out with the answer to req. */
static void
http_route(struct http_conn *c, const struct http_req *req)
{
	struct clusterd	*cd = http.cd;
	struct buf	 body = BUF_INIT;
	char		 why[256], line[300];
	bool		 head, ok;

	head = strcmp(req->method, "HEAD") == 0;
	if (strcmp(req->path, "/metrics") != 0 &&
	    strcmp(req->path, "/health") != 0) {
		http_text(&c->out, 404, NULL, "not found: try /metrics or "
		    "/health\n", head);
		return;
	}
	if (!head && strcmp(req->method, "GET") != 0) {
		http_text(&c->out, 405, "Allow: GET, HEAD\r\n",
		    "method not allowed: use GET\n", false);
		return;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		metrics_prometheus(cd, &body);
		http_response(&c->out, 200,
		    "text/plain; version=0.0.4; charset=utf-8", NULL,
		    body.data, body.len, head);
		buf_free(&body);
		return;
	}
	ok = is_metrics_healthy(cd, why, sizeof(why));
	snprintf(line, sizeof(line), "%s\n", why);
	http_text(&c->out, ok ? 200 : 503, NULL, line, head);
}

/* ------------------------------------------------------- connections */

static void
http_conn_closed_cb(uv_handle_t *h)
{
	struct http_conn	*c = h->data;

	if (--c->open_handles > 0)
		return;
	buf_free(&c->out);
	free(c);
}

static void
http_conn_close(struct http_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	LIST_REMOVE(c, entry);
	http.nconns--;
	uv_timer_stop(&c->timer);
	uv_close((uv_handle_t *)&c->timer, http_conn_closed_cb);
	uv_close((uv_handle_t *)&c->tcp, http_conn_closed_cb);
}

static void
http_timer_cb(uv_timer_t *t)
{
	struct http_conn	*c = t->data;

	if (c->state == HTTP_READING)
		log_debug("http: no complete request within %d ms",
		    HTTP_TIMEOUT_MS);
	http_conn_close(c);
}

static void
http_shutdown_cb(uv_shutdown_t *req, int status)
{
	struct http_conn	*c = req->data;

	if (status < 0 || c->peer_eof)
		http_conn_close(c);
}

static void
http_write_cb(uv_write_t *req, int status)
{
	struct http_conn	*c = req->data;
	int			 rv;

	if (status < 0 || c->closing) {
		http_conn_close(c);
		return;
	}
	c->state = HTTP_LINGERING;
	uv_timer_start(&c->timer, http_timer_cb, HTTP_LINGER_MS, 0);
	c->sreq.data = c;
	if ((rv = uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp,
	    http_shutdown_cb)) != 0)
		http_conn_close(c);
}

static void
http_answer(struct http_conn *c, enum http_parse pr,
    const struct http_req *req)
{
	uv_buf_t	ub;

	switch (pr) {
	case HTTP_PARSE_OK:
		http_route(c, req);
		break;
	case HTTP_PARSE_TOO_LARGE:
		http_text(&c->out, 431, NULL, "request head too large\n",
		    false);
		break;
	case HTTP_PARSE_URI_TOO_LONG:
		http_text(&c->out, 414, NULL, "path too long\n", false);
		break;
	case HTTP_PARSE_VERSION:
		http_text(&c->out, 505, NULL, "use HTTP/1.1\n", false);
		break;
	default:
		http_text(&c->out, 400, NULL, "bad request\n", false);
		break;
	}
	c->state = HTTP_WRITING;
	uv_timer_start(&c->timer, http_timer_cb, HTTP_TIMEOUT_MS, 0);
	ub = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
	c->wreq.data = c;
	if (uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &ub, 1,
	    http_write_cb) != 0)
		http_conn_close(c);
}

static void
http_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct http_conn	*c = h->data;

	if (c->state == HTTP_READING && c->inlen < sizeof(c->in))
		*b = uv_buf_init(c->in + c->inlen,
		    (unsigned)(sizeof(c->in) - c->inlen));
	else
		*b = uv_buf_init(http_discard, sizeof(http_discard));
}

static void
http_read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct http_conn	*c = s->data;
	struct http_req		 req;
	enum http_parse		 pr;

	if (c->closing || nread == 0)
		return;
	if (nread < 0) {
		/* A client may half-close once it has sent its request:
		 * the answer still goes out. */
		if (nread == UV_EOF && c->state == HTTP_WRITING) {
			c->peer_eof = true;
			uv_read_stop(s);
		} else
			http_conn_close(c);
		return;
	}
	if (c->state != HTTP_READING)
		return;		/* a body or more: discarded */
	c->inlen += (size_t)nread;
	pr = http_parse_request(c->in, c->inlen, &req);
	if (pr != HTTP_PARSE_MORE)
		http_answer(c, pr, &req);
}

static void
http_refused_closed_cb(uv_handle_t *h)
{
	free(h);
}

static void
http_accept_cb(uv_stream_t *server, int status)
{
	struct http_conn	*c;
	uv_tcp_t		*t;

	if (status < 0) {
		log_warnx("http: accept: %s", uv_strerror(status));
		return;
	}
	if (http.nconns >= HTTP_MAX_CONNS) {
		/* Take it off the backlog and close it at once. */
		t = xcalloc(1, sizeof(*t));
		uv_tcp_init(server->loop, t);
		if (uv_accept(server, (uv_stream_t *)t) == 0 &&
		    http.refused++ % 100 == 0)
			log_warnx("http: %d connections open, closing new "
			    "ones (%" PRIu64 " so far)", HTTP_MAX_CONNS,
			    http.refused);
		uv_close((uv_handle_t *)t, http_refused_closed_cb);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	buf_init(&c->out);
	uv_tcp_init(server->loop, &c->tcp);
	uv_timer_init(server->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->open_handles = 2;
	LIST_INSERT_HEAD(&http.conns, c, entry);
	http.nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		http_conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, http_timer_cb, HTTP_TIMEOUT_MS, 0);
	if (uv_read_start((uv_stream_t *)&c->tcp, http_alloc_cb,
	    http_read_cb) != 0)
		http_conn_close(c);
}

/* --------------------------------------------------------- listeners */

/* Resolves host ("" = any) at start-up (blocking is fine then). */
static int
http_resolve(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	struct addrinfo	 hints, *res = NULL;
	char		 sport[8];
	int		 rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(sport, sizeof(sport), "%u", (unsigned)port);
	if (host[0] == '\0')
		hints.ai_family = AF_INET;
	if ((rv = getaddrinfo(host[0] != '\0' ? host : NULL, sport, &hints,
	    &res)) != 0) {
		log_warnx("http: %s: %s", host, gai_strerror(rv));
		return (-1);
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return (0);
}

static void
http_listen(struct clusterd *cd, const struct conf_listener *cl)
{
	struct http_listener	*l;
	struct sockaddr_storage	 ss;
	int			 rv;

	l = xcalloc(1, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "listener.http.%s = %s:%u",
	    cl->name, cl->host[0] != '\0' ? cl->host : "0.0.0.0",
	    (unsigned)cl->port);
	if (http_resolve(cl->host, cl->port, &ss) == -1)
		fatalx("http: %s: cannot resolve the address", l->name);
	uv_tcp_init(cd->loop, &l->tcp);
	l->tcp.data = l;
	if ((rv = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0)) != 0 ||
	    (rv = uv_listen((uv_stream_t *)&l->tcp, HTTP_BACKLOG,
	    http_accept_cb)) != 0)
		fatalx("http: %s: %s", l->name, uv_strerror(rv));
	LIST_INSERT_HEAD(&http.listeners, l, entry);
	log_info("http: %s (/metrics, /health)", l->name);
}

void
http_start(struct clusterd *cd)
{
	int	i;
	bool	any = false;

	http.cd = cd;
	LIST_INIT(&http.listeners);
	LIST_INIT(&http.conns);
	for (i = 0; i < cd->conf.nlisteners; i++) {
		if (cd->conf.listeners[i].kind != CONF_LISTENER_HTTP)
			continue;
		http_listen(cd, &cd->conf.listeners[i]);
		any = true;
	}
	if (any)
		metrics_start(cd);
}

static void
http_listener_closed_cb(uv_handle_t *h)
{
	free(h->data);
}

void
http_stop(struct clusterd *cd)
{
	struct http_listener	*l;

	while ((l = LIST_FIRST(&http.listeners)) != NULL) {
		LIST_REMOVE(l, entry);
		uv_close((uv_handle_t *)&l->tcp, http_listener_closed_cb);
	}
	while (!LIST_EMPTY(&http.conns))
		http_conn_close(LIST_FIRST(&http.conns));
	metrics_stop(cd);
}

void
http_free(struct clusterd *cd)
{
	metrics_free(cd);
}
