/* SPDX-License-Identifier: MIT */
/*
 * The one configuration parser: "key = value" lines, "#" comments.  Every
 * daemon parses the whole file and stops on any error with file:line: reason.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/conf.h"
#include "common/conf_keys.h"
#include "common/log.h"
#include "common/xmalloc.h"

const char conf_builtin_text[] =
"# Tern built-in configuration (ternctl run without -c): one node,\n"
"# anonymous MQTT on 127.0.0.1:1883, data under ./tern-data.\n"
"nodename = tern@127.0.0.1\n"
"data_dir = ./tern-data\n"
"run_dir = ./tern-data/run\n"
"listener.tcp.default = 127.0.0.1:1883\n"
"listener.http.default = 127.0.0.1:8888\n"
"allow_anonymous = on\n"
"cluster.listen = 127.0.0.1:44053\n"
"cluster.advertise = 127.0.0.1:44053\n"
"cluster.key_dir = ./tern-data/keys\n"
"cluster.replication_factor = 2\n"
"discovery = none\n"
"storage.sync = always\n";

static const char *const listener_kinds[] = {
	"tcp", "ssl", "ws", "wss", "http"
};

const char *
conf_listener_kind_name(enum conf_listener_kind kind)
{
	return (listener_kinds[kind]);
}

static char **
conf_str_field(struct conf *c, const struct conf_key *k)
{
	return ((char **)((char *)c + k->offset));
}

static int
conf_parse_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "on") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "off") || !strcasecmp(v, "false") ||
	    !strcasecmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return (-1);
	return (0);
}

int
conf_split_hostport(const char *s, char *host, size_t hostlen,
    uint16_t *port, char *err, size_t errlen)
{
	const char	*colon, *h = s, *hend;
	char		*end;
	long		 p;

	if (s[0] == '[') {
		if ((hend = strchr(s, ']')) == NULL || hend[1] != ':') {
			snprintf(err, errlen, "bad address \"%s\"", s);
			return (-1);
		}
		h = s + 1;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL) {
			snprintf(err, errlen,
			    "address \"%s\" needs host:port", s);
			return (-1);
		}
		hend = colon;
	}
	if ((size_t)(hend - h) >= hostlen) {
		snprintf(err, errlen, "host name too long in \"%s\"", s);
		return (-1);
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 ||
	    p > 65535) {
		snprintf(err, errlen, "bad port in \"%s\"", s);
		return (-1);
	}
	memcpy(host, h, hend - h);
	host[hend - h] = '\0';
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
		host[0] = '\0';
	*port = (uint16_t)p;
	return (0);
}

static int
conf_set_key(struct conf *c, const struct conf_key *k, const char *v,
    char *why, size_t whylen)
{
	char		**sp, host[256], *end;
	uint16_t	 port;
	long long	 n;
	size_t		 i;
	bool		 b;

	switch (k->type) {
	case CONF_T_HOSTPORT:
		if (conf_split_hostport(v, host, sizeof(host), &port, why,
		    whylen) == -1)
			return (-1);
		/* FALLTHROUGH */
	case CONF_T_STRING:
		sp = conf_str_field(c, k);
		free(*sp);
		*sp = xstrdup(v);
		return (0);
	case CONF_T_BOOL:
		if (conf_parse_bool(v, &b) == -1) {
			snprintf(why, whylen, "%s: \"%s\" is not on or off",
			    k->name, v);
			return (-1);
		}
		*(bool *)((char *)c + k->offset) = b;
		return (0);
	case CONF_T_INT:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || errno != 0) {
			snprintf(why, whylen, "%s: \"%s\" is not a number",
			    k->name, v);
			return (-1);
		}
		if (n < k->min || n > k->max) {
			snprintf(why, whylen, "%s: %lld is out of range "
			    "%lld..%lld", k->name, n, (long long)k->min,
			    (long long)k->max);
			return (-1);
		}
		*(int64_t *)((char *)c + k->offset) = n;
		return (0);
	case CONF_T_ENUM:
		for (i = 0; k->values[i] != NULL; i++) {
			if (strcasecmp(k->values[i], v) == 0) {
				*(int *)((char *)c + k->offset) = (int)i;
				return (0);
			}
		}
		snprintf(why, whylen, "%s: \"%s\" is not one of", k->name, v);
		for (i = 0; k->values[i] != NULL; i++) {
			size_t l = strlen(why);
			snprintf(why + l, whylen - l, "%s %s", i ? "," : "",
			    k->values[i]);
		}
		return (-1);
	}
	return (-1);
}

/* listener.KIND.NAME = host:port */
static int
conf_set_listener(struct conf *c, const char *key, const char *v,
    char *why, size_t whylen)
{
	struct conf_listener	*l;
	const char		*kind = key + strlen("listener."), *dot;
	size_t			 i, klen;
	int			 j;

	if ((dot = strchr(kind, '.')) == NULL || dot[1] == '\0') {
		snprintf(why, whylen, "unknown key \"%s\"", key);
		return (-1);
	}
	klen = dot - kind;
	for (i = 0; i < sizeof(listener_kinds) / sizeof(listener_kinds[0]); i++)
		if (strlen(listener_kinds[i]) == klen &&
		    strncmp(listener_kinds[i], kind, klen) == 0)
			break;
	if (i == sizeof(listener_kinds) / sizeof(listener_kinds[0])) {
		snprintf(why, whylen, "unknown key \"%s\" (listener kinds: "
		    "tcp, ssl, ws, wss, http)", key);
		return (-1);
	}
	if (strlen(dot + 1) >= sizeof(l->name) || strchr(dot + 1, '.')) {
		snprintf(why, whylen, "unknown key \"%s\"", key);
		return (-1);
	}
	for (j = 0; j < c->nlisteners; j++) {
		l = &c->listeners[j];
		if (l->kind == (enum conf_listener_kind)i &&
		    strcmp(l->name, dot + 1) == 0)
			break;
	}
	if (j == c->nlisteners) {
		if (c->nlisteners == CONF_MAX_LISTENERS) {
			snprintf(why, whylen, "too many listeners (max %d)",
			    CONF_MAX_LISTENERS);
			return (-1);
		}
		c->nlisteners++;
	}
	l = &c->listeners[j];
	l->kind = (enum conf_listener_kind)i;
	snprintf(l->name, sizeof(l->name), "%s", dot + 1);
	if (conf_split_hostport(v, l->host, sizeof(l->host), &l->port, why,
	    whylen) == -1)
		return (-1);
	return (0);
}

void
conf_defaults(struct conf *c)
{
	char	why[256];
	size_t	i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < conf_nkeys; i++) {
		if (conf_keys[i].defval == NULL)
			continue;
		if (conf_set_key(c, &conf_keys[i], conf_keys[i].defval, why,
		    sizeof(why)) == -1)
			fatalx("conf: default of %s: %s", conf_keys[i].name,
			    why);
	}
}

static char *
conf_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return (s);
}

static int
conf_parse_line(struct conf *c, char *line, char *why, size_t whylen)
{
	const struct conf_key	*k;
	char			*eq, *key, *val, *hash;

	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	line = conf_trim(line);
	if (*line == '\0')
		return (0);
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(why, whylen, "expected \"key = value\"");
		return (-1);
	}
	*eq = '\0';
	key = conf_trim(line);
	val = conf_trim(eq + 1);
	if (*key == '\0') {
		snprintf(why, whylen, "missing key before \"=\"");
		return (-1);
	}
	if (*val == '\0') {
		snprintf(why, whylen, "%s: missing value", key);
		return (-1);
	}
	if ((k = conf_key_find(key)) != NULL)
		return (conf_set_key(c, k, val, why, whylen));
	if (strncmp(key, "listener.", 9) == 0)
		return (conf_set_listener(c, key, val, why, whylen));
	snprintf(why, whylen, "unknown key \"%s\"", key);
	return (-1);
}

/* "host", "host:port" or "[v6]:port" where a port may be left out. */
static int
conf_check_host(const char *s, bool need_port)
{
	char		host[256], why[256];
	uint16_t	port;

	if (*s == '\0')
		return (-1);
	if (!need_port && s[0] != '[' && strchr(s, ':') == NULL)
		return (strlen(s) < sizeof(host) ? 0 : -1);
	if (conf_split_hostport(s, host, sizeof(host), &port, why,
	    sizeof(why)) == -1 || host[0] == '\0' || port == 0)
		return (-1);
	return (0);
}

/* The discovery keys hold together (clusterd checks the rest at its first
 * start: names that do not resolve, a hostname that is not NAME-N). */
static int
conf_check_discovery(const struct conf *c, char *why, size_t whylen)
{
	const char	*p, *seed;
	char		 one[300];
	size_t		 n, count = 0;

	if (c->discovery == CONF_DISCOVERY_NONE)
		return (0);
	if (conf_check_host(c->cluster_advertise, true) == -1) {
		snprintf(why, whylen, "discovery needs a cluster.advertise "
		    "other nodes can reach, not \"%s\"",
		    c->cluster_advertise);
		return (-1);
	}
	switch (c->discovery) {
	case CONF_DISCOVERY_STATIC:
		for (p = c->discovery_static_seeds; p != NULL && *p != '\0';
		    p += n) {
			p += strspn(p, ", \t");
			if ((n = strcspn(p, ", \t")) == 0)
				break;
			snprintf(one, sizeof(one), "%.*s", (int)n, p);
			if (n >= sizeof(one) || conf_check_host(one, true)) {
				snprintf(why, whylen, "discovery.static.seeds: "
				    "\"%s\" is not host:port", one);
				return (-1);
			}
			count++;
		}
		if (count == 0) {
			snprintf(why, whylen, "discovery = static needs "
			    "discovery.static.seeds (host:port, ...)");
			return (-1);
		}
		break;
	case CONF_DISCOVERY_DNS:
		if (c->discovery_dns_name == NULL) {
			snprintf(why, whylen, "discovery = dns needs "
			    "discovery.dns.name");
			return (-1);
		}
		/* FALLTHROUGH */
	case CONF_DISCOVERY_K8S:
		if (c->discovery_dns_name != NULL &&
		    conf_check_host(c->discovery_dns_name, false) == -1) {
			snprintf(why, whylen, "discovery.dns.name: \"%s\" is "
			    "not a name or name:port", c->discovery_dns_name);
			return (-1);
		}
		if ((seed = c->discovery_k8s_seed_node) != NULL &&
		    c->discovery == CONF_DISCOVERY_K8S) {
			if (strchr(seed, '@') != NULL)
				seed = strchr(seed, '@') + 1;
			if (conf_check_host(seed, false) == -1) {
				snprintf(why, whylen, "discovery.k8s."
				    "seed_node: \"%s\" is not "
				    "tern@host[:port] or host:port",
				    c->discovery_k8s_seed_node);
				return (-1);
			}
		}
		break;
	default:
		break;
	}
	return (0);
}

int
conf_parse(struct conf *c, const char *name, const char *text, char *err,
    size_t errlen)
{
	const char	*p = text, *nl;
	char		*line, why[512];
	int		 lineno = 0, rc = 0;
	size_t		 n;

	free(c->path);
	c->path = xstrdup(name);
	while (*p != '\0') {
		lineno++;
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		line = xstrndup(p, n);
		if (strlen(line) != n) {
			snprintf(err, errlen, "%s:%d: NUL byte in line", name,
			    lineno);
			rc = -1;
		} else if (conf_parse_line(c, line, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			rc = -1;
		}
		free(line);
		if (rc == -1)
			return (-1);
		p += n + (nl ? 1 : 0);
	}
	if (conf_check_discovery(c, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", name, why);
		return (-1);
	}
	return (0);
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	FILE	*f;
	char	*text;
	long	 len;
	size_t	 got;
	int	 rc;

	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s:0: cannot open: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (fseek(f, 0, SEEK_END) == -1 || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 || len > 16 * 1024 * 1024) {
		snprintf(err, errlen, "%s:0: cannot read (not a regular file "
		    "or larger than 16 MiB)", path);
		fclose(f);
		return (-1);
	}
	text = xmalloc(len + 1);
	got = fread(text, 1, len, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s:0: read error: %s", path,
		    strerror(errno));
		fclose(f);
		free(text);
		return (-1);
	}
	fclose(f);
	text[got] = '\0';
	if (strlen(text) != got) {
		snprintf(err, errlen, "%s:0: file holds a NUL byte", path);
		free(text);
		return (-1);
	}
	rc = conf_parse(c, path, text, err, errlen);
	free(text);
	return (rc);
}

void
conf_free(struct conf *c)
{
	size_t	i;

	for (i = 0; i < conf_nkeys; i++) {
		if (conf_keys[i].type == CONF_T_STRING ||
		    conf_keys[i].type == CONF_T_HOSTPORT) {
			free(*conf_str_field(c, &conf_keys[i]));
			*conf_str_field(c, &conf_keys[i]) = NULL;
		}
	}
	free(c->path);
	c->path = NULL;
}

void
conf_load_or_die(struct conf *c, const char *path)
{
	char	err[1024];

	conf_defaults(c);
	if (conf_load(c, path, err, sizeof(err)) == -1)
		fatalx("%s", err);
}

void
conf_ipc_endpoint(const struct conf *c, const char *daemon, char *out,
    size_t outlen)
{
	snprintf(out, outlen, "ipc://%s/%s.sock", c->run_dir, daemon);
}

/* Writes key k's value in c as text into out. */
static void
conf_key_text(const struct conf *c, const struct conf_key *k, char *out,
    size_t outlen)
{
	const char	*p = (const char *)c + k->offset;
	const char	*sv;

	switch (k->type) {
	case CONF_T_STRING:
	case CONF_T_HOSTPORT:
		sv = *(char *const *)p;
		snprintf(out, outlen, "%s", sv ? sv : "(unset)");
		break;
	case CONF_T_BOOL:
		snprintf(out, outlen, "%s", *(const bool *)p ? "on" : "off");
		break;
	case CONF_T_INT:
		snprintf(out, outlen, "%lld", (long long)*(const int64_t *)p);
		break;
	case CONF_T_ENUM:
		snprintf(out, outlen, "%s", k->values[*(const int *)p]);
		break;
	}
}

static bool
conf_listeners_equal(const struct conf *a, const struct conf *b)
{
	return (a->nlisteners == b->nlisteners &&
	    memcmp(a->listeners, b->listeners,
	    sizeof(a->listeners[0]) * (size_t)a->nlisteners) == 0);
}

int
conf_reload(struct conf *c, unsigned daemon)
{
	struct conf		 n;
	const struct conf_key	*k;
	char			 err[1024], ov[512], nv[512];
	enum log_level		 lvl;
	size_t			 i;
	int			 applied = 0;

	conf_defaults(&n);
	if (conf_load(&n, c->path, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration",
		    err);
		conf_free(&n);
		return (-1);
	}
	for (i = 0; i < conf_nkeys; i++) {
		k = &conf_keys[i];
		if ((k->daemons & daemon) == 0)
			continue;
		conf_key_text(c, k, ov, sizeof(ov));
		conf_key_text(&n, k, nv, sizeof(nv));
		if (strcmp(ov, nv) == 0)
			continue;
		if (!k->reloadable) {
			log_warnx("reload: %s changed (%s -> %s): needs a "
			    "restart to take effect", k->name, ov, nv);
			continue;
		}
		log_info("reload: %s: %s -> %s", k->name, ov, nv);
		if (k->type == CONF_T_STRING || k->type == CONF_T_HOSTPORT) {
			char **op = (char **)((char *)c + k->offset);
			char **np = (char **)((char *)&n + k->offset);

			free(*op);
			*op = *np;
			*np = NULL;
		} else if (k->type == CONF_T_BOOL)
			*(bool *)((char *)c + k->offset) =
			    *(bool *)((char *)&n + k->offset);
		else if (k->type == CONF_T_INT)
			*(int64_t *)((char *)c + k->offset) =
			    *(int64_t *)((char *)&n + k->offset);
		else
			*(int *)((char *)c + k->offset) =
			    *(int *)((char *)&n + k->offset);
		applied++;
	}
	if ((daemon & CONF_D_MQTTD) && !conf_listeners_equal(c, &n))
		log_warnx("reload: listeners changed: needs a restart of "
		    "mqttd to take effect");
	if (c->log_level != NULL && log_level_parse(c->log_level, &lvl) == 0)
		log_set_level(lvl);
	conf_free(&n);
	log_info("reload: %s read, %d change%s applied", c->path, applied,
	    applied == 1 ? "" : "s");
	return (applied);
}
