/*
 * `scanmilter scan [-c FILE] FILE.eml…`: runs the daemon's pipeline on
 * message files and prints, per file, the verdict, the reply and the
 * headers the daemon would add.  Exit status: 0 all clean, 1 a message
 * would be rejected or is infected, 2 an error (unreadable file, scan
 * error, bad config).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "scan.h"
#include "util.h"
#include "wirebuf.h"

#ifndef SM_DEFAULT_CONFIG
#define SM_DEFAULT_CONFIG "/etc/scanmilter/scanmilter.conf"
#endif

#define SCAN_FILE_MAX ((size_t)1024 * 1024 * 1024)

int	scancmd_main(int argc, char **argv);

/* Reads a whole file into the wire buffer (LF → CRLF). */
static int
load_message(const char *path, struct wirebuf *wb,
    const struct wirebuf_opts *opts)
{
	char err[512], *buf;
	size_t len;

	if ((buf = sm_read_file(path, SCAN_FILE_MAX, &len, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "scanmilter: %s\n", err);
		return -1;
	}
	wirebuf_begin(wb, NULL, len, opts);
	wirebuf_append_text(wb, buf, len);
	free(buf);
	return 0;
}

static int
scan_one(const struct sm_conf *conf, const char *path)
{
	struct message msg = { 0 };
	const struct sm_msgopts *m = &conf->eff;
	struct wirebuf_opts opts = {
		.threshold = (size_t)m->large_message_threshold,
		.in_memory = m->use_wire_rep, .spool = conf->spool_dir,
		.limit = (size_t)m->max_message_size,
	};
	struct message_input *in = message_input_new();
	struct sm_decision d;

	if (load_message(path, &in->wb, &opts) < 0) {
		message_input_unref(in);
		return 2;
	}
	message_set(&msg.queue_id, path);
	message_set(&msg.client_name, "localhost");
	message_set(&msg.helo, "");
	message_set(&msg.sender, "");
	scan_message(conf, in, &msg, NULL, &d);
	message_clear(&msg);
	message_input_unref(in);
	printf("%s: %s%s%s%s\n", path, verdict_name(d.verdict),
	    *d.virus ? " (" : "", d.virus, *d.virus ? ")" : "");
	if (d.reply == REPLY_ACCEPT || d.reply == REPLY_DISCARD)
		printf("  reply: %s\n", reply_name(d.reply));
	else if (d.reply == REPLY_QUARANTINE)
		printf("  reply: quarantine (%s)\n", d.text);
	else if (d.reply == REPLY_STRIP)
		printf("  reply: strip (%zu attachment(s) removed)\n",
		    d.nedits);
	else
		printf("  reply: %s %s %s\n", d.rcode, d.xcode, d.text);
	if (d.reply == REPLY_ACCEPT || d.reply == REPLY_QUARANTINE ||
	    d.reply == REPLY_STRIP)
		for (size_t i = 0; i < d.nheaders; i++)
			printf("  header: %s: %s\n", d.headers[i].name,
			    d.headers[i].value);
	for (size_t i = 0; i < d.nedits; i++)
		printf("  body edit: bytes %zu-%zu (%s: %s) replaced by a "
		    "%zu-byte notice\n", d.edits[i].start, d.edits[i].end,
		    d.edits[i].filename, d.edits[i].virus,
		    strlen(d.edits[i].text));
	printf("  scans: %zu by engines, %zu from the cache, %zu of them on "
	    "decoded parts\n", d.engines_run, d.cache_hits, d.parts_scanned);
	printf("  time: %.1f ms\n", d.elapsed_ms);
	if (d.verdict == SM_ERROR)
		return 2;
	if (d.verdict != SM_CLEAN || d.reply != REPLY_ACCEPT)
		return 1;
	return 0;
}

int
scancmd_main(int argc, char **argv)
{
	const char *path = SM_DEFAULT_CONFIG;
	struct sm_conf *conf;
	char err[2048];
	int ch, worst = 0;

	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch != 'c') {
			fprintf(stderr, "usage: scanmilter scan [-c FILE] "
			    "FILE.eml...\n");
			return 2;
		}
		path = optarg;
	}
	if (optind == argc) {
		fprintf(stderr, "usage: scanmilter scan [-c FILE] FILE.eml...\n");
		return 2;
	}
	log_set_priority(LOG_WARNING);
	if ((conf = conf_load(path, err, sizeof(err))) == NULL ||
	    conf_start_engines(conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "scanmilter: %s\n", err);
		conf_free(conf);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		int rc = scan_one(conf, argv[i]);

		if (rc > worst)
			worst = rc;
	}
	fflush(stdout);
	conf_free(conf);
	return worst;
}
