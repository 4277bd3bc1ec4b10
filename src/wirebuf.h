/*
 * A message in wire form: an mbox "From " envelope line, the header lines
 * as received (CRLF), a blank line and the body, in one growing buffer that
 * is sized up front (expected size + header_padding) to avoid reallocation.
 */
#ifndef SM_WIREBUF_H
#define SM_WIREBUF_H

#include <stddef.h>

#include <scanmilter/engine.h>

#define WIREBUF_MAX_HEADER	(1024 * 1024)	/* one header line */

struct wirebuf {
	unsigned char *data;
	size_t	 len;
	size_t	 cap;
	size_t	 envelope_len;	/* bytes of the "From " line */
	size_t	 header_count;
};

/* Starts a message of about expect bytes: allocates expect + padding and
 * writes the envelope line for sender (NULL or "" gives MAILER-DAEMON). */
void	wirebuf_begin(struct wirebuf *, const char *sender, size_t expect,
	    size_t padding);

/* Appends "name: value" CRLF; bare LF in a folded value becomes CRLF. */
void	wirebuf_header(struct wirebuf *, const char *name, const char *value);

/* Appends the blank line ending the header. */
void	wirebuf_eoh(struct wirebuf *);

/* Appends raw bytes (body chunks arrive CRLF, dot-unstuffed). */
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

/* Frees the memory; the wirebuf can be begun again. */
void	wirebuf_free(struct wirebuf *);

#endif
