/*
 * Worker pool: one mutex, one condition variable, a singly linked FIFO.
 * A worker takes the first queued job it may run: one whose limit is not
 * reached and, for a large job, while the large lane has room.  Queues are
 * short (bounded), so the scan for an eligible job is cheap.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "util.h"

struct pool {
	char	*name;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct pool_job *head, *tail;
	int	 queued, queue_max;
	int	 nthreads, busy;
	size_t	 large_size;
	int	 large_cap, large_running;
	bool	 stopping;
	unsigned long long done, refused;
	pthread_t *threads;
};

static bool
eligible(const struct pool *p, const struct pool_job *j)
{
	if (j->limit != NULL && j->limit->cap > 0 &&
	    j->limit->running >= j->limit->cap)
		return false;
	if (j->size >= p->large_size && p->large_running >= p->large_cap)
		return false;
	return true;
}

/* Unlinks and returns the first job a worker may run, or NULL. */
static struct pool_job *
take(struct pool *p)
{
	struct pool_job *prev = NULL;

	for (struct pool_job *j = p->head; j != NULL; prev = j, j = j->next) {
		if (!eligible(p, j))
			continue;
		if (prev != NULL)
			prev->next = j->next;
		else
			p->head = j->next;
		if (p->tail == j)
			p->tail = prev;
		j->next = NULL;
		p->queued--;
		return j;
	}
	return NULL;
}

static void *
worker(void *arg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct pool_job *j = NULL;
		struct pool_limit *limit;
		bool large;

		while (!p->stopping && (j = take(p)) == NULL)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stopping)
			break;
		limit = j->limit;
		large = j->size >= p->large_size;
		if (limit != NULL)
			limit->running++;
		if (large)
			p->large_running++;
		p->busy++;
		pthread_mutex_unlock(&p->mu);

		j->run(j);	/* j may be gone after this */

		pthread_mutex_lock(&p->mu);
		p->busy--;
		p->done++;
		if (limit != NULL)
			limit->running--;
		if (large)
			p->large_running--;
		/* a limit or the lane freed up: others may now be eligible */
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *
pool_create(const char *name, int threads, int queue_max, size_t large_size,
    int large_cap)
{
	struct pool *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name);
	p->queue_max = queue_max;
	p->large_size = large_size ? large_size : (size_t)-1;
	p->large_cap = large_cap > 0 ? large_cap : threads;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->threads = xcalloc((size_t)threads, sizeof(*p->threads));
	for (int i = 0; i < threads; i++) {
		int rc = pthread_create(&p->threads[i], NULL, worker, p);

		if (rc != 0) {
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
	pthread_mutex_lock(&p->mu);
	if (p->stopping || p->queued >= p->queue_max) {
		p->refused++;
		rc = -1;
	} else {
		if (p->tail != NULL)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		pthread_cond_broadcast(&p->cv);
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
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	while ((j = p->head) != NULL) {
		p->head = j->next;
		j->drop(j);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
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
