/*
 * Prometheus metrics over HTTP (text exposition format 0.0.4), served on
 * the control loop: GET /metrics, nothing else; one request per
 * connection, which has five seconds in all.  Only
 * loopback addresses are accepted (the numbers are not secret, but an HTTP
 * server on the outside is one more thing to harden).
 */
#ifndef SM_METRICS_H
#define SM_METRICS_H

#include <stddef.h>

struct event_base;
struct evbuffer;
struct metrics;

/*
 * Binds listen ("127.0.0.1:9357", "[::1]:9357", "localhost:9357") on base,
 * serving at most max_conns connections at once.  Returns the listener, or
 * NULL with a reason in err (not loopback, bad syntax, cannot bind).
 */
struct metrics *metrics_open(struct event_base *, const char *listen,
		    int max_conns, char *err, size_t errlen);
void	metrics_close(struct metrics *);	/* takes NULL */

/* Appends every metric, as served on /metrics. */
void	metrics_render(struct evbuffer *);

#endif
