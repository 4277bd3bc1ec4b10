/*
 * eml.c - header/body split of a message in memory (see eml.h).
 * A bounded scanner: one pass, no recursion, every field copied out.
 */
#define _POSIX_C_SOURCE 200809L
#include "eml.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Offset just past the line starting at pos (past its LF, or len). */
static size_t line_end(const unsigned char *d, size_t len, size_t pos)
{
	const unsigned char *nl = memchr(d + pos, '\n', len - pos);

	return nl ? (size_t)(nl - d) + 1 : len;
}

static int is_blank_line(const unsigned char *d, size_t len, size_t pos)
{
	if (pos < len && d[pos] == '\n')
		return 1;
	return pos + 1 < len && d[pos] == '\r' && d[pos + 1] == '\n';
}

/* Copy d[a..b) dropping CRs that precede an LF, and a trailing line end. */
static char *copy_value(const unsigned char *d, size_t a, size_t b)
{
	char *v = xmalloc(b - a + 1);
	size_t o = 0;

	for (size_t i = a; i < b; i++) {
		if (d[i] == '\r' && i + 1 < b && d[i + 1] == '\n')
			continue;
		v[o++] = (char)d[i];
	}
	while (o > 0 && (v[o - 1] == '\n' || v[o - 1] == '\r'))
		o--;
	v[o] = '\0';
	return v;
}

/* Keep the field d[a..b) (one or more physical lines) if it has a colon. */
static void add_field(struct eml *m, const unsigned char *d, size_t a, size_t b)
{
	const unsigned char *colon = memchr(d + a, ':', b - a);
	size_t nlen;
	struct eml_hdr *h;

	if (colon == NULL || colon == d + a || m->nhdrs >= EML_MAX_HEADERS) {
		m->skipped++;
		return;
	}
	nlen = (size_t)(colon - (d + a));
	while (nlen > 0 && (d[a + nlen - 1] == ' ' || d[a + nlen - 1] == '\t'))
		nlen--;
	h = &m->hdrs[m->nhdrs++];
	h->name = xmalloc(nlen + 1);
	memcpy(h->name, d + a, nlen);
	h->name[nlen] = '\0';
	h->value = copy_value(d, (size_t)(colon - d) + 1, b);
}

void eml_parse(struct eml *m, const unsigned char *d, size_t len)
{
	size_t pos = 0, cap = 64;

	memset(m, 0, sizeof(*m));
	m->hdrs = xcalloc(cap, sizeof(*m->hdrs));

	if (len >= 5 && memcmp(d, "From ", 5) == 0)
		pos = line_end(d, len, 0);
	while (pos < len && !is_blank_line(d, len, pos)) {
		size_t start = pos;

		pos = line_end(d, len, pos);
		while (pos < len && (d[pos] == ' ' || d[pos] == '\t'))
			pos = line_end(d, len, pos);
		if (m->nhdrs == cap) {
			cap *= 2;
			m->hdrs = xrealloc(m->hdrs, cap * sizeof(*m->hdrs));
		}
		add_field(m, d, start, pos);
	}
	if (pos < len)
		pos = line_end(d, len, pos);
	m->body_off = pos;
}

void eml_free(struct eml *m)
{
	if (m == NULL || m->hdrs == NULL)
		return;
	for (size_t i = 0; i < m->nhdrs; i++) {
		free(m->hdrs[i].name);
		free(m->hdrs[i].value);
	}
	free(m->hdrs);
	m->hdrs = NULL;
	m->nhdrs = 0;
}
