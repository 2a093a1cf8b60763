/* SPDX-License-Identifier: MIT */
/*
 * The node's configuration: one file of "key = value" lines, parsed here and
 * only here.  Keys and defaults are in conf_keys.c.
 */
#ifndef COMMON_CONF_H
#define COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_DEFAULT_PATH	"/etc/tern/tern.conf"
#define CONF_MAX_LISTENERS	32

/* Which daemons read a key (a key may be read by several). */
#define CONF_D_MQTTD	0x01
#define CONF_D_CLUSTERD	0x02
#define CONF_D_STORAGED	0x04
#define CONF_D_TERNCTL	0x08
#define CONF_D_ALL	0x0f

enum conf_listener_kind {
	CONF_LISTENER_TCP,
	CONF_LISTENER_SSL,
	CONF_LISTENER_WS,
	CONF_LISTENER_WSS,
	CONF_LISTENER_HTTP
};

struct conf_listener {
	enum conf_listener_kind	 kind;
	char			 name[64];
	char			 host[256];	/* "" = any address */
	uint16_t		 port;
};

enum conf_discovery {
	CONF_DISCOVERY_NONE,
	CONF_DISCOVERY_STATIC,
	CONF_DISCOVERY_DNS,
	CONF_DISCOVERY_K8S
};

enum conf_sync {
	CONF_SYNC_ALWAYS,
	CONF_SYNC_INTERVAL
};

struct conf {
	char			*path;		/* file it was read from */
	char			*nodename;
	char			*data_dir;
	char			*run_dir;
	char			*log_level;

	struct conf_listener	 listeners[CONF_MAX_LISTENERS];
	int			 nlisteners;
	char			*ssl_certfile;
	char			*ssl_keyfile;
	char			*ssl_cafile;
	bool			 ssl_require_certificate;
	bool			 ssl_use_identity_as_username;

	bool			 allow_anonymous;
	char			*password_file;
	char			*acl_file;

	char			*cluster_listen;
	char			*cluster_advertise;
	char			*cluster_key_dir;
	int64_t			 replication_factor;

	enum conf_discovery	 discovery;
	char			*discovery_static_seeds;
	char			*discovery_dns_name;
	int64_t			 discovery_k8s_ordinal_start;
	char			*discovery_k8s_seed_node;

	bool			 allow_register_during_netsplit;
	bool			 allow_publish_during_netsplit;
	bool			 allow_subscribe_during_netsplit;
	bool			 allow_unsubscribe_during_netsplit;

	enum conf_sync		 storage_sync;
	int64_t			 storage_sync_interval_ms;
	int64_t			 storage_min_free_bytes;

	int64_t			 max_keepalive;
	int64_t			 max_connections;
	int64_t			 max_message_size;
	int64_t			 max_inflight_messages;
	int64_t			 max_online_messages;
	int64_t			 max_offline_messages;
	int64_t			 max_client_id_size;
	int64_t			 max_topic_alias;
	int64_t			 max_session_expiry;
	int64_t			 retry_interval;
	int64_t			 max_publish_rate;
	int64_t			 max_write_buffer;
};

/* Built-in configuration text used by "ternctl run" without -c. */
extern const char conf_builtin_text[];

/* Sets every key to its default.  Borrows c; strings become owned copies. */
void	conf_defaults(struct conf *c);
/*
 * Reads path into c (after conf_defaults).  On error writes "file:line:
 * reason" into err and returns -1; c then holds a partial configuration
 * that must still be released with conf_free().
 */
int	conf_load(struct conf *c, const char *path, char *err, size_t errlen);
/* Same, from text in memory; name is used in error messages. */
int	conf_parse(struct conf *c, const char *name, const char *text,
	    char *err, size_t errlen);
/* Releases the strings c owns. */
void	conf_free(struct conf *c);
/*
 * Loads path for daemon (a CONF_D_* bit) and exits with "file:line: reason"
 * on any error.  The daemon's start-up helper.
 */
void	conf_load_or_die(struct conf *c, const char *path);
/*
 * SIGHUP: re-reads c->path for daemon (a CONF_D_* bit).  Copies into c the
 * changed keys that the table marks reloadable, applies log_level, and logs
 * each change, and each changed key that needs a restart to take effect.
 * A bad file is logged (file:line: reason) and changes nothing.  Returns
 * the number of keys applied, or -1.  Blocks on reading the file.
 */
int	conf_reload(struct conf *c, unsigned daemon);
/* Returns "tcp", "ssl", "ws", "wss" or "http". */
const char *conf_listener_kind_name(enum conf_listener_kind kind);
/* Splits "host:port" or "[v6]:port"; returns -1 with a reason in err. */
int	conf_split_hostport(const char *s, char *host, size_t hostlen,
	    uint16_t *port, char *err, size_t errlen);
/* Path of the ipc socket of daemon name ("mqttd", ...) under run_dir. */
void	conf_ipc_endpoint(const struct conf *c, const char *daemon,
	    char *out, size_t outlen);

#endif
