/*
 * Per-instance counters.  The table of instances only grows (a name seen
 * once keeps its counters), so pointers into it stay valid for the
 * daemon's life and readers need no lock; writers add atomically.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "stats.h"
#include "util.h"

#define STATS_MAX 64

const double stats_latency_bounds_ms[STATS_LATENCY_BUCKETS] = {
	1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 10000
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct av_stats table[STATS_MAX];
static size_t ntable;
static struct av_stats overflow = { .name = "(other)" };
static time_t started;

time_t
stats_start_time(void)
{
	return started;
}

struct av_stats *
stats_for(const char *name)
{
	struct av_stats *s = &overflow;

	pthread_mutex_lock(&mu);
	if (started == 0)
		started = time(NULL);
	for (size_t i = 0; i < ntable; i++)
		if (strcmp(table[i].name, name) == 0) {
			s = &table[i];
			goto out;
		}
	if (ntable < STATS_MAX) {
		s = &table[ntable];
		sm_strlcpy(s->name, name, sizeof(s->name));
		s->reset_time = time(NULL);
		__atomic_store_n(&ntable, ntable + 1, __ATOMIC_RELEASE);
	}
out:
	pthread_mutex_unlock(&mu);
	return s;
}

#define ADD(field, v) __atomic_add_fetch(&s->total.field, (v), \
	__ATOMIC_RELAXED)

void
stats_count(struct av_stats *s, const struct stats_sample *m)
{
	size_t b = 0;

	ADD(messages, 1);
	ADD(parts, m->parts);
	ADD(msg_us, (uint64_t)(m->elapsed_ms * 1000));
	ADD(part_us, (uint64_t)(m->part_ms * 1000));
	ADD(engine_scans, m->engine_scans);
	ADD(cache_hits, m->cache_hits);
	ADD(cured, m->cured);
	switch (m->verdict) {
	case SM_CLEAN:		ADD(clean, 1); break;
	case SM_INFECTED:
		ADD(infected, 1);
		if (m->spam)
			ADD(spam, 1);
		else
			ADD(viruses, 1);
		break;
	case SM_UNSCANNABLE:	ADD(unscannable, 1); break;
	case SM_ERROR:		ADD(errors, 1); break;
	}
	switch (m->reply) {
	case REPLY_ACCEPT:	ADD(accepts, 1); break;
	case REPLY_STRIP:	ADD(strips, 1); break;
	case REPLY_REJECT:	ADD(rejects, 1); break;
	case REPLY_DISCARD:	ADD(discards, 1); break;
	case REPLY_QUARANTINE:	ADD(quarantines, 1); break;
	case REPLY_TEMPFAIL:
		ADD(tempfails, 1);
		if (m->failure == FAIL_TIMEOUT)
			ADD(tempfail_timeout, 1);
		else if (m->failure == FAIL_BUSY)
			ADD(tempfail_busy, 1);
		else if (m->failure == FAIL_ERROR || m->verdict == SM_ERROR)
			ADD(tempfail_error, 1);
		else
			ADD(tempfail_action, 1);
		break;
	}
	while (b < STATS_LATENCY_BUCKETS &&
	    m->elapsed_ms > stats_latency_bounds_ms[b])
		b++;
	ADD(latency[b], 1);
}

void
stats_skip(struct av_stats *s)
{
	ADD(skipped, 1);
}

static void
load(const struct av_counters *src, struct av_counters *dst)
{
	const uint64_t *in = (const uint64_t *)src;
	uint64_t *out = (uint64_t *)dst;

	for (size_t i = 0; i < sizeof(*src) / sizeof(uint64_t); i++)
		out[i] = __atomic_load_n(&in[i], __ATOMIC_RELAXED);
}

void
stats_read(const struct av_stats *s, struct av_counters *total,
    struct av_counters *since)
{
	struct av_counters base;
	const uint64_t *b = (const uint64_t *)&base;

	if (since == NULL) {
		load(&s->total, total);
		return;
	}
	/* the reset point first: a total read after it is never below it */
	pthread_mutex_lock(&mu);
	base = s->base;
	pthread_mutex_unlock(&mu);
	load(&s->total, total);
	for (size_t i = 0; i < sizeof(base) / sizeof(uint64_t); i++)
		((uint64_t *)since)[i] = ((const uint64_t *)total)[i] - b[i];
}

void
stats_reset(struct av_stats *s)
{
	struct av_counters now;

	load(&s->total, &now);
	pthread_mutex_lock(&mu);
	s->base = now;
	s->reset_time = time(NULL);
	pthread_mutex_unlock(&mu);
}

size_t
stats_all(struct av_stats **out, size_t max)
{
	size_t n = __atomic_load_n(&ntable, __ATOMIC_ACQUIRE);

	for (size_t i = 0; i < n && i < max; i++)
		out[i] = &table[i];
	return n < max ? n : max;
}
