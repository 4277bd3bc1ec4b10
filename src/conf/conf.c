/*
 * Builds the typed configuration snapshot from the parsed tree: checks each
 * scope against its option table, applies inheritance (an option set on an
 * enclosing scope is the default for the scopes inside it) and defaults,
 * and starts the engines.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_parse.h"
#include "log.h"
#include "options.h"
#include "registry.h"
#include "safefs.h"
#include "util.h"

#define NUM(lo, hi)	(lo), (hi)
#define NONUM		1, 0

/* ---- option tables ------------------------------------------------------ */

#define M(f) offsetof(struct sm_conf, f)
static const struct sm_option milter_options[] = {
	{ "listen", SM_OPT_STRING, "unix:/run/scanmilter/scanmilter.sock",
	  NONUM, NULL, M(listen),
	  "socket the MTA connects to: unix:/path, inet:port@host or "
	  "inet6:port@[addr]" },
	{ "socket_mode", SM_OPT_OCTAL, "0660", NUM(0, 0777), NULL,
	  M(socket_mode), "permissions of a unix listen socket" },
	{ "socket_group", SM_OPT_STRING, NULL, NONUM, NULL, M(socket_group),
	  "group of a unix listen socket (e.g. postfix), with socket_mode "
	  "0660" },
	{ "backlog", SM_OPT_INT, "128", NUM(1, 65535), NULL, M(backlog),
	  "listen queue length" },
	{ "user", SM_OPT_STRING, NULL, NONUM, NULL, M(user),
	  "user to run as once the socket is open (started as root)" },
	{ "group", SM_OPT_STRING, NULL, NONUM, NULL, M(group),
	  "group to run as (default: the user's)" },
	{ "pidfile", SM_OPT_PATH, NULL, NONUM, NULL, M(pidfile),
	  "file the daemon's process id is written to (-P overrides)" },
	{ "stop_timeout", SM_OPT_DURATION, "30s", NUM(0, 3600000), NULL,
	  M(stop_timeout), "on SIGTERM, how long messages in flight may "
	  "take to finish; a second signal stops at once" },
	{ "reload_mode", SM_OPT_ENUM, "concurrent", NONUM,
	  "concurrent|blocking", M(reload_mode), "concurrent: new engines "
	  "load while the old ones scan (two signature sets in memory for a "
	  "while); blocking: the old ones go first (one set; mail is "
	  "answered 451 4.3.2 during the load)" },
	{ "auto_reload", SM_OPT_BOOL, "yes", NONUM, NULL, M(auto_reload),
	  "reload by itself when an engine's signatures change on disk" },
	{ "auto_reload_interval", SM_OPT_DURATION, "60s", NUM(1000, 86400000),
	  NULL, M(auto_reload_interval), "how often signatures are checked "
	  "for changes" },
	{ "attachment_memory", SM_OPT_SIZE, "64M", NUM(0, 1LL << 40), NULL,
	  M(attachment_memory), "bytes of attachments seen more than once "
	  "kept as they arrived, so that the next copy (a campaign) is "
	  "known by comparing its bytes instead of hashing them (0: off); "
	  "attachments of 4 KB up to a quarter of it, with mime_decompose "
	  "and a verdict cache" },
	{ "hostname", SM_OPT_STRING, NULL, NONUM, NULL, M(hostname),
	  "host name shown in X-Virus-Scanned (default: this host's name)" },
	{ "log", SM_OPT_ENUM, "auto", NONUM, LOGOPT_CHOICES, M(log_target),
	  "where log lines go: auto is stderr in the foreground (-f), "
	  "syslog otherwise" },
	{ "log_facility", SM_OPT_ENUM, "mail", NONUM, FACILITY_CHOICES,
	  M(log_facility), "syslog facility" },
	{ "log_level", SM_OPT_ENUM, "info", NONUM, LEVEL_CHOICES,
	  M(log_level), "least severe level logged" },
	{ "log_clean", SM_OPT_BOOL, "yes", NONUM, NULL, M(log_clean),
	  "log a line for clean messages too" },
	SM_OPTION_END
};
#undef M

#define M(f) offsetof(struct sm_conf, f)
static const struct sm_option control_options[] = {
	{ "listen", SM_OPT_STRING, "unix:/run/scanmilter/control.sock", NONUM,
	  NULL, M(control_listen), "control socket for scanmilterctl "
	  "(unix:/path)" },
	{ "socket_mode", SM_OPT_OCTAL, "0660", NUM(0, 0777), NULL,
	  M(control_mode), "permissions of the control socket" },
	{ "socket_group", SM_OPT_STRING, NULL, NONUM, NULL, M(control_group),
	  "group of the control socket" },
	{ "signature_max_age", SM_OPT_INT, "3", NUM(0, 3650), NULL,
	  M(signature_max_age), "days after which `version` calls signatures "
	  "out of date" },
	{ "admin_group", SM_OPT_STRING, NULL, NONUM, NULL,
	  M(control_admin_group), "group whose members may also reload, "
	  "stats reset and cache flush (root and the daemon's user always "
	  "may; the socket's group only reads)" },
	{ "max_connections", SM_OPT_INT, "16", NUM(1, 1024), NULL,
	  M(control_max_conns), "connections open at once; past it a new "
	  "one is closed" },
	{ "reload_interval", SM_OPT_DURATION, "10s", NUM(0, 3600000), NULL,
	  M(control_reload_interval), "a reload asked here is refused "
	  "until this long after the last one ended" },
	SM_OPTION_END
};

static const struct sm_option metrics_options[] = {
	{ "listen", SM_OPT_STRING, NULL, NONUM, NULL, M(metrics_listen),
	  "address:port for Prometheus metrics over HTTP, e.g. "
	  "127.0.0.1:9357 (unset: off); an address beyond loopback "
	  "(0.0.0.0:9357, [::]:9357, 10.0.0.11:9357) needs allow" },
	{ "max_connections", SM_OPT_INT, "16", NUM(1, 1024), NULL,
	  M(metrics_max_conns), "connections open at once; past it a new "
	  "one is closed" },
	{ "allow", SM_OPT_STRING, NULL, NONUM, NULL, M(metrics_allow),
	  "clients that may scrape, e.g. \"10.0.0.30 2001:db8::/64\" "
	  "(addresses and CIDR prefixes); others are closed at accept, "
	  "counted and logged; unset: any, loopback listen only" },
	SM_OPTION_END
};

static const struct sm_option cache_options[] = {
	{ "redis", SM_OPT_STRING, NULL, NONUM, NULL, M(cache_redis),
	  "Redis server the filter hosts share verdicts through, behind each "
	  "engine's own cache: unix:/path, inet:port@address or "
	  "inet6:port@[address] (unset: each host caches alone)" },
	{ "password", SM_OPT_STRING, NULL, NONUM, NULL, M(cache_password),
	  "Redis password (AUTH, its requirepass); keep this file unreadable "
	  "to others then" },
	{ "prefix", SM_OPT_STRING, "scanmilter", NONUM, NULL,
	  M(cache_prefix), "first word of every key (the rest: engine, "
	  "versions, options digest, SHA-256 of the object)" },
	{ "ttl", SM_OPT_DURATION, "24h", NUM(1000, 2592000000LL), NULL,
	  M(cache_ttl), "how long Redis keeps a verdict" },
	{ "timeout", SM_OPT_DURATION, "20ms", NUM(1, 10000), NULL,
	  M(cache_timeout), "longest a connect or a command may take; past "
	  "it the object is scanned here" },
	{ "retry", SM_OPT_DURATION, "5s", NUM(100, 3600000), NULL,
	  M(cache_retry), "after a failure Redis is left alone this long "
	  "(logged once per outage)" },
	{ "max_connections", SM_OPT_INT, "16", NUM(1, 1024), NULL,
	  M(cache_max_conns), "connections per engine; a lookup that finds "
	  "them all busy scans instead of waiting" },
	SM_OPTION_END
};
#undef M

struct engine_module { char *module; };
#define D(f) offsetof(struct engine_module, f)
static const struct sm_option engine_module_options[] = {
	{ "module", SM_OPT_PATH, NULL, NONUM, NULL, D(module), "shared object "
	  "of a third-party engine (default: NAME.so in the engines "
	  "directory)" },
	SM_OPTION_END
};
#undef D

#define G(f) offsetof(struct sm_msgopts, f)
static const struct sm_option msg_options[] = {
	{ "large_message_threshold", SM_OPT_SIZE, "1M", NUM(4096, 1LL << 40),
	  NULL, G(large_message_threshold), "a message larger than this is "
	  "moved from memory to an unlinked file under file_base" },
	{ "in_memory", SM_OPT_BOOL, "yes", NONUM, NULL, G(use_wire_rep),
	  "keep messages under large_message_threshold in memory (no: every "
	  "message goes to an unlinked file under file_base)" },
	{ "buffer_padding", SM_OPT_SIZE, "512", NUM(0, 1024 * 1024), NULL,
	  G(header_padding), "bytes added to the first allocation of a "
	  "message's memory buffer (to the size the MTA announced)" },
	{ "file_base", SM_OPT_PATH, "/var/tmp/scanmilter", NONUM, NULL,
	  G(file_base), "directory for temporary files, in private "
	  "directories scanmilter makes inside and empties at start: in "
	  "milter { }, spool/ for every message and decoded part past "
	  "large_message_threshold (one for all instances); in a scope, "
	  "engine-NAME/ for that scope's engines (default: milter { }'s)" },
	{ "max_message_size", SM_OPT_SIZE, "0", NUM(0, 1LL << 40), NULL,
	  G(max_message_size), "larger messages are not scanned but get "
	  "oversize_action (0: no limit)" },
	{ "oversize_action", SM_OPT_ENUM, "reject", NONUM, OVERSIZE_CHOICES,
	  G(oversize_action), "for a message over max_message_size: reject "
	  "(552 5.3.4), tempfail, or accept tagged 'Unscanned (too large)'" },
	SM_OPTION_END
};
#undef G

#define A(f) offsetof(struct sm_av, f)
static const struct sm_option av_options[] = {
	{ "tempfailure", SM_OPT_INT, "451", NUM(400, 599), NULL,
	  A(tempfailure), "SMTP code answered when a message cannot be "
	  "scanned (not for viruses), also while a blocking reload holds "
	  "mail; a 5xx code (allowed, with a warning) refuses such mail for "
	  "good instead of asking for a retry" },
	{ "timeout", SM_OPT_DURATION, "10s", NUM(100, 3600000), NULL,
	  A(timeout), "longest a message's scan may take, queue wait "
	  "included; then the tempfailure code" },
	{ "on_error", SM_OPT_ENUM, "tempfail", NONUM, ONERR_CHOICES,
	  A(on_error), "what a scan error, a timeout or a full queue "
	  "answers: the tempfailure code, accept (tagged) or reject" },
	{ "reject_text", SM_OPT_STRING, "Virus found: %v", NONUM, NULL,
	  A(reject_text), "text of the 550 5.7.1 reply; %v is the virus "
	  "name, %i the instance, %e the engine" },
	{ "scanned_header", SM_OPT_STRING, "X-Virus-Scanned", NONUM, NULL,
	  A(scanned_header), "name of the header saying who scanned" },
	{ "status_header", SM_OPT_STRING, "X-Virus-Status", NONUM, NULL,
	  A(status_header), "name of the header carrying the verdict" },
	{ "add_headers", SM_OPT_BOOL, "yes", NONUM, NULL, A(add_headers),
	  "add the two headers to accepted mail" },
	{ "hide_host", SM_OPT_BOOL, "no", NONUM, NULL, A(hide_host),
	  "leave the host name out of the scanned header" },
	{ "skip_authenticated", SM_OPT_BOOL, "no", NONUM, NULL,
	  A(skip_authenticated), "do not scan mail from clients that "
	  "logged in (SMTP AUTH, the MTA's {auth_authen} macro)" },
	{ "skip_networks", SM_OPT_STRING, NULL, NONUM, NULL, A(skip_networks),
	  "do not scan mail from these client networks, IPv4 and IPv6 "
	  "(\"127.0.0.0/8 ::1 2001:db8::/32\")" },
	{ "skip_variable", SM_OPT_STRING, "skip_virus_check", NONUM, NULL,
	  A(skip_variable), "do not scan when the MTA sets this macro (as "
	  "{NAME}) to a value other than empty, 0 or no" },
	{ "mime_decompose", SM_OPT_BOOL, "yes", NONUM, NULL,
	  A(mime_decompose), "scan each attachment on its own, decoded, and "
	  "the rest of the message once as mail (each byte scanned once)" },
	{ "detect_bypass", SM_OPT_BOOL, "no", NONUM, NULL, A(detect_bypass),
	  "treat mail built to confuse MIME readers as a virus "
	  "(Heuristics.Bypass.REASON), with or without mime_decompose; the "
	  "clamav engines inherit it (archives built to hide)" },
	{ "detect_bypass_limits", SM_OPT_BOOL, "no", NONUM, NULL,
	  A(detect_bypass_limits), "with detect_bypass, also treat a message "
	  "past a MIME limit (mime_max_depth, mime_max_parts, "
	  "mime_max_decoded) as Heuristics.Bypass.DEPTH or .LIMIT; without "
	  "it such a message is only scanned whole" },
	{ "cache_size", SM_OPT_INT, "1000", NUM(0, 10000000), NULL,
	  A(cache_size), "verdicts remembered per engine by SHA-256 of the "
	  "scanned object (0: none); emptied on reload" },
	{ "mime_max_depth", SM_OPT_INT, "10", NUM(1, 100), NULL,
	  A(mime_max_depth), "deepest MIME nesting decomposed; deeper mail "
	  "is also scanned whole" },
	{ "mime_max_parts", SM_OPT_INT, "1000", NUM(1, 100000), NULL,
	  A(mime_max_parts), "most MIME parts decomposed; past it the "
	  "message is also scanned whole" },
	{ "mime_max_decoded", SM_OPT_SIZE, "100M", NUM(1024, 1LL << 40), NULL,
	  A(mime_max_decoded), "most decoded bytes per message; past it the "
	  "message is also scanned whole" },
	SM_OPTION_END
};
#undef A

#define E(f) offsetof(struct sm_engine_inst, f)
const struct sm_option engine_common_options[] = {
	{ "enabled", SM_OPT_BOOL, "yes", NONUM, NULL, E(enabled),
	  "scan with this engine" },
	{ "action", SM_OPT_ENUM, "reject", NONUM, ACTION_CHOICES, E(action),
	  "on a virus: reject (infected and unscannable mail, 550 5.7.1), "
	  "pass (accept and tag), tempfail, discard (accept, never deliver), "
	  "quarantine (accept into the MTA's hold queue, tagged) or strip "
	  "(with mime_decompose: replace the infected attachments by a "
	  "notice, deliver the rest)" },
	{ "unscannable_action", SM_OPT_ENUM, "action", NONUM,
	  UNSCANNABLE_CHOICES, E(unscannable_action), "for a message the "
	  "engine could not look into (limits exceeded): as action, or one "
	  "of the actions" },
	{ "pool", SM_OPT_STRING, NULL, NONUM, NULL, E(pool_name),
	  "thread pool the engine scans in (default: CPU for in-process "
	  "engines, IO for remote ones)" },
	{ "max_concurrency", SM_OPT_INT, "0", NUM(0, 4096), NULL,
	  E(max_concurrency), "most scans of this engine at once (0: as "
	  "many as its pool has threads)" },
	{ "context_variable", SM_OPT_STRING, NULL, NONUM, NULL,
	  E(context_variable), "name of a header set only when this engine "
	  "found a virus (infected, unscannable; spam in an antispam scope) "
	  "or failed (error), with NAME_info holding the virus name or the "
	  "reason; copies that come with the message are removed (unset: "
	  "off)" },
	SM_OPTION_END
};
#undef E

/* What an antispam scope has instead of the antivirus defaults, and the
 * spam headers only it adds; every other option of antivirus applies as
 * there.  action is its engines'. */
#define A(f) offsetof(struct sm_av, f)
static const struct sm_option antispam_options[] = {
	{ "scanned_header", SM_OPT_STRING, "X-Spam-Scanned", NONUM, NULL,
	  A(scanned_header), "name of the header saying who scored" },
	{ "status_header", SM_OPT_STRING, "X-Spam-Verdict", NONUM, NULL,
	  A(status_header), "name of the header carrying the verdict: Spam "
	  "(score N: rules), Suspect (…) or Clean (score N)" },
	{ "reject_text", SM_OPT_STRING, "Message refused as spam", NONUM,
	  NULL, A(reject_text), "text of the 550 5.7.1 reply to spam under "
	  "action = reject (%v would add the rules that fired, telling the "
	  "sender what to avoid)" },
	{ "action", SM_OPT_ENUM, "pass", NONUM, ACTION_CHOICES,
	  SM_OPT_NOSTORE, "for spam: pass (tag only; the default here, as "
	  "Momentum's BEIK hands its verdict to policy), reject, tempfail, "
	  "discard or quarantine" },
	/* the headers mail tools already filter on (SpamAssassin's names) */
	{ "flag_header", SM_OPT_STRING, "X-Spam-Flag", NONUM, NULL,
	  A(spam_flag_header), "header saying YES for spam, NO otherwise "
	  "(\"\": none)" },
	{ "spam_status_header", SM_OPT_STRING, "X-Spam-Status", NONUM, NULL,
	  A(spam_status_header), "header saying \"Yes, score=7.0 "
	  "required=5.0 tests=rule1,rule2\" (No, … for ham; \"\": none)" },
	{ "level_header", SM_OPT_STRING, "X-Spam-Level", NONUM, NULL,
	  A(spam_level_header), "header with one * per point of score, at "
	  "most 50 (\"\": none)" },
	{ "verdict_header", SM_OPT_BOOL, "no", NONUM, NULL,
	  A(spam_verdict_header), "also add status_header (default "
	  "X-Spam-Verdict) with the engine's own verdict, \"Spam (score 7: "
	  "rule1, rule2)\"" },
		SM_OPTION_END
};
#undef A

#define P(f) offsetof(struct sm_pool_conf, f)
static const struct sm_option pool_options[] = {
	{ "concurrency", SM_OPT_INT, "0", NUM(0, 4096), NULL, P(concurrency),
	  "threads (0: the number of CPUs for CPU, four times that for IO)" },
	{ "queue", SM_OPT_INT, "0", NUM(0, 1000000), NULL, P(queue),
	  "messages that may wait for a thread (a message's attachments "
	  "count once); more are answered 451 4.3.2 at once (0: 16 per "
	  "thread)" },
	{ "large_job_size", SM_OPT_SIZE, "2M", NUM(0, 1LL << 40), NULL,
	  P(large_job_size), "a scan of this many bytes or more is large "
	  "(0: none is)" },
	{ "large_concurrency", SM_OPT_INT, "0", NUM(0, 4096), NULL,
	  P(large_concurrency), "threads that may scan large jobs at once, "
	  "so small mail never waits behind them (0: all but one)" },
	{ "small_job_size", SM_OPT_SIZE, "64K", NUM(0, 1LL << 30), NULL,
	  P(small_job_size), "a scan under this many bytes is small: it may "
	  "also run on the small_threads (0: no small lane)" },
	{ "small_threads", SM_OPT_INT, "1", NUM(0, 64), NULL,
	  P(small_threads), "threads beyond concurrency that scan only small "
	  "jobs, so a note never waits behind attachments" },
	{ "medium_job_size", SM_OPT_SIZE, "2M", NUM(0, 1LL << 40), NULL,
	  P(medium_job_size), "a scan under this many bytes may also run on "
	  "the medium_threads (0: no medium lane)" },
	{ "medium_threads", SM_OPT_INT, "0", NUM(0, 64), NULL,
	  P(medium_threads), "threads beyond concurrency that scan only jobs "
	  "under medium_job_size, so attachments do not wait behind the "
	  "scan of a large message" },
	{ "max_wait", SM_OPT_DURATION, "20ms", NUM(1, 3600000), NULL,
	  P(max_wait), "jobs run smallest first, but one that has waited "
	  "this long goes next" },
	SM_OPTION_END
};
#undef P

static const struct conf_scope_doc scope_docs[] = {
	{ "milter", "milter { … }", "the MTA-facing side: socket, temporary "
	  "files, logging", milter_options },
	{ "message", "milter { … } or antivirus \"NAME\" { … }", "how a "
	  "message is held; set in milter { } for all, or per antivirus "
	  "scope (the strictest setting of all scopes applies; file_base "
	  "says where each scope's files go)", msg_options },
	{ "antivirus", "antivirus \"NAME\" { … ENGINE \"NAME\" { … } }",
	  "a scanning instance and its engines; an engine option set here "
	  "is the default for its engine blocks", av_options },
	{ "antispam", "antispam \"NAME\" { … rules \"NAME\" { … } }",
	  "an anti-spam instance: the rules engine goes here, never in an "
	  "antivirus scope (there spam would be rejected as \"Virus found\"); "
	  "it takes every option of antivirus, with these defaults instead",
	  antispam_options },
	{ "ENGINE", "ENGINE \"NAME\" { … }", "options every engine block "
	  "accepts (also in its antivirus scope)", engine_common_options },
	{ "threadpool", "threadpool \"NAME\" { … }", "a pool of scanning "
	  "threads; CPU and IO always exist and may be tuned", pool_options },
	{ "control", "control { … }", "the console scanmilterctl talks to",
	  control_options },
	{ "metrics", "metrics { … }", "Prometheus metrics over HTTP",
	  metrics_options },
	{ "engine", "engine \"NAME\" { … }", "loads a third-party engine "
	  "from a shared object; its blocks are then NAME \"INSTANCE\" { … }",
	  engine_module_options },
	{ "cache", "cache { … }", "the verdict cache several filter hosts "
	  "share through Redis", cache_options },
	{ NULL, NULL, NULL, NULL }
};

const struct conf_scope_doc *
conf_scopes(void)
{
	return scope_docs;
}

int
conf_syslog_facility(int idx)
{
	static const int f[] = { LOG_MAIL, LOG_DAEMON, LOG_USER, LOG_LOCAL0,
	    LOG_LOCAL1, LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5,
	    LOG_LOCAL6, LOG_LOCAL7 };

	return idx >= 0 && (size_t)idx < ARRAY_LEN(f) ? f[idx] : LOG_MAIL;
}

int
conf_syslog_priority(int idx)
{
	static const int p[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO,
	    LOG_DEBUG };

	return idx >= 0 && (size_t)idx < ARRAY_LEN(p) ? p[idx] : LOG_INFO;
}

/* ---- binding a scope to its tables -------------------------------------- */

struct bind_ctx {
	const char *file;
	const char *basedir;
	char	*err;
	size_t	 errlen;
};

/* One table and where its values go (dst NULL: check only). */
struct bind_target {
	const struct sm_option *opts;
	void	*dst;
};

static const struct cf_node *
find_option(const struct cf_node *scope, const char *name)
{
	for (const struct cf_node *n = scope->child; n != NULL; n = n->next)
		if (n->value != NULL && strcmp(n->key, name) == 0)
			return n;
	return NULL;
}

/* The file a node came from: an included one, or the config itself. */
static const char *
node_file(const struct bind_ctx *cx, const struct cf_node *n)
{
	return n->file != NULL ? n->file : cx->file;
}

static int
bind_error(struct bind_ctx *cx, const struct cf_node *at, const char *opt,
    const char *why)
{
	snprintf(cx->err, cx->errlen, "%s:%d: option '%s': %s",
	    node_file(cx, at), at->line, opt, why);
	return -1;
}

/* The same for a line kept without its node (the config file's). */
static int
bind_error_line(struct bind_ctx *cx, int line, const char *opt,
    const char *why)
{
	snprintf(cx->err, cx->errlen, "%s:%d: option '%s': %s", cx->file,
	    line, opt, why);
	return -1;
}

/* ---- Momentum's names ------------------------------------------------- */

/*
 * Names from the Momentum antivirus and BEIK configuration that an admin
 * may bring along.  One with a counterpart here is read as ours, with a
 * warning naming ours; one without is refused, saying what to write.
 */
struct seed_name {
	const char *seed;
	const char *ours;	/* NULL: refused, for why */
	const char *why;
};

static const struct seed_name seed_options[] = {
	{ "scan_pool", "pool", NULL },
	{ "bmiconfig_path", "config_path", NULL },
	{ "accum_pool", NULL, "Momentum's pool that accumulates a message "
	  "has no counterpart: libmilter gives each MTA connection a thread "
	  "that collects the message; only scans run in a pool (pool = "
	  "\"NAME\" and threadpool \"NAME\" { }): delete it" },
	{ "use_wire_rep", NULL, "in Momentum it chooses between the message "
	  "as received and a copy with this MTA's changes; a milter is always "
	  "handed the message by the MTA (dot-unstuffed, with its changes) "
	  "and scans it that way: delete it (in_memory = no puts every "
	  "message on disk; large_message_threshold moves large ones)" },
	{ "header_padding", NULL, "in Momentum it pads the copy made when "
	  "use_wire_rep is off; scanmilter makes no such copy: delete it "
	  "(buffer_padding pads the message buffer)" },
};

static const struct seed_name seed_scopes[] = {
	{ "csapi", NULL, "Symantec CSAPI is not available here; the engines "
	  "are clamav (libclamav in-process), clamd (a clamd farm), rules "
	  "(anti-spam, in an antispam scope) and third-party engines loaded "
	  "by engine \"NAME\" { module = \"PATH\" }" },
	{ "beik", NULL, "Symantec BEIK is not available here; anti-spam is "
	  "antispam \"NAME\" { rules \"NAME\" { config_path = \"FILE\" } "
	  "}, which scores every message by itself" },
};

static const struct seed_name *
seed_find(const struct seed_name *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].seed, name) == 0)
			return &t[i];
	return NULL;
}

/* Reads Momentum's options that have a counterpart under our names. */
static void
seed_rename(struct bind_ctx *cx, struct cf_node *scope)
{
	for (struct cf_node *n = scope->child; n != NULL; n = n->next) {
		const struct seed_name *sn;

		if (n->value == NULL) {
			seed_rename(cx, n);
			continue;
		}
		sn = seed_find(seed_options, ARRAY_LEN(seed_options), n->key);
		if (sn == NULL || sn->ours == NULL)
			continue;
		msg_warnx("%s:%d: option '%s' is Momentum's name for '%s': "
		    "read as %s (write %s = \"%s\")", cx->file, n->line,
		    sn->seed, sn->ours, sn->ours, sn->ours, n->value);
		free(n->key);
		n->key = xstrdup(sn->ours);
	}
}

/* Every option written in scope must be known to one table, once. */
static int
check_known(struct bind_ctx *cx, const struct cf_node *scope,
    const struct bind_target *tg, size_t ntg, const char *where)
{
	for (const struct cf_node *n = scope->child; n != NULL; n = n->next) {
		const struct cf_node *first;
		size_t i;
		char why[256];

		if (n->value == NULL)
			continue;
		for (i = 0; i < ntg; i++)
			if (opt_find(tg[i].opts, n->key) != NULL)
				break;
		if (i == ntg) {
			const struct seed_name *sn = seed_find(seed_options,
			    ARRAY_LEN(seed_options), n->key);

			if (sn != NULL && sn->ours == NULL)
				return bind_error(cx, n, n->key,
				    sn->why);
			snprintf(why, sizeof(why), "unknown in %s", where);
			return bind_error(cx, n, n->key, why);
		}
		first = find_option(scope, n->key);
		if (first != n) {
			snprintf(why, sizeof(why), "set twice (first at line "
			    "%d)", first->line);
			return bind_error(cx, n, n->key, why);
		}
	}
	return 0;
}

/*
 * Gives every option of the targets its value: written in scope, else in
 * the nearest ancestor (innermost first), else its default.
 */
static int
bind_values(struct bind_ctx *cx, const struct cf_node *scope,
    const struct cf_node *const *anc, size_t nanc,
    const struct bind_target *tg, size_t ntg)
{
	for (size_t t = 0; t < ntg; t++) {
		for (const struct sm_option *o = tg[t].opts; o->name; o++) {
			const struct cf_node *n = find_option(scope, o->name);
			char why[512];

			for (size_t a = 0; n == NULL && a < nanc; a++)
				n = find_option(anc[a], o->name);
			if (n == NULL && o->def == NULL)
				continue;
			if (opt_set(o, n ? n->value : o->def, cx->basedir,
			    tg[t].dst, why, sizeof(why)) == 0)
				continue;
			if (n == NULL)
				msg_panic("default of option '%s': %s",
				    o->name, why);
			return bind_error(cx, n, o->name, why);
		}
	}
	return 0;
}

/* The same, once every option written in scope is known to a target. */
static int
bind_scope(struct bind_ctx *cx, const struct cf_node *scope,
    const struct cf_node *const *anc, size_t nanc,
    const struct bind_target *tg, size_t ntg, const char *where)
{
	if (check_known(cx, scope, tg, ntg, where) < 0)
		return -1;
	return bind_values(cx, scope, anc, nanc, tg, ntg);
}

static int scope_error(struct bind_ctx *, const struct cf_node *,
    const char *, ...) __attribute__((format(printf, 3, 4)));

static int
scope_error(struct bind_ctx *cx, const struct cf_node *n, const char *fmt,
    ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(cx->err, cx->errlen, "%s:%d: %s", node_file(cx, n), n->line,
	    why);
	return -1;
}

/* Top-level "ENGINE { … }" block giving defaults to that engine's blocks. */
static const struct cf_node *
engine_defaults(const struct cf_node *root, const char *engine)
{
	for (const struct cf_node *n = root->child; n != NULL; n = n->next)
		if (n->value == NULL && n->label == NULL &&
		    strcmp(n->key, engine) == 0)
			return n;
	return NULL;
}

static void
engine_inst_free(struct sm_engine_inst *e)
{
	if (e == NULL)
		return;
	if (e->conf != NULL)
		opt_free(e->ops->options, e->conf);
	free(e->conf);
	opt_free(engine_common_options, e);
	free(e->name);
	free(e);
}

static int
name_taken(const struct sm_conf *c, const char *name)
{
	for (size_t a = 0; a < c->navs; a++) {
		if (strcmp(c->avs[a]->name, name) == 0)
			return 1;
		for (size_t e = 0; e < c->avs[a]->nengines; e++)
			if (strcmp(c->avs[a]->engines[e]->name, name) == 0)
				return 1;
	}
	return 0;
}

/* Line of option name as the scope or its nearest ancestor wrote it. */
static int
option_line(const struct cf_node *scope, const struct cf_node *const *anc,
    size_t nanc, const char *name)
{
	const struct cf_node *o = find_option(scope, name);

	for (size_t a = 0; o == NULL && a < nanc; a++)
		o = anc[a] != NULL ? find_option(anc[a], name) : NULL;
	return o != NULL ? o->line : scope->line;
}

/* Headers of the message itself (a name ending in '-' is a prefix). */
static const char *const message_headers[] = {
	"From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Date", "Subject",
	"Message-ID", "In-Reply-To", "References", "Received", "Return-Path",
	"MIME-Version", "Content-", "Resent-", "DKIM-Signature", "ARC-",
	"Authentication-Results", "Received-SPF", "List-",
};

/*
 * A header name we add: printable ASCII without ':' or spaces (RFC 5322
 * field-name), short enough for suffix to fit the 63 bytes a name keeps.
 */
static int
check_header_name(struct bind_ctx *cx, int line, const char *opt,
    const char *name, const char *suffix)
{
	char why[256];

	if (*name == '\0' || strlen(name) + strlen(suffix) > 63) {
		snprintf(why, sizeof(why), "'%s': a header name of 1 to %zu "
		    "characters", name, 63 - strlen(suffix));
		return bind_error_line(cx, line, opt, why);
	}
	for (const char *p = name; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p > '~' ||
		    *p == ':') {
			snprintf(why, sizeof(why), "'%s' is not a header name "
			    "(printable ASCII, no spaces, no ':')", name);
			return bind_error_line(cx, line, opt, why);
		}
	/* copies that come with a message are removed: never the message's
	 * own headers */
	for (size_t i = 0; i < ARRAY_LEN(message_headers); i++) {
		size_t l = strlen(message_headers[i]);
		int prefix = message_headers[i][l - 1] == '-';

		if (prefix ? strncasecmp(name, message_headers[i], l) == 0 :
		    strcasecmp(name, message_headers[i]) == 0) {
			snprintf(why, sizeof(why), "'%s' is a header of the "
			    "message itself (copies of ours are removed from "
			    "every message): choose another name", name);
			return bind_error_line(cx, line, opt, why);
		}
	}
	return 0;
}

/* A context_variable pair must not be an instance's header either. */
static int
check_context_names(struct bind_ctx *cx, const struct sm_conf *c)
{
	for (size_t a = 0; a < c->navs; a++)
		for (size_t i = 0; i < c->avs[a]->nengines; i++) {
			const struct sm_engine_inst *e = c->avs[a]->engines[i];
			char info[128], why[256];

			if (e->context_variable == NULL)
				continue;
			snprintf(info, sizeof(info), "%s_info",
			    e->context_variable);
			for (size_t b = 0; b < c->navs; b++)
				for (size_t k = 0; k < c->avs[b]->nengines;
				    k++) {
					const char *o = c->avs[b]->engines[k]->
					    context_variable;

					if (o == NULL || strcasecmp(o, info))
						continue;
					snprintf(why, sizeof(why), "'%s' is "
					    "also the context_variable of %s "
					    "\"%s\"", o, conf_engine_kind(
					    c->avs[b]->engines[k]), c->avs[b]->
					    engines[k]->name);
					return bind_error_line(cx, e->line,
					    "context_variable", why);
				}
			for (size_t b = 0; b < c->navs; b++) {
				const struct sm_av *av = c->avs[b];

				if (strcasecmp(av->scanned_header,
				    e->context_variable) && strcasecmp(
				    av->status_header, e->context_variable) &&
				    strcasecmp(av->scanned_header, info) &&
				    strcasecmp(av->status_header, info))
					continue;
				snprintf(why, sizeof(why), "'%s' (or its "
				    "_info) is a header of %s \"%s\" already",
				    e->context_variable, av->antispam ?
				    "antispam" : "antivirus", av->name);
				return bind_error_line(cx, e->line,
				    "context_variable", why);
			}
		}
	return 0;
}

/* The plug-in recorded under name, or NULL. */
static const struct sm_module *
find_module(const struct sm_conf *c, const char *name)
{
	for (size_t i = 0; i < c->nmodules; i++)
		if (strcmp(c->modules[i]->name, name) == 0)
			return c->modules[i];
	return NULL;
}

/*
 * Checks plug-in name's file path the way root checks what it acts on
 * (safefs.h) and records it for the generation to load; named at n.  The
 * module's code does not run here.  NULL with the reason in cx->err.
 */
static const struct sm_module *
record_module(struct bind_ctx *cx, struct sm_conf *c, const char *name,
    const char *path, const struct cf_node *n)
{
	const struct sm_module *old = find_module(c, name);
	struct sm_module *m;
	struct stat st;
	char why[1024], *real;

	if (old != NULL) {
		scope_error(cx, n, "engine \"%s\" is named twice (first at "
		    "line %d)", name, old->line);
		return NULL;
	}
	if (registry_find(name) != NULL) {
		scope_error(cx, n, "engine \"%s\": %s: an engine named '%s' "
		    "is already registered", name, path, name);
		return NULL;
	}
	/* st: its identity, for the generation to load this file or none */
	if ((real = safefs_check_file(path, &st, why, sizeof(why))) == NULL) {
		if (errno == ENOENT)
			snprintf(why, sizeof(why), "%s: no such engine module",
			    path);
		scope_error(cx, n, "engine \"%s\": %s", name, why);
		return NULL;
	}
	m = xcalloc(1, sizeof(*m));
	m->name = xstrdup(name);
	m->path = xstrdup(path);
	m->real = real;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->uid = st.st_uid;
	m->file = xstrdup(node_file(cx, n));
	m->line = n->line;
	c->modules = xrealloc(c->modules,
	    (c->nmodules + 1) * sizeof(*c->modules));
	c->modules[c->nmodules++] = m;
	return m;
}

/*
 * The plug-in a block keyword names: recorded by engine "NAME" { }, or
 * NAME.so found in the engines directory (recorded now).  0 with *m NULL
 * when there is none; -1 when the file is refused.
 */
static int
lookup_module(struct bind_ctx *cx, struct sm_conf *c, const char *name,
    const struct cf_node *n, const struct sm_module **m)
{
	char *path;
	int rc = 0;

	if ((*m = find_module(c, name)) != NULL || registry_find(name))
		return 0;
	path = xasprintf("%s/%s.so", registry_engine_dir(), name);
	if (access(path, F_OK) == 0 &&
	    (*m = record_module(cx, c, name, path, n)) == NULL)
		rc = -1;
	free(path);
	return rc;
}

static int
bind_engine(struct bind_ctx *cx, struct sm_conf *c, struct sm_av *av,
    const struct cf_node *root, const struct cf_node *avnode,
    const struct cf_node *n)
{
	const struct sm_engine_ops *ops;
	const struct sm_module *m;
	const struct cf_node *anc[2];
	struct sm_engine_inst *e;
	size_t nanc = 0;
	char where[128];

	if (lookup_module(cx, c, n->key, n, &m) < 0)
		return -1;
	ops = m == NULL ? registry_find(n->key) : NULL;
	if (ops == NULL && m == NULL && seed_find(seed_scopes, ARRAY_LEN(seed_scopes),
	    n->key) != NULL)
		return scope_error(cx, n, "scope '%s': %s", n->key,
		    seed_find(seed_scopes, ARRAY_LEN(seed_scopes),
		    n->key)->why);
	if (ops == NULL && m == NULL)
		return scope_error(cx, n, "unknown engine or scope '%s' in "
		    "%s", n->key, avnode->key);
	if (n->label == NULL || *n->label == '\0')
		return scope_error(cx, n, "engine block '%s' needs a name, "
		    "e.g. clamav \"clamav1\" { … }", n->key);
	if (name_taken(c, n->label))
		return scope_error(cx, n, "the name \"%s\" is used twice",
		    n->label);
	e = xcalloc(1, sizeof(*e));
	e->name = xstrdup(n->label);
	e->line = n->line;
	av->engines = xrealloc(av->engines,
	    (av->nengines + 1) * sizeof(*av->engines));
	av->engines[av->nengines++] = e;

	anc[nanc++] = avnode;
	if ((anc[nanc] = engine_defaults(root, n->key)) != NULL)
		nanc++;
	snprintf(where, sizeof(where), "%s \"%s\"", n->key, n->label);
	if (m != NULL) {
		/* a plug-in's own options wait for its table: the daemon's
		 * are bound now, the rest once it is loaded */
		e->module = m;
		e->node = n;
		e->avnode = avnode;
		if (bind_values(cx, n, anc, nanc, (struct bind_target[]){
		    { engine_common_options, e } }, 1) < 0)
			return -1;
	} else {
		e->ops = ops;
		e->conf = xcalloc(1, ops->conf_size);
		if (bind_scope(cx, n, anc, nanc, (struct bind_target[]){
		    { engine_common_options, e }, { ops->options, e->conf } },
		    2, where) < 0)
			return -1;
	}
	if (e->context_variable != NULL && check_header_name(cx,
	    option_line(n, anc, nanc, "context_variable"), "context_variable",
	    e->context_variable, "_info") < 0)
		return -1;
	/* anti-spam tags by default, as BEIK hands its verdict to policy */
	if (av->antispam && find_option(n, "action") == NULL &&
	    find_option(avnode, "action") == NULL &&
	    (anc[1] == NULL || nanc < 2 || find_option(anc[1], "action") ==
	    NULL))
		e->action = ACT_PASS;
	return 0;
}

/* What an antispam scope has instead of the antivirus defaults. */
static void
antispam_defaults(struct sm_av *av, const struct cf_node *n)
{
	char why[64];

	for (const struct sm_option *o = antispam_options; o->name; o++)
		if (o->offset != SM_OPT_NOSTORE &&
		    find_option(n, o->name) == NULL)
			opt_set(o, o->def, NULL, av, why, sizeof(why));
}

/* antivirus "NAME" and antispam "NAME": scanning instances. */
static int
is_instance(const char *keyword)
{
	return strcmp(keyword, "antivirus") == 0 ||
	    strcmp(keyword, "antispam") == 0;
}

static int
bind_av(struct bind_ctx *cx, struct sm_conf *c, const struct cf_node *root,
    const struct cf_node *milter, const struct cf_node *n)
{
	const struct cf_node *anc[1] = { milter };
	struct sm_av *av;

	if (n->label == NULL || *n->label == '\0')
		return scope_error(cx, n, "%s scope needs a name, e.g. "
		    "antivirus \"antivirus1\" { … }", n->key);
	if (name_taken(c, n->label))
		return scope_error(cx, n, "the name \"%s\" is used twice",
		    n->label);
	av = xcalloc(1, sizeof(*av));
	av->name = xstrdup(n->label);
	av->line = n->line;
	av->antispam = strcmp(n->key, "antispam") == 0;
	c->avs = xrealloc(c->avs, (c->navs + 1) * sizeof(*c->avs));
	c->avs[c->navs++] = av;
	if (bind_scope(cx, n, anc, milter != NULL, (struct bind_target[]){
	    { av_options, av }, { msg_options, &av->msg },
	    { engine_common_options, &av->defaults },
	    { antispam_options, av } }, av->antispam ? 4 : 3, n->key) < 0)
		return -1;
	if (av->antispam)
		antispam_defaults(av, n);
	if (check_header_name(cx, option_line(n, anc, 1, "scanned_header"),
	    "scanned_header", av->scanned_header, "") < 0 ||
	    check_header_name(cx, option_line(n, anc, 1, "status_header"),
	    "status_header", av->status_header, "") < 0)
		return -1;
	if (av->tempfailure >= 500)
		msg_warnx("%s:%d: option 'tempfailure': %lld is permanent: "
		    "mail that cannot be scanned (errors, timeouts, a full "
		    "queue, a blocking reload) is refused for good instead "
		    "of retried", cx->file, option_line(n, anc, 1,
		    "tempfailure"), av->tempfailure);
	if (av->skip_networks != NULL) {
		char why[256];

		if (cidr_parse(av->skip_networks, &av->skip_nets, why,
		    sizeof(why)) < 0) {
			const struct cf_node *o = find_option(n,
			    "skip_networks");

			return bind_error(cx, o ? o : n,
			    "skip_networks", why);
		}
	}
	for (const struct cf_node *s = n->child; s != NULL; s = s->next)
		if (s->value == NULL &&
		    bind_engine(cx, c, av, root, n, s) < 0)
			return -1;
	if (av->nengines == 0)
		return scope_error(cx, n, "%s \"%s\" has no engine block",
		    n->key, av->name);
	for (size_t i = 0; i < av->nengines && !av->mime_decompose; i++) {
		const struct sm_engine_inst *e = av->engines[i];

		if (e->action == ACT_STRIP ||
		    e->unscannable_action == ACT_STRIP + 1)
			return scope_error(cx, n, "antivirus \"%s\": action "
			    "strip needs mime_decompose = yes (only decoded "
			    "attachments can be cut out)", av->name);
	}
	return 0;
}

static struct sm_pool_conf *
find_pool(const struct sm_conf *c, const char *name)
{
	for (size_t i = 0; i < c->npools; i++)
		if (strcmp(c->pools[i]->name, name) == 0)
			return c->pools[i];
	return NULL;
}

static struct sm_pool_conf *
add_pool(struct sm_conf *c, const char *name, int line)
{
	struct sm_pool_conf *p = xcalloc(1, sizeof(*p));

	p->name = xstrdup(name);
	p->line = line;
	c->pools = xrealloc(c->pools, (c->npools + 1) * sizeof(*c->pools));
	c->pools[c->npools++] = p;
	return p;
}

/* threadpool "NAME" { … }: a new pool, or settings for CPU or IO. */
static int
bind_pool(struct bind_ctx *cx, struct sm_conf *c, const struct cf_node *n,
    const struct cf_node **seen, size_t nseen)
{
	struct sm_pool_conf *p;
	char where[128];

	if (n->label == NULL || *n->label == '\0')
		return scope_error(cx, n, "%s", "threadpool scope needs a name, "
		    "e.g. threadpool \"scan\" { … }");
	for (size_t i = 0; i < nseen; i++)
		if (seen[i] != n && seen[i]->label != NULL &&
		    strcmp(seen[i]->label, n->label) == 0)
			return scope_error(cx, n, "threadpool \"%s\" is defined "
			    "twice (first at line %d)", n->label, seen[i]->line);
	if ((p = find_pool(c, n->label)) == NULL)
		p = add_pool(c, n->label, n->line);
	p->line = n->line;
	snprintf(where, sizeof(where), "threadpool \"%s\"", n->label);
	return bind_scope(cx, n, NULL, 0, (struct bind_target[]){
	    { pool_options, p } }, 1, where);
}

/* The pool an engine scans in when its block names none. */
static const char *
default_pool(const struct sm_engine_ops *ops)
{
	return ops->pool == SM_POOL_IO ? "IO" : "CPU";
}

/* Gives each engine its pool: named by 'pool', or its engine's default. */
static int
resolve_pools(struct bind_ctx *cx, struct sm_conf *c)
{
	for (size_t a = 0; a < c->navs; a++) {
		for (size_t i = 0; i < c->avs[a]->nengines; i++) {
			struct sm_engine_inst *e = c->avs[a]->engines[i];
			const char *want = e->pool_name;

			if (want == NULL && e->ops == NULL)
				continue;	/* conf_bind_module's */
			if (want == NULL)
				want = default_pool(e->ops);
			if ((e->pool = find_pool(c, want)) == NULL) {
				snprintf(cx->err, cx->errlen, "%s:%d: option "
				    "'pool': no threadpool named \"%s\"",
				    cx->file, e->line, want);
				return -1;
			}
			if (e->enabled)
				e->pool->used = 1;
		}
	}
	return 0;
}

/* A top-level unnamed "ENGINE { … }": engine defaults, checked here. */
static int
check_engine_defaults(struct bind_ctx *cx, const struct cf_node *n,
    const struct sm_engine_ops *ops)
{
	const struct cf_node *s;

	if (n->label != NULL)
		return scope_error(cx, n, "engine block '%s' belongs inside an "
		    "antivirus scope", n->key);
	for (s = n->child; s != NULL && s->value != NULL; s = s->next)
		;
	if (s != NULL)
		return scope_error(cx, s, "unexpected scope '%s'", s->key);
	return bind_scope(cx, n, NULL, 0, (struct bind_target[]){
	    { engine_common_options, NULL }, { ops->options, NULL } }, 2,
	    n->key);
}

/*
 * One message is held one way for every instance: the strictest setting
 * wins (smallest threshold and size limit, wire form only if all agree,
 * largest padding, the most severe oversize action); spill files go under
 * milter { }'s file_base, an instance's own only holds its engines' files.
 */
static void
effective_msgopts(struct sm_conf *c)
{
	struct sm_msgopts *e = &c->eff;

	*e = c->msg;
	e->file_base = c->msg.file_base;
	for (size_t a = 0; a < c->navs; a++) {
		const struct sm_msgopts *m = &c->avs[a]->msg;

		if (m->large_message_threshold < e->large_message_threshold)
			e->large_message_threshold =
			    m->large_message_threshold;
		e->use_wire_rep &= m->use_wire_rep;
		if (m->header_padding > e->header_padding)
			e->header_padding = m->header_padding;
		if (m->max_message_size != 0 && (e->max_message_size == 0 ||
		    m->max_message_size < e->max_message_size))
			e->max_message_size = m->max_message_size;
		if (m->oversize_action < e->oversize_action)
			e->oversize_action = m->oversize_action;
	}
}

/* engine "NAME" { module = PATH }: checks and records it before the
 * blocks using it; the generation loads it. */
static int
load_engine(struct bind_ctx *cx, struct sm_conf *c, const struct cf_node *n)
{
	struct engine_module m = { NULL };
	int rc = -1;

	if (n->label == NULL || *n->label == '\0')
		return scope_error(cx, n, "%s", "engine scope needs the engine's "
		    "name, e.g. engine \"sophos\" { module = \"/path\" }");
	if (bind_scope(cx, n, NULL, 0, (struct bind_target[]){
	    { engine_module_options, &m } }, 1, "engine") < 0)
		goto out;
	if (m.module == NULL)
		m.module = xasprintf("%s/%s.so", registry_engine_dir(),
		    n->label);
	if (record_module(cx, c, n->label, m.module, n) == NULL)
		goto out;
	rc = 0;
out:
	opt_free(engine_module_options, &m);
	return rc;
}

/*
 * metrics { }: listen is ADDRESS:PORT; beyond loopback only with an allow
 * list, which is parsed here (the listener matches clients against it).
 */
static int
check_metrics(struct bind_ctx *cx, struct sm_conf *c,
    const struct cf_node *scope)
{
	const struct cf_node *lo = find_option(scope, "listen");
	const struct cf_node *al = find_option(scope, "allow");
	char host[64], why[256];
	unsigned port;

	if (c->metrics_allow != NULL) {
		if (cidr_parse(c->metrics_allow, &c->metrics_allow_nets, why,
		    sizeof(why)) < 0)
			return bind_error(cx, al ? al : scope, "allow", why);
		if (c->metrics_allow_nets.n == 0)
			return bind_error(cx, al ? al : scope, "allow", "names "
			    "no address (leave it out to let any local "
			    "client scrape a loopback listen)");
	}
	if (c->metrics_listen == NULL || *c->metrics_listen == '\0')
		return 0;
	if (cidr_split_hostport(c->metrics_listen, host, sizeof(host), &port,
	    why, sizeof(why)) < 0)
		return bind_error(cx, lo ? lo : scope, "listen", why);
	if (c->metrics_allow == NULL && !cidr_is_loopback(host)) {
		snprintf(why, sizeof(why), "%s is not a loopback address: "
		    "name the clients that may scrape in allow, e.g. allow = "
		    "\"10.0.0.30\" (addresses and prefixes)", host);
		return bind_error(cx, lo ? lo : scope, "listen", why);
	}
	return 0;
}

static int
bind_root(struct bind_ctx *cx, struct sm_conf *c, const struct cf_node *root)
{
	static const struct cf_node empty;
	const struct cf_node *milter = NULL, *control = NULL, *metrics = NULL;
	const struct cf_node *cache = NULL;
	const struct cf_node *pools[64];
	const struct cf_node *n;
	size_t npools = 0;

	/* the built-in pools, with their defaults */
	for (size_t i = 0; i < 2; i++)
		if (bind_scope(cx, &empty, NULL, 0, (struct bind_target[]){
		    { pool_options, add_pool(c, i ? "IO" : "CPU", 0) } }, 1,
		    "threadpool") < 0)
			return -1;
	for (n = root->child; n != NULL; n = n->next)
		if (n->value == NULL && strcmp(n->key, "engine") == 0 &&
		    load_engine(cx, c, n) < 0)
			return -1;
	for (n = root->child; n != NULL; n = n->next)
		if (n->value == NULL && strcmp(n->key, "threadpool") == 0) {
			if (npools == ARRAY_LEN(pools))
				return scope_error(cx, n, "more than %zu "
				    "threadpool scopes", ARRAY_LEN(pools));
			pools[npools++] = n;
			if (bind_pool(cx, c, n, pools, npools) < 0)
				return -1;
		}
	for (n = root->child; n != NULL; n = n->next) {
		const struct sm_engine_ops *ops;
		const struct sm_module *m;

		if (n->value != NULL)
			return scope_error(cx, n, "option '%s' outside a scope "
			    "(options go inside milter { … })", n->key);
		if (strcmp(n->key, "milter") == 0) {
			if (n->label != NULL)
				return scope_error(cx, n, "%s", "milter scope "
				    "takes no name");
			if (milter != NULL)
				return scope_error(cx, n, "%s", "second "
				    "milter scope");
			milter = n;
		} else if (is_instance(n->key)) {
			/* bound below, once milter { } is known */
		} else if (strcmp(n->key, "threadpool") == 0 ||
		    strcmp(n->key, "engine") == 0) {
			/* bound above */
		} else if (strcmp(n->key, "control") == 0 ||
		    strcmp(n->key, "metrics") == 0) {
			const struct cf_node **slot = n->key[0] == 'c' ?
			    &control : &metrics;

			if (n->label != NULL)
				return scope_error(cx, n, "%s scope takes no "
				    "name", n->key);
			if (*slot != NULL)
				return scope_error(cx, n, "second %s scope",
				    n->key);
			*slot = n;
		} else if (strcmp(n->key, "cache") == 0) {
			if (n->label != NULL || cache != NULL)
				return scope_error(cx, n, "%s", n->label ?
				    "cache scope takes no name" :
				    "second cache scope");
			cache = n;
		} else if (lookup_module(cx, c, n->key, n, &m) < 0) {
			return -1;
		} else if (m != NULL) {
			/* a plug-in's defaults: checked with its table
			 * (conf_bind_module) */
		} else if ((ops = registry_find(n->key)) != NULL) {
			if (check_engine_defaults(cx, n, ops) < 0)
				return -1;
		} else if (seed_find(seed_scopes, ARRAY_LEN(seed_scopes),
		    n->key) != NULL) {
			return scope_error(cx, n, "scope '%s': %s", n->key,
			    seed_find(seed_scopes, ARRAY_LEN(seed_scopes),
			    n->key)->why);
		} else {
			return scope_error(cx, n, "unknown scope '%s'", n->key);
		}
		if (n->value == NULL && !is_instance(n->key))
			for (const struct cf_node *s = n->child; s; s = s->next)
				if (s->value == NULL)
					return scope_error(cx, s, "unexpected "
					    "scope '%s'", s->key);
	}
	if (bind_scope(cx, milter ? milter : root, NULL, 0,
	    (struct bind_target[]){ { milter_options, c },
	    { msg_options, &c->msg } }, 2, "milter") < 0)
		return -1;
	if (bind_scope(cx, control ? control : &empty, NULL, 0,
	    (struct bind_target[]){ { control_options, c } }, 1, "control") < 0 ||
	    bind_scope(cx, metrics ? metrics : &empty, NULL, 0,
	    (struct bind_target[]){ { metrics_options, c } }, 1, "metrics") < 0 ||
	    bind_scope(cx, cache ? cache : &empty, NULL, 0,
	    (struct bind_target[]){ { cache_options, c } }, 1, "cache") < 0 ||
	    check_metrics(cx, c, metrics ? metrics : &empty) < 0)
		return -1;
	for (n = root->child; n != NULL; n = n->next)
		if (n->value == NULL && is_instance(n->key) &&
		    bind_av(cx, c, root, milter, n) < 0)
			return -1;
	effective_msgopts(c);
	if (c->navs == 0) {
		snprintf(cx->err, cx->errlen, "%s: no antivirus or antispam "
		    "scope: nothing would be scanned", cx->file);
		return -1;
	}
	if (c->navs > CONF_MAX_INSTANCES) {
		snprintf(cx->err, cx->errlen, "%s:%d: %s \"%s\": more than %d "
		    "antivirus and antispam scopes (skip rules and statistics "
		    "keep %d)", cx->file, c->avs[CONF_MAX_INSTANCES]->line,
		    c->avs[CONF_MAX_INSTANCES]->antispam ? "antispam" :
		    "antivirus", c->avs[CONF_MAX_INSTANCES]->name,
		    CONF_MAX_INSTANCES, CONF_MAX_INSTANCES);
		return -1;
	}
	for (size_t a = 0, nctx = 0; a < c->navs; a++)
		for (size_t i = 0; i < c->avs[a]->nengines; i++) {
			const struct sm_engine_inst *e = c->avs[a]->engines[i];

			if (e->context_variable == NULL ||
			    ++nctx <= CONF_MAX_CONTEXT)
				continue;
			snprintf(cx->err, cx->errlen, "%s:%d: option "
			    "'context_variable': more than %d engines set "
			    "it (%s \"%s\" is one too many)", cx->file,
			    e->line, CONF_MAX_CONTEXT, conf_engine_kind(e),
			    e->name);
			return -1;
		}
	if (check_context_names(cx, c) < 0)
		return -1;
	for (size_t a = 0, tagging = 0; a < c->navs; a++)
		if (c->avs[a]->add_headers && ++tagging > CONF_MAX_TAGGING) {
			snprintf(cx->err, cx->errlen, "%s:%d: option "
			    "'add_headers': more than %d scanning instances "
			    "add headers; set add_headers = no on some",
			    cx->file, c->avs[a]->line, CONF_MAX_TAGGING);
			return -1;
		}
	return resolve_pools(cx, c);
}

/* ---- loading ------------------------------------------------------------ */

static struct sm_conf *
conf_build(const char *name, const char *basedir, const char *buf,
    size_t len, char *err, size_t errlen)
{
	struct bind_ctx cx = { name, basedir, err, errlen };
	struct cf_node *root;
	struct sm_conf *c;

	if ((root = cf_parse_in(name, basedir, buf, len, err, errlen)) ==
	    NULL)
		return NULL;
	seed_rename(&cx, root);
	c = xcalloc(1, sizeof(*c));
	c->path = xstrdup(name);
	c->basedir = basedir ? xstrdup(basedir) : NULL;
	c->source = xmalloc(len + 1);
	memcpy(c->source, buf, len);
	c->source[len] = '\0';
	c->source_len = len;
	if (bind_root(&cx, c, root) < 0) {
		conf_free(c);
		c = NULL;
	} else if (c->nmodules > 0) {
		c->tree = root;	/* plug-ins' blocks: conf_bind_module */
		root = NULL;
	}
	cf_free(root);
	return c;
}

struct sm_conf *
conf_load_buffer(const char *name, const char *buf, size_t len, char *err,
    size_t errlen)
{
	return conf_build(name, NULL, buf, len, err, errlen);
}

static struct sm_conf *
load_file(const char *path, char *err, size_t errlen)
{
	struct sm_conf *c;
	char *buf, *tmp, *dir, *real = NULL;
	struct stat st;
	size_t len;

	/* root acts on what it says (module, pidfile, socket paths): only a
	 * file no one else may change (safefs.h); a pipe is root's own */
	if (geteuid() == 0 && !(stat(path, &st) == 0 && S_ISFIFO(st.st_mode))) {
		if ((real = safefs_check_file(path, NULL, err,
		    errlen)) == NULL) {
			if (errno == ENOENT)
				snprintf(err, errlen, "%s: %s", path,
				    strerror(ENOENT));
			return NULL;
		}
	}
	buf = sm_read_file(real ? real : path, CF_MAX_BYTES, &len, err,
	    errlen);
	free(real);
	if (buf == NULL)
		return NULL;
	tmp = xstrdup(path);
	dir = dirname(tmp);
	if (*dir != '/') {
		char cwd[4096];

		if (getcwd(cwd, sizeof(cwd)) != NULL) {
			char *abs = xasprintf("%s/%s", cwd, dir);

			free(tmp);
			tmp = abs;
			dir = abs;
		}
	}
	c = conf_build(path, dir, buf, len, err, errlen);
	free(tmp);
	free(buf);
	return c;
}

struct sm_conf *
conf_reparse(const struct sm_conf *c, char *err, size_t errlen)
{
	return conf_build(c->path, c->basedir, c->source, c->source_len, err,
	    errlen);
}

struct sm_conf *
conf_load(const char *path, char *err, size_t errlen)
{
	return load_file(path, err, errlen);
}

const struct sm_engine_inst *
conf_engine(const struct sm_conf *c, size_t i, const struct sm_av **av)
{
	for (size_t a = 0; a < c->navs; a++) {
		if (i < c->avs[a]->nengines) {
			*av = c->avs[a];
			return c->avs[a]->engines[i];
		}
		i -= c->avs[a]->nengines;
	}
	return NULL;
}

void
conf_free(struct sm_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->npools; i++) {
		opt_free(pool_options, c->pools[i]);
		free(c->pools[i]->name);
		free(c->pools[i]);
	}
	free(c->pools);
	for (size_t a = 0; a < c->navs; a++) {
		struct sm_av *av = c->avs[a];

		for (size_t i = 0; i < av->nengines; i++)
			engine_inst_free(av->engines[i]);
		free(av->engines);
		opt_free(av_options, av);
		opt_free(antispam_options, av);
		opt_free(msg_options, &av->msg);
		opt_free(engine_common_options, &av->defaults);
		cidr_free(&av->skip_nets);
		free(av->name);
		free(av);
	}
	free(c->avs);
	opt_free(milter_options, c);
	opt_free(control_options, c);
	opt_free(metrics_options, c);
	cidr_free(&c->metrics_allow_nets);
	opt_free(cache_options, c);
	opt_free(msg_options, &c->msg);
	for (size_t i = 0; i < c->nmodules; i++) {
		free(c->modules[i]->name);
		free(c->modules[i]->path);
		free(c->modules[i]->real);
		free(c->modules[i]->file);
		free(c->modules[i]);
	}
	free(c->modules);
	cf_free(c->tree);
	free(c->path);
	free(c->basedir);
	free(c->source);
	free(c);
}

const char *
conf_engine_kind(const struct sm_engine_inst *e)
{
	return e->ops != NULL ? e->ops->name : e->module->name;
}

int
conf_bind_module(struct sm_conf *c, const struct sm_module *m,
    const struct sm_engine_ops *ops, char *err, size_t errlen)
{
	struct bind_ctx cx = { c->path, c->basedir, err, errlen };
	const struct cf_node *d = c->tree != NULL ?
	    engine_defaults(c->tree, m->name) : NULL;

	if (d != NULL && check_engine_defaults(&cx, d, ops) < 0)
		return -1;
	for (size_t a = 0; a < c->navs; a++)
		for (size_t i = 0; i < c->avs[a]->nengines; i++) {
			struct sm_engine_inst *e = c->avs[a]->engines[i];
			const struct cf_node *anc[2] = { e->avnode, d };
			char where[128];
			void *conf;

			if (e->module != m || e->ops != NULL)
				continue;
			snprintf(where, sizeof(where), "%s \"%s\"", m->name,
			    e->name);
			if (check_known(&cx, e->node, (struct bind_target[]){
			    { engine_common_options, NULL },
			    { ops->options, NULL } }, 2, where) < 0)
				return -1;
			conf = xcalloc(1, ops->conf_size);
			if (bind_values(&cx, e->node, anc, d ? 2 : 1,
			    (struct bind_target[]){ { ops->options, conf } },
			    1) < 0) {
				opt_free(ops->options, conf);
				free(conf);
				return -1;
			}
			e->ops = ops;
			e->conf = conf;
			if (e->pool == NULL)	/* CPU and IO always exist */
				e->pool = find_pool(c, default_pool(ops));
			if (e->enabled)
				e->pool->used = 1;
		}
	return 0;
}
