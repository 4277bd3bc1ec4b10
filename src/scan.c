/*
 * The scanning pipeline: runs each enabled engine of each antivirus
 * instance over a message and folds the results into one decision.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action.h"
#include "scan.h"
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
add_av_headers(const struct sm_conf *c, const struct sm_av *av,
    enum sm_verdict v, const char *name, size_t scanned,
    struct sm_decision *d)
{
	char value[512];

	if (av->hide_host)
		snprintf(value, sizeof(value), "%s %s", PACKAGE_NAME,
		    PACKAGE_VERSION);
	else
		snprintf(value, sizeof(value), "%s %s on %s", PACKAGE_NAME,
		    PACKAGE_VERSION, scan_hostname(c));
	add_header(d, av->scanned_header, value);
	if (scanned == 0)
		sm_strlcpy(value, "Unscanned (no engine enabled)",
		    sizeof(value));
	else
		action_status(v, name, value, sizeof(value));
	add_header(d, av->status_header, value);
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

static void
scan_av(const struct sm_conf *c, const struct sm_av *av,
    const struct sm_object *msg, struct sm_decision *d)
{
	enum sm_verdict worst = SM_CLEAN;
	char worst_name[SM_NAME_MAX] = "";
	size_t scanned = 0;

	for (size_t i = 0; i < av->nengines; i++) {
		const struct sm_engine_inst *e = av->engines[i];
		struct sm_result res;
		enum sm_reply reply;

		if (!e->enabled || e->handle == NULL)
			continue;
		run_engine(e, msg, &res);
		scanned++;
		d->engines_run++;
		if (verdict_rank(res.verdict) > verdict_rank(worst)) {
			worst = res.verdict;
			sm_strlcpy(worst_name, res.name, sizeof(worst_name));
		}
		if (verdict_rank(res.verdict) > verdict_rank(d->verdict)) {
			d->verdict = res.verdict;
			sm_strlcpy(d->virus, res.name, sizeof(d->virus));
			sm_strlcpy(d->engine, e->name, sizeof(d->engine));
		}
		reply = action_reply(e->action, av->on_error, res.verdict);
		if (reply > d->reply) {
			d->reply = reply;
			action_set_reply(av, reply, res.verdict, res.name,
			    e->name, d);
		}
	}
	if (av->add_headers)
		add_av_headers(c, av, worst, worst_name, scanned, d);
}

void
scan_message(const struct sm_conf *c, const struct sm_object *msg,
    const struct sm_msginfo *info, struct sm_decision *d)
{
	double start = now_ms();
	struct sm_object obj = *msg;

	memset(d, 0, sizeof(*d));
	d->reply = REPLY_ACCEPT;
	d->verdict = SM_CLEAN;
	obj.client_addr = info->client_addr;
	obj.id = info->queue_id;
	for (size_t a = 0; a < c->navs; a++)
		scan_av(c, c->avs[a], &obj, d);
	d->elapsed_ms = now_ms() - start;
}

void
scan_log(const struct sm_conf *c, const struct sm_msginfo *info, size_t size,
    const struct sm_decision *d)
{
	int prio = LOG_INFO;

	if (d->verdict == SM_CLEAN && d->reply == REPLY_ACCEPT &&
	    !c->log_clean)
		return;
	if (d->verdict == SM_INFECTED || d->verdict == SM_UNSCANNABLE)
		prio = LOG_NOTICE;
	else if (d->verdict == SM_ERROR)
		prio = LOG_WARNING;
	log_msg(prio, "%s: client=%s[%s], from=<%s>, rcpts=%zu, size=%zu, "
	    "verdict=%s, virus=%s, engine=%s, reply=%s%s%s%s%s, time=%.1fms",
	    *info->queue_id ? info->queue_id : "NOQUEUE",
	    info->client_name ? info->client_name : "unknown",
	    info->client_addr ? info->client_addr : "unknown",
	    info->sender ? info->sender : "", info->nrcpt, size,
	    verdict_name(d->verdict), *d->virus ? d->virus : "-",
	    *d->engine ? d->engine : "-", reply_name(d->reply),
	    *d->rcode ? " " : "", d->rcode, *d->rcode ? " " : "", d->xcode,
	    d->elapsed_ms);
}
