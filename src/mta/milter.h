/*
 * The MTA-facing side: libmilter registration, socket and main loop.
 */
#ifndef SM_MILTER_H
#define SM_MILTER_H

#include "conf.h"

/* Registers the callbacks and opens listen (mode from conf); 0 or -1. */
int	milter_open(const struct sm_conf *conf, const char *listen);

/* Serves connections until milter_stop() or a fatal error; 0 or -1. */
int	milter_run(void);

void	milter_stop(void);

/* After milter_run: removes the unix socket milter_open made, if it is
 * still that one (the MTA then finds no socket rather than a dead one). */
void	milter_close(void);

#endif
