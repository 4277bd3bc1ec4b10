/*
 * The engines of t/scanmilter-test: the daemon's built-in engines plus the
 * test engine.  Replaces src/pipeline/engines_builtin.c in that binary only.
 */
#include <stddef.h>

#include <scanmilter/engine.h>

extern const struct sm_engine_ops sm_engine_clamav;
extern const struct sm_engine_ops sm_engine_clamd;
extern const struct sm_engine_ops sm_engine_rules;
extern const struct sm_engine_ops sm_engine_test;

const struct sm_engine_ops *const sm_builtin_engines[] = {
	&sm_engine_clamav,
	&sm_engine_clamd,
	&sm_engine_rules,
	&sm_engine_test,
	NULL
};
