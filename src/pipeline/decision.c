/*
 * Verdicts to one answer: the reply, its code and text, the headers and
 * the body edits; see decision.h.  Every code and text the daemon answers
 * a message with is written here.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "decision.h"
#include "options.h"
#include "util.h"

/* Replies that are not verdicts: the size policy and unavailability. */
#define REPLY_TOO_LARGE_CODE	"552"
#define REPLY_TOO_LARGE_XCODE	"5.3.4"
#define REPLY_VIRUS_CODE	"550"
#define REPLY_VIRUS_XCODE	"5.7.1"

int
verdict_rank(enum sm_verdict v)
{
	switch (v) {
	case SM_CLEAN:		return 0;
	case SM_ERROR:		return 1;
	case SM_UNSCANNABLE:	return 2;
	case SM_INFECTED:	return 3;
	}
	return 1;
}

static enum sm_reply
error_reply(int on_error)
{
	switch (on_error) {
	case ONERR_ACCEPT:	return REPLY_ACCEPT;
	case ONERR_REJECT:	return REPLY_REJECT;
	default:		return REPLY_TEMPFAIL;
	}
}

enum sm_reply
decision_reply(int action, int on_error, enum sm_verdict v)
{
	switch (v) {
	case SM_CLEAN:
		return REPLY_ACCEPT;
	case SM_INFECTED:
	case SM_UNSCANNABLE:	/* reject is conservative: both go */
		switch (action) {
		case ACT_REJECT:	return REPLY_REJECT;
		case ACT_TEMPFAIL:	return REPLY_TEMPFAIL;
		case ACT_DISCARD:	return REPLY_DISCARD;
		case ACT_QUARANTINE:	return REPLY_QUARANTINE;
		case ACT_STRIP:		return REPLY_STRIP;
		default:		return REPLY_ACCEPT;
		}
	case SM_ERROR:
		return error_reply(on_error);
	}
	return error_reply(on_error);
}

void
decision_expand(const char *fmt, const char *name, const char *instance,
    const char *engine, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return;
	for (const char *p = fmt; *p != '\0' && n + 1 < len; p++) {
		const char *sub = NULL;

		if (*p == '%' && p[1] != '\0') {
			switch (*++p) {
			case 'v': sub = name; break;
			case 'i': sub = instance; break;
			case 'e': sub = engine; break;
			case '%': sub = "%"; break;
			default: sub = ""; break;
			}
		}
		if (sub == NULL) {
			buf[n++] = *p;
			continue;
		}
		for (; *sub != '\0' && n + 1 < len; sub++)
			buf[n++] = *sub;
	}
	buf[n] = '\0';
	sm_clean_text(buf);
}

/*
 * The tempfailure code (4xx, or a 5xx the admin chose) with an enhanced
 * code of the same class, X.3.detail, and text that asks for a retry only
 * when the code does.
 */
static void
tempfail_reply(long long code, const char *detail, const char *text,
    char *rcode, size_t rlen, char *xcode, size_t xlen, char *buf,
    size_t blen)
{
	snprintf(rcode, rlen, "%lld", code);
	snprintf(xcode, xlen, "%c.3.%s", code >= 500 ? '5' : '4', detail);
	sm_strlcpy(buf, text, blen);
	if (code < 500 && strlen(buf) + 18 < blen)
		strcat(buf, ", try again later");
}

void
decision_set_reply(const struct sm_av *av, enum sm_reply reply,
    enum sm_verdict v, enum sm_failure why, const char *name,
    const char *engine, struct sm_decision *d)
{
	switch (reply) {
	case REPLY_ACCEPT:
	case REPLY_STRIP:
	case REPLY_DISCARD:
	case REPLY_QUARANTINE:
		d->rcode[0] = d->xcode[0] = d->text[0] = '\0';
		if (reply == REPLY_QUARANTINE)	/* the hold reason */
			decision_expand("scanmilter: %v (%e)", name, av->name,
			    engine, d->text, sizeof(d->text));
		return;
	case REPLY_REJECT:
		sm_strlcpy(d->rcode, REPLY_VIRUS_CODE, sizeof(d->rcode));
		sm_strlcpy(d->xcode, REPLY_VIRUS_XCODE, sizeof(d->xcode));
		if (v == SM_ERROR)
			decision_expand("Message could not be scanned", name,
			    av->name, engine, d->text, sizeof(d->text));
		else if (v == SM_UNSCANNABLE)
			decision_expand("Message could not be scanned: %v", name,
			    av->name, engine, d->text, sizeof(d->text));
		else
			decision_expand(av->reject_text, name, av->name, engine,
			    d->text, sizeof(d->text));
		return;
	case REPLY_TEMPFAIL: {
		char held[sizeof(d->text)];

		decision_expand("Message held back: %v", name, av->name,
		    engine, held, sizeof(held));
		tempfail_reply(av->tempfailure, why == FAIL_BUSY ? "2" : "0",
		    v != SM_ERROR ? held : why == FAIL_BUSY ? "Mail scanner "
		    "busy" : why == FAIL_TIMEOUT ? "Message scan timed out" :
		    "Message could not be scanned", d->rcode, sizeof(d->rcode),
		    d->xcode, sizeof(d->xcode), d->text, sizeof(d->text));
		return;
	}
	}
}

void
decision_status(enum sm_verdict v, const char *name, char *buf, size_t len)
{
	switch (v) {
	case SM_CLEAN:
		snprintf(buf, len, "Clean");
		break;
	case SM_INFECTED:
		snprintf(buf, len, "Infected (%s)", name);
		break;
	case SM_UNSCANNABLE:
		snprintf(buf, len, "Unscannable (%s)", name);
		break;
	case SM_ERROR:
		snprintf(buf, len, "Unscanned (error: %s)", name);
		break;
	}
	sm_clean_text(buf);
}

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
decision_hostname(const struct sm_conf *c)
{
	if (c->hostname != NULL)
		return c->hostname;
	pthread_once(&host_once, host_init);
	return host_name;
}

/* ---- headers ------------------------------------------------------------ */

static void
add_header(struct sm_decision *d, const char *name, const char *value)
{
	struct sm_header *h;

	if (d->nheaders >= DECISION_MAX_HEADERS)
		return;
	h = &d->headers[d->nheaders++];
	sm_strlcpy(h->name, name, sizeof(h->name));
	sm_strlcpy(h->value, value, sizeof(h->value));
	sm_clean_text(h->name);
	sm_clean_text(h->value);
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
		    PACKAGE_VERSION, decision_hostname(c));
	add_header(d, av->scanned_header, value);
	if (!av->antispam || av->spam_verdict_header)
		add_header(d, av->status_header, status);
}

void
decision_skipped(const struct sm_conf *c, const struct sm_av *av,
    const char *why, struct sm_decision *d)
{
	char status[160];

	d->skipped++;
	if (!av->add_headers)
		return;
	snprintf(status, sizeof(status), "Skipped (%s)", why);
	add_status_headers(c, av, status, d);
}

/* ---- folding results ---------------------------------------------------- */

void
decision_begin(struct sm_decision *d)
{
	memset(d, 0, sizeof(*d));
	d->reply = REPLY_ACCEPT;
	d->verdict = SM_CLEAN;
}

void
decision_av_begin(struct decision_av *f, const struct sm_av *av)
{
	memset(f, 0, sizeof(*f));
	f->av = av;
	f->worst = SM_CLEAN;
	f->header = -1;
}

/*
 * strip: the object must be an attachment that can be cut out; then it is
 * noted (once) and the answer is REPLY_STRIP.  Anything else that is
 * infected cannot be stripped: it is rejected.
 */
static enum sm_reply
strip_or_reject(const struct decision_part *p, const struct sm_result *res,
    struct sm_decision *d)
{
	size_t i;

	if (p == NULL)
		return REPLY_REJECT;
	for (i = 0; i < d->nedits; i++)
		if (d->edits[i].start == p->start)
			return REPLY_STRIP;
	if (d->nedits == DECISION_MAX_EDITS)
		return REPLY_REJECT;
	/* keep them in message order */
	for (i = d->nedits; i > 0 && d->edits[i - 1].start > p->start; i--)
		d->edits[i] = d->edits[i - 1];
	memset(&d->edits[i], 0, sizeof(d->edits[i]));
	d->edits[i].start = p->start;
	d->edits[i].end = p->end;
	sm_strlcpy(d->edits[i].virus, res->name, sizeof(d->edits[i].virus));
	sm_strlcpy(d->edits[i].filename, p->filename != NULL &&
	    *p->filename ? p->filename : "(no name)",
	    sizeof(d->edits[i].filename));
	d->nedits++;
	return REPLY_STRIP;
}

/* The action an engine takes for a verdict (unscannable may differ); the
 * daemon's own findings take the instance's default. */
static int
engine_action(const struct sm_av *av, const struct sm_engine_inst *e,
    enum sm_verdict v)
{
	if (e == NULL)
		return av->defaults.action;
	if (v == SM_UNSCANNABLE &&
	    e->unscannable_action != UNSCANNABLE_AS_ACTION)
		return e->unscannable_action - 1;
	return e->action;
}

/* How bad a context_variable header's value is (verdict_rank's scale). */
static int
context_rank(const char *value)
{
	if (strcmp(value, "error") == 0)
		return 1;
	if (strcmp(value, "unscannable") == 0)
		return 2;
	return 3;	/* infected, spam */
}

/*
 * Momentum's context_variable pair as headers: NAME says what the engine
 * found (infected, spam, unscannable, error), NAME_info the virus name or
 * the reason; only when it found something or failed, the worst of its
 * results for the message.
 */
static void
context_headers(struct sm_decision *d, const struct sm_av *av,
    const struct sm_engine_inst *e, const struct sm_result *res)
{
	const char *status = res->verdict == SM_INFECTED && av->antispam ?
	    "spam" : verdict_name(res->verdict);
	char info[SM_HEADER_NAME_MAX];
	size_t i;

	snprintf(info, sizeof(info), "%s_info", e->context_variable);
	for (i = 0; i < d->nheaders; i++)
		if (strcasecmp(d->headers[i].name, e->context_variable) == 0)
			break;
	if (i == d->nheaders) {
		if (d->nheaders + 2 > DECISION_MAX_HEADERS)
			return;
		add_header(d, e->context_variable, status);
		add_header(d, info, res->name);
		return;
	}
	if (context_rank(d->headers[i].value) >= verdict_rank(res->verdict) ||
	    i + 1 >= d->nheaders)
		return;
	sm_strlcpy(d->headers[i].value, status, sizeof(d->headers[i].value));
	sm_strlcpy(d->headers[i + 1].value, res->name,
	    sizeof(d->headers[i + 1].value));
	sm_clean_text(d->headers[i + 1].value);
}

/* The threshold behind an anti-spam verdict: the engine's spam_score
 * option (the rules engine's), when it has one. */
static void
spam_required(struct decision_av *f, const struct sm_engine_inst *e)
{
	const struct sm_option *o;

	f->required_known = false;
	if (e == NULL || e->conf == NULL ||
	    (o = opt_find(e->ops->options, "spam_score")) == NULL ||
	    o->type != SM_OPT_INT)
		return;
	memcpy(&f->required, (const char *)e->conf + o->offset,
	    sizeof(f->required));
	f->required_known = true;
}

void
decision_fold(struct sm_decision *d, struct decision_av *f,
    const struct sm_engine_inst *e, const char *engine,
    const struct decision_part *part, const struct sm_result *res,
    enum sm_failure why)
{
	const struct sm_av *av = f->av;
	enum sm_reply reply;

	if (verdict_rank(res->verdict) > verdict_rank(f->worst)) {
		f->worst = res->verdict;
		sm_strlcpy(f->worst_name, res->name, SM_NAME_MAX);
	}
	if (verdict_rank(res->verdict) > verdict_rank(d->verdict)) {
		d->verdict = res->verdict;
		sm_strlcpy(d->virus, res->name, sizeof(d->virus));
		sm_strlcpy(d->engine, engine, sizeof(d->engine));
	}
	if (why != FAIL_NONE && d->failure == FAIL_NONE)
		d->failure = why;
	reply = decision_reply(engine_action(av, e, res->verdict),
	    av->on_error, res->verdict);
	if (reply == REPLY_STRIP)
		reply = strip_or_reject(part, res, d);
	if (reply > f->reply) {
		f->reply = reply;
		f->failure = why;
	}
	if (reply > d->reply) {
		d->reply = reply;
		decision_set_reply(av, reply, res->verdict, why, res->name,
		    engine, d);
		/* if the MTA will not hold or edit it: this instance's
		 * reject */
		decision_expand(av->reject_text, res->name, av->name, engine,
		    d->fallback.text, sizeof(d->fallback.text));
	}
	if (res->verdict == SM_INFECTED) {
		if (part == NULL || f->n == DECISION_MAX_EDITS)
			f->uncut = true;
		else
			f->start[f->n++] = part->start;
	}
	if (e != NULL && e->context_variable != NULL &&
	    res->verdict != SM_CLEAN)
		context_headers(d, av, e, res);
	/* a clean anti-spam verdict may still say "Suspect (…)" */
	if (av->antispam && res->verdict == SM_CLEAN && *res->name &&
	    f->worst == SM_CLEAN)
		sm_strlcpy(f->worst_name, res->name, sizeof(f->worst_name));
	if (av->antispam && strcmp(f->worst_name, res->name) == 0)
		spam_required(f, e);
}

/*
 * The headers Sieve, procmail and mail clients filter on, from an engine
 * verdict "Label (score N: rule1, rule2)": X-Spam-Flag: YES|NO,
 * X-Spam-Status: Yes, score=N.0 required=R.0 tests=rule1,rule2 and
 * X-Spam-Level with N stars.  Nothing for a scan that failed: no verdict
 * is better than a wrong one.
 */
static void
spam_headers(struct sm_decision *d, const struct decision_av *f)
{
	const struct sm_av *av = f->av;
	const char *p = strstr(f->worst_name, "(score ");
	bool spam = f->worst == SM_INFECTED;
	char tests[SM_NAME_MAX], value[512], stars[51];
	long score = 0;
	size_t n = 0;

	if (f->worst == SM_ERROR || f->worst == SM_UNSCANNABLE)
		return;
	if (p != NULL) {
		char *end;

		score = strtol(p + 7, &end, 10);
		p = *end == ':' ? end + 1 : NULL;
	}
	/* "rule1, rule2)" -> "rule1,rule2" */
	for (; p != NULL && *p != '\0' && *p != ')' && n + 1 < sizeof(tests);
	    p++)
		if (*p != ' ')
			tests[n++] = *p;
	tests[n] = '\0';
	if (n == 0 && spam && strstr(f->worst_name, "(score ") == NULL)
		sm_strlcpy(tests, f->worst_name, sizeof(tests));
	if (*av->spam_flag_header)
		add_header(d, av->spam_flag_header, spam ? "YES" : "NO");
	if (*av->spam_status_header) {
		if (f->required_known)
			snprintf(value, sizeof(value), "%s, score=%ld.0 "
			    "required=%lld.0 tests=%s", spam ? "Yes" : "No",
			    score, f->required, *tests ? tests : "none");
		else
			snprintf(value, sizeof(value), "%s, score=%ld.0 "
			    "tests=%s", spam ? "Yes" : "No", score,
			    *tests ? tests : "none");
		add_header(d, av->spam_status_header, value);
	}
	if (*av->spam_level_header) {
		for (n = 0; (long)n < score && n + 1 < sizeof(stars); n++)
			stars[n] = '*';
		stars[n] = '\0';
		add_header(d, av->spam_level_header, stars);
	}
}

void
decision_av_end(const struct sm_conf *c, struct sm_decision *d,
    struct decision_av *f, size_t engines)
{
	const struct sm_av *av = f->av;
	char value[512];

	if (!av->add_headers)
		return;
	if (engines == 0)
		sm_strlcpy(value, "Unscanned (no engine enabled)",
		    sizeof(value));
	else if (av->antispam && (f->worst == SM_INFECTED ||
	    (f->worst == SM_CLEAN && *f->worst_name)))
		snprintf(value, sizeof(value), "%s", f->worst_name);
	else
		decision_status(f->worst, f->worst_name, value, sizeof(value));
	add_status_headers(c, av, value, d);
	f->header = av->antispam && !av->spam_verdict_header ? -1 :
	    (int)d->nheaders - 1;
	if (av->antispam && engines > 0)
		spam_headers(d, f);
}

/* The instances that scan the message, in order; the first answers. */
static const struct sm_av *
first_scanning(const struct sm_conf *c, uint64_t skip)
{
	for (size_t a = 0; a < c->navs; a++)
		if (!(a < 64 && (skip >> a & 1)))
			return c->avs[a];
	return c->avs[0];
}

void
decision_not_scanned(const struct sm_conf *c, uint64_t skip, int error,
    const char *spool, struct sm_decision *d)
{
	const struct sm_av *av = first_scanning(c, skip);

	d->verdict = SM_UNSCANNABLE;
	snprintf(d->rcode, sizeof(d->rcode), "%lld", av->tempfailure);
	if (error) {
		d->verdict = SM_ERROR;
		d->failure = FAIL_ERROR;
		d->reply = REPLY_TEMPFAIL;
		snprintf(d->virus, sizeof(d->virus), "cannot store message "
		    "under %s: %s", spool ? spool : "file_base",
		    strerror(error));
		tempfail_reply(av->tempfailure, error == ENOSPC ||
		    error == EDQUOT ? "1" : "0", "Message could not be stored "
		    "for scanning", d->rcode, sizeof(d->rcode), d->xcode,
		    sizeof(d->xcode), d->text, sizeof(d->text));
		return;
	}
	snprintf(d->virus, sizeof(d->virus), "message larger than %lld "
	    "bytes", c->eff.max_message_size);
	switch (c->eff.oversize_action) {
	case OVERSIZE_REJECT:
		d->reply = REPLY_REJECT;
		sm_strlcpy(d->rcode, REPLY_TOO_LARGE_CODE, sizeof(d->rcode));
		sm_strlcpy(d->xcode, REPLY_TOO_LARGE_XCODE, sizeof(d->xcode));
		snprintf(d->text, sizeof(d->text), "Message too large to scan "
		    "(over %lld bytes)", c->eff.max_message_size);
		break;
	case OVERSIZE_TEMPFAIL: {
		char why[128];

		d->reply = REPLY_TEMPFAIL;
		snprintf(why, sizeof(why), "Message too large to scan (over "
		    "%lld bytes)", c->eff.max_message_size);
		tempfail_reply(av->tempfailure, "4", why, d->rcode,
		    sizeof(d->rcode), d->xcode, sizeof(d->xcode), d->text,
		    sizeof(d->text));
		break;
	}
	default:
		d->reply = REPLY_ACCEPT;
		d->rcode[0] = '\0';
		for (size_t a = 0; a < c->navs; a++)
			if (c->avs[a]->add_headers &&
			    !(a < 64 && (skip >> a & 1)))
				add_status_headers(c, c->avs[a],
				    "Unscanned (too large)", d);
		break;
	}
}

bool
decision_too_large(const struct sm_conf *c, size_t declared,
    struct sm_smtp_reply *r)
{
	const struct sm_msgopts *m = &c->eff;

	if (m->max_message_size == 0 || declared <= (size_t)m->max_message_size
	    || m->oversize_action != OVERSIZE_REJECT)
		return false;
	sm_strlcpy(r->rcode, REPLY_TOO_LARGE_CODE, sizeof(r->rcode));
	sm_strlcpy(r->xcode, REPLY_TOO_LARGE_XCODE, sizeof(r->xcode));
	snprintf(r->text, sizeof(r->text), "Message too large to scan (over "
	    "%lld bytes)", m->max_message_size);
	return true;
}

void
decision_unavailable(bool reloading, long long tempfailure,
    struct sm_smtp_reply *r)
{
	if (reloading) {
		tempfail_reply(tempfailure, "2", "Mail scanner reloading its "
		    "signatures", r->rcode, sizeof(r->rcode), r->xcode,
		    sizeof(r->xcode), r->text, sizeof(r->text));
		return;
	}
	sm_strlcpy(r->rcode, "421", sizeof(r->rcode));
	sm_strlcpy(r->text, "Mail scanner shutting down, try again later",
	    sizeof(r->text));
	sm_strlcpy(r->xcode, "4.3.2", sizeof(r->xcode));
}

/* ---- strip: the body edits ---------------------------------------------- */

static bool
was_cut(const struct sm_decision *d, size_t start)
{
	for (size_t i = 0; i < d->nedits; i++)
		if (d->edits[i].start == start)
			return true;
	return false;
}

/* After strip an instance's status says what was removed instead of
 * "Infected" -- if all it found infected was removed. */
static void
cured_headers(struct sm_decision *d, const struct decision_av *found,
    size_t nfound)
{
	char value[512];
	size_t n;

	n = (size_t)snprintf(value, sizeof(value), "Cured (removed");
	for (size_t i = 0; i < d->nedits && n < sizeof(value); i++)
		n += (size_t)snprintf(value + n, sizeof(value) - n, "%s %s: %s",
		    i ? "," : "", d->edits[i].filename, d->edits[i].virus);
	if (n < sizeof(value))
		snprintf(value + n, sizeof(value) - n, ")");
	sm_clean_text(value);
	for (size_t a = 0; a < nfound; a++) {
		const struct decision_av *f = &found[a];
		struct sm_header *h;
		bool all = !f->uncut && f->n > 0;

		if (f->header < 0)
			continue;
		for (size_t i = 0; all && i < f->n; i++)
			all = was_cut(d, f->start[i]);
		if (!all)
			continue;
		h = &d->headers[f->header];
		if (strncmp(h->value, "Infected (", 10) == 0)
			sm_strlcpy(h->value, value, sizeof(h->value));
	}
}

size_t
decision_av_cured(const struct sm_decision *d, const struct decision_av *f)
{
	size_t n = 0;

	if (d->reply != REPLY_STRIP)
		return 0;
	for (size_t i = 0; i < f->n; i++) {
		bool seen = false;	/* two engines may find one part */

		for (size_t k = 0; k < i && !seen; k++)
			seen = f->start[k] == f->start[i];
		n += !seen && was_cut(d, f->start[i]);
	}
	return n;
}

/* Printable ASCII only, for the notice text. */
static void
plain(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s > '~')
			*s = '?';
}

static void
edit_text(struct sm_body_edit *e)
{
	char file[128], virus[SM_NAME_MAX];

	sm_strlcpy(file, e->filename, sizeof(file));
	sm_strlcpy(virus, e->virus, sizeof(virus));
	plain(file);
	plain(virus);
	snprintf(e->text, sizeof(e->text), "Content-Type: text/plain; "
	    "charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n"
	    "Content-Disposition: inline\r\n\r\nscanmilter removed the "
	    "attachment %s from this message: it contained %s.", file, virus);
}

void
decision_finish(struct sm_decision *d, struct decision_av *avs,
    size_t navs)
{
	if (d->reply == REPLY_STRIP) {
		cured_headers(d, avs, navs);
		for (size_t i = 0; i < d->nedits; i++)
			edit_text(&d->edits[i]);
	} else {
		d->nedits = 0;
	}
	if (d->reply == REPLY_STRIP || d->reply == REPLY_QUARANTINE) {
		sm_strlcpy(d->fallback.rcode, REPLY_VIRUS_CODE,
		    sizeof(d->fallback.rcode));
		sm_strlcpy(d->fallback.xcode, REPLY_VIRUS_XCODE,
		    sizeof(d->fallback.xcode));
	} else {
		memset(&d->fallback, 0, sizeof(d->fallback));
	}
}

int
decision_apply_body(const struct sm_decision *d, const unsigned char *msg,
    size_t len, int (*emit)(const void *, size_t, void *), void *arg)
{
	const unsigned char *hdr_end = memmem(msg, len, "\r\n\r\n", 4);
	size_t at;

	if (hdr_end == NULL)
		return -1;
	at = (size_t)(hdr_end - msg) + 4;	/* the body */
	for (size_t i = 0; i < d->nedits; i++) {
		const struct sm_body_edit *e = &d->edits[i];

		if (e->start < at || e->end < e->start || e->end > len)
			return -1;
		if (emit(msg + at, e->start - at, arg) < 0 ||
		    emit(e->text, strlen(e->text), arg) < 0)
			return -1;
		at = e->end;
	}
	return emit(msg + at, len - at, arg);
}
