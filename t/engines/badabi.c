/*
 * An engine that claims another ABI version: loading it must fail with a
 * clear error naming the file (t/integration/plugins.sh).
 */
#include <stddef.h>

#include <scanmilter/engine.h>

const struct sm_engine_ops scanmilter_engine = {
	.abi_version = SM_ENGINE_ABI_VERSION + 41,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "badabi",
};
