/*
 * eml.h - split an RFC 5322 message held in memory into header fields (as
 * an MTA hands them to a milter) and the offset of its body.
 */
#ifndef BENCH_EML_H
#define BENCH_EML_H

#include <stddef.h>

#define EML_MAX_HEADERS 10000

struct eml_hdr {
	char *name;  /* NUL-terminated field name (owned) */
	char *value; /* text after the colon, leading space kept, folds as LF+WSP, no CR (owned) */
};

struct eml {
	struct eml_hdr *hdrs;
	size_t nhdrs;
	size_t body_off; /* offset of the first body byte (== len when there is no body) */
	size_t skipped;  /* header lines without a colon, ignored */
};

/*
 * Parse data[0..len-1]. A leading mbox "From " line is skipped. Lines end in
 * CRLF or LF. Never fails; at most EML_MAX_HEADERS fields are kept (the rest
 * are counted as skipped). Free with eml_free.
 */
void eml_parse(struct eml *m, const unsigned char *data, size_t len);
void eml_free(struct eml *m);

#endif
