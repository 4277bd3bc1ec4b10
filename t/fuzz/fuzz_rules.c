/*
 * libFuzzer target for the rules engine's rule-file loader:
 * rules_load_buffer() on any bytes, with the RELAX NG schema and without it
 * (so the compiler's own checks are reached by inputs the schema would
 * refuse), must return a database or an error, never crash, leak or hang.
 * Each rule set a file defines is then selected and run on one message
 * that has every kind of part, so compiled regexes, globs and lists are
 * used too (its HTML goes through the link scanner, which fuzz_html
 * fuzzes on its own).  The same bytes are then read as a message by the
 * rules of etc/rules.xml, so the decoding of what a reader is shown
 * (RFC 2047 words, charsets, an HTML part's text) is fuzzed from the mail
 * seeds.  RULES_SCHEMA is etc/rules.rng, RULES_FILE etc/rules.xml (run.sh
 * defines both).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parts.h"
#include "rules.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char message[] =
	"From: Alice <alice@example.com>\r\nTo: bob@example.org\r\n"
	"Subject: cheap pills\r\n  folded =?UTF-8?B?Y2hlYXAgcGlsbHM=?= "
	"=?iso-8859-1?q?gr=FC=DFe?= =?utf-7?b?K0FHRS0=?=\r\n"
	"X-Test: two three\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
	"--b1\r\nContent-Type: multipart/alternative; boundary=\"b2\"\r\n\r\n"
	"--b2\r\nContent-Type: text/plain\r\n\r\nMiracle cure, verify your "
	"account\r\n"
	"--b2\r\nContent-Type: text/plain; charset=\"ISO-8859-1\"\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\nwire=A0the=A0"
	"fee =DCBER\r\n"
	"--b2\r\nContent-Type: text/plain; charset=utf-16\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\n"
	"//5NAGkAcgBhAGMAbABlACAAQwB1AHIAZQA=\r\n"
	"--b2\r\nContent-Type: text/html; charset=koi8-r\r\n\r\n<p>Mir&#97;"
	"cle&nbsp;<b>Cu</b>re&shy;<!-- x --><script>y</script>\r\n--b2\r\nContent-Type: text/html\r\n\r\n<a href=\"http://"
	"x.phish.example/\">www.bank.example</a><A TITLE='>' HREF=https&colon;"
	"&#47;/Evil&period;example><b>https://</b>bank.example</A>\r\n"
	"--b2--\r\n"
	"--b1\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: "
	"base64\r\nContent-Disposition: attachment; filename=\"invoice.pdf."
	"exe\"\r\n\r\nTVqQAAMAAAAEAAAA//8AAHRoaXMgcHJvZ3JhbSBjYW5ub3QgYmUgcnVu"
	"\r\n--b1--\r\n";

static void
run_sets(const struct rules_db *db)
{
	char err[512];

	for (size_t i = 0; i < db->nsets; i++) {
		struct rules_active act;
		unsigned char *fired;
		struct sm_object obj = { 0 };
		struct parts *ps = parts_new_buffer((const unsigned char *)
		    message, sizeof(message) - 1);
		struct rules_msg m = { (const unsigned char *)message,
		    sizeof(message) - 1, "2001:db8:bad::1", "mx.dyn.example.net",
		    "x@spam.example", &obj };

		parts_attach(ps, &obj);
		if (rules_select(db, db->sets[i].name, &act, err,
		    sizeof(err)) < 0)
			abort();	/* every set of a loaded file exists */
		fired = calloc(act.n + 1, 1);
		if (fired == NULL)
			abort();
		rules_eval(&act, &m, fired);
		free(fired);
		rules_active_free(&act);
		parts_free(ps);
	}
}

/* The input as a message, under every rule set of etc/rules.xml. */
static void
run_message(const uint8_t *data, size_t len)
{
	static struct rules_db *db;
	char err[512];

	if (db == NULL && (db = rules_load_file(RULES_FILE, NULL, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz_rules: %s\n", err);
		abort();
	}
	for (size_t i = 0; i < db->nsets; i++) {
		struct rules_active act;
		unsigned char *fired;
		struct sm_object obj = { 0 };
		struct parts *ps = parts_new_buffer(data, len);
		struct rules_msg m = { data, len, "192.0.2.1", "mx.example",
		    "x@example.org", &obj };

		parts_attach(ps, &obj);
		if (rules_select(db, db->sets[i].name, &act, err,
		    sizeof(err)) < 0)
			abort();
		fired = calloc(act.n + 1, 1);
		if (fired == NULL)
			abort();
		rules_eval(&act, &m, fired);
		free(fired);
		rules_active_free(&act);
		parts_free(ps);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct rules_schema *schema;
	char err[512];

	if (schema == NULL &&
	    (schema = rules_schema_load(RULES_SCHEMA, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "fuzz_rules: %s\n", err);
		abort();
	}
	for (int pass = 0; pass < 2; pass++) {
		struct rules_db *db = rules_load_buffer("fuzz.xml",
		    (const char *)data, len, pass ? NULL : schema, err,
		    sizeof(err));

		if (db != NULL)
			run_sets(db);
		else if (strncmp(err, "fuzz.xml", 8) != 0)
			abort();	/* every refusal names the file */
		rules_db_free(db);
	}
	run_message(data, len);
	return 0;
}
