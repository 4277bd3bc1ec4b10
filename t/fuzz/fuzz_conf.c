/*
 * libFuzzer target for the configuration parser and binder:
 * conf_load_buffer() on any bytes must return a snapshot or an error,
 * never crash; engines are not started.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char err[512];
	struct sm_conf *c;

	c = conf_load_buffer("fuzz.conf", (const char *)data, len, err,
	    sizeof(err));
	conf_free(c);
	return 0;
}
