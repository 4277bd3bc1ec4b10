/*
 * Inside the MIME parser: what mime.c (structure), mime_leaf.c (leaves and
 * the skeleton), mime_header.c (header field values) and mime_decode.c
 * (transfer encodings) share.  The field and decoding functions do not
 * allocate: every output is a caller's buffer with its size.
 */
#ifndef SM_MIME_INT_H
#define SM_MIME_INT_H

#include <stddef.h>

#include "mime.h"

#define MIME_BOUNDARY_RFC	70	/* longest boundary RFC 2046 allows */
#define MIME_BOUNDARY_MAX	200	/* longer ones are not used at all */

/* Sets an anomaly bit; the first reason given is kept. */
void	mime_flag(struct mime_result *, unsigned bit, const char *reason);

/* ---- header field values (mime_header.c) -------------------------------- */

struct mime_ctype {
	char	 type[128];	/* "type/subtype" lowercased; "" absent/invalid */
	int	 has_boundary;	/* a boundary parameter was given */
	char	 boundary[MIME_BOUNDARY_MAX + 1];
	size_t	 blen;		/* may exceed MIME_BOUNDARY_MAX: then unusable */
	char	 name[256];	/* name=, decoded; "" if none */
};

struct mime_cdisp {
	int	 attachment;	/* disposition type "attachment" */
	char	 filename[256];	/* filename=, decoded; "" if none */
};

/* Each parses one raw, possibly folded, field value (what follows the
 * colon) and flags what readers would disagree on in res. */
void	mime_parse_ctype(const unsigned char *, size_t, struct mime_ctype *,
	    struct mime_result *);
void	mime_parse_cdisp(const unsigned char *, size_t, struct mime_cdisp *,
	    struct mime_result *);
void	mime_parse_cte(const unsigned char *, size_t, char *out, size_t outsz,
	    struct mime_result *);

/* ---- transfer encodings (mime_decode.c) --------------------------------- */

/* Status bits of a decoder. */
#define MIME_DEC_BAD	0x1	/* input was not valid: *why says how */
#define MIME_DEC_TRUNC	0x2	/* output stopped at cap */

/*
 * Each decodes n bytes of src into out (at most cap bytes), returns the
 * bytes written, ORs MIME_DEC_* into *st and, for the first anomaly, sets
 * *why (a static string) if it is still NULL.  Lenient: what cannot be
 * decoded is skipped (base64) or kept literally (quoted-printable).
 */
size_t	mime_base64(const unsigned char *src, size_t n, unsigned char *out,
	    size_t cap, unsigned *st, const char **why);
size_t	mime_qp(const unsigned char *src, size_t n, unsigned char *out,
	    size_t cap, unsigned *st, const char **why);

/* End of the line of src starting at i, without its CR LF; *next: the
 * offset of the line after it (n at the end). */
size_t	mime_line_end(const unsigned char *src, size_t n, size_t i,
	    size_t *next);

/*
 * Looks for a uuencode "begin MODE NAME" line starting at a line start at
 * or after from.  Returns its offset, or n if there is none; then *name /
 * *namelen give the file name and *body the offset after the line.
 */
size_t	mime_uu_find(const unsigned char *src, size_t n, size_t from,
	    const unsigned char **name, size_t *namelen, size_t *body);

/*
 * Decodes uuencoded lines from src up to and including the "end" line (or
 * the end of src).  Returns the bytes written to out; *used gets the bytes
 * of src consumed.
 */
size_t	mime_uu_decode(const unsigned char *src, size_t n, unsigned char *out,
	    size_t cap, size_t *used, unsigned *st);

/* ---- files embedded in text (mime_embed.c) ----------------------------- */

enum mime_embed { MIME_EMBED_UU, MIME_EMBED_YENC, MIME_EMBED_BINHEX };

/*
 * The next uuencode, yEnc or BinHex block starting at a line start at or
 * after from: its offset, or n if there is none.  *kind says which, *name
 * / *namelen give the file name of its begin line (none for BinHex: the
 * name is inside the data) and *body the offset after that line.
 */
size_t	mime_embed_find(const unsigned char *src, size_t n, size_t from,
	    enum mime_embed *kind, const unsigned char **name, size_t *namelen,
	    size_t *body);

/* Decode the lines of a yEnc block up to and including its "=yend" line
 * (or the end of src); *used gets the bytes of src consumed. */
size_t	mime_yenc_decode(const unsigned char *src, size_t n,
	    unsigned char *out, size_t cap, size_t *used, unsigned *st);

/* Decodes a BinHex 4.0 block (":data:" after its banner line) into its
 * data fork; name (namesz bytes) gets the file name it carries. */
size_t	mime_binhex_decode(const unsigned char *src, size_t n,
	    unsigned char *out, size_t cap, size_t *used, unsigned *st,
	    char *name, size_t namesz);

/* ---- parser state (mime.c: structure, mime_leaf.c: leaves) ------------- */

enum mime_cte {
	MIME_CTE_IDENTITY, MIME_CTE_BASE64, MIME_CTE_QP, MIME_CTE_UU,
	MIME_CTE_UNKNOWN
};

/* One entity (a header block and its body) as the parser reads it. */
struct entity {
	int	 depth;
	const char *type;	/* content type in effect */
	struct mime_ctype ct;
	struct mime_cdisp cd;
	const char *filename;
	char	 encoding[32];
	int	 suspect;	/* read differently elsewhere: keep it raw
				 * in the skeleton too */
};

/* One mime_parse() call; struct frame is mime.c's own. */
struct frame;

struct parser {
	const unsigned char *msg;
	size_t	 len;
	struct mime_limits lim;
	mime_part_fn fn;
	void	*arg;
	struct mime_result *res;
	struct frame *stack;
	int	 nstack, capstack;
	unsigned char *dec, *uu;	/* decoding buffers, reused */
	size_t	 deccap, uucap;
	size_t	 skel_from;	/* input from here is not in the skeleton yet */
	size_t	 skelcap;
	int	 stop;		/* parse no further */
	int	 ret;		/* what a callback returned */
};

/* What a lowercased Content-Transfer-Encoding token stands for. */
enum mime_cte mime_cte_kind(const char *);

/* Appends input [from, to) to the skeleton. */
void	mime_skel_add(struct parser *, size_t from, size_t to);
void	mime_out_of_memory(struct parser *);

/*
 * Decodes leaf en, body [bs, be) of the input, hands it to the callback
 * (then its uuencode blocks if it is text) and cuts it from the skeleton
 * if it is an attachment reported whole.  Sets p->stop at a limit or when
 * the callback says so.
 */
void	mime_emit(struct parser *, const struct entity *, size_t hs, size_t bs,
	    size_t be);

#endif
