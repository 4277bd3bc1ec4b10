/*
 * One message's scans: every (object, engine) pair, run in the engines'
 * pools against a deadline, answered from the verdict cache when it can.
 *
 * The objects are the message itself and, for instances with
 * mime_decompose, its decomposition: the skeleton (headers and text, the
 * attachment bodies left out) and each attachment, decoded.  A batch is
 * reference counted: a scan that outlives its deadline still holds its
 * object's bytes, and the last one out frees everything.
 */
#ifndef SM_BATCH_H
#define SM_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <scanmilter/engine.h>

#include "conf.h"
#include "generation.h"
#include "decision.h"
#include "message.h"

struct batch;

/* Called about once a second while a batch is waited for (the milter
 * keeps the MTA's timer alive with it). */
struct batch_progress {
	void	(*fn)(void *);
	void	*arg;
};

/* Builds the objects for in (decomposing it when an instance asks), with
 * its own reference to in and a copy of msg, both kept as long as the
 * batch.  Returns one reference. */
struct batch *batch_new(const struct generation *, struct message_input *in,
		    const struct message *msg);

/* Runs every task and waits for each until its instance's deadline;
 * instances whose bit is set in skip (first 64) scan nothing.  progress
 * may be NULL. */
void	batch_run(struct batch *, const struct generation *,
	    const struct batch_progress *, double start_ms, uint64_t skip);

/* What one task (an engine on an object) came to. */
struct batch_result {
	const struct sm_av *av;
	const struct sm_engine_inst *e;
	struct sm_result res;		/* timeouts and refusals included */
	enum sm_failure why;
	bool	 done;			/* answered by the engine or cache */
	bool	 cached;		/* answered by the cache */
	bool	 part;			/* the object is a decoded part */
	bool	 cuttable;		/* strip may cut it out: where */
	struct decision_part where;	/* strings live with the batch */
	double	 ms;			/* the engine's time on it (cache: 0;
					 * timed out: from its start until
					 * given up; never started: 0) */
	double	 end_ms;		/* now_ms() when it was answered or
					 * given up */
};

/* The i-th result, in instance order, into r; false past the last.
 * Only after batch_run. */
bool	batch_result(struct batch *, size_t i, struct batch_result *r);

/*
 * Where a message's wall-clock time went, in ms: reading its structure
 * (the MIME parse and decoding, or nothing for whole messages), keying its
 * objects for the cache, handing the tasks out (cache answers included),
 * waiting in a pool queue until the first task started, from that start
 * to the last task's end (the engines, and the queue for later tasks),
 * and from there until the milter thread woke: stages that do not
 * overlap.  queue, scan and handback are 0 when no worker started a task
 * (pooled: the tasks one did).  Only after batch_run.
 */
struct batch_timeline {
	double	 parse, key, submit, queue, scan, handback;
	unsigned pooled;
};
void	batch_timeline(struct batch *, struct batch_timeline *);

/* enum mime_anomaly bits the decomposition found, 0 if none. */
unsigned batch_anomalies(const struct batch *);

void	batch_unref(struct batch *);	/* the last one out frees it */

double	now_ms(void);

#endif
