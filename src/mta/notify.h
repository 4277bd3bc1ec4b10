/*
 * systemd's readiness protocol (sd_notify), written out: one datagram to
 * the unix socket named by $NOTIFY_SOCKET.  Does nothing without it.
 */
#ifndef SM_NOTIFY_H
#define SM_NOTIFY_H

void	notify_ready(void);		/* READY=1 */
void	notify_reloading(void);		/* RELOADING=1 + MONOTONIC_USEC */
void	notify_stopping(void);		/* STOPPING=1 */
void	notify_status(const char *text);	/* STATUS=text */

struct sm_conf;
/* Around starting c's engines: logs "loading signatures of N
 * engines...", and tells systemd EXTEND_TIMEOUT_USEC with a STATUS=
 * every few seconds until notify_loading_end (from the same thread;
 * end without a begin does nothing). */
void	notify_loading_begin(const struct sm_conf *c);
void	notify_loading_end(void);

#endif
