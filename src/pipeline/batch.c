/*
 * One message's scans, run in the pools: building the objects (the message,
 * or its MIME decomposition), the verdict cache in front of the engines,
 * the hand-off to the pools and the wait against each instance's deadline.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "encmemo.h"
#include "generation.h"
#include "lockstat.h"
#include "mime.h"
#include "parts.h"
#include "pool.h"
#include "util.h"
#include "vcache.h"
#include "wirebuf.h"

/* A verdict lookup made while the part was parsed (first-level hit). */
struct batch_pre {
	signed char state;		/* 0: not asked, 1: hit (res), -1: miss */
	struct sm_result res;
};

#define BATCH_SKELETON_FIRST (64 * 1024)	/* reserved for a skeleton */

struct batch_obj {
	struct sm_object obj;
	struct wirebuf wb;		/* a part's or the skeleton's bytes */
	int	 whole;			/* the message as received */
	int	 keyed;			/* 1: key holds its SHA-256, -1: failed */
	unsigned char key[VCACHE_KEY_LEN];
	char	 filename[256];
	char	 content_type[128];
	int	 cuttable;		/* strip may cut [cut_start, cut_end) */
	size_t	 cut_start, cut_end;	/* of the message past its envelope */
	/* first level: the part as encoded in the message */
	int	 known;			/* not decoded, no bytes: every engine
					 * that scans parts answered from the
					 * cache (pre) */
	struct batch_pre *pre;		/* one per engine of the generation
					 * (generation_engines order), or NULL */
	int	 alias_pending;		/* once keyed: record ekey -> key */
	unsigned char ekey[VCACHE_KEY_LEN];
};

enum task_state { TASK_QUEUED, TASK_RUNNING, TASK_DONE, TASK_LATE,
    TASK_REFUSED };

struct batch;

struct task {
	struct pool_job job;		/* first: the pool gives it back */
	struct batch *b;
	const struct sm_av *av;
	const struct gen_engine *e;	/* the engine, as it runs */
	size_t	 obj;			/* index into b->objs */
	double	 deadline;		/* monotonic ms */
	enum task_state state;		/* under b->mu */
	int	 cached;		/* answered by the cache */
	double	 began;			/* monotonic ms when a worker took it
					 * (0: none did; under b->mu) */
	double	 end;			/* monotonic ms when answered or given
					 * up (under b->mu) */
	struct sm_result res;
};

struct batch {
	struct message msg;		/* the batch's own copy: objects and
					 * late scans point into it */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int	 refs;			/* under mu */
	int	 open;			/* tasks neither done nor given up */
	struct message_input *in;
	struct batch_obj *objs;
	size_t	 nobjs;
	struct task *tasks;		/* in instance order */
	size_t	 ntasks;
	const struct gen_engine *engines;	/* generation_engines(ALL):
					 * what batch_obj.pre is indexed by */
	/* decomposition */
	int	 decomposed;		/* skeleton and parts are objects */
	int	 whole_too;		/* a limit was hit: scan it whole too */
	unsigned anomalies;		/* enum mime_anomaly bits */
	char	 anomaly[128];		/* the first, in words */
	struct parts *parts;		/* for SM_ENGINE_PARTS engines, or NULL */
	/* when each stage of the milter thread ended (batch_timeline) */
	double	 t_new, t_parsed, t_keyed, t_submitted, t_waited;
};


double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Runs one engine; an engine that breaks the contract reports an error. */
static void
run_engine(const struct gen_engine *e, const struct sm_object *obj,
    struct sm_result *res)
{
	memset(res, 0, sizeof(*res));
	if (e->e->ops->scan(e->handle, obj, res) < 0 &&
	    res->verdict != SM_ERROR)
		res->verdict = SM_ERROR;
	if (res->verdict != SM_CLEAN && res->name[0] == '\0')
		sm_strlcpy(res->name, res->verdict == SM_ERROR ?
		    "engine failure" : "unknown", sizeof(res->name));
	res->name[sizeof(res->name) - 1] = '\0';
}

void
batch_unref(struct batch *b)
{
	int last;

	lockstat_lock(&b->mu, LOCKSTAT_BATCH);
	last = --b->refs == 0;
	pthread_mutex_unlock(&b->mu);
	if (!last)
		return;
	if (b->parts != NULL)
		msg_debug("%s: MIME parts parsed %u time(s) for the engines",
		    message_str(b->msg.queue_id, "NOQUEUE"),
		    parts_parses(b->parts));
	for (size_t i = 0; i < b->nobjs; i++) {
		wirebuf_free(&b->objs[i].wb);
		free(b->objs[i].pre);
	}
	free(b->objs);
	free(b->tasks);
	parts_free(b->parts);
	message_input_unref(b->in);
	message_clear(&b->msg);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

/* Only verdicts that depend on the bytes alone, and are final, are kept. */
static bool
cacheable(const struct gen_engine *e, const struct sm_result *res)
{
	return e->cache != NULL &&
	    (res->verdict == SM_CLEAN || res->verdict == SM_INFECTED);
}

/* Task t is over (under b->mu): answered, refused or given up. */
static void
task_end(struct task *t, enum task_state state, double now)
{
	t->state = state;
	t->end = now;
}

/* Worker side: scan unless the caller gave up; report; let go. */
static void
task_run(struct pool_job *job)
{
	struct task *t = (struct task *)job;
	struct batch *b = t->b;
	const struct batch_obj *o = &b->objs[t->obj];
	struct sm_result res;
	bool go;

	lockstat_lock(&b->mu, LOCKSTAT_BATCH);
	go = t->state == TASK_QUEUED;
	if (go) {
		t->state = TASK_RUNNING;
		t->began = now_ms();
	}
	pthread_mutex_unlock(&b->mu);
	if (go) {
		struct sm_object obj = o->obj;	/* with this task's deadline */

		obj.deadline.tv_sec = (time_t)(t->deadline / 1000);
		obj.deadline.tv_nsec = (long)((t->deadline -
		    (double)obj.deadline.tv_sec * 1000) * 1e6);
		run_engine(t->e, &obj, &res);
		if (o->keyed == 1 && cacheable(t->e, &res))
			vcache_put(t->e->cache, o->key, &res);
		lockstat_lock(&b->mu, LOCKSTAT_BATCH);
		if (t->state == TASK_RUNNING) {	/* else: too late, dropped */
			t->res = res;
			task_end(t, TASK_DONE, now_ms());
			b->open--;
			pthread_cond_broadcast(&b->cv);
		}
		pthread_mutex_unlock(&b->mu);
	}
	batch_unref(b);
}

/* The pool shut down with the job still queued. */
static void
task_drop(struct pool_job *job)
{
	batch_unref(((struct task *)job)->b);
}

static struct batch_obj *
add_obj(struct batch *b)
{
	struct batch_obj *o;

	b->objs = xrealloc(b->objs, (b->nobjs + 1) * sizeof(*b->objs));
	o = &b->objs[b->nobjs++];
	memset(o, 0, sizeof(*o));
	return o;
}

/* ---- MIME decomposition ------------------------------------------------- */

/* A part decoded straight into its spill file (past the threshold): no
 * copy of it on the heap.  At most two at a time: a part and a uuencode
 * block found in it. */
struct placed {
	unsigned char *map;		/* NULL: the slot is free */
	size_t	 cap;
	struct wirebuf wb;		/* the file, until a part takes it */
	size_t	 obj;			/* the object that took it, or -1 */
};

struct decompose {
	struct batch *b;
	const struct generation *g;
	struct wirebuf_opts opts;
	int	 failed;		/* why a part could not be stored (errno) */
	struct wirebuf skeleton;	/* spills like a message */
	struct placed placed[2];
	/* the part known_part() last looked at, until keep_part() takes it */
	const unsigned char *enc;	/* its encoded body, or NULL */
	size_t	 enc_len;
	int	 ekeyed;		/* ekey is its first-level key */
	unsigned char ekey[VCACHE_KEY_LEN];
	int	 aliased;		/* the caches knew it: key, key_len */
	unsigned char key[VCACHE_KEY_LEN];
	size_t	 key_len;
	struct batch_pre *pre;		/* the verdict lookups made for it */
};

static void
dc_forget(struct decompose *dc)
{
	free(dc->pre);
	dc->pre = NULL;
	dc->enc = NULL;
	dc->enc_len = 0;
	dc->ekeyed = dc->aliased = 0;
}

/* Does engine e scan the parts of a decomposed message? */
static bool
scans_parts(const struct gen_engine *e)
{
	return e->handle != NULL && e->av->mime_decompose &&
	    !(e->e->ops->flags & SM_ENGINE_WHOLE_MESSAGE);
}

/* A copy of len bytes for memo, if it keeps bodies of that size; NULL if
 * not, or out of memory (the memo is only a shortcut). */
static unsigned char *
copy_of(const struct encmemo *memo, const unsigned char *data, size_t len)
{
	unsigned char *copy;

	if (!encmemo_fits(memo, len) || (copy = malloc(len)) == NULL)
		return NULL;
	memcpy(copy, data, len);
	return copy;
}

/* Is p's first-level key (its SHA-256 as encoded) known to every engine
 * that scans parts, leading to the same decoded key?  Sets dc's ekey, and
 * key and key_len when it is. */
static int
known_by_hash(struct decompose *dc, const struct mime_part *p,
    const struct gen_engine *all, size_t n)
{
	unsigned char key[VCACHE_KEY_LEN];
	size_t len = 0;
	int have = 0;

	if (vcache_encoded_key(p->encoding, p->encoded, p->encoded_len,
	    dc->ekey) < 0)
		return 0;
	dc->ekeyed = 1;
	for (size_t k = 0; k < n; k++) {
		if (!scans_parts(&all[k]))
			continue;
		if (!vcache_get_alias(all[k].cache, dc->ekey, key, &len) ||
		    (have && (len != dc->key_len ||
		    memcmp(key, dc->key, VCACHE_KEY_LEN) != 0)))
			return 0;
		memcpy(dc->key, key, VCACHE_KEY_LEN);
		dc->key_len = len;
		have = 1;
	}
	return have;
}

/*
 * The first level of the verdict cache, asked by the parser before it
 * decodes an attachment: the part's bytes as encoded, found in the
 * generation's memo (encmemo.h) or else by their key (vcache.c says what
 * it covers) in every engine that scans parts, lead to the key and length
 * of the decoded bytes, and those to each engine's verdict.  When every
 * engine has a verdict the part is not decoded at all (1); otherwise it is
 * decoded (0), and the lookups already made are kept for it so that no
 * engine is asked twice.  A first-level entry is only ever written for a
 * decoding that was complete and flawless (keep_part, key_objects), so a
 * hit stands for exactly the bytes the decoder would give.
 */
static int
known_part(const struct mime_part *p, size_t *len, void *arg)
{
	struct decompose *dc = arg;
	size_t n;
	const struct gen_engine *all = generation_engines(dc->g,
	    GENERATION_ALL, &n);
	unsigned char *copy;
	int have = 0, every = 1;

	dc_forget(dc);
	dc->enc = p->encoded;
	dc->enc_len = p->encoded_len;
	for (size_t k = 0; k < n; k++) {	/* an engine without a cache scans */
		if (scans_parts(&all[k]) && all[k].cache == NULL)
			return 0;
		have |= scans_parts(&all[k]);
	}
	if (!have)
		return 0;
	if (encmemo_get(dc->g->memo, p->encoding, p->encoded, p->encoded_len,
	    dc->key, &dc->key_len)) {
		for (size_t k = 0; k < n; k++)
			if (scans_parts(&all[k]))
				vcache_count_encoding_hit(all[k].cache);
	} else if (known_by_hash(dc, p, all, n)) {
		/* seen before (its key is known, here or on another host):
		 * kept, so that next time its bytes find it.  An attachment
		 * seen once is not: most are, and would only push out the
		 * ones that come again. */
		if ((copy = copy_of(dc->g->memo, p->encoded,
		    p->encoded_len)) != NULL)
			encmemo_put(dc->g->memo, p->encoding, copy,
			    p->encoded_len, dc->key, dc->key_len);
	} else {
		return 0;
	}
	dc->aliased = 1;
	dc->pre = xcalloc(n, sizeof(*dc->pre));
	for (size_t k = 0; k < n; k++) {
		if (!scans_parts(&all[k]))
			continue;
		if (vcache_get(all[k].cache, dc->key, &dc->pre[k].res))
			dc->pre[k].state = 1;
		else {
			dc->pre[k].state = -1;
			every = 0;
		}
	}
	/* an engine reading the message's parts needs the bytes: decode
	 * them, but ask no engine again */
	if (!every || dc->b->parts != NULL)
		return 0;
	*len = dc->key_len;
	return 1;
}

/* A buffer for a large decoded part: a spill file, mapped. */
static unsigned char *
place_get(size_t cap, void *arg)
{
	struct decompose *dc = arg;

	for (size_t i = 0; i < ARRAY_LEN(dc->placed); i++) {
		struct placed *pl = &dc->placed[i];

		if (pl->map != NULL)
			continue;
		if ((pl->map = wirebuf_place(&pl->wb, &dc->opts, cap)) ==
		    NULL) {
			if (!dc->failed)
				dc->failed = errno ? errno : EIO;
			return NULL;
		}
		pl->cap = cap;
		pl->obj = (size_t)-1;
		return pl->map;
	}
	dc->failed = EBUSY;	/* cannot happen: two are never exceeded */
	return NULL;
}

/* The parser is done with it: its bytes stay with the part that took
 * them, else the file goes. */
static void
place_put(unsigned char *map, size_t cap, size_t len, void *arg)
{
	struct decompose *dc = arg;

	for (size_t i = 0; i < ARRAY_LEN(dc->placed); i++) {
		struct placed *pl = &dc->placed[i];

		if (pl->map != map)
			continue;
		if (pl->obj != (size_t)-1) {
			wirebuf_place_end(&dc->b->objs[pl->obj].wb, map, cap,
			    len);
			if (dc->b->objs[pl->obj].wb.error && !dc->failed)
				dc->failed = dc->b->objs[pl->obj].wb.error;
		} else {
			wirebuf_place_end(&pl->wb, map, cap, len);
			wirebuf_free(&pl->wb);
		}
		pl->map = NULL;
		return;
	}
}

/* Part object o takes the file its bytes were decoded into, if they
 * were: true; false if they are elsewhere (to be copied). */
static bool
take_placed(struct decompose *dc, const unsigned char *data,
    struct batch_obj *o)
{
	for (size_t i = 0; i < ARRAY_LEN(dc->placed); i++) {
		struct placed *pl = &dc->placed[i];

		if (pl->map == NULL || data != pl->map)
			continue;
		o->wb = pl->wb;
		memset(&pl->wb, 0, sizeof(pl->wb));
		pl->obj = (size_t)(o - dc->b->objs);
		return true;
	}
	return false;
}

/* The parser's hooks for large parts, over dc. */
static void
place_hooks(struct decompose *dc, struct mime_limits *lim)
{
	lim->big_part = dc->opts.threshold;
	lim->big_get = place_get;
	lim->big_put = place_put;
	lim->big_arg = dc;
}

/* The skeleton as the parser builds it: into its own wire buffer, which
 * moves to a file past large_message_threshold like any message. */
static void
keep_skeleton(const unsigned char *data, size_t len, void *arg)
{
	struct decompose *dc = arg;

	wirebuf_append(&dc->skeleton, data, len);
}

static int
keep_part(const struct mime_part *p, void *arg)
{
	struct decompose *dc = arg;
	struct batch_obj *o;
	bool same;

	if (dc->b->parts != NULL)	/* the engines' parts, parsed once */
		parts_record(p, dc->b->parts);
	if (!p->is_attachment)
		return 0;		/* text stays in the skeleton */
	same = p->encoded != NULL && p->encoded == dc->enc &&
	    p->encoded_len == dc->enc_len;
	if (p->known && (!same || !dc->aliased)) {
		dc->failed = EINVAL;	/* cannot be: scan it whole */
		return 1;
	}
	o = add_obj(dc->b);
	if (!p->known && !take_placed(dc, p->data, o)) {
		dc->opts.no_envelope = 1;	/* a part is a file, not mail */
		wirebuf_begin(&o->wb, NULL, p->len, &dc->opts);
		dc->opts.no_envelope = 0;
		wirebuf_append(&o->wb, p->data, p->len);
	}
	if (same && dc->aliased && p->exact && p->len == dc->key_len) {
		/* known by its encoding: the decoded key, and the verdicts
		 * asked for (all of them when not decoded) */
		o->known = p->known;
		o->keyed = 1;
		memcpy(o->key, dc->key, VCACHE_KEY_LEN);
		o->pre = dc->pre;
		dc->pre = NULL;
	} else if (same && dc->ekeyed && p->exact) {
		o->alias_pending = 1;
		memcpy(o->ekey, dc->ekey, VCACHE_KEY_LEN);
	}
	dc_forget(dc);
	sm_strlcpy(o->filename, p->filename, sizeof(o->filename));
	sm_strlcpy(o->content_type, p->content_type, sizeof(o->content_type));
	o->cuttable = p->cuttable;
	o->cut_start = p->header_start;
	o->cut_end = p->body_end;
	if (o->wb.error && !dc->failed)
		dc->failed = o->wb.error;	/* ENOSPC, ENOMEM, ... */
	return 0;
}

static bool
wants_decomposition(const struct sm_conf *c)
{
	for (size_t a = 0; a < c->navs; a++)
		if (c->avs[a]->mime_decompose)
			return true;
	return false;
}

static bool
wants_findings(const struct sm_conf *c)
{
	for (size_t a = 0; a < c->navs; a++)
		if (c->avs[a]->detect_bypass)
			return true;
	return false;
}

/* The strictest MIME limits of the instances that parse MIME. */
static void
mime_limits_of(const struct sm_conf *c, struct mime_limits *l)
{
	*l = (struct mime_limits){ .max_depth = MIME_DEFAULT_DEPTH,
	    .max_parts = MIME_DEFAULT_PARTS, .max_decoded = MIME_DEFAULT_DECODED,
	    .max_header = MIME_DEFAULT_HEADER };
	for (size_t a = 0, first = 1; a < c->navs; a++) {
		const struct sm_av *av = c->avs[a];

		if (!av->mime_decompose && !av->detect_bypass)
			continue;
		if (first || av->mime_max_depth < l->max_depth)
			l->max_depth = (int)av->mime_max_depth;
		if (first || av->mime_max_parts < l->max_parts)
			l->max_parts = (int)av->mime_max_parts;
		if (first || (size_t)av->mime_max_decoded < l->max_decoded)
			l->max_decoded = (size_t)av->mime_max_decoded;
		first = 0;
	}
}

/*
 * The safety rule of decomposition: wherever the parser found something
 * two MIME readers could read differently (any anomaly: ambiguous syntax,
 * conflicting headers, limits hit), the message is also scanned whole, as
 * the engines' own mail readers see it, so decomposition can only add
 * detections.
 */
static bool
needs_whole_scan(const struct mime_result *res)
{
	return res->anomalies != 0;
}

/*
 * Splits the message into skeleton and attachments.  On any trouble (a
 * part that cannot be stored, an ambiguity, limits hit) the message is
 * scanned whole as well, so nothing goes unscanned.
 */
static void
decompose(struct batch *b, const struct generation *g)
{
	const struct sm_conf *c = g->conf;
	const char *qid = message_str(b->msg.queue_id, "NOQUEUE");
	const struct wirebuf *wb = &b->in->wb;
	const struct sm_msgopts *m = &c->eff;
	struct decompose dc = { .b = b, .g = g, .opts = { .threshold = (size_t)
	    m->large_message_threshold, .in_memory = 1,
	    .spool = g->spool_dir } };
	struct mime_result res = { 0 };
	struct mime_limits lim;
	const unsigned char *msg;
	void *map = NULL;
	size_t first = b->nobjs;
	struct batch_obj *sk;

	if ((msg = wirebuf_map(wb, &map)) == NULL) {
		msg_warn("%s: mmap of the spilled message", qid);
		b->whole_too = 1;
		return;
	}
	mime_limits_of(c, &lim);
	lim.skeleton_fn = keep_skeleton;
	lim.skeleton_arg = &dc;
	place_hooks(&dc, &lim);
	lim.known_fn = known_part;
	lim.known_arg = &dc;
	/* the skeleton is the message less its attachments: usually a few
	 * KB, so reserve little (it grows like any message if need be) */
	wirebuf_begin(&dc.skeleton, b->msg.sender, wb->len <
	    BATCH_SKELETON_FIRST ? wb->len : BATCH_SKELETON_FIRST, &dc.opts);
	if (b->parts != NULL)
		parts_begin(b->parts, msg + wb->envelope_len,
		    wb->len - wb->envelope_len);
	mime_parse(msg + wb->envelope_len, wb->len - wb->envelope_len, &lim,
	    keep_part, &dc, &res);
	if (b->parts != NULL)
		parts_end(b->parts, !res.no_memory);
	dc_forget(&dc);
	wirebuf_unmap(wb, map);
	b->anomalies = res.anomalies;
	sm_strlcpy(b->anomaly, res.reason, sizeof(b->anomaly));
	if (needs_whole_scan(&res))
		b->whole_too = 1;
	sk = add_obj(b);
	sk->wb = dc.skeleton;		/* the object owns it now */
	mime_result_free(&res);
	if (dc.failed || sk->wb.error || res.no_memory) {
		msg_warnx("%s: cannot keep the decoded parts (%s): scanning "
		    "the message whole", qid, dc.failed ? strerror(dc.failed) :
		    res.no_memory ? "out of memory" : strerror(sk->wb.error));
		for (size_t i = first; i < b->nobjs; i++) {
			wirebuf_free(&b->objs[i].wb);
			free(b->objs[i].pre);
		}
		b->nobjs = first;
		b->anomalies = 0;
		b->whole_too = 1;
		return;
	}
	b->decomposed = 1;
}

/*
 * detect_bypass without mime_decompose: the parser runs for its findings
 * only (no skeleton; parts recorded only for the engines that read them);
 * the message is scanned whole.
 */
static void
find_anomalies(struct batch *b, const struct sm_conf *c, const char *spool)
{
	const struct wirebuf *wb = &b->in->wb;
	struct mime_result res = { 0 };
	struct mime_limits lim;
	const unsigned char *msg;
	void *map = NULL;
	struct decompose dc = { .b = b, .opts = { .threshold = (size_t)
	    c->eff.large_message_threshold, .in_memory = 1,
	    .spool = spool } };

	if ((msg = wirebuf_map(wb, &map)) == NULL) {
		msg_warn("%s: mmap of the spilled message",
		    message_str(b->msg.queue_id, "NOQUEUE"));
		return;
	}
	mime_limits_of(c, &lim);
	lim.no_skeleton = 1;
	place_hooks(&dc, &lim);	/* large parts decode outside the heap */
	if (b->parts != NULL)	/* the engines' parts, parsed once */
		parts_begin(b->parts, msg + wb->envelope_len,
		    wb->len - wb->envelope_len);
	mime_parse(msg + wb->envelope_len, wb->len - wb->envelope_len, &lim,
	    b->parts != NULL ? parts_record : NULL, b->parts, &res);
	if (b->parts != NULL)
		parts_end(b->parts, !res.no_memory);
	wirebuf_unmap(wb, map);
	b->anomalies = res.anomalies;
	sm_strlcpy(b->anomaly, res.reason, sizeof(b->anomaly));
	mime_result_free(&res);
}

/* The parts of the message, for the engines that read them (see parts.h),
 * recorded like the message and parsed with the instances' limits. */
static struct parts *
parts_for(const struct generation *g, const struct message_input *in)
{
	size_t n;
	const struct gen_engine *all = generation_engines(g, GENERATION_ALL,
	    &n);
	struct wirebuf_opts opts = { .threshold = (size_t)
	    g->conf->eff.large_message_threshold, .in_memory = 1,
	    .spool = g->spool_dir };
	struct mime_limits lim;

	for (size_t i = 0; i < n; i++)
		if (all[i].handle != NULL &&
		    (all[i].e->ops->flags & SM_ENGINE_PARTS)) {
			mime_limits_of(g->conf, &lim);
			return parts_new(&in->wb, &opts, &lim);
		}
	return NULL;
}

struct batch *
batch_new(const struct generation *g, struct message_input *in,
    const struct message *msg)
{
	struct batch *b = xcalloc(1, sizeof(*b));
	pthread_condattr_t ca;
	struct batch_obj *whole;

	b->t_new = now_ms();
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->refs = 1;
	message_copy(&b->msg, msg);
	b->in = in;
	message_input_ref(in);
	whole = add_obj(b);
	whole->whole = 1;
	b->parts = parts_for(g, in);
	if (wants_decomposition(g->conf))
		decompose(b, g);
	else if (wants_findings(g->conf))
		find_anomalies(b, g->conf, g->spool_dir);
	/* the array is final now: point the objects at their bytes */
	for (size_t i = 0; i < b->nobjs; i++) {
		struct batch_obj *o = &b->objs[i];

		if (o->whole) {
			wirebuf_object(&in->wb, &o->obj);
			parts_attach(b->parts, &o->obj);
		} else {
			wirebuf_object(&o->wb, &o->obj);
			o->obj.kind = o->wb.envelope_len ? SM_OBJ_MESSAGE :
			    SM_OBJ_PART;
			o->obj.filename = o->filename[0] ? o->filename : NULL;
			o->obj.content_type = o->content_type[0] ?
			    o->content_type : NULL;
		}
		o->obj.client_addr = message_str(b->msg.client_addr,
		    "unknown");
		o->obj.id = message_str(b->msg.queue_id, "");
		o->obj.helo = b->msg.helo;
		o->obj.sender = b->msg.sender;
	}
	b->t_parsed = now_ms();
	return b;
}

/* ---- running the tasks -------------------------------------------------- */

/* Which objects an engine scans: the message, or its decomposition. */
static bool
av_scans(const struct batch *b, const struct sm_av *av,
    const struct gen_engine *e, const struct batch_obj *o)
{
	if (!av->mime_decompose || !b->decomposed ||
	    (e->e->ops->flags & SM_ENGINE_WHOLE_MESSAGE))
		return o->whole;
	return o->whole ? b->whole_too : true;
}

static void
make_tasks(struct batch *b, const struct generation *g, double start,
    uint64_t skip)
{
	size_t n;
	const struct gen_engine *all = generation_engines(g, GENERATION_ALL,
	    &n);

	b->engines = all;
	b->tasks = xcalloc(n > 0 ? n * b->nobjs : 1, sizeof(*b->tasks));
	for (size_t i = 0; i < n; i++) {
		const struct gen_engine *e = &all[i];
		const struct sm_av *av = e->av;

		if (e->handle == NULL ||
		    (e->av_index < 64 && (skip >> e->av_index & 1)))
			continue;
		for (size_t k = 0; k < b->nobjs; k++) {
			struct task *t;

			if (!av_scans(b, av, e, &b->objs[k]))
				continue;
			t = &b->tasks[b->ntasks++];
			t->b = b;
			t->av = av;
			t->e = e;
			t->obj = k;
			t->deadline = start + (double)av->timeout;
			t->job.run = task_run;
			t->job.drop = task_drop;
			t->job.size = b->objs[k].obj.len;
			t->job.limit = e->limit;
		}
	}
}

/* Hashes every object a cached engine will see, before any task runs
 * (workers read the keys), and records how the parts decoded flawlessly
 * were encoded (the first level), in each engine's cache. */
static void
key_objects(struct batch *b)
{
	for (size_t i = 0; i < b->ntasks; i++) {
		struct batch_obj *o = &b->objs[b->tasks[i].obj];
		struct vcache *cache = b->tasks[i].e->cache;

		if (cache == NULL)
			continue;
		if (o->keyed == 0)
			o->keyed = vcache_key(&o->obj, o->key) == 0 ? 1 : -1;
		if (o->alias_pending && o->keyed == 1)
			vcache_put_alias(cache, o->ekey, o->key, o->obj.len);
	}
}

/* A cached verdict answers the task at once, without the pool. */
static bool
from_cache(struct batch *b, struct task *t)
{
	struct batch_obj *o = &b->objs[t->obj];

	if (t->e->cache == NULL)
		return false;
	if (o->pre != NULL && o->pre[t->e - b->engines].state != 0) {
		/* asked already, at the first level */
		if (o->pre[t->e - b->engines].state < 0)
			return false;
		t->res = o->pre[t->e - b->engines].res;
	} else if (o->keyed != 1 || !vcache_get(t->e->cache, o->key,
	    &t->res))
		return false;
	t->cached = 1;
	return true;
}

/* A part known at the first level has no bytes to scan; every engine that
 * scans parts answered for it, so this is never reached, but an engine
 * without an answer must not call it clean. */
static void
not_decoded(struct task *t)
{
	memset(&t->res, 0, sizeof(t->res));
	t->res.verdict = SM_ERROR;
	snprintf(t->res.name, sizeof(t->res.name), "part not decoded");
}

/* Queues every task.  The message's first job may find the queue full
 * (busy: the whole message is refused at once); once one is queued, the
 * rest of its jobs (parts) always are: the queue's bound is in messages,
 * and a message is never refused half way. */
static void
submit(struct batch *b)
{
	bool refused = false, admitted = false;

	lockstat_lock(&b->mu, LOCKSTAT_BATCH);
	for (size_t i = 0; i < b->ntasks; i++) {
		struct task *t = &b->tasks[i];

		if (refused || t->e->pool == NULL) {
			task_end(t, TASK_REFUSED, now_ms());
			continue;
		}
		pthread_mutex_unlock(&b->mu);
		if (from_cache(b, t)) {
			lockstat_lock(&b->mu, LOCKSTAT_BATCH);
			task_end(t, TASK_DONE, now_ms());
			continue;
		}
		if (b->objs[t->obj].known) {
			not_decoded(t);
			lockstat_lock(&b->mu, LOCKSTAT_BATCH);
			task_end(t, TASK_DONE, now_ms());
			continue;
		}
		lockstat_lock(&b->mu, LOCKSTAT_BATCH);
		t->state = TASK_QUEUED;
		b->open++;
		b->refs++;
		pthread_mutex_unlock(&b->mu);
		t->job.extra = admitted;
		if (pool_submit(t->e->pool, &t->job) < 0) {
			lockstat_lock(&b->mu, LOCKSTAT_BATCH);
			b->refs--;
			b->open--;
			task_end(t, TASK_REFUSED, now_ms());
			refused = true;
			continue;
		}
		admitted = true;
		lockstat_lock(&b->mu, LOCKSTAT_BATCH);
	}
	if (refused) {		/* the queued ones are not worth running */
		for (size_t i = 0; i < b->ntasks; i++)
			if (b->tasks[i].state == TASK_QUEUED) {
				task_end(&b->tasks[i], TASK_REFUSED, now_ms());
				b->open--;
			}
	}
	pthread_mutex_unlock(&b->mu);
}

static void
ms_to_timespec(double ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)((ms - (double)ts->tv_sec * 1000) * 1e6);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits for every task, giving up on each at its deadline. */
static void
wait_all(struct batch *b, const struct batch_progress *progress)
{
	double tick = now_ms() + 1000;

	lockstat_lock(&b->mu, LOCKSTAT_BATCH);
	while (b->open > 0) {
		double now = now_ms(), next = tick;
		struct timespec ts;

		for (size_t i = 0; i < b->ntasks; i++) {
			struct task *t = &b->tasks[i];

			if (t->state != TASK_QUEUED && t->state != TASK_RUNNING)
				continue;
			if (t->deadline <= now) {
				task_end(t, TASK_LATE, now);
				b->open--;
			} else if (t->deadline < next) {
				next = t->deadline;
			}
		}
		if (b->open == 0)
			break;
		if (now >= tick) {
			tick = now + 1000;
			if (progress != NULL && progress->fn != NULL) {
				pthread_mutex_unlock(&b->mu);
				progress->fn(progress->arg);
				lockstat_lock(&b->mu, LOCKSTAT_BATCH);
			}
			continue;
		}
		ms_to_timespec(next, &ts);
		pthread_cond_timedwait(&b->cv, &b->mu, &ts);
	}
	pthread_mutex_unlock(&b->mu);
}

void
batch_run(struct batch *b, const struct generation *g,
    const struct batch_progress *progress, double start, uint64_t skip)
{
	make_tasks(b, g, start, skip);
	key_objects(b);
	b->t_keyed = now_ms();
	submit(b);
	b->t_submitted = now_ms();
	wait_all(b, progress);
	b->t_waited = now_ms();
}

void
batch_timeline(struct batch *b, struct batch_timeline *tl)
{
	double first = 0, last = 0;

	memset(tl, 0, sizeof(*tl));
	tl->parse = b->t_parsed - b->t_new;
	tl->key = b->t_keyed - b->t_parsed;
	tl->submit = b->t_submitted - b->t_keyed;
	lockstat_lock(&b->mu, LOCKSTAT_BATCH);
	for (size_t i = 0; i < b->ntasks; i++) {
		const struct task *t = &b->tasks[i];

		if (t->began <= 0)	/* no worker took it */
			continue;
		tl->pooled++;
		if (first == 0 || t->began < first)
			first = t->began;
		if (t->end > last)
			last = t->end;
	}
	pthread_mutex_unlock(&b->mu);
	if (tl->pooled == 0)
		return;
	/* a task may start before the last one is handed out: the stages
	 * do not overlap, so they add up to no more than the whole */
	if (first < b->t_submitted)
		first = b->t_submitted;
	if (last < first)
		last = first;
	tl->queue = first - b->t_submitted;
	tl->scan = last > first ? last - first : 0;
	tl->handback = b->t_waited > last ? b->t_waited - last : 0;
}

/* What a task stands for, timeouts and refusals included (under b->mu). */
static enum sm_failure
task_result(const struct task *t, struct sm_result *res)
{
	switch (t->state) {
	case TASK_DONE:
		*res = t->res;
		return res->verdict == SM_ERROR ? FAIL_ERROR : FAIL_NONE;
	case TASK_REFUSED:
		res->verdict = SM_ERROR;
		snprintf(res->name, sizeof(res->name), "scanner busy");
		return FAIL_BUSY;
	default:
		res->verdict = SM_ERROR;
		snprintf(res->name, sizeof(res->name), "scan timed out after "
		    "%.1fs", (double)t->av->timeout / 1000);
		return FAIL_TIMEOUT;
	}
}

bool
batch_result(struct batch *b, size_t i, struct batch_result *r)
{
	const struct task *t;
	const struct batch_obj *o;

	if (i >= b->ntasks)
		return false;
	t = &b->tasks[i];
	o = &b->objs[t->obj];
	memset(r, 0, sizeof(*r));
	r->av = t->av;
	r->e = t->e->e;
	r->part = o->obj.kind == SM_OBJ_PART;
	r->cuttable = o->cuttable;
	r->where = (struct decision_part){ o->cut_start, o->cut_end,
	    o->filename };
	lockstat_lock(&b->mu, LOCKSTAT_BATCH);
	r->why = task_result(t, &r->res);
	r->done = t->state == TASK_DONE;
	r->cached = t->cached;
	r->end_ms = t->end;
	/* from a worker's start to the answer, or to giving up a late
	 * scan; a task no worker took (cached, refused, still queued when
	 * given up) cost no engine time */
	r->ms = t->began > 0 && t->end > 0 ? t->end - t->began : 0;
	pthread_mutex_unlock(&b->mu);
	return true;
}

unsigned
batch_anomalies(const struct batch *b)
{
	return b->anomalies;
}
