/*
 * MIME parser: a table of messages with the leaves (decoded bytes checked
 * exactly) and anomalies each must give, limits, the skeleton, stopping
 * from the callback, large parts decoded into the caller's buffers, and
 * the bypass corpus in t/data/mime (every good/ and control/ message
 * clean, every bad/ message flagged as its EXPECTED line says).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mime.h"

#define MAXLEAVES 8

struct leaf {
	int	 depth;
	const char *type;
	const char *filename;
	const char *data;
	size_t	 len;
	int	 uu;
	int	 attach;
};

/* A leaf: depth, type, filename, decoded bytes (a literal), attachment. */
#define L(d, t, f, s, a)	{ d, t, f, s, sizeof(s) - 1, 0, a }
#define UU(d, f, s)		{ d, "application/octet-stream", f, s, \
				    sizeof(s) - 1, 1, 1 }

struct mcase {
	const char *name;
	const char *msg;
	unsigned anomalies;		/* exactly these */
	int	 nleaves;
	struct leaf leaves[MAXLEAVES];
};

/* What the callback saw. */
struct seen {
	int	 n;
	struct mime_part part[MAXLEAVES];
	unsigned char *data[MAXLEAVES];
	int	 stop_at;		/* return 7 at this leaf (1-based) */
};

static int
collect(const struct mime_part *p, void *arg)
{
	struct seen *s = arg;

	if (s->n < MAXLEAVES) {
		s->part[s->n] = *p;
		s->data[s->n] = calloc(1, p->len + 1);
		if (p->data != NULL)	/* NULL: known, not decoded */
			memcpy(s->data[s->n], p->data, p->len);
		s->part[s->n].data = s->data[s->n];
	}
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static void
seen_free(struct seen *s)
{
	int i;

	for (i = 0; i < s->n && i < MAXLEAVES; i++)
		free(s->data[i]);
}

/* Parses a copy of exactly len bytes (so ASan sees any overread). */
static int
parse(const char *msg, size_t len, const struct mime_limits *lim,
    struct seen *s, struct mime_result *res)
{
	unsigned char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, msg, len);
	rc = mime_parse(copy, len, lim, collect, s, res);
	free(copy);
	return rc;
}

static void
names(unsigned bits, char *out, size_t n)
{
	unsigned bit;

	out[0] = '\0';
	for (bit = 1; bit != 0 && bit <= bits; bit <<= 1)
		if (bits & bit) {
			strncat(out, mime_anomaly_name(bit), n - strlen(out) - 2);
			strncat(out, " ", n - strlen(out) - 1);
		}
}

static void
check_case(const struct mcase *c)
{
	struct seen s = { 0 };
	struct mime_result res;
	const struct leaf *w;
	char got[256], want[256];
	int i;

	parse(c->msg, strlen(c->msg), NULL, &s, &res);
	names(res.anomalies, got, sizeof(got));
	names(c->anomalies, want, sizeof(want));
	if (res.anomalies != c->anomalies)
		fail_msg("%s: anomalies [%s] (%s), want [%s]", c->name, got,
		    res.reason, want);
	if (s.n != c->nleaves)
		fail_msg("%s: %d leaves, want %d", c->name, s.n, c->nleaves);
	assert_int_equal(res.parts, s.n);
	for (i = 0; i < c->nleaves; i++) {
		w = &c->leaves[i];
		if (s.part[i].depth != w->depth ||
		    strcmp(s.part[i].content_type, w->type) != 0 ||
		    strcmp(s.part[i].filename, w->filename) != 0 ||
		    s.part[i].uuencoded != w->uu ||
		    s.part[i].is_attachment != w->attach)
			fail_msg("%s: leaf %d is %d %s \"%s\" uu=%d att=%d, "
			    "want %d %s \"%s\" uu=%d att=%d", c->name, i,
			    s.part[i].depth, s.part[i].content_type,
			    s.part[i].filename, s.part[i].uuencoded,
			    s.part[i].is_attachment, w->depth, w->type,
			    w->filename, w->uu, w->attach);
		if (s.part[i].len != w->len ||
		    memcmp(s.part[i].data, w->data, w->len) != 0)
			fail_msg("%s: leaf %d: %zu bytes \"%.*s\", want %zu "
			    "\"%s\"", c->name, i, s.part[i].len,
			    (int)s.part[i].len, (const char *)s.part[i].data,
			    w->len, w->data);
	}
	seen_free(&s);
	mime_result_free(&res);
}

/* ---- constructs, decoded exactly ---------------------------------------- */

static const struct mcase decode_cases[] = {
	{ "plain, no MIME headers",
	  "From: a@b\nSubject: hi\n\nline one\nline two\n", 0, 1, {
	    L(0, "text/plain", "", "line one\nline two\n", 0) } },
	{ "CRLF plain",
	  "Subject: hi\r\n\r\nbody\r\n", 0, 1, {
	    L(0, "text/plain", "", "body\r\n", 0) } },
	{ "mbox From line first",
	  "From a@b  Thu Jan  1 00:00:00 2026\nSubject: x\n\nhi\n", 0, 1, {
	    L(0, "text/plain", "", "hi\n", 0) } },
	{ "headers only", "Subject: x\n", 0, 1, {
	    L(0, "text/plain", "", "", 0) } },
	{ "empty input", "", 0, 1, { L(0, "text/plain", "", "", 0) } },
	{ "multipart/mixed, text + base64",
	  "Content-Type: multipart/mixed; boundary=XX\n\n"
	  "--XX\nContent-Type: text/plain\n\nhello\n"
	  "--XX\nContent-Type: application/octet-stream; name=a.bin\n"
	  "Content-Transfer-Encoding: base64\n\n"
	  "AAECYmluYXJ5/w==\n--XX--\n", 0, 2, {
	    L(1, "text/plain", "", "hello", 0),
	    L(1, "application/octet-stream", "a.bin",
		"\x00\x01\x02" "binary\xff", 1) } },
	{ "CRLF multipart, base64 in short lines",
	  "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	  "--b\r\nContent-Transfer-Encoding: BASE64\r\n"
	  "Content-Type: application/x-thing\r\n\r\n"
	  "VGhlIHF1aWNrIGJyb3du\r\nIGZveCBqdW1wcyBvdmVy\r\n"
	  "IHRoZSBsYXp5IGRvZw==   \r\n\r\n--b--\r\n", 0, 1, {
	    L(1, "application/x-thing", "",
		"The quick brown fox jumps over the lazy dog", 1) } },
	{ "nested multipart depths",
	  "Content-Type: multipart/mixed; boundary=o\n\npreamble\n"
	  "--o\nContent-Type: multipart/alternative; boundary=i\n\n"
	  "--i\n\nplain\n--i\nContent-Type: text/html\n\n<b>x</b>\n--i--\n"
	  "--o\nContent-Type: image/png\nContent-Disposition: inline\n\nPNG\n"
	  "--o--\nepilogue\n", 0, 3, {
	    L(2, "text/plain", "", "plain", 0),
	    L(2, "text/html", "", "<b>x</b>", 0),
	    L(1, "image/png", "", "PNG", 1) } },
	{ "message/rfc822 inside multipart",
	  "Content-Type: multipart/mixed; boundary=o\n\n"
	  "--o\nContent-Type: message/rfc822\n\n"
	  "Subject: inner\nContent-Type: multipart/mixed; boundary=i\n\n"
	  "--i\nContent-Disposition: attachment; filename=in.txt\n\nINNER\n"
	  "--i--\n--o--\n", 0, 1, {
	    L(3, "text/plain", "in.txt", "INNER", 1) } },
	{ "top-level message/rfc822",
	  "Content-Type: message/rfc822\n\nSubject: inner\n\ninner body\n",
	  0, 1, { L(1, "text/plain", "", "inner body\n", 0) } },
	{ "multipart/digest defaults to message/rfc822",
	  "Content-Type: multipart/digest; boundary=d\n\n"
	  "--d\n\nSubject: one\n\nfirst\n--d\n\nSubject: two\n\nsecond\n"
	  "--d--\n", 0, 2, {
	    L(2, "text/plain", "", "first", 0),
	    L(2, "text/plain", "", "second", 0) } },
	{ "quoted-printable",
	  "Content-Transfer-Encoding: quoted-printable\n\n"
	  "caf=C3=A9 =3d soft=\nbreak, lower =c3=a9=\n", 0, 1, {
	    L(0, "text/plain", "", "caf\xc3\xa9 = softbreak, lower \xc3\xa9",
		0) } },
	{ "quoted-printable soft break with trailing blank",
	  "Content-Transfer-Encoding: quoted-printable\n\nab= \ncd\n", 0, 1, {
	    L(0, "text/plain", "", "abcd\n", 0) } },
	{ "8bit body",
	  "Content-Type: text/plain; charset=utf-8\n"
	  "Content-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n", 0, 1, {
	    L(0, "text/plain", "", "\xc3\xa9t\xc3\xa9\n", 0) } },
	{ "binary, NUL in body",
	  "Content-Type: application/octet-stream\n"
	  "Content-Transfer-Encoding: binary\n\nA\x01" "B\n", 0, 1, {
	    L(0, "application/octet-stream", "", "A\x01" "B\n", 1) } },
	{ "uuencode block in a text part",
	  "Subject: uu\n\nsee attached\nbegin 644 cat.txt\n#0V%T\n`\nend\n"
	  "after\nbegin 600 hello.txt\n"
	  "5:&5L;&\\@=75E;F-O9&4@=V]R;&0*\n`\nend\n", 0, 3, {
	    L(0, "text/plain", "", "see attached\nbegin 644 cat.txt\n#0V%T\n"
		"`\nend\nafter\nbegin 600 hello.txt\n"
		"5:&5L;&\\@=75E;F-O9&4@=V]R;&0*\n`\nend\n", 0),
	    UU(0, "cat.txt", "Cat"),
	    UU(0, "hello.txt", "hello uuencode world\n") } },
	{ "yEnc block in a text part",
	  "Subject: y\n\nfile:\n=ybegin line=128 size=5 name=c.bin\n"
	  "m\x8b\x9e=@=}\n=yend size=5\nbye\n", 0, 2, {
	    L(0, "text/plain", "", "file:\n=ybegin line=128 size=5 "
		"name=c.bin\nm\x8b\x9e=@=}\n=yend size=5\nbye\n", 0),
	    UU(0, "c.bin", "Cat\xd6\x13") } },
	{ "BinHex 4.0 block in a text part (run-length coded 0x90s)",
	  "Subject: b\n\n(This file must be converted with BinHex 4.0)\n\n"
	  ":\"@JZG(Kd!&4&@&4dG(Kd!!!!!!!3!!!!!'1#D'9XE'mJN!#3\"#\"hEh*XC&a3"
	  "!!!:\n", 0, 2, {
	    L(0, "text/plain", "", "(This file must be converted with "
		"BinHex 4.0)\n\n:\"@JZG(Kd!&4&@&4dG(Kd!!!!!!!3!!!!!'1#D'9XE"
		"'mJN!#3\"#\"hEh*XC&a3!!!:\n", 0),
	    UU(0, "h.txt", "hello \x90\x90\x90\x90 world") } },
	{ "x-uuencode transfer encoding",
	  "Content-Type: application/octet-stream\n"
	  "Content-Transfer-Encoding: x-uuencode\n\nbegin 644 c\n#0V%T\n`\n"
	  "end\n", 0, 1, {
	    L(0, "application/octet-stream", "", "Cat", 1) } },
};

/* ---- file names: RFC 2047 and RFC 2231 ---------------------------------- */

#define ATT(hdr)	"Content-Type: application/octet-stream\n" hdr "\n\nX"

static const struct mcase name_cases[] = {
	{ "filename= quoted", ATT("Content-Disposition: attachment; "
	  "filename=\"my file.pdf\""), 0, 1, {
	    L(0, "application/octet-stream", "my file.pdf", "X", 1) } },
	{ "name= on Content-Type",
	  "Content-Type: application/pdf; name=doc.pdf\n\nX", 0, 1, {
	    L(0, "application/pdf", "doc.pdf", "X", 1) } },
	{ "RFC 2047 B", ATT("Content-Disposition: attachment; "
	  "filename=\"=?UTF-8?B?4oKsLnBkZg==?=\""), 0, 1, {
	    L(0, "application/octet-stream", "\xe2\x82\xac.pdf", "X", 1) } },
	{ "RFC 2047 Q, two words, latin1",
	  ATT("Content-Disposition: attachment;\n filename=\"=?iso-8859-1?Q?"
	  "caf=E9_?= =?utf-8?q?=C3=A9t=C3=A9?=.txt\""), 0, 1, {
	    L(0, "application/octet-stream",
		"caf\xc3\xa9 \xc3\xa9t\xc3\xa9.txt", "X", 1) } },
	{ "RFC 2231 charset'lang'", ATT("Content-Disposition: attachment; "
	  "filename*=UTF-8'en'%E2%82%AC%20rate.pdf"), 0, 1, {
	    L(0, "application/octet-stream", "\xe2\x82\xac rate.pdf", "X",
		1) } },
	{ "RFC 2231 continuations, encoded and not",
	  ATT("Content-Disposition: attachment;\n"
	  "\tfilename*1*=%20part%20two;\n\tfilename*0*=utf-8''part%C3%A9;\n"
	  "\tfilename*2=\" and three.doc\""), 0, 1, {
	    L(0, "application/octet-stream",
		"part\xc3\xa9 part two and three.doc", "X", 1) } },
	{ "RFC 2231 latin1", ATT("Content-Disposition: attachment; "
	  "filename*=iso-8859-1''na%EFve.txt"), 0, 1, {
	    L(0, "application/octet-stream", "na\xc3\xafve.txt", "X", 1) } },
	{ "RFC 2231 wins over a plain fallback",
	  ATT("Content-Disposition: attachment; filename=\"fallback.txt\"; "
	  "filename*=UTF-8''r%C3%A9el.txt"), 0, 1, {
	    L(0, "application/octet-stream", "r\xc3\xa9" "el.txt", "X",
		1) } },
	{ "odd case parameters and comments",
	  "CONTENT-TYPE: Text/HTML (html) ; CharSet=\"us-ascii\" (c);"
	  " NAME=\"Page.HTM\"\n\nX", 0, 1, {
	    L(0, "text/html", "Page.HTM", "X", 1) } },
};

/* ---- legal but unusual: no anomaly ------------------------------------- */

#define B75	"0123456789012345678901234567890123456789" \
		"01234567890123456789012345678901234"
#define MP(ct, body)	"MIME-Version: 1.0\nContent-Type: " ct "\n\n" body

static const struct mcase legal_cases[] = {
	{ "folded Content-Type, quoted boundary with spaces",
	  "Content-Type: multipart/mixed;\n\tboundary=\"a b'(c)+_,-./:=?\"\n\n"
	  "--a b'(c)+_,-./:=?\n\none\n--a b'(c)+_,-./:=?--\n", 0, 1, {
	    L(1, "text/plain", "", "one", 0) } },
	{ "charset with a comment",
	  "Content-Type: text/plain; charset=us-ascii (comment)\n\nx\n", 0,
	  1, { L(0, "text/plain", "", "x\n", 0) } },
	{ "empty parts",
	  MP("multipart/mixed; boundary=e", "--e\n\n--e\n\n\n--e--\n"), 0, 2, {
	    L(1, "text/plain", "", "", 0),
	    L(1, "text/plain", "", "", 0) } },
	{ "final boundary without line end",
	  MP("multipart/mixed; boundary=e", "--e\n\nlast\n--e--"), 0, 1, {
	    L(1, "text/plain", "", "last", 0) } },
	{ "multipart never closed (truncated mail)",
	  MP("multipart/mixed; boundary=n", "--n\n\nopen\n"), 0, 1, {
	    L(1, "text/plain", "", "open\n", 0) } },
	{ "close delimiter repeated in the epilogue",
	  MP("multipart/mixed; boundary=e", "--e\n\nx\n--e--\n--e--\n"), 0,
	  1, { L(1, "text/plain", "", "x", 0) } },
	{ "comments where the grammar allows them",
	  MP("multipart/mixed (c); boundary=\"e\" (c)",
	  "--e\nContent-Transfer-Encoding: base64 (c)\n\nQUJD\n--e--\n"), 0,
	  1, { L(1, "text/plain", "", "ABC", 0) } },
	{ "blanks around the equals sign",
	  MP("multipart/mixed; boundary = e", "--e\n\nx\n--e--\n"), 0, 1, {
	    L(1, "text/plain", "", "x", 0) } },
	{ "transport padding after boundaries",
	  MP("multipart/mixed; boundary=e", "--e  \n\nx\n--e-- \t\n"), 0, 1, {
	    L(1, "text/plain", "", "x", 0) } },
	{ "empty multipart", MP("multipart/mixed; boundary=e", "--e--\n"), 0,
	  0, { { 0 } } },
	{ "consecutive delimiters make no part",
	  MP("multipart/mixed; boundary=e", "--e\n--e\n\nx\n--e--\n"), 0,
	  1, { L(1, "text/plain", "", "x", 0) } },
	{ "RISC OS file type after the name",
	  "Content-Type: application/riscos; name=\"clock.bmp,69c\"\n"
	  "Content-Disposition: attachment; filename=\"clock.bmp\"\n\nB",
	  0, 1, { L(0, "application/riscos", "clock.bmp", "B", 1) } },
	{ "unknown text type, no charset",
	  "Content-Type: text/x-weird\n\nw\n", 0, 1, {
	    L(0, "text/x-weird", "", "w\n", 0) } },
	{ "invalid Content-Type falls back to text/plain",
	  "Content-Type: garbage\n\ng\n", 0, 1, {
	    L(0, "text/plain", "", "g\n", 0) } },
	{ "S/MIME multipart/signed",
	  MP("multipart/signed; protocol=\"application/pkcs7-signature\"; "
	  "micalg=sha-256; boundary=s", "--s\nContent-Type: text/plain\n\n"
	  "signed\n--s\nContent-Type: application/pkcs7-signature; "
	  "name=smime.p7s\nContent-Transfer-Encoding: base64\n\nMAo=\n"
	  "--s--\n"), 0, 2, {
	    L(1, "text/plain", "", "signed", 0),
	    L(1, "application/pkcs7-signature", "smime.p7s", "\x30\x0a",
		1) } },
	{ "delivery report",
	  MP("multipart/report; report-type=delivery-status; boundary=r",
	  "--r\n\nbounced\n--r\nContent-Type: message/delivery-status\n\n"
	  "Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b\n"
	  "--r\nContent-Type: text/rfc822-headers\n\nSubject: x\n--r--\n"),
	  0, 3, {
	    L(1, "text/plain", "", "bounced", 0),
	    L(1, "message/delivery-status", "",
		"Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b", 1),
	    L(1, "text/rfc822-headers", "", "Subject: x", 0) } },
};

/* ---- anomalies, one construct each ------------------------------------- */

static const struct mcase bad_cases[] = {
	{ "duplicate Content-Type: the first wins",
	  "Content-Type: text/plain\nContent-Type: multipart/mixed; "
	  "boundary=x\n\n--x\n\nhidden\n--x--\n", MIME_DUP_HEADER, 1, {
	    L(0, "text/plain", "", "--x\n\nhidden\n--x--\n", 0) } },
	{ "duplicate Content-Transfer-Encoding",
	  "Content-Transfer-Encoding: base64\n"
	  "Content-Transfer-Encoding: 7bit\n\nQUJD\n", MIME_DUP_HEADER, 1, {
	    L(0, "text/plain", "", "ABC", 0) } },
	{ "two different boundary parameters",
	  MP("multipart/mixed; boundary=a; boundary=b",
	  "--a\n\none\n--a--\n"), MIME_AMBIGUOUS, 1, {
	    L(1, "text/plain", "", "one", 0) } },
	{ "multipart without boundary",
	  MP("multipart/mixed", "body\n"), MIME_BAD_BOUNDARY, 1, {
	    L(0, "multipart/mixed", "", "body\n", 1) } },
	{ "empty boundary", MP("multipart/mixed; boundary=\"\"", "b\n"),
	  MIME_BAD_BOUNDARY, 1, { L(0, "multipart/mixed", "", "b\n", 1) } },
	{ "boundary with an illegal character",
	  MP("multipart/mixed; boundary=\"a@b\"", "--a@b\n\nx\n--a@b--\n"),
	  MIME_BAD_BOUNDARY, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "overlong boundary",
	  MP("multipart/mixed; boundary=\"" B75 "\"", "--" B75 "\n\nx\n--"
	  B75 "--\n"), MIME_BAD_BOUNDARY, 1, {
	    L(1, "text/plain", "", "x", 0) } },
	{ "nested boundary prefix of the outer",
	  MP("multipart/mixed; boundary=abc", "--abc\nContent-Type: "
	  "multipart/mixed; boundary=abcdef\n\n--abcdef\n\nin\n--abcdef--\n"
	  "--abc--\n"), MIME_BAD_BOUNDARY, 1, {
	    L(2, "text/plain", "", "in", 0) } },
	{ "boundary followed by junk is not a boundary",
	  MP("multipart/mixed; boundary=j", "--j\n\nx\n--jjunk\ny\n--j--\n"),
	  MIME_BAD_BOUNDARY, 1, {
	    L(1, "text/plain", "", "x\n--jjunk\ny", 0) } },
	{ "inner multipart closed by the outer boundary",
	  MP("multipart/mixed; boundary=o", "--o\nContent-Type: multipart/"
	  "mixed; boundary=i\n\n--i\n\nin\n--o\n\nout\n--o--\n"),
	  MIME_BAD_BOUNDARY, 2, {
	    L(2, "text/plain", "", "in", 0),
	    L(1, "text/plain", "", "out", 0) } },
	{ "base64 with junk characters",
	  "Content-Transfer-Encoding: base64\n\nQU*JD\n", MIME_BAD_ENCODING,
	  1, { L(0, "text/plain", "", "ABC", 0) } },
	{ "base64 data after padding",
	  "Content-Transfer-Encoding: base64\n\nQQ==QkM=\n",
	  MIME_BAD_ENCODING, 1, { L(0, "text/plain", "", "ABC", 0) } },
	{ "broken quoted-printable",
	  "Content-Transfer-Encoding: quoted-printable\n\na=ZZb\n",
	  MIME_BAD_ENCODING, 1, { L(0, "text/plain", "", "a=ZZb\n", 0) } },
	{ "unknown transfer encoding",
	  "Content-Transfer-Encoding: x-rot13\n\nuryyb\n", MIME_BAD_ENCODING,
	  1, { L(0, "text/plain", "", "uryyb\n", 0) } },
	{ "base64 on a multipart is ignored",
	  "Content-Type: multipart/mixed; boundary=m\n"
	  "Content-Transfer-Encoding: base64\n\n--m\n\nx\n--m--\n",
	  MIME_ENCODING_NOT_ALLOWED, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "base64 on message/rfc822: a decoded leaf",
	  "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n"
	  "\nU3ViamVjdDogeAoKeQo=\n", MIME_ENCODING_NOT_ALLOWED, 1, {
	    L(0, "message/rfc822", "", "Subject: x\n\ny\n", 1) } },
	{ "message/partial",
	  "Content-Type: message/partial; id=\"x\"; number=1; total=2\n\np\n",
	  MIME_PARTIAL, 1, { L(0, "message/partial", "", "p\n", 1) } },
	{ "bare CR folding in a header",
	  "Content-Type: text/plain;\r boundary=x\n\nb\n", MIME_AMBIGUOUS, 1, {
	    L(0, "text/plain", "", "b\n", 0) } },
	{ "header line without colon",
	  "Subject: x\nno colon here\nContent-Type: text/html\n\nb\n",
	  MIME_AMBIGUOUS, 1, { L(0, "text/plain", "", "no colon here\n"
	    "Content-Type: text/html\n\nb\n", 0) } },
	{ "8-bit header name",
	  "Subject: x\nCont\xe9nt-Type: text/html\n\nb\n", MIME_AMBIGUOUS, 1, {
	    L(0, "text/plain", "", "b\n", 0) } },
	{ "two types in Content-Type",
	  "Content-Type: text/plain, multipart/mixed; boundary=x\n\nb\n",
	  MIME_AMBIGUOUS, 1, { L(0, "text/plain", "", "b\n", 0) } },
	{ "blank before colon",
	  "Content-Type : text/html\n\nb\n", MIME_AMBIGUOUS, 1, {
	    L(0, "text/html", "", "b\n", 0) } },
	{ "name and filename differ",
	  "Content-Type: text/plain; name=a.txt\nContent-Disposition: "
	  "attachment; filename=a.exe\n\nb\n", MIME_AMBIGUOUS, 1, {
	    L(0, "text/plain", "a.exe", "b\n", 1) } },
	{ "comment before the boundary value",
	  MP("multipart/mixed; boundary=(c)e", "--e\n\nx\n--e--\n"),
	  MIME_AMBIGUOUS, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "comment glued to an unquoted boundary",
	  MP("multipart/mixed; boundary=e(c)", "--e\n\nx\n--e--\n"),
	  MIME_AMBIGUOUS, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "comment between name and equals sign",
	  MP("multipart/mixed; boundary(c)=e", "--e\n\nx\n--e--\n"),
	  MIME_AMBIGUOUS, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "backslash pair in a quoted boundary",
	  MP("multipart/mixed; boundary=\"e\\f\"", "--ef\n\nx\n--ef--\n"),
	  MIME_AMBIGUOUS, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "text after the closing quote",
	  MP("multipart/mixed; boundary=\"e\"zz", "--e\n\nx\n--e--\n"),
	  MIME_AMBIGUOUS, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "blank inside an unquoted boundary",
	  MP("multipart/mixed; boundary=e f", "--e f\n\nx\n--e f--\n"),
	  MIME_AMBIGUOUS, 1, { L(1, "text/plain", "", "x", 0) } },
	{ "boundary in RFC 2231 pieces only",
	  MP("multipart/mixed; boundary*0=e; boundary*1=f",
	  "--ef\n\nx\n--ef--\n"), MIME_AMBIGUOUS, 1, {
	    L(1, "text/plain", "", "x", 0) } },
	{ "boundary parameter without a semicolon",
	  MP("multipart/mixed boundary=e", "--e\n\nx\n--e--\n"),
	  MIME_AMBIGUOUS | MIME_BAD_BOUNDARY, 1, {
	    L(0, "multipart/mixed", "", "--e\n\nx\n--e--\n", 1) } },
	{ "quoted transfer encoding",
	  "Content-Transfer-Encoding: \"base64\"\n\nQUJD\n",
	  MIME_BAD_ENCODING, 1, { L(0, "text/plain", "", "QUJD\n", 0) } },
	{ "transfer encoding with text after it",
	  "Content-Transfer-Encoding: base64; x\n\nQUJD\n",
	  MIME_BAD_ENCODING, 1, { L(0, "text/plain", "", "ABC", 0) } },
	{ "a part after the close delimiter",
	  MP("multipart/mixed; boundary=e", "--e--\n--e\n\nx\n--e--\n"),
	  MIME_BAD_BOUNDARY, 0, { { 0 } } },
	{ "boundary after a bare CR",
	  MP("multipart/mixed; boundary=c", "--c\n\nx\r--c\r\ny\n--c--\n"),
	  MIME_AMBIGUOUS, 1, { L(1, "text/plain", "", "x\r--c\r\ny", 0) } },
};

static void
test_decode(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(decode_cases) / sizeof(decode_cases[0]); i++)
		check_case(&decode_cases[i]);
}

static void
test_names(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		check_case(&name_cases[i]);
}

static void
test_legal(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(legal_cases) / sizeof(legal_cases[0]); i++)
		check_case(&legal_cases[i]);
}

static void
test_bad(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++)
		check_case(&bad_cases[i]);
}

/* NUL inside a header needs an explicit length. */
static void
test_nul_header(void **state)
{
	static const char msg[] = "Subject: a\0b\nContent-Type: text/html\n\nb\n";
	struct seen s = { 0 };
	struct mime_result res;

	(void)state;
	parse(msg, sizeof(msg) - 1, NULL, &s, &res);
	assert_int_equal(res.anomalies, MIME_CONTROL_CHARS);
	assert_string_equal(res.reason, "control character in header");
	assert_int_equal(s.n, 1);
	assert_string_equal(s.part[0].content_type, "text/html");
	seen_free(&s);
	mime_result_free(&res);
}

/* ---- limits ------------------------------------------------------------- */

static const char three_parts[] =
    "Content-Type: multipart/mixed; boundary=p\n\n"
    "--p\n\none\n--p\nContent-Transfer-Encoding: base64\n"
    "Content-Type: application/x-a\n\nMDEyMzQ1Njc4OQ==\n"
    "--p\n\nthree\n--p--\n";

static void
test_limit_parts(void **state)
{
	struct mime_limits lim = { .max_parts = 2 };
	struct seen s = { 0 };
	struct mime_result res;

	(void)state;
	parse(three_parts, sizeof(three_parts) - 1, &lim, &s, &res);
	assert_int_equal(s.n, 2);
	assert_int_equal(res.parts, 2);
	assert_int_equal(res.anomalies, MIME_LIMIT);
	assert_string_equal(res.reason, "too many MIME parts");
	/* the third part was not reported: it stays in the skeleton */
	assert_non_null(memmem(res.skeleton, res.skeleton_len, "three", 5));
	seen_free(&s);
	mime_result_free(&res);
}

static void
test_limit_decoded(void **state)
{
	struct mime_limits lim = { .max_decoded = 8 };
	struct seen s = { 0 };
	struct mime_result res;

	(void)state;
	parse(three_parts, sizeof(three_parts) - 1, &lim, &s, &res);
	/* "one" (3 bytes), then 5 of the 10 decoded bytes, then stop */
	assert_int_equal(s.n, 2);
	assert_int_equal(res.decoded, 8);
	assert_int_equal(s.part[1].len, 5);
	assert_memory_equal(s.part[1].data, "01234", 5);
	assert_int_equal(res.anomalies, MIME_LIMIT);
	assert_string_equal(res.reason, "decoded size limit reached");
	/* the cut part keeps its encoded body in the skeleton */
	assert_non_null(memmem(res.skeleton, res.skeleton_len,
	    "MDEyMzQ1Njc4OQ==", 16));
	seen_free(&s);
	mime_result_free(&res);
}

static void
test_limit_depth(void **state)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=d1\n\n"
	    "--d1\nContent-Type: message/rfc822\n\n"
	    "Content-Type: multipart/mixed; boundary=d3\n\n"
	    "--d3\n\ndeep\n--d3--\n--d1--\n";
	struct mime_limits lim = { .max_depth = 2 };
	struct seen s = { 0 };
	struct mime_result res;

	(void)state;
	parse(msg, sizeof(msg) - 1, &lim, &s, &res);
	assert_int_equal(res.anomalies, MIME_DEPTH);
	/* the multipart at depth 2 is not entered: one leaf, raw */
	assert_int_equal(s.n, 1);
	assert_int_equal(s.part[0].depth, 2);
	assert_string_equal(s.part[0].content_type, "multipart/mixed");
	assert_memory_equal(s.part[0].data, "--d3\n\ndeep\n--d3--", 17);
	assert_int_equal(s.part[0].len, 17);
	/* not entered: it stays in the skeleton for the engines' parser */
	assert_int_equal(res.skeleton_len, sizeof(msg) - 1);
	seen_free(&s);
	mime_result_free(&res);

	/* default depth: 10 nested multiparts are fine, 11 are not */
	char deep[4096];
	size_t n = 0;
	int i;

	for (i = 0; i < 11; i++)
		n += snprintf(deep + n, sizeof(deep) - n,
		    "Content-Type: multipart/mixed; boundary=b%02d\n\n--b%02d\n",
		    i, i);
	n += snprintf(deep + n, sizeof(deep) - n, "\nleaf\n");
	memset(&s, 0, sizeof(s));
	parse(deep, n, NULL, &s, &res);
	assert_int_equal(res.anomalies & MIME_DEPTH, MIME_DEPTH);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.part[0].depth, 10);
	seen_free(&s);
	mime_result_free(&res);
}

static void
test_limit_header(void **state)
{
	struct mime_limits lim = { .max_header = 64 };
	char msg[512];
	struct seen s = { 0 };
	struct mime_result res;
	int n;

	(void)state;
	n = snprintf(msg, sizeof(msg), "Subject: %080d\n"
	    "Content-Type: text/html\n\nbody\n", 0);
	parse(msg, (size_t)n, &lim, &s, &res);
	assert_int_equal(res.anomalies, MIME_LIMIT);
	assert_string_equal(res.reason, "header block too large");
	/* headers past the limit are not read; the body is still found */
	assert_int_equal(s.n, 1);
	assert_string_equal(s.part[0].content_type, "text/plain");
	assert_memory_equal(s.part[0].data, "body\n", 5);
	seen_free(&s);
	mime_result_free(&res);
}

/* ---- skeleton and stopping ---------------------------------------------- */

static void
test_skeleton(void **state)
{
	static const char msg[] =
	    "Subject: s\r\nContent-Type: multipart/mixed; boundary=k\r\n\r\n"
	    "pre\r\n--k\r\nContent-Type: text/plain\r\n\r\nkept text\r\n"
	    "--k\r\nContent-Type: application/pdf; name=x.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
	    "--k\r\nContent-Type: text/plain\r\nContent-Disposition: "
	    "attachment; filename=a.txt\r\n\r\nattached text\r\n--k--\r\n";
	static const char want[] =
	    "Subject: s\r\nContent-Type: multipart/mixed; boundary=k\r\n\r\n"
	    "pre\r\n--k\r\nContent-Type: text/plain\r\n\r\nkept text\r\n"
	    "--k\r\nContent-Type: application/pdf; name=x.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n\r\n"
	    "--k\r\nContent-Type: text/plain\r\nContent-Disposition: "
	    "attachment; filename=a.txt\r\n\r\n\r\n--k--\r\n";
	struct seen s = { 0 };
	struct mime_result res;

	(void)state;
	parse(msg, sizeof(msg) - 1, NULL, &s, &res);
	assert_int_equal(res.anomalies, 0);
	assert_int_equal(s.n, 3);
	assert_memory_equal(s.part[1].data, "%PDF-", 5);
	assert_int_equal(res.skeleton_len, sizeof(want) - 1);
	assert_memory_equal(res.skeleton, want, sizeof(want) - 1);
	seen_free(&s);
	mime_result_free(&res);
	mime_result_free(&res);		/* twice is fine */
}

/* What known_fn was asked, and what it answers. */
struct asked {
	int	 n;
	char	 encoding[32];
	char	 encoded[64];
	size_t	 answer;		/* 0: unknown */
};

static int
ask(const struct mime_part *p, size_t *len, void *arg)
{
	struct asked *a = arg;

	a->n++;
	assert_null(p->data);
	snprintf(a->encoding, sizeof(a->encoding), "%s", p->encoding);
	snprintf(a->encoded, sizeof(a->encoded), "%.*s",
	    (int)p->encoded_len, (const char *)p->encoded);
	*len = a->answer;
	return a->answer != 0;
}

/* The first level: only base64 and quoted-printable attachments, not text,
 * are asked about before decoding; a known one is reported without data,
 * counted and cut from the skeleton as if it had been decoded; one that
 * would not fit under max_decoded is decoded; exact says a decoding had
 * no flaw. */
static void
test_known(void **state)
{
	static const char msg[] =
	    "Subject: s\r\nContent-Type: multipart/mixed; boundary=k\r\n\r\n"
	    "pre\r\n--k\r\nContent-Type: text/plain\r\n\r\nkept text\r\n"
	    "--k\r\nContent-Type: application/pdf; name=x.pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n"
	    "--k\r\nContent-Type: text/plain\r\nContent-Disposition: "
	    "attachment; filename=a.txt\r\nContent-Transfer-Encoding: "
	    "base64\r\n\r\nYXR0YWNoZWQ=\r\n--k--\r\n";
	static const char flawed[] =
	    "Subject: s\r\nContent-Type: application/pdf\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0\r\n";
	struct asked a = { .answer = 5 };
	struct mime_limits lim = { .known_fn = ask, .known_arg = &a };
	struct seen s = { 0 }, d = { 0 };
	struct mime_result res, dres;

	(void)state;
	/* decoded, for comparison: exact, the encoded span given */
	parse(msg, sizeof(msg) - 1, NULL, &d, &dres);
	assert_int_equal(d.n, 3);
	assert_false(d.part[1].known);
	assert_true(d.part[1].exact);
	assert_int_equal(d.part[1].encoded_len, 8);
	assert_null(d.part[0].encoded);		/* text */
	assert_null(d.part[2].encoded);		/* text, though attached */
	/* known */
	parse(msg, sizeof(msg) - 1, &lim, &s, &res);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.encoding, "base64");
	assert_string_equal(a.encoded, "JVBERi0=");
	assert_int_equal(s.n, 3);
	assert_true(s.part[1].known);
	assert_int_equal(s.part[1].len, 5);
	assert_string_equal(s.part[1].content_type, "application/pdf");
	assert_string_equal(s.part[1].filename, "x.pdf");
	assert_true(s.part[1].cuttable);
	assert_int_equal(s.part[1].header_start, d.part[1].header_start);
	assert_int_equal(s.part[1].body_end, d.part[1].body_end);
	assert_int_equal(res.anomalies, dres.anomalies);
	assert_int_equal(res.decoded, dres.decoded);
	assert_int_equal(res.skeleton_len, dres.skeleton_len);
	assert_memory_equal(res.skeleton, dres.skeleton, res.skeleton_len);
	seen_free(&s);
	mime_result_free(&res);
	/* known, but past max_decoded: decoded (and cut short) as usual */
	memset(&s, 0, sizeof(s));
	a = (struct asked){ .answer = 1000 };
	lim.max_decoded = 100;
	parse(msg, sizeof(msg) - 1, &lim, &s, &res);
	assert_int_equal(a.n, 1);
	assert_false(s.part[1].known);
	assert_memory_equal(s.part[1].data, "%PDF-", 5);
	seen_free(&s);
	mime_result_free(&res);
	/* a flawed decoding is not exact */
	memset(&s, 0, sizeof(s));
	a = (struct asked){ .answer = 0 };
	lim.max_decoded = 0;
	parse(flawed, sizeof(flawed) - 1, &lim, &s, &res);
	assert_int_equal(a.n, 1);
	assert_int_equal(s.n, 1);
	assert_false(s.part[0].exact);
	assert_true(res.anomalies & MIME_BAD_ENCODING);
	seen_free(&s);
	mime_result_free(&res);
	seen_free(&d);
	mime_result_free(&dres);
}

static void
test_stop(void **state)
{
	struct seen s = { .stop_at = 1 };
	struct mime_result res;
	int rc;

	(void)state;
	rc = parse(three_parts, sizeof(three_parts) - 1, NULL, &s, &res);
	assert_int_equal(rc, 7);
	assert_int_equal(s.n, 1);
	assert_int_equal(res.parts, 1);
	/* the skeleton holds the whole message after the stop */
	assert_int_equal(res.skeleton_len, sizeof(three_parts) - 1);
	seen_free(&s);
	mime_result_free(&res);
}

static void
test_names_of_bits(void **state)
{
	(void)state;
	assert_string_equal(mime_anomaly_name(MIME_DUP_HEADER), "DUP_HEADER");
	assert_string_equal(mime_anomaly_name(MIME_AMBIGUOUS), "AMBIGUOUS");
	assert_null(mime_anomaly_name(3));
	assert_null(mime_anomaly_name(0));
}

/* Every distinct finding is listed, in order, once. */
static void
test_reasons(void **state)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=(c)e\n"
	    "Content-Transfer-Encoding: 7bit\nContent-Transfer-Encoding: 7bit\n"
	    "\n--e\nContent-Transfer-Encoding: \"base64\"\n\nx\n"
	    "--e\nContent-Transfer-Encoding: \"base64\"\n\ny\n--e--\n";
	struct seen s = { 0 };
	struct mime_result res;

	(void)state;
	parse(msg, sizeof(msg) - 1, NULL, &s, &res);
	assert_int_equal(res.anomalies, MIME_AMBIGUOUS | MIME_DUP_HEADER |
	    MIME_BAD_ENCODING);
	assert_int_equal(res.nreasons, 3);
	assert_int_equal(res.nfindings, 3);
	assert_string_equal(res.reasons[0],
	    "duplicate Content-Transfer-Encoding header");
	assert_string_equal(res.reasons[1],
	    "comment inside the boundary parameter");
	assert_string_equal(res.reasons[2],
	    "transfer encoding is not one token");
	assert_string_equal(res.reason, res.reasons[0]);
	seen_free(&s);
	mime_result_free(&res);
}

/* ---- the corpus --------------------------------------------------------- */

#define EICAR_B64	"WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FS"
#define EICAR_TEXT	"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"

/* Does a leaf hold the EICAR string, decoded? */
static int
find_eicar(const struct mime_part *p, void *arg)
{
	int *found = arg;

	if (memmem(p->data, p->len, EICAR_TEXT, strlen(EICAR_TEXT)) != NULL)
		*found = 1;
	return 0;
}

/*
 * Whatever the trick, content must not vanish: EICAR, base64-encoded in
 * the file, is in a decoded leaf or still (encoded) in the skeleton that
 * is scanned as mail.
 */
static int
eicar_reachable(const unsigned char *msg, size_t len,
    const struct mime_result *res, int found)
{
	if (memmem(msg, len, EICAR_B64, strlen(EICAR_B64)) == NULL)
		return 1;	/* not a file with EICAR in it */
	return found || memmem(res->skeleton, res->skeleton_len, EICAR_B64,
	    strlen(EICAR_B64)) != NULL;
}

static unsigned
bits_of(const char *list)
{
	char buf[256], *tok, *save = NULL;
	unsigned bit, bits = 0;

	if (strcmp(list, "-") == 0)
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		for (bit = 1; bit < 1u << MIME_ANOMALY_COUNT; bit <<= 1)
			if (strcmp(mime_anomaly_name(bit), tok) == 0)
				break;
		if (bit == 1u << MIME_ANOMALY_COUNT)
			fail_msg("EXPECTED: unknown anomaly %s", tok);
		bits |= bit;
	}
	return bits;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	*len = fread(buf, 1, (size_t)n, f);
	fclose(f);
	return buf;
}

static void
test_corpus(void **state)
{
	char line[1024], path[1200], file[512], want[256], got[256];
	unsigned char *msg;
	struct mime_result res;
	unsigned wbits;
	size_t len;
	int good = 0, fp = 0, bad = 0, detected = 0, wrong = 0, lost = 0;
	int found;
	FILE *f;

	(void)state;
	f = fopen(SRCDIR "/t/data/mime/EXPECTED", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%511s %255s", file, want) != 2)
			fail_msg("EXPECTED: bad line %s", line);
		wbits = bits_of(want);
		snprintf(path, sizeof(path), SRCDIR "/t/data/mime/%s", file);
		msg = slurp(path, &len);
		found = 0;
		mime_parse(msg, len, NULL, find_eicar, &found, &res);
		names(res.anomalies, got, sizeof(got));
		if (!eicar_reachable(msg, len, &res, found)) {
			lost++;
			print_error("%s: EICAR neither decoded nor in the "
			    "skeleton\n", file);
		}
		if (strncmp(file, "good/", 5) == 0 ||
		    strncmp(file, "control/", 8) == 0) {
			good++;
			if (res.anomalies != 0) {
				fp++;
				print_error("false positive: %s: %s(%s)\n",
				    file, got, res.reason);
			}
		} else {
			bad++;
			if (res.anomalies != 0)
				detected++;
			if ((res.anomalies & wbits) != wbits || wbits == 0) {
				wrong++;
				print_error("%s: got %s(%s), want %s\n", file,
				    got, res.reason, want);
			}
		}
		mime_result_free(&res);
		free(msg);
	}
	fclose(f);
	print_message("corpus: good %d, false positives %d (%.1f%%); "
	    "bad %d, detected %d (%.1f%%), as expected %d\n", good, fp,
	    good ? 100.0 * fp / good : 0.0, bad, detected,
	    bad ? 100.0 * detected / bad : 0.0, bad - wrong);
	assert_true(good > 0 && bad > 0);
	assert_int_equal(fp, 0);
	assert_int_equal(wrong, 0);
	assert_int_equal(lost, 0);
}

/* big_get / big_put: parts past big_part decode into the caller's
 * buffers (here tracked heap ones), each given back once, after the part
 * and what was found in it were reported; none to be had stops the parse
 * as for want of memory. */
struct bigs {
	int	 gets, puts, fail;
	unsigned char *live[2];
	size_t	 put_len[4];
	const unsigned char *seen_in[4];	/* data pointer of each leaf */
	int	 n;
};

static unsigned char *
big_get(size_t cap, void *arg)
{
	struct bigs *b = arg;
	unsigned char *p;

	if (b->fail)
		return NULL;
	p = malloc(cap);
	assert_non_null(p);
	assert_true(b->gets - b->puts < 2);
	b->live[b->live[0] == NULL ? 0 : 1] = p;
	b->gets++;
	return p;
}

static void
big_put(unsigned char *p, size_t cap, size_t len, void *arg)
{
	struct bigs *b = arg;

	(void)cap;
	assert_true(p == b->live[0] || p == b->live[1]);
	if (b->puts < 4)
		b->put_len[b->puts] = len;
	b->puts++;
	b->live[p == b->live[0] ? 0 : 1] = NULL;
	free(p);
}

static int
big_leaf(const struct mime_part *p, void *arg)
{
	struct bigs *b = arg;

	if (b->n < 4)
		b->seen_in[b->n] = p->data;
	b->n++;
	/* the bytes are valid during the callback, in the caller's buffer */
	if (strcmp(p->encoding, "base64") == 0)
		assert_memory_equal(p->data, "hello world", 11);
	if (p->uuencoded)
		assert_memory_equal(p->data, "big block bytes", 15);
	return 0;
}

static void
test_big_parts(void **state)
{
	static const char msg[] =
	    "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
	    "--b\r\nContent-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n"
	    "--b\r\nContent-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "text=\r\n\r\nbegin 644 x.bin\r\n/8FEG(&)L;V-K(&)Y=3D&5S\r\n`\r\nend\r\n"
	    "--b--\r\n";
	struct bigs b = { 0 };
	struct mime_limits lim = { .big_part = 4, .big_get = big_get,
	    .big_put = big_put, .big_arg = &b };
	struct mime_result res;

	(void)state;
	mime_parse((const unsigned char *)msg, sizeof(msg) - 1, &lim,
	    big_leaf, &b, &res);
	assert_int_equal(res.anomalies, 0);
	assert_int_equal(b.n, 3);	/* base64, the text, its block */
	assert_int_equal(b.gets, 3);
	assert_int_equal(b.puts, 3);
	assert_int_equal(b.put_len[0], 11);
	/* the block is given back before the text it was found in */
	assert_int_equal(b.put_len[1], 15);
	assert_true(b.live[0] == NULL && b.live[1] == NULL);
	mime_result_free(&res);

	/* below big_part: the heap, as before */
	memset(&b, 0, sizeof(b));
	lim.big_part = 1 << 20;
	mime_parse((const unsigned char *)msg, sizeof(msg) - 1, &lim,
	    big_leaf, &b, &res);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.gets, 0);
	mime_result_free(&res);

	/* a small block in a large text: the heap, no large buffer each */
	memset(&b, 0, sizeof(b));
	lim.big_part = 20;
	mime_parse((const unsigned char *)msg, sizeof(msg) - 1, &lim,
	    big_leaf, &b, &res);
	assert_int_equal(b.n, 3);
	assert_int_equal(b.gets, 1);	/* the text alone */
	assert_int_equal(b.puts, 1);
	mime_result_free(&res);

	/* none to be had: the parse stops, the message is scanned whole */
	memset(&b, 0, sizeof(b));
	b.fail = 1;
	lim.big_part = 4;
	mime_parse((const unsigned char *)msg, sizeof(msg) - 1, &lim,
	    big_leaf, &b, &res);
	assert_int_equal(b.n, 0);
	assert_true(res.no_memory);
	assert_true(res.anomalies & MIME_LIMIT);
	mime_result_free(&res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_legal),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_nul_header),
		cmocka_unit_test(test_limit_parts),
		cmocka_unit_test(test_limit_decoded),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_header),
		cmocka_unit_test(test_skeleton),
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_names_of_bits),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_corpus),
		cmocka_unit_test(test_big_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
