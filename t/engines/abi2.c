/*
 * An engine as built for ABI 2 (before sm_object.parts): the daemon must
 * still load it and hand it objects it reads correctly
 * (t/integration/plugins.sh).  It finds "ABI2-STUFF" in what it is given.
 */
#define _GNU_SOURCE		/* memmem */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <scanmilter/engine.h>

struct abi2_conf {
	int	 unused;
};

static const struct sm_option abi2_options[] = { SM_OPTION_END };

static void *
abi2_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	(void)env;
	(void)err;
	(void)errlen;
	return (void *)conf;	/* no state of its own */
}

/* Reads only what ABI 2 had: data, len (objects in files are clean). */
static int
abi2_scan(void *handle, const struct sm_object *obj, struct sm_result *res)
{
	(void)handle;
	memset(res, 0, sizeof(*res));
	if (obj->data != NULL && memmem(obj->data, obj->len, "ABI2-STUFF",
	    10) != NULL) {
		res->verdict = SM_INFECTED;
		snprintf(res->name, sizeof(res->name), "Abi2.Test");
	}
	return 0;
}

static void
abi2_version(void *handle, struct sm_engine_version *out)
{
	(void)handle;
	memset(out, 0, sizeof(*out));
	snprintf(out->engine, sizeof(out->engine), "abi2 1.0");
}

static void
abi2_destroy(void *handle)
{
	(void)handle;
}

const struct sm_engine_ops scanmilter_engine = {
	.abi_version = 2,	/* what SM_ENGINE_ABI_VERSION was */
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "abi2",
	.flags = SM_ENGINE_CONTENT_ONLY,
	.pool = SM_POOL_CPU,
	.options = abi2_options,
	.conf_size = sizeof(struct abi2_conf),
	.create = abi2_create,
	.scan = abi2_scan,
	.version = abi2_version,
	.destroy = abi2_destroy,
};
