/*
 * libFuzzer target for the MIME parser: every input is parsed twice, with
 * the default limits and with tight ones, and the result is checked
 * against the promises of mime.h (limits kept, skeleton no longer than the
 * input, every reported byte readable).
 *
 *	clang -fsanitize=fuzzer,address,undefined ...  (see t/fuzz/run.sh)
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fuzz_state {
	const struct mime_limits *lim;
	int	 parts;
	size_t	 decoded;
	unsigned sum;
};

static int
touch(const struct mime_part *p, void *arg)
{
	struct fuzz_state *st = arg;
	size_t i;

	if (p->depth < 0 || p->depth > st->lim->max_depth ||
	    memchr(p->content_type, '\0', sizeof(p->content_type)) == NULL ||
	    memchr(p->filename, '\0', sizeof(p->filename)) == NULL ||
	    memchr(p->encoding, '\0', sizeof(p->encoding)) == NULL)
		abort();
	for (i = 0; i < p->len; i++)	/* every byte must be readable */
		st->sum += p->data[i];
	st->parts++;
	st->decoded += p->len;
	return 0;
}

static void
run(const uint8_t *data, size_t len, const struct mime_limits *lim)
{
	struct fuzz_state st = { lim, 0, 0, 0 };
	struct mime_result res;

	mime_parse(data, len, lim, touch, &st, &res);
	if (st.parts != res.parts || st.decoded != res.decoded ||
	    res.parts > lim->max_parts || res.decoded > lim->max_decoded ||
	    res.skeleton_len > len || res.skeleton == NULL ||
	    memchr(res.reason, '\0', sizeof(res.reason)) == NULL ||
	    (res.anomalies != 0) != (res.reason[0] != '\0'))
		abort();
	mime_result_free(&res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const struct mime_limits defaults = { MIME_DEFAULT_DEPTH,
	    MIME_DEFAULT_PARTS, MIME_DEFAULT_DECODED, MIME_DEFAULT_HEADER };
	static const struct mime_limits tight = { 3, 5, 1000, 200 };

	run(data, len, &defaults);
	run(data, len, &tight);
	return 0;
}
