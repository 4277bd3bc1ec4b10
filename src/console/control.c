/*
 * The control socket and its loop thread (control.h): accepts a
 * connection, reads one command line, answers through ctlcmd.c and
 * closes.  `reload` runs on a worker thread of its own and its answer is
 * written when it is done; the loop goes on answering meanwhile.
 *
 * A connection has CONTROL_DEADLINE_S from accept to close, however it
 * trickles its bytes (the wait for a reload does not count; its answer
 * gets CONTROL_DEADLINE_S of its own).  The listener (listener.h) caps how
 * many are open at once.
 *
 * Who may do what: anyone the socket's mode and group let in may run the
 * commands that only read (stats, version, engines, pools, cache, help);
 * those that change the daemon's state (reload, stats reset, cache flush:
 * ctl_needs_admin) need a peer, as SO_PEERCRED and SO_PEERGROUPS tell at
 * connect time, that is root, the daemon's own user, or in admin_group.
 * A reload asked here waits for the one running and for reload_interval
 * after the last.
 *
 * Everything here but the reload worker runs on the loop thread, except
 * control_open/control_stop (main thread, before the loop starts and after
 * it has been joined).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "control.h"
#include "ctlcmd.h"
#include "listener.h"
#include "metrics.h"
#include "runtime.h"
#include "safefs.h"
#include "util.h"

#define CONTROL_DEADLINE_S	5	/* from accept to close, in all */
#define CONTROL_PEER_GROUPS	64	/* SO_PEERGROUPS read at first try */

struct reload_job;

struct conn {
	struct bufferevent *bev;
	struct event *deadline;		/* closes it, whatever it sends */
	struct conn *prev, *next;
	struct reload_job *job;		/* its reload, still running */
	int	 answered;
	int	 admin;			/* may change state (peer_is_admin) */
	uid_t	 uid;			/* the peer's, at connect */
};

struct reload_job {
	pthread_t thread;
	struct event *done;		/* activated by the worker */
	struct conn *conn;		/* NULL once the client has gone */
	struct ctl_request req;		/* points into line */
	char	 line[CONTROL_LINE_MAX + 1];
	int	 rc;
	char	 err[2048];
};

static struct {
	struct event_base *base;
	struct listener *lev;
	struct metrics *metrics;
	char	*path;			/* the socket, removed at exit */
	pthread_t thread;
	int	 running;
	int	 have_admin_gid;	/* admin_group set */
	gid_t	 admin_gid;
	char	*admin_group;		/* its name, for messages */
	long long reload_interval_ms;	/* between console reloads */
	struct conn *conns;		/* loop thread */
	struct reload_job *job;		/* loop thread; one at a time */
	long long reload_ended_ms;	/* loop thread; monotonic, 0: none */
	struct ratelog denied_log;	/* loop thread */
} ctl;

static long long
ctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- connections ------------------------------------------------------ */

static void
conn_free(struct conn *c)
{
	if (c->job != NULL)
		c->job->conn = NULL;	/* its answer goes nowhere */
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		ctl.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	listener_conn_done(ctl.lev);
	if (c->deadline != NULL)
		event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

static void
conn_arm_deadline(struct conn *c)
{
	struct timeval tv = { CONTROL_DEADLINE_S, 0 };

	evtimer_add(c->deadline, &tv);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	listener_timed_out(ctl.lev);
	conn_free(arg);
}

static void on_event(struct bufferevent *, short, void *);

static void
on_drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(arg);
}

/* Writes the status line and body, then closes once they are sent. */
static void
conn_answer(struct conn *c, enum ctl_status st, struct evbuffer *body)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->answered = 1;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_add_printf(out, "%s", ctl_status_line(st));
	evbuffer_add_buffer(out, body);
	bufferevent_setcb(c->bev, NULL, on_drained, on_event, c);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
conn_fail(struct conn *c, int json, const char *msg)
{
	struct evbuffer *body = evbuffer_new();

	ctl_error(json, body, "%s", msg);
	conn_answer(c, CTL_USAGE, body);
	evbuffer_free(body);
}

static void conn_refuse(struct conn *, enum ctl_status, int json,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Answers st with a message made from fmt. */
static void
conn_refuse(struct conn *c, enum ctl_status st, int json, const char *fmt,
    ...)
{
	struct evbuffer *body = evbuffer_new();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_error(json, body, "%s", msg);
	conn_answer(c, st, body);
	evbuffer_free(body);
}

/* ---- reload ------------------------------------------------------------ */

static void *
reload_worker(void *arg)
{
	struct reload_job *job = arg;

	job->rc = runtime_reload("scanmilterctl", job->err, sizeof(job->err));
	event_active(job->done, EV_READ, 0);
	return NULL;
}

static void
reload_job_free(struct reload_job *job)
{
	pthread_join(job->thread, NULL);
	event_free(job->done);
	free(job);
}

/* On the loop thread once the worker is done. */
static void
on_reload_done(evutil_socket_t fd, short what, void *arg)
{
	struct reload_job *job = arg;
	struct evbuffer *body;
	enum ctl_status st;

	(void)fd;
	(void)what;
	ctl.job = NULL;
	ctl.reload_ended_ms = ctl_now_ms();
	if (job->conn != NULL) {
		job->conn->job = NULL;
		conn_arm_deadline(job->conn);
		body = evbuffer_new();
		st = ctl_reload_reply(&job->req, job->rc, job->err, body);
		conn_answer(job->conn, st, body);
		evbuffer_free(body);
	}
	reload_job_free(job);
}

static void
start_reload(struct conn *c, const char *line, int json)
{
	struct reload_job *job;
	char err[256];
	long long since = ctl_now_ms() - ctl.reload_ended_ms;

	if (ctl.job != NULL) {
		conn_refuse(c, CTL_FAILED, json, "reload refused: a reload "
		    "asked by scanmilterctl is already running");
		return;
	}
	if (ctl.reload_ended_ms != 0 && since < ctl.reload_interval_ms) {
		conn_refuse(c, CTL_FAILED, json, "reload refused: the last one "
		    "ended %lld.%01lld s ago, at most one every %lld.%01lld s "
		    "(control { reload_interval }); try again in %lld s",
		    since / 1000, since % 1000 / 100,
		    ctl.reload_interval_ms / 1000,
		    ctl.reload_interval_ms % 1000 / 100,
		    (ctl.reload_interval_ms - since + 999) / 1000);
		return;
	}
	job = xcalloc(1, sizeof(*job));
	sm_strlcpy(job->line, line, sizeof(job->line));
	if (ctl_parse(job->line, &job->req, err, sizeof(err)) < 0 ||
	    job->req.argc != 1) {
		free(job);
		conn_fail(c, json, "usage: reload");
		return;
	}
	job->conn = c;
	job->done = event_new(ctl.base, -1, 0, on_reload_done, job);
	if (job->done == NULL ||
	    pthread_create(&job->thread, NULL, reload_worker, job) != 0) {
		if (job->done != NULL)
			event_free(job->done);
		free(job);
		conn_fail(c, json, "cannot start the reload thread");
		return;
	}
	c->job = job;
	ctl.job = job;
	bufferevent_disable(c->bev, EV_READ);
	evtimer_del(c->deadline);	/* the reload takes what it takes */
}

/* ---- commands ----------------------------------------------------------- */

static void
run_line(struct conn *c, char *line)
{
	struct ctl_request req;
	struct evbuffer *body;
	enum ctl_status st;
	char copy[CONTROL_LINE_MAX + 1], err[256];

	sm_strlcpy(copy, line, sizeof(copy));
	msg_debug("control: %s", line);
	if (ctl_parse(line, &req, err, sizeof(err)) < 0) {
		conn_fail(c, req.json, err);
		return;
	}
	if (ctl_needs_admin(&req) && !c->admin) {
		ratelog_warn(&ctl.denied_log, "control: refused '%s%s%s' to "
		    "uid %lu (not root, not this daemon's user, not in "
		    "admin_group)", req.argv[0], req.argc > 1 ? " " : "",
		    req.argc > 1 ? req.argv[1] : "", (unsigned long)c->uid);
		conn_refuse(c, CTL_DENIED, req.json, "permission denied: '%s%s"
		    "%s' changes the daemon's state; it needs root, the "
		    "daemon's user%s%s%s (you are uid %lu)", req.argv[0],
		    req.argc > 1 ? " " : "", req.argc > 1 ? req.argv[1] : "",
		    ctl.admin_group ? " or a member of admin_group " : " or "
		    "a member of control { admin_group }",
		    ctl.admin_group ? ctl.admin_group : "",
		    ctl.admin_group ? "" : " (not set)",
		    (unsigned long)c->uid);
		return;
	}
	if (ctl_is_reload(&req)) {
		start_reload(c, copy, req.json);
		return;
	}
	body = evbuffer_new();
	st = ctl_run(&req, body);
	conn_answer(c, st, body);
	evbuffer_free(body);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	if (c->answered || c->job != NULL)
		return;
	if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF)) == NULL) {
		if (evbuffer_get_length(in) > CONTROL_LINE_MAX)
			conn_fail(c, 0, "command line too long");
		return;
	}
	if (len > CONTROL_LINE_MAX)
		conn_fail(c, 0, "command line too long");
	else
		run_line(c, line);
	free(line);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	/* a client that closed its side after a line without a newline */
	if ((what & BEV_EVENT_EOF) && !c->answered && c->job == NULL &&
	    evbuffer_get_length(in) > 0 &&
	    evbuffer_get_length(in) <= CONTROL_LINE_MAX) {
		char line[CONTROL_LINE_MAX + 1];
		size_t n = evbuffer_remove(in, line, CONTROL_LINE_MAX);

		line[n] = '\0';
		run_line(c, line);
		return;
	}
	conn_free(c);
}

/*
 * Whether the peer on fd may change state: root, this daemon's user, or
 * in admin_group (as its group or one of its supplementary groups when it
 * connected).  *uid is the peer's, for messages.
 */
static int
peer_is_admin(evutil_socket_t fd, uid_t *uid)
{
	struct ucred cr;
	gid_t groups[CONTROL_PEER_GROUPS], *g = groups;
	socklen_t len = sizeof(cr);
	int admin = 0;

	*uid = (uid_t)-1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		msg_warn("control: SO_PEERCRED");
		return 0;
	}
	*uid = cr.uid;
	if (cr.uid == 0 || cr.uid == geteuid())
		return 1;
	if (!ctl.have_admin_gid)
		return 0;
	if (cr.gid == ctl.admin_gid)
		return 1;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
		if (errno != ERANGE || len == 0) {
			msg_warn("control: SO_PEERGROUPS");
			goto out;
		}
		g = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) < 0) {
			msg_warn("control: SO_PEERGROUPS");
			goto out;
		}
	}
	for (size_t i = 0; i < len / sizeof(gid_t) && !admin; i++)
		admin = g[i] == ctl.admin_gid;
out:
	if (g != groups)
		free(g);
	return admin;
}

/* A connection the listener took (and counted). */
static void
on_accept(evutil_socket_t fd, void *arg)
{
	struct conn *c;

	(void)arg;
	c = xcalloc(1, sizeof(*c));
	if (listener_conn_setup(ctl.lev, ctl.base, fd, on_deadline, c,
	    &c->bev, &c->deadline) < 0) {
		free(c);
		return;
	}
	c->admin = peer_is_admin(fd, &c->uid);
	c->next = ctl.conns;
	if (ctl.conns != NULL)
		ctl.conns->prev = c;
	ctl.conns = c;
	conn_arm_deadline(c);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONTROL_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ);
}

/* ---- the socket --------------------------------------------------------- */

/* Removes a stale socket; -1 if path is something else or a live one. */
static int
clear_stale(const char *path, const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, live;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		msg_err("control socket %s exists and is not a socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		msg_err("control socket %s is in use by a running scanmilter",
		    path);
		return -1;
	}
	if (unlink(path) < 0) {
		msg_warn("control socket %s: cannot remove the stale one",
		    path);
		return -1;
	}
	return 0;
}

static int
open_socket(const struct sm_conf *conf, const char *path)
{
	struct sockaddr_un sun;
	struct group *gr = NULL;
	char err[1024], base[256];
	int fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		msg_err("control socket path too long: %s", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (conf->control_group != NULL &&
	    (gr = getgrnam(conf->control_group)) == NULL) {
		msg_err("control { socket_group }: %s: no such group",
		    conf->control_group);
		return -1;
	}
	/* only in a directory root trusts, by descriptor (safefs.h) */
	if ((fd = safefs_open_parent(path, base, sizeof(base), err,
	    sizeof(err))) < 0) {
		if (errno != ENOENT)
			msg_err("control socket %s: %s", path, err);
		return -1;
	}
	close(fd);
	fd = -1;
	if (clear_stale(path, &sun) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		msg_warn("control socket %s (is the directory there and "
		    "writable?)", path);
		goto fail;
	}
	/* no client can connect before listen(): set the rights first */
	ctl.path = xstrdup(path);
	if (safefs_socket_perms(path, (mode_t)conf->control_mode,
	    gr != NULL ? gr->gr_gid : (gid_t)-1, err, sizeof(err)) < 0) {
		msg_err("control %s", err);
		goto fail;
	}
	if (listen(fd, 16) < 0) {
		msg_warn("control socket %s: listen", path);
		goto fail;
	}
	return fd;
fail:
	if (fd >= 0)
		close(fd);
	return -1;
}

int
control_open(const struct sm_conf *conf)
{
	const char *spec = conf->control_listen;
	const char *path;
	char err[512];
	int fd;

	if (evthread_use_pthreads() < 0 ||
	    (ctl.base = event_base_new()) == NULL) {
		msg_err("control: cannot create the event loop");
		return -1;
	}
	if (spec != NULL && *spec != '\0') {
		path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 :
		    strncmp(spec, "local:", 6) == 0 ? spec + 6 : NULL;
		if (path == NULL || *path != '/') {
			msg_err("control { listen = \"%s\" }: expected "
			    "unix:/absolute/path", spec);
			return -1;
		}
		if (conf->control_admin_group != NULL) {
			struct group *gr = getgrnam(conf->control_admin_group);

			if (gr == NULL) {
				msg_err("control { admin_group }: %s: no such "
				    "group", conf->control_admin_group);
				return -1;
			}
			ctl.admin_gid = gr->gr_gid;
			ctl.have_admin_gid = 1;
			ctl.admin_group = xstrdup(conf->control_admin_group);
		}
		ctl.reload_interval_ms = conf->control_reload_interval;
		if ((fd = open_socket(conf, path)) < 0) {
			struct stat st;
			char *dir = strdup(path), *slash;

			/* its directory missing (not made by systemd or
			 * tmpfiles): run without a console, never stop mail */
			slash = dir ? strrchr(dir, '/') : NULL;
			if (slash != NULL && slash != dir)
				*slash = '\0';
			if (dir != NULL && stat(dir, &st) < 0 &&
			    errno == ENOENT) {
				free(dir);
				return CONTROL_UNAVAILABLE;
			}
			free(dir);
			return -1;
		}
		ctl.lev = listener_new(ctl.base, fd, "control",
		    (int)conf->control_max_conns, on_accept, NULL);
		if (ctl.lev == NULL)
			return -1;
		msg_info("control socket %s (mode %04llo%s%s)", path,
		    conf->control_mode, conf->control_group ? ", group " : "",
		    conf->control_group ? conf->control_group : "");
	}
	if (conf->metrics_listen != NULL && *conf->metrics_listen != '\0') {
		ctl.metrics = metrics_open(ctl.base, conf->metrics_listen,
		    &conf->metrics_allow_nets, (int)conf->metrics_max_conns,
		    err, sizeof(err));
		if (ctl.metrics == NULL) {
			msg_err("metrics { listen = \"%s\" }: %s",
			    conf->metrics_listen, err);
			return -1;
		}
		msg_info("metrics on http://%s/metrics%s%s",
		    conf->metrics_listen, conf->metrics_allow ?
		    " for " : "", conf->metrics_allow ?
		    conf->metrics_allow : "");
	}
	return 0;
}

static void *
loop(void *arg)
{
	(void)arg;
	event_base_dispatch(ctl.base);
	return NULL;
}

int
control_start(void)
{
	if (ctl.base == NULL || (ctl.lev == NULL && ctl.metrics == NULL))
		return 0;
	if (pthread_create(&ctl.thread, NULL, loop, NULL) != 0) {
		msg_err("control: cannot start the loop thread");
		return -1;
	}
	ctl.running = 1;
	return 0;
}

void
control_stop(void)
{
	if (ctl.base == NULL)
		return;
	if (ctl.running) {
		event_base_loopbreak(ctl.base);
		pthread_join(ctl.thread, NULL);
		ctl.running = 0;
	}
	if (ctl.job != NULL) {		/* its worker may still be running */
		reload_job_free(ctl.job);
		ctl.job = NULL;
	}
	while (ctl.conns != NULL)
		conn_free(ctl.conns);
	metrics_close(ctl.metrics);
	listener_free(ctl.lev);
	event_base_free(ctl.base);
	if (ctl.path != NULL)
		unlink(ctl.path);	/* may fail once privileges are gone */
	free(ctl.path);
	free(ctl.admin_group);
	memset(&ctl, 0, sizeof(ctl));
}
