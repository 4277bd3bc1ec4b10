/*
 * miltergen.c - load generator for milters: plays the MTA side of the milter
 * protocol (v6) against a milter socket with CONCURRENCY threads, one
 * connection each at a time, several messages per connection, and reports
 * throughput, latency percentiles and verdict counts.
 *
 *   miltergen -s SOCKET -c CONCURRENCY -n MESSAGES [-m MSGS_PER_CONN]
 *             [-t REPLY_TIMEOUT_S] [-T WALL_LIMIT_S] [-6] [-o per_message.csv]
 *             [-L timeline.csv] [-P TEMPFAIL_PAUSE_MS] [-U MAX] FILE_OR_DIR...
 *
 * Messages are taken round-robin from the corpus, loaded (LF -> CRLF) into
 * memory before timing. A message's latency runs from its MAIL command to the
 * final reply to EOM (connection set-up is not counted). Exit status: 0, or
 * 1 when any connection error, timeout or unsent message occurred, 2 on
 * usage errors.
 *
 * -L writes one line per message with its number and wall-clock (epoch)
 * start and end, so a soak can tell which messages overlapped a fault:
 * "n,file,start,end,verdict,reply".  -P: a worker whose message was
 * tempfailed waits that long before its next one, as an MTA defers the
 * message instead of sending the next at once (a daemon answering
 * "try again" in a fraction of a millisecond would otherwise eat the run).
 * -U MAX: MESSAGES is a minimum: the load goes on, up to MAX messages (or
 * -T), until SIGUSR1 says it may stop; no new message starts once both the
 * signal has come and MESSAGES are out, and those not sent then are not
 * counted as unsent (a soak runs until its faults are all in).
 */
#define _POSIX_C_SOURCE 200809L
#include "corpus.h"
#include "eml.h"
#include "milterclient.h"
#include "util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const char *progname = "miltergen";

#define SMALL_BYTES (50 * 1024)
#define MAX_CONCURRENCY 1024
#define MAX_MESSAGES 10000000L

struct opts {
	const char *socket;
	struct mg_addr addr;
	int concurrency;
	long messages;
	long per_conn;
	double timeout_s;
	double wall_limit_s;
	int ipv6;
	const char *csv;
	const char *timeline;
	long tempfail_pause_ms;
	uint32_t withheld;       /* SMFIP_* not offered (-R: the no-reply ones) */
	long until_max;          /* -U: up to this many, until SIGUSR1; 0 = off */
};

/* What happened to one message; index = message number. */
struct rec {
	double lat_ms;
	double t_start, t_end; /* wall clock, epoch seconds */
	uint32_t file;
	uint8_t verdict;  /* enum mg_verdict, or REC_UNSENT */
	uint8_t quarantined;
	uint16_t mods;
	uint16_t waits;   /* replies waited for in its transaction */
	char *text;       /* reply text, NULL when empty (owned) */
};
#define REC_UNSENT 255

struct run {
	const struct opts *o;
	const struct corpus *corpus;
	struct eml *emls;        /* parallel to corpus->files */
	struct rec *recs;        /* o->messages entries (-U: until_max) */
	long count;              /* how many recs the run is about */
	atomic_long next;        /* next message number to hand out */
	atomic_uint conn_index;  /* varies the client address per connection */
	double deadline;         /* monotonic time after which nothing new starts */
};

static void usage(void)
{
	fprintf(stderr,
		"usage: miltergen -s SOCKET -c CONCURRENCY -n MESSAGES [-m MSGS_PER_CONN]\n"
		"                 [-t REPLY_TIMEOUT_S] [-T WALL_LIMIT_S] [-6] [-o FILE.csv]\n"
		"                 [-L TIMELINE.csv] [-P TEMPFAIL_PAUSE_MS] [-R] [-U MAX]\n"
		"                 FILE_OR_DIR...\n"
		"  SOCKET: unix:/path | inet:PORT@127.0.0.1 | inet6:PORT@[::1]\n"
		"  -m messages per milter connection (default 1, as an MTA with one message per\n"
		"     SMTP session); -t per-reply timeout (default 30 s, progress restarts it);\n"
		"  -T no new message starts after this many seconds (default 1800); -6 the\n"
		"     client is described to the milter as IPv6; -o one CSV line per message;\n"
		"  -L one line per message with its wall-clock start and end;\n"
		"  -P a worker pauses this long after a tempfail (default 0); -R offer no\n"
		"     no-reply steps (SMFIP_NR_*), as an MTA that waits for every reply;\n"
		"  -U go on past MESSAGES, up to MAX, until SIGUSR1 lets it stop.\n");
	exit(2);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	char err[128];
	int ch;

	*o = (struct opts){ .concurrency = 1, .messages = 0, .per_conn = 1,
			    .timeout_s = 30, .wall_limit_s = 1800 };
	while ((ch = getopt(argc, argv, "s:c:n:m:t:T:6o:L:P:RU:h")) != -1) {
		switch (ch) {
		case 's': o->socket = optarg; break;
		case 'c': o->concurrency = (int)parse_long(optarg, 1, MAX_CONCURRENCY, "-c"); break;
		case 'n': o->messages = parse_long(optarg, 1, MAX_MESSAGES, "-n"); break;
		case 'm': o->per_conn = parse_long(optarg, 1, MAX_MESSAGES, "-m"); break;
		case 't': o->timeout_s = (double)parse_long(optarg, 1, 3600, "-t"); break;
		case 'T': o->wall_limit_s = (double)parse_long(optarg, 1, 86400, "-T"); break;
		case '6': o->ipv6 = 1; break;
		case 'o': o->csv = optarg; break;
		case 'L': o->timeline = optarg; break;
		case 'P': o->tempfail_pause_ms = parse_long(optarg, 0, 60000, "-P"); break;
		case 'R': o->withheld = MG_NOREPLY_STEPS; break;
		case 'U': o->until_max = parse_long(optarg, 1, MAX_MESSAGES, "-U"); break;
		default: usage();
		}
	}
	if (o->socket == NULL || o->messages == 0 || optind >= argc)
		usage();
	if (o->until_max != 0 && o->until_max < o->messages)
		die("-U %ld is below -n %ld", o->until_max, o->messages);
	if (mg_parse_addr(o->socket, &o->addr, err, sizeof(err)) != 0)
		die("%s: %s", o->socket, err);
}

static atomic_int may_stop; /* -U: SIGUSR1 came (lock-free: safe in a handler) */

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&may_stop, 1);
}

/* The most messages this run may send. */
static long limit(const struct run *run)
{
	return run->o->until_max ? run->o->until_max : run->o->messages;
}

/* May another message start? */
static bool more(struct run *run)
{
	long k = atomic_load(&run->next);

	if (now_s() > run->deadline || k >= limit(run))
		return false;
	return !(run->o->until_max && atomic_load(&may_stop) && k >= run->o->messages);
}

/* Next message number, or -1 when all are handed out or time is up. */
static long take(struct run *run)
{
	long k;

	if (!more(run))
		return -1;
	k = atomic_fetch_add(&run->next, 1);
	return k < limit(run) ? k : -1;
}

/* Wall-clock seconds since the epoch. */
static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record(struct run *run, long k, const struct mg_reply *r, double lat_s)
{
	struct rec *rec = &run->recs[k];

	rec->t_end = wall_s();
	rec->t_start = rec->t_end - lat_s;
	rec->lat_ms = lat_s * 1000.0;
	rec->verdict = (uint8_t)r->verdict;
	rec->quarantined = (uint8_t)r->quarantined;
	rec->mods = (uint16_t)(r->mods > 65535 ? 65535 : r->mods);
	rec->waits = (uint16_t)(r->waits > 65535 ? 65535 : r->waits);
	rec->text = r->text[0] ? xstrdup(r->text) : NULL;
}

static void fill_msg(struct run *run, long k, struct mg_msg *m, char *qid, size_t qlen)
{
	size_t f = (size_t)k % run->corpus->n;
	const struct corpus_file *cf = &run->corpus->files[f];
	const struct eml *e = &run->emls[f];

	run->recs[k].file = (uint32_t)f;
	snprintf(qid, qlen, "%010lX", (unsigned long)k + 1);
	*m = (struct mg_msg){
		.queue_id = qid, .sender = "<sender@bench.example>", .rcpt = "<rcpt@bench.example>",
		.eml = e, .body = cf->data + e->body_off, .body_len = cf->len - e->body_off,
		.size = cf->len,
	};
}

/* Messages of a connection the milter judged at connect/helo: same verdict, no traffic. */
static void judged_connection(struct run *run, const struct mg_reply *r)
{
	for (long j = 0; j < run->o->per_conn; j++) {
		long k = take(run);

		if (k < 0)
			break;
		run->recs[k].file = (uint32_t)((size_t)k % run->corpus->n);
		record(run, k, r, 0.0);
	}
}

/* One milter connection: negotiate, connect/helo, up to per_conn messages,
 * quit.  Returns whether the last answer was a tempfail. */
static int one_connection(struct run *run)
{
	struct mg_conn c;
	struct mg_reply r;
	struct mg_client cl = { .ipv6 = run->o->ipv6,
				.host_index = atomic_fetch_add(&run->conn_index, 1) };

	if (mg_open(&c, &run->o->addr, run->o->timeout_s, run->o->withheld, &r) != 0 ||
	    mg_hello(&c, &cl, &r) != 0) {
		long k = take(run);

		if (k >= 0) {
			run->recs[k].file = (uint32_t)((size_t)k % run->corpus->n);
			record(run, k, &r, 0.0);
		}
		mg_close(&c);
		return r.verdict == MGV_TEMPFAIL;
	}
	if (r.verdict != MGV_CONTINUE) {
		judged_connection(run, &r);
		mg_quit(&c);
		return r.verdict == MGV_TEMPFAIL;
	}
	for (long j = 0; j < run->o->per_conn; j++) {
		char qid[32];
		struct mg_msg m;
		long k = take(run);
		double t0;
		int rc;

		if (k < 0)
			break;
		fill_msg(run, k, &m, qid, sizeof(qid));
		t0 = now_s();
		rc = mg_message(&c, &m, &r);
		record(run, k, &r, now_s() - t0);
		if (rc != 0) {
			mg_close(&c);
			return r.verdict == MGV_TEMPFAIL;
		}
	}
	mg_quit(&c);
	return r.verdict == MGV_TEMPFAIL;
}

static void *worker(void *arg)
{
	struct run *run = arg;

	/* Each pass consumes at least one message, so this ends after at most limit() passes. */
	while (more(run))
		if (one_connection(run) && run->o->tempfail_pause_ms > 0) {
			struct timespec ts = { run->o->tempfail_pause_ms / 1000,
					       run->o->tempfail_pause_ms % 1000 * 1000000L };

			nanosleep(&ts, NULL);
		}
	return NULL;
}

/* ---- report ---- */

struct summary {
	long counts[MGV_COUNT];
	long unsent, quarantined, mods, done;
	long waits;              /* round trips of the answered transactions */
	double *lat, *lat_small; /* sorted, ms (owned) */
	size_t nlat, nsmall;
	double bytes;            /* message bytes of answered messages */
};

static void summarize(const struct run *run, struct summary *s)
{
	long n = run->count;

	memset(s, 0, sizeof(*s));
	s->lat = xcalloc((size_t)n, sizeof(double));
	s->lat_small = xcalloc((size_t)n, sizeof(double));
	for (long k = 0; k < n; k++) {
		const struct rec *r = &run->recs[k];
		size_t size;

		if (r->verdict == REC_UNSENT) {
			s->unsent++;
			continue;
		}
		s->counts[r->verdict]++;
		s->quarantined += r->quarantined;
		s->mods += r->mods;
		if (r->verdict == MGV_CONNERR || r->verdict == MGV_TIMEOUT)
			continue;
		s->waits += r->waits;
		size = run->corpus->files[r->file].file_len;
		s->done++;
		s->bytes += (double)size;
		s->lat[s->nlat++] = r->lat_ms;
		if (size < SMALL_BYTES)
			s->lat_small[s->nsmall++] = r->lat_ms;
	}
	sort_doubles(s->lat, s->nlat);
	sort_doubles(s->lat_small, s->nsmall);
}

static void print_latency(const char *label, const double *v, size_t n)
{
	printf("latency %-6s n=%-7zu p50 %8.2f  p90 %8.2f  p99 %8.2f  max %8.2f ms\n", label, n,
	       percentile(v, n, 50), percentile(v, n, 90), percentile(v, n, 99),
	       n ? v[n - 1] : 0.0);
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void print_human(const struct run *run, const struct summary *s, double wall, double cpu)
{
	const struct opts *o = run->o;

	printf("miltergen: socket %s, concurrency %d, %ld messages (%ld per connection), "
	       "%zu corpus files, client %s\n", o->socket, o->concurrency, run->count,
	       o->per_conn, run->corpus->n, o->ipv6 ? "IPv6" : "IPv4");
	printf("wall %.3f s, %.1f msgs/s, %.1f MB/s, miltergen cpu %.2f s\n", wall,
	       wall > 0 ? (double)s->done / wall : 0.0, wall > 0 ? s->bytes / wall / 1e6 : 0.0, cpu);
	print_latency("all", s->lat, s->nlat);
	print_latency("<50KB", s->lat_small, s->nsmall);
	printf("verdicts: accept %ld, continue %ld, reject %ld, tempfail %ld, discard %ld, other %ld"
	       " (quarantined %ld, modification packets %ld)\n",
	       s->counts[MGV_ACCEPT], s->counts[MGV_CONTINUE], s->counts[MGV_REJECT],
	       s->counts[MGV_TEMPFAIL], s->counts[MGV_DISCARD], s->counts[MGV_OTHER],
	       s->quarantined, s->mods);
	printf("errors: connection %ld, timeout %ld, unsent %ld\n", s->counts[MGV_CONNERR],
	       s->counts[MGV_TIMEOUT], s->unsent);
}

static void print_result(const struct run *run, const struct summary *s, double wall, double cpu)
{
	printf("RESULT tool=miltergen concurrency=%d messages=%ld per_conn=%ld done=%ld"
	       " wall_s=%.3f msgs_per_s=%.2f mb_per_s=%.2f gen_cpu_s=%.2f"
	       " p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f"
	       " small_n=%zu small_p50_ms=%.3f small_p90_ms=%.3f small_p99_ms=%.3f small_max_ms=%.3f"
	       " accept=%ld continue=%ld reject=%ld tempfail=%ld discard=%ld other=%ld"
	       " quarantined=%ld connerr=%ld timeout=%ld unsent=%ld waits=%ld\n",
	       run->o->concurrency, run->count, run->o->per_conn, s->done, wall,
	       wall > 0 ? (double)s->done / wall : 0.0, wall > 0 ? s->bytes / wall / 1e6 : 0.0, cpu,
	       percentile(s->lat, s->nlat, 50), percentile(s->lat, s->nlat, 90),
	       percentile(s->lat, s->nlat, 99), s->nlat ? s->lat[s->nlat - 1] : 0.0,
	       s->nsmall, percentile(s->lat_small, s->nsmall, 50),
	       percentile(s->lat_small, s->nsmall, 90), percentile(s->lat_small, s->nsmall, 99),
	       s->nsmall ? s->lat_small[s->nsmall - 1] : 0.0,
	       s->counts[MGV_ACCEPT], s->counts[MGV_CONTINUE], s->counts[MGV_REJECT],
	       s->counts[MGV_TEMPFAIL], s->counts[MGV_DISCARD], s->counts[MGV_OTHER],
	       s->quarantined, s->counts[MGV_CONNERR], s->counts[MGV_TIMEOUT], s->unsent,
	       s->waits);
}

/* CSV field: quoted, with '"' doubled. */
static void csv_text(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s != NULL && *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
	}
	fputc('"', f);
}

static void write_csv(const struct run *run, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die_errno("open %s", path);
	fprintf(f, "file,size,latency_ms,verdict,reply\n");
	for (long k = 0; k < run->count; k++) {
		const struct rec *r = &run->recs[k];
		const struct corpus_file *cf = &run->corpus->files[r->file];

		csv_text(f, cf->path);
		fprintf(f, ",%zu,%.3f,%s%s,", cf->file_len, r->lat_ms,
			r->verdict == REC_UNSENT ? "unsent" : mg_verdict_name(r->verdict),
			r->quarantined ? "+quarantine" : "");
		csv_text(f, r->text);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		die_errno("write %s", path);
}

static void write_timeline(const struct run *run, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		die_errno("open %s", path);
	fprintf(f, "n,file,start,end,verdict,reply\n");
	for (long k = 0; k < run->count; k++) {
		const struct rec *r = &run->recs[k];

		if (r->verdict == REC_UNSENT)
			continue;
		fprintf(f, "%ld,", k);
		csv_text(f, run->corpus->files[r->file].path);
		fprintf(f, ",%.3f,%.3f,%s%s,", r->t_start, r->t_end,
			mg_verdict_name(r->verdict), r->quarantined ? "+quarantine" : "");
		csv_text(f, r->text);
		fputc('\n', f);
	}
	if (fclose(f) != 0)
		die_errno("write %s", path);
}

/* ---- main ---- */

static double run_threads(struct run *run)
{
	int n = run->o->concurrency;
	pthread_t *t = xcalloc((size_t)n, sizeof(*t));
	double t0 = now_s();

	run->deadline = t0 + run->o->wall_limit_s;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, run) != 0)
			die("pthread_create failed");
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	return now_s() - t0;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct corpus corpus;
	struct corpus_opts co = { .prefix = NULL, .crlf = 1 };
	struct run run = { 0 };
	struct summary s;
	double wall, cpu0;
	long out;

	parse_opts(&o, argc, argv);
	corpus_load(&corpus, argv + optind, argc - optind, &co);
	run.o = &o;
	run.corpus = &corpus;
	run.emls = xcalloc(corpus.n, sizeof(*run.emls));
	for (size_t i = 0; i < corpus.n; i++)
		eml_parse(&run.emls[i], corpus.files[i].data, corpus.files[i].len);
	run.recs = xcalloc((size_t)limit(&run), sizeof(*run.recs));
	for (long k = 0; k < limit(&run); k++)
		run.recs[k].verdict = REC_UNSENT;
	if (o.until_max) {
		struct sigaction sa = { .sa_handler = on_usr1 };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	atomic_init(&run.next, 0);
	atomic_init(&run.conn_index, 0);

	cpu0 = cpu_seconds();
	wall = run_threads(&run);
	/* -U: the run is about the messages handed out (next may overshoot
	 * limit() by the workers' last takes), never fewer than -n */
	out = atomic_load(&run.next);
	run.count = o.messages;
	if (o.until_max && out > o.messages)
		run.count = out < o.until_max ? out : o.until_max;
	summarize(&run, &s);
	print_human(&run, &s, wall, cpu_seconds() - cpu0);
	print_result(&run, &s, wall, cpu_seconds() - cpu0);
	if (o.csv != NULL)
		write_csv(&run, o.csv);
	if (o.timeline != NULL)
		write_timeline(&run, o.timeline);
	return s.counts[MGV_CONNERR] || s.counts[MGV_TIMEOUT] || s.unsent ? 1 : 0;
}
