/*
 * Counters per antivirus (or antispam) instance, kept by name for the
 * daemon's life (a reload keeps them), updated with atomic adds from any
 * thread, read as snapshots by the control console and the metrics
 * listener.  Each instance counts what its own engines found and did with
 * a message -- its verdict, its reply, its parts and its time -- not the
 * message's combined decision.
 */
#ifndef SM_STATS_H
#define SM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "decision.h"

#define STATS_LATENCY_BUCKETS 12	/* upper bounds in stats.c */

struct av_counters {
	uint64_t messages;		/* messages checked */
	uint64_t parts;			/* MIME parts checked */
	uint64_t viruses;		/* messages infected (antivirus) */
	uint64_t spam;			/* messages found spam (antispam) */
	uint64_t cured;			/* infected parts stripped */
	uint64_t msg_us;		/* from a scan's start to the
					 * instance's last result */
	uint64_t part_us;		/* engine time on parts */
	uint64_t clean, infected, unscannable, errors;	/* verdicts */
	/* the instance's own replies: one per message checked */
	uint64_t rejects, tempfails, accepts, strips, discards, quarantines;
	uint64_t tempfail_timeout, tempfail_busy, tempfail_error;
	uint64_t tempfail_action;	/* a finding under action = tempfail,
					 * or oversize_action = tempfail */
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

/* What one instance found and did with one message. */
struct stats_sample {
	enum sm_verdict verdict;	/* its worst */
	bool	 spam;			/* an antispam instance: infected is
					 * spam, not a virus */
	enum sm_reply reply;		/* its own */
	enum sm_failure failure;	/* behind a tempfail */
	size_t	 parts;			/* MIME parts it checked */
	size_t	 engine_scans, cache_hits;
	size_t	 cured;			/* its infected parts stripped */
	double	 elapsed_ms;		/* to its last result */
	double	 part_ms;		/* its engines' time on parts */
};

/* Counts one message as instance s saw it. */
void	stats_count(struct av_stats *, const struct stats_sample *);

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
