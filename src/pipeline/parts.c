/*
 * The parts provider behind sm_object.parts: one parse of a message's MIME
 * structure per message, recorded (or reused from the decomposition) and
 * handed to every engine that asks.  See parts.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "parts.h"
#include "util.h"

enum parts_state {
	PARTS_NONE,		/* not parsed yet (or the record was dropped) */
	PARTS_READY,		/* recs and the mapped store hold them */
	PARTS_STREAM,		/* the store failed: parse for each request */
};

/* One leaf part in the record: its bytes are in the store. */
struct parts_rec {
	int	 depth;
	int	 is_attachment;
	int	 embedded;
	char	 content_type[128];
	char	 filename[256];
	int	 has_header;
	size_t	 hdr_off, hdr_len;
	size_t	 data_off, data_len;
};

struct parts {
	pthread_mutex_t mu;		/* guards state, parses and the record
					 * while it is built; once READY the
					 * record is read without it */
	enum parts_state state;
	unsigned parses;
	/* the message */
	const struct wirebuf *msg;	/* or buf, len */
	const unsigned char *buf;
	size_t	 len;
	struct mime_limits lim;
	/* the record */
	struct wirebuf_opts opts;
	struct wirebuf store;
	struct parts_rec *recs;
	size_t	 nrecs;
	const unsigned char *base;	/* the store, readable (READY) */
	void	*map;
	/* while recording: the bytes parsed */
	const unsigned char *rec_msg;
	size_t	 rec_len;
};

static struct parts *
parts_alloc(const struct mime_limits *lim)
{
	struct parts *ps = xcalloc(1, sizeof(*ps));

	pthread_mutex_init(&ps->mu, NULL);
	if (lim != NULL)
		ps->lim = *lim;
	ps->lim.no_skeleton = 1;	/* parts only */
	ps->lim.skeleton_fn = NULL;
	ps->lim.skeleton_arg = NULL;
	ps->opts.in_memory = 1;
	return ps;
}

struct parts *
parts_new(const struct wirebuf *msg, const struct wirebuf_opts *store,
    const struct mime_limits *lim)
{
	struct parts *ps = parts_alloc(lim);

	ps->msg = msg;
	if (store != NULL)
		ps->opts = *store;
	ps->opts.no_envelope = 1;
	ps->opts.limit = 0;
	return ps;
}

struct parts *
parts_new_buffer(const unsigned char *msg, size_t len)
{
	struct parts *ps = parts_alloc(NULL);

	ps->buf = msg;
	ps->len = len;
	ps->opts.no_envelope = 1;
	return ps;
}

/* Drops the record (not the state). */
static void
record_clear(struct parts *ps)
{
	if (ps->map != NULL)
		wirebuf_unmap(&ps->store, ps->map);
	ps->map = NULL;
	ps->base = NULL;
	wirebuf_free(&ps->store);
	free(ps->recs);
	ps->recs = NULL;
	ps->nrecs = 0;
}

void
parts_free(struct parts *ps)
{
	if (ps == NULL)
		return;
	record_clear(ps);
	pthread_mutex_destroy(&ps->mu);
	free(ps);
}

/* The header block starting at h (up to its empty line, at most max
 * bytes): its length with the last field's line end. */
static size_t
header_block(const unsigned char *h, size_t len, size_t max)
{
	size_t i = 0;

	if (len > max)
		len = max;
	while (i < len && h[i] != '\n' &&
	    !(h[i] == '\r' && i + 1 < len && h[i + 1] == '\n')) {
		const unsigned char *nl = memchr(h + i, '\n', len - i);

		i = nl != NULL ? (size_t)(nl - h) + 1 : len;
	}
	return i;
}

/*
 * A parser's part as an engine sees it; msg (len bytes) is what was
 * parsed.  The header is the part's own block for a leaf of a multipart,
 * the message's for the top-level body, none for the rest.
 */
static void
part_view(const struct mime_part *mp, const unsigned char *msg, size_t len,
    size_t max_header, struct sm_part *out)
{
	static const unsigned char empty[1];

	memset(out, 0, sizeof(*out));
	out->depth = mp->depth;
	out->is_attachment = mp->is_attachment;
	out->embedded = mp->uuencoded;
	out->content_type = mp->content_type;
	out->filename = mp->filename[0] ? mp->filename : NULL;
	out->data = mp->data != NULL ? mp->data : empty;
	out->len = mp->len;
	if (mp->cuttable && mp->header_start < len) {
		out->header = msg + mp->header_start;
		out->header_len = header_block(out->header,
		    len - mp->header_start, max_header);
	} else if (mp->depth == 0 && !mp->uuencoded) {
		out->header = msg;
		out->header_len = header_block(msg, len, max_header);
	}
}

static size_t
max_header(const struct parts *ps)
{
	return ps->lim.max_header ? ps->lim.max_header : MIME_DEFAULT_HEADER;
}

void
parts_begin(struct parts *ps, const unsigned char *msg, size_t len)
{
	pthread_mutex_lock(&ps->mu);
	record_clear(ps);
	wirebuf_begin(&ps->store, NULL, len, &ps->opts);
	ps->rec_msg = msg;
	ps->rec_len = len;
	pthread_mutex_unlock(&ps->mu);
}

int
parts_record(const struct mime_part *mp, void *arg)
{
	struct parts *ps = arg;
	struct parts_rec *r;
	struct sm_part v;

	if (mp->data == NULL && mp->len > 0) {
		/* a part the parser did not decode (known to the cache):
		 * no faithful record, so none; a request then parses */
		ps->store.error = EINVAL;
		return 0;
	}
	part_view(mp, ps->rec_msg, ps->rec_len, max_header(ps), &v);
	ps->recs = xrealloc(ps->recs, (ps->nrecs + 1) * sizeof(*ps->recs));
	r = &ps->recs[ps->nrecs++];
	memset(r, 0, sizeof(*r));
	r->depth = v.depth;
	r->is_attachment = v.is_attachment;
	r->embedded = v.embedded;
	sm_strlcpy(r->content_type, mp->content_type,
	    sizeof(r->content_type));
	sm_strlcpy(r->filename, mp->filename, sizeof(r->filename));
	if (v.header != NULL) {
		r->has_header = 1;
		r->hdr_off = ps->store.len;
		r->hdr_len = v.header_len;
		wirebuf_append(&ps->store, v.header, v.header_len);
	}
	r->data_off = ps->store.len;
	r->data_len = v.len;
	wirebuf_append(&ps->store, v.data, v.len);
	return 0;
}

/* Under mu: the record is complete; makes it readable, or drops it. */
static void
record_done(struct parts *ps, int complete)
{
	ps->rec_msg = NULL;
	ps->rec_len = 0;
	if (complete && !ps->store.error && ps->store.len > 0)
		ps->base = wirebuf_map(&ps->store, &ps->map);
	if (!complete || ps->store.error ||
	    (ps->store.len > 0 && ps->base == NULL)) {
		record_clear(ps);
		ps->state = PARTS_NONE;
		return;
	}
	ps->state = PARTS_READY;
}

void
parts_end(struct parts *ps, int complete)
{
	pthread_mutex_lock(&ps->mu);
	ps->parses++;
	record_done(ps, complete);
	pthread_mutex_unlock(&ps->mu);
}

/* The message's bytes without its envelope line, or NULL (errno). */
static const unsigned char *
message_map(const struct parts *ps, size_t *len, void **map)
{
	const unsigned char *p;

	*map = NULL;
	if (ps->msg == NULL) {
		*len = ps->len;
		return ps->buf != NULL ? ps->buf : (const unsigned char *)"";
	}
	if (ps->msg->len == 0) {
		*len = 0;
		return (const unsigned char *)"";
	}
	if ((p = wirebuf_map(ps->msg, map)) == NULL)
		return NULL;
	*len = ps->msg->len - ps->msg->envelope_len;
	return p + ps->msg->envelope_len;
}

/* Under mu: the first request parses into the record. */
static void
record_parse(struct parts *ps)
{
	const unsigned char *msg;
	struct mime_result res;
	void *map;
	size_t len;

	if ((msg = message_map(ps, &len, &map)) == NULL) {
		ps->state = PARTS_STREAM;	/* it will fail there too */
		return;
	}
	record_clear(ps);
	wirebuf_begin(&ps->store, NULL, len, &ps->opts);
	ps->rec_msg = msg;
	ps->rec_len = len;
	memset(&res, 0, sizeof(res));
	mime_parse(msg, len, &ps->lim, parts_record, ps, &res);
	ps->parses++;
	record_done(ps, !res.no_memory);
	mime_result_free(&res);
	if (ps->msg != NULL)
		wirebuf_unmap(ps->msg, map);
	if (ps->state != PARTS_READY)
		ps->state = PARTS_STREAM;
}

struct stream {
	sm_part_fn fn;
	void	*arg;
	const unsigned char *msg;
	size_t	 len;
	size_t	 max_header;
};

static int
stream_part(const struct mime_part *mp, void *arg)
{
	struct stream *st = arg;
	struct sm_part v;

	part_view(mp, st->msg, st->len, st->max_header, &v);
	return st->fn(&v, st->arg);
}

/* The parts straight from a parse of their own (the record failed). */
static int
provide_stream(struct parts *ps, sm_part_fn fn, void *arg)
{
	struct stream st = { fn, arg, NULL, 0, max_header(ps) };
	struct mime_result res;
	void *map;
	int rc;

	if ((st.msg = message_map(ps, &st.len, &map)) == NULL)
		return -1;
	memset(&res, 0, sizeof(res));
	rc = mime_parse(st.msg, st.len, &ps->lim, stream_part, &st, &res);
	mime_result_free(&res);
	if (ps->msg != NULL)
		wirebuf_unmap(ps->msg, map);
	pthread_mutex_lock(&ps->mu);
	ps->parses++;
	pthread_mutex_unlock(&ps->mu);
	return rc;
}

int
parts_provide(const struct sm_object *obj, sm_part_fn fn, void *arg)
{
	static const unsigned char empty[1];
	struct parts *ps = obj->parts_ctx;
	enum parts_state state;

	if (ps == NULL) {
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&ps->mu);
	if (ps->state == PARTS_NONE)
		record_parse(ps);
	state = ps->state;
	pthread_mutex_unlock(&ps->mu);
	if (state != PARTS_READY)
		return provide_stream(ps, fn, arg);
	/* READY is final: the record is read without the lock */
	for (size_t i = 0; i < ps->nrecs; i++) {
		const struct parts_rec *r = &ps->recs[i];
		const unsigned char *base = ps->base != NULL ? ps->base :
		    empty;
		struct sm_part v = {
			.depth = r->depth,
			.is_attachment = r->is_attachment,
			.embedded = r->embedded,
			.content_type = r->content_type,
			.filename = r->filename[0] ? r->filename : NULL,
			.header = r->has_header ? base + r->hdr_off : NULL,
			.header_len = r->hdr_len,
			.data = base + r->data_off,
			.len = r->data_len,
		};
		int rc;

		if ((rc = fn(&v, arg)) != 0)
			return rc;
	}
	return 0;
}

void
parts_attach(struct parts *ps, struct sm_object *obj)
{
	obj->parts = ps != NULL ? parts_provide : NULL;
	obj->parts_ctx = ps;
}

unsigned
parts_parses(struct parts *ps)
{
	unsigned n;

	pthread_mutex_lock(&ps->mu);
	n = ps->parses;
	pthread_mutex_unlock(&ps->mu);
	return n;
}
