/*
 * A generation: everything that runs for one configuration -- the worker
 * pools, the engine handles with their concurrency limits and verdict
 * caches, the instances' statistics and the spool directory -- built from
 * a parsed configuration (plain data) and torn down as one.
 *
 * The runtime holds the current generation and hands out references
 * (runtime.h); a reload builds a new generation aside and swaps it in,
 * and the last message of the old one frees it.  Nothing in a generation
 * changes after generation_new() returns but what its own modules lock
 * (pools, caches, statistics), so scanning threads read it without locks.
 */
#ifndef SM_GENERATION_H
#define SM_GENERATION_H

#include <stddef.h>

#include "conf.h"

struct encmemo;
struct pool;
struct pool_limit;
struct vcache;
struct av_stats;

/* One engine of one instance, as it runs. */
struct gen_engine {
	const struct sm_av *av;		/* its instance's options */
	size_t	 av_index;		/* index into conf->avs */
	const struct sm_engine_inst *e;	/* its own options */
	void	*handle;		/* from ops->create; NULL: disabled */
	char	*tmpdir;		/* private, under file_base */
	struct pool *pool;		/* where it runs, once started */
	struct pool_limit *limit;	/* max_concurrency, shared by jobs */
	struct vcache *cache;		/* verdicts by content, or NULL */
};

struct generation {
	int	 refs;			/* atomic; see runtime.h */
	struct sm_conf *conf;		/* owned; read-only */
	struct pool **pools;		/* parallel to conf->pools; NULL:
					 * no enabled engine runs there */
	struct av_stats **stats;	/* parallel to conf->avs; by name,
					 * so they survive reloads */
	/* every engine of every instance, in instance order: the one list
	 * to walk (generation_engines) */
	struct gen_engine *engines;
	size_t	 nengines;
	char	*spool_dir;		/* file_base/spool */
	struct encmemo *memo;		/* attachments as encoded; NULL: off */
};

/*
 * Starts what conf describes: loads the plug-ins it names (the first of
 * their code to run, as the caller's user: the service user in the
 * daemon) and binds their blocks, then starts the pools its enabled
 * engines use, the engines themselves, their caches.  Takes conf (freed with the
 * generation, or at once on failure).  Returns the generation with one
 * reference, or NULL with a reason in err.
 */
struct generation *generation_new(struct sm_conf *conf, char *err,
		    size_t errlen);

/* Stops the engines and pools (running jobs finish) and frees all, conf
 * included.  Only when nothing scans with it.  Takes NULL. */
void	generation_free(struct generation *);

/* Same, but hands the configuration back instead of freeing it (a
 * blocking reload may start it again). */
struct sm_conf *generation_dismantle(struct generation *);

/* The engines of instance av_index (all when av_index is (size_t)-1):
 * a slice of g->engines, its length in *n. */
const struct gen_engine *generation_engines(const struct generation *,
		    size_t av_index, size_t *n);

#define GENERATION_ALL ((size_t)-1)

#endif
