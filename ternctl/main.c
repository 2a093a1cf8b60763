/* SPDX-License-Identifier: MIT */
/* ternctl's entry point: parse the command line, pick the configuration,
 * and hand over to the command. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/ipc.h"
#include "ternctl/passwd.h"
#include "ternctl/ternctl.h"

/* Writes conf_builtin_text to TERNCTL_LOCAL_CONF unless it exists. */
static int
main_write_builtin(void)
{
	size_t	len = strlen(conf_builtin_text);
	int	fd;

	if (run_mkdirs(TERNCTL_LOCAL_DIR, 0750) == -1)
		return (-1);
	if ((fd = open(TERNCTL_LOCAL_CONF, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0640)) == -1) {
		if (errno == EEXIST)
			return (0);
		fprintf(stderr, "ternctl: %s: %s\n", TERNCTL_LOCAL_CONF,
		    strerror(errno));
		return (-1);
	}
	if (write(fd, conf_builtin_text, len) != (ssize_t)len) {
		fprintf(stderr, "ternctl: write %s: %s\n", TERNCTL_LOCAL_CONF,
		    strerror(errno));
		close(fd);
		unlink(TERNCTL_LOCAL_CONF);
		return (-1);
	}
	close(fd);
	fprintf(stderr, "ternctl: wrote the built-in configuration to %s\n",
	    TERNCTL_LOCAL_CONF);
	return (0);
}

char *
ternctl_conf_path(const struct ternctl_args *a, bool create, bool *builtin)
{
	*builtin = false;
	if (a->conf_path != NULL)
		return (xstrdup(a->conf_path));
	if (access(CONF_DEFAULT_PATH, F_OK) == 0)
		return (xstrdup(CONF_DEFAULT_PATH));
	if (access(TERNCTL_LOCAL_CONF, F_OK) == 0 ||
	    (create && main_write_builtin() == 0)) {
		*builtin = true;
		return (xstrdup(TERNCTL_LOCAL_CONF));
	}
	return (xstrdup(CONF_DEFAULT_PATH));
}

int
main(int argc, char *argv[])
{
	struct ternctl_args	 a;
	struct conf		 c;
	char			 err[1024], *path;
	bool			 builtin;
	int			 rc;

	if (args_parse(argc, argv, &a, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternctl: %s\n", err);
		args_usage(stderr);
		return (TERNCTL_EXIT_USAGE);
	}
	switch (a.cmd) {
	case TERNCTL_HELP:
		args_usage(stdout);
		return (TERNCTL_EXIT_OK);
	case TERNCTL_KEYS_CREATE:
		return (keys_create(a.dir) == 0 ? TERNCTL_EXIT_OK :
		    TERNCTL_EXIT_FAIL);
	case TERNCTL_PASSWD:
		return (ternctl_passwd(a.file, a.user));
	case TERNCTL_RUN:
		path = ternctl_conf_path(&a, true, &builtin);
		rc = run_main(path, builtin);
		free(path);
		return (rc);
	default:
		break;
	}

	/* The other commands talk to the daemons through run_dir. */
	log_init("ternctl", NULL, false);
	path = ternctl_conf_path(&a, false, &builtin);
	conf_defaults(&c);
	if (conf_load(&c, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternctl: %s\n", err);
		conf_free(&c);
		free(path);
		return (TERNCTL_EXIT_FAIL);
	}
	free(path);
	switch (a.cmd) {
	case TERNCTL_STATUS:
		rc = show_status(&c, a.json);
		break;
	case TERNCTL_CLUSTER_SHOW:
		rc = show_cluster(&c, a.json);
		break;
	case TERNCTL_CLUSTER_JOIN:
	case TERNCTL_CLUSTER_LEAVE:
		rc = show_cluster_cmd(&c, &a);
		break;
	case TERNCTL_SESSION_SHOW:
		rc = show_sessions(&c, a.client_id, a.json);
		break;
	case TERNCTL_METRICS_SHOW:
		rc = show_metrics(&c);
		break;
	default:
		rc = TERNCTL_EXIT_USAGE;
		break;
	}
	conf_free(&c);
	ipc_ctx_term();
	return (rc);
}
