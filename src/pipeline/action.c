/*
 * Verdict to reply mapping, reply texts and status header values.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "action.h"
#include "util.h"

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
action_reply(int action, int on_error, enum sm_verdict v)
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
action_expand(const char *fmt, const char *name, const char *instance,
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

void
action_set_reply(const struct sm_av *av, enum sm_reply reply,
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
			action_expand("scanmilter: %v (%e)", name, av->name,
			    engine, d->text, sizeof(d->text));
		return;
	case REPLY_REJECT:
		sm_strlcpy(d->rcode, "550", sizeof(d->rcode));
		sm_strlcpy(d->xcode, "5.7.1", sizeof(d->xcode));
		if (v == SM_ERROR)
			action_expand("Message could not be scanned", name,
			    av->name, engine, d->text, sizeof(d->text));
		else if (v == SM_UNSCANNABLE)
			action_expand("Message could not be scanned: %v", name,
			    av->name, engine, d->text, sizeof(d->text));
		else
			action_expand(av->reject_text, name, av->name, engine,
			    d->text, sizeof(d->text));
		return;
	case REPLY_TEMPFAIL:
		snprintf(d->rcode, sizeof(d->rcode), "%lld", av->tempfailure);
		sm_strlcpy(d->xcode, why == FAIL_BUSY ? "4.3.2" : "4.3.0",
		    sizeof(d->xcode));
		if (v == SM_ERROR && why == FAIL_BUSY)
			sm_strlcpy(d->text, "Mail scanner busy, try again "
			    "later", sizeof(d->text));
		else if (v == SM_ERROR && why == FAIL_TIMEOUT)
			sm_strlcpy(d->text, "Message scan timed out, try again "
			    "later", sizeof(d->text));
		else if (v == SM_ERROR)
			sm_strlcpy(d->text, "Message could not be scanned, "
			    "try again later", sizeof(d->text));
		else
			action_expand("Message held back: %v, try again later",
			    name, av->name, engine, d->text, sizeof(d->text));
		return;
	}
}

void
action_status(enum sm_verdict v, const char *name, char *buf, size_t len)
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
