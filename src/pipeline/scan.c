/*
 * The scanning pipeline: runs each enabled engine of each antivirus
 * instance over a message and folds the results into one decision.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action.h"
#include "scan.h"
#include "batch.h"
#include "mime.h"
#include "stats.h"
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
	case REPLY_STRIP:	return "strip";
	case REPLY_TEMPFAIL:	return "tempfail";
	case REPLY_QUARANTINE:	return "quarantine";
	case REPLY_DISCARD:	return "discard";
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
	else if (av->antispam && (v == SM_INFECTED ||
	    (v == SM_CLEAN && *name)))	/* the engine's words: "Spam (…)" */
		snprintf(value, sizeof(value), "%s", name);
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

/* A message built to confuse scanners, as a virus of the instance's own. */
static void
bypass_result(const struct batch *b, struct sm_result *res)
{
	unsigned bit = b->anomalies & -b->anomalies;	/* the lowest */

	res->verdict = SM_INFECTED;
	snprintf(res->name, sizeof(res->name), "Heuristics.Bypass.%s",
	    mime_anomaly_name(bit));
}

/*
 * strip: the object must be an attachment that can be cut out; then it is
 * noted (once) and the answer is REPLY_STRIP.  Anything else that is
 * infected cannot be stripped: it is rejected.
 */
static enum sm_reply
strip_or_reject(const struct batch_obj *o, const struct sm_result *res,
    struct sm_decision *d)
{
	size_t i;

	if (o == NULL || !o->cuttable)
		return REPLY_REJECT;
	for (i = 0; i < d->ncuts; i++)
		if (d->cuts[i].start == o->cut_start)
			return REPLY_STRIP;
	if (d->ncuts == DECISION_MAX_CUTS)
		return REPLY_REJECT;
	/* keep them in message order */
	for (i = d->ncuts; i > 0 && d->cuts[i - 1].start > o->cut_start; i--)
		d->cuts[i] = d->cuts[i - 1];
	d->cuts[i].start = o->cut_start;
	d->cuts[i].end = o->cut_end;
	sm_strlcpy(d->cuts[i].virus, res->name, sizeof(d->cuts[i].virus));
	sm_strlcpy(d->cuts[i].filename, o->filename[0] ? o->filename :
	    "(no name)", sizeof(d->cuts[i].filename));
	d->ncuts++;
	return REPLY_STRIP;
}

/* Folds one result into the instance's and the message's verdicts. */
static void
fold_one(const struct sm_av *av, int action, const char *engine,
    const struct batch_obj *o, const struct sm_result *res,
    enum sm_failure why, enum sm_verdict *worst, char *worst_name,
    struct sm_decision *d)
{
	enum sm_reply reply;

	if (verdict_rank(res->verdict) > verdict_rank(*worst)) {
		*worst = res->verdict;
		sm_strlcpy(worst_name, res->name, SM_NAME_MAX);
	}
	if (verdict_rank(res->verdict) > verdict_rank(d->verdict)) {
		d->verdict = res->verdict;
		sm_strlcpy(d->virus, res->name, sizeof(d->virus));
		sm_strlcpy(d->engine, engine, sizeof(d->engine));
	}
	if (why != FAIL_NONE && d->failure == FAIL_NONE)
		d->failure = why;
	reply = action_reply(action, av->on_error, res->verdict);
	if (reply == REPLY_STRIP)
		reply = strip_or_reject(o, res, d);
	if (reply > d->reply) {
		d->reply = reply;
		action_set_reply(av, reply, res->verdict, why, res->name,
		    engine, d);
	}
}

/* The action an engine takes for a verdict (unscannable may differ). */
static int
engine_action(const struct sm_engine_inst *e, enum sm_verdict v)
{
	if (v == SM_UNSCANNABLE &&
	    e->unscannable_action != UNSCANNABLE_AS_ACTION)
		return e->unscannable_action - 1;
	return e->action;
}

/*
 * What a tagging instance found infected, so that once every instance has
 * cut what it cuts its status header says "Cured" only if all of it is
 * gone.
 */
struct av_found {
	int	 header;		/* its status header in d */
	bool	 uncut;		/* infected bytes strip cannot remove */
	size_t	 n;
	size_t	 start[DECISION_MAX_CUTS];	/* the parts' cut_start */
};

static void
found_infected(struct av_found *f, const struct batch_obj *o)
{
	if (o == NULL || !o->cuttable || f->n == DECISION_MAX_CUTS)
		f->uncut = true;
	else
		f->start[f->n++] = o->cut_start;
}

/* Folds an instance's tasks (n from tasks) into d; an instance that adds
 * headers (found not NULL) adds them and records its finds in found. */
static void
fold_av(const struct sm_conf *c, const struct sm_av *av,
    const struct batch *b, const struct task *tasks, size_t n,
    struct sm_decision *d, struct av_found *found)
{
	enum sm_verdict worst = SM_CLEAN;
	char worst_name[SM_NAME_MAX] = "";
	size_t engines = 0;

	for (size_t i = 0; i < n; i++) {
		const struct task *t = &tasks[i];
		struct sm_result res = { 0 };
		enum sm_failure why = task_result(t, &res);

		d->engines_run += t->state == TASK_DONE && !t->cached;
		d->cache_hits += t->cached;
		if (b->objs[t->obj].obj.kind == SM_OBJ_PART)
			d->parts_scanned += t->state == TASK_DONE;
		fold_one(av, engine_action(t->e, res.verdict), t->e->name,
		    &b->objs[t->obj], &res, why, &worst, worst_name, d);
		if (res.verdict == SM_INFECTED && found != NULL)
			found_infected(found, &b->objs[t->obj]);
		/* a clean anti-spam verdict may still say "Suspect (…)" */
		if (av->antispam && res.verdict == SM_CLEAN && *res.name &&
		    worst == SM_CLEAN)
			sm_strlcpy(worst_name, res.name, sizeof(worst_name));
	}
	for (size_t i = 0; i < av->nengines; i++) {
		const struct sm_engine_inst *e = av->engines[i];

		engines += e->handle != NULL;
		if (e->enabled && e->handle == NULL) {
			/* enabled but not running: never "clean" */
			struct sm_result res = { .verdict = SM_ERROR };

			snprintf(res.name, sizeof(res.name), "engine %s not "
			    "running", e->name);
			fold_one(av, e->action, e->name, NULL, &res,
			    FAIL_ERROR, &worst, worst_name, d);
		}
	}
	if (av->detect_bypass && b->anomalies && engines > 0) {
		struct sm_result res = { 0 };

		bypass_result(b, &res);
		fold_one(av, av->defaults.action, "mime", NULL, &res,
		    FAIL_NONE, &worst, worst_name, d);
		if (res.verdict == SM_INFECTED && found != NULL)
			found_infected(found, NULL);
	}
	if (found != NULL) {
		add_av_headers(c, av, worst, worst_name, engines, d);
		found->header = (int)d->nheaders - 1;
	}
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

static bool
was_cut(const struct sm_decision *d, size_t start)
{
	for (size_t i = 0; i < d->ncuts; i++)
		if (d->cuts[i].start == start)
			return true;
	return false;
}

/* After strip an instance's status says what was removed instead of
 * "Infected" -- if all it found infected was removed. */
static void
cured_headers(struct sm_decision *d, const struct av_found *found,
    size_t nfound)
{
	char value[512];
	size_t n;

	n = (size_t)snprintf(value, sizeof(value), "Cured (removed");
	for (size_t i = 0; i < d->ncuts && n < sizeof(value); i++)
		n += (size_t)snprintf(value + n, sizeof(value) - n, "%s %s: %s",
		    i ? "," : "", d->cuts[i].filename, d->cuts[i].virus);
	if (n < sizeof(value))
		snprintf(value + n, sizeof(value) - n, ")");
	for (char *p = value; *p; p++)
		if ((unsigned char)*p < ' ')
			*p = ' ';
	for (size_t a = 0; a < nfound; a++) {
		const struct av_found *f = &found[a];
		struct sm_header *h;
		bool all = !f->uncut && f->n > 0;

		for (size_t i = 0; all && i < f->n; i++)
			all = was_cut(d, f->start[i]);
		if (!all)
			continue;
		h = &d->headers[f->header];
		if (strncmp(h->value, "Infected (", 10) == 0)
			sm_strlcpy(h->value, value, sizeof(h->value));
	}
}

/* Every instance counts the message (with one instance, its own verdict). */
static void
count(const struct sm_conf *c, const struct sm_decision *d, uint64_t skip)
{
	for (size_t a = 0; a < c->navs; a++) {
		if (c->avs[a]->stats == NULL)
			continue;
		if (a < 64 && (skip >> a & 1))
			stats_skip(c->avs[a]->stats);
		else
			stats_count(c->avs[a]->stats, d,
			    d->reply == REPLY_STRIP ? d->ncuts : 0);
	}
}

static bool
truthy(const char *v)
{
	return v != NULL && *v != '\0' && strcmp(v, "0") != 0 &&
	    strcasecmp(v, "no") != 0;
}

/* Why instance av skips this message (skip_* options), or NULL. */
static const char *
skip_reason(const struct sm_av *av, const struct sm_msginfo *info)
{
	if (av->skip_authenticated && info->auth != NULL && *info->auth)
		return "authenticated";
	if (av->skip_nets.n > 0 && info->client_addr != NULL &&
	    cidr_match(&av->skip_nets, info->client_addr))
		return "trusted network";
	if (av->skip_variable != NULL && *av->skip_variable &&
	    info->macro != NULL) {
		char name[128];

		snprintf(name, sizeof(name), "{%s}", av->skip_variable);
		if (truthy(info->macro(info->macro_arg, name)))
			return av->skip_variable;
	}
	return NULL;
}

void
scan_message(const struct sm_conf *c, struct scan_input *in,
    const struct sm_msginfo *info, struct sm_decision *d)
{
	double start = now_ms();
	struct batch *b;
	struct av_found found[CONF_MAX_TAGGING];	/* config-checked */
	size_t k = 0, nfound = 0;
	uint64_t skip = 0;

	memset(d, 0, sizeof(*d));
	d->reply = REPLY_ACCEPT;
	d->verdict = SM_CLEAN;
	for (size_t a = 0; a < c->navs && a < 64; a++) {
		const char *why = skip_reason(c->avs[a], info);

		if (why == NULL)
			continue;
		skip |= (uint64_t)1 << a;
		d->skipped++;
		if (c->avs[a]->add_headers) {
			char status[160];

			snprintf(status, sizeof(status), "Skipped (%s)", why);
			add_status_headers(c, c->avs[a], status, d);
		}
	}
	if (d->skipped == c->navs) {		/* nothing to scan */
		d->elapsed_ms = now_ms() - start;
		count(c, d, skip);
		return;
	}
	if (in->wb.error || in->wb.oversize) {
		not_scanned(c, &in->wb, d);
		d->elapsed_ms = now_ms() - start;
		count(c, d, skip);
		return;
	}
	b = batch_new(c, in, info);
	batch_run(b, c, info, start, skip);
	/* the tasks are in instance order; give each instance its slice */
	for (size_t a = 0; a < c->navs; a++) {
		struct av_found *f = NULL;
		size_t n = 0;

		if (a < 64 && (skip >> a & 1))
			continue;
		while (k + n < b->ntasks && b->tasks[k + n].av == c->avs[a])
			n++;
		if (c->avs[a]->add_headers) {
			f = &found[nfound++];
			f->uncut = false;
			f->n = 0;
		}
		pthread_mutex_lock(&b->mu);
		fold_av(c, c->avs[a], b, &b->tasks[k], n, d, f);
		pthread_mutex_unlock(&b->mu);
		k += n;
	}
	batch_unref(b);
	if (d->reply == REPLY_STRIP)
		cured_headers(d, found, nfound);
	d->elapsed_ms = now_ms() - start;
	count(c, d, skip);
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
