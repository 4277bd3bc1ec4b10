/*
 * A listening socket on the console's libevent loop that a local client
 * cannot use to exhaust the daemon: it holds at most max_conns accepted
 * connections at a time (past that a new one is closed at once), it never
 * spins when the process is out of descriptors (the accept error pauses
 * the listener for a moment, and a reserved descriptor is given up to
 * accept and close what waits in the backlog), and what it refuses is
 * logged in at most one line per interval; a client outside its allow
 * list (listener_set_allow) is closed at accept.  The control socket
 * (control.c) and the metrics port (metrics.c) are both served through
 * it; the per-connection deadline is theirs (an absolute timer each, never
 * one that a trickled byte restarts).
 *
 * Every function runs on the loop thread, except listener_new and
 * listener_free (before the loop starts and after it has stopped).
 */
#ifndef SM_LISTENER_H
#define SM_LISTENER_H

#include <time.h>

#include <event2/event.h>
#include <event2/util.h>

#include "log.h"

struct bufferevent;
struct event_base;
struct listener;

/*
 * Called with an accepted non-blocking, close-on-exec socket, which it
 * now owns.  Whatever happens to it, the callee calls listener_conn_done()
 * once for it when it is closed (at once if it could not take it).
 */
typedef void (*listener_accept_fn)(evutil_socket_t fd, void *arg);

/*
 * Serves fd, a bound and listening socket (owned from now on, closed by
 * listener_free, also on failure).  name says which in log lines
 * ("control", "metrics").  Returns NULL after logging why.
 */
struct listener *listener_new(struct event_base *, evutil_socket_t fd,
		    const char *name, int max_conns, listener_accept_fn,
		    void *arg);

/*
 * The buffered connection and its deadline timer for fd, a socket it
 * handed out, in *bev and *deadline (on_deadline(arg) when it fires, not
 * armed yet).  On failure everything is released -- fd closed, the
 * connection counted done -- and -1 returned.
 */
int	listener_conn_setup(struct listener *, struct event_base *,
		    evutil_socket_t fd, event_callback_fn on_deadline, void *arg,
		    struct bufferevent **bev, struct event **deadline);

/* One connection it handed out is closed. */
void	listener_conn_done(struct listener *);

/* A connection was closed at its deadline: counted, logged now and then. */
void	listener_timed_out(struct listener *);

/* Connections open now. */
int	listener_conns(const struct listener *);

/*
 * Who may connect: allow(addr, arg) gets the client's address in text form
 * ("10.0.0.30", "::ffff:10.0.0.30", "" for a family it cannot name) and
 * returns 1 to serve it.  A client it refuses is closed at accept, before
 * any byte is read, counted, and logged at most once per interval.
 * Without one every client is served.
 */
typedef int (*listener_allow_fn)(const char *addr, void *arg);
void	listener_set_allow(struct listener *, listener_allow_fn, void *arg);

/* Clients the allow function refused since start. */
unsigned long listener_denied(const struct listener *);

/* Closes the socket; the connections handed out are the caller's.
 * Takes NULL. */
void	listener_free(struct listener *);

/*
 * A log line that may repeat at a client's pace: ratelog_warn() logs it
 * when LISTENER_LOG_INTERVAL_S have passed since the last one it logged
 * (saying how many it held back meanwhile), and only counts it otherwise.
 */
#define LISTENER_LOG_INTERVAL_S 10

struct ratelog {
	time_t	 last;			/* monotonic seconds, 0: never */
	unsigned long held;		/* not logged since last */
};

void	ratelog_warn(struct ratelog *, const char *fmt, ...) SM_PRINTF(2, 3);

#endif
