/*
 * scanmilter engine ABI: the only header a scanning engine includes.
 *
 * An engine is a table of function pointers (struct sm_engine_ops) plus the
 * table of options its configuration block accepts.  The daemon parses the
 * engine's block with that table, fills a structure of the engine's own
 * (conf_size bytes, values placed at each option's offset) and hands it to
 * create().  Nothing outside an engine knows which engines exist: built-in
 * engines and shared objects are both found by name in a registry.
 *
 * Threads: scan() is called from many threads at once on the same handle;
 * create() and destroy() are never called concurrently with scan() on the
 * same handle.
 *
 * Versions: the daemon loads engines built for its own
 * SM_ENGINE_ABI_VERSION and for those older versions whose structures are
 * a prefix of its own (SM_ENGINE_ABI_OLDEST on).  Any change to a
 * structure or function here that crosses the boundary (a field added,
 * moved or retyped) bumps it; an engine built against a header the daemon
 * cannot read it with is refused instead of misread.
 *   1  first version
 *   2  sm_object.deadline; sm_deadline_passed()
 *   3  sm_object.parts (the message's MIME parts, parsed once by the
 *      daemon for all engines), SM_ENGINE_PARTS; engines of version 2
 *      still load (sm_object only grew at its end)
 */
#ifndef SCANMILTER_ENGINE_H
#define SCANMILTER_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SM_ENGINE_ABI_VERSION 3
#define SM_ENGINE_ABI_OLDEST 2	/* the oldest version still loaded */

/* ---- options ------------------------------------------------------------ */

enum sm_opt_type {
	SM_OPT_BOOL,		/* int: 0 or 1; "yes/no/true/false/on/off/1/0" */
	SM_OPT_INT,		/* long long within [min, max] */
	SM_OPT_SIZE,		/* long long bytes; suffixes K, M, G (1024-based) */
	SM_OPT_DURATION,	/* long long milliseconds; suffixes ms, s, m, h */
	SM_OPT_STRING,		/* char *, owned by the configuration */
	SM_OPT_PATH,		/* char *, must be absolute */
	SM_OPT_ENUM,		/* int: index into the '|'-separated choices */
	SM_OPT_OCTAL,		/* long long, written in octal (file modes) */
};

/* The value is accepted in this scope and inherited by the scopes inside it,
 * but not stored in this scope's structure. */
#define SM_OPT_NOSTORE ((size_t)-1)

struct sm_option {
	const char *name;
	enum sm_opt_type type;
	const char *def;	/* default, written as in a config file; NULL: unset */
	long long min, max;	/* bounds for numbers (min > max: none) */
	const char *choices;	/* SM_OPT_ENUM: "reject|pass|tempfail" */
	size_t offset;		/* where the value goes in the scope's structure */
	const char *help;	/* one line, for the man page and the example config */
};

#define SM_OPTION_END { NULL, 0, NULL, 0, 0, NULL, 0, NULL }

/* ---- objects and results ------------------------------------------------ */

/*
 * One thing to scan: a whole message or one MIME part.  Its bytes are in
 * memory (data != NULL) or in a file (fd >= 0, read with pread from offset
 * 0; never move its file offset).  For a message, the first envelope_len
 * bytes are an mbox "From " line carrying the envelope sender; engines that
 * want the message alone skip them.
 *
 * deadline is when the answer stops mattering: by then the MTA has had
 * its reply (the instance's timeout, counted from the end of the message)
 * and a scan still running only holds a pool thread that the next
 * message needs.  An engine checks it (sm_deadline_passed()) between
 * steps and inside any loop whose length the sender controls, and past it
 * gives up: SM_ERROR, -1.
 */
enum sm_object_kind { SM_OBJ_MESSAGE, SM_OBJ_PART };

/*
 * One leaf part of a message, as the daemon's MIME parser decoded it
 * (transfer encoding undone; uuencode, yEnc and BinHex blocks found in a
 * text part are parts of their own).  Everything is valid during the
 * callback only.
 */
struct sm_part {
	int	 depth;			/* 0: the message body itself */
	int	 is_attachment;		/* a file name, an attachment
					 * disposition, or not text */
	int	 embedded;		/* a uuencode/yEnc/BinHex block found
					 * inside a text part */
	const char *content_type;	/* lowercased "type/subtype" */
	const char *filename;		/* RFC 2231/2047 decoded, UTF-8; NULL
					 * if none */
	/* The part's header block as written (for the body of a message
	 * that is not multipart, the message's header), up to its empty
	 * line; NULL when it has none of its own (embedded blocks, the
	 * body of a message/rfc822 part).  Engines read any field of it,
	 * e.g. the Content-Type charset. */
	const unsigned char *header;
	size_t	 header_len;
	const unsigned char *data;	/* decoded body */
	size_t	 len;
};

/* Called for each part in order; returns non-zero to stop. */
typedef int (*sm_part_fn)(const struct sm_part *part, void *arg);

struct sm_object {
	enum sm_object_kind kind;
	const unsigned char *data;
	int fd;
	size_t len;
	size_t envelope_len;
	const char *filename;	/* part's file name, or NULL */
	const char *content_type; /* part's declared type, or NULL */
	const char *client_addr; /* SMTP client address (IPv4 or IPv6 text) */
	const char *id;		/* queue id or file name, for engine logs */
	const char *helo;	/* SMTP HELO/EHLO name, or NULL */
	const char *sender;	/* envelope sender without <>, or NULL */
	struct timespec deadline; /* CLOCK_MONOTONIC; {0, 0}: none */
	/*
	 * ABI 3.  The message's MIME parts, for an engine with
	 * SM_ENGINE_PARTS scanning a whole message (NULL otherwise: the
	 * engine then has the bytes alone).  obj->parts(obj, fn, arg) calls
	 * fn for every leaf part in order and returns 0, the non-zero value
	 * fn stopped with, or -1 (errno set) when the parts cannot be had.
	 * The daemon parses the message once for all its engines (reusing
	 * the parse of mime_decompose when there was one): callable from
	 * any number of scan threads at once, as often as wanted, until
	 * scan() returns.  parts_ctx is the daemon's: engines leave it be.
	 */
	int	(*parts)(const struct sm_object *obj, sm_part_fn fn, void *arg);
	void	*parts_ctx;
};

/* 1 if deadline (CLOCK_MONOTONIC, {0, 0}: none) has passed, else 0. */
static inline int
sm_deadline_passed(const struct timespec *deadline)
{
	struct timespec now;

	if (deadline->tv_sec == 0 && deadline->tv_nsec == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	    (now.tv_sec == deadline->tv_sec &&
	    now.tv_nsec >= deadline->tv_nsec);
}

enum sm_verdict {
	SM_CLEAN = 0,
	SM_INFECTED,		/* name: the virus or rule that matched */
	SM_UNSCANNABLE,		/* name: why (limits exceeded, encrypted …) */
	SM_ERROR,		/* name: what failed */
};

#define SM_NAME_MAX 256

struct sm_result {
	enum sm_verdict verdict;
	char name[SM_NAME_MAX];
};

struct sm_engine_version {
	char engine[64];	/* engine library version, e.g. "1.4.6" */
	char signatures[64];	/* signature version, "" if none */
	time_t signature_time;	/* build time of the signatures, 0 if unknown */
};

/* What create() is given besides its own option structure. */
struct sm_engine_env {
	const char *instance;	/* the block's name, e.g. "clamav1" */
	const char *tmpdir;	/* private, existing directory for temp files */
	void (*log)(int priority, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));	/* syslog priorities */
	long long timeout_ms;	/* the instance's timeout: by then the
				 * answer is 451 and a scan still running
				 * only holds a thread, so stop by then
				 * (each object's deadline says when) */
};

/* ---- the engine table --------------------------------------------------- */

#define SM_ENGINE_CONTENT_ONLY	0x1	/* verdict depends on the bytes alone */
#define SM_ENGINE_WHOLE_MESSAGE	0x2	/* always gets the whole message, even
					 * where the instance decomposes MIME */
#define SM_ENGINE_PARTS		0x4	/* reads the message's MIME parts
					 * (sm_object.parts; ABI 3) */

enum sm_pool_hint { SM_POOL_CPU, SM_POOL_IO };

struct sm_engine_ops {
	uint32_t abi_version;	/* SM_ENGINE_ABI_VERSION */
	uint32_t ops_size;	/* sizeof(struct sm_engine_ops) */
	const char *name;	/* block keyword, e.g. "clamav" */
	unsigned flags;		/* SM_ENGINE_* */
	enum sm_pool_hint pool;	/* default pool */

	const struct sm_option *options; /* ends with SM_OPTION_END */
	size_t conf_size;	/* size of the structure options point into */

	/*
	 * Builds an engine from its options.  Returns a handle, or NULL with
	 * a reason in err.  The conf structure stays valid until destroy().
	 */
	void *(*create)(const void *conf, const struct sm_engine_env *env,
	    char *err, size_t errlen);

	/* Scans one object; fills res.  Returns 0, or -1 with res->verdict
	 * set to SM_ERROR and res->name saying why. */
	int (*scan)(void *handle, const struct sm_object *obj,
	    struct sm_result *res);

	void (*version)(void *handle, struct sm_engine_version *out);

	void (*destroy)(void *handle);	/* takes NULL */

	/*
	 * Optional (may be NULL): 1 if the engine's signatures changed on disk
	 * since create(), so the daemon reloads; 0 if not.  Called from one
	 * thread at a time, concurrently with scan().
	 */
	int (*changed)(void *handle);
};

/* A shared-object engine exports this symbol. */
#define SM_ENGINE_SYMBOL "scanmilter_engine"

#endif
