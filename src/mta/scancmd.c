/*
 * `scanmilter scan [-c FILE] [--json] FILE.eml…`: runs the daemon's
 * pipeline on message files ("-": standard input) and prints, per file,
 * the verdict, the reply and the headers the daemon would add; with
 * --json one JSON object per file and line.  Exit status: 0 all clean, 1
 * a message would be rejected or is infected, 2 an error (unreadable
 * file, scan error, bad config).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "generation.h"
#include "privs.h"
#include "scan.h"
#include "util.h"
#include "wirebuf.h"

#ifndef SM_DEFAULT_CONFIG
#define SM_DEFAULT_CONFIG "/etc/scanmilter/scanmilter.conf"
#endif

#define SCAN_FILE_MAX ((size_t)1024 * 1024 * 1024)

int	scancmd_main(int argc, char **argv);

#define SCAN_USAGE "usage: scanmilter scan [-c FILE] [--json] FILE.eml|-...\n"

/* s as a JSON string: quotes, backslash and control bytes escaped (the
 * bytes are otherwise passed as they are: names are ASCII or UTF-8). */
static void
json_str(const char *s)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* One line: {"file": …, "verdict": …, …} */
static void
print_json(const char *path, const struct sm_decision *d, int rc)
{
	printf("{\"file\": ");
	json_str(path);
	printf(", \"verdict\": \"%s\", \"name\": ", verdict_name(d->verdict));
	json_str(d->virus);
	printf(", \"engine\": ");
	json_str(d->engine);
	printf(", \"reply\": \"%s\", \"code\": ", reply_name(d->reply));
	json_str(d->rcode);
	printf(", \"xcode\": ");
	json_str(d->xcode);
	printf(", \"text\": ");
	json_str(d->text);
	printf(", \"headers\": [");
	for (size_t i = 0; d->reply == REPLY_ACCEPT ||
	    d->reply == REPLY_QUARANTINE || d->reply == REPLY_STRIP ?
	    i < d->nheaders : 0; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_str(d->headers[i].name);
		printf(", \"value\": ");
		json_str(d->headers[i].value);
		putchar('}');
	}
	printf("], \"removed\": [");
	for (size_t i = 0; i < d->nedits; i++) {
		printf("%s{\"file\": ", i ? ", " : "");
		json_str(d->edits[i].filename);
		printf(", \"name\": ");
		json_str(d->edits[i].virus);
		putchar('}');
	}
	printf("], \"scans\": %zu, \"cache_hits\": %zu, \"parts\": %zu, "
	    "\"time_ms\": %.1f, \"status\": %d}\n", d->engines_run,
	    d->cache_hits, d->parts_scanned, d->elapsed_ms, rc);
}

/* A file that could not be read, as a JSON line. */
static void
print_json_error(const char *path)
{
	printf("{\"file\": ");
	json_str(path);
	printf(", \"verdict\": \"error\", \"status\": 2}\n");
}

/* Reads a whole file, opened as fd, into the wire buffer (LF → CRLF). */
static int
load_message(int fd, const char *path, struct wirebuf *wb,
    const struct wirebuf_opts *opts)
{
	char err[512], *buf;
	size_t len;

	if (fd < 0) {
		fprintf(stderr, "scanmilter: %s: %s\n", path, strerror(-fd));
		return -1;
	}
	if ((buf = sm_read_fd(fd, path, SCAN_FILE_MAX, &len, err,
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
scan_one(const struct generation *g, int fd, const char *path, int json)
{
	const struct sm_conf *conf = g->conf;
	struct message msg = { 0 };
	const struct sm_msgopts *m = &conf->eff;
	struct wirebuf_opts opts = {
		.threshold = (size_t)m->large_message_threshold,
		.in_memory = m->use_wire_rep, .spool = g->spool_dir,
		.limit = (size_t)m->max_message_size,
	};
	struct message_input *in = message_input_new();
	struct sm_decision d;
	int rc;

	if (load_message(fd, path, &in->wb, &opts) < 0) {
		message_input_unref(in);
		if (json)
			print_json_error(path);
		return 2;
	}
	message_set(&msg.queue_id, strcmp(path, "-") ? path : "stdin");
	message_set(&msg.client_name, "localhost");
	message_set(&msg.helo, "");
	message_set(&msg.sender, "");
	scan_message(g, in, &msg, NULL, &d);
	message_clear(&msg);
	message_input_unref(in);
	rc = d.verdict == SM_ERROR ? 2 : d.verdict != SM_CLEAN ||
	    d.reply != REPLY_ACCEPT ? 1 : 0;
	if (json) {
		print_json(path, &d, rc);
		return rc;
	}
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
	return rc;
}

int
scancmd_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = SM_DEFAULT_CONFIG;
	struct sm_conf *conf;
	struct generation *g = NULL;
	char err[2048];
	int ch, worst = 0, json = 0, stdin_used = 0, *fds;

	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		if (ch == 'j') {
			json = 1;
			continue;
		}
		if (ch != 'c') {
			fputs(SCAN_USAGE, stderr);
			return 2;
		}
		path = optarg;
	}
	if (optind == argc) {
		fputs(SCAN_USAGE, stderr);
		return 2;
	}
	log_set_priority(LOG_WARNING);
	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "scanmilter: %s\n", err);
		return 2;
	}
	/* the files are opened by the caller, everything after it (the
	 * engines, their temporary files, the scans) runs as the service
	 * user, as the daemon's scans do */
	fds = xcalloc((size_t)(argc - optind), sizeof(*fds));
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)	/* standard input, once */
			fds[i - optind] = stdin_used++ ? -EINVAL :
			    fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);
		else
			fds[i - optind] = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (fds[i - optind] < 0 && fds[i - optind] != -EINVAL)
			fds[i - optind] = -errno;
	}
	if (privs_drop(conf, true) < 0) {
		worst = 2;
		goto out;
	}
	g = generation_new(conf, err, sizeof(err));
	conf = NULL;		/* the generation's now, or freed */
	if (g == NULL) {
		fprintf(stderr, "scanmilter: %s\n", err);
		worst = 2;
		goto out;
	}
	for (int i = optind; i < argc; i++) {
		int rc = scan_one(g, fds[i - optind], argv[i], json);

		fds[i - optind] = -EBADF;	/* read and closed */
		if (rc > worst)
			worst = rc;
	}
out:
	fflush(stdout);
	for (int i = optind; i < argc; i++)
		if (fds[i - optind] >= 0)
			close(fds[i - optind]);
	free(fds);
	generation_free(g);
	conf_free(conf);
	return worst;
}
