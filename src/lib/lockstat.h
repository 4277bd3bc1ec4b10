/*
 * Mutex wait counters: how often a lock was taken, how often it was found
 * held, and how long those takers waited.  A trylock first, so a lock
 * nobody holds costs one relaxed atomic add more than a plain lock; only
 * a contended one reads the clock.  The counters are process-wide, one
 * per lock site (every batch's lock counts into one), and logged when the
 * daemon stops.
 */
#ifndef SM_LOCKSTAT_H
#define SM_LOCKSTAT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

enum lockstat_site {
	LOCKSTAT_POOL,		/* a worker pool's queue */
	LOCKSTAT_VCACHE,	/* the verdict cache */
	LOCKSTAT_BATCH,		/* a message's batch of scans */
	LOCKSTAT_NSITES
};

struct lockstat {		/* a cache line each: sites do not share */
	_Alignas(64) atomic_ullong acquired;
	atomic_ullong contended;
	atomic_ullong wait_ns;
};

extern struct lockstat lockstat_sites[LOCKSTAT_NSITES];

/* pthread_mutex_lock(mu), counted at site. */
static inline void
lockstat_lock(pthread_mutex_t *mu, enum lockstat_site site)
{
	struct lockstat *ls = &lockstat_sites[site];
	struct timespec t0, t1;

	atomic_fetch_add_explicit(&ls->acquired, 1, memory_order_relaxed);
	if (pthread_mutex_trylock(mu) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(mu);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	atomic_fetch_add_explicit(&ls->contended, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ls->wait_ns,
	    (unsigned long long)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
	    (t1.tv_nsec - t0.tv_nsec)), memory_order_relaxed);
}

/* One info line with every site's counters since the start. */
void	lockstat_log(void);

#endif
