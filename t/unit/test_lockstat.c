/*
 * The mutex wait counters: every acquisition counted exactly once, however
 * many threads share a shard, and a wait counted only when the lock was
 * found held.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>

#include "lockstat.h"

/* more threads than shards: some shards are written by two threads */
#define NTHREADS	(LOCKSTAT_SHARDS + 5)
#define ROUNDS		100000

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long guarded;	/* written only under shared */
static pthread_barrier_t all_in;	/* every thread running before any locks */

static void *
locker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&all_in);
	for (int i = 0; i < ROUNDS; i++) {
		lockstat_lock(&shared, LOCKSTAT_BATCH);
		guarded++;
		pthread_mutex_unlock(&shared);
	}
	return NULL;
}

static void
test_exact_under_threads(void **state)
{
	struct lockstat_counts before, after;
	pthread_t t[NTHREADS];

	(void)state;
	lockstat_read(LOCKSTAT_BATCH, &before);
	pthread_barrier_init(&all_in, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, locker, NULL), 0);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&all_in);
	lockstat_read(LOCKSTAT_BATCH, &after);
	assert_int_equal(guarded, (unsigned long long)NTHREADS * ROUNDS);
	assert_int_equal(after.acquired - before.acquired,
	    (unsigned long long)NTHREADS * ROUNDS);
	assert_true(after.contended - before.contended <=
	    after.acquired - before.acquired);
	if (after.contended == before.contended)
		assert_int_equal(after.wait_ns, before.wait_ns);
}

/* A lock nobody holds: counted, never a wait, and no other site moves. */
static void
test_uncontended(void **state)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct lockstat_counts before, after, other0, other1;

	(void)state;
	lockstat_read(LOCKSTAT_VCACHE, &before);
	lockstat_read(LOCKSTAT_POOL, &other0);
	for (int i = 0; i < 1000; i++) {
		lockstat_lock(&mu, LOCKSTAT_VCACHE);
		pthread_mutex_unlock(&mu);
	}
	lockstat_read(LOCKSTAT_VCACHE, &after);
	lockstat_read(LOCKSTAT_POOL, &other1);
	assert_int_equal(after.acquired - before.acquired, 1000);
	assert_int_equal(after.contended, before.contended);
	assert_int_equal(after.wait_ns, before.wait_ns);
	assert_int_equal(other1.acquired, other0.acquired);
}

/*
 * A lock held by another thread: the taker waits, and that is counted.
 * The holder lets go 100 ms after the taker counted its acquisition, so
 * the taker finds the lock held unless it stalls that long between two
 * instructions.
 */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int holding;
static unsigned long long acquired_before;

static void *
holder(void *arg)
{
	struct timespec tick = { 0, 1000 * 1000 }, hold = { 0, 100000000 };
	struct lockstat_counts c;

	(void)arg;
	pthread_mutex_lock(&held);
	pthread_mutex_lock(&gate);
	holding = 1;
	pthread_cond_signal(&gate_cv);
	pthread_mutex_unlock(&gate);
	for (int i = 0; i < 10000; i++) {	/* at most about 10 s */
		lockstat_read(LOCKSTAT_POOL, &c);
		if (c.acquired > acquired_before)
			break;
		nanosleep(&tick, NULL);
	}
	nanosleep(&hold, NULL);
	pthread_mutex_unlock(&held);
	return NULL;
}

static void
test_contended(void **state)
{
	struct lockstat_counts before, after;
	pthread_t t;

	(void)state;
	lockstat_read(LOCKSTAT_POOL, &before);
	acquired_before = before.acquired;
	assert_int_equal(pthread_create(&t, NULL, holder, NULL), 0);
	pthread_mutex_lock(&gate);
	while (!holding)
		pthread_cond_wait(&gate_cv, &gate);
	pthread_mutex_unlock(&gate);
	lockstat_lock(&held, LOCKSTAT_POOL);
	pthread_mutex_unlock(&held);
	pthread_join(t, NULL);
	lockstat_read(LOCKSTAT_POOL, &after);
	assert_int_equal(after.acquired - before.acquired, 1);
	assert_int_equal(after.contended - before.contended, 1);
	assert_true(after.wait_ns - before.wait_ns > 1000 * 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_under_threads),
		cmocka_unit_test(test_uncontended),
		cmocka_unit_test(test_contended),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
