/*
 * The rules engine (engines/rules): rule files refused with the line that
 * is wrong (schema and semantic errors), every rule kind firing on a
 * crafted message and not on a benign one, IPv6 client ranges, thresholds
 * and verdict names, express against full rule sets, objects in files,
 * and changed(); the HTML link scanner on a table of cases (entities,
 * quoting, case, broken tags, many attributes), its cost on one tag of
 * 32,000 attributes against the same attributes spread over many tags,
 * and the deadline.  Test rule files are in t/data/rules/.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <scanmilter/engine.h>

#include "cidr.h"
#include "options.h"
#include "parts.h"
#include "rules.h"

extern const struct sm_engine_ops sm_engine_rules;

#define DATA SRCDIR "/t/data/rules/"
#define SCHEMA SRCDIR "/etc/rules.rng"

static void test_log(int, const char *, ...) __attribute__((format(printf, 2,
    3)));

static void
test_log(int prio, const char *fmt, ...)
{
	(void)prio;
	(void)fmt;
}

static const struct sm_engine_env env = { "rules1", "/tmp", test_log, 10000 };

struct eng {
	void	*conf;
	void	*h;
};

static int
set_opt(void *conf, const char *name, const char *value)
{
	char err[256];

	return opt_set(opt_find(sm_engine_rules.options, name), value, NULL,
	    conf, err, sizeof(err));
}

/* Builds an engine on file (absolute, or relative to t/data/rules). */
static int
eng_open(struct eng *e, const char *file, const char *ruleset,
    const char *spam, const char *suspect, char *err, size_t errlen)
{
	char path[1024];

	e->conf = calloc(1, sm_engine_rules.conf_size);
	for (const struct sm_option *o = sm_engine_rules.options; o->name;
	    o++)
		if (o->def != NULL)
			assert_int_equal(set_opt(e->conf, o->name, o->def), 0);
	snprintf(path, sizeof(path), "%s%s", *file == '/' ? "" : DATA, file);
	assert_int_equal(set_opt(e->conf, "config_path", path), 0);
	assert_int_equal(set_opt(e->conf, "schema_path", SCHEMA), 0);
	assert_int_equal(set_opt(e->conf, "ruleset", ruleset), 0);
	if (spam != NULL)
		assert_int_equal(set_opt(e->conf, "spam_score", spam), 0);
	if (suspect != NULL)
		assert_int_equal(set_opt(e->conf, "suspect_score", suspect), 0);
	err[0] = '\0';
	e->h = sm_engine_rules.create(e->conf, &env, err, errlen);
	return e->h != NULL ? 0 : -1;
}

static void
eng_close(struct eng *e)
{
	sm_engine_rules.destroy(e->h);
	opt_free(sm_engine_rules.options, e->conf);
	free(e->conf);
}

static struct sm_result
scan(struct eng *e, const char *msg, const char *client, const char *helo,
    const char *sender)
{
	struct sm_object o = { 0 };
	struct sm_result res;
	struct parts *ps;

	o.kind = SM_OBJ_MESSAGE;
	o.data = (const unsigned char *)msg;
	o.fd = -1;
	o.len = strlen(msg);
	o.client_addr = client ? client : "198.51.100.7";
	o.helo = helo ? helo : "mail.example.com";
	o.sender = sender ? sender : "alice@example.com";
	o.id = "test";
	/* the parts, as the daemon offers them */
	ps = parts_new_buffer(o.data, o.len);
	parts_attach(ps, &o);
	assert_int_equal(sm_engine_rules.scan(e->h, &o, &res), 0);
	parts_free(ps);
	return res;
}

/* 1 if the verdict name lists rule (as a whole name). */
static int
has_rule(const char *name, const char *rule)
{
	size_t n = strlen(rule);

	for (const char *p = name; (p = strstr(p, rule)) != NULL; p++)
		if (p > name && p[-1] == ' ' && (p[n] == ',' || p[n] == ')'))
			return 1;
	return 0;
}

/* ---- refused files ------------------------------------------------------- */

struct bad_case {
	const char *file;
	int	 line;
	const char *says;	/* a piece of the message */
};

static const struct bad_case bad_cases[] = {
	{ "bad-missing-attr.xml", 5, "rule 'no-score' without a score" },
	{ "bad-unknown-element.xml", 6, "unknown rule kind <dnsbl>" },
	{ "bad-score.xml", 5, "rule 'big': score must be an integer from "
	  "-1000 to 1000" },
	{ "bad-notwf.xml", 5, "rulesett" },
	{ "bad-dtd.xml", 2, "DOCTYPE" },
	{ "bad-regex.xml", 6, "bad regex" },
	{ "bad-backref.xml", 5, "back-references" },
	{ "bad-cidr.xml", 6, "2001:db8::/129" },
	{ "bad-duplicate.xml", 8, "duplicate rule name 'same' (first at "
	  "line 4)" },
	{ "bad-include.xml", 5, "unknown rule set 'service-provider-expres'" },
	{ "bad-cycle.xml", 4, "includes itself" },
	{ "no-such-file.xml", 0, "No such file" },
};

static void
test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct eng e;
		char err[512], where[256];

		if (eng_open(&e, bc->file, "service-provider-full", NULL, NULL,
		    err, sizeof(err)) == 0)
			fail_msg("%s: accepted", bc->file);
		snprintf(where, sizeof(where), "%s:%d: ", bc->file, bc->line);
		if (bc->line > 0 && strstr(err, where) == NULL)
			fail_msg("%s: error '%s' does not name line %d",
			    bc->file, err, bc->line);
		if (strstr(err, bc->says) == NULL)
			fail_msg("%s: error '%s' does not say '%s'", bc->file,
			    err, bc->says);
		eng_close(&e);
	}
}

/* The same semantic checks hold without the schema (the fuzz path). */
static void
test_refused_without_schema(void **state)
{
	static const struct { const char *xml, *says; } cases[] = {
		{ "<rules><ruleset name='a'><helo name='h'><domain>x.example"
		  "</domain></helo></ruleset></rules>", ":1: rule 'h' without "
		  "a score" },
		{ "<rules><ruleset name='a'><foo/></ruleset></rules>",
		  ":1: unknown rule kind <foo>" },
		{ "<rules><ruleset name='a'>\n<helo name='h' score='x'><domain>"
		  "x.example</domain></helo></ruleset></rules>", ":2: rule 'h': "
		  "score must be" },
		{ "<rules><ruleset name='a'><helo name='h' score='1'><domain>"
		  "a..b</domain></helo></ruleset></rules>", "bad domain" },
		{ "<rules><ruleset name='a'><sha256 name='h' score='1'><hash>"
		  "00</hash></sha256></ruleset></rules>", "64 hex digits" },
		{ "<rules><ruleset name='a'><type-mismatch name='t' score='1'>"
		  "<detected>text/plain</detected></type-mismatch></ruleset>"
		  "</rules>", "not a type the magic table detects" },
		{ "<rules><ruleset name='a'><header name='h' score='1' "
		  "field='Subject'><regex>(a{100}){101}</regex></header>"
		  "</ruleset></rules>", "too large once compiled" },
		{ "<rules><ruleset name='a'><header name='h' score='1' "
		  "field='Subject'><regex>m+++++++++++++++++++++++++++any"
		  "</regex></header></ruleset></rules>",
		  "too large once compiled" },
		{ "<rules><ruleset name='a'><header name='h' score='1' "
		  "field='Subject'><regex>((((((((((((((((((((a+)+)+)+)+)+)+)"
		  "+)+)+)+)+)+)+)+)+)+)+)+)+)+</regex></header></ruleset>"
		  "</rules>", "too large once compiled" },
		{ "<rules/>", "no <ruleset>" },
		{ "<other/>", "root element must be <rules>" },
		{ "", "buf.xml:" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char err[512] = "";
		struct rules_db *db = rules_load_buffer("buf.xml", cases[i].xml,
		    strlen(cases[i].xml), NULL, err, sizeof(err));

		if (db != NULL)
			fail_msg("case %zu accepted", i);
		if (strstr(err, cases[i].says) == NULL)
			fail_msg("case %zu: '%s' does not say '%s'", i, err,
			    cases[i].says);
	}
}

/* Ordinary expressions pass the size estimate. */
static void
test_regex_accepted(void **state)
{
	static const char *const ok[] = {
		"a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+",
		"^[0-9]{1,3}(\\.[0-9]{1,3}){3}$",
		"(viagra|cialis|[a-z]{2,20} pills)+ (now|today)?",
		"[[:alpha:]]{1,64}@[][a-z.{}-]+",
		"x{1000}",
	};
	char xml[512], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
		struct rules_db *db;

		snprintf(xml, sizeof(xml), "<rules><ruleset name='a'><header "
		    "name='h' score='1' field='Subject'><regex>%s</regex>"
		    "</header></ruleset></rules>", ok[i]);
		db = rules_load_buffer("buf.xml", xml, strlen(xml), NULL, err,
		    sizeof(err));
		if (db == NULL)
			fail_msg("'%s' refused: %s", ok[i], err);
		rules_db_free(db);
	}
}

static void
test_shipped_file(void **state)
{
	struct eng e;
	char err[512];

	(void)state;
	if (eng_open(&e, SRCDIR "/etc/rules.xml", "service-provider-full",
	    NULL, NULL, err, sizeof(err)) < 0)
		fail_msg("etc/rules.xml: %s", err);
	eng_close(&e);
	if (eng_open(&e, SRCDIR "/etc/rules.xml", "service-provider-express",
	    NULL, NULL, err, sizeof(err)) < 0)
		fail_msg("etc/rules.xml: %s", err);
	eng_close(&e);
	assert_int_equal(eng_open(&e, SRCDIR "/etc/rules.xml", "nope", NULL,
	    NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no rule set 'nope' (the file has "
	    "'service-provider-express', 'service-provider-full')"));
	eng_close(&e);
	assert_int_equal(eng_open(&e, "good.xml", "scoring", "3", "4", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "suspect_score"));
	eng_close(&e);
}

/* ---- rule kinds ----------------------------------------------------------- */

#define HDR "From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n" \
	"Subject: lunch\r\nMIME-Version: 1.0\r\n"
#define MIXED "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" \
	"--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
#define ATT(ct, name, b64) "--b1\r\nContent-Type: " ct "\r\n" \
	"Content-Transfer-Encoding: base64\r\nContent-Disposition: " \
	"attachment; filename=\"" name "\"\r\n\r\n" b64 "\r\n"
#define END "--b1--\r\n"
#define HTML(body) HDR "Content-Type: text/html; charset=utf-8\r\n\r\n" \
	"<html><body>" body "</body></html>\r\n"

#define B64_MZ "TVqQAAMAAAAEAAAA//8AAHRoaXMgcHJvZ3JhbSBjYW5ub3QgYmUgcnVu"
#define B64_PDF "JVBERi0xLjQKJXRlc3QgcGRmCg=="
#define B64_ZIP "UEsDBBQAAAAIAA=="
#define B64_EICAR "WDVPIVAlQEFQWzRcUFpYNTQoUF4pN0NDKTd9JEVJQ0FSLVNUQU5EQVJELUFO" \
	"VElWSVJVUy1URVNULUZJTEUhJEgrSCo="

/* Every kind of part, none of it matching a rule. */
static const char benign[] =
	"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
	"Subject: cheap lunch, no pills\r\nX-Mailer: bulkmailer 7\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	"--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
	"--b2\r\nContent-Type: text/plain\r\n\r\nA cure for hunger: lunch.\r\n"
	"--b2\r\nContent-Type: text/html\r\n\r\n<p>See <a href=\"https://www."
	"example.com/menu\">www.example.com</a>, <a href=\"https://example.org"
	"/\">click here</a>, <a href=\"https://shop.example.org/\">example.org"
	"</a>, <a href=\"mailto:x@phish.example\">mail</a>, <a href=\"/rel\">"
	"phish.example</a>, <a href=\"https://files.example.com/a.pdf\">"
	"invoice.pdf</a>.</p>\r\n--b2--\r\n"
	ATT("application/pdf", "report.pdf", B64_PDF)
	ATT("application/zip", "photos.zip", B64_ZIP)
	ATT("application/octet-stream", "setup.exe", B64_MZ)
	ATT("application/pdf", "my.notes.exe", B64_PDF)
	END;

struct kind_case {
	const char *rule;		/* must fire */
	const char *ruleset;
	const char *msg;
	const char *client, *helo, *sender;	/* NULL: benign */
};

static const struct kind_case kind_cases[] = {
	{ "t-client4", "service-provider-express", HDR "\r\nhi\r\n",
	  "192.0.2.55", NULL, NULL },
	{ "t-client4", "service-provider-express", HDR "\r\nhi\r\n",
	  "::ffff:192.0.2.9", NULL, NULL },
	{ "t-client6", "service-provider-express", HDR "\r\nhi\r\n",
	  "2001:db8:bad:1::25", NULL, NULL },
	{ "t-client6", "service-provider-express", HDR "\r\nhi\r\n",
	  "2001:DB8:BAD::", NULL, NULL },
	{ "t-helo", "service-provider-express", HDR "\r\nhi\r\n",
	  NULL, "MX1.Dyn.Example.NET.", NULL },
	{ "t-helo", "service-provider-express", HDR "\r\nhi\r\n",
	  NULL, "dyn.example.net", NULL },
	{ "t-sender", "service-provider-express", HDR "\r\nhi\r\n",
	  NULL, NULL, "x@mail.SPAM.example" },
	{ "t-subject", "service-provider-express",
	  "From: a@example.com\r\nSUBJECT: Buy CHEAP\r\n   pills now\r\n\r\n"
	  "hi\r\n", NULL, NULL, NULL },
	{ "t-case", "service-provider-express",
	  "From: a@example.com\r\nX-Mailer:   BulkMailer 7  \r\n\r\nhi\r\n",
	  NULL, NULL, NULL },
	{ "t-name", "service-provider-express", HDR MIXED
	  ATT("application/zip", "Invoice_2026.ZIP", B64_ZIP) END,
	  NULL, NULL, NULL },
	{ "t-ext", "service-provider-express", HDR MIXED
	  ATT("application/octet-stream", "screensaver.Scr", B64_ZIP) END,
	  NULL, NULL, NULL },
	{ "t-ext", "service-provider-express", HDR MIXED
	  ATT("application/octet-stream", "trailing.scr. . ", B64_ZIP) END,
	  NULL, NULL, NULL },
	{ "t-double", "service-provider-express", HDR MIXED
	  ATT("application/octet-stream", "invoice.pdf.exe", B64_MZ) END,
	  NULL, NULL, NULL },
	{ "t-mismatch", "service-provider-express", HDR MIXED
	  ATT("application/pdf", "report.pdf", B64_MZ) END,
	  NULL, NULL, NULL },
	{ "t-sha", "service-provider-express", HDR MIXED
	  ATT("application/octet-stream", "eicar.com", B64_EICAR) END,
	  NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR "\r\nTry this MIRACLE CURE "
	  "today\r\n", NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR "Content-Transfer-Encoding: "
	  "quoted-printable\r\n\r\nTry this Miracle=\r\n Cure today\r\n",
	  NULL, NULL, NULL },
	{ "t-link", "service-provider-full",
	  HTML("<a href=\"http://LOGIN.phish.example:8080/a\">Login</a>"),
	  NULL, NULL, NULL },
	{ "t-link", "service-provider-full",
	  HTML("<a href=\"https://www.bank.example@phish.example/\">x</a>"),
	  NULL, NULL, NULL },
	{ "t-linkmis", "service-provider-full",
	  HTML("<a href=\"http://evil.example/login\"> www.bank.example </a>"),
	  NULL, NULL, NULL },
	{ "t-linkmis", "service-provider-full",
	  HTML("<a href=\"http://bank.example.evil.example/\"><b>https://"
	  "bank.example/login</b></a>"), NULL, NULL, NULL },
	/* what a reader is shown: RFC 2047 encoded words (B, Q, any
	 * charset; blanks between words dropped), a part's charset made
	 * UTF-8, an HTML part's text with references decoded */
	{ "t-subject", "service-provider-express", "From: a@example.com\r\n"
	  "Subject: =?UTF-8?B?Y2hlYXAgcGlsbHM=?=\r\n\r\nhi\r\n",
	  NULL, NULL, NULL },
	{ "t-subject", "service-provider-express", "From: a@example.com\r\n"
	  "Subject: Re: =?iso-8859-1?q?cheap_p=69lls?= now\r\n\r\nhi\r\n",
	  NULL, NULL, NULL },
	{ "t-subject", "service-provider-express", "From: a@example.com\r\n"
	  "Subject: =?utf-8?q?chea?=\r\n =?us-ascii?Q?p_?=  =?utf-8?b?cGlsbHM"
	  "=?=\r\n\r\nhi\r\n", NULL, NULL, NULL },
	{ "t-subject", "service-provider-express", "From: a@example.com\r\n"
	  "Subject: =?UTF-16BE?B?AGMAaABlAGEAcAAgAHAAaQBsAGwAcw==?=\r\n\r\n"
	  "hi\r\n", NULL, NULL, NULL },
	{ "t-subject", "service-provider-express", "From: a@example.com\r\n"
	  "Subject: =?utf-8*en?Q?cheap=20pills?=\r\n\r\nhi\r\n",
	  NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR "Content-Type: text/plain; "
	  "charset=\"ISO-8859-1\"\r\nContent-Transfer-Encoding: quoted-"
	  "printable\r\n\r\nBitte =DCberweisung sofort!\r\n",
	  NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR "Content-Type: text/plain"
	  "\r\n\r\nBitte \334berweisung   sofort\r\n", NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR "Content-Type: text/plain; "
	  "charset=utf-16\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	  "//5NAGkAcgBhAGMAbABlACAAQwB1AHIAZQA=\r\n", NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR "Content-Type: text/plain; "
	  "charset=UTF-7\r\n\r\n+AE0AaQByAGEAYwBsAGU- Cure\r\n",
	  NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR MIXED "--b1\r\nContent-Type: "
	  "text/plain; format=flowed; charset = windows-1252 (Western)\r\n"
	  "Content-Transfer-Encoding: 8bit\r\n\r\n\334BERWEISUNG\r\n"
	  "SOFORT\r\n" END, NULL, NULL, NULL },
	{ "t-body", "service-provider-full",
	  HTML("Try this Mir&#97;cle&nbsp;C&#x75;re"), NULL, NULL, NULL },
	{ "t-body", "service-provider-full",
	  HTML("Mir<b></b>acle<!-- x --> <span>Cu</span>re"), NULL, NULL,
	  NULL },
	{ "t-body", "service-provider-full",
	  HTML("Mira&shy;cle&#8203; <br>\r\n  Cure"), NULL, NULL, NULL },
	{ "t-body", "service-provider-full", HDR "Content-Type: text/html; "
	  "charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable"
	  "\r\n\r\n<p>=DCberweisung <i>sofort</i></p>\r\n",
	  NULL, NULL, NULL },
	/* the full set includes the express one */
	{ "t-sha", "service-provider-full", HDR MIXED
	  ATT("application/octet-stream", "eicar.com", B64_EICAR) END,
	  NULL, NULL, NULL },
};

static void
test_kinds(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kind_cases) / sizeof(*kind_cases); i++) {
		const struct kind_case *kc = &kind_cases[i];
		struct sm_result r;
		struct eng e;
		char err[512];

		if (eng_open(&e, "good.xml", kc->ruleset, "100", "50", err,
		    sizeof(err)) < 0)
			fail_msg("good.xml: %s", err);
		r = scan(&e, kc->msg, kc->client, kc->helo, kc->sender);
		if (!has_rule(r.name, kc->rule))
			fail_msg("case %zu: %s did not fire: '%s'", i, kc->rule,
			    r.name);
		assert_int_equal(r.verdict, SM_CLEAN);
		eng_close(&e);
	}
}

/* Decoded, but not what a rule asks for: nothing fires. */
static const char *const decoded_misses[] = {
	/* encoded words run together with the text after them */
	"From: a@example.com\r\nSubject: =?utf-8?q?cheap?=pills\r\n\r\n"
	"hi\r\n",
	/* not an encoded word: unknown encoding, no end */
	"From: a@example.com\r\nSubject: =?utf-8?x?cheap_pills?=\r\n\r\n"
	"hi\r\n",
	"From: a@example.com\r\nSubject: =?utf-8?q?cheap_pills\r\n\r\n"
	"hi\r\n",
	/* a block element between the words' letters */
	HTML("Mira<p>cle Cure"),
	HTML("Miracle<b>Cure</b>"),
	/* an unknown reference stands for itself */
	HTML("Miracle&zz;Cure"),
};

/* Near misses: nothing fires on the benign message and envelope. */
static void
test_benign(void **state)
{
	static const struct { const char *client, *helo, *sender; } env_ok[] = {
		{ NULL, NULL, NULL },
		{ "2001:db8:bae::1", "notdyn.example.net", "x@notspam.example" },
		{ "192.0.3.1", "[192.0.2.1]", "" },
		{ "", "", "spam.example" },	/* no @: no domain */
	};
	struct eng e;
	char err[512];

	(void)state;
	if (eng_open(&e, "good.xml", "service-provider-full", NULL, NULL,
	    err, sizeof(err)) < 0)
		fail_msg("good.xml: %s", err);
	for (size_t i = 0; i < sizeof(env_ok) / sizeof(*env_ok); i++) {
		struct sm_result r = scan(&e, benign, env_ok[i].client,
		    env_ok[i].helo, env_ok[i].sender);

		assert_int_equal(r.verdict, SM_CLEAN);
		if (strcmp(r.name, "Clean (score 0)") != 0)
			fail_msg("envelope %zu: '%s'", i, r.name);
	}
	for (size_t i = 0; i < sizeof(decoded_misses) /
	    sizeof(*decoded_misses); i++) {
		struct sm_result r = scan(&e, decoded_misses[i], NULL, NULL,
		    NULL);

		if (strcmp(r.name, "Clean (score 0)") != 0)
			fail_msg("decoded miss %zu: '%s'", i, r.name);
	}
	eng_close(&e);
}

static void
test_thresholds(void **state)
{
	static const struct {
		const char *xtest;
		enum sm_verdict v;
		const char *name;
	} cases[] = {
		{ "nothing", SM_CLEAN, "Clean (score 0)" },
		{ "two", SM_CLEAN, "Clean (score 2: s-two)" },
		{ "three", SM_CLEAN, "Suspect (score 3: s-three)" },
		{ "two three", SM_INFECTED, "Spam (score 5: s-two, s-three)" },
		{ "two three minus", SM_CLEAN,
		  "Clean (score 1: s-two, s-three, s-minus)" },
		{ "minus", SM_CLEAN, "Clean (score -4: s-minus)" },
	};
	struct eng e;
	char err[512], msg[256];
	struct sm_result r;

	(void)state;
	if (eng_open(&e, "good.xml", "scoring", "5", "3", err,
	    sizeof(err)) < 0)
		fail_msg("good.xml: %s", err);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		snprintf(msg, sizeof(msg), "From: a@example.com\r\nX-Test: %s"
		    "\r\n\r\nbody\r\n", cases[i].xtest);
		r = scan(&e, msg, NULL, NULL, NULL);
		if (r.verdict != cases[i].v || strcmp(r.name, cases[i].name))
			fail_msg("'%s': verdict %d '%s', want %d '%s'",
			    cases[i].xtest, r.verdict, r.name, cases[i].v,
			    cases[i].name);
	}
	/* five long names do not fit in SM_NAME_MAX: cut at a name */
	r = scan(&e, "X-Many: many\r\n\r\nbody\r\n", NULL, NULL, NULL);
	assert_int_equal(r.verdict, SM_INFECTED);
	assert_true(strlen(r.name) < SM_NAME_MAX);
	assert_true(strncmp(r.name, "Spam (score 5: long-rule-name-number-one",
	    40) == 0);
	if (strcmp(r.name + strlen(r.name) - 7, "a, ...)") != 0)
		fail_msg("'%s' is not cut at a name", r.name);
	eng_close(&e);
}

static void
test_express_vs_full(void **state)
{
	static const char msg[] = HDR
	    "Content-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
	    "--b2\r\nContent-Type: text/plain\r\n\r\nmiracle cure\r\n"
	    "--b2\r\nContent-Type: text/html\r\n\r\n<a href=\"http://"
	    "phish.example/\">www.bank.example</a>\r\n--b2--\r\n";
	struct eng e;
	char err[512];
	struct sm_result r;

	(void)state;
	assert_int_equal(eng_open(&e, "good.xml", "service-provider-express",
	    "100", "50", err, sizeof(err)), 0);
	r = scan(&e, msg, "192.0.2.1", NULL, NULL);
	assert_string_equal(r.name, "Clean (score 1: t-client4)");
	eng_close(&e);
	assert_int_equal(eng_open(&e, "good.xml", "service-provider-full",
	    "3", "2", err, sizeof(err)), 0);
	r = scan(&e, msg, "192.0.2.1", NULL, NULL);
	assert_int_equal(r.verdict, SM_INFECTED);
	assert_string_equal(r.name, "Spam (score 4: t-client4, t-body, "
	    "t-link, t-linkmis)");
	eng_close(&e);
}

/* Included twice, counted once; the active set's size per rule set. */
static void
test_includes(void **state)
{
	struct rules_schema *s;
	struct rules_db *db;
	struct rules_active act;
	char err[512];

	(void)state;
	assert_non_null(s = rules_schema_load(SCHEMA, err, sizeof(err)));
	db = rules_load_file(DATA "good.xml", s, err, sizeof(err));
	if (db == NULL)
		fail_msg("%s", err);
	assert_int_equal(rules_select(db, "service-provider-express", &act,
	    err, sizeof(err)), 0);
	assert_int_equal(act.n, 11);
	assert_int_equal(act.need & (NEED_TEXT | NEED_HTML), 0);
	rules_active_free(&act);
	assert_int_equal(rules_select(db, "service-provider-full", &act, err,
	    sizeof(err)), 0);
	assert_int_equal(act.n, 14);
	assert_string_equal(act.r[0]->name, "t-client4");
	rules_active_free(&act);
	assert_int_equal(rules_select(db, "twice", &act, err, sizeof(err)), 0);
	assert_int_equal(act.n, 8);
	rules_active_free(&act);
	assert_string_equal(db->version, "test-1");
	rules_db_free(db);
	rules_schema_free(s);
}

/* Objects in files (pread), mbox envelope lines, parts given alone. */
static void
test_objects(void **state)
{
	static const char msg[] = "From alice@example.com Thu Jan  1 12:00:00 "
	    "2026\r\nFrom: a@example.com\r\nSubject: cheap pills\r\n\r\nhi\r\n";
	char path[] = "/tmp/test_rules.XXXXXX", err[512];
	struct sm_object o = { 0 };
	struct parts *ps;
	struct sm_result r;
	struct eng e;
	int fd;

	(void)state;
	assert_int_equal(eng_open(&e, "good.xml", "service-provider-full",
	    "100", "50", err, sizeof(err)), 0);
	assert_true((fd = mkstemp(path)) >= 0);
	unlink(path);
	assert_int_equal(write(fd, msg, sizeof(msg) - 1),
	    (ssize_t)sizeof(msg) - 1);
	o.kind = SM_OBJ_MESSAGE;
	o.fd = fd;
	o.len = sizeof(msg) - 1;
	o.envelope_len = strchr(msg, '\n') + 1 - msg;
	o.client_addr = "2001:db8:bad::1";
	ps = parts_new_buffer((const unsigned char *)msg + o.envelope_len,
	    o.len - o.envelope_len);
	parts_attach(ps, &o);
	assert_int_equal(sm_engine_rules.scan(e.h, &o, &r), 0);
	assert_string_equal(r.name, "Clean (score 2: t-client6, t-subject)");
	/* the same with envelope_len 0: the "From " line is no header field */
	o.envelope_len = 0;
	assert_int_equal(sm_engine_rules.scan(e.h, &o, &r), 0);
	assert_string_equal(r.name, "Clean (score 2: t-client6, t-subject)");
	close(fd);
	parts_free(ps);

	memset(&o, 0, sizeof(o));
	o.kind = SM_OBJ_PART;
	o.data = (const unsigned char *)"MZ\x90";
	o.len = 3;
	o.fd = -1;
	o.filename = "scan.jpg.exe";
	o.content_type = "image/jpeg";
	assert_int_equal(sm_engine_rules.scan(e.h, &o, &r), 0);
	assert_string_equal(r.name, "Clean (score 2: t-double, t-mismatch)");
	eng_close(&e);
}

static void
test_changed(void **state)
{
	char path[] = "/tmp/test_rules_changed.XXXXXX", err[512];
	FILE *in, *out;
	struct eng e;
	char buf[4096];
	size_t n;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(in = fopen(DATA "good.xml", "r"));
	assert_non_null(out = fdopen(fd, "w"));
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	assert_int_equal(eng_open(&e, path, "scoring", NULL, NULL, err,
	    sizeof(err)), 0);
	assert_int_equal(sm_engine_rules.changed(e.h), 0);
	assert_non_null(out = fopen(path, "a"));
	fputs("<!-- edited -->\n", out);
	fclose(out);
	assert_int_equal(sm_engine_rules.changed(e.h), 1);
	unlink(path);
	assert_int_equal(sm_engine_rules.changed(e.h), 0);
	eng_close(&e);
}


/* ---- HTML links ----------------------------------------------------------- */

struct links_out {
	char	 buf[1024];
	size_t	 n;
};

/* Appends "href-host|text-host;" ("-" for no text host). */
/* ---- decoding: what a reader is shown --------------------------------- */

static double mono_s(void);

static const struct { const char *in, *want; int decoded; } rfc2047_cases[] = {
	{ "plain text", "plain text", 0 },
	{ "=?UTF-8?B?Y2hlYXAgcGlsbHM=?=", "cheap pills", 1 },
	{ "=?utf-8?b?Y2hlYXAgcGlsbHM?=", "cheap pills", 1 },	/* no padding */
	{ "a =?ISO-8859-1?Q?=E9t=E9_chaud?= b", "a \303\251t\303\251 chaud b",
	  1 },
	{ "=?utf-8?q?a?= \t =?utf-8?q?b?=", "ab", 1 },
	{ "=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c", 1 },
	{ "=?utf-8?q?a?=  ", "a  ", 1 },
	{ "=?koi8-r?b?8MnT2M3P?=", "\320\237\320\270\321\201\321\214"
	  "\320\274\320\276", 1 },
	{ "=?utf-8?q?=3D=3f?=", "=?", 1 },
	{ "=?utf-8?q?=ZZ?=", "=ZZ", 1 },		/* a broken escape stays */
	{ "=?no-such-charset?q?caf=E9?=", "caf\303\251", 1 }, /* as cp1252 */
	{ "=?utf/8?q?x?=", "x", 1 },		/* a bad name: as cp1252 */
	{ "=?utf-8?q?a b?=", "=?utf-8?q?a b?=", 0 },
	{ "=?utf-8?x?a?=", "=?utf-8?x?a?=", 0 },
	{ "=?utf-8?q?a", "=?utf-8?q?a", 0 },
	{ "=??q?a?=", "=??q?a?=", 0 },
	{ "=?=?=?utf-8?q?x?=", "=?=?x", 1 },
	{ "=?utf-8?b?AA==?=", " ", 1 },		/* a NUL made a blank */
};

static void
test_rfc2047(void **state)
{
	struct rules_iconv ic;
	char out[64];

	(void)state;
	rules_iconv_init(&ic);
	for (size_t i = 0; i < sizeof(rfc2047_cases) /
	    sizeof(*rfc2047_cases); i++) {
		int d = rules_2047_decode(&ic, rfc2047_cases[i].in, out,
		    sizeof(out));

		if (d != rfc2047_cases[i].decoded || (d &&
		    strcmp(out, rfc2047_cases[i].want) != 0))
			fail_msg("case %zu '%s': %d '%s'", i,
			    rfc2047_cases[i].in, d, out);
	}
	/* the output is capped, NUL included */
	assert_int_equal(rules_2047_decode(&ic, "=?utf-8?q?abcdefgh?=", out,
	    5), 1);
	assert_string_equal(out, "abcd");
	assert_int_equal(rules_2047_decode(&ic, "x  =?utf-8?q?a?= ", out, 3),
	    0);
	assert_string_equal(out, "x ");
	rules_iconv_close(&ic);
}

static const struct { const char *html, *want; } shown_cases[] = {
	{ "<p>Hello <b>wor</b>ld</p>", " Hello world " },
	{ "a&amp;b &lt;c&gt; &#65;&#x42; &nbsp;", "a&b <c> AB \302\240" },
	{ "x<!-- hidden -->y<!---->z", "xyz" },
	{ "<style>p { x }</style>t<script>var a = '<b>';</script>u",
	  "  t  u" },
	{ "<title>no</title>yes", "  yes" },
	{ "a<br/>b<div class='x>'>c", "a b c" },
	{ "1 < 2 & 3", "1 < 2 & 3" },
	{ "trailing <", "trailing <" },
	{ "cut <a href=\"x", "cut " },
	{ "</>x<?php y ?>z", "xz" },
};

static const struct { const char *in, *want; } fold_cases[] = {
	{ "Miracle  Cure", "miracle cure" },
	{ "a\r\n\t b", "a b" },
	{ "a\302\240b", "a b" },
	{ "so\302\255ft zero\342\200\213width\357\273\277",
	  "soft zerowidth" },
	{ "\303\234BER \303\237 \303\227", "\303\274ber \303\237 \303\227" },
};

static void
test_shown_text(void **state)
{
	char out[256];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(shown_cases) / sizeof(*shown_cases);
	    i++) {
		const char *h = shown_cases[i].html;

		assert_int_equal(rules_html_text((const unsigned char *)h,
		    strlen(h), out, sizeof(out), &n, NULL), 0);
		out[n] = '\0';
		if (strcmp(out, shown_cases[i].want) != 0)
			fail_msg("html %zu '%s': '%s'", i, h, out);
	}
	for (size_t i = 0; i < sizeof(fold_cases) / sizeof(*fold_cases);
	    i++) {
		n = rules_text_fold(fold_cases[i].in, strlen(fold_cases[i].in),
		    out);
		out[n] = '\0';
		if (strcmp(out, fold_cases[i].want) != 0)
			fail_msg("fold %zu '%s': '%s'", i, fold_cases[i].in,
			    out);
	}
}

static const struct { const char *hdr, *want; } charset_cases[] = {
	{ "Content-Type: text/plain; charset=utf-8\r\n\r\n", "utf-8" },
	{ "X: y\r\ncontent-type: text/plain;\r\n\tCharSet = \"ISO-8859-1\""
	  "\r\n\r\n", "ISO-8859-1" },
	{ "Content-Type: text/plain; format=flowed; charset=koi8-r (x)\n\n",
	  "koi8-r" },
	{ "Content-Type: text/plain; charset*=utf-8''\n\n", "utf-8" },
	{ "Content-Type: text/plain\r\n\r\nContent-Type: x; charset=a\r\n",
	  "" },
	{ "Content-Type: text/plain; charset=\"a/b\"\n\n", "" },
	{ "Content-Type: text/plain; xcharset=utf-7\n\n", "" },
	{ "Content-Type: text/plain; charset=\n", "" },
};

static void
test_charsets(void **state)
{
	struct rules_iconv ic;
	char cs[RULES_CHARSET_MAX], out[64];
	const unsigned char *u;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(charset_cases) /
	    sizeof(*charset_cases); i++) {
		rules_part_charset((const unsigned char *)charset_cases[i].hdr,
		    strlen(charset_cases[i].hdr), cs, sizeof(cs));
		if (strcmp(cs, charset_cases[i].want) != 0)
			fail_msg("charset %zu: '%s'", i, cs);
	}
	rules_iconv_init(&ic);
	/* UTF-8 as it is: no copy */
	u = rules_to_utf8(&ic, "", (const unsigned char *)"caf\303\251", 5,
	    out, sizeof(out), &n);
	assert_string_equal((const char *)u, "caf\303\251");
	/* 8-bit without a charset, or US-ASCII: Windows-1252 */
	u = rules_to_utf8(&ic, "us-ascii", (const unsigned char *)"\200\351",
	    2, out, sizeof(out), &n);
	assert_int_equal(n, 5);
	assert_memory_equal(u, "\342\202\254\303\251", 5);
	/* invalid UTF-8 declared UTF-8: U+FFFD */
	u = rules_to_utf8(&ic, "UTF-8", (const unsigned char *)"a\377b", 3,
	    out, sizeof(out), &n);
	assert_int_equal(n, 5);
	assert_memory_equal(u, "a\357\277\275b", 5);
	/* the cap holds */
	u = rules_to_utf8(&ic, "iso-8859-1", (const unsigned char *)
	    "\351\351\351", 3, out, 4, &n);
	assert_int_equal(n, 4);
	rules_iconv_close(&ic);
}

/* Seconds rules_2047_decode() takes on val, best of 3. */
static double
decode_time(const char *val)
{
	struct rules_iconv ic;
	char *out = malloc(16385);
	double best = 1e9;

	assert_non_null(out);
	rules_iconv_init(&ic);
	for (int i = 0; i < 3; i++) {
		double t = mono_s(), d;

		rules_2047_decode(&ic, val, out, 16385);
		d = mono_s() - t;
		if (d < best)
			best = d;
	}
	rules_iconv_close(&ic);
	free(out);
	return best;
}

/*
 * Decoding stays linear: 16 KB header values made of beginnings of
 * encoded words that never end, of words in an unknown charset, in UTF-7
 * and in two charsets by turns (converters opened at most
 * RULES_ICONV_OPENS times), against 16 KB of encoded words in UTF-8.
 */
static void
test_decode_linear(void **state)
{
	static const char *const units[] = {
		"=?", "=?a?", "=?a?q?", "=?a?q?x?", "=?a?q?x?y",
		"=?x-u?q?a?=", "=?utf-7?b?K0FHRS0=?=",
		"=?koi8-r?q?a?= =?iso-8859-2?q?a?= ",
	};
	char *val = malloc(16385), *plain = malloc(16385);
	double tp, t;

	(void)state;
	assert_non_null(val);
	assert_non_null(plain);
	for (size_t i = 0; i < 16384; i += 16)
		memcpy(plain + i, "=?utf-8?q?ab?= c", 16);
	plain[16384] = '\0';
	tp = decode_time(plain);
	for (size_t u = 0; u < sizeof(units) / sizeof(*units); u++) {
		size_t k = strlen(units[u]), n = 0;

		while (n + k <= 16384) {
			memcpy(val + n, units[u], k);
			n += k;
		}
		val[n] = '\0';
		t = decode_time(val);
		print_message("16 KB of '%s': %.5f s (plain %.5f s)\n",
		    units[u], t, tp);
		if (t > 20 * tp + 0.002)
			fail_msg("'%s' repeated costs %.1f times plain text",
			    units[u], t / tp);
	}
	free(val);
	free(plain);
}

static int
collect_link(const char *href, const char *text, void *arg)
{
	struct links_out *o = arg;

	o->n += (size_t)snprintf(o->buf + o->n, sizeof(o->buf) - o->n,
	    "%s|%s;", href, text != NULL ? text : "-");
	if (o->n >= sizeof(o->buf))
		o->n = sizeof(o->buf) - 1;
	return 0;
}

static int
count_link(const char *href, const char *text, void *arg)
{
	(void)href;
	(void)text;
	++*(size_t *)arg;
	return 0;
}

static const char *
links_of(struct links_out *o, const char *html, size_t len)
{
	o->n = 0;
	o->buf[0] = '\0';
	assert_int_equal(rules_html_links((const unsigned char *)html, len,
	    1000, NULL, collect_link, o), 0);
	return o->buf;
}

static const struct { const char *html, *want; } link_cases[] = {
	{ "<a href=\"http://evil.example/\">www.bank.example</a>",
	  "evil.example|www.bank.example;" },
	/* case */
	{ "<A HREF=\"HTTP://Evil.Example/\">WWW.Bank.Example</A>",
	  "evil.example|www.bank.example;" },
	/* quoting: single, none, blanks around '=', '/' between */
	{ "<a href='http://evil.example/x'>x</a>", "evil.example|-;" },
	{ "<a href=http://evil.example/x>bank.com</a>",
	  "evil.example|bank.com;" },
	{ "<a href = \"http://evil.example/\" >bank.com</a >",
	  "evil.example|bank.com;" },
	{ "<a/href=\"//evil.example\">bank.com</a>", "evil.example|bank.com;" },
	{ "<a title=\"a>b\" href=\"http://evil.example/\">www.b.com</a>",
	  "evil.example|www.b.com;" },
	{ "<a title='x\"y' href=http://evil.example>www.b.com</a>",
	  "evil.example|www.b.com;" },
	/* character references in the href and in the text */
	{ "<a href=\"http&#58;&#x2F;&#47;evil&period;example/\">a</a>",
	  "evil.example|-;" },
	{ "<a href=\"https&colon;&sol;&sol;www.bank.com&commat;evil.example\">"
	  "a</a>", "evil.example|-;" },
	{ "<a href=\"http://&#x45;VIL.example/?a=1&amp;b=2\">a</a>",
	  "evil.example|-;" },
	{ "<a href=\"http://ev&#10;il.exa\tmple/\">a</a>", "evil.example|-;" },
	{ "<a href=\"http://evil.example/\">www&#46;bank&period;com</a>",
	  "evil.example|www.bank.com;" },
	{ "<a href=\"http://evil.example/\">&#x77;ww.bank.com&nbsp;x</a>",
	  "evil.example|-;" },
	{ "<a href=\"http://www.bank.com@evil.example/\">a</a>",
	  "evil.example|-;" },
	/* the text: child elements, blanks around, words, '<' */
	{ "<a href=\"http://evil.example/\"><b>https://</b><i>bank.com</i>"
	  "/login</a>", "evil.example|bank.com;" },
	{ "<a href=\"http://evil.example/\">\r\n  www.bank.com \n</a>",
	  "evil.example|www.bank.com;" },
	{ "<a href=\"http://evil.example/\">click www.bank.com</a>",
	  "evil.example|-;" },
	{ "<a href=\"http://evil.example/\">www.bank.com < x</a>",
	  "evil.example|-;" },
	{ "<a href=\"http://evil.example/\"><img src=x>www.bank.com<br></a>",
	  "evil.example|www.bank.com;" },
	/* where a link ends */
	{ "<a href=\"http://one.example/\">www.x.com<a href=\"http://two."
	  "example/\">www.y.com</a>", "one.example|www.x.com;two.example|"
	  "www.y.com;" },
	{ "<p><a href=\"http://evil.example/\">www.bank.com</p>more words",
	  "evil.example|www.bank.com;" },
	{ "<a href=\"http://evil.example/\"></font></p>www.bank.com</a>",
	  "evil.example|www.bank.com;" },
	{ "<div><a href=\"http://evil.example/\"><div>www.bank.com</div>"
	  "</a></div>", "evil.example|www.bank.com;" },
	{ "<a href=\"http://evil.example/\">www.bank.com", 
	  "evil.example|www.bank.com;" },
	/* broken and hidden: a tag cut by the end, comments, raw text */
	{ "<a href=\"http://evil.example/\"", "" },
	{ "<a href=\"http://evil.example/", "" },
	{ "<!-- <a href=\"http://hidden.example/\">x</a> --><a href=\"http://"
	  "shown.example/\">y</a>", "shown.example|-;" },
	{ "<!--> <a href=http://a.example>x</a><!-- -- --!><a href=http://"
	  "b.example>y</a>", "a.example|-;b.example|-;" },
	{ "<script>x='<a href=\"http://hidden.example/\">'</script ><a href"
	  "=\"http://shown.example/\">y</a>", "shown.example|-;" },
	{ "<STYLE>a{}</a></style><a href=http://s.example>y</a>",
	  "s.example|-;" },
	{ "<!doctype html><?xml x?></><a href=http://s.example>y</a>",
	  "s.example|-;" },
	/* the first href counts; links to no host are none */
	{ "<a href=\"http://first.example/\" HREF=\"http://second.example/\">"
	  "a</a>", "first.example|-;" },
	{ "<a href=\"/rel\">www.bank.com</a><a href=\"mailto:a@b.example\">"
	  "x</a><a name=x>www.bank.com</a><a href>y</a>", "" },
	{ "<a hreff=\"http://x.example/\" xhref=\"http://y.example/\">a</a>",
	  "" },
};

static void
test_html_links(void **state)
{
	struct links_out o;

	(void)state;
	for (size_t i = 0; i < sizeof(link_cases) / sizeof(*link_cases); i++) {
		const char *got = links_of(&o, link_cases[i].html,
		    strlen(link_cases[i].html));

		if (strcmp(got, link_cases[i].want) != 0)
			fail_msg("case %zu: %s: got '%s', want '%s'", i,
			    link_cases[i].html, got, link_cases[i].want);
	}
}

/* nattr attributes "aaaa", "baaa" ... per tags of per attributes each;
 * returns the length written into buf. */
static size_t
many_attrs(char *buf, int nattr, int per)
{
	size_t n = 0;

	for (int k = 0; k < nattr;) {
		n += (size_t)sprintf(buf + n, "<a");
		for (int i = 0; i < per && k < nattr; i++, k++)
			n += (size_t)sprintf(buf + n, " %c%c%c%c", 'a' + k % 26,
			    'a' + k / 26 % 26, 'a' + k / 676 % 26,
			    'a' + k / 17576 % 26);
		n += (size_t)sprintf(buf + n, ">");
	}
	return n;
}

/* Many attributes: the href after 32,000 others is found; max_links. */
static void
test_html_many(void **state)
{
	char *buf = malloc(400000);
	struct links_out o;
	size_t n, count = 0;

	(void)state;
	assert_non_null(buf);
	n = many_attrs(buf, 32000, 32000) - 1;	/* drop the '>' */
	n += (size_t)sprintf(buf + n, " href=http://evil.example>www.b.com</a>");
	assert_string_equal(links_of(&o, buf, n), "evil.example|www.b.com;");
	n = 0;
	for (int i = 0; i < 1100; i++)
		n += (size_t)sprintf(buf + n, "<a href=//h%d.example>x</a>", i);
	assert_int_equal(rules_html_links((const unsigned char *)buf, n, 1000,
	    NULL, count_link, &count), 0);
	assert_int_equal(count, 1000);
	free(buf);
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds the engine takes on a message of one HTML part, best of 5. */
static double
html_scan_time(struct eng *e, const char *html, size_t len)
{
	static const char head[] = "From: a@example.com\r\nMIME-Version: 1.0"
	    "\r\nContent-Type: text/html\r\n\r\n";
	char *msg = malloc(sizeof(head) + len + 1);
	double best = 1e9;

	assert_non_null(msg);
	memcpy(msg, head, sizeof(head) - 1);
	memcpy(msg + sizeof(head) - 1, html, len);
	msg[sizeof(head) - 1 + len] = '\0';
	for (int i = 0; i < 5; i++) {
		double t = mono_s(), d;
		struct sm_result r = scan(e, msg, NULL, NULL, NULL);

		d = mono_s() - t;
		assert_int_equal(r.verdict, SM_CLEAN);
		if (d < best)
			best = d;
	}
	free(msg);
	return best;
}

/*
 * Cost linear in the attributes of a tag: one <a> with 32,000 attributes
 * (160 KB, as an attacker sends it) against the same attributes in tags
 * of 10 (as long).  A parser quadratic in one tag's attributes takes
 * hundreds of times longer on the first.
 */
static void
test_html_linear(void **state)
{
	char *one = malloc(400000), *spread = malloc(400000);
	size_t n1, n2;
	double t1, t2;
	struct eng e;
	char err[512];

	(void)state;
	assert_non_null(one);
	assert_non_null(spread);
	n1 = many_attrs(one, 32000, 32000);
	n2 = many_attrs(spread, 32000, 10);
	assert_int_equal(eng_open(&e, "good.xml", "service-provider-full",
	    "100", "50", err, sizeof(err)), 0);
	t1 = html_scan_time(&e, one, n1);
	t2 = html_scan_time(&e, spread, n2);
	print_message("one tag of 32000 attributes (%zu bytes): %.4f s; "
	    "the same in tags of 10 (%zu bytes): %.4f s; ratio %.1f\n", n1,
	    t1, n2, t2, t1 / t2);
	if (t1 > 5 * t2)
		fail_msg("one tag costs %.1f times the same attributes spread "
		    "out", t1 / t2);
	eng_close(&e);
	free(one);
	free(spread);
}

/* Past its deadline, the engine gives up (and the scanner, on a long part). */
static void
test_deadline(void **state)
{
	static const char html[] = "<a href=\"http://evil.example/\">x</a>";
	struct timespec past = { 1, 0 }, none = { 0, 0 };
	char *big = malloc(300000);
	struct sm_object o = { 0 };
	struct links_out lo;
	struct parts *ps;
	struct sm_result r;
	struct eng e;
	char err[512];

	(void)state;
	assert_non_null(big);
	for (size_t i = 0; i + 8 <= 300000; i += 8)
		memcpy(big + i, "<b>x</b>", 8);
	memcpy(big, html, sizeof(html) - 1);
	assert_int_equal(rules_html_links((const unsigned char *)big, 300000,
	    10, &past, collect_link, &lo), -1);
	lo.n = 0;
	assert_int_equal(rules_html_links((const unsigned char *)big, 300000,
	    10, &none, collect_link, &lo), 0);
	assert_int_equal(eng_open(&e, "good.xml", "service-provider-full",
	    "100", "50", err, sizeof(err)), 0);
	o.kind = SM_OBJ_MESSAGE;
	o.data = (const unsigned char *)HDR "\r\nTry this miracle cure\r\n";
	o.fd = -1;
	o.len = strlen((const char *)o.data);
	o.client_addr = "192.0.2.55";
	ps = parts_new_buffer(o.data, o.len);
	parts_attach(ps, &o);
	o.deadline = past;
	assert_int_equal(sm_engine_rules.scan(e.h, &o, &r), -1);
	assert_int_equal(r.verdict, SM_ERROR);
	assert_string_equal(r.name, "Rules.Timeout");
	o.kind = SM_OBJ_PART;
	assert_int_equal(sm_engine_rules.scan(e.h, &o, &r), -1);
	assert_string_equal(r.name, "Rules.Timeout");
	/* a deadline far ahead changes nothing */
	o.kind = SM_OBJ_MESSAGE;
	clock_gettime(CLOCK_MONOTONIC, &o.deadline);
	o.deadline.tv_sec += 3600;
	assert_int_equal(sm_engine_rules.scan(e.h, &o, &r), 0);
	assert_true(has_rule(r.name, "t-body"));
	parts_free(ps);
	eng_close(&e);
	free(big);
}

/* max_size bounds the decoded parts looked at as it bounds the message:
 * a phrase past it in a part is not seen, one before it is. */
static void
test_max_size_parts(void **state)
{
	static const char head[] = HDR "Content-Type: multipart/mixed; "
	    "boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
	char *msg = malloc(8192), err[512];
	struct sm_result r;
	struct eng e;
	size_t n;

	(void)state;
	assert_non_null(msg);
	assert_int_equal(eng_open(&e, "good.xml", "service-provider-full",
	    "100", "50", err, sizeof(err)), 0);
	sm_engine_rules.destroy(e.h);
	assert_int_equal(set_opt(e.conf, "max_size", "1K"), 0);
	e.h = sm_engine_rules.create(e.conf, &env, err, sizeof(err));
	assert_non_null(e.h);
	for (int late = 0; late < 2; late++) {
		n = (size_t)snprintf(msg, 8192, "%s", head);
		if (!late)
			n += (size_t)snprintf(msg + n, 8192 - n, "miracle cure ");
		/* soft line breaks: 2,000 decoded bytes, written 2,400 */
		for (int i = 0; i < 50; i++)
			n += (size_t)snprintf(msg + n, 8192 - n, "%s=\r\n",
			    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		n += (size_t)snprintf(msg + n, 8192 - n, "%s\r\n--b1--\r\n",
		    late ? "miracle cure" : "");
		r = scan(&e, msg, NULL, NULL, NULL);
		assert_int_equal(has_rule(r.name, "t-body"), !late);
	}
	eng_close(&e);
	free(msg);
}

/* The engine's copy of the range rules answers as the daemon's (cidr.c) on
 * every case, IPv4 mapped into IPv6 included. */
static void
test_net_as_cidr(void **state)
{
	static const char *const lists[] = {
		"10.0.0.0/8", "::/0", "::ffff:10.0.0.0/104", "0.0.0.0/0",
		"2001:db8::/32", "192.0.2.7", "::ffff:192.0.2.7",
		"10.0.0.0/8, 2001:db8::1", "::ffff:0:0/96",
	};
	static const char *const addrs[] = {
		"10.1.2.3", "::ffff:10.1.2.3", "10.0.0.5", "192.0.2.7",
		"::ffff:192.0.2.7", "2001:db8::1", "2001:db9::1", "::1",
		"127.0.0.1", "not-an-address",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct cidr_list c = { 0 };
		struct rules_nets r = { 0 };

		assert_int_equal(cidr_parse(lists[i], &c, err, sizeof(err)), 0);
		assert_int_equal(rules_net_add(&r, lists[i], err, sizeof(err)),
		    0);
		for (size_t k = 0; k < sizeof(addrs) / sizeof(addrs[0]); k++) {
			int want = cidr_match(&c, addrs[k]);

			if (rules_net_match(&r, addrs[k]) != want)
				fail_msg("%s against %s: the engine says %d, "
				    "cidr.c %d", addrs[k], lists[i], !want,
				    want);
		}
		cidr_free(&c);
		rules_net_free(&r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_refused_without_schema),
		cmocka_unit_test(test_regex_accepted),
		cmocka_unit_test(test_shipped_file),
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_benign),
		cmocka_unit_test(test_thresholds),
		cmocka_unit_test(test_express_vs_full),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_html_links),
		cmocka_unit_test(test_rfc2047),
		cmocka_unit_test(test_shown_text),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_decode_linear),
		cmocka_unit_test(test_html_many),
		cmocka_unit_test(test_html_linear),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_max_size_parts),
		cmocka_unit_test(test_net_as_cidr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
