/* SPDX-License-Identifier: MIT */
/*
 * Benchmark of the subscription tree (mqttd/topic.c): match rate of a fixed
 * topic set as unrelated subscriptions grow from 1,000 to 100,000, memory
 * per subscription, and add/remove of 100,000 owners on one filter.
 *
 * Topics are "site/S/device/D/sensor/K".  Every size holds the same 1,000
 * "core" subscriptions that the 1,000 measured topics can match (exact,
 * '+' and '#' filters); the rest are unrelated: other sites, and other
 * devices of the same sites (so the tables on the matched path grow too).
 * Each size runs in a forked child so RSS growth is its own.
 *
 * Usage: bench_topic [seconds per measurement, default 1]
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mqttd/topic.h"

#define BENCH_TOPICS	1000
#define BENCH_CORE	1000
#define BENCH_FLEN	48
#define BENCH_SLICES	5

static double	bench_secs = 1.0;
static uint64_t	bench_rng_state = 0x853c49e6748fea9bULL;

static uint64_t
bench_rng(void)
{
	uint64_t	 x = bench_rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (bench_rng_state = x);
}

static double
bench_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static long
bench_rss(void)
{
	FILE	*f;
	long	 size = 0, rss = 0;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return (0);
	if (fscanf(f, "%ld %ld", &size, &rss) != 2)
		rss = 0;
	fclose(f);
	return (rss * sysconf(_SC_PAGESIZE));
}

static size_t
bench_heap(void)
{
	return (mallinfo2().uordblks);
}

/* The 1,000 subscriptions every size holds, all over sites 0..9. */
static size_t
bench_core(char (*f)[BENCH_FLEN])
{
	size_t	 n = 0, s, d, k;

	for (s = 0; s < 10; s++)
		for (d = 0; d < 10; d++) {
			for (k = 0; k < 6; k++)
				snprintf(f[n++], BENCH_FLEN,
				    "site/%zu/device/%zu/sensor/%zu", s, d, k);
			snprintf(f[n++], BENCH_FLEN,
			    "site/%zu/device/+/sensor/%zu", s, d);
			snprintf(f[n++], BENCH_FLEN, "site/%zu/device/%zu/#",
			    s, d);
			snprintf(f[n++], BENCH_FLEN, "site/%zu/+/%zu/sensor/+",
			    s, d);
			snprintf(f[n++], BENCH_FLEN,
			    "site/+/device/%zu/sensor/%zu", s, d);
		}
	return (n);
}

/* One unrelated subscription, same shapes: no topic of the set matches. */
static void
bench_filler(char *f)
{
	size_t	 s, d, k, shape = bench_rng() % 10;

	if (bench_rng() % 2) {		/* another site */
		s = 10 + bench_rng() % 10000;
		d = bench_rng() % 100;
	} else {			/* same sites, another device */
		s = bench_rng() % 10;
		d = 10 + bench_rng() % 10000;
	}
	k = bench_rng() % 10;
	if (shape < 6)
		snprintf(f, BENCH_FLEN, "site/%zu/device/%zu/sensor/%zu", s,
		    d, k + 10 * shape);
	else if (shape == 6)
		snprintf(f, BENCH_FLEN, "site/%zu/device/+/sensor/%zu",
		    s < 10 ? s + 10 : s, k);
	else if (shape == 7)
		snprintf(f, BENCH_FLEN, "site/%zu/device/%zu/#", s, d);
	else if (shape == 8)
		snprintf(f, BENCH_FLEN, "site/%zu/+/%zu/sensor/+", s, d);
	else
		snprintf(f, BENCH_FLEN, "site/+/device/%zu/sensor/%zu",
		    d < 10 ? d + 10 : d, k);
}

static int
bench_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

struct bench_sink {
	size_t	 calls;
	size_t	 subs;
};

static void
bench_fn(const struct topic_sub *subs, size_t nsubs, bool shared,
    const char *group, uint32_t *rr, void *arg)
{
	struct bench_sink	*s = arg;

	s->calls++;
	s->subs += nsubs;
}

static void *
bench_owner(size_t i)
{
	return ((void *)(uintptr_t)(0x10000 + 16 * i));
}

/* Builds a tree of n subscriptions and measures it; runs in a child. */
static void
bench_size(size_t n, char (*topics)[BENCH_FLEN], size_t *tlens)
{
	struct topic_tree	*t;
	struct bench_sink	 sink = { 0 };
	char			(*f)[BENCH_FLEN];
	size_t			*flens, i, j, k, rounds, all_rounds = 0;
	size_t			 heap0, heap, nodes;
	size_t			 naive_hits = 0, naive_n = 0;
	long			 rss0, rss;
	double			 t0, add_s, match_s, naive_s, del_s, matched;
	double			 slice[BENCH_SLICES];

	f = calloc(n, sizeof(*f));
	flens = calloc(n, sizeof(*flens));
	i = bench_core(f);
	for (; i < n; i++)
		bench_filler(f[i]);
	for (i = 0; i < n; i++)
		flens[i] = strlen(f[i]);

	rss0 = bench_rss();
	heap0 = bench_heap();
	t = topic_tree_new();
	t0 = bench_now();
	for (i = 0; i < n; i++)
		if (topic_tree_add(t, f[i], flens[i], bench_owner(i), i) != 1)
			abort();
	add_s = bench_now() - t0;

	/* Matches: the whole topic set, round after round, in slices; the
	 * median slice is reported (other processes share the CPUs). */
	for (k = 0; k < BENCH_SLICES; k++) {
		t0 = bench_now();
		rounds = 0;
		do {
			for (j = 0; j < BENCH_TOPICS; j++)
				topic_tree_match(t, topics[j], tlens[j],
				    bench_fn, &sink);
			rounds++;
		} while (bench_now() - t0 < bench_secs / BENCH_SLICES);
		slice[k] = (bench_now() - t0) / (double)rounds;
		all_rounds += rounds;
	}
	qsort(slice, BENCH_SLICES, sizeof(slice[0]), bench_cmp);
	match_s = slice[BENCH_SLICES / 2];	/* seconds per round */
	matched = (double)sink.subs / (double)all_rounds / BENCH_TOPICS;

	/* The same work by scanning every filter with topic_match(). */
	t0 = bench_now();
	do {
		for (i = 0; i < n; i++)
			naive_hits += topic_match(f[i], flens[i],
			    topics[naive_n % BENCH_TOPICS],
			    tlens[naive_n % BENCH_TOPICS]);
		naive_n++;
	} while (bench_now() - t0 < bench_secs / 4 || naive_n < 10);
	naive_s = bench_now() - t0;

	/* Both ways must find the same subscriptions. */
	memset(&sink, 0, sizeof(sink));
	for (i = 0; i < naive_n; i++)
		topic_tree_match(t, topics[i % BENCH_TOPICS],
		    tlens[i % BENCH_TOPICS], bench_fn, &sink);
	if (sink.subs != naive_hits) {
		fprintf(stderr, "bench_topic: tree found %zu, linear scan "
		    "%zu\n", sink.subs, naive_hits);
		exit(1);
	}
	heap = bench_heap() - heap0;
	rss = bench_rss() - rss0;
	nodes = topic_tree_nodes(t);

	t0 = bench_now();
	for (i = 0; i < n; i++)
		if (topic_tree_remove(t, f[i], flens[i], bench_owner(i)) != 1)
			abort();
	del_s = bench_now() - t0;
	if (topic_tree_count(t) != 0 || topic_tree_nodes(t) != 0)
		abort();

	printf("| %7zu | %6zu | %4.1f | %9.0f | %5.0f | %9.0f | %5.0f | "
	    "%5.0f | %5.0f | %5.0f |\n", n, nodes, matched,
	    BENCH_TOPICS / match_s, match_s * 1e9 / BENCH_TOPICS,
	    naive_s * 1e9 / (double)naive_n,
	    (double)n / add_s / 1e3, (double)n / del_s / 1e3,
	    (double)heap / (double)n, (double)rss / (double)n);
	topic_tree_free(t);
	free(flens);
	free(f);
}

/* n owners on one filter (fan-out): add, match, remove in random order. */
static void
bench_one_filter(size_t n)
{
	struct topic_tree	*t;
	struct bench_sink	 sink = { 0 };
	size_t			*order, i, j, tmp, rounds = 0;
	double			 t0, add_s, match_s, del_s;

	t = topic_tree_new();
	order = calloc(n, sizeof(*order));
	t0 = bench_now();
	for (i = 0; i < n; i++)
		topic_tree_add(t, "fan/out", 7, bench_owner(i), i);
	add_s = bench_now() - t0;
	t0 = bench_now();
	do {
		topic_tree_match(t, "fan/out", 7, bench_fn, &sink);
		rounds++;
	} while (bench_now() - t0 < bench_secs / 4);
	match_s = bench_now() - t0;
	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = bench_rng() % (i + 1);
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	t0 = bench_now();
	for (i = 0; i < n; i++)
		if (topic_tree_remove(t, "fan/out", 7,
		    bench_owner(order[i])) != 1)
			abort();
	del_s = bench_now() - t0;
	printf("| %7zu | %8.1f | %8.1f | %10.1f |\n", n,
	    add_s * 1e9 / (double)n, del_s * 1e9 / (double)n,
	    match_s * 1e6 / (double)rounds);
	topic_tree_free(t);
	free(order);
}

static void
bench_fork(void (*fn)(size_t, char (*)[BENCH_FLEN], size_t *), size_t n,
    char (*topics)[BENCH_FLEN], size_t *tlens)
{
	pid_t	 pid;
	int	 status;

	fflush(stdout);
	if ((pid = fork()) == -1) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		fn(n, topics, tlens);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_topic: size %zu failed\n", n);
		exit(1);
	}
}

int
main(int argc, char *argv[])
{
	static const size_t	 sizes[] = { 1000, 10000, 100000 };
	static const size_t	 fan[] = { 1000, 10000, 100000 };
	char			(*topics)[BENCH_FLEN];
	size_t			 tlens[BENCH_TOPICS], i, s, d, k;

	if (argc > 1)
		bench_secs = atof(argv[1]);
	if (bench_secs <= 0)
		bench_secs = 1.0;
	topics = calloc(BENCH_TOPICS, sizeof(*topics));
	i = 0;
	for (s = 0; s < 10; s++)
		for (d = 0; d < 10; d++)
			for (k = 0; k < 10; k++) {
				snprintf(topics[i], BENCH_FLEN,
				    "site/%zu/device/%zu/sensor/%zu", s, d, k);
				tlens[i] = strlen(topics[i]);
				i++;
			}

	printf("Match of %d topics \"site/S/device/D/sensor/K\" against %d "
	    "core subscriptions plus unrelated ones:\n\n", BENCH_TOPICS,
	    BENCH_CORE);
	printf("| subs | nodes | subs matched per topic | matches/s | "
	    "ns/match | linear scan ns/match | adds/ms | removes/ms | "
	    "heap B/sub | RSS B/sub |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_fork(bench_size, sizes[i], topics, tlens);

	printf("\nOne filter with n owners (fan-out), removal in random "
	    "order:\n\n");
	printf("| owners | ns/add | ns/remove | us/match (all n) |\n");
	printf("|---|---|---|---|\n");
	for (i = 0; i < sizeof(fan) / sizeof(fan[0]); i++)
		bench_one_filter(fan[i]);
	free(topics);
	return (0);
}
