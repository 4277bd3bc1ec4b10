/*
 * Attachments remembered as they arrived: an attachment's body as encoded
 * in a message (and its transfer encoding) -> the key and length of its
 * decoded bytes.  A repeated attachment (a campaign) is then known by
 * comparing its bytes with the copy kept here, which costs a fraction of
 * hashing them; what the comparison finds is exact, so no crafted body
 * can pass for another.  A miss costs a short hash of a few samples and
 * at most one comparison, and the caller hashes as before.
 *
 * The mapping depends only on the bytes and the decoder, not on any
 * engine or signature, so one memo serves every engine of a generation.
 * The caller puts an attachment the second time it sees it (batch.c).
 * Least recently used entries go first once the copies would pass the
 * byte budget (a copy dropped while a lookup compares it is freed when
 * that comparison ends, so for that long it is held beyond the budget).
 * Thread-safe.
 */
#ifndef SM_ENCMEMO_H
#define SM_ENCMEMO_H

#include <stddef.h>

#include "vcache.h"

/* Bodies shorter than this are hashed: for them a hash costs less than
 * the copy and its bookkeeping. */
#define ENCMEMO_MIN_LEN		4096

struct encmemo;

struct encmemo_stats {
	size_t	 entries, bytes, capacity;	/* capacity: the budget */
	unsigned long long hits, misses, inserts, evictions;
};

/* A memo keeping at most max_bytes of copies; NULL when max_bytes is 0. */
struct encmemo *encmemo_new(size_t max_bytes);
void	encmemo_free(struct encmemo *);	/* takes NULL */

/* Would a body of len bytes be kept?  (Callers skip the copy if not.) */
int	encmemo_fits(const struct encmemo *, size_t len);

/* 1 and the decoded bytes' key and length if exactly these bytes, with
 * this encoding, were put; else 0.  Takes a NULL memo (0). */
int	encmemo_get(struct encmemo *, const char *encoding,
	    const unsigned char *data, size_t len, unsigned char *key,
	    size_t *dlen);

/* Remembers that data (len bytes, encoding) decodes to bytes of key and
 * dlen, completely and without a flaw.  Takes data, a malloc()ed copy:
 * freed here, kept or not. */
void	encmemo_put(struct encmemo *, const char *encoding,
	    unsigned char *data, size_t len, const unsigned char *key,
	    size_t dlen);

void	encmemo_get_stats(struct encmemo *, struct encmemo_stats *);

/* Drops every entry (the counters stay); returns how many there were. */
size_t	encmemo_flush(struct encmemo *);

#endif
