/* SPDX-License-Identifier: MIT */
/*
 * CONNECT and DISCONNECT: client id rules, authentication hook, session
 * takeover and resumption, keep alive, wills and the CONNACK.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/cluster.h"
#include "mqttd/mqttd.h"

/* Refuses c's CONNECT with rc (a 5.0 code; 3.x gets the mapped code). */
static void
connect_refuse(struct conn *c, enum mqtt_rc rc, const char *why)
{
	struct mqtt_packet	pkt;

	log_warnx("client ? (%s): CONNECT refused: %s (%s)", c->peer, why,
	    mqtt_rc_name(rc));
	broker->stats.connects_refused++;
	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_CONNACK;
	pkt.u.connack.session_present = false;
	if (c->proto == MQTT_PROTO_V5)
		pkt.u.connack.rc = rc;
	else
		pkt.u.connack.rc = mqtt_rc_to_v3_connack(rc);
	conn_send(c, &pkt);
	conn_close(c, false, true);
}

/* Makes a client id no session uses (5.0 Assigned Client Identifier). */
static void
connect_assign_id(char *buf, size_t len)
{
	static uint64_t	seed;

	if (seed == 0 && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)broker_now() * 2654435761u;
	do {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		snprintf(buf, len, "tern-%016" PRIx64, seed);
	} while (session_find(buf, strlen(buf)) != NULL);
}

/* Takes the session of id over from a live connection, if there is one. */
static void
connect_takeover(struct conn *c, const char *id, size_t idlen)
{
	struct session	*old;
	struct conn	*oc;

	if ((old = session_find(id, idlen)) == NULL || old->conn == NULL)
		return;
	oc = old->conn;
	log_info("client %s (%s): takes the session over from %s",
	    old->client_id, c->peer, oc->peer);
	broker->stats.takeovers++;
	/* [MQTT-3.1.4-3]: DISCONNECT 0x8E, then close (will as usual). */
	conn_send_disconnect(oc, MQTT_RC_SESSION_TAKEN_OVER,
	    "session taken over");
	conn_close(oc, false, true);
}

static uint32_t
connect_expiry(const struct conn *c, const struct mqtt_connect *co,
    bool *capped)
{
	uint64_t	max = (uint64_t)broker->conf->max_session_expiry;
	uint32_t	expiry;

	*capped = false;
	if (c->proto == MQTT_PROTO_V5) {
		expiry = MQTT_PROP_HAS(&co->props,
		    MQTT_PROP_SESSION_EXPIRY_INTERVAL) ?
		    co->props.session_expiry : 0;
	} else
		expiry = co->clean_start ? 0 : MQTTD_EXPIRY_NEVER;
	if (max != 0 && expiry > max) {
		expiry = (uint32_t)max;
		*capped = true;
	}
	return (expiry);
}

static void
connect_send_connack(struct conn *c, const struct mqtt_connect *co,
    bool present, const char *assigned, uint32_t expiry, bool capped,
    uint16_t server_ka)
{
	const struct conf	*conf = broker->conf;
	struct mqtt_packet	 pkt;
	struct mqtt_props	*p = &pkt.u.connack.props;

	memset(&pkt, 0, sizeof(pkt));
	pkt.type = MQTT_CONNACK;
	pkt.u.connack.session_present = present;
	pkt.u.connack.rc = MQTT_RC_SUCCESS;
	if (c->proto == MQTT_PROTO_V5) {
		if (capped) {
			MQTT_PROP_SET(p, MQTT_PROP_SESSION_EXPIRY_INTERVAL);
			p->session_expiry = expiry;
		}
		if (broker->max_inflight < 65535) {
			MQTT_PROP_SET(p, MQTT_PROP_RECEIVE_MAXIMUM);
			p->receive_maximum = (uint16_t)broker->max_inflight;
		}
		/* Maximum QoS is left out: 2 is the default ([3.2.2.3.4]). */
		MQTT_PROP_SET(p, MQTT_PROP_RETAIN_AVAILABLE);
		p->retain_available = 1;
		if (conf->max_message_size > 0) {
			MQTT_PROP_SET(p, MQTT_PROP_MAXIMUM_PACKET_SIZE);
			p->maximum_packet_size =
			    (uint32_t)conf->max_message_size;
		}
		if (assigned != NULL) {
			MQTT_PROP_SET(p, MQTT_PROP_ASSIGNED_CLIENT_IDENTIFIER);
			p->assigned_client_id.p = (const uint8_t *)assigned;
			p->assigned_client_id.len = strlen(assigned);
		}
		if (conf->max_topic_alias > 0) {
			MQTT_PROP_SET(p, MQTT_PROP_TOPIC_ALIAS_MAXIMUM);
			p->topic_alias_maximum =
			    (uint16_t)conf->max_topic_alias;
		}
		MQTT_PROP_SET(p, MQTT_PROP_WILDCARD_SUB_AVAILABLE);
		p->wildcard_sub_available = 1;
		MQTT_PROP_SET(p, MQTT_PROP_SUB_ID_AVAILABLE);
		p->sub_id_available = 1;
		MQTT_PROP_SET(p, MQTT_PROP_SHARED_SUB_AVAILABLE);
		p->shared_sub_available = 1;
		if (server_ka != co->keep_alive) {
			MQTT_PROP_SET(p, MQTT_PROP_SERVER_KEEP_ALIVE);
			p->server_keep_alive = server_ka;
		}
	}
	conn_send(c, &pkt);
}

/* 5.0 connection parameters from the CONNECT properties. */
static void
connect_set_limits(struct conn *c, const struct mqtt_connect *co)
{
	const struct mqtt_props	*p = &co->props;
	uint32_t		 window = 65535;

	c->out_window = (uint16_t)broker->max_inflight;
	if (c->proto != MQTT_PROTO_V5)
		return;
	if (MQTT_PROP_HAS(p, MQTT_PROP_RECEIVE_MAXIMUM) &&
	    p->receive_maximum > 0)
		window = p->receive_maximum;
	if (window < c->out_window)
		c->out_window = (uint16_t)window;
	if (MQTT_PROP_HAS(p, MQTT_PROP_MAXIMUM_PACKET_SIZE))
		c->max_packet = p->maximum_packet_size;
	if (MQTT_PROP_HAS(p, MQTT_PROP_TOPIC_ALIAS_MAXIMUM) &&
	    p->topic_alias_maximum > 0) {
		c->aout = xmalloc(sizeof(*c->aout));
		alias_out_init(c->aout, p->topic_alias_maximum);
	}
	if (MQTT_PROP_HAS(p, MQTT_PROP_REQUEST_PROBLEM_INFORMATION))
		c->problem_info = p->request_problem_info != 0;
	c->topic_alias_max = (uint16_t)broker->conf->max_topic_alias;
}

/* Keep alive: 5.0 may be lowered to max_keepalive (Server Keep Alive). */
static uint16_t
connect_keepalive(const struct conn *c, const struct mqtt_connect *co)
{
	int64_t	max = broker->conf->max_keepalive;

	if (c->proto != MQTT_PROTO_V5 || max == 0)
		return (co->keep_alive);
	if (co->keep_alive == 0 || co->keep_alive > max)
		return ((uint16_t)max);
	return (co->keep_alive);
}

void
connect_handle(struct conn *c, struct mqtt_packet *pkt)
{
	const struct conf	*conf = broker->conf;
	struct mqtt_connect	*co = &pkt->u.connect;
	struct session		*s;
	struct msg		*will;
	char			 idbuf[64];
	const char		*id, *assigned = NULL;
	size_t			 idlen;
	uint32_t		 expiry, will_delay = 0;
	uint16_t		 ka;
	bool			 capped, present = false;
	enum mqtt_rc		 rc;

	c->proto = co->proto_level;
	if (c->proto == MQTT_PROTO_V5 &&
	    MQTT_PROP_HAS(&co->props, MQTT_PROP_AUTHENTICATION_METHOD)) {
		connect_refuse(c, MQTT_RC_BAD_AUTHENTICATION_METHOD,
		    "enhanced authentication is not supported");
		return;
	}
	id = (const char *)co->client_id.p;
	idlen = co->client_id.len;
	if (idlen == 0) {
		/* [MQTT-3.1.3-7], [MQTT-3.1.3-8]; 3.1 needs an id. */
		if (c->proto == MQTT_PROTO_V31 ||
		    (c->proto == MQTT_PROTO_V311 && !co->clean_start)) {
			connect_refuse(c, MQTT_RC_CLIENT_ID_NOT_VALID,
			    "empty client id without clean session");
			return;
		}
		connect_assign_id(idbuf, sizeof(idbuf));
		id = idbuf;
		idlen = strlen(idbuf);
		if (c->proto == MQTT_PROTO_V5)
			assigned = idbuf;
	} else if (c->proto == MQTT_PROTO_V31 && idlen > 23) {
		/* MQTT 3.1: 1 to 23 characters. */
		connect_refuse(c, MQTT_RC_CLIENT_ID_NOT_VALID,
		    "3.1 client id longer than 23 characters");
		return;
	} else if (idlen > (size_t)conf->max_client_id_size) {
		connect_refuse(c, MQTT_RC_CLIENT_ID_NOT_VALID,
		    "client id longer than max_client_id_size");
		return;
	} else if (memchr(id, '\0', idlen) != NULL) {
		connect_refuse(c, MQTT_RC_CLIENT_ID_NOT_VALID,
		    "client id holds a NUL");
		return;
	}
	if (co->will_flag && !is_mqtt_topic_name(co->will_topic.p,
	    co->will_topic.len)) {
		if (c->proto == MQTT_PROTO_V5)
			connect_refuse(c, MQTT_RC_TOPIC_NAME_INVALID,
			    "invalid will topic");
		else {
			log_warnx("client ? (%s): invalid will topic, closing",
			    c->peer);
			broker->stats.protocol_errors++;
			conn_close(c, false, false);
		}
		return;
	}
	if (conf->max_connections > 0 &&
	    broker->nclients >= (size_t)conf->max_connections) {
		broker->stats.limit_connections++;
		connect_refuse(c, MQTT_RC_SERVER_UNAVAILABLE,
		    "max_connections reached");
		return;
	}
	if ((rc = auth_check(c, co)) != MQTT_RC_SUCCESS) {
		connect_refuse(c, rc, "not authorised");
		return;
	}
	if (!is_durable_ready()) {
		/* A session made now would miss the stored one. */
		connect_refuse(c, MQTT_RC_SERVER_UNAVAILABLE,
		    "stored sessions not loaded yet (storaged)");
		return;
	}

	/* Session ownership (issue 4): one owner node per client id. */
	switch (cluster_connect(c, pkt, co->client_id.len > 0)) {
	case CLUSTER_CONNECT_LATER:
		return;		/* connect_handle() again once claimed */
	case CLUSTER_CONNECT_REFUSE:
		connect_refuse(c, MQTT_RC_SERVER_UNAVAILABLE, "this node is "
		    "cut off from most of the cluster, or the claim of the "
		    "client id failed");
		return;
	case CLUSTER_CONNECT_LEAVING:
		connect_refuse(c, MQTT_RC_USE_ANOTHER_SERVER, "this node is "
		    "leaving the cluster");
		return;
	case CLUSTER_CONNECT_NOW:
		break;
	}
	connect_takeover(c, id, idlen);
	if ((s = session_find(id, idlen)) != NULL && co->clean_start) {
		session_end(s);
		s = NULL;
	}
	if (s != NULL) {
		present = true;
		/* [MQTT-3.1.3-9]: reconnected before the will delay. */
		session_set_will(s, NULL, 0);
	} else
		s = session_new(id, idlen);
	s->conn = c;
	c->sess = s;
	session_update_timers(s);
	s->proto = c->proto;
	s->clean = co->clean_start;
	expiry = connect_expiry(c, co, &capped);
	s->expiry = expiry;
	if (co->will_flag) {
		will = msg_new((const char *)co->will_topic.p,
		    co->will_topic.len, co->will_payload.p,
		    co->will_payload.len, co->will_qos, co->will_retain,
		    c->proto == MQTT_PROTO_V5 ? &co->will_props : NULL,
		    s->client_id, s->id_len, broker_now());
		if (c->proto == MQTT_PROTO_V5 && MQTT_PROP_HAS(&co->will_props,
		    MQTT_PROP_WILL_DELAY_INTERVAL))
			will_delay = co->will_props.will_delay;
		session_set_will(s, will, will_delay);
	}
	connect_set_limits(c, co);
	ka = connect_keepalive(c, co);
	c->keepalive = ka;
	c->state = CONN_ACTIVE;
	broker->nclients++;
	broker->stats.connects++;
	log_debug("client %s (%s): connected, protocol %u, %s session",
	    s->client_id, c->peer, c->proto, present ? "resumed" : "new");
	durable_session_connected(s);
	connect_send_connack(c, co, present, assigned, expiry, capped, ka);
	if (present)
		deliver_resume(s);
}

void
connect_handle_disconnect(struct conn *c, struct mqtt_packet *pkt)
{
	struct mqtt_disconnect	*d = &pkt->u.disconnect;
	struct session		*s = c->sess;
	uint64_t		 max;
	uint32_t		 expiry;
	bool			 normal = true;

	max = (uint64_t)broker->conf->max_session_expiry;
	if (c->proto == MQTT_PROTO_V5) {
		if (MQTT_PROP_HAS(&d->props,
		    MQTT_PROP_SESSION_EXPIRY_INTERVAL) && s != NULL) {
			expiry = d->props.session_expiry;
			/* [MQTT-3.14.2-2] */
			if (s->expiry == 0 && expiry != 0) {
				broker->stats.protocol_errors++;
				conn_fail(c, MQTT_RC_PROTOCOL_ERROR,
				    "DISCONNECT sets a session expiry after 0");
				return;
			}
			if (max != 0 && expiry > max)
				expiry = (uint32_t)max;
			s->expiry = expiry;
		}
		if (d->rc == MQTT_RC_DISCONNECT_WITH_WILL)
			normal = false;
	}
	broker->stats.disconnects_clean++;
	log_debug("client %s (%s): DISCONNECT", conn_client_id(c), c->peer);
	conn_close(c, normal, false);
}
