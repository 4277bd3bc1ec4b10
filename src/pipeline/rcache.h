/*
 * The shared verdict cache: verdicts kept in Redis, so that several
 * filter hosts scan a campaign's attachment once between them.  It sits
 * behind each engine's in-process cache (vcache): a local miss asks Redis,
 * a fresh verdict is written to both.
 *
 * Keys are "PREFIX:SCOPE:SHA256" where SCOPE names the engine kind, its
 * version, its signature version and a digest of the engine's options and
 * of the files its path options name (its signatures), so a reload with
 * the same signatures keeps the entries, an update never serves a stale
 * verdict and hosts set up differently do not share; entries expire after
 * ttl.  An engine without a signature version gets no shared cache.  One
 * client per engine instance (it owns its scope and its connections).
 *
 * Redis slow or down never delays mail by more than timeout: a failed or
 * slow call counts as a miss, Redis is then left alone for a back-off
 * period (logged once per outage), and scanning goes on locally.
 *
 * Thread-safe: connections are kept in a small pool, one per caller at a
 * time; a caller that finds them all busy does without (a miss), never
 * waits.
 */
#ifndef SM_RCACHE_H
#define SM_RCACHE_H

#include <stddef.h>

#include <scanmilter/engine.h>

struct rcache;
struct sm_conf;
struct sm_engine_inst;

struct rcache_conf {
	const char *server;	/* "unix:/path", "inet:PORT@ADDR",
				 * "inet6:PORT@[ADDR]" (no names) */
	const char *prefix;	/* key prefix, e.g. "scanmilter" */
	const char *scope;	/* engine kind, versions, options digest */
	const char *password;	/* AUTH after connecting, or NULL */
	long long ttl_ms;	/* entry lifetime */
	long long timeout_ms;	/* longest a call may take */
	long long retry_ms;	/* back-off after a failure */
	int	 max_connections;
};

struct rcache_stats {
	unsigned long long hits, misses, stores, errors, outages;
	int	 down;		/* 1 from a failure to the next answer */
	const char *server, *scope;	/* the client's, while it lives */
};

/* A client for conf (copied); NULL with a reason in err.  It does not
 * connect yet: a Redis that is down at start is an outage like any. */
struct rcache *rcache_new(const struct rcache_conf *, char *err,
	    size_t errlen);
void	rcache_free(struct rcache *);	/* takes NULL */

/*
 * The client for engine instance e, started as handle (from its create()),
 * from the configuration's cache { } scope; NULL with a reason in err (a bad
 * server), or NULL with err untouched when this engine goes without
 * (its signature files unreadable or changing now: logged).
 */
struct rcache *rcache_for_engine(const struct sm_conf *,
	    const struct sm_engine_inst *e, void *handle, char *err,
	    size_t errlen);

/* The scope the client was made for (owned by it). */
const char *rcache_scope(const struct rcache *);

/*
 * key: the SHA-256 of the object (32 bytes).  rcache_get returns 1 and
 * the result on a hit, 0 on a miss or any failure.  Only clean and
 * infected verdicts are stored or believed.
 */
int	rcache_get(struct rcache *, const unsigned char *key,
	    struct sm_result *out);
void	rcache_put(struct rcache *, const unsigned char *key,
	    const struct sm_result *);

/* First-level entries (see vcache.h): ekey -> the decoded bytes' key and
 * length; 1 on a hit, 0 on a miss or any failure.  Not counted. */
int	rcache_get_alias(struct rcache *, const unsigned char *ekey,
	    unsigned char *key, size_t *len);
void	rcache_put_alias(struct rcache *, const unsigned char *ekey,
	    const unsigned char *key, size_t len);

void	rcache_get_stats(struct rcache *, struct rcache_stats *);

#endif
