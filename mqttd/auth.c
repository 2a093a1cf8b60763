/* SPDX-License-Identifier: MIT */
/*
 * Authentication and authorisation wired into the broker: allow_anonymous,
 * password_file (checked on the auth pool's threads, so a KDF run never
 * blocks the loop), the TLS certificate's identity as username, and
 * acl_file on PUBLISH, SUBSCRIBE, wills and delivery.  The tables and the
 * pool themselves are in passwd.c, authpool.c and acl.c (auth.h).
 *
 * A CONNECT with a username, when a password file is configured, is
 * handled in two steps: auth_connect_defer() copies its bytes, holds the
 * connection's input and submits the check; the pool's callback decodes
 * the copy again and runs connect_handle(), whose auth_check() then reads
 * the result.  Unknown users and wrong passwords both cost one KDF run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/auth.h"
#include "mqttd/mqttd.h"

/* Worker threads for password checks, and checks queued at most. */
#define AUTH_THREADS		2
#define AUTH_MAX_PENDING	1024

enum auth_wait_state {
	AUTH_WAIT_RUNNING,
	AUTH_WAIT_DONE,
	AUTH_WAIT_BUSY		/* the pool was full: refused */
};

/* The CONNECT of one connection while (and after) its password check. */
struct auth_wait {
	struct authpool_job	*job;		/* NULL once reported */
	uint8_t			*raw;		/* the CONNECT, owned */
	size_t			 len;
	enum auth_wait_state	 state;
	enum passwd_result	 result;
};

static struct authpool	*auth_pool;
static struct acl	*auth_acl;

static int
auth_load_passwd(char *err, size_t errlen)
{
	struct passwd_table	*t;
	const char		*path = broker->conf->password_file;

	if (path == NULL) {
		if (auth_pool != NULL)
			authpool_set_table(auth_pool, NULL);
		return (0);
	}
	if ((t = passwd_table_load(path, err, errlen)) == NULL)
		return (-1);
	if (auth_pool == NULL) {
		auth_pool = authpool_new(broker->base, AUTH_THREADS,
		    AUTH_MAX_PENDING);
		if (auth_pool == NULL) {
			passwd_table_free(t);
			snprintf(err, errlen, "cannot start the password "
			    "check threads");
			return (-1);
		}
	}
	log_info("auth: %s: %zu user%s", path, passwd_table_count(t),
	    passwd_table_count(t) == 1 ? "" : "s");
	authpool_set_table(auth_pool, t);
	return (0);
}

static int
auth_load_acl(char *err, size_t errlen)
{
	struct acl	*acl;
	const char	*path = broker->conf->acl_file;

	if (path == NULL) {
		if (auth_acl != NULL)
			log_info("auth: acl_file unset: no ACL");
		acl_free(auth_acl);
		auth_acl = NULL;
		return (0);
	}
	if ((acl = acl_load(path, err, errlen)) == NULL)
		return (-1);
	log_info("auth: %s: %zu rule%s", path, acl_count(acl),
	    acl_count(acl) == 1 ? "" : "s");
	acl_free(auth_acl);
	auth_acl = acl;
	return (0);
}

int
auth_init(char *err, size_t errlen)
{
	if (auth_load_passwd(err, errlen) == -1)
		return (-1);
	return (auth_load_acl(err, errlen));
}

void
auth_reload(void)
{
	char	err[1024];

	if (auth_load_passwd(err, sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the previous passwords", err);
	if (auth_load_acl(err, sizeof(err)) == -1)
		log_warnx("reload: %s; keeping the previous ACL", err);
}

void
auth_free(void)
{
	authpool_free(auth_pool);
	auth_pool = NULL;
	acl_free(auth_acl);
	auth_acl = NULL;
}

static void
auth_wait_free(struct auth_wait *w)
{
	if (w == NULL)
		return;
	if (w->job != NULL)
		authpool_cancel(auth_pool, w->job);
	free(w->raw);
	free(w);
}

void
auth_conn_free(struct conn *c)
{
	auth_wait_free(c->authw);
	c->authw = NULL;
}

/* The pool's answer for c: handle the CONNECT that waited for it. */
static void
auth_done(void *arg, enum passwd_result result)
{
	struct conn		*c = arg;
	struct auth_wait	*w = c->authw;
	struct mqtt_packet	 pkt;
	const char		*why = "?";

	w->job = NULL;
	w->state = AUTH_WAIT_DONE;
	w->result = result;
	if (c->state != CONN_NEW)
		return;		/* closed (CONNECT timeout) meanwhile */
	memset(&pkt, 0, sizeof(pkt));
	c->busy = true;
	if (mqtt_decode(w->raw, w->len, 0, &pkt, &why) != MQTT_RC_SUCCESS)
		conn_fail(c, MQTT_RC_MALFORMED_PACKET, why);	/* cannot be */
	else
		connect_handle(c, &pkt);
	mqtt_packet_clear(&pkt);
	free(w->raw);
	w->raw = NULL;
	c->busy = false;
	/* Handles what the client sent after its CONNECT; may free c. */
	conn_release(c, CONN_HOLD_AUTH);
	conn_flush_all();
}

static bool
is_auth_identity_conn(const struct conn *c)
{
	return (broker->conf->ssl_use_identity_as_username &&
	    xport_identity(c) != NULL);
}

bool
auth_connect_defer(struct conn *c, const struct mqtt_connect *co,
    const uint8_t *raw, size_t len)
{
	struct auth_wait	*w;

	if (c->authw != NULL)
		return (false);		/* checked: connect_handle() now */
	if (broker->conf->password_file == NULL || auth_pool == NULL ||
	    !co->has_username || is_auth_identity_conn(c))
		return (false);
	w = xcalloc(1, sizeof(*w));
	c->authw = w;
	w->job = authpool_submit(auth_pool, (const char *)co->username.p,
	    co->username.len, co->password.p,
	    co->has_password ? co->password.len : 0, auth_done, c);
	if (w->job == NULL) {
		w->state = AUTH_WAIT_BUSY;
		return (false);
	}
	w->state = AUTH_WAIT_RUNNING;
	w->raw = xmemdup(raw, len);
	w->len = len;
	conn_hold(c, CONN_HOLD_AUTH);
	return (true);
}

/* The client id of a CONNECT, NUL-terminated, for ACL patterns. */
static char *
auth_client_id(const struct mqtt_connect *co)
{
	return (xstrndup((const char *)co->client_id.p, co->client_id.len));
}

static void
auth_log_refusal(const struct conn *c, const struct mqtt_connect *co,
    const char *user, const char *why)
{
	char	*id = auth_client_id(co);

	log_warnx("client %s (%s): login refused for user %s: %s",
	    id[0] != '\0' ? id : "?", c->peer, user != NULL ? user : "-",
	    why);
	free(id);
}

/* The username c logs in with (a new string; NULL: anonymous), or a
 * refusal in *rc. */
static char *
auth_username(struct conn *c, const struct mqtt_connect *co,
    enum mqtt_rc *rc)
{
	const struct conf	*conf = broker->conf;
	struct auth_wait	*w = c->authw;
	char			*user = NULL;

	*rc = MQTT_RC_SUCCESS;
	if (c->x != NULL && conf->ssl_use_identity_as_username &&
	    xport_identity(c) != NULL)
		return (xstrdup(xport_identity(c)));
	if (c->x != NULL && conf->ssl_use_identity_as_username &&
	    is_xport_tls(c)) {
		auth_log_refusal(c, co, NULL, "no client certificate");
		*rc = MQTT_RC_NOT_AUTHORIZED;
		return (NULL);
	}
	if (!co->has_username) {
		if (!conf->allow_anonymous) {
			broker->stats.auth_anonymous_refused++;
			auth_log_refusal(c, co, NULL, "anonymous clients are "
			    "not allowed");
			*rc = MQTT_RC_NOT_AUTHORIZED;
		}
		return (NULL);
	}
	user = xstrndup((const char *)co->username.p, co->username.len);
	if (strlen(user) != co->username.len) {
		auth_log_refusal(c, co, NULL, "username holds a NUL");
		*rc = MQTT_RC_BAD_USERNAME_OR_PASSWORD;
		goto fail;
	}
	if (conf->password_file == NULL) {
		/* No passwords to check: anonymous rules, named user. */
		if (!conf->allow_anonymous) {
			broker->stats.auth_anonymous_refused++;
			auth_log_refusal(c, co, user, "no password_file and "
			    "anonymous clients are not allowed");
			*rc = MQTT_RC_NOT_AUTHORIZED;
			goto fail;
		}
		return (user);
	}
	if (w == NULL || w->state == AUTH_WAIT_BUSY) {
		broker->stats.auth_busy++;
		auth_log_refusal(c, co, user, w == NULL ? "password file not "
		    "loaded" : "too many password checks waiting");
		*rc = MQTT_RC_SERVER_BUSY;
		goto fail;
	}
	if (w->state != AUTH_WAIT_DONE || w->result != PASSWD_RESULT_OK) {
		broker->stats.auth_failed++;
		auth_log_refusal(c, co, user, w->state != AUTH_WAIT_DONE ?
		    "not checked" : passwd_result_name(w->result));
		*rc = MQTT_RC_BAD_USERNAME_OR_PASSWORD;
		goto fail;
	}
	broker->stats.auth_ok++;
	return (user);
 fail:
	free(user);
	return (NULL);
}

enum mqtt_rc
auth_check(const struct conn *cc, const struct mqtt_connect *co)
{
	struct conn	*c = (struct conn *)cc;
	char		*user, *id;
	enum mqtt_rc	 rc;
	bool		 ok;

	user = auth_username(c, co, &rc);
	if (rc != MQTT_RC_SUCCESS)
		return (rc);
	if (co->will_flag && auth_acl != NULL) {
		id = auth_client_id(co);
		ok = acl_check(auth_acl, user, id, (const char *)
		    co->will_topic.p, co->will_topic.len, ACL_WRITE) ==
		    ACL_ALLOW;
		free(id);
		if (!ok) {
			broker->stats.acl_denied_will++;
			auth_log_refusal(c, co, user, "the ACL does not allow "
			    "its will topic");
			free(user);
			return (MQTT_RC_NOT_AUTHORIZED);
		}
	}
	free(c->username);
	c->username = user;
	return (MQTT_RC_SUCCESS);
}

static void
auth_log_denied(const struct conn *c, const char *what, const char *topic,
    size_t len)
{
	char	line[160];

	snprintf(line, sizeof(line), "ACL denies %s %.*s (user %s)", what,
	    len > 80 ? 80 : (int)len, topic,
	    c->username != NULL ? c->username : "-");
	limits_log(LIMITS_ACL, conn_client_id(c), c->peer, line);
}

bool
is_auth_publish_allowed(const struct conn *c, const char *topic, size_t len)
{
	if (auth_acl == NULL)
		return (true);
	if (acl_check(auth_acl, c->username, conn_client_id(c), topic, len,
	    ACL_WRITE) == ACL_ALLOW)
		return (true);
	broker->stats.acl_denied_publish++;
	auth_log_denied(c, "publish to", topic, len);
	return (false);
}

bool
is_auth_subscribe_allowed(const struct conn *c, const char *filter,
    size_t len)
{
	/* ACL_ALLOW_SOME is allowed: delivery checks each topic. */
	if (auth_acl == NULL || acl_check(auth_acl, c->username,
	    conn_client_id(c), filter, len, ACL_READ) != ACL_DENY)
		return (true);
	broker->stats.acl_denied_subscribe++;
	auth_log_denied(c, "subscribe to", filter, len);
	return (false);
}

bool
is_auth_deliver_allowed(const struct conn *c, const char *topic, size_t len)
{
	if (auth_acl == NULL || acl_check(auth_acl, c->username,
	    conn_client_id(c), topic, len, ACL_READ) != ACL_DENY)
		return (true);
	broker->stats.acl_denied_deliver++;
	return (false);
}
