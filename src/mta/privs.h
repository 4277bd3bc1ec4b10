/*
 * Leaving root: the one switch from root to the configured user and group,
 * for the daemon and for the commands that load a configuration.
 */
#ifndef SM_PRIVS_H
#define SM_PRIVS_H

#include <stdbool.h>

#include "conf.h"

/*
 * Switches to c's `user` and `group` for good.  Before it, as root, the
 * private directories under file_base are made and given to that user by
 * descriptor (conf_prepare_dirs); everything else in file_base happens
 * after it.  Started as that user already (systemd's User=), there is
 * nothing to do.  For a command (tool: -t, scan) a missing user or a start
 * as someone else only means the check runs as the caller.  Returns 0, or
 * -1 after logging why.
 */
int	privs_drop(const struct sm_conf *c, bool tool);

#endif
