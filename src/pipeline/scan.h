/*
 * The scanning pipeline, free of libmilter: a message and its envelope go
 * in, a decision comes out (verdict, SMTP reply, headers to add, body
 * edits; see decision.h).  The milter callbacks feed it, and so does
 * `scanmilter scan FILE…`.
 */
#ifndef SM_SCAN_H
#define SM_SCAN_H

#include <stddef.h>

#include <scanmilter/engine.h>

#include "conf.h"
#include "decision.h"
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

#endif
