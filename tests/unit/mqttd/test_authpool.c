/* SPDX-License-Identifier: MIT */
/* Unit tests of the password-check thread pool (mqttd/authpool.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/passwd.h"
#include "mqttd/auth.h"
#include "tests/unit/unit.h"

/* A check of "slow" takes some 10 ms (others well under 1 ms). */
#define SLOW_ITER	10000
#define FAST_ITER	100
#define DEADLINE_S	20.0

static char		 tmpdir[64];
static pthread_t	 main_thread;
static struct event_base *base;

/* One expected callback. */
struct slot {
	int			 calls;
	enum passwd_result	 result;
	bool			 on_main;
	struct authpool		*pool;		/* for chained submits */
	struct slot		*chain;		/* submit this one from cb */
};

static int	ncalls;

static void
slot_cb(void *arg, enum passwd_result result)
{
	struct slot	*s = arg;

	s->calls++;
	s->result = result;
	s->on_main = pthread_equal(pthread_self(), main_thread);
	ncalls++;
	if (s->chain != NULL)
		CU_ASSERT_PTR_NOT_NULL(authpool_submit(s->pool, "u1", 2, "p1",
		    2, slot_cb, s->chain));
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
}

/* Runs the loop until ncalls reaches n and p has nothing pending. */
static bool
run_until(struct authpool *p, int n)
{
	struct timeval	 tv = { 0, 10000 };
	struct event	*tick;
	double		 end = now_s() + DEADLINE_S;

	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	while ((ncalls < n || authpool_pending(p) > 0) && now_s() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	return (ncalls >= n && authpool_pending(p) == 0);
}

/* A table of users "u1"/"p1", "u2"/"p2" and "slow"/"slow" (or, with
 * other set, "u1"/"new" only). */
static struct passwd_table *
make_table(bool other)
{
	static const char *const users[][3] = {
		{ "u1", "p1", "f" }, { "u2", "p2", "f" },
		{ "slow", "slow", "s" }
	};
	struct passwd_table	*t;
	struct passwd_hash	 h;
	FILE			*fp;
	char			 path[128], err[512], *line;
	const char		*why;
	size_t			 i;

	snprintf(path, sizeof(path), "%s/passwd", tmpdir);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	for (i = 0; i < 3; i++) {
		if (other && i > 0)
			break;
		passwd_hash_new(&h, other ? "new" : users[i][1],
		    other ? 3 : strlen(users[i][1]),
		    users[i][2][0] == 's' ? SLOW_ITER : FAST_ITER);
		line = passwd_line_new(users[i][0], strlen(users[i][0]), &h,
		    &why);
		fputs(line, fp);
		free(line);
	}
	fclose(fp);
	t = passwd_table_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(t);
	unlink(path);
	return (t);
}

static void
test_authpool_results(void)
{
	static const struct {
		const char		*user;
		const char		*pw;
		enum passwd_result	 want;
	} c[] = {
		{ "u1", "p1", PASSWD_RESULT_OK },
		{ "u1", "p2", PASSWD_RESULT_WRONG },
		{ "u2", "p2", PASSWD_RESULT_OK },
		{ "u3", "p1", PASSWD_RESULT_UNKNOWN },
		{ "", "", PASSWD_RESULT_UNKNOWN },
		{ "slow", "slow", PASSWD_RESULT_OK },
		{ "u2", "", PASSWD_RESULT_WRONG },
		{ "slow", "fast", PASSWD_RESULT_WRONG },
	};
	enum { N = sizeof(c) / sizeof(c[0]) };
	struct slot	 s[3 * N];
	struct authpool	*p;
	size_t		 i;

	memset(s, 0, sizeof(s));
	ncalls = 0;
	p = authpool_new(base, 2, 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	authpool_set_table(p, make_table(false));
	for (i = 0; i < 3 * N; i++)
		CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, c[i % N].user,
		    strlen(c[i % N].user), c[i % N].pw, strlen(c[i % N].pw),
		    slot_cb, &s[i]));
	/* Never called from inside submit. */
	CU_ASSERT_EQUAL(ncalls, 0);
	CU_ASSERT_TRUE(run_until(p, 3 * N));
	for (i = 0; i < 3 * N; i++) {
		CU_ASSERT_EQUAL(s[i].calls, 1);
		CU_ASSERT_EQUAL(s[i].result, c[i % N].want);
		CU_ASSERT_TRUE(s[i].on_main);
	}
	authpool_free(p);
	authpool_free(NULL);
}

static void
test_authpool_no_table(void)
{
	struct slot	 s[2];
	struct authpool	*p;

	memset(s, 0, sizeof(s));
	ncalls = 0;
	p = authpool_new(base, 1, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "u1", 2, "p1", 2, slot_cb,
	    &s[0]));
	CU_ASSERT_TRUE(run_until(p, 1));
	CU_ASSERT_EQUAL(s[0].result, PASSWD_RESULT_UNKNOWN);
	/* Setting NULL again (no password file after a reload). */
	authpool_set_table(p, make_table(false));
	authpool_set_table(p, NULL);
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "u1", 2, "p1", 2, slot_cb,
	    &s[1]));
	CU_ASSERT_TRUE(run_until(p, 2));
	CU_ASSERT_EQUAL(s[1].result, PASSWD_RESULT_UNKNOWN);
	authpool_free(p);
}

static void
test_authpool_full(void)
{
	struct slot	 s[5];
	struct authpool	*p;
	int		 i;

	memset(s, 0, sizeof(s));
	ncalls = 0;
	p = authpool_new(base, 1, 3);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	authpool_set_table(p, make_table(false));
	for (i = 0; i < 3; i++)
		CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "slow", 4, "slow", 4,
		    slot_cb, &s[i]));
	CU_ASSERT_EQUAL(authpool_pending(p), 3);
	CU_ASSERT_PTR_NULL(authpool_submit(p, "u1", 2, "p1", 2, slot_cb,
	    &s[3]));
	CU_ASSERT_TRUE(run_until(p, 3));
	CU_ASSERT_EQUAL(s[3].calls, 0);
	/* Room again once they are reported. */
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "u1", 2, "p1", 2, slot_cb,
	    &s[4]));
	CU_ASSERT_TRUE(run_until(p, 4));
	CU_ASSERT_EQUAL(s[4].result, PASSWD_RESULT_OK);
	authpool_free(p);
}

static void
test_authpool_cancel(void)
{
	struct slot		 s[6];
	struct authpool		*p;
	struct authpool_job	*j[6];
	int			 i;

	memset(s, 0, sizeof(s));
	ncalls = 0;
	p = authpool_new(base, 1, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	authpool_set_table(p, make_table(false));
	for (i = 0; i < 6; i++) {
		j[i] = authpool_submit(p, "slow", 4, "slow", 4, slot_cb,
		    &s[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(j[i]);
	}
	/* j[0] is running or queued, j[2] and j[4] are queued. */
	authpool_cancel(p, j[0]);
	authpool_cancel(p, j[2]);
	authpool_cancel(p, j[4]);
	CU_ASSERT_TRUE(run_until(p, 3));
	for (i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(s[i].calls, i % 2 == 0 ? 0 : 1);
	CU_ASSERT_EQUAL(authpool_pending(p), 0);

	/* Cancelling a finished job that waits for the loop. */
	memset(s, 0, sizeof(s));
	ncalls = 0;
	j[0] = authpool_submit(p, "u1", 2, "p1", 2, slot_cb, &s[0]);
	j[1] = authpool_submit(p, "u1", 2, "p1", 2, slot_cb, &s[1]);
	/* Wait (on a condition) until the worker has done both: they
	 * wait for the loop now, which has not run. */
	{
		struct timespec	ts = { 0, 1000000 };
		double		end = now_s() + DEADLINE_S;

		while (authpool_working(p) > 0 && now_s() < end)
			nanosleep(&ts, NULL);
	}
	CU_ASSERT_EQUAL(authpool_working(p), 0);
	CU_ASSERT_EQUAL(authpool_pending(p), 2);
	CU_ASSERT_EQUAL(ncalls, 0);
	authpool_cancel(p, j[0]);
	CU_ASSERT_TRUE(run_until(p, 1));
	CU_ASSERT_EQUAL(s[0].calls, 0);
	CU_ASSERT_EQUAL(s[1].calls, 1);
	authpool_free(p);
}

/* A reload keeps the old table for checks already submitted. */
static void
test_authpool_swap(void)
{
	struct slot	 s[4];
	struct authpool	*p;

	memset(s, 0, sizeof(s));
	ncalls = 0;
	p = authpool_new(base, 1, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	authpool_set_table(p, make_table(false));
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "slow", 4, "slow", 4,
	    slot_cb, &s[0]));
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "u1", 2, "p1", 2, slot_cb,
	    &s[1]));
	authpool_set_table(p, make_table(true));
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "u1", 2, "new", 3, slot_cb,
	    &s[2]));
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "u1", 2, "p1", 2, slot_cb,
	    &s[3]));
	CU_ASSERT_TRUE(run_until(p, 4));
	CU_ASSERT_EQUAL(s[0].result, PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(s[1].result, PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(s[2].result, PASSWD_RESULT_OK);
	CU_ASSERT_EQUAL(s[3].result, PASSWD_RESULT_WRONG);
	authpool_free(p);
}

/* A callback may submit; freeing with work pending calls nobody. */
static void
test_authpool_chain_and_free(void)
{
	struct slot	 s[8];
	struct authpool	*p;
	int		 i;

	memset(s, 0, sizeof(s));
	ncalls = 0;
	p = authpool_new(base, 2, 16);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	authpool_set_table(p, make_table(false));
	s[0].pool = p;
	s[0].chain = &s[1];
	CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "u2", 2, "p2", 2, slot_cb,
	    &s[0]));
	CU_ASSERT_TRUE(run_until(p, 2));
	CU_ASSERT_EQUAL(s[0].calls, 1);
	CU_ASSERT_EQUAL(s[1].calls, 1);
	CU_ASSERT_EQUAL(s[1].result, PASSWD_RESULT_OK);

	ncalls = 0;
	for (i = 2; i < 8; i++)
		CU_ASSERT_PTR_NOT_NULL(authpool_submit(p, "slow", 4, "x", 1,
		    slot_cb, &s[i]));
	authpool_free(p);
	/* Run the loop a little: nothing may be called any more. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	CU_ASSERT_EQUAL(ncalls, 0);
}

int
main(void)
{
	static const struct unit_test	tests[] = {
		UNIT_TEST(test_authpool_results),
		UNIT_TEST(test_authpool_no_table),
		UNIT_TEST(test_authpool_full),
		UNIT_TEST(test_authpool_cancel),
		UNIT_TEST(test_authpool_swap),
		UNIT_TEST(test_authpool_chain_and_free),
		UNIT_END
	};
	int				rc;

	main_thread = pthread_self();
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/tern-authpool-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	base = event_base_new();
	rc = unit_run("authpool", tests);
	event_base_free(base);
	rmdir(tmpdir);
	return (rc);
}
