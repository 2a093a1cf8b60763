/* SPDX-License-Identifier: MIT */
/* Logging: "LEVEL daemon[node]: message" on stderr, and to syslog if asked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

uint32_t		 log_trace_mask;
static const char	*log_daemon = "tern";
static char		 log_node[256];
static bool		 log_syslog;
static enum log_level	 log_level = LOG_LEVEL_INFO;

void
log_init(const char *daemon, const char *nodename, bool use_syslog)
{
	const char	*t;
	uint32_t	 mask;

	log_daemon = daemon;
	log_set_nodename(nodename);
	/* Under systemd, stderr already goes to the journal: syslog too
	 * would write every line twice. */
	if (getenv("JOURNAL_STREAM") != NULL)
		use_syslog = false;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(daemon, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if ((t = getenv("TERN_TRACE")) != NULL && log_trace_parse(t, &mask) == 0)
		log_trace_mask = mask;
}

void
log_set_nodename(const char *nodename)
{
	snprintf(log_node, sizeof(log_node), "%s", nodename ? nodename : "");
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return (log_level);
}

int
log_level_parse(const char *s, enum log_level *level)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0) {
			*level = (enum log_level)i;
			return (0);
		}
	}
	return (-1);
}

void
log_set_trace(uint32_t mask)
{
	log_trace_mask = mask;
}

uint32_t
log_get_trace(void)
{
	return (log_trace_mask);
}

int
log_trace_parse(const char *s, uint32_t *mask)
{
	static const struct { const char *name; uint32_t bit; } areas[] = {
		{ "ipc", TRACE_IPC }, { "mqtt", TRACE_MQTT },
		{ "store", TRACE_STORE }, { "cluster", TRACE_CLUSTER },
		{ "raft", TRACE_RAFT }, { "all", 0xffffffffu }, { "none", 0 },
	};
	char		 tmp[256], *tok, *save = NULL;
	uint32_t	 m = 0;
	size_t		 i;
	bool		 found;

	snprintf(tmp, sizeof(tmp), "%s", s);
	for (tok = strtok_r(tmp, ", ", &save); tok != NULL;
	    tok = strtok_r(NULL, ", ", &save)) {
		found = false;
		for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
			if (strcasecmp(tok, areas[i].name) == 0) {
				m |= areas[i].bit;
				found = true;
			}
		}
		if (!found)
			return (-1);
	}
	*mask = m;
	return (0);
}

static void
log_vout(int prio, const char *level, const char *fmt, va_list ap,
    const char *suffix)
{
	char		 msg[2048];
	struct timespec	 ts;
	struct tm	 tm;
	char		 tbuf[32];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ %s %s[%s]: %s%s%s\n", tbuf,
	    ts.tv_nsec / 1000000, level, log_daemon, log_node, msg,
	    suffix ? ": " : "", suffix ? suffix : "");
	if (log_syslog)
		syslog(prio, "%s %s%s%s", level, msg, suffix ? ": " : "",
		    suffix ? suffix : "");
}

#define LOG_BODY(prio, lvl, name, suffix) do {				\
	va_list	ap;							\
	if (log_level < (lvl))						\
		return;							\
	va_start(ap, fmt);						\
	log_vout((prio), (name), fmt, ap, (suffix));			\
	va_end(ap);							\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char	*e = strerror(errno);

	LOG_BODY(LOG_WARNING, LOG_LEVEL_WARN, "warn", e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, LOG_LEVEL_WARN, "warn", NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, LOG_LEVEL_INFO, "info", NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_DEBUG, LOG_LEVEL_DEBUG, "debug", NULL);
}

void
log_trace_out(uint32_t area, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vout(LOG_DEBUG, "trace", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	const char	*e = strerror(errno);
	va_list		 ap;

	va_start(ap, fmt);
	log_vout(LOG_ERR, "fatal", fmt, ap, e);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vout(LOG_ERR, "fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
