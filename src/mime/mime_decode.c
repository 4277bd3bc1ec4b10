/*
 * Transfer-encoding decoders for the MIME parser: base64, quoted-printable
 * and uuencode, each bounded by its output buffer, lenient the way mail
 * readers are, and saying when the input was not valid.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mime_int.h"
#include "util.h"

/* ---- base64 ------------------------------------------------------------- */

#define B64_PAD	0x40
#define B64_WS	0x41
#define B64_BAD	0xff

static const unsigned char b64tab[256] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x41, 0x41, 0xff,
	0xff, 0x41, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x41, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff, 0xff, 0x3f,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff,
	0xff, 0x40, 0xff, 0xff, 0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12,
	0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24,
	0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30,
	0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff,
};

static void
dec_bad(unsigned *st, const char **why, const char *reason)
{
	*st |= MIME_DEC_BAD;
	if (*why == NULL)
		*why = reason;
}

/* Writes the top k of the 3 bytes in acc (24 bits); 0 if cap is hit. */
static int
put3(unsigned char *out, size_t *o, size_t cap, uint32_t acc, int k,
    unsigned *st)
{
	int i;

	for (i = 0; i < k; i++) {
		if (*o >= cap) {
			*st |= MIME_DEC_TRUNC;
			return 0;
		}
		out[(*o)++] = (unsigned char)(acc >> (16 - 8 * i));
	}
	return 1;
}

size_t
mime_base64(const unsigned char *src, size_t n, unsigned char *out,
    size_t cap, unsigned *st, const char **why)
{
	uint32_t acc = 0;
	size_t i = 0, o = 0;
	int q = 0;		/* sextets in acc */
	int padded = 0;		/* a quantum was closed by '=' */
	int want_pad = 0;	/* "xx=" seen, the second '=' not yet */
	unsigned v;

	while (i < n) {
		/* fast path: four alphabet characters in a row */
		if (q == 0 && !padded && i + 4 <= n && o + 3 <= cap) {
			unsigned a = b64tab[src[i]], b = b64tab[src[i + 1]];
			unsigned c = b64tab[src[i + 2]], d = b64tab[src[i + 3]];

			if ((a | b | c | d) < B64_PAD) {
				acc = a << 18 | b << 12 | c << 6 | d;
				out[o++] = (unsigned char)(acc >> 16);
				out[o++] = (unsigned char)(acc >> 8);
				out[o++] = (unsigned char)acc;
				i += 4;
				continue;
			}
		}
		v = b64tab[src[i++]];
		if (v == B64_WS)
			continue;
		if (v == B64_BAD) {
			dec_bad(st, why, "invalid character in base64");
			continue;
		}
		if (v == B64_PAD) {
			if (want_pad) {
				want_pad = 0;
			} else if (q == 2 || q == 3) {
				if (!put3(out, &o, cap, acc << (6 * (4 - q)),
				    q - 1, st))
					return o;
				want_pad = q == 2;
				padded = 1;
			} else
				dec_bad(st, why, "misplaced base64 padding");
			q = 0;
			acc = 0;
			continue;
		}
		if (padded || want_pad) {
			dec_bad(st, why, "base64 data after padding");
			padded = want_pad = 0;
		}
		acc = acc << 6 | v;
		if (++q == 4) {
			if (!put3(out, &o, cap, acc, 3, st))
				return o;
			q = 0;
			acc = 0;
		}
	}
	if (q == 1)
		dec_bad(st, why, "truncated base64");
	else if (q > 1) {
		dec_bad(st, why, "base64 without padding");
		put3(out, &o, cap, acc << (6 * (4 - q)), q - 1, st);
	} else if (want_pad)
		dec_bad(st, why, "incomplete base64 padding");
	return o;
}

/* ---- quoted-printable --------------------------------------------------- */

/* After an '=' at src[i]: the offset past a soft line break ("=", blanks,
 * line end or end of input), or 0 if there is none. */
static size_t
qp_softbreak(const unsigned char *src, size_t n, size_t i)
{
	size_t j = i + 1;

	while (j < n && (src[j] == ' ' || src[j] == '\t'))
		j++;
	if (j == n)
		return n;
	if (src[j] == '\n')
		return j + 1;
	if (src[j] == '\r' && (j + 1 == n || src[j + 1] == '\n'))
		return j + 1 == n ? n : j + 2;
	return 0;
}

size_t
mime_qp(const unsigned char *src, size_t n, unsigned char *out, size_t cap,
    unsigned *st, const char **why)
{
	const unsigned char *eq;
	size_t i = 0, o = 0, k, next;
	int h1, h2;

	while (i < n) {
		/* copy up to the next '=' */
		eq = memchr(src + i, '=', n - i);
		k = (eq ? (size_t)(eq - src) : n) - i;
		if (k > cap - o) {
			memcpy(out + o, src + i, cap - o);
			*st |= MIME_DEC_TRUNC;
			return cap;
		}
		memcpy(out + o, src + i, k);
		o += k;
		i += k;
		if (i == n)
			break;
		/* src[i] == '=' */
		h1 = i + 1 < n ? sm_hexval(src[i + 1]) : -1;
		h2 = i + 2 < n ? sm_hexval(src[i + 2]) : -1;
		if (h1 >= 0 && h2 >= 0) {
			if (o >= cap) {
				*st |= MIME_DEC_TRUNC;
				return o;
			}
			out[o++] = (unsigned char)(h1 << 4 | h2);
			i += 3;
		} else if ((next = qp_softbreak(src, n, i)) != 0) {
			i = next;
		} else {
			dec_bad(st, why, "invalid quoted-printable escape");
			if (o >= cap) {
				*st |= MIME_DEC_TRUNC;
				return o;
			}
			out[o++] = '=';
			i++;
		}
	}
	return o;
}

/* ---- uuencode ----------------------------------------------------------- */

size_t
mime_line_end(const unsigned char *src, size_t n, size_t i, size_t *next)
{
	const unsigned char *nl = memchr(src + i, '\n', n - i);
	size_t e = nl ? (size_t)(nl - src) : n;

	*next = nl ? e + 1 : n;
	if (e > i && src[e - 1] == '\r')
		e--;
	return e;
}

size_t
mime_uu_find(const unsigned char *src, size_t n, size_t from,
    const unsigned char **name, size_t *namelen, size_t *body)
{
	const unsigned char *hit;
	size_t at = from, i, e, digits;

	while (at < n &&
	    (hit = memmem(src + at, n - at, "begin ", 6)) != NULL) {
		i = (size_t)(hit - src);
		at = i + 6;
		if (i > 0 && src[i - 1] != '\n')
			continue;
		e = mime_line_end(src, n, i, body);
		for (digits = 0; at < e && src[at] >= '0' && src[at] <= '7';
		    at++)
			digits++;
		if (digits < 3 || digits > 4 || at >= e || src[at] != ' ')
			continue;
		while (at < e && src[at] == ' ')
			at++;
		while (e > at && (src[e - 1] == ' ' || src[e - 1] == '\t'))
			e--;
		if (at == e)
			continue;
		*name = src + at;
		*namelen = e - at;
		return i;
	}
	return n;
}

/* A uuencoded character: 0x20..0x60, '`' standing for 0. */
#define UU_OK(c)	((c) >= 0x20 && (c) <= 0x60)
#define UU_VAL(c)	(((c) - 0x20) & 0x3f)

/* Decodes one line [s, e) of want bytes; 0 if it is not a uuencode line. */
static int
uu_line(const unsigned char *s, const unsigned char *e, size_t want,
    unsigned char *out, size_t *o, size_t cap, unsigned *st)
{
	const unsigned char *p;
	unsigned char c[4];
	size_t got = 0;
	int k;

	for (p = s; p < e; p++)
		if (!UU_OK(*p))
			return 0;
	for (p = s; got < want; p += 4) {
		for (k = 0; k < 4; k++)	/* stripped trailing blanks: zeros */
			c[k] = p + k < e ? (unsigned char)UU_VAL(p[k]) : 0;
		uint32_t acc = (uint32_t)c[0] << 18 | c[1] << 12 | c[2] << 6 |
		    c[3];
		for (k = 0; k < 3 && got < want; k++, got++) {
			if (*o >= cap) {
				*st |= MIME_DEC_TRUNC;
				return 1;
			}
			out[(*o)++] = (unsigned char)(acc >> (16 - 8 * k));
		}
	}
	return 1;
}

size_t
mime_uu_decode(const unsigned char *src, size_t n, unsigned char *out,
    size_t cap, size_t *used, unsigned *st)
{
	size_t i = 0, e, next, o = 0, want;

	while (i < n && !(*st & MIME_DEC_TRUNC)) {
		e = mime_line_end(src, n, i, &next);
		while (e > i && (src[e - 1] == ' ' || src[e - 1] == '\t') &&
		    e - i > 1)
			e--;
		if (e - i == 3 && memcmp(src + i, "end", 3) == 0) {
			i = next;
			break;
		}
		if (e == i) {		/* blank line: tolerated */
			i = next;
			continue;
		}
		want = UU_VAL(src[i]);
		if (!uu_line(src + i + 1, src + e, want, out, &o, cap, st))
			break;		/* not uuencode: the block ends */
		i = next;
	}
	*used = i;
	return o;
}
