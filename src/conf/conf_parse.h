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
 *
 *	item  := … | 'include' value
 *
 * In a file (cf_parse_in with a basedir), `include "PATTERN"` puts the
 * items of the files the glob pattern names (sorted; relative to the
 * including file's directory; none is fine) where it stands, in any
 * scope.  The caps count all files together; includes nest at most
 * CF_MAX_INCLUDE_DEPTH deep, a pattern names at most CF_MAX_INCLUDE_FILES.
 */
#ifndef SM_CONF_PARSE_H
#define SM_CONF_PARSE_H

#include <stddef.h>

#define CF_MAX_BYTES	(1024 * 1024)
#define CF_MAX_DEPTH	8
#define CF_MAX_TOKEN	4096
#define CF_MAX_ITEMS	20000
#define CF_MAX_INCLUDE_DEPTH	4
#define CF_MAX_INCLUDE_FILES	256

struct cf_node {
	char	*key;		/* option name or scope keyword; NULL: root */
	char	*value;		/* option value; NULL for a scope */
	char	*label;		/* scope's instance name, or NULL */
	int	 line;
	char	*file;		/* included file it came from, or NULL */
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

/* Same, for the file named file whose directory is basedir: includes
 * allowed (errors name the included file and its line). */
struct cf_node *cf_parse_in(const char *file, const char *basedir,
		    const char *buf, size_t len, char *err, size_t errlen);
void		cf_free(struct cf_node *);

#endif
