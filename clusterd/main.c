/* SPDX-License-Identifier: MIT */
/* clusterd's start-up: arguments, config, logging, IPC sockets, the libuv
 * loop, readiness, and a clean stop on SIGTERM/SIGINT. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <systemd/sd-daemon.h>

#include "clusterd/clusterd.h"
#include "common/log.h"
#include "common/xmalloc.h"

static void
main_usage(void)
{
	fprintf(stderr, "usage: clusterd [-c FILE]\n");
	exit(2);
}

/* mkdir -p path (mode 0750 for the parts it creates). */
static int
main_mkdirs(const char *path)
{
	char	*p, *s;
	int	 rc = 0;

	s = xstrdup(path);
	for (p = s + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		if (*p == '/' && p[1] == '/')
			continue;
		{
			char	c = *p;

			*p = '\0';
			if (mkdir(s, 0750) == -1 && errno != EEXIST) {
				log_warn("clusterd: mkdir %s", s);
				rc = -1;
			}
			*p = c;
		}
		if (*p == '\0' || rc == -1)
			break;
	}
	free(s);
	return (rc);
}

static void
main_tick_cb(uv_timer_t *t)
{
	struct clusterd	*cd = t->data;

	dispatch_tick(cd);
	sd_notify(0, "WATCHDOG=1");
}

static void
main_stop(struct clusterd *cd)
{
	if (cd->stopping)
		return;
	cd->stopping = true;
	log_info("clusterd: stopping");
	sd_notify(0, "STOPPING=1");
	uv_timer_stop(&cd->tick);
	uv_close((uv_handle_t *)&cd->tick, NULL);
	uv_signal_stop(&cd->sig_term);
	uv_close((uv_handle_t *)&cd->sig_term, NULL);
	uv_signal_stop(&cd->sig_int);
	uv_close((uv_handle_t *)&cd->sig_int, NULL);
	uv_signal_stop(&cd->sig_hup);
	uv_close((uv_handle_t *)&cd->sig_hup, NULL);
	/* A second TERM (e.g. to the whole process group) must not kill us
	 * halfway through a clean stop: libuv restored SIG_DFL above. */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	ipc_uv_free(cd->router_w);
	cd->router_w = NULL;
	ipc_uv_free(cd->store_w);
	cd->store_w = NULL;
	discovery_stop(cd);
	route_stop(cd);
	membership_stop(cd);
	link_stop(cd);
	http_stop(cd);
}

static void
main_hup_cb(uv_signal_t *h, int signum)
{
	struct clusterd	*cd = h->data;

	log_info("clusterd: got SIGHUP, reloading %s", cd->conf.path);
	conf_reload(&cd->conf, CONF_D_CLUSTERD);
}

static void
main_signal_cb(uv_signal_t *h, int signum)
{
	log_info("clusterd: got %s", strsignal(signum));
	main_stop(h->data);
}

int
main(int argc, char *argv[])
{
	static struct clusterd	 cd;
	const char		*path = CONF_DEFAULT_PATH;
	char			 ep[512];
	int			 ch, rv;

	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			main_usage();
		}
	}
	if (optind != argc)
		main_usage();

	log_init("clusterd", NULL, !isatty(STDERR_FILENO));
	conf_load_or_die(&cd.conf, path);
	log_set_nodename(cd.conf.nodename);
	{
		enum log_level	lvl;

		if (log_level_parse(cd.conf.log_level, &lvl) == 0)
			log_set_level(lvl);
	}
	signal(SIGPIPE, SIG_IGN);
	if (main_mkdirs(cd.conf.run_dir) == -1 ||
	    main_mkdirs(cd.conf.data_dir) == -1)
		fatalx("clusterd: cannot create run_dir/data_dir");
	if (RAND_bytes((unsigned char *)&cd.boot_id, sizeof(cd.boot_id)) != 1)
		cd.boot_id = ((uint64_t)getpid() << 32) ^ (uint64_t)time(NULL);

	cd.loop = uv_default_loop();
	cd.started_ms = uv_now(cd.loop);
	cd.mqttd.name = "mqttd";
	cd.storaged.name = "storaged";

	conf_ipc_endpoint(&cd.conf, "clusterd", cd.endpoint,
	    sizeof(cd.endpoint));
	if ((cd.router = ipc_router_bind(cd.endpoint)) == NULL)
		fatalx("clusterd: cannot bind %s", cd.endpoint);
	conf_ipc_endpoint(&cd.conf, "storaged", ep, sizeof(ep));
	if ((cd.store = ipc_dealer_connect(ep, "clusterd")) == NULL)
		fatalx("clusterd: cannot connect to %s", ep);
	membership_start(&cd);
	link_start(&cd);
	membership_open(&cd);
	discovery_start(&cd);
	route_start(&cd);
	cd.router_w = ipc_uv_new(cd.loop, cd.router, dispatch_router, &cd);
	cd.store_w = ipc_uv_new(cd.loop, cd.store, dispatch_store, &cd);
	http_start(&cd);

	uv_timer_init(cd.loop, &cd.tick);
	cd.tick.data = &cd;
	uv_timer_start(&cd.tick, main_tick_cb, 0, CLUSTERD_TICK_MS);
	uv_signal_init(cd.loop, &cd.sig_term);
	cd.sig_term.data = &cd;
	uv_signal_start(&cd.sig_term, main_signal_cb, SIGTERM);
	uv_signal_init(cd.loop, &cd.sig_int);
	cd.sig_int.data = &cd;
	uv_signal_start(&cd.sig_int, main_signal_cb, SIGINT);
	uv_signal_init(cd.loop, &cd.sig_hup);
	cd.sig_hup.data = &cd;
	uv_signal_start(&cd.sig_hup, main_hup_cb, SIGHUP);

	log_info("clusterd: listening on %s (node %s, pid %d)", cd.endpoint,
	    cd.conf.nodename, (int)getpid());
	sd_notify(0, "READY=1");

	uv_run(cd.loop, UV_RUN_DEFAULT);

	route_free(&cd);
	link_free(&cd);
	http_free(&cd);
	membership_free(&cd);
	discovery_free(&cd);
	ipc_close(cd.router);
	ipc_close(cd.store);
	ipc_ctx_term();
	if ((rv = uv_loop_close(cd.loop)) != 0)
		log_warnx("clusterd: loop close: %s", uv_strerror(rv));
	log_info("clusterd: stopped");
	conf_free(&cd.conf);
	return (cd.exit_status);
}
