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
#include "generation.h"
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

/* Folds instance f->av's results, from the i-th on, into d, and what the
 * instance's own engines did into m (the scan started at start); returns
 * the index of the first result of the next instance. */
static size_t
fold_av(const struct generation *g, size_t a, struct batch *b, size_t i,
    double start, struct sm_decision *d, struct decision_av *f,
    struct stats_sample *m)
{
	const struct sm_av *av = f->av;
	const struct sm_engine_inst *cur = NULL;
	struct batch_result r;
	size_t engines = 0, n, parts = 0;	/* parts: of engine cur */
	const struct gen_engine *ge = generation_engines(g, a, &n);
	unsigned found;

	memset(m, 0, sizeof(*m));
	for (; batch_result(b, i, &r) && r.av == av; i++) {
		d->engines_run += r.done && !r.cached;
		d->cache_hits += r.cached;
		m->engine_scans += r.done && !r.cached;
		m->cache_hits += r.cached;
		if (r.end_ms - start > m->elapsed_ms)
			m->elapsed_ms = r.end_ms - start;
		/* an engine's results are together: the instance checked as
		 * many parts as the engine that checked most */
		if (r.e != cur) {
			cur = r.e;
			parts = 0;
		}
		if (r.part) {
			d->parts_scanned += r.done;
			parts += r.done;
			m->part_ms += r.ms;
			if (parts > m->parts)
				m->parts = parts;
		}
		decision_fold(d, f, r.e, r.e->name, r.cuttable ? &r.where :
		    NULL, &r.res, r.why);
	}
	for (size_t k = 0; k < n; k++) {
		const struct sm_engine_inst *e = ge[k].e;

		engines += ge[k].handle != NULL;
		if (e->enabled && ge[k].handle == NULL) {
			/* enabled but not running: never "clean" */
			struct sm_result res = { .verdict = SM_ERROR };

			snprintf(res.name, sizeof(res.name), "engine %s not "
			    "running", e->name);
			decision_fold(d, f, e, e->name, NULL, &res,
			    FAIL_ERROR);
		}
	}
	/* past a limit the message is scanned whole; it is a finding of its
	 * own only if the instance says so */
	found = batch_anomalies(b);
	if (!av->detect_bypass_limits)
		found &= ~(unsigned)(MIME_DEPTH | MIME_LIMIT);
	if (av->detect_bypass && found && engines > 0) {
		struct sm_result res = { 0 };

		bypass_result(found, &res);
		decision_fold(d, f, NULL, "mime", NULL, &res, FAIL_NONE);
	}
	decision_av_end(g->conf, d, f, engines);
	return i;
}

/* A message no instance folded results for (all skipped, or not kept
 * whole): each instance that did not skip it counts the decision. */
static void
count_unscanned(const struct generation *g, const struct sm_decision *d,
    uint64_t skip)
{
	for (size_t a = 0; a < g->conf->navs; a++) {
		struct stats_sample m = { .verdict = d->verdict,
		    .spam = g->conf->avs[a]->antispam, .reply = d->reply,
		    .failure = d->failure, .elapsed_ms = d->elapsed_ms };

		if (g->stats[a] == NULL)
			continue;
		if (a < 64 && (skip >> a & 1))
			stats_skip(g->stats[a]);
		else
			stats_count(g->stats[a], &m);
	}
}

/* A scanned message: each instance counts what it found and did itself
 * (found and m: the instances that did not skip it, in order). */
static void
count_scanned(const struct generation *g, const struct sm_decision *d,
    uint64_t skip, const struct decision_av *found, struct stats_sample *m)
{
	for (size_t a = 0, f = 0; a < g->conf->navs; a++) {
		if (a < 64 && (skip >> a & 1)) {
			if (g->stats[a] != NULL)
				stats_skip(g->stats[a]);
			continue;
		}
		m[f].verdict = found[f].worst;
		m[f].spam = g->conf->avs[a]->antispam;
		m[f].reply = found[f].reply;
		m[f].failure = found[f].failure;
		m[f].cured = decision_av_cured(d, &found[f]);
		if (g->stats[a] != NULL)
			stats_count(g->stats[a], &m[f]);
		f++;
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

/* Where the message's time went (batch.h), for a debug log. */
static void
log_timeline(struct batch *b, const struct message *msg, double total)
{
	struct batch_timeline tl;
	double rest;

	batch_timeline(b, &tl);
	/* from eom to the batch, and from the wake-up to the decision */
	rest = total - tl.parse - tl.key - tl.submit - tl.queue - tl.scan -
	    tl.handback;
	msg_debug("%s: timeline parse=%.3f key=%.3f submit=%.3f queue=%.3f "
	    "scan=%.3f handback=%.3f rest=%.3f total=%.3f ms, %u pooled task(s)",
	    msg->queue_id != NULL && *msg->queue_id ? msg->queue_id :
	    "NOQUEUE", tl.parse, tl.key, tl.submit, tl.queue, tl.scan,
	    tl.handback, rest, total, tl.pooled);
}

void
scan_message(const struct generation *g, struct message_input *in,
    const struct message *msg, const struct batch_progress *progress,
    struct sm_decision *d)
{
	const struct sm_conf *c = g->conf;
	double start = now_ms();
	struct batch *b;
	struct decision_av local[8], *found = local;	/* per instance */
	struct stats_sample mlocal[8], *m = mlocal;	/* and its counts */
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
		count_unscanned(g, d, skip);
		return;
	}
	if (in->wb.error || in->wb.oversize) {
		decision_not_scanned(c, skip, in->wb.error, g->spool_dir, d);
		d->elapsed_ms = now_ms() - start;
		count_unscanned(g, d, skip);
		return;
	}
	if (c->navs > ARRAY_LEN(local)) {
		found = xcalloc(c->navs, sizeof(*found));
		m = xcalloc(c->navs, sizeof(*m));
	}
	b = batch_new(g, in, msg);
	batch_run(b, g, progress, start, skip);
	/* the results are in instance order */
	for (size_t a = 0; a < c->navs; a++) {
		if (a < 64 && (skip >> a & 1))
			continue;
		decision_av_begin(&found[nfound], c->avs[a]);
		k = fold_av(g, a, b, k, start, d, &found[nfound], &m[nfound]);
		nfound++;
	}
	decision_finish(d, found, nfound);
	d->elapsed_ms = now_ms() - start;
	if (log_wants(LOG_DEBUG))
		log_timeline(b, msg, d->elapsed_ms);
	batch_unref(b);
	count_scanned(g, d, skip, found, m);
	if (found != local) {
		free(found);
		free(m);
	}
}

/* "<a>,<b>" for the log line; past len what does not fit is counted. */
static void
rcpt_list(const struct message *msg, char *buf, size_t len)
{
	size_t n = 0, i;

	buf[0] = '\0';
	for (i = 0; i < msg->nrcpt; i++) {
		size_t w = strlen(msg->rcpts[i]) + 3;

		if (n + w + 24 >= len)	/* room for " (+N more)" */
			break;
		n += (size_t)snprintf(buf + n, len - n, "%s<%s>", i ? "," : "",
		    msg->rcpts[i]);
	}
	if (i < msg->nrcpt)
		snprintf(buf + n, len - n, "%s(+%zu more)", n ? " " : "",
		    msg->nrcpt - i);
	sm_clean_text(buf);
}

void
scan_log(const struct sm_conf *c, const struct message *msg, size_t size,
    int held_on_disk, const struct sm_decision *d)
{
	char to[1024], qto[2 * sizeof(to) + 3];
	char q[4][2 * SM_NAME_MAX + 3], from[SM_NAME_MAX + 2];
	int prio = LOG_INFO;

	if (d->verdict == SM_CLEAN && d->reply == REPLY_ACCEPT &&
	    !c->log_clean)
		return;
	if (d->verdict == SM_INFECTED || d->verdict == SM_UNSCANNABLE)
		prio = LOG_NOTICE;
	else if (d->verdict == SM_ERROR)
		prio = LOG_WARNING;
	/* fields with commas are quoted: the line splits at ", " */
	rcpt_list(msg, to, sizeof(to));
	snprintf(from, sizeof(from), "<%s>", message_str(msg->sender, ""));
	log_msg(prio, "%s: client=%s[%s], from=%s, rcpts=%zu, to=%s, "
	    "size=%zu%s, "
	    "verdict=%s, virus=%s, engine=%s, reply=%s%s%s%s%s, time=%.1fms",
	    msg->queue_id != NULL && *msg->queue_id ? msg->queue_id :
	    "NOQUEUE", log_quote(message_str(msg->client_name, "unknown"),
	    q[0], sizeof(q[0])),
	    message_str(msg->client_addr, "unknown"),
	    log_quote(from, q[1], sizeof(q[1])), msg->nrcpt,
	    log_quote(to, qto, sizeof(qto)), size,
	    held_on_disk ? " (spilled)" : "",
	    verdict_name(d->verdict), log_quote(*d->virus ? d->virus : "-",
	    q[2], sizeof(q[2])), log_quote(*d->engine ? d->engine : "-",
	    q[3], sizeof(q[3])), reply_name(d->reply),
	    *d->rcode ? " " : "", d->rcode, *d->rcode ? " " : "", d->xcode,
	    d->elapsed_ms);
}
