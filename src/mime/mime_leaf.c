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
 * NULL when there is no memory for it (the parse stops).  Large ones come
 * from the recycler (pages already touched); mime_parse gives them back. */
static unsigned char *
buffer(struct parser *p, unsigned char **buf, size_t *cap, size_t n)
{
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
	size_t at = 0, body, namelen, used, cap;
	unsigned st;

	while (!p->stop &&
	    mime_embed_find(d, n, at, &kind, &name, &namelen, &body) < n) {
		if (!part_allowed(p))
			return;
		memset(&part, 0, sizeof(part));
		cap = n - body < room(p) ? n - body : room(p);
		st = 0;
		if (buffer(p, &p->uu, &p->uucap, cap ? cap : 1) == NULL)
			return;
		if (kind == MIME_EMBED_UU)
			part.len = mime_uu_decode(d + body, n - body, p->uu,
			    cap, &used, &st);
		else if (kind == MIME_EMBED_YENC)
			part.len = mime_yenc_decode(d + body, n - body, p->uu,
			    cap, &used, &st);
		else
			part.len = mime_binhex_decode(d + body, n - body,
			    p->uu, cap, &used, &st, part.filename,
			    sizeof(part.filename));
		part.data = p->uu;
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
		at = body + used;
	}
}

void
mime_emit(struct parser *p, const struct entity *en, size_t hs, size_t bs,
    size_t be)
{
	struct mime_part part;
	const unsigned char *src = p->msg + bs, *name;
	size_t n = be - bs, cap, body, namelen, used;
	unsigned st = 0;
	const char *why = NULL;

	if (!part_allowed(p))
		return;
	memset(&part, 0, sizeof(part));
	switch (mime_cte_kind(en->encoding)) {
	case MIME_CTE_BASE64:
		cap = n / 4 * 3 + 3 < room(p) ? n / 4 * 3 + 3 : room(p);
		if ((part.data = buffer(p, &p->dec, &p->deccap, cap)) == NULL)
			return;
		part.len = mime_base64(src, n, p->dec, cap, &st, &why);
		break;
	case MIME_CTE_QP:
		cap = n < room(p) ? n : room(p);
		if ((part.data = buffer(p, &p->dec, &p->deccap, cap)) == NULL)
			return;
		part.len = mime_qp(src, n, p->dec, cap, &st, &why);
		break;
	case MIME_CTE_UU:
		if (mime_uu_find(src, n, 0, &name, &namelen, &body) < n) {
			cap = n < room(p) ? n : room(p);
			if ((part.data = buffer(p, &p->dec, &p->deccap,
			    cap)) == NULL)
				return;
			part.len = mime_uu_decode(src + body, n - body, p->dec,
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
			return;
	}
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
}
