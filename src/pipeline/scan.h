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

#include "batch.h"
#include "conf.h"
#include "decision.h"
#include "generation.h"
#include "message.h"

/*
 * Scans in with every enabled engine of every antivirus instance, each in
 * its engine's pool, waiting at most each instance's timeout, and fills d.
 * Never fails: errors, timeouts and full queues become the configured
 * on_error answer.  The caller keeps its reference to in and its msg
 * (the batch takes a reference and a copy).  progress may be NULL.
 */
void	scan_message(const struct generation *, struct message_input *in,
	    const struct message *msg, const struct batch_progress *progress,
	    struct sm_decision *d);

/* The i-th MTA macro (name without braces) the skip rules read, or NULL
 * past the last: the milter records them in the message at its end. */
const char *scan_macro_wanted(const struct sm_conf *, size_t i);

/* One log line for the message (honours log_clean); held_on_disk says it
 * was spilled past large_message_threshold. */
void	scan_log(const struct sm_conf *, const struct message *,
	    size_t size, int held_on_disk, const struct sm_decision *);

#endif
