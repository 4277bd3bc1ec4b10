/*
 * The rule file: read with libxml2 (no DTD, no entities from outside, no
 * network), validated against the RELAX NG schema (etc/rules.rng), then
 * compiled (compile.c) into a rules_db; and the rules of one rule set
 * chosen from it.  The compiler checks everything again that it relies on,
 * so a file loaded without a schema (the fuzz target does that) is just as
 * safe.  Every refusal names the file and the line.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "rules.h"

struct rules_schema {
	xmlRelaxNGPtr rng;
};

/* ---- libxml2 errors: the first one, as "name:line: message" ---------- */

struct xml_errors {
	const char *name;
	char	*err;
	size_t	 errlen;
	int	 have;
	xmlStructuredErrorFunc saved_fn;
	void	*saved_ctx;
};

static void
xml_error(void *arg, xmlErrorPtr e)
{
	struct xml_errors *xe = arg;
	const char *msg;
	size_t mlen;
	long line;

	if (xe->have || e == NULL || e->level == XML_ERR_WARNING)
		return;
	xe->have = 1;
	msg = e->message != NULL ? e->message : "error";
	mlen = strlen(msg);
	while (mlen > 0 && isspace((unsigned char)msg[mlen - 1]))
		mlen--;
	line = e->line;
	if (line == 0 && e->node != NULL)
		line = xmlGetLineNo(e->node);
	snprintf(xe->err, xe->errlen, "%s:%ld: %.*s", xe->name, line,
	    (int)mlen, msg);
}

/* Routes this thread's libxml2 errors to xe until errors_end(). */
static void
errors_begin(struct xml_errors *xe, const char *name, char *err,
    size_t errlen)
{
	memset(xe, 0, sizeof(*xe));
	xe->name = name;
	xe->err = err;
	xe->errlen = errlen;
	xe->saved_fn = xmlStructuredError;
	xe->saved_ctx = xmlStructuredErrorContext;
	xmlSetStructuredErrorFunc(xe, xml_error);
}

static void
errors_end(struct xml_errors *xe)
{
	xmlSetStructuredErrorFunc(xe->saved_ctx, xe->saved_fn);
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void
xml_init_once(void)
{
	xmlInitParser();
}

void
rules_xml_init(void)
{
	pthread_once(&xml_once, xml_init_once);
}

/* ---- schema ------------------------------------------------------------ */

struct rules_schema *
rules_schema_load(const char *path, char *err, size_t errlen)
{
	struct xml_errors xe;
	xmlRelaxNGParserCtxtPtr pc;
	struct rules_schema *s = NULL;
	xmlRelaxNGPtr rng = NULL;

	rules_xml_init();
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	errors_begin(&xe, path, err, errlen);
	if ((pc = xmlRelaxNGNewParserCtxt(path)) != NULL) {
		xmlRelaxNGSetParserStructuredErrors(pc, xml_error, &xe);
		rng = xmlRelaxNGParse(pc);
		xmlRelaxNGFreeParserCtxt(pc);
	}
	errors_end(&xe);
	if (rng == NULL) {
		if (!xe.have)
			snprintf(err, errlen, "%s: not a RELAX NG schema",
			    path);
		return NULL;
	}
	s = rules_xcalloc(1, sizeof(*s));
	s->rng = rng;
	return s;
}

struct rules_schema *
rules_schema_builtin(char *err, size_t errlen)
{
	extern const char rules_builtin_schema[];
	struct xml_errors xe;
	xmlRelaxNGParserCtxtPtr pc;
	struct rules_schema *s = NULL;
	xmlRelaxNGPtr rng = NULL;

	rules_xml_init();
	errors_begin(&xe, "(built-in rules.rng)", err, errlen);
	if ((pc = xmlRelaxNGNewMemParserCtxt(rules_builtin_schema,
	    (int)strlen(rules_builtin_schema))) != NULL) {
		xmlRelaxNGSetParserStructuredErrors(pc, xml_error, &xe);
		rng = xmlRelaxNGParse(pc);
		xmlRelaxNGFreeParserCtxt(pc);
	}
	errors_end(&xe);
	if (rng == NULL) {
		if (!xe.have)
			snprintf(err, errlen, "the built-in rules schema does "
			    "not parse");
		return NULL;
	}
	s = rules_xcalloc(1, sizeof(*s));
	s->rng = rng;
	return s;
}

void
rules_schema_free(struct rules_schema *s)
{
	if (s == NULL)
		return;
	xmlRelaxNGFree(s->rng);
	free(s);
}

/* ---- parsing ----------------------------------------------------------- */

/* SAX hook: a DOCTYPE stops the parser (no DTD, hence no entities). */
static void
refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext_id,
    const xmlChar *sys_id)
{
	xmlParserCtxtPtr ctxt = ctx;
	struct xml_errors *xe = ctxt->_private;

	(void)name;
	(void)ext_id;
	(void)sys_id;
	if (!xe->have) {
		xe->have = 1;
		snprintf(xe->err, xe->errlen, "%s:%d: a DOCTYPE (DTD) is not "
		    "allowed in a rule file", xe->name,
		    xmlSAX2GetLineNumber(ctx));
	}
	xmlStopParser(ctxt);
}

static xmlDocPtr
parse_xml(const char *buf, size_t len, struct xml_errors *xe)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr doc;

	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		snprintf(xe->err, xe->errlen, "%s: out of memory", xe->name);
		return NULL;
	}
	ctxt->_private = xe;
	ctxt->sax->internalSubset = refuse_dtd;
	doc = xmlCtxtReadMemory(ctxt, buf, (int)len, xe->name, NULL,
	    XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	xmlFreeParserCtxt(ctxt);
	if (xe->have) {		/* any error, even one libxml2 recovers from */
		xmlFreeDoc(doc);
		return NULL;
	}
	if (doc == NULL)
		snprintf(xe->err, xe->errlen, "%s: not well-formed XML",
		    xe->name);
	return doc;
}

struct rules_db *
rules_load_buffer(const char *name, const char *buf, size_t len,
    const struct rules_schema *schema, char *err, size_t errlen)
{
	struct xml_errors xe;
	struct rules_db *db = NULL;
	xmlDocPtr doc = NULL;

	rules_xml_init();
	if (len > RULES_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %zu bytes", name,
		    RULES_MAX_FILE);
		return NULL;
	}
	errors_begin(&xe, name, err, errlen);
	if ((doc = parse_xml(buf, len, &xe)) == NULL)
		goto out;
	if (schema != NULL) {
		xmlRelaxNGValidCtxtPtr vc = xmlRelaxNGNewValidCtxt(schema->rng);
		int rc = -1;

		if (vc != NULL) {
			xmlRelaxNGSetValidStructuredErrors(vc, xml_error, &xe);
			rc = xmlRelaxNGValidateDoc(vc, doc);
			xmlRelaxNGFreeValidCtxt(vc);
		}
		if (rc != 0) {
			char why[512];
			struct rules_db *tmp;

			if (!xe.have)
				snprintf(err, errlen, "%s: does not match the "
				    "schema", name);
			/* libxml2's words are vague ("failed to validate
			 * attributes"): the compiler's, if it fails too, say
			 * which rule and what */
			if ((tmp = rules_compile(doc, name, why,
			    sizeof(why))) == NULL)
				snprintf(err, errlen, "%s", why);
			rules_db_free(tmp);
			goto out;
		}
	}
	db = rules_compile(doc, name, err, errlen);
out:
	errors_end(&xe);
	xmlFreeDoc(doc);
	return db;
}

struct rules_db *
rules_load_file(const char *path, const struct rules_schema *schema,
    char *err, size_t errlen)
{
	struct rules_db *db;
	size_t len;
	char *buf;

	if ((buf = rules_read_file(path, RULES_MAX_FILE, &len, err,
	    errlen)) == NULL)
		return NULL;
	db = rules_load_buffer(path, buf, len, schema, err, errlen);
	free(buf);
	return db;
}

/* ---- choosing a rule set ------------------------------------------------ */

/* Included sets first, then the set's own rules; each rule once. */
static void
collect(const struct rules_db *db, size_t s, unsigned char *set_seen,
    unsigned char *rule_seen, struct rules_active *act)
{
	const struct ruleset *rs = &db->sets[s];

	if (set_seen[s])
		return;
	set_seen[s] = 1;
	for (size_t i = 0; i < rs->ninc; i++)
		collect(db, rs->includes[i], set_seen, rule_seen, act);
	for (size_t i = 0; i < rs->nrules; i++) {
		size_t ri = rs->rules[i];

		if (rule_seen[ri])
			continue;
		rule_seen[ri] = 1;
		act->r[act->n++] = &db->rules[ri];
	}
}

int
rules_select(const struct rules_db *db, const char *name,
    struct rules_active *act, char *err, size_t errlen)
{
	unsigned char *set_seen, *rule_seen;
	long s = rules_set_index(db, name);

	memset(act, 0, sizeof(*act));
	if (s < 0) {
		size_t off = (size_t)snprintf(err, errlen, "no rule set '%s' "
		    "(the file has", name);

		for (size_t i = 0; i < db->nsets && off < errlen; i++)
			off += (size_t)snprintf(err + off, errlen - off,
			    "%s '%s'", i ? "," : "", db->sets[i].name);
		if (off < errlen)
			snprintf(err + off, errlen - off, ")");
		return -1;
	}
	act->r = rules_xcalloc(db->nrules ? db->nrules : 1, sizeof(*act->r));
	set_seen = rules_xcalloc(db->nsets, 1);
	rule_seen = rules_xcalloc(db->nrules ? db->nrules : 1, 1);
	collect(db, (size_t)s, set_seen, rule_seen, act);
	free(set_seen);
	free(rule_seen);
	for (size_t i = 0; i < act->n; i++) {
		switch (act->r[i]->kind) {
		case RK_HEADER:
			act->need |= NEED_HEADER;
			break;
		case RK_BODY:
			act->need |= NEED_TEXT;
			break;
		case RK_LINK:
		case RK_LINK_MISMATCH:
			act->need |= NEED_HTML;
			break;
		case RK_ATTACH_NAME:
		case RK_ATTACH_EXT:
		case RK_TYPE_MISMATCH:
			act->need |= NEED_ATTACH;
			break;
		case RK_SHA256:
			act->need |= NEED_ATTACH | NEED_SHA256;
			break;
		case RK_CLIENT:
		case RK_HELO:
		case RK_SENDER:
			break;
		}
	}
	return 0;
}

void
rules_active_free(struct rules_active *act)
{
	free(act->r);
	memset(act, 0, sizeof(*act));
}
