/*
 * Verdicts to replies: the mapping table for every action, failure policy
 * and verdict, and the whole pipeline (scan_message) over a fake engine
 * whose verdict comes from its config: replies, reply texts, headers, and
 * how several engines and instances combine.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decision.h"
#include "conf.h"
#include "registry.h"
#include "scan.h"

/* ---- each instance's own answer ------------------------------------------ */

/*
 * Two instances on one message with two attachments: av1 strips, finding
 * part A (by two engines) and part B; av2 rejects what it finds: nothing
 * in round 0, part B in round 1.  Each keeps its own reply; av1's cured
 * are its distinct finds that were cut out (2), and none when another
 * instance's reject means nothing is cut.
 */
static void
test_own_reply(void **state)
{
	struct sm_av av1 = { .name = "av1", .reject_text = "Virus %v",
	    .on_error = ONERR_TEMPFAIL };
	struct sm_av av2 = av1;
	struct sm_engine_inst strip = { .name = "e1", .action = ACT_STRIP,
	    .unscannable_action = UNSCANNABLE_AS_ACTION };
	struct sm_engine_inst rej = strip;
	struct sm_result inf = { .verdict = SM_INFECTED, .name = "X" };
	struct sm_result clean = { .verdict = SM_CLEAN };
	struct decision_part a = { 100, 200, "a.com" }, b = { 300, 400, "b" };
	struct decision_av f[2];
	struct sm_decision *d = calloc(1, sizeof(*d));

	(void)state;
	av2.name = "av2";
	rej.action = ACT_REJECT;
	for (int round = 0; round < 2; round++) {
		decision_begin(d);
		decision_av_begin(&f[0], &av1);
		decision_fold(d, &f[0], &strip, "e1", &a, &inf, FAIL_NONE);
		decision_fold(d, &f[0], &strip, "e2", &a, &inf, FAIL_NONE);
		decision_fold(d, &f[0], &strip, "e1", &b, &inf, FAIL_NONE);
		decision_av_begin(&f[1], &av2);
		/* round 1: av2 finds b and rejects: nothing is cut */
		decision_fold(d, &f[1], &rej, "r1", &b, round ? &inf : &clean,
		    FAIL_NONE);
		decision_finish(d, f, 2);
		assert_int_equal(f[0].reply, REPLY_STRIP);
		assert_int_equal(f[1].reply, round ? REPLY_REJECT :
		    REPLY_ACCEPT);
		assert_int_equal(d->reply, round ? REPLY_REJECT : REPLY_STRIP);
		assert_int_equal(decision_av_cured(d, &f[0]), round ? 0 : 2);
		assert_int_equal(decision_av_cured(d, &f[1]), 0);
	}
	free(d);
}

/* ---- the mapping table -------------------------------------------------- */

struct map_case {
	int action, on_error;
	enum sm_verdict v;
	enum sm_reply want;
};

static const struct map_case map_cases[] = {
	{ ACT_REJECT, ONERR_TEMPFAIL, SM_CLEAN, REPLY_ACCEPT },
	{ ACT_REJECT, ONERR_TEMPFAIL, SM_INFECTED, REPLY_REJECT },
	{ ACT_REJECT, ONERR_TEMPFAIL, SM_UNSCANNABLE, REPLY_REJECT },
	{ ACT_REJECT, ONERR_TEMPFAIL, SM_ERROR, REPLY_TEMPFAIL },
	{ ACT_REJECT, ONERR_ACCEPT, SM_ERROR, REPLY_ACCEPT },
	{ ACT_REJECT, ONERR_REJECT, SM_ERROR, REPLY_REJECT },
	{ ACT_PASS, ONERR_TEMPFAIL, SM_INFECTED, REPLY_ACCEPT },
	{ ACT_PASS, ONERR_TEMPFAIL, SM_UNSCANNABLE, REPLY_ACCEPT },
	{ ACT_PASS, ONERR_TEMPFAIL, SM_ERROR, REPLY_TEMPFAIL },
	{ ACT_TEMPFAIL, ONERR_ACCEPT, SM_INFECTED, REPLY_TEMPFAIL },
	{ ACT_TEMPFAIL, ONERR_ACCEPT, SM_CLEAN, REPLY_ACCEPT },
	{ ACT_DISCARD, ONERR_TEMPFAIL, SM_INFECTED, REPLY_DISCARD },
	{ ACT_DISCARD, ONERR_TEMPFAIL, SM_UNSCANNABLE, REPLY_DISCARD },
	{ ACT_DISCARD, ONERR_TEMPFAIL, SM_CLEAN, REPLY_ACCEPT },
	{ ACT_QUARANTINE, ONERR_TEMPFAIL, SM_INFECTED, REPLY_QUARANTINE },
	{ ACT_QUARANTINE, ONERR_TEMPFAIL, SM_ERROR, REPLY_TEMPFAIL },
};

static void
test_mapping(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(map_cases) / sizeof(*map_cases); i++) {
		const struct map_case *m = &map_cases[i];
		enum sm_reply r = decision_reply(m->action, m->on_error, m->v);

		if (r != m->want)
			fail_msg("case %zu: got %s, want %s", i, reply_name(r),
			    reply_name(m->want));
	}
}

static void
test_expand(void **state)
{
	char buf[64];

	(void)state;
	decision_expand("Virus %v in %i/%e 100%% %x", "EICAR\r\nX", "av1", "c1",
	    buf, sizeof(buf));
	assert_string_equal(buf, "Virus EICAR  X in av1/c1 100% ");
	decision_expand("%v%v%v", "0123456789", "", "", buf, 16);
	assert_string_equal(buf, "012345678901234");
	decision_status(SM_INFECTED, "Bad.Thing", buf, sizeof(buf));
	assert_string_equal(buf, "Infected (Bad.Thing)");
}

/* ---- a fake engine driven by its config --------------------------------- */

struct fake_conf {
	int	 verdict;
	char	*name;
	int	 fail;
	char	*note;
};

#define F(f) offsetof(struct fake_conf, f)
static const struct sm_option fake_options[] = {
	{ "verdict", SM_OPT_ENUM, "clean", 1, 0,
	  "clean|infected|unscannable|error", F(verdict), "verdict" },
	{ "name", SM_OPT_STRING, "Fake.Virus", 1, 0, NULL, F(name), "name" },
	{ "fail_create", SM_OPT_BOOL, "no", 1, 0, NULL, F(fail), "fail" },
	{ "note", SM_OPT_STRING, NULL, 1, 0, NULL, F(note),
	  "name given with a clean verdict" },
	SM_OPTION_END
};

static void *
fake_create(const void *conf, const struct sm_engine_env *env, char *err,
    size_t errlen)
{
	const struct fake_conf *c = conf;

	assert_non_null(env->tmpdir);
	if (c->fail) {
		snprintf(err, errlen, "told to fail");
		return NULL;
	}
	return (void *)c;
}

static int
fake_scan(void *h, const struct sm_object *obj, struct sm_result *res)
{
	const struct fake_conf *c = h;

	assert_non_null(obj->data);
	res->verdict = (enum sm_verdict)c->verdict;
	if (res->verdict != SM_CLEAN)
		snprintf(res->name, sizeof(res->name), "%s", c->name);
	else if (c->note != NULL)
		snprintf(res->name, sizeof(res->name), "%s", c->note);
	return res->verdict == SM_ERROR ? -1 : 0;
}

static void
fake_version(void *h, struct sm_engine_version *v)
{
	(void)h;
	memset(v, 0, sizeof(*v));
}

static void
fake_destroy(void *h)
{
	(void)h;
}

static const struct sm_engine_ops fake_ops = {
	.abi_version = SM_ENGINE_ABI_VERSION,
	.ops_size = sizeof(struct sm_engine_ops),
	.name = "fake", .options = fake_options,
	.conf_size = sizeof(struct fake_conf),
	.create = fake_create, .scan = fake_scan, .version = fake_version,
	.destroy = fake_destroy,
};

static int
setup(void **state)
{
	char err[256];

	(void)state;
	if (registry_find("fake") == NULL &&
	    registry_add(&fake_ops, "test", err, sizeof(err)) < 0)
		fail_msg("%s", err);
	return 0;
}

struct pipe_case {
	const char *conf;	/* inside milter { file_base = … } */
	enum sm_reply reply;
	enum sm_verdict verdict;
	const char *rcode, *xcode, *text;	/* NULL: not checked */
	const char *status;	/* X-Virus-Status value, NULL: no header */
};

static const struct pipe_case pipe_cases[] = {
	{ "antivirus \"a\" { fake \"f\" { } }",
	  REPLY_ACCEPT, SM_CLEAN, "", "", "", "Clean" },
	{ "antivirus \"a\" { fake \"f\" { verdict = infected } }",
	  REPLY_REJECT, SM_INFECTED, "550", "5.7.1", "Virus found: Fake.Virus",
	  NULL },
	{ "antivirus \"a\" { reject_text = \"No %v (%e, %i)\" "
	  "fake \"f\" { verdict = infected } }",
	  REPLY_REJECT, SM_INFECTED, "550", "5.7.1", "No Fake.Virus (f, a)",
	  NULL },
	{ "antivirus \"a\" { action = pass fake \"f\" { verdict = infected } }",
	  REPLY_ACCEPT, SM_INFECTED, "", "", "", "Infected (Fake.Virus)" },
	{ "antivirus \"a\" { fake \"f\" { verdict = unscannable "
	  "name = \"Heuristics.Limits.Exceeded.MaxFileSize\" } }",
	  REPLY_REJECT, SM_UNSCANNABLE, "550", "5.7.1",
	  "Message could not be scanned: Heuristics.Limits.Exceeded."
	  "MaxFileSize", NULL },
	{ "antivirus \"a\" { fake \"f\" { verdict = error } }",
	  REPLY_TEMPFAIL, SM_ERROR, "451", "4.3.0",
	  "Message could not be scanned, try again later", NULL },
	{ "antivirus \"a\" { tempfailure = 452 fake \"f\" { verdict = error } }",
	  REPLY_TEMPFAIL, SM_ERROR, "452", "4.3.0", NULL, NULL },
	/* a 5xx tempfailure: an enhanced code of its class, no retry asked */
	{ "antivirus \"a\" { tempfailure = 554 fake \"f\" { verdict = error } }",
	  REPLY_TEMPFAIL, SM_ERROR, "554", "5.3.0",
	  "Message could not be scanned", NULL },
	{ "antivirus \"a\" { on_error = accept fake \"f\" { verdict = error "
	  "name = boom } }",
	  REPLY_ACCEPT, SM_ERROR, "", "", "", "Unscanned (error: boom)" },
	/* an error in one engine, a virus in the other: the virus wins */
	{ "antivirus \"a\" { fake \"f1\" { verdict = error } "
	  "fake \"f2\" { verdict = infected } }",
	  REPLY_REJECT, SM_INFECTED, "550", "5.7.1", NULL, NULL },
	/* a pass engine finds a virus, a reject engine does not */
	{ "antivirus \"a\" { fake \"f1\" { action = pass verdict = infected } "
	  "fake \"f2\" { } }",
	  REPLY_ACCEPT, SM_INFECTED, "", "", "", "Infected (Fake.Virus)" },
	/* disabled engines do not scan */
	{ "antivirus \"a\" { fake \"f1\" { enabled = no verdict = infected } "
	  "fake \"f2\" { } }",
	  REPLY_ACCEPT, SM_CLEAN, "", "", "", "Clean" },
	{ "antivirus \"a\" { fake \"f1\" { enabled = no } }",
	  REPLY_ACCEPT, SM_CLEAN, "", "", "", "Unscanned (no engine enabled)" },
	/* tempfail action */
	{ "antivirus \"a\" { action = tempfail fake \"f\" { verdict = infected "
	  "} }",
	  REPLY_TEMPFAIL, SM_INFECTED, "451", "4.3.0",
	  "Message held back: Fake.Virus, try again later", NULL },
	/* a virus held for quarantine outranks another engine's error */
	{ "antivirus \"a\" { action = quarantine fake \"f1\" { verdict = error } "
	  "fake \"f2\" { verdict = infected } }",
	  REPLY_QUARANTINE, SM_INFECTED, "", "",
	  "scanmilter: Fake.Virus (f2)", "Infected (Fake.Virus)" },
	{ "antivirus \"a\" { action = discard fake \"f\" { verdict = infected } }",
	  REPLY_DISCARD, SM_INFECTED, "", "", "", NULL },
	/* unscannable_action overrides action for unscannable only */
	{ "antivirus \"a\" { fake \"f\" { unscannable_action = pass "
	  "verdict = unscannable } }",
	  REPLY_ACCEPT, SM_UNSCANNABLE, "", "", "", "Unscannable (Fake.Virus)" },
	{ "antivirus \"a\" { fake \"f\" { unscannable_action = pass "
	  "verdict = infected } }",
	  REPLY_REJECT, SM_INFECTED, "550", "5.7.1", NULL, NULL },
	/* two instances: the most severe reply wins */
	{ "antivirus \"a\" { action = pass fake \"f1\" { verdict = infected } }"
	  "antivirus \"b\" { fake \"f2\" { verdict = infected name = Other } }",
	  REPLY_REJECT, SM_INFECTED, "550", "5.7.1", "Virus found: Other",
	  NULL },
};

static void
run_case(size_t i, const struct pipe_case *pc)
{
	struct message info = { 0 };
	struct message_input *in = message_input_new();
	char text[2048], err[1024];
	struct sm_decision d;
	struct generation *c = NULL;
	struct sm_conf *conf;

	snprintf(text, sizeof(text), "milter { file_base = \"%s\" "
	    "hostname = \"mx.test\" }\n%s\n", getenv("TMPDIR") ?
	    getenv("TMPDIR") : "/tmp", pc->conf);
	if ((conf = conf_load_buffer("t.conf", text, strlen(text), err,
	    sizeof(err))) == NULL || (c = generation_new(conf, err,
	    sizeof(err))) == NULL)
		fail_msg("case %zu: %s", i, err);
	wirebuf_begin(&in->wb, "x", 100, NULL);
	wirebuf_header(&in->wb, "Subject", "t");
	wirebuf_eoh(&in->wb);
	wirebuf_append(&in->wb, "body\r\n", 6);
	message_set(&info.queue_id, "Q1");
	message_set(&info.client_addr, "::1");
	scan_message(c, in, &info, NULL, &d);
	message_clear(&info);
	message_input_unref(in);
	if (d.reply != pc->reply || d.verdict != pc->verdict)
		fail_msg("case %zu: reply %s verdict %s", i,
		    reply_name(d.reply), verdict_name(d.verdict));
	if (pc->rcode != NULL)
		assert_string_equal(d.rcode, pc->rcode);
	if (pc->xcode != NULL)
		assert_string_equal(d.xcode, pc->xcode);
	if (pc->text != NULL)
		assert_string_equal(d.text, pc->text);
	if (pc->status != NULL) {
		assert_true(d.nheaders >= 2);
		assert_string_equal(d.headers[0].name, "X-Virus-Scanned");
		assert_string_equal(d.headers[0].value,
		    "scanmilter " PACKAGE_VERSION " on mx.test");
		assert_string_equal(d.headers[1].name, "X-Virus-Status");
		assert_string_equal(d.headers[1].value, pc->status);
	}
	generation_free(c);
}

static void
test_pipeline(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(pipe_cases) / sizeof(*pipe_cases); i++)
		run_case(i, &pipe_cases[i]);
}

/* antispam: tags by default, its own header names, the engine's words */
static void
test_antispam(void **state)
{
	static const struct {
		const char *conf;
		enum sm_reply reply;
		const char *verdict_header;	/* X-Spam-Verdict */
		const char *text;
		const char *status;		/* X-Spam-Status */
	} cases[] = {
		{ "antispam \"s\" { verdict_header = yes fake \"f\" { "
		  "verdict = infected name = \"Spam (score 9: r1, r2)\" } }",
		  REPLY_ACCEPT, "Spam (score 9: r1, r2)", "",
		  "Yes, score=9.0 tests=r1,r2" },
		{ "antispam \"s\" { verdict_header = yes fake \"f\" { "
		  "note = \"Suspect (score 3: r1)\" } }",
		  REPLY_ACCEPT, "Suspect (score 3: r1)", "",
		  "No, score=3.0 tests=r1" },
		{ "antispam \"s\" { verdict_header = yes fake \"f\" { } }",
		  REPLY_ACCEPT, "Clean", "", "No, score=0.0 tests=none" },
		{ "antispam \"s\" { action = reject fake \"f\" { "
		  "verdict = infected name = \"Spam (score 9: r1)\" } }",
		  REPLY_REJECT, NULL, "Message refused as spam", NULL },
		{ "antispam \"s\" { fake \"f\" { verdict = infected "
		  "name = \"Spam (score 2: r1)\" } }",
		  REPLY_ACCEPT, NULL, "", "Yes, score=2.0 tests=r1" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct message info = { 0 };
		struct message_input *in = message_input_new();
		char text[1024], err[1024];
		struct sm_decision d;
		struct generation *c = NULL;
		struct sm_conf *conf;

		snprintf(text, sizeof(text), "milter { file_base = \"%s\" }\n%s\n",
		    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", cases[i].conf);
		if ((conf = conf_load_buffer("t.conf", text, strlen(text), err,
		    sizeof(err))) == NULL || (c = generation_new(conf, err,
		    sizeof(err))) == NULL)
			fail_msg("case %zu: %s", i, err);
		wirebuf_begin(&in->wb, "x", 100, NULL);
		wirebuf_header(&in->wb, "Subject", "t");
		wirebuf_eoh(&in->wb);
		message_set(&info.queue_id, "Q");
		message_set(&info.client_addr, "::1");
		scan_message(c, in, &info, NULL, &d);
		message_clear(&info);
		message_input_unref(in);
		if (d.reply != cases[i].reply)
			fail_msg("case %zu: reply %s", i, reply_name(d.reply));
		if (cases[i].verdict_header != NULL) {
			assert_int_equal(d.nheaders, 5);
			assert_string_equal(d.headers[0].name, "X-Spam-Scanned");
			assert_string_equal(d.headers[1].name, "X-Spam-Verdict");
			assert_string_equal(d.headers[1].value,
			    cases[i].verdict_header);
		}
		if (cases[i].status != NULL) {	/* the last three */
			size_t n = d.nheaders;

			assert_true(n >= 4);
			assert_string_equal(d.headers[n - 3].name,
			    "X-Spam-Flag");
			assert_string_equal(d.headers[n - 3].value,
			    cases[i].reply == REPLY_ACCEPT &&
			    strncmp(cases[i].status, "Yes", 3) == 0 ? "YES" :
			    "NO");
			assert_string_equal(d.headers[n - 2].value,
			    cases[i].status);
			assert_string_equal(d.headers[n - 1].name,
			    "X-Spam-Level");
			if (cases[i].verdict_header == NULL)
				assert_int_equal(n, 4);
		}
		assert_string_equal(d.text, cases[i].text);
		generation_free(c);
	}
}

static void
test_engine_create_failure(void **state)
{
	const char *text = "milter { file_base = \"/tmp\" }\n"
	    "antivirus \"a\" {\n fake \"f\" { fail_create = yes } }\n";
	char err[1024];
	struct sm_conf *c;

	(void)state;
	c = conf_load_buffer("t.conf", text, strlen(text), err, sizeof(err));
	assert_non_null(c);
	assert_null(generation_new(c, err, sizeof(err)));	/* frees c */
	assert_string_equal(err, "t.conf:3: engine fake \"f\": told to fail");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mapping),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_own_reply),
		cmocka_unit_test_setup(test_pipeline, setup),
		cmocka_unit_test_setup(test_engine_create_failure, setup),
		cmocka_unit_test_setup(test_antispam, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
