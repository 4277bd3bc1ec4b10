/*
 * Worker pool: one mutex, a singly linked list in arrival order.  A worker
 * takes, of the queued jobs it may run (limit not reached; a large job
 * only while the large lane has room; a small-lane worker only small
 * jobs, a medium-lane worker only jobs under medium_size), the smallest --
 * or the oldest once it has waited max_wait_ms, so big ones are not
 * starved.  Queues are short (bounded), so the walk is cheap.
 *
 * An idle worker sleeps on a condition variable of its own, in a list of
 * idle workers.  Whoever leaves a job queued (a submit, or a worker that
 * has taken its next job or found none it may run) wakes one idle worker
 * that may run one of the queued jobs, so a message wakes one thread,
 * not all of them, and no job waits while a worker that could run it
 * sleeps.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lockstat.h"
#include "pool.h"
#include "util.h"

struct worker {
	struct pool *p;
	size_t	 below;		/* takes only jobs smaller than this; 0: any */
	pthread_t thread;
	pthread_cond_t cv;
	bool	 idle;		/* in the idle list, asleep (under p->mu) */
	struct worker *next_idle;
};

struct pool {
	char	*name;
	pthread_mutex_t mu;
	struct worker *workers;		/* nthreads of them started */
	struct worker *idle;		/* most recently idle first */
	struct pool_job *head, *tail;
	int	 queued, queue_max;
	int	 waiting;		/* queued jobs that are not extra */
	int	 nthreads, busy;
	size_t	 large_size;
	int	 large_cap, large_running;
	double	 max_wait_ms;
	bool	 stopping;
	unsigned long long done, refused;
};

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* below: a lane worker's bound on the job's size; 0 for a general worker */
static bool
eligible(const struct pool *p, const struct pool_job *j, size_t below)
{
	if (below != 0 && j->size >= below)
		return false;
	if (j->limit != NULL && j->limit->cap > 0 &&
	    j->limit->running >= j->limit->cap)
		return false;
	if (j->size >= p->large_size && p->large_running >= p->large_cap)
		return false;
	return true;
}

/* Unlinks and returns the job a worker should run next, or NULL. */
static struct pool_job *
take(struct pool *p, size_t below)
{
	struct pool_job *prev = NULL, *best = NULL, *best_prev = NULL;
	double now = mono_ms();

	for (struct pool_job *j = p->head; j != NULL; prev = j, j = j->next) {
		if (!eligible(p, j, below))
			continue;
		if (now - j->queued_ms >= p->max_wait_ms) {	/* oldest */
			best = j;
			best_prev = prev;
			break;
		}
		if (best == NULL || j->size < best->size) {
			best = j;
			best_prev = prev;
		}
	}
	if (best == NULL)
		return NULL;
	if (best_prev != NULL)
		best_prev->next = best->next;
	else
		p->head = best->next;
	if (p->tail == best)
		p->tail = best_prev;
	best->next = NULL;
	p->queued--;
	if (!best->extra)
		p->waiting--;
	return best;
}

/* Takes the idle worker at *at out of the idle list and wakes it (under
 * p->mu). */
static void
wake(struct worker **at)
{
	struct worker *w = *at;

	*at = w->next_idle;
	w->next_idle = NULL;
	w->idle = false;
	pthread_cond_signal(&w->cv);
}

/* Wakes one idle worker that may run one of the queued jobs, if there
 * is such a pair (under p->mu). */
static void
wake_one(struct pool *p)
{
	for (struct pool_job *j = p->head; j != NULL; j = j->next)
		for (struct worker **w = &p->idle; *w != NULL;
		    w = &(*w)->next_idle)
			if (eligible(p, j, (*w)->below)) {
				wake(w);
				return;
			}
}

static void *
worker(void *arg)
{
	struct worker *self = arg;
	struct pool *p = self->p;

	lockstat_lock(&p->mu, LOCKSTAT_POOL);
	for (;;) {
		struct pool_job *j = NULL;
		struct pool_limit *limit;
		bool large;

		while (!p->stopping && (j = take(p, self->below)) == NULL) {
			if (p->head != NULL)	/* jobs it may not run */
				wake_one(p);
			self->idle = true;
			self->next_idle = p->idle;
			p->idle = self;
			while (self->idle)
				pthread_cond_wait(&self->cv, &p->mu);
		}
		if (p->stopping)
			break;
		limit = j->limit;
		large = j->size >= p->large_size;
		if (limit != NULL)
			limit->running++;
		if (large)
			p->large_running++;
		p->busy++;
		if (p->head != NULL)	/* more than one: a helper, for a job
					 * this one's limit and lane leave */
			wake_one(p);
		pthread_mutex_unlock(&p->mu);

		j->run(j);	/* j may be gone after this */

		lockstat_lock(&p->mu, LOCKSTAT_POOL);
		p->busy--;
		p->done++;
		if (limit != NULL)
			limit->running--;
		if (large)
			p->large_running--;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *
pool_create(const char *name, const struct pool_params *pp)
{
	struct pool *p = xcalloc(1, sizeof(*p));
	int nsmall = pp->small_size ? pp->small_threads : 0;
	int nmedium = pp->medium_size ? pp->medium_threads : 0;
	int threads = pp->threads + nsmall + nmedium;

	p->name = xstrdup(name);
	p->queue_max = pp->queue_max;
	p->large_size = pp->large_size ? pp->large_size : (size_t)-1;
	p->large_cap = pp->large_cap > 0 ? pp->large_cap : pp->threads;
	p->max_wait_ms = pp->max_wait_ms > 0 ? pp->max_wait_ms : 1e12;
	pthread_mutex_init(&p->mu, NULL);
	p->workers = xcalloc((size_t)threads, sizeof(*p->workers));
	for (int i = 0; i < threads; i++) {
		struct worker *w = &p->workers[i];
		int rc;

		w->p = p;
		/* general workers first, then the small lane's, then the
		 * medium lane's (each lane's bound fixed in its worker) */
		w->below = i < pp->threads ? 0 :
		    i < pp->threads + nsmall ? pp->small_size :
		    pp->medium_size;
		pthread_cond_init(&w->cv, NULL);
		if ((rc = pthread_create(&w->thread, NULL, worker, w)) != 0) {
			pthread_cond_destroy(&w->cv);
			pool_destroy(p);
			errno = rc;
			return NULL;
		}
		p->nthreads++;
	}
	return p;
}

int
pool_submit(struct pool *p, struct pool_job *j)
{
	int rc = 0;

	j->next = NULL;
	j->queued_ms = mono_ms();
	lockstat_lock(&p->mu, LOCKSTAT_POOL);
	if (p->stopping || (!j->extra && p->waiting >= p->queue_max)) {
		p->refused++;
		rc = -1;
	} else {
		if (p->tail != NULL)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		if (!j->extra)
			p->waiting++;
		wake_one(p);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void
pool_destroy(struct pool *p)
{
	struct pool_job *j;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	while (p->idle != NULL)
		wake(&p->idle);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++) {
		pthread_join(p->workers[i].thread, NULL);
		pthread_cond_destroy(&p->workers[i].cv);
	}
	while ((j = p->head) != NULL) {
		p->head = j->next;
		j->drop(j);
	}
	pthread_mutex_destroy(&p->mu);
	free(p->workers);
	free(p->name);
	free(p);
}

void
pool_get_stats(struct pool *p, struct pool_stats *s)
{
	pthread_mutex_lock(&p->mu);
	s->threads = p->nthreads;
	s->busy = p->busy;
	s->queued = p->queued;
	s->queue_max = p->queue_max;
	s->done = p->done;
	s->refused = p->refused;
	pthread_mutex_unlock(&p->mu);
}

const char *
pool_name(const struct pool *p)
{
	return p->name;
}
