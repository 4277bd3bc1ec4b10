/*
 * The rules engine's insides: a rule file compiled into a database
 * (load.c), the rules of one named rule set chosen from it, and their
 * evaluation against one message (match.c, html.c).  engine.c wraps them
 * in the engine table.  Everything here is immutable once loaded, so any
 * number of threads may evaluate the same active set at once.
 */
#ifndef SM_RULES_H
#define SM_RULES_H

#include <regex.h>
#include <stddef.h>
#include <time.h>

#include <scanmilter/engine.h>

/* Caps on what a rule file may ask for (beyond the schema's own). */
#define RULES_MAX_FILE		((size_t)4 * 1024 * 1024)
#define RULES_MAX_RULES		10000
#define RULES_MAX_SETS		1000
#define RULES_MAX_ITEMS		100000	/* phrases, domains … in one rule */
#define RULES_MAX_REGEX		1024	/* bytes of one regular expression */
#define RULES_MAX_PHRASE	256
#define RULES_MAX_DOMAIN	253
#define RULES_MAX_GLOB		255
#define RULES_MAX_NAME		64	/* rule and rule set names */
#define RULES_MAX_SCORE		1000	/* |score| of one rule */

enum rule_kind {
	RK_HEADER,		/* regex on an unfolded header field */
	RK_BODY,		/* phrase in a decoded text part */
	RK_LINK,		/* <a href> host in an HTML part */
	RK_LINK_MISMATCH,	/* link text shows another domain */
	RK_CLIENT,		/* client address in a CIDR range */
	RK_HELO,		/* HELO name within a domain */
	RK_SENDER,		/* envelope sender's domain within a domain */
	RK_ATTACH_NAME,		/* attachment file name matches a glob */
	RK_ATTACH_EXT,		/* attachment extension (double or not) */
	RK_TYPE_MISMATCH,	/* declared type vs magic bytes */
	RK_SHA256,		/* attachment digest in a list */
};

/* Address ranges of a client rule (net.c). */
struct rules_net {
	int	 family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int	 bits;
};

struct rules_nets {
	struct rules_net *v;
	size_t	 n;
};

struct rule {
	enum rule_kind kind;
	char	*name;
	int	 score;
	long	 line;		/* in the rule file */
	char	*field;		/* RK_HEADER: the field name */
	regex_t	*re;		/* RK_HEADER: any of these */
	size_t	 nre;
	/* RK_BODY: lowercased phrases; RK_LINK/HELO/SENDER: lowercased
	 * domains, sorted; RK_ATTACH_NAME: globs; RK_ATTACH_EXT: lowercased
	 * extensions; RK_TYPE_MISMATCH: detected types (none: any) */
	char	**str;
	size_t	 nstr;
	struct rules_nets nets;	/* RK_CLIENT */
	unsigned char (*hash)[32]; /* RK_SHA256, sorted */
	size_t	 nhash;
	int	 double_ext;	/* RK_ATTACH_EXT: only after a document's */
};

struct ruleset {
	char	*name;
	long	 line;
	size_t	*rules;		/* its own rules: indexes into db->rules */
	size_t	 nrules;
	size_t	*includes;	/* other rule sets: indexes into db->sets */
	size_t	 ninc;
};

struct rules_db {
	struct rule *rules;
	size_t	 nrules;
	struct ruleset *sets;
	size_t	 nsets;
	char	*version;	/* <rules version="…">, or NULL */
};

/* What an active set needs from a message, so the rest can be skipped. */
#define NEED_HEADER	0x1
#define NEED_TEXT	0x2	/* decoded text parts */
#define NEED_HTML	0x4	/* parsed HTML parts */
#define NEED_ATTACH	0x8	/* attachments */
#define NEED_SHA256	0x10	/* attachment digests */

/* The rules of one rule set, its includes resolved, each rule once. */
struct rules_active {
	const struct rule **r;
	size_t	 n;
	unsigned need;		/* NEED_* */
};

/* ---- load.c, compile.c ---- */

/* A RELAX NG schema, parsed once; NULL from rules_schema_load() on error
 * (reason in err).  rules_schema_free() takes NULL. */
struct rules_schema;
struct rules_schema *rules_schema_load(const char *path, char *err,
	    size_t errlen);
/* The schema built into the binary (etc/rules.rng at build time). */
struct rules_schema *rules_schema_builtin(char *err, size_t errlen);
void	rules_schema_free(struct rules_schema *);

/*
 * Compiles a rule file (path) or a buffer holding one (name is used in
 * messages), validating it against schema first when schema is not NULL.
 * Returns a database owned by the caller (rules_db_free), or NULL with
 * "name:line: reason" in err.  Never follows DTDs or external entities.
 */
struct rules_db *rules_load_file(const char *path,
	    const struct rules_schema *schema, char *err, size_t errlen);
struct rules_db *rules_load_buffer(const char *name, const char *buf,
	    size_t len, const struct rules_schema *schema, char *err,
	    size_t errlen);
void	rules_db_free(struct rules_db *);	/* takes NULL */

/* compile.c: a parsed rule file (an xmlDocPtr) made into a database, or
 * NULL with "name:line: reason" in err. */
struct _xmlDoc;
struct rules_db *rules_compile(struct _xmlDoc *doc, const char *name,
	    char *err, size_t errlen);
/* The index of the rule set called name in db, or -1. */
long	rules_set_index(const struct rules_db *db, const char *name);
/* The orders of a rule's sorted lists: strings (char *) and digests (32
 * bytes), for qsort() when compiled and bsearch() when matched. */
int	rules_cmp_str(const void *a, const void *b);
int	rules_cmp_hash(const void *a, const void *b);

/* Fills act with the rules of the set named name (pointers into db, which
 * must outlive act).  Returns 0, or -1 with a reason in err.  Free act with
 * rules_active_free(). */
int	rules_select(const struct rules_db *db, const char *name,
	    struct rules_active *act, char *err, size_t errlen);
void	rules_active_free(struct rules_active *);

/* One-time libxml2 initialisation; safe to call from any thread. */
void	rules_xml_init(void);

/* ---- match.c ---- */

/* One message as the rules see it: bytes without any mbox "From " line,
 * its MIME parts from the daemon. */
struct rules_msg {
	const unsigned char *data;
	size_t	 len;
	const char *client_addr;	/* may be NULL */
	const char *helo;		/* may be NULL */
	const char *sender;		/* may be NULL or "" */
	/* the object whose parts() gives the message's MIME parts; NULL
	 * (or no parts()): only envelope and header rules are looked at */
	const struct sm_object *parts;
};

/* One attachment, for rules_eval_part() (objects the daemon decomposed). */
struct rules_part {
	const unsigned char *data;
	size_t	 len;
	const char *filename;		/* may be NULL */
	const char *content_type;	/* lowercased type/subtype, or NULL */
};

/*
 * Evaluates act against msg: sets fired[i] to 1 for every rule i of act
 * that matched (fired has act->n entries, zeroed by the caller) and
 * returns the sum of their scores.  Thread-safe; allocation failures exit
 * (rules_xmalloc).
 */
long	rules_eval(const struct rules_active *act, const struct rules_msg *msg,
	    unsigned char *fired);

/*
 * The same, giving up once deadline (CLOCK_MONOTONIC; NULL or {0, 0}:
 * none) has passed: it is looked at between parts and fields and inside
 * every loop whose length the message sets.  *expired is then 1 and the
 * score and fired cover only what was looked at; else 0.
 */
long	rules_eval_until(const struct rules_active *act,
	    const struct rules_msg *msg, unsigned char *fired,
	    const struct timespec *deadline, int *expired);

/* The same for one attachment given alone, plus envelope rules of msg
 * (whose data may be NULL). */
long	rules_eval_part(const struct rules_active *act,
	    const struct rules_msg *msg, const struct rules_part *part,
	    unsigned char *fired, const struct timespec *deadline,
	    int *expired);

/* 1 if host is domain or one of its subdomains (both lowercase). */
int	rules_domain_within(const char *host, const char *domain);

/* 1 if type is a type the magic table can detect (for <detected>). */
int	rules_magic_known(const char *type);

/* ---- net.c: client address ranges ---- */

/* Appends the ranges of text ("10.0.0.0/8 192.168.1.5, ::1 2001:db8::/32":
 * blanks or commas between; a bare address is a /32 or /128) to l.
 * Returns 0, or -1 with the bad entry in err.  An IPv4-mapped client
 * matches IPv4 ranges.  rules_net_free() frees l, whatever was added. */
int	rules_net_add(struct rules_nets *l, const char *text, char *err,
	    size_t errlen);
/* 1 if addr (text) is inside any range of l. */
int	rules_net_match(const struct rules_nets *l, const char *addr);
void	rules_net_free(struct rules_nets *l);

/* ---- html.c: links, read by a bounded scanner (not libxml2) ---- */

/*
 * Calls fn for every <a href> of an HTML document that goes to a host
 * (http, https or "//"; at most max_links of them): with the href's
 * lowercased host and the host the link text shows (NULL when the text is
 * not a URL or domain).  Hosts are valid during the call only; fn returns
 * non-zero to stop.  Linear in len.  Returns 0, or -1 if it stopped
 * because deadline (CLOCK_MONOTONIC; NULL or {0, 0}: none) had passed.
 */
typedef int (*rules_link_fn)(const char *href_host, const char *text_host,
	    void *arg);
int	rules_html_links(const unsigned char *html, size_t len,
	    size_t max_links, const struct timespec *deadline,
	    rules_link_fn fn, void *arg);

/* Writes the lowercased host of url (scheme://[user@]host[:port]/…, or
 * //host…) into out; returns 0, or -1 when url has no such host. */
int	rules_url_host(const char *url, char *out, size_t outlen);

/*
 * Writes the text an HTML document shows into out (at most outcap bytes,
 * never more than len): tags, comments and the content of script, style,
 * title and the like dropped, a tag other than an inline one (b, i, span,
 * font, a ...) read as a blank, character references decoded to UTF-8 as
 * for links.  Linear in len.  Returns 0 with the length in *outlen, or -1
 * if it stopped because deadline (NULL or {0, 0}: none) had passed.
 */
int	rules_html_text(const unsigned char *html, size_t len, char *out,
	    size_t outcap, size_t *outlen, const struct timespec *deadline);

/* ---- decode.c: text as a reader shows it ---- */

#define RULES_CHARSET_MAX	48	/* bytes of a charset name, NUL included */
#define RULES_PART_HEADER_MAX	((size_t)64 * 1024) /* looked at for charset */

#define RULES_ICONV_OPENS	32	/* converters opened per evaluation */

/* The iconv converter last used, kept for the next text of the same
 * charset.  One per evaluation (one thread); rules_iconv_close() frees it.
 * Past RULES_ICONV_OPENS charsets, a new one is read as if unknown. */
struct rules_iconv {
	void	*cd;			/* iconv_t; (void *)-1: none */
	char	 charset[RULES_CHARSET_MAX];	/* of cd, even a failed one */
	int	 opens;
};
void	rules_iconv_init(struct rules_iconv *);
void	rules_iconv_close(struct rules_iconv *);

/* 1 if s[0..n) is valid UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF). */
int	rules_utf8_valid(const unsigned char *s, size_t n);

/*
 * in (len bytes in charset cs; "": not declared) as UTF-8: returns in
 * itself when it is UTF-8 already (cs empty, UTF-8 or US-ASCII and the
 * bytes valid), else out, holding the conversion (iconv; an invalid
 * sequence made U+FFFD); a charset iconv cannot convert is read as
 * Windows-1252.  *outlen is at most cap.  Linear in len.
 */
const unsigned char *rules_to_utf8(struct rules_iconv *ic, const char *cs,
	    const unsigned char *in, size_t len, char *out, size_t cap,
	    size_t *outlen);

/* The charset parameter of the first Content-Type field of a header block
 * (hdr: its first field; the block ends at an empty line), into cs (""
 * when there is none, or it is not a plausible charset name). */
void	rules_part_charset(const unsigned char *hdr, size_t len, char *cs,
	    size_t cslen);

/*
 * Decodes the RFC 2047 encoded words (B and Q, any charset iconv knows,
 * made UTF-8) of a header value into out (at most outcap - 1 bytes and a
 * NUL; blanks between two encoded words dropped, NUL bytes made blanks).
 * Returns 1 if there was an encoded word, else 0 (out is then of no use).
 * Linear in the value.
 */
int	rules_2047_decode(struct rules_iconv *ic, const char *val, char *out,
	    size_t outcap);

/*
 * Folds UTF-8 text for phrase matching into out (which may be in, and
 * needs len bytes at most): ASCII and Latin-1 capitals lowercased, runs of
 * blanks and no-break spaces made one ' ', soft hyphens and zero-width
 * characters dropped.  Returns the length written.
 */
size_t	rules_text_fold(const char *in, size_t len, char *out);

/* ---- small helpers (rules_util.c): the engine's own, not the daemon's */

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation that ends the process, logged, when memory cannot be had. */
void	*rules_xmalloc(size_t);
void	*rules_xcalloc(size_t, size_t);
void	*rules_xrealloc(void *, size_t);
char	*rules_xstrdup(const char *);

/* Where that is logged: the daemon's log (an engine's env->log). */
void	rules_set_log(void (*log)(int, const char *, ...));

/* strlcpy: copies at most n - 1 bytes and a NUL; returns strlen(src). */
size_t	rules_strlcpy(char *dst, const char *src, size_t n);

/* The value of hex digit c, or -1. */
int	rules_hexval(int c);

/* The file at path whole, NUL-terminated, its length in *lenp; NULL with
 * "path: reason" in err when it cannot be read or has more than max
 * bytes. */
char	*rules_read_file(const char *path, size_t max, size_t *lenp,
	    char *err, size_t errlen);

#endif
