/* SPDX-License-Identifier: MIT */
/* ternctl's command line: global options anywhere, then one command and its
 * arguments.  Pure (no I/O but the usage text), so it is unit tested. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ternctl/ternctl.h"

#define ARGS_MAX_POS	8

/* Option bits, to refuse options that the command does not take. */
#define ARGS_O_CLIENT	0x01
#define ARGS_O_KILL	0x02
#define ARGS_O_TIMEOUT	0x04
#define ARGS_O_INTERVAL	0x08

void
args_usage(void *fp)
{
	FILE	*f = fp;

	fprintf(f,
"usage: ternctl [-c FILE] [--json] COMMAND ...\n"
"  run                         start this node's daemons (foreground)\n"
"  status                      are mqttd, clusterd, storaged up?\n"
"  cluster show                one row per node\n"
"  cluster join discovery-node=NODE\n"
"                              join the cluster NODE belongs to\n"
"  cluster leave node=NODE [-k] [-t SECS] [-i SECS]\n"
"                              make NODE leave the cluster\n"
"  session show [--client-id ID]\n"
"                              sessions, owner node, queue length\n"
"  metrics show                counters as \"name value\" lines\n"
"  keys create DIR             make the cluster's CURVE key pair\n"
"  passwd FILE USER            add or update USER's hashed password in FILE\n"
"                              (the password is read from standard input)\n"
"-c FILE (default " CONF_DEFAULT_PATH ") may also follow the command.\n");
}

static int
args_u32(const char *opt, const char *v, uint32_t *out, char *err,
    size_t errlen)
{
	char		*end;
	unsigned long	 n;

	if (v == NULL) {
		snprintf(err, errlen, "%s needs a number of seconds", opt);
		return (-1);
	}
	errno = 0;
	n = strtoul(v, &end, 10);
	if (*v == '\0' || *v == '-' || *end != '\0' || errno != 0 ||
	    n > 86400 * 365) {
		snprintf(err, errlen, "%s: \"%s\" is not a number of seconds",
		    opt, v);
		return (-1);
	}
	*out = (uint32_t)n;
	return (0);
}

/* Value of "key=value" argument s, or NULL when s does not start so. */
static const char *
args_kv(const char *s, const char *key)
{
	size_t	n = strlen(key);

	if (strncmp(s, key, n) == 0 && s[n] == '=')
		return (s + n + 1);
	return (NULL);
}

/* Separates options from positional words.  Returns 0 or -1. */
static int
args_scan(int argc, char *const argv[], struct ternctl_args *a,
    const char **pos, int *npos, unsigned *opts, char *err, size_t errlen)
{
	const char	*s, *v;
	int		 i;

	for (i = 1; i < argc; i++) {
		s = argv[i];
		v = (i + 1 < argc) ? argv[i + 1] : NULL;
		if (strcmp(s, "-c") == 0 || strcmp(s, "--config") == 0) {
			if (v == NULL) {
				snprintf(err, errlen, "%s needs a file", s);
				return (-1);
			}
			a->conf_path = v;
			i++;
		} else if (strncmp(s, "--config=", 9) == 0)
			a->conf_path = s + 9;
		else if (strncmp(s, "-c", 2) == 0 && s[2] != '\0')
			a->conf_path = s + 2;
		else if (strcmp(s, "--json") == 0)
			a->json = true;
		else if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)
			a->cmd = TERNCTL_HELP;
		else if (strcmp(s, "--client-id") == 0) {
			if (v == NULL) {
				snprintf(err, errlen, "%s needs an id", s);
				return (-1);
			}
			a->client_id = v;
			*opts |= ARGS_O_CLIENT;
			i++;
		} else if (strncmp(s, "--client-id=", 12) == 0) {
			a->client_id = s + 12;
			*opts |= ARGS_O_CLIENT;
		} else if (strcmp(s, "-k") == 0)
			*opts |= (a->kill_sessions = true) ? ARGS_O_KILL : 0;
		else if (strcmp(s, "-t") == 0) {
			if (args_u32(s, v, &a->timeout_s, err, errlen) == -1)
				return (-1);
			*opts |= ARGS_O_TIMEOUT;
			i++;
		} else if (strcmp(s, "-i") == 0) {
			if (args_u32(s, v, &a->interval_s, err, errlen) == -1)
				return (-1);
			*opts |= ARGS_O_INTERVAL;
			i++;
		} else if (s[0] == '-' && s[1] != '\0') {
			snprintf(err, errlen, "unknown option \"%s\"", s);
			return (-1);
		} else {
			if (*npos == ARGS_MAX_POS) {
				snprintf(err, errlen, "too many arguments");
				return (-1);
			}
			pos[(*npos)++] = s;
		}
	}
	return (0);
}

static int
args_words(int npos, int want, const char *cmd, char *err, size_t errlen)
{
	if (npos < want) {
		snprintf(err, errlen, "\"%s\" needs more arguments", cmd);
		return (-1);
	}
	if (npos > want) {
		snprintf(err, errlen, "\"%s\": unexpected arguments", cmd);
		return (-1);
	}
	return (0);
}

int
args_parse(int argc, char *const argv[], struct ternctl_args *a, char *err,
    size_t errlen)
{
	const char	*pos[ARGS_MAX_POS], *v;
	int		 npos = 0;
	unsigned	 opts = 0, allowed = 0;

	memset(a, 0, sizeof(*a));
	a->cmd = TERNCTL_STATUS;	/* overwritten below */
	a->timeout_s = 60;
	a->interval_s = 5;
	if (args_scan(argc, argv, a, pos, &npos, &opts, err, errlen) == -1)
		return (-1);
	if (a->cmd == TERNCTL_HELP)
		return (0);
	if (npos == 0) {
		snprintf(err, errlen, "missing command");
		return (-1);
	}
	if (strcmp(pos[0], "help") == 0) {
		a->cmd = TERNCTL_HELP;
		return (0);
	} else if (strcmp(pos[0], "run") == 0) {
		a->cmd = TERNCTL_RUN;
		if (args_words(npos, 1, "run", err, errlen) == -1)
			return (-1);
	} else if (strcmp(pos[0], "status") == 0) {
		a->cmd = TERNCTL_STATUS;
		if (args_words(npos, 1, "status", err, errlen) == -1)
			return (-1);
	} else if (strcmp(pos[0], "cluster") == 0 && npos >= 2 &&
	    strcmp(pos[1], "show") == 0) {
		a->cmd = TERNCTL_CLUSTER_SHOW;
		if (args_words(npos, 2, "cluster show", err, errlen) == -1)
			return (-1);
	} else if (strcmp(pos[0], "cluster") == 0 && npos >= 2 &&
	    strcmp(pos[1], "join") == 0) {
		a->cmd = TERNCTL_CLUSTER_JOIN;
		if (args_words(npos, 3, "cluster join", err, errlen) == -1)
			return (-1);
		if ((v = args_kv(pos[2], "discovery-node")) == NULL ||
		    *v == '\0') {
			snprintf(err, errlen, "cluster join needs "
			    "discovery-node=NODE");
			return (-1);
		}
		a->node = v;
	} else if (strcmp(pos[0], "cluster") == 0 && npos >= 2 &&
	    strcmp(pos[1], "leave") == 0) {
		a->cmd = TERNCTL_CLUSTER_LEAVE;
		allowed = ARGS_O_KILL | ARGS_O_TIMEOUT | ARGS_O_INTERVAL;
		if (args_words(npos, 3, "cluster leave", err, errlen) == -1)
			return (-1);
		if ((v = args_kv(pos[2], "node")) == NULL || *v == '\0') {
			snprintf(err, errlen, "cluster leave needs node=NODE");
			return (-1);
		}
		a->node = v;
		if (a->interval_s == 0) {
			snprintf(err, errlen, "-i must be at least 1 second");
			return (-1);
		}
	} else if (strcmp(pos[0], "session") == 0 && npos >= 2 &&
	    strcmp(pos[1], "show") == 0) {
		a->cmd = TERNCTL_SESSION_SHOW;
		allowed = ARGS_O_CLIENT;
		if (args_words(npos, 2, "session show", err, errlen) == -1)
			return (-1);
	} else if (strcmp(pos[0], "metrics") == 0 && npos >= 2 &&
	    strcmp(pos[1], "show") == 0) {
		a->cmd = TERNCTL_METRICS_SHOW;
		if (args_words(npos, 2, "metrics show", err, errlen) == -1)
			return (-1);
	} else if (strcmp(pos[0], "keys") == 0 && npos >= 2 &&
	    strcmp(pos[1], "create") == 0) {
		a->cmd = TERNCTL_KEYS_CREATE;
		if (args_words(npos, 3, "keys create", err, errlen) == -1)
			return (-1);
		a->dir = pos[2];
	} else if (strcmp(pos[0], "passwd") == 0) {
		a->cmd = TERNCTL_PASSWD;
		if (args_words(npos, 3, "passwd", err, errlen) == -1)
			return (-1);
		a->file = pos[1];
		a->user = pos[2];
	} else {
		snprintf(err, errlen, "unknown command \"%s%s%s\"", pos[0],
		    npos > 1 ? " " : "", npos > 1 ? pos[1] : "");
		return (-1);
	}
	if ((opts & ~allowed) != 0) {
		snprintf(err, errlen, "option not valid for this command");
		return (-1);
	}
	return (0);
}
