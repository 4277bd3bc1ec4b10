/*
 * The control console: a unix socket served by a libevent loop on a
 * thread of its own, where scanmilterctl sends one command line and reads
 * one answer (ctlcmd.h says what the commands print).  The same loop
 * serves the Prometheus listener when metrics { listen } is set
 * (metrics.h).
 *
 * The loop never waits for scanning: it reads atomic counters and takes
 * the pools' and caches' own short locks; a reload runs on a thread of its
 * own and answers when done, while other commands go on being answered.
 *
 * Wire protocol (one connection, one command):
 *	client:	"[--json ]COMMAND [ARGS]\n"
 *	server:	"OK\n" | "ERR usage\n" | "ERR failed\n", then the body
 *		(text, or one JSON object with --json), then it closes.
 */
#ifndef SM_CONTROL_H
#define SM_CONTROL_H

#include "conf.h"

/* Longest command line accepted. */
#define CONTROL_LINE_MAX 1024

/*
 * Creates the control socket (unlinking a stale one, refusing one a live
 * daemon answers on), gives it control_mode and control_group, and binds
 * the metrics listener if configured.  Call before the privilege drop.
 * Returns 0, or -1 after logging why.
 */
int	control_open(const struct sm_conf *);

/* Starts the loop thread (after runtime_init).  0, or -1 logged. */
int	control_start(void);

/* Stops the loop, closes every connection, removes the socket.  Safe to
 * call when nothing was opened. */
void	control_stop(void);

/* control_open's answer when the socket's directory does not exist: the
 * daemon runs without a console rather than not at all. */
#define CONTROL_UNAVAILABLE (-2)

#endif
