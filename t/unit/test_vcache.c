/*
 * Unit tests for the verdict cache (src/pipeline/vcache.c): least recently
 * used eviction, refresh of a stored key, flush, keys that separate what
 * the engine saw (mail, part, file; memory or file by pread), first-level
 * (encoded) keys and their entries, and many threads using one cache at
 * once.
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
#include <unistd.h>

#include <cmocka.h>

#include "vcache.h"

static void
key_of(unsigned char *key, int n)
{
	memset(key, 0, VCACHE_KEY_LEN);
	memcpy(key, &n, sizeof(n));
	key[VCACHE_KEY_LEN - 1] = (unsigned char)(n * 7);
}

static struct sm_result
result(enum sm_verdict v, const char *name)
{
	struct sm_result r = { v, "" };

	snprintf(r.name, sizeof(r.name), "%s", name);
	return r;
}

static void
test_lru(void **state)
{
	struct vcache *c = vcache_new(3);
	unsigned char k[5][VCACHE_KEY_LEN];
	struct sm_result r, out;
	struct vcache_stats st;

	(void)state;
	for (int i = 0; i < 5; i++)
		key_of(k[i], i);
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "v%d", i);
		r = result(SM_INFECTED, name);
		vcache_put(c, k[i], &r);
	}
	/* k0 used: k1 is now the least recent */
	assert_int_equal(vcache_get(c, k[0], &out), 1);
	assert_string_equal(out.name, "v0");
	r = result(SM_CLEAN, "");
	vcache_put(c, k[3], &r);
	assert_int_equal(vcache_get(c, k[1], &out), 0);	/* evicted */
	assert_int_equal(vcache_get(c, k[0], &out), 1);
	assert_int_equal(vcache_get(c, k[2], &out), 1);
	assert_int_equal(vcache_get(c, k[3], &out), 1);
	assert_int_equal(out.verdict, SM_CLEAN);
	/* a stored key is refreshed, not added */
	r = result(SM_INFECTED, "again");
	vcache_put(c, k[3], &r);
	assert_int_equal(vcache_get(c, k[3], &out), 1);
	assert_string_equal(out.name, "again");
	vcache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.capacity, 3);
	assert_int_equal((int)st.inserts, 4);
	assert_int_equal((int)st.evictions, 1);
	assert_int_equal((int)st.hits, 5);
	assert_int_equal((int)st.misses, 1);
	assert_int_equal(vcache_flush(c), 3);
	assert_int_equal(vcache_get(c, k[0], &out), 0);
	vcache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal((int)st.inserts, 4);	/* counters stay */
	/* usable after a flush, to its full capacity */
	for (int i = 0; i < 5; i++)
		vcache_put(c, k[i], &r);
	vcache_get_stats(c, &st);
	assert_int_equal(st.entries, 3);
	assert_int_equal(vcache_get(c, k[4], &out), 1);
	assert_int_equal(vcache_get(c, k[1], &out), 0);
	vcache_free(c);
	vcache_free(NULL);
}

/* The key: content past the envelope, and the kind of object. */
static void
test_keys(void **state)
{
	static const unsigned char mail[] = "ENVELOPE\r\nbody bytes";
	static const unsigned char mail2[] = "OTHER-ENV\r\nbody bytes";
	unsigned char a[VCACHE_KEY_LEN], b[VCACHE_KEY_LEN];
	char path[] = "/tmp/test_vcache.XXXXXX";
	struct sm_object o = { 0 };
	int fd;

	(void)state;
	o.kind = SM_OBJ_MESSAGE;
	o.data = mail;
	o.len = sizeof(mail) - 1;
	o.envelope_len = 10;
	assert_int_equal(vcache_key(&o, a), 0);
	o.data = mail2;
	o.len = sizeof(mail2) - 1;
	o.envelope_len = 11;
	assert_int_equal(vcache_key(&o, b), 0);
	assert_memory_equal(a, b, VCACHE_KEY_LEN);	/* envelope left out */
	/* the same bytes as a part are another key */
	o.kind = SM_OBJ_PART;
	o.data = mail + 10;
	o.len = sizeof(mail) - 1 - 10;
	o.envelope_len = 0;
	assert_int_equal(vcache_key(&o, b), 0);
	assert_memory_not_equal(a, b, VCACHE_KEY_LEN);
	/* from a file by pread: the same key as from memory */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, mail, sizeof(mail) - 1),
	    (ssize_t)(sizeof(mail) - 1));
	o.kind = SM_OBJ_MESSAGE;
	o.data = NULL;
	o.fd = fd;
	o.len = sizeof(mail) - 1;
	o.envelope_len = 10;
	assert_int_equal(vcache_key(&o, b), 0);
	assert_memory_equal(a, b, VCACHE_KEY_LEN);
	/* a file shorter than it claims: no key */
	o.len += 100;
	assert_int_equal(vcache_key(&o, b), -1);
	close(fd);
}

struct user {
	struct vcache *c;
	int	 id;
	int	 wrong;
};

static void *
user_thread(void *arg)
{
	struct user *u = arg;
	unsigned char k[VCACHE_KEY_LEN];
	struct sm_result r, out;

	for (int i = 0; i < 5000; i++) {
		int n = (i * 31 + u->id * 17) % 64;
		char name[16];

		key_of(k, n);
		snprintf(name, sizeof(name), "n%d", n);
		if (vcache_get(u->c, k, &out)) {
			if (strcmp(out.name, name) != 0)
				u->wrong++;
		} else {
			r = result(SM_INFECTED, name);
			vcache_put(u->c, k, &r);
		}
		if (i % 1000 == 999 && u->id == 0)
			vcache_flush(u->c);
	}
	return NULL;
}

/* Threads sharing one cache never read another key's result. */
static void
test_threads(void **state)
{
	struct vcache *c = vcache_new(16);
	struct user u[4];
	pthread_t th[4];
	struct vcache_stats st;

	(void)state;
	for (int i = 0; i < 4; i++) {
		u[i] = (struct user){ c, i, 0 };
		assert_int_equal(pthread_create(&th[i], NULL, user_thread,
		    &u[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(u[i].wrong, 0);
	}
	vcache_get_stats(c, &st);
	assert_true(st.entries <= 16);
	assert_int_equal((int)(st.hits + st.misses), 4 * 5000);
	vcache_free(c);
}

/* First-level keys: the transfer encoding, the bytes and their length
 * decide them, and they never meet a verdict key. */
static void
test_encoded_keys(void **state)
{
	static const unsigned char b[] = "QUJDRA==";	/* "ABCD" in base64 */
	unsigned char k1[VCACHE_KEY_LEN], k2[VCACHE_KEY_LEN];
	unsigned char k3[VCACHE_KEY_LEN], kp[VCACHE_KEY_LEN];
	struct sm_object part = { .kind = SM_OBJ_PART, .data = b,
	    .len = sizeof(b) - 1, .fd = -1 };

	(void)state;
	assert_int_equal(vcache_encoded_key("base64", b, sizeof(b) - 1, k1),
	    0);
	assert_int_equal(vcache_encoded_key("base64", b, sizeof(b) - 1, k2),
	    0);
	assert_memory_equal(k1, k2, VCACHE_KEY_LEN);
	/* the same encoded bytes under another encoding: another key */
	assert_int_equal(vcache_encoded_key("quoted-printable", b,
	    sizeof(b) - 1, k3), 0);
	assert_memory_not_equal(k1, k3, VCACHE_KEY_LEN);
	/* one byte less: another key */
	assert_int_equal(vcache_encoded_key("base64", b, sizeof(b) - 2, k3),
	    0);
	assert_memory_not_equal(k1, k3, VCACHE_KEY_LEN);
	/* the same bytes as a decoded part: another key */
	assert_int_equal(vcache_key(&part, kp), 0);
	assert_memory_not_equal(k1, kp, VCACHE_KEY_LEN);
}

/* An encoding entry leads to a decoded key and length, is no verdict, and
 * a verdict is no encoding entry; both share the capacity. */
static void
test_alias(void **state)
{
	struct vcache *c = vcache_new(2);
	unsigned char e[VCACHE_KEY_LEN], k[VCACHE_KEY_LEN];
	unsigned char got[VCACHE_KEY_LEN];
	struct sm_result r = result(SM_CLEAN, ""), out;
	size_t len = 0;

	(void)state;
	key_of(e, 1);
	key_of(k, 2);
	assert_false(vcache_get_alias(c, e, got, &len));
	vcache_put_alias(c, e, k, 4242);
	assert_true(vcache_get_alias(c, e, got, &len));
	assert_memory_equal(got, k, VCACHE_KEY_LEN);
	assert_int_equal(len, 4242);
	assert_false(vcache_get(c, e, &out));		/* no verdict */
	vcache_put(c, k, &r);
	assert_true(vcache_get(c, k, &out));
	assert_false(vcache_get_alias(c, k, got, &len));	/* no alias */
	/* a verdict stored under an encoding key replaces the alias */
	vcache_put(c, e, &r);
	assert_false(vcache_get_alias(c, e, got, &len));
	vcache_put_alias(c, e, k, 7);
	assert_false(vcache_get(c, e, &out));
	/* capacity 2: a third entry evicts the least recent (k) */
	key_of(got, 3);
	vcache_put_alias(c, got, k, 1);
	assert_false(vcache_get(c, k, &out));
	assert_true(vcache_get_alias(c, e, got, &len));
	assert_int_equal(len, 7);
	vcache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_encoded_keys),
		cmocka_unit_test(test_alias),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
