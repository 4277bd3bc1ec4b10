/*
 * Prometheus metrics over HTTP (text exposition format 0.0.4), served on
 * the control loop: GET /metrics, nothing else; one request per
 * connection, which has five seconds in all.  It binds beyond loopback
 * only with an allow list, and closes any client outside that list at
 * accept (the numbers are not secret, but an HTTP server open to the
 * outside is one more thing to harden).
 */
#ifndef SM_METRICS_H
#define SM_METRICS_H

#include <stddef.h>

struct cidr_list;
struct event_base;
struct evbuffer;
struct metrics;

/*
 * Binds listen ("127.0.0.1:9357", "[::1]:9357", "localhost:9357", or
 * beyond loopback "0.0.0.0:9357" with an allow list) on base, serving at
 * most max_conns connections at once.  allow is the start's list (NULL or
 * empty: none; not kept): the current configuration's metrics_allow_nets
 * decides at each accept.  Returns the listener, or
 * NULL with a reason in err (not loopback without a list, bad syntax,
 * cannot bind).
 */
struct metrics *metrics_open(struct event_base *, const char *listen,
		    const struct cidr_list *allow, int max_conns, char *err,
		    size_t errlen);
void	metrics_close(struct metrics *);	/* takes NULL */

/* Appends every metric, as served on /metrics. */
void	metrics_render(struct evbuffer *);

#endif
