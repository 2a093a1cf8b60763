/* SPDX-License-Identifier: MIT */
/*
 * The table of every configuration key: name, type, default, the daemons
 * that read it and whether SIGHUP reloads it.  A new key is a row here plus
 * a line in man/tern.conf.5.  Listener addresses (listener.KIND.NAME) are
 * handled in conf.c since their names are the user's.
 */
#include <stddef.h>
#include <string.h>

#include "common/conf.h"
#include "common/conf_keys.h"

#define OFF(f)	offsetof(struct conf, f)
#define M	CONF_D_MQTTD
#define C	CONF_D_CLUSTERD
#define S	CONF_D_STORAGED
#define T	CONF_D_TERNCTL
#define ALL	CONF_D_ALL
#define I64	INT64_MAX

static const char *const discovery_values[] = {
	"none", "static", "dns", "k8s", NULL
};
static const char *const sync_values[] = { "always", "interval", NULL };

const struct conf_key conf_keys[] = {
	{ "nodename", CONF_T_STRING, OFF(nodename), "tern@127.0.0.1", ALL, 0,
	    0, 0, NULL },
	{ "data_dir", CONF_T_STRING, OFF(data_dir), "/var/lib/tern", ALL, 0,
	    0, 0, NULL },
	{ "run_dir", CONF_T_STRING, OFF(run_dir), "/run/tern", ALL, 0,
	    0, 0, NULL },
	{ "log_level", CONF_T_STRING, OFF(log_level), "info", ALL, 1,
	    0, 0, NULL },

	{ "listener.ssl.certfile", CONF_T_STRING, OFF(ssl_certfile), NULL, M,
	    1, 0, 0, NULL },
	{ "listener.ssl.keyfile", CONF_T_STRING, OFF(ssl_keyfile), NULL, M,
	    1, 0, 0, NULL },
	{ "listener.ssl.cafile", CONF_T_STRING, OFF(ssl_cafile), NULL, M,
	    1, 0, 0, NULL },
	{ "listener.ssl.require_certificate", CONF_T_BOOL,
	    OFF(ssl_require_certificate), "off", M, 0, 0, 0, NULL },
	{ "listener.ssl.use_identity_as_username", CONF_T_BOOL,
	    OFF(ssl_use_identity_as_username), "off", M, 0, 0, 0, NULL },

	{ "allow_anonymous", CONF_T_BOOL, OFF(allow_anonymous), "off", M, 1,
	    0, 0, NULL },
	{ "password_file", CONF_T_STRING, OFF(password_file), NULL, M | T, 1,
	    0, 0, NULL },
	{ "acl_file", CONF_T_STRING, OFF(acl_file), NULL, M, 1, 0, 0, NULL },

	{ "cluster.listen", CONF_T_HOSTPORT, OFF(cluster_listen),
	    "0.0.0.0:44053", C, 0, 0, 0, NULL },
	{ "cluster.advertise", CONF_T_HOSTPORT, OFF(cluster_advertise),
	    "127.0.0.1:44053", C, 0, 0, 0, NULL },
	{ "cluster.key_dir", CONF_T_STRING, OFF(cluster_key_dir),
	    "/etc/tern/keys", C | T, 0, 0, 0, NULL },
	{ "cluster.replication_factor", CONF_T_INT, OFF(replication_factor),
	    "2", C | M, 0, 1, 5, NULL },

	{ "discovery", CONF_T_ENUM, OFF(discovery), "none", C, 0, 0, 0,
	    discovery_values },
	{ "discovery.static.seeds", CONF_T_STRING, OFF(discovery_static_seeds),
	    NULL, C, 0, 0, 0, NULL },
	{ "discovery.dns.name", CONF_T_STRING, OFF(discovery_dns_name), NULL,
	    C, 0, 0, 0, NULL },
	{ "discovery.k8s.ordinal_start", CONF_T_INT,
	    OFF(discovery_k8s_ordinal_start), "0", C, 0, 0, 1000000, NULL },
	{ "discovery.k8s.seed_node", CONF_T_STRING,
	    OFF(discovery_k8s_seed_node), NULL, C, 0, 0, 0, NULL },

	{ "allow_register_during_netsplit", CONF_T_BOOL,
	    OFF(allow_register_during_netsplit), "off", M | C, 1, 0, 0, NULL },
	{ "allow_publish_during_netsplit", CONF_T_BOOL,
	    OFF(allow_publish_during_netsplit), "off", M | C, 1, 0, 0, NULL },
	{ "allow_subscribe_during_netsplit", CONF_T_BOOL,
	    OFF(allow_subscribe_during_netsplit), "off", M | C, 1, 0, 0, NULL },
	{ "allow_unsubscribe_during_netsplit", CONF_T_BOOL,
	    OFF(allow_unsubscribe_during_netsplit), "off", M | C, 1, 0, 0,
	    NULL },

	{ "storage.sync", CONF_T_ENUM, OFF(storage_sync), "always", S, 0,
	    0, 0, sync_values },
	{ "storage.sync_interval", CONF_T_INT, OFF(storage_sync_interval_ms),
	    "100", S, 0, 1, 60000, NULL },
	{ "storage.min_free_bytes", CONF_T_INT, OFF(storage_min_free_bytes),
	    "67108864", S, 0, 0, I64, NULL },

	{ "max_keepalive", CONF_T_INT, OFF(max_keepalive), "65535", M, 1,
	    0, 65535, NULL },
	{ "max_connections", CONF_T_INT, OFF(max_connections), "0", M, 1,
	    0, I64, NULL },
	{ "max_message_size", CONF_T_INT, OFF(max_message_size), "268435455",
	    M, 1, 0, 268435455, NULL },
	{ "max_inflight_messages", CONF_T_INT, OFF(max_inflight_messages),
	    "20", M, 1, 0, 65535, NULL },
	{ "max_online_messages", CONF_T_INT, OFF(max_online_messages), "1000",
	    M | S, 1, 0, I64, NULL },
	{ "max_offline_messages", CONF_T_INT, OFF(max_offline_messages),
	    "1000", M | S, 1, 0, I64, NULL },
	{ "max_client_id_size", CONF_T_INT, OFF(max_client_id_size), "256",
	    M, 1, 23, 65535, NULL },
	{ "max_topic_alias", CONF_T_INT, OFF(max_topic_alias), "100", M, 1,
	    0, 65535, NULL },
	{ "max_session_expiry", CONF_T_INT, OFF(max_session_expiry), "0", M,
	    1, 0, 4294967295LL, NULL },
	{ "retry_interval", CONF_T_INT, OFF(retry_interval), "20", M, 1,
	    0, 86400, NULL },
	{ "max_publish_rate", CONF_T_INT, OFF(max_publish_rate), "0", M, 1,
	    0, I64, NULL },
	{ "max_write_buffer", CONF_T_INT, OFF(max_write_buffer), "4194304",
	    M, 1, 4096, I64, NULL },
};

const size_t conf_nkeys = sizeof(conf_keys) / sizeof(conf_keys[0]);

const struct conf_key *
conf_key_find(const char *name)
{
	size_t	i;

	for (i = 0; i < conf_nkeys; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return (&conf_keys[i]);
	return (NULL);
}
