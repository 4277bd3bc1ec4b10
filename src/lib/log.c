/*
 * Logging to stderr or syslog.  Thread-safe: syslog() is, and each stderr
 * line is written with one fprintf under stdio's stream lock.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static enum log_target log_target = LOG_TO_STDERR;
static int log_min = LOG_INFO;

void
log_open(enum log_target target, int facility, int min_priority)
{
	log_target = target;
	log_min = min_priority;
	if (target == LOG_TO_SYSLOG)
		openlog("scanmilter", LOG_PID | LOG_NDELAY, facility);
}

void
log_set_priority(int min_priority)
{
	log_min = min_priority;
}

void
log_vmsg(int priority, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info",
		"debug"
	};
	char line[4096];

	if (priority > log_min)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_target == LOG_TO_SYSLOG)
		syslog(priority, "%s", line);
	else
		fprintf(stderr, "scanmilter: %s: %s\n",
		    names[priority & 7], line);
}

void
log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(priority, fmt, ap);
	va_end(ap);
}

/* Formats fmt and appends ": strerror(errno)". */
static void
log_errno(int priority, const char *fmt, va_list ap)
{
	char buf[4096];
	int saved = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_msg(priority, "%s: %s", buf, strerror(saved));
	errno = saved;
}

#define LOG_FN(fn, prio) \
void \
fn(const char *fmt, ...) \
{ \
	va_list ap; \
	va_start(ap, fmt); \
	log_vmsg(prio, fmt, ap); \
	va_end(ap); \
}
LOG_FN(msg_debug, LOG_DEBUG)
LOG_FN(msg_info, LOG_INFO)
LOG_FN(msg_warnx, LOG_WARNING)
LOG_FN(msg_err, LOG_ERR)

void
msg_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
msg_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

void
msg_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(EXIT_FAILURE);
}

void
msg_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_CRIT, fmt, ap);
	va_end(ap);
	abort();
}
