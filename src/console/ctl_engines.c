/*
 * scanmilterctl's engine list: empty.  The console client reads the
 * configuration only for the control socket's address, so it links no
 * engine (no libclamav, no libxml2) and loads no plug-in.
 */
#include <stddef.h>

#include <scanmilter/engine.h>

const struct sm_engine_ops *const sm_builtin_engines[] = { NULL };
