/*
 * The rule file's compiler: a parsed and validated document (load.c) made
 * into a rules_db.  It checks again everything it relies on, whether the
 * schema said so or not: required attributes, scores, names (unique),
 * regular expressions (they compile, without back-references or runaway
 * repeats), address ranges, domains, digests, and includes (they exist and
 * do not loop).  Every refusal is "name:line: reason".
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "rules.h"

struct include_ref {
	size_t	 set;		/* the including set */
	char	*name;
	long	 line;
};

struct loader {
	const char *name;
	char	*err;
	size_t	 errlen;
	struct rules_db *db;
	struct include_ref *inc;
	size_t	 ninc;
};

static int fail(struct loader *, xmlNodePtr, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(struct loader *L, xmlNodePtr n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(L->err, L->errlen, "%s:%ld: %s", L->name,
	    n != NULL ? xmlGetLineNo(n) : 0L, msg);
	return -1;
}

static int
is_element(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    xmlStrcmp(n->name, BAD_CAST name) == 0;
}

/* The attribute's value (caller frees), or NULL. */
static char *
get_attr(xmlNodePtr n, const char *name)
{
	xmlChar *v = xmlGetNoNsProp(n, BAD_CAST name);
	char *s;

	if (v == NULL)
		return NULL;
	s = rules_xstrdup((const char *)v);
	xmlFree(v);
	return s;
}

/* The element's text (caller frees). */
static char *
get_text(xmlNodePtr n)
{
	xmlChar *v = xmlNodeGetContent(n);
	char *s = rules_xstrdup(v != NULL ? (const char *)v : "");

	xmlFree(v);
	return s;
}

/* Strips leading and trailing blanks in place. */
static char *
trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static void
lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > RULES_MAX_NAME)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && strchr("_.:-", *s) == NULL)
			return 0;
	return 1;
}

/* qsort/bsearch orders of the sorted lists (rules.h). */
int
rules_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
rules_cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/*
 * Refuses what would make regcomp() or regexec() blow up: back-references
 * (exponential matching; glibc accepts them in ERE) and expressions that
 * grow too large once compiled.  glibc copies the operand of a repeat:
 * x{m,n} holds about max(m, n) + 1 copies of x, x+ two, x* and x? one; so
 * the size is estimated with groups nested, and bounded.
 */
#define RE_MAX_NODES	10000
#define RE_MAX_DEPTH	64

struct re_size {
	unsigned long sum[RE_MAX_DEPTH];	/* size of each open group */
	unsigned long last[RE_MAX_DEPTH];	/* its last atom's size */
	int	 d;
};

static int
re_atom(struct re_size *z, unsigned long n)
{
	z->sum[z->d] += n;
	z->last[z->d] = n;
	return z->sum[z->d] > RE_MAX_NODES;
}

static int
re_repeat(struct re_size *z, unsigned long factor)
{
	unsigned long l = z->last[z->d];

	z->sum[z->d] += l * (factor - 1);
	z->last[z->d] = l * factor;
	return z->sum[z->d] > RE_MAX_NODES;
}

/* Skips a bracket expression ("[]…]", "[^]…]", "[[:alpha:]]"): returns
 * its closing ']', or NULL when it has none. */
static const char *
skip_bracket(const char *p)
{
	const char *q = p + 1;

	if (*q == '^')
		q++;
	if (*q == ']')
		q++;
	while (*q && *q != ']') {
		if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
			const char *end = strchr(q + 2, q[1]);

			if (end == NULL || end[1] != ']')
				return NULL;
			q = end + 2;
		} else
			q++;
	}
	return *q ? q : NULL;
}

static const char *
regex_check(const char *re)
{
	static const char too_big[] = "too large once compiled (repeats "
	    "multiply)";
	struct re_size z;
	int big = 0;

	memset(&z, 0, sizeof(z));
	for (const char *p = re; *p && !big; p++) {
		unsigned long m = 0, n = 0;
		const char *q;

		switch (*p) {
		case '\\':
			if (p[1] >= '1' && p[1] <= '9')
				return "back-references are not allowed";
			if (p[1] != '\0')
				p++;
			big = re_atom(&z, 1);
			break;
		case '[':
			if ((q = skip_bracket(p)) == NULL)
				return NULL;	/* regcomp says what is wrong */
			p = q;
			big = re_atom(&z, 1);
			break;
		case '(':
			if (++z.d >= RE_MAX_DEPTH)
				return "groups nested too deeply";
			z.sum[z.d] = z.last[z.d] = 0;
			break;
		case ')':
			if (z.d == 0) {
				big = re_atom(&z, 1);
				break;
			}
			n = z.sum[z.d--];
			big = re_atom(&z, n ? n : 1);
			break;
		case '|':
			z.last[z.d] = 0;
			break;
		case '+':
			big = re_repeat(&z, 2);
			break;
		case '{':
			q = p + 1;
			while (isdigit((unsigned char)*q) && m <= RE_MAX_NODES)
				m = m * 10 + (unsigned long)(*q++ - '0');
			if (*q == ',')
				for (q++; isdigit((unsigned char)*q) &&
				    n <= RE_MAX_NODES;)
					n = n * 10 + (unsigned long)(*q++ - '0');
			if (q == p + 1)		/* not a repeat */
				big = re_atom(&z, 1);
			else
				big = re_repeat(&z, (m > n ? m : n) + 1);
			break;
		case '*':
		case '?':
			break;
		default:
			big = re_atom(&z, 1);
			break;
		}
	}
	return big ? too_big : NULL;
}

/* "example.com", ".example.com" or "EXAMPLE.com." → "example.com". */
static int
normalize_domain(char *s, char **out)
{
	size_t n;
	char *d = s, *p;

	while (*d == '.')
		d++;
	n = strlen(d);
	if (n > 0 && d[n - 1] == '.')
		d[--n] = '\0';
	if (n == 0 || n > RULES_MAX_DOMAIN)
		return -1;
	lower(d);
	for (p = d; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return -1;
		if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
			return -1;
	}
	*out = d;
	return 0;
}

static void
push_str(struct rule *r, const char *s)
{
	r->str = rules_xrealloc(r->str, (r->nstr + 1) * sizeof(*r->str));
	r->str[r->nstr++] = rules_xstrdup(s);
}

/* Adds one item (a child element's trimmed text) to rule r. */
static int
add_item(struct loader *L, struct rule *r, xmlNodePtr n, char *raw,
    int icase)
{
	char *t = trim(raw), *d, why[256];
	size_t len = strlen(t);
	int rc;

	switch (r->kind) {
	case RK_HEADER: {
		const char *bad;

		/* a regex keeps its blanks: only empty ones are refused */
		if (*raw == '\0' || strlen(raw) > RULES_MAX_REGEX)
			return fail(L, n, "rule '%s': a regex must have 1 to "
			    "%d bytes", r->name, RULES_MAX_REGEX);
		if ((bad = regex_check(raw)) != NULL)
			return fail(L, n, "rule '%s': bad regex: %s",
			    r->name, bad);
		r->re = rules_xrealloc(r->re, (r->nre + 1) * sizeof(*r->re));
		rc = regcomp(&r->re[r->nre], raw, REG_EXTENDED | REG_NOSUB |
		    (icase ? REG_ICASE : 0));
		if (rc != 0) {
			regerror(rc, &r->re[r->nre], why, sizeof(why));
			return fail(L, n, "rule '%s': bad regex '%.80s': %s",
			    r->name, raw, why);
		}
		r->nre++;
		return 0;
	}
	case RK_BODY:
		if (len == 0 || len > RULES_MAX_PHRASE)
			return fail(L, n, "rule '%s': a phrase must have 1 to "
			    "%d bytes", r->name, RULES_MAX_PHRASE);
		/* folded as the text a reader is shown is (match.c) */
		t[rules_text_fold(t, len, t)] = '\0';
		if (*t == '\0')
			return fail(L, n, "rule '%s': a phrase of blanks or "
			    "invisible characters only", r->name);
		push_str(r, t);
		return 0;
	case RK_LINK:
	case RK_HELO:
	case RK_SENDER:
		if (normalize_domain(t, &d) < 0)
			return fail(L, n, "rule '%s': bad domain '%.80s'",
			    r->name, t);
		push_str(r, d);
		return 0;
	case RK_CLIENT:
		if (len == 0 || rules_net_add(&r->nets, t, why,
		    sizeof(why)) < 0)
			return fail(L, n, "rule '%s': bad address range "
			    "'%.80s'%s%s", r->name, t, len ? ": " : "",
			    len ? why : "");
		return 0;
	case RK_ATTACH_NAME:
		if (len == 0 || len > RULES_MAX_GLOB)
			return fail(L, n, "rule '%s': a glob must have 1 to "
			    "%d bytes", r->name, RULES_MAX_GLOB);
		push_str(r, t);
		return 0;
	case RK_ATTACH_EXT:
		if (*t == '.')
			t++;
		len = strlen(t);
		if (len == 0 || len > 16)
			return fail(L, n, "rule '%s': bad extension '%.80s'",
			    r->name, t);
		for (d = t; *d; d++)
			if (!isalnum((unsigned char)*d) &&
			    strchr("_~$-", *d) == NULL)
				return fail(L, n, "rule '%s': bad extension "
				    "'%.80s'", r->name, t);
		lower(t);
		push_str(r, t);
		return 0;
	case RK_TYPE_MISMATCH:
		lower(t);
		if (!rules_magic_known(t))
			return fail(L, n, "rule '%s': '%.80s' is not a type "
			    "the magic table detects", r->name, t);
		push_str(r, t);
		return 0;
	case RK_SHA256: {
		unsigned char h[32];

		if (len != 64)
			return fail(L, n, "rule '%s': a SHA-256 has 64 hex "
			    "digits", r->name);
		for (size_t i = 0; i < 32; i++) {
			int hi = rules_hexval(t[2 * i]);
			int lo = rules_hexval(t[2 * i + 1]);

			if (hi < 0 || lo < 0)
				return fail(L, n, "rule '%s': a SHA-256 has 64 "
				    "hex digits", r->name);
			h[i] = (unsigned char)(hi << 4 | lo);
		}
		r->hash = rules_xrealloc(r->hash,
		    (r->nhash + 1) * sizeof(*r->hash));
		memcpy(r->hash[r->nhash++], h, 32);
		return 0;
	}
	case RK_LINK_MISMATCH:
		break;
	}
	return fail(L, n, "rule '%s': takes no <%s>", r->name, n->name);
}

struct kind_desc {
	const char *element;
	enum rule_kind kind;
	const char *item;	/* child element, NULL: none */
	int	 min_items;
};

static const struct kind_desc kinds[] = {
	{ "header", RK_HEADER, "regex", 1 },
	{ "body", RK_BODY, "phrase", 1 },
	{ "link", RK_LINK, "domain", 1 },
	{ "link-mismatch", RK_LINK_MISMATCH, NULL, 0 },
	{ "client", RK_CLIENT, "net", 1 },
	{ "helo", RK_HELO, "domain", 1 },
	{ "sender", RK_SENDER, "domain", 1 },
	{ "attachment-name", RK_ATTACH_NAME, "glob", 1 },
	{ "attachment-ext", RK_ATTACH_EXT, "ext", 1 },
	{ "type-mismatch", RK_TYPE_MISMATCH, "detected", 0 },
	{ "sha256", RK_SHA256, "hash", 1 },
};

static void
rule_free(struct rule *r)
{
	free(r->name);
	free(r->field);
	for (size_t i = 0; i < r->nre; i++)
		regfree(&r->re[i]);
	free(r->re);
	for (size_t i = 0; i < r->nstr; i++)
		free(r->str[i]);
	free(r->str);
	rules_net_free(&r->nets);
	free(r->hash);
}

/* Yes/no attributes; absent gives def. */
static int
get_yesno(struct loader *L, xmlNodePtr n, const char *name, int def,
    int *out)
{
	char *v = get_attr(n, name);
	int rc = 0;

	*out = def;
	if (v == NULL)
		return 0;
	if (strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0)
		*out = 0;
	else
		rc = fail(L, n, "%s must be yes or no, not '%.40s'", name, v);
	free(v);
	return rc;
}

/* Compiles one rule element into db->rules[db->nrules]. */
static int
load_rule(struct loader *L, xmlNodePtr n, const struct kind_desc *k)
{
	struct rules_db *db = L->db;
	struct rule *r;
	char *v, *end;
	long score;
	int icase = 0, items = 0;

	if (db->nrules >= RULES_MAX_RULES)
		return fail(L, n, "more than %d rules", RULES_MAX_RULES);
	db->rules = rules_xrealloc(db->rules,
	    (db->nrules + 1) * sizeof(*db->rules));
	r = &db->rules[db->nrules++];
	memset(r, 0, sizeof(*r));
	r->kind = k->kind;
	r->line = xmlGetLineNo(n);

	if ((r->name = get_attr(n, "name")) == NULL)
		return fail(L, n, "<%s> without a name", k->element);
	if (!valid_name(r->name))
		return fail(L, n, "bad rule name '%.80s' (1 to %d letters, "
		    "digits, '_', '.', ':' or '-')", r->name, RULES_MAX_NAME);
	if ((v = get_attr(n, "score")) == NULL)
		return fail(L, n, "rule '%s' without a score", r->name);
	errno = 0;
	score = strtol(v, &end, 10);
	if (end == v || *end != '\0' || errno != 0 ||
	    score < -RULES_MAX_SCORE || score > RULES_MAX_SCORE) {
		free(v);
		return fail(L, n, "rule '%s': score must be an integer from "
		    "%d to %d", r->name, -RULES_MAX_SCORE, RULES_MAX_SCORE);
	}
	free(v);
	r->score = (int)score;

	if (k->kind == RK_HEADER) {
		if ((r->field = get_attr(n, "field")) == NULL)
			return fail(L, n, "rule '%s': <header> needs a field",
			    r->name);
		if (*r->field == '\0' || strlen(r->field) > 76 ||
		    strpbrk(r->field, ": \t\r\n") != NULL)
			return fail(L, n, "rule '%s': bad header field name",
			    r->name);
		if (get_yesno(L, n, "icase", 0, &icase) < 0)
			return -1;
	}
	if (k->kind == RK_ATTACH_EXT &&
	    get_yesno(L, n, "double", 0, &r->double_ext) < 0)
		return -1;

	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		char *text;
		int rc;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (k->item == NULL || !is_element(c, k->item))
			return fail(L, c, "rule '%s': unexpected <%s> in "
			    "<%s>", r->name, c->name, k->element);
		if (++items > RULES_MAX_ITEMS)
			return fail(L, c, "rule '%s': more than %d <%s>",
			    r->name, RULES_MAX_ITEMS, k->item);
		text = get_text(c);
		rc = add_item(L, r, c, text, icase);
		free(text);
		if (rc < 0)
			return -1;
	}
	if (items < k->min_items)
		return fail(L, n, "rule '%s': needs at least one <%s>",
		    r->name, k->item);
	if (r->nstr > 1 && (k->kind == RK_LINK || k->kind == RK_HELO ||
	    k->kind == RK_SENDER))
		qsort(r->str, r->nstr, sizeof(*r->str), rules_cmp_str);
	if (r->nhash > 1)
		qsort(r->hash, r->nhash, sizeof(*r->hash), rules_cmp_hash);
	return 0;
}

static int
load_ruleset(struct loader *L, xmlNodePtr n)
{
	struct rules_db *db = L->db;
	struct ruleset *s;
	size_t si;

	if (db->nsets >= RULES_MAX_SETS)
		return fail(L, n, "more than %d rule sets", RULES_MAX_SETS);
	db->sets = rules_xrealloc(db->sets, (db->nsets + 1) * sizeof(*db->sets));
	si = db->nsets++;
	s = &db->sets[si];
	memset(s, 0, sizeof(*s));
	s->line = xmlGetLineNo(n);
	if ((s->name = get_attr(n, "name")) == NULL)
		return fail(L, n, "<ruleset> without a name");
	if (!valid_name(s->name))
		return fail(L, n, "bad rule set name '%.80s'", s->name);

	for (xmlNodePtr c = n->children; c != NULL; c = c->next) {
		const struct kind_desc *k = NULL;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is_element(c, "include")) {
			struct include_ref *ir;
			char *name = get_attr(c, "ruleset");

			if (name == NULL)
				return fail(L, c, "<include> without a "
				    "ruleset");
			L->inc = rules_xrealloc(L->inc, (L->ninc + 1) *
			    sizeof(*L->inc));
			ir = &L->inc[L->ninc++];
			ir->set = si;
			ir->name = name;
			ir->line = xmlGetLineNo(c);
			continue;
		}
		for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
			if (is_element(c, kinds[i].element))
				k = &kinds[i];
		if (k == NULL)
			return fail(L, c, "unknown rule kind <%s>", c->name);
		if (load_rule(L, c, k) < 0)
			return -1;
		/* db->sets may not move here: only rules grow */
		s->rules = rules_xrealloc(s->rules, (s->nrules + 1) *
		    sizeof(*s->rules));
		s->rules[s->nrules++] = db->nrules - 1;
	}
	return 0;
}

/* Index order sorted by name, for finding duplicates in O(n log n). */
struct name_ix {
	const char *name;
	long	 line;
};

static int
cmp_name_ix(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

static int
check_unique(struct loader *L, struct name_ix *v, size_t n, const char *what)
{
	qsort(v, n, sizeof(*v), cmp_name_ix);
	for (size_t i = 1; i < n; i++)
		if (strcmp(v[i].name, v[i - 1].name) == 0) {
			snprintf(L->err, L->errlen, "%s:%ld: duplicate %s name "
			    "'%s' (first at line %ld)", L->name, v[i].line,
			    what, v[i].name, v[i - 1].line);
			return -1;
		}
	return 0;
}

long
rules_set_index(const struct rules_db *db, const char *name)
{
	for (size_t i = 0; i < db->nsets; i++)
		if (strcmp(db->sets[i].name, name) == 0)
			return (long)i;
	return -1;
}

/* 1 if set s reaches target through includes (state: 0 new, 1 seen). */
static int
reaches(const struct rules_db *db, size_t s, size_t target,
    unsigned char *seen)
{
	if (seen[s])
		return 0;
	seen[s] = 1;
	for (size_t i = 0; i < db->sets[s].ninc; i++) {
		size_t t = db->sets[s].includes[i];

		if (t == target || reaches(db, t, target, seen))
			return 1;
	}
	return 0;
}

/* Resolves the includes: unknown names and cycles are refused. */
static int
resolve_includes(struct loader *L)
{
	struct rules_db *db = L->db;
	unsigned char *seen;

	for (size_t i = 0; i < L->ninc; i++) {
		struct include_ref *ir = &L->inc[i];
		struct ruleset *s = &db->sets[ir->set];
		long t = rules_set_index(db, ir->name);

		if (t < 0) {
			snprintf(L->err, L->errlen, "%s:%ld: rule set '%s' "
			    "includes unknown rule set '%.80s'", L->name,
			    ir->line, s->name, ir->name);
			return -1;
		}
		s->includes = rules_xrealloc(s->includes, (s->ninc + 1) *
		    sizeof(*s->includes));
		s->includes[s->ninc++] = (size_t)t;
	}
	seen = rules_xmalloc(db->nsets);
	for (size_t i = 0; i < L->ninc; i++) {
		const struct include_ref *ir = &L->inc[i];

		memset(seen, 0, db->nsets);
		if (reaches(db, ir->set, ir->set, seen)) {
			snprintf(L->err, L->errlen, "%s:%ld: rule set '%s' "
			    "includes itself (an include cycle)", L->name,
			    ir->line, db->sets[ir->set].name);
			free(seen);
			return -1;
		}
	}
	free(seen);
	return 0;
}

static int
check_names(struct loader *L)
{
	struct rules_db *db = L->db;
	size_t n = db->nrules > db->nsets ? db->nrules : db->nsets;
	struct name_ix *v = rules_xcalloc(n ? n : 1, sizeof(*v));
	int rc;

	for (size_t i = 0; i < db->nrules; i++)
		v[i] = (struct name_ix){ db->rules[i].name, db->rules[i].line };
	rc = check_unique(L, v, db->nrules, "rule");
	if (rc == 0) {
		for (size_t i = 0; i < db->nsets; i++)
			v[i] = (struct name_ix){ db->sets[i].name,
			    db->sets[i].line };
		rc = check_unique(L, v, db->nsets, "rule set");
	}
	free(v);
	return rc;
}

static int
compile(struct loader *L, xmlDocPtr doc)
{
	xmlNodePtr root = xmlDocGetRootElement(doc);

	if (root == NULL || !is_element(root, "rules"))
		return fail(L, root, "the root element must be <rules>");
	L->db->version = get_attr(root, "version");
	if (L->db->version != NULL && strlen(L->db->version) > 63)
		return fail(L, root, "version has more than 63 bytes");
	for (xmlNodePtr c = root->children; c != NULL; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (!is_element(c, "ruleset"))
			return fail(L, c, "unexpected <%s> in <rules>",
			    c->name);
		if (load_ruleset(L, c) < 0)
			return -1;
	}
	if (L->db->nsets == 0)
		return fail(L, root, "no <ruleset>");
	if (check_names(L) < 0 || resolve_includes(L) < 0)
		return -1;
	return 0;
}

struct rules_db *
rules_compile(struct _xmlDoc *doc, const char *name, char *err,
    size_t errlen)
{
	struct loader L = { name, err, errlen, NULL, NULL, 0 };
	int rc;

	L.db = rules_xcalloc(1, sizeof(*L.db));
	rc = compile(&L, doc);
	for (size_t i = 0; i < L.ninc; i++)
		free(L.inc[i].name);
	free(L.inc);
	if (rc < 0) {
		rules_db_free(L.db);
		return NULL;
	}
	return L.db;
}

void
rules_db_free(struct rules_db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->nrules; i++)
		rule_free(&db->rules[i]);
	free(db->rules);
	for (size_t i = 0; i < db->nsets; i++) {
		free(db->sets[i].name);
		free(db->sets[i].rules);
		free(db->sets[i].includes);
	}
	free(db->sets);
	free(db->version);
	free(db);
}
