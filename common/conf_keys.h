/* SPDX-License-Identifier: MIT */
/* The one table of configuration keys (conf_keys.c), read by conf.c. */
#ifndef COMMON_CONF_KEYS_H
#define COMMON_CONF_KEYS_H

#include <stddef.h>
#include <stdint.h>

enum conf_type {
	CONF_T_STRING,
	CONF_T_BOOL,
	CONF_T_INT,
	CONF_T_ENUM,
	CONF_T_HOSTPORT		/* string, checked as host:port */
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 offset;	/* into struct conf */
	const char	*defval;	/* NULL: no value */
	unsigned	 daemons;	/* CONF_D_* */
	int		 reloadable;	/* SIGHUP applies it live */
	int64_t		 min, max;	/* CONF_T_INT */
	const char	*const *values;	/* CONF_T_ENUM, NULL-terminated */
};

extern const struct conf_key	conf_keys[];
extern const size_t		conf_nkeys;

/* Returns the key called name, or NULL. */
const struct conf_key *conf_key_find(const char *name);

#endif
