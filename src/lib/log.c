/*
 * Logging to stderr or syslog.  Thread-safe: syslog() is, each stderr line
 * is written with one fprintf under stdio's stream lock, and the level may
 * change (on reload) while other threads log.
 *
 * When stderr is the journal (systemd sets JOURNAL_STREAM to its
 * "DEVICE:INODE"), each line starts with "<N>", the syslog priority, so
 * `journalctl -p warning` and the forwarding to syslog see severities.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

/* Set by log_open() before any other thread runs; log_min changes later. */
static enum log_target log_target = LOG_TO_STDERR;
static int log_journal;			/* stderr is the journal */
static atomic_int log_min = LOG_INFO;

/* 1 if JOURNAL_STREAM names the file stderr is. */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_open(enum log_target target, int facility, int min_priority)
{
	log_target = target;
	atomic_store(&log_min, min_priority);
	log_journal = target == LOG_TO_STDERR && stderr_is_journal();
	if (target == LOG_TO_SYSLOG)
		openlog("scanmilter", LOG_PID | LOG_NDELAY, facility);
}

bool
log_wants(int priority)
{
	return priority <= atomic_load(&log_min);
}

void
log_set_priority(int min_priority)
{
	atomic_store(&log_min, min_priority);
}

void
log_vmsg(int priority, const char *fmt, va_list ap)
{
	static const char *const names[] = {
		"emerg", "alert", "crit", "error", "warning", "notice", "info",
		"debug"
	};
	char line[4096];

	if (priority > atomic_load(&log_min))
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_target == LOG_TO_SYSLOG)
		syslog(priority, "%s", line);
	else if (log_journal)
		fprintf(stderr, "<%d>%s\n", priority & 7, line);
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

const char *
log_quote(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	if (strpbrk(s, ",\"\\") == NULL || len < 3)
		return s;
	buf[n++] = '"';
	for (; *s != '\0' && n + 3 < len; s++) {
		if (*s == '"' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}
