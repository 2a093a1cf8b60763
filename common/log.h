/* SPDX-License-Identifier: MIT */
/* Logging for every Tern daemon: stderr and syslog, one line per event. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

/* Trace areas, off unless switched on (ternctl or TERN_TRACE=ipc,mqtt,...). */
#define TRACE_IPC	0x01
#define TRACE_MQTT	0x02
#define TRACE_STORE	0x04
#define TRACE_CLUSTER	0x08
#define TRACE_RAFT	0x10

/*
 * Set up logging for daemon name (borrowed, must stay valid) on node nodename
 * (copied).  use_syslog also sends lines to syslog(3).  Reads TERN_TRACE.
 */
void	log_init(const char *daemon, const char *nodename, bool use_syslog);
/* Change the node name shown in every line (copied). */
void	log_set_nodename(const char *nodename);
void	log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 on an unknown name. */
int	log_level_parse(const char *s, enum log_level *level);
void	log_set_trace(uint32_t mask);
uint32_t log_get_trace(void);
/* Parse a comma list of trace areas (ipc,mqtt,store,cluster,raft,all). */
int	log_trace_parse(const char *s, uint32_t *mask);

/* log_warn appends strerror(errno). */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_trace_out(uint32_t area, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Exit 1 after logging: only at start-up or for broken invariants. */
void	fatal(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

extern uint32_t log_trace_mask;
#define log_trace(area, ...) do {					\
	if (log_trace_mask & (area))					\
		log_trace_out((area), __VA_ARGS__);			\
} while (0)

#endif
