/*
 * The console's commands: each reads the running state (stats, the
 * current configuration's engines, pools and caches, reload status) and
 * writes its answer, as text or as one JSON object, into an evbuffer.
 * They run on the control loop's thread and never wait for scanning.
 */
#ifndef SM_CTLCMD_H
#define SM_CTLCMD_H

#include <stddef.h>

struct evbuffer;

/* What a command answered; the wire's status line. */
enum ctl_status { CTL_OK, CTL_USAGE, CTL_FAILED, CTL_DENIED };

#define CTL_MAX_ARGS 8

struct ctl_request {
	int	 json;			/* --json given */
	int	 argc;
	char	*argv[CTL_MAX_ARGS];	/* point into the line */
};

/*
 * Splits line (modified in place) into words.  Returns 0, or -1 with a
 * reason in err (empty line, too many words).
 */
int	ctl_parse(char *line, struct ctl_request *, char *err, size_t errlen);

/*
 * True if the request changes the daemon's state (reload, stats reset,
 * cache flush) rather than only reading it; the caller lets only root, the
 * daemon's user and admin_group run those.  A command added later counts
 * as changing state until listed here as one that only reads.
 */
int	ctl_needs_admin(const struct ctl_request *);

/* True if the request is "reload" (run by the caller off the loop). */
int	ctl_is_reload(const struct ctl_request *);

/* Runs every command but reload; writes the body to out. */
enum ctl_status ctl_run(const struct ctl_request *, struct evbuffer *out);

/* The answer to a reload that returned rc (0, or -1 with err). */
enum ctl_status ctl_reload_reply(const struct ctl_request *, int rc,
	    const char *err, struct evbuffer *out);

/* An error body in the request's format. */
void	ctl_error(int json, struct evbuffer *out, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* "OK\n", "ERR usage\n", "ERR failed\n" or "ERR denied\n". */
const char *ctl_status_line(enum ctl_status);

/* Writes s as a JSON string (quoted, escaped). */
void	ctl_json_str(struct evbuffer *, const char *s);

#endif
