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

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <scanmilter/engine.h>

#include "conf.h"
#include "message.h"
#include "pool.h"
#include "scan.h"
#include "vcache.h"
#include "wirebuf.h"

struct batch_obj {
	struct sm_object obj;
	struct wirebuf wb;		/* a part's or the skeleton's bytes */
	int	 whole;			/* the message as received */
	int	 keyed;			/* 1: key holds its SHA-256, -1: failed */
	unsigned char key[VCACHE_KEY_LEN];
	char	 filename[256];
	char	 content_type[128];
	int	 cuttable;		/* strip may cut [cut_start, cut_end) */
	size_t	 cut_start, cut_end;	/* of the message past its envelope */
};

enum task_state { TASK_QUEUED, TASK_RUNNING, TASK_DONE, TASK_LATE,
    TASK_REFUSED };

struct batch;

struct task {
	struct pool_job job;		/* first: the pool gives it back */
	struct batch *b;
	const struct sm_av *av;
	const struct sm_engine_inst *e;
	size_t	 obj;			/* index into b->objs */
	double	 deadline;		/* monotonic ms */
	enum task_state state;		/* under b->mu */
	int	 cached;		/* answered by the cache */
	double	 ms;			/* scan time */
	struct sm_result res;
};

struct batch {
	struct message msg;		/* the batch's own copy: objects and
					 * late scans point into it */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int	 refs;			/* under mu */
	int	 open;			/* tasks neither done nor given up */
	struct scan_input *in;
	struct batch_obj *objs;
	size_t	 nobjs;
	struct task *tasks;		/* in instance order */
	size_t	 ntasks;
	/* decomposition */
	int	 decomposed;		/* skeleton and parts are objects */
	int	 whole_too;		/* a limit was hit: scan it whole too */
	unsigned anomalies;		/* enum mime_anomaly bits */
	char	 anomaly[128];		/* the first, in words */
};

/* Builds the objects for in (decomposing it when an instance asks), with
 * a copy of msg that lives as long as the batch. */
struct batch *batch_new(const struct sm_conf *, struct scan_input *in,
		    const struct message *msg);

/* Runs every task and waits for each until its instance's deadline;
 * instances whose bit is set in skip (first 64) scan nothing. */
void	batch_run(struct batch *, const struct sm_conf *,
	    const struct scan_progress *, double start_ms, uint64_t skip);

/* What a task stands for, timeouts and refusals included (under b->mu). */
enum sm_failure task_result(const struct task *, struct sm_result *);

void	batch_unref(struct batch *);

double	now_ms(void);

#endif
