/*
 * Links in an HTML part, found by a bounded scanner of our own rather than
 * a parser that builds a tree (libxml2's HTML parser is quadratic in the
 * attributes of one tag).  One pass over the bytes, reading them the way a
 * browser's tokenizer does: comments, <!...> and <?...> skipped; script,
 * style, textarea, title... read as raw text up to their end tag; attribute
 * values double-quoted, single-quoted or bare; names in any case; character
 * references (&amp; &#47; &#x2F; &colon; ...) decoded, and TAB, LF and CR
 * dropped from an href as URL parsers do.  For each <a href> it reports
 * the host the link goes to and the host its text shows, if the text looks
 * like a URL or a domain ("www.bank.example", "https://bank.example/login").
 * A link ends at </a>, at the next <a>, at the end tag of an element it
 * sits in (a stray end tag is ignored, as browsers do) or at the end.
 *
 * Bounds: every byte is looked at a bounded number of times and an end
 * tag is compared with at most HTML_DEPTH_MAX open elements (one word
 * each), so the work is linear in the part; memory is one buffer the size
 * of the part (the longest href it may hold) and a fixed structure: names
 * keep HTML_NAME_MAX bytes, link text HOST_MAX, the open elements
 * HTML_DEPTH_MAX.  Only the first href of a tag is kept, whatever the
 * number of attributes; past max_links links or the deadline it stops.
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <scanmilter/engine.h>

#include "rules.h"

#define HOST_MAX	256
#define HTML_NAME_MAX	16	/* bytes of a tag or attribute name kept */
#define HTML_DEPTH_MAX	256	/* open elements remembered */
#define HTML_REF_MAX	32	/* longest character reference name */
#define HTML_CHECK	((size_t)64 * 1024) /* bytes between deadline checks */

int
rules_url_host(const char *url, char *out, size_t outlen)
{
	const char *p = url, *a, *end, *at, *h;
	size_t n;

	/* browsers drop leading blanks and control characters */
	while (*p != '\0' && (unsigned char)*p <= ' ')
		p++;
	if (strncasecmp(p, "http:", 5) == 0)
		p += 5;
	else if (strncasecmp(p, "https:", 6) == 0)
		p += 6;
	else if (!((p[0] == '/' || p[0] == '\\') &&
	    (p[1] == '/' || p[1] == '\\')))
		return -1;	/* relative, mailto:, javascript: … */
	while (*p == '/' || *p == '\\')
		p++;
	a = p;
	end = a + strcspn(a, "/\\?#");
	for (const char *q = a; q < end; q++)
		if ((unsigned char)*q <= ' ') {
			end = q;
			break;
		}
	/* user info: "http://bank.example@evil.example/" goes to evil */
	h = a;
	for (at = a; at < end; at++)
		if (*at == '@')
			h = at + 1;
	if (*h == '[') {		/* IPv6 literal */
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL)
			return -1;
		n = (size_t)(rb + 1 - h);
	} else {
		const char *colon = memchr(h, ':', (size_t)(end - h));

		n = (size_t)((colon != NULL ? colon : end) - h);
	}
	while (n > 0 && h[n - 1] == '.')
		n--;
	if (n == 0 || n >= outlen)
		return -1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)h[i]);
	out[n] = '\0';
	return 0;
}

/* Top-level domains a bare "name.tld" link text is believed with (besides
 * any two-letter country code); "invoice.pdf" is not a domain. */
static const char *const tlds[] = {
	"com", "net", "org", "info", "biz", "gov", "edu", "mil", "int",
	"app", "online", "xyz", "top", "shop", "site", "store", "club",
};

/* The host link text shows, or -1 when it does not look like one. */
static int
text_host(const char *text, char *out, size_t outlen)
{
	const char *s = text, *tld;
	size_t n, hl;
	int ok = 0;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n >= HOST_MAX)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (isspace((unsigned char)s[i]))
			return -1;	/* words, not an address */
	if (strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0) {
		char tmp[HOST_MAX];

		memcpy(tmp, s, n);
		tmp[n] = '\0';
		return rules_url_host(tmp, out, outlen);
	}
	hl = strcspn(s, "/?#");
	if (hl > n)
		hl = n;
	while (hl > 0 && s[hl - 1] == '.')
		hl--;
	if (hl == 0 || hl >= outlen)
		return -1;
	for (size_t i = 0; i < hl; i++) {
		int c = tolower((unsigned char)s[i]);

		if (!isalnum(c) && c != '-' && c != '.')
			return -1;
		if (c == '.' && (i == 0 || s[i - 1] == '.'))
			return -1;
		out[i] = (char)c;
	}
	out[hl] = '\0';
	if ((tld = strrchr(out, '.')) == NULL)
		return -1;
	tld++;
	for (const char *c = tld; *c; c++)
		if (!isalpha((unsigned char)*c))
			return -1;
	if (strncmp(out, "www.", 4) == 0 || strlen(tld) == 2)
		ok = 1;
	for (size_t i = 0; i < ARRAY_LEN(tlds) && !ok; i++)
		if (strcmp(tld, tlds[i]) == 0)
			ok = 1;
	return ok ? 0 : -1;
}


/* ---- the scanner ---------------------------------------------------------- */

/* What the text of the open link is so far: nothing, one word, one word
 * and blanks, or more (or too long): only one word can show a host. */
enum html_text { HT_EMPTY, HT_WORD, HT_AFTER, HT_NONE };

struct html {
	const unsigned char *p, *end;
	uint32_t stack[HTML_DEPTH_MAX];	/* open elements: name hashes */
	size_t	 depth;
	size_t	 lost;			/* opened past HTML_DEPTH_MAX */
	/* the open <a>, if any */
	int	 in_link;
	int	 has_host;		/* its href goes to a host */
	size_t	 link_at;		/* its place in stack, or SIZE_MAX */
	char	 href_host[HOST_MAX];
	char	 text[HOST_MAX];
	size_t	 tlen;
	enum html_text tstate;
	/* one href value, decoded (as long as the part) */
	char	*val;
	size_t	 valcap;
	size_t	 links, max_links;
	rules_link_fn fn;
	void	*arg;
	int	 stop;			/* fn said stop, or max_links */
};

/* HTML's blanks (not \v). */
static int
html_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static uint32_t
html_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

/* Character references that matter in a URL, a host name or a phrase, and
 * the few that old mail writes without their ';' (legacy: 1). */
static const struct {
	const char *name;
	const char *utf8;
	int	 legacy;
} html_refs[] = {
	{ "amp", "&", 1 }, { "AMP", "&", 1 }, { "lt", "<", 1 },
	{ "LT", "<", 1 }, { "gt", ">", 1 }, { "GT", ">", 1 },
	{ "quot", "\"", 1 }, { "QUOT", "\"", 1 }, { "nbsp", "\302\240", 1 },
	{ "apos", "'", 0 }, { "colon", ":", 0 }, { "sol", "/", 0 },
	{ "bsol", "\\", 0 }, { "period", ".", 0 }, { "commat", "@", 0 },
	{ "quest", "?", 0 }, { "num", "#", 0 }, { "percnt", "%", 0 },
	{ "equals", "=", 0 }, { "plus", "+", 0 }, { "lowbar", "_", 0 },
	{ "excl", "!", 0 }, { "semi", ";", 0 }, { "comma", ",", 0 },
	{ "Tab", "\t", 0 }, { "NewLine", "\n", 0 },
	{ "shy", "\302\255", 1 },	/* invisible: for the text shown */
};

static size_t
utf8_put(unsigned long c, char *out)
{
	if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		c = 0xfffd;
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3f));
	out[2] = (char)(0x80 | (c >> 6 & 0x3f));
	out[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/*
 * A character reference at h->p, just past its '&': decoded into out (at
 * most 4 bytes, never more than it takes up in the input) with h->p moved
 * past it; returns the length, or 0 when there is none (h->p unmoved: the
 * '&' stands for itself).  In an attribute, a legacy name without ';'
 * followed by a letter, digit or '=' is not one (as browsers read it).
 */
static size_t
html_ref(struct html *h, int in_attr, char *out)
{
	const unsigned char *p = h->p, *e = h->end;
	char name[HTML_REF_MAX + 1];
	size_t n = 0;

	if (p < e && *p == '#') {
		unsigned long v = 0;
		int hex = 0, digits = 0;

		p++;
		if (p < e && (*p == 'x' || *p == 'X')) {
			hex = 1;
			p++;
		}
		for (; p < e && (hex ? isxdigit(*p) : isdigit(*p)); p++) {
			int d = isdigit(*p) ? *p - '0' : tolower(*p) - 'a' + 10;

			v = v > 0x10ffff ? v : v * (hex ? 16 : 10) + (unsigned)d;
			digits++;
		}
		if (digits == 0)
			return 0;
		if (p < e && *p == ';')
			p++;
		h->p = p;
		return utf8_put(v, out);
	}
	while (p < e && n < HTML_REF_MAX && isalnum(*p))
		name[n++] = (char)*p++;
	name[n] = '\0';
	if (n == 0)
		return 0;
	for (size_t i = 0; i < ARRAY_LEN(html_refs); i++) {
		size_t k;

		if (strcmp(name, html_refs[i].name) != 0)
			continue;
		if (p < e && *p == ';')
			p++;
		else if (!html_refs[i].legacy || (in_attr && p < e &&
		    (isalnum(*p) || *p == '=')))
			return 0;
		k = strlen(html_refs[i].utf8);
		memcpy(out, html_refs[i].utf8, k);
		h->p = p;
		return k;
	}
	return 0;
}

/* Adds bytes of link text: one word of up to HOST_MAX - 1 bytes is kept. */
static void
text_add(struct html *h, const char *s, size_t n)
{
	for (size_t i = 0; i < n && h->tstate != HT_NONE; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isspace(c)) {
			if (h->tstate == HT_WORD)
				h->tstate = HT_AFTER;
			continue;
		}
		if (h->tstate == HT_AFTER || h->tlen + 1 >= HOST_MAX) {
			h->tstate = HT_NONE;	/* words, or too long */
			break;
		}
		h->text[h->tlen++] = c == '\0' ? '\1' : (char)c;
		h->tstate = HT_WORD;
	}
}

/* The open <a> ends: report it if it goes to a host. */
static void
link_end(struct html *h)
{
	char th[HOST_MAX];
	int have_text;

	if (!h->in_link)
		return;
	h->in_link = 0;
	if (!h->has_host || h->stop)
		return;
	h->text[h->tlen] = '\0';
	have_text = (h->tstate == HT_WORD || h->tstate == HT_AFTER) &&
	    text_host(h->text, th, sizeof(th)) == 0;
	if (h->fn(h->href_host, have_text ? th : NULL, h->arg) != 0 ||
	    ++h->links >= h->max_links)
		h->stop = 1;
}

/* Closes the elements from stack[at] up (and the link if it is one). */
static void
pop_to(struct html *h, size_t at)
{
	if (h->in_link && h->link_at != SIZE_MAX && h->link_at >= at)
		link_end(h);
	h->depth = at;
	h->lost = 0;
}

/* A tag or attribute name at h->p, lowercased, cut to HTML_NAME_MAX - 1
 * bytes; it ends at a blank, '/', '>' or (an attribute's, past its first
 * byte) '='. */
static void
read_name(struct html *h, char *name, int attr)
{
	size_t n = 0, all = 0;

	for (; h->p < h->end; h->p++, all++) {
		unsigned char c = *h->p;

		if (html_blank(c) || c == '/' || c == '>' ||
		    (attr && c == '=' && all > 0))
			break;
		if (n < HTML_NAME_MAX - 1)
			name[n++] = (char)tolower(c);
	}
	name[n] = '\0';
}

static void
skip_blanks(struct html *h)
{
	while (h->p < h->end && html_blank(*h->p))
		h->p++;
}

/* An attribute value at h->p: double-quoted, single-quoted or bare.  With
 * keep, decoded into h->val (NUL-terminated; TAB, LF and CR dropped). */
static void
read_value(struct html *h, int keep)
{
	unsigned char q = 0;
	size_t n = 0;

	if (h->p < h->end && (*h->p == '"' || *h->p == '\''))
		q = *h->p++;
	if (!keep && q != 0) {
		const unsigned char *e = memchr(h->p, q,
		    (size_t)(h->end - h->p));

		h->p = e != NULL ? e + 1 : h->end;
		return;
	}
	while (h->p < h->end) {
		unsigned char c = *h->p;
		char u[4];
		size_t k = 1;

		if (q != 0 ? c == q : (html_blank(c) || c == '>'))
			break;
		h->p++;
		if (!keep)
			continue;
		if (c != '&' || (k = html_ref(h, 1, u)) == 0) {
			u[0] = c == '\0' ? ' ' : (char)c;
			k = 1;
		}
		for (size_t i = 0; i < k && n + 1 < h->valcap; i++)
			if (u[i] != '\t' && u[i] != '\n' && u[i] != '\r')
				h->val[n++] = u[i];
	}
	if (q != 0 && h->p < h->end)
		h->p++;
	if (keep)
		h->val[n] = '\0';
}

/*
 * The attributes of a tag, up to and past its '>'; with want_href, the
 * first href's value is left decoded in h->val.  Returns 1 if the tag
 * ended, 0 at the end of the input (the tag is dropped, as browsers do),
 * with *got_href telling whether an href was seen.
 */
static int
read_attrs(struct html *h, int want_href, int *got_href)
{
	char an[HTML_NAME_MAX];

	*got_href = 0;
	for (;;) {
		int href;

		while (h->p < h->end && (html_blank(*h->p) || *h->p == '/'))
			h->p++;
		if (h->p >= h->end)
			return 0;
		if (*h->p == '>') {
			h->p++;
			return 1;
		}
		read_name(h, an, 1);
		href = want_href && !*got_href && strcmp(an, "href") == 0;
		if (href) {
			*got_href = 1;
			h->val[0] = '\0';
		}
		skip_blanks(h);
		if (h->p < h->end && *h->p == '=') {
			h->p++;
			skip_blanks(h);
			read_value(h, href);
		}
	}
}

/* Elements whose content is raw text up to their own end tag, and those
 * that never have content. */
static const char *const raw_elements[] = {
	"script", "style", "textarea", "title", "xmp", "iframe", "noembed",
	"noframes", "plaintext",
};
static const char *const void_elements[] = {
	"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
	"meta", "param", "source", "track", "wbr", "basefont", "bgsound",
	"frame", "keygen", "isindex", "image",
};

static int
listed(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (name[0] == list[i][0] && strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

/* Skips raw text up to "</name" (any case) followed by a blank, '/' or
 * '>'; the end tag itself is left for the caller. */
static void
skip_raw(struct html *h, const char *name)
{
	size_t n = strlen(name);

	while (h->p < h->end) {
		const unsigned char *lt = memchr(h->p, '<',
		    (size_t)(h->end - h->p));

		if (lt == NULL)
			break;
		h->p = lt + 1;
		if ((size_t)(h->end - h->p) > n + 1 && *h->p == '/' &&
		    strncasecmp((const char *)h->p + 1, name, n) == 0 &&
		    (html_blank(h->p[n + 1]) || h->p[n + 1] == '/' ||
		    h->p[n + 1] == '>')) {
			h->p = lt;
			return;
		}
	}
	h->p = h->end;
}

/* A start tag, h->p at its name. */
static void
start_tag(struct html *h)
{
	char name[HTML_NAME_MAX];
	int is_a, got_href;

	read_name(h, name, 0);
	is_a = strcmp(name, "a") == 0;
	if (!read_attrs(h, is_a, &got_href))
		return;
	if (is_a) {
		if (h->in_link) {	/* an <a> ends the one before */
			link_end(h);
			if (h->link_at != SIZE_MAX)
				pop_to(h, h->link_at);
		}
		h->in_link = 1;
		h->has_host = got_href &&
		    rules_url_host(h->val, h->href_host,
		    sizeof(h->href_host)) == 0;
		h->tlen = 0;
		h->tstate = HT_EMPTY;
		h->link_at = h->depth < HTML_DEPTH_MAX ? h->depth : SIZE_MAX;
	} else if (listed(name, void_elements, ARRAY_LEN(void_elements))) {
		return;
	} else if (listed(name, raw_elements, ARRAY_LEN(raw_elements))) {
		skip_raw(h, name);	/* its end tag closes it below */
	}
	if (h->depth < HTML_DEPTH_MAX)
		h->stack[h->depth++] = html_hash(name);
	else
		h->lost++;
}

/* An end tag, h->p at its name: closes the innermost open element of that
 * name and everything inside it; one that is not open is ignored. */
static void
end_tag(struct html *h)
{
	char name[HTML_NAME_MAX];
	uint32_t hash;
	int dummy;

	read_name(h, name, 0);
	if (!read_attrs(h, 0, &dummy))
		return;
	if (strcmp(name, "a") == 0 && h->in_link) {
		link_end(h);
		if (h->link_at != SIZE_MAX)
			pop_to(h, h->link_at);
		return;
	}
	hash = html_hash(name);
	for (size_t i = h->depth; i-- > 0;)
		if (h->stack[i] == hash) {
			pop_to(h, i);
			return;
		}
	if (h->lost > 0)
		h->lost--;	/* one of those we could not remember */
}

/* Text of the open link up to the next '<'. */
static void
link_text(struct html *h)
{
	while (h->p < h->end && *h->p != '<' && h->tstate != HT_NONE) {
		char u[4];
		size_t k;

		if (*h->p == '&') {
			h->p++;
			if ((k = html_ref(h, 0, u)) == 0) {
				u[0] = '&';
				k = 1;
			}
		} else {
			u[0] = (char)*h->p++;
			k = 1;
		}
		text_add(h, u, k);
	}
}

/* A comment, h->p past "<!--": up to "-->" or "--!>" (or the end). */
static void
skip_comment(struct html *h)
{
	const unsigned char *q;

	if (h->p < h->end && *h->p == '>') {		/* <!--> */
		h->p++;
		return;
	}
	if (h->end - h->p >= 2 && h->p[0] == '-' && h->p[1] == '>') {
		h->p += 2;				/* <!---> */
		return;
	}
	while ((q = memmem(h->p, (size_t)(h->end - h->p), "--", 2)) != NULL) {
		h->p = q + 2;
		if (h->p < h->end && *h->p == '>') {
			h->p++;
			return;
		}
		if (h->end - h->p >= 2 && h->p[0] == '!' && h->p[1] == '>') {
			h->p += 2;
			return;
		}
		h->p = q + 1;
	}
	h->p = h->end;
}

static void
skip_to_gt(struct html *h)
{
	const unsigned char *q = memchr(h->p, '>', (size_t)(h->end - h->p));

	h->p = q != NULL ? q + 1 : h->end;
}

/* At h->p just past '<': a comment, a declaration ("<!...>") or a
 * processing instruction ("<?...>") is skipped whole; 1 if it was one. */
static int
skip_markup_decl(struct html *h)
{
	if (*h->p == '?') {
		skip_to_gt(h);
		return 1;
	}
	if (*h->p != '!')
		return 0;
	h->p++;
	if (h->end - h->p >= 2 && h->p[0] == '-' && h->p[1] == '-') {
		h->p += 2;
		skip_comment(h);
	} else {
		skip_to_gt(h);
	}
	return 1;
}

int
rules_html_links(const unsigned char *html, size_t len, size_t max_links,
    const struct timespec *deadline, rules_link_fn fn, void *arg)
{
	struct html *h;
	const unsigned char *checked = html;
	int rc = 0;

	if (len == 0 || max_links == 0)
		return 0;
	h = rules_xcalloc(1, sizeof(*h));
	h->p = html;
	h->end = html + len;
	h->valcap = len + 1;
	h->val = rules_xmalloc(h->valcap);
	h->max_links = max_links;
	h->fn = fn;
	h->arg = arg;
	while (h->p < h->end && !h->stop) {
		if ((size_t)(h->p - checked) >= HTML_CHECK) {
			checked = h->p;
			if (deadline != NULL && sm_deadline_passed(deadline)) {
				rc = -1;
				goto out;
			}
		}
		if (h->in_link) {
			link_text(h);
			if (h->p < h->end && *h->p != '<') {
				/* the text is no host any more: skip it */
				const unsigned char *lt = memchr(h->p, '<',
				    (size_t)(h->end - h->p));

				h->p = lt != NULL ? lt : h->end;
			}
		} else {
			const unsigned char *lt = memchr(h->p, '<',
			    (size_t)(h->end - h->p));

			h->p = lt != NULL ? lt : h->end;
		}
		if (h->p >= h->end)
			break;
		h->p++;			/* past '<' */
		if (h->p >= h->end) {
			if (h->in_link)
				text_add(h, "<", 1);
			break;
		}
		if (skip_markup_decl(h))
			continue;
		if (*h->p == '/') {
			h->p++;
			if (h->p < h->end && isalpha(*h->p))
				end_tag(h);
			else
				skip_to_gt(h);	/* "</>" or a bogus comment */
		} else if (isalpha(*h->p)) {
			start_tag(h);
		} else if (h->in_link) {
			text_add(h, "<", 1);	/* a '<' of the text */
		}
	}
	link_end(h);
out:
	free(h->val);
	free(h);
	return rc;
}

/* ---- the text a document shows, for phrases ------------------------------ */

/* Elements that do not break a word: "lot<b></b>tery" reads "lottery". */
static const char *const inline_elements[] = {
	"a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del",
	"dfn", "em", "font", "i", "ins", "kbd", "mark", "nobr", "q", "s",
	"samp", "small", "span", "strike", "strong", "sub", "sup", "time",
	"tt", "u", "var", "wbr", "blink", "o:p",
};

/* Appends n bytes to the text, as many as fit. */
static void
shown_add(char *out, size_t outcap, size_t *o, const char *s, size_t n)
{
	if (outcap - *o < n)
		n = outcap - *o;
	memcpy(out + *o, s, n);
	*o += n;
}

int
rules_html_text(const unsigned char *html, size_t len, char *out,
    size_t outcap, size_t *outlen, const struct timespec *deadline)
{
	struct html *h;
	const unsigned char *checked = html;
	size_t o = 0;
	int rc = 0;

	if (outcap > len)
		outcap = len;	/* what the scan writes never outgrows it */
	h = rules_xcalloc(1, sizeof(*h));
	h->p = html;
	h->end = html + len;
	while (h->p < h->end) {
		char name[HTML_NAME_MAX], u[4];
		int dummy, end_tag;
		size_t k;

		if ((size_t)(h->p - checked) >= HTML_CHECK) {
			checked = h->p;
			if (deadline != NULL && sm_deadline_passed(deadline)) {
				rc = -1;
				goto out;
			}
		}
		if (*h->p == '&') {
			h->p++;
			if ((k = html_ref(h, 0, u)) == 0) {
				u[0] = '&';
				k = 1;
			}
			shown_add(out, outcap, &o, u, k);
			continue;
		}
		if (*h->p != '<') {
			const unsigned char *q = h->p;

			while (q < h->end && *q != '<' && *q != '&')
				q++;
			shown_add(out, outcap, &o, (const char *)h->p,
			    (size_t)(q - h->p));
			h->p = q;
			continue;
		}
		h->p++;				/* past '<' */
		if (h->p >= h->end) {
			shown_add(out, outcap, &o, "<", 1);
			break;
		}
		if (skip_markup_decl(h))
			continue;
		end_tag = *h->p == '/';
		if (end_tag)
			h->p++;
		if (h->p >= h->end || !isalpha(*h->p)) {
			if (end_tag)
				skip_to_gt(h);	/* "</>" or a bogus comment */
			else
				shown_add(out, outcap, &o, "<", 1);
			continue;
		}
		read_name(h, name, 0);
		if (!read_attrs(h, 0, &dummy))
			break;		/* a tag cut short: dropped */
		if (!listed(name, inline_elements, ARRAY_LEN(inline_elements)))
			shown_add(out, outcap, &o, " ", 1);
		if (!end_tag && listed(name, raw_elements,
		    ARRAY_LEN(raw_elements)) && strcmp(name, "textarea") != 0 &&
		    strcmp(name, "plaintext") != 0 && strcmp(name, "xmp") != 0)
			skip_raw(h, name);	/* not shown */
	}
out:
	*outlen = o;
	free(h);
	return rc;
}
