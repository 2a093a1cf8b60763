/* SPDX-License-Identifier: MIT */
/*
 * ternctl run: a small supervisor for the node's three daemons.  It blocks
 * its signals and waits for them with sigtimedwait() (no handlers, no event
 * loop); a daemon that dies is started again after a backoff; SIGTERM or
 * SIGINT stops all of them (SIGTERM, then SIGKILL after RUN_STOP_WAIT_MS).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "ipc/msg_cluster.h"
#include "ternctl/ternctl.h"

#ifndef TERN_SBINDIR
#define TERN_SBINDIR	"/usr/sbin"
#endif

/* Start order; stop is the reverse. */
static struct run_child	run_children[] = {
	{ "storaged", 0, 0, 0, 0, 0 },
	{ "clusterd", 0, 0, 0, 0, 0 },
	{ "mqttd", 0, 0, 0, 0, 0 },
};
#define RUN_NCHILDREN	(sizeof(run_children) / sizeof(run_children[0]))

static uint64_t
run_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

uint32_t
run_backoff(struct run_child *ch, uint64_t now_ms)
{
	if (ch->delay_ms == 0 || (ch->started_ms != 0 &&
	    now_ms - ch->started_ms >= RUN_STABLE_MS))
		ch->delay_ms = RUN_BACKOFF_MIN_MS;
	else if (ch->delay_ms < RUN_BACKOFF_MAX_MS / 2)
		ch->delay_ms *= 2;
	else
		ch->delay_ms = RUN_BACKOFF_MAX_MS;
	ch->next_start_ms = now_ms + ch->delay_ms;
	return (ch->delay_ms);
}

int
run_mkdirs(const char *path, mode_t mode)
{
	char	*s, *p, c;
	int	 rc = 0;

	s = xstrdup(path);
	for (p = s + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(s, mode) == -1 && errno != EEXIST) {
			log_warn("run: mkdir %s", s);
			rc = -1;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(s);
	return (rc);
}

static bool
run_is_exec(const char *path)
{
	struct stat	st;

	return (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0);
}

int
run_find_binary(const char *name, char *out, size_t outlen)
{
	char		 env[64], self[PATH_MAX], *slash, *path, *dir, *save;
	const char	*v;
	ssize_t		 n;
	size_t		 i;

	snprintf(env, sizeof(env), "TERN_%s", name);
	for (i = 5; env[i] != '\0'; i++)
		env[i] = (char)toupper((unsigned char)env[i]);
	if ((v = getenv(env)) != NULL && *v != '\0') {
		snprintf(out, outlen, "%s", v);
		if (run_is_exec(out))
			return (0);
		snprintf(out, outlen, "$%s=%s (not executable)", env, v);
		return (-1);
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			/* The build tree: ternctl/ternctl, mqttd/mqttd. */
			snprintf(out, outlen, "%s/../%s/%s", self, name, name);
			if (run_is_exec(out))
				return (0);
			snprintf(out, outlen, "%s/%s", self, name);
			if (run_is_exec(out))
				return (0);
		}
	}
	snprintf(out, outlen, "%s/%s", TERN_SBINDIR, name);
	if (run_is_exec(out))
		return (0);
	if ((v = getenv("PATH")) != NULL) {
		path = xstrdup(v);
		for (dir = strtok_r(path, ":", &save); dir != NULL;
		    dir = strtok_r(NULL, ":", &save)) {
			snprintf(out, outlen, "%s/%s", *dir ? dir : ".", name);
			if (run_is_exec(out)) {
				free(path);
				return (0);
			}
		}
		free(path);
	}
	snprintf(out, outlen, "%s not found ($%s, beside ternctl, %s, PATH)",
	    name, env, TERN_SBINDIR);
	return (-1);
}

static void
run_start(struct run_child *ch, const char *conf_path,
    const sigset_t *oldmask, uint64_t now)
{
	char	bin[PATH_MAX + 64];
	pid_t	pid, parent = getpid();

	if (run_find_binary(ch->name, bin, sizeof(bin)) == -1) {
		ch->started_ms = 0;
		log_warnx("run: cannot start %s: %s; retrying in %u ms",
		    ch->name, bin, run_backoff(ch, now));
		return;
	}
	if ((pid = fork()) == -1) {
		ch->started_ms = 0;
		log_warn("run: fork for %s (retrying in %u ms)", ch->name,
		    run_backoff(ch, now));
		return;
	}
	if (pid == 0) {
		/* The daemons die with the supervisor, even on SIGKILL. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(1);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		execl(bin, ch->name, "-c", conf_path, (char *)NULL);
		fprintf(stderr, "ternctl: exec %s: %s\n", bin,
		    strerror(errno));
		_exit(127);
	}
	ch->pid = pid;
	ch->started_ms = now;
	log_info("run: started %s (pid %d, %s)", ch->name, (int)pid, bin);
}

static struct run_child *
run_child_by_pid(pid_t pid)
{
	size_t	i;

	for (i = 0; i < RUN_NCHILDREN; i++)
		if (run_children[i].pid == pid)
			return (&run_children[i]);
	return (NULL);
}

static void
run_describe(int status, char *out, size_t outlen)
{
	if (WIFEXITED(status))
		snprintf(out, outlen, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, outlen, "killed by signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(out, outlen, "stopped (status 0x%x)", status);
}

static bool	run_left;	/* clusterd: this node left its cluster */

/* Reaps every exited child; when stopping, no restart is scheduled. */
static void
run_reap(bool stopping)
{
	struct run_child	*ch;
	pid_t			 pid;
	int			 status;
	char			 why[128];

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if ((ch = run_child_by_pid(pid)) == NULL)
			continue;
		ch->pid = 0;
		run_describe(status, why, sizeof(why));
		if (strcmp(ch->name, "clusterd") == 0 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == TERN_EXIT_LEFT) {
			/* ternctl cluster leave: nothing left to serve. */
			log_info("run: this node left its cluster: stopping");
			run_left = true;
			continue;
		}
		if (stopping) {
			log_info("run: %s %s", ch->name, why);
			continue;
		}
		ch->restarts++;
		log_warnx("run: %s (pid %d) %s; restarting in %u ms",
		    ch->name, (int)pid, why, run_backoff(ch, run_now_ms()));
	}
}

static size_t
run_nrunning(void)
{
	size_t	i, n = 0;

	for (i = 0; i < RUN_NCHILDREN; i++)
		if (run_children[i].pid != 0)
			n++;
	return (n);
}

static void
run_signal_all(int sig)
{
	size_t	i;

	for (i = RUN_NCHILDREN; i-- > 0; )
		if (run_children[i].pid != 0)
			kill(run_children[i].pid, sig);
}

static void
run_wait_ms(const sigset_t *set, uint64_t ms, siginfo_t *info, int *sig)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	*sig = sigtimedwait(set, info, &ts);
}

static void
run_stop(const sigset_t *set)
{
	uint64_t	deadline = run_now_ms() + RUN_STOP_WAIT_MS, now;
	siginfo_t	info;
	int		sig;
	size_t		i;

	log_info("run: stopping the daemons");
	run_signal_all(SIGTERM);
	run_reap(true);
	while (run_nrunning() > 0 && (now = run_now_ms()) < deadline) {
		run_wait_ms(set, deadline - now < 100 ? deadline - now : 100,
		    &info, &sig);
		run_reap(true);
	}
	for (i = 0; i < RUN_NCHILDREN; i++) {
		if (run_children[i].pid == 0)
			continue;
		log_warnx("run: %s (pid %d) did not stop in %d s; killing it",
		    run_children[i].name, (int)run_children[i].pid,
		    RUN_STOP_WAIT_MS / 1000);
		kill(run_children[i].pid, SIGKILL);
	}
	for (i = 0; i < RUN_NCHILDREN; i++) {
		if (run_children[i].pid == 0)
			continue;
		while (waitpid(run_children[i].pid, NULL, 0) == -1 &&
		    errno == EINTR)
			;
		run_children[i].pid = 0;
	}
}

int
run_main(const char *conf_path, bool builtin)
{
	struct conf	 c;
	sigset_t	 set, oldmask;
	siginfo_t	 info;
	char		 err[1024];
	uint64_t	 now, wait;
	size_t		 i;
	int		 sig;

	conf_defaults(&c);
	if (conf_load(&c, conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "ternctl: %s\n", err);
		conf_free(&c);
		return (TERNCTL_EXIT_FAIL);
	}
	log_init("ternctl", c.nodename, false);
	if (builtin)
		log_info("run: no -c and no %s: using the built-in "
		    "configuration %s (anonymous MQTT on 127.0.0.1:1883, "
		    "data in %s)", CONF_DEFAULT_PATH, conf_path,
		    TERNCTL_LOCAL_DIR);
	if (run_mkdirs(c.data_dir, 0750) == -1 ||
	    run_mkdirs(c.run_dir, 0750) == -1) {
		conf_free(&c);
		return (TERNCTL_EXIT_FAIL);
	}
	conf_free(&c);

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &oldmask);
	log_info("run: supervising storaged, clusterd, mqttd (pid %d, "
	    "config %s)", (int)getpid(), conf_path);

	for (;;) {
		now = run_now_ms();
		wait = 1000;
		for (i = 0; i < RUN_NCHILDREN; i++) {
			struct run_child	*ch = &run_children[i];

			if (ch->pid != 0)
				continue;
			if (ch->next_start_ms <= now)
				run_start(ch, conf_path, &oldmask, now);
			if (ch->pid == 0 && ch->next_start_ms - now < wait)
				wait = ch->next_start_ms - now;
		}
		run_wait_ms(&set, wait, &info, &sig);
		if (sig == SIGCHLD)
			run_reap(false);
		else if (sig == SIGHUP) {
			log_info("run: SIGHUP: passing it to the daemons");
			run_signal_all(SIGHUP);
		} else if (sig == SIGTERM || sig == SIGINT) {
			log_info("run: got %s", strsignal(sig));
			break;
		}
		/* A SIGCHLD may be merged with another signal: reap anyway. */
		run_reap(false);
		if (run_left)
			break;
	}
	run_stop(&set);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	log_info("run: all daemons stopped");
	return (TERNCTL_EXIT_OK);
}
