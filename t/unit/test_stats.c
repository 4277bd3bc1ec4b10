/*
 * Per-instance counters read while other threads count and reset: the
 * since-reset column of a snapshot never exceeds the total (a reset
 * between reading the total and the reset point once made it wrap).
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "decision.h"
#include "stats.h"

#define ROUNDS	200000

static struct av_stats *s;
static bool done;

static void *
counter(void *arg)
{
	const struct stats_sample m = { .verdict = SM_CLEAN,
	    .reply = REPLY_ACCEPT };

	(void)arg;
	while (!__atomic_load_n(&done, __ATOMIC_RELAXED)) {
		stats_count(s, &m);
		stats_reset(s);
	}
	return NULL;
}

static void
test_since_reset_never_wraps(void **state)
{
	pthread_t t;
	struct av_counters total, since;
	unsigned long bad = 0;

	(void)state;
	s = stats_for("race1");
	assert_int_equal(pthread_create(&t, NULL, counter, NULL), 0);
	for (int i = 0; i < ROUNDS; i++) {
		stats_read(s, &total, &since);
		bad += since.messages > total.messages;
	}
	__atomic_store_n(&done, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_since_reset_never_wraps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
