/*
 * Bounded worker pools: a fixed number of threads and a bounded queue.
 * A full queue refuses the job at once (the caller answers "busy") instead
 * of piling work up.  Two caps keep one kind of work from taking every
 * thread: a per-job limit (an engine's max_concurrency) and a lane for
 * large jobs, so small messages never wait behind big ones.  Extra
 * workers may be kept for small jobs (a note never waits behind an
 * attachment) and for medium ones (an attachment never waits behind a
 * large message's whole scan).
 */
#ifndef SM_POOL_H
#define SM_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* Shared by the jobs of one engine: at most cap of them run at once. */
struct pool_limit {
	int	 running;
	int	 cap;		/* 0: no cap */
};

struct pool_job {
	/* Runs on a worker thread; then the pool never touches the job again. */
	void	(*run)(struct pool_job *);
	/* Called instead of run when the pool shuts down with the job queued. */
	void	(*drop)(struct pool_job *);
	size_t	 size;		/* bytes: shortest first, and the lanes */
	bool	 extra;		/* a further job of a message the queue took
				 * already: never refused, not counted */
	struct pool_limit *limit;	/* or NULL */
	struct pool_job *next;	/* the pool's */
	double	 queued_ms;	/* the pool's: when it was queued */
};

struct pool_stats {
	int	 threads;		/* all workers, small lane included */
	int	 busy;
	int	 queued;
	int	 queue_max;
	unsigned long long done;
	unsigned long long refused;
};

struct pool;

struct pool_params {
	int	 threads;	/* workers for any job */
	int	 queue_max;	/* messages waiting (jobs not extra); more
			 * are refused */
	size_t	 large_size;	/* jobs this big or bigger are large ... */
	int	 large_cap;	/* ... and run on at most this many workers */
	size_t	 small_size;	/* jobs smaller than this are small ... */
	int	 small_threads;	/* ... and have these extra workers to themselves */
	size_t	 medium_size;	/* jobs smaller than this (small ones too) ... */
	int	 medium_threads;	/* ... may also run on these extra workers */
	double	 max_wait_ms;	/* a job waiting this long goes first */
};

/*
 * Starts the workers.  A free worker takes the smallest job it may run
 * (shortest job first keeps small mail from waiting behind big), unless
 * one has waited max_wait_ms: then the oldest.  Returns NULL with errno
 * set when threads cannot be started.
 */
struct pool *pool_create(const char *name, const struct pool_params *);

/* Queues job; 0, or -1 when the pool is stopping or, unless the job is
 * extra, when queue_max jobs that are not extra wait already. */
int	pool_submit(struct pool *, struct pool_job *);

/* Lets running jobs finish, drops queued ones, joins the threads, frees. */
void	pool_destroy(struct pool *);	/* takes NULL */

void	pool_get_stats(struct pool *, struct pool_stats *);
const char *pool_name(const struct pool *);

#endif
