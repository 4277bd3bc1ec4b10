/*
 * Config parser and binder: a table of good and bad configurations, each
 * bad one with the file:line and the words its error must name, plus
 * checks of defaults, inheritance and units.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "conf_parse.h"
#include "options.h"
#include "cidr.h"
#include "generation.h"

#define AV_MIN "antivirus \"av\" { clamav \"c1\" { } }\n"

struct bad_case {
	const char *text;
	const char *error;	/* must appear in the message */
};

static const struct bad_case bad_cases[] = {
	{ "milter { bogus = 1 }\n" AV_MIN,
	  "t.conf:1: option 'bogus': unknown in milter" },
	{ "milter {\n backlog = abc\n}\n" AV_MIN,
	  "t.conf:2: option 'backlog': expected an integer, got 'abc'" },
	{ "milter {\n backlog = 0\n}\n" AV_MIN,
	  "t.conf:2: option 'backlog': '0' is out of range 1..65535" },
	{ "milter { buffer_padding = 12Q }\n" AV_MIN,
	  "option 'buffer_padding': expected a size" },
	{ "milter {\n use_wire_rep = yes\n}\n" AV_MIN,
	  "t.conf:2: option 'use_wire_rep': in Momentum it chooses" },
	{ "milter {\n header_padding = 512\n}\n" AV_MIN,
	  "t.conf:2: option 'header_padding': in Momentum it pads" },
	{ "antivirus \"a\" {\n accum_pool = \"IO\"\n clamav \"c\" { } }\n",
	  "t.conf:2: option 'accum_pool': Momentum's pool that accumulates" },
	{ "csapi { }\n" AV_MIN, "t.conf:1: scope 'csapi': Symantec CSAPI" },
	{ "antivirus \"a\" {\n csapi \"c\" { } }\n",
	  "t.conf:2: scope 'csapi': Symantec CSAPI" },
	{ "antivirus \"a\" {\n tempfailure = 600\n clamav \"c\" { } }\n",
	  "t.conf:2: option 'tempfailure': '600' is out of range 400..599" },
	{ "antivirus \"a\" { clamav \"c\" {\n context_variable = \"a b\" } }\n",
	  "t.conf:2: option 'context_variable': 'a b' is not a header name" },
	{ "antivirus \"a\" {\n status_header = \"X:Y\"\n clamav \"c\" { } }\n",
	  "t.conf:2: option 'status_header': 'X:Y' is not a header name" },
	{ "antivirus \"a\" {\n status_header = \"content-type\"\n clamav \"c\" { } }\n",
	  "t.conf:2: option 'status_header': 'content-type' is a header of the message itself" },
	{ "antivirus \"a\" { clamav \"c\" {\n context_variable = \"From\" } }\n",
	  "t.conf:2: option 'context_variable': 'From' is a header of the message itself" },
	{ "antivirus \"a\" { clamav \"c\" {\n context_variable = \"x-virus-status\" } }\n",
	  "t.conf:1: option 'context_variable': 'x-virus-status' (or its _info) is a header of antivirus \"a\" already" },
	{ "antivirus \"a\" { clamav \"c\" { context_variable = \"s\" }\n"
	  " clamav \"d\" { context_variable = \"s_info\" } }\n",
	  "option 'context_variable': 's_info' is also the context_variable of clamav \"d\"" },
	{ "milter { socket_mode = 999 }\n" AV_MIN,
	  "option 'socket_mode': expected an octal mode" },
	{ "milter { log = loud }\n" AV_MIN,
	  "option 'log': expected one of auto|stderr|syslog, got 'loud'" },
	{ "milter { log_clean = maybe }\n" AV_MIN,
	  "option 'log_clean': expected yes or no" },
	{ "milter { listen = \"x\"\n listen = \"y\" }\n" AV_MIN,
	  "t.conf:2: option 'listen': set twice (first at line 1)" },
	{ "milter { listen = }\n" AV_MIN, "option 'listen': missing value" },
	{ "milter { listen = \"unterminated }\n" AV_MIN,
	  "t.conf:1: unterminated string" },
	{ "milter { listen = \"a\\qb\" }\n" AV_MIN, "unknown escape" },
	{ "milter { \n", "t.conf:1: scope 'milter' is not closed" },
	{ "}\n", "t.conf:1: '}' without a matching '{'" },
	{ "milter listen\n", "'milter': expected '=' or '{'" },
	{ "= 3\n", "expected an option name, got '='" },
	{ "milter { listen = \"x\" } \x01\n", "unexpected character 0x01" },
	{ "listen = \"x\"\n" AV_MIN, "option 'listen' outside a scope" },
	{ "frobnicate { }\n" AV_MIN, "t.conf:1: unknown scope 'frobnicate'" },
	{ "milter { }\n", "no antivirus or antispam scope" },
	{ "include \"/etc/*.conf\"\n" AV_MIN,
	  "t.conf:1: include works in a configuration file only" },
	{ "antispam \"s\" { rules \"r\" { } }\nantivirus \"a\" { "
	  "flag_header = \"X\" clamav \"c\" { } }\n",
	  "t.conf:2: option 'flag_header': unknown in antivirus" },
	{ "antivirus { clamav \"c\" { } }\n", "antivirus scope needs a name" },
	{ "antivirus \"a\" { }\n", "antivirus \"a\" has no engine block" },
	{ "antivirus \"a\" {\n sophos \"s\" { } }\n",
	  "t.conf:2: unknown engine or scope 'sophos' in antivirus" },
	{ "antivirus \"a\" { clamav { } }\n", "engine block 'clamav' needs a "
	  "name" },
	{ "antivirus \"a\" {\n action = \"explode\"\n clamav \"c\" { } }\n",
	  "t.conf:2: option 'action': expected one of reject|pass|tempfail" },
	{ "antivirus \"a\" { clamav \"c\" {\n max_files = -1 } }\n",
	  "t.conf:2: option 'max_files': '-1' is out of range" },
	{ "antivirus \"a\" { clamav \"c\" {\n database_directory = \"\" } }\n",
	  "option 'database_directory': expected a path" },
	{ "antivirus \"a\" { clamav \"c\" { } }\n"
	  "antivirus \"b\" { clamav \"c\" { } }\n",
	  "t.conf:2: the name \"c\" is used twice" },
	{ "antivirus \"a\" { tempfailure = 399 clamav \"c\" { } }\n",
	  "option 'tempfailure': '399' is out of range 400..599" },
	{ "milter { large_message_threshold = 100 }\n" AV_MIN,
	  "option 'large_message_threshold': '100' is out of range" },
	{ "milter { oversize_action = drop }\n" AV_MIN,
	  "option 'oversize_action': expected one of reject|tempfail|accept" },
	{ "antivirus \"a\" {\n clamav \"c\" { pool = nowhere } }\n",
	  "t.conf:2: option 'pool': no threadpool named \"nowhere\"" },
	{ "threadpool { }\n" AV_MIN, "threadpool scope needs a name" },
	{ "threadpool \"p\" { }\nthreadpool \"p\" { }\n" AV_MIN,
	  "t.conf:2: threadpool \"p\" is defined twice (first at line 1)" },
	{ "threadpool \"p\" { concurrency = -1 }\n" AV_MIN,
	  "option 'concurrency': '-1' is out of range" },
	{ "antivirus \"a\" { timeout = 0 clamav \"c\" { } }\n",
	  "option 'timeout': '0' is out of range" },
	{ "antivirus \"a\" { clamav \"c\" { unscannable_action = x } }\n",
	  "option 'unscannable_action': expected one of action|reject" },
	{ "antivirus \"a\" {\n skip_networks = \"10.0.0.0/8 300.1.1.1\"\n"
	  " clamav \"c\" { } }\n",
	  "t.conf:2: option 'skip_networks': '300.1.1.1' is not an address" },
	{ "clamav { max_files = x }\n" AV_MIN,
	  "option 'max_files': expected an integer" },
	{ "clamav \"c\" { }\n" AV_MIN, "belongs inside an antivirus scope" },
	{ "milter { inner { } }\n" AV_MIN, "unexpected scope 'inner'" },
	{ "metrics {\n listen = \"0.0.0.0:9357\"\n}\n" AV_MIN,
	  "t.conf:2: option 'listen': 0.0.0.0 is not a loopback address" },
	{ "metrics {\n listen = \"[::]:9357\" }\n" AV_MIN,
	  "t.conf:2: option 'listen': :: is not a loopback address" },
	{ "metrics { listen = \"[::ffff:10.0.0.1]:9357\" }\n" AV_MIN,
	  "option 'listen': ::ffff:10.0.0.1 is not a loopback address" },
	{ "metrics { listen = \"10.0.0.11:9357\"  allow = \"\" }\n" AV_MIN,
	  "option 'allow': names no address" },
	{ "metrics { listen = \"127.0.0.1:9357\"\n allow = \"10.0.0.0/33\" }\n"
	  AV_MIN, "t.conf:2: option 'allow': '10.0.0.0/33' is not an address" },
	{ "metrics { listen = \"example.org:9357\" allow = \"10.0.0.1\" }\n"
	  AV_MIN, "option 'listen': expected ADDRESS:PORT" },
	{ "metrics { listen = \"127.0.0.1:0\" }\n" AV_MIN,
	  "option 'listen': expected ADDRESS:PORT" },
	{ "metrics { listen = \"127.0.0.1\" }\n" AV_MIN,
	  "option 'listen': expected ADDRESS:PORT" },
	{ "metrics { listen = \"127.0.0.1:+80\" }\n" AV_MIN,
	  "option 'listen': expected ADDRESS:PORT" },
};

static void
test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(*bad_cases); i++) {
		const struct bad_case *bc = &bad_cases[i];
		char err[1024] = "";
		struct sm_conf *c;

		c = conf_load_buffer("t.conf", bc->text, strlen(bc->text), err,
		    sizeof(err));
		if (c != NULL || strstr(err, bc->error) == NULL)
			fail_msg("case %zu: wanted error '%s', got %s '%s'", i,
			    bc->error, c ? "success" : "error", err);
		conf_free(c);
	}
}

static struct sm_conf *
load_ok(const char *text)
{
	char err[1024] = "";
	struct sm_conf *c = conf_load_buffer("t.conf", text, strlen(text), err,
	    sizeof(err));

	if (c == NULL)
		fail_msg("config rejected: %s", err);
	return c;
}

static void
test_defaults(void **state)
{
	struct sm_conf *c = load_ok(AV_MIN);

	(void)state;
	assert_string_equal(c->listen, "unix:/run/scanmilter/scanmilter.sock");
	assert_int_equal(c->socket_mode, 0660);
	assert_int_equal(c->msg.header_padding, 512);
	assert_int_equal(c->eff.large_message_threshold, 1024 * 1024);
	assert_int_equal(c->eff.use_wire_rep, 1);
	assert_int_equal(c->eff.max_message_size, 0);
	assert_int_equal(c->avs[0]->timeout, 10000);
	assert_int_equal(c->avs[0]->engines[0]->unscannable_action,
	    UNSCANNABLE_AS_ACTION);
	assert_int_equal(c->npools, 2);
	assert_string_equal(c->avs[0]->engines[0]->pool->name, "CPU");
	assert_int_equal(c->navs, 1);
	assert_string_equal(c->avs[0]->name, "av");
	assert_int_equal(c->avs[0]->tempfailure, 451);
	assert_int_equal(c->avs[0]->on_error, ONERR_TEMPFAIL);
	assert_string_equal(c->avs[0]->status_header, "X-Virus-Status");
	assert_int_equal(c->avs[0]->nengines, 1);
	assert_string_equal(c->avs[0]->engines[0]->name, "c1");
	assert_int_equal(c->avs[0]->engines[0]->enabled, 1);
	assert_int_equal(c->avs[0]->engines[0]->action, ACT_REJECT);
	conf_free(c);
}

static void
test_issue_shape(void **state)
{
	/* The shape the issue fixes as interface. */
	struct sm_conf *c = load_ok(
	    "milter { listen = \"unix:/run/scanmilter/scanmilter.sock\" }\n"
	    "antivirus \"antivirus1\" {\n"
	    "  action = \"reject\"\n"
	    "  clamav \"clamav1\" { database_directory = \"/var/lib/clamav\" }\n"
	    "}\n");

	(void)state;
	assert_string_equal(c->avs[0]->engines[0]->name, "clamav1");
	conf_free(c);
}

static void
test_inheritance(void **state)
{
	struct sm_conf *c = load_ok(
	    "# comment\n"
	    "antivirus \"a\" {\n"
	    "  action = pass   # default for the engines below\n"
	    "  clamav \"one\" { }\n"
	    "  clamav \"two\" { action = tempfail; enabled = no }\n"
	    "}\n");

	(void)state;
	assert_int_equal(c->avs[0]->engines[0]->action, ACT_PASS);
	assert_int_equal(c->avs[0]->engines[1]->action, ACT_TEMPFAIL);
	assert_int_equal(c->avs[0]->engines[1]->enabled, 0);
	conf_free(c);
}

static void
test_units(void **state)
{
	struct sm_conf *c = load_ok(
	    "milter { buffer_padding = 2K socket_mode = 0600 "
	    "listen = \"inet6:2525@[::1]\" }\n"
	    "clamav { max_scan_time = 1500ms }\n" AV_MIN);
	const struct sm_engine_inst *e;
	const struct sm_option *o;

	(void)state;
	assert_int_equal(c->msg.header_padding, 2048);
	assert_int_equal(c->socket_mode, 0600);
	assert_string_equal(c->listen, "inet6:2525@[::1]");
	/* the top-level clamav { } block gives defaults to clamav blocks */
	e = c->avs[0]->engines[0];
	o = opt_find(e->ops->options, "max_scan_time");
	assert_non_null(o);
	assert_int_equal(*(long long *)((char *)e->conf + o->offset), 1500);
	conf_free(c);
}

static void
test_message_options(void **state)
{
	/* milter { } sets them for all; an antivirus scope may tighten */
	struct sm_conf *c = load_ok(
	    "milter { large_message_threshold = 2M  max_message_size = 50M\n"
	    "  buffer_padding = 1K }\n"
	    "antivirus \"a\" { clamav \"c1\" { } }\n"
	    "antivirus \"b\" { large_message_threshold = 512K\n"
	    "  in_memory = no  oversize_action = tempfail\n"
	    "  clamav \"c2\" { } }\n");

	(void)state;
	assert_int_equal(c->avs[0]->msg.large_message_threshold, 2 << 20);
	assert_int_equal(c->avs[1]->msg.large_message_threshold, 512 << 10);
	assert_int_equal(c->avs[1]->msg.max_message_size, 50 << 20);
	assert_int_equal(c->eff.large_message_threshold, 512 << 10);
	assert_int_equal(c->eff.use_wire_rep, 0);
	assert_int_equal(c->eff.header_padding, 1024);
	assert_int_equal(c->eff.max_message_size, 50 << 20);
	assert_int_equal(c->eff.oversize_action, OVERSIZE_REJECT);
	conf_free(c);
}

static void
test_pools(void **state)
{
	struct sm_conf *c = load_ok(
	    "threadpool \"CPU\" { concurrency = 3 }\n"
	    "threadpool \"slow\" { concurrency = 1  queue = 2 }\n"
	    "antivirus \"a\" { max_concurrency = 2\n"
	    "  clamav \"c1\" { pool = slow }  clamav \"c2\" { } }\n");

	(void)state;
	assert_int_equal(c->npools, 3);
	assert_int_equal(c->pools[0]->concurrency, 3);
	assert_string_equal(c->avs[0]->engines[0]->pool->name, "slow");
	assert_int_equal(c->avs[0]->engines[0]->pool->queue, 2);
	assert_string_equal(c->avs[0]->engines[1]->pool->name, "CPU");
	assert_int_equal(c->avs[0]->engines[1]->max_concurrency, 2);
	assert_true(c->pools[0]->used && c->pools[2]->used);
	assert_false(c->pools[1]->used);	/* IO: nobody */
	conf_free(c);
}

static void
test_cidr(void **state)
{
	static const struct { const char *addr; int in; } cases[] = {
		{ "10.1.2.3", 1 }, { "10.255.255.255", 1 }, { "11.0.0.1", 0 },
		{ "192.168.1.5", 1 }, { "192.168.1.6", 0 },
		{ "172.16.0.1", 1 }, { "172.31.255.255", 1 },
		{ "172.32.0.0", 0 }, { "2001:db8::1", 1 },
		{ "2001:db8:ffff::1", 1 }, { "2001:db9::1", 0 }, { "::1", 1 },
		{ "::2", 0 }, { "::ffff:10.0.0.1", 1 }, { "::ffff:11.0.0.1", 0 },
		{ "unknown", 0 }, { "", 0 },
	}, mapped[] = {
		{ "::ffff:10.0.0.1", 0 }, { "10.0.0.1", 0 },
		{ "192.0.2.7", 1 }, { "::ffff:192.0.2.7", 1 },
		{ "192.0.3.7", 0 }, { "2001:db8::1", 1 }, { "::1", 1 },
	};
	struct cidr_list l;
	char err[256];

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8, 192.168.1.5 172.16.0.0/12 "
	    "2001:db8::/32\t::1", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 5);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		if (cidr_match(&l, cases[i].addr) != cases[i].in)
			fail_msg("%s: wanted %d", cases[i].addr, cases[i].in);
	cidr_free(&l);
	assert_int_equal(cidr_parse("10.0.0.0/33", &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'10.0.0.0/33' is not an address"));
	assert_int_equal(cidr_parse("::1/129", &l, err, sizeof(err)), -1);
	assert_int_equal(cidr_parse("10.0.0/8", &l, err, sizeof(err)), -1);
	assert_int_equal(cidr_parse("", &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 0);
	/* a mapped IPv4 address is IPv4, entry or client: ::/0 is not every
	 * IPv4 client of a dual-stack socket */
	assert_int_equal(cidr_parse("::/0 ::ffff:192.0.2.0/120", &l, err,
	    sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(mapped) / sizeof(*mapped); i++)
		if (cidr_match(&l, mapped[i].addr) != mapped[i].in)
			fail_msg("%s: wanted %d", mapped[i].addr, mapped[i].in);
	cidr_free(&l);
}

/* A metrics listen address: split, and whether only this host reaches it;
 * a config with an allow list binds beyond loopback. */
static void
test_listen_hostport(void **state)
{
	static const struct {
		const char *spec, *host;
		unsigned port;
		int loopback;	/* -1: a syntax error */
	} cases[] = {
		{ "127.0.0.1:9357", "127.0.0.1", 9357, 1 },
		{ "127.255.0.3:1", "127.255.0.3", 1, 1 },
		{ "localhost:9357", "localhost", 9357, 1 },
		{ "[::1]:9357", "::1", 9357, 1 },
		{ "::1:9357", "::1", 9357, 1 },
		{ "[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", 80, 1 },
		{ "0.0.0.0:9357", "0.0.0.0", 9357, 0 },
		{ "[::]:9357", "::", 9357, 0 },
		{ "10.0.0.11:65535", "10.0.0.11", 65535, 0 },
		{ "128.0.0.1:80", "128.0.0.1", 80, 0 },
		{ "[::2]:80", "::2", 80, 0 },
		{ "[::ffff:10.0.0.1]:80", "::ffff:10.0.0.1", 80, 0 },
		{ "127.0.0.1:65536", NULL, 0, -1 },
		{ "127.0.0.1:", NULL, 0, -1 },
		{ ":80", NULL, 0, -1 },
		{ "[::1]80", NULL, 0, -1 },
		{ "[::1:80", NULL, 0, -1 },
		{ "host.example:80", NULL, 0, -1 },
		{ "127.0.0.1:80x", NULL, 0, -1 },
		{ "127.0.0.1:-1", NULL, 0, -1 },
	};
	struct sm_conf *c;
	char host[64], err[256];
	unsigned port;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		int rc = cidr_split_hostport(cases[i].spec, host, sizeof(host),
		    &port, err, sizeof(err));

		if (cases[i].loopback < 0) {
			if (rc != -1)
				fail_msg("%s: accepted", cases[i].spec);
			continue;
		}
		if (rc != 0 || strcmp(host, cases[i].host) != 0 ||
		    port != cases[i].port ||
		    cidr_is_loopback(host) != cases[i].loopback)
			fail_msg("%s: rc %d host '%s' port %u loopback %d",
			    cases[i].spec, rc, host, port,
			    cidr_is_loopback(host));
	}
	c = load_ok("metrics { listen = \"0.0.0.0:9357\"  allow = "
	    "\"10.0.0.30, 2001:db8::/64\" }\n" AV_MIN);
	assert_int_equal(c->metrics_allow_nets.n, 2);
	assert_true(cidr_match(&c->metrics_allow_nets, "2001:db8::5"));
	assert_false(cidr_match(&c->metrics_allow_nets, "10.0.0.31"));
	conf_free(c);
	c = load_ok("metrics { listen = \"127.0.0.1:9357\" }\n" AV_MIN);
	assert_int_equal(c->metrics_allow_nets.n, 0);
	conf_free(c);
}

static void
test_caps(void **state)
{
	char err[256];
	size_t n = CF_MAX_DEPTH + 2, len = 0;
	char *deep = malloc(n * 4 + 1);

	(void)state;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(deep + len, "a {");
	assert_null(conf_load_buffer("t.conf", deep, len, err, sizeof(err)));
	assert_non_null(strstr(err, "nested deeper than 8"));
	free(deep);

	deep = calloc(1, CF_MAX_BYTES + 2);
	memset(deep, ' ', CF_MAX_BYTES + 1);
	assert_null(conf_load_buffer("t.conf", deep, CF_MAX_BYTES + 1, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "larger than"));
	free(deep);
}

static void
test_load_file(void **state)
{
	char err[1024];
	struct sm_conf *c;

	(void)state;
	c = conf_load(SRCDIR "/etc/scanmilter-run.conf", err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	/* relative paths resolve against the config file's directory */
	{
		const struct sm_engine_inst *e = c->avs[0]->engines[0];
		const struct sm_option *o = opt_find(e->ops->options,
		    "database_directory");

		assert_non_null(strstr(*(char **)((char *)e->conf + o->offset),
		    "/etc/../t/data/sigs"));
	}
	conf_free(c);
	assert_null(conf_load("/nonexistent/x.conf", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/x.conf: No such file"));
}

/* Writes text to path, mode 0644. */
static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, 0644), 0);
}

/*
 * A plug-in is checked and recorded by the parser, never loaded there (a
 * file that is no shared object parses); the generation loads it, and
 * refuses a file put in its place after the check.
 */
static void
test_module_deferred(void **state)
{
	char dir[] = "/tmp/sm-test-conf.XXXXXX", so[64], tmp[64], text[512];
	char err[1024];
	struct sm_conf *c;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	snprintf(so, sizeof(so), "%s/m.so", dir);
	snprintf(tmp, sizeof(tmp), "%s/other.so", dir);
	write_file(so, "not an object");
	snprintf(text, sizeof(text), "milter { file_base = \"%s\" }\n"
	    "engine \"m\" { module = \"%s\" }\n"
	    "antivirus \"a\" {\n m \"m1\" { own_option = 1 } }\n", dir, so);

	/* parsed: the module's own options wait for its table */
	c = conf_load_buffer("t.conf", text, strlen(text), err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(c->nmodules, 1);
	assert_null(c->avs[0]->engines[0]->ops);
	assert_ptr_equal(c->avs[0]->engines[0]->module, c->modules[0]);
	/* loading it is the generation's, which says why not */
	assert_null(generation_new(c, err, sizeof(err)));	/* frees c */
	assert_non_null(strstr(err, "t.conf:2: engine \"m\": "));
	assert_non_null(strstr(err, so));
	assert_null(strstr(err, "not the file checked"));

	/* another file renamed over the one checked: refused, not loaded */
	c = conf_load_buffer("t.conf", text, strlen(text), err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	write_file(tmp, "another file");
	assert_int_equal(rename(tmp, so), 0);
	assert_null(generation_new(c, err, sizeof(err)));
	assert_non_null(strstr(err, "not the file checked when the "
	    "configuration was read"));

	/* made writable by others after the check: refused too */
	c = conf_load_buffer("t.conf", text, strlen(text), err, sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	assert_int_equal(chmod(so, 0666), 0);
	assert_null(generation_new(c, err, sizeof(err)));
	assert_non_null(strstr(err, "not the file checked"));

	unlink(so);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_issue_shape),
		cmocka_unit_test(test_inheritance),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_message_options),
		cmocka_unit_test(test_pools),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_listen_hostport),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_module_deferred),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
