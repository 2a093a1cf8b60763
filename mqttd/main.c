/* SPDX-License-Identifier: MIT */
/* mqttd: arguments, configuration, logging, ipc, readiness and the loop. */
#include <sys/resource.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/conf.h"
#include "common/log.h"
#include "mqttd/cluster.h"
#include "mqttd/mqttd.h"

static void
usage(void)
{
	fprintf(stderr, "usage: mqttd [-c file]\n");
	exit(2);
}

static void
main_signal(evutil_socket_t sig, short what, void *arg)
{
	log_info("signal %d: stopping", (int)sig);
	broker_shutdown();
}

/* Many idle clients need many descriptors: raise the soft limit. */
static void
main_raise_nofile(void)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit NOFILE");
	}
}

int
main(int argc, char *argv[])
{
	struct conf		 conf;
	struct event_base	*base;
	struct event		*sigterm, *sigint;
	const char		*path = CONF_DEFAULT_PATH;
	enum log_level		 level;
	int			 ch;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("mqttd", NULL, false);
	conf_load_or_die(&conf, path);
	log_set_nodename(conf.nodename);
	if (conf.log_level != NULL &&
	    log_level_parse(conf.log_level, &level) == 0)
		log_set_level(level);
	signal(SIGPIPE, SIG_IGN);
	main_raise_nofile();

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	broker_init(&conf, base);
	reload_init(&conf, base);	/* auth, TLS, SIGHUP, watchdog */
	/* The stored sessions before the first CONNECT (issue 3). */
	if (durable_init() == -1)
		fatalx("cannot set up the link to storaged under %s",
		    conf.run_dir);
	durable_wait_loaded(10000);
	/* Other nodes (issue 4); without clusterd mqttd runs alone. */
	cluster_init();
	if (listener_open_all() == -1)
		fatalx("cannot open the listeners");
	if (dispatch_init() == -1)
		fatalx("cannot set up ipc under %s", conf.run_dir);
	sigterm = evsignal_new(base, SIGTERM, main_signal, NULL);
	sigint = evsignal_new(base, SIGINT, main_signal, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	sd_notify(0, "READY=1");
	log_info("started, pid %ld", (long)getpid());

	event_base_dispatch(base);
	/* What storaged has not answered yet: acks and marks. */
	durable_drain(2000);

	sd_notify(0, "STOPPING=1");
	event_free(sigterm);
	event_free(sigint);
	broker_free();
	cluster_free();
	durable_free();
	reload_free();
	dispatch_free();
	event_base_free(base);
	log_info("stopped");
	conf_free(&conf);
	return (0);
}
