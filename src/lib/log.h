/*
 * Logging: one call per severity, with and without errno, printf-checked.
 * msg_fatal() exits, msg_panic() aborts for broken invariants.  Messages go
 * to stderr until log_open() switches them to syslog.
 */
#ifndef SM_LOG_H
#define SM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#define SM_PRINTF(a, b) __attribute__((format(printf, a, b)))

enum log_target { LOG_TO_STDERR, LOG_TO_SYSLOG };

void	log_open(enum log_target, int facility, int min_priority);
void	log_set_priority(int min_priority);
bool	log_wants(int priority);	/* would a line of it be written? */
void	log_vmsg(int priority, const char *fmt, va_list) SM_PRINTF(2, 0);
void	log_msg(int priority, const char *fmt, ...) SM_PRINTF(2, 3);

void	msg_debug(const char *fmt, ...) SM_PRINTF(1, 2);
void	msg_info(const char *fmt, ...) SM_PRINTF(1, 2);
void	msg_warnx(const char *fmt, ...) SM_PRINTF(1, 2);
void	msg_warn(const char *fmt, ...) SM_PRINTF(1, 2);	/* appends errno */
void	msg_err(const char *fmt, ...) SM_PRINTF(1, 2);
_Noreturn void msg_fatalx(const char *fmt, ...) SM_PRINTF(1, 2);
_Noreturn void msg_fatal(const char *fmt, ...) SM_PRINTF(1, 2);	/* errno */
_Noreturn void msg_panic(const char *fmt, ...) SM_PRINTF(1, 2);

#include <stddef.h>
/* A field of a "key=value, key=value" line: s itself, or, when it holds a
 * comma, a quote or a backslash, s in double quotes with \" and \\ in
 * buf (cut to len).  The result lives as long as s and buf. */
const char *log_quote(const char *s, char *buf, size_t len);

#endif
