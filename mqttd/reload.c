/* SPDX-License-Identifier: MIT */
/*
 * SIGHUP and the systemd watchdog of mqttd.  SIGHUP re-reads the
 * configuration (conf_reload() applies the reloadable keys and logs what
 * changed and what needs a restart), then the password file, the ACL and
 * the TLS certificates; connections stay up.  Limits are read from the
 * configuration where they are used, so a new value applies from then on;
 * what the broker derives from one is derived again here.
 */
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/conf.h"
#include "common/log.h"
#include "mqttd/mqttd.h"

/* Watchdog pings at most this far apart (and at least twice a period). */
#define RELOAD_WATCHDOG_MS	1000

static struct conf	*reload_conf;	/* borrowed: the broker's */
static struct event	*reload_hup_ev;
static struct event	*reload_wd_ev;

static void
reload_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

static void
reload_hup_cb(evutil_socket_t sig, short what, void *arg)
{
	reload_apply();
}

void
reload_apply(void)
{
	struct conf	*conf = reload_conf;
	uint32_t	 inflight;
	char		 err[1024];

	log_info("reload: SIGHUP: reading %s", conf->path);
	/* A bad file changes no key; the files it names are read again
	 * all the same (their paths did not change). */
	conf_reload(conf, CONF_D_MQTTD);
	inflight = conf->max_inflight_messages == 0 ||
	    conf->max_inflight_messages > 65535 ? 65535 :
	    (uint32_t)conf->max_inflight_messages;
	if (inflight != broker->max_inflight) {
		log_info("reload: in-flight window %u -> %u (for new "
		    "connections)", broker->max_inflight, inflight);
		broker->max_inflight = inflight;
	}
	auth_reload();
	if (xport_tls_init(true, err, sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the previous certificates",
		    err);
	log_info("reload: done, %zu clients connected", broker->nclients);
}

void
reload_init(struct conf *conf, struct event_base *base)
{
	struct timeval	tv;
	uint64_t	usec = 0, ms;
	char		err[1024];

	reload_conf = conf;
	if (auth_init(err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (xport_tls_init(false, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (base == NULL)
		return;
	reload_hup_ev = evsignal_new(base, SIGHUP, reload_hup_cb, NULL);
	if (reload_hup_ev == NULL || event_add(reload_hup_ev, NULL) == -1)
		fatalx("cannot watch SIGHUP");
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		ms = usec / 2000;
		if (ms > RELOAD_WATCHDOG_MS || ms == 0)
			ms = ms == 0 ? 1 : RELOAD_WATCHDOG_MS;
		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
		reload_wd_ev = event_new(base, -1, EV_PERSIST,
		    reload_watchdog_cb, NULL);
		event_add(reload_wd_ev, &tv);
		sd_notify(0, "WATCHDOG=1");
		log_info("systemd watchdog: a ping every %ju ms",
		    (uintmax_t)ms);
	}
}

void
reload_free(void)
{
	if (reload_hup_ev != NULL)
		event_free(reload_hup_ev);
	reload_hup_ev = NULL;
	if (reload_wd_ev != NULL)
		event_free(reload_wd_ev);
	reload_wd_ev = NULL;
	auth_free();
	xport_tls_free();
}
