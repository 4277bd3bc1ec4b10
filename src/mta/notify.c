/*
 * sd_notify without libsystemd: the protocol is one datagram of
 * "KEY=value" lines to $NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace).  Failures are logged once and otherwise ignored.
 * While engines load (which takes a minute with ClamAV's full database)
 * a thread repeats EXTEND_TIMEOUT_USEC and STATUS= so systemd neither
 * times the start or reload out nor shows nothing.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "notify.h"

static void
notify_send(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	static int warned;
	socklen_t len;
	size_t plen;
	int fd;

	if (path == NULL || *path == '\0')
		return;
	plen = strlen(path);
	if ((*path != '/' && *path != '@') || plen >= sizeof(sun.sun_path)) {
		if (!warned++)
			msg_warnx("NOTIFY_SOCKET=%s: not a socket path", path);
		return;
	}
	memcpy(sun.sun_path, path, plen);
	if (*path == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len) < 0) {
		if (!warned++)
			msg_warn("notify %s", path);
	}
	if (fd >= 0)
		close(fd);
}

void
notify_ready(void)
{
	notify_send("READY=1\nSTATUS=serving");
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000ULL);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1");
}

void
notify_status(const char *text)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "STATUS=%s", text);
	notify_send(msg);
}

/* ---- a long load --------------------------------------------------------- */

#define NOTIFY_EXTEND_USEC	30000000ULL	/* granted by each message */
#define NOTIFY_EXTEND_EVERY_S	10		/* between messages */

/* load_mu guards loading; the keepalive thread waits on load_cv. */
static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t load_cv = PTHREAD_COND_INITIALIZER;
static bool loading;
static bool load_thread_on;		/* only the loading thread uses it */
static pthread_t load_thread;
static time_t load_start;
static char load_what[128];

static void
send_extend(void)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "EXTEND_TIMEOUT_USEC=%llu\nSTATUS=loading "
	    "%s (%llds)", NOTIFY_EXTEND_USEC, load_what,
	    (long long)(time(NULL) - load_start));
	notify_send(msg);
}

static void *
load_keepalive(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&load_mu);
	while (loading) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += NOTIFY_EXTEND_EVERY_S;
		while (loading && pthread_cond_timedwait(&load_cv, &load_mu,
		    &until) != ETIMEDOUT)
			;
		if (loading)
			send_extend();
	}
	pthread_mutex_unlock(&load_mu);
	return NULL;
}

void
notify_loading_begin(const struct sm_conf *c)
{
	size_t n = 0;

	for (size_t a = 0; a < c->navs; a++)
		for (size_t e = 0; e < c->avs[a]->nengines; e++)
			n += c->avs[a]->engines[e]->enabled != 0;
	snprintf(load_what, sizeof(load_what), "signatures of %zu engine%s",
	    n, n == 1 ? "" : "s");
	msg_info("loading %s...", load_what);
	load_start = time(NULL);
	send_extend();
	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	pthread_mutex_lock(&load_mu);
	loading = true;
	pthread_mutex_unlock(&load_mu);
	load_thread_on = pthread_create(&load_thread, NULL, load_keepalive,
	    NULL) == 0;
}

void
notify_loading_end(void)
{
	if (!load_thread_on)
		return;
	pthread_mutex_lock(&load_mu);
	loading = false;
	pthread_cond_signal(&load_cv);
	pthread_mutex_unlock(&load_mu);
	pthread_join(load_thread, NULL);
	load_thread_on = false;
}
