/*
 * The running generation (a configuration and what runs for it), swapped
 * whole on reload.
 *
 * Every message takes a reference to the generation that is current when
 * it starts (runtime_acquire) and keeps it to the end, so messages in
 * flight finish with the config and engines they started with while new
 * ones get the new.  The last reference to a replaced generation frees it
 * (engines and pools included) on a thread of its own.
 */
#ifndef SM_RUNTIME_H
#define SM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "generation.h"

/* Takes ownership of g, whose configuration was read from path; listen is
 * the socket actually in use (-p may override the config). */
void	runtime_init(struct generation *g, const char *path,
	    const char *listen);

/* The current generation with a reference for the caller, or NULL once
 * the daemon is stopping (or a blocking reload holds none). */
struct generation *runtime_acquire(void);
void	runtime_release(struct generation *);	/* takes NULL */

/*
 * Reads the config file again and, if it loads and its engines start,
 * makes it current.  A bad one leaves the running configuration in place.
 * Serialised; 0, or -1 with the reason in err (also logged).
 */
int	runtime_reload(const char *why, char *err, size_t errlen);

/*
 * The same without reading the file: the running configuration, its
 * engines started anew (so they load their databases again).  What a
 * signature change triggers: a half-edited config file never goes live
 * behind the admin's back.
 */
int	runtime_reload_signatures(const char *why, char *err, size_t errlen);

/* True while a blocking reload holds no configuration (mail waits). */
bool	runtime_reloading(void);

/* The tempfailure code mail gets meanwhile: the first instance's of the
 * configuration being loaded. */
long long runtime_reloading_code(void);

/* Drops the current generation: new messages are refused from now on. */
void	runtime_stop(void);

/* Waits up to ms for every generation to be freed (messages in flight
 * done); 0 if so, -1 if some are still in use. */
int	runtime_wait(long long ms);

struct runtime_status {
	unsigned reloads;		/* successful */
	unsigned failures;
	time_t	 last_time;		/* of the last attempt, 0: none */
	int	 last_ok;
	char	 last_error[1024];
	int	 live_configs;		/* current + replaced still in use */
};

void	runtime_get_status(struct runtime_status *);

#endif
