/*
 * rulescost: the rules engine's cost per message, for each rule set.
 *
 *	rulescost [-n ITER] RULES.xml SCHEMA.rng RULESET[,RULESET…] FILE.eml…
 *
 * Loads the rule file once, then evaluates every message ITER times (after
 * one warm-up run) with each rule set and prints microseconds per message
 * and the score; each run parses the message's MIME parts afresh (the
 * daemon's parts provider, as one engine of a message pays it).  Envelope: client 2001:db8:1::25, HELO mx.example.com, sender
 * sender@example.com.  Single-threaded; CPU time of this thread.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parts.h"
#include "rules.h"
#include "../src/lib/util.h"	/* the daemon's (bench/util.h is miltergen's) */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* One evaluation of m, its parts parsed for it into obj. */
static long
eval_once(const struct rules_active *act, const struct rules_msg *m,
    struct sm_object *obj, unsigned char *fired)
{
	struct parts *ps = parts_new_buffer(m->data, m->len);
	long score;

	memset(obj, 0, sizeof(*obj));
	parts_attach(ps, obj);
	score = rules_eval(act, m, fired);
	parts_free(ps);
	return score;
}

int
main(int argc, char **argv)
{
	struct rules_schema *schema;
	struct rules_db *db;
	char err[1024], *sets, *set;
	int iter = 200, ch;

	while ((ch = getopt(argc, argv, "n:")) != -1) {
		if (ch != 'n')
			goto usage;
		iter = atoi(optarg);
	}
	if (argc - optind < 4 || iter < 1)
		goto usage;
	if ((schema = rules_schema_load(argv[optind + 1], err,
	    sizeof(err))) == NULL ||
	    (db = rules_load_file(argv[optind], schema, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "rulescost: %s\n", err);
		return 1;
	}
	rules_schema_free(schema);
	printf("%-28s %-26s %8s %10s %6s\n", "message", "rule set", "bytes",
	    "us/msg", "score");
	sets = xstrdup(argv[optind + 2]);
	for (set = strtok(sets, ","); set != NULL; set = strtok(NULL, ",")) {
		struct rules_active act;
		double total = 0;
		int nmsg = 0;

		if (rules_select(db, set, &act, err, sizeof(err)) < 0) {
			fprintf(stderr, "rulescost: %s\n", err);
			return 1;
		}
		for (int a = optind + 3; a < argc; a++) {
			size_t len = 0;
			unsigned char *msg = (unsigned char *)sm_read_file(
			    argv[a], (size_t)1 << 30, &len, err, sizeof(err));
			unsigned char *fired;
			struct rules_msg m;
			struct sm_object obj;
			const char *base = strrchr(argv[a], '/');
			double t0, us;
			long score;

			if (msg == NULL) {
				fprintf(stderr, "rulescost: %s\n", err);
				return 1;
			}
			fired = xcalloc(act.n + 1, 1);
			m = (struct rules_msg){ msg, len, "2001:db8:1::25",
			    "mx.example.com", "sender@example.com", &obj };
			score = eval_once(&act, &m, &obj, fired);
			t0 = now_us();
			for (int i = 0; i < iter; i++) {
				memset(fired, 0, act.n + 1);
				eval_once(&act, &m, &obj, fired);
			}
			us = (now_us() - t0) / iter;
			total += us;
			nmsg++;
			printf("%-28.28s %-26.26s %8zu %10.1f %6ld\n",
			    base ? base + 1 : argv[a], set, len, us, score);
			free(fired);
			free(msg);
		}
		printf("%-28s %-26.26s %8s %10.1f\n", "(mean)", set, "",
		    total / (nmsg ? nmsg : 1));
		rules_active_free(&act);
	}
	free(sets);
	rules_db_free(db);
	return 0;
usage:
	fprintf(stderr, "usage: rulescost [-n ITER] RULES.xml SCHEMA.rng "
	    "RULESET[,RULESET...] FILE.eml...\n");
	return 2;
}
