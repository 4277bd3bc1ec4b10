/*
 * The scanning pipeline: runs each enabled engine of each antivirus
 * instance over a message and folds the results into one decision.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action.h"
#include "scan.h"
#include "pool.h"
#include "util.h"

const char *
verdict_name(enum sm_verdict v)
{
	switch (v) {
	case SM_CLEAN:		return "clean";
	case SM_INFECTED:	return "infected";
	case SM_UNSCANNABLE:	return "unscannable";
	case SM_ERROR:		return "error";
	}
	return "?";
}

const char *
reply_name(enum sm_reply r)
{
	switch (r) {
	case REPLY_ACCEPT:	return "accept";
	case REPLY_TEMPFAIL:	return "tempfail";
	case REPLY_REJECT:	return "reject";
	}
	return "?";
}

static char host_name[256];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void
host_init(void)
{
	if (gethostname(host_name, sizeof(host_name) - 1) < 0)
		sm_strlcpy(host_name, "localhost", sizeof(host_name));
}

const char *
scan_hostname(const struct sm_conf *c)
{
	if (c->hostname != NULL)
		return c->hostname;
	pthread_once(&host_once, host_init);
	return host_name;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
add_header(struct sm_decision *d, const char *name, const char *value)
{
	struct sm_header *h;

	if (d->nheaders >= DECISION_MAX_HEADERS)
		return;
	h = &d->headers[d->nheaders++];
	sm_strlcpy(h->name, name, sizeof(h->name));
	sm_strlcpy(h->value, value, sizeof(h->value));
}

static void
add_status_headers(const struct sm_conf *c, const struct sm_av *av,
    const char *status, struct sm_decision *d)
{
	char value[512];

	if (av->hide_host)
		snprintf(value, sizeof(value), "%s %s", PACKAGE_NAME,
		    PACKAGE_VERSION);
	else
		snprintf(value, sizeof(value), "%s %s on %s", PACKAGE_NAME,
		    PACKAGE_VERSION, scan_hostname(c));
	add_header(d, av->scanned_header, value);
	add_header(d, av->status_header, status);
}

static void
add_av_headers(const struct sm_conf *c, const struct sm_av *av,
    enum sm_verdict v, const char *name, size_t scanned,
    struct sm_decision *d)
{
	char value[512];

	if (scanned == 0)
		sm_strlcpy(value, "Unscanned (no engine enabled)",
		    sizeof(value));
	else
		action_status(v, name, value, sizeof(value));
	add_status_headers(c, av, value, d);
}

struct scan_input *
scan_input_new(void)
{
	struct scan_input *in = xcalloc(1, sizeof(*in));

	in->refs = 1;
	return in;
}

void
scan_input_unref(struct scan_input *in)
{
	if (in == NULL || __atomic_sub_fetch(&in->refs, 1, __ATOMIC_ACQ_REL))
		return;
	wirebuf_free(&in->wb);
	free(in);
}

/* Runs one engine; an engine that breaks the contract reports an error. */
static void
run_engine(const struct sm_engine_inst *e, const struct sm_object *msg,
    struct sm_result *res)
{
	memset(res, 0, sizeof(*res));
	if (e->ops->scan(e->handle, msg, res) < 0 &&
	    res->verdict != SM_ERROR)
		res->verdict = SM_ERROR;
	if (res->verdict != SM_CLEAN && res->name[0] == '\0')
		sm_strlcpy(res->name, res->verdict == SM_ERROR ?
		    "engine failure" : "unknown", sizeof(res->name));
	res->name[sizeof(res->name) - 1] = '\0';
}

/* ---- one message's scans, run in the pools ------------------------------ */

enum task_state { TASK_QUEUED, TASK_RUNNING, TASK_DONE, TASK_LATE,
    TASK_REFUSED };

struct batch;

struct task {
	struct pool_job job;		/* first: the pool gives it back */
	struct batch *b;
	const struct sm_av *av;
	const struct sm_engine_inst *e;
	double	 deadline;		/* monotonic ms */
	enum task_state state;		/* under b->mu */
	struct sm_result res;
};

/* Shared by the waiting caller and the jobs in flight; freed by the last. */
struct batch {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int	 refs;			/* under mu */
	int	 open;			/* tasks neither done nor given up */
	struct scan_input *in;
	struct sm_object obj;
	size_t	 ntasks;
	struct task tasks[];
};

static void
batch_unref(struct batch *b)
{
	int last;

	pthread_mutex_lock(&b->mu);
	last = --b->refs == 0;
	pthread_mutex_unlock(&b->mu);
	if (!last)
		return;
	scan_input_unref(b->in);
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

/* Worker side: scan unless the caller gave up; report; let go. */
static void
task_run(struct pool_job *job)
{
	struct task *t = (struct task *)job;
	struct batch *b = t->b;
	struct sm_result res;
	bool go;

	pthread_mutex_lock(&b->mu);
	go = t->state == TASK_QUEUED;
	if (go)
		t->state = TASK_RUNNING;
	pthread_mutex_unlock(&b->mu);
	if (go) {
		run_engine(t->e, &b->obj, &res);
		pthread_mutex_lock(&b->mu);
		if (t->state == TASK_RUNNING) {	/* else: too late, dropped */
			t->res = res;
			t->state = TASK_DONE;
			b->open--;
			pthread_cond_broadcast(&b->cv);
		}
		pthread_mutex_unlock(&b->mu);
	}
	batch_unref(b);
}

/* The pool shut down with the job still queued. */
static void
task_drop(struct pool_job *job)
{
	batch_unref(((struct task *)job)->b);
}

static struct batch *
batch_new(const struct sm_conf *c, struct scan_input *in,
    const struct sm_msginfo *info, double now)
{
	struct batch *b;
	pthread_condattr_t ca;
	size_t n = 0;

	for (size_t a = 0; a < c->navs; a++)
		for (size_t i = 0; i < c->avs[a]->nengines; i++)
			n += c->avs[a]->engines[i]->handle != NULL;
	b = xcalloc(1, sizeof(*b) + n * sizeof(b->tasks[0]));
	pthread_mutex_init(&b->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cv, &ca);
	pthread_condattr_destroy(&ca);
	b->refs = 1;
	b->in = in;
	__atomic_add_fetch(&in->refs, 1, __ATOMIC_ACQ_REL);
	wirebuf_object(&in->wb, &b->obj);
	b->obj.client_addr = info->client_addr;
	b->obj.id = info->queue_id;
	for (size_t a = 0; a < c->navs; a++) {
		const struct sm_av *av = c->avs[a];

		for (size_t i = 0; i < av->nengines; i++) {
			struct task *t;

			if (av->engines[i]->handle == NULL)
				continue;
			t = &b->tasks[b->ntasks++];
			t->b = b;
			t->av = av;
			t->e = av->engines[i];
			t->deadline = now + (double)av->timeout;
			t->job.run = task_run;
			t->job.drop = task_drop;
			t->job.size = b->obj.len;
			t->job.limit = t->e->limit;
		}
	}
	return b;
}

/* Queues every task; a full queue refuses the whole message at once. */
static void
batch_submit(struct batch *b)
{
	bool refused = false;

	pthread_mutex_lock(&b->mu);
	for (size_t i = 0; i < b->ntasks; i++) {
		struct task *t = &b->tasks[i];

		b->open++;
		if (refused || t->e->pool == NULL || t->e->pool->pool == NULL) {
			t->state = TASK_REFUSED;
			b->open--;
			continue;
		}
		t->state = TASK_QUEUED;
		b->refs++;
		pthread_mutex_unlock(&b->mu);
		if (pool_submit(t->e->pool->pool, &t->job) < 0) {
			pthread_mutex_lock(&b->mu);
			b->refs--;
			t->state = TASK_REFUSED;
			b->open--;
			refused = true;
			continue;
		}
		pthread_mutex_lock(&b->mu);
	}
	if (refused) {		/* the queued ones are not worth running */
		for (size_t i = 0; i < b->ntasks; i++)
			if (b->tasks[i].state == TASK_QUEUED) {
				b->tasks[i].state = TASK_REFUSED;
				b->open--;
			}
	}
	pthread_mutex_unlock(&b->mu);
}

static void
ms_to_timespec(double ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)((ms - (double)ts->tv_sec * 1000) * 1e6);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Waits for every task, giving up on each at its deadline. */
static void
batch_wait(struct batch *b, const struct sm_msginfo *info)
{
	double tick = now_ms() + 1000;

	pthread_mutex_lock(&b->mu);
	while (b->open > 0) {
		double now = now_ms(), next = tick;
		struct timespec ts;

		for (size_t i = 0; i < b->ntasks; i++) {
			struct task *t = &b->tasks[i];

			if (t->state != TASK_QUEUED && t->state != TASK_RUNNING)
				continue;
			if (t->deadline <= now) {
				t->state = TASK_LATE;
				b->open--;
			} else if (t->deadline < next) {
				next = t->deadline;
			}
		}
		if (b->open == 0)
			break;
		if (now >= tick) {
			tick = now + 1000;
			if (info->progress != NULL) {
				pthread_mutex_unlock(&b->mu);
				info->progress(info->progress_arg);
				pthread_mutex_lock(&b->mu);
			}
			continue;
		}
		ms_to_timespec(next, &ts);
		pthread_cond_timedwait(&b->cv, &b->mu, &ts);
	}
	pthread_mutex_unlock(&b->mu);
}

/* The result a task stands for, timeouts and refusals included. */
static enum sm_failure
task_result(const struct task *t, struct sm_result *res)
{
	switch (t->state) {
	case TASK_DONE:
		*res = t->res;
		return res->verdict == SM_ERROR ? FAIL_ERROR : FAIL_NONE;
	case TASK_REFUSED:
		res->verdict = SM_ERROR;
		snprintf(res->name, sizeof(res->name), "scanner busy");
		return FAIL_BUSY;
	default:
		res->verdict = SM_ERROR;
		snprintf(res->name, sizeof(res->name), "scan timed out after "
		    "%.1fs", (double)t->av->timeout / 1000);
		return FAIL_TIMEOUT;
	}
}

/* Folds task i..j (one instance's) into d and adds that instance's headers. */
static void
fold_av(const struct sm_conf *c, const struct sm_av *av,
    const struct task *tasks, size_t n, struct sm_decision *d)
{
	enum sm_verdict worst = SM_CLEAN;
	char worst_name[SM_NAME_MAX] = "";

	for (size_t i = 0; i < n; i++) {
		const struct task *t = &tasks[i];
		struct sm_result res = { 0 };
		enum sm_failure why = task_result(t, &res);
		enum sm_reply reply;

		d->engines_run += t->state == TASK_DONE;
		if (verdict_rank(res.verdict) > verdict_rank(worst)) {
			worst = res.verdict;
			sm_strlcpy(worst_name, res.name, sizeof(worst_name));
		}
		if (verdict_rank(res.verdict) > verdict_rank(d->verdict)) {
			d->verdict = res.verdict;
			sm_strlcpy(d->virus, res.name, sizeof(d->virus));
			sm_strlcpy(d->engine, t->e->name, sizeof(d->engine));
		}
		if (why != FAIL_NONE && d->failure == FAIL_NONE)
			d->failure = why;
		reply = action_reply(res.verdict == SM_UNSCANNABLE &&
		    t->e->unscannable_action != UNSCANNABLE_AS_ACTION ?
		    t->e->unscannable_action - 1 : t->e->action, av->on_error,
		    res.verdict);
		if (reply > d->reply) {
			d->reply = reply;
			action_set_reply(av, reply, res.verdict, why,
			    res.name, t->e->name, d);
		}
	}
	if (av->add_headers)
		add_av_headers(c, av, worst, worst_name, n, d);
}

/*
 * A message that was not kept whole: too large for max_message_size, or
 * its spill file could not be written.  It is never called clean.
 */
static void
not_scanned(const struct sm_conf *c, const struct wirebuf *wb,
    struct sm_decision *d)
{
	const struct sm_av *av = c->avs[0];

	d->verdict = SM_UNSCANNABLE;
	d->failure = FAIL_ERROR;
	snprintf(d->rcode, sizeof(d->rcode), "%lld", av->tempfailure);
	if (wb->error) {
		d->verdict = SM_ERROR;
		d->reply = REPLY_TEMPFAIL;
		snprintf(d->virus, sizeof(d->virus), "cannot store message "
		    "under %s: %s", c->spool_dir ? c->spool_dir : "file_base",
		    strerror(wb->error));
		sm_strlcpy(d->xcode, wb->error == ENOSPC ||
		    wb->error == EDQUOT ? "4.3.1" : "4.3.0", sizeof(d->xcode));
		sm_strlcpy(d->text, "Message could not be stored for scanning, "
		    "try again later", sizeof(d->text));
		return;
	}
	snprintf(d->virus, sizeof(d->virus), "message larger than %lld "
	    "bytes", c->eff.max_message_size);
	switch (c->eff.oversize_action) {
	case OVERSIZE_REJECT:
		d->reply = REPLY_REJECT;
		sm_strlcpy(d->rcode, "552", sizeof(d->rcode));
		sm_strlcpy(d->xcode, "5.3.4", sizeof(d->xcode));
		snprintf(d->text, sizeof(d->text), "Message too large to scan "
		    "(over %lld bytes)", c->eff.max_message_size);
		break;
	case OVERSIZE_TEMPFAIL:
		d->reply = REPLY_TEMPFAIL;
		sm_strlcpy(d->xcode, "4.3.4", sizeof(d->xcode));
		snprintf(d->text, sizeof(d->text), "Message too large to scan "
		    "(over %lld bytes), try again later",
		    c->eff.max_message_size);
		break;
	default:
		d->reply = REPLY_ACCEPT;
		d->rcode[0] = '\0';
		for (size_t a = 0; a < c->navs; a++)
			if (c->avs[a]->add_headers)
				add_status_headers(c, c->avs[a],
				    "Unscanned (too large)", d);
		break;
	}
}

void
scan_message(const struct sm_conf *c, struct scan_input *in,
    const struct sm_msginfo *info, struct sm_decision *d)
{
	double start = now_ms();
	struct batch *b;
	size_t k = 0;

	memset(d, 0, sizeof(*d));
	d->reply = REPLY_ACCEPT;
	d->verdict = SM_CLEAN;
	if (in->wb.error || in->wb.oversize) {
		not_scanned(c, &in->wb, d);
		d->elapsed_ms = now_ms() - start;
		return;
	}
	b = batch_new(c, in, info, start);
	batch_submit(b);
	batch_wait(b, info);
	/* the tasks are in instance order; give each instance its slice */
	for (size_t a = 0; a < c->navs; a++) {
		size_t n = 0;

		while (k + n < b->ntasks && b->tasks[k + n].av == c->avs[a])
			n++;
		pthread_mutex_lock(&b->mu);
		fold_av(c, c->avs[a], &b->tasks[k], n, d);
		pthread_mutex_unlock(&b->mu);
		k += n;
	}
	batch_unref(b);
	d->elapsed_ms = now_ms() - start;
}

void
scan_log(const struct sm_conf *c, const struct sm_msginfo *info, size_t size,
    int held_on_disk, const struct sm_decision *d)
{
	int prio = LOG_INFO;

	if (d->verdict == SM_CLEAN && d->reply == REPLY_ACCEPT &&
	    !c->log_clean)
		return;
	if (d->verdict == SM_INFECTED || d->verdict == SM_UNSCANNABLE)
		prio = LOG_NOTICE;
	else if (d->verdict == SM_ERROR)
		prio = LOG_WARNING;
	log_msg(prio, "%s: client=%s[%s], from=<%s>, rcpts=%zu, size=%zu%s, "
	    "verdict=%s, virus=%s, engine=%s, reply=%s%s%s%s%s, time=%.1fms",
	    *info->queue_id ? info->queue_id : "NOQUEUE",
	    info->client_name ? info->client_name : "unknown",
	    info->client_addr ? info->client_addr : "unknown",
	    info->sender ? info->sender : "", info->nrcpt, size,
	    held_on_disk ? " (spilled)" : "",
	    verdict_name(d->verdict), *d->virus ? d->virus : "-",
	    *d->engine ? d->engine : "-", reply_name(d->reply),
	    *d->rcode ? " " : "", d->rcode, *d->rcode ? " " : "", d->xcode,
	    d->elapsed_ms);
}
