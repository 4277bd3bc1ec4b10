/*
 * Mutex wait counters: how often a lock was taken, how often it was found
 * held, and how long those takers waited.  A trylock first, so a lock
 * nobody holds costs one relaxed atomic add more than a plain lock, to one
 * of LOCKSTAT_SHARDS counters on cache lines of their own, picked per
 * thread: threads on different cores seldom write the same line.  Only a
 * contended one reads the clock.  The counters are process-wide, one set
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

#define LOCKSTAT_SHARDS	16

struct lockstat {		/* cache lines of their own: nothing shares */
	struct {
		_Alignas(64) atomic_ullong n;
	} acquired[LOCKSTAT_SHARDS];
	_Alignas(64) atomic_ullong contended;
	atomic_ullong wait_ns;
};

extern struct lockstat lockstat_sites[LOCKSTAT_NSITES];

/* This thread's shard of the acquisition counters. */
static inline unsigned
lockstat_shard(void)
{
	static atomic_uint next;
	static _Thread_local unsigned shard = LOCKSTAT_SHARDS;

	if (shard == LOCKSTAT_SHARDS)
		shard = atomic_fetch_add_explicit(&next, 1,
		    memory_order_relaxed) % LOCKSTAT_SHARDS;
	return shard;
}

/* pthread_mutex_lock(mu), counted at site. */
static inline void
lockstat_lock(pthread_mutex_t *mu, enum lockstat_site site)
{
	struct lockstat *ls = &lockstat_sites[site];
	struct timespec t0, t1;

	atomic_fetch_add_explicit(&ls->acquired[lockstat_shard()].n, 1,
	    memory_order_relaxed);
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

/* A site's counters since the start (the shards summed). */
struct lockstat_counts {
	unsigned long long acquired;
	unsigned long long contended;
	unsigned long long wait_ns;
};
void	lockstat_read(enum lockstat_site, struct lockstat_counts *);

/* One info line with every site's counters since the start. */
void	lockstat_log(void);

#endif
