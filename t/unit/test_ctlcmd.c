/*
 * Which console command lines change the daemon's state (ctl_needs_admin):
 * a table of lines, each with the answer the control socket acts on.  The
 * ones that only read are listed; every other known command needs root,
 * the daemon's user or admin_group.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctlcmd.h"
#include "util.h"

static const struct {
	const char *line;
	int	 admin;
} cases[] = {
	{ "stats", 0 },
	{ "stats antivirus1", 0 },
	{ "--json stats", 0 },
	{ "version", 0 },
	{ "engines", 0 },
	{ "pools", 0 },
	{ "cache", 0 },
	{ "help", 0 },
	{ "reload", 1 },
	{ "--json reload", 1 },
	{ "reload now", 1 },
	{ "stats reset", 1 },
	{ "stats reset antivirus1", 1 },
	{ "--json stats reset", 1 },
	{ "  stats\treset ", 1 },
	{ "cache flush", 1 },
	{ "cache anything", 1 },	/* any word after cache */
	{ "nosuch", 0 },		/* answered as unknown */
	{ "RELOAD", 0 },		/* likewise: commands are lower case */
	{ "antivirus:antivirus1 version", 0 },	/* Momentum's form */
	{ "antivirus:antivirus1 stats", 0 },
	{ "antivirus:antivirus1 reload", 0 },	/* not a command */
};

static void
test_needs_admin(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct ctl_request r;
		char line[128], err[128];

		snprintf(line, sizeof(line), "%s", cases[i].line);
		assert_int_equal(ctl_parse(line, &r, err, sizeof(err)), 0);
		if (ctl_needs_admin(&r) != cases[i].admin)
			fail_msg("'%s': ctl_needs_admin %d, want %d",
			    cases[i].line, !cases[i].admin, cases[i].admin);
	}
}

static void
test_status_lines(void **state)
{
	(void)state;
	assert_string_equal(ctl_status_line(CTL_OK), "OK\n");
	assert_string_equal(ctl_status_line(CTL_USAGE), "ERR usage\n");
	assert_string_equal(ctl_status_line(CTL_FAILED), "ERR failed\n");
	assert_string_equal(ctl_status_line(CTL_DENIED), "ERR denied\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needs_admin),
		cmocka_unit_test(test_status_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
