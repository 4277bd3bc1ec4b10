/*
 * mimedump: prints what mime_parse() makes of each message, one line per
 * leaf part, in the form t/mime-diff/pydump.py prints Python's view:
 *
 *	DEPTH <TAB> TYPE <TAB> FILENAME <TAB> LENGTH <TAB> SHA256
 *
 * uuencode blocks found inside text parts are left out (Python's email
 * package does not extract them) unless -u is given.
 *
 *	mimedump [-u] [-a] [-s] [-H] FILE...
 *		-a: anomalies on stderr; -s: the skeleton on stdout instead;
 *		-H: a line "== FILE" before each file's lines
 *	mimedump -b SECONDS FILE	throughput of mime_parse, MB/s
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mime.h"
#include "util.h"

struct opts {
	int	 uu;
	int	 anomalies;
	int	 skeleton;
	int	 names;
	double	 bench;
};

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n;

	*len = 0;
	if (f == NULL)
		return NULL;
	do {
		if (*len == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap);
		}
		n = fread(buf + *len, 1, cap - *len, f);
		*len += n;
	} while (n > 0);
	fclose(f);
	return buf;
}

static void
sha256_hex(const unsigned char *d, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned mdlen = 0, i;

	EVP_Digest(d, n, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int
print_part(const struct mime_part *part, void *arg)
{
	const struct opts *o = arg;
	char hex[65];

	if (part->uuencoded && !o->uu)
		return 0;
	sha256_hex(part->data, part->len, hex);
	printf("%d\t%s\t%s\t%zu\t%s\n", part->depth, part->content_type,
	    part->filename, part->len, hex);
	return 0;
}

static void
print_anomalies(const char *path, const struct mime_result *res)
{
	unsigned bit;

	fprintf(stderr, "%s:", path);
	for (bit = 1; bit != 0 && bit <= res->anomalies; bit <<= 1)
		if (res->anomalies & bit)
			fprintf(stderr, " %s", mime_anomaly_name(bit));
	fprintf(stderr, "%s%s%s\n", res->anomalies ? " (" : " none",
	    res->reason, res->anomalies ? ")" : "");
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
bench(const char *path, const unsigned char *msg, size_t len, double secs)
{
	struct mime_result res;
	double t0 = now(), t;
	unsigned long runs = 0;

	do {
		mime_parse(msg, len, NULL, NULL, NULL, &res);
		mime_result_free(&res);
		runs++;
	} while ((t = now() - t0) < secs);
	printf("%s: %zu bytes, %lu runs, %.1f MB/s\n", path, len, runs,
	    (double)len * runs / t / 1e6);
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct mime_result res;
	unsigned char *msg;
	size_t len;
	int c, i, rc = 0;

	while ((c = getopt(argc, argv, "aHsub:")) != -1) {
		switch (c) {
		case 'a':
			o.anomalies = 1;
			break;
		case 'H':
			o.names = 1;
			break;
		case 's':
			o.skeleton = 1;
			break;
		case 'u':
			o.uu = 1;
			break;
		case 'b':
			o.bench = atof(optarg);
			break;
		default:
			fprintf(stderr, "usage: mimedump [-aHsu] [-b SECONDS] "
			    "FILE...\n");
			return 2;
		}
	}
	for (i = optind; i < argc; i++) {
		if ((msg = slurp(argv[i], &len)) == NULL) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			rc = 1;
			continue;
		}
		if (o.names)
			printf("== %s\n", argv[i]);
		if (o.bench > 0)
			bench(argv[i], msg, len, o.bench);
		else {
			mime_parse(msg, len, NULL, o.skeleton ? NULL :
			    print_part, &o, &res);
			if (o.skeleton)
				fwrite(res.skeleton, 1, res.skeleton_len,
				    stdout);
			if (o.anomalies)
				print_anomalies(argv[i], &res);
			mime_result_free(&res);
		}
		free(msg);
	}
	return rc;
}
