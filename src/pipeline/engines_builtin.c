/*
 * The engines compiled into the daemon.  Adding one means adding its table
 * here and its sources to Makefile.am; nothing else changes.
 */
#include "config.h"

#include <stddef.h>

#include <scanmilter/engine.h>

extern const struct sm_engine_ops sm_engine_clamav;
extern const struct sm_engine_ops sm_engine_clamd;
extern const struct sm_engine_ops sm_engine_rules;

const struct sm_engine_ops *const sm_builtin_engines[] = {
	&sm_engine_clamav,
	&sm_engine_clamd,
	&sm_engine_rules,
	NULL
};
