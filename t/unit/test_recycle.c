/*
 * The large-buffer recycler: size classes, reuse, the bound on what it
 * holds, contents kept across growth, many threads at once, and its two
 * users (wirebuf, the MIME decoder's output) giving their buffers back.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mime.h"
#include "recycle.h"
#include "wirebuf.h"

/* Under AddressSanitizer (or ThreadSanitizer) an allocation that cannot be had returns NULL (as
 * malloc does) instead of ending the test: that is what is tested. */
__attribute__((used)) const char *__asan_default_options(void);
__attribute__((used)) const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}
__attribute__((used)) const char *__tsan_default_options(void);
__attribute__((used)) const char *
__tsan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static size_t
held_bytes(void)
{
	size_t bytes, count;

	recycle_held(&bytes, &count);
	return bytes;
}

static size_t
held_count(void)
{
	size_t bytes, count;

	recycle_held(&bytes, &count);
	return count;
}

static void
test_classes(void **state)
{
	static const struct { size_t n, cap; } cases[] = {
		{ 1, 1 },
		{ 100, 100 },
		{ RECYCLE_MIN - 1, RECYCLE_MIN - 1 },
		{ RECYCLE_MIN, RECYCLE_MIN + RECYCLE_SLACK },
		{ RECYCLE_MIN + RECYCLE_SLACK, RECYCLE_MIN + RECYCLE_SLACK },
		{ RECYCLE_MIN + RECYCLE_SLACK + 1, 2 * RECYCLE_MIN + RECYCLE_SLACK },
		{ 1000 * 1000, 1024 * 1024 + RECYCLE_SLACK },
		/* a 1 MiB message, its envelope line and padding */
		{ 1024 * 1024 + 1612, 1024 * 1024 + RECYCLE_SLACK },
		{ 1024 * 1024 + RECYCLE_SLACK + 1, 2 * 1024 * 1024 + RECYCLE_SLACK },
		{ RECYCLE_MAX, RECYCLE_MAX },
		{ RECYCLE_MAX + 1, RECYCLE_MAX + 1 },
	};

	(void)state;
	recycle_drain();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t cap = 0;
		unsigned char *p = recycle_alloc(cases[i].n, &cap);

		assert_non_null(p);
		assert_int_equal(cap, cases[i].cap);
		memset(p, 0xa5, cap);	/* all of it is ours (ASan checks) */
		recycle_free(p, cap);
	}
	/* only the class sizes were kept, one of each */
	assert_int_equal(held_count(), 5);
	recycle_free(NULL, 0);
	recycle_free(NULL, RECYCLE_MIN);
	recycle_drain();
	assert_int_equal(held_count(), 0);
	assert_int_equal(held_bytes(), 0);
}

static void
test_reuse(void **state)
{
	size_t cap, cap2;
	void *p, *q;

	(void)state;
	recycle_drain();
	p = recycle_alloc(300 * 1024, &cap);
	assert_int_equal(cap, 512 * 1024 + RECYCLE_SLACK);
	recycle_free(p, cap);
	assert_int_equal(held_bytes(), 512 * 1024 + RECYCLE_SLACK);
	assert_int_equal(held_count(), 1);
	/* any size of the class gets the same pages back */
	q = recycle_alloc(400 * 1024, &cap2);
	assert_ptr_equal(q, p);
	assert_int_equal(cap2, cap);
	assert_int_equal(held_count(), 0);
	/* another class does not */
	p = recycle_alloc(200 * 1024, &cap);
	assert_ptr_not_equal(p, q);
	assert_int_equal(cap, 256 * 1024 + RECYCLE_SLACK);
	recycle_free(p, cap);
	recycle_free(q, cap2);
	assert_int_equal(held_count(), 2);
	recycle_drain();
}

/* However many buffers come back, at most the cap is kept. */
static void
test_bound(void **state)
{
	enum { N = 64 };
	void *p[N];
	size_t cap[N];

	(void)state;
	recycle_drain();
	for (int i = 0; i < N; i++)
		assert_non_null(p[i] = recycle_alloc(RECYCLE_MAX, &cap[i]));
	for (int i = 0; i < N; i++)
		recycle_free(p[i], cap[i]);
	assert_true(held_bytes() <= RECYCLE_KEEP_BYTES);
	assert_int_equal(held_count(), RECYCLE_KEEP_BYTES / RECYCLE_MAX);
	/* full of the largest: smaller ones make room by pushing them out
	 * (1 MiB ones, 8 of them, leave room for one of the largest) */
	for (int i = 0; i < 8; i++)
		assert_non_null(p[i] = recycle_alloc(1024 * 1024, &cap[i]));
	for (int i = 0; i < 8; i++)
		recycle_free(p[i], cap[i]);
	assert_true(held_bytes() <= RECYCLE_KEEP_BYTES);
	assert_int_equal(held_count(), 8 + (RECYCLE_KEEP_BYTES - 8 * cap[0]) /
	    RECYCLE_MAX);
	/* but the largest never push out smaller ones */
	assert_non_null(p[0] = recycle_alloc(RECYCLE_MAX, &cap[0]));
	assert_non_null(p[1] = recycle_alloc(RECYCLE_MAX, &cap[1]));
	assert_non_null(p[2] = recycle_alloc(RECYCLE_MAX, &cap[2]));
	for (int i = 0; i < 3; i++)
		recycle_free(p[i], cap[i]);
	assert_true(held_bytes() <= RECYCLE_KEEP_BYTES);
	assert_int_equal(held_count(), 8 + (RECYCLE_KEEP_BYTES - 8 * cap[3]) /
	    RECYCLE_MAX);
	recycle_drain();
	/* and per class */
	for (int i = 0; i < N; i++)
		assert_non_null(p[i] = recycle_alloc(RECYCLE_MIN, &cap[i]));
	for (int i = 0; i < N; i++)
		recycle_free(p[i], cap[i]);
	assert_int_equal(held_count(), RECYCLE_KEEP_PER_CLASS);
	/* a full list still takes nothing more: the rest went to free() */
	assert_int_equal(held_bytes(), RECYCLE_KEEP_PER_CLASS *
	    (RECYCLE_MIN + RECYCLE_SLACK));
	recycle_drain();
}

/* Growth keeps the bytes, from small to class to past the largest. */
static void
test_growth_keeps_bytes(void **state)
{
	static const size_t steps[] = { 4096, 100 * 1024, RECYCLE_MIN,
	    RECYCLE_MIN + 5, 3 * 1024 * 1024, RECYCLE_MAX + 4096, 5000 * 1024 };
	unsigned char *p = NULL;
	size_t cap = 0, len = 0;

	(void)state;
	recycle_drain();
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t ncap = 0;
		unsigned char *q = recycle_realloc(p, len, cap, steps[i], &ncap);

		assert_non_null(q);
		assert_true(ncap >= steps[i]);
		for (size_t j = 0; j < len; j++)
			if (q[j] != (unsigned char)(j * 7))
				fail_msg("byte %zu lost growing to %zu", j, steps[i]);
		for (size_t j = len; j < steps[i]; j++)
			q[j] = (unsigned char)(j * 7);
		p = q;
		cap = ncap;
		len = steps[i];
	}
	recycle_free(p, cap);
	/* nothing impossible: NULL, the buffer untouched */
	p = recycle_alloc(RECYCLE_MIN, &cap);
	p[0] = 'x';
	assert_null(recycle_realloc(p, 1, cap, SIZE_MAX - 4096, &len));
	assert_int_equal(p[0], 'x');
	recycle_free(p, cap);
	recycle_drain();
}

/*
 * Many threads taking and giving back buffers of every class: no buffer is
 * ever handed to two at once (each stamps its own pages and finds them
 * intact before giving them back), and the bound holds (TSan, ASan).
 */
enum { THREADS = 8, ROUNDS = 400 };

static void *
churn(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	unsigned seed = (unsigned)id * 2654435761u;
	long bad = 0;

	for (int r = 0; r < ROUNDS; r++) {
		size_t n = RECYCLE_MIN / 2 + rand_r(&seed) %
		    (RECYCLE_MAX + RECYCLE_MIN), cap;
		unsigned char *p = recycle_alloc(n, &cap);

		if (p == NULL)
			return (void *)1;
		for (size_t o = 0; o < n; o += 16 * 1024)
			p[o] = (unsigned char)id;
		p[n - 1] = (unsigned char)id;
		sched_yield();
		for (size_t o = 0; o < n; o += 16 * 1024)
			bad += p[o] != (unsigned char)id;
		bad += p[n - 1] != (unsigned char)id;
		recycle_free(p, cap);
	}
	return (void *)(uintptr_t)(bad != 0);
}

static void
test_threads(void **state)
{
	pthread_t t[THREADS];

	(void)state;
	recycle_drain();
	for (uintptr_t i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn,
		    (void *)(i + 1)), 0);
	for (int i = 0; i < THREADS; i++) {
		void *rc;

		assert_int_equal(pthread_join(t[i], &rc), 0);
		assert_null(rc);
	}
	assert_true(held_bytes() <= RECYCLE_KEEP_BYTES);
	assert_true(held_count() > 0);
	recycle_drain();
}

/* A message buffer's pages serve the next message. */
static void
test_wirebuf_reuses(void **state)
{
	struct wirebuf wb = { 0 };
	const struct wirebuf_opts opts = { .padding = 512, .in_memory = 1 };
	static unsigned char body[600 * 1024];
	void *first;

	(void)state;
	recycle_drain();
	memset(body, 'a', sizeof(body));
	wirebuf_begin(&wb, "<a@example.com>", sizeof(body), &opts);
	wirebuf_append(&wb, body, sizeof(body));
	assert_int_equal(wb.error, 0);
	first = wb.data;
	wirebuf_free(&wb);
	assert_int_equal(held_count(), 1);
	wirebuf_begin(&wb, "<b@example.com>", sizeof(body), &opts);
	assert_ptr_equal(wb.data, first);
	wirebuf_append(&wb, body, sizeof(body));
	assert_memory_equal(wb.data + wb.envelope_len, body, sizeof(body));
	assert_int_equal(held_count(), 0);
	/* growth past the first allocation: the smaller buffer goes back */
	wirebuf_append(&wb, body, sizeof(body));
	assert_int_equal(wb.error, 0);
	assert_int_equal(held_count(), 1);
	assert_memory_equal(wb.data + wb.envelope_len + sizeof(body), body,
	    sizeof(body));
	wirebuf_free(&wb);
	assert_int_equal(held_count(), 2);
	recycle_drain();
}

/* The decoder's output buffer goes back when the parse ends. */
static void
test_mime_decode_buffer(void **state)
{
	static const char head[] = "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n";
	const struct mime_limits lim = { .max_depth = MIME_DEFAULT_DEPTH,
	    .max_parts = MIME_DEFAULT_PARTS, .max_decoded = MIME_DEFAULT_DECODED,
	    .max_header = MIME_DEFAULT_HEADER, .no_skeleton = 1 };
	size_t lines = 4000, len = sizeof(head) - 1 + lines * 78;
	unsigned char *msg = malloc(len), *o;
	struct mime_result res = { 0 };

	(void)state;
	assert_non_null(msg);
	recycle_drain();
	memcpy(msg, head, sizeof(head) - 1);
	o = msg + sizeof(head) - 1;
	for (size_t i = 0; i < lines; i++, o += 78) {
		memset(o, 'Q', 76);
		memcpy(o + 76, "\r\n", 2);
	}
	mime_parse(msg, len, &lim, NULL, NULL, &res);
	assert_int_equal(res.parts, 1);
	assert_true(res.decoded >= lines * 57);
	mime_result_free(&res);
	assert_int_equal(held_count(), 1);
	assert_true(held_bytes() >= lines * 57);
	/* the next parse takes it back */
	memset(&res, 0, sizeof(res));
	mime_parse(msg, len, &lim, NULL, NULL, &res);
	mime_result_free(&res);
	assert_int_equal(held_count(), 1);
	free(msg);
	recycle_drain();
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan a held buffer is poisoned: a use after it is given back is
 * still reported. */
static void
test_poisoned(void **state)
{
	size_t cap;
	volatile unsigned char *p;
	pid_t pid;
	int st;

	(void)state;
	recycle_drain();
	p = recycle_alloc(RECYCLE_MIN, &cap);
	recycle_free((void *)p, cap);
	if ((pid = fork()) == 0) {
		close(2);
		p[100] = 1;
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	recycle_drain();
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_reuse),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_growth_keeps_bytes),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_wirebuf_reuses),
		cmocka_unit_test(test_mime_decode_buffer),
#if defined(__SANITIZE_ADDRESS__)
		cmocka_unit_test(test_poisoned),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
