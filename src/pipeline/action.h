/*
 * From verdicts to answers: which SMTP reply a verdict gets under an
 * engine's action and the instance's failure policy, the reply text, and
 * the header values.  Pure functions, table-tested.
 */
#ifndef SM_ACTION_H
#define SM_ACTION_H

#include <stddef.h>

#include "conf.h"
#include "scan.h"

/* The reply a verdict gets under action (enum sm_action) and on_error. */
enum sm_reply action_reply(int action, int on_error, enum sm_verdict);

/* Orders verdicts by severity: clean < error < unscannable < infected. */
int	verdict_rank(enum sm_verdict);

/*
 * Fills d's rcode, xcode and text for reply, as instance av answers it for
 * verdict v named name (virus or reason) found by engine; why tells a
 * timeout or a full queue from other errors.
 */
void	action_set_reply(const struct sm_av *av, enum sm_reply reply,
	    enum sm_verdict v, enum sm_failure why, const char *name,
	    const char *engine, struct sm_decision *d);

/* Expands %v (name), %i (instance), %e (engine), %% in fmt into buf,
 * replacing control characters by spaces. */
void	action_expand(const char *fmt, const char *name, const char *instance,
	    const char *engine, char *buf, size_t len);

/* The status header value: "Clean", "Infected (NAME)", … */
void	action_status(enum sm_verdict, const char *name, char *buf,
	    size_t len);

#endif
