/*
 * Verdict cache: SHA-256 of a scanned object -> the engine's result, least
 * recently used entries dropped first.  One cache per engine instance of a
 * configuration snapshot, so a reload (new signatures) starts empty and a
 * stale "clean" is never served.
 *
 * Besides verdicts it keeps encodings (first-level entries): the key of an
 * attachment as encoded in a message -> the key and length of its decoded
 * bytes, so a known attachment needs no decoding before its verdict is
 * looked up.  Both kinds share the capacity.  Optionally backed by a verdict cache
 * shared through Redis (rcache.h): a local miss asks it, a verdict put
 * here goes to both.  Thread-safe.
 */
#ifndef SM_VCACHE_H
#define SM_VCACHE_H

#include <stddef.h>

#include <scanmilter/engine.h>

#define VCACHE_KEY_LEN 32

struct vcache;
struct rcache;

struct vcache_stats {
	size_t	 entries, capacity;
	unsigned long long hits, misses, inserts, evictions;
	/* encodings found: a part known by its bytes as encoded in the
	 * message (the first level), here or in the shared cache */
	unsigned long long encoding_hits;
	/* the shared cache behind it, when there is one */
	int	 shared;		/* 1: there is */
	int	 shared_down;		/* 1: Redis failed, no answer since */
	unsigned long long shared_hits, shared_misses, shared_stores;
	unsigned long long shared_errors, shared_outages;
	const char *shared_server, *shared_scope;	/* the cache's */
};

struct vcache *vcache_new(size_t capacity);
void	vcache_free(struct vcache *);	/* takes NULL; frees the shared one */

/* Puts rc behind the cache; the cache owns it from then on.  Before any
 * lookup (not thread-safe against them). */
void	vcache_set_shared(struct vcache *, struct rcache *rc);

/* 1 and the result if key is cached (it becomes most recent), here or in
 * the shared cache (then kept here too), else 0. */
int	vcache_get(struct vcache *, const unsigned char *key,
	    struct sm_result *out);

/* Stores (or refreshes) key's result, dropping the oldest when full; and
 * in the shared cache. */
void	vcache_put(struct vcache *, const unsigned char *key,
	    const struct sm_result *);

/* 1 and the decoded bytes' key and length if the encoded key ekey is
 * known (here or in the shared cache), else 0. */
int	vcache_get_alias(struct vcache *, const unsigned char *ekey,
	    unsigned char *key, size_t *len);

/* Records that ekey decodes to bytes of key and len, here and in the
 * shared cache.  Only for a decoding that was complete and without a flaw. */
void	vcache_put_alias(struct vcache *, const unsigned char *ekey,
	    const unsigned char *key, size_t len);

/* Counts an encoding found elsewhere (the generation's memo) as found. */
void	vcache_count_encoding_hit(struct vcache *);

void	vcache_get_stats(struct vcache *, struct vcache_stats *);

/* Drops every entry here (the counters stay; the shared cache keeps its
 * own); returns how many there were. */
size_t	vcache_flush(struct vcache *);

/* SHA-256 of an object's bytes past its envelope line (memory, or its
 * file by pread); 0 or -1. */
int	vcache_key(const struct sm_object *, unsigned char *key);

/* Bump when a decoder's output changes: old first-level keys then miss. */
#define VCACHE_DECODER_VERSION 1

/* The first-level key of an attachment body as encoded in the message
 * (see vcache.c for what it covers); encoding is the lowercased transfer
 * encoding.  0 or -1. */
int	vcache_encoded_key(const char *encoding, const unsigned char *data,
	    size_t len, unsigned char *key);

#endif
