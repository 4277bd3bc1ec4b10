/*
 * MIME decomposition of untrusted mail: a bounded, single-pass parser that
 * hands every leaf part to a callback with its decoded bytes, reports the
 * structural tricks different MIME readers would interpret differently
 * (bypass detection), and builds the message "skeleton" — the mail without
 * its attachment bodies — to be scanned once as mail.
 *
 * Memory: one decoded part (and one uuencode, yEnc or BinHex block found in
 * it) at a time, never more than max_decoded bytes in all (with big_get,
 * parts past big_part decode outside the heap), plus the
 * skeleton (never longer than the input) and a stack of the open
 * multiparts (at most max_depth).
 * Parts encoded 7bit/8bit/binary are handed over in place, uncopied.
 * Time: O(len × open multiparts); only lines starting with "--" are compared
 * with boundaries.  Nothing recurses: nesting is an explicit stack.
 */
#ifndef SM_MIME_H
#define SM_MIME_H

#include <stddef.h>

struct mime_part;

/* A field left 0 takes the default below. */
struct mime_limits {
	int	 max_depth;	/* nesting of multipart + message/rfc822 */
	int	 max_parts;	/* leaf parts */
	size_t	 max_decoded;	/* total decoded bytes */
	size_t	 max_header;	/* bytes of one part's header block */
	int	 no_skeleton;	/* findings only: build no skeleton */
	/* when set, the skeleton is handed over here piece by piece, in
	 * order, as it is built (the result holds only its length) */
	void	(*skeleton_fn)(const unsigned char *, size_t, void *arg);
	void	*skeleton_arg;
	/*
	 * When set, a part that may decode to more than big_part bytes is
	 * decoded into a buffer big_get gives (cap writable bytes, e.g. a
	 * spill file mapped; NULL: none to be had, the parse stops as for
	 * want of memory) instead of the heap: the parser's memory stays
	 * bounded whatever the part's size.  big_put gets it back, with the
	 * bytes written, once the part and the blocks found in it were
	 * reported (the callback may keep the bytes by remembering which
	 * buffer they were in).
	 */
	size_t	 big_part;
	unsigned char *(*big_get)(size_t cap, void *arg);
	void	(*big_put)(unsigned char *, size_t cap, size_t len, void *arg);
	void	*big_arg;
	/*
	 * When set, asked before an attachment encoded base64 or
	 * quoted-printable (not text, not a container, nothing suspect about
	 * it) is decoded, with the part described (data NULL, encoded set):
	 * returning 1 with *decoded_len says the caller knows these encoded
	 * bytes already, decoded completely and without a flaw to that many
	 * bytes; the part is then reported with known set and no data,
	 * counted and cut from the skeleton as if decoded.  0: decode it.
	 */
	int	(*known_fn)(const struct mime_part *, size_t *decoded_len,
		    void *arg);
	void	*known_arg;
};

#define MIME_DEFAULT_DEPTH	10
#define MIME_DEFAULT_PARTS	1000
#define MIME_DEFAULT_DECODED	((size_t)100 * 1024 * 1024)
#define MIME_DEFAULT_HEADER	((size_t)256 * 1024)

enum mime_anomaly {		/* bit flags, for bypass detection */
	MIME_DUP_HEADER = 1 << 0,	/* duplicate Content-Type / -Transfer-Encoding / -Disposition in one part */
	MIME_BAD_BOUNDARY = 1 << 1,	/* missing/empty/overlong/illegal boundary, prefix of another in scope, never closed, ... */
	MIME_BAD_ENCODING = 1 << 2,	/* invalid base64, broken QP, unknown CTE */
	MIME_ENCODING_NOT_ALLOWED = 1 << 3, /* base64/QP on multipart or message/rfc822 */
	MIME_PARTIAL = 1 << 4,		/* message/partial or message/external-body */
	MIME_DEPTH = 1 << 5,		/* nesting past max_depth */
	MIME_CONTROL_CHARS = 1 << 6,	/* NUL or other control bytes (not TAB/CR/LF/ESC) in header fields */
	MIME_LIMIT = 1 << 7,		/* max_parts / max_decoded / max_header hit */
	MIME_AMBIGUOUS = 1 << 8,	/* anything else two readers would interpret differently */
};

#define MIME_ANOMALY_COUNT 9

struct mime_part {
	int	 depth;			/* 0: the top-level body */
	char	 content_type[128];	/* lowercased "type/subtype"; default
					 * text/plain (message/rfc822 in a
					 * multipart/digest) */
	/* Content-Disposition filename=, else Content-Type name=; RFC 2231
	 * (continuations, charset'lang') and RFC 2047 decoded, Latin-1 made
	 * UTF-8, other charsets left as they are, control bytes as '_'; ""
	 * if none; uuencode and yEnc blocks: the name on their begin
	 * line, BinHex: the name it carries */
	char	 filename[256];
	char	 encoding[32];		/* lowercased CTE or "7bit" */
	int	 is_attachment;		/* filename, attachment, or not text */
	int	 uuencoded;		/* a uuencode, yEnc or BinHex block inside
					 * a text part */
	/*
	 * Where the part is in the input, for removing it (strip): its header
	 * block starts at header_start and its body ends at body_end (before
	 * the line end of the next delimiter).  Only set (cuttable = 1) for a
	 * MIME leaf inside a multipart; 0 for the top-level body and for
	 * uuencode blocks.
	 */
	int	 cuttable;
	size_t	 header_start;
	size_t	 body_end;
	const unsigned char *data;	/* decoded bytes (valid during the callback only) */
	size_t	 len;
	/*
	 * Attachments encoded base64 or quoted-printable (those known_fn is
	 * asked about): the body as it stands in the message (valid during
	 * the callback only), else NULL.  exact: it decoded completely and
	 * without a flaw (the same encoded bytes always give these data).
	 * known: known_fn knew it; data is NULL, len its decoded length.
	 */
	const unsigned char *encoded;
	size_t	 encoded_len;
	int	 exact;
	int	 known;
};

/* Called for every leaf part with its decoded bytes; return non-zero to stop. */
typedef int (*mime_part_fn)(const struct mime_part *, void *arg);

#define MIME_MAX_REASONS 16

/*
 * Every anomaly is also a place where two real MIME readers may see
 * different structure: the caller must then scan the message whole as
 * well (decomposition may only add detections).  Legal but unusual mail
 * (comments where the grammar allows them, a missing final close
 * delimiter, folded or long or 8-bit headers, unusual legal boundary
 * characters) reports none.
 */
struct mime_result {
	unsigned anomalies;		/* enum mime_anomaly bits */
	char	 reason[128];		/* the first anomaly, e.g. "duplicate Content-Type header" */
	/* every distinct finding, in the order found (static strings;
	 * those past MIME_MAX_REASONS only counted in nfindings) */
	const char *reasons[MIME_MAX_REASONS];
	int	 nreasons;
	int	 nfindings;
	int	 parts;			/* leaf parts reported */
	size_t	 decoded;		/* decoded bytes reported */
	/*
	 * The message with the bodies of the attachment parts it reported
	 * left out (headers, boundaries, preambles and text parts kept as
	 * they are).  A part cut short by a limit, a part with duplicate
	 * MIME fields, control bytes in its header or an unknown encoding,
	 * a multipart or message reported whole (not entered: bad boundary,
	 * too deep, encoded) and everything after a stop stay in.  Owned by the result:
	 * mime_result_free().
	 */
	unsigned char *skeleton;
	size_t	 skeleton_len;
	int	 no_memory;		/* the parse stopped for want of memory:
					 * no skeleton, scan the message whole */
};

/*
 * Parses msg (a whole RFC 5322 message, CRLF or LF line ends, an mbox
 * "From " line allowed first; need not be NUL-terminated) and calls fn for
 * every leaf part in order.  limits may be NULL (defaults).  res is
 * overwritten; free it with mime_result_free() whatever is returned.
 * Returns 0, or the non-zero value a callback returned (parsing stops there).
 * fn may be NULL (anomalies and skeleton only).
 */
int	mime_parse(const unsigned char *msg, size_t len,
	    const struct mime_limits *limits, mime_part_fn fn, void *arg,
	    struct mime_result *res);

/* Frees the skeleton; takes a zeroed result, and a freed one again. */
void	mime_result_free(struct mime_result *);

/* Name of one anomaly bit without its prefix (MIME_DUP_HEADER gives
 * "DUP_HEADER"), for verdict names and tests; NULL if not a single bit. */
const char *mime_anomaly_name(unsigned bit);

#endif
