/*
 * MIME header field values: Content-Type (type, boundary, name),
 * Content-Disposition (type, filename) and Content-Transfer-Encoding, with
 * RFC 822 comments, quoted strings, RFC 2231 parameters (charset'lang'
 * prefix, continuations) and RFC 2047 encoded words in file names.  Works
 * on the raw folded value in place, into fixed-size buffers.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "mime_int.h"

#define PSEG_MAX	32		/* RFC 2231 continuations kept */
#define PBUF_SIZE	4096		/* unquoted values of one field */

struct cur {
	const unsigned char *p, *e;
};

/* One RFC 2231 piece: name*IDX= or name*IDX*=, its value in pbuf. */
struct pseg {
	int	 idx;
	int	 enc;
	size_t	 off, len;
};

/* Every form of one parameter seen in a field. */
struct param {
	const char *name;
	int	 plain;			/* name= seen */
	size_t	 poff, plen;
	struct pseg seg[PSEG_MAX];
	int	 nseg;
	int	 conflict;		/* given twice with different values */
};

struct params {
	unsigned char buf[PBUF_SIZE];
	size_t	 used;
	struct param p[3];		/* boundary, name, filename */
};

static int
is_tspecial(unsigned char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL && c != '\0';
}

static int
is_token(unsigned char c)
{
	return c > 0x20 && c < 0x7f && !is_tspecial(c);
}

static int
is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static unsigned char
lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/*
 * Skips blanks, line ends and (nested (comments)); returns 1 if it skipped
 * a comment.  A comment holding an '=' looks like a parameter to readers
 * that do not know comments.
 */
static int
skip_cfws(struct cur *c, struct mime_result *res)
{
	int depth, eq, comment = 0;

	while (c->p < c->e) {
		if (is_wsp(*c->p)) {
			c->p++;
			continue;
		}
		if (*c->p != '(')
			return comment;
		comment = 1;
		for (depth = eq = 0; c->p < c->e; c->p++) {
			if (*c->p == '\\' && c->p + 1 < c->e)
				c->p++;
			else if (*c->p == '(')
				depth++;
			else if (*c->p == '=')
				eq = 1;
			else if (*c->p == ')' && --depth == 0)
				break;
		}
		if (c->p == c->e) {
			mime_flag(res, MIME_AMBIGUOUS,
			    "unterminated comment in MIME header");
			return comment;
		}
		if (eq)
			mime_flag(res, MIME_AMBIGUOUS,
			    "parameter inside a comment in MIME header");
		c->p++;
	}
	return comment;
}

/* Reads a token, lowercased and NUL-terminated into out; returns its
 * length (which may exceed what fits, then it is cut). */
static size_t
get_token(struct cur *c, char *out, size_t outsz)
{
	size_t n = 0;

	for (; c->p < c->e && is_token(*c->p); c->p++, n++)
		if (n + 1 < outsz)
			out[n] = (char)lower(*c->p);
	out[n < outsz ? n : outsz - 1] = '\0';
	return n;
}

static void
pbuf_put(struct params *ps, unsigned char ch)
{
	if (ps->used < sizeof(ps->buf))
		ps->buf[ps->used++] = ch;
}

/* How a value was written, as far as readers could disagree on it. */
#define VAL_QUOTED	0x1	/* a quoted string */
#define VAL_QPAIR	0x2	/* ... with a backslash pair in it */
#define VAL_BLANK	0x4	/* unquoted, with blanks inside */
#define VAL_GLUED	0x8	/* unquoted, a comment or quote right after */

/* Reads a parameter value into ps->buf: a quoted string unescaped and
 * unfolded, or the bare text up to ';' or a comment, trimmed.  Returns
 * VAL_* bits. */
static int
get_value(struct cur *c, struct params *ps, struct mime_result *res)
{
	size_t end;
	int how = 0;

	if (c->p < c->e && *c->p == '"') {
		how = VAL_QUOTED;
		for (c->p++; c->p < c->e && *c->p != '"'; c->p++) {
			if (*c->p == '\\' && c->p + 1 < c->e) {
				c->p++;
				how |= VAL_QPAIR;
			} else if (*c->p == '\r' || *c->p == '\n')
				continue;
			pbuf_put(ps, *c->p);
		}
		if (c->p == c->e)
			mime_flag(res, MIME_AMBIGUOUS,
			    "unterminated quoted string in MIME header");
		else
			c->p++;
		return how;
	}
	for (end = ps->used; c->p < c->e && *c->p != ';' && *c->p != '(' &&
	    *c->p != '"'; c->p++) {
		if (*c->p == '\r' || *c->p == '\n')
			continue;
		if (!is_wsp(*c->p) && end < ps->used)
			how |= VAL_BLANK;
		pbuf_put(ps, *c->p);
		if (!is_wsp(*c->p))
			end = ps->used;
	}
	if (c->p < c->e && *c->p != ';' && end == ps->used)
		how |= VAL_GLUED;
	ps->used = end;
	return how;
}

static int
same_value(const struct params *ps, size_t o1, size_t l1, size_t o2,
    size_t l2)
{
	return l1 == l2 && memcmp(ps->buf + o1, ps->buf + o2, l1) == 0;
}

/* Files value [off, off+len) of ps->buf under attribute attr. */
static void
store_param(struct params *ps, const char *attr, size_t off, size_t len)
{
	const char *star = strchr(attr, '*');
	size_t blen = star ? (size_t)(star - attr) : strlen(attr);
	struct param *pa = NULL;
	struct pseg *sg;
	int i, idx = 0, enc = 0;

	for (i = 0; i < 3; i++)
		if (strlen(ps->p[i].name) == blen &&
		    memcmp(ps->p[i].name, attr, blen) == 0)
			pa = &ps->p[i];
	if (pa == NULL)
		return;
	if (star == NULL) {
		if (pa->plain && !same_value(ps, pa->poff, pa->plen, off, len))
			pa->conflict = 1;
		if (!pa->plain) {
			pa->plain = 1;
			pa->poff = off;
			pa->plen = len;
		}
		return;
	}
	/* name*  name*N  name*N* */
	star++;
	if (*star == '\0')
		enc = 1;
	else {
		for (; *star >= '0' && *star <= '9'; star++)
			idx = idx < 10000 ? idx * 10 + (*star - '0') : idx;
		if (*star == '*')
			enc = 1, star++;
		if (*star != '\0')
			return;		/* not RFC 2231: ignored */
	}
	for (i = 0; i < pa->nseg; i++) {
		sg = &pa->seg[i];
		if (sg->idx == idx) {
			if (sg->enc != enc ||
			    !same_value(ps, sg->off, sg->len, off, len))
				pa->conflict = 1;
			return;
		}
	}
	if (pa->nseg == PSEG_MAX)
		return;
	sg = &pa->seg[pa->nseg++];
	sg->idx = idx;
	sg->enc = enc;
	sg->off = off;
	sg->len = len;
}

/* Does the text [p, e) name the boundary parameter? */
static int
mentions_boundary(const unsigned char *p, const unsigned char *e)
{
	static const char want[] = "boundary";
	size_t i, n = sizeof(want) - 1;

	for (; p + n <= e; p++) {
		for (i = 0; i < n && lower(p[i]) == want[i]; i++)
			;
		if (i == n)
			return 1;
	}
	return 0;
}

/*
 * The boundary decides the structure, so any way of writing it that
 * readers take differently is a finding: a comment where a value or '='
 * is expected, a backslash pair, blanks inside or text glued to an
 * unquoted value, text after the value, RFC 2231 pieces (readers without
 * RFC 2231 see no boundary at all).
 */
static void
flag_boundary_syntax(const char *attr, int comment, int how,
    struct mime_result *res)
{
	if (strncmp(attr, "boundary", 8) != 0)
		return;
	if (attr[8] == '*')
		mime_flag(res, MIME_AMBIGUOUS,
		    "boundary parameter in RFC 2231 form");
	else if (attr[8] != '\0')
		return;
	if (comment)
		mime_flag(res, MIME_AMBIGUOUS,
		    "comment inside the boundary parameter");
	if (how & VAL_QPAIR)
		mime_flag(res, MIME_AMBIGUOUS,
		    "backslash pair in the boundary");
	if (how & (VAL_BLANK | VAL_GLUED))
		mime_flag(res, MIME_AMBIGUOUS,
		    "unquoted boundary with blanks or text glued to it");
}

/* Reads "; attr=value" parameters up to the end of the field. */
static void
get_params(struct cur *c, struct params *ps, struct mime_result *res)
{
	const unsigned char *junk;
	char attr[64];
	size_t off;
	int quoted, comment, how, last_boundary = 0;

	for (;;) {
		skip_cfws(c, res);
		if (c->p >= c->e)
			return;
		if (*c->p != ';') {	/* junk: skip to the next ';' */
			junk = c->p;
			quoted = 0;
			for (; c->p < c->e && (quoted || *c->p != ';'); c->p++)
				if (*c->p == '"')
					quoted = !quoted;
			if (last_boundary || mentions_boundary(junk, c->p))
				mime_flag(res, MIME_AMBIGUOUS,
				    "text after a parameter next to the "
				    "boundary");
			continue;
		}
		c->p++;
		skip_cfws(c, res);
		if (get_token(c, attr, sizeof(attr)) >= sizeof(attr))
			attr[0] = '\0';
		comment = skip_cfws(c, res);
		last_boundary = 0;
		if (c->p >= c->e || *c->p != '=')
			continue;
		c->p++;
		comment |= skip_cfws(c, res);
		off = ps->used;
		how = get_value(c, ps, res);
		flag_boundary_syntax(attr, comment, how, res);
		last_boundary = strcmp(attr, "boundary") == 0;
		if (attr[0] != '\0')
			store_param(ps, attr, off, ps->used - off);
	}
}

/* ---- decoding values ---------------------------------------------------- */

struct obuf {
	unsigned char *b;
	size_t	 n, cap;
};

static void
oput(struct obuf *o, unsigned char c)
{
	if (o->n < o->cap)
		o->b[o->n++] = c;
}

static int
latin1_charset(const unsigned char *cs, size_t n)
{
	static const char *names[] = { "iso-8859-1", "iso8859-1", "latin1",
	    "latin-1", "iso_8859-1", "l1" };
	size_t i, k;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) != n)
			continue;
		for (k = 0; k < n && lower(cs[k]) == names[i][k]; k++)
			;
		if (k == n)
			return 1;
	}
	return 0;
}

/* Appends bytes in charset cs to o, Latin-1 turned into UTF-8. */
static void
oput_charset(struct obuf *o, const unsigned char *s, size_t n, int latin1)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (latin1 && s[i] >= 0x80) {
			oput(o, (unsigned char)(0xc0 | s[i] >> 6));
			oput(o, (unsigned char)(0x80 | (s[i] & 0x3f)));
		} else
			oput(o, s[i]);
	}
}

static int
hexv(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * One RFC 2047 encoded word "=?charset?E?text?=" at s[i]: returns the
 * offset after it, or 0 if it is not one; decodes it into o unless NULL.
 */
static size_t
encoded_word(const unsigned char *s, size_t n, size_t i, struct obuf *o)
{
	unsigned char tmp[256];
	size_t cs = i + 2, cse, t, te, k, len = 0;
	unsigned st = 0;
	const char *why = NULL;
	unsigned char enc;

	for (cse = cs; cse < n && s[cse] != '?' && is_token(s[cse]); cse++)
		;
	if (cse == cs || cse + 2 >= n || s[cse] != '?' || s[cse + 2] != '?')
		return 0;
	enc = lower(s[cse + 1]);
	if (enc != 'b' && enc != 'q')
		return 0;
	t = cse + 3;
	for (te = t; te + 1 < n && !(s[te] == '?' && s[te + 1] == '='); te++)
		if (s[te] <= 0x20 || s[te] >= 0x7f)
			return 0;
	if (te + 1 >= n)
		return 0;
	if (o == NULL)
		return te + 2;
	if (enc == 'b')
		len = mime_base64(s + t, te - t, tmp, sizeof(tmp), &st, &why);
	else {
		for (k = t; k < te && len < sizeof(tmp); k++) {
			if (s[k] == '_')
				tmp[len++] = ' ';
			else if (s[k] == '=' && k + 2 < te &&
			    hexv(s[k + 1]) >= 0 && hexv(s[k + 2]) >= 0) {
				tmp[len++] = (unsigned char)(hexv(s[k + 1]) << 4 |
				    hexv(s[k + 2]));
				k += 2;
			} else
				tmp[len++] = s[k];
		}
	}
	/* RFC 2231 section 5: "charset*lang" */
	for (k = cs; k < cse && s[k] != '*'; k++)
		;
	oput_charset(o, tmp, len, latin1_charset(s + cs, k - cs));
	return te + 2;
}

static int
all_blank(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_wsp(s[i]))
			return 0;
	return 1;
}

/* Decodes RFC 2047 words in s into o; blanks between two words go. */
static void
rfc2047(const unsigned char *s, size_t n, struct obuf *o)
{
	size_t i = 0, lit = 0, next;
	int after_word = 0;

	while (i < n) {
		if (s[i] != '=' || i + 1 >= n || s[i + 1] != '?' ||
		    (next = encoded_word(s, n, i, NULL)) == 0) {
			i++;
			continue;
		}
		if (!after_word || !all_blank(s + lit, i - lit))
			oput_charset(o, s + lit, i - lit, 0);
		encoded_word(s, n, i, o);
		lit = i = next;
		after_word = 1;
	}
	oput_charset(o, s + lit, n - lit, 0);
}

/* Appends %XX-decoded s to o. */
static void
pct_decode(const unsigned char *s, size_t n, struct obuf *o)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 &&
		    hexv(s[i + 2]) >= 0) {
			oput(o, (unsigned char)(hexv(s[i + 1]) << 4 |
			    hexv(s[i + 2])));
			i += 2;
		} else
			oput(o, s[i]);
	}
}

/*
 * The value of a parameter into o: its RFC 2231 pieces in order (from *0
 * up to the first gap), else its plain form, RFC 2047 decoded if words
 * says so.  Returns 0 if the parameter was not given.
 */
static int
param_value(const struct params *ps, const struct param *pa, int words,
    struct obuf *o)
{
	const struct pseg *sg;
	unsigned char raw[PBUF_SIZE];
	struct obuf r = { raw, 0, sizeof(raw) };
	const unsigned char *v, *q1, *q2;
	size_t vlen;
	int idx, i, latin1 = 0;

	if (pa->nseg == 0) {
		if (!pa->plain)
			return 0;
		if (words)
			rfc2047(ps->buf + pa->poff, pa->plen, o);
		else
			oput_charset(o, ps->buf + pa->poff, pa->plen, 0);
		return 1;
	}
	for (idx = 0;; idx++) {
		for (i = 0; i < pa->nseg && pa->seg[i].idx != idx; i++)
			;
		if (i == pa->nseg)
			break;
		sg = &pa->seg[i];
		v = ps->buf + sg->off;
		vlen = sg->len;
		if (idx == 0 && sg->enc &&
		    (q1 = memchr(v, '\'', vlen)) != NULL &&
		    (q2 = memchr(q1 + 1, '\'', vlen - (size_t)(q1 + 1 - v))) !=
		    NULL) {
			latin1 = latin1_charset(v, (size_t)(q1 - v));
			vlen -= (size_t)(q2 + 1 - v);
			v = q2 + 1;
		}
		if (sg->enc)
			pct_decode(v, vlen, &r);
		else
			oput_charset(&r, v, vlen, 0);
	}
	if (idx == 0) {		/* only pieces after a gap: use name= */
		if (!pa->plain)
			return 0;
		oput_charset(o, ps->buf + pa->poff, pa->plen, 0);
		return 1;
	}
	oput_charset(o, raw, r.n, latin1);
	return 1;
}

/* A decoded file name into out (NUL-terminated, control bytes as '_'). */
static void
param_filename(const struct params *ps, const struct param *pa, char *out,
    size_t outsz)
{
	struct obuf o = { (unsigned char *)out, 0, outsz - 1 };
	size_t i;

	param_value(ps, pa, 1, &o);
	for (i = 0; i < o.n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = '_';
	out[o.n] = '\0';
}

static void
params_init(struct params *ps)
{
	memset(ps->p, 0, sizeof(ps->p));
	ps->used = 0;
	ps->p[0].name = "boundary";
	ps->p[1].name = "name";
	ps->p[2].name = "filename";
}

static void
flag_conflicts(const struct params *ps, struct mime_result *res)
{
	static const char *why[] = { "conflicting boundary parameters",
	    "conflicting name parameters", "conflicting filename parameters" };
	int i;

	for (i = 0; i < 3; i++)
		if (ps->p[i].conflict)
			mime_flag(res, MIME_AMBIGUOUS, why[i]);
}

/* ---- the three fields --------------------------------------------------- */

void
mime_parse_ctype(const unsigned char *v, size_t n, struct mime_ctype *ct,
    struct mime_result *res)
{
	struct params ps;
	struct cur c = { v, v + n };
	unsigned char btmp[PBUF_SIZE];
	struct obuf o;
	char type[64], sub[64];
	size_t tl, sl = 0;

	memset(ct, 0, sizeof(*ct));
	params_init(&ps);
	skip_cfws(&c, res);
	tl = get_token(&c, type, sizeof(type));
	skip_cfws(&c, res);
	if (c.p < c.e && *c.p == '/') {
		c.p++;
		skip_cfws(&c, res);
		sl = get_token(&c, sub, sizeof(sub));
	}
	if (tl > 0 && sl > 0 && tl < sizeof(type) && sl < sizeof(sub))
		snprintf(ct->type, sizeof(ct->type), "%s/%s", type, sub);
	else if (sl == 0 && (strcmp(type, "multipart") == 0 ||
	    strcmp(type, "message") == 0))
		mime_flag(res, MIME_AMBIGUOUS, "Content-Type without subtype");
	skip_cfws(&c, res);
	if (c.p < c.e && *c.p == ',')
		mime_flag(res, MIME_AMBIGUOUS,
		    "several types in one Content-Type");
	get_params(&c, &ps, res);
	flag_conflicts(&ps, res);

	/* the boundary, whole (to know its length), then cut to fit */
	o = (struct obuf){ btmp, 0, sizeof(btmp) };
	ct->has_boundary = param_value(&ps, &ps.p[0], 0, &o);
	ct->blen = o.n;
	memcpy(ct->boundary, btmp, o.n < MIME_BOUNDARY_MAX ? o.n :
	    MIME_BOUNDARY_MAX);
	ct->boundary[o.n < MIME_BOUNDARY_MAX ? o.n : MIME_BOUNDARY_MAX] = '\0';
	if (ps.p[0].plain && ps.p[0].nseg > 0 && !ps.p[0].conflict &&
	    (ps.p[0].plen != o.n ||
	    memcmp(ps.buf + ps.p[0].poff, btmp, o.n) != 0))
		mime_flag(res, MIME_AMBIGUOUS,
		    "conflicting boundary parameters");
	param_filename(&ps, &ps.p[1], ct->name, sizeof(ct->name));
}

void
mime_parse_cdisp(const unsigned char *v, size_t n, struct mime_cdisp *cd,
    struct mime_result *res)
{
	struct params ps;
	struct cur c = { v, v + n };
	char type[32];

	memset(cd, 0, sizeof(*cd));
	params_init(&ps);
	skip_cfws(&c, res);
	get_token(&c, type, sizeof(type));
	cd->attachment = strcmp(type, "attachment") == 0;
	get_params(&c, &ps, res);
	flag_conflicts(&ps, res);
	param_filename(&ps, &ps.p[2], cd->filename, sizeof(cd->filename));
}

void
mime_parse_cte(const unsigned char *v, size_t n, char *out, size_t outsz,
    struct mime_result *res)
{
	struct cur c = { v, v + n };

	skip_cfws(&c, res);
	get_token(&c, out, outsz);
	skip_cfws(&c, res);
	/* "base64", base64; x: one reader's base64 is another's 7bit */
	if (c.p < c.e)
		mime_flag(res, MIME_BAD_ENCODING,
		    "transfer encoding is not one token");
	if (out[0] == '\0')
		snprintf(out, outsz, "7bit");
}
