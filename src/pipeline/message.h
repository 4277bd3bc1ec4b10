/*
 * A message as the MTA handed it to us: what it told us about the
 * transaction (the client, HELO, envelope, authentication, queue id and
 * the macros the skip rules read) and the message's bytes.
 *
 * Every string is owned by the message (copied in, freed by
 * message_clear).  The milter keeps one per connection; a scan takes its
 * own copy (message_copy), so an engine still running after the milter
 * answered and moved on never reads freed memory.
 */
#ifndef SM_MESSAGE_H
#define SM_MESSAGE_H

#include <stddef.h>

#include "wirebuf.h"

struct message_macro {
	char	*name;			/* without braces: "auth_type" */
	char	*value;
};

struct message {
	char	*queue_id;		/* NULL: unknown */
	char	*client_addr;		/* IPv4 or IPv6 text, NULL: unknown */
	char	*client_name;
	char	*helo;
	char	*sender;		/* without <> */
	char	*auth;			/* SASL login, or NULL */
	char	**rcpts;		/* without <> */
	size_t	 nrcpt;
	struct message_macro *macros;
	size_t	 nmacros;
};

/* Replaces *field by a copy of value (NULL clears it). */
int	message_set(char **field, const char *value);

void	message_add_rcpt(struct message *, const char *rcpt);

/* Records macro name (no braces) as value; NULL records it as unset. */
void	message_set_macro(struct message *, const char *name,
	    const char *value);

/* The value recorded for macro name, or NULL. */
const char *message_macro(const struct message *, const char *name);

/* Makes dst (uninitialised) a deep copy of src. */
void	message_copy(struct message *dst, const struct message *src);

/* Forgets the transaction (sender, recipients, auth, queue id, macros),
 * keeping the connection (client, HELO). */
void	message_end_transaction(struct message *);

/* Frees every string; the message is empty afterwards. */
void	message_clear(struct message *);

/*
 * The message's bytes in wire form.  Reference counted: a scan that timed
 * out may still be reading them on a worker thread after the milter moved
 * on.  message_input_new() returns one reference; message_input_unref()
 * frees the bytes when the last goes.
 */
struct message_input {
	int	 refs;		/* atomic */
	struct wirebuf wb;
};

struct message_input *message_input_new(void);
void	message_input_ref(struct message_input *);
void	message_input_unref(struct message_input *);	/* takes NULL */

/* field, or def when it is NULL: for logs. */
const char *message_str(const char *field, const char *def);

#endif
