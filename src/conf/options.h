/*
 * Typed option values: parse a config word into the structure an option
 * table describes, apply defaults, free what was stored.  The same tables
 * feed the config parser, `scanmilter -t`, the example config and the man
 * page (see `scanmilter options`).
 */
#ifndef SM_OPTIONS_H
#define SM_OPTIONS_H

#include <stddef.h>

#include <scanmilter/engine.h>

/*
 * Parses text as a value of opt and, unless opt->offset is SM_OPT_NOSTORE,
 * stores it in dst (freeing a string stored there before).  A relative
 * SM_OPT_PATH is taken relative to basedir (when not NULL).  Returns 0, or
 * -1 with a reason (without file and line) in err.
 */
int	opt_set(const struct sm_option *opt, const char *text,
	    const char *basedir, void *dst, char *err, size_t errlen);

/* Returns the option named name in table, or NULL. */
const struct sm_option *opt_find(const struct sm_option *table,
	    const char *name);

/* Frees the strings that table's options stored in dst. */
void	opt_free(const struct sm_option *table, void *dst);

/* Type as shown to people: "size", "duration", "reject|pass", … */
const char *opt_type_name(const struct sm_option *opt);

/* Index of word in a '|'-separated list, or -1. */
int	opt_choice_index(const char *choices, const char *word);

/* Copies choice number idx of choices into buf. */
const char *opt_choice_name(const char *choices, int idx, char *buf,
	    size_t len);

#endif
