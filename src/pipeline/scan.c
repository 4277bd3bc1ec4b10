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

#include "batch.h"
#include "decision.h"
#include "scan.h"
#include "mime.h"
#include "stats.h"
#include "util.h"

/* A message built to confuse scanners, as a virus of the instance's own. */
static void
bypass_result(unsigned anomalies, struct sm_result *res)
{
	unsigned bit = anomalies & -anomalies;	/* the lowest */

	res->verdict = SM_INFECTED;
	snprintf(res->name, sizeof(res->name), "Heuristics.Bypass.%s",
	    mime_anomaly_name(bit));
}

/* Folds instance f->av's results, from the i-th on, into d; returns the
 * index of the first result of the next instance. */
static size_t
fold_av(const struct sm_conf *c, struct batch *b, size_t i,
    struct sm_decision *d, struct decision_av *f)
{
	const struct sm_av *av = f->av;
	struct batch_result r;
	size_t engines = 0;

	for (; batch_result(b, i, &r) && r.av == av; i++) {
		d->engines_run += r.done && !r.cached;
		d->cache_hits += r.cached;
		if (r.part)
			d->parts_scanned += r.done;
		decision_fold(d, f, r.e, r.e->name, r.cuttable ? &r.where :
		    NULL, &r.res, r.why);
	}
	for (size_t k = 0; k < av->nengines; k++) {
		const struct sm_engine_inst *e = av->engines[k];

		engines += e->handle != NULL;
		if (e->enabled && e->handle == NULL) {
			/* enabled but not running: never "clean" */
			struct sm_result res = { .verdict = SM_ERROR };

			snprintf(res.name, sizeof(res.name), "engine %s not "
			    "running", e->name);
			decision_fold(d, f, e, e->name, NULL, &res,
			    FAIL_ERROR);
		}
	}
	if (av->detect_bypass && batch_anomalies(b) && engines > 0) {
		struct sm_result res = { 0 };

		bypass_result(batch_anomalies(b), &res);
		decision_fold(d, f, NULL, "mime", NULL, &res, FAIL_NONE);
	}
	decision_av_end(c, d, f, engines);
	return i;
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
			    d->reply == REPLY_STRIP ? d->nedits : 0);
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
skip_reason(const struct sm_av *av, const struct message *msg)
{
	if (av->skip_authenticated && msg->auth != NULL && *msg->auth)
		return "authenticated";
	if (av->skip_nets.n > 0 && msg->client_addr != NULL &&
	    cidr_match(&av->skip_nets, msg->client_addr))
		return "trusted network";
	if (av->skip_variable != NULL && *av->skip_variable &&
	    truthy(message_macro(msg, av->skip_variable)))
		return av->skip_variable;
	return NULL;
}

const char *
scan_macro_wanted(const struct sm_conf *c, size_t i)
{
	for (size_t a = 0; a < c->navs; a++) {
		const char *v = c->avs[a]->skip_variable;

		if (v != NULL && *v && i-- == 0)
			return v;
	}
	return NULL;
}

void
scan_message(const struct sm_conf *c, struct message_input *in,
    const struct message *msg, const struct batch_progress *progress,
    struct sm_decision *d)
{
	double start = now_ms();
	struct batch *b;
	struct decision_av local[8], *found = local;	/* per instance */
	size_t k = 0, nfound = 0;
	uint64_t skip = 0;

	decision_begin(d);
	for (size_t a = 0; a < c->navs && a < 64; a++) {
		const char *why = skip_reason(c->avs[a], msg);

		if (why == NULL)
			continue;
		skip |= (uint64_t)1 << a;
		decision_skipped(c, c->avs[a], why, d);
	}
	if (d->skipped == c->navs) {		/* nothing to scan */
		d->elapsed_ms = now_ms() - start;
		count(c, d, skip);
		return;
	}
	if (in->wb.error || in->wb.oversize) {
		decision_not_scanned(c, skip, in->wb.error, d);
		d->elapsed_ms = now_ms() - start;
		count(c, d, skip);
		return;
	}
	if (c->navs > ARRAY_LEN(local))
		found = xcalloc(c->navs, sizeof(*found));
	b = batch_new(c, in, msg);
	batch_run(b, c, progress, start, skip);
	/* the results are in instance order */
	for (size_t a = 0; a < c->navs; a++) {
		if (a < 64 && (skip >> a & 1))
			continue;
		decision_av_begin(&found[nfound], c->avs[a]);
		k = fold_av(c, b, k, d, &found[nfound]);
		nfound++;
	}
	batch_unref(b);
	decision_finish(d, found, nfound);
	if (found != local)
		free(found);
	d->elapsed_ms = now_ms() - start;
	count(c, d, skip);
}

void
scan_log(const struct sm_conf *c, const struct message *msg, size_t size,
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
	    msg->queue_id != NULL && *msg->queue_id ? msg->queue_id :
	    "NOQUEUE", message_str(msg->client_name, "unknown"),
	    message_str(msg->client_addr, "unknown"),
	    message_str(msg->sender, ""), msg->nrcpt, size,
	    held_on_disk ? " (spilled)" : "",
	    verdict_name(d->verdict), *d->virus ? d->virus : "-",
	    *d->engine ? d->engine : "-", reply_name(d->reply),
	    *d->rcode ? " " : "", d->rcode, *d->rcode ? " " : "", d->xcode,
	    d->elapsed_ms);
}
