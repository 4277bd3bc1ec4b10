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
lockstat_read(enum lockstat_site site, struct lockstat_counts *c)
{
	struct lockstat *ls = &lockstat_sites[site];

	c->acquired = 0;
	for (int k = 0; k < LOCKSTAT_SHARDS; k++)
		c->acquired += atomic_load(&ls->acquired[k].n);
	c->contended = atomic_load(&ls->contended);
	c->wait_ns = atomic_load(&ls->wait_ns);
}

void
lockstat_log(void)
{
	char buf[512];
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < LOCKSTAT_NSITES && off < sizeof(buf); i++) {
		struct lockstat_counts c;
		int n;

		lockstat_read((enum lockstat_site)i, &c);
		n = snprintf(buf + off, sizeof(buf) - off,
		    "%s%s acquired=%llu contended=%llu wait_us=%llu",
		    i ? ", " : "", lockstat_names[i], c.acquired, c.contended,
		    c.wait_ns / 1000);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	msg_info("lock waits: %s", buf);
}
