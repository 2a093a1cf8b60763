/* SPDX-License-Identifier: MIT */
/*
 * storaged: arguments, configuration, the store under data_dir/store, the
 * ROUTER socket, the libevent loop with its timers (expiry sweep, WAL sync
 * with storage.sync = interval, watchdog) and signals.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/conf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "storaged/storaged.h"

/* Expiry sweep period and the most items it removes per run. */
#define MAIN_SWEEP_MS		1000
#define MAIN_SWEEP_MAX		10000

struct main_ctx {
	struct storaged		 sd;
	struct store		*store;
	struct event_base	*base;
	struct event		*sweep_ev;
	struct event		*sync_ev;
	struct event		*sig_term;
	struct event		*sig_int;
	struct event		*sig_hup;
	struct conf		*conf;		/* borrowed */
	bool			 watchdog;
};

static void __attribute__((noreturn))
main_usage(void)
{
	fprintf(stderr, "usage: storaged [-c file]\n");
	exit(2);
}

static int
main_mkdirs(const char *dir)
{
	char	*p, *s = xstrdup(dir), c;

	for (p = s + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(s, 0750) == -1 && errno != EEXIST) {
			log_warn("storaged: mkdir %s", s);
			free(s);
			return (-1);
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(s);
	return (0);
}

static void
main_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	struct main_ctx	*mc = arg;
	int		 n;

	if ((n = store_sweep(mc->store, MAIN_SWEEP_MAX)) > 0)
		log_debug("storaged: sweep removed %d expired items", n);
	if (mc->watchdog)
		sd_notify(0, "WATCHDOG=1");
}

static void
main_sync_cb(evutil_socket_t fd, short what, void *arg)
{
	struct main_ctx	*mc = arg;

	store_sync(mc->store);
}

static void
main_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct main_ctx	*mc = arg;

	log_info("storaged: got SIGHUP, reloading %s", mc->conf->path);
	if (conf_reload(mc->conf, CONF_D_STORAGED) > 0)
		store_set_max_offline(mc->store,
		    (uint64_t)mc->conf->max_offline_messages);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct main_ctx	*mc = arg;

	log_info("storaged: got %s, stopping", strsignal((int)sig));
	event_base_loopbreak(mc->base);
}

static struct event *
main_timer(struct main_ctx *mc, uint64_t ms, event_callback_fn cb)
{
	struct event	*ev;
	struct timeval	 tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	ev = event_new(mc->base, -1, EV_PERSIST, cb, mc);
	event_add(ev, &tv);
	return (ev);
}

int
main(int argc, char *argv[])
{
	static struct main_ctx	 mc;
	struct conf		 conf = { 0 };
	struct store_opts	 so = { 0 };
	const char		*path = CONF_DEFAULT_PATH;
	char			 ep[512], dir[4096], err[1024];
	enum log_level		 lvl;
	uint64_t		 usec;
	void			*sock;
	int			 ch;

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

	log_init("storaged", NULL, !isatty(STDERR_FILENO));
	conf_load_or_die(&conf, path);
	log_set_nodename(conf.nodename);
	if (log_level_parse(conf.log_level, &lvl) == 0)
		log_set_level(lvl);
	signal(SIGPIPE, SIG_IGN);
	if (main_mkdirs(conf.run_dir) == -1 || main_mkdirs(conf.data_dir) == -1)
		fatalx("storaged: cannot create run_dir or data_dir");

	so.sync_always = conf.storage_sync == CONF_SYNC_ALWAYS;
	so.max_offline = (uint64_t)conf.max_offline_messages;
	so.min_free = (uint64_t)conf.storage_min_free_bytes;
	snprintf(dir, sizeof(dir), "%s/store", conf.data_dir);
	if ((mc.store = store_open(dir, &so, err, sizeof(err))) == NULL)
		fatalx("%s", err);

	conf_ipc_endpoint(&conf, "storaged", ep, sizeof(ep));
	if ((sock = ipc_router_bind(ep)) == NULL)
		fatalx("storaged: cannot bind %s", ep);

	mc.sd.sock = sock;
	mc.sd.store = mc.store;
	mc.sd.nodename = conf.nodename;
	mc.sd.sync_always = so.sync_always;
	if (getrandom(&mc.sd.boot_id, sizeof(mc.sd.boot_id), 0) !=
	    sizeof(mc.sd.boot_id))
		mc.sd.boot_id = ((uint64_t)getpid() << 32) ^
		    (uint64_t)time(NULL);

	if ((mc.base = event_base_new()) == NULL)
		fatalx("storaged: event_base_new failed");
	mc.sd.ev = ipc_ev_new(mc.base, sock, storaged_dispatch, &mc.sd);
	mc.sweep_ev = main_timer(&mc, MAIN_SWEEP_MS, main_sweep_cb);
	if (!so.sync_always)
		mc.sync_ev = main_timer(&mc,
		    (uint64_t)conf.storage_sync_interval_ms, main_sync_cb);
	mc.sig_term = evsignal_new(mc.base, SIGTERM, main_signal_cb, &mc);
	mc.sig_int = evsignal_new(mc.base, SIGINT, main_signal_cb, &mc);
	mc.sig_hup = evsignal_new(mc.base, SIGHUP, main_hup_cb, &mc);
	mc.conf = &conf;
	event_add(mc.sig_term, NULL);
	event_add(mc.sig_int, NULL);
	event_add(mc.sig_hup, NULL);
	mc.watchdog = sd_watchdog_enabled(0, &usec) > 0;

	log_info("storaged: store %s, listening on %s (sync %s, pid %d)", dir,
	    ep, so.sync_always ? "always" :
	    "interval", (int)getpid());
	sd_notify(0, "READY=1");

	event_base_dispatch(mc.base);

	sd_notify(0, "STOPPING=1");
	ipc_ev_free(mc.sd.ev);
	event_free(mc.sweep_ev);
	if (mc.sync_ev != NULL)
		event_free(mc.sync_ev);
	event_free(mc.sig_term);
	event_free(mc.sig_int);
	event_free(mc.sig_hup);
	event_base_free(mc.base);
	ipc_close(sock);
	ipc_ctx_term();
	/* Writes anything pending and syncs the WAL. */
	store_close(mc.store);
	log_info("storaged: stopped");
	conf_free(&conf);
	return (0);
}
