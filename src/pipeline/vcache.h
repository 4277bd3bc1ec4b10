/*
 * Verdict cache: SHA-256 of a scanned object -> the engine's result, least
 * recently used entries dropped first.  One cache per engine instance of a
 * configuration snapshot, so a reload (new signatures) starts empty and a
 * stale "clean" is never served.  Thread-safe.
 */
#ifndef SM_VCACHE_H
#define SM_VCACHE_H

#include <stddef.h>

#include <scanmilter/engine.h>

#define VCACHE_KEY_LEN 32

struct vcache;

struct vcache_stats {
	size_t	 entries, capacity;
	unsigned long long hits, misses, inserts, evictions;
};

struct vcache *vcache_new(size_t capacity);
void	vcache_free(struct vcache *);	/* takes NULL */

/* 1 and the result if key is cached (it becomes most recent), else 0. */
int	vcache_get(struct vcache *, const unsigned char *key,
	    struct sm_result *out);

/* Stores (or refreshes) key's result, dropping the oldest when full. */
void	vcache_put(struct vcache *, const unsigned char *key,
	    const struct sm_result *);

void	vcache_get_stats(struct vcache *, struct vcache_stats *);

/* Drops every entry (the counters stay); returns how many there were. */
size_t	vcache_flush(struct vcache *);

/* SHA-256 of an object's bytes past its envelope line (memory, or its
 * file by pread); 0 or -1. */
int	vcache_key(const struct sm_object *, unsigned char *key);

#endif
