/*
 * Bringing a configuration to life and back: its plug-ins, pools, engines,
 * caches, statistics and spool directory; see generation.h.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "encmemo.h"
#include "generation.h"
#include "log.h"
#include "pool.h"
#include "rcache.h"
#include "registry.h"
#include "stats.h"
#include "util.h"
#include "vcache.h"

#define GEN_MAX_MODULES 32

/* Plug-ins loaded so far, by resolved path: loading one again is a no-op
 * (objects stay loaded for the process's life). */
static struct { char *real; const struct sm_engine_ops *ops; }
    loaded[GEN_MAX_MODULES];
static size_t nloaded;
static pthread_mutex_t loaded_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * Loads plug-in m: the very file the parser checked (same device, inode
 * and owner, still writable by no one else), opened by descriptor so that
 * no rename or link put in place since can substitute another; then its
 * table, checked before anything else of it is read.  Runs as whoever
 * builds the generation -- the service user once the daemon dropped
 * root.  Returns the table, or NULL with err naming the file.
 */
static const struct sm_engine_ops *
module_load(const struct sm_module *m, char *err, size_t errlen)
{
	const struct sm_engine_ops *ops = NULL;
	char proc[64];
	const char *why;
	struct stat st;
	void *h = NULL;
	int fd;

	pthread_mutex_lock(&loaded_lock);
	for (size_t i = 0; i < nloaded; i++)
		if (strcmp(loaded[i].real, m->real) == 0) {
			ops = loaded[i].ops;
			goto out;
		}
	if (nloaded >= GEN_MAX_MODULES) {
		snprintf(err, errlen, "%s: more than %d plug-ins", m->path,
		    GEN_MAX_MODULES);
		goto out;
	}
	if ((fd = open(m->real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", m->path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_dev != m->dev || st.st_ino != m->ino ||
	    st.st_uid != m->uid || (st.st_mode & 022) != 0) {
		snprintf(err, errlen, "%s: not the file checked when the "
		    "configuration was read (replaced, or its owner or mode "
		    "changed): refused", m->path);
		close(fd);
		goto out;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	/* without /proc, the resolved path: a link in it is refused above
	 * and its directories are root's */
	h = dlopen(access(proc, F_OK) == 0 ? proc : m->real,
	    RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		close(fd);
		why = dlerror();
		if (why != NULL && strncmp(why, proc, strlen(proc)) == 0 &&
		    strncmp(why + strlen(proc), ": ", 2) == 0)
			why += strlen(proc) + 2;
		snprintf(err, errlen, "%s: %s", m->path, why ? why : "cannot "
		    "load");
		goto out;
	}
	if ((ops = dlsym(h, SM_ENGINE_SYMBOL)) == NULL) {
		snprintf(err, errlen, "%s: no symbol %s: not a scanmilter "
		    "engine", m->path, SM_ENGINE_SYMBOL);
		goto fail;
	}
	/* the version before anything else of the table */
	if (registry_check(ops, m->path, err, errlen) < 0)
		goto fail;
	if (strcmp(ops->name, m->name) != 0) {
		snprintf(err, errlen, "%s: the engine calls itself '%s', the "
		    "config '%s'", m->path, ops->name, m->name);
		goto fail;
	}
	if (registry_add_module(ops, m->path, err, errlen) < 0)
		goto fail;
	/* fd stays open as long as the object stays loaded: dlopen() knows
	 * it by its name, /proc/self/fd/N, and would hand it back for the
	 * next plug-in opened under the same number */
	loaded[nloaded].real = xstrdup(m->real);
	loaded[nloaded++].ops = ops;
	goto out;
fail:
	ops = NULL;
	dlclose(h);
	close(fd);
out:
	pthread_mutex_unlock(&loaded_lock);
	return ops;
}

/* Loads the plug-ins c names and binds their blocks. */
static int
load_modules(struct sm_conf *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->nmodules; i++) {
		const struct sm_module *m = c->modules[i];
		const struct sm_engine_ops *ops;
		char why[1024];

		if ((ops = module_load(m, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "%s:%d: engine \"%s\": %s",
			    m->file, m->line, m->name, why);
			return -1;
		}
		if (conf_bind_module(c, m, ops, err, errlen) < 0)
			return -1;
	}
	return 0;
}

static int
start_engine(const struct sm_conf *c, struct gen_engine *ge, char *err,
    size_t errlen)
{
	const struct sm_engine_inst *e = ge->e;
	struct sm_engine_env env = { e->name, NULL, log_msg, ge->av->timeout };
	char why[1024];

	ge->tmpdir = conf_engine_tmp_path(ge->av, e);
	if (conf_private_dir(ge->tmpdir, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%d: engine \"%s\": %s", c->path,
		    e->line, e->name, why);
		return -1;
	}
	env.tmpdir = ge->tmpdir;
	why[0] = '\0';
	ge->handle = e->ops->create(e->conf, &env, why, sizeof(why));
	if (ge->handle == NULL) {
		snprintf(err, errlen, "%s:%d: engine %s \"%s\": %s", c->path,
		    e->line, e->ops->name, e->name,
		    *why ? why : "failed to start");
		return -1;
	}
	ge->limit = xcalloc(1, sizeof(*ge->limit));
	ge->limit->cap = (int)e->max_concurrency;
	if (ge->av->cache_size > 0 &&
	    (e->ops->flags & SM_ENGINE_CONTENT_ONLY))
		ge->cache = vcache_new((size_t)ge->av->cache_size);
	if (ge->cache != NULL && c->cache_redis != NULL) {
		struct rcache *rc;

		why[0] = '\0';
		rc = rcache_for_engine(c, e, ge->handle, why, sizeof(why));
		if (rc == NULL && why[0] != '\0') {
			snprintf(err, errlen, "%s: cache: %s", c->path, why);
			return -1;
		}
		vcache_set_shared(ge->cache, rc);	/* NULL: none */
	}
	return 0;
}

static struct pool *
start_pool(const struct sm_conf *c, const struct sm_pool_conf *p, char *err,
    size_t errlen)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = (int)p->concurrency, queue = (int)p->queue;
	int large = (int)p->large_concurrency;
	struct pool *pool;

	if (ncpu < 1)
		ncpu = 1;
	if (threads == 0)
		threads = (int)(strcmp(p->name, "IO") == 0 ? 4 * ncpu : ncpu);
	if (queue == 0)
		queue = 16 * threads;
	if (large == 0)
		large = threads > 1 ? threads - 1 : 1;
	pool = pool_create(p->name, &(struct pool_params){
	    .threads = threads, .queue_max = queue,
	    .large_size = (size_t)p->large_job_size, .large_cap = large,
	    .small_size = (size_t)p->small_job_size,
	    .small_threads = (int)p->small_threads,
	    .medium_size = (size_t)p->medium_job_size,
	    .medium_threads = (int)p->medium_threads,
	    .max_wait_ms = (double)p->max_wait });
	if (pool == NULL)
		snprintf(err, errlen, "%s:%d: threadpool \"%s\": cannot start "
		    "%d threads: %s", c->path, p->line, p->name, threads,
		    strerror(errno));
	return pool;
}

/* The started pool of engine e, or NULL. */
static struct pool *
pool_of(const struct generation *g, const struct sm_engine_inst *e)
{
	for (size_t i = 0; i < g->conf->npools; i++)
		if (g->conf->pools[i] == e->pool)
			return g->pools[i];
	return NULL;
}

/* Lists every engine of every instance, in order. */
static void
list_engines(struct generation *g)
{
	const struct sm_conf *c = g->conf;
	const struct sm_av *av;
	size_t n = 0, a = 0;

	while (conf_engine(c, n, &av) != NULL)
		n++;
	g->engines = xcalloc(n ? n : 1, sizeof(*g->engines));
	for (size_t i = 0; i < n; i++) {
		const struct sm_engine_inst *e = conf_engine(c, i, &av);

		while (c->avs[a] != av)		/* instance order */
			a++;
		g->engines[g->nengines++] = (struct gen_engine){
		    .av = av, .av_index = a, .e = e };
	}
}

struct generation *
generation_new(struct sm_conf *c, char *err, size_t errlen)
{
	struct generation *g = xcalloc(1, sizeof(*g));
	char why[1024];
	size_t a = (size_t)-1;

	g->refs = 1;
	g->conf = c;
	g->pools = xcalloc(c->npools ? c->npools : 1, sizeof(*g->pools));
	g->stats = xcalloc(c->navs ? c->navs : 1, sizeof(*g->stats));
	/* the plug-ins' code first runs here, never in the parser: as the
	 * service user once root is dropped */
	if (load_modules(c, err, errlen) < 0)
		goto fail;
	list_engines(g);
	g->memo = encmemo_new((size_t)c->attachment_memory);
	g->spool_dir = conf_spool_path(c);
	if (conf_private_dir(g->spool_dir, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: file_base: %s", c->path, why);
		goto fail;
	}
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i]->used && (g->pools[i] = start_pool(c,
		    c->pools[i], err, errlen)) == NULL)
			goto fail;
	for (size_t i = 0; i < g->nengines; i++) {
		struct gen_engine *ge = &g->engines[i];

		if (ge->av_index != a) {	/* the instance's first */
			a = ge->av_index;
			g->stats[a] = stats_for(ge->av->name);
		}
		if (!ge->e->enabled)
			continue;
		if (start_engine(c, ge, err, errlen) < 0)
			goto fail;
		ge->pool = pool_of(g, ge->e);
	}
	for (a = 0; a < c->navs; a++) {
		size_t n, enabled = 0;
		const struct gen_engine *ge = generation_engines(g, a, &n);

		if (g->stats[a] == NULL)	/* no engine at all */
			g->stats[a] = stats_for(c->avs[a]->name);
		for (size_t i = 0; i < n; i++)
			enabled += ge[i].handle != NULL;
		if (enabled == 0)
			msg_warnx("%s:%d: %s \"%s\" has no enabled engine: "
			    "its mail is tagged, not scanned", c->path,
			    c->avs[a]->line, c->avs[a]->antispam ? "antispam" :
			    "antivirus", c->avs[a]->name);
	}
	return g;
fail:
	generation_free(g);
	return NULL;
}

struct sm_conf *
generation_dismantle(struct generation *g)
{
	struct sm_conf *c;

	if (g == NULL)
		return NULL;
	c = g->conf;
	/* pools first: running jobs finish before their engines go */
	for (size_t i = 0; i < c->npools; i++)
		pool_destroy(g->pools[i]);
	for (size_t i = 0; i < g->nengines; i++) {
		struct gen_engine *ge = &g->engines[i];

		if (ge->handle != NULL)
			ge->e->ops->destroy(ge->handle);
		vcache_free(ge->cache);
		free(ge->limit);
		/* the directory stays: its fixed name is shared with the
		 * engine of the same name in a reloaded configuration */
		free(ge->tmpdir);
	}
	encmemo_free(g->memo);
	free(g->engines);
	free(g->pools);
	free(g->stats);
	free(g->spool_dir);
	free(g);
	return c;
}

void
generation_free(struct generation *g)
{
	conf_free(generation_dismantle(g));
}

const struct gen_engine *
generation_engines(const struct generation *g, size_t av_index, size_t *n)
{
	size_t first = 0;

	if (av_index == GENERATION_ALL) {
		*n = g->nengines;
		return g->engines;
	}
	while (first < g->nengines && g->engines[first].av_index < av_index)
		first++;
	*n = 0;
	while (first + *n < g->nengines &&
	    g->engines[first + *n].av_index == av_index)
		(*n)++;
	return g->engines + first;
}
