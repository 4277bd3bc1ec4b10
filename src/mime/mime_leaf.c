/*
 * Leaves of the MIME parser: decoding a leaf part, the uuencode blocks in
 * text parts, counting both against the limits, handing them to the
 * caller, and the skeleton they are cut from.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "mime_int.h"
#include "recycle.h"
#include "util.h"

enum mime_cte
mime_cte_kind(const char *enc)
{
	if (strcmp(enc, "7bit") == 0 || strcmp(enc, "8bit") == 0 ||
	    strcmp(enc, "binary") == 0)
		return MIME_CTE_IDENTITY;
	if (strcmp(enc, "base64") == 0)
		return MIME_CTE_BASE64;
	if (strcmp(enc, "quoted-printable") == 0)
		return MIME_CTE_QP;
	if (strcmp(enc, "x-uuencode") == 0 || strcmp(enc, "uuencode") == 0 ||
	    strcmp(enc, "x-uue") == 0)
		return MIME_CTE_UU;
	return MIME_CTE_UNKNOWN;
}

/* ---- the skeleton ------------------------------------------------------- */

void
mime_skel_add(struct parser *p, size_t from, size_t to)
{
	struct mime_result *res = p->res;
	size_t need = res->skeleton_len + (to - from), cap;

	if (p->lim.no_skeleton)
		return;
	if (p->lim.skeleton_fn != NULL) {
		if (to > from)
			p->lim.skeleton_fn(p->msg + from, to - from,
			    p->lim.skeleton_arg);
		res->skeleton_len = need;
		return;
	}
	if (need > p->skelcap || res->skeleton == NULL) {
		unsigned char *grown;

		cap = p->skelcap * 2 > need ? p->skelcap * 2 : need;
		if (cap < 4096)
			cap = 4096;
		if (cap > p->len && p->len >= need)
			cap = p->len ? p->len : 1;
		if ((grown = realloc(res->skeleton, cap)) == NULL) {
			mime_out_of_memory(p);
			return;
		}
		res->skeleton = grown;
		p->skelcap = cap;
	}
	memcpy(res->skeleton + res->skeleton_len, p->msg + from, to - from);
	res->skeleton_len = need;
}

/* Leaves input [from, to) out of the skeleton. */
static void
skel_cut(struct parser *p, size_t from, size_t to)
{
	mime_skel_add(p, p->skel_from, from);
	p->skel_from = to;
}

/*
 * No memory for the parse of this message: it is a limit like the others
 * (the message is scanned whole, as the engines read it), never the end of
 * the daemon.  What was kept of the skeleton is incomplete: it is dropped.
 */
void
mime_out_of_memory(struct parser *p)
{
	mime_flag(p->res, MIME_LIMIT, "out of memory");
	p->stop = 1;
	p->lim.no_skeleton = 1;
	free(p->res->skeleton);
	p->res->skeleton = NULL;
	p->res->skeleton_len = 0;
	p->res->no_memory = 1;
	p->skelcap = 0;
}

/* A decoding buffer of at least n bytes (its old contents are lost), or
 * NULL when there is no memory for it (the parse stops).  Past big_part
 * it is the caller's (*big set: give it back with give_back()), else the
 * heap buffer *buf, reused; large ones come from the recycler (pages
 * already touched) and mime_parse gives them back. */
static unsigned char *
buffer(struct parser *p, unsigned char **buf, size_t *cap, size_t n,
    unsigned char **big)
{
	*big = NULL;
	if (p->lim.big_get != NULL && n > p->lim.big_part) {
		if ((*big = p->lim.big_get(n, p->lim.big_arg)) == NULL)
			mime_out_of_memory(p);
		return *big;
	}
	if (*buf == NULL || *cap < n) {
		recycle_free(*buf, *cap);
		*cap = 0;
		if ((*buf = recycle_alloc(n, cap)) == NULL) {
			mime_out_of_memory(p);
			return NULL;
		}
	}
	return *buf;
}

/* Gives a buffer from big_get back, with the len bytes written to it. */
static void
give_back(struct parser *p, unsigned char *big, size_t cap, size_t len)
{
	if (big != NULL)
		p->lim.big_put(big, cap, len, p->lim.big_arg);
}

/* Room left under max_decoded. */
static size_t
room(const struct parser *p)
{
	return p->lim.max_decoded - p->res->decoded;
}

/* Hands one leaf to the callback and counts it. */
static void
report(struct parser *p, const struct mime_part *part)
{
	int rc = p->fn ? p->fn(part, p->arg) : 0;

	p->res->parts++;
	p->res->decoded += part->len;
	if (rc != 0) {
		p->ret = rc;
		p->stop = 1;
	}
}

/* Is there room for another part?  Stops the parse if not. */
static int
part_allowed(struct parser *p)
{
	if (p->res->parts < p->lim.max_parts)
		return 1;
	mime_flag(p->res, MIME_LIMIT, "too many MIME parts");
	p->stop = 1;
	return 0;
}

/* Decodes the block of kind starting at src into out (cap bytes); the
 * name a BinHex block carries goes to part. */
static size_t
embed_decode(enum mime_embed kind, const unsigned char *src, size_t n,
    unsigned char *out, size_t cap, size_t *used, unsigned *st,
    struct mime_part *part)
{
	if (kind == MIME_EMBED_UU)
		return mime_uu_decode(src, n, out, cap, used, st);
	if (kind == MIME_EMBED_YENC)
		return mime_yenc_decode(src, n, out, cap, used, st);
	return mime_binhex_decode(src, n, out, cap, used, st,
	    part->filename, sizeof(part->filename));
}

/* Reports the uuencode, yEnc and BinHex blocks in the decoded text d of
 * part en, as attachments. */
static void
uu_scan(struct parser *p, const struct entity *en, const unsigned char *d,
    size_t n)
{
	static const char *encodings[] = { "x-uuencode", "x-yenc",
	    "x-binhex" };
	struct mime_part part;
	const unsigned char *name;
	enum mime_embed kind;
	size_t at = 0, body, namelen, used, cap, first;
	unsigned char *out, *big;
	unsigned st;

	while (!p->stop &&
	    mime_embed_find(d, n, at, &kind, &name, &namelen, &body) < n) {
		if (!part_allowed(p))
			return;
		memset(&part, 0, sizeof(part));
		cap = n - body < room(p) ? n - body : room(p);
		/* the rest of the text bounds a block, loosely: the heap
		 * first (most blocks are small, and a text of many must not
		 * reserve a large buffer for each), a large one only for a
		 * block that does not fit there */
		first = p->lim.big_get != NULL && cap > p->lim.big_part ?
		    p->lim.big_part : cap;
		st = 0;
		if ((out = buffer(p, &p->uu, &p->uucap, first ? first : 1,
		    &big)) == NULL)
			return;
		part.len = embed_decode(kind, d + body, n - body, out, first,
		    &used, &st, &part);
		if ((st & MIME_DEC_TRUNC) && first < cap) {
			st = 0;
			if ((out = buffer(p, &p->uu, &p->uucap, cap,
			    &big)) == NULL)
				return;
			part.len = embed_decode(kind, d + body, n - body, out,
			    cap, &used, &st, &part);
		}
		part.data = out;
		part.depth = en->depth;
		sm_strlcpy(part.content_type, "application/octet-stream",
		    sizeof(part.content_type));
		sm_strlcpy(part.encoding, encodings[kind],
		    sizeof(part.encoding));
		if (namelen >= sizeof(part.filename))
			namelen = sizeof(part.filename) - 1;
		if (kind != MIME_EMBED_BINHEX)
			memcpy(part.filename, name, namelen);
		part.is_attachment = 1;
		part.uuencoded = 1;
		if (st & MIME_DEC_TRUNC) {
			mime_flag(p->res, MIME_LIMIT,
			    "decoded size limit reached");
			p->stop = 1;
		}
		report(p, &part);
		give_back(p, big, cap, part.len);
		at = body + used;
	}
}

/*
 * Asks known_fn about an attachment before decoding it.  Only parts whose
 * decoding is all that happens to them qualify: base64 or quoted-printable
 * (the decoders are pure functions of the encoded bytes), not text (text is
 * searched for uuencode blocks, which needs the decoded bytes), not a
 * container, nothing suspect (those stay in the skeleton).  The encoded
 * span is set for every such part, known or not; a known one counts its
 * decoded length against max_decoded like a decoded one, and one that would
 * not fit is decoded (and cut short) as usual.
 */
static int
known(struct parser *p, const struct entity *en, struct mime_part *part,
    const unsigned char *src, size_t n)
{
	enum mime_cte kind = mime_cte_kind(en->encoding);
	size_t len = 0;

	if ((kind != MIME_CTE_BASE64 && kind != MIME_CTE_QP) ||
	    !part->is_attachment || en->suspect ||
	    strncmp(en->type, "text/", 5) == 0 ||
	    strncmp(en->type, "multipart/", 10) == 0 ||
	    strncmp(en->type, "message/", 8) == 0)
		return 0;
	part->encoded = src;
	part->encoded_len = n;
	if (p->lim.known_fn == NULL ||
	    !p->lim.known_fn(part, &len, p->lim.known_arg) || len > room(p))
		return 0;
	part->known = 1;
	part->exact = 1;
	part->len = len;
	return 1;
}

void
mime_emit(struct parser *p, const struct entity *en, size_t hs, size_t bs,
    size_t be)
{
	struct mime_part part;
	const unsigned char *src = p->msg + bs, *name;
	size_t n = be - bs, cap = 0, body, namelen, used;
	unsigned char *out, *big = NULL;
	unsigned st = 0;
	const char *why = NULL;

	if (!part_allowed(p))
		return;
	memset(&part, 0, sizeof(part));
	part.depth = en->depth;
	sm_strlcpy(part.content_type, en->type, sizeof(part.content_type));
	sm_strlcpy(part.filename, en->filename, sizeof(part.filename));
	sm_strlcpy(part.encoding, en->encoding, sizeof(part.encoding));
	part.is_attachment = en->filename[0] != '\0' || en->cd.attachment ||
	    strncmp(en->type, "text/", 5) != 0;
	if (hs != (size_t)-1 && hs < bs) {	/* a part of a multipart */
		part.cuttable = 1;
		part.header_start = hs;
		part.body_end = be;
	}
	if (known(p, en, &part, src, n)) {
		report(p, &part);
		skel_cut(p, bs, be);
		return;
	}
	switch (mime_cte_kind(en->encoding)) {
	case MIME_CTE_BASE64:
		cap = n / 4 * 3 + 3 < room(p) ? n / 4 * 3 + 3 : room(p);
		if ((out = buffer(p, &p->dec, &p->deccap, cap, &big)) == NULL)
			return;
		part.data = out;
		part.len = mime_base64(src, n, out, cap, &st, &why);
		break;
	case MIME_CTE_QP:
		cap = n < room(p) ? n : room(p);
		if ((out = buffer(p, &p->dec, &p->deccap, cap, &big)) == NULL)
			return;
		part.data = out;
		part.len = mime_qp(src, n, out, cap, &st, &why);
		break;
	case MIME_CTE_UU:
		if (mime_uu_find(src, n, 0, &name, &namelen, &body) < n) {
			cap = n < room(p) ? n : room(p);
			if ((out = buffer(p, &p->dec, &p->deccap, cap,
			    &big)) == NULL)
				return;
			part.data = out;
			part.len = mime_uu_decode(src + body, n - body, out,
			    cap, &used, &st);
			break;
		}
		mime_flag(p->res, MIME_BAD_ENCODING,
		    "uuencoded part without a begin line");
		/* FALLTHROUGH */
	default:
		part.data = src;
		part.len = n;
		if (n > room(p)) {
			part.len = room(p);
			st |= MIME_DEC_TRUNC;
		}
		break;
	}
	if (st & MIME_DEC_BAD)
		mime_flag(p->res, MIME_BAD_ENCODING, why);
	if (st & MIME_DEC_TRUNC) {
		mime_flag(p->res, MIME_LIMIT, "decoded size limit reached");
		p->stop = 1;
		if (part.len == 0)
			goto out;
	}
	part.exact = part.encoded != NULL && st == 0;
	report(p, &part);
	/* a container not entered (bad boundary, too deep) or a part other
	 * readers decode differently stays for the engines' own mail parser
	 * to see in context */
	if (part.is_attachment && !(st & MIME_DEC_TRUNC) && !en->suspect &&
	    strncmp(en->type, "multipart/", 10) != 0 &&
	    strncmp(en->type, "message/", 8) != 0)
		skel_cut(p, bs, be);
	if (!p->stop && strncmp(en->type, "text/", 5) == 0)
		uu_scan(p, en, part.data, part.len);
out:
	give_back(p, big, cap, part.len);
}
