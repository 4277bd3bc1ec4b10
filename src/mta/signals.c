/*
 * SIGHUP handling that libmilter cannot steal.
 *
 * libmilter's signal thread calls sigwait() on {HUP, TERM, INT} and stops
 * the milter for HUP.  A thread blocked in sigwait counts as accepting the
 * signal, so even with a handler elsewhere a HUP may be routed to it.  The
 * dependable fix: libmilter resolves sigwait through the
 * dynamic symbol table, so the sigwait below, defined in the executable,
 * is the one it calls; it never waits for SIGHUP.  Our own thread waits
 * for SIGHUP with sigwaitinfo, which libmilter does not use.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

#include "log.h"
#include "signals.h"


static void (*hup_fn)(void);
static void (*again_fn)(int);
static pthread_t hup_tid;
static int hup_started;
static int stop_seen;		/* atomic: libmilter got TERM or INT */

/*
 * Only libmilter calls sigwait.  After it takes TERM or INT it stops for
 * good, so the first one is noted and our thread is woken to watch for a
 * second one (which stops the daemon at once).
 */
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
	if ((n == SIGTERM || n == SIGINT) &&
	    !__atomic_exchange_n(&stop_seen, 1, __ATOMIC_ACQ_REL) &&
	    hup_started)
		pthread_kill(hup_tid, SIGHUP);	/* wake it to watch */
	*sig = n;
	return 0;
}

void
signals_block(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigset_t set;

	/* a vanished peer must not kill us, nor a stray user signal */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, NULL);
	sigaction(SIGUSR1, &ign, NULL);
	sigaction(SIGUSR2, &ign, NULL);

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void *
hup_thread(void *arg)
{
	sigset_t set;

	(void)arg;
	for (;;) {
		bool stopping = __atomic_load_n(&stop_seen, __ATOMIC_ACQUIRE);
		int sig;

		sigemptyset(&set);
		sigaddset(&set, SIGHUP);
		if (stopping) {		/* libmilter no longer waits for these */
			sigaddset(&set, SIGTERM);
			sigaddset(&set, SIGINT);
		}
		sig = sigwaitinfo(&set, NULL);
		if (sig == SIGHUP && !stopping &&
		    !__atomic_load_n(&stop_seen, __ATOMIC_ACQUIRE))
			hup_fn();
		else if ((sig == SIGTERM || sig == SIGINT) && stopping)
			again_fn(sig);
	}
	return NULL;
}

int
signals_start(void (*on_hup)(void), void (*on_stop_again)(int))
{
	int rc;

	hup_fn = on_hup;
	again_fn = on_stop_again;
	if ((rc = pthread_create(&hup_tid, NULL, hup_thread, NULL)) != 0) {
		errno = rc;
		msg_warn("pthread_create (signal thread)");
		return -1;
	}
	pthread_detach(hup_tid);
	__atomic_store_n(&hup_started, 1, __ATOMIC_RELEASE);
	return 0;
}
