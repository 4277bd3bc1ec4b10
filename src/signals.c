/*
 * SIGHUP handling that libmilter cannot steal.
 *
 * libmilter's signal thread calls sigwait() on {HUP, TERM, INT} and stops
 * the milter for HUP.  A thread blocked in sigwait counts as accepting the
 * signal, so even with a handler elsewhere a HUP may be routed to it.  The
 * dependable fix (PITFALLS.md #3): libmilter resolves sigwait through the
 * dynamic symbol table, so the sigwait below, defined in the executable,
 * is the one it calls; it never waits for SIGHUP.  Our own thread waits
 * for SIGHUP with sigwaitinfo, which libmilter does not use.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "log.h"
#include "signals.h"


int
sigwait(const sigset_t *set, int *sig)
{
	sigset_t mine = *set;
	int n;

	sigdelset(&mine, SIGHUP);
	do
		n = sigwaitinfo(&mine, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	*sig = n;
	return 0;
}

void
signals_block(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void (*hup_fn)(void);

static void *
hup_thread(void *arg)
{
	sigset_t set;

	(void)arg;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	for (;;) {
		if (sigwaitinfo(&set, NULL) == SIGHUP)
			hup_fn();
	}
	return NULL;
}

int
signals_start_hup(void (*on_hup)(void))
{
	pthread_t t;
	int rc;

	hup_fn = on_hup;
	if ((rc = pthread_create(&t, NULL, hup_thread, NULL)) != 0) {
		errno = rc;
		msg_warn("pthread_create (SIGHUP thread)");
		return -1;
	}
	pthread_detach(t);
	return 0;
}
