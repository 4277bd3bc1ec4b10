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
#include "lru.h"
#include "rcache.h"
#include "util.h"
#include "vcache.h"

struct entry {
	unsigned char key[VCACHE_KEY_LEN];
	int	 alias;			/* 1: an encoding, not a verdict */
	struct sm_result res;		/* a verdict's */
	unsigned char to[VCACHE_KEY_LEN]; /* an encoding's decoded key */
	size_t	 to_len;		/* and decoded length */
	struct entry *hnext;		/* hash chain */
	struct lru_link lru;		/* recency */
};

struct vcache {
	pthread_mutex_t mu;
	struct entry *entries;		/* capacity of them */
	struct entry **buckets;
	size_t	 nbuckets, capacity, used;
	struct lru lru;			/* head is most recent */
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

/* The entry of key and kind (alias: an encoding, else a verdict), made
 * the most recent; NULL if there is none (under c->mu).  The two kinds
 * never have equal keys: a key of the other kind is no entry. */
static struct entry *
touch(struct vcache *c, const unsigned char *key, int alias)
{
	struct entry *e = find(c, key);

	if (e == NULL || e->alias != alias)
		return NULL;
	lru_touch(&c->lru, &e->lru);
	return e;
}

int
vcache_get(struct vcache *c, const unsigned char *key, struct sm_result *out)
{
	struct entry *e;

	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	if ((e = touch(c, key, 0)) != NULL) {
		*out = e->res;
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

/* The entry for key, new or old, unlinked from the recency list (under
 * c->mu); the caller fills it and pushes it to the front. */
static struct entry *
take_entry(struct vcache *c, const unsigned char *key)
{
	struct entry *e, **s;

	if ((e = find(c, key)) != NULL) {
		lru_unlink(&c->lru, &e->lru);
	} else {
		if (c->used < c->capacity) {
			e = &c->entries[c->used++];
		} else {		/* reuse the least recent */
			e = LRU_ENTRY(c->lru.tail, struct entry, lru);
			lru_unlink(&c->lru, &e->lru);
			unhash(c, e);
			c->st.evictions++;
		}
		memcpy(e->key, key, VCACHE_KEY_LEN);
		s = slot(c, key);
		e->hnext = *s;
		*s = e;
		c->st.inserts++;
	}
	return e;
}

static void
local_put(struct vcache *c, const unsigned char *key,
    const struct sm_result *res)
{
	struct entry *e;

	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	e = take_entry(c, key);
	e->alias = 0;
	e->res = *res;
	lru_push_front(&c->lru, &e->lru);
	pthread_mutex_unlock(&c->mu);
}

/* hit: the alias came from the shared cache and counts as a hit here too */
static void
local_put_alias(struct vcache *c, const unsigned char *ekey,
    const unsigned char *key, size_t len, int hit)
{
	struct entry *e;

	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	if (hit)
		c->st.encoding_hits++;
	e = take_entry(c, ekey);
	e->alias = 1;
	memset(&e->res, 0, sizeof(e->res));
	memcpy(e->to, key, VCACHE_KEY_LEN);
	e->to_len = len;
	lru_push_front(&c->lru, &e->lru);
	pthread_mutex_unlock(&c->mu);
}

int
vcache_get_alias(struct vcache *c, const unsigned char *ekey,
    unsigned char *key, size_t *len)
{
	struct entry *e;

	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	if ((e = touch(c, ekey, 1)) != NULL) {
		memcpy(key, e->to, VCACHE_KEY_LEN);
		*len = e->to_len;
		c->st.encoding_hits++;
	}
	pthread_mutex_unlock(&c->mu);
	if (e != NULL)
		return 1;
	if (c->shared != NULL && rcache_get_alias(c->shared, ekey, key, len)) {
		local_put_alias(c, ekey, key, *len, 1);
		return 1;
	}
	return 0;
}

void
vcache_put_alias(struct vcache *c, const unsigned char *ekey,
    const unsigned char *key, size_t len)
{
	local_put_alias(c, ekey, key, len, 0);
	if (c->shared != NULL)
		rcache_put_alias(c->shared, ekey, key, len);
}

void
vcache_count_encoding_hit(struct vcache *c)
{
	lockstat_lock(&c->mu, LOCKSTAT_VCACHE);
	c->st.encoding_hits++;
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
	c->lru.head = c->lru.tail = NULL;
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

/*
 * The first-level key of an attachment: its body as it stands in the
 * message, before decoding.  Decoding is a pure function of the encoded
 * bytes and the transfer encoding (base64 and quoted-printable decode the
 * same whatever the charset, type, name or place of the part), so the key
 * covers exactly those, plus the decoders' version and the length; the
 * leading 'E' keeps these keys apart from the verdict keys of
 * vcache_key(), which start with the object's kind.  Such a key only ever
 * leads to the decoded bytes' key (an alias), never to a verdict of its
 * own: what the engines said about the decoded bytes is all it gives.
 */
int
vcache_encoded_key(const char *encoding, const unsigned char *data,
    size_t len, unsigned char *key)
{
	static const unsigned char tag[] = { 'E', VCACHE_DECODER_VERSION };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char n[8];
	unsigned int klen = 0;
	int rc = -1;

	for (size_t i = 0; i < sizeof(n); i++)
		n[i] = (unsigned char)((uint64_t)len >> (8 * i));
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, tag, sizeof(tag)) != 1 ||
	    EVP_DigestUpdate(md, encoding, strlen(encoding) + 1) != 1 ||
	    EVP_DigestUpdate(md, n, sizeof(n)) != 1 ||
	    EVP_DigestUpdate(md, data, len) != 1)
		goto out;
	if (EVP_DigestFinal_ex(md, key, &klen) == 1 && klen == VCACHE_KEY_LEN)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}
