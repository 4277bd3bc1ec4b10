/*
 * Files embedded in text bodies, the way mail clients and Usenet gateways
 * still send them: uuencode ("begin 644 NAME"), yEnc ("=ybegin ...
 * name=NAME") and BinHex 4.0 ("(This file must be converted with BinHex
 * 4.0)").  Finding them, and decoding yEnc and BinHex (uuencode lines are
 * mime_decode.c's), each bounded by its output buffer and lenient the way
 * their readers are.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "mime_int.h"


/* The first line at or after from that starts with tag; n if none. */
static size_t
find_line(const unsigned char *src, size_t n, size_t from, const char *tag)
{
	const unsigned char *hit;
	size_t len = strlen(tag), i;

	while (from < n && (hit = memmem(src + from, n - from, tag, len)) !=
	    NULL) {
		i = (size_t)(hit - src);
		if (i == 0 || src[i - 1] == '\n')
			return i;
		from = i + 1;
	}
	return n;
}

/* yEnc: "=ybegin line=128 size=N name=FILE": the name runs to the end. */
static size_t
yenc_find(const unsigned char *src, size_t n, size_t from,
    const unsigned char **name, size_t *namelen, size_t *body)
{
	const unsigned char *nm;
	size_t i, e;

	for (; (i = find_line(src, n, from, "=ybegin ")) < n; from = i + 1) {
		e = mime_line_end(src, n, i, body);
		nm = memmem(src + i, e - i, " name=", 6);
		if (nm == NULL)
			continue;
		*name = nm + 6;
		*namelen = (size_t)(src + e - *name);
		while (*namelen > 0 && ((*name)[*namelen - 1] == ' ' ||
		    (*name)[*namelen - 1] == '\t'))
			(*namelen)--;
		return i;
	}
	return n;
}

size_t
mime_embed_find(const unsigned char *src, size_t n, size_t from,
    enum mime_embed *kind, const unsigned char **name, size_t *namelen,
    size_t *body)
{
	const unsigned char *yname = NULL, *uname = NULL;
	size_t u, y, b, ylen = 0, ulen = 0, ubody = n, ybody = n, bbody = n;

	u = mime_uu_find(src, n, from, &uname, &ulen, &ubody);
	y = yenc_find(src, n, from, &yname, &ylen, &ybody);
	b = find_line(src, n, from, "(This file must be converted with BinHex");
	if (b < n)
		mime_line_end(src, n, b, &bbody);
	if (u <= y && u <= b) {
		*kind = MIME_EMBED_UU;
		*name = uname;
		*namelen = ulen;
		*body = ubody;
		return u;
	}
	if (y <= b) {
		*kind = MIME_EMBED_YENC;
		*name = yname;
		*namelen = ylen;
		*body = ybody;
		return y;
	}
	*kind = MIME_EMBED_BINHEX;
	*name = NULL;
	*namelen = 0;
	*body = bbody;
	return b;
}

size_t
mime_yenc_decode(const unsigned char *src, size_t n, unsigned char *out,
    size_t cap, size_t *used, unsigned *st)
{
	size_t i = 0, e, next, k, o = 0;
	int esc;

	for (; i < n; i = next) {
		e = mime_line_end(src, n, i, &next);
		if (e - i >= 6 && memcmp(src + i, "=yend", 5) == 0 &&
		    (src[i + 5] == ' ' || src[i + 5] == '\t')) {
			i = next;
			break;
		}
		if (e - i >= 7 && memcmp(src + i, "=ypart ", 7) == 0)
			continue;
		for (k = i, esc = 0; k < e; k++) {
			if (src[k] == '=' && !esc) {
				esc = 1;
				continue;
			}
			if (o >= cap) {
				*st |= MIME_DEC_TRUNC;
				*used = next;
				return o;
			}
			out[o++] = (unsigned char)(src[k] - (esc ? 106 : 42));
			esc = 0;
		}
	}
	if (i >= n && o == 0)
		*st |= MIME_DEC_BAD;
	*used = i;
	return o;
}

/* ---- BinHex 4.0 --------------------------------------------------------- */

static const char binhex_alphabet[] =
    "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

/* Run-length decoding state: 0x90 N repeats the last byte N-1 more times
 * (0x90 0 is 0x90 itself). */
struct rle {
	unsigned char *out;
	size_t	 o, cap;
	int	 marker;	/* the last byte was 0x90 */
	unsigned char last;
	unsigned *st;
};

static void
rle_put(struct rle *r, unsigned char c)
{
	size_t k;

	if (r->marker) {
		r->marker = 0;
		if (c == 0)
			c = 0x90;
		else {
			for (k = 1; k < c; k++) {
				if (r->o >= r->cap) {
					*r->st |= MIME_DEC_TRUNC;
					return;
				}
				r->out[r->o++] = r->last;
			}
			return;
		}
	} else if (c == 0x90) {
		r->marker = 1;
		return;
	}
	if (r->o >= r->cap) {
		*r->st |= MIME_DEC_TRUNC;
		return;
	}
	r->out[r->o++] = r->last = c;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

size_t
mime_binhex_decode(const unsigned char *src, size_t n, unsigned char *out,
    size_t cap, size_t *used, unsigned *st, char *name, size_t namesz)
{
	struct rle r = { out, 0, cap, 0, 0, st };
	const unsigned char *colon = memchr(src, ':', n);
	const char *v;
	uint32_t acc = 0, dlen;
	size_t i, hsize, nl;
	int bits = 0;

	name[0] = '\0';
	*used = n;
	if (colon == NULL) {
		*st |= MIME_DEC_BAD;
		return 0;
	}
	for (i = (size_t)(colon - src) + 1; i < n && src[i] != ':'; i++) {
		if (src[i] == '\r' || src[i] == '\n' || src[i] == ' ' ||
		    src[i] == '\t')
			continue;
		if (src[i] == '\0' ||
		    (v = strchr(binhex_alphabet, src[i])) == NULL) {
			*st |= MIME_DEC_BAD;
			break;
		}
		acc = acc << 6 | (uint32_t)(v - binhex_alphabet);
		if ((bits += 6) >= 8) {
			bits -= 8;
			rle_put(&r, (unsigned char)(acc >> bits));
			if (*st & MIME_DEC_TRUNC)
				break;
		}
	}
	*used = i < n ? i + 1 : n;
	/* header: name length, name, 0, type, creator, flags, data length,
	 * resource length, CRC; then the data fork */
	nl = r.o > 0 ? out[0] : 0;
	hsize = 1 + nl + 1 + 4 + 4 + 2 + 4 + 4 + 2;
	if (r.o < hsize) {
		*st |= MIME_DEC_BAD;
		return 0;
	}
	for (i = 0; i < nl && i + 1 < namesz; i++)	/* control bytes as '_' */
		name[i] = out[1 + i] < 0x20 || out[1 + i] == 0x7f ? '_' :
		    (char)out[1 + i];
	name[i] = '\0';
	dlen = be32(out + 1 + nl + 1 + 10);
	if (dlen > r.o - hsize) {
		*st |= MIME_DEC_BAD;
		dlen = (uint32_t)(r.o - hsize);
	}
	memmove(out, out + hsize, dlen);
	return dlen;
}
