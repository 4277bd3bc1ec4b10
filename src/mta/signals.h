/*
 * Signals: libmilter stops the milter on SIGHUP, so the
 * daemon keeps SIGHUP away from libmilter's signal thread and waits for it
 * on a thread of its own.
 */
#ifndef SM_SIGNALS_H
#define SM_SIGNALS_H

/* Blocks HUP, TERM and INT in the calling thread (call before any thread
 * is created, so every thread inherits the mask); ignores PIPE, USR1 and
 * USR2. */
void	signals_block(void);

/*
 * Starts the thread that takes SIGHUP and calls on_hup() for each; once
 * libmilter has taken a SIGTERM or SIGINT (and is stopping), the same
 * thread calls on_stop_again(sig) for the next one.
 */
int	signals_start(void (*on_hup)(void), void (*on_stop_again)(int));

#endif
