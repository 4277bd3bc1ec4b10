/*
 * Typed option values: every type's accepted and refused words, bounds and
 * overflow, and a check that every default in every table parses.
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

#include "conf.h"
#include "options.h"
#include "registry.h"

struct vals {
	int	 b;
	long long n;
	char	*s;
	int	 e;
};

#define V(f) offsetof(struct vals, f)
static const struct sm_option opts[] = {
	{ "b", SM_OPT_BOOL, NULL, 1, 0, NULL, V(b), "" },
	{ "i", SM_OPT_INT, NULL, -5, 5, NULL, V(n), "" },
	{ "z", SM_OPT_SIZE, NULL, 0, 1LL << 40, NULL, V(n), "" },
	{ "d", SM_OPT_DURATION, NULL, 0, 86400000, NULL, V(n), "" },
	{ "o", SM_OPT_OCTAL, NULL, 0, 0777, NULL, V(n), "" },
	{ "s", SM_OPT_STRING, NULL, 1, 0, NULL, V(s), "" },
	{ "p", SM_OPT_PATH, NULL, 1, 0, NULL, V(s), "" },
	{ "e", SM_OPT_ENUM, NULL, 1, 0, "red|green|blue", V(e), "" },
	SM_OPTION_END
};

struct num_case {
	const char *opt, *text;
	int ok;
	long long want;
};

static const struct num_case num_cases[] = {
	{ "i", "3", 1, 3 }, { "i", "-5", 1, -5 }, { "i", "6", 0, 0 },
	{ "i", "", 0, 0 }, { "i", " 1", 0, 0 }, { "i", "1x", 0, 0 },
	{ "i", "99999999999999999999", 0, 0 },
	{ "z", "0", 1, 0 }, { "z", "10", 1, 10 }, { "z", "64K", 1, 65536 },
	{ "z", "64kb", 1, 65536 }, { "z", "10M", 1, 10485760 },
	{ "z", "1G", 1, 1073741824 }, { "z", "1T", 0, 0 },
	{ "z", "9223372036854775807G", 0, 0 }, { "z", "-1", 0, 0 },
	{ "d", "10", 1, 10000 }, { "d", "10s", 1, 10000 },
	{ "d", "250ms", 1, 250 }, { "d", "2m", 1, 120000 },
	{ "d", "1h", 1, 3600000 }, { "d", "2d", 0, 0 }, { "d", "25h", 0, 0 },
	{ "o", "0660", 1, 0660 }, { "o", "777", 1, 0777 }, { "o", "8", 0, 0 },
	{ "o", "1777", 0, 0 },
};

static void
test_numbers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(num_cases) / sizeof(*num_cases); i++) {
		const struct num_case *nc = &num_cases[i];
		struct vals v = { 0 };
		char err[256] = "";
		int rc = opt_set(opt_find(opts, nc->opt), nc->text, NULL, &v,
		    err, sizeof(err));

		if ((rc == 0) != nc->ok || (nc->ok && v.n != nc->want))
			fail_msg("case %zu (%s = '%s'): rc %d value %lld err "
			    "'%s'", i, nc->opt, nc->text, rc, v.n, err);
		if (!nc->ok && strstr(err, nc->text) == NULL)
			fail_msg("case %zu: error '%s' does not quote the "
			    "value", i, err);
	}
}

static void
test_words(void **state)
{
	struct vals v = { 0 };
	char err[256];

	(void)state;
	assert_int_equal(opt_set(&opts[0], "YES", NULL, &v, err, 256), 0);
	assert_int_equal(v.b, 1);
	assert_int_equal(opt_set(&opts[0], "off", NULL, &v, err, 256), 0);
	assert_int_equal(v.b, 0);
	assert_int_equal(opt_set(&opts[0], "2", NULL, &v, err, 256), -1);
	assert_int_equal(opt_set(opt_find(opts, "e"), "Green", NULL, &v, err,
	    256), 0);
	assert_int_equal(v.e, 1);
	assert_int_equal(opt_set(opt_find(opts, "e"), "gree", NULL, &v, err,
	    256), -1);
	assert_non_null(strstr(err, "red|green|blue"));
	assert_int_equal(opt_set(opt_find(opts, "p"), "sub/dir", "/base", &v,
	    err, 256), 0);
	assert_string_equal(v.s, "/base/sub/dir");
	assert_int_equal(opt_set(opt_find(opts, "s"), "x y", NULL, &v, err,
	    256), 0);	/* replaces and frees the old string */
	assert_string_equal(v.s, "x y");
	opt_free(opts, &v);
	assert_null(v.s);
}

static void
check_defaults(const char *scope, const struct sm_option *o)
{
	unsigned char scratch[4096];

	for (; o->name != NULL; o++) {
		char err[256];

		assert_non_null(o->help);
		if (o->def == NULL)
			continue;
		memset(scratch, 0, sizeof(scratch));
		if (o->offset != SM_OPT_NOSTORE && o->offset + 8 >
		    sizeof(scratch))
			fail_msg("%s.%s: offset too large for test", scope,
			    o->name);
		if (opt_set(o, o->def, "/", scratch, err, sizeof(err)) < 0)
			fail_msg("%s.%s: default '%s' invalid: %s", scope,
			    o->name, o->def, err);
		opt_free((const struct sm_option[]){ *o, SM_OPTION_END },
		    scratch);
	}
}

static void
test_all_defaults_parse(void **state)
{
	(void)state;
	for (const struct conf_scope_doc *s = conf_scopes(); s->keyword; s++)
		check_defaults(s->keyword, s->options);
	for (const struct sm_engine_ops *const *e = registry_all(); *e; e++) {
		char err[256];

		assert_int_equal(registry_check(*e, "builtin", err,
		    sizeof(err)), 0);
		check_defaults((*e)->name, (*e)->options);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_all_defaults_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
