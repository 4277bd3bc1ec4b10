/*
 * Bringing a configuration to life: its temporary directories, the pools
 * its engines use and the engines themselves.
 *
 * Directories under file_base have fixed names (spool/ for messages past
 * the threshold, engine-NAME/ for each engine's own temporary files), so
 * what a crash left behind is found and removed at the next start.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "pool.h"
#include "stats.h"
#include "util.h"
#include "vcache.h"

/*
 * mkdir -p; what it creates is mode 0711: others may pass through (to the
 * private directories inside, owned by the user the daemon drops to) but
 * not list.
 */
static int
make_dirs(const char *path, char *err, size_t errlen)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		char c = *s;

		if (c != '/' && c != '\0')
			continue;
		*s = '\0';
		if (mkdir(p, 0711) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p,
			    strerror(errno));
			rc = -1;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return rc;
}

static const char *clean_top;
static int clean_count;

static int
clean_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	if (f->level == 0 || strcmp(path, clean_top) == 0)
		return 0;
	if (remove(path) == 0)
		clean_count++;
	else
		msg_warn("cannot remove stale %s", path);
	return 0;
}

/* Empties dir (not following symlinks); returns how many entries went. */
static int
clean_dir(const char *dir)
{
	clean_top = dir;
	clean_count = 0;
	nftw(dir, clean_one, 16, FTW_DEPTH | FTW_PHYS);
	return clean_count;
}

/* Creates dir (and parents) as a private directory. */
static int
private_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (make_dirs(dir, err, errlen) < 0)
		return -1;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s is not a directory", dir);
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) < 0) {
		snprintf(err, errlen, "chmod 0700 %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static char *
spool_path(const struct sm_conf *c)
{
	return xasprintf("%s/spool", c->eff.file_base);
}

static char *
engine_tmp_path(const struct sm_av *av, const struct sm_engine_inst *e)
{
	return xasprintf("%s/engine-%s", av->msg.file_base, e->name);
}

static void
clean_logged(char *dir)
{
	struct stat st;
	int n;

	if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (n = clean_dir(dir)) > 0)
		msg_warnx("removed %d stale file(s) from %s", n, dir);
	free(dir);
}

void
conf_clean_stale(const struct sm_conf *c)
{
	clean_logged(spool_path(c));
	for (size_t a = 0; a < c->navs; a++)
		for (size_t i = 0; i < c->avs[a]->nengines; i++)
			clean_logged(engine_tmp_path(c->avs[a],
			    c->avs[a]->engines[i]));
}

static int
start_engine(struct sm_conf *c, const struct sm_av *av,
    struct sm_engine_inst *e, char *err, size_t errlen)
{
	struct sm_engine_env env = { e->name, NULL, log_msg, av->timeout };
	char why[1024];

	e->tmpdir = engine_tmp_path(av, e);
	if (private_dir(e->tmpdir, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%d: engine \"%s\": %s", c->path,
		    e->line, e->name, why);
		return -1;
	}
	env.tmpdir = e->tmpdir;
	why[0] = '\0';
	e->handle = e->ops->create(e->conf, &env, why, sizeof(why));
	if (e->handle == NULL) {
		snprintf(err, errlen, "%s:%d: engine %s \"%s\": %s", c->path,
		    e->line, e->ops->name, e->name,
		    *why ? why : "failed to start");
		return -1;
	}
	e->limit = xcalloc(1, sizeof(*e->limit));
	e->limit->cap = (int)e->max_concurrency;
	if (av->cache_size > 0 && (e->ops->flags & SM_ENGINE_CONTENT_ONLY))
		e->cache = vcache_new((size_t)av->cache_size);
	return 0;
}

static int
start_pool(struct sm_conf *c, struct sm_pool_conf *p, char *err,
    size_t errlen)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int threads = (int)p->concurrency, queue = (int)p->queue;
	int large = (int)p->large_concurrency;

	if (ncpu < 1)
		ncpu = 1;
	if (threads == 0)
		threads = (int)(strcmp(p->name, "IO") == 0 ? 4 * ncpu : ncpu);
	if (queue == 0)
		queue = 16 * threads;
	if (large == 0)
		large = threads > 1 ? threads - 1 : 1;
	p->pool = pool_create(p->name, &(struct pool_params){
	    .threads = threads, .queue_max = queue,
	    .large_size = (size_t)p->large_job_size, .large_cap = large,
	    .small_size = (size_t)p->small_job_size,
	    .small_threads = (int)p->small_threads,
	    .max_wait_ms = (double)p->max_wait });
	if (p->pool == NULL) {
		snprintf(err, errlen, "%s:%d: threadpool \"%s\": cannot start "
		    "%d threads: %s", c->path, p->line, p->name, threads,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
conf_start_engines(struct sm_conf *c, char *err, size_t errlen)
{
	char why[1024];

	c->spool_dir = spool_path(c);
	if (private_dir(c->spool_dir, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: file_base: %s", c->path, why);
		return -1;
	}
	for (size_t i = 0; i < c->npools; i++)
		if (c->pools[i]->used && c->pools[i]->pool == NULL &&
		    start_pool(c, c->pools[i], err, errlen) < 0)
			return -1;
	for (size_t a = 0; a < c->navs; a++) {
		struct sm_av *av = c->avs[a];
		size_t enabled = 0;

		av->stats = stats_for(av->name);
		for (size_t i = 0; i < av->nengines; i++) {
			if (!av->engines[i]->enabled)
				continue;
			if (start_engine(c, av, av->engines[i], err,
			    errlen) < 0)
				return -1;
			enabled++;
		}
		if (enabled == 0)
			msg_warnx("%s:%d: %s \"%s\" has no enabled engine: "
			    "its mail is tagged, not scanned", c->path,
			    av->line, av->antispam ? "antispam" : "antivirus",
			    av->name);
	}
	return 0;
}

int
conf_chown_dirs(const struct sm_conf *c, uid_t uid, gid_t gid)
{
	if (c->spool_dir != NULL && chown(c->spool_dir, uid, gid) < 0) {
		msg_warn("chown %s", c->spool_dir);
		return -1;
	}
	for (size_t a = 0; a < c->navs; a++)
		for (size_t i = 0; i < c->avs[a]->nengines; i++) {
			const char *d = c->avs[a]->engines[i]->tmpdir;

			if (d != NULL && chown(d, uid, gid) < 0) {
				msg_warn("chown %s", d);
				return -1;
			}
		}
	return 0;
}
