/*
 * The console's commands (ctlcmd.h): stats, version, engines, pools,
 * cache, help; the reload's answer.  Each one is a function that writes
 * text or JSON from the same values, so the two formats cannot disagree.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "conf.h"
#include "ctlcmd.h"
#include "encmemo.h"
#include "generation.h"
#include "pool.h"
#include "runtime.h"
#include "stats.h"
#include "util.h"
#include "vcache.h"

#define STATS_MAX_LIST 64

const char *
ctl_status_line(enum ctl_status st)
{
	switch (st) {
	case CTL_OK:		return "OK\n";
	case CTL_USAGE:		return "ERR usage\n";
	case CTL_DENIED:	return "ERR denied\n";
	case CTL_FAILED:	break;
	}
	return "ERR failed\n";
}

void
ctl_json_str(struct evbuffer *o, const char *s)
{
	evbuffer_add(o, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(o, "\\%c", ch);
		else if (ch == '\n')
			evbuffer_add(o, "\\n", 2);
		else if (ch < 0x20 || ch == 0x7f)
			evbuffer_add_printf(o, "\\u%04x", ch);
		else
			evbuffer_add(o, s, 1);
	}
	evbuffer_add(o, "\"", 1);
}

void
ctl_error(int json, struct evbuffer *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (json) {
		evbuffer_add_printf(o, "{\"error\": ");
		ctl_json_str(o, msg);
		evbuffer_add_printf(o, "}\n");
	} else {
		evbuffer_add_printf(o, "%s\n", msg);
	}
}

/*
 * Momentum's console form, "antivirus:NAME version" and "antivirus:NAME
 * stats" (or antispam:NAME), is read as "version NAME" / "stats NAME".
 */
static void
momentum_form(struct ctl_request *r)
{
	char *name;

	if (r->argc != 2 || (strcmp(r->argv[1], "version") != 0 &&
	    strcmp(r->argv[1], "stats") != 0))
		return;
	if (strncmp(r->argv[0], "antivirus:", 10) == 0)
		name = r->argv[0] + 10;
	else if (strncmp(r->argv[0], "antispam:", 9) == 0)
		name = r->argv[0] + 9;
	else
		return;
	if (*name == '\0')
		return;
	r->argv[0] = r->argv[1];
	r->argv[1] = name;
}

int
ctl_parse(char *line, struct ctl_request *r, char *err, size_t errlen)
{
	char *save = NULL, *w;

	memset(r, 0, sizeof(*r));
	for (w = strtok_r(line, " \t\r\n", &save); w != NULL;
	    w = strtok_r(NULL, " \t\r\n", &save)) {
		if (r->argc == 0 && !r->json && strcmp(w, "--json") == 0) {
			r->json = 1;
			continue;
		}
		if (r->argc == CTL_MAX_ARGS) {
			snprintf(err, errlen, "too many words (at most %d)",
			    CTL_MAX_ARGS);
			return -1;
		}
		r->argv[r->argc++] = w;
	}
	if (r->argc == 0) {
		snprintf(err, errlen, "empty command (try help)");
		return -1;
	}
	momentum_form(r);
	return 0;
}

int
ctl_is_reload(const struct ctl_request *r)
{
	return r->argc >= 1 && strcmp(r->argv[0], "reload") == 0;
}

/* ---- helpers --------------------------------------------------------- */

/* Local time as "2026-11-22 10:00:00 +0000", or "never" for 0. */
static const char *
fmt_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "never");
	else
		strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm);
	return buf;
}

/* The idx'th word of a '|'-separated list. */
static const char *
choice(const char *choices, int idx, char *buf, size_t len)
{
	const char *p = choices, *bar;

	for (; idx > 0 && (bar = strchr(p, '|')) != NULL; idx--)
		p = bar + 1;
	bar = strchr(p, '|');
	snprintf(buf, len, "%.*s", (int)(bar ? (size_t)(bar - p) :
	    strlen(p)), p);
	return buf;
}

static const char *
action_name(const struct sm_engine_inst *e, char *buf, size_t len)
{
	return choice(ACTION_CHOICES, e->action, buf, len);
}

/* ---- stats ------------------------------------------------------------ */

enum row_kind { ROW_COUNT, ROW_AVG_MS };

/* One line of `stats`: a counter, or a time per item (us / count). */
static const struct stats_row {
	const char *label;
	const char *key;
	enum row_kind kind;
	size_t	 off;		/* counter, or total microseconds */
	size_t	 per;		/* ROW_AVG_MS: the count divided by */
} stats_rows[] = {
#define C(label, key, f) { label, key, ROW_COUNT, \
	offsetof(struct av_counters, f), 0 }
	C("Messages checked", "messages", messages),
	C("MIME parts checked", "mime_parts", parts),
	C("Viruses detected", "viruses", viruses),
	C("Viruses cured", "cured", cured),
	{ "Avg. time/message", "avg_ms_message", ROW_AVG_MS,
	  offsetof(struct av_counters, msg_us),
	  offsetof(struct av_counters, messages) },
	{ "Avg. time/MIME part", "avg_ms_mime_part", ROW_AVG_MS,
	  offsetof(struct av_counters, part_us),
	  offsetof(struct av_counters, parts) },
	C("Spam detected", "spam", spam),
	C("Clean", "clean", clean),
	C("Infected", "infected", infected),
	C("Unscannable", "unscannable", unscannable),
	C("Scan errors", "errors", errors),
	C("Accepts", "accepts", accepts),
	C("Strips", "strips", strips),
	C("Rejects", "rejects", rejects),
	C("Discards", "discards", discards),
	C("Quarantines", "quarantines", quarantines),
	C("Tempfails", "tempfails", tempfails),
	C("Tempfails (timeout)", "tempfails_timeout", tempfail_timeout),
	C("Tempfails (busy)", "tempfails_busy", tempfail_busy),
	C("Tempfails (error)", "tempfails_error", tempfail_error),
	C("Tempfails (action)", "tempfails_action", tempfail_action),
	C("Skipped", "skipped", skipped),
	C("Cache hits", "cache_hits", cache_hits),
	C("Cache misses (engine scans)", "engine_scans", engine_scans),
#undef C
};

static uint64_t
field(const struct av_counters *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

/* Milliseconds per item, or -1 when there is none. */
static double
row_avg(const struct av_counters *c, const struct stats_row *r)
{
	uint64_t n = field(c, r->per);

	return n == 0 ? -1 : (double)field(c, r->off) / 1000.0 / (double)n;
}

static void
stats_cell(struct evbuffer *o, const struct av_counters *c,
    const struct stats_row *r)
{
	char buf[32];

	if (r->kind == ROW_COUNT) {
		evbuffer_add_printf(o, " %14llu",
		    (unsigned long long)field(c, r->off));
		return;
	}
	if (row_avg(c, r) < 0)
		snprintf(buf, sizeof(buf), "-");
	else
		snprintf(buf, sizeof(buf), "%.3fms", row_avg(c, r));
	evbuffer_add_printf(o, " %14s", buf);
}

static void
stats_json_obj(struct evbuffer *o, const struct av_counters *c)
{
	evbuffer_add_printf(o, "{");
	for (size_t i = 0; i < ARRAY_LEN(stats_rows); i++) {
		const struct stats_row *r = &stats_rows[i];

		evbuffer_add_printf(o, "%s\"%s\": ", i ? ", " : "", r->key);
		if (r->kind == ROW_COUNT)
			evbuffer_add_printf(o, "%llu",
			    (unsigned long long)field(c, r->off));
		else if (row_avg(c, r) < 0)
			evbuffer_add_printf(o, "null");
		else
			evbuffer_add_printf(o, "%.3f", row_avg(c, r));
	}
	evbuffer_add_printf(o, "}");
}

static void
stats_one(struct evbuffer *o, int json, const struct av_stats *s, int first)
{
	struct av_counters total, since;
	char t1[64], t2[64];
	time_t reset = __atomic_load_n(&s->reset_time, __ATOMIC_RELAXED);

	stats_read(s, &total, &since);
	fmt_time(stats_start_time(), t1, sizeof(t1));
	fmt_time(reset, t2, sizeof(t2));
	if (json) {
		evbuffer_add_printf(o, "%s{\"name\": ", first ? "" : ", ");
		ctl_json_str(o, s->name);
		evbuffer_add_printf(o, ", \"start_time\": %lld, "
		    "\"reset_time\": %lld, \"since_start\": ",
		    (long long)stats_start_time(), (long long)reset);
		stats_json_obj(o, &total);
		evbuffer_add_printf(o, ", \"since_reset\": ");
		stats_json_obj(o, &since);
		evbuffer_add_printf(o, "}");
		return;
	}
	evbuffer_add_printf(o, "%s%s (started %s, last reset %s)\n",
	    first ? "" : "\n", s->name, t1, t2);
	evbuffer_add_printf(o, "  %-28s %14s %14s\n", "", "since start",
	    "since reset");
	for (size_t i = 0; i < ARRAY_LEN(stats_rows); i++) {
		char label[64];

		snprintf(label, sizeof(label), "%s:", stats_rows[i].label);
		evbuffer_add_printf(o, "  %-28s", label);
		stats_cell(o, &total, &stats_rows[i]);
		stats_cell(o, &since, &stats_rows[i]);
		evbuffer_add_printf(o, "\n");
	}
}

static void pools_out(struct evbuffer *, int json,
    const struct generation *);

/* The shared verdict cache of each engine that has one (Redis), after the
 * pools: ', "shared_cache": [...]' in JSON, a table otherwise. */
static void
shared_cache_out(struct evbuffer *o, int json, const struct generation *g)
{
	const struct gen_engine *all;
	size_t n;
	int first = 1;

	all = generation_engines(g, GENERATION_ALL, &n);
	for (size_t i = 0; i < n; i++) {
		const struct sm_engine_inst *e = all[i].e;
		struct vcache_stats vs;

		if (all[i].cache == NULL)
			continue;
		vcache_get_stats(all[i].cache, &vs);
		if (!vs.shared)
			continue;
		if (json) {
			evbuffer_add_printf(o, "%s{\"instance\": ",
			    first ? ", \"shared_cache\": [" : ", ");
			ctl_json_str(o, all[i].av->name);
			evbuffer_add_printf(o, ", \"engine\": ");
			ctl_json_str(o, e->name);
			evbuffer_add_printf(o, ", \"server\": ");
			ctl_json_str(o, vs.shared_server);
			evbuffer_add_printf(o, ", \"scope\": ");
			ctl_json_str(o, vs.shared_scope);
			evbuffer_add_printf(o, ", \"up\": %s, \"hits\": "
			    "%llu, \"misses\": %llu, \"stores\": %llu, "
			    "\"errors\": %llu, \"outages\": %llu}",
			    vs.shared_down ? "false" : "true",
			    vs.shared_hits, vs.shared_misses,
			    vs.shared_stores, vs.shared_errors,
			    vs.shared_outages);
		} else {
			if (first)
				evbuffer_add_printf(o, "\nShared "
				    "verdict cache (Redis)\n  %-16s "
				    "%-16s %-5s %10s %10s %10s %8s "
				    "%8s\n", "INSTANCE", "ENGINE",
				    "STATE", "HITS", "MISSES",
				    "STORES", "ERRORS", "OUTAGES");
			evbuffer_add_printf(o, "  %-16s %-16s %-5s "
			    "%10llu %10llu %10llu %8llu %8llu\n",
			    all[i].av->name, e->name,
			    vs.shared_down ? "down" : "up",
			    vs.shared_hits, vs.shared_misses,
			    vs.shared_stores, vs.shared_errors,
			    vs.shared_outages);
		}
		first = 0;
	}
	if (json && !first)
		evbuffer_add_printf(o, "]");
}

static enum ctl_status
cmd_stats(const struct ctl_request *r, struct evbuffer *o)
{
	struct av_stats *all[STATS_MAX_LIST];
	size_t n = stats_all(all, ARRAY_LEN(all)), shown = 0;
	const char *want = NULL;
	int reset = 0;
	struct generation *c;

	if (r->argc > 3 || (r->argc == 3 && strcmp(r->argv[1], "reset"))) {
		ctl_error(r->json, o, "usage: stats [INSTANCE] | stats reset "
		    "[INSTANCE]");
		return CTL_USAGE;
	}
	if (r->argc >= 2 && strcmp(r->argv[1], "reset") == 0) {
		reset = 1;
		want = r->argc == 3 ? r->argv[2] : NULL;
	} else if (r->argc == 2) {
		want = r->argv[1];
	}
	for (size_t i = 0; i < n; i++)
		if (want == NULL || strcmp(all[i]->name, want) == 0)
			all[shown++] = all[i];
	if (want != NULL && shown == 0) {
		ctl_error(r->json, o, "no antivirus instance \"%s\"", want);
		return CTL_USAGE;
	}
	if (reset) {
		for (size_t i = 0; i < shown; i++)
			stats_reset(all[i]);
		if (r->json)
			evbuffer_add_printf(o, "{\"reset\": %zu}\n", shown);
		else
			evbuffer_add_printf(o, "statistics reset for %zu "
			    "instance%s\n", shown, shown == 1 ? "" : "s");
		return CTL_OK;
	}
	if (r->json)
		evbuffer_add_printf(o, "{\"instances\": [");
	for (size_t i = 0; i < shown; i++)
		stats_one(o, r->json, all[i], i == 0);
	if (!r->json && shown == 0)
		evbuffer_add_printf(o, "no antivirus instance yet\n");
	c = runtime_acquire();
	if (want == NULL && c != NULL) {
		if (r->json)
			evbuffer_add_printf(o, "], \"pools\": ");
		else
			evbuffer_add_printf(o, "\n");
		pools_out(o, r->json, c);
		shared_cache_out(o, r->json, c);
		if (r->json)
			evbuffer_add_printf(o, "}\n");
	} else if (r->json) {
		evbuffer_add_printf(o, "]}\n");
	}
	runtime_release(c);
	return CTL_OK;
}

/* ---- version ---------------------------------------------------------- */

/* "Up to date", "N days old" (past max_age days), or unknown. */
static const char *
sig_age(time_t built, long long max_age, long long *days, char *buf,
    size_t len)
{
	time_t now = time(NULL);

	*days = built > 0 && now > built ? (long long)(now - built) / 86400 :
	    0;
	if (built <= 0)
		snprintf(buf, len, "Signature age unknown");
	else if (max_age > 0 && *days >= max_age)
		snprintf(buf, len, "%lld days old", *days);
	else
		snprintf(buf, len, "Up to date");
	return buf;
}

static void
reload_status(struct evbuffer *o, int json)
{
	struct runtime_status st;
	char t[64];

	runtime_get_status(&st);
	if (json) {
		evbuffer_add_printf(o, "\"reloads\": %u, \"reload_failures\": "
		    "%u, \"last_reload\": ", st.reloads, st.failures);
		if (st.last_time == 0) {
			evbuffer_add_printf(o, "null");
			return;
		}
		evbuffer_add_printf(o, "{\"time\": %lld, \"ok\": %s, "
		    "\"error\": ", (long long)st.last_time,
		    st.last_ok ? "true" : "false");
		ctl_json_str(o, st.last_error);
		evbuffer_add_printf(o, "}");
		return;
	}
	fmt_time(st.last_time, t, sizeof(t));
	if (st.last_time == 0)
		evbuffer_add_printf(o, "Last reload:          never\n");
	else if (st.last_ok)
		evbuffer_add_printf(o, "Last reload:          %s, OK\n", t);
	else
		evbuffer_add_printf(o, "Last reload:          %s, FAILED: %s\n",
		    t, st.last_error);
	evbuffer_add_printf(o, "Reloads:              %u OK, %u failed\n",
	    st.reloads, st.failures);
}

static void
version_engine(struct evbuffer *o, int json, const struct gen_engine *ge,
    long long max_age, int first)
{
	const struct sm_av *av = ge->av;
	const struct sm_engine_inst *e = ge->e;
	struct sm_engine_version v;
	char built[64], age[64];
	long long days;

	memset(&v, 0, sizeof(v));
	if (ge->handle != NULL)
		e->ops->version(ge->handle, &v);
	fmt_time(v.signature_time, built, sizeof(built));
	if (v.signature_time == 0)
		snprintf(built, sizeof(built), "unknown");
	sig_age(v.signature_time, max_age, &days, age, sizeof(age));
	if (json) {
		evbuffer_add_printf(o, "%s{\"instance\": ", first ? "" : ", ");
		ctl_json_str(o, av->name);
		evbuffer_add_printf(o, ", \"engine\": ");
		ctl_json_str(o, e->name);
		evbuffer_add_printf(o, ", \"type\": ");
		ctl_json_str(o, e->ops->name);
		evbuffer_add_printf(o, ", \"engine_version\": ");
		ctl_json_str(o, v.engine);
		evbuffer_add_printf(o, ", \"signature_version\": ");
		ctl_json_str(o, v.signatures);
		evbuffer_add_printf(o, ", \"signature_time\": %lld, "
		    "\"signature_age_days\": %lld, \"up_to_date\": %s}",
		    (long long)v.signature_time, days,
		    v.signature_time > 0 && (max_age == 0 || days < max_age) ?
		    "true" : "false");
		return;
	}
	evbuffer_add_printf(o, "\n%s: %s \"%s\"%s\n", av->name, e->ops->name,
	    e->name, e->enabled ? "" : " (disabled)");
	evbuffer_add_printf(o, "  Engine version:       %s\n",
	    v.engine[0] ? v.engine : "unknown");
	evbuffer_add_printf(o, "  Signature version:    %s\n",
	    v.signatures[0] ? v.signatures : "none");
	evbuffer_add_printf(o, "  Signatures built:     %s\n", built);
	evbuffer_add_printf(o, "  %s\n", age);
}

/*
 * version INSTANCE: the Momentum console's three lines per engine of one
 * instance (scanner version, definitions version, up to date yes or no).
 */
static enum ctl_status
version_instance(const struct ctl_request *r, struct evbuffer *o,
    const struct generation *g)
{
	const struct sm_conf *c = g != NULL ? g->conf : NULL;
	const struct gen_engine *all = NULL;
	const struct sm_av *av = NULL;
	size_t n = 0;

	for (size_t a = 0; c != NULL && a < c->navs; a++)
		if (strcmp(c->avs[a]->name, r->argv[1]) == 0) {
			av = c->avs[a];
			all = generation_engines(g, a, &n);
		}
	if (av == NULL) {
		ctl_error(r->json, o, "no antivirus or antispam instance "
		    "\"%s\"", r->argv[1]);
		return CTL_USAGE;
	}
	if (r->json) {
		evbuffer_add_printf(o, "{\"instance\": ");
		ctl_json_str(o, av->name);
		evbuffer_add_printf(o, ", \"engines\": [");
	}
	for (size_t i = 0; i < n; i++) {
		const struct sm_engine_inst *e = all[i].e;
		struct sm_engine_version v;
		long long days;
		char age[64];
		int current;

		memset(&v, 0, sizeof(v));
		if (all[i].handle != NULL)
			e->ops->version(all[i].handle, &v);
		sig_age(v.signature_time, c->signature_max_age, &days, age,
		    sizeof(age));
		current = v.signature_time > 0 && (c->signature_max_age == 0
		    || days < c->signature_max_age);
		if (r->json) {
			evbuffer_add_printf(o, "%s{\"engine\": ", i ? ", " :
			    "");
			ctl_json_str(o, e->name);
			evbuffer_add_printf(o, ", \"type\": ");
			ctl_json_str(o, e->ops->name);
			evbuffer_add_printf(o, ", \"scanner_version\": ");
			ctl_json_str(o, v.engine);
			evbuffer_add_printf(o, ", \"definitions_version\": ");
			ctl_json_str(o, v.signatures);
			evbuffer_add_printf(o, ", \"up_to_date\": %s}",
			    current ? "true" : "false");
			continue;
		}
		evbuffer_add_printf(o, "%s%s: %s \"%s\"%s\n", i ? "\n" : "",
		    av->name, e->ops->name, e->name, e->enabled ? "" :
		    " (disabled)");
		evbuffer_add_printf(o, "AV scanner version number: %s\n",
		    v.engine[0] ? v.engine : "unknown");
		evbuffer_add_printf(o, "AV definitions version: %s\n",
		    v.signatures[0] ? v.signatures : "none");
		evbuffer_add_printf(o, "Up to date: %s\n", current ? "yes" :
		    "no");
	}
	if (r->json)
		evbuffer_add_printf(o, "]}\n");
	return CTL_OK;
}

static enum ctl_status
cmd_version(const struct ctl_request *r, struct evbuffer *o)
{
	struct generation *g;
	const struct sm_conf *c;
	const struct gen_engine *all = NULL;
	enum ctl_status st;
	size_t n = 0;
	char t[64];

	if (r->argc > 2) {
		ctl_error(r->json, o, "usage: version [INSTANCE]");
		return CTL_USAGE;
	}
	g = runtime_acquire();
	if (r->argc == 2) {
		st = version_instance(r, o, g);
		runtime_release(g);
		return st;
	}
	c = g != NULL ? g->conf : NULL;

	if (r->json) {
		evbuffer_add_printf(o, "{\"version\": ");
		ctl_json_str(o, PACKAGE_VERSION);
		evbuffer_add_printf(o, ", \"start_time\": %lld, ",
		    (long long)stats_start_time());
		reload_status(o, 1);
		evbuffer_add_printf(o, ", \"signature_max_age\": %lld, "
		    "\"engines\": [", c ? c->signature_max_age : 0);
	} else {
		evbuffer_add_printf(o, "%s %s\n", PACKAGE_NAME,
		    PACKAGE_VERSION);
		evbuffer_add_printf(o, "Started:              %s\n",
		    fmt_time(stats_start_time(), t, sizeof(t)));
		reload_status(o, 0);
	}
	if (g != NULL)
		all = generation_engines(g, GENERATION_ALL, &n);
	for (size_t i = 0; i < n; i++)
		version_engine(o, r->json, &all[i], c->signature_max_age,
		    i == 0);
	if (r->json)
		evbuffer_add_printf(o, "]}\n");
	runtime_release(g);
	return CTL_OK;
}

/* ---- engines, pools, cache ------------------------------------------- */

static enum ctl_status
cmd_engines(const struct ctl_request *r, struct evbuffer *o)
{
	struct generation *g = runtime_acquire();
	const struct gen_engine *all = NULL;
	size_t n = 0;
	char act[16];

	if (r->json)
		evbuffer_add_printf(o, "{\"engines\": [");
	else
		evbuffer_add_printf(o, "%-16s %-16s %-8s %-8s %-10s %-8s "
		    "%s\n", "INSTANCE", "ENGINE", "TYPE", "STATE", "POOL",
		    "ACTION", "CACHE");
	if (g != NULL)
		all = generation_engines(g, GENERATION_ALL, &n);
	for (size_t i = 0; i < n; i++) {
		const struct sm_engine_inst *e = all[i].e;
		const char *pool = e->pool ? e->pool->name : "-";
		long long cache = all[i].cache ? all[i].av->cache_size : 0;

		action_name(e, act, sizeof(act));
		if (!r->json) {
			evbuffer_add_printf(o, "%-16s %-16s %-8s %-8s %-10s "
			    "%-8s %lld\n", all[i].av->name, e->name,
			    e->ops->name, e->enabled ? "enabled" : "disabled",
			    pool, act, cache);
			continue;
		}
		evbuffer_add_printf(o, "%s{\"instance\": ", i ? ", " : "");
		ctl_json_str(o, all[i].av->name);
		evbuffer_add_printf(o, ", \"engine\": ");
		ctl_json_str(o, e->name);
		evbuffer_add_printf(o, ", \"type\": ");
		ctl_json_str(o, e->ops->name);
		evbuffer_add_printf(o, ", \"enabled\": %s, \"pool\": ",
		    e->enabled ? "true" : "false");
		ctl_json_str(o, pool);
		evbuffer_add_printf(o, ", \"action\": \"%s\", "
		    "\"max_concurrency\": %lld, \"cache_size\": %lld}", act,
		    e->max_concurrency, cache);
	}
	if (r->json)
		evbuffer_add_printf(o, "]}\n");
	runtime_release(g);
	return CTL_OK;
}

static void
pools_out(struct evbuffer *o, int json, const struct generation *g)
{
	const struct sm_conf *c = g->conf;
	int first = 1;

	if (json)
		evbuffer_add_printf(o, "[");
	else
		evbuffer_add_printf(o, "%-12s %7s %5s %7s %9s %10s %8s\n",
		    "POOL", "THREADS", "BUSY", "QUEUED", "QUEUE_MAX", "DONE",
		    "REFUSED");
	for (size_t i = 0; i < c->npools; i++) {
		struct pool_stats ps;

		if (g->pools[i] == NULL)
			continue;
		pool_get_stats(g->pools[i], &ps);
		if (!json) {
			evbuffer_add_printf(o, "%-12s %7d %5d %7d %9d %10llu "
			    "%8llu\n", c->pools[i]->name, ps.threads, ps.busy,
			    ps.queued, ps.queue_max, ps.done, ps.refused);
			continue;
		}
		evbuffer_add_printf(o, "%s{\"name\": ", first ? "" : ", ");
		ctl_json_str(o, c->pools[i]->name);
		evbuffer_add_printf(o, ", \"threads\": %d, \"busy\": %d, "
		    "\"queued\": %d, \"queue_max\": %d, \"done\": %llu, "
		    "\"refused\": %llu}", ps.threads, ps.busy, ps.queued,
		    ps.queue_max, ps.done, ps.refused);
		first = 0;
	}
	if (json)
		evbuffer_add_printf(o, "]");
}

static enum ctl_status
cmd_pools(const struct ctl_request *r, struct evbuffer *o)
{
	struct generation *c = runtime_acquire();

	if (c == NULL) {
		ctl_error(r->json, o, "stopping");
		return CTL_FAILED;
	}
	if (r->json)
		evbuffer_add_printf(o, "{\"pools\": ");
	pools_out(o, r->json, c);
	if (r->json)
		evbuffer_add_printf(o, "}\n");
	runtime_release(c);
	return CTL_OK;
}

static enum ctl_status
cmd_cache(const struct ctl_request *r, struct evbuffer *o)
{
	struct generation *g;
	const struct gen_engine *all;
	size_t n;
	int flush = r->argc == 2 && strcmp(r->argv[1], "flush") == 0;
	size_t ncaches = 0, dropped = 0, forgotten = 0;
	struct encmemo_stats ms = { 0 };
	int first = 1, memo;

	if (r->argc > 2 || (r->argc == 2 && !flush)) {
		ctl_error(r->json, o, "usage: cache [flush]");
		return CTL_USAGE;
	}
	if ((g = runtime_acquire()) == NULL) {
		ctl_error(r->json, o, "stopping");
		return CTL_FAILED;
	}
	all = generation_engines(g, GENERATION_ALL, &n);
	if (r->json && !flush)
		evbuffer_add_printf(o, "{\"caches\": [");
	else if (!flush)
		evbuffer_add_printf(o, "%-16s %-16s %8s %8s %10s %10s %6s\n",
		    "INSTANCE", "ENGINE", "ENTRIES", "CAPACITY", "HITS",
		    "MISSES", "HIT%");
	for (size_t i = 0; i < n; i++) {
		const struct sm_engine_inst *e = all[i].e;
		struct vcache_stats vs;
		unsigned long long looked;

		if (all[i].cache == NULL)
			continue;
		ncaches++;
		if (flush) {
			dropped += vcache_flush(all[i].cache);
			continue;
		}
		vcache_get_stats(all[i].cache, &vs);
		looked = vs.hits + vs.misses;
		if (!r->json) {
			evbuffer_add_printf(o, "%-16s %-16s %8zu %8zu %10llu "
			    "%10llu %6.1f\n", all[i].av->name, e->name,
			    vs.entries, vs.capacity, vs.hits, vs.misses,
			    looked ? 100.0 * (double)vs.hits / (double)looked :
			    0.0);
			continue;
		}
		evbuffer_add_printf(o, "%s{\"instance\": ", first ? "" : ", ");
		ctl_json_str(o, all[i].av->name);
		evbuffer_add_printf(o, ", \"engine\": ");
		ctl_json_str(o, e->name);
		evbuffer_add_printf(o, ", \"entries\": %zu, \"capacity\": "
		    "%zu, \"hits\": %llu, \"misses\": %llu, \"inserts\": "
		    "%llu, \"evictions\": %llu, \"encoding_hits\": %llu}",
		    vs.entries, vs.capacity, vs.hits, vs.misses, vs.inserts,
		    vs.evictions, vs.encoding_hits);
		first = 0;
	}
	if ((memo = g->memo != NULL) && flush)
		forgotten = encmemo_flush(g->memo);
	else if (memo)
		encmemo_get_stats(g->memo, &ms);
	runtime_release(g);
	if (flush && r->json)
		evbuffer_add_printf(o, "{\"flushed_caches\": %zu, "
		    "\"dropped_entries\": %zu, \"forgotten_attachments\": "
		    "%zu}\n", ncaches, dropped, forgotten);
	else if (flush)
		evbuffer_add_printf(o, "flushed %zu cache%s, %zu entr%s "
		    "dropped, %zu attachment%s forgotten\n", ncaches,
		    ncaches == 1 ? "" : "s", dropped, dropped == 1 ? "y" : "ies",
		    forgotten, forgotten == 1 ? "" : "s");
	else if (r->json && !memo)
		evbuffer_add_printf(o, "], \"attachments\": null}\n");
	else if (r->json)
		evbuffer_add_printf(o, "], \"attachments\": {\"entries\": %zu, "
		    "\"bytes\": %zu, \"capacity\": %zu, \"hits\": %llu, "
		    "\"misses\": %llu, \"inserts\": %llu, \"evictions\": "
		    "%llu}}\n", ms.entries, ms.bytes, ms.capacity, ms.hits,
		    ms.misses, ms.inserts, ms.evictions);
	else {
		if (ncaches == 0)
			evbuffer_add_printf(o, "(no verdict cache: cache_size "
			    "= 0)\n");
		if (memo)
			evbuffer_add_printf(o, "attachments kept as they "
			    "arrived: %zu, %zu of %zu bytes; hits %llu, misses "
			    "%llu, evictions %llu\n", ms.entries, ms.bytes,
			    ms.capacity, ms.hits, ms.misses, ms.evictions);
	}
	return CTL_OK;
}

/* ---- help, dispatch --------------------------------------------------- */

/* A command that only reads must also be listed in ctl_needs_admin(). */
static const struct ctl_cmd {
	const char *name;
	const char *usage;
	const char *help;
	enum ctl_status (*run)(const struct ctl_request *, struct evbuffer *);
} commands[] = {
	{ "stats", "stats [INSTANCE]", "counters per antivirus instance, "
	  "since start and since the last reset; pools", cmd_stats },
	{ "stats", "stats reset [INSTANCE]", "zero the since-reset column",
	  NULL },
	{ "version", "version [INSTANCE]", "versions, signature age, last "
	  "reload; of an instance: scanner and definitions versions, up to "
	  "date", cmd_version },
	{ "reload", "reload", "read the configuration and signatures again",
	  NULL },
	{ "engines", "engines", "the engine instances and their settings",
	  cmd_engines },
	{ "pools", "pools", "threads, busy, queued, done, refused per pool",
	  cmd_pools },
	{ "cache", "cache [flush]", "verdict cache counters, or empty them",
	  cmd_cache },
	{ "help", "help", "this list", NULL },
};

static enum ctl_status
cmd_help(const struct ctl_request *r, struct evbuffer *o)
{
	if (r->json)
		evbuffer_add_printf(o, "{\"commands\": [");
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		if (!r->json) {
			evbuffer_add_printf(o, "  %-24s %s\n",
			    commands[i].usage, commands[i].help);
			continue;
		}
		evbuffer_add_printf(o, "%s{\"usage\": ", i ? ", " : "");
		ctl_json_str(o, commands[i].usage);
		evbuffer_add_printf(o, ", \"help\": ");
		ctl_json_str(o, commands[i].help);
		evbuffer_add_printf(o, "}");
	}
	evbuffer_add_printf(o, r->json ? "]}\n" :
	    "Prefix a command with --json for JSON.\n");
	return CTL_OK;
}

enum ctl_status
ctl_run(const struct ctl_request *r, struct evbuffer *o)
{
	if (strcmp(r->argv[0], "help") == 0)
		return cmd_help(r, o);
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (commands[i].run != NULL &&
		    strcmp(commands[i].name, r->argv[0]) == 0) {
			if (commands[i].run != cmd_stats &&
			    commands[i].run != cmd_cache &&
			    commands[i].run != cmd_version && r->argc > 1) {
				ctl_error(r->json, o, "usage: %s",
				    commands[i].usage);
				return CTL_USAGE;
			}
			return commands[i].run(r, o);
		}
	ctl_error(r->json, o, "unknown command '%s' (try help)", r->argv[0]);
	return CTL_USAGE;
}

int
ctl_needs_admin(const struct ctl_request *r)
{
	static const char *const readers[] = {
		"help", "version", "engines", "pools",
	};
	const char *cmd = r->argv[0];

	for (size_t i = 0; i < ARRAY_LEN(readers); i++)
		if (strcmp(cmd, readers[i]) == 0)
			return 0;
	/* stats [INSTANCE] reads; stats reset [INSTANCE] writes */
	if (strcmp(cmd, "stats") == 0)
		return r->argc >= 2 && strcmp(r->argv[1], "reset") == 0;
	/* cache reads; cache flush (or any other word) writes */
	if (strcmp(cmd, "cache") == 0)
		return r->argc >= 2;
	/* reload, and a command added later and not listed above; an
	 * unknown command changes nothing and is answered as unknown */
	for (size_t i = 0; i < ARRAY_LEN(commands); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return 1;
	return 0;
}

enum ctl_status
ctl_reload_reply(const struct ctl_request *r, int rc, const char *err,
    struct evbuffer *o)
{
	if (rc != 0) {
		ctl_error(r->json, o, "reload failed, the running "
		    "configuration stays: %s", err);
		return CTL_FAILED;
	}
	if (r->json)
		evbuffer_add_printf(o, "{\"reloaded\": true}\n");
	else
		evbuffer_add_printf(o, "reloaded: configuration and "
		    "signatures in use\n");
	return CTL_OK;
}
