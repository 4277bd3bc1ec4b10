/*
 * The shared verdict cache in Redis (hiredis): see rcache.h.
 *
 * A value is "V:NAME": the verdict digit and the engine's name for it;
 * or, under a first-level key (an attachment as encoded in a message,
 * named PREFIX:SCOPE:enc:HEX), "A:HEX:LEN": the key and length of its
 * decoded bytes.  Anything else
 * read back (a foreign or damaged value) is a miss.  Redis is
 * trusted like a clamd farm is: whoever can write to it decides verdicts.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "conf.h"
#include "log.h"
#include "rcache.h"
#include "util.h"

#define RCACHE_KEY_MAX	512
#define RCACHE_MAX_IDLE_DROP 64	/* idle connections closed per failure */

struct rcache {
	char	*host;			/* NULL for a unix socket */
	char	*path;			/* unix socket, or NULL */
	int	 port;
	char	*prefix;
	char	*scope;
	char	*password;		/* or NULL */
	long long ttl_ms, timeout_ms, retry_ms;
	char	 server[256];		/* as configured, for logs */

	pthread_mutex_t lock;		/* guards idle, nidle, nconn */
	redisContext **idle;		/* connections not in use */
	int	 nidle, nconn, max_conn;

	atomic_llong down_until;	/* monotonic ms; 0: up; past: one
					 * caller may try again */
	atomic_llong failed_at;		/* monotonic us of the last failure */
	atomic_ullong hits, misses, stores, errors, outages;
};

static long long
rcache_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static long long
rcache_now_ms(void)
{
	return rcache_now_us() / 1000;
}

struct rcache *
rcache_new(const struct rcache_conf *c, char *err, size_t errlen)
{
	struct rcache *rc = xcalloc(1, sizeof(*rc));
	const char *p = c->server, *at;

	snprintf(rc->server, sizeof(rc->server), "%s", c->server);
	if (strncmp(p, "unix:", 5) == 0)
		p += 5;
	if (*p == '/')
		rc->path = xstrdup(p);
	else if ((strncmp(p, "inet:", 5) == 0 ||
	    strncmp(p, "inet6:", 6) == 0) &&
	    (at = strchr(p, '@')) != NULL && at[1] != '\0') {
		const char *num = p + (p[4] == ':' ? 5 : 6);
		unsigned char addr[sizeof(struct in6_addr)];
		char *end;
		long port = strtol(num, &end, 10);
		size_t len;

		if (end != at || port <= 0 || port > 65535) {
			snprintf(err, errlen, "redis '%s': bad port",
			    c->server);
			goto fail;
		}
		rc->port = (int)port;
		rc->host = xstrdup(at + 1);
		len = strlen(rc->host);
		if (rc->host[0] == '[' && len > 2 && rc->host[len - 1] == ']') {
			memmove(rc->host, rc->host + 1, len - 2);
			rc->host[len - 2] = '\0';
		}
		/* a name would be looked up at each connect, in the mail's
		 * path and beyond any timeout: an address only */
		if (inet_pton(AF_INET, rc->host, addr) != 1 &&
		    inet_pton(AF_INET6, rc->host, addr) != 1) {
			snprintf(err, errlen, "redis '%s': the host must be an "
			    "IP address (a name lookup could hold up mail)",
			    c->server);
			goto fail;
		}
	} else {
		snprintf(err, errlen, "redis '%s': expected unix:/path, "
		    "inet:PORT@ADDRESS or inet6:PORT@[ADDRESS]", c->server);
		goto fail;
	}
	rc->prefix = xstrdup(c->prefix);
	rc->scope = xstrdup(c->scope);
	rc->password = c->password != NULL ? xstrdup(c->password) : NULL;
	rc->ttl_ms = c->ttl_ms;
	rc->timeout_ms = c->timeout_ms;
	rc->retry_ms = c->retry_ms;
	rc->max_conn = c->max_connections > 0 ? c->max_connections : 1;
	rc->idle = xcalloc((size_t)rc->max_conn, sizeof(*rc->idle));
	pthread_mutex_init(&rc->lock, NULL);
	return rc;
fail:
	free(rc->path);
	free(rc->host);
	free(rc);
	return NULL;
}

void
rcache_free(struct rcache *rc)
{
	if (rc == NULL)
		return;
	for (int i = 0; i < rc->nidle; i++)
		redisFree(rc->idle[i]);
	pthread_mutex_destroy(&rc->lock);
	free(rc->idle);
	free(rc->host);
	free(rc->path);
	free(rc->prefix);
	free(rc->scope);
	if (rc->password != NULL)
		explicit_bzero(rc->password, strlen(rc->password));
	free(rc->password);
	free(rc);
}

/* A failure: Redis is left alone for retry_ms; logged once per outage. */
static void
rcache_failed(struct rcache *rc, const char *what)
{
	long long now = rcache_now_us(), was;
	redisContext *idle[RCACHE_MAX_IDLE_DROP];
	int n = 0;

	atomic_store(&rc->failed_at, now);
	was = atomic_exchange(&rc->down_until, now / 1000 + rc->retry_ms);

	/* the idle connections went the same way: the probe after the
	 * back-off must find a new one, not the next dead one */
	pthread_mutex_lock(&rc->lock);
	while (rc->nidle > 0 && n < RCACHE_MAX_IDLE_DROP) {
		idle[n++] = rc->idle[--rc->nidle];
		rc->nconn--;
	}
	pthread_mutex_unlock(&rc->lock);
	while (n > 0)
		redisFree(idle[--n]);

	atomic_fetch_add(&rc->errors, 1);
	if (was == 0) {
		atomic_fetch_add(&rc->outages, 1);
		msg_warnx("redis %s: %s; scanning without the shared cache "
		    "for %lld ms at a time until it answers", rc->server, what,
		    rc->retry_ms);
	}
}

/* A command that failed: r is its reply (an error) or NULL (ctx->err says
 * why; a read past timeout_ms ends in EAGAIN).  errno as the call left it. */
static void
rcache_call_failed(struct rcache *rc, const redisContext *ctx,
    const redisReply *r, int err)
{
	if (r != NULL)
		rcache_failed(rc, r->str);
	else if (ctx->err == REDIS_ERR_IO && (err == EAGAIN ||
	    err == EWOULDBLOCK))
		rcache_failed(rc, "no answer within the timeout");
	else
		rcache_failed(rc, ctx->errstr);
}

/* An answer to a command sent at sent_us: the end of an outage only if
 * sent after the last failure (a reply read from a server that has died
 * since says nothing about it now). */
static void
rcache_answered(struct rcache *rc, long long sent_us)
{
	if (atomic_load(&rc->down_until) != 0 &&
	    sent_us > atomic_load(&rc->failed_at) &&
	    atomic_exchange(&rc->down_until, 0) != 0)
		msg_info("redis %s: answering again", rc->server);
}

/* A connection to use (the caller's alone until rcache_release), or NULL
 * while Redis is in back-off, every connection is busy or connect fails;
 * *reused says whether it had been used before. */
static redisContext *
rcache_acquire(struct rcache *rc, int *reused)
{
	struct timeval tv = { rc->timeout_ms / 1000,
	    (rc->timeout_ms % 1000) * 1000 };
	redisContext *ctx = NULL;
	long long until = atomic_load(&rc->down_until);

	if (until != 0) {
		long long now = rcache_now_ms();

		/* in back-off; past it, one caller probes, the rest go on
		 * without until it has answered */
		if (now < until || !atomic_compare_exchange_strong(
		    &rc->down_until, &until, now + rc->retry_ms))
			return NULL;
	}
	pthread_mutex_lock(&rc->lock);
	if (rc->nidle > 0)
		ctx = rc->idle[--rc->nidle];
	else if (rc->nconn < rc->max_conn)
		rc->nconn++;
	else {
		pthread_mutex_unlock(&rc->lock);
		return NULL;		/* all busy: a miss, never a wait */
	}
	pthread_mutex_unlock(&rc->lock);
	*reused = ctx != NULL;
	if (ctx != NULL)
		return ctx;
	ctx = rc->path != NULL ? redisConnectUnixWithTimeout(rc->path, tv) :
	    redisConnectWithTimeout(rc->host, rc->port, tv);
	if (ctx == NULL || ctx->err || redisSetTimeout(ctx, tv) != REDIS_OK) {
		char why[160];

		snprintf(why, sizeof(why), "connect: %s", ctx != NULL ?
		    ctx->errstr : "out of memory");
		if (ctx != NULL)
			redisFree(ctx);
		pthread_mutex_lock(&rc->lock);
		rc->nconn--;
		pthread_mutex_unlock(&rc->lock);
		rcache_failed(rc, why);
		return NULL;
	}
	if (rc->password != NULL) {
		redisReply *r = redisCommand(ctx, "AUTH %s", rc->password);
		int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

		if (!ok)
			rcache_call_failed(rc, ctx, r, errno);
		if (r != NULL)
			freeReplyObject(r);
		if (!ok) {
			redisFree(ctx);
			pthread_mutex_lock(&rc->lock);
			rc->nconn--;
			pthread_mutex_unlock(&rc->lock);
			return NULL;
		}
	}
	return ctx;
}

/* Gives ctx back; broken ones (ctx->err) are closed. */
static void
rcache_release(struct rcache *rc, redisContext *ctx)
{
	pthread_mutex_lock(&rc->lock);
	if (ctx->err == 0 && rc->nidle < rc->max_conn) {
		rc->idle[rc->nidle++] = ctx;
		ctx = NULL;
	} else
		rc->nconn--;
	pthread_mutex_unlock(&rc->lock);
	if (ctx != NULL)
		redisFree(ctx);
}

/* "PREFIX:SCOPE:HEX" for a verdict, "PREFIX:SCOPE:enc:HEX" for a
 * first-level entry (no scope ends in "enc": its last word is a digest;
 * and a value of one kind read as the other is a miss). */
static void
rcache_keyname(const struct rcache *rc, const char *kind,
    const unsigned char *key, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s:%s:%s", rc->prefix, rc->scope,
	    kind);

	for (int i = 0; i < 32 && n > 0 && (size_t)n + 2 < outlen; i++)
		n += snprintf(out + n, outlen - (size_t)n, "%02x", key[i]);
}

/*
 * Runs one command: its reply (the caller frees it), or NULL on any
 * failure (counted, the back-off begun) or while Redis is left alone.  A
 * reused connection that turns out closed (Redis restarted, or it drops
 * idle clients) is no outage: the command runs once more on a new one.
 */
static redisReply *
rcache_run(struct rcache *rc, const char *fmt, ...)
{
	redisContext *ctx;
	redisReply *r = NULL;
	va_list ap, again;
	long long sent;
	int reused = 0;

	va_start(ap, fmt);
	for (int tries = 0; tries < 2; tries++) {
		int err;

		if ((ctx = rcache_acquire(rc, &reused)) == NULL)
			break;
		sent = rcache_now_us();
		va_copy(again, ap);
		r = redisvCommand(ctx, fmt, again);
		va_end(again);
		err = errno;
		if (r == NULL && reused && tries == 0 &&
		    (ctx->err == REDIS_ERR_EOF || (ctx->err == REDIS_ERR_IO &&
		    (err == EPIPE || err == ECONNRESET)))) {
			rcache_release(rc, ctx);	/* closes it */
			continue;
		}
		if (r == NULL || r->type == REDIS_REPLY_ERROR) {
			rcache_call_failed(rc, ctx, r, err);
			if (r != NULL)
				freeReplyObject(r);
			r = NULL;
		} else
			rcache_answered(rc, sent);
		rcache_release(rc, ctx);
		break;
	}
	va_end(ap);
	return r;
}

int
rcache_get(struct rcache *rc, const unsigned char *key, struct sm_result *out)
{
	char name[RCACHE_KEY_MAX];
	redisReply *r;
	int hit = 0;

	rcache_keyname(rc, "", key, name, sizeof(name));
	if ((r = rcache_run(rc, "GET %s", name)) == NULL)
		goto out;
	if (r->type == REDIS_REPLY_STRING && r->len >= 2 &&
	    (r->str[0] == '0' + SM_CLEAN || r->str[0] == '0' + SM_INFECTED) &&
	    r->str[1] == ':' && r->len - 2 < SM_NAME_MAX &&
	    memchr(r->str + 2, '\0', r->len - 2) == NULL) {
		out->verdict = (enum sm_verdict)(r->str[0] - '0');
		memcpy(out->name, r->str + 2, r->len - 2);
		out->name[r->len - 2] = '\0';
		hit = 1;
	}
	freeReplyObject(r);
out:
	atomic_fetch_add(hit ? &rc->hits : &rc->misses, 1);
	return hit;
}

void
rcache_put(struct rcache *rc, const unsigned char *key,
    const struct sm_result *res)
{
	char name[RCACHE_KEY_MAX], value[SM_NAME_MAX + 4];
	redisReply *r;

	if (res->verdict != SM_CLEAN && res->verdict != SM_INFECTED)
		return;
	rcache_keyname(rc, "", key, name, sizeof(name));
	snprintf(value, sizeof(value), "%d:%s", (int)res->verdict, res->name);
	if ((r = rcache_run(rc, "SET %s %s PX %lld", name, value,
	    rc->ttl_ms)) != NULL) {
		atomic_fetch_add(&rc->stores, 1);
		freeReplyObject(r);
	}
}

/* First-level entries are not counted: the counters say what verdicts
 * the shared cache gave. */
int
rcache_get_alias(struct rcache *rc, const unsigned char *ekey,
    unsigned char *key, size_t *len)
{
	char name[RCACHE_KEY_MAX];
	redisReply *r;
	int hit = 0;

	rcache_keyname(rc, "enc:", ekey, name, sizeof(name));
	if ((r = rcache_run(rc, "GET %s", name)) == NULL)
		return 0;
	/* "A:" 64 hex digits ":" decimal length */
	if (r->type == REDIS_REPLY_STRING && r->len > 67 && r->len < 88 &&
	    r->str[0] == 'A' && r->str[1] == ':' && r->str[66] == ':') {
		char *end;
		unsigned long long n;
		int ok = 1;

		for (int i = 0; i < 32 && ok; i++) {
			int hi = sm_hexval((unsigned char)r->str[2 + 2 * i]);
			int lo = sm_hexval((unsigned char)r->str[3 + 2 * i]);

			ok = hi >= 0 && lo >= 0;
			if (ok)
				key[i] = (unsigned char)(hi << 4 | lo);
		}
		errno = 0;
		n = strtoull(r->str + 67, &end, 10);
		if (ok && errno == 0 && end == r->str + r->len &&
		    r->str[67] >= '0' && r->str[67] <= '9' &&
		    n <= (unsigned long long)SIZE_MAX) {
			*len = (size_t)n;
			hit = 1;
		}
	}
	freeReplyObject(r);
	return hit;
}

void
rcache_put_alias(struct rcache *rc, const unsigned char *ekey,
    const unsigned char *key, size_t len)
{
	char name[RCACHE_KEY_MAX], value[96];
	redisReply *r;
	int n = snprintf(value, sizeof(value), "A:");

	for (int i = 0; i < 32; i++)
		n += snprintf(value + n, sizeof(value) - (size_t)n, "%02x",
		    key[i]);
	snprintf(value + n, sizeof(value) - (size_t)n, ":%zu", len);
	rcache_keyname(rc, "enc:", ekey, name, sizeof(name));
	if ((r = rcache_run(rc, "SET %s %s PX %lld", name, value,
	    rc->ttl_ms)) != NULL)
		freeReplyObject(r);
}

void
rcache_get_stats(struct rcache *rc, struct rcache_stats *st)
{
	long long until = atomic_load(&rc->down_until);

	st->hits = atomic_load(&rc->hits);
	st->misses = atomic_load(&rc->misses);
	st->stores = atomic_load(&rc->stores);
	st->errors = atomic_load(&rc->errors);
	st->outages = atomic_load(&rc->outages);
	st->down = until != 0;	/* until a call succeeds again */
	st->server = rc->server;
	st->scope = rc->scope;
}

const char *
rcache_scope(const struct rcache *rc)
{
	return rc->scope;
}

/* Appends ':' (unless first) and text to out (at *n of outlen), with
 * anything but [A-Za-z0-9.-] in text as '_', so a scope is one word of a
 * key and its parts stay apart. */
static void
rcache_scope_add(char *out, size_t outlen, size_t *n, const char *text)
{
	if (*n > 0 && *n + 1 < outlen)
		out[(*n)++] = ':';
	for (; *text != '\0' && *n + 1 < outlen; text++)
		out[(*n)++] = (*text >= 'a' && *text <= 'z') ||
		    (*text >= 'A' && *text <= 'Z') ||
		    (*text >= '0' && *text <= '9') || *text == '.' ||
		    *text == '-' ? *text : '_';
	out[*n] = '\0';
}

/*
 * The bytes of the regular file name (under dirfd, through a symbolic
 * link as the engine reads it) into md, with its name and size; of a
 * ClamAV database (.cvd, .cld, .cud) only its header, which carries its
 * version and the digest of the rest.  Anything else (a directory, a
 * FIFO, a device) is left out, never opened.  0, or -1 on a read error.
 */
static int
rcache_digest_file(EVP_MD_CTX *md, int dirfd, const char *name)
{
	const char *dot = strrchr(name, '.');
	int whole = dot == NULL || (strcmp(dot, ".cvd") != 0 &&
	    strcmp(dot, ".cld") != 0 && strcmp(dot, ".cud") != 0);
	unsigned char buf[65536];
	char head[512];
	struct stat st;
	off_t left;
	int fd, rc = -1;

	fd = -1;
	if (fstatat(dirfd, name, &st, 0) < 0 || !S_ISREG(st.st_mode))
		return 0;
	fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		goto out;
	snprintf(head, sizeof(head), "%s:%lld:", name, (long long)st.st_size);
	if (EVP_DigestUpdate(md, head, strlen(head)) != 1)
		goto out;
	for (left = whole ? st.st_size : 512; left > 0; ) {
		ssize_t n = read(fd, buf, (size_t)left < sizeof(buf) ?
		    (size_t)left : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			goto out;
		left -= n;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
rcache_cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * What a path option names, into md: a file's bytes, or a directory's
 * files (not below it) in name order.  A signature set's version can stay
 * the same while its files change (local signatures next to the
 * official ones, a replaced signature): the content decides.  0 or -1.
 */
static int
rcache_digest_path(EVP_MD_CTX *md, const char *path)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		char *copy = xstrdup(path), *slash = strrchr(copy, '/');
		int dfd;

		/* a file: its directory, then it */
		if (slash == NULL) {
			free(copy);
			return -1;
		}
		*slash = '\0';
		dfd = open(*copy ? copy : "/", O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
		rc = dfd < 0 ? -1 : rcache_digest_file(md, dfd, slash + 1);
		if (dfd >= 0)
			close(dfd);
		free(copy);
		return rc;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;	/* ".", "..", hidden and temporary */
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), rcache_cmp_names);
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = rcache_digest_file(md, dirfd(d), names[i]);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return rc;
}

/*
 * A digest of the engine block's options that can change a verdict (all
 * but durations: timeouts decide whether there is an answer, not which),
 * and of the files its path options name: two hosts share verdicts only
 * when their engines are set up alike and load the same signatures.
 * "0" if it cannot be made (then there is no shared cache).
 */
static void
rcache_options_digest(const struct sm_engine_inst *e, char *out,
    size_t outlen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	snprintf(out, outlen, "0");
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (const struct sm_option *o = e->ops->options;
	    o != NULL && o->name != NULL; o++) {
		const char *p = (const char *)e->conf + o->offset;
		const char *path = NULL;
		char line[1024];
		long long num;
		int i;

		if (o->offset == SM_OPT_NOSTORE || o->type == SM_OPT_DURATION)
			continue;
		switch (o->type) {
		case SM_OPT_BOOL:
		case SM_OPT_ENUM:
			memcpy(&i, p, sizeof(i));
			snprintf(line, sizeof(line), "%s=%d\n", o->name, i);
			break;
		case SM_OPT_STRING:
		case SM_OPT_PATH: {
			const char *v;

			memcpy(&v, p, sizeof(v));
			snprintf(line, sizeof(line), "%s=%s\n", o->name,
			    v != NULL ? v : "");
			if (o->type == SM_OPT_PATH && v != NULL && *v == '/')
				path = v;
			break;
		}
		default:
			memcpy(&num, p, sizeof(num));
			snprintf(line, sizeof(line), "%s=%lld\n", o->name, num);
			break;
		}
		if (EVP_DigestUpdate(md, line, strlen(line)) != 1)
			goto out;
		if (path != NULL && rcache_digest_path(md, path) < 0)
			goto out;
	}
	if (EVP_DigestFinal_ex(md, d, &dlen) != 1 || dlen < 4)
		goto out;
	snprintf(out, outlen, "%02x%02x%02x%02x", d[0], d[1], d[2], d[3]);
out:
	EVP_MD_CTX_free(md);
}

struct rcache *
rcache_for_engine(const struct sm_conf *c, const struct sm_engine_inst *e,
    void *handle, char *err, size_t errlen)
{
	struct sm_engine_version v;
	char scope[256], opts[16];
	size_t n = 0;

	memset(&v, 0, sizeof(v));
	e->ops->version(handle, &v);
	rcache_options_digest(e, opts, sizeof(opts));
	/*
	 * The files were read after the engine loaded them: if they changed
	 * since it began (an update landing now), the digest may name
	 * signatures the engine does not have.  No shared cache then, until
	 * the reload that change brings.
	 */
	/*
	 * Nor without a signature version (a clamd farm that did not answer
	 * VERSION): such keys would be shared across any signatures.
	 */
	if (v.signatures[0] == '\0' || strcmp(opts, "0") == 0 ||
	    (e->ops->changed != NULL && e->ops->changed(handle))) {
		msg_warnx("%s \"%s\": %s: no shared verdict cache until the "
		    "next reload", e->ops->name, e->name,
		    v.signatures[0] == '\0' ? "no signature version" :
		    strcmp(opts, "0") ? "signatures changed while loading" :
		    "cannot read its files");
		return NULL;
	}
	/* kind:engine-version:signature-version:options */
	scope[0] = '\0';
	rcache_scope_add(scope, sizeof(scope), &n, e->ops->name);
	rcache_scope_add(scope, sizeof(scope), &n, v.engine);
	rcache_scope_add(scope, sizeof(scope), &n, v.signatures);
	rcache_scope_add(scope, sizeof(scope), &n, opts);
	return rcache_new(&(struct rcache_conf){
	    .server = c->cache_redis, .prefix = c->cache_prefix,
	    .scope = scope, .password = c->cache_password,
	    .ttl_ms = c->cache_ttl,
	    .timeout_ms = c->cache_timeout, .retry_ms = c->cache_retry,
	    .max_connections = (int)c->cache_max_conns }, err, errlen);
}
