/*
 * Attachments remembered as they arrived: a chained hash table indexed by
 * a sketch (a hash of the encoding, the length and a few samples of the
 * bytes), at most one entry per sketch, and a doubly linked recency list;
 * one mutex.  The sketch only finds the candidate: the answer is the
 * comparison of every byte, made outside the lock while a reference keeps
 * the entry's copy alive.  Anyone can make bodies that share a sketch;
 * that costs them one comparison per lookup, and an entry replaced.
 */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encmemo.h"
#include "lockstat.h"
#include "lru.h"
#include "util.h"

#define NBUCKETS	4096		/* a power of two */
#define EDGE		64		/* bytes sampled at each end */
#define SAMPLES		16		/* 8-byte samples in between */

struct ent {
	uint64_t sketch;
	char	*encoding;
	unsigned char *data;		/* the body as encoded, len bytes */
	size_t	 len;
	unsigned char key[VCACHE_KEY_LEN];	/* of the decoded bytes */
	size_t	 dlen;
	int	 refs;			/* lookups comparing it now */
	int	 dead;			/* dropped; freed at the last ref */
	struct ent *hnext;		/* hash chain */
	struct lru_link lru;		/* recency */
};

struct encmemo {
	pthread_mutex_t mu;
	size_t	 max_bytes;
	struct ent *buckets[NBUCKETS];
	struct lru lru;			/* head is most recent */
	struct encmemo_stats st;
};

static uint64_t
fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n-- > 0) {
		h ^= *s++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The bytes at both ends and at SAMPLES places in between (len is at
 * least ENCMEMO_MIN_LEN, so every read is inside). */
static uint64_t
sketch(const char *encoding, const unsigned char *data, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL, n = len;

	h = fnv(h, encoding, strlen(encoding) + 1);
	h = fnv(h, &n, sizeof(n));
	h = fnv(h, data, EDGE);
	h = fnv(h, data + len - EDGE, EDGE);
	for (size_t i = 1; i <= SAMPLES; i++)
		h = fnv(h, data + (len - 8) / (SAMPLES + 1) * i, 8);
	return h;
}

struct encmemo *
encmemo_new(size_t max_bytes)
{
	struct encmemo *m;

	if (max_bytes == 0)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->max_bytes = max_bytes;
	m->st.capacity = max_bytes;
	pthread_mutex_init(&m->mu, NULL);
	return m;
}

static void
ent_free(struct ent *e)
{
	free(e->encoding);
	free(e->data);
	free(e);
}

static struct ent **
chain(struct encmemo *m, uint64_t sk)
{
	return &m->buckets[sk & (NBUCKETS - 1)];
}

/* Takes e out of the table and the list (under m->mu); frees it unless a
 * lookup still compares it. */
static void
drop(struct encmemo *m, struct ent *e)
{
	struct ent **p = chain(m, e->sketch);

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	lru_unlink(&m->lru, &e->lru);
	m->st.entries--;
	m->st.bytes -= e->len;
	if (e->refs > 0)
		e->dead = 1;
	else
		ent_free(e);
}

static struct ent *
find(struct encmemo *m, uint64_t sk)
{
	struct ent *e = *chain(m, sk);

	while (e != NULL && e->sketch != sk)
		e = e->hnext;
	return e;
}

void
encmemo_free(struct encmemo *m)
{
	if (m == NULL)
		return;
	encmemo_flush(m);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

int
encmemo_fits(const struct encmemo *m, size_t len)
{
	return m != NULL && len >= ENCMEMO_MIN_LEN && len <= m->max_bytes / 4;
}

int
encmemo_get(struct encmemo *m, const char *encoding,
    const unsigned char *data, size_t len, unsigned char *key, size_t *dlen)
{
	struct ent *e;
	uint64_t sk;
	int same;

	if (!encmemo_fits(m, len))
		return 0;
	sk = sketch(encoding, data, len);
	lockstat_lock(&m->mu, LOCKSTAT_VCACHE);
	e = find(m, sk);
	if (e == NULL || e->len != len || strcmp(e->encoding, encoding) != 0) {
		m->st.misses++;
		pthread_mutex_unlock(&m->mu);
		return 0;
	}
	e->refs++;
	pthread_mutex_unlock(&m->mu);

	same = memcmp(e->data, data, len) == 0;

	lockstat_lock(&m->mu, LOCKSTAT_VCACHE);
	if (same) {
		memcpy(key, e->key, VCACHE_KEY_LEN);
		*dlen = e->dlen;
		m->st.hits++;
		if (!e->dead) {
			lru_touch(&m->lru, &e->lru);
		}
	} else {
		m->st.misses++;
	}
	if (--e->refs == 0 && e->dead)
		ent_free(e);
	pthread_mutex_unlock(&m->mu);
	return same;
}

void
encmemo_put(struct encmemo *m, const char *encoding, unsigned char *data,
    size_t len, const unsigned char *key, size_t dlen)
{
	struct ent *e, *old;

	if (!encmemo_fits(m, len)) {
		free(data);
		return;
	}
	e = xcalloc(1, sizeof(*e));
	e->sketch = sketch(encoding, data, len);
	e->encoding = xstrdup(encoding);
	e->data = data;
	e->len = len;
	memcpy(e->key, key, VCACHE_KEY_LEN);
	e->dlen = dlen;
	lockstat_lock(&m->mu, LOCKSTAT_VCACHE);
	/* one entry per sketch: the newer one replaces the older */
	if ((old = find(m, e->sketch)) != NULL)
		drop(m, old);
	while (m->lru.tail != NULL && m->st.bytes + len > m->max_bytes) {
		drop(m, LRU_ENTRY(m->lru.tail, struct ent, lru));
		m->st.evictions++;
	}
	e->hnext = *chain(m, e->sketch);
	*chain(m, e->sketch) = e;
	lru_push_front(&m->lru, &e->lru);
	m->st.entries++;
	m->st.bytes += len;
	m->st.inserts++;
	pthread_mutex_unlock(&m->mu);
}

void
encmemo_get_stats(struct encmemo *m, struct encmemo_stats *st)
{
	lockstat_lock(&m->mu, LOCKSTAT_VCACHE);
	*st = m->st;
	pthread_mutex_unlock(&m->mu);
}

size_t
encmemo_flush(struct encmemo *m)
{
	size_t n;

	lockstat_lock(&m->mu, LOCKSTAT_VCACHE);
	n = m->st.entries;
	while (m->lru.head != NULL)
		drop(m, LRU_ENTRY(m->lru.head, struct ent, lru));
	pthread_mutex_unlock(&m->mu);
	return n;
}
