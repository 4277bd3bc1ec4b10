/*
 * MIME structure: one pass over the message, entity after entity (a header
 * block, then a body), with an explicit stack of the multiparts still open.
 * Leaves are decoded and handed to the caller; the skeleton is the input
 * copied with the reported attachment bodies left out.  Only lines starting
 * with "--" are compared with the boundaries in scope.
 *
 * Where readers disagree the majority reading is taken and the anomaly
 * flagged: the first Content-Type / -Transfer-Encoding / -Disposition wins,
 * the first of two conflicting parameters wins, a transfer encoding on a
 * multipart is ignored, a boundary line must match exactly (optional "--"
 * and blanks after it), a boundary of an enclosing multipart closes the
 * inner ones, a header line without a colon starts the body.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "mime_int.h"
#include "recycle.h"
#include "util.h"

struct frame {			/* an open multipart */
	char	 boundary[MIME_BOUNDARY_MAX + 1];
	size_t	 blen;
	int	 depth;		/* of the multipart itself */
	int	 digest;	/* parts default to message/rfc822 */
};

/* A delimiter line, or the end of the input (frame -1). */
struct delim {
	size_t	 start;		/* first byte of the line */
	size_t	 next;		/* first byte after its line end */
	int	 frame;		/* index in the stack */
	int	 close;		/* "--boundary--" */
};

/* The fields we read: Content-Type, -Transfer-Encoding, -Disposition. */
enum field { F_CT, F_CTE, F_CD, F_COUNT };

/* What one header block said: raw field values, pointing into the input. */
struct hdr {
	size_t	 val[F_COUNT];	/* offset of the value after the colon */
	size_t	 vlen[F_COUNT];	/* 0 and not seen: absent */
	int	 seen[F_COUNT];
	size_t	 body;		/* offset of the body */
	int	 hit;		/* the block ran into a delimiter line */
	int	 suspect;	/* duplicate fields or control bytes */
};

enum kind { K_LEAF, K_MULTIPART, K_MESSAGE };

static const char *anomaly_names[MIME_ANOMALY_COUNT] = {
	"DUP_HEADER", "BAD_BOUNDARY", "BAD_ENCODING", "ENCODING_NOT_ALLOWED",
	"PARTIAL", "DEPTH", "CONTROL_CHARS", "LIMIT", "AMBIGUOUS",
};

const char *
mime_anomaly_name(unsigned bit)
{
	int i;

	for (i = 0; i < MIME_ANOMALY_COUNT; i++)
		if (bit == 1u << i)
			return anomaly_names[i];
	return NULL;
}

void
mime_flag(struct mime_result *res, unsigned bit, const char *reason)
{
	int i;

	if (res->reason[0] == '\0')
		sm_strlcpy(res->reason, reason, sizeof(res->reason));
	res->anomalies |= bit;
	for (i = 0; i < res->nreasons; i++)
		if (res->reasons[i] == reason || strcmp(res->reasons[i],
		    reason) == 0)
			return;
	res->nfindings++;
	if (res->nreasons < MIME_MAX_REASONS)
		res->reasons[res->nreasons++] = reason;
}

void
mime_result_free(struct mime_result *res)
{
	free(res->skeleton);
	res->skeleton = NULL;
	res->skeleton_len = 0;
}

/* ---- lines and delimiters ----------------------------------------------- */

/* End of the line at i (its '\n', or len); *next: the line after it. */
static size_t
line_end(const struct parser *p, size_t i, size_t *next)
{
	const unsigned char *nl = memchr(p->msg + i, '\n', p->len - i);
	size_t e = nl ? (size_t)(nl - p->msg) : p->len;

	*next = nl ? e + 1 : p->len;
	return e;
}

/*
 * Is [ls, le) — starting with "--" — a delimiter of a multipart in scope?
 * Innermost first; "--boundary" then optional "--", blanks, CR.  A line
 * that only starts with a boundary is flagged unless quiet.
 */
static int
match_delim(struct parser *p, size_t ls, size_t le, struct delim *d,
    int quiet)
{
	const unsigned char *s = p->msg + ls + 2;
	const struct frame *f;
	size_t n, r;
	int i, close, junk = 0;

	if (le > ls + 2 && p->msg[le - 1] == '\r')
		le--;
	n = le - ls - 2;
	for (i = p->nstack - 1; i >= 0; i--) {
		f = &p->stack[i];
		if (n < f->blen || memcmp(s, f->boundary, f->blen) != 0)
			continue;
		r = f->blen;
		close = n - r >= 2 && s[r] == '-' && s[r + 1] == '-';
		if (close)
			r += 2;
		while (r < n && (s[r] == ' ' || s[r] == '\t'))
			r++;
		if (r < n) {
			junk = 1;
			continue;
		}
		d->frame = i;
		d->close = close;
		return 1;
	}
	if (junk && !quiet)
		mime_flag(p->res, MIME_BAD_BOUNDARY,
		    "boundary followed by other text on its line");
	return 0;
}

/* Flags a delimiter at c (its "--") that follows a bare CR: readers that
 * take CR alone as a line end see a delimiter there.  It runs to the next
 * CR on its line or to the line's end e (past c + 1). */
static void
bare_cr_delim(struct parser *p, size_t c, size_t e)
{
	const unsigned char *cr, *m = p->msg;
	struct delim d;
	size_t ce;

	if (m[e - 1] == '\r')
		e--;
	cr = memchr(m + c, '\r', e - c);
	ce = cr ? (size_t)(cr - m) : e;
	if (match_delim(p, c, ce, &d, 1))
		mime_flag(p->res, MIME_AMBIGUOUS, "boundary after a bare CR");
}

/*
 * The next delimiter line of a multipart in scope at or after from (a line
 * start).  Only a "--" starts a delimiter, at a line start or after a bare
 * CR (flagged, not taken), so the search jumps from one '-' to the next
 * rather than reading line by line: a base64 body has none.  A line's end
 * is looked for once, however many "--" it holds ([.., e] is the line of
 * the last one, next the line after it).
 */
static void
find_delim(struct parser *p, size_t from, struct delim *d)
{
	const unsigned char *dash, *m = p->msg;
	size_t i = from, c, e = from, next = from;

	while (p->nstack > 0 && i + 1 < p->len &&
	    (dash = memchr(m + i, '-', p->len - i - 1)) != NULL) {
		c = (size_t)(dash - m);
		i = c + 1;
		if (m[c + 1] != '-')
			continue;
		if (c == from || m[c - 1] == '\n') {
			e = line_end(p, c, &next);
			if (match_delim(p, c, e, d, 0)) {
				d->start = c;
				d->next = next;
				return;
			}
		} else if (m[c - 1] == '\r') {
			if (c >= next)
				e = line_end(p, c, &next);
			bare_cr_delim(p, c, e);
		}
	}
	d->start = d->next = p->len;
	d->frame = -1;
	d->close = 0;
}

/* Where a body that runs up to d ends: the line end before a delimiter
 * belongs to the delimiter. */
static size_t
body_end(const struct parser *p, size_t bs, const struct delim *d)
{
	size_t e = d->start;

	if (d->frame < 0)
		return p->len;
	if (e > bs && p->msg[e - 1] == '\n') {
		e--;
		if (e > bs && p->msg[e - 1] == '\r')
			e--;
	}
	return e;
}

/* ---- header blocks ------------------------------------------------------ */

/* Control bytes and bare CRs in a header line [i, le); 1 if any. */
static int
check_header_bytes(struct parser *p, size_t i, size_t le)
{
	unsigned char c;
	int bad = 0;

	for (; i < le; i++) {
		c = p->msg[i];
		if (c >= 0x20 && c != 0x7f)
			continue;
		if (c == '\t' || c == 0x1b)	/* ESC: ISO-2022 text */
			continue;
		bad = 1;
		if (c == '\r')
			mime_flag(p->res, MIME_AMBIGUOUS, "bare CR in header");
		else
			mime_flag(p->res, MIME_CONTROL_CHARS,
			    "control character in header");
	}
	return bad;
}

static int
name_is(const unsigned char *s, size_t n, const char *want)
{
	size_t i;

	if (n != strlen(want))
		return 0;
	for (i = 0; i < n; i++)
		if ((s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]) != want[i])
			return 0;
	return 1;
}

/* Looks at the name of field [i, colon): flags odd names, returns its
 * length without trailing blanks. */
static size_t
field_name(struct parser *p, size_t i, size_t colon)
{
	size_t k, n = colon - i;

	while (n > 0 && (p->msg[i + n - 1] == ' ' || p->msg[i + n - 1] == '\t'))
		n--;
	if (n < colon - i)
		mime_flag(p->res, MIME_AMBIGUOUS,
		    "blank before the colon of a header");
	for (k = i; k < i + n; k++) {
		if (p->msg[k] >= 0x80)
			mime_flag(p->res, MIME_AMBIGUOUS,
			    "8-bit byte in a header name");
		else if (p->msg[k] == ' ')
			mime_flag(p->res, MIME_AMBIGUOUS,
			    "blank in a header name");
	}
	return n;
}

/* Records field [i, le) with its name ending at colon in h if it is one
 * of ours (the first of each); returns which, or -1. */
static int
record_field(struct parser *p, struct hdr *h, size_t i, size_t colon,
    size_t le)
{
	static const char *names[F_COUNT] = { "content-type",
	    "content-transfer-encoding", "content-disposition" };
	static const char *dups[F_COUNT] = { "duplicate Content-Type header",
	    "duplicate Content-Transfer-Encoding header",
	    "duplicate Content-Disposition header" };
	size_t n = field_name(p, i, colon);
	int k;

	for (k = 0; k < F_COUNT; k++) {
		if (!name_is(p->msg + i, n, names[k]))
			continue;
		if (h->seen[k]) {
			mime_flag(p->res, MIME_DUP_HEADER, dups[k]);
			h->suspect = 1;
			return -1;
		}
		h->seen[k] = 1;
		h->val[k] = colon + 1;
		h->vlen[k] = le - colon - 1;
		return k;
	}
	return -1;
}

/*
 * Reads the header block at pos up to its blank line, a line that is not
 * a header (the body starts there) or a delimiter line (then d is set).
 * message: an mbox "From " line may come first.
 */
static void
scan_headers(struct parser *p, size_t pos, int message, struct hdr *h,
    struct delim *d)
{
	const unsigned char *m = p->msg, *colon;
	size_t i = pos, e, le, next, k;
	int first = 1, over = 0, cont = -1;

	memset(h, 0, sizeof(*h));
	h->body = p->len;
	for (; i < p->len; first = 0, i = next) {
		e = line_end(p, i, &next);
		if (p->nstack > 0 && e - i >= 2 && m[i] == '-' &&
		    m[i + 1] == '-' && match_delim(p, i, e, d, 0)) {
			d->start = i;
			d->next = next;
			h->hit = 1;
			h->body = i;
			return;
		}
		le = e > i && m[e - 1] == '\r' ? e - 1 : e;
		if (le == i) {
			h->body = next;
			return;
		}
		if (!over && next - pos > p->lim.max_header) {
			mime_flag(p->res, MIME_LIMIT, "header block too large");
			over = 1;
			cont = -1;
		}
		if (check_header_bytes(p, i, le))
			h->suspect = 1;
		if (m[i] == ' ' || m[i] == '\t') {
			for (k = i; k < le && (m[k] == ' ' || m[k] == '\t'); k++)
				;
			if (first)
				mime_flag(p->res, MIME_AMBIGUOUS,
				    "header block starts with a folded line");
			else if (k == le)
				mime_flag(p->res, MIME_AMBIGUOUS,
				    "blank folded line in header");
			if (cont >= 0)
				h->vlen[cont] = le - h->val[cont];
			continue;
		}
		if (message && le - i >= 5 && memcmp(m + i, "From ", 5) == 0) {
			if (!first)
				mime_flag(p->res, MIME_AMBIGUOUS,
				    "misplaced From line in header");
			cont = -1;
			continue;
		}
		colon = memchr(m + i, ':', le - i);
		if (colon == NULL) {
			mime_flag(p->res, MIME_AMBIGUOUS,
			    "header line without colon");
			h->body = i;
			return;
		}
		cont = over ? -1 :
		    record_field(p, h, i, (size_t)(colon - m), le);
	}
}

/* ---- entities ----------------------------------------------------------- */

/*
 * Do two file names have different extensions (the letters and digits
 * after the last dot)?  What a gateway blocks by and what a reader saves
 * as then differ: "invoice.pdf" against "invoice.exe".  RISC OS style
 * "clock.bmp,69c" against "clock.bmp" is the same file type.
 */
static int
other_extension(const char *a, const char *b)
{
	const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
	size_t i;

	if (da == NULL || db == NULL)
		return 0;
	for (i = 1; isalnum((unsigned char)da[i]) || isalnum((unsigned char)db[i]);
	    i++)
		if (tolower((unsigned char)da[i]) != tolower((unsigned char)db[i]))
			return 1;
	return 0;
}

/* Reads the fields of header block h into en. */
static void
interpret(struct parser *p, const struct hdr *h, int depth, int digest,
    struct entity *en)
{
	const unsigned char *m = p->msg;

	memset(en, 0, sizeof(*en));
	en->depth = depth;
	en->suspect = h->suspect;
	if (h->seen[F_CT])
		mime_parse_ctype(m + h->val[F_CT], h->vlen[F_CT], &en->ct,
		    p->res);
	if (h->seen[F_CD])
		mime_parse_cdisp(m + h->val[F_CD], h->vlen[F_CD], &en->cd,
		    p->res);
	if (h->seen[F_CTE])
		mime_parse_cte(m + h->val[F_CTE], h->vlen[F_CTE],
		    en->encoding, sizeof(en->encoding), p->res);
	else
		sm_strlcpy(en->encoding, "7bit", sizeof(en->encoding));
	if (en->ct.type[0] != '\0')
		en->type = en->ct.type;
	else
		en->type = digest ? "message/rfc822" : "text/plain";
	en->filename = en->cd.filename[0] ? en->cd.filename : en->ct.name;
	if (en->cd.filename[0] && en->ct.name[0] &&
	    other_extension(en->cd.filename, en->ct.name))
		mime_flag(p->res, MIME_AMBIGUOUS,
		    "name and filename parameters differ");
}

static int
bchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c) != NULL;
}

/* Can the boundary of multipart en be used?  Flags what RFC 2046 forbids. */
static int
boundary_ok(struct parser *p, const struct entity *en)
{
	const struct mime_ctype *ct = &en->ct;
	size_t i;

	if (!ct->has_boundary || ct->blen == 0) {
		mime_flag(p->res, MIME_BAD_BOUNDARY, ct->has_boundary ?
		    "empty boundary" : "multipart without boundary");
		return 0;
	}
	if (ct->blen > MIME_BOUNDARY_MAX) {
		mime_flag(p->res, MIME_BAD_BOUNDARY, "boundary far too long");
		return 0;
	}
	if (ct->blen > MIME_BOUNDARY_RFC)
		mime_flag(p->res, MIME_BAD_BOUNDARY,
		    "boundary longer than 70 characters");
	for (i = 0; i < ct->blen; i++)
		if (ct->boundary[i] == '\0' ||
		    !bchar((unsigned char)ct->boundary[i]))
			break;
	if (i < ct->blen)
		mime_flag(p->res, MIME_BAD_BOUNDARY,
		    "illegal character in boundary");
	else if (ct->boundary[ct->blen - 1] == ' ')
		mime_flag(p->res, MIME_BAD_BOUNDARY,
		    "boundary ends with a space");
	return 1;
}

/* What en is to the parser: a container to enter, or a leaf. */
static enum kind
classify(struct parser *p, struct entity *en)
{
	enum mime_cte k = mime_cte_kind(en->encoding);
	int encoded = k == MIME_CTE_BASE64 || k == MIME_CTE_QP || k == MIME_CTE_UU;
	enum kind kind = K_LEAF;

	if (k == MIME_CTE_UNKNOWN) {
		mime_flag(p->res, MIME_BAD_ENCODING,
		    "unknown Content-Transfer-Encoding");
		en->suspect = 1;
	}
	if (strncmp(en->type, "multipart/", 10) == 0) {
		if (encoded)
			mime_flag(p->res, MIME_ENCODING_NOT_ALLOWED,
			    "transfer encoding on a multipart");
		if (boundary_ok(p, en))
			kind = K_MULTIPART;
	} else if (strcmp(en->type, "message/rfc822") == 0) {
		if (encoded)
			mime_flag(p->res, MIME_ENCODING_NOT_ALLOWED,
			    "transfer encoding on message/rfc822");
		else
			kind = K_MESSAGE;
	} else if (strcmp(en->type, "message/global") == 0) {
		if (!encoded)	/* RFC 6532 allows encoding it: a leaf */
			kind = K_MESSAGE;
	} else if (strcmp(en->type, "message/partial") == 0 ||
	    strcmp(en->type, "message/external-body") == 0)
		mime_flag(p->res, MIME_PARTIAL, en->type[8] == 'p' ?
		    "message/partial" : "message/external-body");
	if (kind != K_LEAF && en->depth >= p->lim.max_depth) {
		mime_flag(p->res, MIME_DEPTH, "MIME nesting too deep");
		kind = K_LEAF;
	}
	return kind;
}

/* Opens multipart en; -1 when there is no memory for it (the parse
 * stops). */
static int
push(struct parser *p, const struct entity *en)
{
	struct frame *f;
	size_t n;
	int i;

	for (i = 0; i < p->nstack; i++) {
		f = &p->stack[i];
		n = f->blen < en->ct.blen ? f->blen : en->ct.blen;
		if (memcmp(f->boundary, en->ct.boundary, n) == 0)
			mime_flag(p->res, MIME_BAD_BOUNDARY, f->blen ==
			    en->ct.blen ? "nested multipart reuses a boundary" :
			    "nested boundary is a prefix of another");
	}
	if (p->nstack == p->capstack) {
		int cap = p->capstack ? p->capstack * 2 : 8;

		if ((f = realloc(p->stack, (size_t)cap * sizeof(*f))) == NULL) {
			mime_out_of_memory(p);
			return -1;
		}
		p->stack = f;
		p->capstack = cap;
	}
	f = &p->stack[p->nstack++];
	memcpy(f->boundary, en->ct.boundary, en->ct.blen + 1);
	f->blen = en->ct.blen;
	f->depth = en->depth;
	f->digest = strcmp(en->type, "multipart/digest") == 0;
	return 0;
}

/* Flags delimiter lines of closed multipart f in its epilogue [i, to):
 * readers that do not stop at the close delimiter find parts there.  A
 * repeated close delimiter is only epilogue text to every reader. */
static void
after_close(struct parser *p, const struct frame *f, size_t i, size_t to)
{
	const unsigned char *m = p->msg;
	size_t e, next, r;

	for (; i < to; i = next) {
		e = line_end(p, i, &next);
		if (e - i < f->blen + 2 || m[i] != '-' || m[i + 1] != '-' ||
		    memcmp(m + i + 2, f->boundary, f->blen) != 0)
			continue;
		r = i + 2 + f->blen;
		if (e - r >= 2 && m[r] == '-' && m[r + 1] == '-')
			r += 2;
		else
			r = e + 1;	/* not a close delimiter */
		while (r < e && (m[r] == ' ' || m[r] == '\t' || m[r] == '\r'))
			r++;
		if (r != e) {
			mime_flag(p->res, MIME_BAD_BOUNDARY,
			    "delimiter after the close delimiter");
			return;
		}
	}
}

/*
 * Moves past delimiter d: to the next part of its multipart (closing any
 * inside it left open), or past a close delimiter and its epilogue to the
 * next delimiter further out.  Returns 0 when nothing is left to parse.
 */
static int
advance(struct parser *p, struct delim *d, size_t *pos, int *depth,
    int *digest)
{
	const struct frame *f;
	struct frame closed;
	size_t from;

	for (;;) {
		if (d->frame < 0) {
			/* a missing final close delimiter (truncated mail,
			 * old clients) is read the same way by every reader:
			 * the last part runs to the end */
			p->nstack = 0;
			return 0;
		}
		if (d->frame < p->nstack - 1) {
			mime_flag(p->res, MIME_BAD_BOUNDARY,
			    "multipart closed by an enclosing boundary");
			p->nstack = d->frame + 1;
		}
		f = &p->stack[d->frame];
		if (!d->close) {
			*pos = d->next;
			*depth = f->depth + 1;
			*digest = f->digest;
			return 1;
		}
		closed = *f;
		from = d->next;
		if (--p->nstack == 0) {	/* the epilogue runs to the end */
			after_close(p, &closed, from, p->len);
			return 0;
		}
		find_delim(p, from, d);
		after_close(p, &closed, from, d->start);
	}
}

static void
limits(struct mime_limits *to, const struct mime_limits *from)
{
	memset(to, 0, sizeof(*to));
	if (from != NULL)
		*to = *from;
	if (to->max_depth <= 0)
		to->max_depth = MIME_DEFAULT_DEPTH;
	if (to->max_parts <= 0)
		to->max_parts = MIME_DEFAULT_PARTS;
	if (to->max_decoded == 0)
		to->max_decoded = MIME_DEFAULT_DECODED;
	if (to->max_header == 0)
		to->max_header = MIME_DEFAULT_HEADER;
}

int
mime_parse(const unsigned char *msg, size_t len,
    const struct mime_limits *lim, mime_part_fn fn, void *arg,
    struct mime_result *res)
{
	struct parser p;
	struct entity en;
	struct hdr h;
	struct delim d;
	size_t pos = 0;
	int depth = 0, digest = 0, message = 1;

	memset(res, 0, sizeof(*res));
	memset(&p, 0, sizeof(p));
	p.msg = msg;
	p.len = len;
	limits(&p.lim, lim);
	p.fn = fn;
	p.arg = arg;
	p.res = res;
	while (!p.stop) {
		scan_headers(&p, pos, message, &h, &d);
		interpret(&p, &h, depth, digest, &en);
		switch (classify(&p, &en)) {
		case K_MESSAGE:
			pos = h.body;
			depth++;
			digest = 0;
			message = 1;
			continue;
		case K_MULTIPART:
			if (push(&p, &en) == 0)
				find_delim(&p, h.body, &d);
			break;
		case K_LEAF:
			if (!h.hit)
				find_delim(&p, h.body, &d);
			/* "--b" right after "--b": no part at all (not even
			 * the line end a part's body would need) */
			if (!h.hit || h.body > pos)
				mime_emit(&p, &en, message ? (size_t)-1 : pos,
				    h.body,
				    body_end(&p, h.body, &d));
			break;
		}
		message = 0;
		if (p.stop || !advance(&p, &d, &pos, &depth, &digest))
			break;
	}
	mime_skel_add(&p, p.skel_from, len);
	free(p.stack);
	recycle_free(p.dec, p.deccap);
	recycle_free(p.uu, p.uucap);
	return p.ret;
}
