/*
 * A bounded recycler for large buffers (message buffers, decoded parts,
 * the MIME decoder's output).  The daemon fixes malloc's mmap threshold at
 * 128 KiB, so without it every such buffer is a fresh mapping: a page
 * fault on the first touch of each page, and munmap with its TLB
 * shootdown on free.  Buffers from RECYCLE_MIN to RECYCLE_MAX bytes are
 * rounded up to a size class -- a power of two from 128 KiB to 4 MiB plus
 * RECYCLE_SLACK, so that a message buffer of 1 MiB with its envelope line
 * and padding is not rounded to 2 MiB -- and, when freed, kept on a free
 * list of their size (pages still mapped and touched) for the next one, up to
 * RECYCLE_KEEP_BYTES in all and RECYCLE_KEEP_PER_CLASS of a size: past
 * that they go back to the system as before, so the memory the recycler
 * holds is never more than that cap, idle or not.
 *
 * Every buffer is a malloc() block of at least the capacity it is given
 * with, so free() is always correct for it (it only loses the reuse).
 * Thread-safe: one mutex guards the free lists.
 */
#ifndef SM_RECYCLE_H
#define SM_RECYCLE_H

#include <stddef.h>

#define RECYCLE_MIN		(128 * 1024)	/* malloc's mmap threshold */
#define RECYCLE_SLACK		4096
#define RECYCLE_MAX		(4 * 1024 * 1024 + RECYCLE_SLACK)
/*
 * What may be kept: the working set of eight messages in flight, each a
 * message buffer of up to 1 MiB (large_message_threshold: larger ones
 * spill) plus its skeleton, decoded parts and decode buffer, counted at
 * their rounded-up sizes.
 */
#define RECYCLE_KEEP_BYTES	(16 * 1024 * 1024)
#define RECYCLE_KEEP_PER_CLASS	16

/*
 * A buffer of at least n bytes (n > 0), its usable size in *cap; NULL
 * (errno ENOMEM) when there is no memory.  Give it back with
 * recycle_free(p, *cap).  Its contents are undefined.
 */
void	*recycle_alloc(size_t n, size_t *cap);

/*
 * Like realloc: a buffer of at least n bytes holding the first len bytes
 * of p (a buffer of capacity cap from recycle_alloc, malloc or NULL),
 * its usable size in *newcap, p given back; or NULL with p untouched.
 */
void	*recycle_realloc(void *p, size_t len, size_t cap, size_t n,
	    size_t *newcap);

/*
 * Gives back p of capacity cap (at most what was allocated: the size
 * recycle_alloc reported, or what was asked of malloc).  Takes NULL.
 */
void	 recycle_free(void *p, size_t cap);

/* What is held now: bytes (at their rounded sizes) and buffers. */
void	 recycle_held(size_t *bytes, size_t *count);

/* Gives every held buffer back to the system. */
void	 recycle_drain(void);

#endif
