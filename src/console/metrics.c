/*
 * Prometheus exposition (metrics.h).  Each metric family is written whole
 * (HELP, TYPE, then every sample), as the format requires; the values are
 * read the same way the console reads them (ctlcmd.c).  The HTTP side is
 * a small server of its own on a guarded listener (listener.h), so that a
 * connection has an absolute deadline and their number a cap.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cidr.h"
#include "conf.h"
#include "encmemo.h"
#include "generation.h"
#include "listener.h"
#include "metrics.h"
#include "pool.h"
#include "runtime.h"
#include "stats.h"
#include "util.h"
#include "vcache.h"

#define METRICS_DEADLINE_S	5	/* from accept to close, in all */
#define METRICS_MAX_HEADERS	8192
#define METRICS_MAX_INSTANCES	64
#define METRICS_BACKLOG		16

struct mconn;

struct metrics {
	struct event_base *base;
	struct listener *lev;
	struct mconn *conns;		/* loop thread */
	int	 loopback;		/* bound to a loopback address */
	bool	 listed;		/* an allow list at start or in a
					 * configuration seen since (loop
					 * thread) */
};

/* ---- writing ------------------------------------------------------------ */

static void
family(struct evbuffer *o, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A label value, escaped as the format says. */
static void
label(struct evbuffer *o, const char *name, const char *v, int first)
{
	evbuffer_add_printf(o, "%s%s=\"", first ? "" : ",", name);
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(o, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(o, "\\n", 2);
		else
			evbuffer_add(o, v, 1);
	}
	evbuffer_add(o, "\"", 1);
}

/* ---- per instance -------------------------------------------------------- */

static const struct counter_family {
	const char *name;
	const char *help;
	size_t	 off;
} counters[] = {
#define F(n, h, f) { "scanmilter_" n, h, offsetof(struct av_counters, f) }
	F("messages_total", "Messages checked.", messages),
	F("mime_parts_total", "MIME parts checked.", parts),
	F("viruses_total", "Messages the instance found infected (antivirus).",
	    viruses),
	F("spam_total", "Messages the instance found spam (antispam).", spam),
	F("viruses_cured_total", "Viruses cured (parts stripped).", cured),
	F("rejects_total", "Messages rejected.", rejects),
	F("accepts_total", "Messages accepted unchanged (strips: "
	    "scanmilter_replies_total{reply=\"strip\"}).", accepts),
	F("skipped_total", "Messages not scanned (skip rules).", skipped),
	F("cache_hits_total", "Objects answered by the verdict cache.",
	    cache_hits),
	F("engine_scans_total", "Objects scanned by an engine (cache "
	    "misses when the cache is on).", engine_scans),
#undef F
};

static uint64_t
field(const struct av_counters *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

/* One counter of av_counters under a label's value. */
struct by_label {
	const char *value;
	size_t	 off;
};

/* A counter family split by one label: per instance, a sample for each
 * of the n values. */
static void
labelled_family(struct evbuffer *o, const char *name, const char *help,
    const char *key, const struct by_label *v, size_t nv,
    struct av_stats **all, size_t n, const struct av_counters *tot)
{
	family(o, name, "counter", help);
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r < nv; r++) {
			evbuffer_add_printf(o, "%s{", name);
			label(o, "scanner", all[i]->name, 1);
			label(o, key, v[r].value, 0);
			evbuffer_add_printf(o, "} %llu\n", (unsigned long long)
			    field(&tot[i], v[r].off));
		}
}

static void
instance_metrics(struct evbuffer *o, struct av_stats **all, size_t n,
    const struct av_counters *tot)
{
#define C(f) offsetof(struct av_counters, f)
	static const struct by_label tf[] = {
		{ "timeout", C(tempfail_timeout) }, { "busy", C(tempfail_busy) },
		{ "error", C(tempfail_error) }, { "action", C(tempfail_action) },
	};
	static const struct by_label rp[] = {
		{ "accept", C(accepts) }, { "strip", C(strips) },
		{ "reject", C(rejects) }, { "tempfail", C(tempfails) },
		{ "discard", C(discards) }, { "quarantine", C(quarantines) },
	};
	static const struct by_label vd[] = {
		{ "clean", C(clean) }, { "infected", C(infected) },
		{ "unscannable", C(unscannable) }, { "error", C(errors) },
	};
#undef C

	for (size_t f = 0; f < ARRAY_LEN(counters); f++) {
		family(o, counters[f].name, "counter", counters[f].help);
		for (size_t i = 0; i < n; i++) {
			evbuffer_add_printf(o, "%s{", counters[f].name);
			label(o, "scanner", all[i]->name, 1);
			evbuffer_add_printf(o, "} %llu\n", (unsigned long long)
			    field(&tot[i], counters[f].off));
		}
	}
	labelled_family(o, "scanmilter_replies_total", "Messages by the "
	    "instance's own reply (the MTA got the most severe of all "
	    "instances').", "reply", rp, ARRAY_LEN(rp), all, n, tot);
	labelled_family(o, "scanmilter_tempfails_total", "Messages answered "
	    "with a temporary failure, by reason.", "reason", tf,
	    ARRAY_LEN(tf), all, n, tot);
	labelled_family(o, "scanmilter_verdicts_total", "Messages by the "
	    "instance's own verdict.", "verdict", vd, ARRAY_LEN(vd), all, n,
	    tot);
	family(o, "scanmilter_mime_part_scan_seconds_total", "counter",
	    "Time the instance's engines spent on MIME parts.");
	for (size_t i = 0; i < n; i++) {
		evbuffer_add_printf(o,
		    "scanmilter_mime_part_scan_seconds_total{");
		label(o, "scanner", all[i]->name, 1);
		evbuffer_add_printf(o, "} %.6f\n", (double)tot[i].part_us / 1e6);
	}
	family(o, "scanmilter_message_scan_seconds", "histogram",
	    "Time from a message's scan start to the instance's last "
	    "result.");
	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;

		for (size_t b = 0; b <= STATS_LATENCY_BUCKETS; b++) {
			cum += tot[i].latency[b];
			evbuffer_add_printf(o,
			    "scanmilter_message_scan_seconds_bucket{");
			label(o, "scanner", all[i]->name, 1);
			if (b < STATS_LATENCY_BUCKETS)
				evbuffer_add_printf(o, ",le=\"%g\"} %llu\n",
				    stats_latency_bounds_ms[b] / 1000.0,
				    (unsigned long long)cum);
			else
				evbuffer_add_printf(o, ",le=\"+Inf\"} %llu\n",
				    (unsigned long long)cum);
		}
		evbuffer_add_printf(o, "scanmilter_message_scan_seconds_sum{");
		label(o, "scanner", all[i]->name, 1);
		evbuffer_add_printf(o, "} %.6f\n", (double)tot[i].msg_us / 1e6);
		evbuffer_add_printf(o,
		    "scanmilter_message_scan_seconds_count{");
		label(o, "scanner", all[i]->name, 1);
		evbuffer_add_printf(o, "} %llu\n", (unsigned long long)cum);
	}
}

/* ---- per engine, from the current configuration ----------------------- */

struct eng_row {
	const struct sm_av *av;
	const struct sm_engine_inst *e;
	const struct vcache *cache;	/* or NULL */
	struct sm_engine_version v;
	struct vcache_stats cs;
};

static void
eng_labels(struct evbuffer *o, const char *metric, const struct eng_row *r)
{
	evbuffer_add_printf(o, "%s{", metric);
	label(o, "scanner", r->av->name, 1);
	label(o, "engine", r->e->name, 0);
	evbuffer_add_printf(o, "}");
}

/* The verdict cache shared through Redis, for engines that have one. */
static void
shared_cache_metrics(struct evbuffer *o, const struct eng_row *rows,
    size_t n)
{
	static const struct { const char *name, *type, *help; } sf[] = {
		{ "scanmilter_shared_cache_up", "gauge",
		  "1 while Redis answers, 0 from a failure until it answers "
		  "again (objects are scanned here meanwhile)." },
		{ "scanmilter_shared_cache_hits_total", "counter",
		  "Verdicts found in Redis after a local cache miss." },
		{ "scanmilter_shared_cache_misses_total", "counter",
		  "Lookups Redis did not answer with a verdict (absent, "
		  "failed or skipped during an outage)." },
		{ "scanmilter_shared_cache_stores_total", "counter",
		  "Verdicts written to Redis." },
		{ "scanmilter_shared_cache_errors_total", "counter",
		  "Redis calls that failed or timed out." },
		{ "scanmilter_shared_cache_outages_total", "counter",
		  "Times Redis stopped answering (each logged once)." },
	};
	size_t any = 0;

	for (size_t i = 0; i < n; i++)
		any += (size_t)rows[i].cs.shared;
	for (size_t f = 0; any > 0 && f < ARRAY_LEN(sf); f++) {
		family(o, sf[f].name, sf[f].type, sf[f].help);
		for (size_t i = 0; i < n; i++) {
			const struct vcache_stats *s = &rows[i].cs;
			unsigned long long v[] = { !s->shared_down,
			    s->shared_hits, s->shared_misses,
			    s->shared_stores, s->shared_errors,
			    s->shared_outages };

			if (!s->shared)
				continue;
			eng_labels(o, sf[f].name, &rows[i]);
			evbuffer_add_printf(o, " %llu\n", v[f]);
		}
	}
}

/*
 * The number a signature version starts with, if it is one: "27480" (a
 * clamd farm) or "27480 (8712345 signatures)" (clamav), not "3
 * signatures" (files without a version) nor a rule set's words.
 */
static int
signature_number(const char *s, unsigned long long *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return 0;
	*v = strtoull(s, &end, 10);
	return *end == '\0' || strncmp(end, " (", 2) == 0;
}

static void
engine_metrics(struct evbuffer *o, const struct generation *g)
{
	static const struct { const char *name, *type, *help; } cf[] = {
		{ "scanmilter_engine_cache_hits_total", "counter",
		  "Verdict cache hits (the cache starts empty at each "
		  "reload)." },
		{ "scanmilter_engine_cache_misses_total", "counter",
		  "Verdict cache misses." },
		{ "scanmilter_engine_cache_entries", "gauge",
		  "Verdicts in the cache." },
		{ "scanmilter_engine_cache_hit_ratio", "gauge",
		  "Hits over lookups since the cache was made." },
	};
	struct eng_row *rows;
	size_t n = 0, max = 0;
	time_t now = time(NULL);

	const struct gen_engine *all = generation_engines(g, GENERATION_ALL,
	    &max);

	rows = xcalloc(max ? max : 1, sizeof(*rows));
	for (size_t i = 0; i < max; i++) {
		struct eng_row *r = &rows[n++];

		r->av = all[i].av;
		r->e = all[i].e;
		r->cache = all[i].cache;
		if (all[i].handle != NULL)
			r->e->ops->version(all[i].handle, &r->v);
		if (all[i].cache != NULL)
			vcache_get_stats(all[i].cache, &r->cs);
	}
	family(o, "scanmilter_engine_info", "gauge", "Engine instances with "
	    "their engine and signature versions.");
	for (size_t i = 0; i < n; i++) {
		evbuffer_add_printf(o, "scanmilter_engine_info{");
		label(o, "scanner", rows[i].av->name, 1);
		label(o, "engine", rows[i].e->name, 0);
		label(o, "type", rows[i].e->ops->name, 0);
		label(o, "version", rows[i].v.engine, 0);
		label(o, "signatures", rows[i].v.signatures, 0);
		evbuffer_add_printf(o, "} %d\n", rows[i].e->enabled);
	}
	family(o, "scanmilter_signature_timestamp_seconds", "gauge",
	    "Build time of the engine's signatures (when known).");
	for (size_t i = 0; i < n; i++)
		if (rows[i].v.signature_time > 0) {
			eng_labels(o, "scanmilter_signature_timestamp_seconds",
			    &rows[i]);
			evbuffer_add_printf(o, " %lld\n",
			    (long long)rows[i].v.signature_time);
		}
	family(o, "scanmilter_signature_age_seconds", "gauge",
	    "Age of the engine's signatures (when known).");
	for (size_t i = 0; i < n; i++)
		if (rows[i].v.signature_time > 0) {
			eng_labels(o, "scanmilter_signature_age_seconds",
			    &rows[i]);
			evbuffer_add_printf(o, " %lld\n", (long long)(now -
			    rows[i].v.signature_time));
		}
	family(o, "scanmilter_signature_version", "gauge",
	    "The engine's signature version as a number (ClamAV's daily "
	    "database; a clamd farm's), when it has one: hosts that "
	    "differ have drifted.");
	for (size_t i = 0; i < n; i++) {
		unsigned long long v;

		if (signature_number(rows[i].v.signatures, &v)) {
			eng_labels(o, "scanmilter_signature_version",
			    &rows[i]);
			evbuffer_add_printf(o, " %llu\n", v);
		}
	}
	for (size_t f = 0; f < ARRAY_LEN(cf); f++) {
		family(o, cf[f].name, cf[f].type, cf[f].help);
		for (size_t i = 0; i < n; i++) {
			const struct vcache_stats *s = &rows[i].cs;
			unsigned long long looked = s->hits + s->misses;

			if (rows[i].cache == NULL)
				continue;
			eng_labels(o, cf[f].name, &rows[i]);
			if (f == 0)
				evbuffer_add_printf(o, " %llu\n", s->hits);
			else if (f == 1)
				evbuffer_add_printf(o, " %llu\n", s->misses);
			else if (f == 2)
				evbuffer_add_printf(o, " %zu\n", s->entries);
			else
				evbuffer_add_printf(o, " %.6f\n", looked ?
				    (double)s->hits / (double)looked : 0.0);
		}
	}
	shared_cache_metrics(o, rows, n);
	free(rows);
}

/* The attachments kept as they arrived (milter { attachment_memory }). */
static void
memo_metrics(struct evbuffer *o, const struct generation *g)
{
	static const struct { const char *name, *type, *help; } mf[] = {
		{ "scanmilter_attachment_memory_hits_total", "counter",
		  "Attachments known by comparing their bytes with a copy "
		  "kept as they arrived, without hashing them (from the last "
		  "reload)." },
		{ "scanmilter_attachment_memory_misses_total", "counter",
		  "Attachments looked for there and hashed instead." },
		{ "scanmilter_attachment_memory_entries", "gauge",
		  "Attachments kept as they arrived." },
		{ "scanmilter_attachment_memory_bytes", "gauge",
		  "Their bytes, against attachment_memory." },
	};
	struct encmemo_stats st;
	unsigned long long v[ARRAY_LEN(mf)];

	if (g->memo == NULL)
		return;
	encmemo_get_stats(g->memo, &st);
	v[0] = st.hits;
	v[1] = st.misses;
	v[2] = st.entries;
	v[3] = st.bytes;
	for (size_t i = 0; i < ARRAY_LEN(mf); i++) {
		family(o, mf[i].name, mf[i].type, mf[i].help);
		evbuffer_add_printf(o, "%s %llu\n", mf[i].name, v[i]);
	}
}

static void
pool_metrics(struct evbuffer *o, const struct generation *g)
{
	const struct sm_conf *c = g->conf;
	static const struct { const char *name, *type, *help; } pf[] = {
		{ "scanmilter_pool_threads", "gauge", "Worker threads." },
		{ "scanmilter_pool_busy_threads", "gauge",
		  "Threads running a scan." },
		{ "scanmilter_pool_queued_jobs", "gauge",
		  "Scans waiting for a thread." },
		{ "scanmilter_pool_queue_max", "gauge",
		  "Room in the queue; past it scans are refused." },
		{ "scanmilter_pool_jobs_done_total", "counter",
		  "Scans run (this configuration's pools)." },
		{ "scanmilter_pool_jobs_refused_total", "counter",
		  "Scans refused because the queue was full." },
	};

	for (size_t f = 0; f < ARRAY_LEN(pf); f++) {
		family(o, pf[f].name, pf[f].type, pf[f].help);
		for (size_t i = 0; i < c->npools; i++) {
			struct pool_stats s;
			unsigned long long v;

			if (g->pools[i] == NULL)
				continue;
			pool_get_stats(g->pools[i], &s);
			v = f == 0 ? (unsigned long long)s.threads :
			    f == 1 ? (unsigned long long)s.busy :
			    f == 2 ? (unsigned long long)s.queued :
			    f == 3 ? (unsigned long long)s.queue_max :
			    f == 4 ? s.done : s.refused;
			evbuffer_add_printf(o, "%s{", pf[f].name);
			label(o, "pool", c->pools[i]->name, 1);
			evbuffer_add_printf(o, "} %llu\n", v);
		}
	}
}

/* The process collector's names, as Prometheus' own clients export them. */
static void
process_metrics(struct evbuffer *o)
{
	long long pages = 0, rss = 0;
	FILE *f;

	family(o, "process_start_time_seconds", "gauge",
	    "Start time of the process since the epoch, in seconds.");
	evbuffer_add_printf(o, "process_start_time_seconds %lld\n",
	    (long long)stats_start_time());
	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return;
	if (fscanf(f, "%lld %lld", &pages, &rss) == 2) {
		family(o, "process_resident_memory_bytes", "gauge",
		    "Resident memory size in bytes.");
		evbuffer_add_printf(o, "process_resident_memory_bytes %lld\n",
		    rss * (long long)sysconf(_SC_PAGESIZE));
	}
	fclose(f);
}

/* The listener's own numbers. */
static void
access_metrics(const struct metrics *m, struct evbuffer *o)
{
	family(o, "scanmilter_metrics_denied_total", "counter",
	    "Connections to the metrics port closed at accept: the client "
	    "is not in allow.");
	evbuffer_add_printf(o, "scanmilter_metrics_denied_total %lu\n",
	    listener_denied(m->lev));
}

void
metrics_render(struct evbuffer *o)
{
	struct av_stats *all[METRICS_MAX_INSTANCES];
	struct av_counters tot[METRICS_MAX_INSTANCES];
	size_t n = stats_all(all, ARRAY_LEN(all));
	struct runtime_status st;
	struct generation *c;

	for (size_t i = 0; i < n; i++)
		stats_read(all[i], &tot[i], NULL);
	family(o, "scanmilter_build_info", "gauge", "The daemon's version.");
	evbuffer_add_printf(o, "scanmilter_build_info{");
	label(o, "version", PACKAGE_VERSION, 1);
	evbuffer_add_printf(o, "} 1\n");
	family(o, "scanmilter_start_time_seconds", "gauge",
	    "When the daemon started.");
	evbuffer_add_printf(o, "scanmilter_start_time_seconds %lld\n",
	    (long long)stats_start_time());
	process_metrics(o);
	instance_metrics(o, all, n, tot);
	runtime_get_status(&st);
	family(o, "scanmilter_reloads_total", "counter",
	    "Successful reloads.");
	evbuffer_add_printf(o, "scanmilter_reloads_total %u\n", st.reloads);
	family(o, "scanmilter_reload_failures_total", "counter",
	    "Failed reloads (the running configuration stayed).");
	evbuffer_add_printf(o, "scanmilter_reload_failures_total %u\n",
	    st.failures);
	family(o, "scanmilter_last_reload_success", "gauge",
	    "1 if the last reload worked (or there was none), 0 if not.");
	evbuffer_add_printf(o, "scanmilter_last_reload_success %d\n",
	    st.last_time == 0 || st.last_ok);
	family(o, "scanmilter_last_reload_timestamp_seconds", "gauge",
	    "When the last reload was tried (0: never).");
	evbuffer_add_printf(o, "scanmilter_last_reload_timestamp_seconds "
	    "%lld\n", (long long)st.last_time);
	family(o, "scanmilter_live_configurations", "gauge",
	    "Configurations in use (the current one and replaced ones "
	    "still finishing messages).");
	evbuffer_add_printf(o, "scanmilter_live_configurations %d\n",
	    st.live_configs);
	if ((c = runtime_acquire()) != NULL) {
		engine_metrics(o, c);
		memo_metrics(o, c);
		pool_metrics(o, c);
		runtime_release(c);
	}
}

/* ---- HTTP --------------------------------------------------------------- */

/*
 * Just enough HTTP/1.x for a scraper: one request per connection, read
 * whole (at most METRICS_MAX_HEADERS bytes, no body) within the deadline,
 * answered with Connection: close.  GET /metrics (a query string is
 * ignored) gets the metrics, another path 404, another method 405.
 */
struct mconn {
	struct bufferevent *bev;
	struct event *deadline;		/* closes it, whatever it sends */
	struct metrics *m;
	struct mconn *prev, *next;
	int	 answered;
};

static void
mconn_free(struct mconn *c)
{
	struct metrics *m = c->m;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	listener_conn_done(m->lev);
	event_free(c->deadline);
	bufferevent_free(c->bev);
	free(c);
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct mconn *c = arg;

	(void)fd;
	(void)what;
	listener_timed_out(c->m->lev);
	mconn_free(c);
}

static void
on_drained(struct bufferevent *bev, void *arg)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		mconn_free(arg);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	mconn_free(arg);
}

static void
reply(struct mconn *c, int code, const char *reason, const char *type,
    const char *extra, struct evbuffer *body)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	c->answered = 1;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", code,
	    reason, type, evbuffer_get_length(body), extra);
	evbuffer_add_buffer(out, body);
	bufferevent_setcb(c->bev, NULL, on_drained, on_event, c);
	bufferevent_enable(c->bev, EV_WRITE);
}

static void
reply_text(struct mconn *c, int code, const char *reason, const char *extra,
    const char *text)
{
	struct evbuffer *body = evbuffer_new();

	evbuffer_add_printf(body, "%s\n", text);
	reply(c, code, reason, "text/plain; charset=utf-8", extra, body);
	evbuffer_free(body);
}

/* The request line and headers are all in: answer. */
static void
answer(struct mconn *c, char *line)
{
	char *save = NULL, *method, *target, *version, *q;
	struct evbuffer *body;

	method = strtok_r(line, " ", &save);
	target = method ? strtok_r(NULL, " ", &save) : NULL;
	version = target ? strtok_r(NULL, " ", &save) : NULL;
	if (version == NULL || strtok_r(NULL, " ", &save) != NULL ||
	    strncmp(version, "HTTP/1.", 7) != 0) {
		reply_text(c, 400, "Bad Request", "", "bad request line");
		return;
	}
	if (strcmp(method, "GET") != 0) {
		reply_text(c, 405, "Method Not Allowed", "Allow: GET\r\n",
		    "only GET here");
		return;
	}
	if (strncmp(target, "http://", 7) == 0 &&
	    (target = strchr(target + 7, '/')) == NULL)
		target = "/";
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	if (strcmp(target, "/metrics") != 0) {
		reply_text(c, 404, "Not Found", "", "only /metrics here");
		return;
	}
	body = evbuffer_new();
	metrics_render(body);
	access_metrics(c->m, body);
	reply(c, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", "",
	    body);
	evbuffer_free(body);
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct mconn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end;
	size_t len;
	char *line;

	if (c->answered)
		return;
	end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (end.pos < 0)
		end = evbuffer_search(in, "\n\n", 2, NULL);
	if (end.pos < 0) {
		if (evbuffer_get_length(in) >= METRICS_MAX_HEADERS)
			reply_text(c, 431, "Request Header Fields Too Large",
			    "", "request too long");
		return;
	}
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
	if (line == NULL || len == 0 || strlen(line) != len)
		reply_text(c, 400, "Bad Request", "", "bad request line");
	else
		answer(c, line);
	free(line);
}

/* A connection the listener took (and counted). */
static void
on_accept(evutil_socket_t fd, void *arg)
{
	struct metrics *m = arg;
	struct timeval tv = { METRICS_DEADLINE_S, 0 };
	struct mconn *c = xcalloc(1, sizeof(*c));

	c->m = m;
	if (listener_conn_setup(m->lev, m->base, fd, on_deadline, c,
	    &c->bev, &c->deadline) < 0) {
		free(c);
		return;
	}
	c->next = m->conns;
	if (m->conns != NULL)
		m->conns->prev = c;
	m->conns = c;
	evtimer_add(c->deadline, &tv);
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, METRICS_MAX_HEADERS);
	bufferevent_enable(c->bev, EV_READ);
}

/*
 * Whether a client may scrape: the allow list of the current
 * configuration (so a reload that adds or removes a scraper applies at
 * once).  Without a list only a loopback listener serves everyone.  While
 * no configuration is current (a blocking reload, or old engines that did
 * not load again) a listener that has had a list (every one beyond
 * loopback) serves no one: the list it started with may name clients a
 * reload has removed since.
 */
static int
metrics_allowed(const char *addr, void *arg)
{
	struct metrics *m = arg;
	struct generation *g = runtime_acquire();
	const struct cidr_list *l;
	int ok;

	if (g == NULL) {
		ok = m->loopback && !m->listed;
		goto out;
	}
	l = &g->conf->metrics_allow_nets;
	if (l->n > 0)
		m->listed = true;
	ok = l->n > 0 ? cidr_match(l, addr) : m->loopback;
out:
	runtime_release(g);
	return ok;
}

/* A bound, listening, non-blocking socket on host:port, or -1 with err. */
static int
bind_listen(const char *host, unsigned port, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char service[8];
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(service, sizeof(service), "%u", port);
	if ((rc = getaddrinfo(host, service, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 ||
	    listen(fd, METRICS_BACKLOG) < 0) {
		snprintf(err, errlen, "cannot listen on %s port %u (%s)", host,
		    port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

struct metrics *
metrics_open(struct event_base *base, const char *listen,
    const struct cidr_list *allow, int max_conns, char *err, size_t errlen)
{
	struct metrics *m;
	char host[64];
	unsigned port;
	int fd, loopback;

	if (cidr_split_hostport(listen, host, sizeof(host), &port, err,
	    errlen) < 0)
		return NULL;
	loopback = cidr_is_loopback(host);
	if (!loopback && (allow == NULL || allow->n == 0)) {
		snprintf(err, errlen, "%s is not a loopback address and no "
		    "allow list names the clients that may scrape", host);
		return NULL;
	}
	if ((fd = bind_listen(host, port, err, errlen)) < 0)
		return NULL;
	m = xcalloc(1, sizeof(*m));
	m->base = base;
	m->loopback = loopback;
	m->listed = allow != NULL && allow->n > 0;
	if ((m->lev = listener_new(base, fd, "metrics", max_conns, on_accept,
	    m)) == NULL) {
		snprintf(err, errlen, "cannot serve %s port %u", host, port);
		free(m);
		return NULL;
	}
	listener_set_allow(m->lev, metrics_allowed, m);
	return m;
}

void
metrics_close(struct metrics *m)
{
	if (m == NULL)
		return;
	while (m->conns != NULL)
		mconn_free(m->conns);
	listener_free(m->lev);
	free(m);
}
