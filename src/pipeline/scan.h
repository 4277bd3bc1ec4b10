/*
 * The scanning pipeline, free of libmilter: a message and its envelope go
 * in, a decision comes out (verdict, SMTP reply, headers to add).  The
 * milter callbacks feed it, and so does `scanmilter scan FILE…`.
 */
#ifndef SM_SCAN_H
#define SM_SCAN_H

#include <stddef.h>

#include <scanmilter/engine.h>

#include "conf.h"
#include "message.h"
#include "wirebuf.h"

/*
 * A message handed to the scanners.  Reference counted: a scan that timed
 * out may still be reading it on a worker thread after the caller moved
 * on.  scan_input_new() returns one reference; scan_input_unref() frees the
 * message when the last goes.
 */
struct scan_input {
	int	 refs;		/* atomic */
	struct wirebuf wb;
};

struct scan_input *scan_input_new(void);
void	scan_input_unref(struct scan_input *);	/* takes NULL */

/* Called about once a second while a scan is waited for (the milter
 * keeps the MTA's timer alive with it). */
struct scan_progress {
	void	(*fn)(void *);
	void	*arg;
};

/* Why a message could not be scanned, when it could not. */
enum sm_failure { FAIL_NONE, FAIL_ERROR, FAIL_TIMEOUT, FAIL_BUSY };

/*
 * Final answer to the MTA, most severe last: a definitive answer to a
 * virus outranks a retry, and a retry outranks delivering.
 */
enum sm_reply { REPLY_ACCEPT, REPLY_STRIP, REPLY_TEMPFAIL, REPLY_QUARANTINE,
    REPLY_DISCARD, REPLY_REJECT };

#define DECISION_MAX_HEADERS (2 * CONF_MAX_TAGGING)
#define DECISION_MAX_CUTS 16

/* An attachment to cut out (strip): bytes [start, end) of the message
 * past its envelope line -- the part's header block and body. */
struct sm_cut {
	size_t	 start, end;
	char	 virus[SM_NAME_MAX];
	char	 filename[128];
};

#define SM_HEADER_NAME_MAX 64	/* longer names are cut */

struct sm_header {
	char	name[SM_HEADER_NAME_MAX];
	char	value[512];
};

struct sm_decision {
	enum sm_reply reply;
	enum sm_verdict verdict;	/* worst verdict of any engine */
	char	 virus[SM_NAME_MAX];	/* name behind the verdict, or "" */
	char	 engine[64];		/* engine instance behind it, or "" */
	char	 rcode[4];		/* "550", "451"; "" for accept */
	char	 xcode[8];		/* "5.7.1", "4.3.0" */
	char	 text[512];		/* reply text, raw (no % escaping) */
	struct sm_header headers[DECISION_MAX_HEADERS];
	size_t	 nheaders;
	enum sm_failure failure;
	double	 elapsed_ms;
	size_t	 engines_run;		/* scans done by an engine */
	size_t	 cache_hits;		/* scans answered by the cache */
	size_t	 parts_scanned;		/* of them, on decomposed parts */
	size_t	 skipped;		/* instances that skipped the message */
	struct sm_cut cuts[DECISION_MAX_CUTS];	/* REPLY_STRIP: in order */
	size_t	 ncuts;
};

/*
 * Scans in with every enabled engine of every antivirus instance, each in
 * its engine's pool, waiting at most each instance's timeout, and fills d.
 * Never fails: errors, timeouts and full queues become the configured
 * on_error answer.  The caller keeps its reference to in and its msg:
 * the scan works on copies of both.  progress may be NULL.
 */
void	scan_message(const struct sm_conf *, struct scan_input *in,
	    const struct message *msg, const struct scan_progress *progress,
	    struct sm_decision *d);

/* The i-th MTA macro (name without braces) the skip rules read, or NULL
 * past the last: the milter records them in the message at its end. */
const char *scan_macro_wanted(const struct sm_conf *, size_t i);

/* One log line for the message (honours log_clean); held_on_disk says it
 * was spilled past large_message_threshold. */
void	scan_log(const struct sm_conf *, const struct message *,
	    size_t size, int held_on_disk, const struct sm_decision *);

const char *verdict_name(enum sm_verdict);
const char *reply_name(enum sm_reply);

/* This host's name for X-Virus-Scanned, computed once. */
const char *scan_hostname(const struct sm_conf *);

#endif
