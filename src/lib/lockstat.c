/*
 * The process-wide mutex wait counters of lockstat.h, and their log line.
 */
#include "config.h"

#include <stdio.h>

#include "lockstat.h"
#include "log.h"

struct lockstat lockstat_sites[LOCKSTAT_NSITES];

static const char *const lockstat_names[LOCKSTAT_NSITES] = {
	[LOCKSTAT_POOL] = "pool",
	[LOCKSTAT_VCACHE] = "vcache",
	[LOCKSTAT_BATCH] = "batch",
};

void
lockstat_log(void)
{
	char buf[512];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < LOCKSTAT_NSITES && off < sizeof(buf); i++) {
		struct lockstat *ls = &lockstat_sites[i];
		unsigned long long acquired = 0;
		int n;

		for (int k = 0; k < LOCKSTAT_SHARDS; k++)
			acquired += atomic_load(&ls->acquired[k].n);
		n = snprintf(buf + off, sizeof(buf) - off,
		    "%s%s acquired=%llu contended=%llu wait_us=%llu",
		    i ? ", " : "", lockstat_names[i],
		    acquired,
		    (unsigned long long)atomic_load(&ls->contended),
		    (unsigned long long)atomic_load(&ls->wait_ns) / 1000);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	msg_info("lock waits: %s", buf);
}
