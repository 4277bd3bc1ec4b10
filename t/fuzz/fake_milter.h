/*
 * A fake of libmilter's smfi_* API for fuzz_milter: no socket, no thread.
 * The target calls the callbacks that smfi_register() handed over, on
 * contexts of its own, and this records what the milter layer asked the
 * MTA to do with each (the reply, header and body changes) and checks each
 * request as libmilter would (a reply libmilter refuses, a change outside
 * end of message, a header index the message does not have).  A request
 * libmilter would take but no MTA should get aborts at once, naming it.
 */
#ifndef FAKE_MILTER_H
#define FAKE_MILTER_H

#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#define FAKE_MACROS	8	/* macro values a context can hold */
#define FAKE_HEADERS	64	/* distinct header names counted per message */

/* What one callback asked for: reset by fake_begin_call(). */
struct fake_calls {
	int	 setreply;		/* accepted smfi_setreply() calls */
	int	 setreply_refused;	/* refused as libmilter refuses them */
	char	 rcode[4], xcode[16];	/* the last accepted reply */
	int	 addheader, chgheader, insheader, quarantine, progress;
	size_t	 body_chunks;		/* smfi_replacebody() calls */
	size_t	 body_bytes;
};

struct smfi_str {
	void	*priv;				/* smfi_setpriv() */
	bool	 in_eom;			/* changes are allowed */
	bool	 refuse;			/* the MTA refuses them (as
						 * one that did not negotiate
						 * them, or could not hold) */
	bool	 priv_set_null;			/* setpriv(NULL) seen */
	const char *macro_name[FAKE_MACROS];	/* "i", "{auth_authen}" */
	char	*macro_value[FAKE_MACROS];	/* owned */
	size_t	 nmacros;
	/* the headers of the current message, by name, as the MTA holds
	 * them: what chgheader indices may address */
	char	 hdr_name[FAKE_HEADERS][64];
	size_t	 hdr_count[FAKE_HEADERS];
	size_t	 nhdr;
	struct fake_calls calls;
};

/* The callbacks smfi_register() was given; NULL before. */
const struct smfiDesc *fake_desc(void);

/* A fresh context (all zero) and its end (frees the macro values). */
void	fake_ctx_init(SMFICTX *);
void	fake_ctx_clear(SMFICTX *);

/* Sets (value NULL: removes) the macro name, as the MTA sends it. */
void	fake_set_macro(SMFICTX *, const char *name, const char *value);

/* The MTA's view of the message: a header passed on (counted for
 * chgheader), and a new message (counts cleared). */
void	fake_note_header(SMFICTX *, const char *name);
void	fake_new_message(SMFICTX *);

/* Clears ctx->calls before the target calls a callback. */
void	fake_begin_call(SMFICTX *);

/* Aborts with a message naming the broken rule. */
void	fake_fail(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
