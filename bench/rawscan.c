/*
 * rawscan.c - the ceiling for any libclamav milter: scans every message of
 * a corpus straight from memory with one shared compiled engine on N
 * threads (cl_fmap_open_memory + cl_scanmap_callback), no milter, no socket,
 * no temporary copy of the message, and prints files/s, MB/s, CPU seconds
 * and the infected count.
 *
 *   rawscan [-j THREADS] [-F] [-C] [-v] [-t TMPBASE] DBDIR FILE_OR_DIR...
 *
 * Each message is prefixed with an mbox "From " line so that libclamav
 * always types it as mail and decodes its MIME parts (-F: scan the bytes
 * as they are). Scan options as clamd's defaults: heuristic alerts on,
 * every parser on (CL_SCAN_PARSE_MAIL among them); limits MaxFileSize 100M,
 * MaxScanSize 400M (as bench/clamav-milter.sh sets clamd). The engine's
 * temporary files go to a private directory (TMPBASE/rawscan.XXXXXX,
 * TMPBASE defaulting to $TMPDIR or /tmp), removed at the end. -C turns
 * libclamav's clean-file cache off; -v lists infected files.
 */
#define _XOPEN_SOURCE 700
#include "corpus.h"
#include "util.h"

#include <clamav.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

const char *progname = "rawscan";

#define MBOX_FROM "From MAILER-DAEMON Mon Jan  1 00:00:00 2024\r\n"
#define MAX_THREADS 256
#define LIMIT_FILESIZE (100ull * 1024 * 1024)
#define LIMIT_SCANSIZE (400ull * 1024 * 1024)

struct opts {
	int threads;
	int no_from;
	int no_cache;
	int verbose;
	const char *tmpbase;
	const char *dbdir;
};

struct result {
	cl_error_t rc;
	char *virname; /* copied out of the engine (owned), NULL when clean */
	double seconds;
};

struct scanrun {
	const struct opts *o;
	const struct corpus *corpus;
	struct cl_engine *engine;
	struct result *results;
	atomic_size_t next;
};

static void usage(void)
{
	fprintf(stderr, "usage: rawscan [-j THREADS] [-F] [-C] [-v] [-t TMPBASE] DBDIR FILE_OR_DIR...\n"
			"  -j scanning threads (default 1); -F no mbox From line prefix;\n"
			"  -C disable libclamav's clean-file cache; -v list infected files;\n"
			"  -t where the private temporary directory is made ($TMPDIR or /tmp)\n");
	exit(2);
}

static void parse_opts(struct opts *o, int argc, char **argv)
{
	int ch;

	*o = (struct opts){ .threads = 1, .tmpbase = getenv("TMPDIR") };
	if (o->tmpbase == NULL || o->tmpbase[0] == '\0')
		o->tmpbase = "/tmp";
	while ((ch = getopt(argc, argv, "j:FCvt:h")) != -1) {
		switch (ch) {
		case 'j': o->threads = (int)parse_long(optarg, 1, MAX_THREADS, "-j"); break;
		case 'F': o->no_from = 1; break;
		case 'C': o->no_cache = 1; break;
		case 'v': o->verbose = 1; break;
		case 't': o->tmpbase = optarg; break;
		default: usage();
		}
	}
	if (argc - optind < 2)
		usage();
	o->dbdir = argv[optind++];
}

static void check(cl_error_t rc, const char *what)
{
	if (rc != CL_SUCCESS)
		die("%s: %s", what, cl_strerror(rc));
}

/* Build the engine: limits, private tmpdir, database, compile. Returns it; *sigs out. */
static struct cl_engine *load_engine(const struct opts *o, const char *tmpdir, unsigned *sigs)
{
	struct cl_engine *e;

	check(cl_init(CL_INIT_DEFAULT), "cl_init");
	e = cl_engine_new();
	if (e == NULL)
		die("cl_engine_new failed");
	check(cl_engine_set_str(e, CL_ENGINE_TMPDIR, tmpdir), "CL_ENGINE_TMPDIR");
	check(cl_engine_set_num(e, CL_ENGINE_MAX_FILESIZE, (long long)LIMIT_FILESIZE), "MAX_FILESIZE");
	check(cl_engine_set_num(e, CL_ENGINE_MAX_SCANSIZE, (long long)LIMIT_SCANSIZE), "MAX_SCANSIZE");
	if (o->no_cache)
		check(cl_engine_set_num(e, CL_ENGINE_DISABLE_CACHE, 1), "DISABLE_CACHE");
	*sigs = 0;
	check(cl_load(o->dbdir, e, sigs, CL_DB_STDOPT), o->dbdir);
	check(cl_engine_compile(e), "cl_engine_compile");
	return e;
}

static void scan_one(struct scanrun *run, size_t i)
{
	const struct corpus_file *f = &run->corpus->files[i];
	struct result *r = &run->results[i];
	struct cl_scan_options so = {
		.general = CL_SCAN_GENERAL_HEURISTICS,
		.parse = ~0u,
	};
	const char *virname = NULL;
	unsigned long scanned = 0;
	double t0 = now_s();
	cl_fmap_t *map = cl_fmap_open_memory(f->data, f->len);

	if (map == NULL) {
		r->rc = CL_EMEM;
		return;
	}
	r->rc = cl_scanmap_callback(map, f->path, &virname, &scanned, run->engine, &so, NULL);
	cl_fmap_close(map);
	r->seconds = now_s() - t0;
	if (r->rc == CL_VIRUS && virname != NULL)
		r->virname = xstrdup(virname);
}

static void *worker(void *arg)
{
	struct scanrun *run = arg;
	size_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) < run->corpus->n)
		scan_one(run, i);
	return NULL;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double scan_all(struct scanrun *run)
{
	pthread_t t[MAX_THREADS];
	double t0 = now_s();

	for (int i = 0; i < run->o->threads; i++)
		if (pthread_create(&t[i], NULL, worker, run) != 0)
			die("pthread_create failed");
	for (int i = 0; i < run->o->threads; i++)
		pthread_join(t[i], NULL);
	return now_s() - t0;
}

static int removed_entries;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag;
	if (ftw->level > 0)
		removed_entries++;
	if (remove(path) != 0)
		fprintf(stderr, "rawscan: cannot remove %s\n", path);
	return 0;
}

/* Remove the private tmpdir; returns how many entries libclamav left in it. */
static int remove_tmpdir(const char *dir)
{
	removed_entries = 0;
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return removed_entries;
}

static void print_report(const struct scanrun *run, double load_s, unsigned sigs, double wall,
			 double cpu, int left)
{
	const struct corpus *c = run->corpus;
	size_t infected = 0, errors = 0;
	double *t = xcalloc(c->n, sizeof(double));

	for (size_t i = 0; i < c->n; i++) {
		const struct result *r = &run->results[i];

		t[i] = r->seconds * 1000.0;
		if (r->rc == CL_VIRUS)
			infected++;
		else if (r->rc != CL_CLEAN)
			errors++;
		if (r->rc == CL_VIRUS && run->o->verbose)
			printf("%s: %s FOUND\n", c->files[i].path, r->virname ? r->virname : "?");
		else if (r->rc != CL_CLEAN && r->rc != CL_VIRUS)
			printf("%s: ERROR %s\n", c->files[i].path, cl_strerror(r->rc));
	}
	sort_doubles(t, c->n);
	printf("rawscan: libclamav %s, %u signatures loaded+compiled in %.2f s, %d thread(s), "
	       "%s, cache %s\n", cl_retver(), sigs, load_s, run->o->threads,
	       run->o->no_from ? "messages as they are (no From line)"
			       : "each message prefixed with an mbox \"From \" line (typed as mail)",
	       run->o->no_cache ? "off" : "on");
	printf("%zu files, %.1f MB in %.3f s: %.1f files/s, %.1f MB/s, CPU %.2f s (%.2f ms/file)\n",
	       c->n, (double)c->total_bytes / 1e6, wall, (double)c->n / wall,
	       (double)c->total_bytes / 1e6 / wall, cpu, cpu * 1000.0 / (double)c->n);
	printf("per-file scan ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", percentile(t, c->n, 50),
	       percentile(t, c->n, 90), percentile(t, c->n, 99), t[c->n - 1]);
	printf("infected %zu, errors %zu, temporary entries left by libclamav %d\n", infected,
	       errors, left);
	printf("RESULT tool=rawscan threads=%d files=%zu bytes=%zu wall_s=%.3f files_per_s=%.2f "
	       "mb_per_s=%.2f cpu_s=%.2f load_s=%.3f sigs=%u infected=%zu errors=%zu from_line=%d "
	       "cache=%d p50_ms=%.3f p99_ms=%.3f\n", run->o->threads, c->n, c->total_bytes, wall,
	       (double)c->n / wall, (double)c->total_bytes / 1e6 / wall, cpu, load_s, sigs, infected,
	       errors, !run->o->no_from, !run->o->no_cache, percentile(t, c->n, 50),
	       percentile(t, c->n, 99));
	free(t);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct corpus corpus;
	struct scanrun run = { 0 };
	char *tmpdir;
	struct corpus_opts co;
	unsigned sigs;
	double t0, load_s, cpu0, wall;
	int left;

	parse_opts(&o, argc, argv);
	co = (struct corpus_opts){ .prefix = o.no_from ? NULL : MBOX_FROM, .crlf = 0 };
	corpus_load(&corpus, argv + optind, argc - optind, &co);
	tmpdir = xmalloc(strlen(o.tmpbase) + sizeof("/rawscan.XXXXXX"));
	sprintf(tmpdir, "%s/rawscan.XXXXXX", o.tmpbase);
	if (mkdtemp(tmpdir) == NULL)
		die_errno("mkdtemp %s", tmpdir);
	t0 = now_s();
	run.engine = load_engine(&o, tmpdir, &sigs);
	load_s = now_s() - t0;
	run.o = &o;
	run.corpus = &corpus;
	run.results = xcalloc(corpus.n, sizeof(*run.results));
	atomic_init(&run.next, 0);

	cpu0 = cpu_seconds();
	wall = scan_all(&run);
	cpu0 = cpu_seconds() - cpu0;
	cl_engine_free(run.engine);
	left = remove_tmpdir(tmpdir);
	print_report(&run, load_s, sigs, wall, cpu0, left);
	for (size_t i = 0; i < corpus.n; i++)
		free(run.results[i].virname);
	free(run.results);
	free(tmpdir);
	corpus_free(&corpus);
	return 0;
}
