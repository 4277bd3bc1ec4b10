/*
 * A message in wire form: an mbox "From " envelope line, the header lines
 * as received (CRLF), a blank line and the body, in one growing buffer that
 * is sized up front (expected size + buffer_padding) to avoid reallocation.
 * Past a threshold the bytes move to an unlinked 0600 file in a spool
 * directory and the rest streams there: memory stays bounded whatever the
 * message size, and a crash leaves nothing on disk (O_TMPFILE).
 */
#ifndef SM_WIREBUF_H
#define SM_WIREBUF_H

#include <stddef.h>

#include <scanmilter/engine.h>

#define WIREBUF_MAX_HEADER	(1024 * 1024)	/* one header line */
#define WIREBUF_FIRST_MAX	(1024 * 1024)	/* most reserved up front */

struct wirebuf_opts {
	size_t	 padding;	/* added to the first allocation */
	size_t	 threshold;	/* spill past this many bytes; 0: never */
	int	 in_memory;	/* 0: spill at once (in_memory = no) */
	const char *spool;	/* directory for spill files */
	size_t	 limit;		/* stop storing past this; 0: no limit */
	int	 no_envelope;	/* no "From " line: a part, not a message */
};

struct wirebuf {
	unsigned char *data;	/* NULL once spilled */
	size_t	 len;		/* bytes stored, in memory or in the file */
	size_t	 cap;
	size_t	 envelope_len;	/* bytes of the "From " line */
	size_t	 header_count;
	size_t	 received;	/* message bytes seen, stored or not */
	int	 spilled;	/* the bytes are in fd, not data */
	int	 fd;		/* spill file, when spilled */
	int	 error;		/* errno of a failed spill, or ENOMEM: the
				 * message is incomplete, never scanned */
	int	 oversize;	/* more than limit was received */
	struct wirebuf_opts opts;
};

/*
 * Starts a message of about expect bytes (a hint from the client: at most
 * WIREBUF_FIRST_MAX is reserved for it), held as opts says (NULL: in
 * memory, no limit), and writes the envelope line for sender (NULL or ""
 * gives MAILER-DAEMON).  Memory that cannot be had sets error (ENOMEM).
 */
void	wirebuf_begin(struct wirebuf *, const char *sender, size_t expect,
	    const struct wirebuf_opts *opts);

/* Appends "name: value" CRLF; bare LF in a folded value becomes CRLF. */
void	wirebuf_header(struct wirebuf *, const char *name, const char *value);

/* Appends the blank line ending the header. */
void	wirebuf_eoh(struct wirebuf *);

/* Appends raw bytes (body chunks arrive CRLF, dot-unstuffed).  Failures
 * (a spill that cannot be written, memory that cannot be had) are not
 * returned: they are kept in error / oversize for the caller. */
void	wirebuf_append(struct wirebuf *, const void *, size_t);

/*
 * Appends a whole message read from a file, turning bare LF line ends into
 * CRLF as on the wire.
 */
void	wirebuf_append_text(struct wirebuf *, const char *, size_t);

/* Describes the buffer as an object to scan (valid until the next change). */
void	wirebuf_object(const struct wirebuf *, struct sm_object *);

/* Size of the message itself, without the envelope line. */
size_t	wirebuf_message_size(const struct wirebuf *);

/*
 * The stored bytes, envelope included, readable in memory: the buffer
 * itself, or the spill file mapped (*map set; give it to wirebuf_unmap).
 * NULL with errno set when the file cannot be mapped.
 */
const unsigned char *wirebuf_map(const struct wirebuf *, void **map);
void	wirebuf_unmap(const struct wirebuf *, void *map);	/* takes NULL */

/*
 * A part made in place (decoded straight into its spill file): begins wb
 * as a spill file of cap bytes (space reserved, so a full disk is an
 * error here, never a fault later), mapped writable.  Returns the mapping,
 * or NULL with errno set (wb then holds nothing).  wirebuf_place_end()
 * unmaps it and keeps its first len bytes as wb's.
 */
unsigned char *wirebuf_place(struct wirebuf *, const struct wirebuf_opts *,
	    size_t cap);
void	wirebuf_place_end(struct wirebuf *, unsigned char *map, size_t cap,
	    size_t len);

/* Frees the memory and closes the spill file (which vanishes with it); the
 * wirebuf can be begun again. */
void	wirebuf_free(struct wirebuf *);

#endif
