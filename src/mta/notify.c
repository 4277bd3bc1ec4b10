/*
 * sd_notify without libsystemd: the protocol is one datagram of
 * "KEY=value" lines to $NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace).  Failures are logged once and otherwise ignored.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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
