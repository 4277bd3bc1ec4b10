/*
 * Reference-counted generations (a configuration and what runs for it)
 * and reload.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "generation.h"
#include "log.h"
#include "notify.h"
#include "runtime.h"
#include "util.h"

static pthread_mutex_t rt_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rt_cv = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t reload_mu = PTHREAD_MUTEX_INITIALIZER;
static struct generation *current;	/* under rt_mu */
static int live;			/* generations not yet freed */
static bool stopping;
static bool blocking;			/* a blocking reload is under way */
static long long blocking_code = 451;	/* its tempfailure, atomic */
static char *rt_path, *rt_listen;
static struct runtime_status status;	/* under rt_mu */

void
runtime_init(struct generation *g, const char *path, const char *listen)
{
	g->refs = 1;
	current = g;
	live = 1;
	rt_path = xstrdup(path);
	rt_listen = xstrdup(listen);
}

struct generation *
runtime_acquire(void)
{
	struct generation *c;

	pthread_mutex_lock(&rt_mu);
	if ((c = current) != NULL)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&rt_mu);
	return c;
}

static void *
reaper(void *arg)
{
	generation_free(arg);	/* joins its pools: running scans finish */
	pthread_mutex_lock(&rt_mu);
	live--;
	pthread_cond_broadcast(&rt_cv);
	pthread_mutex_unlock(&rt_mu);
	return NULL;
}

void
runtime_release(struct generation *c)
{
	pthread_t t;
	pthread_attr_t attr;

	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL))
		return;
	/* the last message of a replaced config: free it off this thread */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, reaper, c) != 0)
		reaper(c);
	pthread_attr_destroy(&attr);
}

/* Two option strings, either unset (NULL), differ. */
static int
str_changed(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* Options that only a restart changes: say so instead of ignoring them. */
static void
warn_restart_only(const struct sm_conf *old, const struct sm_conf *new)
{
	struct { const char *name; int changed; } opts[] = {
		{ "listen", str_changed(old->listen, new->listen) },
		{ "socket_mode", old->socket_mode != new->socket_mode },
		{ "socket_group", str_changed(old->socket_group,
		    new->socket_group) },
		{ "user", str_changed(old->user, new->user) },
		{ "group", str_changed(old->group, new->group) },
		{ "pidfile", str_changed(old->pidfile, new->pidfile) },
		{ "backlog", old->backlog != new->backlog },
		{ "log", old->log_target != new->log_target },
		{ "log_facility", old->log_facility != new->log_facility },
		{ "control listen", str_changed(old->control_listen,
		    new->control_listen) },
		{ "control socket_mode", old->control_mode !=
		    new->control_mode },
		{ "control socket_group", str_changed(old->control_group,
		    new->control_group) },
		{ "control admin_group", str_changed(old->control_admin_group,
		    new->control_admin_group) },
		{ "control max_connections", old->control_max_conns !=
		    new->control_max_conns },
		{ "control reload_interval", old->control_reload_interval !=
		    new->control_reload_interval },
		{ "metrics listen", str_changed(old->metrics_listen,
		    new->metrics_listen) },
		{ "metrics max_connections", old->metrics_max_conns !=
		    new->metrics_max_conns },
	};

	for (size_t i = 0; i < ARRAY_LEN(opts); i++)
		if (opts[i].changed)
			msg_warnx("reload: option '%s' changed in %s: it takes "
			    "effect at the next restart (still listening on "
			    "%s)", opts[i].name, new->path, rt_listen);
}

static void
set_status(bool ok, const char *err)
{
	pthread_mutex_lock(&rt_mu);
	status.last_time = time(NULL);
	status.last_ok = ok;
	if (ok) {
		status.reloads++;
		status.last_error[0] = '\0';
	} else {
		status.failures++;
		sm_strlcpy(status.last_error, err, sizeof(status.last_error));
	}
	pthread_mutex_unlock(&rt_mu);
}

bool
runtime_reloading(void)
{
	return __atomic_load_n(&blocking, __ATOMIC_ACQUIRE);
}

long long
runtime_reloading_code(void)
{
	return __atomic_load_n(&blocking_code, __ATOMIC_RELAXED);
}

/* Waits (bounded) until only the runtime's reference to c is left. */
static int
wait_sole_owner(struct generation *c, long long ms)
{
	for (long long waited = 0; waited < ms; waited += 20) {
		struct timespec ts = { 0, 20 * 1000000L };

		if (__atomic_load_n(&c->refs, __ATOMIC_ACQUIRE) == 1)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * reload_mode = blocking: one signature set in memory at any time.  New
 * mail is answered 451 4.3.2 while the old engines finish their scans and
 * go, then the new ones load; if they cannot, the old ones load again.
 */
static int
reload_blocking(struct sm_conf *new, char *err, size_t errlen)
{
	struct generation *old, *g;
	struct sm_conf *oldconf;
	long long grace = 0;
	char again[1024];

	__atomic_store_n(&blocking_code, new->avs[0]->tempfailure,
	    __ATOMIC_RELAXED);
	pthread_mutex_lock(&rt_mu);
	old = current;
	current = NULL;
	__atomic_store_n(&blocking, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rt_mu);
	for (size_t a = 0; a < old->conf->navs; a++)
		if (old->conf->avs[a]->timeout > grace)
			grace = old->conf->avs[a]->timeout;
	if (wait_sole_owner(old, grace + 5000) < 0) {
		/* never pull engines from under a message: give up instead */
		pthread_mutex_lock(&rt_mu);
		current = old;
		__atomic_store_n(&blocking, false, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&rt_mu);
		snprintf(err, errlen, "messages still in flight after %llds: "
		    "blocking reload abandoned, the old signatures stay (try "
		    "again)", (grace + 5000) / 1000);
		conf_free(new);
		return -1;
	}
	/* the sole owner: take it apart (its pools join: scans end) */
	oldconf = generation_dismantle(old);
	if ((g = generation_new(new, err, errlen)) != NULL) {
		pthread_mutex_lock(&rt_mu);
		current = g;
		__atomic_store_n(&blocking, false, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&rt_mu);
		warn_restart_only(oldconf, new);
		conf_free(oldconf);
		return 0;
	}
	if ((g = generation_new(oldconf, again, sizeof(again))) == NULL) {
		msg_err("reload: the old engines do not start again either, "
		    "mail is answered 451 until a reload works: %s", again);
		pthread_mutex_lock(&rt_mu);
		live--;			/* the old one is gone */
		pthread_cond_broadcast(&rt_cv);
		pthread_mutex_unlock(&rt_mu);
		return -1;
	}
	pthread_mutex_lock(&rt_mu);
	current = g;
	__atomic_store_n(&blocking, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rt_mu);
	return -1;
}

/* The running configuration parsed again from the text it was built
 * from (its engines start anew, so they read their databases again). */
static struct sm_conf *
running_conf(char *err, size_t errlen)
{
	struct generation *g = runtime_acquire();
	struct sm_conf *c;

	if (g == NULL) {
		snprintf(err, errlen, "no configuration is running");
		return NULL;
	}
	c = conf_reparse(g->conf, err, errlen);
	runtime_release(g);
	return c;
}

static int
reload(const char *why, bool from_file, char *err, size_t errlen)
{
	struct sm_conf *new;
	struct generation *g, *old;
	int rc = -1;

	pthread_mutex_lock(&reload_mu);
	notify_reloading();
	if (from_file) {
		msg_info("reload (%s): reading %s", why, rt_path);
		new = conf_load(rt_path, err, errlen);
	} else {
		msg_info("reload (%s): the running configuration with the "
		    "engines' databases read again", why);
		new = running_conf(err, errlen);
	}
	if (new == NULL)
		goto out;
	notify_loading_begin(new);
	if (new->reload_mode == RELOAD_BLOCKING && current != NULL) {
		rc = reload_blocking(new, err, errlen);
		if (rc == 0)
			log_set_priority(conf_syslog_priority(
			    current->conf->log_level));
		goto out;
	}
	if ((g = generation_new(new, err, errlen)) == NULL)
		goto out;
	pthread_mutex_lock(&rt_mu);
	old = current;
	if (stopping) {
		pthread_mutex_unlock(&rt_mu);
		snprintf(err, errlen, "stopping");
		generation_free(g);
		goto out;
	}
	current = g;
	live++;
	__atomic_store_n(&blocking, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&rt_mu);
	if (old != NULL)
		warn_restart_only(old->conf, new);
	log_set_priority(conf_syslog_priority(new->log_level));
	runtime_release(old);
	rc = 0;
out:
	notify_loading_end();
	if (rc == 0 && from_file)
		msg_info("reload (%s): configuration and signatures from %s "
		    "in use", why, rt_path);
	else if (rc == 0)
		msg_info("reload (%s): new signatures in use, the "
		    "configuration unchanged", why);
	else
		msg_err("reload (%s) failed, the running configuration stays: "
		    "%s", why, err);
	set_status(rc == 0, rc == 0 ? "" : err);
	notify_ready();
	pthread_mutex_unlock(&reload_mu);
	return rc;
}

int
runtime_reload(const char *why, char *err, size_t errlen)
{
	return reload(why, true, err, errlen);
}

int
runtime_reload_signatures(const char *why, char *err, size_t errlen)
{
	return reload(why, false, err, errlen);
}

void
runtime_stop(void)
{
	struct generation *c;

	pthread_mutex_lock(&reload_mu);		/* no reload half done */
	pthread_mutex_lock(&rt_mu);
	stopping = true;
	c = current;
	current = NULL;
	pthread_mutex_unlock(&rt_mu);
	pthread_mutex_unlock(&reload_mu);
	runtime_release(c);
}

int
runtime_wait(long long ms)
{
	struct timespec ts;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rt_mu);
	while (live > 0 && rc == 0)
		if (pthread_cond_timedwait(&rt_cv, &rt_mu, &ts) == ETIMEDOUT)
			rc = -1;
	pthread_mutex_unlock(&rt_mu);
	return rc;
}

void
runtime_get_status(struct runtime_status *s)
{
	pthread_mutex_lock(&rt_mu);
	*s = status;
	s->live_configs = live;
	pthread_mutex_unlock(&rt_mu);
}
