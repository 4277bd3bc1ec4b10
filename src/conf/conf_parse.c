/*
 * Tokenizer and recursive-descent parser for scanmilter.conf.  Untrusted
 * input is assumed: every loop is bounded by the input length, and depth,
 * token length and item count are capped (see conf_parse.h).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_parse.h"
#include "util.h"

enum tok { T_EOF, T_WORD, T_STRING, T_EQ, T_OPEN, T_CLOSE, T_ERR };

struct lexer {
	const char *file;
	const char *p, *end;
	int	 line;
	int	 items;
	char	 text[CF_MAX_TOKEN + 1];
	char	*err;
	size_t	 errlen;
	int	 failed;
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
	if (++lx->items > CF_MAX_ITEMS) {
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
		if ((n = parse_item(lx, depth)) == NULL)
			return T_ERR;
		*tail = n;
		tail = &n->next;
	}
}

struct cf_node *
cf_parse(const char *file, const char *buf, size_t len, char *err,
    size_t errlen)
{
	struct lexer lx = { .file = file, .p = buf, .end = buf + len,
	    .line = 1, .err = err, .errlen = errlen };
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
		free(n->key);
		free(n->value);
		free(n->label);
		free(n);
		n = next;
	}
}
