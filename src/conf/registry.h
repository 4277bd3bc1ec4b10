/*
 * The engine registry: engines found by name.  Nothing else in the daemon
 * knows which engines exist.
 */
#ifndef SM_REGISTRY_H
#define SM_REGISTRY_H

#include <stddef.h>

#include <scanmilter/engine.h>

/* Returns the engine whose block keyword is name, or NULL; a plug-in is
 * never found this way (the config names its file: sm_module). */
const struct sm_engine_ops *registry_find(const char *name);

/* NULL-terminated list of the registered engines. */
const struct sm_engine_ops *const *registry_all(void);

/* Adds an engine (tests) after checking it; 0 or -1 with err. */
int	registry_add(const struct sm_engine_ops *, const char *where,
	    char *err, size_t errlen);

/* Adds a plug-in the generation loaded (generation.c), listed by
 * registry_all() but not found by registry_find(); 0 or -1 with err. */
int	registry_add_module(const struct sm_engine_ops *, const char *where,
	    char *err, size_t errlen);

/* The directory searched for NAME.so when a block names an unknown engine. */
const char *registry_engine_dir(void);

/* Checks ABI version, table size and required members; 0 or -1 with err. */
int	registry_check(const struct sm_engine_ops *, const char *where,
	    char *err, size_t errlen);

#endif
