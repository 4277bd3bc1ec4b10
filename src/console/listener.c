/*
 * The console's guarded listening sockets (listener.h): a cap on open
 * connections, a pause instead of a busy loop when accept() runs out of
 * descriptors, a reserved descriptor to shed the backlog with, and log
 * lines that cannot repeat at a client's pace.
 *
 * libevent's evconnlistener calls accept() again as soon as the socket is
 * readable; when accept() fails with EMFILE the pending connection stays
 * in the backlog, the socket stays readable, and without an error callback
 * it retries (and logs) in a tight loop.  Here the error callback disables
 * the listener and a timer enables it again, LISTENER_PAUSE_MIN_MS later,
 * doubling up to LISTENER_PAUSE_MAX_MS while accept() keeps failing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cidr.h"
#include "listener.h"
#include "log.h"
#include "util.h"

#define LISTENER_PAUSE_MIN_MS	50
#define LISTENER_PAUSE_MAX_MS	1000
#define LISTENER_SHED_MAX	64	/* connections closed per pause */

struct listener {
	struct evconnlistener *lev;
	struct event *resume;		/* ends a pause */
	const char *name;
	int	 max_conns;
	int	 nconns;		/* handed out and not yet done */
	int	 reserve;		/* /dev/null, given up to shed; or -1 */
	int	 pause_ms;		/* next pause; 0: not failing */
	listener_accept_fn accept;
	void	*arg;
	listener_allow_fn allow;	/* NULL: everyone */
	void	*allow_arg;
	unsigned long full, shed, timed_out, denied;	/* since start */
	struct ratelog full_log, fd_log, timeout_log, deny_log;
};

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void
ratelog_warn(struct ratelog *rl, const char *fmt, ...)
{
	char msg[512];
	time_t now = mono_now();
	va_list ap;

	if (rl->last != 0 && now - rl->last < LISTENER_LOG_INTERVAL_S) {
		rl->held++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rl->held > 0)
		msg_warnx("%s (and %lu more like it in the last %lld s)", msg,
		    rl->held, (long long)(now - rl->last));
	else
		msg_warnx("%s", msg);
	rl->last = now;
	rl->held = 0;
}

static int
reserve_open(void)
{
	return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void
on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	char peer[INET6_ADDRSTRLEN];

	(void)lev;
	l->pause_ms = 0;
	if (l->reserve < 0)
		l->reserve = reserve_open();
	if (l->allow != NULL) {
		peer[0] = '\0';
		cidr_addr_text(sa, (size_t)salen, peer, sizeof(peer));
		if (!l->allow(peer, l->allow_arg)) {
			evutil_closesocket(fd);
			l->denied++;
			ratelog_warn(&l->deny_log, "%s: closed a connection "
			    "from %s, not in allow; %lu so far", l->name,
			    peer[0] ? peer : "an unnamed address", l->denied);
			return;
		}
	}
	if (l->nconns >= l->max_conns) {
		evutil_closesocket(fd);
		l->full++;
		ratelog_warn(&l->full_log, "%s: %d connections open (the "
		    "most allowed: max_connections), closed a new one; %lu "
		    "so far", l->name, l->nconns, l->full);
		return;
	}
	l->nconns++;
	l->accept(fd, l->arg);
}

/*
 * Out of descriptors (or kernel memory): the connections waiting in the
 * backlog are closed, with the reserve's slot, so that their clients hear
 * so at once instead of waiting; then the listener rests a while.
 */
static void
shed_backlog(struct listener *l, evutil_socket_t lfd)
{
	int fd, n = 0;

	if (l->reserve >= 0) {
		close(l->reserve);
		l->reserve = -1;
	}
	while (n < LISTENER_SHED_MAX &&
	    (fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		close(fd);
		n++;
	}
	l->shed += (unsigned long)n;
	l->reserve = reserve_open();	/* may fail: tried again later */
}

static void
on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv;

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		shed_backlog(l, evconnlistener_get_fd(lev));
		ratelog_warn(&l->fd_log, "%s: cannot accept a connection: "
		    "%s (%d open here); pausing, %lu waiting connections "
		    "closed so far", l->name, strerror(err), l->nconns,
		    l->shed);
	} else {
		ratelog_warn(&l->fd_log, "%s: cannot accept a connection: "
		    "%s; pausing", l->name, strerror(err));
	}
	l->pause_ms = l->pause_ms == 0 ? LISTENER_PAUSE_MIN_MS :
	    l->pause_ms * 2 > LISTENER_PAUSE_MAX_MS ? LISTENER_PAUSE_MAX_MS :
	    l->pause_ms * 2;
	tv.tv_sec = l->pause_ms / 1000;
	tv.tv_usec = (l->pause_ms % 1000) * 1000;
	evconnlistener_disable(lev);
	evtimer_add(l->resume, &tv);
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	if (l->reserve < 0)
		l->reserve = reserve_open();
	evconnlistener_enable(l->lev);
}

struct listener *
listener_new(struct event_base *base, evutil_socket_t fd, const char *name,
    int max_conns, listener_accept_fn accept_fn, void *arg)
{
	struct listener *l = xcalloc(1, sizeof(*l));

	l->name = name;
	l->max_conns = max_conns > 0 ? max_conns : 1;
	l->accept = accept_fn;
	l->arg = arg;
	l->reserve = reserve_open();
	if ((l->resume = evtimer_new(base, on_resume, l)) == NULL)
		goto fail;
	l->lev = evconnlistener_new(base, on_accept, l, LEV_OPT_CLOSE_ON_FREE |
	    LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->lev == NULL)
		goto fail;
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	return l;
fail:
	msg_err("%s: cannot set up the listener", name);
	evutil_closesocket(fd);
	listener_free(l);
	return NULL;
}

int
listener_conn_setup(struct listener *l, struct event_base *base,
    evutil_socket_t fd, event_callback_fn on_deadline, void *arg,
    struct bufferevent **bev, struct event **deadline)
{
	*bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	*deadline = evtimer_new(base, on_deadline, arg);
	if (*bev != NULL && *deadline != NULL)
		return 0;
	if (*bev != NULL)
		bufferevent_free(*bev);
	else
		evutil_closesocket(fd);
	if (*deadline != NULL)
		event_free(*deadline);
	*bev = NULL;
	*deadline = NULL;
	listener_conn_done(l);
	return -1;
}

void
listener_conn_done(struct listener *l)
{
	if (l->nconns > 0)
		l->nconns--;
}

void
listener_timed_out(struct listener *l)
{
	l->timed_out++;
	ratelog_warn(&l->timeout_log, "%s: closed a client that did not "
	    "finish in time; %lu so far", l->name, l->timed_out);
}

void
listener_set_allow(struct listener *l, listener_allow_fn fn, void *arg)
{
	l->allow = fn;
	l->allow_arg = arg;
}

unsigned long
listener_denied(const struct listener *l)
{
	return l->denied;
}

int
listener_conns(const struct listener *l)
{
	return l->nconns;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	if (l->resume != NULL)
		event_free(l->resume);
	if (l->reserve >= 0)
		close(l->reserve);
	free(l);
}
