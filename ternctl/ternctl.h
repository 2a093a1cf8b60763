/* SPDX-License-Identifier: MIT */
/*
 * ternctl: the node supervisor (ternctl run) and the operator's command
 * line.  A map of the directory: each block below is one file.  ternctl has
 * no event loop: it talks to daemons with a DEALER and zmq_poll.
 */
#ifndef TERNCTL_TERNCTL_H
#define TERNCTL_TERNCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/conf.h"

/* Where "ternctl run" without -c keeps its configuration and data. */
#define TERNCTL_LOCAL_DIR	"./tern-data"
#define TERNCTL_LOCAL_CONF	"./tern-data/tern.conf"
/* How long a daemon has to answer a query. */
#define TERNCTL_QUERY_MS	2000
/* Join and leave wait for the cluster to agree. */
#define TERNCTL_CLUSTER_MS	30000

/* Exit codes. */
#define TERNCTL_EXIT_OK		0
#define TERNCTL_EXIT_FAIL	1
#define TERNCTL_EXIT_USAGE	2

enum ternctl_cmd {
	TERNCTL_HELP,
	TERNCTL_RUN,
	TERNCTL_STATUS,
	TERNCTL_CLUSTER_SHOW,
	TERNCTL_CLUSTER_JOIN,
	TERNCTL_CLUSTER_LEAVE,
	TERNCTL_SESSION_SHOW,
	TERNCTL_METRICS_SHOW,
	TERNCTL_KEYS_CREATE,
	TERNCTL_PASSWD
};

/* Parsed command line; strings are borrowed from argv. */
struct ternctl_args {
	enum ternctl_cmd	 cmd;
	const char		*conf_path;	/* NULL: the default search */
	bool			 json;
	const char		*client_id;	/* session show --client-id */
	const char		*node;		/* join: NODE; leave: NODE */
	const char		*dir;		/* keys create DIR */
	const char		*file;		/* passwd FILE */
	const char		*user;		/* passwd USER */
	bool			 kill_sessions;	/* leave -k */
	uint32_t		 timeout_s;	/* leave -t (default 60) */
	uint32_t		 interval_s;	/* leave -i (default 5) */
};

/* args.c */
/*
 * Parses argv into a.  -c FILE and --json may come before or after the
 * command.  Returns 0, or -1 with a reason in err (the caller prints usage
 * and exits 2).
 */
int	args_parse(int argc, char *const argv[], struct ternctl_args *a,
	    char *err, size_t errlen);
/* Writes the usage text to stream f (a FILE *). */
void	args_usage(void *f);

/* conf path resolution (main.c) */
/*
 * Picks the config file: a's -c, else CONF_DEFAULT_PATH if it exists, else
 * TERNCTL_LOCAL_CONF if it exists (or, when create is true, after writing
 * conf_builtin_text there).  Returns a new string (free()), and sets
 * *builtin when the built-in configuration was chosen.
 */
char	*ternctl_conf_path(const struct ternctl_args *a, bool create,
	    bool *builtin);

/* query.c */
/* One request to one daemon's ROUTER, run together with others. */
struct query {
	const char	*daemon;		/* borrowed: "mqttd", ... */
	char		 endpoint[512];
	unsigned	 req_type;
	unsigned	 rep_type;
	struct buf	 req;			/* encoded payload */
	uint32_t	 id;
	void		*sock;
	bool		 sent;
	bool		 done;			/* answered */
	int		 rc;			/* the daemon's rc */
	char		*text;			/* answer (JSON or message) */
	char		 err[640];		/* why there is no answer */
};
/* Prepares a status request (what, arg) to daemon. Borrows c and daemon. */
void	query_init_status(struct query *q, const struct conf *c,
	    const char *daemon, const char *what, const char *arg);
/* Prepares a cluster join or leave request to clusterd. */
void	query_init_join(struct query *q, const struct conf *c,
	    const char *node);
void	query_init_leave(struct query *q, const struct conf *c,
	    const char *node, bool kill_sessions, uint32_t timeout_s,
	    uint32_t interval_s);
/*
 * Sends every request and waits up to timeout_ms (in total) for the
 * answers; blocks.  Each q[i] is then done (text set) or has err set
 * ("clusterd is not running (no answer on ipc://... within 2 s)").
 */
void	query_run(struct query *q, size_t n, int timeout_ms);
/* Releases what q holds. */
void	query_free(struct query *q);

/* show.c: each returns the process exit code. */
int	show_status(const struct conf *c, bool json);
int	show_cluster(const struct conf *c, bool json);
int	show_sessions(const struct conf *c, const char *client_id, bool json);
int	show_metrics(const struct conf *c);
int	show_cluster_cmd(const struct conf *c, const struct ternctl_args *a);
/* Formats one JSON scalar for a table cell into out. */
void	show_scalar(const void *json_value, char *out, size_t outlen);

/* keys.c */
/* Writes DIR/cluster.key (0600) and DIR/cluster.pub; never overwrites.
 * Returns 0, or -1 with a message on stderr. */
int	keys_create(const char *dir);

/* run.c */
/* One daemon under the supervisor. */
struct run_child {
	const char	*name;			/* "storaged", ... */
	pid_t		 pid;			/* 0: not running */
	uint64_t	 started_ms;
	uint64_t	 next_start_ms;		/* when to start it again */
	uint32_t	 delay_ms;		/* current backoff */
	unsigned	 restarts;
};
#define RUN_BACKOFF_MIN_MS	200
#define RUN_BACKOFF_MAX_MS	5000
#define RUN_STABLE_MS		10000	/* a run this long resets backoff */
#define RUN_STOP_WAIT_MS	5000
/*
 * The child stopped (or could not start) at now_ms: returns the delay
 * before its next start and updates its backoff.  Pure.
 */
uint32_t run_backoff(struct run_child *ch, uint64_t now_ms);
/*
 * Finds the binary of daemon name into out (env TERN_<NAME>, the build
 * tree beside ternctl, ternctl's dir, TERN_SBINDIR, PATH).  Returns 0, or -1
 * when none is executable (out then lists where it looked).
 */
int	run_find_binary(const char *name, char *out, size_t outlen);
/* ternctl run: supervises the three daemons until SIGTERM/SIGINT; returns
 * the exit code.  conf_path is borrowed. */
int	run_main(const char *conf_path, bool builtin);
/* mkdir -p; returns 0 or -1 (logged). */
int	run_mkdirs(const char *path, mode_t mode);

#endif
