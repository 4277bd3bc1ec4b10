/*
 * util.h - small helpers shared by the bench/ tools: monotonic time,
 * fatal errors, allocation that never returns NULL, percentiles.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stddef.h>

/* Seconds on the monotonic clock. */
double now_s(void);

/* Print "prog: message" (plus strerror(errno) for die_errno) and exit 2. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Allocators that exit on failure; the caller frees the result. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* Parse a decimal in [min, max] or die naming the option. */
long parse_long(const char *s, long min, long max, const char *what);

/*
 * Nearest-rank percentile (0 < p <= 100) of v[0..n-1], which must be sorted
 * ascending; 0 when n == 0.
 */
double percentile(const double *v, size_t n, double p);

/* Sort doubles ascending in place. */
void sort_doubles(double *v, size_t n);

#endif
