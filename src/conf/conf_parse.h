/*
 * The scanmilter.conf grammar, read into a tree; no meaning attached yet.
 *
 *	file  := item*
 *	item  := NAME '=' value
 *	       | NAME [LABEL] '{' item* '}'
 *	value := WORD | "quoted string"
 *
 * '#' starts a comment to the end of the line; ';' and ',' between items are
 * ignored.  Bounded: CF_MAX_BYTES of input, CF_MAX_DEPTH nested scopes,
 * CF_MAX_TOKEN bytes a token, CF_MAX_ITEMS items.
 */
#ifndef SM_CONF_PARSE_H
#define SM_CONF_PARSE_H

#include <stddef.h>

#define CF_MAX_BYTES	(1024 * 1024)
#define CF_MAX_DEPTH	8
#define CF_MAX_TOKEN	4096
#define CF_MAX_ITEMS	20000

struct cf_node {
	char	*key;		/* option name or scope keyword; NULL: root */
	char	*value;		/* option value; NULL for a scope */
	char	*label;		/* scope's instance name, or NULL */
	int	 line;
	struct cf_node *child;	/* first item of a scope */
	struct cf_node *next;	/* next item in the same scope */
};

/*
 * Parses len bytes of buf (need not be NUL-terminated).  Returns the root
 * scope, owned by the caller (cf_free), or NULL with "FILE:LINE: reason" in
 * err.
 */
struct cf_node *cf_parse(const char *file, const char *buf, size_t len,
		    char *err, size_t errlen);
void		cf_free(struct cf_node *);

#endif
