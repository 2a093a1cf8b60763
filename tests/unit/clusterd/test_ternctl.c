/* SPDX-License-Identifier: MIT */
/* Unit tests of ternctl's pure parts: the command line (args.c) and the
 * supervisor's restart backoff (run.c). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ternctl/ternctl.h"
#include "tests/unit/unit.h"

static int
parse(struct ternctl_args *a, ...)
{
	char		*argv[16], err[256];
	const char	*s;
	va_list		 ap;
	int		 argc = 0;

	argv[argc++] = (char *)"ternctl";
	va_start(ap, a);
	while ((s = va_arg(ap, const char *)) != NULL && argc < 15)
		argv[argc++] = (char *)s;
	va_end(ap);
	argv[argc] = NULL;
	return (args_parse(argc, argv, a, err, sizeof(err)));
}

static void
test_args_config_anywhere(void)
{
	struct ternctl_args	a;

	CU_ASSERT_EQUAL(parse(&a, "run", "-c", "/x.conf", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_RUN);
	CU_ASSERT_STRING_EQUAL(a.conf_path, "/x.conf");
	CU_ASSERT_EQUAL(parse(&a, "-c", "/y.conf", "status", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_STATUS);
	CU_ASSERT_STRING_EQUAL(a.conf_path, "/y.conf");
	CU_ASSERT_EQUAL(parse(&a, "--config=/z", "status", NULL), 0);
	CU_ASSERT_STRING_EQUAL(a.conf_path, "/z");
	CU_ASSERT_EQUAL(parse(&a, "status", NULL), 0);
	CU_ASSERT_PTR_NULL(a.conf_path);
	CU_ASSERT_EQUAL(parse(&a, "status", "-c", NULL), -1);
}

static void
test_args_cluster(void)
{
	struct ternctl_args	a;

	CU_ASSERT_EQUAL(parse(&a, "cluster", "show", "--json", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_CLUSTER_SHOW);
	CU_ASSERT_TRUE(a.json);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "join",
	    "discovery-node=tern@10.0.0.5", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_CLUSTER_JOIN);
	CU_ASSERT_STRING_EQUAL(a.node, "tern@10.0.0.5");
	CU_ASSERT_EQUAL(parse(&a, "cluster", "join", "node=x", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "join", "discovery-node=",
	    NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "join", NULL), -1);

	CU_ASSERT_EQUAL(parse(&a, "cluster", "leave", "node=tern@b", NULL),
	    0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_CLUSTER_LEAVE);
	CU_ASSERT_STRING_EQUAL(a.node, "tern@b");
	CU_ASSERT_FALSE(a.kill_sessions);
	CU_ASSERT_EQUAL(a.timeout_s, 60);
	CU_ASSERT_EQUAL(a.interval_s, 5);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "leave", "node=tern@b", "-k",
	    "-t", "10", "-i", "2", NULL), 0);
	CU_ASSERT_TRUE(a.kill_sessions);
	CU_ASSERT_EQUAL(a.timeout_s, 10);
	CU_ASSERT_EQUAL(a.interval_s, 2);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "leave", "node=b", "-t", "x",
	    NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "leave", "node=b", "-t", "-1",
	    NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "leave", "node=b", "-i", "0",
	    NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "leave", "node=b", "-t", NULL),
	    -1);
	CU_ASSERT_EQUAL(parse(&a, "cluster", "frob", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "cluster", NULL), -1);
}

static void
test_args_other_commands(void)
{
	struct ternctl_args	a;

	CU_ASSERT_EQUAL(parse(&a, "session", "show", "--client-id", "c1",
	    "--json", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_SESSION_SHOW);
	CU_ASSERT_STRING_EQUAL(a.client_id, "c1");
	CU_ASSERT_EQUAL(parse(&a, "session", "show", NULL), 0);
	CU_ASSERT_PTR_NULL(a.client_id);
	CU_ASSERT_EQUAL(parse(&a, "metrics", "show", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_METRICS_SHOW);
	CU_ASSERT_EQUAL(parse(&a, "keys", "create", "/etc/k", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_KEYS_CREATE);
	CU_ASSERT_STRING_EQUAL(a.dir, "/etc/k");
	CU_ASSERT_EQUAL(parse(&a, "keys", "create", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "passwd", "/etc/tern/passwd", "bob", NULL),
	    0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_PASSWD);
	CU_ASSERT_STRING_EQUAL(a.file, "/etc/tern/passwd");
	CU_ASSERT_STRING_EQUAL(a.user, "bob");
	CU_ASSERT_EQUAL(parse(&a, "passwd", "/etc/tern/passwd", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "passwd", "f", "u", "extra", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "--help", NULL), 0);
	CU_ASSERT_EQUAL(a.cmd, TERNCTL_HELP);
}

static void
test_args_errors(void)
{
	struct ternctl_args	a;

	CU_ASSERT_EQUAL(parse(&a, NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "frobnicate", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "status", "extra", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "status", "--bogus", NULL), -1);
	/* Options of one command are refused by the others. */
	CU_ASSERT_EQUAL(parse(&a, "status", "-k", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "run", "--client-id", "x", NULL), -1);
	CU_ASSERT_EQUAL(parse(&a, "session", "show", "-t", "5", NULL), -1);
}

static void
test_run_backoff(void)
{
	struct run_child	ch = { "mqttd", 0, 0, 0, 0, 0 };
	uint64_t		now = 1000000;

	/* Failing at start: 200, 400, ... capped at the maximum. */
	ch.started_ms = now;
	CU_ASSERT_EQUAL(run_backoff(&ch, now + 10), RUN_BACKOFF_MIN_MS);
	CU_ASSERT_EQUAL(ch.next_start_ms, now + 10 + RUN_BACKOFF_MIN_MS);
	CU_ASSERT_EQUAL(run_backoff(&ch, now + 20), 400);
	CU_ASSERT_EQUAL(run_backoff(&ch, now + 30), 800);
	CU_ASSERT_EQUAL(run_backoff(&ch, now + 40), 1600);
	CU_ASSERT_EQUAL(run_backoff(&ch, now + 50), 3200);
	CU_ASSERT_EQUAL(run_backoff(&ch, now + 60), RUN_BACKOFF_MAX_MS);
	CU_ASSERT_EQUAL(run_backoff(&ch, now + 70), RUN_BACKOFF_MAX_MS);
	/* A run that lasted long enough starts the backoff over. */
	ch.started_ms = now;
	CU_ASSERT_EQUAL(run_backoff(&ch, now + RUN_STABLE_MS),
	    RUN_BACKOFF_MIN_MS);
	/* A binary that cannot be found (never started) keeps growing. */
	ch.started_ms = 0;
	CU_ASSERT_EQUAL(run_backoff(&ch, now), 400);
}

static void
test_run_find_binary(void)
{
	char	out[4096];

	setenv("TERN_MQTTD", "/bin/sh", 1);
	CU_ASSERT_EQUAL(run_find_binary("mqttd", out, sizeof(out)), 0);
	CU_ASSERT_STRING_EQUAL(out, "/bin/sh");
	setenv("TERN_MQTTD", "/nonexistent/mqttd", 1);
	CU_ASSERT_EQUAL(run_find_binary("mqttd", out, sizeof(out)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "TERN_MQTTD"));
	unsetenv("TERN_MQTTD");
	/* Falls back to PATH. */
	setenv("PATH", "/bin:/usr/bin", 1);
	CU_ASSERT_EQUAL(run_find_binary("true", out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(run_find_binary("no-such-daemon", out, sizeof(out)),
	    -1);
}

int
main(void)
{
	static const struct unit_test tests[] = {
		UNIT_TEST(test_args_config_anywhere),
		UNIT_TEST(test_args_cluster),
		UNIT_TEST(test_args_other_commands),
		UNIT_TEST(test_args_errors),
		UNIT_TEST(test_run_backoff),
		UNIT_TEST(test_run_find_binary),
		UNIT_END
	};

	return (unit_run("ternctl", tests));
}
