/* SPDX-License-Identifier: MIT */
/*
 * Authentication and authorisation hooks.  Issue 6 fills them with password
 * files (salted KDF hashes) and ACLs; today only allow_anonymous decides.
 */
#include "common/log.h"
#include "mqttd/mqttd.h"

enum mqtt_rc
auth_check(const struct conn *c, const struct mqtt_connect *co)
{
	const struct conf	*conf = broker->conf;

	if (conf->allow_anonymous)
		return (MQTT_RC_SUCCESS);
	/* TODO(#6): check co's username and password in password_file. */
	if (conf->password_file != NULL && co->has_username)
		return (MQTT_RC_BAD_USERNAME_OR_PASSWORD);
	return (MQTT_RC_NOT_AUTHORIZED);
}

bool
is_auth_publish_allowed(const struct conn *c, const char *topic, size_t len)
{
	/* TODO(#6): acl_file. */
	return (true);
}

bool
is_auth_subscribe_allowed(const struct conn *c, const char *filter,
    size_t len)
{
	/* TODO(#6): acl_file. */
	return (true);
}
