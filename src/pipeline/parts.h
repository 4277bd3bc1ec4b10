/*
 * A message's MIME parts for the engines that read them (SM_ENGINE_PARTS,
 * sm_object.parts): parsed at most once per message and shared by every
 * engine of it.  When mime_decompose parses the message anyway, its parse
 * is recorded as it goes and reused; otherwise the first engine that asks
 * parses, the others wait for it and read the same record.
 *
 * The record holds each leaf part's description, header block and decoded
 * bytes in one wire buffer of its own, which moves to a spill file past
 * the message threshold like any message.  Should it fail (no space, no
 * memory) the parts are handed over straight from a parse of their own
 * for each request: slower, never wrong.
 *
 * Threads: parts_record() and parts_begin()/parts_end() are called by
 * whoever builds the batch, before any engine runs; parts_provide() from
 * any number of scan threads at once.
 */
#ifndef SM_PARTS_H
#define SM_PARTS_H

#include <stddef.h>

#include <scanmilter/engine.h>

#include "mime.h"
#include "wirebuf.h"

struct parts;

/*
 * The parts of msg (a message as received, its envelope line skipped),
 * recorded as store says (NULL: in memory) and parsed with lim (NULL:
 * the parser's defaults).  msg must outlive the result.  Free with
 * parts_free().
 */
struct parts *parts_new(const struct wirebuf *msg,
	    const struct wirebuf_opts *store, const struct mime_limits *lim);

/* The same for a message in memory (tests, benchmarks): msg, len bytes
 * without an envelope line, must outlive the result. */
struct parts *parts_new_buffer(const unsigned char *msg, size_t len);

void	parts_free(struct parts *);	/* takes NULL */

/*
 * Recording a parse done by someone else (the decomposition): between
 * parts_begin() (msg: the bytes parsed, for the part headers) and
 * parts_end(), give every leaf part to parts_record() (a mime_part_fn:
 * arg is the parts; it returns 0).  parts_end() keeps the record when
 * complete is 1 and nothing failed; else it is dropped, and the first
 * engine to ask parses again.
 */
void	parts_begin(struct parts *, const unsigned char *msg, size_t len);
int	parts_record(const struct mime_part *, void *parts);
void	parts_end(struct parts *, int complete);

/* Offers ps to an engine through obj (obj->parts, obj->parts_ctx). */
void	parts_attach(struct parts *ps, struct sm_object *obj);

/* sm_object.parts: calls fn for each part of obj->parts_ctx. */
int	parts_provide(const struct sm_object *obj, sm_part_fn fn, void *arg);

/* How many times the message was parsed for its parts so far (a recorded
 * decomposition counts once), for tests and the debug log. */
unsigned parts_parses(struct parts *);

#endif
