/*
 * Unit tests for the runtime (src/pipeline/runtime.c) over generations of
 * the gate engine (gate_engine.h): references, a reload that swaps the
 * generation while a message of the old one is still scanning (it ends
 * with its own engines, the next message gets the new ones, the old
 * generation goes when its last message does), a reload that fails and
 * changes nothing, and a shutdown with a scan in flight.
 *
 * The tests run in order over one runtime, as the daemon's life does.
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
#include <unistd.h>

#include <cmocka.h>

#include "batch.h"
#include "conf.h"
#include "gate_engine.h"
#include "generation.h"
#include "message.h"
#include "runtime.h"
#include "scan.h"
#include "wirebuf.h"

static char dir[] = "/tmp/sm-unit-runtime.XXXXXX";
static char path[64];

/* Writes the config file: one instance, one gate engine named name. */
static void
write_conf(const char *name, bool hold, bool broken)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "milter { file_base = \"%s/base\" }\n"
	    "antivirus \"a\" { timeout = 5s cache_size = 0 "
	    "gate \"g\" { verdict = infected name = \"%s\" hold = %s } }\n%s",
	    dir, name, hold ? "yes" : "no", broken ? "antivirus {\n" : "");
	assert_int_equal(fclose(f), 0);
}

/* One message through g: the name of the virus the decision found. */
static void
scan_one(const struct generation *g, char *virus, size_t len)
{
	struct message msg = { 0 };
	struct message_input *in = message_input_new();
	struct sm_decision d;

	wirebuf_begin(&in->wb, "x", 100, NULL);
	wirebuf_header(&in->wb, "Subject", "t");
	wirebuf_eoh(&in->wb);
	wirebuf_append(&in->wb, "body\r\n", 6);
	assert_int_equal(message_set(&msg.queue_id, "Q"), 0);
	scan_message(g, in, &msg, NULL, &d);
	message_clear(&msg);
	message_input_unref(in);
	snprintf(virus, len, "%s", d.virus);
}

/* A message as the milter runs one: a reference for its whole life. */
struct inflight {
	struct generation *g;	/* acquired by the starter */
	char	 virus[SM_NAME_MAX];
	pthread_t th;
};

static void *
inflight_thread(void *arg)
{
	struct inflight *m = arg;

	scan_one(m->g, m->virus, sizeof(m->virus));
	runtime_release(m->g);
	return NULL;
}

static void
inflight_start(struct inflight *m)
{
	memset(m, 0, sizeof(*m));
	assert_non_null(m->g = runtime_acquire());
	assert_int_equal(pthread_create(&m->th, NULL, inflight_thread, m), 0);
}

static int
live_configs(void)
{
	struct runtime_status st;

	runtime_get_status(&st);
	return st.live_configs;
}

/* Waits (bounded) until live_configs() is n; its last value. */
static int
wait_live(int n)
{
	for (int i = 0; i < GATE_WAIT_MS / 10 && live_configs() != n; i++)
		nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
	return live_configs();
}

static int
setup(void **state)
{
	struct generation *g;
	struct sm_conf *c;
	char err[1024];

	(void)state;
	if (gate_register() < 0 || mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/scanmilter.conf", dir);
	write_conf("Gen.One", true, false);
	if ((c = conf_load(path, err, sizeof(err))) == NULL ||
	    (g = generation_new(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	runtime_init(g, path, "unix:/nonexistent");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_refs(void **state)
{
	struct generation *a, *b;

	(void)state;
	a = runtime_acquire();
	assert_non_null(a);
	assert_int_equal(__atomic_load_n(&a->refs, __ATOMIC_SEQ_CST), 2);
	b = runtime_acquire();
	assert_ptr_equal(a, b);
	assert_int_equal(__atomic_load_n(&a->refs, __ATOMIC_SEQ_CST), 3);
	runtime_release(b);
	runtime_release(a);
	runtime_release(NULL);
	assert_int_equal(__atomic_load_n(&a->refs, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(live_configs(), 1);
	assert_false(runtime_reloading());
}

/* A reload while a message of the old generation scans. */
static void
test_reload_in_flight(void **state)
{
	struct inflight m;
	struct generation *old, *g;
	char err[1024], virus[SM_NAME_MAX];

	(void)state;
	gate_reset();
	inflight_start(&m);
	old = m.g;
	assert_int_equal(gate_wait(&gate.started, 1), 1);
	write_conf("Gen.Two", false, false);
	assert_int_equal(runtime_reload("test", err, sizeof(err)), 0);
	assert_int_equal(gate_get(&gate.created), 1);	/* the new engine */
	g = runtime_acquire();
	assert_non_null(g);
	assert_ptr_not_equal(g, old);
	assert_int_equal(live_configs(), 2);
	/* the next message: the new generation, while the old one scans */
	scan_one(g, virus, sizeof(virus));
	assert_string_equal(virus, "Gen.Two");
	runtime_release(g);
	assert_int_equal(gate_get(&gate.destroyed), 0);
	assert_int_equal(gate_get(&gate.finished), 1);	/* only the new */
	/* the old message ends with its own engine, then the old goes */
	gate_open();
	assert_int_equal(pthread_join(m.th, NULL), 0);
	assert_string_equal(m.virus, "Gen.One");
	assert_int_equal(wait_live(1), 1);
	assert_int_equal(gate_get(&gate.destroyed), 1);
}

/* A config that does not load changes nothing. */
static void
test_reload_fails(void **state)
{
	struct runtime_status st;
	struct generation *before, *after;
	char err[1024], virus[SM_NAME_MAX];

	(void)state;
	gate_reset();
	before = runtime_acquire();
	runtime_release(before);
	write_conf("Gen.Three", false, true);
	assert_int_equal(runtime_reload("test", err, sizeof(err)), -1);
	assert_true(err[0] != '\0');
	runtime_get_status(&st);
	assert_int_equal(st.failures, 1);
	assert_int_equal(st.reloads, 1);
	assert_false(st.last_ok);
	assert_true(st.last_error[0] != '\0');
	after = runtime_acquire();
	assert_ptr_equal(before, after);
	scan_one(after, virus, sizeof(virus));
	assert_string_equal(virus, "Gen.Two");
	runtime_release(after);
	assert_int_equal(gate_get(&gate.created), 0);
	assert_int_equal(live_configs(), 1);
}

/* Stopping with a message in flight: no new message gets a generation,
 * the running one finishes with its engine, then everything is freed. */
static void
test_stop_in_flight(void **state)
{
	struct inflight m;
	char err[1024];

	(void)state;
	write_conf("Gen.Four", true, false);
	assert_int_equal(runtime_reload("test", err, sizeof(err)), 0);
	assert_int_equal(wait_live(1), 1);
	gate_reset();
	inflight_start(&m);
	assert_int_equal(gate_wait(&gate.started, 1), 1);
	runtime_stop();
	assert_null(runtime_acquire());
	/* a reload now starts its engine and takes it down again */
	assert_int_equal(runtime_reload("test", err, sizeof(err)), -1);
	assert_int_equal(gate_get(&gate.created), 1);
	assert_int_equal(gate_get(&gate.destroyed), 1);
	assert_int_equal(runtime_wait(200), -1);	/* still scanning */
	assert_int_equal(gate_get(&gate.destroyed), 1);
	gate_open();
	assert_int_equal(runtime_wait(GATE_WAIT_MS), 0);
	assert_int_equal(pthread_join(m.th, NULL), 0);
	assert_string_equal(m.virus, "Gen.Four");
	assert_int_equal(live_configs(), 0);
	/* the running message's engine went after it */
	assert_int_equal(gate_get(&gate.destroyed), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refs),
		cmocka_unit_test(test_reload_in_flight),
		cmocka_unit_test(test_reload_fails),
		cmocka_unit_test(test_stop_in_flight),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
