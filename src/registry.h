/*
 * The engine registry: engines found by name.  Nothing else in the daemon
 * knows which engines exist.
 */
#ifndef SM_REGISTRY_H
#define SM_REGISTRY_H

#include <stddef.h>

#include <scanmilter/engine.h>

/* Returns the engine whose block keyword is name, or NULL. */
const struct sm_engine_ops *registry_find(const char *name);

/* NULL-terminated list of the registered engines. */
const struct sm_engine_ops *const *registry_all(void);

/* Adds an engine (tests, plug-ins) after checking it; 0 or -1 with err. */
int	registry_add(const struct sm_engine_ops *, const char *where,
	    char *err, size_t errlen);

/* Checks ABI version, table size and required members; 0 or -1 with err. */
int	registry_check(const struct sm_engine_ops *, const char *where,
	    char *err, size_t errlen);

#endif
