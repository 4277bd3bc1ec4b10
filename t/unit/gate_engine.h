/*
 * A test engine for the unit tests of the batch and the runtime: its scans
 * answer a configured verdict and, with hold = yes, wait at a gate the
 * test opens (bounded), so a test can keep work in flight across a
 * timeout, a reload or a shutdown.  It counts its engines and scans, and
 * each scan reads its handle after the gate, so a handle destroyed under
 * a running scan is a heap-use-after-free under ASan.
 *
 * Header-only: include it in one test file, call gate_register() once.
 */
#ifndef SM_T_GATE_ENGINE_H
#define SM_T_GATE_ENGINE_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <scanmilter/engine.h>

#include "registry.h"

#define GATE_WAIT_MS	10000	/* no wait in a test is longer */

struct gate_conf {
	int	 verdict;
	char	*name;
	int	 hold;
};

struct gate_handle {
	const struct gate_conf *conf;
	char	 instance[64];
	int	 alive;			/* 1 until destroy */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int	 open;
	int	 created, destroyed;
	int	 started, finished;	/* scans */
	int	 running;
} gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0,
	   0, 0, 0 };

#define G(f) offsetof(struct gate_conf, f)
static const struct sm_option gate_options[] = {
	{ "verdict", SM_OPT_ENUM, "clean", 1, 0,
	  "clean|infected|unscannable|error", G(verdict), "verdict" },
	{ "name", SM_OPT_STRING, "Gate.Virus", 1, 0, NULL, G(name), "name" },
	{ "hold", SM_OPT_BOOL, "no", 1, 0, NULL, G(hold),
	  "scans wait until the test opens the gate" },
	SM_OPTION_END
};
#undef G

static inline void
gate_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static void *
gate_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	struct gate_handle *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->conf = conf;
	h->alive = 1;
	snprintf(h->instance, sizeof(h->instance), "%s", env->instance);
	pthread_mutex_lock(&gate.mu);
	gate.created++;
	pthread_mutex_unlock(&gate.mu);
	return h;
}

static int
gate_scan(void *handle, const struct sm_object *obj, struct sm_result *res)
{
	struct gate_handle *h = handle;
	struct timespec ts;
	int hold = h->conf->hold;

	(void)obj;
	gate_deadline(&ts, GATE_WAIT_MS);
	pthread_mutex_lock(&gate.mu);
	gate.started++;
	gate.running++;
	pthread_cond_broadcast(&gate.cv);
	while (hold && !gate.open)
		if (pthread_cond_timedwait(&gate.cv, &gate.mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&gate.mu);
	/* the handle is read after the wait: it must still be there */
	res->verdict = h->alive ? (enum sm_verdict)h->conf->verdict : SM_ERROR;
	snprintf(res->name, sizeof(res->name), "%s",
	    res->verdict == SM_CLEAN ? "" : h->conf->name);
	pthread_mutex_lock(&gate.mu);
	gate.running--;
	gate.finished++;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
	return res->verdict == SM_ERROR ? -1 : 0;
}

static void
gate_version(void *handle, struct sm_engine_version *v)
{
	(void)handle;
	memset(v, 0, sizeof(*v));
	snprintf(v->engine, sizeof(v->engine), "gate 1");
}

static void
gate_destroy(void *handle)
{
	struct gate_handle *h = handle;

	if (h == NULL)
		return;
	h->alive = 0;
	free(h);
	pthread_mutex_lock(&gate.mu);
	gate.destroyed++;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
}

static const struct sm_engine_ops gate_ops = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "gate", .flags = SM_ENGINE_CONTENT_ONLY,
	.options = gate_options, .conf_size = sizeof(struct gate_conf),
	.create = gate_create, .scan = gate_scan, .version = gate_version,
	.destroy = gate_destroy,
};

static inline int
gate_register(void)
{
	char err[256];

	if (registry_find("gate") == NULL &&
	    registry_add(&gate_ops, "unit test", err, sizeof(err)) < 0) {
		fprintf(stderr, "gate engine: %s\n", err);
		return -1;
	}
	return 0;
}

/* Closes the gate and zeroes the counters (nothing may be running). */
static inline void
gate_reset(void)
{
	pthread_mutex_lock(&gate.mu);
	gate.open = 0;
	gate.created = gate.destroyed = 0;
	gate.started = gate.finished = 0;
	pthread_mutex_unlock(&gate.mu);
}

static inline void
gate_open(void)
{
	pthread_mutex_lock(&gate.mu);
	gate.open = 1;
	pthread_cond_broadcast(&gate.cv);
	pthread_mutex_unlock(&gate.mu);
}

/* Waits until *counter reaches n (bounded); returns its value. */
static inline int
gate_wait(const int *counter, int n)
{
	struct timespec ts;
	int v;

	gate_deadline(&ts, GATE_WAIT_MS);
	pthread_mutex_lock(&gate.mu);
	while (*counter < n)
		if (pthread_cond_timedwait(&gate.cv, &gate.mu, &ts) != 0)
			break;
	v = *counter;
	pthread_mutex_unlock(&gate.mu);
	return v;
}

static inline int
gate_get(const int *counter)
{
	int v;

	pthread_mutex_lock(&gate.mu);
	v = *counter;
	pthread_mutex_unlock(&gate.mu);
	return v;
}

#endif
