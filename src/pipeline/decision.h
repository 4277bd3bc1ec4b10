/*
 * From verdicts to one answer to the MTA: which reply a verdict gets under
 * an engine's action and the instance's failure policy, every reply code
 * and text (all from the config: tempfailure, reject_text), the headers
 * to add, and the body edits of strip.  The milter layer only applies a
 * decision (smfi_* calls); `scanmilter scan` prints it.
 *
 * A decision is folded result by result: decision_begin, then per
 * instance decision_av_begin, decision_fold for each result and
 * decision_av_end, and decision_finish once all instances are in.
 */
#ifndef SM_DECISION_H
#define SM_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <scanmilter/engine.h>

#include "conf.h"

/* Why a message could not be scanned, when it could not. */
enum sm_failure { FAIL_NONE, FAIL_ERROR, FAIL_TIMEOUT, FAIL_BUSY };

/*
 * Final answer to the MTA, most severe last: a definitive answer to a
 * virus outranks a retry, and a retry outranks delivering.
 */
enum sm_reply { REPLY_ACCEPT, REPLY_STRIP, REPLY_TEMPFAIL, REPLY_QUARANTINE,
    REPLY_DISCARD, REPLY_REJECT };

/* per tagging instance: scanned, status; antispam also flag, spam status
 * and level; per engine with a context_variable: NAME, NAME_info */
#define DECISION_MAX_HEADERS (5 * CONF_MAX_TAGGING + 2 * CONF_MAX_CONTEXT)
#define DECISION_MAX_EDITS 16

/*
 * A body edit (strip): bytes [start, end) of the message past its
 * envelope line -- an infected attachment's header block and body -- are
 * replaced by text, a short text/plain part saying what was removed.
 */
struct sm_body_edit {
	size_t	 start, end;
	char	 virus[SM_NAME_MAX];
	char	 filename[128];
	char	 text[1024];		/* set by decision_finish */
};

#define SM_HEADER_NAME_MAX 64	/* longer names are cut */

struct sm_header {
	char	name[SM_HEADER_NAME_MAX];
	char	value[512];
};

/* An SMTP reply: code, enhanced code, raw text (no % escaping). */
struct sm_smtp_reply {
	char	 rcode[4];		/* "550", "451"; "" for none */
	char	 xcode[8];		/* "5.7.1", "4.3.0" */
	char	 text[512];
};

struct sm_decision {
	enum sm_reply reply;
	enum sm_verdict verdict;	/* worst verdict of any engine */
	char	 virus[SM_NAME_MAX];	/* name behind the verdict, or "" */
	char	 engine[64];		/* engine instance behind it, or "" */
	char	 rcode[4];		/* "550", "451"; "" for accept */
	char	 xcode[8];		/* "5.7.1", "4.3.0" */
	char	 text[512];		/* reply text, raw (no % escaping);
					 * quarantine: the hold reason */
	/* REPLY_STRIP and REPLY_QUARANTINE: the reject to answer instead
	 * when the MTA refuses the edit or the hold */
	struct sm_smtp_reply fallback;
	struct sm_header headers[DECISION_MAX_HEADERS];
	size_t	 nheaders;
	enum sm_failure failure;
	double	 elapsed_ms;
	size_t	 engines_run;		/* scans done by an engine */
	size_t	 cache_hits;		/* scans answered by the cache */
	size_t	 parts_scanned;		/* of them, on decomposed parts */
	size_t	 skipped;		/* instances that skipped the message */
	struct sm_body_edit edits[DECISION_MAX_EDITS];	/* REPLY_STRIP:
					 * in message order */
	size_t	 nedits;
};

/* An attachment strip may cut out, as the scan saw it. */
struct decision_part {
	size_t	 start, end;		/* of the message past its envelope */
	const char *filename;		/* or NULL */
};

/* What a tagging instance found infected, so that once every instance
 * has cut what it cuts its status header says "Cured" only if all of it
 * is gone. */
struct decision_av {
	const struct sm_av *av;
	enum sm_verdict worst;
	char	 worst_name[SM_NAME_MAX];
	int	 header;		/* its status header in d, or -1 */
	bool	 uncut;			/* infected bytes strip cannot remove */
	size_t	 n;
	size_t	 start[DECISION_MAX_EDITS];	/* the parts' starts */
	/* antispam: the spam_score of the engine behind worst_name */
	long long required;
	bool	 required_known;
	/* the instance's own answer, whatever the others answer: the most
	 * severe reply of its results, and the failure of the result that
	 * first gave it (FAIL_NONE: a verdict's action) */
	enum sm_reply reply;
	enum sm_failure failure;
};

/* An empty decision: accept, clean. */
void	decision_begin(struct sm_decision *);

void	decision_av_begin(struct decision_av *, const struct sm_av *);

/*
 * Folds one result of engine e (NULL: the daemon's own finding, under the
 * instance's default action) about an object into the instance's and the
 * message's verdicts; part is the object when strip may cut it, or NULL.
 */
void	decision_fold(struct sm_decision *, struct decision_av *,
	    const struct sm_engine_inst *e, const char *engine,
	    const struct decision_part *part, const struct sm_result *,
	    enum sm_failure why);

/* Ends an instance that ran engines engines: its headers, if it tags. */
void	decision_av_end(const struct sm_conf *, struct sm_decision *,
	    struct decision_av *, size_t engines);

/* An instance that skipped the message (why: "authenticated" …). */
void	decision_skipped(const struct sm_conf *, const struct sm_av *,
	    const char *why, struct sm_decision *);

/* A message that was not kept whole (too large, or its spill file could
 * not be written under spool, error: its errno), as the first of the
 * instances that would scan it answers it (skip: the others' bits, first
 * 64). */
void	decision_not_scanned(const struct sm_conf *, uint64_t skip,
	    int error, const char *spool, struct sm_decision *);

/* After decision_finish: how many of the parts instance f found infected
 * the message's edits remove (0 unless the reply is strip). */
size_t	decision_av_cured(const struct sm_decision *,
	    const struct decision_av *f);

/* After every instance: "Cured" headers, the edits' texts, fallbacks. */
void	decision_finish(struct sm_decision *, struct decision_av *,
	    size_t navs);

/*
 * Writes the message body with d's edits applied, through emit (the
 * milter's smfi_replacebody, or a printer).  msg is the message past its
 * envelope line.  0, or -1 when an edit does not fit the message or emit
 * fails.
 */
int	decision_apply_body(const struct sm_decision *,
	    const unsigned char *msg, size_t len,
	    int (*emit)(const void *, size_t, void *), void *arg);

/* A SIZE= too large for max_message_size at MAIL FROM: true, with the
 * reply in r, when it is refused there. */
bool	decision_too_large(const struct sm_conf *, size_t declared,
	    struct sm_smtp_reply *r);

/* No configuration to scan with: stopping, or a blocking reload (then
 * the tempfailure code of the configuration being loaded). */
void	decision_unavailable(bool reloading, long long tempfailure,
	    struct sm_smtp_reply *r);

/* The reply a verdict gets under action (enum sm_action) and on_error. */
enum sm_reply decision_reply(int action, int on_error, enum sm_verdict);

/* Orders verdicts by severity: clean < error < unscannable < infected. */
int	verdict_rank(enum sm_verdict);

/*
 * Fills d's rcode, xcode and text for reply, as instance av answers it for
 * verdict v named name (virus or reason) found by engine; why tells a
 * timeout or a full queue from other errors.
 */
void	decision_set_reply(const struct sm_av *av, enum sm_reply reply,
	    enum sm_verdict v, enum sm_failure why, const char *name,
	    const char *engine, struct sm_decision *d);

/* Expands %v (name), %i (instance), %e (engine), %% in fmt into buf,
 * replacing control characters by spaces. */
void	decision_expand(const char *fmt, const char *name,
	    const char *instance, const char *engine, char *buf, size_t len);

/* The status header value: "Clean", "Infected (NAME)", … */
void	decision_status(enum sm_verdict, const char *name, char *buf,
	    size_t len);

const char *verdict_name(enum sm_verdict);
const char *reply_name(enum sm_reply);

/* This host's name for X-Virus-Scanned, computed once. */
const char *decision_hostname(const struct sm_conf *);

#endif
