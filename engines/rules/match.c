/*
 * Evaluating the rules of one active set against one message: envelope
 * (client address, HELO, sender), the top-level header fields, then, only
 * when the set has rules that need them, the MIME parts the daemon parsed
 * once for every engine of the message (sm_object.parts): decoded text parts, HTML parts (html.c) and attachments
 * (file names, declared against detected type, SHA-256).  Header rules see
 * each value as written and, when it has RFC 2047 encoded words, decoded;
 * phrases are looked for in each text part as written and as a reader
 * shows it (decode.c: its charset made UTF-8, an HTML part's text without
 * markup and with references decoded, case and blanks folded), so rules
 * only gain from the decoding.  Every input is
 * capped, so the cost per message is bounded by the caps below, and the
 * evaluation gives up at its deadline: it is looked at before each field,
 * part and rule, and every PHRASE_CHECK phrases of a long list.
 */
#include "config.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <scanmilter/engine.h>

#include "rules.h"

#define HEADER_MAX	((size_t)256 * 1024)	/* top-level header block */
#define VALUE_MAX	((size_t)16 * 1024)	/* one unfolded field value */
#define TEXT_MAX	((size_t)1024 * 1024)	/* searched of one text part */
#define HTML_MAX	((size_t)512 * 1024)	/* parsed of one HTML part */
#define LINKS_MAX	1000			/* links looked at per part */
#define PHRASE_CHECK	256	/* phrases searched between deadline checks */

struct scan {
	const struct rules_active *act;
	unsigned char *fired;
	long	 score;
	char	*low;		/* lowercased text part (TEXT_MAX) */
	size_t	 lowcap;
	const struct timespec *deadline;	/* NULL: none */
	int	 expired;	/* the deadline passed: stop */
	char	*conv;		/* a text part made UTF-8 (TEXT_MAX) */
	struct rules_iconv ic;
	size_t	 budget;	/* decoded part bytes still looked at: as
				 * many as the message bytes given */
};

/* Frees what an evaluation allocated. */
static void
scan_done(struct scan *sc)
{
	free(sc->low);
	free(sc->conv);
	rules_iconv_close(&sc->ic);
}

/* 1 (for good) once the deadline has passed. */
static int
late(struct scan *sc)
{
	if (!sc->expired && sc->deadline != NULL &&
	    sm_deadline_passed(sc->deadline))
		sc->expired = 1;
	return sc->expired;
}

static void
fire(struct scan *sc, size_t i)
{
	if (sc->fired[i])
		return;
	sc->fired[i] = 1;
	sc->score += sc->act->r[i]->score;
}

int
rules_domain_within(const char *host, const char *domain)
{
	size_t hl = strlen(host), dl = strlen(domain);

	if (hl == dl)
		return strcmp(host, domain) == 0;
	return hl > dl && host[hl - dl - 1] == '.' &&
	    strcmp(host + hl - dl, domain) == 0;
}

/* 1 if host or a parent domain of it is in r's sorted domain list. */
static int
domain_listed(const struct rule *r, const char *host)
{
	for (const char *p = host; p != NULL && *p != '\0';) {
		if (bsearch(&p, r->str, r->nstr, sizeof(*r->str), rules_cmp_str))
			return 1;
		if ((p = strchr(p, '.')) != NULL)
			p++;
	}
	return 0;
}

/* Lowercases a domain into out without a trailing dot; "" if too long. */
static void
domain_copy(char *out, size_t outlen, const char *s, size_t n)
{
	while (n > 0 && s[n - 1] == '.')
		n--;
	if (n >= outlen)
		n = 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
}

static void
eval_envelope(struct scan *sc, const struct rules_msg *m)
{
	char helo[256] = "", sdom[256] = "";

	if (m->helo != NULL)
		domain_copy(helo, sizeof(helo), m->helo, strlen(m->helo));
	if (m->sender != NULL) {
		const char *at = strrchr(m->sender, '@');

		if (at != NULL)
			domain_copy(sdom, sizeof(sdom), at + 1,
			    strcspn(at + 1, ">"));
	}
	for (size_t i = 0; i < sc->act->n; i++) {
		const struct rule *r = sc->act->r[i];

		switch (r->kind) {
		case RK_CLIENT:
			if (m->client_addr != NULL && *m->client_addr &&
			    rules_net_match(&r->nets, m->client_addr))
				fire(sc, i);
			break;
		case RK_HELO:
			if (*helo && domain_listed(r, helo))
				fire(sc, i);
			break;
		case RK_SENDER:
			if (*sdom && domain_listed(r, sdom))
				fire(sc, i);
			break;
		default:
			break;
		}
	}
}

/* ---- header fields ------------------------------------------------------ */

/* Runs the header rules for field name that have not fired on text;
 * returns whether any of them is still open. */
static int
match_field(struct scan *sc, const unsigned char *name, size_t nlen,
    const char *text)
{
	int open = 0;

	for (size_t i = 0; i < sc->act->n; i++) {
		const struct rule *r = sc->act->r[i];

		if (r->kind != RK_HEADER || sc->fired[i] ||
		    strlen(r->field) != nlen ||
		    strncasecmp(r->field, (const char *)name, nlen) != 0)
			continue;
		for (size_t j = 0; j < r->nre && !late(sc); j++)
			if (regexec(&r->re[j], text, 0, NULL, 0) == 0) {
				fire(sc, i);
				break;
			}
		open |= !sc->fired[i];
	}
	return open;
}

/* Runs the header rules for field name on value; once more on the value
 * RFC 2047 decoded, if it has encoded words (dec: VALUE_MAX + 1 bytes). */
static void
eval_field(struct scan *sc, const unsigned char *name, size_t nlen,
    const char *value, char *dec)
{
	if (match_field(sc, name, nlen, value) && !late(sc) &&
	    rules_2047_decode(&sc->ic, value, dec, VALUE_MAX + 1))
		(void)match_field(sc, name, nlen, dec);
}

/*
 * Walks the header block (up to the empty line) and hands every field's
 * unfolded value — line breaks before blanks removed, outer blanks
 * stripped, NUL bytes made blanks, at most VALUE_MAX bytes — to the rules.
 */
static void
eval_headers(struct scan *sc, const unsigned char *p, size_t len)
{
	char *val = rules_xmalloc(VALUE_MAX + 1);
	char *dec = rules_xmalloc(VALUE_MAX + 1);
	size_t i = 0;

	if (len > HEADER_MAX)
		len = HEADER_MAX;
	while (i < len && p[i] != '\n' && !(p[i] == '\r' && i + 1 < len &&
	    p[i + 1] == '\n') && !late(sc)) {
		size_t ns = i, ne, vlen = 0, vs;

		while (i < len && p[i] != ':' && p[i] != '\n')
			i++;
		if (i >= len || p[i] == '\n') {	/* not a field: skip it */
			i++;
			continue;
		}
		ne = i++;
		while (ne > ns && (p[ne - 1] == ' ' || p[ne - 1] == '\t'))
			ne--;
		for (;;) {
			size_t ls = i, le;

			while (i < len && p[i] != '\n')
				i++;
			le = i;
			if (le > ls && p[le - 1] == '\r')
				le--;
			for (size_t k = ls; k < le && vlen < VALUE_MAX; k++)
				val[vlen++] = p[k] == '\0' ? ' ' : (char)p[k];
			if (i < len)
				i++;
			if (i < len && (p[i] == ' ' || p[i] == '\t'))
				continue;
			break;
		}
		while (vlen > 0 && (val[vlen - 1] == ' ' ||
		    val[vlen - 1] == '\t'))
			vlen--;
		val[vlen] = '\0';
		for (vs = 0; val[vs] == ' ' || val[vs] == '\t'; vs++)
			;
		if (ne > ns)
			eval_field(sc, p + ns, ne - ns, val + vs, dec);
	}
	free(val);
	free(dec);
}

/* ---- text and HTML parts ------------------------------------------------ */

/* Looks for the phrases of the body rules not fired yet in text. */
static void
eval_phrases(struct scan *sc, const char *text, size_t len)
{
	for (size_t i = 0; i < sc->act->n; i++) {
		const struct rule *r = sc->act->r[i];

		if (r->kind != RK_BODY || sc->fired[i])
			continue;
		for (size_t j = 0; j < r->nstr; j++) {
			if (j % PHRASE_CHECK == 0 && late(sc))
				return;
			if (memmem(text, len, r->str[j],
			    strlen(r->str[j])) != NULL) {
				fire(sc, i);
				break;
			}
		}
	}
}

/* 1 if a body rule has not fired yet. */
static int
phrases_open(const struct scan *sc)
{
	for (size_t i = 0; i < sc->act->n; i++)
		if (sc->act->r[i]->kind == RK_BODY && !sc->fired[i])
			return 1;
	return 0;
}

/* The charset a text part declares in its header block (its own when it
 * is a part of a multipart, the message's when it is the whole body). */
static void
part_charset(const struct sm_part *mp, char *cs, size_t cslen)
{
	cs[0] = '\0';
	if (mp->header != NULL)
		rules_part_charset(mp->header, mp->header_len, cs, cslen);
}

/*
 * The phrases in a text part: in the text a reader is shown -- the part
 * made UTF-8 from its charset, an HTML part's text without its markup,
 * folded (rules_text_fold()) -- and, when that is not just the bytes
 * folded, in its bytes as written (lowercased) first.  Both views hold at
 * most TEXT_MAX bytes.
 */
static void
eval_text(struct scan *sc, const struct sm_part *mp)
{
	const unsigned char *data = mp->data, *u;
	size_t len = mp->len, ulen, vlen, need;
	char cs[RULES_CHARSET_MAX], *view;
	int html;

	if (len > TEXT_MAX)
		len = TEXT_MAX;
	if (len == 0)
		return;
	/* a conversion may take 3 bytes for one (Windows-1252 to UTF-8) */
	need = len < TEXT_MAX / 3 ? 3 * len + 4 : TEXT_MAX;
	if (sc->lowcap < need) {
		free(sc->low);
		free(sc->conv);
		sc->low = rules_xmalloc(need);
		sc->conv = rules_xmalloc(need);
		sc->lowcap = need;
	}
	part_charset(mp, cs, sizeof(cs));
	u = rules_to_utf8(&sc->ic, cs, data, len, sc->conv, sc->lowcap,
	    &ulen);
	html = strcmp(mp->content_type, "text/html") == 0;
	if (u != data || html) {
		/* as written too: markup, or bytes in another charset */
		for (size_t i = 0; i < len; i++)
			sc->low[i] = (char)tolower(data[i]);
		eval_phrases(sc, sc->low, len);
		if (!phrases_open(sc) || late(sc))
			return;
	}
	/* UTF-8 text as it is: its folded form holds every phrase its
	 * lowercased bytes hold (phrases are folded alike) */
	if (html) {
		view = sc->low;		/* the bytes as written are done */
		if (rules_html_text(u, ulen, view, sc->lowcap, &vlen,
		    sc->deadline) < 0) {
			sc->expired = 1;
			return;
		}
		vlen = rules_text_fold(view, vlen, view);
	} else {
		view = sc->conv;	/* u is data or conv: folded in place */
		vlen = rules_text_fold((const char *)u, ulen, view);
	}
	eval_phrases(sc, view, vlen);
}

static const char *
strip_www(const char *h)
{
	return strncmp(h, "www.", 4) == 0 && h[4] != '\0' ? h + 4 : h;
}

/* 1 if a link rule has not fired yet. */
static int
links_open(const struct scan *sc)
{
	for (size_t i = 0; i < sc->act->n; i++)
		if ((sc->act->r[i]->kind == RK_LINK ||
		    sc->act->r[i]->kind == RK_LINK_MISMATCH) && !sc->fired[i])
			return 1;
	return 0;
}

static int
on_link(const char *href_host, const char *text_host, void *arg)
{
	struct scan *sc = arg;

	for (size_t i = 0; i < sc->act->n; i++) {
		const struct rule *r = sc->act->r[i];

		if (sc->fired[i])
			continue;
		if (r->kind == RK_LINK && domain_listed(r, href_host))
			fire(sc, i);
		else if (r->kind == RK_LINK_MISMATCH && text_host != NULL) {
			const char *a = strip_www(text_host);
			const char *b = strip_www(href_host);

			if (!rules_domain_within(a, b) &&
			    !rules_domain_within(b, a))
				fire(sc, i);
		}
	}
	return !links_open(sc);
}

static void
eval_html(struct scan *sc, const unsigned char *data, size_t len)
{
	if (!links_open(sc))
		return;
	if (rules_html_links(data, len > HTML_MAX ? HTML_MAX : len, LINKS_MAX,
	    sc->deadline, on_link, sc) < 0)
		sc->expired = 1;
}

/* ---- attachments -------------------------------------------------------- */

/*
 * The magic table: what the first bytes say a file is, and the declared
 * types that agree with it ("prefix*" matches a family).
 */
struct magic {
	const char *detected;
	const char *bytes;
	size_t	 len;
	const char *agrees;	/* space-separated */
};

#define M(s) s, sizeof(s) - 1
static const struct magic magic[] = {
	{ "application/x-dosexec", M("MZ"),
	  "application/x-dosexec application/x-msdownload "
	  "application/x-msdos-program application/x-ms-dos-executable "
	  "application/vnd.microsoft.portable-executable "
	  "application/x-executable application/exe application/x-exe "
	  "application/x-ms-installer application/x-msi" },
	{ "application/x-executable", M("\177ELF"),
	  "application/x-executable application/x-elf application/x-sharedlib "
	  "application/x-object application/x-pie-executable" },
	{ "application/pdf", M("%PDF-"), "application/pdf application/x-pdf" },
	{ "application/zip", M("PK\003\004"),
	  "application/zip application/x-zip application/x-zip-compressed "
	  "application/java-archive application/epub+zip "
	  "application/vnd.android.package-archive "
	  "application/vnd.openxmlformats-* application/vnd.oasis.opendocument.* "
	  "application/vnd.ms-excel.* application/vnd.ms-word.* "
	  "application/vnd.ms-powerpoint.* application/vnd.ms-xpsdocument" },
	{ "application/x-ole-storage", M("\320\317\021\340\241\261\032\341"),
	  "application/msword application/vnd.ms-excel "
	  "application/vnd.ms-powerpoint application/vnd.ms-outlook "
	  "application/vnd.ms-office application/x-msi application/x-ole-storage "
	  "application/vnd.visio application/x-ms-installer" },
	{ "application/x-rar", M("Rar!\032\007"),
	  "application/x-rar application/x-rar-compressed application/vnd.rar" },
	{ "application/x-7z-compressed", M("7z\274\257\047\034"),
	  "application/x-7z-compressed" },
	{ "application/gzip", M("\037\213"),
	  "application/gzip application/x-gzip application/x-tar "
	  "application/x-compressed-tar application/x-gtar application/tgz" },
	{ "image/png", M("\211PNG\r\n\032\n"), "image/png image/x-png" },
	{ "image/jpeg", M("\377\330\377"), "image/jpeg image/jpg image/pjpeg" },
	{ "image/gif", M("GIF8"), "image/gif" },
	{ "application/rtf", M("{\\rtf"),
	  "application/rtf text/rtf application/msword" },
};
#undef M

/* Declared types that claim nothing: never a mismatch. */
static const char *const generic_types[] = {
	"application/octet-stream", "binary/octet-stream",
	"application/x-download", "application/force-download",
	"application/unknown", "application/binary",
};

int
rules_magic_known(const char *type)
{
	for (size_t i = 0; i < ARRAY_LEN(magic); i++)
		if (strcmp(magic[i].detected, type) == 0)
			return 1;
	return 0;
}

static const struct magic *
magic_detect(const unsigned char *p, size_t len)
{
	for (size_t i = 0; i < ARRAY_LEN(magic); i++)
		if (len >= magic[i].len &&
		    memcmp(p, magic[i].bytes, magic[i].len) == 0)
			return &magic[i];
	return NULL;
}

static int
magic_agrees(const struct magic *m, const char *declared)
{
	size_t dl = strlen(declared);

	for (const char *p = m->agrees; *p;) {
		size_t n = strcspn(p, " ");

		if (n > 0 && p[n - 1] == '*') {
			if (dl >= n - 1 && strncmp(declared, p, n - 1) == 0)
				return 1;
		} else if (n == dl && strncmp(declared, p, n) == 0)
			return 1;
		p += n;
		while (*p == ' ')
			p++;
	}
	return 0;
}

/* Extensions a double extension hides behind: "invoice.pdf.exe". */
static const char *const document_exts[] = {
	"pdf", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx",
	"rtf", "txt", "csv", "odt", "ods", "jpg", "jpeg", "png", "gif", "bmp",
	"tif", "tiff", "zip", "rar", "7z", "htm", "html", "mp3", "mp4", "avi",
	"mov", "wav",
};

/* Splits a file name into its last extension and the one before it
 * (lowercased; trailing dots and blanks dropped, as Windows does). */
static void
split_ext(const char *name, char *ext, char *prev, size_t n)
{
	char buf[256];
	size_t len = strlen(name);
	char *dot, *pdot;

	*ext = *prev = '\0';
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	while (len > 0 && (buf[len - 1] == '.' || buf[len - 1] == ' '))
		len--;
	buf[len] = '\0';
	if ((dot = strrchr(buf, '.')) == NULL)
		return;
	rules_strlcpy(ext, dot + 1, n);
	*dot = '\0';
	if ((pdot = strrchr(buf, '.')) != NULL)
		rules_strlcpy(prev, pdot + 1, n);
}

static int
is_document_ext(const char *e)
{
	for (size_t i = 0; i < ARRAY_LEN(document_exts); i++)
		if (strcmp(e, document_exts[i]) == 0)
			return 1;
	return 0;
}

static void
eval_attach(struct scan *sc, const struct rules_part *pt)
{
	const char *name = pt->filename != NULL ? pt->filename : "";
	const char *declared = pt->content_type != NULL ? pt->content_type :
	    "";
	const struct magic *m = magic_detect(pt->data, pt->len);
	int mismatch = 0, have_hash = 0;
	unsigned char md[32];
	char ext[32], prev[32];

	split_ext(name, ext, prev, sizeof(ext));
	if (m != NULL && *declared != '\0' && !magic_agrees(m, declared)) {
		mismatch = 1;
		for (size_t i = 0; i < ARRAY_LEN(generic_types); i++)
			if (strcmp(declared, generic_types[i]) == 0)
				mismatch = 0;
	}
	for (size_t i = 0; i < sc->act->n; i++) {
		const struct rule *r = sc->act->r[i];

		if (sc->fired[i])
			continue;
		switch (r->kind) {
		case RK_ATTACH_NAME:
			for (size_t j = 0; j < r->nstr && *name; j++)
				if (fnmatch(r->str[j], name, FNM_CASEFOLD) ==
				    0) {
					fire(sc, i);
					break;
				}
			break;
		case RK_ATTACH_EXT:
			if (*ext == '\0' ||
			    (r->double_ext && !is_document_ext(prev)))
				break;
			for (size_t j = 0; j < r->nstr; j++)
				if (strcmp(r->str[j], ext) == 0) {
					fire(sc, i);
					break;
				}
			break;
		case RK_TYPE_MISMATCH:
			if (!mismatch)
				break;
			if (r->nstr == 0)
				fire(sc, i);
			for (size_t j = 0; j < r->nstr; j++)
				if (strcmp(r->str[j], m->detected) == 0) {
					fire(sc, i);
					break;
				}
			break;
		case RK_SHA256:
			if (!have_hash) {
				unsigned int mdlen = 0;

				if (EVP_Digest(pt->data, pt->len, md, &mdlen,
				    EVP_sha256(), NULL) != 1 || mdlen != 32)
					break;
				have_hash = 1;
			}
			if (bsearch(md, r->hash, r->nhash, sizeof(*r->hash),
			    rules_cmp_hash))
				fire(sc, i);
			break;
		default:
			break;
		}
	}
}

/* ---- the message -------------------------------------------------------- */

static int
on_part(const struct sm_part *mp, void *arg)
{
	struct scan *sc = arg;
	unsigned need = sc->act->need;
	struct sm_part cut;

	if (late(sc) || sc->budget == 0)
		return 1;	/* stops the parts */
	if (mp->len > sc->budget) {	/* the engine's max_size, decoded */
		cut = *mp;
		cut.len = sc->budget;
		mp = &cut;
	}
	sc->budget -= mp->len;
	if (!mp->is_attachment && strncmp(mp->content_type, "text/", 5) == 0 &&
	    (need & NEED_TEXT))
		eval_text(sc, mp);
	if (strcmp(mp->content_type, "text/html") == 0 && (need & NEED_HTML))
		eval_html(sc, mp->data, mp->len);
	if (mp->is_attachment && (need & NEED_ATTACH)) {
		struct rules_part pt = { mp->data, mp->len, mp->filename,
		    mp->content_type[0] ? mp->content_type : NULL };

		eval_attach(sc, &pt);
	}
	return 0;
}

long
rules_eval_until(const struct rules_active *act, const struct rules_msg *msg,
    unsigned char *fired, const struct timespec *deadline, int *expired)
{
	struct scan sc = { act, fired, 0, NULL, 0, deadline, 0, NULL,
	    { NULL, "", 0 }, msg->data != NULL ? msg->len : 0 };
	const unsigned char *p = msg->data;
	size_t len = msg->data != NULL ? msg->len : 0;

	rules_iconv_init(&sc.ic);
	eval_envelope(&sc, msg);
	if ((act->need & NEED_HEADER) && len > 0 && !late(&sc))
		eval_headers(&sc, p, len);
	/* parts that cannot be had (the daemon could not read the message)
	 * leave only the envelope and header rules */
	if ((act->need & (NEED_TEXT | NEED_HTML | NEED_ATTACH)) && len > 0 &&
	    msg->parts != NULL && msg->parts->parts != NULL && !late(&sc))
		(void)msg->parts->parts(msg->parts, on_part, &sc);
	scan_done(&sc);
	*expired = sc.expired;
	return sc.score;
}

long
rules_eval(const struct rules_active *act, const struct rules_msg *msg,
    unsigned char *fired)
{
	int expired;

	return rules_eval_until(act, msg, fired, NULL, &expired);
}

long
rules_eval_part(const struct rules_active *act, const struct rules_msg *msg,
    const struct rules_part *part, unsigned char *fired,
    const struct timespec *deadline, int *expired)
{
	struct scan sc = { act, fired, 0, NULL, 0, deadline, 0, NULL,
	    { NULL, "", 0 }, msg->data != NULL ? msg->len : 0 };

	rules_iconv_init(&sc.ic);
	eval_envelope(&sc, msg);
	if ((act->need & NEED_ATTACH) && !late(&sc))
		eval_attach(&sc, part);
	scan_done(&sc);
	*expired = sc.expired;
	return sc.score;
}
