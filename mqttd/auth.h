/* SPDX-License-Identifier: MIT */
/*
 * Who may log in and what they may do: the loaded password table
 * (passwd.c), the worker threads that verify passwords off the event loop
 * (authpool.c) and the ACL table (acl.c).  mqttd/auth.c wires them into
 * CONNECT, PUBLISH and SUBSCRIBE.  The password file format is in
 * common/passwd.h.
 */
#ifndef MQTTD_AUTH_H
#define MQTTD_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

/* passwd.c: the password table. */

enum passwd_result {
	PASSWD_RESULT_OK = 0,		/* user known, password right */
	PASSWD_RESULT_WRONG,		/* user known, password wrong */
	PASSWD_RESULT_UNKNOWN		/* no such user */
};

struct passwd_table;

/*
 * Reads a password file (format in common/passwd.h).  Returns a new
 * table (free with passwd_table_free()), or NULL with "FILE:LINE: reason"
 * (or "FILE: reason") in err.  A user on two lines is an error.  Blocks on
 * file I/O only.
 */
struct passwd_table *passwd_table_load(const char *path, char *err,
	    size_t errlen);
void	passwd_table_free(struct passwd_table *t);
/* Number of users in t. */
size_t	passwd_table_count(const struct passwd_table *t);
/*
 * Verifies user[0..ulen) with password pw[0..pwlen).  An unknown user
 * runs the same KDF against a dummy hash (the table's most common
 * iteration count), so the time taken does not tell an unknown user from a
 * wrong password.  Blocks for one KDF run (about 0.35 s at the default
 * iteration count): call it from an authpool thread, not the event loop.
 * Thread-safe: t is not changed.
 */
enum passwd_result passwd_table_check(const struct passwd_table *t,
	    const char *user, size_t ulen, const void *pw, size_t pwlen);
/* "ok", "wrong password", "unknown user": for log lines. */
const char *passwd_result_name(enum passwd_result r);

/* authpool.c: password checks on worker threads. */

struct authpool;
struct authpool_job;

/*
 * Called on the event loop thread with the result of one check.  The job
 * handle is invalid from the moment the callback is entered.  The callback
 * may submit and cancel other jobs but must not free the pool.
 */
typedef void	(*authpool_cb)(void *arg, enum passwd_result result);

/*
 * Returns a new pool of nthreads (1..64) worker threads that posts results
 * to base (borrowed; must outlive the pool), holding at most max_pending
 * queued or running checks.  The pool starts without a table: every check
 * says PASSWD_RESULT_UNKNOWN until authpool_set_table().  Returns NULL
 * (logged) if threads or the wake-up pipe cannot be made.  Free with
 * authpool_free().
 */
struct authpool *authpool_new(struct event_base *base, int nthreads,
	    size_t max_pending);
/*
 * Stops and joins the threads, then frees the pool, its tables and every
 * job not reported yet (their callbacks are not called).  Call on the loop
 * thread.  authpool_free(NULL) does nothing.
 */
void	authpool_free(struct authpool *p);
/*
 * Makes t the table for checks submitted from now on (SIGHUP reload).
 * Takes ownership of t (may be NULL); the previous table is freed once the
 * checks already running on it are done.  Call on the loop thread.
 */
void	authpool_set_table(struct authpool *p, struct passwd_table *t);
/*
 * Queues a check of user[0..ulen) with password pw[0..pwlen) (both
 * copied; the copy of pw is wiped after use).  cb(arg, result) runs later
 * on the loop thread, never from inside this call.  Returns a handle for
 * authpool_cancel(), or NULL if max_pending checks are waiting already
 * (the caller refuses the CONNECT as "server busy").  Call on the loop
 * thread.
 */
struct authpool_job *authpool_submit(struct authpool *p, const char *user,
	    size_t ulen, const void *pw, size_t pwlen, authpool_cb cb,
	    void *arg);
/*
 * Makes sure job's callback is never called (its connection went away):
 * a queued job is dropped, a running one finishes and is discarded.  Only
 * for a job whose callback has not run yet.  Call on the loop thread.
 */
void	authpool_cancel(struct authpool *p, struct authpool_job *job);
/* Checks submitted and not reported yet (what max_pending limits). */
size_t	authpool_pending(struct authpool *p);
/* Checks queued or running on a thread (for metrics and tests). */
size_t	authpool_working(struct authpool *p);

/* acl.c: access control lists. */

/*
 * Access asked for.  ACL_WRITE: topic is the topic name of a PUBLISH (or
 * a will).  ACL_READ: topic is a SUBSCRIBE filter ("$share/G/" is
 * stripped), or the topic name of a message about to be delivered.
 */
enum acl_access {
	ACL_READ = 0x1,
	ACL_WRITE = 0x2
};

enum acl_result {
	ACL_DENY = 0,
	ACL_ALLOW,
	/*
	 * ACL_READ on a filter only: an allow rule covers the filter but a
	 * deny rule covers part of it (allow "a/#", deny "a/secret",
	 * subscribe "a/+").  A broker that checks ACL_READ on each delivered
	 * topic name treats this as allowed; one that does not must refuse.
	 */
	ACL_ALLOW_SOME
};

struct acl;

/*
 * Reads an ACL file.  Returns a new table (free with acl_free()), or NULL
 * with "FILE:LINE: reason" (or "FILE: reason") in err.  On SIGHUP the
 * broker loads a new table and, only if that worked, swaps it for the old
 * one.  The syntax (Mosquitto's, so its users know it):
 *
 *	# comment
 *	topic [read|write|readwrite|deny] FILTER
 *	user USERNAME
 *	topic [read|write|readwrite|deny] FILTER
 *	pattern [read|write|readwrite|deny] FILTER
 *
 * The access word is optional (readwrite).  FILTER is the rest of the line
 * (it may hold spaces); it must be a valid MQTT topic filter, not $share.
 * "topic" lines before any "user" line apply to anonymous clients (no
 * username), those after "user NAME" to that user (a user may have
 * several blocks).  "pattern" lines apply to every client, anonymous ones
 * included, wherever they appear, with "%c" replaced by the client id and
 * "%u" by the username.
 */
struct acl	*acl_load(const char *path, char *err, size_t errlen);
void	acl_free(struct acl *acl);
/*
 * May the client (user: NUL-terminated username, NULL if anonymous;
 * client_id: NUL-terminated) have access to topic[0..len)?  The rules:
 *
 * - The rules that apply are the client's user rules (or the anonymous
 *   ones) and every pattern.  With none that grants the access, the answer
 *   is ACL_DENY (an ACL file denies by default).
 * - Write: a rule grants it if its filter matches the topic name.
 * - Read on a filter: a rule grants it if its filter covers the
 *   subscription filter, that is every topic the subscription can match is
 *   matched by the rule ('+' in the rule covers one level, '+' included;
 *   '#' covers the rest, '+' and '#' included, and the parent level: "a/#"
 *   covers "a", "a/b/+" and "a/#"; a literal level covers only itself).
 *   This is Mosquitto's rule.  Rules with wildcards at the first level do
 *   not cover topics starting with '$' ([MQTT-4.7.2-1]).
 * - Deny wins: a deny rule that matches (write) or covers (read) the topic
 *   gives ACL_DENY whatever else allows it; a deny rule that only overlaps
 *   a read filter gives ACL_ALLOW_SOME (if something allows it).
 * - Patterns: %c/%u are replaced by the client id/username.  An id or
 *   username holding '+', '#' or '/' never matches an allow pattern that
 *   uses it (otherwise client "a/#" would get pattern "dev/%c" as
 *   "dev/a/#", and client "x/y" would reach into client "x"'s "dev/x/..");
 *   deny patterns still apply (substituted; if the result is not a valid
 *   filter it matches nothing, a wildcard only denies more).  A pattern
 *   with %u never applies to an anonymous client.
 *
 * acl may be NULL (no acl_file): always ACL_ALLOW.  Does not block or
 * allocate unless a substituted pattern is longer than 512 bytes.
 */
enum acl_result acl_check(const struct acl *acl, const char *user,
	    const char *client_id, const char *topic, size_t len,
	    enum acl_access access);
/* Number of rules (user, anonymous and pattern) in acl, for log lines. */
size_t	acl_count(const struct acl *acl);

#endif
