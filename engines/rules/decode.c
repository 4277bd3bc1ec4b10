/*
 * Text as a mail reader shows it, for the header and body rules: RFC 2047
 * encoded words in a header value decoded, a text part's charset (from its
 * Content-Type) converted to UTF-8 with iconv, and the result folded for
 * phrase matching (case, blanks, invisible characters).  Without this an
 * encoded Subject or a phrase in UTF-16, UTF-7 or quoted-printable Latin-1
 * would be read by the rules as bytes no phrase or regex is written in.
 *
 * Bounds: every function here is one pass over its input (iconv is linear
 * in what it converts) and writes at most the capacity it is given; a
 * charset name is looked at only if it is short and made of the characters
 * charset names use, so nothing but a known name reaches iconv_open().  A
 * charset iconv cannot convert (or no iconv module, as in a chroot) is read
 * as UTF-8 when the bytes are valid UTF-8 and as Windows-1252 otherwise,
 * by code of our own.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rules.h"

#define ICONV_NONE	((iconv_t)-1)

void
rules_iconv_init(struct rules_iconv *ic)
{
	ic->cd = ICONV_NONE;
	ic->charset[0] = '\0';
	ic->opens = 0;
}

void
rules_iconv_close(struct rules_iconv *ic)
{
	if (ic->cd != ICONV_NONE)
		iconv_close(ic->cd);
	ic->cd = ICONV_NONE;
	ic->charset[0] = '\0';
}

/* 1 if cs names a charset that is UTF-8 or a subset of it. */
static int
utf8_compatible(const char *cs)
{
	return *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	    strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	    strcasecmp(cs, "ascii") == 0;
}

int
rules_utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k;
		unsigned long v;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			k = 1;
			v = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			k = 2;
			v = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			k = 3;
			v = c & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			v = v << 6 | (s[i + j] & 0x3f);
		}
		if ((k == 2 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
		    (k == 3 && (v < 0x10000 || v > 0x10ffff)))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Windows-1252's 0x80..0x9f (0: unassigned, read as U+FFFD); the rest of
 * its upper half is Latin-1. */
static const unsigned short cp1252_hi[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* Writes code point c as UTF-8 if it fits in the cap bytes left; returns
 * the bytes written (0: no room). */
static size_t
put_cp(unsigned long c, char *out, size_t cap)
{
	size_t k = c < 0x80 ? 1 : c < 0x800 ? 2 : 3;

	if (k > cap)
		return 0;
	if (k == 1)
		out[0] = (char)c;
	else if (k == 2) {
		out[0] = (char)(0xc0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3f));
	} else {
		out[0] = (char)(0xe0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3f));
		out[2] = (char)(0x80 | (c & 0x3f));
	}
	return k;
}

static size_t
from_cp1252(const unsigned char *in, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned long c = in[i];
		size_t k;

		if (c >= 0x80 && c < 0xa0)
			c = cp1252_hi[c - 0x80] != 0 ? cp1252_hi[c - 0x80] :
			    0xfffd;
		if ((k = put_cp(c, out + o, cap - o)) == 0)
			break;
		o += k;
	}
	return o;
}

/* The converter from cs, kept in ic for the next text in the same
 * charset (or the failure to open one); ICONV_NONE if iconv cannot
 * convert from it or ic has opened RULES_ICONV_OPENS converters already. */
static iconv_t
conv_open(struct rules_iconv *ic, const char *cs)
{
	if (strcasecmp(ic->charset, cs) == 0)
		return ic->cd;
	if (ic->opens >= RULES_ICONV_OPENS)
		return ICONV_NONE;
	rules_iconv_close(ic);
	ic->opens++;
	ic->cd = iconv_open("UTF-8", cs);
	rules_strlcpy(ic->charset, cs, sizeof(ic->charset));
	return ic->cd;
}

/* Converts with iconv; an invalid sequence becomes U+FFFD and one byte of
 * it is skipped, an incomplete one at the end is dropped.  Returns the
 * bytes written. */
static size_t
conv_iconv(iconv_t cd, const unsigned char *in, size_t len, char *out,
    size_t cap)
{
	char *ip = (char *)(uintptr_t)in, *op = out;
	size_t il = len, ol = cap;

	iconv(cd, NULL, NULL, NULL, NULL);	/* initial state */
	while (il > 0 && ol > 0) {
		if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
			break;
		if (errno != EILSEQ)
			break;		/* E2BIG: full; EINVAL: cut short */
		if (ol < 3)
			break;
		memcpy(op, "\357\277\275", 3);
		op += 3;
		ol -= 3;
		ip++;
		il--;
		iconv(cd, NULL, NULL, NULL, NULL);
	}
	if (ol > 0) {			/* the shift back to the initial state */
		char *sp = op;
		size_t sl = ol;

		if (iconv(cd, NULL, NULL, &sp, &sl) != (size_t)-1) {
			op = sp;
			ol = sl;
		}
	}
	return cap - ol;
}

const unsigned char *
rules_to_utf8(struct rules_iconv *ic, const char *cs,
    const unsigned char *in, size_t len, char *out, size_t cap,
    size_t *outlen)
{
	iconv_t cd;

	if (utf8_compatible(cs) && rules_utf8_valid(in, len)) {
		*outlen = len < cap ? len : cap;
		return in;
	}
	if (utf8_compatible(cs) && strncasecmp(cs, "utf", 3) != 0)
		cs = "";	/* "us-ascii" with 8-bit bytes: as below */
	if (*cs != '\0' && (cd = conv_open(ic, cs)) != ICONV_NONE)
		*outlen = conv_iconv(cd, in, len, out, cap);
	else if (rules_utf8_valid(in, len)) {
		*outlen = len < cap ? len : cap;
		return in;
	} else
		*outlen = from_cp1252(in, len, out, cap);
	return (const unsigned char *)out;
}

/* ---- charset names and the Content-Type charset parameter -------------- */

/* Copies a charset name (up to RFC 2231's "*lang") into cs, or "" if it
 * is too long or holds characters no charset name has. */
static void
charset_copy(const char *s, size_t n, char *cs, size_t cslen)
{
	const char *star = memchr(s, '*', n);

	if (star != NULL)
		n = (size_t)(star - s);
	cs[0] = '\0';
	if (n == 0 || n >= cslen || n >= RULES_CHARSET_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && strchr("-_.:+", s[i]) ==
		    NULL)
			return;
	memcpy(cs, s, n);
	cs[n] = '\0';
}

void
rules_part_charset(const unsigned char *hdr, size_t len, char *cs,
    size_t cslen)
{
	size_t i = 0;

	cs[0] = '\0';
	if (len > RULES_PART_HEADER_MAX)
		len = RULES_PART_HEADER_MAX;
	while (i < len) {
		size_t ls = i, e;

		if (hdr[i] == '\n' || (hdr[i] == '\r' && i + 1 < len &&
		    hdr[i + 1] == '\n'))
			return;		/* the end of the header block */
		/* the field: its first line and its continuation lines */
		for (e = i; e < len; e++)
			if (hdr[e] == '\n' && (e + 1 >= len ||
			    (hdr[e + 1] != ' ' && hdr[e + 1] != '\t')))
				break;
		i = e < len ? e + 1 : len;
		if (e - ls < 13 || strncasecmp((const char *)hdr + ls,
		    "content-type:", 13) != 0)
			continue;
		/* ";" blanks "charset" blanks "=" blanks value */
		for (size_t k = ls + 13; k < e; k++) {
			size_t v, ve;
			char q;

			if (hdr[k] != ';')
				continue;
			for (v = k + 1; v < e && isspace(hdr[v]); v++)
				;
			if (e - v < 7 || strncasecmp((const char *)hdr + v,
			    "charset", 7) != 0)
				continue;
			for (v += 7; v < e && isspace(hdr[v]); v++)
				;
			if (v < e && hdr[v] == '*')	/* charset*=cs'lang'… */
				v++;
			if (v >= e || hdr[v] != '=')
				continue;
			for (v++; v < e && isspace(hdr[v]); v++)
				;
			q = v < e && hdr[v] == '"' ? '"' : 0;
			v += q != 0;
			for (ve = v; ve < e && (q != 0 ? hdr[ve] != q :
			    !isspace(hdr[ve]) && hdr[ve] != ';' &&
			    hdr[ve] != '\'' && hdr[ve] != '('); ve++)
				;
			charset_copy((const char *)hdr + v, ve - v, cs, cslen);
			return;
		}
		return;		/* the first Content-Type decides */
	}
}

/* ---- RFC 2047 ------------------------------------------------------------ */

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/*
 * An encoded word "=?charset?E?text?=" at s (NUL-terminated): on success
 * returns its length and leaves the charset in cs, the encoding in *enc
 * and the text in [*t, *t + *tn); 0 if there is none.  The text holds no
 * '?' and no blank, so a failed try never reads past the next one of
 * them: the scan of a whole value stays linear.
 */
static size_t
encoded_word(const char *s, char *cs, size_t cslen, char *enc,
    const char **t, size_t *tn)
{
	size_t i = 2, cstart = 2, tstart;

	if (s[0] != '=' || s[1] != '?')
		return 0;
	while (s[i] != '\0' && s[i] != '?' && !isspace((unsigned char)s[i]) &&
	    i - cstart < RULES_CHARSET_MAX)
		i++;
	if (s[i] != '?' || i == cstart)
		return 0;
	charset_copy(s + cstart, i - cstart, cs, cslen);
	i++;
	*enc = (char)toupper((unsigned char)s[i]);
	if ((*enc != 'B' && *enc != 'Q') || s[i + 1] != '?')
		return 0;
	i += 2;
	tstart = i;
	while (s[i] != '\0' && s[i] != '?' && !isspace((unsigned char)s[i]))
		i++;
	if (s[i] != '?' || s[i + 1] != '=')
		return 0;
	*t = s + tstart;
	*tn = i - tstart;
	return i + 2;
}

/* Decodes the text of an encoded word into buf; returns its length. */
static size_t
word_decode(char enc, const char *t, size_t tn, unsigned char *buf)
{
	size_t o = 0;

	if (enc == 'Q') {
		for (size_t i = 0; i < tn; i++) {
			int h, l;

			if (t[i] == '_')
				buf[o++] = ' ';
			else if (t[i] == '=' && i + 2 < tn &&
			    (h = hexval((unsigned char)t[i + 1])) >= 0 &&
			    (l = hexval((unsigned char)t[i + 2])) >= 0) {
				buf[o++] = (unsigned char)(h << 4 | l);
				i += 2;
			} else
				buf[o++] = (unsigned char)t[i];
		}
		return o;
	}
	unsigned long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < tn; i++) {
		int v = b64val((unsigned char)t[i]);

		if (v < 0)
			continue;	/* '=' padding, junk */
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (unsigned char)(acc >> bits);
		}
	}
	return o;
}

int
rules_2047_decode(struct rules_iconv *ic, const char *val, char *out,
    size_t outcap)
{
	size_t o = 0, i = 0, pending = 0;	/* blanks held back */
	int decoded = 0, last_word = 0;
	unsigned char *buf = NULL;
	char *cbuf = NULL;

	if (outcap == 0 || strstr(val, "=?") == NULL)
		return 0;	/* no encoded word: out is left alone */
	outcap--;		/* room for the NUL */
	while (val[i] != '\0' && o < outcap) {
		char cs[RULES_CHARSET_MAX], enc;
		const char *t;
		size_t tn, wl, bn, cn;
		const unsigned char *u;

		if (isspace((unsigned char)val[i]) && last_word) {
			pending++;	/* between two words: dropped */
			i++;
			continue;
		}
		if ((wl = encoded_word(val + i, cs, sizeof(cs), &enc, &t,
		    &tn)) == 0) {
			for (; pending > 0 && o < outcap; pending--)
				out[o++] = ' ';
			last_word = 0;
			if (o < outcap)
				out[o++] = val[i];
			i++;
			continue;
		}
		pending = 0;
		if (buf == NULL) {
			buf = rules_xmalloc(strlen(val) + 1);
			cbuf = rules_xmalloc(outcap + 1);
		}
		bn = word_decode(enc, t, tn, buf);
		u = rules_to_utf8(ic, cs, buf, bn, cbuf, outcap - o, &cn);
		if (cn > outcap - o)
			cn = outcap - o;
		for (size_t k = 0; k < cn; k++)
			out[o++] = u[k] == '\0' ? ' ' : (char)u[k];
		decoded = 1;
		last_word = 1;
		i += wl;
	}
	for (; pending > 0 && o < outcap; pending--)
		out[o++] = ' ';	/* blanks after the last word stay */
	out[o] = '\0';
	free(buf);
	free(cbuf);
	return decoded;
}

/* ---- folding for phrases ------------------------------------------------- */

size_t
rules_text_fold(const char *in, size_t len, char *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0;
	int blank = 0;

	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];

		if (c < 0x80) {			/* ASCII: most of the text */
			i++;
			if (c == ' ' || (c >= '\t' && c <= '\r')) {
				if (!blank)
					out[o++] = ' ';
				blank = 1;
				continue;
			}
			blank = 0;
			out[o++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
			continue;
		}
		/* U+00A0 no-break space: a blank */
		if (c == 0xc2 && i + 1 < len && s[i + 1] == 0xa0) {
			i += 2;
			if (!blank)
				out[o++] = ' ';
			blank = 1;
			continue;
		}
		/* invisible: U+00AD soft hyphen, U+200B..U+200D zero widths,
		 * U+2060 word joiner, U+FEFF */
		if ((c == 0xc2 && i + 1 < len && s[i + 1] == 0xad) ||
		    (c == 0xe2 && i + 2 < len && s[i + 1] == 0x80 &&
		    s[i + 2] >= 0x8b && s[i + 2] <= 0x8d) ||
		    (c == 0xe2 && i + 2 < len && s[i + 1] == 0x81 &&
		    s[i + 2] == 0xa0) ||
		    (c == 0xef && i + 2 < len && s[i + 1] == 0xbb &&
		    s[i + 2] == 0xbf)) {
			i += c == 0xc2 ? 2 : 3;
			continue;
		}
		blank = 0;
		/* Latin-1 capitals U+00C0..U+00DE (not U+00D7) */
		if (c == 0xc3 && i + 1 < len && s[i + 1] >= 0x80 &&
		    s[i + 1] <= 0x9e && s[i + 1] != 0x97) {
			out[o++] = (char)c;
			out[o++] = (char)(s[i + 1] + 0x20);
			i += 2;
			continue;
		}
		out[o++] = (char)c;
		i++;
	}
	return o;
}
