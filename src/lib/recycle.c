/*
 * The large-buffer recycler: a free list per size class (a power of two
 * from 128 KiB to 4 MiB, plus RECYCLE_SLACK) under one mutex, bounded in
 * bytes and in buffers per class.  See recycle.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "recycle.h"

#if defined(__SANITIZE_ADDRESS__)
#define RECYCLE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RECYCLE_ASAN 1
#endif
#endif
#ifdef RECYCLE_ASAN
/* A held buffer is poisoned: a use after recycle_free is still caught. */
#include <sanitizer/asan_interface.h>
#define recycle_poison(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define recycle_unpoison(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define recycle_poison(p, n)	((void)(p), (void)(n))
#define recycle_unpoison(p, n)	((void)(p), (void)(n))
#endif

#define RECYCLE_MIN_SHIFT	17
#define RECYCLE_CLASSES		6	/* 128 KiB .. 4 MiB */

_Static_assert(((size_t)1 << RECYCLE_MIN_SHIFT) == RECYCLE_MIN,
    "RECYCLE_MIN is the first class, less its slack");
_Static_assert(((size_t)1 << (RECYCLE_MIN_SHIFT + RECYCLE_CLASSES - 1)) +
    RECYCLE_SLACK == RECYCLE_MAX, "RECYCLE_MAX is the last class");

/* The free lists; recycle_lock guards all of this. */
static pthread_mutex_t recycle_lock = PTHREAD_MUTEX_INITIALIZER;
static void *recycle_list[RECYCLE_CLASSES][RECYCLE_KEEP_PER_CLASS];
static size_t recycle_count[RECYCLE_CLASSES];
static size_t recycle_bytes;	/* held, at class sizes */

static size_t
class_size(int c)
{
	return ((size_t)1 << (RECYCLE_MIN_SHIFT + c)) + RECYCLE_SLACK;
}

/* The class of at least n bytes, or -1 when n is out of range. */
static int
class_of(size_t n)
{
	int c = 0;

	if (n < RECYCLE_MIN || n > RECYCLE_MAX)
		return -1;
	while (class_size(c) < n)
		c++;
	return c;
}

void *
recycle_alloc(size_t n, size_t *cap)
{
	int c = class_of(n);
	void *p = NULL;

	if (c < 0) {
		if ((p = malloc(n ? n : 1)) != NULL)
			*cap = n;
		return p;
	}
	pthread_mutex_lock(&recycle_lock);
	if (recycle_count[c] > 0) {
		p = recycle_list[c][--recycle_count[c]];
		recycle_bytes -= class_size(c);
	}
	pthread_mutex_unlock(&recycle_lock);
	if (p != NULL)
		recycle_unpoison(p, class_size(c));
	else if ((p = malloc(class_size(c))) == NULL)
		return NULL;
	*cap = class_size(c);
	return p;
}

void *
recycle_realloc(void *p, size_t len, size_t cap, size_t n, size_t *newcap)
{
	void *q;

	if (p == NULL)
		return recycle_alloc(n, newcap);
	if (class_of(n) < 0) {
		/* small, or past the largest class: malloc's own way (a
		 * mapping grows by mremap, without a copy) */
		if ((q = realloc(p, n ? n : 1)) != NULL)
			*newcap = n;
		return q;
	}
	if ((q = recycle_alloc(n, newcap)) == NULL)
		return NULL;
	memcpy(q, p, len < cap ? len : cap);
	recycle_free(p, cap);
	return q;
}

/*
 * Over the cap, held buffers of larger classes make room for a smaller
 * one: smaller buffers are asked for far more often, and the few large
 * ones would otherwise fill the cap and stay unused.
 */
void
recycle_free(void *p, size_t cap)
{
	void *evicted[RECYCLE_CLASSES * RECYCLE_KEEP_PER_CLASS];
	size_t evicted_cap[RECYCLE_CLASSES * RECYCLE_KEEP_PER_CLASS];
	size_t nevicted = 0;
	int c = class_of(cap);

	if (p == NULL)
		return;
	if (c >= 0 && class_size(c) == cap && cap <= RECYCLE_KEEP_BYTES) {
		pthread_mutex_lock(&recycle_lock);
		/* (nothing is evicted for a buffer whose class is full) */
		for (int big = RECYCLE_CLASSES - 1; big > c &&
		    recycle_count[c] < RECYCLE_KEEP_PER_CLASS; big--) {
			while (recycle_count[big] > 0 &&
			    recycle_bytes + cap > RECYCLE_KEEP_BYTES) {
				evicted_cap[nevicted] = class_size(big);
				evicted[nevicted++] =
				    recycle_list[big][--recycle_count[big]];
				recycle_bytes -= class_size(big);
			}
		}
		if (recycle_count[c] < RECYCLE_KEEP_PER_CLASS &&
		    recycle_bytes + cap <= RECYCLE_KEEP_BYTES) {
			recycle_poison(p, cap);
			recycle_list[c][recycle_count[c]++] = p;
			recycle_bytes += cap;
			p = NULL;
		}
		pthread_mutex_unlock(&recycle_lock);
	}
	for (size_t i = 0; i < nevicted; i++) {
		recycle_unpoison(evicted[i], evicted_cap[i]);
		free(evicted[i]);
	}
	free(p);
}

void
recycle_held(size_t *bytes, size_t *count)
{
	size_t n = 0;

	pthread_mutex_lock(&recycle_lock);
	for (int c = 0; c < RECYCLE_CLASSES; c++)
		n += recycle_count[c];
	*bytes = recycle_bytes;
	*count = n;
	pthread_mutex_unlock(&recycle_lock);
}

void
recycle_drain(void)
{
	pthread_mutex_lock(&recycle_lock);
	for (int c = 0; c < RECYCLE_CLASSES; c++) {
		while (recycle_count[c] > 0) {
			void *p = recycle_list[c][--recycle_count[c]];

			recycle_unpoison(p, class_size(c));
			free(p);
		}
	}
	recycle_bytes = 0;
	pthread_mutex_unlock(&recycle_lock);
}
