/* SPDX-License-Identifier: MIT */
/*
 * Per-client limits that are not a simple comparison where they apply:
 * the publish rate (max_publish_rate: back-pressure, the client's input is
 * held until the next second rather than the client disconnected), and the
 * log lines of every limit, kept to one per client and limit every
 * LIMITS_LOG_INTERVAL seconds so that a misbehaving client cannot flood
 * the log.  The counters are in MQTTD_STATS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/log.h"
#include "mqttd/mqttd.h"

#define LIMITS_LOG_INTERVAL	10	/* seconds */
#define LIMITS_LOG_SLOTS	1024	/* power of two */

/* Last log line of one (client, limit); clients sharing a slot share it. */
struct limits_slot {
	uint32_t	hash;
	uint32_t	left_out;
	uint64_t	at;		/* monotonic ms */
};

static struct limits_slot	limits_slots[LIMITS_LOG_SLOTS];

static const char *const limits_names[LIMITS_NKINDS] = {
	"max_publish_rate", "queue limit", "max_write_buffer",
	"max_connections", "max_message_size", "acl"
};

static uint32_t
limits_hash(enum limits_kind kind, const char *s)
{
	uint32_t	h = 2166136261u ^ (uint32_t)kind;

	for (; *s != '\0'; s++) {
		h ^= (uint8_t)*s;
		h *= 16777619u;
	}
	return (h != 0 ? h : 1);
}

void
limits_log(enum limits_kind kind, const char *client_id, const char *peer,
    const char *what)
{
	struct limits_slot	*sl;
	uint64_t		 now = conn_mono_now();
	uint32_t		 h;
	char			 more[64] = "";

	if (client_id == NULL)
		client_id = "?";
	h = limits_hash(kind, client_id);
	sl = &limits_slots[h & (LIMITS_LOG_SLOTS - 1)];
	if (sl->hash == h && now - sl->at < LIMITS_LOG_INTERVAL * 1000) {
		sl->left_out++;
		return;
	}
	if (sl->hash == h && sl->left_out > 0)
		snprintf(more, sizeof(more), " (%u similar lines left out)",
		    sl->left_out);
	log_warnx("client %s (%s): %s: %s%s", client_id,
	    peer != NULL ? peer : "-", kind < LIMITS_NKINDS ?
	    limits_names[kind] : "limit", what, more);
	sl->hash = h;
	sl->at = now;
	sl->left_out = 0;
}

static void
limits_release_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	/* May free c. */
	conn_release(c, CONN_HOLD_RATE);
	conn_flush_all();
}

void
limits_publish(struct conn *c)
{
	int64_t		 max = broker->conf->max_publish_rate;
	uint64_t	 now;
	uint32_t	 sec;
	struct timeval	 tv;
	char		 line[96];

	if (max <= 0 || c->state != CONN_ACTIVE || c->dead)
		return;
	now = conn_mono_now();
	sec = (uint32_t)(now / 1000);
	if (sec != c->rate_sec) {
		c->rate_sec = sec;
		c->rate_count = 0;
	}
	if (++c->rate_count < (uint64_t)max)
		return;
	/* Its share of this second is used: read nothing more until the
	 * next one begins. */
	broker->stats.limit_publish_rate++;
	snprintf(line, sizeof(line), "%u PUBLISH in one second, reading "
	    "paused until the next", c->rate_count);
	limits_log(LIMITS_PUBLISH_RATE, conn_client_id(c), c->peer, line);
	if (broker->base == NULL)
		return;
	if (c->hold_ev == NULL)
		c->hold_ev = evtimer_new(broker->base, limits_release_cb, c);
	tv.tv_sec = 0;
	tv.tv_usec = (suseconds_t)(1000 - now % 1000) * 1000;
	evtimer_add(c->hold_ev, &tv);
	conn_hold(c, CONN_HOLD_RATE);
}

void
limits_free(struct conn *c)
{
	if (c->hold_ev != NULL)
		event_free(c->hold_ev);
	c->hold_ev = NULL;
}
