/* SPDX-License-Identifier: MIT */
/* The process-wide broker state, the periodic sweep and shutdown. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/mqttd.h"
#include "mqttd/topic.h"

#define BROKER_SWEEP_MS		250
#define BROKER_SHUTDOWN_S	3

struct broker		*broker;
static struct broker	 broker_store;

int64_t
broker_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ((int64_t)ts.tv_sec);
}

int64_t
broker_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
broker_retained_free(void *value)
{
	msg_unref(value);
}

static void
broker_flush(evutil_socket_t fd, short what, void *arg)
{
	conn_flush_all();
}

static void
broker_sweep(evutil_socket_t fd, short what, void *arg)
{
	conn_sweep(conn_mono_now());
	session_sweep(broker_now_ms());
}

void
broker_init(const struct conf *conf, struct event_base *base)
{
	struct timeval	tv = { 0, BROKER_SWEEP_MS * 1000 };

	broker = &broker_store;
	memset(broker, 0, sizeof(*broker));
	broker->conf = conf;
	broker->base = base;
	broker->subs = topic_tree_new();
	broker->retained = retain_tree_new(broker_retained_free);
	TAILQ_INIT(&broker->timers);
	TAILQ_INIT(&broker->conns);
	TAILQ_INIT(&broker->closing);
	TAILQ_INIT(&broker->dirty);
	buf_init(&broker->wbuf);
	/* 0 = no limit of our own; the protocol's limit is 65535. */
	broker->max_inflight = conf->max_inflight_messages == 0 ||
	    conf->max_inflight_messages > 65535 ? 65535 :
	    (uint32_t)conf->max_inflight_messages;
	if (base != NULL) {
		broker->sweep_ev = event_new(base, -1, EV_PERSIST,
		    broker_sweep, NULL);
		event_add(broker->sweep_ev, &tv);
		/* Activated by conn_write(): runs after this round's
		 * callbacks, so a connection gets one write per round. */
		broker->flush_ev = event_new(base, -1, 0, broker_flush, NULL);
	}
}

void
broker_free(void)
{
	if (broker == NULL)
		return;
	if (broker->sweep_ev != NULL)
		event_free(broker->sweep_ev);
	listener_close_all();
	conn_free_all();
	if (broker->flush_ev != NULL)
		event_free(broker->flush_ev);
	session_free_all();
	topic_tree_free(broker->subs);
	retain_tree_free(broker->retained);
	buf_free(&broker->wbuf);
	free(broker->dlv);
	broker = NULL;
}

void
broker_shutdown(void)
{
	struct timeval	tv = { BROKER_SHUTDOWN_S, 0 };

	if (broker->shutting_down)
		return;
	broker->shutting_down = true;
	log_info("shutting down: %zu clients", broker->nclients);
	listener_close_all();
	conn_close_all();
	if (TAILQ_EMPTY(&broker->conns) && TAILQ_EMPTY(&broker->closing))
		event_base_loopexit(broker->base, NULL);
	else
		event_base_loopexit(broker->base, &tv);
}
