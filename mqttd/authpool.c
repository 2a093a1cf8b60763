/* SPDX-License-Identifier: MIT */
/*
 * Password checks on worker threads.  A KDF run takes a large fraction of
 * a second, so the event loop hands each check to a small pool of threads
 * and gets the result back through a pipe it watches (no libevent
 * threading setup needed).  One mutex guards the queues, the tables'
 * reference counts and the jobs' states; the KDF itself runs unlocked.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "mqttd/auth.h"

#define AUTHPOOL_THREADS_MAX	64

enum authpool_state {
	AUTHPOOL_QUEUED,	/* in p->queue */
	AUTHPOOL_RUNNING,	/* a worker has it */
	AUTHPOOL_DONE		/* in p->done, waiting for the loop */
};

/* A table and the number of jobs (plus the pool itself) holding it. */
struct authpool_tab {
	struct passwd_table	*t;		/* NULL: no password file */
	unsigned		 refs;
};

struct authpool_job {
	TAILQ_ENTRY(authpool_job) link;
	struct authpool_tab	*tab;
	authpool_cb		 cb;
	void			*arg;		/* borrowed */
	enum authpool_state	 state;
	enum passwd_result	 result;
	bool			 cancelled;
	char			*user;
	size_t			 ulen;
	uint8_t			*pw;
	size_t			 pwlen;
};
TAILQ_HEAD(authpool_jobs, authpool_job);

struct authpool {
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;		/* queue not empty, or stop */
	struct authpool_jobs	 queue;
	struct authpool_jobs	 done;
	size_t			 pending;	/* queued + running + done */
	size_t			 working;	/* queued + running */
	size_t			 max_pending;
	struct authpool_tab	*cur;
	bool			 stop;
	int			 wake[2];	/* pipe: workers -> loop */
	struct event		*wake_ev;
	pthread_t		*threads;
	int			 nthreads;
};

/* Drops one reference; frees tab at zero.  Called with p->mtx held. */
static void
authpool_tab_unref(struct authpool_tab *tab)
{
	if (tab == NULL || --tab->refs > 0)
		return;
	passwd_table_free(tab->t);
	free(tab);
}

static void
authpool_job_free(struct authpool_job *j)
{
	if (j->pw != NULL)
		OPENSSL_cleanse(j->pw, j->pwlen);
	free(j->pw);
	free(j->user);
	free(j);
}

static void *
authpool_worker(void *arg)
{
	struct authpool		*p = arg;
	struct authpool_job	*j;
	bool			 was_empty;
	char			 one = 1;

	pthread_mutex_lock(&p->mtx);
	for (;;) {
		while (!p->stop && TAILQ_EMPTY(&p->queue))
			pthread_cond_wait(&p->cond, &p->mtx);
		if (p->stop)
			break;
		j = TAILQ_FIRST(&p->queue);
		TAILQ_REMOVE(&p->queue, j, link);
		j->state = AUTHPOOL_RUNNING;
		pthread_mutex_unlock(&p->mtx);

		/* The slow part, unlocked; the table cannot go meanwhile. */
		if (j->tab->t == NULL)
			j->result = PASSWD_RESULT_UNKNOWN;
		else
			j->result = passwd_table_check(j->tab->t, j->user,
			    j->ulen, j->pw, j->pwlen);
		OPENSSL_cleanse(j->pw, j->pwlen);

		pthread_mutex_lock(&p->mtx);
		authpool_tab_unref(j->tab);
		j->tab = NULL;
		j->state = AUTHPOOL_DONE;
		p->working--;
		was_empty = TAILQ_EMPTY(&p->done);
		TAILQ_INSERT_TAIL(&p->done, j, link);
		/* One byte per batch keeps the pipe from filling up. */
		if (was_empty && write(p->wake[1], &one, 1) == -1 &&
		    errno != EAGAIN)
			log_warn("authpool: write wake-up pipe");
	}
	pthread_mutex_unlock(&p->mtx);
	return (NULL);
}

/* On the loop: report every finished job. */
static void
authpool_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct authpool		*p = arg;
	struct authpool_jobs	 done;
	struct authpool_job	*j;
	char			 buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
	TAILQ_INIT(&done);
	pthread_mutex_lock(&p->mtx);
	TAILQ_CONCAT(&done, &p->done, link);
	pthread_mutex_unlock(&p->mtx);
	/*
	 * A callback may cancel a job still in the local list (state DONE:
	 * only the loop touches it now), or submit new ones.
	 */
	while ((j = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, j, link);
		pthread_mutex_lock(&p->mtx);
		p->pending--;
		pthread_mutex_unlock(&p->mtx);
		if (!j->cancelled) {
			/* Mark it so a late cancel from the callback is a
			 * bug we can see, not a double free. */
			j->cancelled = true;
			j->cb(j->arg, j->result);
		}
		authpool_job_free(j);
	}
}

struct authpool *
authpool_new(struct event_base *base, int nthreads, size_t max_pending)
{
	struct authpool	*p;
	int		 i, e;

	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > AUTHPOOL_THREADS_MAX)
		nthreads = AUTHPOOL_THREADS_MAX;
	p = xcalloc(1, sizeof(*p));
	p->max_pending = max_pending > 0 ? max_pending : 1;
	TAILQ_INIT(&p->queue);
	TAILQ_INIT(&p->done);
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->cur = xcalloc(1, sizeof(*p->cur));
	p->cur->refs = 1;
	p->wake[0] = p->wake[1] = -1;
	if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("authpool: pipe");
		goto fail;
	}
	p->wake_ev = event_new(base, p->wake[0], EV_READ | EV_PERSIST,
	    authpool_wake_cb, p);
	if (p->wake_ev == NULL || event_add(p->wake_ev, NULL) == -1) {
		log_warnx("authpool: cannot watch the wake-up pipe");
		goto fail;
	}
	p->threads = xcalloc((size_t)nthreads, sizeof(*p->threads));
	for (i = 0; i < nthreads; i++) {
		if ((e = pthread_create(&p->threads[i], NULL, authpool_worker,
		    p)) != 0) {
			errno = e;
			log_warn("authpool: pthread_create");
			goto fail;
		}
		p->nthreads++;
	}
	return (p);
 fail:
	authpool_free(p);
	return (NULL);
}

void
authpool_free(struct authpool *p)
{
	struct authpool_job	*j;
	int			 i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stop = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	/* A running check finishes its KDF first (bounded). */
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while ((j = TAILQ_FIRST(&p->queue)) != NULL) {
		TAILQ_REMOVE(&p->queue, j, link);
		authpool_tab_unref(j->tab);
		authpool_job_free(j);
	}
	while ((j = TAILQ_FIRST(&p->done)) != NULL) {
		TAILQ_REMOVE(&p->done, j, link);
		authpool_job_free(j);
	}
	authpool_tab_unref(p->cur);
	if (p->wake_ev != NULL)
		event_free(p->wake_ev);
	if (p->wake[0] != -1)
		close(p->wake[0]);
	if (p->wake[1] != -1)
		close(p->wake[1]);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mtx);
	free(p->threads);
	free(p);
}

void
authpool_set_table(struct authpool *p, struct passwd_table *t)
{
	struct authpool_tab	*tab;

	tab = xcalloc(1, sizeof(*tab));
	tab->t = t;
	tab->refs = 1;
	pthread_mutex_lock(&p->mtx);
	authpool_tab_unref(p->cur);
	p->cur = tab;
	pthread_mutex_unlock(&p->mtx);
}

struct authpool_job *
authpool_submit(struct authpool *p, const char *user, size_t ulen,
    const void *pw, size_t pwlen, authpool_cb cb, void *arg)
{
	struct authpool_job	*j;

	pthread_mutex_lock(&p->mtx);
	if (p->pending >= p->max_pending) {
		pthread_mutex_unlock(&p->mtx);
		return (NULL);
	}
	p->pending++;
	p->working++;
	pthread_mutex_unlock(&p->mtx);

	j = xcalloc(1, sizeof(*j));
	j->cb = cb;
	j->arg = arg;
	j->user = xmemdup(ulen > 0 ? user : "", ulen > 0 ? ulen : 1);
	j->ulen = ulen;
	j->pw = xmemdup(pwlen > 0 ? pw : "", pwlen > 0 ? pwlen : 1);
	j->pwlen = pwlen;
	j->state = AUTHPOOL_QUEUED;

	pthread_mutex_lock(&p->mtx);
	j->tab = p->cur;
	j->tab->refs++;
	TAILQ_INSERT_TAIL(&p->queue, j, link);
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	return (j);
}

void
authpool_cancel(struct authpool *p, struct authpool_job *j)
{
	bool	drop = false;

	pthread_mutex_lock(&p->mtx);
	if (j->state == AUTHPOOL_QUEUED) {
		TAILQ_REMOVE(&p->queue, j, link);
		authpool_tab_unref(j->tab);
		p->pending--;
		p->working--;
		drop = true;
	} else {
		/* Running, or done and not reported: dropped by the loop. */
		j->cancelled = true;
	}
	pthread_mutex_unlock(&p->mtx);
	if (drop)
		authpool_job_free(j);
}

size_t
authpool_pending(struct authpool *p)
{
	size_t	n;

	pthread_mutex_lock(&p->mtx);
	n = p->pending;
	pthread_mutex_unlock(&p->mtx);
	return (n);
}

size_t
authpool_working(struct authpool *p)
{
	size_t	n;

	pthread_mutex_lock(&p->mtx);
	n = p->working;
	pthread_mutex_unlock(&p->mtx);
	return (n);
}
