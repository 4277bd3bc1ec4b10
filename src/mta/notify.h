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

#endif
