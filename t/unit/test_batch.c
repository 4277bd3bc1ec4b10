/*
 * Unit tests for the batch (src/pipeline/batch.c) over a generation with
 * the gate engine (gate_engine.h): one result per instance x engine in
 * instance order, the skip mask, the verdict cache, a full pool answered
 * busy, and a scan that outlives its deadline: the batch is given up by
 * its caller while the scan still runs, and the scan finishes on memory
 * that is still its own (ASan would report a use after free).
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "batch.h"
#include "conf.h"
#include "gate_engine.h"
#include "generation.h"
#include "message.h"
#include "pool.h"
#include "wirebuf.h"

static char base[] = "/tmp/sm-unit-batch.XXXXXX";

static struct generation *
gen_of(const char *body)
{
	char text[2048], err[1024];
	struct generation *g = NULL;
	struct sm_conf *c;

	snprintf(text, sizeof(text), "milter { file_base = \"%s\" }\n%s\n",
	    base, body);
	if ((c = conf_load_buffer("t.conf", text, strlen(text), err,
	    sizeof(err))) == NULL || (g = generation_new(c, err,
	    sizeof(err))) == NULL)
		fail_msg("%s", err);
	return g;
}

static struct message_input *
input_of(const char *body)
{
	struct message_input *in = message_input_new();

	wirebuf_begin(&in->wb, "x", 100, NULL);
	wirebuf_header(&in->wb, "Subject", "t");
	wirebuf_eoh(&in->wb);
	wirebuf_append(&in->wb, body, strlen(body));
	return in;
}

/* Runs one message through g; the batch, with one reference. */
static struct batch *
run(const struct generation *g, const char *body, uint64_t skip)
{
	struct message msg = { 0 };
	struct message_input *in = input_of(body);
	struct batch *b;

	assert_int_equal(message_set(&msg.queue_id, "Q1"), 0);
	b = batch_new(g, in, &msg);
	message_clear(&msg);
	message_input_unref(in);	/* the batch holds its own */
	batch_run(b, g, NULL, now_ms(), skip);
	return b;
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(base) == NULL ? -1 : gate_register();
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_results(void **state)
{
	struct generation *g = gen_of(
	    "antivirus \"a\" { gate \"g1\" { verdict = infected name = V1 } "
	    "gate \"g2\" { } }\n"
	    "antivirus \"b\" { gate \"g3\" { enabled = no } "
	    "gate \"g4\" { verdict = unscannable name = U4 } }");
	struct batch_result r;
	struct batch *b;
	size_t n;
	static const char *const want[][3] = {
		{ "a", "g1", "V1" }, { "a", "g2", "" }, { "b", "g4", "U4" },
	};

	(void)state;
	gate_reset();
	assert_int_equal(gate_get(&gate.created), 0);	/* counted anew */
	b = run(g, "body\r\n", 0);
	for (n = 0; batch_result(b, n, &r); n++) {
		assert_true(n < 3);
		assert_string_equal(r.av->name, want[n][0]);
		assert_string_equal(r.e->name, want[n][1]);
		assert_string_equal(r.res.name, want[n][2]);
		assert_true(r.done);
		assert_false(r.cached);
		assert_false(r.part);
		assert_int_equal(r.why, FAIL_NONE);
	}
	assert_int_equal(n, 3);		/* the disabled engine has none */
	assert_false(batch_result(b, 3, &r));
	batch_unref(b);
	/* the same bytes again: final verdicts (clean, infected) from the
	 * cache, the unscannable one scanned again */
	b = run(g, "body\r\n", 0);
	for (n = 0; batch_result(b, n, &r); n++) {
		assert_int_equal(r.cached, n < 2);
		assert_true(r.done);
		assert_string_equal(r.res.name, want[n][2]);
	}
	assert_int_equal(n, 3);
	assert_int_equal(gate_get(&gate.started), 4);
	batch_unref(b);
	/* instance a skipped: b's engine only */
	b = run(g, "other body\r\n", 1);
	assert_true(batch_result(b, 0, &r));
	assert_string_equal(r.av->name, "b");
	assert_false(batch_result(b, 1, &r));
	batch_unref(b);
	generation_free(g);
	assert_int_equal(gate_get(&gate.destroyed), 3);
}

/*
 * A scan past its deadline: the batch answers timeout, its caller lets
 * it go, the scan finishes later on its own object and result, and the
 * engine is destroyed only after it (the pool joins running jobs).
 */
static void
test_timeout_in_flight(void **state)
{
	struct generation *g = gen_of(
	    "antivirus \"a\" { timeout = 200ms cache_size = 0 "
	    "gate \"g\" { hold = yes verdict = infected } }");
	struct batch_result r;
	struct batch *b;
	double t0 = now_ms();

	(void)state;
	gate_reset();
	b = run(g, "slow body\r\n", 0);
	assert_true(now_ms() - t0 >= 190);
	assert_true(now_ms() - t0 < GATE_WAIT_MS);
	assert_true(batch_result(b, 0, &r));
	assert_false(r.done);
	assert_int_equal(r.why, FAIL_TIMEOUT);
	assert_int_equal(gate_get(&gate.finished), 0);	/* still scanning */
	batch_unref(b);		/* the scan holds the last reference */
	gate_open();
	assert_int_equal(gate_wait(&gate.finished, 1), 1);
	generation_free(g);
	assert_int_equal(gate_get(&gate.destroyed), 1);
}

struct runner {
	const struct generation *g;
	const char *body;
	struct batch *b;
};

static void *
run_thread(void *arg)
{
	struct runner *rn = arg;

	rn->b = run(rn->g, rn->body, 0);
	return NULL;
}

/* One worker, one place in the queue: a third message is answered busy
 * at once, the two before it finish. */
static void
test_busy(void **state)
{
	struct generation *g = gen_of(
	    "threadpool \"CPU\" { concurrency = 1 queue = 1 small_threads = 0 }\n"
	    "antivirus \"a\" { timeout = 5s cache_size = 0 "
	    "gate \"g\" { hold = yes } }");
	struct runner rn[2] = { { g, "one\r\n", NULL }, { g, "two\r\n", NULL } };
	struct batch_result r;
	pthread_t th[2];
	struct pool_stats st;
	struct batch *b;
	double t0;

	(void)state;
	gate_reset();
	assert_int_equal(pthread_create(&th[0], NULL, run_thread, &rn[0]), 0);
	assert_int_equal(gate_wait(&gate.started, 1), 1);  /* worker busy */
	assert_int_equal(pthread_create(&th[1], NULL, run_thread, &rn[1]), 0);
	/* the second waits in the queue: then the third is refused */
	pool_get_stats(g->engines[0].pool, &st);
	for (t0 = now_ms(); st.queued < 1 && now_ms() - t0 < GATE_WAIT_MS;
	    pool_get_stats(g->engines[0].pool, &st))
		nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
	assert_int_equal(st.queued, 1);
	t0 = now_ms();
	b = run(g, "three\r\n", 0);
	assert_true(now_ms() - t0 < 1000);	/* at once */
	assert_true(batch_result(b, 0, &r));
	assert_int_equal(r.why, FAIL_BUSY);
	assert_false(r.done);
	batch_unref(b);
	gate_open();
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		assert_true(batch_result(rn[i].b, 0, &r));
		assert_true(r.done);
		assert_int_equal(r.why, FAIL_NONE);
		batch_unref(rn[i].b);
	}
	generation_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_results),
		cmocka_unit_test(test_timeout_in_flight),
		cmocka_unit_test(test_busy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
