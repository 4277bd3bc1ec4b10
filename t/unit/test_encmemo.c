/*
 * Unit tests for the memo of attachments as encoded (src/pipeline/encmemo.c):
 * a lookup answers only for the very bytes put (every one-byte change, a
 * length or an encoding apart, misses); bodies that share a sketch never
 * take each other's answer; the byte budget and least recently used
 * eviction; what it keeps; and threads looking up, putting and flushing
 * at once (entries dropped while compared).
 */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "encmemo.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* len bytes of base64 text, from seed */
static unsigned char *
body(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (unsigned char)b64[(seed >> 16) % 64];
	}
	return p;
}

static unsigned char *
dup_of(const unsigned char *p, size_t len)
{
	unsigned char *q = malloc(len);

	assert_non_null(q);
	memcpy(q, p, len);
	return q;
}

static void
key_of(unsigned char *key, unsigned n)
{
	memset(key, 0, VCACHE_KEY_LEN);
	memcpy(key, &n, sizeof(n));
}

/* 1 if the memo answers for p with key n and length dlen, 0 on a miss;
 * fails the test on any other answer. */
static int
answers(struct encmemo *m, const char *enc, const unsigned char *p,
    size_t len, unsigned n, size_t dlen)
{
	unsigned char want[VCACHE_KEY_LEN], got[VCACHE_KEY_LEN];
	size_t glen = 0;

	key_of(want, n);
	if (!encmemo_get(m, enc, p, len, got, &glen))
		return 0;
	assert_memory_equal(got, want, VCACHE_KEY_LEN);
	assert_int_equal(glen, dlen);
	return 1;
}

/* Only the very bytes: every one-byte change, one byte more or less,
 * another encoding, all miss. */
static void
test_exact_only(void **state)
{
	struct encmemo *m = encmemo_new(1 << 20);
	size_t len = 8192;
	unsigned char *x = body(len + 1, 1), key[VCACHE_KEY_LEN];
	struct encmemo_stats st;

	(void)state;
	key_of(key, 7);
	encmemo_put(m, "base64", dup_of(x, len), len, key, 6000);
	assert_true(answers(m, "base64", x, len, 7, 6000));
	for (size_t i = 0; i < len; i++) {
		x[i] ^= 0x01;
		assert_false(answers(m, "base64", x, len, 7, 6000));
		x[i] ^= 0x01;
	}
	assert_false(answers(m, "base64", x, len - 1, 7, 6000));
	assert_false(answers(m, "base64", x, len + 1, 7, 6000));
	assert_false(answers(m, "quoted-printable", x, len, 7, 6000));
	assert_true(answers(m, "base64", x, len, 7, 6000));
	encmemo_get_stats(m, &st);
	assert_int_equal(st.hits, 2);
	assert_int_equal(st.misses, len + 3);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.bytes, len);
	free(x);
	encmemo_free(m);
}

/* Bodies one byte apart, put one after another, whatever their sketches:
 * each lookup answers with its own body's key or misses, and the last
 * one put is found. */
static void
test_never_another_key(void **state)
{
	struct encmemo *m = encmemo_new(64 << 20);
	size_t len = 6000;
	unsigned char *x = body(len, 2), key[VCACHE_KEY_LEN];
	unsigned hits = 0;

	(void)state;
	key_of(key, 1000000);
	encmemo_put(m, "base64", dup_of(x, len), len, key, 1);
	for (unsigned i = 0; i < len; i += 3) {
		unsigned char *y = dup_of(x, len);

		y[i] = y[i] == 'A' ? 'B' : 'A';
		key_of(key, i);
		encmemo_put(m, "base64", y, len, key, 1);
	}
	for (unsigned i = 0; i < len; i += 3) {
		unsigned char c = x[i];

		x[i] = c == 'A' ? 'B' : 'A';
		hits += (unsigned)answers(m, "base64", x, len, i, 1);
		x[i] = c;
	}
	/* the sketch samples a few bytes: most of these share one and
	 * replaced each other, but the last one put is there */
	assert_true(hits >= 1);
	answers(m, "base64", x, len, 1000000, 1);	/* its own, or none */
	free(x);
	encmemo_free(m);
}

/* The copies stay within the budget; the least recently used go first. */
static void
test_budget_lru(void **state)
{
	size_t cap = 64 * 1024, len = 5000;
	struct encmemo *m = encmemo_new(cap);
	unsigned char *b[30], key[VCACHE_KEY_LEN];
	struct encmemo_stats st;

	(void)state;
	for (unsigned i = 0; i < 30; i++) {
		b[i] = body(len, 100 + i);
		if (i == 20)	/* 8 is among the 13 kept: make it recent */
			assert_true(answers(m, "base64", b[8], len, 8, len));
		key_of(key, i);
		encmemo_put(m, "base64", dup_of(b[i], len), len, key, len);
		encmemo_get_stats(m, &st);
		assert_true(st.bytes <= cap);
		assert_int_equal(st.bytes, st.entries * len);
	}
	assert_int_equal(st.entries, cap / len);
	assert_int_equal(st.evictions, 30 - cap / len);
	assert_true(answers(m, "base64", b[8], len, 8, len));
	assert_false(answers(m, "base64", b[9], len, 9, len));
	assert_true(answers(m, "base64", b[29], len, 29, len));
	assert_int_equal(encmemo_flush(m), cap / len);
	assert_false(answers(m, "base64", b[29], len, 29, len));
	for (unsigned i = 0; i < 30; i++)
		free(b[i]);
	encmemo_free(m);
}

/* What it keeps: bodies of ENCMEMO_MIN_LEN up to a quarter of the
 * budget; no memo at 0. */
static void
test_fits(void **state)
{
	struct encmemo *m = encmemo_new(64 * 1024);
	unsigned char *p = body(64 * 1024, 3), key[VCACHE_KEY_LEN];
	struct encmemo_stats st;

	(void)state;
	assert_null(encmemo_new(0));
	assert_false(encmemo_fits(NULL, 5000));
	assert_false(encmemo_get(NULL, "base64", p, 5000, key, &(size_t){ 0 }));
	assert_false(encmemo_fits(m, ENCMEMO_MIN_LEN - 1));
	assert_true(encmemo_fits(m, ENCMEMO_MIN_LEN));
	assert_true(encmemo_fits(m, 16 * 1024));
	assert_false(encmemo_fits(m, 16 * 1024 + 1));
	key_of(key, 1);
	encmemo_put(m, "base64", dup_of(p, 100), 100, key, 75);
	encmemo_put(m, "base64", dup_of(p, 20000), 20000, key, 15000);
	encmemo_get_stats(m, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.inserts, 0);
	assert_false(answers(m, "base64", p, 100, 1, 75));
	free(p);
	encmemo_free(m);
}

/* Threads looking up, putting and flushing one small memo: entries are
 * evicted and flushed while others compare them (ASan and TSan watch). */
#define NBODIES	16
#define ROUNDS	3000

struct shared {
	struct encmemo *m;
	unsigned char *b[NBODIES];
	size_t	 len[NBODIES];
	int	 wrong;
};

static void *
churn(void *arg)
{
	struct shared *sh = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;

	for (int r = 0; r < ROUNDS; r++) {
		unsigned k, n[2];
		unsigned char key[VCACHE_KEY_LEN];
		size_t dlen;

		seed = seed * 1103515245u + 12345u;
		k = (seed >> 16) % NBODIES;
		if (encmemo_get(sh->m, "base64", sh->b[k], sh->len[k], key,
		    &dlen)) {
			memcpy(n, key, sizeof(n));
			if (n[0] != k || dlen != sh->len[k])
				__atomic_add_fetch(&sh->wrong, 1,
				    __ATOMIC_RELAXED);
		} else if (r % 97 == 0) {
			encmemo_flush(sh->m);
		} else {
			key_of(key, k);
			encmemo_put(sh->m, "base64",
			    dup_of(sh->b[k], sh->len[k]), sh->len[k], key,
			    sh->len[k]);
		}
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct shared sh = { .m = encmemo_new(128 * 1024) };
	pthread_t t[6];
	struct encmemo_stats st;

	(void)state;
	for (int i = 0; i < NBODIES; i++) {
		sh.len[i] = 4096 + (size_t)i * 1500;
		sh.b[i] = body(sh.len[i], 500 + (unsigned)i);
	}
	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, &sh), 0);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	encmemo_get_stats(sh.m, &st);
	assert_int_equal(sh.wrong, 0);
	assert_true(st.hits > 0);
	assert_true(st.evictions > 0);
	assert_true(st.bytes <= 128 * 1024);
	for (int i = 0; i < NBODIES; i++)
		free(sh.b[i]);
	encmemo_free(sh.m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_only),
		cmocka_unit_test(test_never_another_key),
		cmocka_unit_test(test_budget_lru),
		cmocka_unit_test(test_fits),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
