/*
 * Engine registry: the built-in engines (listed in engines_builtin.c,
 * generated from configure's choice of engines) plus any added at run time
 * (tests) and the plug-ins a generation loaded.  Nothing here loads code.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

#define REGISTRY_MAX 32

#ifndef SM_ENGINE_DIR
#define SM_ENGINE_DIR "/usr/local/lib/scanmilter/engines"
#endif

extern const struct sm_engine_ops *const sm_builtin_engines[];

static const struct sm_engine_ops *added[REGISTRY_MAX + 1];
static int added_module[REGISTRY_MAX];	/* a plug-in: not found by name */
static size_t nadded;
static const struct sm_engine_ops *all[REGISTRY_MAX * 2 + 1];

int
registry_check(const struct sm_engine_ops *ops, const char *where, char *err,
    size_t errlen)
{
	/* older versions whose structures are a prefix of ours still load */
	if (ops->abi_version < SM_ENGINE_ABI_OLDEST ||
	    ops->abi_version > SM_ENGINE_ABI_VERSION) {
		snprintf(err, errlen, "%s: engine ABI version %u, scanmilter "
		    "speaks %u (and loads %u to %u)", where, ops->abi_version,
		    SM_ENGINE_ABI_VERSION, SM_ENGINE_ABI_OLDEST,
		    SM_ENGINE_ABI_VERSION);
		return -1;
	}
	if (ops->ops_size != sizeof(struct sm_engine_ops)) {
		snprintf(err, errlen, "%s: engine table is %u bytes, expected "
		    "%zu", where, ops->ops_size, sizeof(struct sm_engine_ops));
		return -1;
	}
	if (ops->name == NULL || ops->create == NULL || ops->scan == NULL ||
	    ops->destroy == NULL || ops->version == NULL ||
	    ops->options == NULL) {
		snprintf(err, errlen, "%s: engine table lacks a name, options "
		    "or a create/scan/version/destroy function", where);
		return -1;
	}
	return 0;
}

static int
add(const struct sm_engine_ops *ops, int module, const char *where,
    char *err, size_t errlen)
{
	if (registry_check(ops, where, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < nadded && module; i++)
		if (strcmp(added[i]->name, ops->name) == 0) {
			snprintf(err, errlen, "%s: an engine named '%s' is "
			    "already loaded from another file", where,
			    ops->name);
			return -1;
		}
	if (registry_find(ops->name) != NULL) {
		snprintf(err, errlen, "%s: an engine named '%s' is already "
		    "registered", where, ops->name);
		return -1;
	}
	if (nadded >= REGISTRY_MAX) {
		snprintf(err, errlen, "%s: too many engines", where);
		return -1;
	}
	added_module[nadded] = module;
	added[nadded++] = ops;
	return 0;
}

int
registry_add(const struct sm_engine_ops *ops, const char *where, char *err,
    size_t errlen)
{
	return add(ops, 0, where, err, errlen);
}

int
registry_add_module(const struct sm_engine_ops *ops, const char *where,
    char *err, size_t errlen)
{
	return add(ops, 1, where, err, errlen);
}

const struct sm_engine_ops *const *
registry_all(void)
{
	size_t n = 0;

	for (size_t i = 0; sm_builtin_engines[i] != NULL; i++)
		all[n++] = sm_builtin_engines[i];
	for (size_t i = 0; i < nadded; i++)
		all[n++] = added[i];
	all[n] = NULL;
	return all;
}

const struct sm_engine_ops *
registry_find(const char *name)
{
	for (size_t i = 0; sm_builtin_engines[i] != NULL; i++)
		if (strcmp(sm_builtin_engines[i]->name, name) == 0)
			return sm_builtin_engines[i];
	for (size_t i = 0; i < nadded; i++)
		if (!added_module[i] && strcmp(added[i]->name, name) == 0)
			return added[i];
	return NULL;
}

const char *
registry_engine_dir(void)
{
	return SM_ENGINE_DIR;
}
