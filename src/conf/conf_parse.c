/*
 * Tokenizer and recursive-descent parser for scanmilter.conf.  Untrusted
 * input is assumed: every loop is bounded by the input length, and depth,
 * token length and item count are capped (see conf_parse.h).  In a
 * configuration file, `include "PATTERN"` splices in the files the glob
 * pattern names, in order, with caps on nesting and on the bytes of all
 * files together.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_parse.h"
#include "safefs.h"
#include "util.h"

enum tok { T_EOF, T_WORD, T_STRING, T_EQ, T_OPEN, T_CLOSE, T_ERR };

struct lexer {
	const char *file;
	const char *p, *end;
	int	 line;
	char	 text[CF_MAX_TOKEN + 1];
	char	*err;
	size_t	 errlen;
	int	 failed;
	/* includes: allowed only when basedir is set (a file, not a
	 * buffer); all files of one parse share the counters of the first */
	const char *basedir;		/* relative patterns resolve here */
	int	 includes;		/* nesting of this file */
	size_t	*bytes;			/* read so far, all files */
	int	*items_all;		/* items so far, all files */
	char	*file_copy;		/* included file: node->file */
};

static void lex_error(struct lexer *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
lex_error(struct lexer *lx, int line, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (lx->failed)
		return;
	lx->failed = 1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(lx->err, lx->errlen, "%s:%d: %s", lx->file, line, reason);
}

static int
is_word_char(int c)
{
	return isalnum(c) || strchr("._-/:@[]%+*!~^$?,", c) != NULL;
}

/* Skips blanks, newlines, comments and separators. */
static void
skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			lx->line++;
			lx->p++;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == ';') {
			lx->p++;
		} else if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else {
			break;
		}
	}
}

static enum tok
lex_string(struct lexer *lx)
{
	size_t n = 0;
	int start = lx->line;

	lx->p++;		/* opening quote */
	while (lx->p < lx->end && *lx->p != '"') {
		char c = *lx->p++;

		if (c == '\n') {
			lex_error(lx, start, "%s", "unterminated string");
			return T_ERR;
		}
		if (c == '\\' && lx->p < lx->end) {
			c = *lx->p++;
			if (c == 'n')
				c = '\n';
			else if (c == 't')
				c = '\t';
			else if (c != '"' && c != '\\') {
				lex_error(lx, lx->line,
				    "unknown escape '\\%c' in string", c);
				return T_ERR;
			}
		}
		if (c == '\0') {
			lex_error(lx, lx->line, "%s", "NUL byte in string");
			return T_ERR;
		}
		if (n >= CF_MAX_TOKEN) {
			lex_error(lx, start, "string longer than %d bytes",
			    CF_MAX_TOKEN);
			return T_ERR;
		}
		lx->text[n++] = c;
	}
	if (lx->p >= lx->end) {
		lex_error(lx, start, "%s", "unterminated string");
		return T_ERR;
	}
	lx->p++;		/* closing quote */
	lx->text[n] = '\0';
	return T_STRING;
}

static enum tok
lex(struct lexer *lx)
{
	size_t n = 0;
	char c;

	skip_space(lx);
	if (lx->p >= lx->end)
		return T_EOF;
	c = *lx->p;
	switch (c) {
	case '=':
		lx->p++;
		return T_EQ;
	case '{':
		lx->p++;
		return T_OPEN;
	case '}':
		lx->p++;
		return T_CLOSE;
	case '"':
		return lex_string(lx);
	}
	if (!is_word_char((unsigned char)c)) {
		char shown[8];

		if (isprint((unsigned char)c))
			snprintf(shown, sizeof(shown), "'%c'", c);
		else
			snprintf(shown, sizeof(shown), "0x%02x",
			    (unsigned char)c);
		lex_error(lx, lx->line, "unexpected character %s", shown);
		return T_ERR;
	}
	while (lx->p < lx->end && is_word_char((unsigned char)*lx->p)) {
		if (n >= CF_MAX_TOKEN) {
			lex_error(lx, lx->line, "word longer than %d bytes",
			    CF_MAX_TOKEN);
			return T_ERR;
		}
		lx->text[n++] = *lx->p++;
	}
	lx->text[n] = '\0';
	return T_WORD;
}

static const char *
tok_name(enum tok t)
{
	static const char *const names[] = {
		"end of file", "word", "string", "'='", "'{'", "'}'", "error"
	};
	return names[t];
}

static int parse_items(struct lexer *, struct cf_node *scope, int depth);

/* After NAME: '=' value, or [LABEL] '{' items '}'. */
static struct cf_node *
parse_item(struct lexer *lx, int depth)
{
	struct cf_node *n = xcalloc(1, sizeof(*n));
	enum tok t;

	n->key = xstrdup(lx->text);
	n->line = lx->line;
	if (lx->file_copy != NULL)
		n->file = xstrdup(lx->file_copy);
	if (++*lx->items_all > CF_MAX_ITEMS) {
		lex_error(lx, n->line, "more than %d items", CF_MAX_ITEMS);
		goto fail;
	}
	t = lex(lx);
	if (t == T_EQ) {
		t = lex(lx);
		if (t != T_WORD && t != T_STRING) {
			if (t != T_ERR)
				lex_error(lx, n->line,
				    "option '%s': missing value", n->key);
			goto fail;
		}
		n->value = xstrdup(lx->text);
		return n;
	}
	if (t == T_WORD || t == T_STRING) {
		n->label = xstrdup(lx->text);
		t = lex(lx);
	}
	if (t != T_OPEN) {
		if (t != T_ERR)
			lex_error(lx, n->line,
			    "'%s': expected '=' or '{'", n->key);
		goto fail;
	}
	if (depth + 1 > CF_MAX_DEPTH) {
		lex_error(lx, n->line, "scopes nested deeper than %d",
		    CF_MAX_DEPTH);
		goto fail;
	}
	if (parse_items(lx, n, depth + 1) != T_CLOSE) {
		if (!lx->failed)
			lex_error(lx, n->line, "scope '%s' is not closed",
			    n->key);
		goto fail;
	}
	return n;
fail:
	cf_free(n);
	return NULL;
}

static struct cf_node **parse_include(struct lexer *, struct cf_node **tail,
    int depth);

/* Parses items into scope until '}' or EOF; returns the token that ended. */
static int
parse_items(struct lexer *lx, struct cf_node *scope, int depth)
{
	struct cf_node **tail = &scope->child;

	for (;;) {
		enum tok t = lex(lx);
		struct cf_node *n;

		if (t == T_EOF || t == T_CLOSE || t == T_ERR)
			return t;
		if (t != T_WORD) {
			lex_error(lx, lx->line, "expected an option name, got %s",
			    tok_name(t));
			return T_ERR;
		}
		if (strcmp(lx->text, "include") == 0) {
			if ((tail = parse_include(lx, tail, depth)) == NULL)
				return T_ERR;
			continue;
		}
		if ((n = parse_item(lx, depth)) == NULL)
			return T_ERR;
		*tail = n;
		tail = &n->next;
	}
}

/* One file of an include, parsed at depth into *tail; the new tail or NULL
 * (error in lx). */
static struct cf_node **
include_file(struct lexer *lx, int line, const char *path,
    struct cf_node **tail, int depth)
{
	struct lexer sub = { .file = path, .line = 1, .err = lx->err,
	    .errlen = lx->errlen, .includes = lx->includes + 1,
	    .bytes = lx->bytes, .items_all = lx->items_all };
	struct cf_node scope = { 0 };
	char why[512], *buf = NULL, *real = NULL, *dir, *slash;
	size_t len;
	int t;

	/* root acts on what it says: only files no one else may change */
	if (geteuid() == 0 && (real = safefs_check_file(path, NULL, why,
	    sizeof(why))) == NULL) {
		lex_error(lx, line, "include: %s", why);
		return NULL;
	}
	buf = sm_read_file(real ? real : path, CF_MAX_BYTES - *lx->bytes,
	    &len, why, sizeof(why));
	free(real);
	if (buf == NULL) {
		lex_error(lx, line, "include: %s (all files together may hold "
		    "%d bytes)", why, CF_MAX_BYTES);
		return NULL;
	}
	*lx->bytes += len;
	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	sub.p = buf;
	sub.end = buf + len;
	sub.basedir = slash == NULL ? "." : *dir ? dir : "/";
	sub.file_copy = xstrdup(path);
	sub.file = sub.file_copy;
	t = parse_items(&sub, &scope, depth);
	if (t == T_CLOSE)
		lex_error(&sub, sub.line, "%s", "'}' without a matching '{'");
	free(buf);
	free(dir);
	free(sub.file_copy);
	if (sub.failed) {
		cf_free(scope.child);
		lx->failed = 1;		/* sub wrote the reason */
		return NULL;
	}
	*tail = scope.child;
	while (*tail != NULL)
		tail = &(*tail)->next;
	return tail;
}

/* A directory glob cannot read: missing is fine (no drop-ins), anything
 * else (no permission) is an error. */
static int
include_glob_error(const char *path, int err)
{
	(void)path;
	return err != ENOENT && err != ENOTDIR;
}

/* include "PATTERN": the files the glob names, in order; none is fine (an
 * empty drop-in directory).  Returns the new tail, or NULL. */
static struct cf_node **
parse_include(struct lexer *lx, struct cf_node **tail, int depth)
{
	int line = lx->line, rc;
	char *pattern;
	glob_t g;
	enum tok t;

	if (lx->basedir == NULL) {
		lex_error(lx, line, "%s", "include works in a configuration "
		    "file only");
		return NULL;
	}
	t = lex(lx);
	if (t != T_STRING && t != T_WORD) {
		if (t != T_ERR)
			lex_error(lx, line, "%s", "include needs a file or a "
			    "pattern: include \"/etc/scanmilter/conf.d/"
			    "*.conf\"");
		return NULL;
	}
	if (lx->includes >= CF_MAX_INCLUDE_DEPTH) {
		lex_error(lx, line, "include \"%s\": includes nested deeper "
		    "than %d (does a file include itself?)", lx->text,
		    CF_MAX_INCLUDE_DEPTH);
		return NULL;
	}
	pattern = lx->text[0] == '/' ? xstrdup(lx->text) :
	    xasprintf("%s/%s", lx->basedir, lx->text);
	memset(&g, 0, sizeof(g));
	rc = glob(pattern, 0, include_glob_error, &g);
	if (rc != 0 && rc != GLOB_NOMATCH) {
		lex_error(lx, line, "include \"%s\": %s", pattern,
		    rc == GLOB_NOSPACE ? "out of memory" : "cannot read the "
		    "directory");
		tail = NULL;
	} else if (g.gl_pathc > CF_MAX_INCLUDE_FILES) {
		lex_error(lx, line, "include \"%s\": %zu files, more than %d",
		    pattern, (size_t)g.gl_pathc, CF_MAX_INCLUDE_FILES);
		tail = NULL;
	}
	for (size_t i = 0; rc == 0 && tail != NULL && i < g.gl_pathc; i++)
		tail = include_file(lx, line, g.gl_pathv[i], tail, depth);
	globfree(&g);
	free(pattern);
	return tail;
}

struct cf_node *
cf_parse(const char *file, const char *buf, size_t len, char *err,
    size_t errlen)
{
	return cf_parse_in(file, NULL, buf, len, err, errlen);
}

struct cf_node *
cf_parse_in(const char *file, const char *basedir, const char *buf,
    size_t len, char *err, size_t errlen)
{
	size_t bytes = len;
	int items = 0;
	struct lexer lx = { .file = file, .p = buf, .end = buf + len,
	    .line = 1, .err = err, .errlen = errlen, .basedir = basedir,
	    .bytes = &bytes, .items_all = &items };
	struct cf_node *root;
	int t;

	if (len > CF_MAX_BYTES) {
		snprintf(err, errlen, "%s: larger than %d bytes", file,
		    CF_MAX_BYTES);
		return NULL;
	}
	root = xcalloc(1, sizeof(*root));
	t = parse_items(&lx, root, 0);
	if (t == T_CLOSE)
		lex_error(&lx, lx.line, "%s", "'}' without a matching '{'");
	if (lx.failed) {
		cf_free(root);
		return NULL;
	}
	return root;
}

void
cf_free(struct cf_node *n)
{
	while (n != NULL) {
		struct cf_node *next = n->next;

		cf_free(n->child);
		free(n->file);
		free(n->key);
		free(n->value);
		free(n->label);
		free(n);
		n = next;
	}
}
