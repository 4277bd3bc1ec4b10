/*
 * LRU verdict cache: a chained hash table over a fixed array of entries
 * (allocated once, never more than capacity) and a doubly linked recency
 * list; one mutex.  Keys are SHA-256 digests, so their first bytes are a
 * good hash already.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "lockstat.h"
#include "rcache.h"
#include "util.h"
#include "vcache.h"

struct entry {
	unsigned char key[VCACHE_KEY_LEN];
	struct sm_result res;
	struct entry *hnext;		/* hash chain */
	struct entry *prev, *next;	/* recency: head is most recent */
};

struct vcache {
	pthread_mutex_t mu;
	struct entry *entries;		/* capacity of them */
	struct entry **buckets;
	size_t	 nbuckets, capacity, used;
	struct entry *head, *tail;
	struct vcache_stats st;
	struct rcache *shared;		/* behind it, or NULL; owned; set
					 * before use, then only read */
};

struct vcache *
vcache_new(size_t capacity)
{
	struct vcache *c = xcalloc(1, sizeof(*c));

	c->capacity = capacity ? capacity : 1;
	c->entries = xcalloc(c->capacity, sizeof(*c->entries));
	for (c->nbuckets = 16; c->nbuckets < c->capacity * 2; )
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

void
vcache_free(struct vcache *c)
{
	if (c == NULL)
		return;
	rcache_free(c->shared);
	pthread_mutex_destroy(&c->mu);
	free(c->buckets);
	free(c->entries);
	free(c);
}

static struct entry **
slot(struct vcache *c, const unsigned char *key)
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return &c->buckets[h & (c->nbuckets - 1)];
}

static struct entry *
find(struct vcache *c, const unsigned char *key)
{
	for (struct entry *e = *slot(c, key); e != NULL; e = e->hnext)
		if (memcmp(e->key, key, VCACHE_KEY_LEN) == 0)
			return e;
	return NULL;
}

static void
unlink_lru(struct vcache *c, struct entry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void
push_front(struct vcache *c, struct entry *e)
{
	e->prev = NULL;
	e->next = c->head;
	if (c->head != NULL)
		c->head->prev = e;
	c->head = e;
	if (c->tail == NULL)
		c->tail = e;
}

static void
unhash(struct vcache *c, struct entry *e)
{
	struct entry **p = slot(c, e->key);

	while (*p != e)
		p = &(*p)->hnext;
	*p = e->hnext;
	e->hnext = NULL;
}

void
vcache_set_shared(struct vcache *c, struct rcache *rc)
{
	rcache_free(c->shared);
	c->shared = rc;
}

static void local_put(struct vcache *, const unsigned char *,
	    const struct sm_result *);

int
vcache_get(struct vcache *c, const unsigned char *key, struct sm_result *out)
{
	struct entry *e;

	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	if ((e = find(c, key)) != NULL) {
		*out = e->res;
		unlink_lru(c, e);
		push_front(c, e);
		c->st.hits++;
	} else {
		c->st.misses++;
	}
	pthread_mutex_unlock(&c->mu);
	if (e != NULL)
		return 1;
	/* outside the lock: a slow Redis must not hold up other lookups */
	if (c->shared != NULL && rcache_get(c->shared, key, out)) {
		local_put(c, key, out);
		return 1;
	}
	return 0;
}

void
vcache_put(struct vcache *c, const unsigned char *key,
    const struct sm_result *res)
{
	local_put(c, key, res);
	if (c->shared != NULL)
		rcache_put(c->shared, key, res);
}

static void
local_put(struct vcache *c, const unsigned char *key,
    const struct sm_result *res)
{
	struct entry *e, **s;

	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	if ((e = find(c, key)) != NULL) {
		unlink_lru(c, e);
	} else {
		if (c->used < c->capacity) {
			e = &c->entries[c->used++];
		} else {		/* reuse the least recent */
			e = c->tail;
			unlink_lru(c, e);
			unhash(c, e);
			c->st.evictions++;
		}
		memcpy(e->key, key, VCACHE_KEY_LEN);
		s = slot(c, key);
		e->hnext = *s;
		*s = e;
		c->st.inserts++;
	}
	e->res = *res;
	push_front(c, e);
	pthread_mutex_unlock(&c->mu);
}

void
vcache_get_stats(struct vcache *c, struct vcache_stats *st)
{
	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	*st = c->st;
	st->entries = c->used;
	st->capacity = c->capacity;
	pthread_mutex_unlock(&c->mu);
	if (c->shared != NULL) {
		struct rcache_stats rs;

		rcache_get_stats(c->shared, &rs);
		st->shared = 1;
		st->shared_down = rs.down;
		st->shared_hits = rs.hits;
		st->shared_misses = rs.misses;
		st->shared_stores = rs.stores;
		st->shared_errors = rs.errors;
		st->shared_outages = rs.outages;
		st->shared_server = rs.server;
		st->shared_scope = rs.scope;
	}
}

size_t
vcache_flush(struct vcache *c)
{
	size_t n;

	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	n = c->used;
	memset(c->entries, 0, c->capacity * sizeof(*c->entries));
	memset(c->buckets, 0, c->nbuckets * sizeof(*c->buckets));
	c->used = 0;
	c->head = c->tail = NULL;
	pthread_mutex_unlock(&c->mu);
	return n;
}

int
vcache_key(const struct sm_object *obj, unsigned char *key)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	int rc = -1;

	/*
	 * What the engine saw decides the verdict, not the bytes alone: a
	 * message is scanned as mail (after its envelope line), a part as a
	 * file, and the same bytes can come back clean one way and infected
	 * the other.  The kind goes into the key.
	 */
	unsigned char kind = obj->kind == SM_OBJ_PART ? 'P' :
	    obj->envelope_len > 0 ? 'M' : 'F';

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, &kind, 1) != 1)
		goto out;
	/* the envelope line (sender, date) is not content: leave it out */
	if (obj->data != NULL) {
		if (EVP_DigestUpdate(md, obj->data + obj->envelope_len,
		    obj->len - obj->envelope_len) != 1)
			goto out;
	} else {
		unsigned char buf[65536];
		size_t off = obj->envelope_len;

		while (off < obj->len) {
			size_t want = obj->len - off < sizeof(buf) ?
			    obj->len - off : sizeof(buf);
			ssize_t n = pread(obj->fd, buf, want, (off_t)off);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0 || EVP_DigestUpdate(md, buf, (size_t)n) != 1)
				goto out;
			off += (size_t)n;
		}
	}
	if (EVP_DigestFinal_ex(md, key, &len) == 1 && len == VCACHE_KEY_LEN)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}
