/* SPDX-License-Identifier: MIT */
/*
 * Discovery on a node's first start (data_dir holds no membership): finds
 * the seeds (discovery = static, dns or k8s), asks each over its link
 * whether it is in a cluster (the cluster id in its pongs), then joins that
 * cluster, or bootstraps one if this node is the one every node picks and
 * no seed answers with a cluster within a bounded window.  Rules, and why,
 * in docs/clustering.md ("Discovery").  DNS lookups run on libuv's thread
 * pool (getaddrinfo, or res_nquery for TERN_DNS_SERVER): never on the loop.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc_msg.h"

#define DISC_STEP_MS		100
#define DISC_WINDOW_MS		3000	/* bootstrapper waits */
#define DISC_SETTLE_MS		500	/* ... or this, all answered */
#define DISC_LOG_MS		5000	/* "waiting for ..." lines */
#define DISC_RESOLVE_MIN_MS	500
#define DISC_RESOLVE_MAX_MS	5000
#define DISC_RETRY_MS		1000	/* after a failed join */
#define DISC_MAX_SEEDS		64
#define DISC_MAX_NAMES		8
#define DISC_MAX_ADDRS		32	/* per name */
#define DISC_K8S_PROBE		4	/* ordinals after the seed's */

enum disc_lk_rc { DISC_LK_OK, DISC_LK_NONAME, DISC_LK_AGAIN };

/* A DNS name to resolve, each address with port. */
struct disc_name {
	char		 host[256];
	uint16_t	 port;
	bool		 is_seed;	/* k8s: the seed pod's own name */
};

/* One lookup on the thread pool; owned by the loop once done. */
struct disc_lookup {
	uv_work_t		 work;
	struct discovery	*d;
	struct disc_name	 name;
	struct sockaddr_in	 server;	/* port 0: none */
	enum disc_lk_rc		 rc;
	char			 err[256];
	char			 addrs[DISC_MAX_ADDRS][DISCOVERY_ADDR_MAX];
	size_t			 naddrs;
};

struct disc_seed {
	char		 address[DISCOVERY_ADDR_MAX];
	bool		 is_seed;	/* k8s: the seed pod */
};

struct discovery {
	struct clusterd		*cd;
	uv_timer_t		 timer;
	bool			 active;	/* discovery runs */
	bool			 joining;	/* membership is joining */
	bool			 done;
	bool			 stopped;
	char			 self[DISCOVERY_ADDR_MAX];
	uint16_t		 port;		/* of cluster.advertise */
	struct sockaddr_in	 server;	/* TERN_DNS_SERVER */

	/* k8s */
	bool			 k8s_seed;	/* this pod is the seed */
	char			 seed_host[256];

	/* names to resolve (dns, k8s); static has none */
	struct disc_name	 names[DISC_MAX_NAMES];
	size_t			 nnames;
	int			 pending;	/* lookups out */
	size_t			 rounds;
	struct disc_seed	 next[DISC_MAX_SEEDS];
	size_t			 nnext;
	bool			 round_noname;
	bool			 round_again;
	char			 round_err[600];
	uint64_t		 next_resolve;
	uint64_t		 backoff;
	bool			 resolved;

	/* the seeds now */
	struct disc_seed	 seeds[DISC_MAX_SEEDS];
	size_t			 nseeds;
	char			 bootstrapper[DISCOVERY_ADDR_MAX];
	bool			 i_bootstrap;
	bool			 self_warned;
	uint64_t		 started;
	uint64_t		 changed_at;
	uint64_t		 last_log;
	uint64_t		 retry_at;
	char			 why[1024];
	char			 join_via[DISCOVERY_ADDR_MAX];
};

/* ------------------------------------------------------- pure parts */

/* Host part of a canonical address, and its numeric form. */
static int
disc_addr_key(const char *a, int *kind, uint8_t bytes[16], char *host,
    size_t hostlen, uint16_t *port)
{
	char	err[256];

	if (conf_split_hostport(a, host, hostlen, port, err,
	    sizeof(err)) == -1)
		return (-1);
	if (inet_pton(AF_INET, host, bytes) == 1)
		*kind = 0;
	else if (inet_pton(AF_INET6, host, bytes) == 1)
		*kind = 1;
	else
		*kind = 2;
	return (0);
}

int
discovery_canon(const char *s, uint16_t defport, char *out, size_t outlen)
{
	char		 host[256], tmp[300], err[256];
	uint8_t		 bytes[16];
	uint16_t	 port = 0;
	size_t		 i, n;
	bool		 v6;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return (-1);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* A bare host (or a bare IPv6 address) takes defport. */
	v6 = tmp[0] != '[' && strchr(tmp, ':') != strrchr(tmp, ':');
	if (v6 || (tmp[0] != '[' && strchr(tmp, ':') == NULL)) {
		if (defport == 0 || strlen(tmp) >= sizeof(host))
			return (-1);
		snprintf(host, sizeof(host), "%s", tmp);
		port = defport;
	} else if (conf_split_hostport(tmp, host, sizeof(host), &port, err,
	    sizeof(err)) == -1)
		return (-1);
	if (host[0] == '\0' || port == 0)
		return (-1);
	if (inet_pton(AF_INET, host, bytes) == 1) {
		inet_ntop(AF_INET, bytes, host, sizeof(host));
		snprintf(out, outlen, "%s:%u", host, port);
	} else if (inet_pton(AF_INET6, host, bytes) == 1) {
		inet_ntop(AF_INET6, bytes, host, sizeof(host));
		snprintf(out, outlen, "[%s]:%u", host, port);
	} else {
		for (i = 0; host[i] != '\0'; i++) {
			if (!isalnum((unsigned char)host[i]) &&
			    host[i] != '-' && host[i] != '.' && host[i] != '_')
				return (-1);
			host[i] = (char)tolower((unsigned char)host[i]);
		}
		snprintf(out, outlen, "%s:%u", host, port);
	}
	return (0);
}

int
discovery_addr_cmp(const char *a, const char *b)
{
	char		 ha[256], hb[256];
	uint8_t		 ba[16] = { 0 }, bb[16] = { 0 };
	uint16_t	 pa = 0, pb = 0;
	int		 ka = 3, kb = 3, c;

	if (disc_addr_key(a, &ka, ba, ha, sizeof(ha), &pa) == -1 ||
	    disc_addr_key(b, &kb, bb, hb, sizeof(hb), &pb) == -1)
		return (strcmp(a, b));
	if (ka != kb)
		return (ka < kb ? -1 : 1);
	if (ka == 2)
		c = strcmp(ha, hb);
	else
		c = memcmp(ba, bb, ka == 0 ? 4 : 16);
	if (c != 0)
		return (c);
	return (pa < pb ? -1 : pa > pb ? 1 : 0);
}

int
discovery_parse_seeds(const char *list, char (*out)[DISCOVERY_ADDR_MAX],
    size_t max, char *err, size_t errlen)
{
	char		 one[DISCOVERY_ADDR_MAX], canon[DISCOVERY_ADDR_MAX];
	const char	*p = list, *e;
	size_t		 n = 0, i, len;

	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		e = p + strcspn(p, ", \t");
		len = (size_t)(e - p);
		if (len >= sizeof(one)) {
			snprintf(err, errlen, "seed \"%.40s...\" is too long",
			    p);
			return (-1);
		}
		memcpy(one, p, len);
		one[len] = '\0';
		p = e;
		if (discovery_canon(one, 0, canon, sizeof(canon)) == -1) {
			snprintf(err, errlen, "seed \"%s\" is not host:port",
			    one);
			return (-1);
		}
		for (i = 0; i < n; i++)
			if (strcmp(out[i], canon) == 0)
				break;
		if (i < n)
			continue;
		if (n == max) {
			snprintf(err, errlen, "more than %zu seeds", max);
			return (-1);
		}
		snprintf(out[n++], DISCOVERY_ADDR_MAX, "%s", canon);
	}
	if (n == 0) {
		snprintf(err, errlen, "the seed list is empty");
		return (-1);
	}
	return ((int)n);
}

int
discovery_k8s_hostname(const char *hostname, char *name, size_t namelen,
    long *ordinal, char *domain, size_t domainlen)
{
	const char	*dot = strchr(hostname, '.'), *dash, *p;
	size_t		 shortlen = dot ? (size_t)(dot - hostname) :
			    strlen(hostname);
	char		 shortname[256];
	char		*end;

	if (shortlen == 0 || shortlen >= sizeof(shortname))
		return (-1);
	memcpy(shortname, hostname, shortlen);
	shortname[shortlen] = '\0';
	if ((dash = strrchr(shortname, '-')) == NULL || dash == shortname ||
	    dash[1] == '\0')
		return (-1);
	for (p = dash + 1; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return (-1);
	if ((size_t)(dash - shortname) >= namelen)
		return (-1);
	errno = 0;
	*ordinal = strtol(dash + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return (-1);
	memcpy(name, shortname, dash - shortname);
	name[dash - shortname] = '\0';
	snprintf(domain, domainlen, "%s", dot ? dot + 1 : "");
	return (0);
}

/* ---------------------------------------------------------- lookups */

static void
disc_lk_add(struct disc_lookup *lk, int family, const void *addr)
{
	char	 host[INET6_ADDRSTRLEN], a[DISCOVERY_ADDR_MAX];
	size_t	 i;

	if (inet_ntop(family, addr, host, sizeof(host)) == NULL)
		return;
	if (family == AF_INET6)
		snprintf(a, sizeof(a), "[%s]:%u", host, lk->name.port);
	else
		snprintf(a, sizeof(a), "%s:%u", host, lk->name.port);
	for (i = 0; i < lk->naddrs; i++)
		if (strcmp(lk->addrs[i], a) == 0)
			return;
	if (lk->naddrs < DISC_MAX_ADDRS)
		snprintf(lk->addrs[lk->naddrs++], DISCOVERY_ADDR_MAX, "%s", a);
}

/* The system's resolver (thread pool). */
static void
disc_lookup_gai(struct disc_lookup *lk)
{
	struct addrinfo	 hints = { 0 }, *res = NULL, *ai;
	int		 rv;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rv = getaddrinfo(lk->name.host, NULL, &hints, &res);
	if (rv == EAI_NONAME || rv == EAI_NODATA) {
		lk->rc = DISC_LK_NONAME;
		snprintf(lk->err, sizeof(lk->err), "%s", gai_strerror(rv));
		return;
	}
	if (rv != 0) {
		lk->rc = DISC_LK_AGAIN;
		snprintf(lk->err, sizeof(lk->err), "%s", rv == EAI_SYSTEM ?
		    strerror(errno) : gai_strerror(rv));
		return;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET)
			disc_lk_add(lk, AF_INET, &((struct sockaddr_in *)
			    ai->ai_addr)->sin_addr);
		else if (ai->ai_family == AF_INET6)
			disc_lk_add(lk, AF_INET6, &((struct sockaddr_in6 *)
			    ai->ai_addr)->sin6_addr);
	}
	freeaddrinfo(res);
	lk->rc = lk->naddrs > 0 ? DISC_LK_OK : DISC_LK_NONAME;
}

/*
 * TERN_DNS_SERVER=IPv4:PORT (tests): A and AAAA queries to that server
 * with glibc's resolver (res_nquery on a private res_state whose name
 * server we set, which also takes a port) and its parser (ns_parserr).
 */
static void
disc_lookup_res(struct disc_lookup *lk)
{
	static const int	 types[2] = { ns_t_a, ns_t_aaaa };
	struct __res_state	 st;
	unsigned char		 ans[4096];
	ns_msg			 msg;
	ns_rr			 rr;
	int			 i, n, t, again = 0;

	memset(&st, 0, sizeof(st));
	if (res_ninit(&st) != 0) {
		lk->rc = DISC_LK_AGAIN;
		snprintf(lk->err, sizeof(lk->err), "res_ninit failed");
		return;
	}
	st.nsaddr_list[0] = lk->server;
	st.nscount = 1;
	st.retrans = 1;
	st.retry = 2;
	for (t = 0; t < 2; t++) {
		n = res_nquery(&st, lk->name.host, ns_c_in, types[t], ans,
		    sizeof(ans));
		if (n < 0) {
			if (st.res_h_errno != HOST_NOT_FOUND &&
			    st.res_h_errno != NO_DATA) {
				again++;
				snprintf(lk->err, sizeof(lk->err), "%s",
				    hstrerror(st.res_h_errno));
			} else if (lk->err[0] == '\0')
				snprintf(lk->err, sizeof(lk->err), "%s",
				    hstrerror(st.res_h_errno));
			continue;
		}
		if (ns_initparse(ans, n, &msg) == -1)
			continue;
		for (i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
			if (ns_parserr(&msg, ns_s_an, i, &rr) == -1)
				break;
			if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
				disc_lk_add(lk, AF_INET, ns_rr_rdata(rr));
			else if (ns_rr_type(rr) == ns_t_aaaa &&
			    ns_rr_rdlen(rr) == 16)
				disc_lk_add(lk, AF_INET6, ns_rr_rdata(rr));
		}
	}
	res_nclose(&st);
	if (lk->naddrs > 0)
		lk->rc = DISC_LK_OK;
	else
		lk->rc = again ? DISC_LK_AGAIN : DISC_LK_NONAME;
}

static void
disc_lookup_work(uv_work_t *w)
{
	struct disc_lookup	*lk = w->data;

	if (lk->server.sin_port != 0)
		disc_lookup_res(lk);
	else
		disc_lookup_gai(lk);
}

static int
disc_seed_cmp(const void *a, const void *b)
{
	return (discovery_addr_cmp(((const struct disc_seed *)a)->address,
	    ((const struct disc_seed *)b)->address));
}

static void
disc_next_add(struct discovery *d, const char *address, bool is_seed)
{
	size_t	i;

	for (i = 0; i < d->nnext; i++) {
		if (strcmp(d->next[i].address, address) == 0) {
			d->next[i].is_seed |= is_seed;
			return;
		}
	}
	if (d->nnext == DISC_MAX_SEEDS)
		return;
	snprintf(d->next[d->nnext].address, DISCOVERY_ADDR_MAX, "%s",
	    address);
	d->next[d->nnext++].is_seed = is_seed;
}

static bool
disc_has_self(const struct discovery *d)
{
	size_t	i;

	for (i = 0; i < d->nseeds; i++)
		if (strcmp(d->seeds[i].address, d->self) == 0)
			return (true);
	return (false);
}

/* A new set of seeds: who bootstraps, and a fresh window for answers. */
static void
disc_set_seeds(struct discovery *d, const struct disc_seed *s, size_t n)
{
	struct clusterd	*cd = d->cd;
	char		 list[1024] = "";
	size_t		 i, len;

	if (n == d->nseeds && memcmp(s, d->seeds, n * sizeof(*s)) == 0)
		return;
	memcpy(d->seeds, s, n * sizeof(*s));
	d->nseeds = n;
	d->changed_at = uv_now(cd->loop);
	for (i = 0; i < n; i++) {
		len = strlen(list);
		snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
		    s[i].address);
		if (strcmp(s[i].address, d->self) != 0)
			link_peer_get(cd, s[i].address);
	}
	if (cd->conf.discovery == CONF_DISCOVERY_K8S) {
		d->i_bootstrap = d->k8s_seed;
		snprintf(d->bootstrapper, sizeof(d->bootstrapper), "%s",
		    d->seed_host);
	} else {
		/* The lowest address among the seeds (sorted): only a node
		 * that is itself a seed can be it. */
		snprintf(d->bootstrapper, sizeof(d->bootstrapper), "%s",
		    n > 0 ? s[0].address : "");
		d->i_bootstrap = n > 0 && strcmp(s[0].address, d->self) == 0;
		if (!disc_has_self(d) && !d->self_warned) {
			d->self_warned = true;
			log_warnx("discovery: this node's cluster.advertise %s "
			    "is not among the seeds: it only joins, it never "
			    "bootstraps a cluster", d->self);
		}
	}
	log_info("discovery: seeds: %s (bootstrapper: %s%s)", n ? list :
	    "none", d->bootstrapper[0] ? d->bootstrapper : "none yet",
	    d->i_bootstrap ? ", this node" : "");
}

static void
disc_round_end(struct discovery *d)
{
	struct clusterd	*cd = d->cd;
	uint64_t	 now = uv_now(cd->loop);

	d->rounds++;
	if (cd->conf.discovery == CONF_DISCOVERY_DNS && d->rounds == 1 &&
	    d->round_noname && d->nnext == 0)
		fatalx("discovery: discovery.dns.name %s does not resolve "
		    "(%s); this node will not start a cluster of its own: "
		    "fix the name or its DNS records", d->names[0].host,
		    d->round_err);
	if (d->nnext > 0 || !d->round_again) {
		qsort(d->next, d->nnext, sizeof(d->next[0]), disc_seed_cmp);
		disc_set_seeds(d, d->next, d->nnext);
		d->resolved = true;
	}
	if (d->round_again || d->round_noname)
		log_debug("discovery: lookup: %s", d->round_err);
	d->backoff = d->backoff == 0 ? DISC_RESOLVE_MIN_MS :
	    d->backoff * 2 > DISC_RESOLVE_MAX_MS ? DISC_RESOLVE_MAX_MS :
	    d->backoff * 2;
	d->next_resolve = now + d->backoff;
}

static void
disc_lookup_done(uv_work_t *w, int status)
{
	struct disc_lookup	*lk = w->data;
	struct discovery	*d = lk->d;
	size_t			 i;

	d->pending--;
	if (!d->stopped && status == 0) {
		for (i = 0; i < lk->naddrs; i++)
			disc_next_add(d, lk->addrs[i], lk->name.is_seed);
		if (lk->rc != DISC_LK_OK) {
			if (lk->rc == DISC_LK_NONAME)
				d->round_noname = true;
			else
				d->round_again = true;
			snprintf(d->round_err, sizeof(d->round_err),
			    "%s: %s", lk->name.host, lk->err);
		}
	}
	free(lk);
	if (d->pending == 0 && !d->stopped)
		disc_round_end(d);
}

static void
disc_resolve(struct discovery *d)
{
	struct disc_lookup	*lk;
	size_t			 i;

	d->nnext = 0;
	d->round_noname = d->round_again = false;
	d->round_err[0] = '\0';
	for (i = 0; i < d->nnames; i++) {
		lk = xcalloc(1, sizeof(*lk));
		lk->d = d;
		lk->name = d->names[i];
		lk->server = d->server;
		lk->work.data = lk;
		if (uv_queue_work(d->cd->loop, &lk->work, disc_lookup_work,
		    disc_lookup_done) != 0) {
			free(lk);
			continue;
		}
		d->pending++;
	}
	if (d->pending == 0)
		disc_round_end(d);
}

/* -------------------------------------------------------- decisions */

/* Says what discovery waits for, in the log every DISC_LOG_MS. */
static void
disc_wait(struct discovery *d, uint64_t now)
{
	if (d->last_log != 0 && now - d->last_log < DISC_LOG_MS)
		return;
	d->last_log = now;
	log_info("discovery: waiting: %s", d->why);
}

static void
disc_join(struct discovery *d, const char *via, const char *id)
{
	struct clusterd	*cd = d->cd;

	if (membership_discovery_join(cd, via, id) == -1) {
		d->retry_at = uv_now(cd->loop) + DISC_RETRY_MS;
		return;
	}
	snprintf(d->join_via, sizeof(d->join_via), "%s", via);
	snprintf(d->why, sizeof(d->why), "joining cluster %s through %s", id,
	    via);
	log_info("discovery: %s answers with cluster %s: joining it", via, id);
	d->joining = true;
}

static void
disc_decide(struct discovery *d, uint64_t now)
{
	struct clusterd		*cd = d->cd;
	const char		*stored = membership_stored_id(cd);
	struct link_peer	*p, *pick = NULL, *seedpod = NULL;
	const char		*best = NULL, *foreign = NULL;
	size_t			 i, j, others = 0, up = 0, cnt;
	size_t			 bestcnt = 0;
	uint64_t		 waited = now - d->changed_at;

	for (i = 0; i < d->nseeds; i++) {
		if (strcmp(d->seeds[i].address, d->self) == 0)
			continue;
		p = link_peer_get(cd, d->seeds[i].address);
		if (p != NULL && p->node_id == cd->node_id)
			continue;	/* ourselves, by another address */
		others++;
		if (d->seeds[i].is_seed)
			seedpod = p;
		if (p == NULL || !link_is_up(p))
			continue;
		up++;
		if (p->cluster_id[0] == '\0')
			continue;
		if (stored[0] != '\0' && strcmp(stored, p->cluster_id) != 0) {
			foreign = p->cluster_id;
			continue;
		}
		/* The cluster most seeds are in; ties: the lower id. */
		for (cnt = 0, j = 0; j < d->nseeds; j++) {
			struct link_peer *q = link_peer_find(cd,
			    d->seeds[j].address);

			if (link_is_up(q) && strcmp(q->cluster_id,
			    p->cluster_id) == 0)
				cnt++;
		}
		if (best == NULL || cnt > bestcnt || (cnt == bestcnt &&
		    strcmp(p->cluster_id, best) < 0)) {
			best = p->cluster_id;
			bestcnt = cnt;
			pick = p;
		}
	}
	if (best != NULL) {
		/* k8s: through the seed pod when it is in that cluster. */
		if (seedpod != NULL && link_is_up(seedpod) &&
		    strcmp(seedpod->cluster_id, best) == 0)
			pick = seedpod;
		disc_join(d, pick->address, best);
		return;
	}
	if (stored[0] != '\0') {
		snprintf(d->why, sizeof(d->why), "this node belongs to cluster "
		    "%s (data_dir/cluster_id) and joins no other: waiting for "
		    "a seed in it (%zu of %zu seeds answer%s%s)", stored, up,
		    others, foreign ? "; one is in cluster " : "",
		    foreign ? foreign : "");
	} else if (d->i_bootstrap) {
		if ((others > 0 && up == others && waited >= DISC_SETTLE_MS) ||
		    waited >= DISC_WINDOW_MS) {
			log_info("discovery: no seed is in a cluster (%zu of "
			    "%zu answered in %" PRIu64 " ms): bootstrapping a "
			    "new cluster", up, others, waited);
			if (membership_discovery_bootstrap(cd) == 0) {
				d->done = true;
				d->why[0] = '\0';
			}
			return;
		}
		snprintf(d->why, sizeof(d->why), "this node is the "
		    "bootstrapper; asking the seeds whether a cluster exists "
		    "first (%zu of %zu answer)", up, others);
	} else if (cd->conf.discovery == CONF_DISCOVERY_K8S) {
		snprintf(d->why, sizeof(d->why), "waiting for the seed pod %s "
		    "to start the cluster (%s)", d->seed_host,
		    seedpod == NULL ? "its name does not resolve yet" :
		    !link_is_up(seedpod) ? "no answer from it yet" :
		    "it answers, in no cluster yet");
	} else {
		snprintf(d->why, sizeof(d->why), "waiting for a seed to be in "
		    "a cluster (bootstrapper: %s; %zu of %zu seeds answer, "
		    "none in a cluster yet)", d->bootstrapper[0] ?
		    d->bootstrapper : "none", up, others);
	}
	disc_wait(d, now);
}

static void
disc_step_cb(uv_timer_t *t)
{
	struct discovery	*d = t->data;
	struct clusterd		*cd = d->cd;
	uint64_t		 now = uv_now(cd->loop);

	if (d->stopped || !d->active || d->done)
		return;
	if (is_membership_joined(cd)) {
		d->done = true;
		d->why[0] = '\0';
		uv_timer_stop(&d->timer);
		return;
	}
	if (d->joining)
		return;
	if (d->nnames > 0 && d->pending == 0 && now >= d->next_resolve)
		disc_resolve(d);
	if (!d->resolved) {
		snprintf(d->why, sizeof(d->why), "resolving %s%s%s",
		    d->names[0].host, d->round_err[0] ? ": " : "",
		    d->round_err);
		disc_wait(d, now);
		return;
	}
	if (now < d->retry_at)
		return;
	disc_decide(d, now);
}

void
discovery_on_join_done(struct clusterd *cd, int rc, const char *text)
{
	struct discovery	*d = cd->disc;

	if (d == NULL || d->stopped)
		return;
	d->joining = false;
	if (rc == 0) {
		d->done = true;
		d->why[0] = '\0';
		log_info("discovery: %s", text);
		return;
	}
	log_warnx("discovery: joining through %s failed: %s; trying again",
	    d->join_via, text);
	d->retry_at = uv_now(cd->loop) + DISC_RETRY_MS;
	d->last_log = 0;
}

/* ---------------------------------------------------------- set-up */

static void
disc_add_name(struct discovery *d, const char *host, uint16_t port,
    bool is_seed)
{
	struct disc_name	*n;

	if (d->nnames == DISC_MAX_NAMES)
		return;
	n = &d->names[d->nnames++];
	snprintf(n->host, sizeof(n->host), "%s", host);
	n->port = port;
	n->is_seed = is_seed;
}

/* "name" or "name:port" (discovery.dns.name); exits when bad. */
static void
disc_split_name(struct discovery *d, const char *key, const char *s,
    char *host, size_t hostlen, uint16_t *port)
{
	char	 canon[DISCOVERY_ADDR_MAX], err[256];

	if (discovery_canon(s, d->port, canon, sizeof(canon)) == -1 ||
	    conf_split_hostport(canon, host, hostlen, port, err,
	    sizeof(err)) == -1)
		fatalx("discovery: %s = \"%s\" is not a DNS name (or "
		    "name:port)", key, s);
}

/* The pod's domain from /etc/hosts: Kubernetes writes "IP FQDN SHORT"
 * for a pod of a StatefulSet with a headless service. */
static int
disc_hosts_domain(const char *shortname, char *domain, size_t domainlen)
{
	char	 line[1024], *tok, *save;
	size_t	 n = strlen(shortname);
	FILE	*f;
	int	 rc = -1;

	if ((f = fopen("/etc/hosts", "r")) == NULL)
		return (-1);
	while (rc == -1 && fgets(line, sizeof(line), f) != NULL) {
		if ((tok = strchr(line, '#')) != NULL)
			*tok = '\0';
		for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
		    tok = strtok_r(NULL, " \t\r\n", &save)) {
			if (strncmp(tok, shortname, n) == 0 && tok[n] == '.' &&
			    tok[n + 1] != '\0') {
				snprintf(domain, domainlen, "%s", tok + n + 1);
				rc = 0;
				break;
			}
		}
	}
	fclose(f);
	return (rc);
}

static void
disc_setup_k8s(struct discovery *d)
{
	struct clusterd	*cd = d->cd;
	const char	*env = getenv("TERN_HOSTNAME"), *seed, *at;
	char		 hostname[256], name[256], domain[256], host[256];
	char		 canon[DISCOVERY_ADDR_MAX], shortname[256];
	uint16_t	 port = d->port;
	long		 ord = -1;
	long		 start = cd->conf.discovery_k8s_ordinal_start;
	int		 i;

	if (env != NULL && *env != '\0')
		snprintf(hostname, sizeof(hostname), "%s", env);
	else if (gethostname(hostname, sizeof(hostname)) == -1)
		fatal("discovery: gethostname");
	hostname[sizeof(hostname) - 1] = '\0';
	snprintf(shortname, sizeof(shortname), "%.*s",
	    (int)strcspn(hostname, "."), hostname);
	if ((seed = cd->conf.discovery_k8s_seed_node) != NULL) {
		at = strchr(seed, '@');
		if (discovery_canon(at ? at + 1 : seed, d->port, canon,
		    sizeof(canon)) == -1 || conf_split_hostport(canon, host,
		    sizeof(host), &port, name, sizeof(name)) == -1)
			fatalx("discovery: discovery.k8s.seed_node = \"%s\" is "
			    "not tern@host, tern@host:port or host:port", seed);
		snprintf(d->seed_host, sizeof(d->seed_host), "%s", host);
		d->k8s_seed = strcmp(seed, cd->conf.nodename) == 0 ||
		    strcmp(canon, d->self) == 0 ||
		    ((size_t)strcspn(host, ".") == strlen(shortname) &&
		    strncmp(host, shortname, strlen(shortname)) == 0);
		disc_add_name(d, host, port, true);
		if (cd->conf.discovery_dns_name != NULL) {
			disc_split_name(d, "discovery.dns.name",
			    cd->conf.discovery_dns_name, host, sizeof(host),
			    &port);
			disc_add_name(d, host, port, false);
		}
	} else {
		if (discovery_k8s_hostname(hostname, name, sizeof(name), &ord,
		    domain, sizeof(domain)) == -1)
			fatalx("discovery: discovery = k8s: this host's name "
			    "\"%s\" is not NAME-N (a StatefulSet pod's); set "
			    "discovery.k8s.seed_node (or TERN_HOSTNAME for "
			    "tests)", hostname);
		if (cd->conf.discovery_dns_name != NULL)
			disc_split_name(d, "discovery.dns.name",
			    cd->conf.discovery_dns_name, domain,
			    sizeof(domain), &port);
		else if (domain[0] == '\0' &&
		    disc_hosts_domain(shortname, domain, sizeof(domain)) == -1)
			fatalx("discovery: discovery = k8s: cannot tell the "
			    "headless service's domain of pod %s: set "
			    "discovery.dns.name (e.g. "
			    "tern-headless.NAMESPACE.svc.cluster.local)",
			    hostname);
		d->k8s_seed = ord == start;
		if (snprintf(d->seed_host, sizeof(d->seed_host), "%s-%ld.%s",
		    name, start, domain) >= (int)sizeof(d->seed_host))
			fatalx("discovery: the seed pod's name %s-%ld.%s is "
			    "too long", name, start, domain);
		disc_add_name(d, d->seed_host, port, true);
		if (cd->conf.discovery_dns_name != NULL)
			disc_add_name(d, domain, port, false);
		else
			for (i = 1; i <= DISC_K8S_PROBE; i++) {
				if (snprintf(host, sizeof(host), "%s-%ld.%s",
				    name, start + i, domain) <
				    (int)sizeof(host))
					disc_add_name(d, host, port, false);
			}
	}
	log_info("discovery: k8s: pod %s, seed %s%s", hostname, d->seed_host,
	    d->k8s_seed ? " (this pod)" : "");
}

static void
disc_setup(struct discovery *d)
{
	struct clusterd		*cd = d->cd;
	const char		*env = getenv("TERN_DNS_SERVER");
	char			 seeds[DISC_MAX_SEEDS][DISCOVERY_ADDR_MAX];
	char			 host[256], err[256];
	struct disc_seed	 s[DISC_MAX_SEEDS];
	uint16_t		 port;
	int			 n, i;

	if (discovery_canon(cd->conf.cluster_advertise, 0, d->self,
	    sizeof(d->self)) == -1 || conf_split_hostport(d->self, host,
	    sizeof(host), &d->port, err, sizeof(err)) == -1)
		fatalx("discovery: cluster.advertise = %s is not an address "
		    "other nodes can reach", cd->conf.cluster_advertise);
	if (env != NULL && *env != '\0') {
		if (conf_split_hostport(env, host, sizeof(host), &port, err,
		    sizeof(err)) == -1 || inet_pton(AF_INET, host,
		    &d->server.sin_addr) != 1 || port == 0)
			fatalx("discovery: TERN_DNS_SERVER=%s is not "
			    "IPv4:port", env);
		d->server.sin_family = AF_INET;
		d->server.sin_port = htons(port);
		log_info("discovery: DNS queries go to %s (TERN_DNS_SERVER)",
		    env);
	}
	switch (cd->conf.discovery) {
	case CONF_DISCOVERY_STATIC:
		if ((n = discovery_parse_seeds(cd->conf.discovery_static_seeds
		    ? cd->conf.discovery_static_seeds : "", seeds,
		    DISC_MAX_SEEDS, err, sizeof(err))) == -1)
			fatalx("discovery: discovery.static.seeds: %s", err);
		memset(s, 0, sizeof(s));
		for (i = 0; i < n; i++)
			memcpy(s[i].address, seeds[i], sizeof(s[i].address));
		qsort(s, n, sizeof(s[0]), disc_seed_cmp);
		disc_set_seeds(d, s, n);
		d->resolved = true;
		break;
	case CONF_DISCOVERY_DNS:
		if (cd->conf.discovery_dns_name == NULL)
			fatalx("discovery: discovery = dns needs "
			    "discovery.dns.name");
		disc_split_name(d, "discovery.dns.name",
		    cd->conf.discovery_dns_name, host, sizeof(host), &port);
		disc_add_name(d, host, port, false);
		break;
	case CONF_DISCOVERY_K8S:
		disc_setup_k8s(d);
		break;
	default:
		fatalx("discovery: unknown method %d", cd->conf.discovery);
	}
}

void
discovery_start(struct clusterd *cd)
{
	struct discovery	*d;
	static const char *const names[] = { "none", "static", "dns", "k8s" };

	d = xcalloc(1, sizeof(*d));
	d->cd = cd;
	cd->disc = d;
	uv_timer_init(cd->loop, &d->timer);
	d->timer.data = d;
	if (cd->conf.discovery == CONF_DISCOVERY_NONE)
		return;
	if (has_membership_stored(cd)) {
		log_info("discovery: %s holds this node's membership (cluster "
		    "%s): rejoining it, no discovery", cd->conf.data_dir,
		    membership_stored_id(cd)[0] ? membership_stored_id(cd) :
		    "id not stored yet");
		return;
	}
	if (cd->link == NULL)
		fatalx("discovery: discovery = %s needs the cluster's keys in "
		    "%s (ternctl keys create DIR)", names[cd->conf.discovery],
		    cd->conf.cluster_key_dir);
	d->active = true;
	d->started = d->changed_at = uv_now(cd->loop);
	log_info("discovery: first start (%s holds no membership): "
	    "discovery = %s", cd->conf.data_dir, names[cd->conf.discovery]);
	disc_setup(d);
	uv_timer_start(&d->timer, disc_step_cb, 0, DISC_STEP_MS);
}

void
discovery_stop(struct clusterd *cd)
{
	struct discovery	*d = cd->disc;

	if (d == NULL || d->stopped)
		return;
	d->stopped = true;
	uv_timer_stop(&d->timer);
	uv_close((uv_handle_t *)&d->timer, NULL);
}

void
discovery_free(struct clusterd *cd)
{
	free(cd->disc);
	cd->disc = NULL;
}

const char *
discovery_why(struct clusterd *cd)
{
	struct discovery	*d = cd->disc;

	if (d == NULL || !d->active || d->done)
		return ("");
	return (d->why[0] ? d->why : "starting");
}

uint8_t
discovery_state_flags(struct clusterd *cd)
{
	uint8_t	f = 0;

	if (cd->conf.discovery != CONF_DISCOVERY_NONE)
		f |= IPC_CS_DISCOVERY;
	if (is_membership_joined(cd))
		f |= IPC_CS_JOINED;
	return (f);
}
