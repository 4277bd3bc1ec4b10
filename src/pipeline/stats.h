/*
 * Counters per antivirus instance, kept by name for the daemon's life (a
 * reload keeps them), updated with atomic adds from any thread, read as
 * snapshots by the control console and the metrics listener.
 */
#ifndef SM_STATS_H
#define SM_STATS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "decision.h"

#define STATS_LATENCY_BUCKETS 12	/* upper bounds in stats.c */

struct av_counters {
	uint64_t messages;		/* messages checked */
	uint64_t parts;			/* MIME parts checked */
	uint64_t viruses;		/* viruses detected */
	uint64_t cured;			/* viruses cured (stripped) */
	uint64_t msg_us;		/* time spent on messages */
	uint64_t part_us;		/* time spent on parts */
	uint64_t clean, infected, unscannable, errors;
	uint64_t rejects, tempfails, accepts, discards, quarantines;
	uint64_t accepts_as_is, strips;	/* the accepts: unchanged, or with
					 * parts cut out */
	uint64_t tempfail_timeout, tempfail_busy, tempfail_error;
	uint64_t skipped;
	uint64_t cache_hits, engine_scans;
	uint64_t latency[STATS_LATENCY_BUCKETS + 1];	/* + overflow */
};

struct av_stats {
	char	 name[64];
	struct av_counters total;	/* since start (atomic) */
	struct av_counters base;	/* total at the last reset */
	time_t	 reset_time;
};

/* The stats of the instance called name, made on first use. */
struct av_stats *stats_for(const char *name);

/* Counts one message's decision (cured: parts stripped). */
void	stats_count(struct av_stats *, const struct sm_decision *,
	    size_t cured);

/* A snapshot: total, and since the last reset. */
void	stats_read(const struct av_stats *, struct av_counters *total,
	    struct av_counters *since_reset);

void	stats_reset(struct av_stats *);

/* Counts a message the instance skipped (skip_* options). */
void	stats_skip(struct av_stats *);

/* Every instance seen, for listings; returns the count. */
size_t	stats_all(struct av_stats **out, size_t max);

/* Bucket upper bounds in milliseconds (the last is +Inf). */
extern const double stats_latency_bounds_ms[STATS_LATENCY_BUCKETS];

time_t	stats_start_time(void);

#endif
